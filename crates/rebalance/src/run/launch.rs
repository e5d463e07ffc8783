//! burn-train's side of a run: seeding and building models one at a time, the DRW phases,
//! the loaders, optimizer and schedule, and launching a phase with its guards.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::bail;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::Dataset;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::module::{ModuleVisitor, Param};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use burn::train::{
    ExecutionStrategy, Interrupter, Learner, LearnerModel, MultiDeviceOptim, SupervisedTraining,
};
use rebalance_data::Resampling;

use crate::run::config::{OptimizerKind, RunConfig, ScheduleKind, TrainSection};
use crate::run::nan_guard::NanGuard;
use crate::run::panic_capture::{GuardedLogger, catch_training_panics};
use crate::run::prefetch::PrefetchLoader;
use crate::run::renderer::{EpochLineRenderer, RunProgress, SweepRenderer};
use crate::run::run_dir::RunDir;
use crate::run::schedule::WarmupStepScheduler;
use crate::run::skip_epochs::SkipEpochs;

/// Burn draws its random numbers (initialisation, dropout) from one generator per backend,
/// process-wide; runs trained at once (`compare --jobs`) seed it and build their models one at
/// a time, under this lock, so each model starts as it would in a sweep run after run.
static SEEDED_INIT: Mutex<()> = Mutex::new(());

/// Runs `init` (seeding the device and building a model) alone among this process's runs.
/// Burn initialises parameters lazily, on first use: `init` must [`materialize`] its model.
pub(crate) fn seeded_init<T>(init: impl FnOnce() -> T) -> T {
    let _alone = SEEDED_INIT.lock().unwrap_or_else(PoisonError::into_inner);
    init()
}

/// Draws every lazily initialised parameter of `model` now, in the module's order (not at
/// its first use in training, when another run may draw from the same generator).
pub(crate) fn materialize<M: Module>(model: M) -> M {
    struct Touch;
    impl ModuleVisitor for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let _ = param.val();
        }
        fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<D, Int>>) {
            let _ = param.val();
        }
        fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<D, Bool>>) {
            let _ = param.val();
        }
    }
    model.visit(&mut Touch);
    model
}

/// The epochs done before phase `first` starts (counted from 1), or before the resumed run
/// continues inside it.
pub(crate) fn start_epoch(resume_from: Option<usize>, first: usize) -> usize {
    match resume_from {
        Some(done) if done >= first - 1 => done,
        _ => first - 1,
    }
}

/// The phases of training: `(first epoch, last epoch)`, counted from 1; two phases when
/// deferred re-weighting starts inside the run.
pub(crate) fn phases(config: &RunConfig) -> Vec<(usize, usize)> {
    let epochs = config.train.epochs;
    // The library counts epochs from 0: its start epoch s is epoch s + 1 here.
    match config.loss.weighting().map(|w| w.start_epoch) {
        Some(s) if s > 0 && s < epochs => vec![(1, s), (s + 1, epochs)],
        _ => vec![(1, epochs)],
    }
}

/// Trains the phases of `config` ([`phases`]) not done yet with `phase(first, last)`; the
/// model of the last. A run resumed from its last epoch's checkpoint trains no epoch: the last
/// phase only loads the checkpoint.
///
/// # Errors
/// The first phase's failure.
pub(crate) fn train_phases<M>(
    config: &RunConfig,
    resume_from: Option<usize>,
    mut phase: impl FnMut(usize, usize) -> anyhow::Result<M>,
) -> anyhow::Result<M> {
    let phases = phases(config);
    let mut trained = None;
    for (k, &(first, last)) in phases.iter().enumerate() {
        let is_last = k + 1 == phases.len();
        if !is_last && resume_from.is_some_and(|done| done >= last) {
            continue;
        }
        trained = Some(phase(first, last)?);
    }
    trained.ok_or_else(|| anyhow::anyhow!("train.epochs = 0: nothing to train"))
}

/// Where and how long a phase trains, for [`launch_phase`].
pub(crate) struct PhaseRun<'a> {
    /// The run directory (burn-train's logs and checkpoints).
    pub run: &'a RunDir,
    /// `[train]`.
    pub train: &'a TrainSection,
    /// Optimizer steps in an epoch of the training split (batches, divided among the devices).
    pub batches_per_epoch: usize,
    /// The epochs done before this phase trains (its checkpoint to resume from, if > 0).
    pub start: usize,
    /// The last epoch of the phase, counted from 1.
    pub last: usize,
    /// A sweep's progress bar, if any.
    pub progress: Option<&'a RunProgress>,
    /// The devices: one, or several for burn-train's multi-device strategy.
    pub devices: &'a [Device],
    /// The stage's name in its epoch lines (`stage 2`), if not the run's training.
    pub name: Option<&'static str>,
}

