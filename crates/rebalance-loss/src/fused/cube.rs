//! The fused sigmoid pass as a CubeCL kernel, for Burn's CubeCL backend (`Cube`: wgpu here;
//! CUDA and ROCm are the same backend type). One unit per element `(n, c)` computes
//! `w_c·e_{n,c}` and `w_c·∂e_{n,c}/∂z_{n,c}`, reading and writing neighbouring addresses
//! (coalesced) across a GPU's many units; the row sums are then Burn's own reduction along the
//! classes. The backward is one broadcast multiply of the stored derivatives by the upstream
//! gradient `[B, 1]`: two launches forward and one backward, where the composition makes
//! about fifteen forward and more backward. (A unit per row walking its classes would be one
//! launch, but a batch of a thousand rows is a few dozen warps, most of a GPU idle, each unit
//! reading addresses `C` apart.) The arithmetic is the composition's (`sigmoid.rs`), operation
//! for operation, with the device's own `exp` and `ln`, so the kernel and the composition agree
//! to float precision on one device; the tests check values and gradients against it.
//!
//! Returns `None`, and the composition runs, where the kernel cannot: with Burn's `fusion`
//! (the `gpu-tuning` feature; the float primitive is then a fusion handle, not a
//! [`CubeTensor`]), for a float type other than `f32`, under gradient checkpointing, and for
//! float targets that are themselves tracked (soft targets computed by a model, whose gradient
//! the kernel does not compute).

