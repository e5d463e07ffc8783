//! One loss schema: `[loss]` in a run config is the library's `LossConfig`, so the binary's
//! config path and the library give the same loss, every library option is reachable from a
//! config file, and the defaults are those of each loss's own `*Config`.
use std::path::Path;

use burn::prelude::*;
use rebalance::run::config::RunConfig;
use rebalance_loss::{
    ClassBalancedConfig, ClassBalancedKeys, FocalConfig, FocalKeys, ImbalanceLoss, LabelWeighting,
    LadeConfig, LdamConfig, LdamKeys, LogitAdjustedConfig, LossConfig, LossKind, PosWeight,
    Reduction, SigmoidFocalConfig, SigmoidFocalKeys, SigmoidKeys, VsConfig,
    WeightedBinaryCrossEntropyConfig, WeightedCrossEntropyConfig,
};
use rebalance_weights::{ClassCounts, Normalization, Scheme, WeightsConfig, ZeroCountPolicy};
use strum::IntoEnumIterator;

use crate::common::write_config;

const COUNTS: [u64; 3] = [100, 10, 1];

/// Every key of every kind set away from its default. `label_weighting = "per-label"` and a
/// `no_label_weight` other than 0 exclude each other, so each sigmoid kind sets one of them
/// (the other: [`multi_label_keys_are_reachable`]).
fn keys(kind: LossKind) -> String {
    let own = match kind {
        LossKind::CrossEntropy => "smoothing = 0.1\nignore_index = 1\n",
        LossKind::Focal => "gamma = 1.5\n",
        LossKind::Sigmoid => "pos_weight = [1.0, 2.0, 3.0]\nno_label_weight = 0.5\n",
        LossKind::SigmoidFocal => {
            "gamma = 1.5\nalpha = 0.4\npos_weight = [1.0, 2.0, 3.0]\n\
             label_weighting = \"per-label\"\n"
        }
        LossKind::ClassBalanced => {
            "beta = 0.99\nbase = \"focal\"\ngamma = 1.0\nno_label_weight = 0.5\n"
        }
        LossKind::Ldam => "max_margin = 0.3\nscale = 10.0\n",
        LossKind::LogitAdjusted => "tau = 0.5\n",
        LossKind::BalancedSoftmax => "",
        LossKind::Vs => "gamma = 0.2\ntau = 1.5\n",
        LossKind::Lade => "alpha = 0.3\nremine_lambda = 0.2\n",
    };
    let weights = match kind {
        LossKind::ClassBalanced | LossKind::Lade => "",
        _ => {
            "scheme = \"ens\"\nbeta = 0.99\nnormalize = \"mean-sample\"\n\
             zero_count = \"add-one\"\ndrw_start_epoch = 2\n"
        }
    };
    format!(
        "kind = \"{kind}\"\n{own}{weights}reduction = \"{}\"\n",
        reduction(kind)
    )
}

/// A reduction other than the kind's default.
fn reduction(kind: LossKind) -> Reduction {
    match kind {
        LossKind::ClassBalanced => Reduction::WeightedMean,
        _ => Reduction::Mean,
    }
}

/// The run config's loss, read as the binary reads it: from a file, through `RunConfig`.
fn through_the_binary(loss_keys: &str) -> LossConfig {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), "config.toml", &format!("[loss]\n{loss_keys}"));
    RunConfig::load(&path, &[]).unwrap().loss
}

/// The loss on a fixed batch of 4 samples and 3 classes.
fn forward(loss: &ImbalanceLoss, device: &Device) -> f32 {
    let logits = Tensor::<2>::from_floats(
        [
            [2.0, 0.5, -1.0],
            [0.1, 1.5, 0.3],
            [-0.5, 0.2, 0.8],
            [1.0, -0.3, 0.0],
        ],
        device,
    );
    let targets = Tensor::<1, Int>::from_ints([0, 1, 2, 2], device);
    loss.forward(logits, targets).into_scalar::<f32>()
}

/// The loss value on the fixed batch at `epoch` (from 0).
fn value(config: &LossConfig, epoch: usize) -> f32 {
    let device = Device::flex();
    let counts = ClassCounts::from_counts(COUNTS.to_vec()).unwrap();
    let loss = config.init_for_epoch(&counts, epoch, &device).unwrap();
    forward(&loss, &device)
}

/// The weights of the `weights` keys of [`keys`], computed by the weights library directly.
fn ens_weights() -> Vec<f64> {
    WeightsConfig::new(Scheme::Ens { beta: 0.99 })
        .with_normalization(Normalization::MeanSample)
        .with_zero_count(ZeroCountPolicy::AddOne)
        .compute(&ClassCounts::from_counts(COUNTS.to_vec()).unwrap())
        .unwrap()
        .into_vec()
}

