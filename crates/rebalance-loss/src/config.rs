//! Picking a loss from a config file: [`LossConfig`] and the [`ImbalanceLoss`] module.
//!
//! [`LossConfig`] is the one schema of a loss: the `rebalance` binary deserializes its `[loss]`
//! section into it, and a library user can do the same. Its serde form is flat, one key per
//! parameter; every default comes from the loss's own `*Config` (for example
//! [`FocalConfig`]'s `gamma`), so it is written once.

use burn::prelude::*;
use rebalance_weights::{
    ClassCounts, ClassWeights, Normalization, Scheme, WeightSchedule, WeightsConfig,
    ZeroCountPolicy,
};
use serde::{Deserialize, Serialize};
use serde_with::{DeserializeFromStr, SerializeDisplay};

use crate::error::check_class_values;
use crate::flat_config::FlatLoss;
use crate::{
    BalancedSoftmaxConfig, ClassBalancedBase, ClassBalancedConfig, ClassBalancedLoss, FocalConfig,
    ImbalanceLoss, LabelAwareSmoothing, LabelWeighting, LadeConfig, LdamConfig,
    LogitAdjustedConfig, LossError, MultiLabelLoss, PosWeight, Reduction, SigmoidFocalConfig,
    VsConfig, WeightedBinaryCrossEntropyConfig, WeightedCrossEntropyConfig,
};

/// Class weights computed from the training counts, optionally deferred (DRW).
///
/// In a config file these are the flat keys `scheme`, `beta`, `power`, `custom_weights`,
/// `normalize`, `zero_count` and `drw_start_epoch` of [`LossConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClassWeighting {
    /// How counts become weights.
    pub scheme: Scheme,
    /// How the weights are scaled. Default `sum-to-classes`.
    pub normalization: Normalization,
    /// What empty classes get. Default `error`.
    pub zero_count: ZeroCountPolicy,
    /// First epoch (counted from 0) with these weights; before it the weights are uniform
    /// (deferred re-weighting, Cao et al., NeurIPS 2019). Default 0: from the start. A config
    /// file's `drw_start_epoch` counts from 1, as burn-train shows epochs.
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

