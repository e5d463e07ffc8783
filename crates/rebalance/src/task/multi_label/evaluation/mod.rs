//! Multi-label evaluation: the metrics of scores `[n, L]` (one sigmoid probability per sample
//! and label, row-major `f32`) against 0/1 targets `[n, L]`, as pure host functions with
//! scikit-learn's names and definitions. The multi-label counterpart
//! of `task/single_label/evaluation.rs`.
//!
//! - [`MultiLabelScores::new`] checks the shapes once; a label is predicted positive where its
//!   score is `>=` its threshold ([`Thresholds`]: one for every label, 0.5 by default, or one
//!   per label), as scikit-learn's `precision_recall_curve` does.
//! - [`MultiLabelScores::at`] counts each label's TP / FP / FN / TN at the thresholds, a
//!   [`LabelConfusion`], which gives micro-F1 and macro-F1 (`f1_score(average="micro" |
//!   "macro", zero_division=0)`), per-label precision / recall / F1 / support
//!   (`precision_recall_fscore_support(average=None, zero_division=0)`), subset accuracy
//!   (`accuracy_score` on indicator matrices) and the Hamming loss (`hamming_loss`).
//! - [`MultiLabelScores::average_precision`] is `average_precision_score(average=None)`, per
//!   label; [`MultiLabelScores::mean_average_precision`] their mean over the labels with at least
//!   one positive (mAP).
//! - [`MultiLabelScores::tune_thresholds`] picks each label's F1-maximising threshold on a
//!   validation split.
//!
//! Where a ratio's denominator is 0 the value is 0 (scikit-learn's `zero_division=0`), and so
//! is every ratio over no samples.

use thiserror::Error;

/// The default decision threshold on a sigmoid probability.
pub const DEFAULT_THRESHOLD: f32 = 0.5;

/// A refused multi-label input: each names the shape or the value at fault.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MultiLabelError {
    /// `num_labels` is 0.
    #[error("multi-label metrics need at least one label, got num_labels = 0")]
    NoLabels,
    /// The buffers do not hold `n · num_labels` values each.
    #[error(
        "multi-label scores ({scores} values) and targets ({targets} values) must both hold \
         n · {num_labels} values (row-major [n, {num_labels}])"
    )]
    Shape {
        /// Values in the score buffer.
        scores: usize,
        /// Values in the target buffer.
        targets: usize,
        /// Labels per sample.
        num_labels: usize,
    },
    /// A target other than 0 or 1.
    #[error("multi-label target of sample {sample}, label {label} is {value}; expected 0 or 1")]
    Target {
        /// The sample (row).
        sample: usize,
        /// The label (column).
        label: usize,
        /// The value found.
        value: f32,
    },
    /// A NaN score.
    #[error("multi-label score of sample {sample}, label {label} is NaN")]
    NanScore {
        /// The sample (row).
        sample: usize,
        /// The label (column).
        label: usize,
    },
    /// Per-label thresholds of another length than the labels.
    #[error("{given} per-label thresholds for {num_labels} labels")]
    ThresholdCount {
        /// Thresholds given.
        given: usize,
        /// Labels per sample.
        num_labels: usize,
    },
    /// A NaN threshold.
    #[error("the threshold of label {label} is NaN")]
    NanThreshold {
        /// The label.
        label: usize,
    },
}

/// The decision thresholds: a label is predicted positive where its score is `>=` its
/// threshold.
#[derive(Debug, Clone, PartialEq)]
pub enum Thresholds {
    /// One threshold for every label.
    Uniform(f32),
    /// One threshold per label, e.g. from [`MultiLabelScores::tune_thresholds`].
    PerLabel(Vec<f32>),
}

impl Default for Thresholds {
    /// [`DEFAULT_THRESHOLD`] for every label.
    fn default() -> Self {
        Self::Uniform(DEFAULT_THRESHOLD)
    }
}

impl Thresholds {
    /// The threshold of `label`.
    fn of(&self, label: usize) -> f32 {
        match self {
            Self::Uniform(t) => *t,
            Self::PerLabel(t) => t[label],
        }
    }
}

