//! The integration tests of rebalance-data, one module per topic.
//!
//! One test binary for the crate (each links Burn; separate binaries cost a link and ~200 MB
//! of disk apiece): `cargo test -p rebalance-data --test it MODULE::`.
#![allow(clippy::unwrap_used)]

mod batcher;
mod config;
mod multi_label;
mod readers;
mod synthetic;