/// Any loss of this crate, as a config file names it (`kind = "..."`), with class weights
/// given as a scheme to compute from the training counts.
///
/// # Config keys
///
/// A flat table: `kind` and the keys of that kind. Every key but `kind` is optional and
/// defaults to the matching `*Config`'s default; `kind` defaults to `cross-entropy`. A key
/// the kind does not take is an error that lists the kind's keys, and so is an unknown key.
/// Ranges are checked by [`validate`](LossConfig::validate), and again by
/// [`init`](LossConfig::init).
///
/// | kind | its own keys |
/// |---|---|
/// | `cross-entropy` ([`WeightedCrossEntropyConfig`]) | `smoothing` or `label_aware` ([`LabelAwareSmoothing`]), `ignore_index` |
/// | `focal` ([`FocalConfig`]) | `gamma` |
/// | `sigmoid` ([`WeightedBinaryCrossEntropyConfig`]) | `pos_weight`, `label_weighting`, `no_label_weight` |
/// | `sigmoid-focal` ([`SigmoidFocalConfig`]) | `gamma`, `alpha`, `pos_weight`, `label_weighting`, `no_label_weight` |
/// | `class-balanced` ([`ClassBalancedConfig`]) | `beta`, `base`, `gamma`, `label_weighting`, `no_label_weight` (no class-weight keys: its weights are ENS with `beta`) |
/// | `ldam` ([`LdamConfig`]) | `max_margin`, `scale` |
/// | `logit-adjusted` ([`LogitAdjustedConfig`]) | `tau` |
/// | `balanced-softmax` ([`BalancedSoftmaxConfig`]) | |
/// | `vs` ([`VsConfig`]) | `gamma`, `tau` |
/// | `lade` ([`LadeConfig`]) | `alpha` (weight of the regulariser), `remine_lambda` (no class-weight keys: LADE has none) |
///
/// Every kind takes `reduction`; every kind but `class-balanced` and `lade` takes the class-weight keys
/// ([`ClassWeighting`]): `scheme` (a [`Scheme`] name; default `uniform`, no weights), its
/// parameter `beta` (`ens`), `power` (`power`) or `custom_weights` (`custom`), `normalize`,
/// `zero_count`, and `drw_start_epoch` (the first epoch with weights, counted from 1).
///
/// The multi-label keys of the sigmoid kinds:
/// - `pos_weight` ([`PosWeight`]): a list of numbers, one per class, or `"balanced"`:
///   `n_neg / n_pos` of each label from the training counts ([`balanced_pos_weight`](crate::balanced_pos_weight));
/// - `label_weighting` ([`LabelWeighting`]): `"positive-sum"` (default; a row weighs the sum
///   of its positive labels' class weights) or `"per-label"` (PyTorch's `weight=w`, column by
///   column);
/// - `no_label_weight` (finite, `>= 0`, default 0): under `positive-sum`, the weight of a row
///   without a positive label: offer a weight for such rows (0 drops them).
///
/// With `kind = "class-balanced"`, `label_weighting` and `no_label_weight` need its `sigmoid`
/// or `focal` base.
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
///     scheme = "ens"
///     beta = 0.9999
///     drw_start_epoch = 161
/// "#).unwrap();
/// let counts = ClassCounts::from_counts(vec![5000, 500, 50])?;
/// let device = Device::flex();
/// let before = config.init(&counts, &device)?;            // epoch 0: uniform weights
/// assert!(config.weights_change_at(160));                  // epoch 161, counted from 1
/// let after = config.init_for_epoch(&counts, 160, &device)?; // re-weighted
/// # let _ = (before, after);
/// # Ok::<(), rebalance_loss::LossError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, strum::EnumDiscriminants)]
#[serde(try_from = "FlatLoss", into = "FlatLoss")]
#[strum_discriminants(
    name(LossKind),
    vis(pub),
    doc = "The `kind` of a [`LossConfig`]: the loss family, by its config name (`\"ldam\"`).",
    derive(
        Hash,
        Default,
        strum::Display,
        strum::EnumString,
        strum::IntoStaticStr,
        strum::VariantNames,
        strum::EnumIter,
        SerializeDisplay,
        DeserializeFromStr
    ),
    strum(
        serialize_all = "kebab-case",
        ascii_case_insensitive,
        parse_err_ty = LossError,
        parse_err_fn = unknown_kind
    )
)]
pub enum LossConfig {
    /// [`WeightedCrossEntropy`](crate::WeightedCrossEntropy).
    #[strum_discriminants(default)]
    CrossEntropy {
        /// Class weights; none for the plain loss.
        weights: Option<ClassWeighting>,
        /// Label smoothing in `[0, 1]`.
        smoothing: f64,
        /// Label-aware smoothing: `ε` by the target's class count, instead of `smoothing`.
        label_aware: Option<LabelAwareSmoothing>,
        /// Target index excluded from the loss.
        ignore_index: Option<usize>,
        /// Reduction.
        reduction: Reduction,
    },
    /// [`Focal`](crate::Focal) (softmax).
    Focal {
        /// Focusing parameter `γ >= 0`.
        gamma: f64,
        /// Class weights.
        weights: Option<ClassWeighting>,
        /// Reduction.
        reduction: Reduction,
    },
    /// [`WeightedBinaryCrossEntropy`](crate::WeightedBinaryCrossEntropy) (one-vs-all sigmoid).
    Sigmoid {
        /// Class weights.
        weights: Option<ClassWeighting>,
        /// Per-class weight of positive terms: values, or `balanced` from the counts.
        pos_weight: Option<PosWeight>,
        /// How class weights weigh a multi-hot row.
        label_weighting: LabelWeighting,
        /// Under `positive-sum`, the weight of a row without a positive label.
        no_label_weight: f64,
        /// Reduction.
        reduction: Reduction,
    },
    /// [`SigmoidFocal`](crate::SigmoidFocal).
    SigmoidFocal {
        /// Focusing parameter `γ >= 0`.
        gamma: f64,
        /// Positive/negative balance in `[0, 1]`, negative to disable.
        alpha: f64,
        /// Class weights.
        weights: Option<ClassWeighting>,
        /// Per-class weight of positive terms: values, or `balanced` from the counts.
        pos_weight: Option<PosWeight>,
        /// How class weights weigh a multi-hot row.
        label_weighting: LabelWeighting,
        /// Under `positive-sum`, the weight of a row without a positive label.
        no_label_weight: f64,
        /// Reduction.
        reduction: Reduction,
    },
    /// [`ClassBalanced`](crate::ClassBalanced) (Cui et al.): effective-number weights on a base loss.
    ClassBalanced {
        /// `β` in `[0, 1)`.
        beta: f64,
        /// Base loss.
        base: ClassBalancedBase,
        /// Focusing parameter of the focal base.
        gamma: f64,
        /// How the sigmoid and focal bases weigh a multi-hot row.
        label_weighting: LabelWeighting,
        /// Under `positive-sum`, the weight of a row without a positive label.
        no_label_weight: f64,
        /// Reduction.
        reduction: Reduction,
    },
    /// [`Ldam`](crate::Ldam), with optional (deferred) class weights: LDAM-DRW.
    Ldam {
        /// Largest margin, `> 0`.
        max_margin: f64,
        /// Logit scale, `> 0`.
        scale: f64,
        /// Class weights (DRW with `start_epoch`).
        weights: Option<ClassWeighting>,
        /// Reduction.
        reduction: Reduction,
    },
    /// [`LogitAdjusted`](crate::LogitAdjusted).
    LogitAdjusted {
        /// Temperature `τ`.
        tau: f64,
        /// Class weights.
        weights: Option<ClassWeighting>,
        /// Reduction.
        reduction: Reduction,
    },
    /// [`BalancedSoftmax`](crate::BalancedSoftmax).
    BalancedSoftmax {
        /// Class weights.
        weights: Option<ClassWeighting>,
        /// Reduction.
        reduction: Reduction,
    },
    /// [`Vs`](crate::Vs): vector scaling, `CE(Δ ⊙ z + τ · log π, y)`.
    Vs {
        /// Exponent `γ >= 0` of the scale `Δ_c = (n_c / n_max)^γ`.
        gamma: f64,
        /// Temperature `τ` of the additive prior.
        tau: f64,
        /// Class weights.
        weights: Option<ClassWeighting>,
        /// Reduction.
        reduction: Reduction,
    },
    /// [`Lade`](crate::Lade): `CE(z + log π, y) + α · R`, the LADE regulariser `R`.
    Lade {
        /// Weight `α >= 0` of the regulariser.
        alpha: f64,
        /// ReMINE penalty `λ >= 0`.
        remine_lambda: f64,
        /// Reduction.
        reduction: Reduction,
    },
}

