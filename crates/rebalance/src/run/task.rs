//! The task dimension's trait: what single-label and multi-label classification supply to the
//! one training and evaluation path (`crate::run::training`, `launch` and `start`). Its two implementations are in
//! `crate::task`.

use burn::data::dataloader::DataLoader;
use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use burn::train::metric::{Adaptor, LossInput};
use burn::train::{InferenceStep, ItemLazy, LearnerModel, SupervisedTraining, TrainStep};
use rebalance_data::{LongTailData, Resampling, Rows, Standardizer, Target};
use rebalance_weights::ClassCounts;

use crate::run::backend::Backend;
use crate::run::config::{RunConfig, TrainSection};
use crate::run::eval_options::EvalOptions;
use crate::run::history::{EpochHistory, HistoryRecorder};
use crate::run::run_dir::RunDir;
use crate::run::training::{TrainOptions, Trainer};

/// A data loader of a task's batches.
pub type Loader<B> = std::sync::Arc<dyn DataLoader<B>>;

/// A classification task: what its samples are labelled with, how its model is built and
/// trained, what it measures and reports. `crate::run::training` trains and evaluates any task
/// through these.
pub trait TaskKind: Sized + 'static {
    /// What a sample is labelled with in the data crate: a class index or a label set.
    type Target: Target;
    /// A batch of samples on a device.
    type Batch: Send + Clone + std::fmt::Debug + 'static;
    /// Turns samples into batches (standardized; augmented, for the training split of images).
    type Batcher: Batcher<<Self::Target as Target>::Sample, Self::Batch>
        + Clone
        + Send
        + Sync
        + 'static;
    /// The classifier, with the task's loss as its field.
    type Model: LearnerModel
        + Clone
        + TrainStep<Input = Self::Batch, Output = Self::Output>
        + InferenceStep<Input = Self::Batch, Output = Self::Output>;
    /// The model's output of a step: the loss, logits and targets the metrics read.
    type Output: ItemLazy + Adaptor<LossInput> + 'static;
    /// What a second training stage records of the model before it (cRT's stage-1 test
    /// scores); `()` for a task without one.
    type Stage1: Default;
    /// What a run's evaluation reports (`report.json`).
    type Report: TaskReport + serde::Serialize + serde::de::DeserializeOwned;

    /// The data `config.data` describes.
    ///
    /// # Errors
    /// As the data crate's loaders.
    fn load(config: &RunConfig) -> anyhow::Result<LongTailData<Self::Target>>;

    /// The training split's counts the class weights come from: samples per class, or
    /// positives per label.
    ///
    /// # Errors
    /// An empty class or label the weighting's zero-count policy refuses.
    fn counts(config: &RunConfig, data: &LongTailData<Self::Target>)
    -> anyhow::Result<ClassCounts>;

    /// The model `config.model` describes for `data`, with the loss of epoch `epoch` (counted
    /// from 0: the class weights in force then).
    ///
    /// # Errors
    /// A model that does not fit the data, or a loss that cannot be built.
    fn model(
        config: &RunConfig,
        data: &LongTailData<Self::Target>,
        counts: &ClassCounts,
        epoch: usize,
        device: &Device,
    ) -> anyhow::Result<Self::Model>;

    /// The standardization of the inputs, fitted on the training split.
    fn standardizer(data: &LongTailData<Self::Target>) -> Standardizer;

    /// The batcher (standardization only) and the training split's batcher (with
    /// `train.augment`, the image augmentation).
    ///
    /// # Errors
    /// An augmentation the samples cannot take.
    fn batchers(
        config: &RunConfig,
        data: &LongTailData<Self::Target>,
        standardizer: Option<Standardizer>,
    ) -> anyhow::Result<(Self::Batcher, Self::Batcher)>;

    /// The task's own checks of `config` against the data's `counts`, before the run directory
    /// is touched (none by default).
    ///
    /// # Errors
    /// A setting the counts make unusable, naming its key.
    fn check(_config: &RunConfig, _counts: &ClassCounts) -> anyhow::Result<()> {
        Ok(())
    }

    /// What to say before training starts (nothing by default).
    fn note(_config: &RunConfig, _data: &LongTailData<Self::Target>, _options: &TrainOptions) {}

    /// How many labels the samples of each split carry, for `rebalance data` (none for a task
    /// of one label per sample).
    fn labels_per_sample(
        _data: &LongTailData<Self::Target>,
    ) -> Vec<(&'static str, rebalance_data::LabelsPerSample)> {
        Vec::new()
    }

    /// The stratum of each training sample, for the order that gives every device a
    /// stratified slice: its class, or its rarest label.
    fn strata(data: &LongTailData<Self::Target>, counts: &ClassCounts) -> Vec<usize>;

    /// The training loader of a phase from epoch `start + 1` on: `samples` shuffled as
    /// `shuffle` says (`loader`), re-sampled as `resampling` says.
    ///
    /// # Errors
    /// A re-sampling that cannot be built.
    fn train_loader(
        samples: Rows<Self::Target>,
        resampling: Resampling,
        num_classes: usize,
        start: usize,
        batcher: &Self::Batcher,
        shuffle: Option<(u64, usize)>,
        train: &TrainSection,
    ) -> anyhow::Result<Loader<Self::Batch>>;

    /// How runs of this task train packed, several as one model (`crate::run::pack`).
    fn packing() -> crate::run::pack::Packing<Self>;

    /// `training` with the task's validation metrics, those the history records among them.
    fn metrics(
        training: SupervisedTraining<Self::Model>,
        num_classes: usize,
        history: &HistoryRecorder,
    ) -> SupervisedTraining<Self::Model>;

    /// After the training phases: a second stage where the config asks for it (cRT), with what
    /// it records of the model before it (nothing by default).
    ///
    /// # Errors
    /// The stage's failure.
    fn second_stage(
        _trainer: &Trainer<'_, Self>,
        model: Self::Model,
    ) -> anyhow::Result<(Self::Model, Self::Stage1)> {
        Ok((model, Self::Stage1::default()))
    }

    /// Evaluates the trained `model` on the test split and writes its report and predictions
    /// (and the multi-label thresholds).
    ///
    /// # Errors
    /// A failed evaluation or a file that cannot be written.
    fn finish(trained: &Trained<'_, Self>, model: &Self::Model) -> anyhow::Result<Self::Report>;

    /// The report of the trained `model` on the validation split, as [`finish`](Self::finish)
    /// evaluates the test split but writing nothing (a tuned comparison's score,
    /// `crate::compare`); a multi-label run's at the thresholds it recorded.
    ///
    /// # Errors
    /// The data has no validation split, no thresholds are recorded (multi-label), or the
    /// evaluation fails.
    fn validation_report(
        trained: &Trained<'_, Self>,
        model: &Self::Model,
    ) -> anyhow::Result<Self::Report>;

    /// The run's plots.
    ///
    /// # Errors
    /// A plot cannot be written.
    fn plot(run: &RunDir, report: &Self::Report, history: &EpochHistory) -> anyhow::Result<()>;

    /// The model a finished run saved, rebuilt empty for its weights to be loaded: cRT's
    /// stage loss, or the loss of the last epoch.
    ///
    /// # Errors
    /// As [`model`](Self::model).
    fn trained_model(
        config: &RunConfig,
        data: &LongTailData<Self::Target>,
        counts: &ClassCounts,
        device: &Device,
    ) -> anyhow::Result<Self::Model> {
        Self::model(config, data, counts, config.train.epochs - 1, device)
    }

    /// Checks `eval`'s `options` against the run's `config` and `data` before its state and
    /// model are read: an adjustment the task does not have, or one without what it needs.
    ///
    /// # Errors
    /// As above, one line naming the flag.
    fn check_eval(
        _config: &RunConfig,
        _data: &LongTailData<Self::Target>,
        _options: &EvalOptions,
    ) -> anyhow::Result<()> {
        Ok(())
    }

    /// `rebalance eval` on a run of this task: re-evaluates `trained` with `options`' adjustments
    /// and rewrites the run's report, predictions and plots (or writes `report-<adjustment>.*`).
    ///
    /// # Errors
    /// An adjustment the task does not have, or one that cannot be fitted.
    fn reevaluate(
        trained: &Trained<'_, Self>,
        model: Self::Model,
        options: &EvalOptions,
    ) -> anyhow::Result<Self::Report>;
}

