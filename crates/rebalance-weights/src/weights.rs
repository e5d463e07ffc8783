//! Class weights: computing them from counts, and handing them to Burn.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{ClassCounts, Normalization, Scheme, WeightError, ZeroCountPolicy};

/// Everything that decides class weights besides the counts: scheme, normalization and
/// zero-count policy. Serde-deserializable, with defaults for all but the scheme, so it can
/// sit in a config file:
///
/// ```
/// use rebalance_weights::{ClassCounts, Normalization, WeightsConfig};
///
/// let config: WeightsConfig = toml::from_str(r#"
///     scheme = "ens:0.99"
///     normalization = "sum-to-classes"   # the default
///     zero_count = "error"               # the default
/// "#).unwrap();
/// let counts = ClassCounts::from_counts(vec![100, 10, 1])?;
/// let weights = config.compute(&counts)?;
/// assert_eq!(weights.normalization(), Normalization::SumToClasses);
/// assert!((weights.as_slice().iter().sum::<f64>() - 3.0).abs() < 1e-12);
/// # Ok::<(), rebalance_weights::WeightError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightsConfig {
    /// How a count becomes a raw weight.
    pub scheme: Scheme,
    /// How raw weights are scaled. Default: `sum-to-classes`.
    #[serde(default)]
    pub normalization: Normalization,
    /// What empty classes get. Default: `error`.
    #[serde(default)]
    pub zero_count: ZeroCountPolicy,
}

impl WeightsConfig {
    /// A config with the given scheme, `sum-to-classes` normalization and the `error` policy.
    pub fn new(scheme: Scheme) -> Self {
        Self {
            scheme,
            normalization: Normalization::default(),
            zero_count: ZeroCountPolicy::default(),
        }
    }

    /// Sets the normalization.
    pub fn with_normalization(mut self, normalization: Normalization) -> Self {
        self.normalization = normalization;
        self
    }

    /// Sets the zero-count policy.
    pub fn with_zero_count(mut self, zero_count: ZeroCountPolicy) -> Self {
        self.zero_count = zero_count;
        self
    }

    /// Computes the class weights for `counts`.
    ///
    /// The arithmetic is f64. Raw weights are computed as `ln w_c` and, when normalized, shifted
    /// by the largest before `exp`, so no scheme overflows or loses the normalization for any
    /// count a `u64` can hold: `power:50` on counts of 10^6 and 10^7 still gives weights that
    /// sum to `C` (`[2, 2e-50]`), where `1 / n^50` itself underflows to 0.
    ///
    /// # Errors
    /// An invalid scheme parameter ([`WeightError::InvalidParameter`],
    /// [`WeightError::InvalidCustomWeight`]), custom weights of the wrong length
    /// ([`WeightError::CustomLength`]), an empty class under the `error` policy
    /// ([`WeightError::ZeroCount`]), or weights that are all 0 where a normalization needs a
    /// positive sum ([`WeightError::ZeroSum`]).
    pub fn compute(&self, counts: &ClassCounts) -> Result<ClassWeights, WeightError> {
        self.scheme.validate()?;
        let num_classes = counts.num_classes();
        if let Scheme::Custom { weights } = &self.scheme
            && weights.len() != num_classes
        {
            return Err(WeightError::CustomLength {
                len: weights.len(),
                num_classes,
            });
        }

        // The counts the scheme sees; `None` marks a class left out (zero-weight policy).
        let effective: Vec<Option<f64>> = match self.zero_count {
            ZeroCountPolicy::Error => {
                if let Some(class) = counts.empty_classes().next() {
                    return Err(WeightError::ZeroCount { class });
                }
                counts.as_slice().iter().map(|&n| Some(n as f64)).collect()
            }
            ZeroCountPolicy::ZeroWeight => counts
                .as_slice()
                .iter()
                .map(|&n| (n > 0).then_some(n as f64))
                .collect(),
            ZeroCountPolicy::AddOne => counts
                .as_slice()
                .iter()
                .map(|&n| Some(n as f64 + 1.0))
                .collect(),
        };
        let present: Vec<f64> = effective.iter().flatten().copied().collect();
        // What the scheme needs of all the classes, computed once, not once per class.
        let shared = self.shared_log_term(&present);
        let log_weights: Vec<f64> = effective
            .iter()
            .enumerate()
            .map(|(class, n)| match n {
                Some(n) => self.log_raw_weight(class, *n, shared),
                None => f64::NEG_INFINITY,
            })
            .collect();

        let weights = match self.normalization {
            Normalization::None => log_weights.iter().map(|lw| lw.exp()).collect(),
            // Scale-free rules: shift by the largest log-weight first, so the largest class
            // weight is exactly 1 before scaling and nothing underflows that matters.
            Normalization::SumToClasses => {
                let shifted = shift_exp(&log_weights)?;
                let target = present.len() as f64;
                scale_to(shifted, target, |_, s| s)?
            }
            Normalization::MeanSample => {
                let shifted = shift_exp(&log_weights)?;
                let real = counts.as_slice();
                scale_to(shifted, counts.total() as f64, |c, s| real[c] as f64 * s)?
            }
        };
        Ok(ClassWeights {
            weights,
            scheme: self.scheme.clone(),
            normalization: self.normalization,
        })
    }

