//! The `rebalance` program as a library: configuration, the classifier, training on
//! burn-train with imbalance metrics, evaluation and reports. `main.rs` only parses the
//! command line and calls into here.

pub mod bench;
pub mod commands;
pub mod compare;
pub mod reporting;
pub mod run;
pub mod task;
