//! burn-train metrics for imbalance: balanced accuracy, macro-F1, G-mean and per-class
//! recall, accumulated over the epoch from a confusion matrix (averaging per-batch values
//! would not give the epoch's balanced accuracy).

use std::sync::Arc;

use burn::prelude::*;
use burn::tensor::TensorReadError;
use burn::train::ClassificationOutput;
use burn::train::metric::{
    Adaptor, Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericAttributes,
    NumericEntry, SerializedEntry,
};

use crate::evaluation::Confusion;

/// Predicted and true classes of a batch.
pub struct PredictionInput {
    predictions: Tensor<1, Int>,
    targets: Tensor<1, Int>,
}

impl Adaptor<PredictionInput> for ClassificationOutput {
    fn adapt(&self) -> PredictionInput {
        let [batch_size, _] = self.output.dims();
        PredictionInput {
            predictions: self.output.clone().argmax(1).reshape([batch_size]),
            targets: self.targets.clone(),
        }
    }
}

/// Reads a batch's predictions and targets to the host.
fn read(input: &PredictionInput) -> Result<(Vec<i64>, Vec<i64>), TensorReadError> {
    let predictions = input
        .predictions
        .clone()
        .try_into_data()?
        .iter::<i64>()
        .collect();
    let targets = input
        .targets
        .clone()
        .try_into_data()?
        .iter::<i64>()
        .collect();
    Ok((targets, predictions))
}

/// Which score a [`ConfusionMetric`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Score {
    /// Mean per-class recall.
    BalancedAccuracy,
    /// Mean per-class F1.
    MacroF1,
    /// Geometric mean of per-class recall.
    GMean,
}

impl Score {
    fn name(self) -> &'static str {
        match self {
            Score::BalancedAccuracy => "Balanced Accuracy",
            Score::MacroF1 => "Macro F1",
            Score::GMean => "G-Mean",
        }
    }

    fn of(self, confusion: &Confusion) -> f64 {
        100.0
            * match self {
                Score::BalancedAccuracy => confusion.balanced_accuracy(),
                Score::MacroF1 => confusion.macro_f1(),
                Score::GMean => confusion.g_mean(),
            }
    }
}

/// A numeric burn-train metric computed from the epoch's confusion matrix, in percent.
#[derive(Clone)]
pub struct ConfusionMetric {
    score: Score,
    name: MetricName,
    epoch: Confusion,
    batch: Confusion,
    batch_value: f64,
    batch_count: usize,
}

impl ConfusionMetric {
    /// A metric of `score` over `num_classes` classes.
    pub fn new(score: Score, num_classes: usize) -> Self {
        Self {
            score,
            name: Arc::new(score.name().to_string()),
            epoch: Confusion::new(num_classes),
            batch: Confusion::new(num_classes),
            batch_value: 0.0,
            batch_count: 0,
        }
    }
}

impl Metric for ConfusionMetric {
    type Input = PredictionInput;

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes {
            unit: Some("%".to_string()),
            higher_is_better: true,
        }
        .into()
    }

    fn update(
        &mut self,
        input: &PredictionInput,
        _metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        let (targets, predictions) = read(input)?;
        self.batch.clear();
        self.batch.add(&targets, &predictions);
        self.epoch.add(&targets, &predictions);
        self.batch_value = self.score.of(&self.batch);
        self.batch_count = targets.len();
        let epoch = self.score.of(&self.epoch);
        Ok(SerializedEntry::new(
            format!("epoch {epoch:.2} % - batch {:.2} %", self.batch_value),
            NumericEntry::Aggregated {
                aggregated_value: self.batch_value,
                count: self.batch_count,
            }
            .serialize(),
        ))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        let value = self.score.of(&self.epoch);
        Ok(SerializedEntry::new(
            format!("{value:.2} %"),
            NumericEntry::Final(value).serialize(),
        ))
    }

    fn clear(&mut self) {
        self.epoch.clear();
        self.batch.clear();
        self.batch_value = 0.0;
        self.batch_count = 0;
    }
}