/// Scores and 0/1 targets of `n` samples over `num_labels` labels, checked: both row-major
/// `[n, num_labels]`, targets 0 or 1, no NaN score.
///
/// ```
/// use rebalance::task::multi_label::evaluation::{MultiLabelScores, Thresholds};
///
/// // Two samples, two labels.
/// let scores = [0.9, 0.2, 0.4, 0.7];
/// let targets = [1.0, 0.0, 1.0, 1.0];
/// let m = MultiLabelScores::new(&scores, &targets, 2)?;
/// let at = m.at(&Thresholds::default())?;
/// assert_eq!(at.subset_accuracy(), 0.5); // the second row misses label 0
/// assert_eq!(at.hamming_loss(), 0.25);
/// # Ok::<(), rebalance::task::multi_label::evaluation::MultiLabelError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MultiLabelScores<'a> {
    scores: &'a [f32],
    targets: &'a [f32],
    num_labels: usize,
}

impl<'a> MultiLabelScores<'a> {
    /// Checks and wraps `scores` and `targets`, each `[n, num_labels]` row-major.
    ///
    /// # Errors
    /// `num_labels` is 0, the buffers are not both `n · num_labels` long, a target is neither 0
    /// nor 1, or a score is NaN.
    pub fn new(
        scores: &'a [f32],
        targets: &'a [f32],
        num_labels: usize,
    ) -> Result<Self, MultiLabelError> {
        if num_labels == 0 {
            return Err(MultiLabelError::NoLabels);
        }
        if scores.len() != targets.len() || !scores.len().is_multiple_of(num_labels) {
            return Err(MultiLabelError::Shape {
                scores: scores.len(),
                targets: targets.len(),
                num_labels,
            });
        }
        for (i, (&s, &t)) in scores.iter().zip(targets).enumerate() {
            let (sample, label) = (i / num_labels, i % num_labels);
            if t != 0.0 && t != 1.0 {
                return Err(MultiLabelError::Target {
                    sample,
                    label,
                    value: t,
                });
            }
            if s.is_nan() {
                return Err(MultiLabelError::NanScore { sample, label });
            }
        }
        Ok(Self {
            scores,
            targets,
            num_labels,
        })
    }

    /// The number of samples `n`.
    pub fn len(&self) -> usize {
        self.scores.len() / self.num_labels
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// The number of labels `L`.
    pub fn num_labels(&self) -> usize {
        self.num_labels
    }

    /// Label `label`'s (score, positive) pairs, one per sample.
    fn column(&self, label: usize) -> impl Iterator<Item = (f32, bool)> + '_ {
        (0..self.len()).map(move |i| {
            let k = i * self.num_labels + label;
            (self.scores[k], self.targets[k] == 1.0)
        })
    }

    /// Each label's counts, and the samples predicted exactly, at `thresholds`.
    ///
    /// # Errors
    /// Per-label thresholds not one per label, or a NaN threshold.
    pub fn at(&self, thresholds: &Thresholds) -> Result<LabelConfusion, MultiLabelError> {
        let num_labels = self.num_labels;
        match thresholds {
            Thresholds::PerLabel(t) if t.len() != num_labels => {
                return Err(MultiLabelError::ThresholdCount {
                    given: t.len(),
                    num_labels,
                });
            }
            _ => {}
        }
        if let Some(label) = (0..num_labels).find(|&l| thresholds.of(l).is_nan()) {
            return Err(MultiLabelError::NanThreshold { label });
        }
        let mut counts = vec![LabelCounts::default(); num_labels];
        let mut exact_matches = 0;
        for i in 0..self.len() {
            let mut exact = true;
            for (l, c) in counts.iter_mut().enumerate() {
                let k = i * num_labels + l;
                let predicted = self.scores[k] >= thresholds.of(l);
                let positive = self.targets[k] == 1.0;
                match (positive, predicted) {
                    (true, true) => c.tp += 1,
                    (false, true) => c.fp += 1,
                    (true, false) => c.fn_ += 1,
                    (false, false) => c.tn += 1,
                }
                exact &= predicted == positive;
            }
            exact_matches += u64::from(exact);
        }
        Ok(LabelConfusion {
            counts,
            samples: self.len() as u64,
            exact_matches,
        })
    }

