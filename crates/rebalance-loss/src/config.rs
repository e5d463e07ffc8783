//! Picking a loss from a config file: [`LossConfig`] and the [`ImbalanceLoss`] module.

use burn::prelude::*;
use rebalance_weights::{
    ClassCounts, ClassWeights, Normalization, Scheme, WeightSchedule, WeightsConfig,
    ZeroCountPolicy,
};
use serde::{Deserialize, Serialize};

use crate::error::check_class_values;
use crate::{
    BalancedSoftmax, BalancedSoftmaxConfig, ClassBalanced, ClassBalancedBase, ClassBalancedConfig,
    Focal, FocalConfig, Ldam, LdamConfig, LogitAdjusted, LogitAdjustedConfig, LossError, Reduction,
    SigmoidFocal, SigmoidFocalConfig, WeightedBinaryCrossEntropy, WeightedBinaryCrossEntropyConfig,
    WeightedCrossEntropy, WeightedCrossEntropyConfig,
};

/// Class weights computed from the training counts, optionally deferred (DRW).
///
/// In TOML: `weights = { scheme = "ens:0.9999", normalization = "sum-to-classes",
/// zero_count = "error", start_epoch = 160 }`; all keys but `scheme` are optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassWeighting {
    /// How counts become weights.
    pub scheme: Scheme,
    /// How the weights are scaled. Default `sum-to-classes`.
    #[serde(default)]
    pub normalization: Normalization,
    /// What empty classes get. Default `error`.
    #[serde(default)]
    pub zero_count: ZeroCountPolicy,
    /// First epoch (counted from 0) with these weights; before it the weights are uniform
    /// (deferred re-weighting, Cao et al., NeurIPS 2019). Default 0: from the start.
    #[serde(default)]
    pub start_epoch: usize,
}

impl ClassWeighting {
    /// Weights from the start, with the default normalization and zero-count policy.
    pub fn new(scheme: Scheme) -> Self {
        Self {
            scheme,
            normalization: Normalization::default(),
            zero_count: ZeroCountPolicy::default(),
            start_epoch: 0,
        }
    }

    /// The schedule of weights for `counts`.
    ///
    /// # Errors
    /// As [`WeightsConfig::compute`].
    pub fn schedule(&self, counts: &ClassCounts) -> Result<WeightSchedule, LossError> {
        let weights = WeightsConfig::new(self.scheme.clone())
            .with_normalization(self.normalization)
            .with_zero_count(self.zero_count)
            .compute(counts)?;
        Ok(WeightSchedule::deferred(self.start_epoch, weights))
    }
}

fn default_gamma() -> f64 {
    2.0
}
fn default_alpha() -> f64 {
    0.25
}
fn default_beta() -> f64 {
    0.9999
}
fn default_max_margin() -> f64 {
    0.5
}
fn default_scale() -> f64 {
    30.0
}
fn default_tau() -> f64 {
    1.0
}
fn mean() -> Reduction {
    Reduction::Mean
}

