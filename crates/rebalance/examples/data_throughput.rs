//! How fast the synthetic generator and the batcher are, on one thread.
//!
//! ```text
//! cargo run --release -p rebalance --example data_throughput
//! ```
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::*;
use rebalance_data::{ImbalanceProfile, SampleBatcher, Standardizer, SyntheticConfig};

fn main() {
    // 1 000 000 training samples of 64 features: 10 classes × 100 000, no imbalance.
    let config = SyntheticConfig {
        features: 64,
        informative: 16,
        max_per_class: 100_000,
        test_per_class: 1,
        ..SyntheticConfig::default()
    };
    let start = Instant::now();
    let data = config.generate(&ImbalanceProfile::None).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    let n = data.train.len();
    println!(
        "generator: {n} samples × {} features in {seconds:.2} s ({:.2} M samples/s)",
        data.train.dim(),
        n as f64 / seconds / 1e6
    );

    let device = Device::flex();
    let batcher = SampleBatcher::new(Some(Standardizer::per_feature(&data.train)));
    let start = Instant::now();
    let mut seen = 0;
    for first in (0..200_000).step_by(256) {
        let items: Vec<_> = (first..first + 256)
            .map(|i| data.train.get(i).unwrap())
            .collect();
        seen += batcher.batch(items, &device).targets.dims()[0];
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "batcher: {seen} samples in batches of 256 in {seconds:.2} s ({:.2} M samples/s)",
        seen as f64 / seconds / 1e6
    );
}