use std::any::Any;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::{FloatTensorOps, IntTensorOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::wgpu::CubeTensor;
use burn::backend::{Autodiff, Cube, FloatDType, TensorMetadata};
use burn::cubecl;
// CubeCL's prelude for the kernel (its `Tensor` is the kernel argument); Burn's `Tensor`,
// imported by name below, takes precedence elsewhere.
use burn::cubecl::prelude::*;
use burn::prelude::{Int, Shape, Tensor};
use burn::tensor::DType;

use super::{ElementParams, SigmoidTargets};

/// The terms of the element loss, compile-time constants of the kernel (each combination is
/// compiled once, without branches on them).
#[derive(Clone, Copy, Debug)]
struct Terms {
    /// Float targets `[B, C]`; else class indices `[B]` (as floats, exact up to 2^24).
    dense: bool,
    pos_weight: bool,
    weights: bool,
    focal: bool,
    alpha: bool,
    /// Write the derivatives (an autodiff device tracking the logits).
    derivatives: bool,
}

/// Element `i = ABSOLUTE_POS` of `[B, C]` in row-major order, `(n, c) = (i / C, i % C)`:
/// `elements[n, c] = w_c·e_{n,c}` and, with `derivatives`, `derivatives[n, c] =
/// w_c·∂e_{n,c}/∂z_{n,c}`, `e` as [`elements`](super::forward::elements) documents it (the focal factor
/// always in its `exp` form, as the composition computes it). Every tensor is read and written
/// through its strides: inputs may be views, and a runtime may pad a new tensor's rows (CUDA
/// does).
#[allow(clippy::too_many_arguments)]
#[cube(launch)]
fn sigmoid_elements_kernel(
    z: &cubecl::prelude::Tensor<f32>,
    targets: &cubecl::prelude::Tensor<f32>,
    pos_weight: &cubecl::prelude::Tensor<f32>,
    weights: &cubecl::prelude::Tensor<f32>,
    elements: &mut cubecl::prelude::Tensor<f32>,
    derivatives: &mut cubecl::prelude::Tensor<f32>,
    gamma: f32,
    alpha_scale: f32,
    alpha_offset: f32,
    #[comptime] dense: bool,
    #[comptime] has_pos_weight: bool,
    #[comptime] has_weights: bool,
    #[comptime] focal: bool,
    #[comptime] has_alpha: bool,
    #[comptime] with_derivatives: bool,
) {
    let classes = z.shape(1);
    let i = ABSOLUTE_POS;
    if i >= z.shape(0) * classes {
        terminate!();
    }
    let n = i / classes;
    let c = i % classes;
    let zv = z[n * z.stride(0) + c * z.stride(1)];
    let y = if dense {
        targets[n * targets.stride(0) + c * targets.stride(1)]
    } else {
        select(
            targets[n * targets.stride(0)] == f32::cast_from(c),
            1.0f32,
            0.0f32,
        )
    };
    let below = select(zv < 0.0f32, 1.0f32, 0.0f32);
    let sign = below + below - 1.0f32;
    let exp = f32::exp(sign * zv);
    let tail = f32::ln(exp + 1.0f32);
    let tail_dz = exp / (exp + 1.0f32) * sign;
    let mut f = 1.0f32;
    if has_pos_weight {
        f = y * (pos_weight[c * pos_weight.stride(0)] - 1.0f32) + 1.0f32;
    }
    let a = (1.0f32 - y) - f * below;
    let mut loss = zv * a + f * tail;
    let mut dz = a + f * tail_dz;
    if focal {
        let modulator = f32::exp((zv * (y - below) + tail) * -gamma);
        let modulator_dz = modulator * -gamma * ((y - below) + tail_dz);
        dz = dz * modulator + loss * modulator_dz;
        loss *= modulator;
    }
    if has_alpha {
        let alpha_t = y * alpha_scale + alpha_offset;
        loss *= alpha_t;
        dz *= alpha_t;
    }
    let mut w = 1.0f32;
    if has_weights {
        w = weights[c * weights.stride(0)];
    }
    let at = n * elements.stride(0) + c * elements.stride(1);
    elements[at] = w * loss;
    if with_derivatives {
        let at = n * derivatives.stride(0) + c * derivatives.stride(1);
        derivatives[at] = w * dz;
    }
}

/// A `Cube` float primitive as the [`CubeTensor`] it is without `fusion`; `None` with it.
fn cube_tensor(primitive: FloatTensor<Cube>) -> Option<CubeTensor> {
    let primitive: Box<dyn Any> = Box::new(primitive);
    primitive
        .downcast::<CubeTensor>()
        .ok()
        .map(|tensor| *tensor)
}

/// The inverse of [`cube_tensor`], called only once that has succeeded (the two types are one).
fn cube_primitive(tensor: CubeTensor) -> FloatTensor<Cube> {
    let tensor: Box<dyn Any> = Box::new(tensor);
    *tensor
        .downcast::<FloatTensor<Cube>>()
        .expect("a CubeTensor was unwrapped from this primitive type")
}

/// A `[C]` constant's `Cube` primitive (its inner one on an autodiff device: the constants are
/// not tracked), `None` on another backend or float type.
fn constant(tensor: &Tensor<1>) -> Option<CubeTensor> {
    if tensor.dtype() != DType::F32 {
        return None;
    }
    let primitive = match tensor.clone().try_into_primitive::<Autodiff<Cube>>() {
        Ok(tracked) => tracked.primitive().clone(),
        Err(_) => tensor.clone().try_into_primitive::<Cube>().ok()?,
    };
    cube_tensor(primitive)
}

/// A `Cube` float primitive of the logits or targets (the inner one on an autodiff device).
fn float_primitive(tensor: &Tensor<2>) -> Option<FloatTensor<Cube>> {
    match tensor.clone().try_into_primitive::<Autodiff<Cube>>() {
        Ok(tracked) => Some(tracked.primitive().clone()),
        Err(_) => tensor.clone().try_into_primitive::<Cube>().ok(),
    }
}

/// Class indices `[B]` as floats on the device (the kernel compares them with `c`).
fn index_floats(targets: &Tensor<1, Int>) -> Option<CubeTensor> {
    let indices = match targets.clone().try_into_primitive::<Cube>() {
        Ok(indices) => indices,
        Err(_) => targets
            .clone()
            .try_into_primitive::<Autodiff<Cube>>()
            .ok()?,
    };
    cube_tensor(Cube::int_into_float(indices, FloatDType::F32))
}

/// An uninitialised `f32` tensor of `shape` on `like`'s device.
fn empty(like: &CubeTensor, shape: impl Into<Shape>) -> Option<CubeTensor> {
    cube_tensor(Cube::float_empty(
        shape.into(),
        &like.device,
        FloatDType::F32,
    ))
}

/// Launches the kernel, then sums the rows: row sums `[B]` and, with `terms.derivatives`, the
/// `[B, C]` derivatives.
fn launch(
    z: &CubeTensor,
    targets: CubeTensor,
    pos_weight: Option<CubeTensor>,
    weights: Option<CubeTensor>,
    params: ElementParams,
    terms: Terms,
) -> Option<(FloatTensor<Cube>, Option<CubeTensor>)> {
    let [batch, classes] = [z.shape()[0], z.shape()[1]];
    let elements = empty(z, [batch, classes])?;
    let derivatives = match terms.derivatives {
        true => empty(z, [batch, classes])?,
        // Never written: a binding of its own all the same (an output may not alias another).
        false => empty(z, [1])?,
    };
    // A constant the kernel does not read stands in for an absent one.
    let unread = || z.clone().into_tensor_arg();
    let (alpha_scale, alpha_offset) = params.alpha.unwrap_or((0.0, 0.0));
    let client = z.client.clone();
    let units = batch * classes;
    let cube_dim = CubeDim::new(&client, units);
    let cube_count = cubecl::calculate_cube_count_elemwise(&client, units, cube_dim);
    sigmoid_elements_kernel::launch(
        &client,
        cube_count,
        cube_dim,
        z.clone().into_tensor_arg(),
        targets.into_tensor_arg(),
        pos_weight.map_or_else(unread, CubeTensor::into_tensor_arg),
        weights.map_or_else(unread, CubeTensor::into_tensor_arg),
        elements.clone().into_tensor_arg(),
        derivatives.clone().into_tensor_arg(),
        params.gamma,
        alpha_scale,
        alpha_offset,
        terms.dense,
        terms.pos_weight,
        terms.weights,
        terms.focal,
        terms.alpha,
        terms.derivatives,
    );
    let rows = Cube::float_sum_dim(cube_primitive(elements), 1);
    let rows = Cube::float_reshape(rows, Shape::new([batch]));
    Some((rows, terms.derivatives.then_some(derivatives)))
}

/// The backward of the row sums: `∂L/∂z = derivatives · ∂L/∂r` broadcast over the classes.
#[derive(Debug)]
struct CubeRowSumsBackward;

impl Backward<Cube, 1> for CubeRowSumsBackward {
    type State = FloatTensor<Cube>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [logits] = ops.parents;
        let upstream = grads.consume::<Cube>(&ops.node);
        if let Some(node) = logits {
            let batch = upstream.shape()[0];
            let upstream = Cube::float_reshape(upstream, Shape::new([batch, 1]));
            grads.register::<Cube>(node.id, Cube::float_mul(ops.state, upstream));
        }
    }
}

