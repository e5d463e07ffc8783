//! A single-label model's test evaluation (confusion matrix, calibration, predictions), the
//! report of a run, and `rebalance eval`'s adjustments of a run's logits.

use anyhow::Context;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::*;
use rebalance_data::{LongTailData, SampleBatcher, Samples};
use rebalance_weights::ClassCounts;

use crate::reporting::calibration::{Calibration, CalibrationScores, ShotCalibration};
use crate::reporting::predictions::Predictions;
use crate::run::backend::Backend;
use crate::run::config::RunConfig;
use crate::run::eval_options::{EvalOptions, TAU_GRID, TauNorm};
use crate::run::model::Classifier;
use crate::task::run_facts::RunFacts;
use crate::task::single_label::adjustment::{LogitAdjustment, fit_temperature, short};
use crate::task::single_label::evaluation::Confusion;
use crate::task::single_label::report::Report;
use crate::task::{SingleLabel, TaskKind, Trained};

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

/// The confusion matrix, calibration and per-sample probabilities of `model` on `samples`, its
/// logits transformed by `adjustment` (temperature, post-hoc or target-prior shift; the
/// probabilities are then those of the adjusted logits).
///
/// # Errors
/// A failed device read, or an adjustment that does not fit the logits.
pub fn evaluate(
    model: &Classifier,
    samples: &Samples,
    batcher: &SampleBatcher,
    device: &Device,
    batch_size: usize,
    adjustment: &LogitAdjustment,
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
        let logits = adjustment.apply(model.forward(batch.features))?;
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
        // Scores of NaN would make a report of NaN that looks like a result.
        if probabilities.iter().any(|p| !p.is_finite()) {
            anyhow::bail!(
                "the model's probabilities are not finite (NaN or infinite logits): an \
                 adjustment too large (post-hoc τ, target prior, --tau-norm) or a diverged model"
            );
        }
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

/// The raw logits of `model` on `samples` (row-major `[n, classes]`) and their classes.
///
/// # Errors
/// A failed device read.
fn logits_of(
    model: &Classifier,
    samples: &Samples,
    batcher: &SampleBatcher,
    device: &Device,
    batch_size: usize,
) -> anyhow::Result<(Vec<f32>, Vec<i64>)> {
    let (mut logits, mut targets) = (Vec::new(), Vec::new());
    for first in (0..samples.len()).step_by(batch_size.max(1)) {
        let items = (first..(first + batch_size).min(samples.len()))
            .map(|i| samples.get(i))
            .collect::<Result<Vec<_>, _>>()?;
        let batch = batcher.batch(items, device);
        logits.extend(
            model
                .forward(batch.features)
                .try_into_data()?
                .convert::<f32>()
                .iter::<f32>(),
        );
        targets.extend(batch.targets.try_into_data()?.iter::<i64>());
    }
    Ok((logits, targets))
}

/// `eval`'s checks of a single-label run before its state and model are read: `--calibrate`
/// and `--tau-norm auto` fit on the validation split, which the run's data must have.
///
/// # Errors
/// One of them without a validation split.
pub(crate) fn check_eval(data: &LongTailData, options: &EvalOptions) -> anyhow::Result<()> {
    let needs_validation = [
        (options.calibrate, "--calibrate temperature"),
        (options.tau_norm == Some(TauNorm::Auto), "--tau-norm auto"),
    ];
    if let Some((_, flag)) = needs_validation.iter().find(|(asked, _)| *asked)
        && data.validation.is_none()
    {
        anyhow::bail!(
            "{flag}: the run's data has no validation split to fit on; train with \
             data.validation_per_class (synthetic) or data.validation_fraction"
        );
    }
    let counts: Vec<u64> = data
        .train
        .class_counts(data.num_classes)
        .iter()
        .map(|&n| n as u64)
        .collect();
    if let Some(prior) = &options.target_prior {
        LogitAdjustment::target_prior(&counts, &prior.log_prior(data.num_classes)?)
            .check()
            .map_err(|e| anyhow::anyhow!("--target-prior {prior}: {e}"))?;
    }
    if let Some(tau) = options.posthoc_tau {
        LogitAdjustment::posthoc(&counts, tau)
            .check()
            .map_err(|e| anyhow::anyhow!("--posthoc-tau {}: {e}", short(tau)))?;
    }
    Ok(())
}

/// `rebalance eval` of a single-label run (`crate::run::training::eval_run` rebuilt `model` from
/// the run directory alone): evaluates it on the test split with the post-hoc logit
/// adjustment of its config's `eval.posthoc_tau` and rewrites the run's report,
/// `predictions.csv` and plots. With any of `options` (another `τ`, a target prior,
/// temperature scaling fitted on the validation split, τ-normalisation) it writes
/// `report-<adjustment>.*` and `predictions-<adjustment>.csv` instead, beside the run's own
/// ([`EvalOptions::name`]).
///
/// # Errors
/// An unreadable or malformed target prior.
pub(crate) fn reevaluate(
    trained: &Trained<'_, SingleLabel>,
    model: Classifier,
    options: &EvalOptions,
) -> anyhow::Result<Report> {
    let (config, data, run) = (trained.config, trained.data, trained.run);
    let (batcher, device, counts) = (trained.batcher, trained.device, trained.counts);
    let num_classes = data.num_classes;
    let log_target = match &options.target_prior {
        Some(prior) => Some(prior.log_prior(num_classes)?),
        None => None,
    };
    let batch_size = config.train.batch_size;
    let (model, tau_norm) = match options.tau_norm {
        None => (model, None),
        Some(TauNorm::Value(tau)) => (
            model.tau_normalized(tau).map_err(anyhow::Error::msg)?,
            Some(tau),
        ),
        Some(TauNorm::Auto) => {
            let validation = data
                .validation
                .as_ref()
                .context("--tau-norm auto: the run's data has no validation split")?;
            let mut best: Option<(f64, f64)> = None;
            for tau in TAU_GRID {
                let candidate = model
                    .clone()
                    .tau_normalized(tau)
                    .map_err(anyhow::Error::msg)?;
                let scores = evaluate(
                    &candidate,
                    validation,
                    batcher,
                    device,
                    batch_size,
                    &LogitAdjustment::default(),
                )?
                .confusion
                .balanced_accuracy();
                if best.is_none_or(|(_, b)| scores > b) {
                    best = Some((tau, scores));
                }
            }
            let tau = best.map_or(0.0, |(tau, _)| tau);
            (
                model.tau_normalized(tau).map_err(anyhow::Error::msg)?,
                Some(tau),
            )
        }
    };
    // A target prior replaces post-hoc adjustment; else the command line's τ, else the config's.
    let tau = match log_target {
        Some(_) => None,
        None => options.posthoc_tau.or(config.eval.posthoc_tau),
    };
    let mut adjustment = match &log_target {
        Some(log_target) => LogitAdjustment::target_prior(counts.as_slice(), log_target),
        None => tau.map_or_else(LogitAdjustment::default, |tau| {
            LogitAdjustment::posthoc(counts.as_slice(), tau)
        }),
    };
    let fit = match (&data.validation, options.calibrate) {
        (Some(validation), true) => {
            let (logits, targets) = logits_of(&model, validation, batcher, device, batch_size)?;
            let fit = fit_temperature(&logits, num_classes, &targets)?;
            adjustment.temperature = Some(fit.temperature);
            Some(fit)
        }
        _ => None,
    };
    let evaluation = evaluate(&model, &data.test, batcher, device, batch_size, &adjustment)?;
    let mut report = run_report(
        config,
        trained.backend,
        data,
        counts,
        &evaluation,
        trained.wall_seconds,
        tau,
    )?;
    report.temperature = fit;
    report.tau_norm = tau_norm;
    // Stage 1's scores of a cRT run and the hardware that trained it are the training's
    // record: kept from its report.
    let trained = run.read_report::<Report>().ok();
    report.stage1 = trained.as_ref().and_then(|r| r.stage1.clone());
    report.training.device = trained.and_then(|r| r.training.device);
    report.target_prior = options.target_prior.as_ref().map(ToString::to_string);
    if let Some(adjustment) = options.name() {
        run.write_adjusted_predictions(&adjustment, &evaluation.predictions, &report.class_names)?;
        run.write_adjusted_report(&adjustment, &report)?;
    } else {
        run.write_predictions(&evaluation.predictions, &report.class_names)?;
        run.write_report(&report)?;
        // The run's plots follow its rewritten report.
        if let Ok(history) = run.read_history(crate::run::training::total_epochs(config)) {
            SingleLabel::plot(run, &report, &history)?;
        }
    }
    Ok(report)
}

/// The report of a run: the loss and scheme that trained its final classifier (cRT's second
/// stage's, else `[loss]`), the class weights in force at the end, and the test `evaluation`.
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
    let facts = RunFacts::of(config, backend, data, counts, wall_seconds)?;
    let mut report = Report::new(facts, &evaluation.confusion, posthoc_tau);
    report.calibration = evaluation.calibration.clone();
    let predictions = &evaluation.predictions;
    report.calibration_by_shot = Some(ShotCalibration::new(
        predictions.all_probabilities(),
        predictions.num_classes(),
        predictions.targets(),
        &report.train_counts,
    ));
    Ok(report)
}
