//! The integration tests of rebalance-weights, one module per topic.
//!
//! One test binary for the crate (each links Burn; separate binaries cost a link and ~200 MB
//! of disk apiece): `cargo test -p rebalance-weights --test it MODULE::`.
#![allow(clippy::unwrap_used)]

mod properties;
mod tensor;
mod weights;
