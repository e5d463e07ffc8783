//! The packed ResNet-32: R runs' networks as one of grouped convolutions.
//!
//! Each of the pack's basic blocks is a [`BasicBlock`] whose convolutions are grouped by run and
//! whose batch norms hold the runs' channels side by side (`crate::run::pack::conv` says why
//! that keeps every run apart), so the block's forward is the single block's, written once.
//! The residual sums and the global average pooling are per channel, hence per run.

use burn::nn::conv::Conv2d;
use burn::nn::pool::AdaptiveAvgPool2d;
use burn::nn::{BatchNorm, Relu};
use burn::prelude::*;

use crate::run::backbone::{BasicBlock, ResNet32};
use crate::run::pack::conv::{
    first_alike, stack_conv, stack_norm, to_channels, to_runs, unstack_conv, unstack_norm,
};

/// The runs' blocks as one block of grouped convolutions.
fn stack_block(blocks: &[&BasicBlock]) -> BasicBlock {
    let conv = |part: fn(&BasicBlock) -> &Conv2d| {
        stack_conv(&blocks.iter().map(|&b| part(b)).collect::<Vec<_>>())
    };
    let norm = |part: fn(&BasicBlock) -> &BatchNorm| {
        stack_norm(&blocks.iter().map(|&b| part(b)).collect::<Vec<_>>())
    };
    let shortcuts: Option<Vec<&(Conv2d, BatchNorm)>> =
        blocks.iter().map(|b| b.shortcut.as_ref()).collect();
    let shortcut = shortcuts.map(|pairs| {
        let convs: Vec<&Conv2d> = pairs.iter().map(|(c, _)| c).collect();
        let norms: Vec<&BatchNorm> = pairs.iter().map(|(_, n)| n).collect();
        (stack_conv(&convs), stack_norm(&norms))
    });
    assert_eq!(
        shortcut.is_some(),
        blocks[0].shortcut.is_some(),
        "the runs of a pack have blocks of different shapes"
    );
    BasicBlock {
        conv1: conv(|b| &b.conv1),
        bn1: norm(|b| &b.bn1),
        conv2: conv(|b| &b.conv2),
        bn2: norm(|b| &b.bn2),
        shortcut,
        activation: Relu::new(),
    }
}

/// The `runs` blocks a [`stack_block`] holds.
fn unstack_block(block: BasicBlock, runs: usize) -> Vec<BasicBlock> {
    let mut shortcuts: Vec<Option<(Conv2d, BatchNorm)>> = match block.shortcut {
        Some((conv, norm)) => unstack_conv(conv, runs)
            .into_iter()
            .zip(unstack_norm(norm, runs))
            .map(Some)
            .collect(),
        None => (0..runs).map(|_| None).collect(),
    };
    unstack_conv(block.conv1, runs)
        .into_iter()
        .zip(unstack_norm(block.bn1, runs))
        .zip(
            unstack_conv(block.conv2, runs)
                .into_iter()
                .zip(unstack_norm(block.bn2, runs)),
        )
        .zip(shortcuts.drain(..))
        .map(|(((conv1, bn1), (conv2, bn2)), shortcut)| BasicBlock {
            conv1,
            bn1,
            conv2,
            bn2,
            shortcut,
            activation: Relu::new(),
        })
        .collect()
}

/// R runs of [`ResNet32`] as one model: every convolution grouped by run, every batch norm
/// over the runs' channels side by side.
#[derive(Module, Debug)]
pub struct PackedResNet32 {
    stem: Conv2d,
    bn: BatchNorm,
    blocks: Vec<BasicBlock>,
    pool: AdaptiveAvgPool2d,
    activation: Relu,
    shape: [usize; 3],
    runs: usize,
}

impl PackedResNet32 {
    /// The runs' networks as one, run `r` at index `r` of every input and output. Build each
    /// model as its run alone does, as [`PackedCnn::stack`](crate::run::pack::conv::PackedCnn::stack)
    /// says.
    ///
    /// # Panics
    /// No model, or models for images of different shapes.
    pub fn stack(models: &[&ResNet32]) -> Self {
        let first = first_alike(models, "ResNets", |m, first| {
            m.shape == first.shape && m.blocks.len() == first.blocks.len()
        });
        let stems: Vec<&Conv2d> = models.iter().map(|m| &m.stem).collect();
        let norms: Vec<&BatchNorm> = models.iter().map(|m| &m.bn).collect();
        let blocks = (0..first.blocks.len())
            .map(|i| stack_block(&models.iter().map(|m| &m.blocks[i]).collect::<Vec<_>>()))
            .collect();
        Self {
            stem: stack_conv(&stems),
            bn: stack_norm(&norms),
            blocks,
            pool: first.pool.clone(),
            activation: Relu::new(),
            shape: first.shape,
            runs: models.len(),
        }
    }

    /// The runs' networks, each as it would be trained alone (batch-norm running statistics
    /// included): what each run saves and evaluates.
    pub fn unstack(self) -> Vec<ResNet32> {
        let runs = self.runs;
        let mut blocks: Vec<Vec<BasicBlock>> = (0..runs).map(|_| Vec::new()).collect();
        for block in self.blocks {
            for (run, one) in unstack_block(block, runs).into_iter().enumerate() {
                blocks[run].push(one);
            }
        }
        unstack_conv(self.stem, runs)
            .into_iter()
            .zip(unstack_norm(self.bn, runs))
            .zip(blocks)
            .map(|((stem, bn), blocks)| ResNet32 {
                stem,
                bn,
                blocks,
                pool: self.pool.clone(),
                activation: Relu::new(),
                shape: self.shape,
            })
            .collect()
    }

