//! Class-balanced loss (Cui et al., CVPR 2019).

use burn::prelude::*;
use rebalance_weights::{ClassCounts, ClassWeights, Scheme};
use serde::{Deserialize, Serialize};

use crate::binary_cross_entropy::check_label_weighting;
use crate::config::kind::{LossKeys, loss_keys, through_config};
use crate::error::{check_min, refuse_given};
use crate::label_weighting::no_label_row_weight;
use crate::{
    LabelWeighting, LossError, Reduction, SigmoidFocal, SigmoidFocalConfig,
    WeightedBinaryCrossEntropy, WeightedBinaryCrossEntropyConfig, WeightedCrossEntropy,
    WeightedCrossEntropyConfig,
};

rebalance_weights::config_enum! {
    /// The loss that class-balanced weights are applied to.
    pub enum ClassBalancedBase("class-balanced base loss", LossError) {
        /// Softmax cross-entropy.
        Softmax,
        /// One-vs-all sigmoid cross-entropy.
        Sigmoid,
        /// Sigmoid focal loss without `α` (the weights play its part) — the default, the
        /// combination Cui et al. report best on long-tailed CIFAR.
        #[default]
        Focal,
    }
}

/// Configuration of [`ClassBalanced`], the class-balanced loss of Cui et al., "Class-Balanced
/// Loss Based on Effective Number of Samples", CVPR 2019.
///
/// `CB(z, y) = (1 - β) / (1 - β^{n_y}) · L(z, y)`: the base loss `L` (softmax cross-entropy,
/// sigmoid cross-entropy, or sigmoid focal loss with focusing `γ`) weighted by the inverse
/// effective number of samples of the target's class, with weights normalized to sum to `C`
/// (the [`Scheme::Ens`] weights). The default reduction, `mean` (`Σ w·l / N`), is the
/// paper's code: for the sigmoid bases, the weighted sum over all `N·C` elements divided by
/// the number of positive labels, `N` for single-label targets.
///
/// The sigmoid and focal bases take multi-hot targets too, their class weights applied as
/// `label_weighting` says ([`LabelWeighting`]; `no_label_weight` for a row without a positive
/// label); the softmax base takes neither option.
///
/// For the sigmoid and focal bases, §5.2 of the paper initialises the classifier's bias to
/// [`sigmoid_bias_init`] so that early training is stable.
#[derive(Config, Debug)]
pub struct ClassBalancedConfig {
    /// Training samples per class; every class needs at least one.
    pub counts: Vec<u64>,
    /// `β` of the effective number, in `[0, 1)`. Default 0.9999.
    #[config(default = "Scheme::DEFAULT_ENS_BETA")]
    pub beta: f64,
    /// The base loss. Default `focal`.
    #[config(default = "ClassBalancedBase::Focal")]
    pub base: ClassBalancedBase,
    /// Focusing parameter `γ` of the focal base, finite and `>= 0`. Default 2.
    #[config(default = 2.0)]
    pub gamma: f64,
    /// How the sigmoid and focal bases weigh a multi-hot row. Default `positive-sum`.
    #[config(default = "LabelWeighting::PositiveSum")]
    pub label_weighting: LabelWeighting,
    /// Under `positive-sum`, the sample weight of a multi-hot row with no positive label
    /// (sigmoid and focal bases), finite and `>= 0`: offer a weight for such rows. Default 0:
    /// they drop out.
    #[config(default = 0.0)]
    pub no_label_weight: f64,
    /// How per-sample losses are reduced. Default `mean`, as in the paper's code.
    #[config(default = "Reduction::Mean")]
    pub reduction: Reduction,
}

impl ClassBalancedConfig {
    /// The class weights `(1 - β) / (1 - β^{n_c})`, normalized to sum to `C`.
    ///
    /// # Errors
    /// As [`init`](Self::init).
    pub fn class_weights(&self) -> Result<ClassWeights, LossError> {
        let counts = ClassCounts::from_counts(self.counts.clone())?;
        Ok(Scheme::Ens { beta: self.beta }.weights(&counts)?)
    }

    /// Checks the parameters that need neither the class counts nor a device; [`init`](Self::init)
    /// runs these checks too.
    ///
    /// # Errors
    /// As [`init`](Self::init), for those parameters.
    pub fn validate(&self) -> Result<(), LossError> {
        check_min("gamma", self.gamma, 0.0, false, "finite and >= 0")?;
        check_label_weighting(self.label_weighting, self.no_label_weight)?;
        if self.base == ClassBalancedBase::Softmax {
            const SOFTMAX: &str = "left at its default with base = \"softmax\" (the softmax \
                                   base has one true class per sample)";
            if self.label_weighting != LabelWeighting::default() {
                return Err(LossError::InvalidParameter {
                    name: "label_weighting",
                    value: self.label_weighting.to_string(),
                    expected: SOFTMAX,
                });
            }
            if self.no_label_weight != 0.0 {
                return Err(LossError::InvalidParameter {
                    name: "no_label_weight",
                    value: self.no_label_weight.to_string(),
                    expected: SOFTMAX,
                });
            }
        }
        Ok(Scheme::Ens { beta: self.beta }.validate()?)
    }

