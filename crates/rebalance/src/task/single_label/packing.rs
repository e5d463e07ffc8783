//! How single-label runs pack (`crate::run::pack`): class-index targets stacked `[R, B]`, the
//! library's [`PackedLoss`], and each run's validation curve, the balanced accuracy.

use burn::prelude::*;
use rebalance_data::SampleBatch;
use rebalance_loss::{ImbalanceLoss, LossConfig, LossError, PackedLoss};
use rebalance_weights::ClassCounts;

use super::SingleLabel;
use crate::run::history::ValidScore;
use crate::run::pack::PackTask;
use crate::task::single_label::evaluation::Confusion;

impl PackTask for SingleLabel {
    type Loss = ImbalanceLoss;
    type Targets = Tensor<2, Int>;
    type PackedLoss = PackedLoss;

    fn split(batches: Vec<SampleBatch>) -> (Vec<Tensor<2>>, Tensor<2, Int>) {
        let (features, targets) = batches.into_iter().map(|b| (b.features, b.targets)).unzip();
        (features, Tensor::stack(targets, 0))
    }

    fn select(targets: Tensor<2, Int>, rows: Tensor<1, Int>) -> Tensor<2, Int> {
        targets.select(0, rows)
    }

    /// [`PackedLoss::new`]: the runs' training counts are their class counts (`samples` is
    /// not needed).
    fn pack_loss(
        configs: &[LossConfig],
        counts: &[ClassCounts],
        _samples: &[u64],
        epoch: usize,
        device: &Device,
    ) -> Result<PackedLoss, LossError> {
        PackedLoss::new(configs, counts, epoch, device)
    }

    fn loss(loss: &PackedLoss, logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<1> {
        loss.forward(logits, targets)
    }

    /// The class and the predicted class (exact in `f32` up to 2^24 classes).
    fn valid_rows(logits: Tensor<3>, targets: Tensor<2, Int>) -> (Tensor<2>, Tensor<2>) {
        let [runs, size] = targets.dims();
        let predicted = logits.argmax(2).reshape([runs, size]);
        (targets.float(), predicted.float())
    }

    /// The balanced accuracy of the epoch's confusion matrix, as the run's
    /// `ConfusionMetric` computes it trained alone.
    fn valid_score(truth: &[f32], answers: &[f32], num_classes: usize) -> ValidScore {
        let classes = |values: &[f32]| values.iter().map(|&v| v as i64).collect::<Vec<_>>();
        let mut confusion = Confusion::new(num_classes);
        confusion.add(&classes(truth), &classes(answers));
        ValidScore::BalancedAccuracy(confusion.balanced_accuracy())
    }
}
