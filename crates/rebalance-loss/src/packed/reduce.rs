//! Each run's own reduction of its per-sample losses: the [`Reduction`] of a single loss, one
//! value per run.

use burn::prelude::*;

use crate::reduction::safe_div;
use crate::{LossError, Reduction};

/// The per-sample losses of a pack's runs, `[R, B]`.
pub(crate) type PackedPerSample = crate::reduction::PerSample<2>;

/// The reduction of every run of a pack, as the coefficients of its denominator: the
/// reduced loss of run `r` is `Σ_n w_{r,n}·l_{r,n} / d_r` with
/// `d_r = a_r·Σ_n w_{r,n} + b_r·N_r + c_r`, one of `a_r` (`weighted-mean`), `b_r` (`mean`, `N_r`
/// the counted samples) and `c_r` (`sum`) 1 and the others 0. A zero denominator gives 0, as
/// [`Reduction`] says.
#[derive(Module, Debug)]
pub struct RunReductions {
    /// `[R, 3]`: the row `(a_r, b_r, c_r)` of each run.
    coefficients: Tensor<2>,
}

impl RunReductions {
    /// The reductions of the runs, in order.
    ///
    /// # Errors
    /// [`Reduction::None`]: a pack reduces each run to one value.
    pub fn new(reductions: &[Reduction], device: &Device) -> Result<Self, LossError> {
        let mut coefficients = Vec::with_capacity(3 * reductions.len());
        for reduction in reductions {
            coefficients.extend_from_slice(&match reduction {
                Reduction::WeightedMean => [1.0f32, 0.0, 0.0],
                Reduction::Mean => [0.0, 1.0, 0.0],
                Reduction::Sum => [0.0, 0.0, 1.0],
                Reduction::None => {
                    return Err(LossError::InvalidParameter {
                        name: "reduction",
                        value: reduction.to_string(),
                        expected: "weighted-mean, mean or sum in a pack (each run's loss is \
                                   one value; forward_no_reduction gives the per-sample losses)",
                    });
                }
            });
        }
        let data = TensorData::new(coefficients, [reductions.len(), 3]);
        Ok(Self {
            coefficients: Tensor::from_data(data, device),
        })
    }

    /// The number of runs.
    pub fn runs(&self) -> usize {
        self.coefficients.dims()[0]
    }
}

impl PackedPerSample {
    /// Reduces each run by its own reduction: `[R]`.
    pub fn reduce(self, reductions: &RunReductions) -> Tensor<1> {
        let [runs, batch_size] = self.loss.dims();
        let device = self.loss.device();
        let counted = match &self.valid {
            Some(valid) => valid.clone().sum_dim(1),
            None => Tensor::full([runs, 1], batch_size as f64, &device),
        };
        let weight_sums = match self.weight {
            Some(weight) => weight.sum_dim(1),
            None => counted.clone(),
        };
        let ones = Tensor::ones([runs, 1], &device);
        // Each row has one coefficient 1 and two 0: the sum picks one denominator exactly.
        let denominator = (Tensor::cat(vec![weight_sums, counted, ones], 1)
            * reductions.coefficients.clone())
        .sum_dim(1);
        safe_div(
            self.loss.sum_dim(1).squeeze_dim::<1>(1),
            denominator.squeeze_dim::<1>(1),
        )
    }
}
