//! Class-imbalance losses for [Burn](https://burn.dev): every loss a Burn [`Module`] built from
//! a `*Config`, taking class weights from [`rebalance_weights`], usable as a field of any Burn
//! model and inside burn-train's `TrainStep`.
//!
//! | loss | file | formula | paper |
//! |---|---|---|---|
//! | [`WeightedCrossEntropy`] | `cross_entropy.rs` | `-Σ_c w_c q_c log p_c`, `q = (1-ε)·onehot + ε/C` | PyTorch `cross_entropy` semantics |
//! | [`LabelAwareSmoothing`] | `label_aware.rs` | cross-entropy with `ε_{y}` by class count, head → tail | Zhong et al., CVPR 2021 |
//! | [`Focal`] | `focal.rs` | `-w_y (1-p_y)^γ log p_y` | Lin et al., ICCV 2017 |
//! | [`WeightedBinaryCrossEntropy`] | `binary_cross_entropy.rs` | `-Σ_c (pw_c y log σ(z) + (1-y) log(1-σ(z)))` | PyTorch `BCEWithLogits` |
//! | [`SigmoidFocal`] | `sigmoid_focal.rs` | `α_t (1-p_t)^γ BCE` | Lin et al., ICCV 2017 (torchvision) |
//! | [`ClassBalanced`] | `class_balanced.rs` | `(1-β)/(1-β^{n_y}) · L` | Cui et al., CVPR 2019 |
//! | [`Ldam`] | `ldam.rs` | `CE(s(z - m_y onehot(y)))`, `m_c ∝ n_c^{-1/4}` | Cao et al., NeurIPS 2019 |
//! | [`LogitAdjusted`] | `logit_adjusted.rs` | `CE(z + τ log π)` | Menon et al., ICLR 2021 |
//! | [`BalancedSoftmax`] | `balanced_softmax.rs` | `CE(z + log n)` | Ren et al., NeurIPS 2020 |
//! | [`Vs`] | `vs.rs` | `CE(Δ ⊙ z + τ·log π)`, `Δ_c = (n_c / n_max)^γ` | Kini et al., NeurIPS 2021 |
//! | [`Lade`] | `lade.rs` | `CE(z + log π) + α·R`, `R` the LADE (Donsker–Varadhan) regulariser | Hong et al., CVPR 2021 |
//!
//! Plus [`posthoc_adjust`] (`z - τ log π` at inference, Menon et al.), [`NormedLinear`] (the
//! cosine classifier LDAM is meant for), [`sigmoid_bias_init`] (Cui et al. §5.2), and
//! [`LossConfig`] / [`ImbalanceLoss`]: any loss from a config file behind one `forward`, and
//! [`MultiLabelLoss`] (`LossConfig::init_multi_label`): the sigmoid losses of multi-hot targets;
//! [`PackedLoss`] / [`PackedMultiLabelLoss`]: the losses of R runs trained as one model.
//!
//! # Multi-label targets
//!
//! The sigmoid losses ([`WeightedBinaryCrossEntropy`], [`SigmoidFocal`], and [`ClassBalanced`]
//! on its sigmoid or focal base) take multi-hot targets (`forward_multi_hot`, or
//! [`MultiLabelLoss`] from `LossConfig::init_multi_label(&label_counts, samples, epoch,
//! &device)`), with three options:
//! - `pos_weight`: per-label weight of the positive term, given ([`PosWeight::Values`]) or
//!   `"balanced"` ([`PosWeight::Balanced`], [`balanced_pos_weight`]: `(N - n_pos) / n_pos`
//!   from the training split);
//! - `label_weighting` ([`LabelWeighting`]): a row weighs the sum of its positive labels'
//!   class weights (`positive-sum`, the default), or each column is weighted by its class
//!   (`per-label`, PyTorch's `BCEWithLogits(weight=w)`);
//! - `no_label_weight`: under `positive-sum`, the weight of a row without a positive label
//!   (default 0: it drops out).
//!
//! On Burn's flex backend (`f32`, with or without autodiff, no gradient checkpointing) the
//! sigmoid losses' per-sample sums run as one fused, vectorized pass with its own backward, at
//! about the cost of cross-entropy; on every other backend they run as tensor operations. The
//! two agree to float precision (the crate's README has the measurements).
//!
//! # Packed runs (ensembles, sweeps)
//!
//! [`PackedLoss`] (`packed/`) computes the losses of R runs trained as one model, whose
//! parameters carry a leading run dimension, in one pass per loss kind: logits `[R, B, C]`,
//! targets `[R, B]`, each run's class tensors (weights, logit offsets, margins, ...) stacked
//! `[R, C]`, one reduced loss per run `[R]`; differentiate its sum and each run gets its own
//! gradient. It is built from one [`LossConfig`] and `ClassCounts` per run
//! (`PackedLoss::new(&configs, &counts, epoch, &device)`), covers every kind, and refuses
//! runs of different kinds or class counts with [`LossError::PackMismatch`].
//! [`PackedMultiLabelLoss`] is the packed [`MultiLabelLoss`], of multi-hot targets
//! `[R, B, C]`. `examples/ensemble.rs` trains an ensemble of MLPs with three weighting schemes
//! this way (`cargo run -p rebalance-loss --example ensemble`).
//!
//! # Dense targets (segmentation)
//!
//! The softmax losses ([`WeightedCrossEntropy`], [`Focal`], [`Ldam`], [`LogitAdjusted`],
//! [`BalancedSoftmax`], [`Vs`], [`Lade`]) and [`ImbalanceLoss`] take dense logits
//! `[B, C, H, W]` and targets `[B, H, W]` through `forward_dense` (reduced as configured) and
//! `forward_dense_no_reduction` (`[B, H, W]`): every pixel is a sample, so `weighted-mean` is
//! PyTorch's `cross_entropy` of the dense tensors. Other ranks (`[B, C, L]`, volumes
//! `[B, C, D, H, W]`) go through [`dense_to_rows`], which `forward_dense` calls, then
//! `forward`. [`dense_class_counts`] / [`add_dense_label_counts`] count the pixels of each
//! class for the `ClassCounts` the losses are built from.
//!
//! Only cross-entropy has an ignore index (`ignore_index`, e.g. 255 for unlabeled pixels):
//! ignored pixels count in neither the numerator nor the denominator of its reductions. The
//! other losses have none: every target must be in `0..C`, so map unlabeled pixels to a class
//! first, or train them with cross-entropy. LADE's regulariser treats the pixels of the batch
//! as its samples.
//!
//! # Shape of every loss
//!
//! `XxxConfig::init(&device) -> Result<Xxx, LossError>` checks the config (a bad `γ`, `β`,
//! `ε`, `τ`, margin, scale or weight is an error naming the value, never a panic);
//! `forward(logits [B, C], targets [B]) -> Tensor<1>` is reduced by the configured
//! [`Reduction`] (`weighted-mean` by default, PyTorch's); `forward_no_reduction` gives the
//! `[B]` per-sample losses, already weighted. Class weights may be 0.
//!
//! Targets must be in `0..C`. That is not checked on the device (it would need a
//! device-to-host read every batch); out-of-range targets give backend-dependent values. Check
//! labels once when the dataset is built (`ClassCounts::from_labels` does).
//!
//! # Example
//!
//! ```
//! use burn::prelude::*;
//! use rebalance_loss::{FocalConfig, Reduction};
//! use rebalance_weights::{ClassCounts, Scheme};
//!
//! let device = Device::flex();
//! let counts = ClassCounts::from_counts(vec![100, 10, 1])?;
//! let weights = Scheme::Ens { beta: 0.99 }.weights(&counts)?;
//! let loss = FocalConfig::new()
//!     .with_gamma(2.0)
//!     .with_class_weights(&weights)
//!     .with_reduction(Reduction::WeightedMean)
//!     .init(&device)?;
//! let logits = Tensor::<2>::from_floats([[2.0, 0.5, -1.0], [0.1, 1.5, 0.3]], &device);
//! let targets = Tensor::<1, Int>::from_ints([0, 2], &device);
//! let value: f32 = loss.forward(logits, targets).into_scalar();
//! assert!(value > 0.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # In a Burn model
//!
//! Make the loss a field of the model: its tensors then move with the model (`to_device`,
//! `fork`), are not trained, and are not re-uploaded each step. burn-train's `TrainStep` and
//! `InferenceStep` stay three-line wrappers:
//!
//! ```
//! use burn::nn::{Linear, LinearConfig};
//! use burn::prelude::*;
//! use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
//! use rebalance_loss::{ImbalanceLoss, LossConfig};
//! use rebalance_weights::ClassCounts;
//!
//! #[derive(Module, Debug)]
//! struct Model {
//!     linear: Linear,
//!     loss: ImbalanceLoss,
//! }
//!
//! #[derive(Clone, Debug)]
//! struct Batch {
//!     x: Tensor<2>,
//!     y: Tensor<1, Int>,
//! }
//!
//! impl Model {
//!     fn forward_classification(&self, batch: Batch) -> ClassificationOutput {
//!         let logits = self.linear.forward(batch.x);
//!         let loss = self.loss.forward(logits.clone(), batch.y.clone());
//!         ClassificationOutput::new(loss, logits, batch.y)
//!     }
//! }
//!
//! impl TrainStep for Model {
//!     type Input = Batch;
//!     type Output = ClassificationOutput;
//!     fn step(&self, batch: Batch) -> TrainOutput<ClassificationOutput> {
//!         let item = self.forward_classification(batch);
//!         TrainOutput::new(self, item.loss.backward(), item)
//!     }
//! }
//!
//! impl InferenceStep for Model {
//!     type Input = Batch;
//!     type Output = ClassificationOutput;
//!     fn step(&self, batch: Batch) -> ClassificationOutput {
//!         self.forward_classification(batch)
//!     }
//! }
//!
//! let device = Device::flex().autodiff();
//! let counts = ClassCounts::from_counts(vec![900, 90, 10])?;
//! let loss: LossConfig = toml::from_str(r#"kind = "balanced-softmax""#).unwrap();
//! let model = Model {
//!     linear: LinearConfig::new(4, 3).init(&device),
//!     loss: loss.init(&counts, &device)?,
//! };
//! let batch = Batch {
//!     x: Tensor::<2>::ones([2, 4], &device),
//!     y: Tensor::<1, Int>::from_ints([0, 2], &device),
//! };
//! let output = TrainStep::step(&model, batch);
//! # let _ = output;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `examples/train.rs` does the whole loop with burn-train's `SupervisedTraining`
//! (`cargo run -p rebalance-loss --example train --release`); `examples/ensemble.rs` trains
//! several runs as one model with a [`PackedLoss`] in a loop of its own
//! (`cargo run -p rebalance-loss --example ensemble`).
//!
//! [`Module`]: burn::module::Module