    /// How many runs the pack holds.
    pub fn runs(&self) -> usize {
        self.runs
    }

    /// `[R, B, C·32·32]` (each run's images flattened) to `[R, B, 64]`: run `r`'s rows are what
    /// its network alone makes of them.
    ///
    /// # Panics
    /// An input of another number of runs or another image size.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = to_channels(x, self.runs, self.shape);
        let mut x = self
            .activation
            .forward(self.bn.forward(self.stem.forward(x)));
        for block in &self.blocks {
            x = block.forward(x);
        }
        to_runs(self.pool.forward(x), self.runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::backbone::Backbone;
    use crate::run::config::ModelKind;
    use crate::run::pack::testing::{self, Packs};

    /// CIFAR's three-channel 32×32 images.
    const SHAPE: [usize; 3] = [3, 32, 32];

    // The forward passes agree within 1e-5 (measured: 2e-6 or less), not bit for bit: with at
    // most 4 input channels flex convolves a lone 16-channel stem by a direct path, the pack's
    // grouped stem by im2col and gemm, which order the sums differently (1e-7 apart); every
    // other layer matches exactly.
    testing::packs!(
        ResNet32,
        PackedResNet32,
        Backbone::ResNet32,
        tests(ModelKind::Resnet32, SHAPE, batch 2)
    );

    /// Five-channel images, so that the lone stem takes flex's im2col path as the pack's does.
    /// With three, the stem's 1e-7 differences flip the odd ReLU near zero, whose gradient is 0
    /// or 1, and the early layers' gradients differ by up to 1e-2 of their largest element: the
    /// same kink any change of summation order (another backend, another batch order) causes.
    #[test]
    fn packed_resnet_gradients_equal_each_run_alone() {
        let error = testing::check_gradients::<ResNet32>(
            ModelKind::Resnet32,
            &[5, 32, 32],
            4,
            &Device::flex(),
        );
        eprintln!("packed ResNet-32: gradients' relative error {error}");
    }

    /// The same checks on wgpu (Mesa's lavapipe without a GPU), three-channel images.
    #[cfg(feature = "wgpu")]
    #[test]
    fn packed_resnet_equals_each_run_alone_on_wgpu() {
        let test = "packed_resnet_equals_each_run_alone_on_wgpu";
        let Some(device) = rebalance_testing::wgpu_device(test) else {
            return;
        };
        let kind = ModelKind::Resnet32;
        let errors = testing::check_forward::<ResNet32>(kind, &SHAPE, 2, &device);
        let error = testing::check_gradients::<ResNet32>(kind, &SHAPE, 2, &device);
        eprintln!("packed ResNet-32 on wgpu: relative errors {errors:?}, gradients {error}");
    }

    /// Not a check: the time of a training step's forward and backward of ResNet-32, four runs
    /// packed against the four one after another, batch 32, on flex. Run it in release:
    /// `cargo test --release -p rebalance --lib -- --ignored packed_resnet_step_time --nocapture`.
    /// On 2026-12-06, on a 2-core AMD EPYC shared with other builds (load 4), release: packed
    /// 1705 ms, one by one 1472 ms per step (medians of 7), so packing is 1.16× slower on flex.
    /// Layer by layer, the batch norms over R× wider activations (8 MB in the first stage
    /// instead of 2 MB) lose the most, and the 3-channel stem loses flex's direct path.
    #[test]
    #[ignore = "a measurement, minutes in a debug build"]
    fn packed_resnet_step_time() {
        use burn::tensor::Distribution;
        use std::time::Instant;
        let device = Device::flex().autodiff();
        let (runs, batch, steps) = (4, 32, 7);
        let models: Vec<ResNet32> = (0..runs)
            .map(|s| <ResNet32 as Packs>::build(ModelKind::Resnet32, &SHAPE, s, &device))
            .collect();
        let pack = PackedResNet32::stack(&models.iter().collect::<Vec<_>>());
        let features = SHAPE.iter().product();
        let size = [runs as usize, batch, features];
        let x = Tensor::<3>::random(size, Distribution::Default, &device);
        let step_packed = || {
            let _ = pack.forward(x.clone()).sum().backward();
        };
        let step_alone = || {
            for (r, model) in models.iter().enumerate() {
                let x = x.clone().narrow(0, r, 1).squeeze_dim(0);
                let _ = model.alone(x).sum().backward();
            }
        };
        let time = |step: &dyn Fn()| {
            let start = Instant::now();
            step();
            start.elapsed().as_secs_f64() * 1000.0
        };
        step_packed();
        step_alone();
        // Alternated, so that a machine whose load drifts slows both alike; medians.
        let (mut packed, mut alone): (Vec<f64>, Vec<f64>) = (0..steps)
            .map(|_| (time(&step_packed), time(&step_alone)))
            .unzip();
        for (name, times) in [("packed", &mut packed), ("one by one", &mut alone)] {
            times.sort_by(f64::total_cmp);
            let [min, median, max] = [times[0], times[steps / 2], times[steps - 1]];
            eprintln!(
                "ResNet-32, {runs} runs, batch {batch}, flex: {name} {median:.1} ms per step \
                 (median of {steps}; min {min:.1}, max {max:.1})"
            );
        }
    }
}
