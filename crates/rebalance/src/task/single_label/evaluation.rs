//! The confusion matrix and the metrics that matter under imbalance.

use serde::{Deserialize, Serialize};

/// A `C × C` confusion matrix: `counts[t][p]` samples of true class `t` predicted as `p`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confusion {
    counts: Vec<Vec<u64>>,
}

impl Confusion {
    /// An empty matrix for `num_classes` classes.
    pub fn new(num_classes: usize) -> Self {
        Self {
            counts: vec![vec![0; num_classes]; num_classes],
        }
    }

    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.counts.len()
    }

    /// Counts one (true, predicted) pair per element; pairs outside the classes are skipped.
    pub fn add(&mut self, targets: &[i64], predictions: &[i64]) {
        let c = self.num_classes() as i64;
        for (&t, &p) in targets.iter().zip(predictions) {
            if (0..c).contains(&t) && (0..c).contains(&p) {
                self.counts[t as usize][p as usize] += 1;
            }
        }
    }

    /// Clears every count.
    pub fn clear(&mut self) {
        self.counts.iter_mut().for_each(|row| row.fill(0));
    }

    /// The rows: `rows()[t][p]`.
    pub fn rows(&self) -> &[Vec<u64>] {
        &self.counts
    }

    /// Samples counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Samples of class `c` (its row sum), the "support".
    pub fn support(&self, c: usize) -> u64 {
        self.counts[c].iter().sum()
    }

    fn predicted(&self, c: usize) -> u64 {
        self.counts.iter().map(|row| row[c]).sum()
    }

    /// Recall of each class, `TP / (TP + FN)`; `None` for a class with no sample.
    pub fn recall(&self) -> Vec<Option<f64>> {
        (0..self.num_classes())
            .map(|c| {
                let support = self.support(c);
                (support > 0).then(|| self.counts[c][c] as f64 / support as f64)
            })
            .collect()
    }

    /// Precision of each class, `TP / (TP + FP)`; 0 for a class never predicted (scikit-learn's
    /// `zero_division=0`).
    pub fn precision(&self) -> Vec<f64> {
        (0..self.num_classes())
            .map(|c| {
                let predicted = self.predicted(c);
                if predicted == 0 {
                    0.0
                } else {
                    self.counts[c][c] as f64 / predicted as f64
                }
            })
            .collect()
    }

    /// F1 of each class; 0 where precision and recall are both 0.
    pub fn f1(&self) -> Vec<f64> {
        self.precision()
            .into_iter()
            .zip(self.recall())
            .map(|(p, r)| {
                let r = r.unwrap_or(0.0);
                if p + r == 0.0 {
                    0.0
                } else {
                    2.0 * p * r / (p + r)
                }
            })
            .collect()
    }

    /// Accuracy, `Σ TP / N`.
    pub fn accuracy(&self) -> f64 {
        let total = self.total();
        if total == 0 {
            return 0.0;
        }
        (0..self.num_classes())
            .map(|c| self.counts[c][c])
            .sum::<u64>() as f64
            / total as f64
    }

    /// Balanced accuracy: the mean recall over the classes present (scikit-learn's
    /// `balanced_accuracy_score`).
    pub fn balanced_accuracy(&self) -> f64 {
        let recalls: Vec<f64> = self.recall().into_iter().flatten().collect();
        if recalls.is_empty() {
            0.0
        } else {
            recalls.iter().sum::<f64>() / recalls.len() as f64
        }
    }

    /// Macro-F1: the mean F1 over the classes present in targets or predictions.
    pub fn macro_f1(&self) -> f64 {
        let f1 = self.f1();
        let present: Vec<f64> = (0..self.num_classes())
            .filter(|&c| self.support(c) > 0 || self.predicted(c) > 0)
            .map(|c| f1[c])
            .collect();
        if present.is_empty() {
            0.0
        } else {
            present.iter().sum::<f64>() / present.len() as f64
        }
    }

    /// G-mean: the geometric mean of the recalls of the classes present (0 as soon as one
    /// class is never recognised).
    pub fn g_mean(&self) -> f64 {
        let recalls: Vec<f64> = self.recall().into_iter().flatten().collect();
        if recalls.is_empty() {
            return 0.0;
        }
        recalls
            .iter()
            .product::<f64>()
            .powf(1.0 / recalls.len() as f64)
    }

    /// The headline numbers.
    pub fn scores(&self) -> Scores {
        Scores {
            accuracy: self.accuracy(),
            balanced_accuracy: self.balanced_accuracy(),
            macro_f1: self.macro_f1(),
            g_mean: self.g_mean(),
            per_class_recall: self
                .recall()
                .into_iter()
                .map(|r| r.unwrap_or(0.0))
                .collect(),
            per_class_precision: self.precision(),
            per_class_f1: self.f1(),
            support: (0..self.num_classes()).map(|c| self.support(c)).collect(),
        }
    }
}

/// Metrics of one evaluation, as fractions in `[0, 1]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Accuracy.
    pub accuracy: f64,
    /// Mean per-class recall.
    pub balanced_accuracy: f64,
    /// Mean per-class F1.
    pub macro_f1: f64,
    /// Geometric mean of per-class recall.
    pub g_mean: f64,
    /// Recall per class.
    pub per_class_recall: Vec<f64>,
    /// Precision per class.
    pub per_class_precision: Vec<f64>,
    /// F1 per class.
    pub per_class_f1: Vec<f64>,
    /// Test samples per class.
    pub support: Vec<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    // sklearn: y = [0,0,0,0,1,1,2,2], p = [0,0,0,1,1,0,2,0]
    //   balanced_accuracy_score = (3/4 + 1/2 + 1/2) / 3 = 0.5833333
    //   f1_score(average="macro") = mean(0.6666667, 0.5, 0.6666667) = 0.6111111
    #[test]
    fn matches_scikit_learn() {
        let mut m = Confusion::new(3);
        m.add(&[0, 0, 0, 0, 1, 1, 2, 2], &[0, 0, 0, 1, 1, 0, 2, 0]);
        assert_eq!(m.rows(), &[vec![3, 1, 0], vec![1, 1, 0], vec![1, 0, 1]]);
        assert!((m.balanced_accuracy() - 0.5833333).abs() < 1e-6);
        assert!((m.macro_f1() - 0.6111111).abs() < 1e-6);
        assert!((m.accuracy() - 0.625).abs() < 1e-12);
        assert!((m.g_mean() - (0.75f64 * 0.5 * 0.5).cbrt()).abs() < 1e-12);
        assert_eq!(m.precision(), [0.6, 0.5, 1.0]);
    }

    #[test]
    fn a_missed_class_zeroes_the_g_mean() {
        let mut m = Confusion::new(2);
        m.add(&[0, 1], &[0, 0]);
        assert_eq!(m.g_mean(), 0.0);
        assert_eq!(m.balanced_accuracy(), 0.5);
    }
}
