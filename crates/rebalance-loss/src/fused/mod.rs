//! One fused forward + backward for the sigmoid losses' row sums on Burn's flex CPU backend.
//!
//! [`SigmoidTerms::elements`](crate::sigmoid::SigmoidTerms::elements) composes about fifteen
//! element-wise tensor operations, each a pass over `[B, C]` forward and one or two backward,
//! each an autodiff node. Here one loop over `[B, C]` computes every element loss `e_{n,c}`, its
//! row sum `Σ_c w_c·e_{n,c}` and the derivative `w_c·∂e_{n,c}/∂z_{n,c}`; the backward is one
//! more loop, `∂L/∂z_{n,c} = ∂L/∂r_n · w_c·∂e_{n,c}/∂z_{n,c}`. The arithmetic follows the
//! composition's operations in `f32`, with vectorized `exp` and `ln` (and one rewrite, the focal
//! factor of hard targets as a product; see `elements` in `fused/forward.rs`), so the two agree to float precision;
//! the unit tests (`fused/tests.rs`) check values and gradients against it.
//!
//! On Burn's CubeCL backend (wgpu, with this crate's `wgpu` feature) the same pass is a
//! `#[cube]` kernel over the elements and Burn's row sum, in `fused/cube.rs`.
//!
//! It goes through Burn's backend-extension API (`Tensor::try_into_primitive` /
//! `Tensor::from_primitive`, the `extension` feature) down to `FlexTensor`'s storage, with a
//! hand-written `Backward` registered in `Autodiff<Flex>`. Any other backend (but `Cube`, above),
//! an `f16`/`f64` float type, or an autodiff device with gradient checkpointing gets `None`, and
//! the caller runs the composition: the result is the same everywhere, only the fused paths are
//! faster. (Burn's
//! `#[backend_extension]` macro routes one trait to several backends' implementations; with one
//! implementation and a fallback written in tensor operations, the primitive conversions are
//! all it would generate.)
//!
//! The files: this one holds the entry points ([`row_sums`], [`positive_sums`]) and the
//! reading of flex's storage; `fused/simd.rs` the vectors of `f32` lanes with their `exp` and
//! `ln`; `fused/forward.rs` the element loss, its derivatives and the loop over the rows;
//! `fused/backward.rs` the backward registered in `Autodiff<Flex>`.

use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::prelude::*;
use burn::tensor::{DType, TensorData};

mod backward;
#[cfg(feature = "wgpu")]
mod cube;
mod forward;
mod simd;
#[cfg(test)]
mod tests;

use backward::autodiff_row_sums;
use forward::{RowTargets, forward};

/// The targets of a batch: class indices `[B]` or float (multi-hot or soft) rows `[B, C]`.
pub(crate) enum SigmoidTargets {
    /// Class indices; an index outside `0..C` is a row without a positive label.
    Indices(Tensor<1, Int>),
    /// Targets in `[0, 1]`, `[B, C]`.
    Dense(Tensor<2>),
}

/// The element loss's parameters, in `f32` as the composition applies them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ElementParams {
    /// The focal exponent; 0 for BCE.
    gamma: f32,
    /// `γ` when it is 1, 2, 3 or 4: the focal factor is then a product.
    power: Option<u32>,
    /// The focal `α` as the factor `α_t = y·(2α - 1) + (1 - α)` takes it: `(2α - 1, 1 - α)`,
    /// each rounded from `f64` once, as `mul_scalar` and `add_scalar` do; `None` for no `α`.
    alpha: Option<(f32, f32)>,
}

impl ElementParams {
    /// The parameters of focal exponent `gamma` (0 for BCE) and focal `alpha`.
    pub(crate) fn new(gamma: f64, alpha: Option<f64>) -> Self {
        Self {
            gamma: gamma as f32,
            power: (1..=4).find(|&power| gamma == f64::from(power)),
            alpha: alpha.map(|alpha| ((2.0 * alpha - 1.0) as f32, (1.0 - alpha) as f32)),
        }
    }
}

/// Per-class constants, `[C]` each, read to the host (the fused path runs on the CPU).
#[derive(Clone, Debug)]
struct Columns {
    /// `pos_weight`, `None` for 1.
    pos_weight: Option<Vec<f32>>,
    /// The column weights `w_c`, `None` for 1.
    weights: Option<Vec<f32>>,
}

/// A float primitive's values, row-major; `None` unless it holds `f32`.
fn f32_values(tensor: &FlexTensor) -> Option<std::borrow::Cow<'_, [f32]>> {
    if tensor.dtype() != DType::F32 {
        return None;
    }
    Some(match tensor.as_slice::<f32>() {
        Some(values) => std::borrow::Cow::Borrowed(values),
        None => std::borrow::Cow::Owned(tensor.to_contiguous().as_slice::<f32>()?.to_vec()),
    })
}

/// The flex primitive of class indices (an autodiff device's integers are its inner backend's).
fn index_primitive(targets: &Tensor<1, Int>) -> Option<FlexTensor> {
    let primitive = targets.clone().try_into_primitive::<Flex>();
    primitive
        .or_else(|_| targets.clone().try_into_primitive::<Autodiff<Flex>>())
        .ok()
}

/// Class indices as `i64`, borrowed when they are stored so.
fn index_values(tensor: &FlexTensor) -> std::borrow::Cow<'_, [i64]> {
    match (tensor.dtype(), tensor.as_slice::<i64>()) {
        (DType::I64, Some(values)) => std::borrow::Cow::Borrowed(values),
        _ => std::borrow::Cow::Owned(tensor.clone().into_data().iter::<i64>().collect()),
    }
}