/// `Σ_c w_c·e_{n,c}` `[B]` by the kernel, or `None` where the composition must run (see the
/// module's documentation). The caller has checked the shapes.
pub(super) fn row_sums(
    logits: &Tensor<2>,
    targets: &SigmoidTargets,
    pos_weight: Option<&Tensor<1>>,
    weights: Option<&Tensor<1>>,
    params: ElementParams,
) -> Option<Tensor<1>> {
    let [batch, classes] = logits.dims();
    let constants = [pos_weight, weights].into_iter().flatten();
    // A `[C]` constant of another length: the composition's error to report.
    if logits.dtype() != DType::F32 || constants.clone().any(|t| t.dims() != [classes]) {
        return None;
    }
    // No elements: rows of 0, without a launch of zero units (CUDA refuses a grid of zero
    // blocks) nor the composition (Burn's CubeCL reductions panic on an empty tensor).
    if batch * classes == 0 {
        return Some(Tensor::zeros([batch], &logits.device()));
    }
    let tracked = logits.clone().try_into_primitive::<Autodiff<Cube>>().ok();
    let z = cube_tensor(float_primitive(logits)?)?;
    let (targets, dense) = match targets {
        SigmoidTargets::Indices(t) => (index_floats(t)?, false),
        SigmoidTargets::Dense(t) => {
            if t.dtype() != DType::F32 || targets_tracked(t) {
                return None;
            }
            (cube_tensor(float_primitive(t)?)?, true)
        }
    };
    let pos_weight = pos_weight
        .map(constant)
        .map_or(Some(None), |c| c.map(Some))?;
    let weights = weights.map(constant).map_or(Some(None), |c| c.map(Some))?;
    let mut terms = Terms {
        dense,
        pos_weight: pos_weight.is_some(),
        weights: weights.is_some(),
        focal: params.gamma > 0.0,
        alpha: params.alpha.is_some(),
        derivatives: false,
    };
    let Some(tracked) = tracked else {
        let (rows, _) = launch(&z, targets, pos_weight, weights, params, terms)?;
        return Some(Tensor::from_primitive::<Cube>(rows));
    };
    let output = match CubeRowSumsBackward
        .prepare::<NoCheckpointing>([tracked.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            terms.derivatives = true;
            let (rows, derivatives) = launch(&z, targets, pos_weight, weights, params, terms)?;
            prep.finish(cube_primitive(derivatives?), rows)
        }
        OpsKind::UnTracked(prep) => {
            let (rows, _) = launch(&z, targets, pos_weight, weights, params, terms)?;
            prep.finish(rows)
        }
    };
    Some(Tensor::from_primitive::<Autodiff<Cube>>(output))
}

