//! Single-label classification: a class index per sample, a softmax loss, the confusion-matrix
//! metrics, post-hoc logit adjustment, cRT's second stage and `eval`'s adjustments.

pub mod adjustment;
pub mod evaluation;
pub mod inference;
pub mod metrics;
mod packing;
pub mod report;

use anyhow::bail;
use burn::data::dataset::Dataset;
use burn::prelude::*;
use burn::train::SupervisedTraining;
use burn::train::metric::AccuracyMetric;
use rebalance_data::{
    AugmentedSamples, ImageAugmentation, LongTailData, ResampledSamples, Resampling, Sample,
    SampleBatch, SampleBatcher, Samples, Standardizer,
};
use rebalance_weights::ClassCounts;

use super::{Loader, TaskKind, Trained};
use crate::reporting::plots;
use crate::run::config::{RunConfig, ScheduleKind, TrainSection};
use crate::run::eval_options::EvalOptions;
use crate::run::history::{Curve, EpochHistory, HistoryRecorder};
use crate::run::launch::{Stage, loader, materialize, seeded_init};
use crate::run::model::Classifier;
use crate::run::pack::Packing;
use crate::run::run_dir::RunDir;
use crate::run::training::Trainer;
use crate::task::single_label::adjustment::{LogitAdjustment, short};
use crate::task::single_label::evaluation::Scores;
use crate::task::single_label::metrics::{
    ConfusionMetric, PerClassRecallMetric, Score, SharedPredictions,
};
use crate::task::single_label::report::Report;
use inference::{evaluate, reevaluate, run_report};

/// Single-label classification: `data.task = "single-label"`, the default.
#[derive(Debug, Clone, Copy)]
pub struct SingleLabel;

impl TaskKind for SingleLabel {
    type Target = usize;
    type Batch = SampleBatch;
    type Batcher = SampleBatcher;
    type Model = Classifier;
    type Stage1 = Option<Scores>;
    type Output = burn::train::ClassificationOutput;
    type Report = Report;

    fn load(config: &RunConfig) -> anyhow::Result<LongTailData> {
        Ok(config.data.load()?)
    }

    fn counts(_config: &RunConfig, data: &LongTailData) -> anyhow::Result<ClassCounts> {
        Ok(ClassCounts::from_labels(
            data.train.labels(),
            data.num_classes,
        )?)
    }

    fn model(
        config: &RunConfig,
        data: &LongTailData,
        counts: &ClassCounts,
        epoch: usize,
        device: &Device,
    ) -> anyhow::Result<Classifier> {
        let loss = config.loss.init_for_epoch(counts, epoch, device);
        super::classifier(config, data, loss, device)
    }

    /// `eval.posthoc_tau`'s shift stays finite.
    fn check(config: &RunConfig, counts: &ClassCounts) -> anyhow::Result<()> {
        if let Some(tau) = config.eval.posthoc_tau {
            LogitAdjustment::posthoc(counts.as_slice(), tau)
                .check()
                .map_err(|e| anyhow::anyhow!("eval.posthoc_tau = {}: {e}", short(tau)))?;
        }
        Ok(())
    }

    /// Per channel for images, per feature otherwise.
    fn standardizer(data: &LongTailData) -> Standardizer {
        match data.feature_shape.as_slice() {
            [channels, _, _] => Standardizer::per_channel(&data.train, *channels),
            _ => Standardizer::per_feature(&data.train),
        }
    }

    /// With `train.augment`, the CIFAR augmentation (random crop and flip) on the training
    /// split's batches.
    fn batchers(
        config: &RunConfig,
        data: &LongTailData,
        standardizer: Option<Standardizer>,
    ) -> anyhow::Result<(SampleBatcher, SampleBatcher)> {
        let batcher = SampleBatcher::new(standardizer);
        if !config.train.augment {
            return Ok((batcher.clone(), batcher));
        }
        let &[c, h, w] = data.feature_shape.as_slice() else {
            bail!(
                "train.augment = true: needs images [channels, height, width], but the data's \
                 samples have shape {:?}",
                data.feature_shape
            );
        };
        let augmented = batcher
            .clone()
            .with_augmentation(ImageAugmentation::cifar([c, h, w], config.train.seed));
        Ok((batcher, augmented))
    }

    fn strata(data: &LongTailData, _counts: &ClassCounts) -> Vec<usize> {
        data.train.labels().to_vec()
    }

