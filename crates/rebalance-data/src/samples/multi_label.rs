//! Multi-label samples: a set of positive labels per row (multi-hot targets), stored compactly.

use rebalance_weights::ZeroCountPolicy;
use serde::Serialize;

use super::{LongTailData, Rows, Target};
use crate::DataError;

/// One multi-label sample: its features and the indices of its positive labels, increasing.
/// An empty list is a sample negative for every label.
///
/// ```
/// use burn::data::dataset::Dataset;
/// use rebalance_data::{MultiLabelSample, MultiLabelSamples};
///
/// let samples = MultiLabelSamples::new(vec![1.0, 2.0], vec![vec![3, 1]], 2, 4)?;
/// assert_eq!(
///     samples.get(0).ok(),
///     Some(MultiLabelSample { features: vec![1.0, 2.0], labels: vec![1, 3] })
/// );
/// # Ok::<(), rebalance_data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MultiLabelSample {
    /// The feature values.
    pub features: Vec<f32>,
    /// The positive labels' indices, increasing, without repeats.
    pub labels: Vec<u32>,
}

/// Multi-label samples in memory: one flat row-major `f32` buffer and, per sample, the sorted
/// indices of its positive labels. This is the multi-hot target matrix `[N, L]` stored
/// compactly (only the ones); [`multi_hot`](Self::multi_hot) writes a row out in full.
/// A Burn [`Dataset`](burn::data::dataset::Dataset) of [`MultiLabelSample`]s.
///
/// ```
/// use rebalance_data::MultiLabelSamples;
///
/// // Three samples of two features over three labels: {0, 2}, {} and {2}.
/// let samples = MultiLabelSamples::new(
///     vec![0.5, 1.0, -1.0, 0.0, 2.0, 2.5],
///     vec![vec![2, 0], vec![], vec![2]],
///     2,
///     3,
/// )?;
/// assert_eq!(samples.labels(1), &[] as &[u32]);
/// assert_eq!(samples.labels(0), &[0, 2]); // sorted
/// assert_eq!(samples.label_counts(3), [1, 0, 2]);
/// assert_eq!(samples.multi_hot(0, 3), [1.0, 0.0, 1.0]);
/// let stats = samples.labels_per_sample();
/// assert_eq!((stats.min, stats.max, stats.without_labels), (0, 2, 1));
/// assert_eq!(samples.select(&[2, 2]).label_counts(3), [0, 0, 2]);
/// # Ok::<(), rebalance_data::DataError>(())
/// ```
pub type MultiLabelSamples = Rows<Vec<u32>>;

/// How many positive labels the samples of a split carry (the label cardinality), from
/// [`MultiLabelSamples::labels_per_sample`].
///
/// ```
/// use rebalance_data::MultiLabelSamples;
///
/// let samples = MultiLabelSamples::new(vec![0.0; 3], vec![vec![0, 1], vec![], vec![1]], 1, 2)?;
/// let stats = samples.labels_per_sample();
/// assert_eq!(stats.mean, 1.0);
/// assert_eq!(stats.histogram, [1, 1, 1]); // one sample each with 0, 1 and 2 labels
/// # Ok::<(), rebalance_data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelsPerSample {
    /// The mean number of positive labels per sample (0 for no samples).
    pub mean: f64,
    /// The fewest positive labels on a sample.
    pub min: usize,
    /// The most positive labels on a sample.
    pub max: usize,
    /// Samples negative for every label.
    pub without_labels: usize,
    /// `histogram[k]`: samples with exactly `k` positive labels, `k` in `0..=max`.
    pub histogram: Vec<usize>,
}

impl MultiLabelSamples {
    /// Wraps a flat buffer of `labels.len()` rows of `dim` values; each sample's labels are
    /// sorted and repeats dropped.
    ///
    /// # Errors
    /// The buffer's length is not `labels.len() · dim`, or a label index is `>= num_labels`.
    pub fn new(
        features: Vec<f32>,
        mut labels: Vec<Vec<u32>>,
        dim: usize,
        num_labels: usize,
    ) -> Result<Self, DataError> {
        if features.len() != labels.len() * dim {
            return Err(DataError::invalid(
                "features",
                format!("a buffer of {} values", features.len()),
                format!("{} rows of {dim} values", labels.len()),
            ));
        }
        for (i, set) in labels.iter_mut().enumerate() {
            set.sort_unstable();
            set.dedup();
            if let Some(&label) = set.last()
                && label as usize >= num_labels
            {
                return Err(DataError::invalid(
                    "label",
                    format!("{label} (sample {i})"),
                    format!("< {num_labels}, the number of labels"),
                ));
            }
        }
        Ok(Self {
            features,
            labels,
            dim,
        })
    }

