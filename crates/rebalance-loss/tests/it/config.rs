//! `LossConfig` from TOML and the `ImbalanceLoss` it builds.
use crate::common::*;
use burn::prelude::*;
use rebalance_loss::{
    ClassBalancedBase, ClassBalancedKeys, ClassWeighting, ImbalanceLoss, LadeKeys, LdamKeys,
    LossConfig, Reduction, SigmoidFocalKeys,
};
use rebalance_weights::{ClassCounts, Scheme};

fn counts() -> ClassCounts {
    ClassCounts::from_counts(COUNTS.to_vec()).unwrap()
}

fn value(config: &str) -> f64 {
    let device = Device::flex();
    let config: LossConfig = toml::from_str(config).unwrap();
    let loss = ImbalanceLoss::new(&config, &counts(), &device).unwrap();
    scalar(loss.forward(logits(&device), targets(&device)))
}

#[test]
fn every_kind_parses_and_matches_the_reference_values() {
    let ens = "scheme = \"ens\"\nbeta = 0.99";
    assert_close(value("kind = \"cross-entropy\""), 0.6931654, 2e-6, "ce");
    assert_close(
        value(&format!("kind = \"cross-entropy\"\n{ens}")),
        1.0111566,
        2e-6,
        "wce",
    );
    assert_close(
        value(&format!(
            "kind = \"cross-entropy\"\nreduction = \"mean\"\n{ens}"
        )),
        1.4352657,
        2e-6,
        "wce mean",
    );
    assert_close(value("kind = \"focal\""), 0.2718389, 2e-6, "focal");
    assert_close(
        value("kind = \"sigmoid-focal\"\nreduction = \"mean\""),
        3.0 * 0.1294228,
        2e-6,
        "sigmoid focal",
    );
    assert_close(
        value("kind = \"sigmoid\"\nreduction = \"mean\""),
        3.0 * 0.6182093748,
        2e-6,
        "bce",
    );
    assert_close(
        value("kind = \"class-balanced\"\nbeta = 0.99\nbase = \"focal\"\ngamma = 2"),
        0.9225158,
        2e-6,
        "cb focal",
    );
    assert_close(value("kind = \"ldam\""), 11.2621468379, 2e-6, "ldam");
    assert_close(
        value("kind = \"logit-adjusted\"\ntau = 1.0"),
        2.6071389,
        2e-6,
        "la",
    );
    assert_close(value("kind = \"balanced-softmax\""), 2.6071389, 2e-6, "bs");
    // The value of `lade.rs`'s test of the authors' code.
    assert_close(value("kind = \"lade\""), 2.4477353, 2e-6, "lade");
    assert_close(
        value("kind = \"lade\"\nalpha = 1.0\nremine_lambda = 0.3"),
        1.1138759,
        2e-6,
        "lade α=1 λ=0.3",
    );
}

#[test]
fn lade_takes_no_class_weights() {
    let err = toml::from_str::<LossConfig>("kind = \"lade\"\nscheme = \"ens\"").unwrap_err();
    assert!(
        err.to_string().contains(
            "scheme does not apply to kind = \"lade\"; its keys are alpha, remine_lambda, reduction"
        ),
        "{err}"
    );
    let config: LossConfig = toml::from_str("kind = \"lade\"").unwrap();
    assert_eq!(
        config,
        LossConfig::Lade(LadeKeys {
            alpha: 0.1,
            remine_lambda: 0.1,
            reduction: Reduction::WeightedMean,
        })
    );
    assert!(config.weighting().is_none());
    assert!(config.class_weights_at(&counts(), 0).unwrap().is_none());
    let bad: LossConfig = toml::from_str("kind = \"lade\"\nalpha = -1").unwrap();
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "alpha = -1: must be finite and >= 0"
    );
}

#[test]
fn defaults_are_filled_in() {
    let config: LossConfig = toml::from_str("kind = \"class-balanced\"").unwrap();
    assert_eq!(
        config,
        LossConfig::ClassBalanced(ClassBalancedKeys {
            beta: 0.9999,
            base: ClassBalancedBase::Focal,
            gamma: 2.0,
            label_weighting: rebalance_loss::LabelWeighting::PositiveSum,
            no_label_weight: 0.0,
            reduction: Reduction::Mean,
        })
    );
    let config: LossConfig = toml::from_str("kind = \"ldam\"").unwrap();
    assert_eq!(
        config,
        LossConfig::Ldam(LdamKeys {
            max_margin: 0.5,
            scale: 30.0,
            weights: None,
            reduction: Reduction::WeightedMean,
        })
    );
}

