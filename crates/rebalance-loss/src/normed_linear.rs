//! Cosine classifier layer for LDAM.

use burn::module::Param;
use burn::nn::Initializer;
use burn::prelude::*;

/// Configuration of [`NormedLinear`].
#[derive(Config, Debug)]
pub struct NormedLinearConfig {
    /// Size of each input sample.
    pub d_input: usize,
    /// Number of classes.
    pub d_output: usize,
}

impl NormedLinearConfig {
    /// Builds the layer on `device`, its weight drawn uniformly from `[-1, 1]` (Cao et al.'s
    /// initialisation up to a per-column scale, which the normalization removes).
    pub fn init(&self, device: &Device) -> NormedLinear {
        NormedLinear {
            weight: Initializer::Uniform {
                min: -1.0,
                max: 1.0,
            }
            .init([self.d_input, self.d_output], device),
        }
    }
}

/// A linear classifier on unit vectors: `out = normalize(x) · normalize(W)`, the cosine
/// between each input and each class's weight column, in `[-1, 1]` (the `NormedLinear` of
/// Cao et al., NeurIPS 2019, used with [`Ldam`](crate::Ldam) and its scale `s`).
#[derive(Module, Debug)]
pub struct NormedLinear {
    weight: Param<Tensor<2>>,
}

impl NormedLinear {
    /// # Shapes
    /// - input: `[batch_size, d_input]`
    /// - output: `[batch_size, d_output]`
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        l2_normalize(input, 1).matmul(l2_normalize(self.weight.val(), 0))
    }
}

/// `x / max(‖x‖₂, 1e-12)` along `dim` (PyTorch's `F.normalize`): what [`NormedLinear`]
/// normalises its inputs and class weights with, for a packed cosine head to compute the same.
pub fn l2_normalize<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    let norm = x
        .clone()
        .powf_scalar(2.0)
        .sum_dim(dim)
        .sqrt()
        .clamp_min(1e-12);
    x / norm
}
