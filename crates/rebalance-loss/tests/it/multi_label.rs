//! The multi-label options of the sigmoid losses: `label_weighting`, `no_label_weight` and
//! `pos_weight = "balanced"`, against values computed by hand (f64 Python, `math` module; the
//! PyTorch expression each one equals is in a comment; PyTorch is not installed here).
use crate::common::*;
use burn::prelude::*;
use rebalance_loss::{
    ClassBalancedKeys, LabelWeighting, LossConfig, LossKind, PosWeight, Reduction,
    SigmoidFocalConfig, SigmoidKeys, WeightedBinaryCrossEntropyConfig, balanced_pos_weight,
};
use rebalance_weights::ClassCounts;

// The batch of every test: three rows, three labels; the second row has no positive label.
//   z = torch.tensor([[0.5, -1.0, 2.0], [-0.3, 0.8, 0.0], [1.2, -2.0, 0.4]])
//   y = torch.tensor([[1., 0., 1.], [0., 0., 0.], [0., 1., 1.]])
//   w = torch.tensor([0.5, 2.0, 1.5])
const Z: [[f32; 3]; 3] = [[0.5, -1.0, 2.0], [-0.3, 0.8, 0.0], [1.2, -2.0, 0.4]];
const Y: [[f32; 3]; 3] = [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 1.0, 1.0]];
const W: [f64; 3] = [0.5, 2.0, 1.5];
/// The class weights as config keys, unnormalized.
const W_KEYS: &str =
    "scheme = \"custom\"\ncustom_weights = [0.5, 2.0, 1.5]\nnormalize = \"none\"\n";

fn batch(device: &Device) -> (Tensor<2>, Tensor<2>) {
    (
        Tensor::from_floats(Z, device),
        Tensor::from_floats(Y, device),
    )
}

fn bce(label_weighting: LabelWeighting, reduction: Reduction) -> WeightedBinaryCrossEntropyConfig {
    WeightedBinaryCrossEntropyConfig::new()
        .with_weights(Some(W.to_vec()))
        .with_label_weighting(label_weighting)
        .with_reduction(reduction)
}

/// The loss of `config` on the batch (multi-hot targets), on `device`.
fn bce_on_batch(config: WeightedBinaryCrossEntropyConfig, device: &Device) -> f64 {
    let loss = config.init(device).unwrap();
    let (z, y) = batch(device);
    scalar(loss.forward_multi_hot(z, y))
}

/// The multi-label loss of a config on the batch, with `samples` training rows.
fn multi_label(config: &str, counts: &[u64], samples: u64) -> f64 {
    let device = Device::flex();
    let config: LossConfig = toml::from_str(config).unwrap();
    let counts = ClassCounts::from_counts(counts.to_vec()).unwrap();
    let loss = config
        .init_multi_label(&counts, samples, 0, &device)
        .unwrap();
    let (z, y) = batch(&device);
    scalar(loss.forward(z, y))
}

/// [`multi_label`] of `kind = "KIND"` with the class weights [`W_KEYS`] and `keys`, one
/// positive per label in three training rows.
fn weighted_multi_label(kind: &str, keys: &str) -> f64 {
    multi_label(&format!("kind = \"{kind}\"\n{W_KEYS}{keys}"), &[1, 1, 1], 3)
}

#[test]
fn per_label_weights_are_pytorchs_weight_argument() {
    // F.binary_cross_entropy_with_logits(z, y, weight=w, reduction='none').sum(1).mean()
    //   = 3.489357914338528
    // weighted-mean divides the sum (10.468073743015584) by N·mean(w) = 4: 2.617018435753896.
    let device = Device::flex();
    for (reduction, expected) in [
        (Reduction::Mean, 3.489357914338528),
        (Reduction::WeightedMean, 2.617018435753896),
        (Reduction::Sum, 10.468073743015584),
    ] {
        assert_close(
            bce_on_batch(bce(LabelWeighting::PerLabel, reduction), &device),
            expected,
            1e-6,
            &format!("per-label {reduction}"),
        );
    }
    // Element-wise: F.binary_cross_entropy_with_logits(z, y, weight=w, reduction='mean')·3
    // (PyTorch's 'mean' is over the N·C elements).
    let loss = bce(LabelWeighting::PerLabel, Reduction::Mean)
        .init(&device)
        .unwrap();
    let (z, y) = batch(&device);
    let elements = loss.forward_elementwise(z, y);
    assert_close(scalar(elements.sum()), 10.468073743015584, 1e-6, "elements");
    // The same through the config keys.
    assert_close(
        weighted_multi_label(
            "sigmoid",
            "label_weighting = \"per-label\"\nreduction = \"mean\"",
        ),
        3.489357914338528,
        1e-6,
        "per-label config",
    );
}

