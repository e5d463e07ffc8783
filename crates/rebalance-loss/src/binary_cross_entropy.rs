//! One-vs-all binary cross-entropy with class weights and `pos_weight`.

use burn::prelude::*;

use crate::config::kind::{LossKeys, loss_keys};
use crate::cross_entropy::class_tensor;
use crate::error::{check_class_values, check_min};
use crate::sigmoid::SigmoidTerms;
use crate::{LabelWeighting, LossError, PosWeight, Reduction};

/// Configuration of [`WeightedBinaryCrossEntropy`]: sigmoid (one-vs-all) cross-entropy for
/// single-label targets (class indices, one-hot encoded) and multi-label targets (multi-hot).
///
/// Element loss, for logit `z = z_{n,c}` and target `y = y_{n,c}` in `[0, 1]`:
/// `e = -(pw_c · y · log σ(z) + (1 - y) · log(1 - σ(z)))` (PyTorch's
/// `binary_cross_entropy_with_logits(pos_weight=pw)`), computed as
/// `z · ((1 - y) - f·[z < 0]) + f · log(1 + exp(-|z|))` with `f = 1 + (pw_c - 1)·y`: finite for
/// any `z`, without cancellation, so even tiny gradients `σ(z) - y` keep float precision.
/// Per-sample loss `l_n = s_n · Σ_c e_{n,c}`, where the sample weight `s_n` is the sum of the
/// class weights of the sample's positive labels (the class weight of its label for
/// single-label targets; a multi-hot row with no positive label gets `no_label_weight`,
/// default 0), or, with `label_weighting = per-label`, `l_n = Σ_c w_c·e_{n,c}` (PyTorch's
/// `weight=w`) with sample weight `mean_c w_c`: see [`LabelWeighting`]. PyTorch's
/// `reduction="mean"` over all `N·C` elements is `sum` divided by `N·C`, or
/// `forward_elementwise(..).mean()`.
#[derive(Config, Debug)]
pub struct WeightedBinaryCrossEntropyConfig {
    /// Per-class weights `w_c`, finite and `>= 0`, one per class. Default `None`: unweighted.
    pub weights: Option<Vec<f64>>,
    /// Per-class weight `pw_c` of the positive term, finite and `>= 0` (PyTorch's
    /// `pos_weight`; `n_neg / n_pos` balances a class's positives and negatives, see
    /// [`balanced_pos_weight`](crate::balanced_pos_weight)). Default `None`: 1.
    pub pos_weight: Option<Vec<f64>>,
    /// How the class weights weigh a multi-hot row. Default `positive-sum`.
    #[config(default = "LabelWeighting::PositiveSum")]
    pub label_weighting: LabelWeighting,
    /// Under `positive-sum` with class weights, the sample weight of a row with no positive
    /// label, finite and `>= 0`: offer a weight for such rows. Default 0: they drop out of the
    /// loss, as in the weighting article.
    #[config(default = 0.0)]
    pub no_label_weight: f64,
    /// How per-sample losses are reduced. Default `weighted-mean`.
    #[config(default = "Reduction::WeightedMean")]
    pub reduction: Reduction,
}

impl WeightedBinaryCrossEntropyConfig {
    /// Checks the parameters that need neither the class counts nor a device; [`init`](Self::init)
    /// runs these checks too.
    ///
    /// # Errors
    /// As [`init`](Self::init), for those parameters.
    pub fn validate(&self) -> Result<(), LossError> {
        check_label_weighting(self.label_weighting, self.no_label_weight)?;
        check_sigmoid_vectors(self.weights.as_deref(), self.pos_weight.as_deref())
    }

    /// Builds the loss, with its tensors on `device`.
    ///
    /// # Errors
    /// A weight or `pos_weight` that is negative or not finite, or the two of different
    /// lengths; `no_label_weight` negative or not finite, or not 0 with `per-label`.
    pub fn init(&self, device: &Device) -> Result<WeightedBinaryCrossEntropy, LossError> {
        self.validate()?;
        Ok(WeightedBinaryCrossEntropy {
            weights: self.weights.as_deref().map(|w| class_tensor(w, device)),
            pos_weight: self.pos_weight.as_deref().map(|w| class_tensor(w, device)),
            label_weighting: self.label_weighting,
            no_label_weight: self.no_label_weight,
            reduction: self.reduction,
        })
    }
}

