//! Batches of samples as Burn tensors.

use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;

use rand::rngs::Xoshiro256PlusPlus;

use crate::{AugmentedSample, ImageAugmentation, MultiLabelSample, Sample, Standardizer};

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

    /// The same batcher, augmenting each image after standardization (for training batches of
    /// [`AugmentedSample`]s, which [`crate::AugmentedSamples`] numbers).
    pub fn with_augmentation(mut self, augmentation: ImageAugmentation) -> Self {
        self.augmentation = Some(augmentation);
        self
    }

    /// The augmentation of the training batches, if any.
    pub fn augmentation(&self) -> Option<&ImageAugmentation> {
        self.augmentation.as_ref()
    }
}

impl SampleBatcher {
    /// The batch of `items`, each standardized, then augmented where it comes with its draws.
    fn batch_of<'a>(
        &self,
        items: impl ExactSizeIterator<Item = (&'a Sample, Option<Xoshiro256PlusPlus>)>,
        device: &Device,
    ) -> SampleBatch {
        let batch_size = items.len();
        let mut features = Vec::new();
        let mut targets = Vec::with_capacity(batch_size);
        let mut standardized = Vec::new();
        let mut dim = 0;
        for (item, draws) in items {
            dim = item.features.len();
            match (&self.augmentation, draws) {
                (Some(augmentation), Some(mut rng)) => {
                    standardized.clear();
                    match &self.standardizer {
                        Some(s) => s.apply_into(&item.features, &mut standardized),
                        None => standardized.extend_from_slice(&item.features),
                    }
                    augmentation.apply(&standardized, &mut rng, &mut features);
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

/// Standardized samples, not augmented (the draws need each sample's epoch and position).
impl Batcher<Sample, SampleBatch> for SampleBatcher {
    fn batch(&self, items: Vec<Sample>, device: &Device) -> SampleBatch {
        self.batch_of(items.iter().map(|item| (item, None)), device)
    }
}

/// Standardized samples, augmented if the batcher augments: each with the draws of its epoch
/// and position.
impl Batcher<AugmentedSample, SampleBatch> for SampleBatcher {
    fn batch(&self, items: Vec<AugmentedSample>, device: &Device) -> SampleBatch {
        let draws = |item: &AugmentedSample| {
            self.augmentation
                .as_ref()
                .map(|a| a.draws(item.epoch, item.index))
        };
        self.batch_of(items.iter().map(|item| (&item.sample, draws(item))), device)
    }
}

/// A multi-label batch: features `[batch_size, features]` and multi-hot targets
/// `[batch_size, num_labels]` (1.0 for a positive label, 0.0 otherwise), the input of sigmoid
/// losses. A sample's weight under the article's rule is `targets.matmul(label_weights)`.
#[derive(Debug, Clone)]
pub struct MultiLabelBatch {
    /// `[batch_size, features]`.
    pub features: Tensor<2>,
    /// `[batch_size, num_labels]`, multi-hot.
    pub targets: Tensor<2>,
}

/// Builds [`MultiLabelBatch`]es on the device it is given, standardizing the features as
/// [`SampleBatcher`] does and writing each sample's positive labels out as a multi-hot row
/// (labels `>= num_labels` are left out).
///
/// ```
/// use burn::data::dataloader::batcher::Batcher;
/// use burn::data::dataset::Dataset;
/// use burn::prelude::*;
/// use rebalance_data::{MultiLabelBatcher, MultiLabelSamples};
///
/// let samples = MultiLabelSamples::new(vec![1.0, 2.0], vec![vec![0, 2], vec![]], 1, 3)?;
/// let items = vec![samples.get(0).unwrap(), samples.get(1).unwrap()];
/// let batch = MultiLabelBatcher::new(3, None).batch(items, &Device::flex());
/// assert_eq!(batch.targets.dims(), [2, 3]);
/// let targets: Vec<f32> = batch.targets.into_data().iter::<f32>().collect();
/// assert_eq!(targets, [1.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
/// # Ok::<(), rebalance_data::DataError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MultiLabelBatcher {
    num_labels: usize,
    standardizer: Option<Standardizer>,
}

impl MultiLabelBatcher {
    /// A batcher over `num_labels` labels that applies `standardizer` (fit on the training
    /// split, [`Standardizer::per_feature_multi_label`]), or passes the features through
    /// with `None`.
    pub fn new(num_labels: usize, standardizer: Option<Standardizer>) -> Self {
        Self {
            num_labels,
            standardizer,
        }
    }
}

impl Batcher<MultiLabelSample, MultiLabelBatch> for MultiLabelBatcher {
    fn batch(&self, items: Vec<MultiLabelSample>, device: &Device) -> MultiLabelBatch {
        let batch_size = items.len();
        let dim = items.first().map_or(0, |s| s.features.len());
        let mut features = Vec::with_capacity(batch_size * dim);
        let mut targets = vec![0.0f32; batch_size * self.num_labels];
        for (i, item) in items.iter().enumerate() {
            match &self.standardizer {
                Some(s) => s.apply_into(&item.features, &mut features),
                None => features.extend_from_slice(&item.features),
            }
            for &label in &item.labels {
                if (label as usize) < self.num_labels {
                    targets[i * self.num_labels + label as usize] = 1.0;
                }
            }
        }
        MultiLabelBatch {
            features: Tensor::<2>::from_data(TensorData::new(features, [batch_size, dim]), device),
            targets: Tensor::<2>::from_data(
                TensorData::new(targets, [batch_size, self.num_labels]),
                device,
            ),
        }
    }
}
