//! Packed losses: a pack of R = 3 runs of one kind, each with its own class weights and class
//! constants and its own random logits, gives every run the value and the logit gradient of
//! the single loss on that run's slice (to 1e-6 relative); mismatched runs are a `LossError`.
use crate::common::*;
use burn::prelude::*;
use rebalance_loss::{LossConfig, LossError, PackedLoss, PackedMultiLabelLoss};
use rebalance_weights::ClassCounts;

const RUNS: usize = 3;
const BATCH: usize = 7;
const CLASSES: usize = 4;

/// A config from its TOML keys.
fn config(keys: &str) -> LossConfig {
    toml::from_str(keys).unwrap()
}

/// Three configs of `kind`, each with its own extra keys.
fn configs(kind: &str, keys: [&str; RUNS]) -> Vec<LossConfig> {
    keys.iter()
        .map(|k| config(&format!("kind = \"{kind}\"\n{k}")))
        .collect()
}

/// Each run's training counts: long-tailed, different per run (so are margins and priors).
fn counts() -> Vec<ClassCounts> {
    [[500, 120, 40, 8], [300, 200, 60, 3], [90, 80, 70, 60]]
        .iter()
        .map(|c| ClassCounts::from_counts(c.to_vec()).unwrap())
        .collect()
}

/// Deterministic values in `[-scale, scale)`, a different stream per `seed`.
fn random(seed: u64, len: usize, scale: f32) -> Vec<f32> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32 * scale
        })
        .collect()
}

/// Each run's logits from its own seed, `R·B·C` values run after run.
fn pack_logits() -> Vec<f32> {
    (0..RUNS as u64)
        .flat_map(|r| random(r + 1, BATCH * CLASSES, 3.0))
        .collect()
}

/// Class-index targets, `R·B`, every class present in every run.
fn pack_targets() -> Vec<i64> {
    (0..RUNS * BATCH)
        .map(|i| ((i * 5 + i / BATCH) % CLASSES) as i64)
        .collect()
}

/// Multi-hot targets, `R·B·C`, with rows of no positive label.
fn pack_multi_hot() -> Vec<f32> {
    random(99, RUNS * BATCH * CLASSES, 1.0)
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            if v > 0.3 && i % (2 * CLASSES) < CLASSES {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}

/// A loss's value and its gradient in the logits.
type Outcome = (Vec<f32>, Vec<f32>);

/// The logits `[shape]` from `values` as a tracked leaf on autodiff flex.
fn leaf<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::<1>::from_floats(values, device)
        .reshape(shape)
        .require_grad()
}

#[track_caller]
fn assert_same(packed: &Outcome, singles: &[Outcome], what: &str) {
    let per_run = BATCH * CLASSES;
    for (r, (value, grad)) in singles.iter().enumerate() {
        let (expected, actual) = (f64::from(value[0]), f64::from(packed.0[r]));
        assert!(
            (actual - expected).abs() <= 1e-6 * expected.abs(),
            "{what}, run {r}: packed {actual} vs single {expected}"
        );
        let scale = grad.iter().fold(0f32, |m, g| m.max(g.abs()));
        let packed_grad = &packed.1[r * per_run..(r + 1) * per_run];
        for (i, (p, s)) in packed_grad.iter().zip(grad).enumerate() {
            assert!(
                (p - s).abs() <= 1e-6 * scale,
                "{what}, run {r}, d/dz[{i}]: packed {p} vs single {s} (largest {scale})"
            );
        }
    }
}

/// Checks the pack of `configs` against each run's single loss, class-index targets.
fn check_pack(configs: &[LossConfig], targets: &[i64], epoch: usize) {
    let device = Device::flex().autodiff();
    let counts = counts();
    let logits = pack_logits();
    let packed = {
        let z = leaf(&logits, [RUNS, BATCH, CLASSES], &device);
        let loss = PackedLoss::new(configs, &counts, epoch, &device).unwrap();
        assert_eq!((loss.runs(), loss.kind()), (RUNS, configs[0].kind()));
        let y = Tensor::<1, Int>::from_ints(targets, &device).reshape([RUNS, BATCH]);
        let value = loss.forward(z.clone(), y);
        let grad = values(z.grad(&value.clone().sum().backward()).unwrap());
        (values(value), grad)
    };
    let singles: Vec<Outcome> = (0..RUNS)
        .map(|r| {
            let z = leaf(
                &logits[r * BATCH * CLASSES..(r + 1) * BATCH * CLASSES],
                [BATCH, CLASSES],
                &device,
            );
            let loss = configs[r]
                .init_for_epoch(&counts[r], epoch, &device)
                .unwrap();
            let y = Tensor::<1, Int>::from_ints(&targets[r * BATCH..(r + 1) * BATCH], &device);
            let value = loss.forward(z.clone(), y);
            let grad = values(z.grad(&value.backward()).unwrap());
            (values(value), grad)
        })
        .collect();
    assert_same(&packed, &singles, configs[0].name());
}