#[test]
fn unknown_keys_and_kinds_are_errors() {
    let err = toml::from_str::<LossConfig>("kind = \"focal\"\ngama = 2").unwrap_err();
    assert!(err.message().contains("gama"), "{err}");
    let err = toml::from_str::<LossConfig>("kind = \"hinge\"").unwrap_err();
    assert!(err.message().contains("hinge"), "{err}");
    let err = toml::from_str::<LossConfig>("kind = \"focal\"\nscheme = \"ens:2\"").unwrap_err();
    assert!(
        err.message().contains("beta = 2: must be in [0, 1)"),
        "{err}"
    );
}

#[test]
fn bad_values_fail_at_init_with_their_name() {
    let device = Device::flex();
    let config: LossConfig = toml::from_str("kind = \"focal\"\ngamma = -2").unwrap();
    let err = config.init(&counts(), &device).unwrap_err();
    assert_eq!(err.to_string(), "gamma = -2: must be finite and >= 0");
    let config: LossConfig = toml::from_str("kind = \"sigmoid\"\npos_weight = [1.0, 2.0]").unwrap();
    let err = config.init(&counts(), &device).unwrap_err();
    assert_eq!(
        err.to_string(),
        "pos_weight has 2 values but there are 3 classes: give one value per class"
    );
    let empty = ClassCounts::from_counts(vec![4, 0, 1]).unwrap();
    let config: LossConfig = toml::from_str("kind = \"focal\"\nscheme = \"ins\"").unwrap();
    assert!(
        config
            .init(&empty, &device)
            .unwrap_err()
            .to_string()
            .starts_with("class 1 has no")
    );
    let lenient: LossConfig =
        toml::from_str("kind = \"focal\"\nscheme = \"ins\"\nzero_count = \"zero-weight\"").unwrap();
    assert!(lenient.init(&empty, &device).is_ok());
}

#[test]
fn deferred_reweighting_switches_at_start_epoch() {
    let device = Device::flex();
    let config = LossConfig::Ldam(LdamKeys {
        max_margin: 0.5,
        scale: 30.0,
        weights: Some(ClassWeighting {
            start_epoch: 2,
            ..ClassWeighting::new(Scheme::Ens { beta: 0.99 })
        }),
        reduction: Reduction::WeightedMean,
    });
    assert_eq!(
        (0..4)
            .map(|e| config.weights_change_at(e))
            .collect::<Vec<_>>(),
        [false, false, true, false]
    );
    let at = |epoch| {
        let loss = config.init_for_epoch(&counts(), epoch, &device).unwrap();
        scalar(loss.forward(logits(&device), targets(&device)))
    };
    assert_close(at(0), 11.2621468379, 2e-6, "uniform phase");
    assert_close(at(1), 11.2621468379, 2e-6, "uniform phase");
    assert_close(at(2), 21.2457601949, 2e-6, "re-weighted phase");
    let weights = config.class_weights_at(&counts(), 0).unwrap().unwrap();
    assert_eq!(weights.as_slice(), &[1.0, 1.0, 1.0]);
    let weights = config.class_weights_at(&counts(), 5).unwrap().unwrap();
    assert_close(weights.as_slice()[2], ENS_099[2], 1e-6, "DRW weights");
}

#[test]
fn config_round_trips_through_toml() {
    let config = LossConfig::SigmoidFocal(SigmoidFocalKeys {
        gamma: 1.5,
        alpha: -1.0,
        weights: Some(ClassWeighting::new(Scheme::Isns)),
        pos_weight: Some(rebalance_loss::PosWeight::Values(vec![1.0, 2.0, 3.0])),
        label_weighting: rebalance_loss::LabelWeighting::PositiveSum,
        no_label_weight: 0.0,
        reduction: Reduction::Sum,
    });
    let text = toml::to_string(&config).unwrap();
    assert_eq!(
        toml::from_str::<LossConfig>(&text).unwrap(),
        config,
        "{text}"
    );
    assert_eq!(config.name(), "sigmoid-focal");
}

