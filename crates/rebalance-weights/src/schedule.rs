//! Weights that change during training: deferred re-weighting.

use crate::ClassWeights;

/// Which class weights apply at which epoch.
///
/// * [`constant`](WeightSchedule::constant): the same weights from the first epoch on.
/// * [`deferred`](WeightSchedule::deferred): deferred re-weighting (DRW) from Cao et al.,
///   "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss", NeurIPS 2019:
///   uniform weights (the plain loss) for the first `start_epoch` epochs, so the features are
///   learnt from the natural distribution, then the re-weighting scheme.
///
/// Epochs count from 0 here, as in Cao et al.'s code (`idx = epoch // 160` in
/// `cifar_train.py`): their CIFAR recipe, 200 epochs with re-weighting from epoch 160, is
/// `deferred(160, weights)`, with epochs 0..=159 uniform and 160..=199 re-weighted. burn-train
/// numbers epochs from 1, so pass `epoch - 1` from its epoch number.
///
/// ```
/// use rebalance_weights::{ClassCounts, Scheme, WeightSchedule};
///
/// let counts = ClassCounts::from_counts(vec![100, 10])?;
/// let drw = WeightSchedule::deferred(160, Scheme::Ens { beta: 0.9999 }.weights(&counts)?);
/// assert_eq!(drw.weights_at(159).as_slice(), &[1.0, 1.0]);
/// assert!(drw.weights_at(160).as_slice()[1] > 1.5);
/// assert!(drw.changes_at(160) && !drw.changes_at(161));
/// # Ok::<(), rebalance_weights::WeightError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WeightSchedule {
    start_epoch: usize,
    uniform: ClassWeights,
    weights: ClassWeights,
}

impl WeightSchedule {
    /// `weights` at every epoch.
    pub fn constant(weights: ClassWeights) -> Self {
        Self::deferred(0, weights)
    }

    /// Uniform weights for epochs `0..start_epoch`, then `weights` (deferred re-weighting).
    /// `start_epoch = 0` is the same as [`constant`](WeightSchedule::constant).
    pub fn deferred(start_epoch: usize, weights: ClassWeights) -> Self {
        Self {
            start_epoch,
            uniform: weights.uniform_like(),
            weights,
        }
    }

    /// The weights in force during `epoch` (counted from 0).
    pub fn weights_at(&self, epoch: usize) -> &ClassWeights {
        if epoch < self.start_epoch {
            &self.uniform
        } else {
            &self.weights
        }
    }

    /// The first epoch (from 0) that uses the re-weighting scheme; 0 for a constant schedule.
    pub fn start_epoch(&self) -> usize {
        self.start_epoch
    }

    /// The weights used from [`start_epoch`](WeightSchedule::start_epoch) on.
    pub fn final_weights(&self) -> &ClassWeights {
        &self.weights
    }

    /// Whether `epoch` uses different weights from the epoch before it, so a training loop
    /// knows when to rebuild its loss. True only at `start_epoch` of a deferred schedule
    /// (when `start_epoch > 0`).
    pub fn changes_at(&self, epoch: usize) -> bool {
        epoch > 0 && epoch == self.start_epoch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClassCounts, Scheme};

    fn ins() -> ClassWeights {
        Scheme::Ins
            .weights(&ClassCounts::from_counts(vec![30, 10]).unwrap())
            .unwrap()
    }

    #[test]
    fn constant_schedule_never_changes() {
        let s = WeightSchedule::constant(ins());
        for epoch in [0, 1, 100] {
            assert_eq!(s.weights_at(epoch), &ins());
            assert!(!s.changes_at(epoch));
        }
        assert_eq!(s.start_epoch(), 0);
    }

    #[test]
    fn deferred_schedule_switches_at_start_epoch() {
        let s = WeightSchedule::deferred(3, ins());
        for epoch in 0..3 {
            assert_eq!(s.weights_at(epoch).as_slice(), &[1.0, 1.0]);
            assert_eq!(s.weights_at(epoch).scheme(), &Scheme::Uniform);
        }
        for epoch in 3..6 {
            let w = s.weights_at(epoch).as_slice();
            assert!(
                (w[0] - 0.5).abs() < 1e-15 && (w[1] - 1.5).abs() < 1e-15,
                "{w:?}"
            );
        }
        assert_eq!(
            (0..6).map(|e| s.changes_at(e)).collect::<Vec<_>>(),
            [false, false, false, true, false, false]
        );
        assert_eq!(s.final_weights(), &ins());
        let immediate = WeightSchedule::deferred(0, ins());
        assert_eq!(immediate, WeightSchedule::constant(ins()));
    }
}
