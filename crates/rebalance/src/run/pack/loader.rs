//! The batches of a packed group: each run's own loader (its data, shuffle order, re-sampling
//! and augmentation, built as when it trains alone), stepped in lockstep and stacked into
//! `[R, B, ...]` batches.

use anyhow::bail;
use burn::data::dataloader::DataLoaderIterator;
use burn::prelude::*;
use rebalance_data::SampleBatch;

use crate::run::task::Loader;

/// A step of a packed group: every run's batch, stacked.
#[derive(Debug, Clone)]
pub(super) struct PackedBatch {
    /// `[R, B, features]`.
    pub features: Tensor<3>,
    /// `[R, B]` class indices.
    pub targets: Tensor<2, Int>,
}

impl PackedBatch {
    /// The runs' batches `batches[r]`, stacked.
    ///
    /// # Errors
    /// Batches of different sizes (runs whose epochs do not step together).
    fn stack(batches: Vec<SampleBatch>) -> anyhow::Result<Self> {
        let sizes: Vec<[usize; 2]> = batches.iter().map(|b| b.features.dims()).collect();
        if sizes.windows(2).any(|w| w[0] != w[1]) {
            bail!("the runs' batches differ in shape ({sizes:?}): they cannot share a step");
        }
        let (features, targets) = batches.into_iter().map(|b| (b.features, b.targets)).unzip();
        Ok(Self {
            features: Tensor::stack(features, 0),
            targets: Tensor::stack(targets, 0),
        })
    }
}

/// One epoch of every run's loader, in lockstep.
pub(super) struct Lockstep<'a> {
    epochs: Vec<Box<dyn DataLoaderIterator<SampleBatch> + 'a>>,
}

impl<'a> Lockstep<'a> {
    /// The next epoch of each of `loaders` (one per run).
    pub(super) fn new(loaders: &'a [Loader<SampleBatch>]) -> Self {
        Self {
            epochs: loaders.iter().map(|l| l.iter()).collect(),
        }
    }
}

impl Iterator for Lockstep<'_> {
    type Item = anyhow::Result<PackedBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let batches: Vec<Option<_>> = self.epochs.iter_mut().map(Iterator::next).collect();
        if batches.iter().all(Option::is_none) {
            return None;
        }
        let step = || -> anyhow::Result<PackedBatch> {
            let batches = batches
                .into_iter()
                .enumerate()
                .map(|(r, batch)| match batch {
                    Some(batch) => Ok(batch?),
                    None => bail!(
                        "run {} of the pack ended its epoch before the others",
                        r + 1
                    ),
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            PackedBatch::stack(batches)
        };
        Some(step())
    }
}