mod balanced_softmax;
mod binary_cross_entropy;
mod class_balanced;
mod config;
mod cross_entropy;
mod dense;
mod error;
mod focal;
mod fused;
mod label_aware;
mod label_weighting;
mod lade;
mod ldam;
mod logit_adjusted;
mod losses;
mod multi_label_loss;
mod normed_linear;
mod packed;
mod reduction;
mod sigmoid;
mod sigmoid_focal;
mod vs;

pub use balanced_softmax::{BalancedSoftmax, BalancedSoftmaxConfig, BalancedSoftmaxKeys};
pub use binary_cross_entropy::{
    SigmoidKeys, WeightedBinaryCrossEntropy, WeightedBinaryCrossEntropyConfig,
};
pub use class_balanced::{
    ClassBalanced, ClassBalancedBase, ClassBalancedConfig, ClassBalancedKeys, ClassBalancedLoss,
    sigmoid_bias_init,
};
pub use config::ClassWeighting;
pub use cross_entropy::{CrossEntropyKeys, WeightedCrossEntropy, WeightedCrossEntropyConfig};
pub use dense::{add_dense_label_counts, dense_class_counts, dense_to_rows};
pub use error::LossError;
pub use focal::{Focal, FocalConfig, FocalKeys};
pub use label_aware::{LabelAwareSmoothing, SmoothingShape};
pub use label_weighting::{LabelWeighting, PosWeight, balanced_pos_weight};
pub use lade::{Lade, LadeConfig, LadeKeys};
pub use ldam::{Ldam, LdamConfig, LdamKeys};
pub use logit_adjusted::{LogitAdjusted, LogitAdjustedConfig, LogitAdjustedKeys, posthoc_adjust};
pub use losses::{ImbalanceLoss, LossConfig, LossKind};
pub use multi_label_loss::MultiLabelLoss;
pub use normed_linear::{NormedLinear, NormedLinearConfig, l2_normalize};
pub use packed::{PackedLoss, PackedMultiLabelLoss};
pub use reduction::Reduction;
pub use sigmoid_focal::{SigmoidFocal, SigmoidFocalConfig, SigmoidFocalKeys};
pub use vs::{Vs, VsConfig, VsKeys};

/// This crate's README example, run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
