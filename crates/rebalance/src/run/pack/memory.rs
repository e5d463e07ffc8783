//! The device memory a run takes in a pack while it trains, estimated from its model's
//! parameters and the activations a training step keeps: what `compare --pack auto` sizes its
//! groups by (`crate::compare::packing`).
//!
//! An estimate, not a measurement: per run, 4 bytes × (4 × the parameters (the weights, their
//! gradients and Adam's two moments) + 2 × batch × the activations kept per sample (each
//! layer's output, read again by the backward pass, and its gradient)). It counts what the
//! model's arithmetic needs, not an allocator's pools or a kernel's workspace; hence the margin
//! of [`AUTO_MEMORY_BYTES`] under a GPU's memory.

use burn::module::Module;
use burn::prelude::*;

use crate::run::backbone::{Backbone, ShapeError};
use crate::run::config::{ModelKind, ModelSection};

/// The device memory one group of `--pack auto` may take, by [`run_bytes`]' estimate: 24 GiB,
/// a third of the smallest GPU this is meant for (an 80 GB H100), for what the estimate leaves
/// out.
pub const AUTO_MEMORY_BYTES: u64 = 24 << 30;

/// The activations a training step keeps per sample of `shape` for `model`, with `classes`
/// outputs: each layer's output, its batch norm's and its ReLU's.
///
/// # Errors
/// A model that does not fit the shape.
pub fn activations_per_sample(
    model: &ModelSection,
    shape: &[usize],
    classes: usize,
) -> Result<u64, ShapeError> {
    Backbone::check_input(model.kind, shape)?;
    let maps = |channels: usize, h: usize, w: usize| (channels * h * w) as u64;
    let features = match (model.kind, shape) {
        // A linear layer's output, its ReLU's and its dropout's.
        (ModelKind::Mlp, _) => 3 * model.hidden.iter().map(|&h| h as u64).sum::<u64>(),
        // Two blocks of convolution, batch norm and ReLU (32 then 64 channels), each pooled
        // 2×2, then the dense layer of 128.
        (ModelKind::Cnn, &[_, h, w]) => {
            3 * maps(32, h, w)
                + maps(32, h / 2, w / 2)
                + 3 * maps(64, h / 2, w / 2)
                + maps(64, h / 4, w / 4)
                + 3 * 128
        }
        // The stem (convolution, batch norm, ReLU) at 16 channels, then three stages of five
        // blocks (16, 32, 64 channels, each stage at half the last one's resolution), a block
        // two of convolution, batch norm and ReLU plus its sum: 35 maps a stage.
        (ModelKind::Resnet32, &[_, h, w]) => {
            3 * maps(16, h, w)
                + (0..3)
                    .map(|stage| 35 * maps(16 << stage, h >> stage, w >> stage))
                    .sum::<u64>()
                + 64
        }
        _ => 0,
    };
    Ok(features + classes as u64)
}

/// The estimated device memory, in bytes, of one run of `model` for samples of `shape` with
/// `classes` outputs at `batch_size` while it trains (see the module's docs).
///
/// # Errors
/// A model that does not fit the shape.
pub fn run_bytes(
    model: &ModelSection,
    shape: &[usize],
    classes: usize,
    batch_size: usize,
) -> Result<u64, ShapeError> {
    // Built on the CPU, its parameters still lazy: counting them draws nothing.
    let (backbone, width) = Backbone::new(model, shape, &Device::flex())?;
    let params = (backbone.num_params() + width * classes + classes) as u64;
    let activations = activations_per_sample(model, shape, classes)?;
    Ok(4 * (4 * params + 2 * batch_size as u64 * activations))
}

/// How many runs of `run_bytes` each fit in `budget` bytes: at least one.
pub fn runs_within(budget: u64, run_bytes: u64) -> usize {
    usize::try_from(budget / run_bytes.max(1))
        .unwrap_or(usize::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(kind: ModelKind) -> ModelSection {
        ModelSection {
            kind,
            ..ModelSection::default()
        }
    }

    /// The counts by hand: the default MLP (two hidden layers of 64 on 20 features), the CNN
    /// on 28×28 and ResNet-32 on CIFAR's 32×32, 10 classes.
    #[test]
    fn activations_and_bytes_by_hand() {
        let mlp = ModelSection {
            hidden: vec![64, 64],
            ..section(ModelKind::Mlp)
        };
        assert_eq!(
            activations_per_sample(&mlp, &[20], 10).unwrap(),
            3 * 128 + 10
        );
        // 3·32·28·28 + 32·14·14 + 3·64·14·14 + 64·7·7 + 3·128 + 10
        let cnn = activations_per_sample(&section(ModelKind::Cnn), &[1, 28, 28], 10).unwrap();
        assert_eq!(cnn, 75_264 + 6_272 + 37_632 + 3_136 + 384 + 10);
        // 3·16·32·32 + 35·(16·32·32 + 32·16·16 + 64·8·8) + 64 + 10
        let resnet =
            activations_per_sample(&section(ModelKind::Resnet32), &[3, 32, 32], 10).unwrap();
        assert_eq!(resnet, 49_152 + 35 * (16_384 + 8_192 + 4_096) + 74);
        // ResNet-32 for CIFAR-10 has 0.46 M parameters (He et al., 2016, Table 6).
        let bytes = run_bytes(&section(ModelKind::Resnet32), &[3, 32, 32], 10, 128).unwrap();
        let params = (bytes - 4 * 2 * 128 * resnet) / 16;
        assert!((460_000..470_000).contains(&params), "{params}");
        // About 1.09 GB a run at batch 128: 23 fit in AUTO_MEMORY_BYTES (25.8 GB).
        assert_eq!(runs_within(AUTO_MEMORY_BYTES, bytes), 23);
        assert_eq!(runs_within(AUTO_MEMORY_BYTES, u64::MAX), 1);
        // A wrong shape is the model's error.
        assert!(run_bytes(&section(ModelKind::Resnet32), &[3, 28, 28], 10, 8).is_err());
    }
}
