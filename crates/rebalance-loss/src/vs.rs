//! Vector-scaling (VS) loss (Kini et al., NeurIPS 2021).

use burn::prelude::*;

use crate::config::kind::{LossKeys, loss_keys, through_config};
use crate::cross_entropy::class_tensor;
use crate::error::{check_min, check_weights, counts_of_every_class};
use crate::logit_adjusted::{check_tau, scaled_log_prior, shifted_cross_entropy};
use crate::reduction::PerSample;
use crate::{LossError, Reduction};

/// Configuration of [`Vs`], the vector-scaling loss of Kini et al., "Label-Imbalanced and
/// Group-Sensitive Classification under Overparameterization", NeurIPS 2021.
///
/// `L = CE(Δ ⊙ z + ι, y)` with `Δ_c = (n_c / n_max)^γ` and `ι_c = τ · log π_c`, where
/// `π_c = n_c / N` is the training prior. The multiplicative `Δ` shrinks the logits of the
/// tail classes during training (a margin that grows with the logit, as LDAM's does not),
/// and the additive `ι` is the logit adjustment of [`LogitAdjusted`](crate::LogitAdjusted).
/// `γ = 0` is the logit-adjusted loss, and `γ = τ = 0` plain cross-entropy. At inference the raw
/// logits `z` are used.
///
/// The defaults are the authors' code's (`VSLoss(cls_num_list, gamma=0.3, tau=1.0)`), whose
/// `x / ((1/n)^γ / min (1/n)^γ)` is this `Δ ⊙ z`.
#[derive(Config, Debug)]
pub struct VsConfig {
    /// Training samples per class; every class needs at least one.
    pub counts: Vec<u64>,
    /// Exponent `γ` of the multiplicative scale, finite and `>= 0`. Default 0.3.
    #[config(default = 0.3)]
    pub gamma: f64,
    /// Temperature `τ` of the additive prior, finite. Default 1.
    #[config(default = 1.0)]
    pub tau: f64,
    /// Per-class weights, finite and `>= 0`, one per class. Default `None`.
    pub weights: Option<Vec<f64>>,
    /// How per-sample losses are reduced. Default `weighted-mean`.
    #[config(default = "Reduction::WeightedMean")]
    pub reduction: Reduction,
}

impl VsConfig {
    /// Checks the parameters that need neither the class counts nor a device; [`init`](Self::init)
    /// runs these checks too.
    ///
    /// # Errors
    /// As [`init`](Self::init), for those parameters.
    pub fn validate(&self) -> Result<(), LossError> {
        check_min("gamma", self.gamma, 0.0, false, "finite and >= 0")?;
        check_tau(self.tau)?;
        check_weights(self.weights.as_deref(), None)
    }

    /// The scales `Δ_c = (n_c / n_max)^γ`.
    ///
    /// # Errors
    /// Empty or all-zero counts, a class with no sample, `γ` negative or not finite.
    pub fn scales(&self) -> Result<Vec<f64>, LossError> {
        check_min("gamma", self.gamma, 0.0, false, "finite and >= 0")?;
        let counts = counts_of_every_class(&self.counts)?;
        let largest = counts.as_slice().iter().copied().max().unwrap_or(1) as f64;
        Ok(counts
            .as_slice()
            .iter()
            .map(|&n| (n as f64 / largest).powf(self.gamma))
            .collect())
    }

    /// Builds the loss, with its tensors on `device`.
    ///
    /// # Errors
    /// Empty or all-zero counts, a class with no sample, `γ` negative or not finite, `τ` not
    /// finite, a weight vector of the wrong length or with a negative or non-finite value.
    pub fn init(&self, device: &Device) -> Result<Vs, LossError> {
        self.validate()?;
        let scales = self.scales()?;
        let shift = scaled_log_prior(&self.counts, self.tau)?;
        check_weights(self.weights.as_deref(), Some(scales.len()))?;
        Ok(Vs {
            scale: class_tensor(&scales, device),
            shift: class_tensor(&shift, device),
            weights: self.weights.as_deref().map(|w| class_tensor(w, device)),
            reduction: self.reduction,
        })
    }
}

loss_keys! {
    /// `kind = "vs"` in a config file: the keys of [`Vs`], each defaulting to
    /// [`VsConfig`]'s.
    #[serde(default, deny_unknown_fields)]
    pub struct VsKeys: VsConfig::new(counts), weights {
        /// Exponent `γ >= 0` of the scale `Δ_c = (n_c / n_max)^γ`.
        gamma: f64 => with_gamma,
        /// Temperature `τ` of the additive prior, finite.
        tau: f64 => with_tau,
    }
}

impl LossKeys for VsKeys {
    through_config!(weighted);
}

/// Vector-scaling loss, built by [`VsConfig::init`].
#[derive(Module, Debug)]
pub struct Vs {
    pub(crate) scale: Tensor<1>,
    pub(crate) shift: Tensor<1>,
    pub(crate) weights: Option<Tensor<1>>,
    #[module(skip)]
    reduction: Reduction,
}

crate::reduction::row_forwards!(Vs);

impl Vs {
    fn per_sample(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> PerSample {
        let scaled = logits * self.scale.clone().unsqueeze_dim::<2>(0);
        shifted_cross_entropy(scaled, targets, &self.shift, self.weights.as_ref())
    }
}
