//! Sigmoid (one-vs-all) focal loss.

use burn::prelude::*;

use crate::binary_cross_entropy::{
    check_label_weighting, check_sigmoid_vectors, sigmoid_loss_keys,
};
use crate::config::kind::{LossKeys, loss_keys};
use crate::cross_entropy::class_tensor;
use crate::error::check_min;
use crate::sigmoid::SigmoidTerms;
use crate::{LabelWeighting, LossError, PosWeight, Reduction};

/// Configuration of [`SigmoidFocal`], the focal loss of Lin et al., "Focal Loss for Dense
/// Object Detection", ICCV 2017, as torchvision's `sigmoid_focal_loss`, with class weights and
/// `pos_weight`.
///
/// Element loss, for logit `z` and target `y` in `[0, 1]`:
/// `e = α_t · (1 - p_t)^γ · BCE(z, y)` with `p = σ(z)`, `p_t = p·y + (1 - p)(1 - y)`,
/// `α_t = α·y + (1 - α)(1 - y)`, and `BCE` as in
/// [`WeightedBinaryCrossEntropyConfig`](crate::WeightedBinaryCrossEntropyConfig).
/// The modulator is computed as `exp(-γ·(y·z + softplus(-z)))`, so a hard example with
/// `z = -100, y = 1` keeps its weight 1 (the official TensorFlow code of Cui et al. and its
/// PyTorch ports overflow to 0 there), and `γ < 1` has no NaN gradient. Per-sample loss and
/// weights as in the BCE: `l_n = s_n · Σ_c e_{n,c}`, or `Σ_c w_c·e_{n,c}` under
/// `label_weighting = per-label` (see [`LabelWeighting`]). torchvision's `reduction="mean"` (over
/// all `N·C` elements) is `forward_elementwise(..).mean()`.
#[derive(Config, Debug)]
pub struct SigmoidFocalConfig {
    /// Focusing parameter `γ`, finite and `>= 0`. Default 2.
    #[config(default = 2.0)]
    pub gamma: f64,
    /// Balance `α` of positives against negatives, in `[0, 1]`; a negative value disables it
    /// (`α_t = 1`), as in torchvision. Default 0.25 (Lin et al.).
    #[config(default = 0.25)]
    pub alpha: f64,
    /// Per-class weights `w_c`, finite and `>= 0`, one per class. Default `None`: unweighted.
    pub weights: Option<Vec<f64>>,
    /// Per-class weight of the positive term, finite and `>= 0`. Default `None`: 1.
    pub pos_weight: Option<Vec<f64>>,
    /// How the class weights weigh a multi-hot row. Default `positive-sum`.
    #[config(default = "LabelWeighting::PositiveSum")]
    pub label_weighting: LabelWeighting,
    /// Under `positive-sum` with class weights, the sample weight of a row with no positive
    /// label, finite and `>= 0`: offer a weight for such rows. Default 0: they drop out.
    #[config(default = 0.0)]
    pub no_label_weight: f64,
    /// How per-sample losses are reduced. Default `weighted-mean`.
    #[config(default = "Reduction::WeightedMean")]
    pub reduction: Reduction,
}

impl SigmoidFocalConfig {
    /// Checks the parameters that need neither the class counts nor a device; [`init`](Self::init)
    /// runs these checks too.
    ///
    /// # Errors
    /// As [`init`](Self::init), for those parameters.
    pub fn validate(&self) -> Result<(), LossError> {
        check_min("gamma", self.gamma, 0.0, false, "finite and >= 0")?;
        if !(self.alpha.is_finite() && self.alpha <= 1.0) {
            return Err(LossError::InvalidParameter {
                name: "alpha",
                value: self.alpha.to_string(),
                expected: "in [0, 1], or negative to disable it",
            });
        }
        check_label_weighting(self.label_weighting, self.no_label_weight)?;
        check_sigmoid_vectors(self.weights.as_deref(), self.pos_weight.as_deref())
    }

    /// Builds the loss, with its tensors on `device`.
    ///
    /// # Errors
    /// `gamma` negative or not finite, `alpha` above 1 or not finite, a weight or
    /// `pos_weight` that is negative or not finite; `no_label_weight` negative or not finite,
    /// or not 0 with `per-label`.
    pub fn init(&self, device: &Device) -> Result<SigmoidFocal, LossError> {
        self.validate()?;
        Ok(SigmoidFocal {
            weights: self.weights.as_deref().map(|w| class_tensor(w, device)),
            pos_weight: self.pos_weight.as_deref().map(|w| class_tensor(w, device)),
            gamma: self.gamma,
            alpha: (self.alpha >= 0.0).then_some(self.alpha),
            label_weighting: self.label_weighting,
            no_label_weight: self.no_label_weight,
            reduction: self.reduction,
        })
    }
}

loss_keys! {
    /// `kind = "sigmoid-focal"` in a config file: the keys of [`SigmoidFocal`], each defaulting to
    /// [`SigmoidFocalConfig`]'s. Takes multi-hot targets.
    #[serde(default, deny_unknown_fields)]
    pub struct SigmoidFocalKeys: SigmoidFocalConfig::new(), weights {
        /// Focusing parameter `γ`, finite and `>= 0`.
        gamma: f64 => with_gamma,
        /// Positive/negative balance in `[0, 1]`, negative to disable it.
        alpha: f64 => with_alpha,
        /// Per-class weight of the positive terms: values, or `balanced` from the counts.
        pos_weight: Option<PosWeight> = |config| config.pos_weight.clone().map(PosWeight::Values),
        /// How class weights weigh a multi-hot row.
        label_weighting: LabelWeighting => with_label_weighting,
        /// Under `positive-sum`, the weight of a row without a positive label.
        no_label_weight: f64 => with_no_label_weight,
    }
}

impl LossKeys for SigmoidFocalKeys {
    sigmoid_loss_keys!();
}

/// Sigmoid focal loss, built by [`SigmoidFocalConfig::init`].
#[derive(Module, Debug)]
pub struct SigmoidFocal {
    weights: Option<Tensor<1>>,
    pos_weight: Option<Tensor<1>>,
    gamma: f64,
    alpha: Option<f64>,
    #[module(skip)]
    label_weighting: LabelWeighting,
    no_label_weight: f64,
    #[module(skip)]
    reduction: Reduction,
}

impl SigmoidFocal {
    pub(crate) fn terms(&self) -> SigmoidTerms<'_> {
        SigmoidTerms {
            weights: self.weights.as_ref(),
            pos_weight: self.pos_weight.as_ref(),
            alpha: self.alpha,
            gamma: self.gamma,
            label_weighting: self.label_weighting,
            no_label_weight: self.no_label_weight,
        }
    }

    crate::sigmoid::sigmoid_forwards!();
}
