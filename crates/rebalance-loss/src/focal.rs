//! Softmax (multi-class) focal loss.

use burn::prelude::*;

use crate::config::kind::{LossKeys, loss_keys, through_config};
use crate::cross_entropy::{RowLogSoftmax, class_tensor};
use crate::error::{check_min, check_weights};
use crate::reduction::PerSample;
use crate::{LossError, Reduction};

/// Configuration of [`Focal`], the multi-class (softmax) focal loss.
///
/// `l_n = -w_{y_n} · (1 - p_{n,y_n})^γ · log p_{n,y_n}` with `p_n = softmax(z_n)`
/// (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017, applied to the softmax as
/// in its multi-class form). `γ = 0` is weighted cross-entropy.
///
/// `log p` comes from `log_softmax`; the modulator is `(1 - p_y)^γ` with `p_y = exp(log p_y)`,
/// as PyTorch implementations compute it, so the only work beyond cross-entropy is on `[B]`
/// vectors. `1 - p_y` is floored at the smallest normal `f32`, so the gradient stays finite
/// for every `γ >= 0` even where `p_y` rounds to 1 (where `(1 - p)^γ` has an infinite slope
/// for `γ < 1`); there the loss and its gradient are 0, as they tend to. Needs `C >= 2`.
#[derive(Config, Debug)]
pub struct FocalConfig {
    /// Focusing parameter `γ`, finite and `>= 0`. Default 2 (Lin et al.).
    #[config(default = 2.0)]
    pub gamma: f64,
    /// Per-class weights `w_c` (the `α` of the paper, per class), finite and `>= 0`, one per
    /// class. Default `None`: unweighted.
    pub weights: Option<Vec<f64>>,
    /// How per-sample losses are reduced. Default `weighted-mean`.
    #[config(default = "Reduction::WeightedMean")]
    pub reduction: Reduction,
}

impl FocalConfig {
    /// Checks the parameters that need neither the class counts nor a device; [`init`](Self::init)
    /// runs these checks too.
    ///
    /// # Errors
    /// As [`init`](Self::init), for those parameters.
    pub fn validate(&self) -> Result<(), LossError> {
        check_min("gamma", self.gamma, 0.0, false, "finite and >= 0")?;
        check_weights(self.weights.as_deref(), None)
    }

    /// Builds the loss, with its weight tensor on `device`.
    ///
    /// # Errors
    /// `gamma` negative or not finite, or a weight that is negative or not finite.
    pub fn init(&self, device: &Device) -> Result<Focal, LossError> {
        self.validate()?;
        Ok(Focal {
            weights: self.weights.as_deref().map(|w| class_tensor(w, device)),
            gamma: self.gamma,
            reduction: self.reduction,
        })
    }
}

loss_keys! {
    /// `kind = "focal"` in a config file: the keys of [`Focal`], each defaulting to
    /// [`FocalConfig`]'s.
    #[serde(default, deny_unknown_fields)]
    pub struct FocalKeys: FocalConfig::new(), weights {
        /// Focusing parameter `γ`, finite and `>= 0`.
        gamma: f64 => with_gamma,
    }
}

impl LossKeys for FocalKeys {
    through_config!(weighted);
}

/// Multi-class focal loss, built by [`FocalConfig::init`].
#[derive(Module, Debug)]
pub struct Focal {
    pub(crate) weights: Option<Tensor<1>>,
    pub(crate) gamma: f64,
    #[module(skip)]
    reduction: Reduction,
}

crate::reduction::row_forwards!(Focal, "`num_classes >= 2`.");

impl Focal {
    fn per_sample(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> PerSample {
        let log_p = RowLogSoftmax::new(logits, None).at(targets.clone());
        let mut loss = log_p.clone().neg();
        if self.gamma > 0.0 {
            let modulator = log_p
                .exp()
                .neg()
                .add_scalar(1.0)
                .clamp_min(f32::MIN_POSITIVE)
                .powf_scalar(self.gamma);
            loss = loss * modulator;
        }
        PerSample::class_weighted(loss, self.weights.as_ref(), targets)
    }
}
