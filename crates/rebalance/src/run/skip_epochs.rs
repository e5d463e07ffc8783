//! A resumed run's training loader: shuffled as the epochs it skips had shuffled it.
//!
//! Burn's loader shuffles anew each time an epoch starts (`DataLoader::iter`), from a seeded
//! generator that burn-train forks once per training (`DataLoader::to_device`). A run resumed
//! after epoch `k` would see epoch 1's order again in epoch `k + 1`; [`SkipEpochs`] starts
//! `k` epochs (without making a batch) right after that fork, so the resumed epochs see the
//! orders the uninterrupted run saw.

use std::sync::Arc;

use burn::data::dataloader::{DataLoader, DataLoaderIterator};
use burn::prelude::Device;

/// `inner`, whose training copy (`to_device`) has `skip` epochs started and dropped.
pub struct SkipEpochs<O> {
    inner: Arc<dyn DataLoader<O>>,
    skip: usize,
}

impl<O> SkipEpochs<O> {
    /// `inner`, `skip` epochs on once burn-train takes its copy.
    pub fn new(inner: Arc<dyn DataLoader<O>>, skip: usize) -> Self {
        Self { inner, skip }
    }
}

impl<O: Send + 'static> DataLoader<O> for SkipEpochs<O> {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<O> + 'a> {
        self.inner.iter()
    }

    fn num_items(&self) -> usize {
        self.inner.num_items()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<O>> {
        let loader = self.inner.to_device(device);
        for _ in 0..self.skip {
            drop(loader.iter());
        }
        loader
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<O>> {
        Arc::new(Self::new(self.inner.slice(start, end), self.skip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::testing::numbered_loader;

    #[test]
    fn a_skipped_loader_continues_the_shuffles() {
        let build = || numbered_loader(20, 4, 9);
        let epoch = |loader: &dyn DataLoader<Vec<usize>>| -> Vec<Vec<usize>> {
            loader.iter().map(Result::unwrap).collect()
        };
        let device = Device::default();
        let whole = build().to_device(&device);
        let orders: Vec<_> = (0..3).map(|_| epoch(&*whole)).collect();
        assert_ne!(orders[0], orders[2]);
        let resumed = SkipEpochs::new(build(), 2).to_device(&device);
        assert_eq!(epoch(&*resumed), orders[2]);
    }
}
