//! How per-sample losses become one number.

use burn::prelude::*;

use crate::LossError;

rebalance_weights::config_enum! {
    /// How the per-sample losses `w_n · l_n` of a batch are reduced.
    ///
    /// `w_n` is the sample's weight (its class weight `w_{y_n}`, or 1 for an unweighted loss) and
    /// `l_n` its unweighted loss:
    ///
    /// | name | value | used by |
    /// |---|---|---|
    /// | `weighted-mean` (default) | `Σ w_n·l_n / Σ w_n` | PyTorch's and burn-nn's weighted `CrossEntropyLoss` |
    /// | `mean` | `Σ w_n·l_n / N` | Cui et al.'s code (TensorFlow `SUM_BY_NONZERO_WEIGHTS` with all weights > 0) |
    /// | `sum` | `Σ w_n·l_n` | |
    /// | `none` | the `[B]` vector `w_n·l_n` | |
    ///
    /// With weights normalized to sum to the number of classes, `mean` scales the loss by the
    /// batch's mean weight, so tail-heavy batches pull harder; `weighted-mean` does not. The two
    /// are equal when every weight is 1. Samples excluded by an ignore index count in neither the
    /// numerator nor `N` nor `Σ w_n`.
    ///
    /// A batch whose weights sum to 0 (every sample of a zero-weight class, or every sample
    /// ignored) gives a `weighted-mean` or `mean` of exactly 0 with a zero gradient, never NaN.
    pub enum Reduction("reduction", LossError) {
        /// `Σ w_n·l_n / Σ w_n` (the default).
        #[default]
        WeightedMean,
        /// `Σ w_n·l_n / N`.
        Mean,
        /// `Σ w_n·l_n`.
        Sum,
        /// No reduction: `forward` returns the `[B]` per-sample losses.
        None,
    }
}

/// Per-sample losses before reduction: `[B]` for a loss alone, `[R, B]` for a pack's runs
/// (`crate::packed`).
pub(crate) struct PerSample<const D: usize = 1> {
    /// Weighted losses `w_n·l_n` (0 for ignored samples).
    pub loss: Tensor<D>,
    /// Sample weights `w_n` (0 for ignored samples); `None` means `valid` (or all ones).
    pub weight: Option<Tensor<D>>,
    /// 1 for counted samples, 0 for ignored ones; `None` means all counted.
    pub valid: Option<Tensor<D>>,
}

impl<const D: usize> PerSample<D> {
    /// Losses `loss` with sample weights `weight`, of which only the samples `valid` marks
    /// (`None`: all) count: an ignored sample's loss and weight are zeroed.
    pub fn masked(loss: Tensor<D>, weight: Option<Tensor<D>>, valid: Option<Tensor<D>>) -> Self {
        match valid {
            Some(valid) => Self {
                loss: loss * valid.clone(),
                weight: weight.map(|w| w * valid.clone()),
                valid: Some(valid),
            },
            None => Self {
                loss,
                weight,
                valid: None,
            },
        }
    }
}

impl PerSample {
    /// An unweighted batch with every sample counted.
    pub fn unweighted(loss: Tensor<1>) -> Self {
        Self {
            loss,
            weight: None,
            valid: None,
        }
    }

    /// Per-sample losses of class-index `targets`, each times its class's weight when there
    /// are `weights` (which the weighted mean then divides by).
    pub fn class_weighted(
        loss: Tensor<1>,
        weights: Option<&Tensor<1>>,
        targets: Tensor<1, Int>,
    ) -> Self {
        match weights {
            Some(weights) => {
                let sample_weights = weights.clone().gather(0, targets);
                Self {
                    loss: loss * sample_weights.clone(),
                    weight: Some(sample_weights),
                    valid: None,
                }
            }
            None => Self::unweighted(loss),
        }
    }

