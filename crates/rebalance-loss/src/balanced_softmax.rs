//! Balanced Softmax (Ren et al., NeurIPS 2020).

use burn::prelude::*;

use crate::config::kind::{LossKeys, loss_keys, through_config};
use crate::cross_entropy::class_tensor;
use crate::error::{check_weights, counts_of_every_class};
use crate::logit_adjusted::shifted_cross_entropy;
use crate::reduction::PerSample;
use crate::{LossError, Reduction};

/// Configuration of [`BalancedSoftmax`], from Ren et al., "Balanced Meta-Softmax for
/// Long-Tailed Visual Recognition", NeurIPS 2020.
///
/// `L = CE(z + log n, y)`: the softmax of the training distribution, `n_c·e^{z_c} / Σ_j
/// n_j·e^{z_j}`, so the model's own softmax estimates the balanced one. It equals the
/// [`LogitAdjusted`](crate::LogitAdjusted) loss with `τ = 1` (`log n` and `log π` differ by
/// a constant, which the softmax cancels).
#[derive(Config, Debug)]
pub struct BalancedSoftmaxConfig {
    /// Training samples per class; every class needs at least one.
    pub counts: Vec<u64>,
    /// Per-class weights, finite and `>= 0`, one per class. Default `None`.
    pub weights: Option<Vec<f64>>,
    /// How per-sample losses are reduced. Default `weighted-mean`.
    #[config(default = "Reduction::WeightedMean")]
    pub reduction: Reduction,
}

impl BalancedSoftmaxConfig {
    /// Checks the parameters that need neither the class counts nor a device; [`init`](Self::init)
    /// runs these checks too.
    ///
    /// # Errors
    /// As [`init`](Self::init), for those parameters.
    pub fn validate(&self) -> Result<(), LossError> {
        check_weights(self.weights.as_deref(), None)
    }

    /// Builds the loss, with its tensors on `device`.
    ///
    /// # Errors
    /// Empty or all-zero counts, a class with no sample, a weight vector of the wrong length
    /// or with a negative or non-finite value.
    pub fn init(&self, device: &Device) -> Result<BalancedSoftmax, LossError> {
        let counts = counts_of_every_class(&self.counts)?;
        check_weights(self.weights.as_deref(), Some(counts.num_classes()))?;
        let log_counts: Vec<f64> = counts.as_slice().iter().map(|&n| (n as f64).ln()).collect();
        Ok(BalancedSoftmax {
            log_counts: class_tensor(&log_counts, device),
            weights: self.weights.as_deref().map(|w| class_tensor(w, device)),
            reduction: self.reduction,
        })
    }
}

loss_keys! {
    /// `kind = "balanced-softmax"` in a config file: the keys of [`BalancedSoftmax`], each
    /// defaulting to [`BalancedSoftmaxConfig`]'s.
    #[serde(default, deny_unknown_fields)]
    pub struct BalancedSoftmaxKeys: BalancedSoftmaxConfig::new(counts), weights {
    }
}

impl LossKeys for BalancedSoftmaxKeys {
    through_config!(weighted);
}

/// Balanced Softmax loss, built by [`BalancedSoftmaxConfig::init`].
#[derive(Module, Debug)]
pub struct BalancedSoftmax {
    pub(crate) log_counts: Tensor<1>,
    pub(crate) weights: Option<Tensor<1>>,
    #[module(skip)]
    reduction: Reduction,
}

crate::reduction::row_forwards!(BalancedSoftmax);

impl BalancedSoftmax {
    fn per_sample(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> PerSample {
        shifted_cross_entropy(logits, targets, &self.log_counts, self.weights.as_ref())
    }
}
