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

#[cfg(test)]
mod tests {
    use super::*;

    /// CIFAR-10-LT at imbalance factor 100 (Cui et al.; Cao et al.).
    const CIFAR10_LT: [u64; 10] = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50];

    fn cifar_counts() -> ClassCounts {
        ClassCounts::from_counts(CIFAR10_LT.to_vec()).unwrap()
    }

    fn assert_close(actual: &[f64], expected: &[f64], tol: f64) {
        assert_eq!(actual.len(), expected.len());
        for (c, (a, e)) in actual.iter().zip(expected).enumerate() {
            assert!((a - e).abs() <= tol, "class {c}: {a} vs {e}\n{actual:?}");
        }
    }

    // Reference values from numpy (float64):
    //   n = np.array([5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50], float)
    //   w = (1 - b) / (1 - b ** n)  |  1 / n  |  1 / np.sqrt(n);   w * len(n) / w.sum()
    #[test]
    fn ens_cifar10_lt_matches_reference() {
        let w = Scheme::Ens { beta: 0.9999 }
            .weights(&cifar_counts())
            .unwrap();
        assert_close(
            w.as_slice(),
            &[
                0.050611, 0.076900, 0.121134, 0.195037, 0.318805, 0.524590, 0.868349, 1.442627,
                2.409223, 3.992724,
            ],
            5e-7,
        );
    }

    #[test]
    fn ins_cifar10_lt_matches_reference() {
        let w = Scheme::Ins.weights(&cifar_counts()).unwrap();
        assert_close(
            w.as_slice(),
            &[
                0.040236, 0.067128, 0.112017, 0.186799, 0.311911, 0.519851, 0.867166, 1.447356,
                2.423885, 4.023650,
            ],
            5e-7,
        );
    }

    #[test]
    fn isns_cifar10_lt_matches_reference() {
        let w = Scheme::Isns.weights(&cifar_counts()).unwrap();
        assert_close(
            w.as_slice(),
            &[
                0.244529, 0.315843, 0.408002, 0.526875, 0.680825, 0.878941, 1.135197, 1.466587,
                1.897912, 2.445289,
            ],
            5e-7,
        );
    }

    // sklearn.utils.class_weight.compute_class_weight("balanced", classes=..., y=...)
    #[test]
    fn balanced_cifar10_lt_matches_scikit_learn() {
        let w = WeightsConfig::new(Scheme::Balanced)
            .with_normalization(Normalization::None)
            .compute(&cifar_counts())
            .unwrap();
        assert_close(
            w.as_slice(),
            &[
                0.24812, 0.413947, 0.690757, 1.151903, 1.923411, 3.205685, 5.347414, 8.92518,
                14.946988, 24.812,
            ],
            5e-7,
        );
        // Balanced weights already give a mean per-sample weight of 1.
        let mean_sample = WeightsConfig::new(Scheme::Balanced)
            .with_normalization(Normalization::MeanSample)
            .compute(&cifar_counts())
            .unwrap();
        assert_close(mean_sample.as_slice(), w.as_slice(), 1e-12);
    }

    #[test]
    fn ens_extremes() {
        let counts = cifar_counts();
        // β = 0: uniform.
        let zero = Scheme::Ens { beta: 0.0 }.weights(&counts).unwrap();
        assert_close(zero.as_slice(), &[1.0; 10], 1e-12);
        // β → 1: INS. The gap shrinks like (1 - β) · n_max.
        let ins = Scheme::Ins.weights(&counts).unwrap();
        for (beta, tol) in [(1.0 - 1e-6, 5e-3), (1.0 - 1e-9, 5e-6), (1.0 - 1e-12, 5e-9)] {
            let ens = Scheme::Ens { beta }.weights(&counts).unwrap();
            assert_close(ens.as_slice(), ins.as_slice(), tol);
        }
    }

    // mpmath at 50 digits, b = mpf(<the f64 β>):
    //   b = 0.99999,     n = 10**7: (1 - b) / (1 - b**n) = 9.9999999999544897377745655830949...e-6
    //   b = 1 - 1e-10,   n = 3:     (1 - b) / (1 - b**n) = 0.33333333336666666942690125589308...
    // The naive f64 formula gives 0.3333333333333333 for the second: wrong from the 11th digit.
    #[test]
    fn ens_raw_weight_is_exact() {
        let raw = |beta: f64, n: u64| {
            WeightsConfig::new(Scheme::Ens { beta })
                .with_normalization(Normalization::None)
                .compute(&ClassCounts::from_counts(vec![n]).unwrap())
                .unwrap()
                .as_slice()[0]
        };
        let rel = |a: f64, b: f64| ((a - b) / b).abs();
        assert!(rel(raw(0.99999, 10_000_000), 9.999_999_999_954_49e-6) < 1e-14);
        assert!(rel(raw(1.0 - 1e-10, 3), 0.333_333_333_366_666_7) < 1e-14);
    }

    #[test]
    fn power_family_contains_ins_and_isns() {
        let counts = cifar_counts();
        let ins = Scheme::Ins.weights(&counts).unwrap();
        let isns = Scheme::Isns.weights(&counts).unwrap();
        let p1 = Scheme::Power { p: 1.0 }.weights(&counts).unwrap();
        let p05 = Scheme::Power { p: 0.5 }.weights(&counts).unwrap();
        let p0 = Scheme::Power { p: 0.0 }.weights(&counts).unwrap();
        assert_close(p1.as_slice(), ins.as_slice(), 1e-12);
        assert_close(p05.as_slice(), isns.as_slice(), 1e-12);
        assert_close(p0.as_slice(), &[1.0; 10], 1e-12);
    }

    #[test]
    fn extreme_power_stays_finite() {
        let counts = ClassCounts::from_counts(vec![1_000_000, 10_000_000]).unwrap();
        let w = Scheme::Power { p: 50.0 }.weights(&counts).unwrap();
        // 1e-300 against 1e-350: the second underflows in f64 but not in log space.
        assert_close(w.as_slice(), &[2.0, 2e-50], 1e-62);
    }

    #[test]
    fn median_frequency_balancing() {
        // Odd: median 10, so w = 10 / n.
        let w = WeightsConfig::new(Scheme::Median)
            .with_normalization(Normalization::None)
            .compute(&ClassCounts::from_counts(vec![100, 10, 1]).unwrap())
            .unwrap();
        assert_close(w.as_slice(), &[0.1, 1.0, 10.0], 1e-12);
        // Even: median (4 + 8) / 2 = 6.
        let w = WeightsConfig::new(Scheme::Median)
            .with_normalization(Normalization::None)
            .compute(&ClassCounts::from_counts(vec![2, 4, 8, 16]).unwrap())
            .unwrap();
        assert_close(w.as_slice(), &[3.0, 1.5, 0.75, 0.375], 1e-12);
    }

    #[test]
    fn many_classes_take_one_median_and_one_total() {
        // 200 000 classes: a median (or a total) per class would sort (sum) 200 000 values
        // 200 000 times. Once, the weights are still median / n and N / (C n).
        let counts: Vec<u64> = (0..200_000u64).map(|c| 1 + c % 1000).collect();
        let counts = ClassCounts::from_counts(counts).unwrap();
        let w = WeightsConfig::new(Scheme::Median)
            .with_normalization(Normalization::None)
            .compute(&counts)
            .unwrap();
        // Counts 1..=1000, 200 times each: the median is (500 + 501) / 2.
        assert_close(&w.as_slice()[..3], &[500.5, 250.25, 500.5 / 3.0], 1e-9);
        let w = WeightsConfig::new(Scheme::Balanced)
            .with_normalization(Normalization::None)
            .compute(&counts)
            .unwrap();
        assert_close(&w.as_slice()[..2], &[500.5, 250.25], 1e-9);
    }

    #[test]
    fn custom_weights_are_normalized() {
        let counts = ClassCounts::from_counts(vec![5, 5, 5, 5]).unwrap();
        let scheme = Scheme::Custom {
            weights: vec![1.0, 1.0, 2.0, 4.0],
        };
        let w = scheme.weights(&counts).unwrap();
        assert_close(w.as_slice(), &[0.5, 0.5, 1.0, 2.0], 1e-12);
        let raw = WeightsConfig::new(scheme)
            .with_normalization(Normalization::None)
            .compute(&counts)
            .unwrap();
        assert_close(raw.as_slice(), &[1.0, 1.0, 2.0, 4.0], 0.0);
        assert_eq!(raw.scheme().name(), "custom");
    }

    #[test]
    fn mean_sample_gives_unit_mean_weight_per_sample() {
        let counts = cifar_counts();
        let w = WeightsConfig::new(Scheme::Ens { beta: 0.999 })
            .with_normalization(Normalization::MeanSample)
            .compute(&counts)
            .unwrap();
        let weighted_total: f64 = w
            .as_slice()
            .iter()
            .zip(counts.as_slice())
            .map(|(w, &n)| w * n as f64)
            .sum();
        assert!((weighted_total - counts.total() as f64).abs() < 1e-8);
        // Same ratios as sum-to-classes.
        let s = Scheme::Ens { beta: 0.999 }.weights(&counts).unwrap();
        let ratio = w.as_slice()[0] / s.as_slice()[0];
        let scaled: Vec<f64> = s.as_slice().iter().map(|x| x * ratio).collect();
        assert_close(w.as_slice(), &scaled, 1e-12);
    }

    #[test]
    fn zero_count_is_an_error_by_default() {
        let counts = ClassCounts::from_counts(vec![10, 0, 5, 0]).unwrap();
        let err = Scheme::Ins.weights(&counts).unwrap_err();
        assert_eq!(err, WeightError::ZeroCount { class: 1 });
        assert_eq!(
            err.to_string(),
            "class 1 has no training samples, so its weight is undefined; remove the class, \
             or choose the zero-count policy \"zero-weight\" or \"add-one\""
        );
    }

    #[test]
    fn zero_weight_policy_leaves_empty_classes_out() {
        let counts = ClassCounts::from_counts(vec![10, 0, 30]).unwrap();
        let w = WeightsConfig::new(Scheme::Ins)
            .with_zero_count(ZeroCountPolicy::ZeroWeight)
            .compute(&counts)
            .unwrap();
        // 1/10 : 1/30 = 3 : 1, summing to the 2 non-empty classes.
        assert_close(w.as_slice(), &[1.5, 0.0, 0.5], 1e-12);
        // Balanced uses K = 2 classes: N / (K n) = 40 / 20 and 40 / 60.
        let b = WeightsConfig::new(Scheme::Balanced)
            .with_normalization(Normalization::None)
            .with_zero_count(ZeroCountPolicy::ZeroWeight)
            .compute(&counts)
            .unwrap();
        assert_close(b.as_slice(), &[2.0, 0.0, 2.0 / 3.0], 1e-12);
    }

    #[test]
    fn add_one_policy_smooths_counts() {
        let counts = ClassCounts::from_counts(vec![9, 0, 1]).unwrap();
        let w = WeightsConfig::new(Scheme::Ins)
            .with_normalization(Normalization::None)
            .with_zero_count(ZeroCountPolicy::AddOne)
            .compute(&counts)
            .unwrap();
        assert_close(w.as_slice(), &[0.1, 1.0, 0.5], 1e-12);
        // mean-sample uses the real counts: 9·w0 + 0·w1 + 1·w2 = 10.
        let m = WeightsConfig::new(Scheme::Ins)
            .with_normalization(Normalization::MeanSample)
            .with_zero_count(ZeroCountPolicy::AddOne)
            .compute(&counts)
            .unwrap();
        let s = m.as_slice();
        assert!((9.0 * s[0] + s[2] - 10.0).abs() < 1e-12);
    }

    #[test]
    fn custom_length_mismatch_names_both_lengths() {
        let counts = ClassCounts::from_counts(vec![1, 2, 3]).unwrap();
        let err = Scheme::Custom {
            weights: vec![1.0, 2.0],
        }
        .weights(&counts)
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "custom weights have 2 values but there are 3 classes: give one weight per class"
        );
    }

    #[test]
    fn invalid_parameters_are_rejected_at_compute_time() {
        let counts = ClassCounts::from_counts(vec![1, 2]).unwrap();
        let err = Scheme::Ens { beta: 1.0 }.weights(&counts).unwrap_err();
        assert_eq!(err.to_string(), "beta = 1: must be in [0, 1)");
        let err = Scheme::Power { p: f64::NAN }.weights(&counts).unwrap_err();
        assert_eq!(err.to_string(), "p = NaN: must be finite and >= 0");
        let err = Scheme::Custom {
            weights: vec![1.0, f64::INFINITY],
        }
        .weights(&counts)
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "custom weight for class 1 is inf: weights must be finite and >= 0"
        );
    }

    #[test]
    fn all_zero_custom_weights_cannot_be_normalized() {
        let counts = ClassCounts::from_counts(vec![3, 0, 4]).unwrap();
        let scheme = Scheme::Custom {
            weights: vec![0.0, 5.0, 0.0],
        };
        let err = WeightsConfig::new(scheme.clone())
            .with_zero_count(ZeroCountPolicy::ZeroWeight)
            .compute(&counts)
            .unwrap_err();
        assert_eq!(err, WeightError::ZeroSum);
        assert_eq!(
            err.to_string(),
            "all weights of the classes that have samples are 0, so they cannot be normalized; \
             give at least one such class a positive weight, or use normalization \"none\""
        );
        // mean-sample fails the same way: the empty class's weight counts for nothing.
        let err = WeightsConfig::new(scheme.clone())
            .with_normalization(Normalization::MeanSample)
            .with_zero_count(ZeroCountPolicy::AddOne)
            .compute(&counts)
            .unwrap_err();
        assert_eq!(err, WeightError::ZeroSum);
        // Without normalization the zeros are fine.
        let raw = WeightsConfig::new(scheme)
            .with_normalization(Normalization::None)
            .with_zero_count(ZeroCountPolicy::ZeroWeight)
            .compute(&counts)
            .unwrap();
        assert_close(raw.as_slice(), &[0.0, 0.0, 0.0], 0.0);
    }

    #[test]
    fn uniform_weights() {
        let w = ClassWeights::uniform(3).unwrap();
        assert_eq!(w.as_slice(), &[1.0, 1.0, 1.0]);
        assert_eq!(w.scheme(), &Scheme::Uniform);
        assert_eq!(
            ClassWeights::uniform(0).unwrap_err(),
            WeightError::NoClasses
        );
    }

    #[test]
    fn config_deserializes_with_defaults_and_rejects_unknown_keys() {
        let c: WeightsConfig = toml::from_str(r#"scheme = "isns""#).unwrap();
        assert_eq!(c, WeightsConfig::new(Scheme::Isns));
        let c: WeightsConfig = toml::from_str(
            "scheme = { kind = \"power\", p = 0.3 }\nnormalization = \"none\"\nzero_count = \"add-one\"",
        )
        .unwrap();
        assert_eq!(
            c,
            WeightsConfig::new(Scheme::Power { p: 0.3 })
                .with_normalization(Normalization::None)
                .with_zero_count(ZeroCountPolicy::AddOne)
        );
        let err =
            toml::from_str::<WeightsConfig>("scheme = \"ins\"\nnormalise = \"none\"").unwrap_err();
        assert!(err.message().contains("normalise"), "{err}");
        let err = toml::from_str::<WeightsConfig>("scheme = \"ins\"\nnormalization = \"l1\"")
            .unwrap_err();
        assert!(err.message().contains("l1"), "{err}");
    }

    #[test]
    fn serializes_for_reports() {
        let w = WeightsConfig::new(Scheme::Ins)
            .with_normalization(Normalization::None)
            .compute(&ClassCounts::from_counts(vec![2, 4]).unwrap())
            .unwrap();
        assert_eq!(
            serde_json::to_string(&w).unwrap(),
            r#"{"weights":[0.5,0.25],"scheme":"ins","normalization":"none"}"#
        );
    }
}