fn unknown_kind(text: &str) -> LossError {
    LossError::unknown_name::<LossKind>("loss kind", text)
}

impl Default for LossConfig {
    /// Plain, unweighted cross-entropy.
    fn default() -> Self {
        Self::with_defaults(LossKind::default())
    }
}

/// The class-weight keys, taken by every kind but `class-balanced` and `lade`.
const WEIGHT_KEYS: [&str; 7] = [
    "scheme",
    "beta",
    "power",
    "custom_weights",
    "normalize",
    "zero_count",
    "drw_start_epoch",
];

impl LossKind {
    /// The config keys this kind takes besides `kind`, in the order a config lists them.
    pub fn keys(self) -> Vec<&'static str> {
        let own: &[&str] = match self {
            LossKind::CrossEntropy => &["smoothing", "label_aware", "ignore_index"],
            LossKind::Focal => &["gamma"],
            LossKind::Sigmoid => &["pos_weight", "label_weighting", "no_label_weight"],
            LossKind::SigmoidFocal => &[
                "gamma",
                "alpha",
                "pos_weight",
                "label_weighting",
                "no_label_weight",
            ],
            LossKind::ClassBalanced => &[
                "beta",
                "base",
                "gamma",
                "label_weighting",
                "no_label_weight",
            ],
            LossKind::Ldam => &["max_margin", "scale"],
            LossKind::LogitAdjusted => &["tau"],
            LossKind::Vs => &["gamma", "tau"],
            LossKind::BalancedSoftmax => &[],
            LossKind::Lade => &["alpha", "remine_lambda"],
        };
        let weights: &[&str] = match self {
            LossKind::ClassBalanced | LossKind::Lade => &[],
            _ => &WEIGHT_KEYS,
        };
        [own, weights, &["reduction"]].concat()
    }
}

