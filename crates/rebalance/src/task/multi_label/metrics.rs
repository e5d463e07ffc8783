//! burn-train metrics of a multi-label run: macro-F1, micro-F1 (at a threshold of 0.5) and mean
//! average precision over the epoch, with scikit-learn's definitions
//! (`task/multi_label/evaluation/`), from the sigmoid probabilities of every validation batch.
//! Averaging per-batch values would not give the epoch's macro-F1 or mAP.

use burn::prelude::*;
use burn::tensor::TensorReadError;
use burn::train::MultiLabelClassificationOutput;
use burn::train::metric::{Adaptor, MetricMetadata};

use crate::task::multi_label::evaluation::{MultiLabelScores, Thresholds};
use crate::task::shared::{EpochScore, PercentMetric, SharedBatch};

/// A batch's logits and 0/1 targets, `[batch_size, labels]` each.
pub struct MultiLabelInput {
    output: Tensor<2>,
    targets: Tensor<2, Int>,
}

impl Adaptor<MultiLabelInput> for MultiLabelClassificationOutput {
    fn adapt(&self) -> MultiLabelInput {
        MultiLabelInput {
            output: self.output.clone(),
            targets: self.targets.clone(),
        }
    }
}

/// A batch's sigmoid probabilities and 0/1 targets on the host, row-major `[batch_size, labels]`.
pub type SharedScores = SharedBatch<(Vec<f32>, Vec<f32>)>;

/// Reads a batch's probabilities and targets in one device-to-host copy.
fn read(input: &MultiLabelInput) -> Result<(Vec<f32>, Vec<f32>), TensorReadError> {
    let probabilities = burn::tensor::activation::sigmoid(input.output.clone());
    let both = Tensor::cat(vec![probabilities, input.targets.clone().float()], 0);
    let mut values: Vec<f32> = both
        .try_into_data()?
        .convert::<f32>()
        .iter::<f32>()
        .collect();
    let targets = values.split_off(values.len() / 2);
    Ok((values, targets))
}

/// Which score a [`MultiLabelMetric`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultiLabelScore {
    /// Mean per-label F1 at 0.5 (`f1_score(average="macro")`).
    MacroF1,
    /// F1 of the pooled counts at 0.5 (`f1_score(average="micro")`).
    MicroF1,
    /// Mean per-label average precision over the labels with a positive (mAP).
    MeanAveragePrecision,
}

impl MultiLabelScore {
    fn name(self) -> &'static str {
        match self {
            MultiLabelScore::MacroF1 => "Macro F1",
            MultiLabelScore::MicroF1 => "Micro F1",
            MultiLabelScore::MeanAveragePrecision => "mAP",
        }
    }

    /// The score of `scores` against `targets`, in percent; 0 for no samples, NaN for NaN
    /// scores (a diverged model, which the loss guard reports).
    pub(crate) fn of(self, scores: &[f32], targets: &[f32], num_labels: usize) -> f64 {
        let Ok(m) = MultiLabelScores::new(scores, targets, num_labels) else {
            return f64::NAN;
        };
        let value = match self {
            MultiLabelScore::MeanAveragePrecision => m.mean_average_precision().unwrap_or(0.0),
            score => match m.at(&Thresholds::default()) {
                Ok(at) if score == MultiLabelScore::MacroF1 => at.macro_f1(),
                Ok(at) => at.micro_f1(),
                Err(_) => f64::NAN,
            },
        };
        100.0 * value
    }
}

/// A multi-label score ([`MultiLabelScore`]) of the epoch's predictions, which it keeps.
#[derive(Clone)]
pub struct EpochPredictions {
    score: MultiLabelScore,
    num_labels: usize,
    scores: Vec<f32>,
    targets: Vec<f32>,
    shared: SharedScores,
}

/// A numeric burn-train metric of the epoch's multi-label predictions, in percent.
pub type MultiLabelMetric = PercentMetric<EpochPredictions>;

impl MultiLabelMetric {
    /// A metric of `score` over `num_labels` labels.
    pub fn new(score: MultiLabelScore, num_labels: usize) -> Self {
        Self::of(EpochPredictions {
            score,
            num_labels,
            scores: Vec::new(),
            targets: Vec::new(),
            shared: SharedScores::new(),
        })
    }

    /// Reads each batch through `shared`, with the other metrics given it.
    pub fn with_shared(self, shared: SharedScores) -> Self {
        self.map_score(|score| EpochPredictions { shared, ..score })
    }
}

impl EpochScore for EpochPredictions {
    type Input = MultiLabelInput;

    fn name(&self) -> &'static str {
        self.score.name()
    }

    fn add(
        &mut self,
        input: &MultiLabelInput,
        metadata: &MetricMetadata,
    ) -> Result<(f64, usize), TensorReadError> {
        let batch = self.shared.get_or_read(metadata, || read(input))?;
        let (scores, targets) = (&batch.0, &batch.1);
        self.scores.extend_from_slice(scores);
        self.targets.extend_from_slice(targets);
        let value = self.score.of(scores, targets, self.num_labels);
        Ok((value, scores.len() / self.num_labels.max(1)))
    }

    fn epoch_value(&self) -> f64 {
        self.score.of(&self.scores, &self.targets, self.num_labels)
    }

    fn clear(&mut self) {
        self.scores.clear();
        self.targets.clear();
        self.shared.forget();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The epoch's scores, not the mean of its batches': macro-F1 over two batches.
    #[test]
    fn epoch_scores_pool_the_batches() {
        // Label 0 right in both batches; label 1 positive only in the second, missed there.
        let first = ([0.9f32, 0.1], [1.0f32, 0.0]);
        let second = ([0.8f32, 0.2], [1.0f32, 1.0]);
        let mut scores = first.0.to_vec();
        scores.extend(second.0);
        let mut targets = first.1.to_vec();
        targets.extend(second.1);
        // sklearn.metrics.f1_score([[1,0],[1,1]], [[1,0],[1,0]], average="macro",
        //                          zero_division=0) = 0.5
        let macro_f1 = MultiLabelScore::MacroF1.of(&scores, &targets, 2);
        assert!((macro_f1 - 50.0).abs() < 1e-9, "{macro_f1}");
        // average="micro": TP 2, FP 0, FN 1 -> 4/5
        let micro = MultiLabelScore::MicroF1.of(&scores, &targets, 2);
        assert!((micro - 80.0).abs() < 1e-9, "{micro}");
        // average_precision_score: label 0 is 1, label 1 (one positive, ranked first) is 1.
        let map = MultiLabelScore::MeanAveragePrecision.of(&scores, &targets, 2);
        assert!((map - 100.0).abs() < 1e-9, "{map}");
        // A NaN score is NaN, not a number that looks fine.
        assert!(
            MultiLabelScore::MacroF1
                .of(&[f32::NAN, 0.1], &[1.0, 0.0], 2)
                .is_nan()
        );
    }
}