    /// The positive labels of sample `index`, increasing.
    ///
    /// # Panics
    /// If `index >= len()`.
    pub fn labels(&self, index: usize) -> &[u32] {
        &self.labels[index]
    }

    /// Every sample's positive labels, one sorted list per sample.
    pub fn label_sets(&self) -> &[Vec<u32>] {
        &self.labels
    }

    /// The multi-hot row of sample `index` over `num_labels` labels: 1 for a positive label,
    /// 0 otherwise (labels `>= num_labels` are left out).
    ///
    /// # Panics
    /// If `index >= len()`.
    pub fn multi_hot(&self, index: usize, num_labels: usize) -> Vec<f32> {
        let mut row = vec![0.0; num_labels];
        for &label in &self.labels[index] {
            if let Some(slot) = row.get_mut(label as usize) {
                *slot = 1.0;
            }
        }
        row
    }

    /// Per-label positive counts over `num_labels` labels: a sample counts once for each of its
    /// positive labels, so the counts sum to the number of (sample, positive label) pairs, not
    /// to `len()`. These are the counts the class weights are computed from (labels
    /// `>= num_labels` are not counted).
    pub fn label_counts(&self, num_labels: usize) -> Vec<usize> {
        self.class_counts(num_labels)
    }

    /// The label counts of [`label_counts`](Self::label_counts), checked for the weights: under
    /// the zero-count policy `error`, a label without a positive sample is an error naming it
    /// (`names[label]`, or its index when `names` is shorter) and `split`; the policies
    /// `zero-weight` and `add-one` accept it, as the weights do.
    ///
    /// # Errors
    /// [`DataError::EmptyLabel`] for the first label with no positive sample, under
    /// [`ZeroCountPolicy::Error`].
    pub fn checked_label_counts(
        &self,
        names: &[String],
        zero_count: ZeroCountPolicy,
        split: &'static str,
    ) -> Result<Vec<usize>, DataError> {
        check_positives(self.label_counts(names.len()), names, zero_count, split, "")
    }

    /// Per-sample weights from per-label weights: the sum of the weights of the sample's
    /// positive labels (the article's rule for multi-hot targets). A sample without a positive
    /// label weighs 0; labels beyond `label_weights` add nothing.
    ///
    /// ```
    /// use rebalance_data::MultiLabelSamples;
    ///
    /// let samples = MultiLabelSamples::new(vec![0.0; 3], vec![vec![0, 2], vec![], vec![1]], 1, 3)?;
    /// assert_eq!(samples.sample_weights(&[0.5, 1.0, 2.0]), [2.5, 0.0, 1.0]);
    /// # Ok::<(), rebalance_data::DataError>(())
    /// ```
    pub fn sample_weights(&self, label_weights: &[f64]) -> Vec<f64> {
        self.labels
            .iter()
            .map(|set| {
                set.iter()
                    .filter_map(|&l| label_weights.get(l as usize))
                    .sum()
            })
            .collect()
    }

    /// How many positive labels the samples carry: mean, min, max, histogram.
    pub fn labels_per_sample(&self) -> LabelsPerSample {
        let sizes = self.labels.iter().map(Vec::len);
        let max = sizes.clone().max().unwrap_or(0);
        let mut histogram = vec![0; max + 1];
        for k in sizes.clone() {
            histogram[k] += 1;
        }
        let total: usize = sizes.clone().sum();
        LabelsPerSample {
            mean: if self.is_empty() {
                0.0
            } else {
                total as f64 / self.len() as f64
            },
            min: sizes.min().unwrap_or(0),
            max,
            without_labels: histogram[0],
            histogram,
        }
    }
}

/// A label set counts once for each of its positive labels, and is exported as one 0/1 column
/// per label, named by the label (read back by [`MultiLabelCsv`](crate::MultiLabelCsv) with
/// [`LabelLayout::Columns`](crate::LabelLayout::Columns) of those names).
impl Target for Vec<u32> {
    type Sample = MultiLabelSample;

    fn bytes(&self) -> usize {
        self.len() * std::mem::size_of::<u32>()
    }

    fn sample(&self, features: Vec<f32>) -> MultiLabelSample {
        MultiLabelSample {
            features,
            labels: self.clone(),
        }
    }

