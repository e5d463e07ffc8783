//! `rebalance train` and `rebalance eval` on multi-label data (`data.task = "multi-label"`):
//! burn-train's supervised training of a [`MultiLabelClassifier`] with a sigmoid loss of
//! multi-hot targets, then the test evaluation, the thresholds, the report, `predictions.csv`
//! and the plots. The run directory, resume, checkpoints and DRW phases are those of
//! `training.rs`.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use burn::data::dataloader::DataLoader;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::*;
use burn::train::metric::{HammingScore, LossMetric};
use burn::train::{Interrupter, SupervisedTraining};
use rebalance_data::{
    MultiLabelBatch, MultiLabelBatcher, MultiLabelData, MultiLabelSamples, Standardizer,
};
use rebalance_weights::{ClassCounts, ZeroCountPolicy};

use crate::backbone::Backbone;
use crate::backend::Backend;
use crate::config::{RunConfig, ThresholdRule};
use crate::devices::{steps_per_epoch, stratified_order};
use crate::history::{Curve, EpochHistory, HistoryRecorder};
use crate::metrics::NanGuard;
use crate::model::MultiLabelClassifier;
use crate::multilabel_evaluation::{DEFAULT_THRESHOLD, MultiLabelScores};
use crate::multilabel_metrics::{MultiLabelMetric, MultiLabelScore, SharedScores};
use crate::multilabel_report::{MultiLabelReport, RunFacts};
use crate::plots;
use crate::predictions::MultiLabelPredictions;
use crate::renderer::RunProgress;
use crate::report::peak_memory_bytes;
use crate::run_dir::{RunDir, RunState, fault_point};
use crate::training::{
    PhaseRun, Prepared, TrainOptions, launch_phase, loader, materialize, prepare, resolved,
    run_devices, scheduler, seeded_init, start_epoch, train_phases,
};

/// Loads the multi-label data `config.data` describes, trains on it and writes the run
/// directory.
///
/// # Errors
/// Any configuration, data, backend or training failure, with a message naming the cause.
pub fn train(config: &RunConfig, options: &TrainOptions) -> anyhow::Result<MultiLabelReport> {
    let data = config.data.load_multi_label(zero_count(config))?;
    train_on(config, options, &data)
}

/// The loss's zero-count policy: a label without training positives is an error unless the
/// weighting allows it.
pub(crate) fn zero_count(config: &RunConfig) -> ZeroCountPolicy {
    config
        .loss
        .weighting()
        .map_or(ZeroCountPolicy::Error, |w| w.zero_count)
}

/// The training split's positives per label, as the loss's counts.
fn label_counts(config: &RunConfig, data: &MultiLabelData) -> anyhow::Result<ClassCounts> {
    let counts = data.train_label_counts(zero_count(config))?;
    Ok(ClassCounts::from_counts(
        counts.iter().map(|&n| n as u64).collect::<Vec<_>>(),
    )?)
}

