//! [`ImbalanceLoss`]: any loss of this crate behind one `forward`.

use burn::prelude::*;
use rebalance_weights::ClassCounts;

use crate::{
    BalancedSoftmax, ClassBalanced, Focal, Lade, Ldam, LogitAdjusted, LossConfig, LossError,
    SigmoidFocal, Vs, WeightedBinaryCrossEntropy, WeightedCrossEntropy,
};

/// Any loss of this crate behind one `forward`, built by [`LossConfig::init`]. A Burn module:
/// keep it as a field of your model and its tensors follow the model's device.
// Built once per run and held by the model: the size of its largest variant (VS, three
// tensors) costs nothing, and boxing a variant would hide it from Burn's Module derive.
#[allow(clippy::large_enum_variant)]
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
    /// Vector-scaling loss.
    Vs(Vs),
    /// Balanced Softmax.
    BalancedSoftmax(BalancedSoftmax),
    /// LADE: PC-softmax cross-entropy plus the LADE regulariser.
    Lade(Lade),
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
            ImbalanceLoss::Vs(loss) => loss.forward(logits, targets),
            ImbalanceLoss::BalancedSoftmax(loss) => loss.forward(logits, targets),
            ImbalanceLoss::Lade(loss) => loss.forward(logits, targets),
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
            ImbalanceLoss::Vs(loss) => loss.forward_no_reduction(logits, targets),
            ImbalanceLoss::BalancedSoftmax(loss) => loss.forward_no_reduction(logits, targets),
            ImbalanceLoss::Lade(loss) => loss.forward_no_reduction(logits, targets),
        }
    }
}
