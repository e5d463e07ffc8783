//! The batches of a packed group: each run's own loader (its data, shuffle order, re-sampling
//! and augmentation, built as when it trains alone), stepped in lockstep and stacked into
//! `[R, B, ...]` batches.

use anyhow::bail;
use burn::data::dataloader::DataLoaderIterator;
use burn::prelude::*;

use super::PackTask;
use crate::run::task::Loader;

/// A step of a packed group: every run's batch, stacked.
#[derive(Debug, Clone)]
pub(super) struct PackedBatch<T: PackTask> {
    /// `[R, B, features]`.
    pub features: Tensor<3>,
    /// The runs' targets, as their task stacks them ([`PackTask`]).
    pub targets: T::Targets,
}

impl<T: PackTask> PackedBatch<T> {
    /// The runs' batches `batches[r]`, stacked.
    ///
    /// # Errors
    /// Batches of different sizes (runs whose epochs do not step together).
    fn stack(batches: Vec<T::Batch>) -> anyhow::Result<Self> {
        let (features, targets) = T::split(batches);
        let sizes: Vec<[usize; 2]> = features.iter().map(Tensor::dims).collect();
        if sizes.windows(2).any(|w| w[0] != w[1]) {
            bail!("the runs' batches differ in shape ({sizes:?}): they cannot share a step");
        }
        Ok(Self {
            features: Tensor::stack(features, 0),
            targets,
        })
    }
}

/// One epoch of every run's loader, in lockstep.
pub(super) struct Lockstep<'a, T: PackTask> {
    epochs: Vec<Box<dyn DataLoaderIterator<T::Batch> + 'a>>,
}

impl<'a, T: PackTask> Lockstep<'a, T> {
    /// The next epoch of each of `loaders` (one per run).
    pub(super) fn new(loaders: &'a [Loader<T::Batch>]) -> Self {
        Self {
            epochs: loaders.iter().map(|l| l.iter()).collect(),
        }
    }
}

impl<T: PackTask> Iterator for Lockstep<'_, T> {
    type Item = anyhow::Result<PackedBatch<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        let batches: Vec<Option<_>> = self.epochs.iter_mut().map(Iterator::next).collect();
        if batches.iter().all(Option::is_none) {
            return None;
        }
        let step = || -> anyhow::Result<PackedBatch<T>> {
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
