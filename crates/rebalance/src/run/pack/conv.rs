//! The packed CNN, and the packed layers of the convolutional backbones.
//!
//! R runs' images travel as one batch of `R·C` channels, `[B, R·C, H, W]`, run `r` in channels
//! `r·C..(r+1)·C`. A convolution of the pack is one grouped convolution with a group per run
//! (weights `[R·out, in, k, k]`, `groups = R`), so run `r`'s output channels see only its own
//! input channels. A batch norm of the pack holds the runs' `R·c` channels side by side: its
//! training-mode statistics and running-mean/variance updates are per channel, hence per run,
//! and each run's batch is its own `B` samples. Pooling is per channel. Dense layers are
//! batched matrix products `[R, B, in] × [R, in, out]` ([`PackedLinear`]).
//!
//! Dropout draws one mask over the whole `[R, B, width]` activation: each run gets masks of the
//! same distribution as alone, but not the same draws (a run alone draws its mask from the
//! device's generator after other draws), so with dropout a packed run follows its unpacked
//! training in distribution, not bit for bit. Without dropout (the default) a packed run
//! computes what it computes alone up to the order of floating-point sums: the unit tests find
//! the CNN bit for bit equal on flex and wgpu, and ResNet-32 on wgpu; on flex ResNet-32's stem
//! over images of at most 4 channels takes a direct path alone and gemm packed, 2e-6 apart at
//! the output (`crate::run::pack::resnet`'s tests).

use burn::module::{Param, RunningState};
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::nn::{BatchNorm, Dropout, Linear, Relu};
use burn::prelude::*;

use crate::run::backbone::{Cnn, cnn_block};

/// The first of `parts` (one per run), which all are `alike` it.
///
/// # Panics
/// No part ("a pack of at least one run"), or one not alike: "the runs of a pack have `what`
/// of different shapes".
pub(crate) fn first_alike<'a, M>(
    parts: &[&'a M],
    what: &str,
    alike: impl Fn(&M, &M) -> bool,
) -> &'a M {
    let first = parts.first().expect("a pack of at least one run");
    assert!(
        parts.iter().all(|part| alike(part, first)),
        "the runs of a pack have {what} of different shapes"
    );
    first
}

/// A trainable parameter from a stacked or unstacked value, detached from the graph that made it.
fn param<const D: usize>(value: Tensor<D>) -> Param<Tensor<D>> {
    Param::from_tensor(value.detach())
}

/// The biases of `layers` (each read by `bias`), where they have them: [`first_alike`] checked
/// that all or none do.
fn biases<L, const D: usize>(
    layers: &[&L],
    bias: impl Fn(&L) -> Option<&Param<Tensor<D>>>,
) -> Option<Vec<Tensor<D>>> {
    layers.iter().map(|l| bias(l).map(Param::val)).collect()
}

/// The runs' convolutions as one grouped convolution: weights (and biases) concatenated along
/// the output channels, `groups` multiplied by R.
///
/// # Panics
/// No convolution, or convolutions of different shapes or options.
pub(crate) fn stack_conv(convs: &[&Conv2d]) -> Conv2d {
    let first = first_alike(convs, "convolutions", |conv, first| {
        conv.weight.dims() == first.weight.dims()
            && conv.stride == first.stride
            && conv.kernel_size == first.kernel_size
            && conv.dilation == first.dilation
            && conv.groups == first.groups
            && conv.padding == first.padding
            && conv.bias.is_some() == first.bias.is_some()
    });
    let weight = Tensor::cat(convs.iter().map(|c| c.weight.val()).collect(), 0);
    let bias = biases(convs, |c| c.bias.as_ref()).map(|b| param(Tensor::cat(b, 0)));
    Conv2d {
        weight: param(weight),
        bias,
        stride: first.stride,
        kernel_size: first.kernel_size,
        dilation: first.dilation,
        groups: first.groups * convs.len(),
        padding: first.padding.clone(),
    }
}