    fn train_loader(
        samples: Samples,
        resampling: Resampling,
        num_classes: usize,
        start: usize,
        batcher: &SampleBatcher,
        shuffle: Option<(u64, usize)>,
        train: &TrainSection,
    ) -> anyhow::Result<Loader<SampleBatch>> {
        Ok(match resampling {
            Resampling::None => augmented_loader(samples, start, batcher, shuffle, train),
            resampling => augmented_loader(
                ResampledSamples::new(samples, resampling, num_classes, train.seed)?
                    .starting_at_epoch(start)?,
                start,
                batcher,
                shuffle,
                train,
            ),
        })
    }

    fn packing() -> Packing<Self> {
        Packing::of()
    }

    /// Accuracy, and from one read-back of each validation batch's predictions the balanced
    /// accuracy (the history's curve), macro-F1, G-mean and per-class recall.
    fn metrics(
        training: SupervisedTraining<Classifier>,
        num_classes: usize,
        history: &HistoryRecorder,
    ) -> SupervisedTraining<Classifier> {
        let shared = SharedPredictions::new();
        let balanced = ConfusionMetric::new(Score::BalancedAccuracy, num_classes);
        training
            .metrics((AccuracyMetric::new(),))
            .metric_valid_numeric(history.record(
                balanced.with_shared(shared.clone()),
                Curve::ValidBalancedAccuracy,
            ))
            .metric_valid_numeric(
                ConfusionMetric::new(Score::MacroF1, num_classes).with_shared(shared.clone()),
            )
            .metric_valid_numeric(
                ConfusionMetric::new(Score::GMean, num_classes).with_shared(shared.clone()),
            )
            .metric_valid(PerClassRecallMetric::new(num_classes).with_shared(shared))
    }

    /// cRT's second stage ([`crate::run::config::Stage2`]) where the config asks for it: the test
    /// scores of stage 1's model, then its backbone frozen, its head drawn afresh and trained
    /// alone for `stage2.epochs` epochs on re-sampled data with the stage's own loss (plain
    /// cross-entropy unless `stage2.loss` is set) and a cosine schedule, in the run's
    /// `stage2/` folder (burn-train's logs and checkpoints of the stage). Its epochs follow
    /// stage 1's in the history.
    fn second_stage(
        trainer: &Trainer<'_, Self>,
        model: Classifier,
    ) -> anyhow::Result<(Classifier, Option<Scores>)> {
        let config = trainer.config;
        let Some(stage2) = &config.train.stage2 else {
            return Ok((model, None));
        };
        let train = &config.train;
        let stage1 = evaluate(
            &model,
            &trainer.data.test,
            &trainer.batcher,
            &trainer.device,
            train.batch_size,
            &LogitAdjustment::default(),
        )?;
        let model = seeded_init(|| -> anyhow::Result<Classifier> {
            trainer.autodiff.seed(train.seed);
            let loss = stage2.loss().init(trainer.counts, &trainer.autodiff)?;
            Ok(materialize(model.for_classifier_retraining(
                &config.model,
                &trainer.data.feature_shape,
                trainer.data.num_classes,
                loss,
                &trainer.autodiff,
            )?))
        })?;
        let stage = Stage {
            dir: trainer.run.stage2(),
            resampling: stage2.resampling,
            train: TrainSection {
                epochs: stage2.epochs,
                learning_rate: stage2.learning_rate.unwrap_or(train.learning_rate),
                schedule: ScheduleKind::Cosine,
                warmup_epochs: 0,
                step_epochs: Vec::new(),
                step_factors: Vec::new(),
                stage2: None,
                ..train.clone()
            },
            name: Some("stage 2"),
        };
        // A resumed stage continues from its checkpoint (which burn-train loads into the model
        // built above); an earlier attempt's files without one are removed, and the stage
        // starts again from stage 1's model.
        let start = match trainer.stage2_from {
            Some(done) => done,
            None => {
                stage.dir.remove_stage_files()?;
                0
            }
        };
        let model = trainer.launch(model, &stage, 1, start, stage2.epochs, train.epochs + 1)?;
        Ok((model, Some(stage1.confusion.scores())))
    }

    fn validation_report(
        trained: &Trained<'_, Self>,
        model: &Classifier,
    ) -> anyhow::Result<Report> {
        let validation = trained.data.validation.as_ref().ok_or_else(|| {
            anyhow::anyhow!("the run's data has no validation split to evaluate on")
        })?;
        Ok(evaluate_split(trained, model, validation)?.1)
    }