/// Checks `no_label_weight`: finite, `>= 0`, and 0 unless `label_weighting` is `positive-sum`.
pub(crate) fn check_label_weighting(
    label_weighting: LabelWeighting,
    no_label_weight: f64,
) -> Result<(), LossError> {
    check_min(
        "no_label_weight",
        no_label_weight,
        0.0,
        false,
        "finite and >= 0",
    )?;
    if label_weighting != LabelWeighting::PositiveSum && no_label_weight != 0.0 {
        return Err(LossError::InvalidParameter {
            name: "no_label_weight",
            value: no_label_weight.to_string(),
            expected: "0 with label_weighting = \"per-label\" (it weighs rows without a \
                       positive label under \"positive-sum\" only)",
        });
    }
    Ok(())
}

/// Checks the per-class vectors of a sigmoid loss.
pub(crate) fn check_sigmoid_vectors(
    weights: Option<&[f64]>,
    pos_weight: Option<&[f64]>,
) -> Result<(), LossError> {
    if let Some(weights) = weights {
        check_class_values("weights", weights, None)?;
    }
    if let Some(pos_weight) = pos_weight {
        check_class_values("pos_weight", pos_weight, weights.map(<[f64]>::len))?;
    }
    Ok(())
}

loss_keys! {
    /// `kind = "sigmoid"` in a config file: the keys of [`WeightedBinaryCrossEntropy`], each
    /// defaulting to [`WeightedBinaryCrossEntropyConfig`]'s. Takes multi-hot targets.
    #[serde(default, deny_unknown_fields)]
    pub struct SigmoidKeys: WeightedBinaryCrossEntropyConfig::new(), weights {
        /// Per-class weight of the positive terms: values, or `balanced` from the counts.
        pos_weight: Option<PosWeight> = |config| config.pos_weight.clone().map(PosWeight::Values),
        /// How class weights weigh a multi-hot row.
        label_weighting: LabelWeighting => with_label_weighting,
        /// Under `positive-sum`, the weight of a row without a positive label.
        no_label_weight: f64 => with_no_label_weight,
    }
}

/// The [`LossKeys`] methods of the sigmoid kinds (`SigmoidKeys` here, `SigmoidFocalKeys`),
/// whose `config(counts)` is their `*Config` without class weights or `pos_weight`: they take
/// multi-hot targets.
macro_rules! sigmoid_loss_keys {
    () => {
        fn validate(&self) -> Result<(), $crate::LossError> {
            self.config(Vec::new())
                .with_pos_weight($crate::PosWeight::given_values(self.pos_weight.as_ref()))
                .validate()
        }

        fn build(
            &self,
            inputs: &$crate::config::kind::BuildInputs<'_>,
        ) -> Result<$crate::ImbalanceLoss, $crate::LossError> {
            Ok(self
                .config(inputs.class_counts())
                .with_weights(inputs.class_weights(self.weights.as_ref())?)
                .with_pos_weight(inputs.pos_weight(self.pos_weight.as_ref())?)
                .init(inputs.device)?
                .into())
        }

        $crate::config::kind::reduction_and_weights!();

        fn multi_label(&self) -> Result<(), &'static str> {
            Ok(())
        }

        fn no_label_row_weight(&self) -> Option<f64> {
            $crate::label_weighting::no_label_row_weight(
                self.weights.is_some(),
                self.label_weighting,
                self.no_label_weight,
            )
        }
    };
}

pub(crate) use sigmoid_loss_keys;

impl LossKeys for SigmoidKeys {
    sigmoid_loss_keys!();
}

/// One-vs-all binary cross-entropy, built by [`WeightedBinaryCrossEntropyConfig::init`].
#[derive(Module, Debug)]
pub struct WeightedBinaryCrossEntropy {
    weights: Option<Tensor<1>>,
    pos_weight: Option<Tensor<1>>,
    #[module(skip)]
    label_weighting: LabelWeighting,
    no_label_weight: f64,
    #[module(skip)]
    reduction: Reduction,
}

impl WeightedBinaryCrossEntropy {
    pub(crate) fn terms(&self) -> SigmoidTerms<'_> {
        SigmoidTerms {
            weights: self.weights.as_ref(),
            pos_weight: self.pos_weight.as_ref(),
            alpha: None,
            gamma: 0.0,
            label_weighting: self.label_weighting,
            no_label_weight: self.no_label_weight,
        }
    }

    crate::sigmoid::sigmoid_forwards!();
}
