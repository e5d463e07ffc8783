//! Samples in memory, as a Burn dataset.

use burn::data::dataset::{Dataset, DatasetError};
use serde::Serialize;

use crate::DataError;

/// One sample: its features (a flat row; an image is `[channels, height, width]` in row-major
/// order) and its class.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The feature values, `feature_shape` flattened.
    pub features: Vec<f32>,
    /// The class index.
    pub label: usize,
}

/// Samples held in memory as one flat `f32` buffer, row-major, with their labels: a Burn
/// [`Dataset`] of [`Sample`]s.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Samples {
    pub(crate) features: Vec<f32>,
    pub(crate) labels: Vec<usize>,
    pub(crate) dim: usize,
}

impl Samples {
    /// Wraps a flat buffer of `labels.len()` rows of `dim` values.
    ///
    /// # Errors
    /// The buffer's length is not `labels.len() · dim`.
    pub fn new(features: Vec<f32>, labels: Vec<usize>, dim: usize) -> Result<Self, DataError> {
        if features.len() != labels.len() * dim {
            return Err(DataError::invalid(
                "features",
                format!("a buffer of {} values", features.len()),
                format!("{} rows of {dim} values", labels.len()),
            ));
        }
        Ok(Self {
            features,
            labels,
            dim,
        })
    }

    /// The number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per sample.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The labels, one per sample.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The flat feature buffer.
    pub fn features(&self) -> &[f32] {
        &self.features
    }

    /// The features of sample `index`.
    ///
    /// # Panics
    /// If `index >= len()`.
    pub fn row(&self, index: usize) -> &[f32] {
        &self.features[index * self.dim..(index + 1) * self.dim]
    }

    /// Per-class counts over `num_classes` classes (labels `>= num_classes` are not counted).
    pub fn class_counts(&self, num_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; num_classes];
        for &label in &self.labels {
            if let Some(slot) = counts.get_mut(label) {
                *slot += 1;
            }
        }
        counts
    }

    /// The samples at `indices`, in that order (indices may repeat).
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn select(&self, indices: &[usize]) -> Samples {
        let mut features = Vec::with_capacity(indices.len() * self.dim);
        for &i in indices {
            features.extend_from_slice(self.row(i));
        }
        Samples {
            features,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            dim: self.dim,
        }
    }

    /// Appends `other`'s samples.
    pub(crate) fn extend(&mut self, other: &Samples) {
        self.features.extend_from_slice(&other.features);
        self.labels.extend_from_slice(&other.labels);
    }
}

impl Dataset<Sample> for Samples {
    fn get(&self, index: usize) -> Result<Sample, DatasetError> {
        Ok(Sample {
            features: self.row(index).to_vec(),
            label: self.labels[index],
        })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

/// A long-tailed dataset: a training split whose class counts follow a profile, a test split
/// left as it is (balanced for the synthetic data and the standard benchmarks), and an
/// optional validation split.
#[derive(Debug, Clone, PartialEq)]
pub struct LongTailData {
    /// The training split.
    pub train: Samples,
    /// The validation split, if one was asked for.
    pub validation: Option<Samples>,
    /// The test split.
    pub test: Samples,
    /// The number of classes.
    pub num_classes: usize,
    /// The shape of one sample's features: `[d]`, or `[channels, height, width]`.
    pub feature_shape: Vec<usize>,
    /// A name per class: the original labels of a CSV file, or the class indices.
    pub class_names: Vec<String>,
}

/// The per-class counts of one split, as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitSummary {
    /// Samples per class.
    pub counts: Vec<usize>,
    /// Total samples.
    pub total: usize,
}
