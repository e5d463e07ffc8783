//! `rebalance train` and `rebalance eval` of either task: burn-train's supervised training in
//! DRW phases, resumable from the run directory, then the task's evaluation, report and plots
//! (`crate::task`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

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
use burn::train::metric::LossMetric;
use burn::train::{
    ExecutionStrategy, Interrupter, Learner, LearnerModel, MultiDeviceOptim, SupervisedTraining,
};
use rebalance_data::{LongTailData, Resampling};
use rebalance_weights::ClassCounts;

use crate::run::backbone::Backbone;
use crate::run::backend::Backend;
use crate::run::config::{OptimizerKind, RunConfig, ScheduleKind, TrainSection};
use crate::run::devices::{DeviceSpec, steps_per_epoch, stratified_order, training_devices};
use crate::run::eval_options::EvalOptions;
use crate::run::history::{Curve, HistoryRecorder};
use crate::run::nan_guard::NanGuard;
use crate::run::panic_capture::{GuardedLogger, catch_training_panics};
use crate::run::prefetch::PrefetchLoader;
use crate::run::renderer::{EpochLineRenderer, RunProgress, SweepRenderer};
use crate::run::run_dir::{Claim, RunDir, RunState, Start, fault_point};
use crate::run::schedule::WarmupStepScheduler;
use crate::run::skip_epochs::SkipEpochs;
use crate::run::task::{Loader, TaskKind, Trained};

/// Options of `rebalance train` beside the config.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Overrides `[train] backend`.
    pub backend: Option<Backend>,
    /// Overrides `[output] dir`.
    pub out: Option<PathBuf>,
    /// Continue from the run directory's last checkpoint.
    pub resume: bool,
    /// Replace a finished run in the run directory.
    pub overwrite: bool,
    /// Report epochs to a sweep's progress bar instead of the terminal (`rebalance compare`).
    pub progress: Option<RunProgress>,
    /// The device a sweep assigned the run (`compare --devices`); `[train] devices`, when
    /// set, wins.
    pub device: Option<DeviceSpec>,
}

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

/// Loads the data `config.data` describes, trains task `T` on it as `config` says and writes
/// the run directory.
///
/// # Errors
/// Any configuration, data, backend or training failure, with a message naming the cause.
pub fn train<T: TaskKind>(config: &RunConfig, options: &TrainOptions) -> anyhow::Result<T::Report> {
    let data = T::load(config)?;
    train_on::<T>(config, options, &data)
}

/// Trains on `data`, which `config.data` must describe (a sweep loads it once and trains many
/// variants on it), and writes the run directory.
///
/// # Errors
/// As [`train`].
pub fn train_on<T: TaskKind>(
    config: &RunConfig,
    options: &TrainOptions,
    data: &LongTailData<T::Target>,
) -> anyhow::Result<T::Report> {
    Backbone::check_input(config.model.kind, &data.feature_shape)?;
    let backend = options.backend.unwrap_or(config.train.backend);
    let devices = run_devices(config, options, backend)?;
    let device = devices[0].clone();
    let run = RunDir::new(options.out.clone().unwrap_or(config.output.dir.clone()));
    let recorded = resolved(config, backend, &run);

    // Everything is checked before the run directory is touched.
    let counts = T::counts(config, data)?;
    T::batchers(config, data, None)?;
    seeded_init(|| T::model(config, data, &counts, 0, &device).map(drop))?;
    scheduler(
        &config.train,
        steps_per_epoch(data.train.len(), config.train.batch_size, devices.len()),
    )?;
    T::note(config, data, options);
    let Prepared {
        state,
        resume_from,
        history,
        claim: _claim,
    } = prepare(&run, &recorded, options, data.train.dim(), || RunState {
        standardizer: T::standardizer(data),
    })?;

    let (batcher, train_batcher) = T::batchers(config, data, Some(state.standardizer))?;
    let trainer = Trainer::<T> {
        config,
        data,
        run: &run,
        resume_from,
        counts: &counts,
        train_batcher,
        batcher: batcher.clone(),
        device: device.clone(),
        autodiff: device.clone().autodiff(),
        devices: &devices,
        progress: options.progress.as_ref(),
        history: &history,
    };
    let started = Instant::now();
    let model = trainer.train()?;
    let (model, stage1) = T::second_stage(&trainer, model)?;
    let wall_seconds = started.elapsed().as_secs_f64();
    fault_point("after-checkpoint");
    run.save_model(&model)?;
    fault_point("after-model");

    let report = T::finish(
        &Trained {
            config,
            backend,
            data,
            counts: &counts,
            batcher: &batcher,
            device: &device,
            devices: Some(&devices),
            run: &run,
            wall_seconds,
            stage1,
        },
        &model,
    )?;
    fault_point("after-report");
    T::plot(&run, &report, &history.finish(total_epochs(config))?)?;
    run.mark_finished()?;
    Ok(report)
}