#[test]
fn keys_of_another_kind_and_old_spellings_are_errors() {
    let err = toml::from_str::<LossConfig>("kind = \"ldam\"\ngamma = 2").unwrap_err();
    assert_eq!(
        err.message(),
        "gamma does not apply to kind = \"ldam\"; its keys are max_margin, scale, scheme, beta, \
         power, custom_weights, normalize, zero_count, drw_start_epoch, reduction"
    );
    let err =
        toml::from_str::<LossConfig>("kind = \"class-balanced\"\nscheme = \"ins\"").unwrap_err();
    assert!(
        err.message()
            .starts_with("scheme does not apply to kind = \"class-balanced\"")
    );
    let err = toml::from_str::<LossConfig>("weights = { scheme = \"ins\" }").unwrap_err();
    assert!(
        err.message()
            .starts_with("weights: the nested weights table is now flat keys"),
        "{err}"
    );
    let err = toml::from_str::<LossConfig>("scheme = \"ins\"\nbeta = 0.9").unwrap_err();
    assert_eq!(
        err.message(),
        "beta = 0.9: goes with scheme \"ens\", not \"ins\""
    );
    let err = toml::from_str::<LossConfig>("scheme = \"ens:0.9\"\nbeta = 0.9").unwrap_err();
    assert!(err.message().contains("given twice"), "{err}");
    let err = toml::from_str::<LossConfig>("drw_start_epoch = 3").unwrap_err();
    assert_eq!(
        err.message(),
        "drw_start_epoch = 3: must be given with class weights: set scheme (uniform has none)"
    );
    let err = toml::from_str::<LossConfig>("kind = \"Hinge\"").unwrap_err();
    assert!(
        err.message().contains(
            "expected one of cross-entropy, focal, sigmoid, sigmoid-focal, class-balanced, \
             ldam, logit-adjusted, balanced-softmax"
        ),
        "{err}"
    );
}

#[test]
fn names_parse_case_insensitively() {
    let config: LossConfig =
        toml::from_str("kind = \"Focal\"\nreduction = \"SUM\"\nscheme = \"ENS\"").unwrap();
    assert_eq!(config.name(), "focal");
    assert_eq!(config.reduction(), Reduction::Sum);
    assert_eq!(
        config.weighting().map(|w| w.scheme.clone()),
        Some(Scheme::Ens {
            beta: Scheme::DEFAULT_ENS_BETA
        })
    );
}

#[test]
fn every_kind_round_trips_with_every_key_written() {
    use strum::IntoEnumIterator;
    for kind in rebalance_loss::LossKind::iter() {
        let config = LossConfig::with_defaults(kind);
        let text = toml::to_string(&config).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        // Every key the kind takes is written, but those without a value (ignore_index,
        // pos_weight, the parameters of other schemes, drw_start_epoch).
        for key in kind.keys() {
            let optional = [
                "label_aware",
                "ignore_index",
                "pos_weight",
                "beta",
                "power",
                "custom_weights",
                "normalize",
                "zero_count",
                "drw_start_epoch",
            ];
            assert!(
                table.contains_key(key) || optional.contains(&key),
                "{kind}: {key} missing from {text}"
            );
        }
        assert_eq!(
            toml::from_str::<LossConfig>(&text).unwrap(),
            config,
            "{text}"
        );
        config.validate().unwrap();
    }
}

#[test]
fn every_kind_round_trips_through_json() {
    use strum::IntoEnumIterator;
    for kind in rebalance_loss::LossKind::iter() {
        let config = LossConfig::with_defaults(kind);
        // JSON writes the unset keys as `null`, which reads back as left out.
        let text = serde_json::to_string(&config).unwrap();
        assert_eq!(
            serde_json::from_str::<LossConfig>(&text).unwrap(),
            config,
            "{text}"
        );
    }
}

// Label-aware smoothing, the MiSLAS code's `LabelAwareSmoothing` (dvlab-research/MiSLAS):
//   smooth = tail + (head - tail) * np.sin((n - n_K) * np.pi / (2 * (n_1 - n_K)))   # concave
//   logprobs = F.log_softmax(x, -1); nll = -logprobs.gather(-1, y[:, None])[:, 0]
//   loss = ((1 - smooth[y]) * nll + smooth[y] * -logprobs.mean(-1)).mean()
// on the reference batch with counts [100, 10, 1]. No PyTorch here: the values are that code in
// f64 Python; with class weights w, each term weighted as PyTorch's label smoothing weights
// them, `(1-ε)·w_y·nll + ε/C·Σ_c w_c·(-log p_c)`, divided by `Σ w_y`.
#[test]
fn label_aware_smoothing_matches_the_mislas_code() {
    assert_close(
        value("label_aware = {}"),
        0.8149158402470275,
        2e-6,
        "concave, defaults",
    );
    assert_close(
        value("label_aware = { shape = \"linear\" }"),
        0.8115744666683549,
        2e-6,
        "linear",
    );
    assert_close(
        value("label_aware = { head = 0.2, tail = 0.1, shape = \"convex\" }"),
        0.8000525778518438,
        2e-6,
        "convex",
    );
    assert_close(
        value(
            "label_aware = {}\nscheme = \"custom\"\ncustom_weights = [0.0422375, 0.2800436, 2.6777189]\nnormalize = \"none\"",
        ),
        1.182819938945021,
        2e-6,
        "weighted",
    );
    let err = toml::from_str::<LossConfig>("smoothing = 0.1\nlabel_aware = {}")
        .unwrap()
        .validate()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "smoothing = 0.1: must be 0 when the smoothing is per class (label-aware)"
    );
    let err = toml::from_str::<LossConfig>("label_aware = { head = 1.5 }")
        .unwrap()
        .validate()
        .unwrap_err();
    assert_eq!(err.to_string(), "label_aware.head = 1.5: must be in [0, 1]");
    let err = toml::from_str::<LossConfig>("label_aware = { shape = \"round\" }").unwrap_err();
    assert!(
        err.message()
            .contains("expected one of concave, linear, convex"),
        "{err}"
    );
}

