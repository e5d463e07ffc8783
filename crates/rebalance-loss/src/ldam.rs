//! Label-distribution-aware margin loss (Cao et al., NeurIPS 2019).

use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;

/// The largest logit scale `s` [`LdamConfig::validate`] accepts.
const MAX_SCALE: f64 = 1000.0;

use crate::config::kind::{LossKeys, loss_keys, through_config};
use crate::cross_entropy::{RowLogSoftmax, class_tensor};
use crate::error::{check_min, check_weights, counts_of_every_class};
use crate::{LossError, Reduction};

/// Configuration of [`Ldam`], the label-distribution-aware margin loss of Cao et al.,
/// "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss", NeurIPS 2019.
///
/// Class `c` gets the margin `m_c = max_m · n_c^{-1/4} / max_j n_j^{-1/4}` (the rarest class
/// gets `max_m`), and `L = CE(s · (z - m_y · onehot(y)), y)` with optional class weights
/// `w`: the target logit is lowered by its class's margin before a scaled softmax. Meant for
/// cosine logits in `[-1, 1]` (a [`NormedLinear`](crate::NormedLinear) classifier), hence the
/// scale `s`. With deferred re-weighting (DRW), the weights are uniform for the first epochs
/// and class-balanced afterwards (Cao et al. use [`Scheme::Ens`](rebalance_weights::Scheme)
/// with β = 0.9999 from epoch 160 of 200); see [`LossConfig`](crate::LossConfig).
#[derive(Config, Debug)]
pub struct LdamConfig {
    /// Training samples per class; every class needs at least one.
    pub counts: Vec<u64>,
    /// The largest margin `max_m`, `> 0`. Default 0.5.
    #[config(default = 0.5)]
    pub max_margin: f64,
    /// Logit scale `s`, in `(0, 1000]`. Default 30.
    #[config(default = 30.0)]
    pub scale: f64,
    /// Per-class weights (the DRW phase), finite and `>= 0`, one per class. Default `None`.
    pub weights: Option<Vec<f64>>,
    /// How per-sample losses are reduced. Default `weighted-mean` (PyTorch's, as in the
    /// paper's code).
    #[config(default = "Reduction::WeightedMean")]
    pub reduction: Reduction,
}

impl LdamConfig {
    /// The margins `m_c`.
    ///
    /// # Errors
    /// As [`init`](Self::init).
    pub fn margins(&self) -> Result<Vec<f64>, LossError> {
        check_min("max_margin", self.max_margin, 0.0, true, "finite and > 0")?;
        let counts = counts_of_every_class(&self.counts)?;
        let raw: Vec<f64> = counts
            .as_slice()
            .iter()
            .map(|&n| (n as f64).powf(-0.25))
            .collect();
        let largest = raw.iter().copied().fold(0.0, f64::max);
        Ok(raw.iter().map(|m| self.max_margin * m / largest).collect())
    }

    /// Checks the parameters that need neither the class counts nor a device; [`init`](Self::init)
    /// runs these checks too.
    ///
    /// # Errors
    /// As [`init`](Self::init), for those parameters.
    pub fn validate(&self) -> Result<(), LossError> {
        check_min("scale", self.scale, 0.0, true, "finite and > 0")?;
        // The logits are cosines times `s`: far beyond the paper's 30 the softmax saturates
        // (every probability 0 or 1, the gradients vanish) and the model stays untrained.
        if self.scale > MAX_SCALE {
            return Err(LossError::InvalidParameter {
                name: "scale",
                value: crate::error::shown(self.scale),
                expected: "at most 1000 (Cao et al. use 30; a larger scale saturates the \
                           softmax, whose gradients vanish)",
            });
        }
        check_min("max_margin", self.max_margin, 0.0, true, "finite and > 0")?;
        check_weights(self.weights.as_deref(), None)
    }

    /// Builds the loss, with its tensors on `device`.
    ///
    /// # Errors
    /// Empty or all-zero counts, a class with no sample, `max_margin <= 0`, `scale <= 0`, a
    /// weight vector of the wrong length or with a negative or non-finite value.
    pub fn init(&self, device: &Device) -> Result<Ldam, LossError> {
        self.validate()?;
        let margins = self.margins()?;
        check_weights(self.weights.as_deref(), Some(margins.len()))?;
        Ok(Ldam {
            margins: class_tensor(&margins, device),
            scale: self.scale,
            weights: self.weights.as_deref().map(|w| class_tensor(w, device)),
            reduction: self.reduction,
        })
    }
}

loss_keys! {
    /// `kind = "ldam"` in a config file: the keys of [`Ldam`], each defaulting to
    /// [`LdamConfig`]'s. With class weights from
    /// `drw_start_epoch` on, LDAM-DRW.
    #[serde(default, deny_unknown_fields)]
    pub struct LdamKeys: LdamConfig::new(counts), weights {
        /// The largest margin, finite and `> 0`.
        max_margin: f64 => with_max_margin,
        /// Logit scale, finite and `> 0`.
        scale: f64 => with_scale,
    }
}

impl LossKeys for LdamKeys {
    through_config!(weighted);
}

/// LDAM loss, built by [`LdamConfig::init`].
#[derive(Module, Debug)]
pub struct Ldam {
    pub(crate) margins: Tensor<1>,
    pub(crate) scale: f64,
    pub(crate) weights: Option<Tensor<1>>,
    #[module(skip)]
    reduction: Reduction,
}

crate::reduction::row_forwards!(Ldam);

impl Ldam {
    fn per_sample(
        &self,
        logits: Tensor<2>,
        targets: Tensor<1, Int>,
    ) -> crate::reduction::PerSample {
        let [batch_size, _] = logits.dims();
        // Subtract each row's own margin at its target only: one scatter, not a [B, C]
        // one-hot product.
        let own_margins = self
            .margins
            .clone()
            .gather(0, targets.clone())
            .neg()
            .reshape([batch_size, 1]);
        let adjusted = logits
            .scatter(
                1,
                targets.clone().reshape([batch_size, 1]),
                own_margins,
                IndexingUpdateOp::Add,
            )
            .mul_scalar(self.scale);
        // -log softmax at the target, with the exponent floored at -87 (exp(-87) ≈ 1.6e-38,
        // the smallest normal f32): the scale makes most logits fall far below the largest,
        // where exp underflows and libm takes its slow, errno-setting path. The floor changes
        // the log-sum-exp by less than C · 1.6e-38 relative, below f32's resolution.
        let nll = RowLogSoftmax::new(adjusted, Some(-87.0))
            .at(targets.clone())
            .neg();
        crate::reduction::PerSample::class_weighted(nll, self.weights.as_ref(), targets)
    }
}