/// Checks the multi-label pack of `configs` against each run's single multi-label loss.
fn check_multi_label_pack(configs: &[LossConfig]) {
    let device = Device::flex().autodiff();
    let counts = counts();
    let samples = [700, 600, 300];
    let (logits, targets) = (pack_logits(), pack_multi_hot());
    let shape = [RUNS, BATCH, CLASSES];
    let packed = {
        let z = leaf(&logits, shape, &device);
        let loss = PackedMultiLabelLoss::new(configs, &counts, &samples, 0, &device).unwrap();
        assert_eq!((loss.runs(), loss.kind()), (RUNS, configs[0].kind()));
        let y = Tensor::<1>::from_floats(targets.as_slice(), &device).reshape(shape);
        let value = loss.forward(z.clone(), y);
        let grad = values(z.grad(&value.clone().sum().backward()).unwrap());
        (values(value), grad)
    };
    let per_run = BATCH * CLASSES;
    let singles: Vec<Outcome> = (0..RUNS)
        .map(|r| {
            let z = leaf(
                &logits[r * per_run..(r + 1) * per_run],
                [BATCH, CLASSES],
                &device,
            );
            let loss = configs[r]
                .init_multi_label(&counts[r], samples[r], 0, &device)
                .unwrap();
            let y = Tensor::<1>::from_floats(&targets[r * per_run..(r + 1) * per_run], &device)
                .reshape([BATCH, CLASSES]);
            let value = loss.forward(z.clone(), y);
            let grad = values(z.grad(&value.backward()).unwrap());
            (values(value), grad)
        })
        .collect();
    assert_same(&packed, &singles, configs[0].name());
}

const ENS: &str = "scheme = \"ens\"\nbeta = 0.99\n";
const INS: &str = "scheme = \"ins\"\n";

#[test]
fn cross_entropy_with_smoothing_and_label_aware_smoothing() {
    let targets = pack_targets();
    check_pack(
        &configs(
            "cross-entropy",
            [
                "",
                &format!("{ENS}smoothing = 0.1"),
                &format!("{INS}label_aware = {{ head = 0.3, tail = 0.05 }}\nreduction = \"mean\""),
            ],
        ),
        &targets,
        0,
    );
    check_pack(
        &configs(
            "cross-entropy",
            [
                "smoothing = 0.2\nreduction = \"sum\"",
                "",
                "smoothing = 0.05",
            ],
        ),
        &targets,
        0,
    );
}

#[test]
fn cross_entropy_with_an_ignore_index() {
    let mut targets = pack_targets();
    for i in [1, 4, 9, 17, 20] {
        targets[i] = 255;
    }
    // Every sample of run 2's batch but one ignored.
    targets[2 * BATCH..3 * BATCH - 1].fill(255);
    check_pack(
        &configs(
            "cross-entropy",
            [
                "ignore_index = 255",
                &format!("{ENS}ignore_index = 255\nsmoothing = 0.1"),
                &format!("{INS}ignore_index = 255\nreduction = \"mean\""),
            ],
        ),
        &targets,
        0,
    );
}

#[test]
fn focal_with_a_gamma_per_run() {
    check_pack(
        &configs(
            "focal",
            [
                "gamma = 0.0",
                &format!("{INS}gamma = 0.5"),
                &format!("{ENS}gamma = 2.0"),
            ],
        ),
        &pack_targets(),
        0,
    );
}

#[test]
fn ldam_with_margins_scales_and_deferred_weights_per_run() {
    let keys = [
        "scale = 30.0",
        &format!("{ENS}max_margin = 0.3\nscale = 10.0"),
        &format!("{INS}drw_start_epoch = 3\nreduction = \"sum\""),
    ];
    // Epoch 2 (counted from 0) is run 2's first weighted one; run 1 is weighted throughout.
    for epoch in [0, 2] {
        check_pack(&configs("ldam", keys), &pack_targets(), epoch);
    }
}