/// The `runs` convolutions a [`stack_conv`] holds.
pub(crate) fn unstack_conv(conv: Conv2d, runs: usize) -> Vec<Conv2d> {
    let per_run = conv.weight.dims()[0] / runs;
    let weights = conv.weight.val().split(per_run, 0);
    let mut biases = match &conv.bias {
        Some(bias) => bias.val().split(per_run, 0).into_iter().map(Some).collect(),
        None => vec![None; runs],
    };
    weights
        .into_iter()
        .zip(biases.drain(..))
        .map(|(weight, bias)| Conv2d {
            weight: param(weight),
            bias: bias.map(param),
            stride: conv.stride,
            kernel_size: conv.kernel_size,
            dilation: conv.dilation,
            groups: conv.groups / runs,
            padding: conv.padding.clone(),
        })
        .collect()
}

/// The runs' batch norms as one over their channels side by side: scale, shift and running
/// statistics concatenated.
///
/// # Panics
/// No batch norm, or batch norms of different widths, momenta or epsilons.
pub(crate) fn stack_norm(norms: &[&BatchNorm]) -> BatchNorm {
    let first = first_alike(norms, "batch norms", |norm, first| {
        norm.gamma.dims() == first.gamma.dims()
            && norm.momentum == first.momentum
            && norm.epsilon == first.epsilon
    });
    let cat = |part: fn(&BatchNorm) -> Tensor<1>| {
        Tensor::cat(norms.iter().map(|&n| part(n)).collect(), 0).detach()
    };
    BatchNorm {
        gamma: param(cat(|n| n.gamma.val())),
        beta: param(cat(|n| n.beta.val())),
        training: first.training.clone(),
        running_mean: RunningState::new(cat(|n| n.running_mean.value_sync())),
        running_var: RunningState::new(cat(|n| n.running_var.value_sync())),
        momentum: first.momentum,
        epsilon: first.epsilon,
    }
}

/// The `runs` batch norms a [`stack_norm`] holds, running statistics included.
pub(crate) fn unstack_norm(norm: BatchNorm, runs: usize) -> Vec<BatchNorm> {
    let per_run = norm.gamma.dims()[0] / runs;
    let split = |t: Tensor<1>| t.split(per_run, 0).into_iter();
    let parts = split(norm.gamma.val())
        .zip(split(norm.beta.val()))
        .zip(split(norm.running_mean.value_sync()))
        .zip(split(norm.running_var.value_sync()));
    parts
        .map(|(((gamma, beta), mean), var)| BatchNorm {
            gamma: param(gamma),
            beta: param(beta),
            training: norm.training.clone(),
            running_mean: RunningState::new(mean.detach()),
            running_var: RunningState::new(var.detach()),
            momentum: norm.momentum,
            epsilon: norm.epsilon,
        })
        .collect()
}

/// R runs' linear layers as one batched product: `[R, B, in] × [R, in, out] + [R, 1, out]`.
#[derive(Module, Debug)]
pub struct PackedLinear {
    /// The runs' weights, `[R, in, out]`.
    weight: Param<Tensor<3>>,
    /// The runs' biases, `[R, 1, out]`.
    bias: Option<Param<Tensor<3>>>,
}

impl PackedLinear {
    /// The runs' layers as one, run `r` at index `r`.
    ///
    /// # Panics
    /// No layer, or layers of different shapes.
    pub fn stack(layers: &[&Linear]) -> Self {
        first_alike(layers, "linear layers", |layer, first| {
            layer.weight.dims() == first.weight.dims()
                && layer.bias.is_some() == first.bias.is_some()
        });
        let weight = Tensor::stack(layers.iter().map(|l| l.weight.val()).collect(), 0);
        let bias = biases(layers, |l| l.bias.as_ref())
            .map(|b| param(Tensor::<1>::stack::<2>(b, 0).unsqueeze_dim(1)));
        Self {
            weight: param(weight),
            bias,
        }
    }

