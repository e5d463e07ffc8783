//! Logit-adjusted loss and post-hoc logit adjustment (Menon et al., ICLR 2021).

use burn::prelude::*;

use crate::config::kind::{LossKeys, loss_keys, through_config};
use crate::cross_entropy::{Smoothing, class_tensor, softmax_cross_entropy};
use crate::error::{check_weights, counts_of_every_class};
use crate::reduction::PerSample;
use crate::{LossError, Reduction};

/// Configuration of [`LogitAdjusted`], the logit-adjusted loss of Menon et al., "Long-Tail
/// Learning via Logit Adjustment", ICLR 2021.
///
/// `L = CE(z + τ · log π, y)`, where `π_c = n_c / N` is the training prior: head classes get
/// their logits raised during training, so the model learns to need a larger margin for
/// them. At inference the raw logits `z` are used. `τ = 1` is Fisher-consistent for the
/// balanced error and equals [`BalancedSoftmax`](crate::BalancedSoftmax).
#[derive(Config, Debug)]
pub struct LogitAdjustedConfig {
    /// Training samples per class; every class needs at least one.
    pub counts: Vec<u64>,
    /// Temperature `τ`, finite. Default 1.
    #[config(default = 1.0)]
    pub tau: f64,
    /// Per-class weights, finite and `>= 0`, one per class. Default `None`.
    pub weights: Option<Vec<f64>>,
    /// How per-sample losses are reduced. Default `weighted-mean`.
    #[config(default = "Reduction::WeightedMean")]
    pub reduction: Reduction,
}

impl LogitAdjustedConfig {
    /// Checks the parameters that need neither the class counts nor a device; [`init`](Self::init)
    /// runs these checks too.
    ///
    /// # Errors
    /// As [`init`](Self::init), for those parameters.
    pub fn validate(&self) -> Result<(), LossError> {
        check_tau(self.tau)?;
        check_weights(self.weights.as_deref(), None)
    }

    /// Builds the loss, with its tensors on `device`.
    ///
    /// # Errors
    /// Empty or all-zero counts, a class with no sample, `τ` not finite, a weight vector of
    /// the wrong length or with a negative or non-finite value.
    pub fn init(&self, device: &Device) -> Result<LogitAdjusted, LossError> {
        let shift = scaled_log_prior(&self.counts, self.tau)?;
        check_weights(self.weights.as_deref(), Some(shift.len()))?;
        Ok(LogitAdjusted {
            shift: class_tensor(&shift, device),
            weights: self.weights.as_deref().map(|w| class_tensor(w, device)),
            reduction: self.reduction,
        })
    }
}

/// `τ · log(n_c / N)` for every class.
pub(crate) fn scaled_log_prior(counts: &[u64], tau: f64) -> Result<Vec<f64>, LossError> {
    check_tau(tau)?;
    let counts = counts_of_every_class(counts)?;
    let log_total = (counts.total() as f64).ln();
    Ok(counts
        .as_slice()
        .iter()
        .map(|&n| tau * ((n as f64).ln() - log_total))
        .collect())
}

pub(crate) fn check_tau(tau: f64) -> Result<(), LossError> {
    if tau.is_finite() {
        Ok(())
    } else {
        Err(LossError::InvalidParameter {
            name: "tau",
            value: tau.to_string(),
            expected: "finite",
        })
    }
}

loss_keys! {
    /// `kind = "logit-adjusted"` in a config file: the keys of [`LogitAdjusted`], each defaulting to
    /// [`LogitAdjustedConfig`]'s.
    #[serde(default, deny_unknown_fields)]
    pub struct LogitAdjustedKeys: LogitAdjustedConfig::new(counts), weights {
        /// Temperature `τ`, finite.
        tau: f64 => with_tau,
    }
}

impl LossKeys for LogitAdjustedKeys {
    through_config!(weighted);
}

/// Logit-adjusted softmax cross-entropy, built by [`LogitAdjustedConfig::init`].
#[derive(Module, Debug)]
pub struct LogitAdjusted {
    pub(crate) shift: Tensor<1>,
    pub(crate) weights: Option<Tensor<1>>,
    #[module(skip)]
    reduction: Reduction,
}

crate::reduction::row_forwards!(LogitAdjusted);

impl LogitAdjusted {
    fn per_sample(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> PerSample {
        shifted_cross_entropy(logits, targets, &self.shift, self.weights.as_ref())
    }
}

/// `CE(z + shift, y)` with optional class weights.
pub(crate) fn shifted_cross_entropy(
    logits: Tensor<2>,
    targets: Tensor<1, Int>,
    shift: &Tensor<1>,
    weights: Option<&Tensor<1>>,
) -> PerSample {
    let adjusted = logits + shift.clone().unsqueeze_dim::<2>(0);
    softmax_cross_entropy(adjusted, targets, weights, &Smoothing::Uniform(0.0), None)
}

/// Post-hoc logit adjustment (Menon et al., ICLR 2021, §4): `z - τ · log π`, for a model
/// trained with a plain loss. Its argmax is the Bayes-optimal prediction for the balanced
/// error when `τ = 1` and the model's softmax is calibrated; `τ` is usually tuned on a
/// balanced validation split.
///
/// `counts` are the training counts (the prior `π = n / N`); counts and priors give the same
/// softmax and argmax, as they differ by a constant per row.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::flex();
/// let logits = Tensor::<2>::from_floats([[2.0, 1.5]], &device);
/// // The head class 0 (900 samples) loses its lead over the tail class 1 (100).
/// let adjusted = rebalance_loss::posthoc_adjust(logits, &[900, 100], 1.0)?;
/// let values: Vec<f32> = adjusted.into_data().try_to_vec().unwrap();
/// assert!(values[1] > values[0]);
/// # Ok::<(), rebalance_loss::LossError>(())
/// ```
///
/// # Errors
/// Empty or all-zero counts, a class with no sample, `τ` not finite, a number of counts
/// different from the logits' columns.
pub fn posthoc_adjust(logits: Tensor<2>, counts: &[u64], tau: f64) -> Result<Tensor<2>, LossError> {
    let shift = scaled_log_prior(counts, tau)?;
    let [_, num_classes] = logits.dims();
    if shift.len() != num_classes {
        return Err(LossError::WrongLength {
            name: "counts",
            len: shift.len(),
            num_classes,
        });
    }
    let shift = class_tensor(&shift, &logits.device());
    Ok(logits - shift.unsqueeze_dim::<2>(0))
}