    /// Builds the loss, with its tensors on `device`.
    ///
    /// # Errors
    /// Empty or all-zero counts, a class with no sample, `β ∉ [0, 1)`, `γ` negative or not
    /// finite, `no_label_weight` out of range, either multi-label option with the softmax base.
    pub fn init(&self, device: &Device) -> Result<ClassBalanced, LossError> {
        self.validate()?;
        let weights = self.class_weights()?;
        let loss = match self.base {
            ClassBalancedBase::Softmax => ClassBalancedLoss::Softmax(
                WeightedCrossEntropyConfig::new()
                    .with_class_weights(&weights)
                    .with_reduction(self.reduction)
                    .init(device)?,
            ),
            ClassBalancedBase::Sigmoid => ClassBalancedLoss::Sigmoid(
                WeightedBinaryCrossEntropyConfig::new()
                    .with_class_weights(&weights)
                    .with_label_weighting(self.label_weighting)
                    .with_no_label_weight(self.no_label_weight)
                    .with_reduction(self.reduction)
                    .init(device)?,
            ),
            ClassBalancedBase::Focal => ClassBalancedLoss::Focal(
                SigmoidFocalConfig::new()
                    .with_gamma(self.gamma)
                    .with_alpha(-1.0)
                    .with_class_weights(&weights)
                    .with_label_weighting(self.label_weighting)
                    .with_no_label_weight(self.no_label_weight)
                    .with_reduction(self.reduction)
                    .init(device)?,
            ),
        };
        Ok(ClassBalanced { loss })
    }
}

loss_keys! {
    /// `kind = "class-balanced"` in a config file: the keys of [`ClassBalanced`], each defaulting
    /// to [`ClassBalancedConfig`]'s. Its class weights are the effective-number ones of `beta`,
    /// so it takes no class-weight keys. A file gives `gamma` with the focal base only, and
    /// `label_weighting` and `no_label_weight` with the sigmoid and focal bases (and they are
    /// written so).
    #[serde(try_from = "ClassBalancedTable", into = "ClassBalancedTable")]
    pub struct ClassBalancedKeys: ClassBalancedConfig::new(counts) {
        /// `β` of the effective number, in `[0, 1)`.
        beta: f64 => with_beta,
        /// The base loss.
        base: ClassBalancedBase => with_base,
        /// Focusing parameter `γ` of the focal base, finite and `>= 0`.
        gamma: f64 => with_gamma,
        /// How the sigmoid and focal bases weigh a multi-hot row.
        label_weighting: LabelWeighting => with_label_weighting,
        /// Under `positive-sum`, the weight of a row without a positive label.
        no_label_weight: f64 => with_no_label_weight,
    }
}

impl LossKeys for ClassBalancedKeys {
    through_config!();

    fn reduction(&self) -> Reduction {
        self.reduction
    }

    fn multi_label(&self) -> Result<(), &'static str> {
        match self.base {
            ClassBalancedBase::Softmax => Err("its base = \"softmax\" has one true class per \
                                               sample; use base = \"focal\" or \"sigmoid\""),
            ClassBalancedBase::Sigmoid | ClassBalancedBase::Focal => Ok(()),
        }
    }

    fn no_label_row_weight(&self) -> Option<f64> {
        no_label_row_weight(
            self.base != ClassBalancedBase::Softmax,
            self.label_weighting,
            self.no_label_weight,
        )
    }

    fn class_weights_at(
        &self,
        counts: &ClassCounts,
        _epoch: usize,
    ) -> Result<Option<ClassWeights>, LossError> {
        self.config(counts.as_slice().to_vec())
            .class_weights()
            .map(Some)
    }
}

/// [`ClassBalancedKeys`] as a config file writes them: `gamma` with the focal base only,
/// `label_weighting` and `no_label_weight` with the sigmoid and focal bases.
#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ClassBalancedTable {
    #[serde(skip_serializing_if = "Option::is_none")]
    gamma: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label_weighting: Option<LabelWeighting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    no_label_weight: Option<f64>,
    base: ClassBalancedBase,
    beta: f64,
    reduction: Reduction,
}

impl Default for ClassBalancedTable {
    fn default() -> Self {
        let keys = ClassBalancedKeys::default();
        Self {
            gamma: None,
            label_weighting: None,
            no_label_weight: None,
            base: keys.base,
            beta: keys.beta,
            reduction: keys.reduction,
        }
    }
}

