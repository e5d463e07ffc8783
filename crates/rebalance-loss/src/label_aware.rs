//! Label-aware smoothing (Zhong et al., CVPR 2021): a label-smoothing `ε` per class, larger
//! for the head classes than for the tail.

use rebalance_weights::ClassCounts;
use serde::{Deserialize, Serialize};

use crate::LossError;
use crate::error::check_every_class;

rebalance_weights::config_enum! {
    /// How `ε_c` goes from the tail class's `ε_tail` to the head class's `ε_head` as the class
    /// count grows (Zhong et al., Eq. 6, and the MiSLAS code).
    pub enum SmoothingShape("smoothing shape", LossError) {
        /// `ε_tail + (ε_head - ε_tail) · sin(π/2 · f)`: rises fast from the tail (the
        /// paper's choice).
        #[default]
        Concave,
        /// `ε_tail + (ε_head - ε_tail) · f`.
        Linear,
        /// `ε_head + (ε_head - ε_tail) · sin(3π/2 + π/2 · f)`: rises slowly from the tail.
        Convex,
    }
}

/// Label-aware smoothing of Zhong et al., "Improving Calibration for Long-Tailed Recognition"
/// (MiSLAS), CVPR 2021: cross-entropy with label smoothing whose `ε` depends on the target's
/// class, `l_n = (1 - ε_y)·(-log p_y) + ε_y·(-1/C · Σ_c log p_c)`.
///
/// `ε_c` follows the [`SmoothingShape`] in `f_c = (n_c - n_min) / (n_max - n_min)` (1 for every
/// class when all counts are equal): the head, over-confident, is smoothed most. The defaults
/// are the MiSLAS code's for CIFAR-10-LT at imbalance factor 100 (`ε_head = 0.3`,
/// `ε_tail = 0`, concave).
///
/// In a config file: `[loss] kind = "cross-entropy"` with
/// `label_aware = { head = 0.3, tail = 0.0, shape = "concave" }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LabelAwareSmoothing {
    /// `ε` of the largest class, in `[0, 1]`. Default 0.3.
    pub head: f64,
    /// `ε` of the smallest class, in `[0, 1]`. Default 0.
    pub tail: f64,
    /// The curve between them. Default `concave`.
    pub shape: SmoothingShape,
}

impl Default for LabelAwareSmoothing {
    fn default() -> Self {
        Self {
            head: 0.3,
            tail: 0.0,
            shape: SmoothingShape::Concave,
        }
    }
}

impl LabelAwareSmoothing {
    /// Checks `head` and `tail`.
    ///
    /// # Errors
    /// Either outside `[0, 1]`.
    pub fn validate(&self) -> Result<(), LossError> {
        for (name, value) in [
            ("label_aware.head", self.head),
            ("label_aware.tail", self.tail),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(LossError::InvalidParameter {
                    name,
                    value: value.to_string(),
                    expected: "in [0, 1]",
                });
            }
        }
        Ok(())
    }

    /// The per-class `ε_c` for `counts`.
    ///
    /// ```
    /// use rebalance_loss::LabelAwareSmoothing;
    /// use rebalance_weights::ClassCounts;
    ///
    /// let eps = LabelAwareSmoothing::default()
    ///     .epsilons(&ClassCounts::from_counts(vec![100, 10, 1])?)?;
    /// assert_eq!(eps[0], 0.3);
    /// assert!((eps[1] - 0.0426944515).abs() < 1e-9);
    /// assert_eq!(eps[2], 0.0);
    /// # Ok::<(), rebalance_loss::LossError>(())
    /// ```
    ///
    /// # Errors
    /// `head` or `tail` outside `[0, 1]`, or a class without samples.
    pub fn epsilons(&self, counts: &ClassCounts) -> Result<Vec<f64>, LossError> {
        self.validate()?;
        check_every_class(counts)?;
        let largest = counts.as_slice().iter().copied().max().unwrap_or(0) as f64;
        let smallest = counts.as_slice().iter().copied().min().unwrap_or(0) as f64;
        let (head, tail) = (self.head, self.tail);
        let quarter = std::f64::consts::FRAC_PI_2;
        Ok(counts
            .as_slice()
            .iter()
            .map(|&n| {
                let f = if largest > smallest {
                    (n as f64 - smallest) / (largest - smallest)
                } else {
                    1.0
                };
                match self.shape {
                    SmoothingShape::Concave => tail + (head - tail) * (quarter * f).sin(),
                    SmoothingShape::Linear => tail + (head - tail) * f,
                    SmoothingShape::Convex => {
                        head + (head - tail) * (3.0 * quarter + quarter * f).sin()
                    }
                }
            })
            .collect())
    }
}
