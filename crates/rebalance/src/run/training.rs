//! `rebalance train` and `rebalance eval` of either task: burn-train's supervised training in
//! DRW phases, resumable from the run directory, then the task's evaluation, report and plots
//! (`crate::task`).

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::train::metric::LossMetric;
use burn::train::{Interrupter, SupervisedTraining};
use rebalance_data::{LongTailData, Resampling};
use rebalance_weights::ClassCounts;

use crate::run::backbone::Backbone;
use crate::run::backend::Backend;
use crate::run::config::RunConfig;
use crate::run::devices::{DeviceSpec, steps_per_epoch, stratified_order};
use crate::run::eval_options::EvalOptions;
use crate::run::experiment_log::ExperimentLog;
use crate::run::history::{Curve, HistoryRecorder};
use crate::run::launch::{
    PhaseRun, Stage, launch_phase, loader, materialize, scheduler, seeded_init, start_epoch,
    train_phases,
};
use crate::run::nan_guard::NanGuard;
use crate::run::renderer::RunProgress;
use crate::run::run_dir::{Claim, RunDir, RunState, SharedTraining, fault_point};
use crate::run::start::{Joining, Prepared, prepare, run_devices};
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

impl TrainOptions {
    /// The run directory of `config`'s run: `out`, else `[output] dir`.
    pub fn run_dir(&self, config: &RunConfig) -> RunDir {
        RunDir::new(self.out.clone().unwrap_or(config.output.dir.clone()))
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
    let begun = begin::<T>(config, options, data, Joining::Alone)?;
    let (model, stage1) = {
        let trainer = begun.trainer(options.progress.as_ref());
        let model = trainer.train()?;
        T::second_stage(&trainer, model)?
    };
    begun.conclude(model, stage1)
}

/// A run whose config is `source`'s (a finished run) but for `[eval]`: begun as a new run, given
/// `source`'s trained model and history instead of training them again, and finished by its
/// own evaluation (`compare`'s runs of one training, `crate::compare::twins`).
///
/// # Errors
/// As [`train`], and a `source` whose history or model cannot be read.
pub fn evaluate_trained<T: TaskKind>(
    config: &RunConfig,
    options: &TrainOptions,
    data: &LongTailData<T::Target>,
    source: &RunDir,
) -> anyhow::Result<T::Report> {
    let begun = begin::<T>(config, options, data, Joining::Alone)?;
    begun.history.replay(
        source.read_history(total_epochs(config))?,
        source.report_wall_seconds(),
    );
    let model = source.load_model(T::trained_model(
        config,
        data,
        &begun.counts,
        &begun.devices[0],
    )?)?;
    begun.log(&format!(
        "not trained: the model of {} (the same config but for [eval]), evaluated with this \
         run's [eval]",
        source.path().display()
    ));
    begun.run.write_shared_training(&SharedTraining::Twin {
        source: source.path().display().to_string(),
    })?;
    begun.conclude(model, T::Stage1::default())
}

/// A run checked and its directory claimed and readied: what its training and its end need.
pub(crate) struct Begun<'a, T: TaskKind> {
    /// The run's config.
    pub config: &'a RunConfig,
    /// The data.
    pub data: &'a LongTailData<T::Target>,
    /// The backend it trains on.
    pub backend: Backend,
    /// The run directory.
    pub run: RunDir,
    /// The devices it trains on (the first evaluates).
    pub devices: Vec<Device>,
    /// The training counts.
    pub counts: ClassCounts,
    /// The validation split's batcher: standardization only.
    pub batcher: T::Batcher,
    /// The training split's batcher.
    pub train_batcher: T::Batcher,
    /// The epoch of the checkpoint a resumed run continues after.
    pub resume_from: Option<usize>,
    /// The epoch of cRT's second stage a resumed run continues after (`Prepared`).
    pub stage2_from: Option<usize>,
    /// The per-epoch history.
    pub history: HistoryRecorder,
    /// The run's `experiment.log`, open until the run ends.
    experiment_log: ExperimentLog,
    /// This process's claim on the run, held until it ends.
    _claim: Claim,
}