#[test]
fn logit_adjusted_balanced_softmax_and_vs() {
    let targets = pack_targets();
    check_pack(
        &configs(
            "logit-adjusted",
            [
                "tau = 1.0",
                &format!("{ENS}tau = 0.5"),
                "tau = 2.0\nreduction = \"mean\"",
            ],
        ),
        &targets,
        0,
    );
    check_pack(&configs("balanced-softmax", ["", ENS, INS]), &targets, 0);
    check_pack(
        &configs(
            "vs",
            [
                "",
                &format!("{ENS}gamma = 0.2\ntau = 1.5"),
                "gamma = 0.5\ntau = 0.0",
            ],
        ),
        &targets,
        0,
    );
}

#[test]
fn lade_with_alpha_and_lambda_per_run() {
    let mut targets = pack_targets();
    // Class 3 absent from run 1's batch: it still counts in the regulariser.
    for t in &mut targets[BATCH..2 * BATCH] {
        *t %= 3;
    }
    check_pack(
        &configs(
            "lade",
            [
                "",
                "alpha = 1.0\nremine_lambda = 0.3",
                "alpha = 0.0\nreduction = \"sum\"",
            ],
        ),
        &targets,
        0,
    );
}

#[test]
fn class_balanced_on_each_base() {
    let targets = pack_targets();
    for (base, extra) in [("softmax", ""), ("sigmoid", ""), ("focal", "gamma = 1.0\n")] {
        check_pack(
            &configs(
                "class-balanced",
                [
                    &format!("base = \"{base}\"\n{extra}beta = 0.9"),
                    &format!(
                        "base = \"{base}\"\n{extra}beta = 0.99\nreduction = \"weighted-mean\""
                    ),
                    &format!("base = \"{base}\"\n{extra}beta = 0.999"),
                ],
            ),
            &targets,
            0,
        );
    }
}

#[test]
fn sigmoid_losses_of_class_indices() {
    let targets = pack_targets();
    let pw = "pos_weight = [1.0, 2.0, 0.5, 4.0]\n";
    check_pack(
        &configs(
            "sigmoid",
            [
                pw,
                &format!("{ENS}pos_weight = \"balanced\""),
                &format!("{INS}label_weighting = \"per-label\"\nreduction = \"mean\""),
            ],
        ),
        &targets,
        0,
    );
    check_pack(
        &configs(
            "sigmoid-focal",
            [
                &format!("{ENS}gamma = 1.5\nalpha = 0.25"),
                &format!("{pw}gamma = 1.5\nalpha = 0.25"),
                &format!("{INS}gamma = 1.5\nalpha = 0.25\nlabel_weighting = \"per-label\""),
            ],
        ),
        &targets,
        0,
    );
}

#[test]
fn sigmoid_losses_of_multi_hot_targets() {
    check_multi_label_pack(&configs(
        "sigmoid",
        [
            "pos_weight = \"balanced\"",
            &format!("{ENS}no_label_weight = 0.5"),
            &format!("{INS}label_weighting = \"per-label\"\nreduction = \"sum\""),
        ],
    ));
    check_multi_label_pack(&configs(
        "sigmoid-focal",
        [
            &format!("{ENS}gamma = 2.0"),
            "gamma = 2.0\npos_weight = [1.0, 2.0, 0.5, 4.0]",
            &format!("{INS}gamma = 2.0\nreduction = \"mean\""),
        ],
    ));
    check_multi_label_pack(&configs(
        "class-balanced",
        [
            "base = \"focal\"\nbeta = 0.9",
            "base = \"focal\"\nbeta = 0.99\nno_label_weight = 1.0",
            "base = \"focal\"\nbeta = 0.999\nlabel_weighting = \"per-label\"",
        ],
    ));
}