    fn count(&self, counts: &mut [usize]) {
        for &label in self {
            if let Some(slot) = counts.get_mut(label as usize) {
                *slot += 1;
            }
        }
    }

    fn csv_header(class_names: &[String]) -> Vec<String> {
        class_names.iter().map(|n| csv_field(n)).collect()
    }

    fn csv_fields(&self, num_classes: usize) -> Vec<String> {
        let mut fields = vec!["0".to_string(); num_classes];
        for &label in self {
            if let Some(field) = fields.get_mut(label as usize) {
                *field = "1".to_string();
            }
        }
        fields
    }
}

/// A CSV field: quoted (quotes doubled) when it holds a comma, quote or line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// `counts`, or the error for its first zero under the `error` policy.
pub(crate) fn check_positives(
    counts: Vec<usize>,
    names: &[String],
    zero_count: ZeroCountPolicy,
    split: &'static str,
    cause: &str,
) -> Result<Vec<usize>, DataError> {
    if zero_count == ZeroCountPolicy::Error
        && let Some(label) = counts.iter().position(|&n| n == 0)
    {
        return Err(DataError::EmptyLabel {
            label: names
                .get(label)
                .cloned()
                .unwrap_or_else(|| label.to_string()),
            split,
            cause: cause.to_string(),
        });
    }
    Ok(counts)
}

/// A multi-label dataset ([`LongTailData`] of label sets): training, optional validation, and
/// test splits over `num_classes` named labels. [`MultiLabelCsv`](crate::MultiLabelCsv) and
/// [`MultiLabelSyntheticConfig`](crate::MultiLabelSyntheticConfig) build one.
///
/// ```
/// use rebalance_data::{MultiLabelData, MultiLabelSamples};
/// use rebalance_weights::ZeroCountPolicy;
///
/// // Ten samples of one feature over two labels: "a" on all, "b" on the first three.
/// let labels = (0..10).map(|i| if i < 3 { vec![0, 1] } else { vec![0] }).collect();
/// let train = MultiLabelSamples::new((0..10).map(|i| i as f32).collect(), labels, 1, 2)?;
/// let data = MultiLabelData {
///     test: train.select(&[0, 5]),
///     train,
///     validation: None,
///     num_classes: 2,
///     class_names: vec!["a".into(), "b".into()],
///     feature_shape: vec![1],
/// };
/// // The counts the label weights are computed from.
/// assert_eq!(data.train_label_counts(ZeroCountPolicy::Error)?, [10, 3]);
/// // A validation split of a fifth; "b" keeps a positive on each side.
/// let data = data.hold_out_validation(0.2, 7)?;
/// let validation = data.validation.as_ref().unwrap();
/// assert_eq!((data.train.len(), validation.len()), (8, 2));
/// assert_eq!(data.train.label_counts(2)[1] + validation.label_counts(2)[1], 3);
/// assert!(validation.label_counts(2)[1] >= 1 && data.train.label_counts(2)[1] >= 1);
/// # Ok::<(), rebalance_data::DataError>(())
/// ```
pub type MultiLabelData = LongTailData<Vec<u32>>;

impl MultiLabelData {
    /// The training split's per-label positive counts, the input of the label weights,
    /// checked under `zero_count` (see [`MultiLabelSamples::checked_label_counts`]).
    ///
    /// # Errors
    /// [`DataError::EmptyLabel`] naming the first label with no positive training sample,
    /// under [`ZeroCountPolicy::Error`].
    pub fn train_label_counts(&self, zero_count: ZeroCountPolicy) -> Result<Vec<usize>, DataError> {
        self.train
            .checked_label_counts(&self.class_names, zero_count, "training")
    }

    /// Holds out `fraction` of the training split as the validation split, by
    /// [`iterative_stratified_split`](crate::iterative_stratified_split) seeded with `seed`:
    /// every label with two or more training positives keeps one in each.
    ///
    /// # Errors
    /// `fraction` outside `(0, 1)`, or a validation split left empty.
    pub fn hold_out_validation(mut self, fraction: f64, seed: u64) -> Result<Self, DataError> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(DataError::invalid(
                "validation_fraction",
                fraction,
                "in (0, 1)",
            ));
        }
        let split = crate::iterative_stratified_split(
            self.train.label_sets(),
            self.num_classes,
            fraction,
            seed,
        );
        if split.second.is_empty() {
            return Err(DataError::EmptySplit {
                split: "validation",
            });
        }
        self.validation = Some(self.train.select(&split.second));
        self.train = self.train.select(&split.first);
        Ok(self)
    }
}