/// `rebalance eval`: rebuilds a run's model of task `T` from its directory alone and
/// evaluates it on the test split again, as [`TaskKind::reevaluate`] says.
///
/// # Errors
/// A missing or unreadable run directory, config, state or model; an adjustment the task does
/// not have or cannot fit.
pub fn eval_run<T: TaskKind>(dir: &Path, options: &EvalOptions) -> anyhow::Result<T::Report> {
    let run = RunDir::new(dir);
    let config = run.read_config()?;
    run.verify_checksums()?;
    let device = config.train.backend.device()?;
    let data = T::load(&config)?;
    let state = run.read_state_for(data.train.dim())?;
    let counts = T::counts(&config, &data)?;
    let model = run.load_model(T::trained_model(&config, &data, &counts, &device)?)?;
    let (batcher, _) = T::batchers(&config, &data, Some(state.standardizer))?;
    T::reevaluate(
        &Trained {
            config: &config,
            backend: config.train.backend,
            data: &data,
            counts: &counts,
            batcher: &batcher,
            device: &device,
            devices: None,
            run: &run,
            wall_seconds: run.report_wall_seconds(),
            stage1: T::Stage1::default(),
        },
        model,
        options,
    )
}

/// The devices a run trains on: `train.devices` (checked against `backend`), else the one
/// device a sweep assigned (`options.device`), else `backend`'s default device.
///
/// # Errors
/// A device of another backend, or a backend not compiled in.
pub(crate) fn run_devices(
    config: &RunConfig,
    options: &TrainOptions,
    backend: Backend,
) -> anyhow::Result<Vec<Device>> {
    match options.device {
        Some(spec) if config.train.devices.is_empty() => {
            if spec.backend != backend {
                bail!("device \"{spec}\" is not a device of train.backend = \"{backend}\"");
            }
            Ok(vec![spec.device()?])
        }
        _ => training_devices(&config.train.devices, backend),
    }
}

/// A run directory claimed and readied for training.
pub(crate) struct Prepared {
    /// The standardization of the inputs: fitted for a new run, read back for a resumed one.
    pub state: RunState,
    /// The epoch of the checkpoint a resumed run continues after.
    pub resume_from: Option<usize>,
    /// The per-epoch history, holding a resumed run's epochs before its checkpoint.
    pub history: HistoryRecorder,
    /// This process's claim on the run, held until training ends.
    pub claim: Claim,
}

/// Plans how `run` may be used (`--resume`, `--overwrite`), claims it, plans again under the
/// claim, then writes `recorded` and the state (`fresh`'s for a new run; a resumed run's is
/// read back and checked against `features`).
///
/// # Errors
/// A run that may not be started or resumed as asked, a claim held by another process, or a
/// file that cannot be read or written.
pub(crate) fn prepare(
    run: &RunDir,
    recorded: &RunConfig,
    options: &TrainOptions,
    features: usize,
    fresh: impl FnOnce() -> RunState,
) -> anyhow::Result<Prepared> {
    let start = run.plan(recorded, options.resume, options.overwrite)?;
    if let Start::Resume { from } = start
        && let Some(newest) = run.newest_checkpoint_file().filter(|&n| n > from)
    {
        eprintln!(
            "--resume: the checkpoint of epoch {newest} is incomplete (cut short by a crash); \
             resuming after epoch {from}"
        );
    }
    let state = match start {
        Start::Fresh { .. } => fresh(),
        Start::Resume { .. } => run.read_state_for(features)?,
    };
    let resume_from = match start {
        Start::Resume { from } => Some(from),
        Start::Fresh { .. } => None,
    };
    let history = HistoryRecorder::start(run.clone(), resume_from)?;

    // Training starts: the run is claimed, then its directory readied.
    let claim = run.claim()?.map_err(|pid| {
        anyhow::anyhow!(
            "{} is being trained by process {pid}; wait for it, or delete {} if that process \
             is not rebalance",
            run.path().display(),
            run.claim_file().display()
        )
    })?;
    // Planned again under the claim: another process may have changed the run meanwhile.
    if run.plan(recorded, options.resume, options.overwrite)? != start {
        bail!(
            "the run in {} changed while this command started; run it again",
            run.path().display()
        );
    }
    if let Start::Fresh {
        replacing: Some(old),
    } = &start
    {
        eprintln!(
            "--overwrite: replacing the finished run in {} ({old})",
            run.path().display()
        );
    }
    run.begin(&start, recorded, &state)?;
    Ok(Prepared {
        state,
        resume_from,
        history,
        claim,
    })
}