/// The loss built from each kind's own `*Config`, with the values of [`keys`] (after the DRW
/// switch).
fn built_by_hand(kind: LossKind) -> f32 {
    let device = Device::flex();
    let w = Some(ens_weights());
    let counts = COUNTS.to_vec();
    let mean = reduction(kind);
    let pos = Some(vec![1.0, 2.0, 3.0]);
    let loss = match kind {
        LossKind::CrossEntropy => ImbalanceLoss::CrossEntropy(
            WeightedCrossEntropyConfig::new()
                .with_smoothing(0.1)
                .with_ignore_index(Some(1))
                .with_weights(w)
                .with_reduction(mean)
                .init(&device)
                .unwrap(),
        ),
        LossKind::Focal => ImbalanceLoss::Focal(
            FocalConfig::new()
                .with_gamma(1.5)
                .with_weights(w)
                .with_reduction(mean)
                .init(&device)
                .unwrap(),
        ),
        LossKind::Sigmoid => ImbalanceLoss::Sigmoid(
            WeightedBinaryCrossEntropyConfig::new()
                .with_weights(w)
                .with_pos_weight(pos)
                .with_no_label_weight(0.5)
                .with_reduction(mean)
                .init(&device)
                .unwrap(),
        ),
        LossKind::SigmoidFocal => ImbalanceLoss::SigmoidFocal(
            SigmoidFocalConfig::new()
                .with_gamma(1.5)
                .with_alpha(0.4)
                .with_weights(w)
                .with_pos_weight(pos)
                .with_label_weighting(LabelWeighting::PerLabel)
                .with_reduction(mean)
                .init(&device)
                .unwrap(),
        ),
        LossKind::ClassBalanced => ImbalanceLoss::ClassBalanced(
            ClassBalancedConfig::new(counts)
                .with_beta(0.99)
                .with_base(rebalance_loss::ClassBalancedBase::Focal)
                .with_gamma(1.0)
                .with_no_label_weight(0.5)
                .with_reduction(mean)
                .init(&device)
                .unwrap(),
        ),
        LossKind::Ldam => ImbalanceLoss::Ldam(
            LdamConfig::new(counts)
                .with_max_margin(0.3)
                .with_scale(10.0)
                .with_weights(w)
                .with_reduction(mean)
                .init(&device)
                .unwrap(),
        ),
        LossKind::LogitAdjusted => ImbalanceLoss::LogitAdjusted(
            LogitAdjustedConfig::new(counts)
                .with_tau(0.5)
                .with_weights(w)
                .with_reduction(mean)
                .init(&device)
                .unwrap(),
        ),
        LossKind::Vs => ImbalanceLoss::Vs(
            VsConfig::new(counts)
                .with_gamma(0.2)
                .with_tau(1.5)
                .with_weights(w)
                .with_reduction(mean)
                .init(&device)
                .unwrap(),
        ),
        LossKind::BalancedSoftmax => ImbalanceLoss::BalancedSoftmax(
            rebalance_loss::BalancedSoftmaxConfig::new(counts)
                .with_weights(w)
                .with_reduction(mean)
                .init(&device)
                .unwrap(),
        ),
        LossKind::Lade => ImbalanceLoss::Lade(
            LadeConfig::new(counts)
                .with_alpha(0.3)
                .with_remine_lambda(0.2)
                .with_reduction(mean)
                .init(&device)
                .unwrap(),
        ),
    };
    forward(&loss, &device)
}

#[test]
fn the_binary_and_the_library_build_the_same_loss_for_every_kind() {
    for kind in LossKind::iter() {
        let text = keys(kind);
        let binary = through_the_binary(&text);
        let library: LossConfig = toml::from_str(&text).unwrap();
        assert_eq!(binary, library, "{kind}");
        // After the DRW switch (epoch 2 counted from 1 is the library's epoch 1).
        let (a, b) = (value(&binary, 1), built_by_hand(kind));
        assert!(
            (a - b).abs() <= 1e-6 * b.abs().max(1.0),
            "{kind}: {a} vs {b}"
        );
        assert!(a.is_finite() && a > 0.0, "{kind}: {a}");
    }
}

#[test]
fn every_library_option_is_reachable_from_a_config_file() {
    for kind in LossKind::iter() {
        let defaults = LossConfig::with_defaults(kind);
        for line in keys(kind).lines().skip(1) {
            let key = line.split(' ').next().unwrap();
            assert!(kind.keys().contains(&key), "{kind}: {key}");
            // One key on its own (scheme parameters with their scheme) moves the config
            // off its defaults.
            let alone = match key {
                "beta" if kind != LossKind::ClassBalanced => format!("scheme = \"ens\"\n{line}"),
                // The focal base is the default; the softmax base takes no gamma.
                "base" => "base = \"softmax\"".to_string(),
                "normalize" | "zero_count" | "drw_start_epoch" => {
                    format!("scheme = \"ins\"\n{line}")
                }
                _ => line.to_string(),
            };
            let config = through_the_binary(&format!("kind = \"{kind}\"\n{alone}\n"));
            assert_ne!(config, defaults, "{kind}: {key} changed nothing");
        }
        // And every key the kind takes is exercised above.
        let text = keys(kind);
        let given: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        for key in kind.keys() {
            // `label_aware` replaces `smoothing`: its own test below; so do the multi-label
            // keys left out of `keys` (`multi_label_keys_are_reachable`).
            let scheme_parameter = ["power", "custom_weights", "label_aware"].contains(&key);
            let multi_label = ["label_weighting", "no_label_weight"].contains(&key);
            assert!(
                given.contains(&key) || scheme_parameter || multi_label,
                "{kind}: {key}"
            );
        }
    }
    // Label-aware smoothing, which replaces `smoothing`.
    let label_aware = through_the_binary("label_aware = { head = 0.2, shape = \"linear\" }\n");
    assert_ne!(label_aware, LossConfig::default());
    // The scheme parameters beyond beta.
    let power = through_the_binary("scheme = \"power\"\npower = 0.25\n");
    assert_eq!(
        power.weighting().map(|w| &w.scheme),
        Some(&Scheme::Power { p: 0.25 })
    );
    let custom = through_the_binary("scheme = \"custom\"\ncustom_weights = [1.0, 2.0, 4.0]\n");
    assert_eq!(
        custom.weighting().map(|w| &w.scheme),
        Some(&Scheme::Custom {
            weights: vec![1.0, 2.0, 4.0]
        })
    );
}