/// What every run's report (`report.json`) records, whatever its task.
pub trait TaskReport {
    /// The training samples per class (positives per label).
    fn train_counts(&self) -> &[usize];
    /// The backend that trained the run.
    fn backend(&self) -> &str;
    /// The hardware that trained the run, where the report records it.
    fn device(&self) -> Option<&str>;
    /// The loss, as the report names it.
    fn loss(&self) -> &str;
    /// Training wall time, seconds.
    fn wall_seconds(&self) -> f64;
    /// Training throughput, samples per second.
    fn samples_per_second(&self) -> f64;
    /// The process's peak resident memory, where measured.
    fn peak_memory_bytes(&self) -> Option<u64>;
    /// The score a run is summed up by, with its name: balanced accuracy (single-label) or
    /// macro-F1 (multi-label).
    fn headline(&self) -> (&'static str, f64);
    /// The report as the terminal shows it after a run.
    fn summary(&self) -> String;
    /// `report.md`.
    fn markdown(&self) -> String;
    /// `confusion.csv`, for a task with a confusion matrix.
    fn confusion_csv(&self) -> Option<String> {
        None
    }
}

/// [`TaskReport`] for a report type with the common fields, its headline score given.
macro_rules! task_report {
    ($report:ty, $name:literal, |$r:ident| $score:expr $(, confusion |$c:ident| $csv:expr)?) => {
        impl $crate::run::task::TaskReport for $report {
            fn train_counts(&self) -> &[usize] {
                &self.train_counts
            }
            fn backend(&self) -> &str {
                &self.training.backend
            }
            fn device(&self) -> Option<&str> {
                self.training.device.as_deref()
            }
            fn loss(&self) -> &str {
                &self.training.loss
            }
            fn wall_seconds(&self) -> f64 {
                self.cost.wall_seconds
            }
            fn samples_per_second(&self) -> f64 {
                self.cost.train_samples_per_second
            }
            fn peak_memory_bytes(&self) -> Option<u64> {
                self.cost.peak_memory_bytes
            }
            fn headline(&self) -> (&'static str, f64) {
                let $r = self;
                ($name, $score)
            }
            fn summary(&self) -> String {
                <$report>::summary(self)
            }
            fn markdown(&self) -> String {
                <$report>::markdown(self)
            }
            $(fn confusion_csv(&self) -> Option<String> {
                let $c = self;
                Some($csv)
            })?
        }
    };
}
pub(crate) use task_report;

/// A trained model's context: what its evaluation and report need.
pub struct Trained<'a, T: TaskKind> {
    /// The run's config.
    pub config: &'a RunConfig,
    /// The backend it trained on.
    pub backend: Backend,
    /// The data it trained on.
    pub data: &'a LongTailData<T::Target>,
    /// The training counts.
    pub counts: &'a ClassCounts,
    /// The batcher (standardization only).
    pub batcher: &'a T::Batcher,
    /// The device to evaluate on.
    pub device: &'a Device,
    /// The devices it trained on (for the report's hardware); `None` for a run evaluated
    /// again, whose report keeps the training's.
    pub devices: Option<&'a [Device]>,
    /// The run directory.
    pub run: &'a RunDir,
    /// The training wall time, seconds.
    pub wall_seconds: f64,
    /// What the second stage recorded of the model before it.
    pub stage1: T::Stage1,
}
