//! The fused pass against the composition it replaces (`SigmoidTerms::composed_row_sums`),
//! values and gradients, on flex with and without autodiff.
#![allow(clippy::unwrap_used)]
use super::backward::spread;
use super::*;
use crate::LabelWeighting;
use crate::sigmoid::SigmoidTerms;

const B: usize = 6;
/// One whole vector of eight classes and a padded rest of five.
const C: usize = 13;

/// Logits over the whole range: confident both ways, near 0, exactly 0, and ±40.
fn logits_data() -> Vec<f32> {
    (0..B * C)
        .map(|i| match i {
            0 => 0.0,
            1 => 40.0,
            2 => -40.0,
            3 => 1e-4,
            _ => 6.0 * ((i as f32) * 1.7).sin() + 0.3 * (i % 3) as f32,
        })
        .collect()
}

/// Soft, multi-hot and empty rows.
pub(super) fn dense_targets() -> Vec<f32> {
    (0..B * C)
        .map(|i| match i / C {
            0 => f32::from(u8::from(i % C == 1)),
            1 => 0.0,
            2 => f32::from(u8::from(i % 2 == 0)),
            _ => ((i * 37 % 11) as f32) / 10.0,
        })
        .collect()
}

/// Every class, and one index outside `0..C` (a row with no positive label).
fn indices() -> Vec<i64> {
    vec![0, 12, 2, 9, 20, 7]
}

pub(super) struct Case {
    pos_weight: Option<Vec<f32>>,
    weights: Option<Vec<f32>>,
    gamma: f64,
    alpha: Option<f64>,
}

pub(super) fn cases() -> Vec<Case> {
    let pw = Some((0..C).map(|c| [0.5, 1.0, 3.0, 7.5, 0.1][c % 5]).collect());
    let w = Some(
        (0..C)
            .map(|c| [2.0, 0.25, 1.0, 0.6, 4.0, 0.0][c % 6])
            .collect(),
    );
    vec![
        Case {
            pos_weight: None,
            weights: None,
            gamma: 0.0,
            alpha: None,
        },
        Case {
            pos_weight: pw.clone(),
            weights: None,
            gamma: 0.0,
            alpha: None,
        },
        Case {
            pos_weight: None,
            weights: w.clone(),
            gamma: 0.0,
            alpha: None,
        },
        Case {
            pos_weight: None,
            weights: None,
            gamma: 2.0,
            alpha: Some(0.25),
        },
        Case {
            pos_weight: pw.clone(),
            weights: w.clone(),
            gamma: 0.5,
            alpha: None,
        },
        Case {
            pos_weight: pw,
            weights: w,
            gamma: 1.0,
            alpha: Some(0.9),
        },
    ]
}

fn vector(values: &Option<Vec<f32>>, device: &Device) -> Option<Tensor<1>> {
    values
        .as_ref()
        .map(|v| Tensor::<1>::from_floats(v.as_slice(), device))
}

fn assert_close(name: &str, fused: &[f32], composed: &[f32]) {
    assert_eq!(fused.len(), composed.len(), "{name}: lengths");
    for (i, (f, c)) in fused.iter().zip(composed).enumerate() {
        let tolerance = 2e-6 * c.abs().max(1.0);
        assert!(
            (f - c).abs() <= tolerance,
            "{name}[{i}]: fused {f} vs composed {c}"
        );
    }
}

fn values(tensor: Tensor<1>) -> Vec<f32> {
    tensor.into_data().iter::<f32>().collect()
}

fn values2(tensor: Tensor<2>) -> Vec<f32> {
    tensor.into_data().iter::<f32>().collect()
}

/// Row sums and gradients (under a non-uniform upstream gradient) of both paths.
/// Multi-hot rows of 0 and 1 only, one of them empty: the focal product on float targets.
pub(super) fn hard_dense_targets() -> Vec<f32> {
    dense_targets()
        .iter()
        .map(|&y| f32::from(u8::from(y > 0.5)))
        .collect()
}

fn compare(autodiff: bool, case: &Case, dense: bool, track_targets: bool) {
    compare_with(autodiff, case, dense, track_targets, dense_targets());
}

fn compare_with(
    autodiff: bool,
    case: &Case,
    dense: bool,
    track_targets: bool,
    dense_values: Vec<f32>,
) {
    compare_on(
        &Device::flex(),
        autodiff,
        case,
        dense,
        track_targets,
        dense_values,
        true,
    );
}