#[test]
fn forward_no_reduction_is_each_runs_per_sample_losses() {
    let device = Device::flex();
    let configs = configs("focal", ["", ENS, "gamma = 1.0"]);
    let counts = counts();
    let logits = pack_logits();
    let targets = pack_targets();
    let z = Tensor::<1>::from_floats(logits.as_slice(), &device).reshape([RUNS, BATCH, CLASSES]);
    let y = Tensor::<1, Int>::from_ints(targets.as_slice(), &device).reshape([RUNS, BATCH]);
    let packed = PackedLoss::new(&configs, &counts, 0, &device).unwrap();
    let per_sample = packed.forward_no_reduction(z, y);
    assert_eq!(per_sample.dims(), [RUNS, BATCH]);
    let per_sample = values(per_sample);
    for r in 0..RUNS {
        let single = configs[r].init(&counts[r], &device).unwrap();
        let z = Tensor::<1>::from_floats(
            &logits[r * BATCH * CLASSES..(r + 1) * BATCH * CLASSES],
            &device,
        )
        .reshape([BATCH, CLASSES]);
        let y = Tensor::<1, Int>::from_ints(&targets[r * BATCH..(r + 1) * BATCH], &device);
        for (p, s) in per_sample[r * BATCH..(r + 1) * BATCH]
            .iter()
            .zip(values(single.forward_no_reduction(z, y)))
        {
            assert!((p - s).abs() <= 1e-6 * s.abs(), "run {r}: {p} vs {s}");
        }
    }
}

/// The error of packing `configs` (one copy of the first run's counts each).
fn pack_error(configs: &[LossConfig]) -> LossError {
    let counts = vec![counts()[0].clone(); configs.len()];
    PackedLoss::new(configs, &counts, 0, &Device::flex()).unwrap_err()
}

/// The run and the name an error points at: `(Some(run), name)` of a pack mismatch, `(None,
/// name)` of an invalid parameter.
fn pointed_at(err: &LossError) -> (Option<usize>, &'static str) {
    match err {
        LossError::PackMismatch { run, name, .. } => (Some(*run), name),
        LossError::InvalidParameter { name, .. } => (None, name),
        _ => panic!("unexpected error {err}"),
    }
}

#[test]
fn mismatched_runs_are_errors() {
    let err = pack_error(&[config("kind = \"focal\""), config("kind = \"ldam\"")]);
    assert_eq!(
        err.to_string(),
        "run 1 of the pack has kind = ldam but run 0 has focal: a pack computes one loss \
         kind; split the runs by kind"
    );
    let cases = [
        (
            vec![
                config("kind = \"class-balanced\"\nbase = \"softmax\""),
                config("kind = \"class-balanced\"\nbase = \"focal\""),
            ],
            (Some(1), "kind"),
        ),
        (
            configs(
                "sigmoid-focal",
                ["gamma = 2.0", "gamma = 2.0", "gamma = 1.0"],
            ),
            (Some(2), "gamma"),
        ),
        (
            configs("sigmoid-focal", ["alpha = -1.0", "", ""]),
            (Some(1), "alpha"),
        ),
        (
            configs("cross-entropy", ["", "ignore_index = 255", ""]),
            (Some(1), "ignore_index"),
        ),
        (
            configs("focal", ["", "reduction = \"none\"", ""]),
            (None, "reduction"),
        ),
        (Vec::new(), (None, "runs")),
    ];
    for (configs, expected) in cases {
        let err = pack_error(&configs);
        assert_eq!(pointed_at(&err), expected, "{err}");
    }
    // A run's own error is its single loss's.
    let err = pack_error(&configs("focal", ["", "gamma = -1.0", ""]));
    assert_eq!(err.to_string(), "gamma = -1: must be finite and >= 0");

    let device = Device::flex();
    let focal = configs("focal", ["", "", ""]);
    let mut counts = counts();
    counts[1] = ClassCounts::from_counts(vec![10, 5, 1]).unwrap();
    let err = PackedLoss::new(&focal, &counts, 0, &device).unwrap_err();
    assert_eq!(
        err.to_string(),
        "run 1 of the pack has classes = 3 but run 0 has 4: the runs of a pack share their \
         logits' shape [R, B, C]"
    );
    let err = PackedLoss::new(&focal, &counts[..2], 0, &device).unwrap_err();
    assert_eq!(pointed_at(&err), (None, "counts"), "{err}");

    let counts = self::counts();
    let err = PackedMultiLabelLoss::new(&focal, &counts, &[10, 10, 10], 0, &device).unwrap_err();
    assert!(matches!(err, LossError::NotMultiLabel { .. }), "{err}");
    let sigmoid = configs("sigmoid", ["", "", ""]);
    let err = PackedMultiLabelLoss::new(&sigmoid, &counts, &[10, 10], 0, &device).unwrap_err();
    assert_eq!(pointed_at(&err), (None, "samples"), "{err}");
}
