//! [`MultiLabelLoss`]: the losses that take multi-hot targets, behind one `forward`.

use burn::prelude::*;

use crate::{ClassBalancedLoss, ImbalanceLoss, SigmoidFocal, WeightedBinaryCrossEntropy};

/// A one-vs-all (sigmoid) loss of multi-hot targets, built by
/// [`LossConfig::init_multi_label`](crate::LossConfig::init_multi_label): the losses of
/// [`ImbalanceLoss`](crate::ImbalanceLoss) that are defined for several positive labels per
/// sample. `kind = "class-balanced"` is its sigmoid or focal base with the effective-number
/// weights in it, so it is one of the two variants. A sample's weight is the sum of its
/// positive labels' class weights (the rule of the weighting article; a row without a positive
/// label weighs `no_label_weight`, default 0), or each label's column is weighted by its own
/// class weight with `label_weighting = "per-label"`: see
/// [`LabelWeighting`](crate::LabelWeighting). A Burn module: keep it as a field of your model.
///
/// ```
/// use burn::prelude::*;
/// use rebalance_loss::LossConfig;
/// use rebalance_weights::ClassCounts;
///
/// let device = Device::flex();
/// // Positives per label over the training split of 1000 rows.
/// let counts = ClassCounts::from_counts(vec![900, 90, 10])?;
/// let config: LossConfig = toml::from_str(r#"
///     kind = "sigmoid"
///     scheme = "ens"
///     pos_weight = "balanced"  # n_neg / n_pos of each label: [1/9, 910/90, 99]
/// "#).unwrap();
/// let loss = config.init_multi_label(&counts, 1000, 0, &device)?;
/// let logits = Tensor::<2>::from_floats([[2.0, -1.0, 0.5], [0.0, 1.0, -2.0]], &device);
/// let targets = Tensor::<2>::from_floats([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], &device);
/// let value: f32 = loss.forward(logits, targets).into_scalar();
/// assert!(value > 0.0);
///
/// // A softmax loss is refused: it has one true class per sample.
/// let softmax: LossConfig = toml::from_str("kind = \"focal\"").unwrap();
/// assert!(softmax.init_multi_label(&counts, 1000, 0, &device).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Module, Debug)]
pub enum MultiLabelLoss {
    /// One-vs-all sigmoid cross-entropy (also the class-balanced loss's sigmoid base).
    Sigmoid(WeightedBinaryCrossEntropy),
    /// Sigmoid focal loss (also the class-balanced loss's focal base).
    SigmoidFocal(SigmoidFocal),
}

impl MultiLabelLoss {
    /// `loss` as a loss of multi-hot targets, where it is one: the sigmoid losses, and the
    /// class-balanced loss on its sigmoid or focal base.
    pub(crate) fn from_loss(loss: ImbalanceLoss) -> Option<Self> {
        match loss {
            ImbalanceLoss::Sigmoid(loss) => Some(MultiLabelLoss::Sigmoid(loss)),
            ImbalanceLoss::SigmoidFocal(loss) => Some(MultiLabelLoss::SigmoidFocal(loss)),
            ImbalanceLoss::ClassBalanced(loss) => match loss.into_base() {
                ClassBalancedLoss::Sigmoid(loss) => Some(MultiLabelLoss::Sigmoid(loss)),
                ClassBalancedLoss::Focal(loss) => Some(MultiLabelLoss::SigmoidFocal(loss)),
                ClassBalancedLoss::Softmax(_) => None,
            },
            _ => None,
        }
    }

    /// The loss reduced as configured: shape `[1]`, or `[B]` for reduction `none`.
    ///
    /// # Shapes
    /// - logits: `[batch_size, num_labels]`
    /// - targets: `[batch_size, num_labels]`, multi-hot (values in `[0, 1]`)
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
        match self {
            MultiLabelLoss::Sigmoid(loss) => loss.forward_multi_hot(logits, targets),
            MultiLabelLoss::SigmoidFocal(loss) => loss.forward_multi_hot(logits, targets),
        }
    }
}