/// Trains on `data`, which `config.data` must describe, and writes the run directory.
///
/// # Errors
/// As [`train`].
pub fn train_on(
    config: &RunConfig,
    options: &TrainOptions,
    data: &MultiLabelData,
) -> anyhow::Result<MultiLabelReport> {
    Backbone::check_input(config.model.kind, &data.feature_shape)?;
    let backend = options.backend.unwrap_or(config.train.backend);
    let devices = run_devices(config, options, backend)?;
    let device = devices[0].clone();
    let run = RunDir::new(options.out.clone().unwrap_or(config.output.dir.clone()));
    let recorded = resolved(config, backend, &run);

    // Everything is checked before the run directory is touched.
    let counts = label_counts(config, data)?;
    let samples = data.train.len() as u64;
    seeded_init(|| -> anyhow::Result<()> {
        let loss = config.loss.init_multi_label(&counts, samples, 0, &device)?;
        MultiLabelClassifier::new(
            &config.model,
            &data.feature_shape,
            data.num_classes,
            loss,
            &device,
        )?;
        Ok(())
    })?;
    scheduler(
        &config.train,
        steps_per_epoch(data.train.len(), config.train.batch_size, devices.len()),
    )?;
    if let Some(weight) = config.loss.no_label_row_weight() {
        let without = data.train.labels_per_sample().without_labels;
        if without > 0 && options.progress.is_none() {
            eprintln!(
                "note: {without} of {} training rows have no label; under the loss's sum of \
                 positive label weights each weighs loss.no_label_weight = {weight}{}",
                data.train.len(),
                if weight == 0.0 {
                    " and drops out of the loss (set loss.no_label_weight to keep them)"
                } else {
                    ""
                }
            );
        }
    }
    let Prepared {
        state,
        resume_from,
        history,
        claim: _claim,
    } = prepare(&run, &recorded, options, data.train.dim(), || RunState {
        standardizer: Standardizer::per_feature_multi_label(&data.train),
    })?;

    let batcher = MultiLabelBatcher::new(data.num_classes, Some(state.standardizer));
    let trainer = Trainer {
        config,
        data,
        run: &run,
        resume_from,
        counts: &counts,
        batcher: batcher.clone(),
        device: device.clone().autodiff(),
        devices: &devices,
        progress: options.progress.as_ref(),
        history: &history,
    };
    let started = Instant::now();
    let model = trainer.train()?;
    let wall_seconds = started.elapsed().as_secs_f64();
    fault_point("after-checkpoint");
    run.save_model(&model)?;
    fault_point("after-model");

    let batch_size = config.train.batch_size;
    let thresholds = match config.eval.thresholds {
        ThresholdRule::Fixed => vec![DEFAULT_THRESHOLD; data.num_classes],
        ThresholdRule::Tuned => {
            let validation = data.validation.as_ref().context(
                "eval.thresholds = \"tuned\": the data has no validation split; set \
                 data.validation_fraction",
            )?;
            let valid = predict(&model, validation, &batcher, &device, batch_size)?;
            MultiLabelScores::new(valid.scores(), valid.targets(), data.num_classes)?
                .tune_thresholds(DEFAULT_THRESHOLD)
        }
    };
    run.write_thresholds(&thresholds)?;
    let predictions = predict(&model, &data.test, &batcher, &device, batch_size)?;
    let mut report = report(
        config,
        backend,
        data,
        &counts,
        &predictions,
        thresholds,
        wall_seconds,
    )?;
    report.device = crate::backend::device_names(backend, &devices);
    run.write_multi_label_predictions(&predictions, &report.label_names)?;
    run.write_multi_label_report(&report)?;
    fault_point("after-report");
    plot(&run, &report, &history.finish(config.train.epochs)?)?;
    run.mark_finished()?;
    Ok(report)
}

/// The report of a run's test `predictions` at `thresholds`.
///
/// # Errors
/// The label weights cannot be computed, or the predictions or thresholds are malformed.
fn report(
    config: &RunConfig,
    backend: Backend,
    data: &MultiLabelData,
    counts: &ClassCounts,
    predictions: &MultiLabelPredictions,
    thresholds: Vec<f32>,
    wall_seconds: f64,
) -> anyhow::Result<MultiLabelReport> {
    let weights = config
        .loss
        .class_weights_at(counts, config.train.epochs - 1)?
        .map_or_else(|| vec![1.0; data.num_classes], |w| w.into_vec());
    let facts = RunFacts {
        backend: backend.name().to_string(),
        epochs: config.train.epochs,
        loss: config.loss.name().to_string(),
        scheme: config
            .loss
            .weighting()
            .map_or("uniform", |w| w.scheme.name())
            .to_string(),
        label_names: data.class_names.clone(),
        train_counts: counts.as_slice().iter().map(|&n| n as usize).collect(),
        train_samples: data.train.len(),
        class_weights: weights,
        wall_seconds,
    };
    let scores = MultiLabelScores::new(
        predictions.scores(),
        predictions.targets(),
        data.num_classes,
    )?;
    let mut report = MultiLabelReport::new(facts, &scores, config.eval.thresholds, thresholds)?;
    report.dataset_bytes = multi_label_dataset_bytes(data);
    report.peak_memory_bytes = peak_memory_bytes();
    Ok(report)
}

