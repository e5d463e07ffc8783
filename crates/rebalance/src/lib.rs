//! The `rebalance` program as a library: configuration, the classifier, training on
//! burn-train with imbalance metrics, evaluation and reports. `main.rs` only parses the
//! command line and calls into here.

pub mod adjustment;
pub mod backbone;
pub mod backend;
pub mod bench;
pub mod calibration;
pub mod commands;
pub mod compare;
pub mod config;
pub mod devices;
pub mod evaluation;
pub mod history;
pub mod inference;
pub mod metrics;
pub mod model;
pub mod multilabel_evaluation;
pub mod multilabel_metrics;
pub mod multilabel_report;
pub mod overrides;
mod panic_capture;
pub mod plots;
pub mod predictions;
pub mod prefetch;
pub mod renderer;
pub mod report;
pub mod run_dir;
pub mod schedule;
pub mod shots;
pub mod skip_epochs;
pub mod task;
pub mod training;
