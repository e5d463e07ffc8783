//! Multi-label classification (`data.task = "multi-label"`): a set of positive labels per
//! sample, a sigmoid loss of multi-hot targets, the multi-label metrics, a decision threshold
//! per label, and the multi-label report.

pub mod evaluation;
pub mod metrics;
mod packing;
pub mod report;

use anyhow::{Context, bail};
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::*;
use burn::train::SupervisedTraining;
use burn::train::metric::HammingScore;
use rebalance_data::{
    LabelsPerSample, MultiLabelBatch, MultiLabelBatcher, MultiLabelData, MultiLabelSamples,
    Resampling, Standardizer,
};
use rebalance_weights::ClassCounts;

use super::{Loader, TaskKind, Trained};
use crate::reporting::plots;
use crate::reporting::predictions::MultiLabelPredictions;
use crate::run::config::{RunConfig, ThresholdRule, TrainSection};
use crate::run::eval_options::EvalOptions;
use crate::run::history::{Curve, EpochHistory, HistoryRecorder};
use crate::run::launch::loader;
use crate::run::model::MultiLabelClassifier;
use crate::run::pack::Packing;
use crate::run::run_dir::RunDir;
use crate::task::multi_label::evaluation::{DEFAULT_THRESHOLD, MultiLabelScores};
use crate::task::multi_label::metrics::{MultiLabelMetric, MultiLabelScore, SharedScores};
use crate::task::multi_label::report::MultiLabelReport;
use crate::task::run_facts::RunFacts;

/// Multi-label classification: `data.task = "multi-label"`.
#[derive(Debug, Clone, Copy)]
pub struct MultiLabel;

impl TaskKind for MultiLabel {
    type Target = Vec<u32>;
    type Batch = MultiLabelBatch;
    type Batcher = MultiLabelBatcher;
    type Model = MultiLabelClassifier;
    type Stage1 = ();
    type Output = burn::train::MultiLabelClassificationOutput;
    type Report = MultiLabelReport;

    fn load(config: &RunConfig) -> anyhow::Result<MultiLabelData> {
        Ok(config.data.load_multi_label(config.zero_count())?)
    }

    /// The training split's positives per label.
    fn counts(config: &RunConfig, data: &MultiLabelData) -> anyhow::Result<ClassCounts> {
        let counts = data.train_label_counts(config.zero_count())?;
        Ok(ClassCounts::from_counts(
            counts.iter().map(|&n| n as u64).collect::<Vec<_>>(),
        )?)
    }

    fn model(
        config: &RunConfig,
        data: &MultiLabelData,
        counts: &ClassCounts,
        epoch: usize,
        device: &Device,
    ) -> anyhow::Result<MultiLabelClassifier> {
        let loss = config
            .loss
            .init_multi_label(counts, data.train.len() as u64, epoch, device);
        super::classifier(config, data, loss, device)
    }

    fn packing() -> Packing<Self> {
        Packing::of()
    }

    fn standardizer(data: &MultiLabelData) -> Standardizer {
        Standardizer::per_feature_multi_label(&data.train)
    }

    fn batchers(
        _config: &RunConfig,
        data: &MultiLabelData,
        standardizer: Option<Standardizer>,
    ) -> anyhow::Result<(MultiLabelBatcher, MultiLabelBatcher)> {
        let batcher = MultiLabelBatcher::new(data.num_classes, standardizer);
        Ok((batcher.clone(), batcher))
    }

