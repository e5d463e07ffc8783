//! Single-label samples: a class index per row.

use super::Rows;
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

/// Single-label samples: [`Rows`] of class indices, a Burn
/// [`Dataset`](burn::data::dataset::Dataset) of [`Sample`]s.
pub type Samples = Rows<usize>;

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

    /// The labels, one per sample.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }
}