/// [`compare_with`] on `base` (or its autodiff device); `fused` says whether the fused
/// path must run, else it must decline (`None`) and the composition be used.
pub(super) fn compare_on(
    base: &Device,
    autodiff: bool,
    case: &Case,
    dense: bool,
    track_targets: bool,
    dense_values: Vec<f32>,
    fused: bool,
) {
    let device = &if autodiff {
        base.clone().autodiff()
    } else {
        base.clone()
    };
    let name = format!(
        "dense={dense} track_targets={track_targets} pw={:?} w={:?} gamma={} alpha={:?}",
        case.pos_weight, case.weights, case.gamma, case.alpha
    );
    let pos_weight = vector(&case.pos_weight, device);
    let weights = vector(&case.weights, device);
    let terms = SigmoidTerms {
        weights: None,
        pos_weight: pos_weight.as_ref(),
        alpha: case.alpha,
        gamma: case.gamma,
        label_weighting: LabelWeighting::PositiveSum,
        no_label_weight: 0.0,
    };
    let upstream = Tensor::<1>::from_floats([1.0, -0.5, 2.0, 0.25, 3.0, -1.5], device);
    let run = |fused_path: bool| {
        let z = Tensor::<2>::from_data(TensorData::new(logits_data(), [B, C]), device);
        let z = if autodiff { z.require_grad() } else { z };
        let y = Tensor::<2>::from_data(TensorData::new(dense_values.clone(), [B, C]), device);
        let y = if track_targets { y.require_grad() } else { y };
        let targets = if dense {
            SigmoidTargets::Dense(y.clone())
        } else {
            SigmoidTargets::Indices(Tensor::<1, Int>::from_ints(indices().as_slice(), device))
        };
        let fused_rows = match fused_path {
            true => row_sums(
                &z,
                &targets,
                pos_weight.as_ref(),
                weights.as_ref(),
                terms.params(),
            ),
            false => None,
        };
        if fused_path {
            assert_eq!(fused_rows.is_some(), fused, "{name}: the fused path ran");
        }
        let rows = fused_rows
            .unwrap_or_else(|| terms.composed_row_sums(z.clone(), targets, weights.as_ref()));
        let out = values(rows.clone());
        if !autodiff {
            return (out, None, None);
        }
        let grads = (rows * upstream.clone()).sum().backward();
        let dz = values2(z.grad(&grads).unwrap());
        let dy = track_targets.then(|| values2(y.grad(&grads).unwrap()));
        (out, Some(dz), dy)
    };
    let (fused_rows, fused_dz, fused_dy) = run(true);
    let (rows, dz, dy) = run(false);
    assert_close(&format!("rows {name}"), &fused_rows, &rows);
    assert_eq!(fused_dz.is_some(), autodiff, "{name}: gradients computed");
    if let (Some(f), Some(c)) = (fused_dz, dz) {
        assert_close(&format!("d/dz {name}"), &f, &c);
    }
    assert_eq!(
        fused_dy.is_some(),
        track_targets,
        "{name}: target gradients"
    );
    if let (Some(f), Some(c)) = (fused_dy, dy) {
        assert_close(&format!("d/dy {name}"), &f, &c);
    }
}

#[test]
fn fused_row_sums_and_gradients_equal_the_composition() {
    for case in cases() {
        for dense in [false, true] {
            compare(true, &case, dense, false);
            compare(false, &case, dense, false);
        }
        // Soft targets computed from a model: the targets' gradient too.
        compare(true, &case, true, true);
        compare_with(true, &case, true, false, hard_dense_targets());
    }
}

#[test]
fn positive_sums_equal_the_composition() {
    let weights: Vec<f32> = (0..C).map(|c| 0.1 + c as f32 * 0.37).collect();
    for device in [Device::flex(), Device::flex().autodiff()] {
        let targets = Tensor::<2>::from_data(TensorData::new(dense_targets(), [B, C]), &device);
        let w = Tensor::<1>::from_floats(weights.as_slice(), &device);
        for no_label_weight in [0.0, 0.75] {
            let fused = positive_sums(&targets, &w, no_label_weight).unwrap();
            let composed = crate::sigmoid::composed_positive_sums(&targets, &w, no_label_weight);
            assert_close("positive sums", &values(fused), &values(composed));
        }
    }
}