impl LossConfig {
    /// The loss of `kind` with every parameter at its default (those of its `*Config`) and no
    /// class weights.
    pub fn with_defaults(kind: LossKind) -> Self {
        match kind {
            LossKind::CrossEntropy => {
                let c = WeightedCrossEntropyConfig::new();
                LossConfig::CrossEntropy {
                    weights: None,
                    smoothing: c.smoothing,
                    label_aware: None,
                    ignore_index: c.ignore_index,
                    reduction: c.reduction,
                }
            }
            LossKind::Focal => {
                let c = FocalConfig::new();
                LossConfig::Focal {
                    gamma: c.gamma,
                    weights: None,
                    reduction: c.reduction,
                }
            }
            LossKind::Sigmoid => {
                let c = WeightedBinaryCrossEntropyConfig::new();
                LossConfig::Sigmoid {
                    weights: None,
                    pos_weight: c.pos_weight.map(PosWeight::Values),
                    label_weighting: c.label_weighting,
                    no_label_weight: c.no_label_weight,
                    reduction: c.reduction,
                }
            }
            LossKind::SigmoidFocal => {
                let c = SigmoidFocalConfig::new();
                LossConfig::SigmoidFocal {
                    gamma: c.gamma,
                    alpha: c.alpha,
                    weights: None,
                    pos_weight: c.pos_weight.map(PosWeight::Values),
                    label_weighting: c.label_weighting,
                    no_label_weight: c.no_label_weight,
                    reduction: c.reduction,
                }
            }
            LossKind::ClassBalanced => {
                let c = ClassBalancedConfig::new(Vec::new());
                LossConfig::ClassBalanced {
                    beta: c.beta,
                    base: c.base,
                    gamma: c.gamma,
                    label_weighting: c.label_weighting,
                    no_label_weight: c.no_label_weight,
                    reduction: c.reduction,
                }
            }
            LossKind::Ldam => {
                let c = LdamConfig::new(Vec::new());
                LossConfig::Ldam {
                    max_margin: c.max_margin,
                    scale: c.scale,
                    weights: None,
                    reduction: c.reduction,
                }
            }
            LossKind::LogitAdjusted => {
                let c = LogitAdjustedConfig::new(Vec::new());
                LossConfig::LogitAdjusted {
                    tau: c.tau,
                    weights: None,
                    reduction: c.reduction,
                }
            }
            LossKind::Vs => {
                let c = VsConfig::new(Vec::new());
                LossConfig::Vs {
                    gamma: c.gamma,
                    tau: c.tau,
                    weights: None,
                    reduction: c.reduction,
                }
            }
            LossKind::BalancedSoftmax => LossConfig::BalancedSoftmax {
                weights: None,
                reduction: BalancedSoftmaxConfig::new(Vec::new()).reduction,
            },
            LossKind::Lade => {
                let c = LadeConfig::new(Vec::new());
                LossConfig::Lade {
                    alpha: c.alpha,
                    remine_lambda: c.remine_lambda,
                    reduction: c.reduction,
                }
            }
        }
    }

    /// The loss kind.
    pub fn kind(&self) -> LossKind {
        self.into()
    }

