//! `rebalance train`: burn-train's supervised training, then the test evaluation
//! (`inference.rs`), the report and the plots.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::Dataset;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, SgdConfig};
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{Learner, SupervisedTraining};
use rebalance_data::{
    ImageAugmentation, LongTailData, ResampledSamples, Resampling, Sample, SampleBatch,
    SampleBatcher, Standardizer,
};
use rebalance_weights::ClassCounts;

use crate::config::{OptimizerKind, RunConfig, ScheduleKind};
use crate::inference::{evaluate, run_report};
use crate::metrics::{ConfusionMetric, NanGuard, PerClassRecallMetric, Score, SharedPredictions};
use crate::model::Classifier;
use crate::renderer::{EpochLineRenderer, RunProgress, SweepRenderer};
use crate::report::Report;
use crate::run_dir::{RunDir, RunState};
use crate::schedule::WarmupStepScheduler;
use crate::{backend, plots};

/// Options of `rebalance train` beside the config.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Overrides `[train] backend`.
    pub backend: Option<String>,
    /// Overrides `[output] dir`.
    pub out: Option<PathBuf>,
    /// Continue from the run directory's last checkpoint.
    pub resume: bool,
    /// Report epochs to a sweep's progress bar instead of the terminal (`rebalance compare`).
    pub progress: Option<RunProgress>,
}

/// The standardization of `data`'s inputs: per channel for images, per feature otherwise.
pub(crate) fn standardizer(data: &LongTailData) -> Standardizer {
    match data.feature_shape.as_slice() {
        [channels, _, _] => Standardizer::per_channel(&data.train, *channels),
        _ => Standardizer::per_feature(&data.train),
    }
}

fn loader<D: Dataset<Sample> + 'static>(
    samples: D,
    batcher: &SampleBatcher,
    batch_size: usize,
    shuffle: Option<u64>,
    workers: usize,
) -> Arc<dyn DataLoader<SampleBatch>> {
    let mut builder = DataLoaderBuilder::new(batcher.clone()).batch_size(batch_size);
    if let Some(seed) = shuffle {
        builder = builder.shuffle(seed);
    }
    if workers > 0 {
        builder = builder.num_workers(workers);
    }
    builder.build(samples)
}

/// The epochs done before phase `first` starts (counted from 1), or before the resumed run
/// continues inside it.
fn start_epoch(resume_from: Option<usize>, first: usize) -> usize {
    match resume_from {
        Some(done) if done >= first - 1 => done,
        _ => first - 1,
    }
}

/// The phases of training: `(first epoch, last epoch, epoch whose weights apply)`, counted
/// from 1; two phases when deferred re-weighting starts inside the run.
fn phases(config: &RunConfig) -> Vec<(usize, usize)> {
    let epochs = config.train.epochs;
    match config.loss.drw_start_epoch {
        Some(start) if start > 1 && start <= epochs => vec![(1, start - 1), (start, epochs)],
        _ => vec![(1, epochs)],
    }
}

/// Trains as `config` says and writes the run directory.
///
/// # Errors
/// Any configuration, data, backend or training failure, with a message naming the cause.
pub fn train(config: &RunConfig, options: &TrainOptions) -> anyhow::Result<Report> {
    let data = config.data.load()?;
    train_on(config, options, &data)
}

