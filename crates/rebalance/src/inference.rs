//! Inference: a trained model's test evaluation (`rebalance eval` rebuilds the model from
//! its run directory alone) and the report of a run.

use std::path::Path;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::*;
use rebalance_data::{LongTailData, SampleBatcher, Samples};
use rebalance_loss::posthoc_adjust;
use rebalance_weights::ClassCounts;

use crate::backend::Backend;
use crate::calibration::{Calibration, CalibrationScores};
use crate::config::RunConfig;
use crate::evaluation::Confusion;
use crate::model::Classifier;
use crate::predictions::Predictions;
use crate::report::{Report, peak_memory_bytes};
use crate::run_dir::RunDir;

/// A model's predictions on a split, summarised.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Counts of (true, predicted) classes.
    pub confusion: Confusion,
    /// Calibration of the softmax probabilities.
    pub calibration: CalibrationScores,
    /// Each sample's class and softmax probabilities, in the split's order (`predictions.csv`).
    pub predictions: Predictions,
}

/// The confusion matrix, calibration and per-sample probabilities of `model` on `samples`,
/// optionally with post-hoc logit adjustment `(training counts, τ)` (the probabilities are then
/// those of the adjusted logits).
///
/// # Errors
/// A failed device read.
pub fn evaluate(
    model: &Classifier,
    samples: &Samples,
    batcher: &SampleBatcher,
    device: &Device,
    batch_size: usize,
    posthoc: Option<(&[u64], f64)>,
) -> anyhow::Result<Evaluation> {
    let num_classes = model_classes(model, samples, batcher, device)?;
    let mut confusion = Confusion::new(num_classes);
    let mut calibration = Calibration::default();
    let mut collected = Predictions::new(num_classes);
    for first in (0..samples.len()).step_by(batch_size.max(1)) {
        let items = (first..(first + batch_size).min(samples.len()))
            .map(|i| samples.get(i))
            .collect::<Result<Vec<_>, _>>()?;
        let batch = batcher.batch(items, device);
        let mut logits = model.forward(batch.features);
        if let Some((counts, tau)) = posthoc {
            logits = posthoc_adjust(logits, counts, tau)?;
        }
        let [n, _] = logits.dims();
        let probabilities: Vec<f32> = burn::tensor::activation::softmax(logits.clone(), 1)
            .try_into_data()?
            .convert::<f32>()
            .iter::<f32>()
            .collect();
        let predictions: Vec<i64> = logits
            .argmax(1)
            .reshape([n])
            .try_into_data()?
            .iter::<i64>()
            .collect();
        let targets: Vec<i64> = batch.targets.try_into_data()?.iter::<i64>().collect();
        confusion.add(&targets, &predictions);
        calibration.add(&probabilities, num_classes, &targets);
        collected.extend(&targets, &probabilities);
    }
    Ok(Evaluation {
        confusion,
        calibration: calibration.scores(),
        predictions: collected,
    })
}

/// The number of logits the model produces.
fn model_classes(
    model: &Classifier,
    samples: &Samples,
    batcher: &SampleBatcher,
    device: &Device,
) -> anyhow::Result<usize> {
    let probe = batcher.batch(vec![samples.get(0)?], device);
    Ok(model.forward(probe.features).dims()[1])
}

/// `rebalance eval`: rebuilds the model from a run directory alone and evaluates it on the
/// test split, with the post-hoc logit adjustment of its config's `eval.posthoc_tau`;
/// rewrites the run's report and `predictions.csv`. With `posthoc_tau` given, adjusts with
/// that `τ` instead and writes `report-posthoc.*` and `predictions-posthoc.csv`.
///
/// # Errors
/// A missing or unreadable run directory, config, state or model.
pub fn eval_run(dir: &Path, posthoc_tau: Option<f64>) -> anyhow::Result<Report> {
    let run = RunDir::new(dir);
    let config = run.read_config()?;
    if config.data.task == rebalance_data::Task::MultiLabel {
        anyhow::bail!(
            "{} is a multi-label run: evaluate it with rebalance::multilabel_training::eval_run",
            dir.display()
        );
    }
    run.verify_checksums()?;
    let device = config.train.backend.device()?;
    let data = config.data.load()?;
    let state = run.read_state_for(data.train.dim())?;
    let num_classes = data.num_classes;
    let counts = ClassCounts::from_labels(data.train.labels(), num_classes)?;
    let loss_config = &config.loss;
    let loss = loss_config.init_for_epoch(&counts, config.train.epochs - 1, &device)?;
    let model = run.load_model(Classifier::new(
        &config.model,
        &data.feature_shape,
        num_classes,
        loss,
        &device,
    )?)?;
    let batcher = SampleBatcher::new(Some(state.standardizer));
    // The command line's τ, else the config's.
    let tau = posthoc_tau.or(config.eval.posthoc_tau);
    let posthoc = tau.map(|tau| (counts.as_slice(), tau));
    let evaluation = evaluate(
        &model,
        &data.test,
        &batcher,
        &device,
        config.train.batch_size,
        posthoc,
    )?;
    let wall = run.report_wall_seconds();
    let report = run_report(
        &config,
        config.train.backend,
        &data,
        &counts,
        &evaluation,
        wall,
        tau,
    )?;
    if posthoc_tau.is_some() {
        run.write_posthoc_predictions(&evaluation.predictions, &report.class_names)?;
        run.write_posthoc_report(&report)?;
    } else {
        run.write_predictions(&evaluation.predictions, &report.class_names)?;
        run.write_report(&report)?;
    }
    Ok(report)
}

/// The report of a run: its config's loss and scheme, the class weights in force at the last
/// epoch, and the test `evaluation`.
///
/// # Errors
/// The class weights cannot be computed from `counts`.
pub(crate) fn run_report(
    config: &RunConfig,
    backend: Backend,
    data: &LongTailData,
    counts: &ClassCounts,
    evaluation: &Evaluation,
    wall_seconds: f64,
    posthoc_tau: Option<f64>,
) -> anyhow::Result<Report> {
    let loss_config = &config.loss;
    let weights = loss_config
        .class_weights_at(counts, config.train.epochs - 1)?
        .map_or_else(|| vec![1.0; data.num_classes], |w| w.into_vec());
    let mut report = Report::new(
        backend.into(),
        config.train.epochs,
        loss_config.name(),
        config
            .loss
            .weighting()
            .map_or("uniform", |w| w.scheme.name()),
        data.train.class_counts(data.num_classes),
        weights,
        data.class_names.clone(),
        &evaluation.confusion,
        wall_seconds,
        posthoc_tau,
    );
    report.calibration = evaluation.calibration.clone();
    report.dataset_bytes = dataset_bytes(data);
    report.peak_memory_bytes = peak_memory_bytes();
    Ok(report)
}

/// Bytes `data`'s splits take in memory: features as `f32`, labels as `usize`.
pub(crate) fn dataset_bytes(data: &LongTailData) -> u64 {
    let split = |s: &Samples| {
        (s.len() * (s.dim() * std::mem::size_of::<f32>() + std::mem::size_of::<usize>())) as u64
    };
    split(&data.train) + split(&data.test) + data.validation.as_ref().map_or(0, split)
}
