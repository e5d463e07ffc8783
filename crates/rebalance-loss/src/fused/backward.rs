//! The backward of the fused row sums, registered in `Autodiff<Flex>`: the derivatives the
//! forward pass stored, scaled by the upstream gradient.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex, TensorMetadata};
use burn::prelude::*;

use super::forward::{RowTargets, element_dy, forward};
use super::{
    Columns, ElementParams, SigmoidTargets, f32_values, flex_tensor, flex_vector, index_primitive,
    index_values,
};

/// `∂L/∂z = ∂L/∂r_n · g_{n,c}`: the upstream gradient of the row sums `[B]` spread over the
/// stored `[B, C]` derivatives, in place (the backward owns them, and they were written
/// contiguous by `forward`): the gradient costs no allocation of its own.
pub(super) fn spread(upstream: &FlexTensor, mut derivatives: FlexTensor) -> FlexTensor {
    let shape = derivatives.shape();
    let [batch, classes] = [shape[0], shape[1]];
    // The upstream gradient has the output's dtype, f32; anything else is converted.
    let upstream = f32_values(upstream).unwrap_or_else(|| {
        std::borrow::Cow::Owned(upstream.clone().into_data().iter::<f32>().collect())
    });
    let scale = |values: &mut [f32]| {
        for (row, &u) in values.chunks_exact_mut(classes.max(1)).zip(upstream.iter()) {
            row.iter_mut().for_each(|g| *g *= u);
        }
    };
    if derivatives.is_contiguous()
        && let Some(values) = derivatives.try_storage_mut::<f32>()
        && values.len() == batch * classes
    {
        scale(values);
        return derivatives;
    }
    let mut values = f32_values(&derivatives)
        .expect("the stored derivatives are f32")
        .into_owned();
    scale(&mut values);
    flex_tensor(values, [batch, classes])
}

/// The backward of row sums over class-index targets (no gradient to integers).
#[derive(Debug)]
struct IndexRowSumsBackward;

impl Backward<Flex, 1> for IndexRowSumsBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [logits] = ops.parents;
        let upstream = grads.consume::<Flex>(&ops.node);
        if let Some(node) = logits {
            grads.register::<Flex>(node.id, spread(&upstream, ops.state));
        }
    }
}

/// What the backward of dense targets keeps: the `[B, C]` derivatives in `z`, and what the
/// derivatives in `y` need if the targets turn out to be tracked.
#[derive(Clone, Debug)]
struct DenseState {
    derivatives: FlexTensor,
    logits: FlexTensor,
    targets: FlexTensor,
    columns: Columns,
    params: ElementParams,
}

/// The backward of row sums over float targets: to the logits, and to the targets when they
/// are tracked (soft targets computed from a model).
#[derive(Debug)]
struct DenseRowSumsBackward;

impl Backward<Flex, 2> for DenseRowSumsBackward {
    type State = DenseState;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [logits, targets] = ops.parents;
        let upstream = grads.consume::<Flex>(&ops.node);
        let state = ops.state;
        if let Some(node) = targets {
            grads.register::<Flex>(node.id, target_gradient(&upstream, &state));
        }
        if let Some(node) = logits {
            grads.register::<Flex>(node.id, spread(&upstream, state.derivatives));
        }
    }
}

/// `∂L/∂y_{n,c} = ∂L/∂r_n · w_c·∂e_{n,c}/∂y_{n,c}`.
fn target_gradient(upstream: &FlexTensor, state: &DenseState) -> FlexTensor {
    let shape = state.logits.shape();
    let [batch, classes] = [shape[0], shape[1]];
    let z = f32_values(&state.logits).expect("the fused path takes f32 logits");
    let y = f32_values(&state.targets).expect("the fused path takes f32 targets");
    let mut dy = vec![0.0f32; batch * classes];
    for n in 0..batch {
        for c in 0..classes {
            let i = n * classes + c;
            let pw = state.columns.pos_weight.as_ref().map(|pw| pw[c]);
            let w = state.columns.weights.as_ref().map_or(1.0, |w| w[c]);
            dy[i] = element_dy(z[i], y[i], pw, state.params) * w;
        }
    }
    spread(upstream, flex_tensor(dy, [batch, classes]))
}

/// [`row_sums`](super::row_sums) of logits on `Autodiff<Flex>`: the forward pass, with its
/// derivatives kept for the backward where the logits (or the targets) are tracked.
pub(super) fn autodiff_row_sums(
    logits: FloatTensor<Autodiff<Flex>>,
    targets: &SigmoidTargets,
    columns: Columns,
    params: ElementParams,
    shape: [usize; 2],
) -> Option<Tensor<1>> {
    let z_primitive = logits.primitive().clone();
    let z = f32_values(&z_primitive)?;
    let output = match targets {
        SigmoidTargets::Indices(t) => {
            let t = index_primitive(t)?;
            let y = index_values(&t);
            let y = RowTargets::Indices(&y);
            match IndexRowSumsBackward
                .prepare::<NoCheckpointing>([logits.node()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let (rows, grad) = forward(&z, &y, &columns, params, shape, true);
                    let grad = flex_tensor(grad?, shape);
                    prep.finish(grad, flex_vector(rows))
                }
                OpsKind::UnTracked(prep) => prep.finish(flex_vector(
                    forward(&z, &y, &columns, params, shape, false).0,
                )),
            }
        }
        SigmoidTargets::Dense(t) => {
            let targets = t.clone().try_into_primitive::<Autodiff<Flex>>().ok()?;
            let y_primitive = targets.primitive().clone();
            let y = f32_values(&y_primitive)?;
            let y = RowTargets::Dense(&y);
            match DenseRowSumsBackward
                .prepare::<NoCheckpointing>([logits.node(), targets.node()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let (rows, grad) = forward(&z, &y, &columns, params, shape, true);
                    let state = DenseState {
                        derivatives: flex_tensor(grad?, shape),
                        logits: z_primitive.clone(),
                        targets: y_primitive.clone(),
                        columns,
                        params,
                    };
                    prep.finish(state, flex_vector(rows))
                }
                OpsKind::UnTracked(prep) => prep.finish(flex_vector(
                    forward(&z, &y, &columns, params, shape, false).0,
                )),
            }
        }
    };
    Some(Tensor::<1>::from_primitive::<Autodiff<Flex>>(output))
}