    /// Reduces the batch. Reduced values have shape `[1]`, `none` keeps `[B]`.
    pub fn reduce(self, reduction: Reduction) -> Tensor<1> {
        let batch_size = self.loss.dims()[0];
        match reduction {
            Reduction::None => self.loss,
            Reduction::Sum => self.loss.sum(),
            Reduction::Mean => match self.valid {
                Some(valid) => safe_div(self.loss.sum(), valid.sum()),
                None => self.loss.sum().div_scalar(batch_size.max(1) as f64),
            },
            Reduction::WeightedMean => match self.weight.or(self.valid) {
                Some(weight) => safe_div(self.loss.sum(), weight.sum()),
                None => self.loss.sum().div_scalar(batch_size.max(1) as f64),
            },
        }
    }
}

/// `forward` and `forward_no_reduction` of a softmax loss over class-index targets, from its
/// `per_sample` and its `reduction`: written once for every such loss. An optional note is
/// appended to `forward_no_reduction`'s docs.
macro_rules! row_forwards {
    ($loss:ty $(, $note:literal)?) => {
        impl $loss {
            /// The loss reduced by the configured [`Reduction`](crate::Reduction): shape `[1]`,
            /// or `[B]` for `none`.
            ///
            /// # Shapes
            /// - logits: `[batch_size, num_classes]`
            /// - targets: `[batch_size]`, class indices in `0..num_classes`, not checked on the
            ///   device (see the crate docs)
            pub fn forward(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
                self.per_sample(logits, targets).reduce(self.reduction)
            }

            /// The per-sample losses, already weighted, shape `[batch_size]`.
            $(#[doc = ""] #[doc = $note])?
            pub fn forward_no_reduction(
                &self,
                logits: Tensor<2>,
                targets: Tensor<1, Int>,
            ) -> Tensor<1> {
                self.per_sample(logits, targets).loss
            }
        }
    };
}
pub(crate) use row_forwards;

/// `numerator / denominator`, or `numerator` itself where the denominator is 0. Weights are
/// non-negative, so a zero denominator means every term of the numerator was multiplied by 0:
/// the result is 0 and so is its gradient. Branch-free, so nothing is read back from the device.
pub(crate) fn safe_div(numerator: Tensor<1>, denominator: Tensor<1>) -> Tensor<1> {
    let is_zero = denominator.clone().equal_elem(0.0).float();
    numerator / (denominator + is_zero)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_an_unknown_one_lists_them() {
        rebalance_testing::assert_config_names::<Reduction>(
            "avg",
            "unknown reduction \"avg\": expected one of weighted-mean, mean, sum, none",
        );
        assert_eq!(Reduction::default(), Reduction::WeightedMean);
    }

    #[test]
    fn zero_weight_batch_reduces_to_zero_with_zero_gradient() {
        let device = Device::flex().autodiff();
        for reduction in [Reduction::WeightedMean, Reduction::Mean] {
            let l = Tensor::<1>::from_floats([1.5, 2.5], &device).require_grad();
            let w = Tensor::<1>::zeros([2], &device);
            let per_sample = PerSample {
                loss: l.clone() * w.clone(),
                weight: Some(w.clone()),
                valid: Some(w),
            };
            let loss = per_sample.reduce(reduction);
            assert_eq!(loss.to_data().try_to_vec::<f32>().unwrap(), vec![0.0]);
            let grads = loss.backward();
            let g = l.grad(&grads).unwrap();
            assert_eq!(g.to_data().try_to_vec::<f32>().unwrap(), vec![0.0, 0.0]);
        }
    }

    #[test]
    fn reductions_of_a_weighted_batch() {
        let device = Device::flex();
        let w = Tensor::<1>::from_floats([1.0, 3.0], &device);
        let l = Tensor::<1>::from_floats([2.0, 4.0], &device);
        let make = || PerSample {
            loss: l.clone() * w.clone(),
            weight: Some(w.clone()),
            valid: None,
        };
        let value = |r| make().reduce(r).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(value(Reduction::WeightedMean), vec![3.5]); // (2 + 12) / 4
        assert_eq!(value(Reduction::Mean), vec![7.0]); // 14 / 2
        assert_eq!(value(Reduction::Sum), vec![14.0]);
        assert_eq!(value(Reduction::None), vec![2.0, 12.0]);
    }
}