    /// The `kind` name (`"ldam"`).
    pub fn name(&self) -> &'static str {
        self.kind().into()
    }

    /// The class weighting, if the loss has one (`class-balanced` computes its own, `lade`
    /// has none).
    pub fn weighting(&self) -> Option<&ClassWeighting> {
        match self {
            LossConfig::CrossEntropy { weights, .. }
            | LossConfig::Focal { weights, .. }
            | LossConfig::Sigmoid { weights, .. }
            | LossConfig::SigmoidFocal { weights, .. }
            | LossConfig::Ldam { weights, .. }
            | LossConfig::LogitAdjusted { weights, .. }
            | LossConfig::Vs { weights, .. }
            | LossConfig::BalancedSoftmax { weights, .. } => weights.as_ref(),
            LossConfig::ClassBalanced { .. } | LossConfig::Lade { .. } => None,
        }
    }

    pub(crate) fn weighting_mut(&mut self) -> Option<&mut Option<ClassWeighting>> {
        match self {
            LossConfig::CrossEntropy { weights, .. }
            | LossConfig::Focal { weights, .. }
            | LossConfig::Sigmoid { weights, .. }
            | LossConfig::SigmoidFocal { weights, .. }
            | LossConfig::Ldam { weights, .. }
            | LossConfig::LogitAdjusted { weights, .. }
            | LossConfig::Vs { weights, .. }
            | LossConfig::BalancedSoftmax { weights, .. } => Some(weights),
            LossConfig::ClassBalanced { .. } | LossConfig::Lade { .. } => None,
        }
    }

    /// The reduction.
    pub fn reduction(&self) -> Reduction {
        *self.reduction_ref()
    }

    fn reduction_ref(&self) -> &Reduction {
        match self {
            LossConfig::CrossEntropy { reduction, .. }
            | LossConfig::Focal { reduction, .. }
            | LossConfig::Sigmoid { reduction, .. }
            | LossConfig::SigmoidFocal { reduction, .. }
            | LossConfig::ClassBalanced { reduction, .. }
            | LossConfig::Ldam { reduction, .. }
            | LossConfig::LogitAdjusted { reduction, .. }
            | LossConfig::Vs { reduction, .. }
            | LossConfig::BalancedSoftmax { reduction, .. }
            | LossConfig::Lade { reduction, .. } => reduction,
        }
    }

    /// Checks every parameter that does not depend on the class counts, with the checks of
    /// the loss's own `*Config` (so before any data is loaded, a config can be refused for
    /// what [`init`](Self::init) would refuse later).
    ///
    /// # Errors
    /// The first parameter out of range, naming it (`gamma = -1: must be finite and >= 0`).
    pub fn validate(&self) -> Result<(), LossError> {
        if let Some(weighting) = self.weighting() {
            weighting.scheme.validate()?;
        }
        match self {
            LossConfig::CrossEntropy {
                smoothing,
                label_aware,
                ..
            } => {
                if let Some(label_aware) = label_aware {
                    label_aware.validate()?;
                }
                WeightedCrossEntropyConfig::new()
                    .with_smoothing(*smoothing)
                    // A stand-in ε (the real ones need the counts) for the check that
                    // excludes `smoothing`.
                    .with_class_smoothing(label_aware.map(|_| vec![0.0]))
                    .validate()
            }
            LossConfig::Focal { gamma, .. } => FocalConfig::new().with_gamma(*gamma).validate(),
            LossConfig::Sigmoid {
                pos_weight,
                label_weighting,
                no_label_weight,
                ..
            } => WeightedBinaryCrossEntropyConfig::new()
                .with_pos_weight(given_values(pos_weight))
                .with_label_weighting(*label_weighting)
                .with_no_label_weight(*no_label_weight)
                .validate(),
            LossConfig::SigmoidFocal {
                gamma,
                alpha,
                pos_weight,
                label_weighting,
                no_label_weight,
                ..
            } => SigmoidFocalConfig::new()
                .with_gamma(*gamma)
                .with_alpha(*alpha)
                .with_pos_weight(given_values(pos_weight))
                .with_label_weighting(*label_weighting)
                .with_no_label_weight(*no_label_weight)
                .validate(),
            LossConfig::ClassBalanced {
                beta,
                base,
                gamma,
                label_weighting,
                no_label_weight,
                ..
            } => ClassBalancedConfig::new(Vec::new())
                .with_beta(*beta)
                .with_base(*base)
                .with_gamma(*gamma)
                .with_label_weighting(*label_weighting)
                .with_no_label_weight(*no_label_weight)
                .validate(),
            LossConfig::Ldam {
                max_margin, scale, ..
            } => LdamConfig::new(Vec::new())
                .with_max_margin(*max_margin)
                .with_scale(*scale)
                .validate(),
            LossConfig::LogitAdjusted { tau, .. } => LogitAdjustedConfig::new(Vec::new())
                .with_tau(*tau)
                .validate(),
            LossConfig::Vs { gamma, tau, .. } => VsConfig::new(Vec::new())
                .with_gamma(*gamma)
                .with_tau(*tau)
                .validate(),
            LossConfig::BalancedSoftmax { .. } => Ok(()),
            LossConfig::Lade {
                alpha,
                remine_lambda,
                ..
            } => LadeConfig::new(Vec::new())
                .with_alpha(*alpha)
                .with_remine_lambda(*remine_lambda)
                .validate(),
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
    /// `pos_weight = "balanced"` takes `N = counts.total()` samples.
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
        self.build(counts, counts.total(), epoch, device)
    }

    /// The loss for `epoch`, with `samples` training rows for `pos_weight = "balanced"`.
    fn build(
        &self,
        counts: &ClassCounts,
        samples: u64,
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
        // `pos_weight` resolved from the counts, checked against the number of classes.
        let pos_weight_of = |pos_weight: &Option<PosWeight>| match pos_weight {
            Some(pw) => {
                let values = pw.resolve(counts, samples)?;
                check_class_values("pos_weight", &values, Some(counts.num_classes()))?;
                Ok::<_, LossError>(Some(values))
            }
            None => Ok(None),
        };
        Ok(match self {
            LossConfig::CrossEntropy {
                smoothing,
                label_aware,
                ignore_index,
                reduction,
                ..
            } => ImbalanceLoss::CrossEntropy(
                WeightedCrossEntropyConfig::new()
                    .with_weights(weights)
                    .with_smoothing(*smoothing)
                    .with_class_smoothing(match label_aware {
                        Some(label_aware) => Some(label_aware.epsilons(counts)?),
                        None => None,
                    })
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
                label_weighting,
                no_label_weight,
                reduction,
                ..
            } => ImbalanceLoss::Sigmoid(
                WeightedBinaryCrossEntropyConfig::new()
                    .with_weights(weights)
                    .with_pos_weight(pos_weight_of(pos_weight)?)
                    .with_label_weighting(*label_weighting)
                    .with_no_label_weight(*no_label_weight)
                    .with_reduction(*reduction)
                    .init(device)?,
            ),
            LossConfig::SigmoidFocal {
                gamma,
                alpha,
                pos_weight,
                label_weighting,
                no_label_weight,
                reduction,
                ..
            } => ImbalanceLoss::SigmoidFocal(
                SigmoidFocalConfig::new()
                    .with_gamma(*gamma)
                    .with_alpha(*alpha)
                    .with_weights(weights)
                    .with_pos_weight(pos_weight_of(pos_weight)?)
                    .with_label_weighting(*label_weighting)
                    .with_no_label_weight(*no_label_weight)
                    .with_reduction(*reduction)
                    .init(device)?,
            ),
            LossConfig::ClassBalanced {
                beta,
                base,
                gamma,
                label_weighting,
                no_label_weight,
                reduction,
            } => ImbalanceLoss::ClassBalanced(
                ClassBalancedConfig::new(counts_vec)
                    .with_beta(*beta)
                    .with_base(*base)
                    .with_gamma(*gamma)
                    .with_label_weighting(*label_weighting)
                    .with_no_label_weight(*no_label_weight)
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
            LossConfig::Vs {
                gamma,
                tau,
                reduction,
                ..
            } => ImbalanceLoss::Vs(
                VsConfig::new(counts_vec)
                    .with_gamma(*gamma)
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
            LossConfig::Lade {
                alpha,
                remine_lambda,
                reduction,
            } => ImbalanceLoss::Lade(
                LadeConfig::new(counts_vec)
                    .with_alpha(*alpha)
                    .with_remine_lambda(*remine_lambda)
                    .with_reduction(*reduction)
                    .init(device)?,
            ),
        })
    }

    /// Checks that the loss takes multi-hot targets: `sigmoid`, `sigmoid-focal`, or
    /// `class-balanced` on its `sigmoid` or `focal` base. The softmax losses have one true
    /// class per sample.
    ///
    /// # Errors
    /// [`LossError::NotMultiLabel`], naming the kind and the kinds that would do.
    pub fn check_multi_label(&self) -> Result<(), LossError> {
        match self {
            LossConfig::Sigmoid { .. } | LossConfig::SigmoidFocal { .. } => Ok(()),
            LossConfig::ClassBalanced { base, .. } if *base != ClassBalancedBase::Softmax => Ok(()),
            LossConfig::ClassBalanced { .. } => Err(LossError::NotMultiLabel {
                kind: LossKind::ClassBalanced,
                why: "its base = \"softmax\" has one true class per sample; use base = \"focal\" \
                      or \"sigmoid\"",
            }),
            other => Err(LossError::NotMultiLabel {
                kind: other.kind(),
                why: "it is a softmax loss, with one true class per sample; use kind = \
                      \"sigmoid\", \"sigmoid-focal\" or \"class-balanced\"",
            }),
        }
    }

    /// The loss of multi-label targets for `epoch` (counted from 0): as
    /// [`init_for_epoch`](Self::init_for_epoch), with `label_counts` the positives of each
    /// label over the training split (a sample counts once for each of its positive labels)
    /// and `samples` the number of training rows `N` (for `pos_weight = "balanced"`:
    /// `(N - n_pos) / n_pos` per label).
    ///
    /// # Errors
    /// As [`check_multi_label`](Self::check_multi_label) and
    /// [`init_for_epoch`](Self::init_for_epoch); with `pos_weight = "balanced"`, a label with
    /// more positives than `samples`.
    pub fn init_multi_label(
        &self,
        label_counts: &ClassCounts,
        samples: u64,
        epoch: usize,
        device: &Device,
    ) -> Result<MultiLabelLoss, LossError> {
        self.check_multi_label()?;
        let multi_label = match self.build(label_counts, samples, epoch, device)? {
            ImbalanceLoss::Sigmoid(loss) => Some(MultiLabelLoss::Sigmoid(loss)),
            ImbalanceLoss::SigmoidFocal(loss) => Some(MultiLabelLoss::SigmoidFocal(loss)),
            ImbalanceLoss::ClassBalanced(loss) => match loss.into_base() {
                ClassBalancedLoss::Sigmoid(loss) => Some(MultiLabelLoss::Sigmoid(loss)),
                ClassBalancedLoss::Focal(loss) => Some(MultiLabelLoss::SigmoidFocal(loss)),
                ClassBalancedLoss::Softmax(_) => None,
            },
            _ => None,
        };
        // `check_multi_label` has refused every kind that builds none.
        multi_label.ok_or(LossError::NotMultiLabel {
            kind: self.kind(),
            why: "it has one true class per sample",
        })
    }

    /// The weight of a multi-hot row without a positive label, where it differs from the other
    /// rows' rule: `Some(no_label_weight)` for a class-weighted sigmoid loss under
    /// `positive-sum` (0 by default: such rows drop out of the loss, the weighting article's
    /// rule), `None` for an unweighted loss (every row weighs 1), `per-label` weighting, or a
    /// softmax loss.
    pub fn no_label_row_weight(&self) -> Option<f64> {
        let (weighted, label_weighting, no_label_weight) = match self {
            LossConfig::Sigmoid {
                weights,
                label_weighting,
                no_label_weight,
                ..
            }
            | LossConfig::SigmoidFocal {
                weights,
                label_weighting,
                no_label_weight,
                ..
            } => (weights.is_some(), *label_weighting, *no_label_weight),
            LossConfig::ClassBalanced {
                base,
                label_weighting,
                no_label_weight,
                ..
            } => (
                *base != ClassBalancedBase::Softmax,
                *label_weighting,
                *no_label_weight,
            ),
            _ => return None,
        };
        (weighted && label_weighting == LabelWeighting::PositiveSum).then_some(no_label_weight)
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
            LossConfig::ClassBalanced { beta, .. } => Ok(Some(
                ClassBalancedConfig::new(counts.as_slice().to_vec())
                    .with_beta(*beta)
                    .class_weights()?,
            )),
            _ => match self.weighting() {
                Some(weighting) => Ok(Some(weighting.schedule(counts)?.weights_at(epoch).clone())),
                None => Ok(None),
            },
        }
    }
}

/// The values of a given `pos_weight`, for the checks that need no counts (`balanced` has
/// none to check).
fn given_values(pos_weight: &Option<PosWeight>) -> Option<Vec<f64>> {
    match pos_weight {
        Some(PosWeight::Values(values)) => Some(values.clone()),
        _ => None,
    }
}