/// The epochs of both stages.
pub(crate) fn total_epochs(config: &RunConfig) -> usize {
    config.train.epochs + config.train.stage2.as_ref().map_or(0, |s| s.epochs)
}

/// `config` as the run directory records it: with the backend and the directory used.
pub(crate) fn resolved(config: &RunConfig, backend: Backend, run: &RunDir) -> RunConfig {
    let mut resolved = config.clone();
    resolved.train.backend = backend;
    resolved.output.dir = run.path().to_path_buf();
    resolved
}

/// A phase's training and validation loaders.
type Loaders<B> = (Loader<B>, Loader<B>);

/// What every phase of a run of task `T` trains with.
pub struct Trainer<'a, T: TaskKind> {
    /// The run's config.
    pub config: &'a RunConfig,
    /// The data.
    pub data: &'a LongTailData<T::Target>,
    /// The run directory.
    pub run: &'a RunDir,
    /// The epoch of the checkpoint a resumed run continues after.
    pub resume_from: Option<usize>,
    /// The training counts.
    pub counts: &'a ClassCounts,
    /// The validation split's batcher: standardization only.
    pub batcher: T::Batcher,
    /// The training split's batcher.
    pub train_batcher: T::Batcher,
    /// The device to evaluate on (the first of `devices`).
    pub device: Device,
    /// The autodiff device.
    pub autodiff: Device,
    /// The devices training runs on (the first is `device`); several: data-parallel.
    pub devices: &'a [Device],
    /// A sweep's progress bar, if any.
    pub progress: Option<&'a RunProgress>,
    /// The per-epoch history.
    pub history: &'a HistoryRecorder,
}