/// Checks `config` against `data` (the model, its first and last losses, the schedule), then
/// claims and readies the run directory (`prepare`) as `joining` says, so the recorded config
/// has every default filled in.
///
/// # Errors
/// As [`train`], before training.
pub(crate) fn begin<'a, T: TaskKind>(
    config: &'a RunConfig,
    options: &TrainOptions,
    data: &'a LongTailData<T::Target>,
    joining: Joining,
) -> anyhow::Result<Begun<'a, T>> {
    Backbone::check_input(config.model.kind, &data.feature_shape)?;
    let backend = options.backend.unwrap_or(config.train.backend);
    let devices = run_devices(config, options, backend)?;
    let device = devices[0].clone();
    let run = options.run_dir(config);
    let recorded = resolved(config, backend, &run);

    // Everything is checked before the run directory is touched.
    let counts = T::counts(config, data)?;
    T::batchers(config, data, None)?;
    T::check(config, &counts)?;
    // The first epoch's model, and the last one's (DRW's weights, cRT's stage loss).
    seeded_init(|| -> anyhow::Result<()> {
        T::model(config, data, &counts, 0, &device)?;
        T::trained_model(config, data, &counts, &device)?;
        Ok(())
    })?;
    scheduler(
        &config.train,
        steps_per_epoch(data.train.len(), config.train.batch_size, devices.len()),
    )?;
    T::note(config, data, options);
    let Prepared {
        state,
        resume_from,
        stage2_from,
        history,
        claim,
    } = prepare(&run, &recorded, options, joining, data.train.dim(), || {
        RunState {
            standardizer: T::standardizer(data),
            data_root: std::env::current_dir().ok(),
        }
    })?;
    // From here, what burn-train logs on this thread goes to the run's `experiment.log`.
    // Where the session resumes, over both stages (cRT's second resumes from its own epochs).
    let epochs_done = resume_from.map(|done| done + stage2_from.unwrap_or(0));
    let log = ExperimentLog::open(&run, epochs_done, total_epochs(config))?;
    let (batcher, train_batcher) = T::batchers(config, data, Some(state.standardizer))?;
    Ok(Begun {
        config,
        data,
        backend,
        run,
        devices,
        counts,
        batcher,
        train_batcher,
        resume_from,
        stage2_from,
        history,
        experiment_log: log,
        _claim: claim,
    })
}

impl<'a, T: TaskKind> Begun<'a, T> {
    /// Writes `line` to the run's `experiment.log` (from whichever thread trains it).
    pub(crate) fn log(&self, line: &str) {
        let _entered = self.experiment_log.context().enter();
        log::info!("{line}");
    }

    /// The trainer of the run's phases, its epochs on `progress` if given.
    pub(crate) fn trainer<'b>(&'b self, progress: Option<&'b RunProgress>) -> Trainer<'b, T> {
        Trainer::<T> {
            config: self.config,
            data: self.data,
            run: &self.run,
            resume_from: self.resume_from,
            stage2_from: self.stage2_from,
            counts: &self.counts,
            train_batcher: self.train_batcher.clone(),
            batcher: self.batcher.clone(),
            device: self.devices[0].clone(),
            autodiff: self.devices[0].clone().autodiff(),
            devices: &self.devices,
            progress,
            history: &self.history,
        }
    }

    /// Ends the run with its trained `model`: saves it, evaluates it on the test split, writes
    /// the report, predictions and plots, and marks the run finished.
    ///
    /// # Errors
    /// A failed evaluation or a file that cannot be written.
    pub(crate) fn conclude(self, model: T::Model, stage1: T::Stage1) -> anyhow::Result<T::Report> {
        // Over every session of a resumed run, so that its throughput counts the epochs it timed.
        let wall_seconds = self.history.wall_seconds();
        fault_point("after-checkpoint");
        self.run.save_model(&model)?;
        fault_point("after-model");

        let report = T::finish(
            &Trained {
                config: self.config,
                backend: self.backend,
                data: self.data,
                counts: &self.counts,
                batcher: &self.batcher,
                device: &self.devices[0],
                devices: Some(&self.devices),
                run: &self.run,
                wall_seconds,
                stage1,
            },
            &model,
        )?;
        fault_point("after-report");
        T::plot(
            &self.run,
            &report,
            &self.history.finish(total_epochs(self.config))?,
        )?;
        self.run.mark_finished()?;
        Ok(report)
    }
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
    // Relative data paths start where `train` ran.
    let config = run.read_state()?.locate_data(config);
    let device = config.train.backend.device()?;
    let data = T::load(&config)?;
    T::check_eval(&config, &data, options)?;
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
pub(crate) type Loaders<B> = (Loader<B>, Loader<B>);

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
    /// The epoch of cRT's second stage a resumed run continues after, from its own checkpoint.
    pub stage2_from: Option<usize>,
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
            name: None,
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
                name: stage.name,
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
    pub(crate) fn loaders(
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
        let _shared = crate::run::testing::PANICS.read();
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