/// Any loss of this crate, as a config file names it (`kind = "..."`), with class weights
/// given as a scheme to compute from the training counts.
///
/// ```
/// use burn::prelude::*;
/// use rebalance_loss::LossConfig;
/// use rebalance_weights::ClassCounts;
///
/// let config: LossConfig = toml::from_str(r#"
///     kind = "ldam"
///     max_margin = 0.5
///     scale = 30
///     weights = { scheme = "ens:0.9999", start_epoch = 160 }
/// "#).unwrap();
/// let counts = ClassCounts::from_counts(vec![5000, 500, 50])?;
/// let device = Device::flex();
/// let before = config.init(&counts, &device)?;            // epoch 0: uniform weights
/// assert!(config.weights_change_at(160));
/// let after = config.init_for_epoch(&counts, 160, &device)?; // re-weighted
/// # let _ = (before, after);
/// # Ok::<(), rebalance_loss::LossError>(())
/// ```
///
/// Every field but `kind` has a default (those of the matching `*Config`); unknown keys are
/// errors. `reduction` is `weighted-mean` except for `class-balanced` (`mean`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LossConfig {
    /// [`WeightedCrossEntropy`].
    CrossEntropy {
        /// Class weights; none for the plain loss.
        #[serde(default)]
        weights: Option<ClassWeighting>,
        /// Label smoothing in `[0, 1]`.
        #[serde(default)]
        smoothing: f64,
        /// Target index excluded from the loss.
        #[serde(default)]
        ignore_index: Option<usize>,
        /// Reduction.
        #[serde(default)]
        reduction: Reduction,
    },
    /// [`Focal`] (softmax).
    Focal {
        /// Focusing parameter `γ >= 0`.
        #[serde(default = "default_gamma")]
        gamma: f64,
        /// Class weights.
        #[serde(default)]
        weights: Option<ClassWeighting>,
        /// Reduction.
        #[serde(default)]
        reduction: Reduction,
    },
    /// [`WeightedBinaryCrossEntropy`] (one-vs-all sigmoid).
    Sigmoid {
        /// Class weights.
        #[serde(default)]
        weights: Option<ClassWeighting>,
        /// Per-class weight of positive terms.
        #[serde(default)]
        pos_weight: Option<Vec<f64>>,
        /// Reduction.
        #[serde(default)]
        reduction: Reduction,
    },
    /// [`SigmoidFocal`].
    SigmoidFocal {
        /// Focusing parameter `γ >= 0`.
        #[serde(default = "default_gamma")]
        gamma: f64,
        /// Positive/negative balance in `[0, 1]`, negative to disable.
        #[serde(default = "default_alpha")]
        alpha: f64,
        /// Class weights.
        #[serde(default)]
        weights: Option<ClassWeighting>,
        /// Per-class weight of positive terms.
        #[serde(default)]
        pos_weight: Option<Vec<f64>>,
        /// Reduction.
        #[serde(default)]
        reduction: Reduction,
    },
    /// [`ClassBalanced`] (Cui et al.): effective-number weights on a base loss.
    ClassBalanced {
        /// `β` in `[0, 1)`.
        #[serde(default = "default_beta")]
        beta: f64,
        /// Base loss.
        #[serde(default)]
        base: ClassBalancedBase,
        /// Focusing parameter of the focal base.
        #[serde(default = "default_gamma")]
        gamma: f64,
        /// Reduction; default `mean`.
        #[serde(default = "mean")]
        reduction: Reduction,
    },
    /// [`Ldam`], with optional (deferred) class weights: LDAM-DRW.
    Ldam {
        /// Largest margin, `> 0`.
        #[serde(default = "default_max_margin")]
        max_margin: f64,
        /// Logit scale, `> 0`.
        #[serde(default = "default_scale")]
        scale: f64,
        /// Class weights (DRW with `start_epoch`).
        #[serde(default)]
        weights: Option<ClassWeighting>,
        /// Reduction.
        #[serde(default)]
        reduction: Reduction,
    },
    /// [`LogitAdjusted`].
    LogitAdjusted {
        /// Temperature `τ`.
        #[serde(default = "default_tau")]
        tau: f64,
        /// Class weights.
        #[serde(default)]
        weights: Option<ClassWeighting>,
        /// Reduction.
        #[serde(default)]
        reduction: Reduction,
    },
    /// [`BalancedSoftmax`].
    BalancedSoftmax {
        /// Class weights.
        #[serde(default)]
        weights: Option<ClassWeighting>,
        /// Reduction.
        #[serde(default)]
        reduction: Reduction,
    },
}