#[test]
fn all_ones_per_label_weights_give_the_plain_mean() {
    let device = Device::flex();
    let plain = bce_on_batch(WeightedBinaryCrossEntropyConfig::new(), &device);
    let ones = WeightedBinaryCrossEntropyConfig::new()
        .with_weights(Some(vec![1.0; 3]))
        .with_label_weighting(LabelWeighting::PerLabel);
    assert_close(
        bce_on_batch(ones, &device),
        plain,
        1e-6,
        "weighted-mean of ones",
    );
}

#[test]
fn no_label_weight_weighs_the_rows_without_a_positive_label() {
    // Per-row sums of F.binary_cross_entropy_with_logits(z, y, reduction='none'), l_n, with
    // sample weights s = [w0 + w2, 0.5, w1 + w2] = [2.0, 0.5, 3.5]: Σ s·l / Σ s.
    let device = Device::flex();
    for (no_label_weight, expected) in [(0.5, 2.89985416145068), (0.0, 2.9436042587665368)] {
        let config = bce(LabelWeighting::PositiveSum, Reduction::WeightedMean)
            .with_no_label_weight(no_label_weight);
        assert_close(
            bce_on_batch(config, &device),
            expected,
            1e-6,
            &format!("no_label_weight = {no_label_weight}"),
        );
    }
    assert_close(
        weighted_multi_label(
            "sigmoid-focal",
            "gamma = 0.0\nalpha = -1.0\nno_label_weight = 0.5",
        ),
        2.89985416145068,
        1e-6,
        "focal with γ = 0 through the config",
    );
    // The class-balanced loss passes it on to its base.
    let focal = SigmoidFocalConfig::new()
        .with_gamma(0.0)
        .with_alpha(-1.0)
        .with_weights(Some(W.to_vec()))
        .with_no_label_weight(0.5)
        .init(&device)
        .unwrap();
    let (z, y) = batch(&device);
    assert_close(
        scalar(focal.forward_multi_hot(z, y)),
        2.89985416145068,
        1e-6,
        "sigmoid focal",
    );
}

#[test]
fn class_balanced_takes_the_multi_label_keys_on_its_sigmoid_base() {
    let counts = [30, 60, 5];
    let base = "kind = \"class-balanced\"\nbase = \"sigmoid\"\nbeta = 0.99\n";
    let positive_sum = multi_label(base, &counts, 100);
    let with_rows = multi_label(&format!("{base}no_label_weight = 0.5"), &counts, 100);
    let per_label = multi_label(
        &format!("{base}label_weighting = \"per-label\""),
        &counts,
        100,
    );
    assert!(with_rows != positive_sum && per_label != positive_sum);
    // The same as kind = "sigmoid" with the ENS weights and the paper's reduction.
    let sigmoid = "kind = \"sigmoid\"\nscheme = \"ens\"\nbeta = 0.99\nreduction = \"mean\"\n\
                   label_weighting = \"per-label\"";
    assert_close(
        per_label,
        multi_label(sigmoid, &counts, 100),
        1e-6,
        "cb per-label",
    );
}

#[test]
fn per_label_on_class_indices_weighs_every_column() {
    // Class-index targets [0, 2, 1] are their one-hot rows; under per-label each column is
    // weighted by its own class, negatives included:
    //   F.binary_cross_entropy_with_logits(z, F.one_hot(t, 3).float(), weight=w,
    //       reduction='none').sum(1).mean() = 4.689357914338529
    // positive-sum keeps the class weight of the true class: Σ w_t·l / Σ w_t = 3.522872359849235.
    let device = Device::flex();
    let targets = || Tensor::<1, Int>::from_ints([0, 2, 1], &device);
    let z = || Tensor::<2>::from_floats(Z, &device);
    for (label_weighting, reduction, expected, what) in [
        (
            LabelWeighting::PerLabel,
            Reduction::Mean,
            4.689357914338529,
            "per-label mean",
        ),
        (
            LabelWeighting::PerLabel,
            Reduction::WeightedMean,
            3.5170184357538963,
            "per-label weighted-mean",
        ),
        (
            LabelWeighting::PositiveSum,
            Reduction::WeightedMean,
            3.522872359849235,
            "positive-sum weighted-mean",
        ),
    ] {
        let loss = bce(label_weighting, reduction).init(&device).unwrap();
        assert_close(scalar(loss.forward(z(), targets())), expected, 1e-6, what);
    }
}