    /// The layers [`stack`](Self::stack) took.
    pub fn unstack(self) -> Vec<Linear> {
        let runs = self.weight.dims()[0];
        let biases: Vec<Option<Tensor<1>>> = match &self.bias {
            Some(bias) => bias
                .val()
                .split(1, 0)
                .into_iter()
                .map(|b| Some(b.flatten(0, 2)))
                .collect(),
            None => vec![None; runs],
        };
        self.weight
            .val()
            .split(1, 0)
            .into_iter()
            .zip(biases)
            .map(|(weight, bias)| Linear {
                weight: param(weight.squeeze_dim(0)),
                bias: bias.map(param),
            })
            .collect()
    }

    /// `[R, B, in]` to `[R, B, out]`, each run through its own layer.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let y = x.matmul(self.weight.val());
        match &self.bias {
            Some(bias) => y + bias.val(),
            None => y,
        }
    }
}

/// `[R, B, C·H·W]` (each run's images flattened) to the pack's channels `[B, R·C, H, W]`.
///
/// # Panics
/// Not `runs` runs of images of `shape`.
pub(crate) fn to_channels(x: Tensor<3>, runs: usize, [c, h, w]: [usize; 3]) -> Tensor<4> {
    let [r, batch, features] = x.dims();
    assert!(
        r == runs && features == c * h * w,
        "a pack's input is [{runs} runs, batch, {c}·{h}·{w}], not {:?}",
        x.dims()
    );
    x.swap_dims(0, 1).reshape([batch, runs * c, h, w])
}

/// The pack's channels `[B, R·C, H, W]` to each run's features flattened, `[R, B, C·H·W]`.
pub(crate) fn to_runs(x: Tensor<4>, runs: usize) -> Tensor<3> {
    let [batch, channels, h, w] = x.dims();
    x.reshape([batch, runs, channels / runs * h * w])
        .swap_dims(0, 1)
}

/// R runs of the [`Cnn`] as one model: its convolutions grouped by run, its batch norms side by
/// side, its dense layer a batched product.
#[derive(Module, Debug)]
pub struct PackedCnn {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    pool: MaxPool2d,
    dense: PackedLinear,
    activation: Relu,
    dropout: Dropout,
    shape: [usize; 3],
    runs: usize,
}

impl PackedCnn {
    /// The runs' CNNs as one, run `r` at index `r` of every input and output.
    ///
    /// Build each model as its run alone does (`Trainer::phase`: seed the device, build,
    /// `materialize`, under `seeded_init`): `stack` copies the parameters and draws nothing, but a
    /// parameter still lazy would be drawn here, from the generator as it is now.
    ///
    /// # Panics
    /// No model, or models of different shapes or dropout.
    pub fn stack(models: &[&Cnn]) -> Self {
        let first = first_alike(models, "CNNs", |m, first| {
            m.shape == first.shape && m.dropout.prob == first.dropout.prob
        });
        let conv = |part: fn(&Cnn) -> &Conv2d| {
            stack_conv(&models.iter().map(|&m| part(m)).collect::<Vec<_>>())
        };
        let norm = |part: fn(&Cnn) -> &BatchNorm| {
            stack_norm(&models.iter().map(|&m| part(m)).collect::<Vec<_>>())
        };
        let dense: Vec<&Linear> = models.iter().map(|m| &m.dense).collect();
        Self {
            conv1: conv(|m| &m.conv1),
            bn1: norm(|m| &m.bn1),
            conv2: conv(|m| &m.conv2),
            bn2: norm(|m| &m.bn2),
            pool: first.pool.clone(),
            dense: PackedLinear::stack(&dense),
            activation: Relu::new(),
            dropout: first.dropout.clone(),
            shape: first.shape,
            runs: models.len(),
        }
    }

