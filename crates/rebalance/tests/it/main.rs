//! The integration tests of the rebalance binary and library, one module per topic.
//!
//! One test binary for the crate (each links Burn; separate binaries cost a link and ~200 MB
//! of disk apiece): `cargo test -p rebalance --test it MODULE::`.
#![allow(clippy::unwrap_used)]

mod architecture;
mod cli;
mod common;
mod compare;
mod compare_multilabel;
mod compare_tune;
mod crt;
mod devices;
mod experiment_log;
mod hardening_data;
mod hardening_runs;
mod images;
mod jobs;
mod loss_schema;
mod multilabel;
mod packing;
mod packing_failures;
mod predictions;
mod readme;
mod runs;
mod shards;
mod streams;
mod training_time;