#[test]
fn balanced_pos_weight_is_negatives_over_positives() {
    // 100 training rows, positives per label [30, 60, 5]: pw = [70/30, 40/60, 95/5].
    let counts = ClassCounts::from_counts(vec![30, 60, 5]).unwrap();
    let pw = balanced_pos_weight(&counts, 100).unwrap();
    let expected = [7.0 / 3.0, 2.0 / 3.0, 19.0];
    for (a, b) in pw.iter().zip(expected) {
        assert!((a - b).abs() < 1e-15, "{pw:?}");
    }
    assert_eq!(PosWeight::Balanced.resolve(&counts, 100).unwrap(), pw);
    // F.binary_cross_entropy_with_logits(z, y, pos_weight=torch.tensor([7/3, 2/3, 19.]),
    //     reduction='none').sum(1).mean() = 6.292733629454549
    let balanced = multi_label(
        "kind = \"sigmoid\"\npos_weight = \"balanced\"",
        &[30, 60, 5],
        100,
    );
    assert_close(balanced, 6.292733629454549, 1e-6, "balanced");
    let explicit = multi_label(
        &format!(
            "kind = \"sigmoid\"\npos_weight = [{}, {}, 19.0]",
            7.0 / 3.0,
            2.0 / 3.0
        ),
        &[30, 60, 5],
        100,
    );
    assert_close(balanced, explicit, 1e-7, "balanced = explicit");
    // Single-label data: N is the total count (111 here), so pw = [11/100, 101/10, 110/1].
    let device = Device::flex();
    let counts = ClassCounts::from_counts(COUNTS.to_vec()).unwrap();
    let config: LossConfig =
        toml::from_str("kind = \"sigmoid-focal\"\npos_weight = \"balanced\"").unwrap();
    let by_config = config.init(&counts, &device).unwrap();
    let by_hand = SigmoidFocalConfig::new()
        .with_pos_weight(Some(vec![0.11, 10.1, 110.0]))
        .init(&device)
        .unwrap();
    assert_close(
        scalar(by_config.forward(logits(&device), targets(&device))),
        scalar(by_hand.forward(logits(&device), targets(&device))),
        1e-6,
        "single-label balanced",
    );
}

#[test]
fn balanced_pos_weight_needs_enough_samples() {
    let device = Device::flex();
    let config: LossConfig =
        toml::from_str("kind = \"sigmoid\"\npos_weight = \"balanced\"").unwrap();
    let counts = ClassCounts::from_counts(vec![30, 60, 5]).unwrap();
    let err = config
        .init_multi_label(&counts, 50, 0, &device)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "pos_weight = \"balanced\": label 1 has 60 positives but there are only 50 training \
         samples (samples must count the training rows)"
    );
}

