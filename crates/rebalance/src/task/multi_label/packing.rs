//! How multi-label runs pack (`crate::run::pack`): multi-hot targets stacked `[R, B, C]`, the
//! library's [`PackedMultiLabelLoss`], and each run's validation curve, the macro-F1 at 0.5.

use burn::prelude::*;
use rebalance_data::MultiLabelBatch;
use rebalance_loss::{LossConfig, LossError, MultiLabelLoss, PackedMultiLabelLoss};
use rebalance_weights::ClassCounts;

use super::MultiLabel;
use crate::run::history::ValidScore;
use crate::run::pack::PackTask;
use crate::task::multi_label::metrics::MultiLabelScore;

impl PackTask for MultiLabel {
    type Loss = MultiLabelLoss;
    type Targets = Tensor<3>;
    type PackedLoss = PackedMultiLabelLoss;

    fn split(batches: Vec<MultiLabelBatch>) -> (Vec<Tensor<2>>, Tensor<3>) {
        let (features, targets) = batches.into_iter().map(|b| (b.features, b.targets)).unzip();
        (features, Tensor::stack(targets, 0))
    }

    fn select(targets: Tensor<3>, rows: Tensor<1, Int>) -> Tensor<3> {
        targets.select(0, rows)
    }

    /// [`PackedMultiLabelLoss::new`]: positives per label over the runs' training rows.
    fn pack_loss(
        configs: &[LossConfig],
        counts: &[ClassCounts],
        samples: &[u64],
        epoch: usize,
        device: &Device,
    ) -> Result<PackedMultiLabelLoss, LossError> {
        PackedMultiLabelLoss::new(configs, counts, samples, epoch, device)
    }

    fn loss(loss: &PackedMultiLabelLoss, logits: Tensor<3>, targets: Tensor<3>) -> Tensor<1> {
        loss.forward(logits, targets)
    }

    /// The multi-hot rows and the sigmoid probabilities, each sample's labels side by side.
    fn valid_rows(logits: Tensor<3>, targets: Tensor<3>) -> (Tensor<2>, Tensor<2>) {
        let [runs, size, labels] = targets.dims();
        let probabilities = burn::tensor::activation::sigmoid(logits);
        (
            targets.reshape([runs, size * labels]),
            probabilities.reshape([runs, size * labels]),
        )
    }

    /// The macro-F1 at 0.5 of the epoch's probabilities, as the run's `MultiLabelMetric`
    /// computes it trained alone.
    fn valid_score(truth: &[f32], answers: &[f32], num_classes: usize) -> ValidScore {
        ValidScore::MacroF1(MultiLabelScore::MacroF1.of(answers, truth, num_classes) / 100.0)
    }
}