#[test]
#[allow(deprecated)] // burn-ndarray: any backend but flex would do.
fn other_backends_and_wrong_shapes_fall_back_to_the_composition() {
    let params = ElementParams::new(0.0, None);
    let ndarray = Device::ndarray();
    let z = Tensor::<2>::zeros([2, 3], &ndarray);
    let y = SigmoidTargets::Indices(Tensor::<1, Int>::from_ints([0, 1], &ndarray));
    assert!(row_sums(&z, &y, None, None, params).is_none());
    // Targets or class constants of the wrong length are the composition's to report.
    let flex = Device::flex();
    let z = Tensor::<2>::zeros([2, 3], &flex);
    let y = SigmoidTargets::Indices(Tensor::<1, Int>::from_ints([0, 1, 2], &flex));
    assert!(row_sums(&z, &y, None, None, params).is_none());
    let y = SigmoidTargets::Indices(Tensor::<1, Int>::from_ints([0, 1], &flex));
    let four = Tensor::<1>::ones([4], &flex);
    assert!(row_sums(&z, &y, Some(&four), None, params).is_none());
    assert!(row_sums(&z, &y, None, Some(&four), params).is_none());
    assert!(row_sums(&z, &y, None, None, params).is_some());
}

#[test]
fn an_empty_batch_or_no_classes_give_rows_of_zero() {
    empty_shapes_on(&Device::flex());
    empty_shapes_on(&Device::flex().autodiff());
}

/// An empty batch, or no classes, on `device`: rows of 0 (or none) from the fused path.
pub(super) fn empty_shapes_on(device: &Device) {
    let params = ElementParams::new(2.0, None);
    for shape in [[0, 3], [2, 0]] {
        let z = Tensor::<2>::zeros(shape, device);
        let y = SigmoidTargets::Dense(Tensor::<2>::zeros(shape, device));
        let rows = row_sums(&z, &y, None, None, params);
        let rows = rows.map(|r| r.into_data().iter::<f32>().collect::<Vec<_>>());
        assert_eq!(rows, Some(vec![0.0; shape[0]]), "{shape:?}");
    }
}

#[test]
fn spread_scales_in_place_only_derivatives_it_alone_holds() {
    let values = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let upstream = flex_vector(vec![2.0, -1.0]);
    let expected = [2.0, 4.0, 6.0, -4.0, -5.0, -6.0];
    // Shared: scaled into a new buffer, the other holder's values untouched.
    let shared = flex_tensor(values.clone(), [2, 3]);
    let kept = shared.clone();
    let out = spread(&upstream, shared);
    assert_eq!(out.as_slice::<f32>().unwrap(), expected);
    assert_eq!(kept.as_slice::<f32>().unwrap(), values.as_slice());
    assert_ne!(out.bytes().as_ptr(), kept.bytes().as_ptr());
    // Alone: scaled where it lies.
    let alone = flex_tensor(values, [2, 3]);
    let at = alone.bytes().as_ptr();
    let out = spread(&upstream, alone);
    assert_eq!(out.as_slice::<f32>().unwrap(), expected);
    assert_eq!(out.bytes().as_ptr(), at);
}

#[test]
fn gradients_flow_through_a_non_contiguous_logits_view_and_a_broadcast_upstream() {
    non_contiguous_logits_on(&Device::flex());
}

/// A transposed logits view and `mean`'s broadcast upstream gradient, on `base`'s autodiff
/// device: the fused path against the composition.
pub(super) fn non_contiguous_logits_on(base: &Device) {
    let device = base.clone().autodiff();
    let params = ElementParams::new(2.0, Some(0.25));
    let base =
        Tensor::<2>::from_data(TensorData::new(logits_data(), [C, B]), &device).require_grad();
    let targets =
        SigmoidTargets::Indices(Tensor::<1, Int>::from_ints(indices().as_slice(), &device));
    // A transposed view, and `mean`, whose backward is a broadcast (stride-0) gradient.
    let run = |fused_path: bool| {
        let z = base.clone().transpose();
        let rows = if fused_path {
            row_sums(&z, &targets_clone(&targets), None, None, params).unwrap()
        } else {
            let terms = SigmoidTerms {
                weights: None,
                pos_weight: None,
                alpha: Some(0.25),
                gamma: 2.0,
                label_weighting: LabelWeighting::PositiveSum,
                no_label_weight: 0.0,
            };
            terms.composed_row_sums(z, targets_clone(&targets), None)
        };
        let grads = rows.clone().mean().backward();
        (values(rows), values2(base.grad(&grads).unwrap()))
    };
    let (fused_rows, fused_grad) = run(true);
    let (rows, grad) = run(false);
    assert_close("rows", &fused_rows, &rows);
    assert_close("grad", &fused_grad, &grad);
}

fn targets_clone(targets: &SigmoidTargets) -> SigmoidTargets {
    match targets {
        SigmoidTargets::Indices(t) => SigmoidTargets::Indices(t.clone()),
        SigmoidTargets::Dense(t) => SigmoidTargets::Dense(t.clone()),
    }
}
