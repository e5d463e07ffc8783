//! `train.workers`: batches prepared ahead on a background thread, in the order the loader on
//! the training thread would make them.
//!
//! Burn's multi-threaded `DataLoader` splits an epoch between its workers and yields each
//! batch when a worker finishes it, so the order of the batches (and with it the trained model)
//! changes from run to run. [`PrefetchLoader`] runs the single-threaded loader, seeded and
//! shuffled as with `workers = 0`, on its own thread and hands its batches over in order: the
//! same batches, the same order, the same metrics whatever the worker count. `workers` bounds
//! how many batches wait ready.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use burn::data::dataloader::{DataLoader, DataLoaderIterator, Progress};
use burn::data::dataset::DatasetError;
use burn::prelude::Device;

use crate::run::experiment_log::LogContext;

/// A loader whose batches `inner` makes on a background thread, up to `depth` ahead.
pub struct PrefetchLoader<O> {
    inner: Arc<dyn DataLoader<O>>,
    depth: usize,
}

impl<O> PrefetchLoader<O> {
    /// `inner`'s batches, up to `depth` (at least 1) made ahead.
    pub fn new(inner: Arc<dyn DataLoader<O>>, depth: usize) -> Self {
        Self {
            inner,
            depth: depth.max(1),
        }
    }
}

impl<O: Send + 'static> DataLoader<O> for PrefetchLoader<O> {
    fn iter<'a>(&'a self) -> Box<dyn DataLoaderIterator<O> + 'a> {
        let (sender, receiver) = sync_channel(self.depth);
        let (begun, has_begun) = sync_channel(0);
        let inner = self.inner.clone();
        let total = inner.num_items();
        let context = LogContext::current();
        let started = std::thread::Builder::new()
            .name("rebalance-prefetch".to_string())
            .spawn(move || {
                let _entered = context.enter();
                // The epoch's shuffle is drawn here; `iter` waits for it, so epochs draw in
                // order even when one is dropped at once.
                let mut batches = inner.iter();
                let _ = begun.send(());
                while let Some(batch) = batches.next() {
                    let failed = batch.is_err();
                    // The receiver is gone when the epoch was cut short.
                    if sender.send((batch, batches.progress())).is_err() || failed {
                        break;
                    }
                }
            });
        if started.is_ok() {
            let _ = has_begun.recv();
        }
        Box::new(Prefetched {
            receiver,
            progress: Progress::new(0, total, Some("items".to_string())),
            start_error: started.err().map(|e| {
                DatasetError::new(std::io::Error::other(format!(
                    "cannot start the data loading thread: {e}"
                )))
            }),
        })
    }

    fn num_items(&self) -> usize {
        self.inner.num_items()
    }

    fn to_device(&self, device: &Device) -> Arc<dyn DataLoader<O>> {
        Arc::new(Self::new(self.inner.to_device(device), self.depth))
    }

    fn slice(&self, start: usize, end: usize) -> Arc<dyn DataLoader<O>> {
        Arc::new(Self::new(self.inner.slice(start, end), self.depth))
    }
}

/// One epoch of a [`PrefetchLoader`].
struct Prefetched<O> {
    receiver: Receiver<(Result<O, DatasetError>, Progress)>,
    progress: Progress,
    /// Why the thread could not be started: the epoch's one item.
    start_error: Option<DatasetError>,
}

impl<O> Iterator for Prefetched<O> {
    type Item = Result<O, DatasetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(error) = self.start_error.take() {
            return Some(Err(error));
        }
        let (batch, progress) = self.receiver.recv().ok()?;
        self.progress = progress;
        Some(batch)
    }
}

impl<O> DataLoaderIterator<O> for Prefetched<O> {
    fn progress(&self) -> Progress {
        self.progress.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::testing::numbered_loader;

    fn epochs(loader: &dyn DataLoader<Vec<usize>>) -> Vec<Vec<Vec<usize>>> {
        (0..3)
            .map(|_| loader.iter().map(Result::unwrap).collect())
            .collect()
    }

    #[test]
    fn the_same_batches_in_the_same_order() {
        let build = || numbered_loader(100, 7, 5);
        let plain = epochs(&*build());
        for depth in [1, 2, 8] {
            let prefetched = PrefetchLoader::new(build(), depth);
            assert_eq!(epochs(&prefetched), plain, "depth {depth}");
            let mut iter = prefetched.iter();
            iter.next();
            assert_eq!(iter.progress().items_processed, 7);
            assert_eq!(iter.progress().items_total, 100);
        }
        // An epoch cut short stops its thread.
        let prefetched = PrefetchLoader::new(build(), 2);
        drop(prefetched.iter().next());
        assert_eq!(epochs(&prefetched)[0].len(), 15);
    }
}