fn flex_tensor(values: Vec<f32>, shape: [usize; 2]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

fn flex_vector(values: Vec<f32>) -> FlexTensor {
    let len = values.len();
    FlexTensor::from_data(TensorData::new(values, [len]))
}

/// A `[C]` constant on the host, `None` unless `f32`.
fn host_vector(tensor: Option<&Tensor<1>>) -> Option<Option<Vec<f32>>> {
    match tensor {
        None => Some(None),
        Some(t) if t.dtype() == DType::F32 => {
            Some(Some(t.clone().into_data().iter::<f32>().collect()))
        }
        Some(_) => None,
    }
}

/// The multi-hot row weights `s_n = Σ_{c: y_nc > 0} w_c` (`no_label_weight` for a row without
/// a positive entry), `[B]`, in one pass over the targets on flex; `None` elsewhere, where
/// [`composed_positive_sums`](crate::sigmoid::composed_positive_sums) runs. A constant of the
/// graph either way (the targets enter through a comparison).
pub(crate) fn positive_sums(
    targets: &Tensor<2>,
    weights: &Tensor<1>,
    no_label_weight: f64,
) -> Option<Tensor<1>> {
    let [batch, classes] = targets.dims();
    let primitive = match targets.clone().try_into_primitive::<Autodiff<Flex>>() {
        Ok(tensor) => tensor.primitive().clone(),
        Err(_) => targets.clone().try_into_primitive::<Flex>().ok()?,
    };
    let y = f32_values(&primitive)?;
    let w = host_vector(Some(weights))??;
    if w.len() != classes {
        return None;
    }
    let sums: Vec<f32> = y
        .chunks_exact(classes.max(1))
        .take(batch)
        .map(|row| {
            // Four running sums (one would chain every addition of the row), which the
            // compiler keeps in one vector register; the rest of the row after them.
            let (mut sums, mut any) = ([0.0f32; 4], false);
            let (ys, ws) = (row.chunks_exact(4), w.chunks_exact(4));
            let rest = ys.remainder().iter().zip(ws.remainder());
            for (y, w) in ys.zip(ws) {
                for k in 0..4 {
                    sums[k] += if y[k] > 0.0 { w[k] } else { 0.0 };
                    any |= y[k] > 0.0;
                }
            }
            let mut sum = (sums[0] + sums[1]) + (sums[2] + sums[3]);
            for (&y, &w) in rest {
                sum += if y > 0.0 { w } else { 0.0 };
                any |= y > 0.0;
            }
            if any || no_label_weight == 0.0 {
                sum
            } else {
                sum + no_label_weight as f32
            }
        })
        .collect();
    if sums.len() != batch {
        return None;
    }
    Some(Tensor::from_data(
        TensorData::new(sums, [batch]),
        &targets.device(),
    ))
}

/// `Σ_c w_c·e_{n,c}`, `[B]`, in one fused pass, or `None` where the composition must run
/// (neither flex nor, with the `wgpu` feature, the CubeCL backend (`fused/cube.rs`); not `f32`;
/// gradient checkpointing; targets or `[C]` constants of the wrong shape; more than 2^24
/// classes, where class indices stop being exact in `f32` lanes). Nothing is read back from a
/// device before the backend is known to be flex.
pub(crate) fn row_sums(
    logits: &Tensor<2>,
    targets: &SigmoidTargets,
    pos_weight: Option<&Tensor<1>>,
    weights: Option<&Tensor<1>>,
    params: ElementParams,
) -> Option<Tensor<1>> {
    let shape @ [batch, classes] = logits.dims();
    match targets {
        SigmoidTargets::Indices(t) if t.dims() != [batch] || classes > 1 << 24 => return None,
        SigmoidTargets::Dense(t) if t.dims() != shape => return None,
        _ => {}
    }
    // The backend first: the constants below are read to the host only on flex.
    let (tracked, plain) = match logits.clone().try_into_primitive::<Autodiff<Flex>>() {
        Ok(logits) => (Some(logits), None),
        Err(_) => match logits.clone().try_into_primitive::<Flex>() {
            Ok(logits) => (None, Some(logits)),
            // Not flex: the CubeCL kernel where it is compiled, else the composition.
            #[cfg(feature = "wgpu")]
            Err(_) => return cube::row_sums(logits, targets, pos_weight, weights, params),
            #[cfg(not(feature = "wgpu"))]
            Err(_) => return None,
        },
    };
    let columns = Columns {
        pos_weight: host_vector(pos_weight)?,
        weights: host_vector(weights)?,
    };
    let [pos_weight, weights] = [&columns.pos_weight, &columns.weights];
    if [pos_weight, weights]
        .into_iter()
        .flatten()
        .any(|v| v.len() != classes)
    {
        // A `[C]` constant of another length: the composition's error to report.
        return None;
    }
    if let Some(logits) = tracked {
        return autodiff_row_sums(logits, targets, columns, params, shape);
    }
    let logits = plain?;
    let z = f32_values(&logits)?;
    let rows = match targets {
        SigmoidTargets::Indices(t) => {
            let t = index_primitive(t)?;
            let y = index_values(&t);
            forward(&z, &RowTargets::Indices(&y), &columns, params, shape, false).0
        }
        SigmoidTargets::Dense(t) => {
            let t = t.clone().try_into_primitive::<Flex>().ok()?;
            let y = f32_values(&t)?;
            forward(&z, &RowTargets::Dense(&y), &columns, params, shape, false).0
        }
    };
    Some(Tensor::<1>::from_primitive::<Flex>(flex_vector(rows)))
}
