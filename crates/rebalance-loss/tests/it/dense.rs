//! Dense (segmentation) targets: `[B, C, H, W]` logits with `[B, H, W]` targets give the loss
//! of the `[B·H·W, C]` rows, ignored pixels included in neither part of a mean.
use crate::common::*;
use burn::prelude::*;
use rebalance_loss::{
    FocalConfig, LossConfig, LossError, LossKind, Reduction, WeightedCrossEntropyConfig,
    add_dense_label_counts, dense_class_counts, dense_to_rows,
};
use rebalance_weights::ClassCounts;

const B: usize = 2;
const C: usize = 3;
const H: usize = 2;
const W: usize = 3;
const IGNORE: i64 = 255;

/// Deterministic logits in [-4, 4], in `[B, C, H, W]` order.
fn dense_values() -> Vec<f32> {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    (0..B * C * H * W)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 8001) as f32 / 1000.0 - 4.0
        })
        .collect()
}

/// Pixel labels in `[B, H, W]` order; with `ignored`, three of them are `IGNORE`.
fn dense_labels(ignored: bool) -> Vec<i64> {
    let mut labels: Vec<i64> = (0..B * H * W).map(|p| ((p * 7 + 1) % C) as i64).collect();
    if ignored {
        for p in [1, 6, 11] {
            labels[p] = IGNORE;
        }
    }
    labels
}

fn dense(device: &Device, ignored: bool) -> (Tensor<4>, Tensor<3, Int>) {
    let logits = Tensor::<1>::from_floats(dense_values().as_slice(), device).reshape([B, C, H, W]);
    let labels =
        Tensor::<1, Int>::from_ints(dense_labels(ignored).as_slice(), device).reshape([B, H, W]);
    (logits, labels)
}

/// The rows `[B·H·W, C]` built on the host, pixel `(b, h, w)` at row `(b·H + h)·W + w`, and
/// the labels; with `keep_ignored = false`, the ignored pixels are dropped.
fn host_rows(device: &Device, ignored: bool, keep_ignored: bool) -> (Tensor<2>, Tensor<1, Int>) {
    let values = dense_values();
    let labels = dense_labels(ignored);
    let mut rows = Vec::new();
    let mut kept = Vec::new();
    for b in 0..B {
        for h in 0..H {
            for w in 0..W {
                let label = labels[(b * H + h) * W + w];
                if label == IGNORE && !keep_ignored {
                    continue;
                }
                for c in 0..C {
                    rows.push(values[((b * C + c) * H + h) * W + w]);
                }
                kept.push(label);
            }
        }
    }
    let n = kept.len();
    (
        Tensor::<1>::from_floats(rows.as_slice(), device).reshape([n, C]),
        Tensor::<1, Int>::from_ints(kept.as_slice(), device),
    )
}

#[track_caller]
fn assert_all_close(actual: &[f32], expected: &[f32], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}");
    for (a, e) in actual.iter().zip(expected) {
        assert_close(f64::from(*a), f64::from(*e), 1e-6, what);
    }
}

/// Asserts that `$loss`'s dense passes on [`dense`]`($device, $ignored)`, reduced and per pixel
/// (a `[B, H, W]` map), equal its passes over the rows with every pixel kept, to 1e-6; gives the
/// reduced dense values. A macro: the loss types share the four methods but no trait.
macro_rules! assert_dense_equals_rows {
    ($loss:expr, $device:expr, $ignored:expr, $what:expr) => {{
        let (loss, what) = (&$loss, $what);
        let (logits, labels) = dense($device, $ignored);
        let (rows, targets) = host_rows($device, $ignored, true);
        let reduced = values(loss.forward_dense(logits.clone(), labels.clone()));
        let rows_reduced = values(loss.forward(rows.clone(), targets.clone()));
        assert_all_close(&reduced, &rows_reduced, what);
        let map = loss.forward_dense_no_reduction(logits, labels);
        assert_eq!(map.dims(), [B, H, W], "{what}");
        let rows_map = values(loss.forward_no_reduction(rows, targets));
        assert_all_close(&values(map), &rows_map, &format!("{what} none"));
        reduced
    }};
}

#[test]
fn dense_to_rows_puts_each_pixel_on_its_row() {
    let device = Device::flex();
    let (logits, labels) = dense(&device, true);
    let (rows, targets) = dense_to_rows(logits, labels);
    let (expected_rows, expected_targets) = host_rows(&device, true, true);
    assert_eq!(rows.dims(), [B * H * W, C]);
    assert_eq!(values(rows), values(expected_rows));
    assert_eq!(
        targets
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap(),
        expected_targets
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap()
    );
}

#[test]
fn dense_cross_entropy_equals_the_flattened_loss_with_and_without_ignored_pixels() {
    let device = Device::flex();
    for ignored in [false, true] {
        for reduction in [
            Reduction::WeightedMean,
            Reduction::Mean,
            Reduction::Sum,
            Reduction::None,
        ] {
            for smoothing in [0.0, 0.1] {
                let what = format!("ignored={ignored} {reduction} ε={smoothing}");
                let loss = WeightedCrossEntropyConfig::new()
                    .with_weights(Some(ENS_099.to_vec()))
                    .with_smoothing(smoothing)
                    .with_ignore_index(Some(IGNORE as usize))
                    .with_reduction(reduction)
                    .init(&device)
                    .unwrap();
                assert_dense_equals_rows!(loss, &device, ignored, &what);
                // Ignored pixels are in neither the numerator nor the denominator: the loss
                // of the labelled pixels alone.
                if ignored && reduction != Reduction::None {
                    let (logits, labels) = dense(&device, true);
                    let (kept_rows, kept_targets) = host_rows(&device, true, false);
                    assert_eq!(kept_targets.dims(), [B * H * W - 3]);
                    assert_all_close(
                        &values(loss.forward_dense(logits, labels)),
                        &values(loss.forward(kept_rows, kept_targets)),
                        &format!("{what}, labelled pixels only"),
                    );
                }
            }
        }
    }
}

