//! Per-class sample counts of a training split.

use serde::Serialize;

use crate::WeightError;

/// How many training samples each class has: the input of every weighting scheme.
///
/// Build it from labels ([`ClassCounts::from_labels`]) or from counts you already have
/// ([`ClassCounts::from_counts`]). Both check their input and never panic: zero classes,
/// a label `>= num_classes`, or a total of zero samples are errors.
///
/// A class may have a count of zero; what that means for its weight is decided by the
/// [`ZeroCountPolicy`](crate::ZeroCountPolicy) when weights are computed.
///
/// ```
/// use rebalance_weights::ClassCounts;
///
/// let counts = ClassCounts::from_labels(&[0, 0, 0, 1, 2, 2], 3)?;
/// assert_eq!(counts.as_slice(), &[3, 1, 2]);
/// assert_eq!(counts.total(), 6);
/// assert_eq!(counts.imbalance_factor(), 3.0);
/// # Ok::<(), rebalance_weights::WeightError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ClassCounts {
    counts: Vec<u64>,
}

impl ClassCounts {
    /// Counts the labels `0..num_classes` in `labels`.
    ///
    /// # Errors
    /// [`WeightError::NoClasses`] if `num_classes` is 0, [`WeightError::LabelOutOfRange`] for
    /// the first label `>= num_classes`, [`WeightError::EmptyDataset`] if `labels` is empty.
    pub fn from_labels(labels: &[usize], num_classes: usize) -> Result<Self, WeightError> {
        if num_classes == 0 {
            return Err(WeightError::NoClasses);
        }
        let mut counts = vec![0u64; num_classes];
        for (position, &label) in labels.iter().enumerate() {
            let slot = counts.get_mut(label).ok_or(WeightError::LabelOutOfRange {
                position,
                label,
                num_classes,
            })?;
            *slot += 1;
        }
        Self::from_counts(counts)
    }

    /// Takes per-class counts as they are: `counts[c]` is the number of samples of class `c`.
    ///
    /// # Errors
    /// [`WeightError::NoClasses`] if `counts` is empty, [`WeightError::EmptyDataset`] if
    /// every count is 0.
    pub fn from_counts(counts: impl Into<Vec<u64>>) -> Result<Self, WeightError> {
        let counts = counts.into();
        if counts.is_empty() {
            return Err(WeightError::NoClasses);
        }
        if counts.iter().all(|&n| n == 0) {
            return Err(WeightError::EmptyDataset);
        }
        Ok(Self { counts })
    }

    /// The number of classes `C`, empty ones included.
    pub fn num_classes(&self) -> usize {
        self.counts.len()
    }

    /// The number of samples `N = Σ_c n_c`.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The count of class `class`, or `None` if there is no such class.
    pub fn get(&self, class: usize) -> Option<u64> {
        self.counts.get(class).copied()
    }

    /// The counts, indexed by class.
    pub fn as_slice(&self) -> &[u64] {
        &self.counts
    }

    /// The imbalance factor `max_c n_c / min_c n_c`, over the classes with at least one sample
    /// (the "IF" of the long-tailed literature: CIFAR-10-LT with IF 100 has 5000 and 50).
    pub fn imbalance_factor(&self) -> f64 {
        let non_zero = self.counts.iter().copied().filter(|&n| n > 0);
        let max = non_zero.clone().max().unwrap_or(1);
        let min = non_zero.min().unwrap_or(1);
        max as f64 / min as f64
    }

    /// Indices of the classes with no sample, in increasing order.
    pub fn empty_classes(&self) -> impl Iterator<Item = usize> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n == 0)
            .map(|(c, _)| c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_labels_counts_each_class() {
        let counts = ClassCounts::from_labels(&[2, 0, 2, 2, 0], 4).unwrap();
        assert_eq!(counts.as_slice(), &[2, 0, 3, 0]);
        assert_eq!(counts.num_classes(), 4);
        assert_eq!(counts.total(), 5);
        assert_eq!(counts.get(2), Some(3));
        assert_eq!(counts.get(4), None);
        assert_eq!(counts.empty_classes().collect::<Vec<_>>(), vec![1, 3]);
    }

    #[test]
    fn imbalance_factor_ignores_empty_classes() {
        let counts = ClassCounts::from_counts(vec![5000, 0, 50]).unwrap();
        assert_eq!(counts.imbalance_factor(), 100.0);
        let balanced = ClassCounts::from_counts(vec![7, 7]).unwrap();
        assert_eq!(balanced.imbalance_factor(), 1.0);
    }

    #[test]
    fn no_classes_is_an_error() {
        let err = ClassCounts::from_counts(Vec::<u64>::new()).unwrap_err();
        assert_eq!(err, WeightError::NoClasses);
        assert_eq!(
            err.to_string(),
            "no classes: class counts need at least one class"
        );
        assert_eq!(
            ClassCounts::from_labels(&[], 0).unwrap_err(),
            WeightError::NoClasses
        );
    }

    #[test]
    fn label_out_of_range_names_the_label() {
        let err = ClassCounts::from_labels(&[0, 1, 3, 7], 3).unwrap_err();
        assert_eq!(
            err.to_string(),
            "label 3 at position 2 is out of range: labels must be in 0..3 (num_classes = 3)"
        );
    }

    #[test]
    fn zero_total_is_an_error() {
        let err = ClassCounts::from_counts(vec![0, 0, 0]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the class counts have a total of 0 samples: at least one class needs a sample"
        );
        assert_eq!(
            ClassCounts::from_labels(&[], 3).unwrap_err(),
            WeightError::EmptyDataset
        );
    }
}
