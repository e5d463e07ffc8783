//! The multi-label options of the sigmoid losses: [`PosWeight`] (a vector, or `"balanced"`
//! from the training counts) and [`LabelWeighting`] (how class weights weigh a multi-hot row).

use std::fmt;

use rebalance_weights::ClassCounts;
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::LossError;

rebalance_weights::config_enum! {
    /// How the class weights `w_c` of a sigmoid loss weigh the element losses `e_{n,c}` of a
    /// multi-hot row `y_n` (config key `label_weighting`).
    ///
    /// | name | element weight | sample weight `s_n` (the `weighted-mean` denominator) |
    /// |---|---|---|
    /// | `positive-sum` (default) | `s_n` | `Σ_{c: y_nc > 0} w_c`; `no_label_weight` for a row without a positive label |
    /// | `per-label` | `w_c` (column `c`) | `mean_c w_c` |
    ///
    /// `positive-sum` is the rule of the weighting article: a row weighs the sum of the class
    /// weights of its positive labels, and a row with no positive label weighs
    /// `no_label_weight` (default 0: it drops out). `per-label` is PyTorch's
    /// `BCEWithLogitsLoss(weight=w)` with `w` broadcast over the columns: the per-sample loss
    /// is `l_n = Σ_c w_c·e_{n,c}`, so `reduction = "mean"` is
    /// `binary_cross_entropy_with_logits(z, y, weight=w, reduction='none').sum(1).mean()`; its
    /// `weighted-mean` divides `Σ_n l_n` by `Σ_n mean_c w_c = N·mean(w)`, which is the plain
    /// mean when every weight is 1.
    ///
    /// Class-index (single-label) targets are their one-hot rows: under `positive-sum` a
    /// sample weighs the class weight `w_y` of its label (the behaviour of every softmax
    /// loss); under `per-label` its loss is `Σ_c w_c·e_{n,c}`, every column weighted by its
    /// own class (the negatives of the other classes included), with sample weight `mean_c w_c`
    /// — not `w_y`.
    ///
    /// Without class weights (`scheme = "uniform"`) both rules are the unweighted loss: every
    /// element weighs 1 and every row (even one with no positive label) weighs 1.
    pub enum LabelWeighting("label_weighting", LossError) {
        /// Sample weight = the sum of the class weights of the positive labels (the default).
        #[default]
        PositiveSum,
        /// Element `(n, c)` weighted by `w_c`, as PyTorch's `BCEWithLogits(weight=w)`.
        PerLabel,
    }
}

/// The per-label weight `pw_c` of the positive term of a sigmoid loss (config key
/// `pos_weight`): given values, or `"balanced"`, `n_neg / n_pos` of each label on the
/// training split.
///
/// In a config file: a list of numbers (`pos_weight = [1.0, 9.0, 99.0]`) or the string
/// `"balanced"`.
///
/// ```
/// use rebalance_loss::PosWeight;
/// use rebalance_weights::ClassCounts;
///
/// // 100 training rows; label 0 is positive in 20 of them, label 1 in 50, label 2 in none.
/// let counts = ClassCounts::from_counts(vec![20, 50, 0])?;
/// let pw = PosWeight::Balanced.resolve(&counts, 100)?;
/// assert_eq!(pw, vec![4.0, 1.0, 1.0]); // 80/20, 50/50, and 1 for a label never positive
/// assert_eq!(rebalance_loss::balanced_pos_weight(&counts, 100)?, pw);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum PosWeight {
    /// One value per label, finite and `>= 0`.
    Values(Vec<f64>),
    /// `(N - n_pos) / n_pos` per label: see [`balanced_pos_weight`].
    Balanced,
}

impl PosWeight {
    /// The name of the computed form in a config file.
    pub const BALANCED: &'static str = "balanced";

    /// The per-label values for training `samples` rows with `label_counts` positives per
    /// label. `Values` are returned as given (their length and range are checked when the loss
    /// is built).
    ///
    /// # Errors
    /// As [`balanced_pos_weight`] for `Balanced`.
    pub fn resolve(&self, label_counts: &ClassCounts, samples: u64) -> Result<Vec<f64>, LossError> {
        match self {
            PosWeight::Values(values) => Ok(values.clone()),
            PosWeight::Balanced => balanced_pos_weight(label_counts, samples),
        }
    }

    /// The values of a given `pos_weight`, for the checks that need no counts (`balanced`
    /// has none to check).
    pub(crate) fn given_values(pos_weight: Option<&PosWeight>) -> Option<Vec<f64>> {
        match pos_weight {
            Some(PosWeight::Values(values)) => Some(values.clone()),
            _ => None,
        }
    }
}

