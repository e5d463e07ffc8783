//! Samples in memory as Burn datasets, and a dataset's splits: one shape for both tasks. A
//! [`Target`] is what a sample is labelled with: a class index (single-label, [`Sample`]) or
//! the set of its positive labels (multi-label, [`MultiLabelSample`]).

mod multi_label;
mod single_label;

use burn::data::dataset::{Dataset, DatasetError};
use serde::Serialize;

pub(crate) use multi_label::check_positives;
pub use multi_label::{LabelsPerSample, MultiLabelData, MultiLabelSample, MultiLabelSamples};
pub use single_label::{Sample, Samples};

/// What a sample is labelled with, for the counts the class weights come from.
pub trait Target: Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static {
    /// One sample with this target, as a split's [`Dataset`] yields it.
    type Sample: Clone + std::fmt::Debug + Send + Sync + 'static;

    /// The sample of `features` with this target.
    fn sample(&self, features: Vec<f32>) -> Self::Sample;

    /// Adds this target to per-class `counts` (classes beyond them are not counted).
    fn count(&self, counts: &mut [usize]);

    /// The bytes the target takes in memory (a class index: a `usize`; a label set: a `u32`
    /// per label).
    fn bytes(&self) -> usize;

    /// The header of the target's columns in a CSV export, for classes named `class_names`.
    fn csv_header(class_names: &[String]) -> Vec<String>;

    /// The target's fields in a CSV export over `num_classes` classes.
    fn csv_fields(&self, num_classes: usize) -> Vec<String>;
}

/// A class index counts once for its class, and is exported as one `label` column.
impl Target for usize {
    type Sample = Sample;

    fn bytes(&self) -> usize {
        std::mem::size_of::<usize>()
    }

    fn sample(&self, features: Vec<f32>) -> Sample {
        Sample {
            features,
            label: *self,
        }
    }

    fn count(&self, counts: &mut [usize]) {
        if let Some(slot) = counts.get_mut(*self) {
            *slot += 1;
        }
    }

    fn csv_header(_: &[String]) -> Vec<String> {
        vec!["label".to_string()]
    }

    fn csv_fields(&self, _: usize) -> Vec<String> {
        vec![self.to_string()]
    }
}

/// Samples held in memory as one flat `f32` buffer, row-major, with each row's target: class
/// indices ([`Samples`], a Burn `Dataset` of [`Sample`]s) or label sets ([`MultiLabelSamples`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rows<T> {
    pub(crate) features: Vec<f32>,
    pub(crate) labels: Vec<T>,
    pub(crate) dim: usize,
}

impl<T: Target> Rows<T> {
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

    /// Per-class counts over `num_classes` classes: samples per class (single-label), or
    /// positives per label (multi-label, where a sample counts once for each of its labels, so
    /// the counts sum to more than `len()`). Classes `>= num_classes` are not counted.
    pub fn class_counts(&self, num_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; num_classes];
        for target in &self.labels {
            target.count(&mut counts);
        }
        counts
    }

    /// The samples at `indices`, in that order (indices may repeat).
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn select(&self, indices: &[usize]) -> Self {
        let mut features = Vec::with_capacity(indices.len() * self.dim);
        for &i in indices {
            features.extend_from_slice(self.row(i));
        }
        Self {
            features,
            labels: indices.iter().map(|&i| self.labels[i].clone()).collect(),
            dim: self.dim,
        }
    }

    /// Builds from parts already checked (targets valid, a buffer of `labels.len() · dim`).
    pub(crate) fn from_parts(features: Vec<f32>, labels: Vec<T>, dim: usize) -> Self {
        Self {
            features,
            labels,
            dim,
        }
    }

    /// Appends `other`'s samples.
    pub(crate) fn extend(&mut self, other: &Self) {
        self.features.extend_from_slice(&other.features);
        self.labels.extend_from_slice(&other.labels);
    }
}

impl<T: Target> Dataset<T::Sample> for Rows<T> {
    fn get(&self, index: usize) -> Result<T::Sample, DatasetError> {
        Ok(self.labels[index].sample(self.row(index).to_vec()))
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

/// A long-tailed dataset of either task: a training split whose class counts follow a profile
/// (multi-label: whose label frequencies are long-tailed), a test split left as it is
/// (balanced for the synthetic data and the standard benchmarks), and an optional validation
/// split. [`MultiLabelData`] is the multi-label one.
#[derive(Debug, Clone, PartialEq)]
pub struct LongTailData<T = usize> {
    /// The training split.
    pub train: Rows<T>,
    /// The validation split, if one was asked for.
    pub validation: Option<Rows<T>>,
    /// The test split.
    pub test: Rows<T>,
    /// The number of classes (of labels, multi-label).
    pub num_classes: usize,
    /// The shape of one sample's features: `[d]`, or `[channels, height, width]`.
    pub feature_shape: Vec<usize>,
    /// A name per class: the original labels of a CSV file (its label columns or label names,
    /// multi-label), or the class indices.
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

impl<T: Target> LongTailData<T> {
    /// The bytes the splits take in memory: the features as `f32`, and the targets.
    pub fn bytes(&self) -> u64 {
        let split = |s: &Rows<T>| {
            (s.features.len() * std::mem::size_of::<f32>()
                + s.labels.iter().map(Target::bytes).sum::<usize>()) as u64
        };
        split(&self.train) + split(&self.test) + self.validation.as_ref().map_or(0, split)
    }
}