/// Trains on `data`, which `config.data` must describe (a sweep loads it once and trains many
/// variants on it), and writes the run directory.
///
/// # Errors
/// As [`train`].
pub fn train_on(
    config: &RunConfig,
    options: &TrainOptions,
    data: &LongTailData,
) -> anyhow::Result<Report> {
    let backend = options
        .backend
        .clone()
        .unwrap_or_else(|| config.train.backend.clone());
    let device = backend::device(&backend)?;
    let run = RunDir::new(
        options
            .out
            .clone()
            .unwrap_or_else(|| config.output.dir.clone()),
    );
    let resume_from = run.prepare(options.resume)?;

    let num_classes = data.num_classes;
    let counts = ClassCounts::from_labels(data.train.labels(), num_classes)?;
    let state = RunState {
        standardizer: standardizer(data),
    };
    let mut resolved = config.clone();
    resolved.train.backend = backend.clone();
    resolved.output.dir = run.path().to_path_buf();
    run.write_config(&resolved)?;
    run.write_state(&state)?;

    let batcher = SampleBatcher::new(Some(state.standardizer.clone()));
    let train_cfg = &config.train;
    let train_batcher = if train_cfg.augment {
        let &[c, h, w] = data.feature_shape.as_slice() else {
            bail!(
                "train.augment = true: needs images [channels, height, width], but the data's \
                 samples have shape {:?}",
                data.feature_shape
            );
        };
        batcher
            .clone()
            .with_augmentation(ImageAugmentation::cifar([c, h, w], train_cfg.seed))
    } else {
        batcher.clone()
    };
    let valid_split = data.validation.as_ref().unwrap_or(&data.test);
    let batches_per_epoch = data.train.len().div_ceil(train_cfg.batch_size);
    let loss_config = config.loss.loss_config();
    let autodiff = device.clone().autodiff();

    let started = Instant::now();
    let mut trained = None;
    for (first, last) in phases(config) {
        if resume_from.is_some_and(|done| done >= last) {
            continue;
        }
        autodiff.seed(train_cfg.seed);
        let loss = loss_config.init_for_epoch(&counts, first - 1, &autodiff)?;
        let model = Classifier::new(
            &config.model,
            &data.feature_shape,
            num_classes,
            loss,
            &autodiff,
        )?;
        let optimizer = match train_cfg.optimizer {
            OptimizerKind::Adam => {
                let mut adam = AdamConfig::new();
                if train_cfg.weight_decay > 0.0 {
                    adam = adam.with_weight_decay(Some(WeightDecayConfig::new(
                        train_cfg.weight_decay as f32,
                    )));
                }
                adam.init()
            }
            OptimizerKind::Adamw => AdamWConfig::new()
                .with_weight_decay(train_cfg.weight_decay as f32)
                .init(),
            OptimizerKind::SgdMomentum => {
                let mut sgd = SgdConfig::new().with_momentum(Some(
                    MomentumConfig::new().with_momentum(train_cfg.momentum),
                ));
                if train_cfg.weight_decay > 0.0 {
                    sgd = sgd.with_weight_decay(Some(WeightDecayConfig::new(
                        train_cfg.weight_decay as f32,
                    )));
                }
                sgd.init()
            }
        };
        let interrupter = burn::train::Interrupter::new();
        let guard = NanGuard::new(
            interrupter.clone(),
            first.max(resume_from.map_or(0, |d| d + 1)),
        );
        let train_loader = match config.data.resampling {
            Resampling::None => loader(
                data.train.clone(),
                &train_batcher,
                train_cfg.batch_size,
                Some(train_cfg.seed),
                train_cfg.workers,
            ),
            resampling => loader(
                ResampledSamples::new(data.train.clone(), resampling, num_classes, train_cfg.seed)?
                    .starting_at_epoch(start_epoch(resume_from, first))?,
                &train_batcher,
                train_cfg.batch_size,
                Some(train_cfg.seed),
                train_cfg.workers,
            ),
        };
        // The confusion-matrix metrics read each validation batch's predictions once, together.
        let shared = SharedPredictions::new();
        let training = SupervisedTraining::new(
            run.path(),
            train_loader,
            loader(
                valid_split.clone(),
                &batcher,
                train_cfg.batch_size,
                None,
                train_cfg.workers,
            ),
        )
        // The training loss through the guard, which checks the value the loss metric reads.
        .metric_train_numeric(guard.clone())
        .metric_valid_numeric(LossMetric::new())
        .metrics((AccuracyMetric::new(),))
        .metric_valid_numeric(
            ConfusionMetric::new(Score::BalancedAccuracy, num_classes).with_shared(shared.clone()),
        )
        .metric_valid_numeric(
            ConfusionMetric::new(Score::MacroF1, num_classes).with_shared(shared.clone()),
        )
        .metric_valid_numeric(
            ConfusionMetric::new(Score::GMean, num_classes).with_shared(shared.clone()),
        )
        .metric_valid(PerClassRecallMetric::new(num_classes).with_shared(shared))
        .with_interrupter(interrupter)
        .with_default_checkpointers()
        .num_epochs(last);
        let start_checkpoint = start_epoch(resume_from, first);
        let training = if start_checkpoint > 0 {
            training.checkpoint(start_checkpoint)
        } else {
            training
        };
        let training = match &options.progress {
            Some(progress) => training.renderer(Box::new(SweepRenderer::new(progress.clone()))),
            None if std::io::stdout().is_terminal() => training,
            None => training.renderer(Box::new(EpochLineRenderer::default())),
        };
        let learner = match train_cfg.schedule {
            ScheduleKind::Constant | ScheduleKind::Step => {
                let milestones = train_cfg
                    .step_epochs
                    .iter()
                    .zip(&train_cfg.step_factors)
                    .map(|(&epoch, &factor)| ((epoch - 1) * batches_per_epoch, factor))
                    .collect();
                let scheduler = WarmupStepScheduler::new(
                    train_cfg.learning_rate,
                    train_cfg.warmup_epochs * batches_per_epoch,
                    milestones,
                );
                Learner::new(model, optimizer, scheduler)
            }
            ScheduleKind::Cosine => {
                let scheduler = CosineAnnealingLrSchedulerConfig::new(
                    train_cfg.learning_rate,
                    (batches_per_epoch * train_cfg.epochs).max(1),
                )
                .init()
                .map_err(|e| anyhow::anyhow!("train.learning_rate: {e}"))?;
                Learner::new(model, optimizer, scheduler)
            }
        };
        let result = training.launch(learner);
        if let Some(epoch) = guard.diverged_at() {
            bail!(
                "training diverged: the loss became NaN or infinite in epoch {epoch}; lower \
                 train.learning_rate (now {}) or check the data",
                train_cfg.learning_rate
            );
        }
        if let Some(error) = result.error {
            bail!("training stopped: {error}");
        }
        trained = Some(result.model);
    }
    let wall_seconds = started.elapsed().as_secs_f64();
    let model = match trained {
        Some(model) => model,
        None => bail!(
            "--resume: the run in {} has already finished",
            run.path().display()
        ),
    };
    run.save_model(&model)?;

    let posthoc_tau = config.eval.posthoc_tau;
    let confusion = evaluate(
        &model,
        &data.test,
        &batcher,
        &device,
        train_cfg.batch_size,
        posthoc_tau.map(|tau| (counts.as_slice(), tau)),
    )?;
    let report = run_report(
        config,
        &backend,
        data,
        &counts,
        &confusion,
        wall_seconds,
        posthoc_tau,
    )?;
    run.write_report(&report)?;
    let loss_curve = plots::epoch_values(run.path(), "train", "Loss.log");
    let balanced_curve: Vec<f64> =
        plots::epoch_values(run.path(), "valid", "Balanced_Accuracy.log")
            .into_iter()
            .map(|v| v / 100.0)
            .collect();
    plots::write_plots(
        run.path(),
        &report.train_counts,
        &report.scores.per_class_recall,
        &loss_curve,
        &balanced_curve,
        &format!("{} / {}: per-class recall", report.loss, report.scheme),
    )?;
    Ok(report)
}