    /// The part of `ln w_c` that depends on every class the scheme sees (`present`, their
    /// effective counts) and not on `c`: `ln(N / C)` for `balanced`, `ln median_j(n_j)` for
    /// `median`, 0 otherwise. Computed once per call of [`compute`](Self::compute), so many
    /// classes cost a sort, not a sort per class.
    fn shared_log_term(&self, present: &[f64]) -> f64 {
        match &self.scheme {
            Scheme::Balanced => {
                let total: f64 = present.iter().sum();
                total.ln() - (present.len() as f64).ln()
            }
            Scheme::Median if !present.is_empty() => median(present).ln(),
            _ => 0.0,
        }
    }

    /// `ln w_c` before normalization, for a class with effective count `n >= 1`; `shared` is
    /// [`shared_log_term`](Self::shared_log_term) of the classes the scheme sees.
    fn log_raw_weight(&self, class: usize, n: f64, shared: f64) -> f64 {
        match &self.scheme {
            Scheme::Uniform => 0.0,
            Scheme::Ins => -n.ln(),
            Scheme::Isns => -0.5 * n.ln(),
            Scheme::Power { p } => -p * n.ln(),
            Scheme::Ens { beta } => {
                // 1 - β is exact in f64 for β in [0.5, 1) (Sterbenz), so ln β = ln_1p(-(1 - β))
                // and 1 - β^n = -expm1(n ln β) lose nothing as β → 1. β = 0 gives ln β = -inf,
                // expm1(-inf) = -1, hence weight (1 - 0) / 1 = 1.
                let one_minus_beta = 1.0 - beta;
                let ln_beta = (-one_minus_beta).ln_1p();
                one_minus_beta.ln() - (-(n * ln_beta).exp_m1()).ln()
            }
            Scheme::Balanced | Scheme::Median => shared - n.ln(),
            Scheme::Custom { weights } => weights[class].ln(),
        }
    }
}

/// `exp(x - max x)`: weights relative to the largest, which becomes exactly 1.
///
/// # Errors
/// [`WeightError::ZeroSum`] if every weight is 0 (`-inf` in log space).
fn shift_exp(log_weights: &[f64]) -> Result<Vec<f64>, WeightError> {
    let max = log_weights
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return Err(WeightError::ZeroSum);
    }
    Ok(log_weights.iter().map(|lw| (lw - max).exp()).collect())
}

/// Scales `weights` so that `Σ_c term(c, w_c) = target`.
///
/// # Errors
/// [`WeightError::ZeroSum`] if the terms sum to 0.
fn scale_to(
    weights: Vec<f64>,
    target: f64,
    term: impl Fn(usize, f64) -> f64,
) -> Result<Vec<f64>, WeightError> {
    let sum: f64 = weights.iter().enumerate().map(|(c, &w)| term(c, w)).sum();
    if sum <= 0.0 {
        return Err(WeightError::ZeroSum);
    }
    Ok(weights.into_iter().map(|w| w * target / sum).collect())
}

/// The median; the mean of the two middle values for an even length. `values` is non-empty.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// Per-class weights, with the scheme and normalization that produced them.
///
/// The numbers are f64 on the host ([`as_slice`](ClassWeights::as_slice)); Burn tensors come
/// from [`to_tensor`](ClassWeights::to_tensor) (in the device's float type),
/// [`sample_weights`](ClassWeights::sample_weights) (one weight per target, computed on the
/// device) and [`row_weights`](ClassWeights::row_weights) (multi-label rows).
///
/// ```
/// use burn::prelude::*;
/// use rebalance_weights::{ClassCounts, Scheme};
///
/// let counts = ClassCounts::from_counts(vec![90, 10])?;
/// let weights = Scheme::Ins.weights(&counts)?; // 1/n, scaled to sum to 2
/// assert!((weights.as_slice()[0] - 0.2).abs() < 1e-12);
/// assert!((weights.as_slice()[1] - 1.8).abs() < 1e-12);
///
/// let device = Device::flex();
/// let targets = Tensor::<1, Int>::from_ints([1, 0, 1], &device);
/// let per_sample = weights.sample_weights(targets); // [1.8, 0.2, 1.8], on `device`
/// per_sample.into_data().assert_approx_eq::<f32>(
///     &TensorData::from([1.8f32, 0.2, 1.8]),
///     burn::tensor::Tolerance::default(),
/// );
/// # Ok::<(), rebalance_weights::WeightError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassWeights {
    weights: Vec<f64>,
    scheme: Scheme,
    normalization: Normalization,
}