    /// The test split's evaluation (post-hoc adjusted by `eval.posthoc_tau`), the report and
    /// `predictions.csv`.
    fn finish(trained: &Trained<'_, Self>, model: &Classifier) -> anyhow::Result<Report> {
        let (evaluation, mut report) = evaluate_split(trained, model, &trained.data.test)?;
        report.stage1 = trained.stage1.clone();
        report.training.device = trained
            .devices
            .and_then(|devices| crate::run::backend::device_names(trained.backend, devices));
        trained
            .run
            .write_predictions(&evaluation.predictions, &report.class_names)?;
        trained.run.write_report(&report)?;
        Ok(report)
    }

    /// Per-class recall against training frequency, the training curves, and the reliability
    /// diagram.
    fn plot(run: &RunDir, report: &Report, history: &EpochHistory) -> anyhow::Result<()> {
        plots::write_plots(
            run.path(),
            &plots::FrequencyFigure {
                name: "per_class_recall",
                counts: &report.train_counts,
                series: vec![("test recall", &report.scores.per_class_recall)],
                x_desc: "training samples of the class (log scale)",
                y_desc: "test recall",
                title: &format!(
                    "{} / {}: per-class recall",
                    report.training.loss, report.training.scheme
                ),
            },
            &history.curves(),
        )?;
        plots::write_reliability(
            run.path(),
            &report.calibration,
            &format!(
                "{} / {}: reliability",
                report.training.loss, report.training.scheme
            ),
        )
    }

    /// cRT's model trained with its stage's loss.
    fn trained_model(
        config: &RunConfig,
        data: &LongTailData,
        counts: &ClassCounts,
        device: &Device,
    ) -> anyhow::Result<Classifier> {
        match &config.train.stage2 {
            Some(stage2) => Ok(Classifier::new(
                &config.model,
                &data.feature_shape,
                data.num_classes,
                stage2
                    .loss()
                    .init(counts, device)
                    .map_err(super::loss_error("train.stage2.loss"))?,
                device,
            )?),
            None => Self::model(config, data, counts, config.train.epochs - 1, device),
        }
    }

    fn check_eval(
        _config: &RunConfig,
        data: &LongTailData,
        options: &EvalOptions,
    ) -> anyhow::Result<()> {
        inference::check_eval(data, options)
    }

    fn reevaluate(
        trained: &Trained<'_, Self>,
        model: Classifier,
        options: &EvalOptions,
    ) -> anyhow::Result<Report> {
        reevaluate(trained, model, options)
    }
}

/// The evaluation of `model` on `samples` (post-hoc adjusted by `eval.posthoc_tau`) and the
/// run's report of it.
///
/// # Errors
/// A failed evaluation, or class weights that cannot be computed.
fn evaluate_split(
    trained: &Trained<'_, SingleLabel>,
    model: &Classifier,
    samples: &rebalance_data::Samples,
) -> anyhow::Result<(inference::Evaluation, Report)> {
    let config = trained.config;
    let posthoc_tau = config.eval.posthoc_tau;
    let adjustment = posthoc_tau.map_or_else(LogitAdjustment::default, |tau| {
        LogitAdjustment::posthoc(trained.counts.as_slice(), tau)
    });
    let evaluation = evaluate(
        model,
        samples,
        trained.batcher,
        trained.device,
        config.train.batch_size,
        &adjustment,
    )?;
    let report = run_report(
        config,
        trained.backend,
        trained.data,
        trained.counts,
        &evaluation,
        trained.wall_seconds,
        posthoc_tau,
    )?;
    Ok((evaluation, report))
}

/// The training loader of `samples`; with an augmenting `batcher`, each sample numbered with
/// its epoch (from `start`, the epochs done before the phase) and position, which its crop and
/// flip are drawn for: the same whatever thread or device slice batches it, and the same in a
/// resumed run as in the uninterrupted one.
fn augmented_loader(
    samples: impl Dataset<Sample> + 'static,
    start: usize,
    batcher: &SampleBatcher,
    shuffle: Option<(u64, usize)>,
    train: &TrainSection,
) -> Loader<SampleBatch> {
    if batcher.augmentation().is_some() {
        loader(
            AugmentedSamples::new(samples, start),
            batcher,
            shuffle,
            train,
        )
    } else {
        loader(samples, batcher, shuffle, train)
    }
}