/// The weight of a multi-hot row without a positive label where it differs from the other
/// rows' rule: `no_label_weight` for class weights (`weighted`) under `positive-sum`, else
/// `None` (see [`LossConfig::no_label_row_weight`](crate::LossConfig::no_label_row_weight)).
pub(crate) fn no_label_row_weight(
    weighted: bool,
    label_weighting: LabelWeighting,
    no_label_weight: f64,
) -> Option<f64> {
    (weighted && label_weighting == LabelWeighting::PositiveSum).then_some(no_label_weight)
}

/// `pos_weight = "balanced"`: for each label, `n_neg / n_pos = (N - n_pos) / n_pos`, with
/// `n_pos` the label's positive count in `label_counts` and `N = samples` the number of
/// training rows (for single-label data, `counts.total()`). It weighs a label's positive
/// terms as much, in sum, as its negative terms. A label with `n_pos = 0` gets 1: its positive
/// term never occurs in training, so the value does not change the loss there.
///
/// ```
/// let counts = rebalance_weights::ClassCounts::from_counts(vec![1, 3])?;
/// assert_eq!(rebalance_loss::balanced_pos_weight(&counts, 4)?, vec![3.0, 1.0 / 3.0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`LossError::MorePositivesThanSamples`] when a label's count exceeds `samples`.
pub fn balanced_pos_weight(
    label_counts: &ClassCounts,
    samples: u64,
) -> Result<Vec<f64>, LossError> {
    label_counts
        .as_slice()
        .iter()
        .enumerate()
        .map(|(label, &n_pos)| match n_pos {
            0 => Ok(1.0),
            n if n > samples => Err(LossError::MorePositivesThanSamples {
                label,
                count: n,
                samples,
            }),
            n => Ok((samples - n) as f64 / n as f64),
        })
        .collect()
}

impl Serialize for PosWeight {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            PosWeight::Values(values) => values.serialize(serializer),
            PosWeight::Balanced => serializer.serialize_str(Self::BALANCED),
        }
    }
}

impl<'de> Deserialize<'de> for PosWeight {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PosWeightVisitor;

        impl<'de> Visitor<'de> for PosWeightVisitor {
            type Value = PosWeight;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of numbers (one per label) or \"balanced\"")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<PosWeight, E> {
                if text.eq_ignore_ascii_case(PosWeight::BALANCED) {
                    Ok(PosWeight::Balanced)
                } else {
                    Err(E::custom(unknown_pos_weight(text)))
                }
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PosWeight, A::Error> {
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(value) = seq.next_element::<f64>()? {
                    values.push(value);
                }
                Ok(PosWeight::Values(values))
            }
        }

        deserializer.deserialize_any(PosWeightVisitor)
    }
}

/// The one-line error of a `pos_weight` string other than `"balanced"`.
fn unknown_pos_weight(text: &str) -> String {
    format!(
        "unknown pos_weight {text:?}: expected a list of numbers (one per label) or \"balanced\""
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_is_negatives_over_positives() {
        let counts = ClassCounts::from_counts(vec![10, 1, 0, 7]).unwrap();
        assert_eq!(
            balanced_pos_weight(&counts, 10).unwrap(),
            vec![0.0, 9.0, 1.0, 3.0 / 7.0]
        );
        let err = balanced_pos_weight(&counts, 9).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pos_weight = \"balanced\": label 0 has 10 positives but there are only 9 \
             training samples (samples must count the training rows)"
        );
    }

    #[test]
    fn serde_takes_a_list_or_balanced() {
        let pw: PosWeight = serde_json::from_str("[1.0, 2.5]").unwrap();
        assert_eq!(pw, PosWeight::Values(vec![1.0, 2.5]));
        let pw: PosWeight = serde_json::from_str("\"Balanced\"").unwrap();
        assert_eq!(pw, PosWeight::Balanced);
        assert_eq!(serde_json::to_string(&pw).unwrap(), "\"balanced\"");
        let err = serde_json::from_str::<PosWeight>("\"nope\"").unwrap_err();
        assert!(
            err.to_string().starts_with(
                "unknown pos_weight \"nope\": expected a list of numbers (one per label) \
                 or \"balanced\""
            ),
            "{err}"
        );
    }

    #[test]
    fn label_weighting_names() {
        assert_eq!(LabelWeighting::default(), LabelWeighting::PositiveSum);
        rebalance_testing::assert_config_names::<LabelWeighting>(
            "x",
            "unknown label_weighting \"x\": expected one of positive-sum, per-label",
        );
    }
}