#[test]
fn dense_focal_equals_the_flattened_loss() {
    let device = Device::flex();
    for reduction in [Reduction::WeightedMean, Reduction::Mean, Reduction::Sum] {
        let loss = FocalConfig::new()
            .with_gamma(2.0)
            .with_weights(Some(ENS_099.to_vec()))
            .with_reduction(reduction)
            .init(&device)
            .unwrap();
        let value = assert_dense_equals_rows!(loss, &device, false, "focal");
        assert!(value[0] > 0.0);
    }
}

#[test]
fn every_softmax_kind_takes_dense_targets_through_imbalance_loss() {
    let device = Device::flex();
    let counts = ClassCounts::from_counts(COUNTS.to_vec()).unwrap();
    for kind in [
        LossKind::CrossEntropy,
        LossKind::Focal,
        LossKind::Ldam,
        LossKind::LogitAdjusted,
        LossKind::BalancedSoftmax,
        LossKind::Vs,
        LossKind::Lade,
    ] {
        let loss = LossConfig::with_defaults(kind)
            .init(&counts, &device)
            .unwrap();
        assert_dense_equals_rows!(loss, &device, false, &kind.to_string());
    }
}

#[test]
fn dense_gradients_are_the_gradients_of_the_rows() {
    let device = Device::flex().autodiff();
    let loss = WeightedCrossEntropyConfig::new()
        .with_weights(Some(ENS_099.to_vec()))
        .with_ignore_index(Some(IGNORE as usize))
        .init(&device)
        .unwrap();
    let (logits, labels) = dense(&device, true);
    let logits = logits.require_grad();
    let grads = loss.forward_dense(logits.clone(), labels).backward();
    let dense_grad = logits.grad(&grads).unwrap();
    assert_eq!(dense_grad.dims(), [B, C, H, W]);
    let (rows, targets) = host_rows(&device, true, true);
    let rows = rows.require_grad();
    let grads = loss.forward(rows.clone(), targets).backward();
    let rows_grad = values(rows.grad(&grads).unwrap());
    let dense_grad = values(dense_grad);
    let mut ignored_pixels = 0;
    for b in 0..B {
        for h in 0..H {
            for w in 0..W {
                let row = (b * H + h) * W + w;
                let pixel_grad: Vec<f32> = (0..C)
                    .map(|c| dense_grad[((b * C + c) * H + h) * W + w])
                    .collect();
                assert_all_close(&pixel_grad, &rows_grad[row * C..(row + 1) * C], "grad");
                if pixel_grad.iter().all(|&g| g == 0.0) {
                    ignored_pixels += 1;
                }
            }
        }
    }
    assert_eq!(ignored_pixels, 3, "the ignored pixels have no gradient");
}

#[test]
fn pixel_counts_skip_the_ignore_index() {
    let device = Device::flex();
    let labels =
        || Tensor::<1, Int>::from_ints(dense_labels(true).as_slice(), &device).reshape([B, H, W]);
    let expected = {
        let mut counts = [0u64; C];
        for label in dense_labels(true) {
            if label != IGNORE {
                counts[label as usize] += 1;
            }
        }
        counts
    };
    let counts = dense_class_counts(labels(), C, Some(IGNORE as usize)).unwrap();
    assert_eq!(counts.as_slice(), &expected);
    assert_eq!(counts.total(), (B * H * W - 3) as u64);
    // Batch by batch.
    let mut total = vec![0; C];
    add_dense_label_counts(&mut total, labels(), Some(IGNORE as usize)).unwrap();
    add_dense_label_counts(&mut total, labels(), Some(IGNORE as usize)).unwrap();
    assert_eq!(total, expected.iter().map(|n| 2 * n).collect::<Vec<_>>());
    // Without the ignore index, 255 is a label out of range, named with its position.
    let err = dense_class_counts(labels(), C, None).unwrap_err();
    assert_eq!(
        err,
        LossError::LabelOutOfRange {
            position: 1,
            label: IGNORE,
            num_classes: C
        }
    );
    assert_eq!(
        err.to_string(),
        "label 255 at position 1 (row-major) is outside 0..3 and is not the ignore index"
    );
    let negative = Tensor::<1, Int>::from_ints([0, -1], &device);
    assert!(matches!(
        dense_class_counts(negative, C, None),
        Err(LossError::LabelOutOfRange { label: -1, .. })
    ));
    // Every pixel ignored: no samples.
    let all_ignored = Tensor::<2, Int>::from_ints([[255, 255]], &device);
    assert!(dense_class_counts(all_ignored, C, Some(255)).is_err());
}

#[test]
#[should_panic(expected = "need targets [2, 2, 3]")]
fn mismatched_shapes_panic_with_both_shapes() {
    let device = Device::flex();
    let (logits, _) = dense(&device, false);
    let labels = Tensor::<3, Int>::zeros([B, W, H], &device);
    let _ = dense_to_rows(logits, labels);
}