    /// The runs' CNNs, each as it would be trained alone (batch-norm running statistics
    /// included): what each run saves and evaluates.
    pub fn unstack(self) -> Vec<Cnn> {
        let runs = self.runs;
        let conv1 = unstack_conv(self.conv1, runs);
        let bn1 = unstack_norm(self.bn1, runs);
        let conv2 = unstack_conv(self.conv2, runs);
        let bn2 = unstack_norm(self.bn2, runs);
        let dense = self.dense.unstack();
        conv1
            .into_iter()
            .zip(bn1)
            .zip(conv2.into_iter().zip(bn2))
            .zip(dense)
            .map(|(((conv1, bn1), (conv2, bn2)), dense)| Cnn {
                conv1,
                bn1,
                conv2,
                bn2,
                pool: self.pool.clone(),
                dense,
                activation: Relu::new(),
                dropout: self.dropout.clone(),
                shape: self.shape,
            })
            .collect()
    }

    /// How many runs the pack holds.
    pub fn runs(&self) -> usize {
        self.runs
    }

    /// `[R, B, C·H·W]` (each run's images flattened) to `[R, B, 128]`: run `r`'s rows are what
    /// its CNN alone makes of them.
    ///
    /// # Panics
    /// An input of another number of runs or another image size.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = to_channels(x, self.runs, self.shape);
        let x = cnn_block(x, &self.conv1, &self.bn1, &self.pool);
        let x = cnn_block(x, &self.conv2, &self.bn2, &self.pool);
        let x = to_runs(x, self.runs);
        self.dropout
            .forward(self.activation.forward(self.dense.forward(x)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::backbone::Backbone;
    use crate::run::config::ModelKind;
    use crate::run::pack::testing;

    /// Two-channel 8×8 images: small enough for a debug build, two pools of 2 still leave 2×2.
    const SHAPE: [usize; 3] = [2, 8, 8];

    testing::packs!(
        Cnn,
        PackedCnn,
        Backbone::Cnn,
        tests(ModelKind::Cnn, SHAPE, batch 5)
    );

    #[test]
    fn packed_cnn_gradients_equal_each_run_alone() {
        let error = testing::check_gradients::<Cnn>(ModelKind::Cnn, &SHAPE, 5, &Device::flex());
        eprintln!("packed CNN: gradients' relative error {error}");
    }

    /// The same checks on wgpu (Mesa's lavapipe without a GPU), where the grouped and the lone
    /// convolutions are other kernels.
    #[cfg(feature = "wgpu")]
    #[test]
    fn packed_cnn_equals_each_run_alone_on_wgpu() {
        let Some(device) =
            rebalance_testing::wgpu_device("packed_cnn_equals_each_run_alone_on_wgpu")
        else {
            return;
        };
        let errors = testing::check_forward::<Cnn>(ModelKind::Cnn, &SHAPE, 5, &device);
        let error = testing::check_gradients::<Cnn>(ModelKind::Cnn, &SHAPE, 5, &device);
        eprintln!("packed CNN on wgpu: relative errors {errors:?}, gradients {error}");
    }

    #[test]
    fn packed_linear_round_trips_and_multiplies_run_by_run() {
        let device = Device::flex();
        let layers: Vec<Linear> = (0..3)
            .map(|s| {
                device.seed(s);
                burn::nn::LinearConfig::new(4, 3).init(&device)
            })
            .collect();
        let pack = PackedLinear::stack(&layers.iter().collect::<Vec<_>>());
        let x = Tensor::<3>::random([3, 2, 4], burn::tensor::Distribution::Default, &device);
        let y = pack.forward(x.clone());
        for (r, layer) in layers.iter().enumerate() {
            let alone = layer.forward(x.clone().narrow(0, r, 1).squeeze_dim::<2>(0));
            let mine = y.clone().narrow(0, r, 1).squeeze_dim::<2>(0);
            mine.into_data().assert_approx_eq::<f32>(
                &alone.into_data(),
                burn::tensor::Tolerance::absolute(1e-6),
            );
        }
        for (back, layer) in pack.unstack().iter().zip(&layers) {
            assert_eq!(testing::floats(back), testing::floats(layer));
        }
    }
}