impl ClassWeights {
    /// All-ones weights for `num_classes` classes (they sum to `C`): the unweighted loss.
    ///
    /// # Errors
    /// [`WeightError::NoClasses`] if `num_classes` is 0.
    pub fn uniform(num_classes: usize) -> Result<Self, WeightError> {
        if num_classes == 0 {
            return Err(WeightError::NoClasses);
        }
        Ok(Self {
            weights: vec![1.0; num_classes],
            scheme: Scheme::Uniform,
            normalization: Normalization::SumToClasses,
        })
    }

    /// All-ones weights with as many classes as `self`.
    pub(crate) fn uniform_like(&self) -> Self {
        Self {
            weights: vec![1.0; self.num_classes()],
            scheme: Scheme::Uniform,
            normalization: Normalization::SumToClasses,
        }
    }

    /// The weights, indexed by class.
    pub fn as_slice(&self) -> &[f64] {
        &self.weights
    }

    /// The weights, indexed by class, consuming `self`.
    pub fn into_vec(self) -> Vec<f64> {
        self.weights
    }

    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.weights.len()
    }

    /// The scheme that produced the weights.
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The normalization that scaled them.
    pub fn normalization(&self) -> Normalization {
        self.normalization
    }

    /// The weights as a `[C]` float tensor on `device`, in the device's float type
    /// (f32 unless the device was set up otherwise).
    pub fn to_tensor(&self, device: &Device) -> Tensor<1> {
        Tensor::from_data(
            TensorData::new(self.weights.clone(), [self.weights.len()]),
            device,
        )
    }

    /// The weight of each sample's class, `w_{y_n}`, as a `[B]` tensor on the targets' device.
    ///
    /// `targets` is `[B]` class indices. The lookup is a device-side `gather`: the `C`
    /// weights go to the device, the targets never come to the host. Targets must be in
    /// `0..C`; that is not checked here (it would need a device-to-host read), and out-of-range
    /// indices give backend-dependent results. Check labels once, on the host, when the
    /// dataset is built ([`ClassCounts::from_labels`] does).
    pub fn sample_weights(&self, targets: Tensor<1, Int>) -> Tensor<1> {
        self.to_tensor(&targets.device()).gather(0, targets)
    }

    /// The weight of each row of a `[B, C]` multi-hot target: the sum of the weights of its
    /// positive classes (entries `> 0`), as a `[B]` tensor on the same device.
    ///
    /// This is the multi-label rule of the weighting article. A row with no positive label
    /// gets weight 0, so it drops out of a weighted loss; give such rows a background class
    /// if they should count.
    ///
    /// # Errors
    /// [`WeightError::ShapeMismatch`] if `multi_hot` does not have `C` columns.
    pub fn row_weights(&self, multi_hot: Tensor<2>) -> Result<Tensor<1>, WeightError> {
        let [_, columns] = multi_hot.dims();
        if columns != self.num_classes() {
            return Err(WeightError::ShapeMismatch {
                what: "multi_hot",
                shape: multi_hot.dims().to_vec(),
                expected: format!("[batch_size, {}]", self.num_classes()),
            });
        }
        let weights = self.to_tensor(&multi_hot.device()).unsqueeze_dim::<2>(0);
        Ok(multi_hot
            .greater_elem(0.0)
            .float()
            .mul(weights)
            .sum_dim(1)
            .squeeze_dim::<1>(1))
    }
}

impl Scheme {
    /// Weights for `counts` with this scheme, the default `sum-to-classes` normalization and
    /// the `error` zero-count policy. Shorthand for `WeightsConfig::new(scheme).compute(counts)`.
    ///
    /// # Errors
    /// As [`WeightsConfig::compute`].
    pub fn weights(&self, counts: &ClassCounts) -> Result<ClassWeights, WeightError> {
        WeightsConfig::new(self.clone()).compute(counts)
    }
}