/// Trains `model` with `training` (its metrics set, the training loss through `guard`, which
/// stops it through `interrupter` on a NaN) from epoch `phase.start + 1` to `phase.last`,
/// checkpointing each epoch; a panic, a NaN loss or a training error is an error naming it.
pub(crate) fn launch_phase<M: LearnerModel>(
    phase: PhaseRun,
    training: SupervisedTraining<M>,
    model: M,
    interrupter: Interrupter,
    guard: &NanGuard,
) -> anyhow::Result<M> {
    let train = phase.train;
    let training = training
        .with_metric_logger(GuardedLogger::new(phase.run.path(), interrupter.clone()))
        .with_interrupter(interrupter)
        .with_default_checkpointers()
        .num_epochs(phase.last);
    let training = if phase.start > 0 {
        training.checkpoint(phase.start)
    } else {
        training
    };
    // Several devices: data-parallel, each device a slice of the split, the gradients summed
    // and the optimizer stepped on the first.
    let training = if phase.devices.len() > 1 {
        training.with_training_strategy(
            ExecutionStrategy::multi(phase.devices.to_vec(), MultiDeviceOptim::OptimMainDevice)
                .into(),
        )
    } else {
        training
    };
    let learner = Learner::new(
        model,
        optimizer(train),
        scheduler(train, phase.batches_per_epoch)?,
    );
    // burn-train's own logger is left out: its panic hook would print a failure on several
    // lines, and it logs every run of the process to the first's file. `experiment.log` is
    // written by `experiment_log.rs`.
    let training = renderer(training, phase.progress, phase.name).with_application_logger(None);
    let result = catch_training_panics(phase.run.path(), || training.launch(learner))?;
    if let Some(epoch) = guard.diverged_at() {
        bail!(
            "training diverged: the loss became NaN or infinite in epoch {epoch}; lower \
             train.learning_rate (now {}) or check the data",
            train.learning_rate
        );
    }
    if let Some(error) = result.error {
        bail!("training stopped: {error}");
    }
    Ok(result.model)
}

/// A stage of training: where it writes burn-train's files, how it re-samples, and its
/// `[train]` settings (cRT's second stage has its own epochs, rate and schedule).
pub struct Stage {
    /// The folder of burn-train's logs and checkpoints.
    pub dir: RunDir,
    /// The training split's re-sampling.
    pub resampling: Resampling,
    /// The stage's training settings.
    pub train: TrainSection,
    /// Its name in the epoch lines (`stage 2`); `None` for the run's training.
    pub name: Option<&'static str>,
}

/// A loader of `samples` in batches of `train.batch_size`; with `shuffle = (seed, skip)`
/// shuffled with `seed`, as from the epoch after `skip` epochs (`skip_epochs.rs`); with
/// `train.workers`, that many batches made ahead on a background thread.
pub(crate) fn loader<I, O, D, B>(
    samples: D,
    batcher: &B,
    shuffle: Option<(u64, usize)>,
    train: &TrainSection,
) -> Arc<dyn DataLoader<O>>
where
    I: Send + Sync + Clone + std::fmt::Debug + 'static,
    O: Send + Clone + std::fmt::Debug + 'static,
    D: Dataset<I> + 'static,
    B: Batcher<I, O> + Clone + 'static,
{
    let mut builder = DataLoaderBuilder::new(batcher.clone()).batch_size(train.batch_size);
    if let Some((seed, _)) = shuffle {
        builder = builder.shuffle(seed);
    }
    let mut loader = builder.build(samples);
    if let Some((_, skip)) = shuffle.filter(|&(_, skip)| skip > 0) {
        loader = Arc::new(SkipEpochs::new(loader, skip));
    }
    // Not burn's workers, whose batches come in the order they are done: the same loader as
    // without workers, run ahead on a thread (`prefetch.rs`), so the run is the same.
    if train.workers > 0 {
        Arc::new(PrefetchLoader::new(loader, train.workers))
    } else {
        loader
    }
}

/// The optimizer `train.optimizer` names, with `train.weight_decay` and `train.momentum`.
pub(crate) fn optimizer(train: &TrainSection) -> ModuleOptimizer {
    match train.optimizer {
        OptimizerKind::Adam => {
            let mut adam = AdamConfig::new();
            if train.weight_decay > 0.0 {
                adam =
                    adam.with_weight_decay(Some(WeightDecayConfig::new(train.weight_decay as f32)));
            }
            adam.init()
        }
        OptimizerKind::Adamw => AdamWConfig::new()
            .with_weight_decay(train.weight_decay as f32)
            .init(),
        OptimizerKind::SgdMomentum => {
            let mut sgd = SgdConfig::new()
                .with_momentum(Some(MomentumConfig::new().with_momentum(train.momentum)));
            if train.weight_decay > 0.0 {
                sgd =
                    sgd.with_weight_decay(Some(WeightDecayConfig::new(train.weight_decay as f32)));
            }
            sgd.init()
        }
    }
}

/// The learning-rate schedule `train.schedule` names, stepped once per batch: warm-up and
/// steps at `train.step_epochs` (a constant rate without them), or cosine annealing over the
/// whole run.
///
/// # Errors
/// A learning rate the cosine schedule rejects.
pub(crate) fn scheduler(
    train: &TrainSection,
    batches_per_epoch: usize,
) -> anyhow::Result<ModuleLrScheduler> {
    match train.schedule {
        ScheduleKind::Constant | ScheduleKind::Step => {
            let milestones = train
                .step_epochs
                .iter()
                .zip(&train.step_factors)
                .map(|(&epoch, &factor)| ((epoch - 1) * batches_per_epoch, factor))
                .collect();
            Ok(WarmupStepScheduler::new(
                train.learning_rate,
                train.warmup_epochs * batches_per_epoch,
                milestones,
            )
            .into())
        }
        ScheduleKind::Cosine => CosineAnnealingLrSchedulerConfig::new(
            train.learning_rate,
            (batches_per_epoch * train.epochs).max(1),
        )
        .init()
        .map_err(|e| anyhow::anyhow!("train.learning_rate: {e}")),
    }
}

/// `training` with its progress shown on a sweep's bar, burn-train's dashboard on a terminal,
/// or else one line per epoch.
fn renderer<M: LearnerModel>(
    training: SupervisedTraining<M>,
    progress: Option<&RunProgress>,
    stage: Option<&str>,
) -> SupervisedTraining<M> {
    match progress {
        Some(progress) => training.renderer(Box::new(SweepRenderer::new(progress.clone()))),
        None if std::io::stdout().is_terminal() => training,
        None => training.renderer(Box::new(EpochLineRenderer::of_stage(stage))),
    }
}
