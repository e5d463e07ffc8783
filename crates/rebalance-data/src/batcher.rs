//! Batches of samples as Burn tensors.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;

use crate::{ImageAugmentation, Sample, Standardizer};

/// A batch: features `[batch_size, features]` (images flattened; reshape to
/// `[batch_size, channels, height, width]` in the model) and class indices `[batch_size]`.
#[derive(Debug, Clone)]
pub struct SampleBatch {
    /// `[batch_size, features]`.
    pub features: Tensor<2>,
    /// `[batch_size]` class indices.
    pub targets: Tensor<1, Int>,
}

/// Builds [`SampleBatch`]es on the device it is given: the rows are standardized and packed
/// into one host buffer, then copied to the device once per batch.
#[derive(Debug, Clone, Default)]
pub struct SampleBatcher {
    standardizer: Option<Standardizer>,
    augmentation: Option<ImageAugmentation>,
}

impl SampleBatcher {
    /// A batcher that applies `standardizer` (fit on the training split), or passes the
    /// features through with `None`.
    pub fn new(standardizer: Option<Standardizer>) -> Self {
        Self {
            standardizer,
            augmentation: None,
        }
    }

    /// The same batcher, augmenting each image after standardization (for training batches).
    pub fn with_augmentation(mut self, augmentation: ImageAugmentation) -> Self {
        self.augmentation = Some(augmentation);
        self
    }
}

impl Batcher<Sample, SampleBatch> for SampleBatcher {
    fn batch(&self, items: Vec<Sample>, device: &Device) -> SampleBatch {
        let batch_size = items.len();
        let dim = items.first().map_or(0, |s| s.features.len());
        let mut features = Vec::with_capacity(batch_size * dim);
        let mut targets = Vec::with_capacity(batch_size);
        let mut rng = self
            .augmentation
            .as_ref()
            .map(ImageAugmentation::next_batch);
        let mut standardized = Vec::with_capacity(dim);
        for item in &items {
            match (&self.augmentation, &mut rng) {
                (Some(augmentation), Some(rng)) => {
                    standardized.clear();
                    match &self.standardizer {
                        Some(s) => s.apply_into(&item.features, &mut standardized),
                        None => standardized.extend_from_slice(&item.features),
                    }
                    augmentation.apply(&standardized, rng, &mut features);
                }
                _ => match &self.standardizer {
                    Some(s) => s.apply_into(&item.features, &mut features),
                    None => features.extend_from_slice(&item.features),
                },
            }
            targets.push(item.label as i64);
        }
        SampleBatch {
            features: Tensor::<2>::from_data(TensorData::new(features, [batch_size, dim]), device),
            targets: Tensor::<1, Int>::from_data(TensorData::new(targets, [batch_size]), device),
        }
    }
}
