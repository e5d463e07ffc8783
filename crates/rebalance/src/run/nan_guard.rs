//! The training loss metric that stops a run on the first NaN or infinite loss.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use burn::train::metric::{LossMetric, Numeric};

use crate::run::watched::{Watch, Watched};

/// burn-train's [`LossMetric`] for the training split, which also stops training as soon as
/// the loss is NaN or infinite, and remembers the epoch, so the run ends with a message instead
/// of training on garbage.
///
/// It checks the value the loss metric has just read back, so the guard costs no device-to-host
/// copy of its own.
pub type NanGuard = Watched<LossMetric, Divergence>;

/// The [`Watch`] of a [`NanGuard`]: the epoch, and the first one whose loss was not finite.
#[derive(Clone)]
pub struct Divergence {
    interrupter: burn::train::Interrupter,
    epoch: Arc<AtomicUsize>,
    diverged: Arc<Mutex<Option<usize>>>,
}

impl NanGuard {
    /// A guard that stops training through `interrupter`; epochs are counted from
    /// `first_epoch`.
    pub fn new(interrupter: burn::train::Interrupter, first_epoch: usize) -> Self {
        Watched {
            metric: LossMetric::new(),
            watch: Divergence {
                interrupter,
                epoch: Arc::new(AtomicUsize::new(first_epoch)),
                diverged: Arc::new(Mutex::new(None)),
            },
        }
    }

    /// The epoch in which the loss stopped being finite, if it did.
    pub fn diverged_at(&self) -> Option<usize> {
        *self
            .watch
            .diverged
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Watch for Divergence {
    fn updated(&mut self, loss: &impl Numeric) {
        if !loss.value().is_some_and(|v| v.current().is_finite()) {
            let mut diverged = self.diverged.lock().unwrap_or_else(PoisonError::into_inner);
            if diverged.is_none() {
                *diverged = Some(self.epoch.load(Ordering::SeqCst));
            }
            self.interrupter.stop(Some("the loss is not finite"));
        }
    }

    fn cleared(&mut self) {
        // burn-train clears the training metrics once per epoch.
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use burn::prelude::*;

    use burn::train::metric::{LossInput, Metric};

    use super::*;
    use crate::run::testing::metadata;

    #[test]
    fn the_guard_is_the_loss_metric_and_stops_on_the_first_non_finite_loss() {
        let device = Device::flex();
        let interrupter = burn::train::Interrupter::new();
        let mut guard = NanGuard::new(interrupter.clone(), 3);
        let loss = |values: [f32; 2]| LossInput::new(Tensor::from_floats(values, &device));
        assert_eq!(guard.name().as_str(), "Loss");
        // The value is burn-train's LossMetric's: the batch mean.
        guard.update(&loss([1.0, 2.0]), &metadata(1)).unwrap();
        assert_eq!(guard.value().map(|v| v.current()), Some(1.5));
        assert!(!interrupter.should_stop());
        assert_eq!(guard.diverged_at(), None);
        // burn-train clears the training metrics at the end of every epoch.
        guard.clear();
        guard.update(&loss([1.0, f32::NAN]), &metadata(1)).unwrap();
        assert!(interrupter.should_stop());
        assert_eq!(guard.diverged_at(), Some(4));
        // The first epoch it diverged in is kept.
        guard.clear();
        guard
            .update(&loss([f32::INFINITY, 0.0]), &metadata(1))
            .unwrap();
        assert_eq!(guard.diverged_at(), Some(4));
    }
}
