//! Per-class loss weights for imbalanced classification: class counts in, weights out, as
//! exact f64 numbers and as [Burn](https://burn.dev) tensors.
//!
//! A long-tailed training set has a few head classes with many samples and many tail classes
//! with few. Weighting each sample's loss by a weight of its class, larger for rarer classes,
//! keeps the tail from being ignored. This crate computes those weights.
//!
//! # Schemes
//!
//! For class `c` with `n_c` training samples (`C` classes, `N` samples in all):
//!
//! | [`Scheme`] | text form | raw weight `w_c` | paper |
//! |---|---|---|---|
//! | `Uniform` | `uniform` | `1` | — |
//! | `Ins` | `ins` | `1 / n_c` | inverse number of samples |
//! | `Isns` | `isns` | `1 / sqrt(n_c)` | Mahajan et al., ECCV 2018 |
//! | `Power { p }` | `power:P` | `1 / n_c^p` | generalizes the two above |
//! | `Ens { beta }` | `ens:BETA` | `(1 - β) / (1 - β^{n_c})` | Cui et al., "Class-Balanced Loss Based on Effective Number of Samples", CVPR 2019 |
//! | `Balanced` | `balanced` | `N / (C · n_c)` | scikit-learn `class_weight="balanced"` |
//! | `Median` | `median` | `median_j(n_j) / n_c` | Eigen & Fergus, ICCV 2015 (median frequency balancing) |
//! | `Custom { weights }` | `custom:W0,W1,...` | given | — |
//!
//! Raw weights are then scaled by a [`Normalization`]: by default `w_c ← C · w_c / Σ_j w_j`,
//! so they sum to the number of classes (Cui et al.); or so that the mean weight per training
//! sample is 1 (scikit-learn); or not at all. Classes without samples are an error unless a
//! [`ZeroCountPolicy`] says otherwise. [`WeightSchedule`] applies weights from a given epoch on
//! (deferred re-weighting, Cao et al., NeurIPS 2019).
//!
//! # Example
//!
//! ```
//! use burn::prelude::*;
//! use rebalance_weights::{ClassCounts, Normalization, Scheme, WeightsConfig};
//!
//! // CIFAR-10-LT at imbalance factor 100.
//! let counts = ClassCounts::from_counts(vec![5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50])?;
//! assert_eq!(counts.imbalance_factor(), 100.0);
//!
//! // Effective-number weights, normalized to sum to 10.
//! let weights = WeightsConfig::new(Scheme::Ens { beta: 0.9999 })
//!     .with_normalization(Normalization::SumToClasses)
//!     .compute(&counts)?;
//! assert!((weights.as_slice()[9] - 3.992724).abs() < 1e-6);
//!
//! // On a Burn device: one weight per class, or one per sample of a batch.
//! let device = Device::flex();
//! let class_weights: Tensor<1> = weights.to_tensor(&device);
//! assert_eq!(class_weights.dims(), [10]);
//! let targets = Tensor::<1, Int>::from_ints([0, 9, 9], &device);
//! let per_sample: Tensor<1> = weights.sample_weights(targets);
//! let values: Vec<f32> = per_sample.into_data().try_to_vec().unwrap();
//! assert!((values[1] - 3.992724).abs() < 1e-5);
//! # Ok::<(), rebalance_weights::WeightError>(())
//! ```
//!
//! Schemes also parse from text (`"ens:0.9999".parse::<Scheme>()`) and deserialize from TOML,
//! as a name or as a table (`scheme = { kind = "ens", beta = 0.9999 }`).
//!
//! # Errors, never panics
//!
//! Every constructor and computation checks its input and returns a [`WeightError`] whose
//! message names the bad value and what would be valid: no classes, a label `>= C`, zero
//! samples, an empty class, `β ∉ [0, 1)`, a negative or non-finite `p` or custom weight,
//! custom weights of the wrong length, weights that cannot be normalized.
//!
//! # Backends
//!
//! This crate enables no Burn backend: the tensor methods run on whatever [`Device`] they are
//! given, so the application picks the backends (Burn's `flex`, `ndarray`, `wgpu`, `cuda`
//! features).
//!
//! [`Device`]: burn::prelude::Device

mod counts;
mod error;
mod names;
mod normalization;
mod schedule;
mod scheme;
mod weights;
mod zero_count;

pub use counts::ClassCounts;
pub use error::WeightError;
pub use normalization::Normalization;
pub use schedule::WeightSchedule;
pub use scheme::Scheme;
pub use weights::{ClassWeights, WeightsConfig};
pub use zero_count::ZeroCountPolicy;

/// This crate's README example, run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
