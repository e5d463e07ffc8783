//! Packed training: R runs of one architecture trained as one model whose parameters carry a
//! leading run dimension (PyTorch's model ensembling, Packed-Ensembles), so a GPU does R runs'
//! work per kernel launch.
//!
//! Each run stays itself: its model is built as when it trains alone (its seed,
//! `seeded_init`) and stacked into the pack ([`model`]); its loader is its own (its data,
//! shuffle order, re-sampling) and the group's steps stack one batch of every run
//! (`loader`); its loss, class weights and DRW phases are its own (one `PackedLoss` per loss
//! kind, `loss`); the group's optimizer and schedule are element-wise, so each run's update
//! is its own. After training the pack is split back into R classifiers, and each run's
//! directory is finished by the code that finishes a run trained alone (`Begun::conclude`).
//!
//! Every backbone packs: the MLP as batched matrix products ([`model`]), the CNN ([`conv`]) and
//! ResNet-32 ([`resnet`]) as grouped convolutions with each run's batch-norm channels side by
//! side. A training step normalises each run's channels with its own batch's statistics and
//! updates its running statistics; validation runs the pack on the plain device (`valid()`),
//! with the running statistics, as burn-train validates a run alone; after training each run's
//! running statistics go to its own model, whose evaluation uses them. A run's augmentation
//! (`train.augment`) is drawn by its own loader, per its seed, epoch and sample.
//!
//! Both tasks pack ([`PackTask`]: single-label's class indices and `PackedLoss`, multi-label's
//! multi-hot rows and `PackedMultiLabelLoss`). A cRT run trains its first stage in the pack and
//! its second stage (its own classifier retrained) alone after it.
//!
//! What runs must share to train as one model is [`step_key`]; a run without one trains
//! alone. The group's checkpoints live in its own folder (`training`), from which an
//! interrupted group resumes.

pub mod conv;
mod loader;
mod loss;
pub mod memory;
pub mod model;
pub mod resnet;
#[cfg(test)]
mod testing;
mod training;

use burn::prelude::*;
use rebalance_loss::{LossConfig, LossError};
use rebalance_weights::ClassCounts;

use crate::run::config::RunConfig;
use crate::run::history::ValidScore;
use crate::run::model::{TaskClassifier, TaskLoss};
use crate::run::renderer::RunProgress;
use crate::run::run_dir::RunDir;
use crate::run::task::TaskKind;
use crate::run::training::TrainOptions;

pub use training::train_group;

/// A task whose runs pack: how its batches stack over a group's runs, which packed loss of the
/// library computes their losses, and how a run's validation is scored each epoch for the
/// history. Single-label ([`rebalance_loss::PackedLoss`], class indices) and multi-label
/// ([`rebalance_loss::PackedMultiLabelLoss`], multi-hot rows) implement it in `crate::task`.
pub trait PackTask: TaskKind<Model = TaskClassifier<Self::Loss>> {
    /// The loss a run's classifier holds.
    type Loss: Module + TaskLoss;
    /// A step's targets over the group's runs: `[R, B]` class indices, or `[R, B, C]` multi-hot.
    type Targets: Clone + std::fmt::Debug;
    /// The library's packed loss of one kind.
    type PackedLoss: std::fmt::Debug;

    /// The runs' batches of one step (`batches[r]` is run `r`'s): their features, and their
    /// targets stacked.
    fn split(batches: Vec<Self::Batch>) -> (Vec<Tensor<2>>, Self::Targets);

    /// The targets of the runs `rows` of a step.
    fn select(targets: Self::Targets, rows: Tensor<1, Int>) -> Self::Targets;

    /// The packed loss of runs whose losses are `configs[r]`, with the training counts
    /// `counts[r]` over `samples[r]` training rows, at `epoch` (counted from 0).
    ///
    /// # Errors
    /// Runs whose losses the library does not pack together, or a loss that cannot be built.
    fn pack_loss(
        configs: &[LossConfig],
        counts: &[ClassCounts],
        samples: &[u64],
        epoch: usize,
        device: &Device,
    ) -> Result<Self::PackedLoss, LossError>;

    /// Each run's loss, `[R]`, of `logits` `[R, B, C]` against `targets`.
    fn loss(loss: &Self::PackedLoss, logits: Tensor<3>, targets: Self::Targets) -> Tensor<1>;

    /// What the validation score reads of a step, per run: the truth and the model's answers,
    /// each `[R, n]` (the class and the predicted class; the multi-hot row and the
    /// probabilities), read back together once a step.
    fn valid_rows(logits: Tensor<3>, targets: Self::Targets) -> (Tensor<2>, Tensor<2>);

    /// One run's validation score of an epoch from the `truth` and the `answers` of its whole
    /// validation split ([`valid_rows`](Self::valid_rows)): the curve [`TaskKind::metrics`]
    /// records in the history of a run trained alone.
    fn valid_score(truth: &[f32], answers: &[f32], num_classes: usize) -> ValidScore;
}

/// What training a packed group gives: the group's failure, or each run's report or failure
/// (a run that diverged), in the group's order.
pub type GroupResults<T> = anyhow::Result<Vec<anyhow::Result<<T as TaskKind>::Report>>>;

/// How a task trains a packed group ([`TaskKind::packing`]).
pub struct Packing<T: TaskKind> {
    /// Trains the group; its runs' reports, in the group's order.
    pub train: fn(&Group<'_, T>) -> GroupResults<T>,
}

impl<T: PackTask> Packing<T> {
    /// [`train_group`] of task `T`.
    pub fn of() -> Self {
        Self {
            train: train_group::<T>,
        }
    }
}

/// One run of a packed group.
pub struct GroupRun<'a, T: TaskKind> {
    /// Its config.
    pub config: &'a RunConfig,
    /// Its options (its directory, its device); its progress is the group's.
    pub options: TrainOptions,
    /// Its data.
    pub data: &'a rebalance_data::LongTailData<T::Target>,
}

/// Runs that share a [`step_key`], to train as one model.
pub struct Group<'a, T: TaskKind> {
    /// The runs, in the order of the pack's run dimension.
    pub runs: Vec<GroupRun<'a, T>>,
    /// The group's folder: its checkpoints (`checkpoint/`), removed once every run is finished.
    pub dir: RunDir,
    /// A sweep's progress bar: the group's label, and one epoch per run per epoch.
    pub progress: Option<RunProgress>,
}

/// What runs must share to take their steps together (the model, data shape, batch size,
/// epochs, optimizer, rate, schedule, weight decay, devices, task, re-sampling, which sets the
/// length of an epoch): `config` without its seeds, loss and evaluation, as TOML. Runs of one
/// key differ in what packs (seeds, losses and class weights, DRW phases); their epochs must
/// still have one number of batches, which the group checks once their data is loaded.
///
/// cRT's second stage (`train.stage2`) is not in the key: a cRT run trains its first stage in
/// a pack with the others and its second stage alone, after the pack (`training`).
///
/// # Errors
/// Why `config`'s run trains alone: data-parallel `train.devices`. Every model packs (MLP, CNN,
/// ResNet-32), of either task.
pub fn step_key(config: &RunConfig) -> Result<String, String> {
    if !config.train.devices.is_empty() {
        return Err("train.devices (one model on several devices) trains alone".to_string());
    }
    let mut shared = config.clone();
    shared.data.seed = 0;
    shared.train.seed = 0;
    shared.train.workers = 0;
    shared.train.stage2 = None;
    shared.loss = Default::default();
    shared.eval = Default::default();
    shared.output = Default::default();
    shared.to_toml().map_err(|e| e.to_string())
}