impl<T: TaskKind> Trainer<'_, T> {
    /// Trains the phases not done yet; the model of the last. A run resumed from its last
    /// epoch's checkpoint trains no epoch: the last phase only loads the checkpoint.
    fn train(&self) -> anyhow::Result<T::Model> {
        train_phases(self.config, self.resume_from, |first, last| {
            self.phase(first, last)
        })
    }

    /// Trains epochs `first..=last` from a fresh model (the loss's class weights are those of
    /// epoch `first`), or from the checkpoint a resumed run stopped at inside them.
    fn phase(&self, first: usize, last: usize) -> anyhow::Result<T::Model> {
        let train = &self.config.train;
        let model = seeded_init(|| -> anyhow::Result<T::Model> {
            self.autodiff.seed(train.seed);
            Ok(materialize(T::model(
                self.config,
                self.data,
                self.counts,
                first - 1,
                &self.autodiff,
            )?))
        })?;
        let start = start_epoch(self.resume_from, first);
        let stage = Stage {
            dir: self.run.clone(),
            resampling: self.config.data.resampling,
            train: train.clone(),
        };
        self.launch(model, &stage, first, start, last, start + 1)
    }

    /// Trains `model` with burn-train on the run's splits in `stage`'s folder, from epoch
    /// `start + 1` to `last` of a phase that began at epoch `first` (re-sampled as the stage
    /// says from epoch `start + 1` on), with the task's metrics; a NaN loss is reported as in
    /// epoch `nan_epoch` on.
    ///
    /// # Errors
    /// A re-sampling that cannot be built, or a failed training.
    pub fn launch(
        &self,
        model: T::Model,
        stage: &Stage,
        first: usize,
        start: usize,
        last: usize,
        nan_epoch: usize,
    ) -> anyhow::Result<T::Model> {
        let interrupter = Interrupter::new();
        let guard = NanGuard::new(interrupter.clone(), nan_epoch);
        let (train_loader, valid_loader) = self.loaders(first, start, stage.resampling)?;
        let training = SupervisedTraining::new(stage.dir.path(), train_loader, valid_loader)
            // The training loss through the guard, which checks the value the loss metric
            // reads; it also goes into the run's history.
            .metric_train_numeric(self.history.record(guard.clone(), Curve::TrainLoss))
            .metric_valid_numeric(LossMetric::new());
        let training = T::metrics(training, self.data.num_classes, self.history);
        launch_phase(
            PhaseRun {
                run: &stage.dir,
                train: &stage.train,
                batches_per_epoch: steps_per_epoch(
                    self.data.train.len(),
                    self.config.train.batch_size,
                    self.devices.len(),
                ),
                start,
                last,
                progress: self.progress,
                devices: self.devices,
            },
            training,
            model,
            interrupter,
            &guard,
        )
    }

    /// The training loader of the phase from epoch `first` (shuffled, re-sampled as
    /// `resampling` says from epoch `start + 1` on, and shuffled as the phase's epochs up to
    /// `start` were) and the validation loader (the validation split, else the test split).
    ///
    /// # Errors
    /// A re-sampling that cannot be built.
    fn loaders(
        &self,
        first: usize,
        start: usize,
        resampling: Resampling,
    ) -> anyhow::Result<Loaders<T::Batch>> {
        let train = &self.config.train;
        let shuffled = Some((train.seed, start + 1 - first));
        // On several devices each takes a contiguous slice of the split: ordered so that every
        // slice is a stratified mix (a re-sampling keeps the order, its indices increasing).
        let samples = if self.devices.len() > 1 {
            let strata = T::strata(self.data, self.counts);
            self.data
                .train
                .select(&stratified_order(&strata, train.seed))
        } else {
            self.data.train.clone()
        };
        let train_loader = T::train_loader(
            samples,
            resampling,
            self.data.num_classes,
            start,
            &self.train_batcher,
            shuffled,
            train,
        )?;
        let valid_split = self.data.validation.as_ref().unwrap_or(&self.data.test);
        let valid_loader = loader(valid_split.clone(), &self.batcher, None, train);
        Ok((train_loader, valid_loader))
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
    // burn-train's own panic hook and `experiment.log` are left out: a failure is one line.
    let training = renderer(training, phase.progress).with_application_logger(None);
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
fn optimizer(train: &TrainSection) -> ModuleOptimizer {
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
) -> SupervisedTraining<M> {
    match progress {
        Some(progress) => training.renderer(Box::new(SweepRenderer::new(progress.clone()))),
        None if std::io::stdout().is_terminal() => training,
        None => training.renderer(Box::new(EpochLineRenderer::default())),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::run::history::EpochHistory;

    /// The quickstart, small and easy: 100 samples in the head class, 20 test samples per
    /// class, separable classes (learnt above chance in two epochs).
    fn tiny(epochs: usize, extra: &[&str]) -> RunConfig {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/quickstart.toml");
        let mut sets = vec![
            format!("train.epochs={epochs}"),
            "data.difficulty=\"easy\"".to_string(),
            "data.max_per_class=100".to_string(),
            "data.test_per_class=20".to_string(),
        ];
        sets.extend(extra.iter().map(|s| s.to_string()));
        RunConfig::load(&path, &sets).unwrap()
    }

    fn train_into(dir: &Path, config: &RunConfig, resume: bool) {
        let options = TrainOptions {
            out: Some(dir.to_path_buf()),
            resume,
            // A new run replaces the one before it.
            overwrite: !resume,
            ..TrainOptions::default()
        };
        train::<crate::task::SingleLabel>(config, &options).unwrap();
    }

    /// The curves the plot draws: one finite value per epoch, the accuracy a fraction.
    #[track_caller]
    fn assert_curves(history: &EpochHistory, epochs: usize) {
        let (loss, balanced) = (history.train_loss(), history.valid_score());
        assert_eq!(
            (loss.len(), balanced.len()),
            (epochs, epochs),
            "{history:?}"
        );
        assert!(loss.iter().all(|l| l.is_finite() && *l > 0.0), "{loss:?}");
        assert!(
            balanced.iter().all(|b| (0.0..=1.0).contains(b)),
            "{balanced:?}"
        );
        assert!(history.covers(epochs), "{history:?}");
    }

    #[test]
    fn every_epoch_reaches_the_curves() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        train_into(dir.path(), &tiny(2, &[]), false);
        let first = run.read_history(2).unwrap();
        assert_curves(&first, 2);
        // Above chance (0.1) after two epochs.
        assert!(first.epochs[1].valid.value() > 0.2, "{first:?}");

        // A resumed run keeps the epochs before its checkpoint and adds its own.
        train_into(dir.path(), &tiny(3, &[]), true);
        let resumed = run.read_history(3).unwrap();
        assert_curves(&resumed, 3);
        assert_eq!(resumed.epochs[..2], first.epochs[..]);

        // A new run in the same directory starts its history over.
        train_into(dir.path(), &tiny(1, &[]), false);
        assert_curves(&run.read_history(1).unwrap(), 1);
        assert!(run.read_history(2).is_err());
    }

    #[test]
    fn both_phases_of_deferred_reweighting_reach_the_curves() {
        let dir = tempfile::tempdir().unwrap();
        let drw = ["loss.kind=\"ldam\"", "loss.drw_start_epoch=2"];
        train_into(dir.path(), &tiny(3, &drw), false);
        assert_curves(&RunDir::new(dir.path()).read_history(3).unwrap(), 3);
    }
}