/// Bytes `data`'s splits take in memory: features as `f32`, label indices as `u32`.
pub(crate) fn multi_label_dataset_bytes(data: &MultiLabelData) -> u64 {
    let split = |s: &MultiLabelSamples| {
        let labels: usize = s.label_sets().iter().map(Vec::len).sum();
        ((s.features().len() + labels) * std::mem::size_of::<f32>()) as u64
    };
    split(&data.train) + split(&data.test) + data.validation.as_ref().map_or(0, split)
}

/// The sigmoid probabilities of `model` on `samples`, with their targets, in order.
///
/// # Errors
/// A failed device read.
fn predict(
    model: &MultiLabelClassifier,
    samples: &MultiLabelSamples,
    batcher: &MultiLabelBatcher,
    device: &Device,
    batch_size: usize,
) -> anyhow::Result<MultiLabelPredictions> {
    let mut predictions = None;
    for first in (0..samples.len()).step_by(batch_size.max(1)) {
        let items = (first..(first + batch_size).min(samples.len()))
            .map(|i| samples.get(i))
            .collect::<Result<Vec<_>, _>>()?;
        let batch = batcher.batch(items, device);
        let logits = model.forward(batch.features);
        let [_, labels] = logits.dims();
        let scores: Vec<f32> = burn::tensor::activation::sigmoid(logits)
            .try_into_data()?
            .convert::<f32>()
            .iter::<f32>()
            .collect();
        let targets: Vec<f32> = batch
            .targets
            .try_into_data()?
            .convert::<f32>()
            .iter::<f32>()
            .collect();
        predictions
            .get_or_insert_with(|| MultiLabelPredictions::new(labels))
            .extend(&targets, &scores);
    }
    predictions.context("the split to evaluate has no samples")
}

/// The run's plots: per-label AP and F1 against training positives, and the training curves.
///
/// # Errors
/// A plot cannot be written.
fn plot(run: &RunDir, report: &MultiLabelReport, history: &EpochHistory) -> anyhow::Result<()> {
    let ap: Vec<f64> = report
        .per_label_average_precision
        .iter()
        .map(|ap| ap.unwrap_or(0.0))
        .collect();
    plots::write_multi_label_plots(
        run.path(),
        &report.train_counts,
        &ap,
        &report.per_label_f1,
        &history.train_loss(),
        &history.valid_score(),
        history.valid_label(),
        &format!("{} / {}: per-label AP and F1", report.loss, report.scheme),
    )
}

/// `rebalance eval` of a multi-label run: rebuilds the model from the run directory alone,
/// evaluates it on the test split at the thresholds the run recorded (`thresholds.json`), and
/// rewrites its report, `predictions.csv` and plots.
///
/// # Errors
/// A missing or unreadable run directory, config, state, model or thresholds.
pub fn eval_run(dir: &Path) -> anyhow::Result<MultiLabelReport> {
    let run = RunDir::new(dir);
    let config = run.read_config()?;
    run.verify_checksums()?;
    let device = config.train.backend.device()?;
    let data = config.data.load_multi_label(zero_count(&config))?;
    let state = run.read_state_for(data.train.dim())?;
    let counts = label_counts(&config, &data)?;
    let loss = config.loss.init_multi_label(
        &counts,
        data.train.len() as u64,
        config.train.epochs - 1,
        &device,
    )?;
    let model = run.load_model(MultiLabelClassifier::new(
        &config.model,
        &data.feature_shape,
        data.num_classes,
        loss,
        &device,
    )?)?;
    let batcher = MultiLabelBatcher::new(data.num_classes, Some(state.standardizer));
    let thresholds = run.read_thresholds(data.num_classes)?;
    let predictions = predict(
        &model,
        &data.test,
        &batcher,
        &device,
        config.train.batch_size,
    )?;
    let mut report = report(
        &config,
        config.train.backend,
        &data,
        &counts,
        &predictions,
        thresholds,
        run.report_wall_seconds(),
    )?;
    // The training's record: the hardware that trained the model, kept from its report.
    report.device = run.read_multi_label_report().ok().and_then(|r| r.device);
    run.write_multi_label_predictions(&predictions, &report.label_names)?;
    run.write_multi_label_report(&report)?;
    if let Ok(history) = run.read_history(config.train.epochs) {
        plot(&run, &report, &history)?;
    }
    Ok(report)
}