impl LossConfig {
    /// The `kind` name (`"ldam"`).
    pub fn name(&self) -> &'static str {
        match self {
            LossConfig::CrossEntropy { .. } => "cross-entropy",
            LossConfig::Focal { .. } => "focal",
            LossConfig::Sigmoid { .. } => "sigmoid",
            LossConfig::SigmoidFocal { .. } => "sigmoid-focal",
            LossConfig::ClassBalanced { .. } => "class-balanced",
            LossConfig::Ldam { .. } => "ldam",
            LossConfig::LogitAdjusted { .. } => "logit-adjusted",
            LossConfig::BalancedSoftmax { .. } => "balanced-softmax",
        }
    }

    fn weighting(&self) -> Option<&ClassWeighting> {
        match self {
            LossConfig::CrossEntropy { weights, .. }
            | LossConfig::Focal { weights, .. }
            | LossConfig::Sigmoid { weights, .. }
            | LossConfig::SigmoidFocal { weights, .. }
            | LossConfig::Ldam { weights, .. }
            | LossConfig::LogitAdjusted { weights, .. }
            | LossConfig::BalancedSoftmax { weights, .. } => weights.as_ref(),
            LossConfig::ClassBalanced { .. } => None,
        }
    }

    /// Whether the class weights at `epoch` differ from those of the epoch before, so the
    /// loss must be rebuilt with [`init_for_epoch`](Self::init_for_epoch) (the DRW switch).
    pub fn weights_change_at(&self, epoch: usize) -> bool {
        self.weighting()
            .is_some_and(|w| epoch > 0 && epoch == w.start_epoch)
    }

    /// The loss for the first epoch (epoch 0). Same as `init_for_epoch(counts, 0, device)`.
    ///
    /// # Errors
    /// As [`init_for_epoch`](Self::init_for_epoch).
    pub fn init(&self, counts: &ClassCounts, device: &Device) -> Result<ImbalanceLoss, LossError> {
        self.init_for_epoch(counts, 0, device)
    }

    /// The loss for `epoch` (counted from 0), with the class weights in force then.
    ///
    /// # Errors
    /// Any parameter out of range, a class without samples (unless the weighting's
    /// zero-count policy allows it), a `pos_weight` of the wrong length; the message names
    /// the value.
    pub fn init_for_epoch(
        &self,
        counts: &ClassCounts,
        epoch: usize,
        device: &Device,
    ) -> Result<ImbalanceLoss, LossError> {
        let weights: Option<Vec<f64>> = match self.weighting() {
            Some(weighting) => {
                let schedule = weighting.schedule(counts)?;
                Some(schedule.weights_at(epoch).as_slice().to_vec())
            }
            None => None,
        };
        let counts_vec = counts.as_slice().to_vec();
        let check_pos_weight = |pos_weight: &Option<Vec<f64>>| match pos_weight {
            Some(pw) => check_class_values("pos_weight", pw, Some(counts.num_classes())),
            None => Ok(()),
        };
        Ok(match self {
            LossConfig::CrossEntropy {
                smoothing,
                ignore_index,
                reduction,
                ..
            } => ImbalanceLoss::CrossEntropy(
                WeightedCrossEntropyConfig::new()
                    .with_weights(weights)
                    .with_smoothing(*smoothing)
                    .with_ignore_index(*ignore_index)
                    .with_reduction(*reduction)
                    .init(device)?,
            ),
            LossConfig::Focal {
                gamma, reduction, ..
            } => ImbalanceLoss::Focal(
                FocalConfig::new()
                    .with_gamma(*gamma)
                    .with_weights(weights)
                    .with_reduction(*reduction)
                    .init(device)?,
            ),
            LossConfig::Sigmoid {
                pos_weight,
                reduction,
                ..
            } => {
                check_pos_weight(pos_weight)?;
                ImbalanceLoss::Sigmoid(
                    WeightedBinaryCrossEntropyConfig::new()
                        .with_weights(weights)
                        .with_pos_weight(pos_weight.clone())
                        .with_reduction(*reduction)
                        .init(device)?,
                )
            }
            LossConfig::SigmoidFocal {
                gamma,
                alpha,
                pos_weight,
                reduction,
                ..
            } => {
                check_pos_weight(pos_weight)?;
                ImbalanceLoss::SigmoidFocal(
                    SigmoidFocalConfig::new()
                        .with_gamma(*gamma)
                        .with_alpha(*alpha)
                        .with_weights(weights)
                        .with_pos_weight(pos_weight.clone())
                        .with_reduction(*reduction)
                        .init(device)?,
                )
            }
            LossConfig::ClassBalanced {
                beta,
                base,
                gamma,
                reduction,
            } => ImbalanceLoss::ClassBalanced(
                ClassBalancedConfig::new(counts_vec)
                    .with_beta(*beta)
                    .with_base(*base)
                    .with_gamma(*gamma)
                    .with_reduction(*reduction)
                    .init(device)?,
            ),
            LossConfig::Ldam {
                max_margin,
                scale,
                reduction,
                ..
            } => ImbalanceLoss::Ldam(
                LdamConfig::new(counts_vec)
                    .with_max_margin(*max_margin)
                    .with_scale(*scale)
                    .with_weights(weights)
                    .with_reduction(*reduction)
                    .init(device)?,
            ),
            LossConfig::LogitAdjusted { tau, reduction, .. } => ImbalanceLoss::LogitAdjusted(
                LogitAdjustedConfig::new(counts_vec)
                    .with_tau(*tau)
                    .with_weights(weights)
                    .with_reduction(*reduction)
                    .init(device)?,
            ),
            LossConfig::BalancedSoftmax { reduction, .. } => ImbalanceLoss::BalancedSoftmax(
                BalancedSoftmaxConfig::new(counts_vec)
                    .with_weights(weights)
                    .with_reduction(*reduction)
                    .init(device)?,
            ),
        })
    }

    /// The class weights in force at `epoch`, if the loss has any (for reports).
    ///
    /// # Errors
    /// As [`init_for_epoch`](Self::init_for_epoch).
    pub fn class_weights_at(
        &self,
        counts: &ClassCounts,
        epoch: usize,
    ) -> Result<Option<ClassWeights>, LossError> {
        match self {
            LossConfig::ClassBalanced { beta, .. } => {
                Ok(Some(Scheme::Ens { beta: *beta }.weights(counts)?))
            }
            _ => match self.weighting() {
                Some(weighting) => Ok(Some(weighting.schedule(counts)?.weights_at(epoch).clone())),
                None => Ok(None),
            },
        }
    }
}