    /// Rows without a label under the sum of positive label weights.
    fn note(
        config: &RunConfig,
        data: &MultiLabelData,
        options: &crate::run::training::TrainOptions,
    ) {
        if let Some(weight) = config.loss.no_label_row_weight() {
            let without = data.train.labels_per_sample().without_labels;
            if without > 0 && options.progress.is_none() {
                crate::say!(
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
    }

    fn labels_per_sample(data: &MultiLabelData) -> Vec<(&'static str, LabelsPerSample)> {
        [("train", &data.train), ("test", &data.test)]
            .into_iter()
            .chain(data.validation.as_ref().map(|v| ("validation", v)))
            .map(|(name, split)| (name, split.labels_per_sample()))
            .collect()
    }

    /// Each row counted under its rarest label.
    fn strata(data: &MultiLabelData, counts: &ClassCounts) -> Vec<usize> {
        let counts = counts.as_slice();
        (0..data.train.len())
            .map(|i| {
                data.train
                    .labels(i)
                    .iter()
                    .map(|&l| l as usize)
                    .min_by_key(|&l| counts[l])
                    .unwrap_or(data.num_classes)
            })
            .collect()
    }

    /// The split as it is: `DataConfig::validate` refuses a re-sampling of multi-label data.
    fn train_loader(
        samples: MultiLabelSamples,
        _resampling: Resampling,
        _num_classes: usize,
        _start: usize,
        batcher: &MultiLabelBatcher,
        shuffle: Option<(u64, usize)>,
        train: &TrainSection,
    ) -> anyhow::Result<Loader<MultiLabelBatch>> {
        Ok(loader(samples, batcher, shuffle, train))
    }

    /// From one read-back of each validation batch's probabilities: macro-F1 (the history's
    /// curve), micro-F1 and mAP; burn-train's Hamming score beside them.
    fn metrics(
        training: SupervisedTraining<MultiLabelClassifier>,
        num_classes: usize,
        history: &HistoryRecorder,
    ) -> SupervisedTraining<MultiLabelClassifier> {
        let shared = SharedScores::new();
        let metric = |score| MultiLabelMetric::new(score, num_classes).with_shared(shared.clone());
        training
            .metric_valid_numeric(
                history.record(metric(MultiLabelScore::MacroF1), Curve::ValidMacroF1),
            )
            .metric_valid_numeric(metric(MultiLabelScore::MicroF1))
            .metric_valid_numeric(metric(MultiLabelScore::MeanAveragePrecision))
            .metric_valid_numeric(HammingScore::new().with_sigmoid(true))
    }

    fn validation_report(
        trained: &Trained<'_, Self>,
        model: &MultiLabelClassifier,
    ) -> anyhow::Result<MultiLabelReport> {
        let validation = trained
            .data
            .validation
            .as_ref()
            .context("the run's data has no validation split to evaluate on")?;
        let thresholds = trained.run.read_thresholds(trained.data.num_classes)?;
        Ok(evaluate(trained, model, validation, thresholds)?.0)
    }

    /// The thresholds (0.5, or tuned on the validation split: `thresholds.json`), the test
    /// split's evaluation at them, the report and `predictions.csv`.
    fn finish(
        trained: &Trained<'_, Self>,
        model: &MultiLabelClassifier,
    ) -> anyhow::Result<MultiLabelReport> {
        let (config, data) = (trained.config, trained.data);
        let batch_size = config.train.batch_size;
        let thresholds = match config.eval.thresholds {
            ThresholdRule::Fixed => vec![DEFAULT_THRESHOLD; data.num_classes],
            ThresholdRule::Tuned => {
                let validation = data.validation.as_ref().context(
                    "eval.thresholds = \"tuned\": the data has no validation split; set \
                     data.validation_fraction",
                )?;
                let valid = predict(
                    model,
                    validation,
                    trained.batcher,
                    trained.device,
                    batch_size,
                )?;
                MultiLabelScores::new(valid.scores(), valid.targets(), data.num_classes)?
                    .tune_thresholds(DEFAULT_THRESHOLD)
            }
        };
        trained.run.write_thresholds(&thresholds)?;
        let (mut report, predictions) = evaluate(trained, model, &trained.data.test, thresholds)?;
        report.training.device = trained
            .devices
            .and_then(|devices| crate::run::backend::device_names(trained.backend, devices));
        trained
            .run
            .write_predictions(&predictions, &report.label_names)?;
        trained.run.write_report(&report)?;
        Ok(report)
    }

    /// Per-label AP and F1 against training positives, and the training curves.
    fn plot(run: &RunDir, report: &MultiLabelReport, history: &EpochHistory) -> anyhow::Result<()> {
        let ap: Vec<f64> = report
            .per_label_average_precision
            .iter()
            .map(|ap| ap.unwrap_or(0.0))
            .collect();
        plots::write_plots(
            run.path(),
            &plots::FrequencyFigure {
                name: "per_label",
                counts: &report.train_counts,
                series: vec![("average precision", &ap), ("F1", &report.per_label_f1)],
                x_desc: "training positives of the label (log scale)",
                y_desc: "test score",
                title: &format!(
                    "{} / {}: per-label AP and F1",
                    report.training.loss, report.training.scheme
                ),
            },
            &history.curves(),
        )
    }

    /// The softmax adjustments refused (see `crate::task`).
    fn check_eval(
        config: &RunConfig,
        _data: &MultiLabelData,
        options: &EvalOptions,
    ) -> anyhow::Result<()> {
        if options.adjusts() {
            bail!(
                "--posthoc-tau, --target-prior, --calibrate and --tau-norm adjust a softmax \
                 classifier and are for single-label runs; {} is a multi-label run (its \
                 thresholds are tuned with eval.thresholds = \"tuned\")",
                config.output.dir.display()
            );
        }
        Ok(())
    }

    /// The test split at the thresholds the run recorded (`thresholds.json`); the report,
    /// `predictions.csv` and plots rewritten.
    fn reevaluate(
        trained: &Trained<'_, Self>,
        model: MultiLabelClassifier,
        _options: &EvalOptions,
    ) -> anyhow::Result<MultiLabelReport> {
        let run = trained.run;
        let thresholds = run.read_thresholds(trained.data.num_classes)?;
        let (mut report, predictions) = evaluate(trained, &model, &trained.data.test, thresholds)?;
        // The training's record: the hardware that trained the model, kept from its report.
        report.training.device = run
            .read_report::<MultiLabelReport>()
            .ok()
            .and_then(|r| r.training.device);
        run.write_predictions(&predictions, &report.label_names)?;
        run.write_report(&report)?;
        if let Ok(history) = run.read_history(trained.config.train.epochs) {
            Self::plot(run, &report, &history)?;
        }
        Ok(report)
    }
}

/// The predictions of `samples` (the test split, or the validation split) at `thresholds` and
/// the report of them.
///
/// # Errors
/// The label weights cannot be computed, or the predictions or thresholds are malformed.
fn evaluate(
    trained: &Trained<'_, MultiLabel>,
    model: &MultiLabelClassifier,
    samples: &MultiLabelSamples,
    thresholds: Vec<f32>,
) -> anyhow::Result<(MultiLabelReport, MultiLabelPredictions)> {
    let (config, data, counts) = (trained.config, trained.data, trained.counts);
    let predictions = predict(
        model,
        samples,
        trained.batcher,
        trained.device,
        config.train.batch_size,
    )?;
    let facts = RunFacts::of(config, trained.backend, data, counts, trained.wall_seconds)?;
    let scores = MultiLabelScores::new(
        predictions.scores(),
        predictions.targets(),
        data.num_classes,
    )?;
    let report = MultiLabelReport::new(facts, &scores, config.eval.thresholds, thresholds)?;
    Ok((report, predictions))
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