/// Whether float targets are tracked by autodiff (computed from tracked tensors, or leaves that
/// require a gradient): the kernel does not compute their gradient. Burn exposes a node's
/// requirement only through the preparation of an operation, so one is prepared and dropped
/// unfinished (nothing is registered).
fn targets_tracked(targets: &Tensor<2>) -> bool {
    match targets.clone().try_into_primitive::<Autodiff<Cube>>() {
        Ok(tracked) => matches!(
            CubeRowSumsBackward
                .prepare::<NoCheckpointing>([tracked.node()])
                .compute_bound()
                .stateful(),
            OpsKind::Tracked(_)
        ),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    //! The kernel against the composition on the same wgpu device (lavapipe in CI), values and
    //! gradients, with the flex tests' cases (`fused/tests.rs`).
    use super::super::tests::{
        cases, compare_on, dense_targets, empty_shapes_on, non_contiguous_logits_on,
    };
    use super::{ElementParams, SigmoidTargets};
    use crate::LabelWeighting;
    use crate::sigmoid::SigmoidTerms;
    use burn::prelude::{Device, Int, Tensor, TensorData};

    /// Float targets read through a transposed view, `pos_weight` and the column weights
    /// through stride-0 `expand`s: the kernel against the composition.
    fn strided_inputs_on(device: &Device) {
        let [b, c] = [5, 7];
        let z: Vec<f32> = (0..b * c).map(|i| 3.0 * ((i as f32) * 0.9).sin()).collect();
        let y: Vec<f32> = (0..b * c).map(|i| ((i * 5 % 9) as f32) / 8.0).collect();
        let z = Tensor::<2>::from_data(TensorData::new(z, [b, c]), device);
        let y = Tensor::<2>::from_data(TensorData::new(y, [c, b]), device).transpose();
        let pw = Tensor::<1>::from_floats([2.5], device).expand([c]);
        let w = Tensor::<1>::from_floats([0.7], device).expand([c]);
        let terms = SigmoidTerms {
            weights: None,
            pos_weight: Some(&pw),
            alpha: Some(0.25),
            gamma: 2.0,
            label_weighting: LabelWeighting::PositiveSum,
            no_label_weight: 0.0,
        };
        let targets = || SigmoidTargets::Dense(y.clone());
        let kernel = super::row_sums(&z, &targets(), Some(&pw), Some(&w), terms.params())
            .expect("the kernel runs on wgpu");
        let composed = terms.composed_row_sums(z.clone(), targets(), Some(&w));
        let [kernel, composed]: [Vec<f32>; 2] =
            [kernel, composed].map(|t| t.into_data().iter::<f32>().collect());
        for (k, c) in kernel.iter().zip(&composed) {
            assert!(
                (k - c).abs() <= 2e-6 * c.abs().max(1.0),
                "{kernel:?} vs {composed:?}"
            );
        }
    }

    #[test]
    fn kernel_row_sums_and_gradients_equal_the_composition_on_wgpu() {
        let test = "kernel_row_sums_and_gradients_equal_the_composition_on_wgpu";
        let Some(device) = rebalance_testing::wgpu_device(test) else {
            return;
        };
        for case in cases() {
            for autodiff in [false, true] {
                for dense in [false, true] {
                    compare_on(
                        &device,
                        autodiff,
                        &case,
                        dense,
                        false,
                        dense_targets(),
                        true,
                    );
                }
            }
        }
        // Tracked float targets: the kernel declines, and the composition gives both gradients.
        let case = &cases()[5];
        compare_on(&device, true, case, true, true, dense_targets(), false);
        non_contiguous_logits_on(&device);
        strided_inputs_on(&device);
        // `[C]` constants of the wrong length are the composition's to report.
        let z = Tensor::<2>::zeros([2, 3], &device);
        let y = SigmoidTargets::Indices(Tensor::<1, Int>::from_ints([0, 1], &device));
        let four = Tensor::<1>::ones([4], &device);
        let params = ElementParams::new(0.0, None);
        assert!(super::row_sums(&z, &y, Some(&four), None, params).is_none());
        assert!(super::row_sums(&z, &y, None, Some(&four), params).is_none());
        assert!(super::row_sums(&z, &y, None, None, params).is_some());
        empty_shapes_on(&device);
        empty_shapes_on(&device.clone().autodiff());
        // So a sigmoid loss of an empty batch is 0 on wgpu (the composition's reductions panic
        // inside burn-cubecl on an empty tensor).
        let counts = rebalance_weights::ClassCounts::from_counts(vec![5, 3, 1]).unwrap();
        let config: crate::LossConfig = toml::from_str("kind = \"sigmoid-focal\"").unwrap();
        let loss = crate::ImbalanceLoss::new(&config, &counts, &device).unwrap();
        let empty = loss.forward(
            Tensor::<2>::zeros([0, 3], &device),
            Tensor::<1, Int>::zeros([0], &device),
        );
        assert_eq!(empty.into_data().iter::<f32>().collect::<Vec<_>>(), [0.0]);
    }
}