/// Multi-hot targets: the sigmoid kinds build a [`rebalance_loss::MultiLabelLoss`], the
/// softmax kinds are refused by name.
mod multi_label {
    use super::*;
    use rebalance_loss::WeightedBinaryCrossEntropyConfig;

    fn multi_label_value(config: &str, counts: &ClassCounts) -> f64 {
        let device = Device::flex();
        let config: LossConfig = toml::from_str(config).unwrap();
        let loss = config.init_multi_label(counts, 100, 0, &device).unwrap();
        let logits = Tensor::<2>::from_floats([[0.0, 0.0], [2.0, -1.0]], &device);
        // A sample with both labels, and one with none.
        let targets = Tensor::<2>::from_floats([[1.0, 1.0], [0.0, 0.0]], &device);
        scalar(loss.forward(logits, targets))
    }

    #[test]
    fn plain_bce_sums_the_labels_of_a_row() {
        // torch.nn.functional.binary_cross_entropy_with_logits(
        //     torch.tensor([[0., 0.], [2., -1.]]), torch.tensor([[1., 1.], [0., 0.]]),
        //     reduction="none").sum(1).mean()
        // = (2 ln 2 + softplus(2) + softplus(-1)) / 2 = 1.9132420
        let counts = ClassCounts::from_counts(vec![30, 3]).unwrap();
        assert_close(
            multi_label_value("kind = \"sigmoid\"", &counts),
            1.9132420,
            2e-6,
            "bce",
        );
    }

    #[test]
    fn the_weighted_loss_is_the_library_loss_with_the_same_weights() {
        let device = Device::flex();
        let counts = ClassCounts::from_counts(vec![30, 3]).unwrap();
        let weights = Scheme::Ens { beta: 0.99 }.weights(&counts).unwrap();
        let by_hand = WeightedBinaryCrossEntropyConfig::new()
            .with_class_weights(&weights)
            .init(&device)
            .unwrap();
        let logits = Tensor::<2>::from_floats([[0.0, 0.0], [2.0, -1.0]], &device);
        let targets = Tensor::<2>::from_floats([[1.0, 1.0], [0.0, 0.0]], &device);
        let expected = scalar(by_hand.forward_multi_hot(logits, targets));
        let config = "kind = \"sigmoid\"\nscheme = \"ens\"\nbeta = 0.99";
        assert_close(multi_label_value(config, &counts), expected, 1e-6, "ens");
        // Weighted mean: the row without a label weighs 0, so only the first row counts.
        assert_close(expected, 2.0 * 2f64.ln(), 1e-6, "the labelled row alone");
    }

    #[test]
    fn class_balanced_is_its_sigmoid_base_with_effective_number_weights() {
        let counts = ClassCounts::from_counts(vec![30, 3]).unwrap();
        let cb = "kind = \"class-balanced\"\nbase = \"sigmoid\"\nbeta = 0.99";
        let sigmoid = "kind = \"sigmoid\"\nscheme = \"ens\"\nbeta = 0.99\nreduction = \"mean\"";
        assert_close(
            multi_label_value(cb, &counts),
            multi_label_value(sigmoid, &counts),
            1e-6,
            "cb sigmoid",
        );
        let focal = "kind = \"class-balanced\"\nbeta = 0.99";
        assert!(multi_label_value(focal, &counts) > 0.0);
    }

    #[test]
    fn softmax_losses_are_refused_by_name() {
        let device = Device::flex();
        let counts = ClassCounts::from_counts(vec![30, 3]).unwrap();
        for (config, kind) in [
            ("kind = \"cross-entropy\"", "cross-entropy"),
            ("kind = \"ldam\"", "ldam"),
            (
                "kind = \"class-balanced\"\nbase = \"softmax\"",
                "class-balanced",
            ),
        ] {
            let config: LossConfig = toml::from_str(config).unwrap();
            let message = config.check_multi_label().unwrap_err().to_string();
            assert!(
                message.starts_with(&format!("kind = \"{kind}\" cannot train multi-label data")),
                "{message}"
            );
            assert!(
                message.contains("sigmoid") || message.contains("focal"),
                "{message}"
            );
            let error = config
                .init_multi_label(&counts, 100, 0, &device)
                .unwrap_err();
            assert_eq!(error.to_string(), message);
        }
    }
}