#[test]
fn defaults_are_each_loss_configs_own() {
    // The drift this schema removed: class-balanced reduced with `weighted-mean` through the
    // binary and with `mean` (Cui et al.'s code) in the library.
    let cb = through_the_binary("kind = \"class-balanced\"\n");
    assert_eq!(cb.reduction(), ClassBalancedConfig::new(vec![]).reduction);
    assert_eq!(cb.reduction(), Reduction::Mean);
    let LossConfig::ClassBalanced(ClassBalancedKeys { beta, .. }) = cb else {
        panic!("{cb:?}")
    };
    assert_eq!(beta, Scheme::DEFAULT_ENS_BETA);
    assert_eq!(through_the_binary(""), LossConfig::default());
    let focal = through_the_binary("kind = \"focal\"\n");
    assert_eq!(focal, LossConfig::with_defaults(LossKind::Focal));
    let LossConfig::Focal(FocalKeys { gamma, .. }) = focal else {
        panic!("{focal:?}")
    };
    assert_eq!(gamma, FocalConfig::new().gamma);
    let ens = through_the_binary("scheme = \"ens\"\n");
    assert_eq!(
        ens.weighting().map(|w| &w.scheme),
        Some(&Scheme::Ens {
            beta: Scheme::DEFAULT_ENS_BETA
        })
    );
}

#[test]
fn shipped_configs_keep_their_flat_keys() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let cifar = RunConfig::load(&configs.join("cifar10-lt.toml"), &[]).unwrap();
    match cifar.loss {
        LossConfig::Ldam(LdamKeys {
            max_margin,
            scale,
            weights: Some(w),
            ..
        }) => {
            assert_eq!((max_margin, scale), (0.5, 30.0));
            assert_eq!(w.scheme, Scheme::Ens { beta: 0.9999 });
            assert_eq!(w.start_epoch, 160);
        }
        other => panic!("{other:?}"),
    }
}

/// The multi-label keys that [`keys`] leaves out of a kind (`per-label` excludes a
/// `no_label_weight`), and `pos_weight = "balanced"`, each on its own through the binary.
#[test]
fn multi_label_keys_are_reachable() {
    for kind in [
        LossKind::Sigmoid,
        LossKind::SigmoidFocal,
        LossKind::ClassBalanced,
    ] {
        let defaults = LossConfig::with_defaults(kind);
        for key in ["label_weighting = \"per-label\"", "no_label_weight = 0.5"] {
            assert!(kind.keys().contains(&key.split(' ').next().unwrap()));
            let config = through_the_binary(&format!("kind = \"{kind}\"\n{key}\n"));
            assert_ne!(config, defaults, "{kind}: {key} changed nothing");
            config.validate().unwrap();
        }
    }
    let sigmoid = through_the_binary("kind = \"sigmoid\"\npos_weight = \"balanced\"\n");
    let LossConfig::Sigmoid(SigmoidKeys { pos_weight, .. }) = &sigmoid else {
        panic!("{sigmoid:?}")
    };
    assert_eq!(pos_weight, &Some(PosWeight::Balanced));
    // Defaults are those of the *Configs.
    let focal = SigmoidFocalConfig::new();
    let balanced = ClassBalancedConfig::new(vec![]);
    for (kind, defaults) in [
        (
            "sigmoid-focal",
            (focal.label_weighting, focal.no_label_weight),
        ),
        (
            "class-balanced",
            (balanced.label_weighting, balanced.no_label_weight),
        ),
    ] {
        let config = through_the_binary(&format!("kind = \"{kind}\"\n"));
        assert_eq!(multi_label_keys(&config), defaults, "{kind}");
    }
}

/// `label_weighting` and `no_label_weight` of a sigmoid-focal or class-balanced loss.
fn multi_label_keys(config: &LossConfig) -> (LabelWeighting, f64) {
    match config {
        LossConfig::SigmoidFocal(SigmoidFocalKeys {
            label_weighting,
            no_label_weight,
            ..
        })
        | LossConfig::ClassBalanced(ClassBalancedKeys {
            label_weighting,
            no_label_weight,
            ..
        }) => (*label_weighting, *no_label_weight),
        other => panic!("{other:?}"),
    }
}
