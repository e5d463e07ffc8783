//! Long-tailed classification datasets for [Burn](https://burn.dev), deterministic from a seed.
//!
//! - [`ImbalanceProfile`]: how many training samples each class keeps (exponential, step,
//!   custom), the rule of Cui et al. (CVPR 2019) and Cao et al. (NeurIPS 2019).
//! - [`SyntheticConfig`]: a seeded Gaussian-mixture generator (after scikit-learn's
//!   `make_classification`) whose classes overlap, so imbalance genuinely hurts.
//! - Readers for local files, nothing downloaded: CSV ([`read_csv_pair`]), MNIST-style IDX
//!   ([`read_idx`]) and CIFAR-10 binary batches ([`read_cifar10`]).
//! - [`long_tail_indices`] (any dataset made long-tailed: per class, the first `n_c` of a
//!   seeded shuffle) and [`stratified_split`].
//! - Burn integration: [`Samples`] is a `Dataset<Sample>`, [`SampleBatcher`] a `Batcher` that
//!   standardizes with a [`Standardizer`] fit on the training split, optionally augments images
//!   ([`ImageAugmentation`]: random crop and flip, each drawn for the sample's epoch and position
//!   that [`AugmentedSamples`] numbers), and builds the tensors on the device it is given.
//! - [`Resampling`]: class-balanced, square-root, over- and under-sampling as epoch index
//!   lists in Burn's `SelectionDataset`, to set re-sampling beside re-weighting.
//! - Multi-label data (sigmoid losses, multi-hot targets): [`MultiLabelSamples`] (features
//!   and each sample's positive labels; [`label_counts`](MultiLabelSamples::label_counts)
//!   feed the weights, a sample weighing the sum of its labels'), read from CSV in either
//!   layout ([`MultiLabelCsv`]), generated with long-tailed label frequencies
//!   ([`MultiLabelSyntheticConfig`]), split by [`iterative_stratified_split`], batched as
//!   multi-hot targets by [`MultiLabelBatcher`].
//! - [`DataConfig`]: the `[data]` section of a config file; [`DatasetSummary`] and CSV export.
//!
//! ```
//! use rebalance_data::{DataConfig, ImbalanceProfile};
//!
//! let config: DataConfig = toml::from_str(r#"
//!     source = "synthetic"
//!     num_classes = 10
//!     seed = 1
//!     profile = { kind = "exponential", factor = 100 }
//!     max_per_class = 500
//!     test_per_class = 100
//! "#).unwrap();
//! let data = config.load()?;
//! let summary = data.summary();
//! assert_eq!(summary.splits["train"].counts, [500, 299, 179, 107, 64, 38, 23, 13, 8, 5]);
//! assert_eq!(summary.splits["test"].counts, [100; 10]);
//! assert_eq!(summary.imbalance_factor, 100.0);
//! # Ok::<(), rebalance_data::DataError>(())
//! ```
//!
//! Every error is a [`DataError`] naming the file, the line or record, and the value.

mod augment;
mod batcher;
mod config;
mod csv_file;
mod error;
mod idx;
mod iterative_split;
mod memory;
mod profile;
mod resample;
mod samples;
pub mod seed;
mod split;
mod standardize;
mod summary;
mod synthetic;

pub use augment::{AugmentedSample, AugmentedSamples, ImageAugmentation};
pub use batcher::{MultiLabelBatch, MultiLabelBatcher, SampleBatch, SampleBatcher};
pub use config::{DataConfig, DataSource, Task};
pub use csv_file::{CsvTable, LabelLayout, LabelMap, MultiLabelCsv, read_csv_pair};
pub use error::DataError;
pub use idx::{read_cifar10, read_idx};
pub use iterative_split::{MultiLabelSplit, iterative_stratified_split};
pub use memory::{FALLBACK_MEMORY_BYTES, human_bytes, total_memory};
pub use profile::ImbalanceProfile;
pub use resample::{ResampledSamples, Resampling};
pub use samples::{
    LabelsPerSample, LongTailData, MultiLabelData, MultiLabelSample, MultiLabelSamples, Rows,
    Sample, Samples, SplitSummary, Target,
};
pub use split::{long_tail_indices, stratified_split};
pub use standardize::Standardizer;
pub use summary::DatasetSummary;
pub use synthetic::{Difficulty, MultiLabelSyntheticConfig, SyntheticConfig};

/// The examples of this crate's README and of the workspace README (which uses every library
/// crate), run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