    /// Each label's average precision, scikit-learn's `average_precision_score(average=None)`:
    /// `AP = Σₙ (Rₙ − Rₙ₋₁) Pₙ` over the label's distinct scores taken as thresholds in
    /// decreasing order (samples of equal score enter together), `Pₙ` and `Rₙ` the precision
    /// and recall at the `n`-th threshold, `R₀ = 0`. No interpolation.
    ///
    /// `None` for a label without a positive sample, whose recall is undefined. scikit-learn
    /// 1.9 warns ("No positive class found in y_true") and gives such a column 0, which its
    /// `average="macro"` then averages in; here it is left out instead (see
    /// [`mean_average_precision`](Self::mean_average_precision)).
    pub fn average_precision(&self) -> Vec<Option<f64>> {
        (0..self.num_labels)
            .map(|l| {
                let mut column: Vec<(f32, bool)> = self.column(l).collect();
                let positives = column.iter().filter(|(_, p)| *p).count();
                if positives == 0 {
                    return None;
                }
                column.sort_by(|a, b| b.0.total_cmp(&a.0));
                let (mut tp, mut seen, mut ap) = (0usize, 0usize, 0.0f64);
                for group in column.chunk_by(|a, b| a.0 == b.0) {
                    let before = tp;
                    tp += group.iter().filter(|(_, p)| *p).count();
                    seen += group.len();
                    let recall_step = (tp - before) as f64 / positives as f64;
                    ap += recall_step * tp as f64 / seen as f64;
                }
                Some(ap)
            })
            .collect()
    }

    /// mAP: the mean of [`average_precision`](Self::average_precision) over the labels with at
    /// least one positive sample; `None` where no label has one. Labels without a positive
    /// are left out, not counted as 0 as scikit-learn's `average_precision_score(
    /// average="macro")` does: their AP is undefined, and counting them as 0 would make a
    /// rare label missing from a small test split look like a failure of the model.
    pub fn mean_average_precision(&self) -> Option<f64> {
        let defined: Vec<f64> = self.average_precision().into_iter().flatten().collect();
        (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64)
    }

    /// Per-label threshold tuning, meant for a validation split: for each label, the threshold
    /// maximising its F1 (`2 TP / (2 TP + FP + FN)`, predicting positive where score `>=`
    /// threshold) among the label's distinct scores. On a tie the larger threshold wins (fewer
    /// positive predictions for the same F1). A label with no positive sample (its F1 is 0 at
    /// every threshold), and every label of an empty split, gets `fallback` (e.g.
    /// [`DEFAULT_THRESHOLD`]).
    ///
    /// Use the result with [`Thresholds::PerLabel`] on the test split.
    pub fn tune_thresholds(&self, fallback: f32) -> Vec<f32> {
        (0..self.num_labels)
            .map(|l| {
                let mut column: Vec<(f32, bool)> = self.column(l).collect();
                let positives = column.iter().filter(|(_, p)| *p).count() as u64;
                if positives == 0 {
                    return fallback;
                }
                column.sort_by(|a, b| b.0.total_cmp(&a.0));
                // Best F1 so far as the fraction (2 TP, 2 TP + FP + FN), and its threshold.
                let mut best: Option<(u64, u64, f32)> = None;
                let (mut tp, mut seen) = (0u64, 0u64);
                for group in column.chunk_by(|a, b| a.0 == b.0) {
                    tp += group.iter().filter(|(_, p)| *p).count() as u64;
                    seen += group.len() as u64;
                    // 2 TP + FP + FN = TP + (TP + FP) + (TP + FN) = TP + seen + positives.
                    let (num, den) = (2 * tp, tp + seen + positives);
                    // Strictly better only: thresholds come in decreasing order, so a tie keeps
                    // the larger one.
                    if best.is_none_or(|(n, d, _)| num * d > n * den) {
                        best = Some((num, den, group[0].0));
                    }
                }
                best.map_or(fallback, |(_, _, t)| t)
            })
            .collect()
    }
}