/// Any loss of this crate behind one `forward`, built by [`LossConfig::init`]. A Burn module:
/// keep it as a field of your model and its tensors follow the model's device.
#[derive(Module, Debug)]
pub enum ImbalanceLoss {
    /// Weighted softmax cross-entropy.
    CrossEntropy(WeightedCrossEntropy),
    /// Softmax focal loss.
    Focal(Focal),
    /// One-vs-all sigmoid cross-entropy.
    Sigmoid(WeightedBinaryCrossEntropy),
    /// Sigmoid focal loss.
    SigmoidFocal(SigmoidFocal),
    /// Class-balanced loss.
    ClassBalanced(ClassBalanced),
    /// LDAM loss.
    Ldam(Ldam),
    /// Logit-adjusted loss.
    LogitAdjusted(LogitAdjusted),
    /// Balanced Softmax.
    BalancedSoftmax(BalancedSoftmax),
}

impl ImbalanceLoss {
    /// Same as [`LossConfig::init`].
    ///
    /// # Errors
    /// As [`LossConfig::init_for_epoch`].
    pub fn new(
        config: &LossConfig,
        counts: &ClassCounts,
        device: &Device,
    ) -> Result<Self, LossError> {
        config.init(counts, device)
    }

    /// The loss reduced as configured: shape `[1]`, or `[B]` for reduction `none`.
    ///
    /// # Shapes
    /// - logits: `[batch_size, num_classes]`
    /// - targets: `[batch_size]`, class indices in `0..num_classes`
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        match self {
            ImbalanceLoss::CrossEntropy(loss) => loss.forward(logits, targets),
            ImbalanceLoss::Focal(loss) => loss.forward(logits, targets),
            ImbalanceLoss::Sigmoid(loss) => loss.forward(logits, targets),
            ImbalanceLoss::SigmoidFocal(loss) => loss.forward(logits, targets),
            ImbalanceLoss::ClassBalanced(loss) => loss.forward(logits, targets),
            ImbalanceLoss::Ldam(loss) => loss.forward(logits, targets),
            ImbalanceLoss::LogitAdjusted(loss) => loss.forward(logits, targets),
            ImbalanceLoss::BalancedSoftmax(loss) => loss.forward(logits, targets),
        }
    }

    /// The per-sample losses, already weighted, shape `[batch_size]`.
    pub fn forward_no_reduction(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        match self {
            ImbalanceLoss::CrossEntropy(loss) => loss.forward_no_reduction(logits, targets),
            ImbalanceLoss::Focal(loss) => loss.forward_no_reduction(logits, targets),
            ImbalanceLoss::Sigmoid(loss) => loss.forward_no_reduction(logits, targets),
            ImbalanceLoss::SigmoidFocal(loss) => loss.forward_no_reduction(logits, targets),
            ImbalanceLoss::ClassBalanced(loss) => loss.forward_no_reduction(logits, targets),
            ImbalanceLoss::Ldam(loss) => loss.forward_no_reduction(logits, targets),
            ImbalanceLoss::LogitAdjusted(loss) => loss.forward_no_reduction(logits, targets),
            ImbalanceLoss::BalancedSoftmax(loss) => loss.forward_no_reduction(logits, targets),
        }
    }
}
