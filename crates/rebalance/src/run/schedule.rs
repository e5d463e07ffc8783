//! Learning-rate schedules beyond burn-optim's: linear warm-up, then piecewise-constant steps.

use burn::lr_scheduler::{LrScheduler, LrSchedulerRecord};
use burn::optim::LearningRate;

/// `lr(i) = base · factor(i) · min(1, (i + 1) / warmup)` at iteration `i`, where `factor` is
/// 1 before the first milestone and the factor of the last milestone reached after it.
///
/// Cao et al.'s CIFAR recipe (NeurIPS 2019) is base 0.1, 5 warm-up epochs, factor 0.01 from
/// epoch 160 and 0.0001 from epoch 180; with no milestone and no warm-up it is a constant rate.
/// Milestones and warm-up are in iterations here (burn-train steps the scheduler once per
/// optimizer step); the config gives them in epochs.
#[derive(Clone, Debug)]
pub struct WarmupStepScheduler {
    base: LearningRate,
    warmup: usize,
    milestones: Vec<(usize, f64)>,
    iteration: u64,
}

impl WarmupStepScheduler {
    /// A schedule from `base`, with `warmup` warm-up iterations and `(iteration, factor)`
    /// milestones in increasing order.
    pub fn new(base: LearningRate, warmup: usize, milestones: Vec<(usize, f64)>) -> Self {
        Self {
            base,
            warmup,
            milestones,
            iteration: 0,
        }
    }

    /// The rate at iteration `i`, without stepping.
    pub fn rate_at(&self, i: u64) -> LearningRate {
        let factor = self
            .milestones
            .iter()
            .rev()
            .find(|&&(at, _)| i >= at as u64)
            .map_or(1.0, |&(_, f)| f);
        let warm = if (i as usize) < self.warmup {
            (i + 1) as f64 / self.warmup as f64
        } else {
            1.0
        };
        self.base * factor * warm
    }
}

impl LrScheduler for WarmupStepScheduler {
    fn step(&mut self) -> LearningRate {
        let rate = self.rate_at(self.iteration);
        self.iteration += 1;
        rate
    }

    fn to_record(&self) -> LrSchedulerRecord {
        LrSchedulerRecord::new().with_scalar("iteration", self.iteration)
    }

    fn load_record(&mut self, record: LrSchedulerRecord) {
        if let Some(iteration) = record.scalar::<u64>("iteration") {
            self.iteration = iteration;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cao_et_al_recipe() {
        // 10 iterations per epoch: warm-up over epochs 1..5, ×0.01 from epoch 161, ×0.0001 from 181.
        let s = WarmupStepScheduler::new(0.1, 50, vec![(1600, 0.01), (1800, 0.0001)]);
        assert!((s.rate_at(0) - 0.002).abs() < 1e-12);
        assert!((s.rate_at(49) - 0.1).abs() < 1e-12);
        assert!((s.rate_at(1599) - 0.1).abs() < 1e-12);
        assert!((s.rate_at(1600) - 0.001).abs() < 1e-12);
        assert!((s.rate_at(1800) - 0.00001).abs() < 1e-15);
    }

    #[test]
    fn the_state_survives_a_record() {
        let mut s = WarmupStepScheduler::new(1.0, 4, vec![]);
        assert_eq!([s.step(), s.step()], [0.25, 0.5]);
        let record = s.to_record();
        let mut resumed = WarmupStepScheduler::new(1.0, 4, vec![]);
        resumed.load_record(record);
        assert_eq!(resumed.step(), 0.75);
    }
}
