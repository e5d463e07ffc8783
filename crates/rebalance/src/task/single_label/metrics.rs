//! burn-train metrics for imbalance: balanced accuracy, macro-F1, G-mean and per-class
//! recall, accumulated over the epoch from a confusion matrix (averaging per-batch values
//! would not give the epoch's balanced accuracy).

use std::sync::Arc;

use burn::prelude::*;
use burn::tensor::TensorReadError;
use burn::train::ClassificationOutput;
use burn::train::metric::{Adaptor, Metric, MetricMetadata, MetricName, SerializedEntry};

use super::evaluation::Confusion;
use crate::task::shared::{EpochScore, PercentMetric, SharedBatch};

/// A batch's logits and true classes.
pub struct PredictionInput {
    output: Tensor<2>,
    targets: Tensor<1, Int>,
}

impl Adaptor<PredictionInput> for ClassificationOutput {
    fn adapt(&self) -> PredictionInput {
        PredictionInput {
            output: self.output.clone(),
            targets: self.targets.clone(),
        }
    }
}

/// A batch's true and predicted classes on the host.
type HostBatch = Arc<(Vec<i64>, Vec<i64>)>;

/// A batch's `(targets, predictions)` on the host, shared by the confusion-matrix metrics.
pub type SharedPredictions = SharedBatch<(Vec<i64>, Vec<i64>)>;

impl SharedPredictions {
    /// The batch's `(targets, predictions)`, read from the device for the first metric that
    /// asks and reused by the others.
    fn read(
        &self,
        input: &PredictionInput,
        metadata: &MetricMetadata,
    ) -> Result<HostBatch, TensorReadError> {
        self.get_or_read(metadata, || {
            let [batch_size, _] = input.output.dims();
            let predictions = input.output.clone().argmax(1).reshape([batch_size]);
            // Targets and predictions in one tensor: one device-to-host copy (and, on a GPU,
            // one synchronisation) per batch, not two.
            let mut both: Vec<i64> = Tensor::cat(vec![input.targets.clone(), predictions], 0)
                .try_into_data()?
                .iter::<i64>()
                .collect();
            let predictions = both.split_off(batch_size);
            Ok((both, predictions))
        })
    }
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

/// A score of the epoch's confusion matrix ([`Score`]), accumulated batch by batch.
#[derive(Clone)]
pub struct ConfusionScore {
    score: Score,
    epoch: Confusion,
    batch: Confusion,
    shared: SharedPredictions,
}

/// A numeric burn-train metric computed from the epoch's confusion matrix, in percent.
pub type ConfusionMetric = PercentMetric<ConfusionScore>;

impl ConfusionMetric {
    /// A metric of `score` over `num_classes` classes.
    pub fn new(score: Score, num_classes: usize) -> Self {
        Self::of(ConfusionScore {
            score,
            epoch: Confusion::new(num_classes),
            batch: Confusion::new(num_classes),
            shared: SharedPredictions::new(),
        })
    }

    /// Reads each batch's predictions through `shared`, with the other metrics given it.
    pub fn with_shared(self, shared: SharedPredictions) -> Self {
        self.map_score(|score| ConfusionScore { shared, ..score })
    }
}

impl EpochScore for ConfusionScore {
    type Input = PredictionInput;

    fn name(&self) -> &'static str {
        self.score.name()
    }

    fn add(
        &mut self,
        input: &PredictionInput,
        metadata: &MetricMetadata,
    ) -> Result<(f64, usize), TensorReadError> {
        let batch = self.shared.read(input, metadata)?;
        let (targets, predictions) = (&batch.0, &batch.1);
        self.batch.clear();
        self.batch.add(targets, predictions);
        self.epoch.add(targets, predictions);
        Ok((self.score.of(&self.batch), targets.len()))
    }

    fn epoch_value(&self) -> f64 {
        self.score.of(&self.epoch)
    }

    fn clear(&mut self) {
        self.epoch.clear();
        self.batch.clear();
        self.shared.forget();
    }
}

/// The recall of every class over the epoch, as text (`[98.1 95.0 ... 12.0] %`).
#[derive(Clone)]
pub struct PerClassRecallMetric {
    name: MetricName,
    epoch: Confusion,
    shared: SharedPredictions,
}

impl PerClassRecallMetric {
    /// A metric over `num_classes` classes.
    pub fn new(num_classes: usize) -> Self {
        Self {
            name: Arc::new("Per-class Recall".to_string()),
            epoch: Confusion::new(num_classes),
            shared: SharedPredictions::new(),
        }
    }

    /// Reads each batch's predictions through `shared`, with the other metrics given it.
    pub fn with_shared(mut self, shared: SharedPredictions) -> Self {
        self.shared = shared;
        self
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
        metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        let batch = self.shared.read(input, metadata)?;
        self.epoch.add(&batch.0, &batch.1);
        let text = self.formatted();
        Ok(SerializedEntry::new(text.clone(), text))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        let text = self.formatted();
        Ok(SerializedEntry::new(text.clone(), text))
    }

    fn clear(&mut self) {
        self.epoch.clear();
        self.shared.forget();
    }
}

#[cfg(test)]
mod tests {

    use burn::train::metric::Numeric;

    use super::*;
    use crate::run::testing::metadata;

    fn input(logits: [[f32; 2]; 2], targets: [i64; 2]) -> PredictionInput {
        let device = Device::flex();
        PredictionInput {
            output: Tensor::from_floats(logits, &device),
            targets: Tensor::from_ints(targets, &device),
        }
    }

    #[test]
    fn metrics_sharing_a_reader_read_each_batch_once() {
        let shared = SharedPredictions::new();
        let mut balanced =
            ConfusionMetric::new(Score::BalancedAccuracy, 2).with_shared(shared.clone());
        let mut recall = PerClassRecallMetric::new(2).with_shared(shared.clone());
        let first = input([[2.0, 1.0], [0.0, 3.0]], [0, 0]);
        balanced.update(&first, &metadata(1)).unwrap();
        let read = shared.read(&first, &metadata(1)).unwrap();
        // The second metric gets the very batch the first one read.
        recall.update(&first, &metadata(1)).unwrap();
        assert!(Arc::ptr_eq(
            &read,
            &shared.read(&first, &metadata(1)).unwrap()
        ));
        assert_eq!(*read, (vec![0, 0], vec![0, 1]));
        // The next batch is read afresh, and both metrics count it.
        let second = input([[0.0, 1.0], [1.0, 0.0]], [1, 1]);
        balanced.update(&second, &metadata(2)).unwrap();
        recall.update(&second, &metadata(2)).unwrap();
        assert_eq!(
            *shared.read(&second, &metadata(2)).unwrap(),
            (vec![1, 1], vec![1, 0])
        );
        // Class 0: 1 of 2 right; class 1: 1 of 2 right.
        assert_eq!(balanced.final_value().current(), 50.0);
        assert_eq!(recall.formatted(), "[50.0 50.0] %");
        // A new epoch starts over, even with the same progress as the last batch.
        balanced.clear();
        let third = input([[0.0, 1.0], [0.0, 1.0]], [1, 1]);
        assert_eq!(
            *shared.read(&third, &metadata(2)).unwrap(),
            (vec![1, 1], vec![1, 1])
        );
    }
}