impl Numeric for ConfusionMetric {
    fn value(&self) -> Option<NumericEntry> {
        Some(NumericEntry::Value(self.batch_value))
    }

    fn running_value(&self) -> Option<NumericEntry> {
        Some(NumericEntry::Value(self.score.of(&self.epoch)))
    }

    fn final_value(&self) -> NumericEntry {
        NumericEntry::Final(self.score.of(&self.epoch))
    }
}

/// The recall of every class over the epoch, as text (`[98.1 95.0 ... 12.0] %`).
#[derive(Clone)]
pub struct PerClassRecallMetric {
    name: MetricName,
    epoch: Confusion,
}

impl PerClassRecallMetric {
    /// A metric over `num_classes` classes.
    pub fn new(num_classes: usize) -> Self {
        Self {
            name: Arc::new("Per-class Recall".to_string()),
            epoch: Confusion::new(num_classes),
        }
    }

    fn formatted(&self) -> String {
        let recalls: Vec<String> = self
            .epoch
            .recall()
            .iter()
            .map(|r| r.map_or("-".to_string(), |r| format!("{:.1}", 100.0 * r)))
            .collect();
        format!("[{}] %", recalls.join(" "))
    }
}

impl Metric for PerClassRecallMetric {
    type Input = PredictionInput;

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn update(
        &mut self,
        input: &PredictionInput,
        _metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        let (targets, predictions) = read(input)?;
        self.epoch.add(&targets, &predictions);
        let text = self.formatted();
        Ok(SerializedEntry::new(text.clone(), text))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        let text = self.formatted();
        Ok(SerializedEntry::new(text.clone(), text))
    }

    fn clear(&mut self) {
        self.epoch.clear();
    }
}

/// The loss of a batch, for [`NanGuard`].
pub struct LossValueInput {
    loss: Tensor<1>,
}

impl Adaptor<LossValueInput> for ClassificationOutput {
    fn adapt(&self) -> LossValueInput {
        LossValueInput {
            loss: self.loss.clone(),
        }
    }
}

/// Stops training as soon as the loss is NaN or infinite, and remembers the epoch, so the
/// run ends with a message instead of training on garbage.
#[derive(Clone)]
pub struct NanGuard {
    name: MetricName,
    interrupter: burn::train::Interrupter,
    epoch: Arc<std::sync::atomic::AtomicUsize>,
    diverged: Arc<std::sync::Mutex<Option<usize>>>,
}

impl NanGuard {
    /// A guard that stops training through `interrupter`; epochs are counted from
    /// `first_epoch`.
    pub fn new(interrupter: burn::train::Interrupter, first_epoch: usize) -> Self {
        Self {
            name: Arc::new("Finite Loss".to_string()),
            interrupter,
            epoch: Arc::new(std::sync::atomic::AtomicUsize::new(first_epoch)),
            diverged: Arc::new(std::sync::Mutex::new(None)),
        }
    }

    /// The epoch in which the loss stopped being finite, if it did.
    pub fn diverged_at(&self) -> Option<usize> {
        self.diverged.lock().ok().and_then(|d| *d)
    }
}

impl Metric for NanGuard {
    type Input = LossValueInput;

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn update(
        &mut self,
        input: &LossValueInput,
        _metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        let value: f64 = input.loss.clone().try_into_scalar()?;
        if value.is_finite() {
            return Ok(SerializedEntry::new("yes".to_string(), "yes".to_string()));
        }
        if let Ok(mut diverged) = self.diverged.lock()
            && diverged.is_none()
        {
            *diverged = Some(self.epoch.load(std::sync::atomic::Ordering::SeqCst));
        }
        self.interrupter.stop(Some("the loss is not finite"));
        Ok(SerializedEntry::new("no".to_string(), "no".to_string()))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        Ok(SerializedEntry::new("yes".to_string(), "yes".to_string()))
    }

    fn clear(&mut self) {
        // burn-train clears the training metrics once per epoch.
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}