/// A data loader of multi-label batches.
type Loader = Arc<dyn DataLoader<MultiLabelBatch>>;

/// What every phase of a multi-label run trains with.
struct Trainer<'a> {
    config: &'a RunConfig,
    data: &'a MultiLabelData,
    run: &'a RunDir,
    resume_from: Option<usize>,
    counts: &'a ClassCounts,
    batcher: MultiLabelBatcher,
    /// The autodiff device.
    device: Device,
    /// The devices training runs on (the first is `device`); several: data-parallel.
    devices: &'a [Device],
    progress: Option<&'a RunProgress>,
    history: &'a HistoryRecorder,
}

impl Trainer<'_> {
    /// Trains the phases not done yet; the model of the last.
    fn train(&self) -> anyhow::Result<MultiLabelClassifier> {
        train_phases(self.config, self.resume_from, |first, last| {
            self.phase(first, last)
        })
    }

    /// Trains epochs `first..=last` from a fresh model (the label weights of epoch `first`),
    /// or from the checkpoint a resumed run stopped at inside them.
    fn phase(&self, first: usize, last: usize) -> anyhow::Result<MultiLabelClassifier> {
        let train = &self.config.train;
        let model = seeded_init(|| -> anyhow::Result<MultiLabelClassifier> {
            self.device.seed(train.seed);
            let loss = self.config.loss.init_multi_label(
                self.counts,
                self.data.train.len() as u64,
                first - 1,
                &self.device,
            )?;
            Ok(materialize(MultiLabelClassifier::new(
                &self.config.model,
                &self.data.feature_shape,
                self.data.num_classes,
                loss,
                &self.device,
            )?))
        })?;
        let start = start_epoch(self.resume_from, first);
        let interrupter = Interrupter::new();
        let guard = NanGuard::new(interrupter.clone(), start + 1);
        let (train_loader, valid_loader) = self.loaders(first, start);
        let labels = self.data.num_classes;
        // The multi-label metrics read each validation batch's probabilities once, together.
        let shared = SharedScores::new();
        let metric = |score| MultiLabelMetric::new(score, labels).with_shared(shared.clone());
        let training = SupervisedTraining::new(self.run.path(), train_loader, valid_loader)
            .metric_train_numeric(self.history.record(guard.clone(), Curve::TrainLoss))
            .metric_valid_numeric(LossMetric::new())
            .metric_valid_numeric(
                self.history
                    .record(metric(MultiLabelScore::MacroF1), Curve::ValidMacroF1),
            )
            .metric_valid_numeric(metric(MultiLabelScore::MicroF1))
            .metric_valid_numeric(metric(MultiLabelScore::MeanAveragePrecision))
            .metric_valid_numeric(HammingScore::new().with_sigmoid(true));
        launch_phase(
            PhaseRun {
                run: self.run,
                train,
                batches_per_epoch: steps_per_epoch(
                    self.data.train.len(),
                    train.batch_size,
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

    /// The training loader (shuffled as the phase's epochs up to `start` were) and the
    /// validation loader (the validation split, else the test split).
    fn loaders(&self, first: usize, start: usize) -> (Loader, Loader) {
        let train = &self.config.train;
        let shuffled = Some((train.seed, start + 1 - first));
        // On several devices each takes a contiguous slice of the split: ordered so that every
        // slice is a stratified mix, each row counted under its rarest label.
        let samples = if self.devices.len() > 1 {
            let counts = self.counts.as_slice();
            let strata: Vec<usize> = (0..self.data.train.len())
                .map(|i| {
                    self.data
                        .train
                        .labels(i)
                        .iter()
                        .map(|&l| l as usize)
                        .min_by_key(|&l| counts[l])
                        .unwrap_or(self.data.num_classes)
                })
                .collect();
            self.data
                .train
                .select(&stratified_order(&strata, train.seed))
        } else {
            self.data.train.clone()
        };
        let train_loader = loader(samples, &self.batcher, shuffled, train);
        let valid_split = self.data.validation.as_ref().unwrap_or(&self.data.test);
        let valid_loader = loader(valid_split.clone(), &self.batcher, None, train);
        (train_loader, valid_loader)
    }
}
