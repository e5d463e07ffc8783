//! A run: its configuration, its directory on disk, and training and evaluating it, for either
//! task through [`task::TaskKind`]. Depends on `crate::reporting` only.

pub mod backbone;
pub mod backend;
pub mod config;
pub mod devices;
pub mod eval_options;
pub(crate) mod experiment_log;
pub mod history;
pub mod launch;
pub mod model;
pub mod nan_guard;
pub mod overrides;
pub mod pack;
pub(crate) mod panic_capture;
pub mod prefetch;
pub mod renderer;
pub mod run_dir;
pub mod schedule;
pub mod skip_epochs;
pub mod start;
pub mod task;
pub mod training;
pub mod watched;

/// What the unit tests of runs share: a metric update's metadata, a loader of numbered items.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::{Arc, RwLock};

    use burn::data::dataloader::batcher::Batcher;
    use burn::data::dataloader::{DataLoader, DataLoaderBuilder, Progress};
    use burn::data::dataset::InMemDataset;
    use burn::prelude::Device;
    use burn::train::metric::MetricMetadata;

    /// Held to read by the unit tests that train, to write by those that panic: a panic whose
    /// run is unknown goes to every capture running (`panic_capture`), so it must not reach
    /// another test's training.
    pub(crate) static PANICS: RwLock<()> = RwLock::new(());

    /// Batches of item numbers, as they are.
    #[derive(Clone)]
    struct Ids;

    impl Batcher<usize, Vec<usize>> for Ids {
        fn batch(&self, items: Vec<usize>, _device: &Device) -> Vec<usize> {
            items
        }
    }

    /// A loader of the items `0..items` in batches of `batch_size`, shuffled with `seed`.
    pub(crate) fn numbered_loader(
        items: usize,
        batch_size: usize,
        seed: u64,
    ) -> Arc<dyn DataLoader<Vec<usize>>> {
        DataLoaderBuilder::new(Ids)
            .batch_size(batch_size)
            .shuffle(seed)
            .build(InMemDataset::new((0..items).collect::<Vec<usize>>()))
    }

    /// The metadata burn-train passes a metric's update, `items_processed` of 2 items in.
    pub(crate) fn metadata(items_processed: usize) -> MetricMetadata {
        MetricMetadata {
            progress: Progress {
                items_processed,
                items_total: 2,
                unit: None,
            },
            iteration: None,
            lr: None,
        }
    }
}