/// One label's counts at a threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LabelCounts {
    /// Positive, predicted positive.
    pub tp: u64,
    /// Negative, predicted positive.
    pub fp: u64,
    /// Positive, predicted negative.
    pub fn_: u64,
    /// Negative, predicted negative.
    pub tn: u64,
}

impl LabelCounts {
    fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
}

/// `num / den`, 0 where `den` is 0 (`zero_division=0`).
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Per-label precision, recall, F1 and support, as scikit-learn's
/// `precision_recall_fscore_support(average=None, zero_division=0)` returns them.
#[derive(Debug, Clone, PartialEq)]
pub struct PerLabelScores {
    /// `TP / (TP + FP)`, 0 for a label never predicted.
    pub precision: Vec<f64>,
    /// `TP / (TP + FN)`, 0 for a label without positives.
    pub recall: Vec<f64>,
    /// `2 TP / (2 TP + FP + FN)`, 0 where that is 0 / 0.
    pub f1: Vec<f64>,
    /// Positive samples of each label.
    pub support: Vec<u64>,
}

/// Each label's TP / FP / FN / TN at some thresholds, and the samples whose every label was
/// predicted right: what every thresholded multi-label metric is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelConfusion {
    counts: Vec<LabelCounts>,
    samples: u64,
    exact_matches: u64,
}

impl LabelConfusion {
    /// Each label's counts.
    pub fn counts(&self) -> &[LabelCounts] {
        &self.counts
    }

    /// `precision_recall_fscore_support(average=None, zero_division=0)`.
    pub fn precision_recall_fscore_support(&self) -> PerLabelScores {
        PerLabelScores {
            precision: self
                .counts
                .iter()
                .map(|c| ratio(c.tp, c.tp + c.fp))
                .collect(),
            recall: self
                .counts
                .iter()
                .map(|c| ratio(c.tp, c.tp + c.fn_))
                .collect(),
            f1: self.counts.iter().map(LabelCounts::f1).collect(),
            support: self.counts.iter().map(|c| c.tp + c.fn_).collect(),
        }
    }

    /// Micro-F1, `f1_score(average="micro", zero_division=0)`: the F1 of the counts summed over
    /// labels, `2 ΣTP / (2 ΣTP + ΣFP + ΣFN)`.
    pub fn micro_f1(&self) -> f64 {
        let total = self
            .counts
            .iter()
            .fold(LabelCounts::default(), |a, c| LabelCounts {
                tp: a.tp + c.tp,
                fp: a.fp + c.fp,
                fn_: a.fn_ + c.fn_,
                tn: a.tn + c.tn,
            });
        total.f1()
    }

    /// Macro-F1, `f1_score(average="macro", zero_division=0)`: the unweighted mean of every
    /// label's F1, all labels included: one never positive and never predicted counts as 0, as
    /// in scikit-learn 1.9.
    pub fn macro_f1(&self) -> f64 {
        let f1: f64 = self.counts.iter().map(LabelCounts::f1).sum();
        f1 / self.counts.len().max(1) as f64
    }

    /// Subset accuracy, `accuracy_score` on indicator matrices: the fraction of samples whose
    /// predicted label set equals the true one exactly.
    pub fn subset_accuracy(&self) -> f64 {
        ratio(self.exact_matches, self.samples)
    }

    /// Hamming loss, `hamming_loss`: the fraction of (sample, label) pairs predicted wrong,
    /// `(ΣFP + ΣFN) / (n · L)`.
    pub fn hamming_loss(&self) -> f64 {
        let wrong: u64 = self.counts.iter().map(|c| c.fp + c.fn_).sum();
        ratio(wrong, self.samples * self.counts.len() as u64)
    }
}

#[cfg(test)]
mod tests;