impl TryFrom<ClassBalancedTable> for ClassBalancedKeys {
    type Error = LossError;

    fn try_from(table: ClassBalancedTable) -> Result<Self, LossError> {
        if table.base != ClassBalancedBase::Focal {
            refuse_given(
                [("gamma", table.gamma.map(|g| g.to_string()))],
                "given only with base = \"focal\" (the softmax and sigmoid bases have no γ)",
            )?;
        }
        if table.base == ClassBalancedBase::Softmax {
            refuse_given(
                [
                    (
                        "label_weighting",
                        table.label_weighting.map(|l| l.to_string()),
                    ),
                    (
                        "no_label_weight",
                        table.no_label_weight.map(|w| w.to_string()),
                    ),
                ],
                "given only with base = \"sigmoid\" or \"focal\" (the softmax base has one \
                 true class per sample)",
            )?;
        }
        let defaults = ClassBalancedKeys::default();
        Ok(ClassBalancedKeys {
            beta: table.beta,
            base: table.base,
            gamma: table.gamma.unwrap_or(defaults.gamma),
            label_weighting: table.label_weighting.unwrap_or(defaults.label_weighting),
            no_label_weight: table.no_label_weight.unwrap_or(defaults.no_label_weight),
            reduction: table.reduction,
        })
    }
}

impl From<ClassBalancedKeys> for ClassBalancedTable {
    fn from(keys: ClassBalancedKeys) -> Self {
        let multi_hot = keys.base != ClassBalancedBase::Softmax;
        ClassBalancedTable {
            gamma: (keys.base == ClassBalancedBase::Focal).then_some(keys.gamma),
            label_weighting: multi_hot.then_some(keys.label_weighting),
            no_label_weight: multi_hot.then_some(keys.no_label_weight),
            base: keys.base,
            beta: keys.beta,
            reduction: keys.reduction,
        }
    }
}

/// The bias initialisation `b = -ln(C - 1)` of Cui et al. §5.2 (from Lin et al.'s prior
/// `π = 1/C`: `b = -ln((1 - π) / π)`), for the classifier of a sigmoid or focal loss, so that
/// every class starts at probability `1/C` instead of 1/2 and the many negatives do not swamp
/// the first updates.
///
/// ```
/// let b = rebalance_loss::sigmoid_bias_init(10)?;
/// assert!((b + 9f64.ln()).abs() < 1e-15);
/// # Ok::<(), rebalance_loss::LossError>(())
/// ```
///
/// # Errors
/// `num_classes < 2`.
pub fn sigmoid_bias_init(num_classes: usize) -> Result<f64, LossError> {
    if num_classes < 2 {
        return Err(LossError::InvalidParameter {
            name: "num_classes",
            value: num_classes.to_string(),
            expected: ">= 2",
        });
    }
    Ok(-((num_classes - 1) as f64).ln())
}

/// The base loss of a [`ClassBalanced`] loss, with the class-balanced weights in it.
#[derive(Module, Debug)]
pub enum ClassBalancedLoss {
    /// Softmax cross-entropy.
    Softmax(WeightedCrossEntropy),
    /// Sigmoid cross-entropy.
    Sigmoid(WeightedBinaryCrossEntropy),
    /// Sigmoid focal loss.
    Focal(SigmoidFocal),
}

/// Class-balanced loss, built by [`ClassBalancedConfig::init`].
#[derive(Module, Debug)]
pub struct ClassBalanced {
    loss: ClassBalancedLoss,
}

impl ClassBalanced {
    /// The loss reduced by the configured [`Reduction`]: shape `[1]`, or `[B]` for `none`.
    ///
    /// # Shapes
    /// - logits: `[batch_size, num_classes]`
    /// - targets: `[batch_size]`, class indices in `0..num_classes`
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        match &self.loss {
            ClassBalancedLoss::Softmax(loss) => loss.forward(logits, targets),
            ClassBalancedLoss::Sigmoid(loss) => loss.forward(logits, targets),
            ClassBalancedLoss::Focal(loss) => loss.forward(logits, targets),
        }
    }

    /// The per-sample losses, already weighted, shape `[batch_size]`.
    pub fn forward_no_reduction(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        match &self.loss {
            ClassBalancedLoss::Softmax(loss) => loss.forward_no_reduction(logits, targets),
            ClassBalancedLoss::Sigmoid(loss) => loss.forward_no_reduction(logits, targets),
            ClassBalancedLoss::Focal(loss) => loss.forward_no_reduction(logits, targets),
        }
    }

    /// The base loss, for multi-hot targets and element-wise output.
    pub fn base(&self) -> &ClassBalancedLoss {
        &self.loss
    }

    /// The base loss, with the class-balanced weights in it.
    pub fn into_base(self) -> ClassBalancedLoss {
        self.loss
    }
}