#[test]
fn config_errors_name_the_key() {
    let err =
        toml::from_str::<LossConfig>("kind = \"sigmoid\"\npos_weight = \"nope\"").unwrap_err();
    assert_eq!(
        err.message(),
        "pos_weight: unknown pos_weight \"nope\": expected a list of numbers (one per label) or \
         \"balanced\""
    );
    let err =
        toml::from_str::<LossConfig>("kind = \"sigmoid\"\nlabel_weighting = \"x\"").unwrap_err();
    assert_eq!(
        err.message(),
        "label_weighting: unknown label_weighting \"x\": expected one of positive-sum, per-label"
    );
    let config: LossConfig =
        toml::from_str("kind = \"sigmoid-focal\"\nno_label_weight = -1").unwrap();
    assert_eq!(
        config.validate().unwrap_err().to_string(),
        "no_label_weight = -1: must be finite and >= 0"
    );
    let config: LossConfig = toml::from_str(
        "kind = \"sigmoid\"\nlabel_weighting = \"per-label\"\nno_label_weight = 0.5",
    )
    .unwrap();
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("no_label_weight = 0.5: must be 0 with label_weighting = \"per-label\"")
    );
    for key in [
        "pos_weight = \"balanced\"",
        "label_weighting = \"per-label\"",
        "no_label_weight = 0.5",
    ] {
        let err = toml::from_str::<LossConfig>(&format!("kind = \"focal\"\n{key}")).unwrap_err();
        let name = key.split(' ').next().unwrap();
        assert_eq!(
            err.message(),
            format!(
                "{name} does not apply to kind = \"focal\"; its keys are gamma, scheme, beta, \
                 power, custom_weights, normalize, zero_count, drw_start_epoch, reduction"
            )
        );
        assert_eq!(err.message().lines().count(), 1);
    }
    for key in ["label_weighting = \"per-label\"", "no_label_weight = 0.5"] {
        let err = toml::from_str::<LossConfig>(&format!(
            "kind = \"class-balanced\"\nbase = \"softmax\"\n{key}"
        ))
        .unwrap_err();
        let name = key.split(' ').next().unwrap();
        assert!(
            err.message().starts_with(&format!(
                "{name} = {}: must be given only with base = \"sigmoid\" or \"focal\"",
                key.split(" = ").nth(1).unwrap().trim_matches('"')
            )),
            "{}",
            err.message()
        );
    }
    // The library config refuses them too.
    let err = rebalance_loss::ClassBalancedConfig::new(vec![1, 2])
        .with_base(rebalance_loss::ClassBalancedBase::Softmax)
        .with_no_label_weight(1.0)
        .validate()
        .unwrap_err();
    assert!(
        err.to_string().starts_with("no_label_weight = 1: "),
        "{err}"
    );
}

#[test]
fn the_new_keys_round_trip_through_toml() {
    for text in [
        "kind = \"sigmoid\"\npos_weight = \"balanced\"\nlabel_weighting = \"per-label\"\n",
        "kind = \"sigmoid-focal\"\npos_weight = [1.0, 2.5, 3.0]\nno_label_weight = 0.25\n",
        "kind = \"class-balanced\"\nbase = \"sigmoid\"\nlabel_weighting = \"per-label\"\n",
        "kind = \"class-balanced\"\nno_label_weight = 2.0\n",
    ] {
        let config: LossConfig = toml::from_str(text).unwrap();
        let written = toml::to_string(&config).unwrap();
        assert_eq!(
            toml::from_str::<LossConfig>(&written).unwrap(),
            config,
            "{written}"
        );
        config.validate().unwrap();
    }
    let config: LossConfig =
        toml::from_str("kind = \"sigmoid\"\npos_weight = \"balanced\"\nno_label_weight = 1.5")
            .unwrap();
    let LossConfig::Sigmoid(SigmoidKeys {
        pos_weight,
        label_weighting,
        no_label_weight,
        ..
    }) = &config
    else {
        panic!("{config:?}")
    };
    assert_eq!(pos_weight, &Some(PosWeight::Balanced));
    assert_eq!(*label_weighting, LabelWeighting::PositiveSum);
    assert_eq!(*no_label_weight, 1.5);
    let written = toml::to_string(&config).unwrap();
    assert!(written.contains("pos_weight = \"balanced\""), "{written}");
    assert!(
        written.contains("label_weighting = \"positive-sum\""),
        "{written}"
    );
    assert!(written.contains("no_label_weight = 1.5"), "{written}");
    // The softmax base writes neither key.
    let softmax = toml::to_string(&LossConfig::ClassBalanced(ClassBalancedKeys {
        beta: 0.99,
        base: rebalance_loss::ClassBalancedBase::Softmax,
        gamma: 2.0,
        label_weighting: LabelWeighting::PositiveSum,
        no_label_weight: 0.0,
        reduction: Reduction::Mean,
    }))
    .unwrap();
    assert!(!softmax.contains("label"), "{softmax}");
    assert_eq!(
        LossKind::Sigmoid.keys()[..3],
        ["pos_weight", "label_weighting", "no_label_weight"]
    );
}
