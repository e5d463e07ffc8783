//! The integration tests of rebalance-loss, one module per topic.
//!
//! One test binary for the crate (each links Burn; separate binaries cost a link and ~200 MB
//! of disk apiece): `cargo test -p rebalance-loss --test it MODULE::`.
#![allow(clippy::unwrap_used)]

mod common;
mod config;
mod dense;
mod errors;
mod gradients;
mod multi_label;
mod packed;
mod reference;
mod wgpu;
