//! A run: its configuration, its directory on disk, and training and evaluating it, for either
//! task through [`task::TaskKind`]. Depends on `crate::reporting` only.

pub mod backbone;
pub mod backend;
pub mod config;
pub mod devices;
pub mod eval_options;
pub mod history;
pub mod launch;
pub mod model;
pub mod nan_guard;
pub mod overrides;
pub(crate) mod panic_capture;
pub mod prefetch;
pub mod renderer;
pub mod run_dir;
pub mod schedule;
pub mod skip_epochs;
pub mod start;
pub mod task;
pub mod training;

/// What the metric tests share.
#[cfg(test)]
pub(crate) mod metric_testing {
    use burn::data::dataloader::Progress;
    use burn::train::metric::MetricMetadata;

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
