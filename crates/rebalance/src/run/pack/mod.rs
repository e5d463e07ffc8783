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
//! What runs must share to train as one model is [`step_key`]; a run without one trains
//! alone. The group's checkpoints live in its own folder (`training`), from which an
//! interrupted group resumes.

pub mod conv;
mod loader;
mod loss;
pub mod model;
pub mod resnet;
#[cfg(test)]
mod testing;
mod training;

use rebalance_data::SampleBatch;

use crate::run::config::RunConfig;
use crate::run::history::ValidScore;
use crate::run::model::Classifier;
use crate::run::renderer::RunProgress;
use crate::run::run_dir::RunDir;
use crate::run::task::TaskKind;
use crate::run::training::TrainOptions;

pub use training::train_group;

/// A task whose runs pack: single-label classification (the classifier, its batches), and how
/// it scores a run's validation split each epoch for the history.
pub trait PackTask: TaskKind<Model = Classifier, Batch = SampleBatch> {
    /// The validation score of one run's epoch from the true and the predicted classes of its
    /// whole validation split: the curve [`TaskKind::metrics`] records in the history.
    fn valid_score(targets: &[i64], predictions: &[i64], num_classes: usize) -> ValidScore;
}

/// How a task trains a packed group ([`TaskKind::packing`]).
pub struct Packing<T: TaskKind> {
    /// Trains the group; its runs' reports, in the group's order.
    pub train: fn(&Group<'_, T>) -> anyhow::Result<Vec<T::Report>>,
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
/// # Errors
/// Why `config`'s run trains alone: cRT's second stage (trained alone for now), or data-parallel
/// `train.devices`. Every model packs (MLP, CNN, ResNet-32).
pub fn step_key(config: &RunConfig) -> Result<String, String> {
    if config.train.stage2.is_some() {
        return Err("cRT's second stage (train.stage2) trains alone for now".to_string());
    }
    if !config.train.devices.is_empty() {
        return Err("train.devices (one model on several devices) trains alone".to_string());
    }
    let mut shared = config.clone();
    shared.data.seed = 0;
    shared.train.seed = 0;
    shared.train.workers = 0;
    shared.loss = Default::default();
    shared.eval = Default::default();
    shared.output = Default::default();
    shared.to_toml().map_err(|e| e.to_string())
}
