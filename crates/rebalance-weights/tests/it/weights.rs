//! `WeightsConfig::compute` and `ClassWeights`: every scheme against numpy's and
//! scikit-learn's values, the normalizations, the zero-count policies, the errors, serde.
use rebalance_weights::{
    ClassCounts, ClassWeights, Normalization, Scheme, WeightError, WeightsConfig, ZeroCountPolicy,
};

/// CIFAR-10-LT at imbalance factor 100 (Cui et al.; Cao et al.).
const CIFAR10_LT: [u64; 10] = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50];

fn cifar_counts() -> ClassCounts {
    class_counts(&CIFAR10_LT)
}

fn assert_close(actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len());
    for (c, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() <= tol, "class {c}: {a} vs {e}\n{actual:?}");
    }
}

/// `counts` as [`ClassCounts`], which must be valid.
fn class_counts(counts: &[u64]) -> ClassCounts {
    ClassCounts::from_counts(counts.to_vec()).unwrap()
}

/// `scheme`'s weights of `counts` under `normalization` and `zero_count`.
fn compute(
    scheme: Scheme,
    normalization: Normalization,
    zero_count: ZeroCountPolicy,
    counts: &ClassCounts,
) -> Result<ClassWeights, WeightError> {
    WeightsConfig::new(scheme)
        .with_normalization(normalization)
        .with_zero_count(zero_count)
        .compute(counts)
}

/// `scheme`'s unnormalized weights of `counts`, which must have no empty class.
fn raw_weights(scheme: Scheme, counts: &ClassCounts) -> ClassWeights {
    compute(scheme, Normalization::None, ZeroCountPolicy::Error, counts).unwrap()
}

/// `scheme`'s weights of [`CIFAR10_LT`] (normalized to sum to the number of classes) are
/// `expected`, to 5e-7.
#[track_caller]
fn assert_cifar_weights(scheme: Scheme, expected: &[f64]) {
    let w = scheme.weights(&cifar_counts()).unwrap();
    assert_close(w.as_slice(), expected, 5e-7);
}

// Reference values from numpy (float64):
//   n = np.array([5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50], float)
//   w = (1 - b) / (1 - b ** n)  |  1 / n  |  1 / np.sqrt(n);   w * len(n) / w.sum()
#[test]
fn ens_cifar10_lt_matches_reference() {
    assert_cifar_weights(
        Scheme::Ens { beta: 0.9999 },
        &[
            0.050611, 0.076900, 0.121134, 0.195037, 0.318805, 0.524590, 0.868349, 1.442627,
            2.409223, 3.992724,
        ],
    );
}

#[test]
fn ins_cifar10_lt_matches_reference() {
    assert_cifar_weights(
        Scheme::Ins,
        &[
            0.040236, 0.067128, 0.112017, 0.186799, 0.311911, 0.519851, 0.867166, 1.447356,
            2.423885, 4.023650,
        ],
    );
}

#[test]
fn isns_cifar10_lt_matches_reference() {
    assert_cifar_weights(
        Scheme::Isns,
        &[
            0.244529, 0.315843, 0.408002, 0.526875, 0.680825, 0.878941, 1.135197, 1.466587,
            1.897912, 2.445289,
        ],
    );
}

// sklearn.utils.class_weight.compute_class_weight("balanced", classes=..., y=...)
#[test]
fn balanced_cifar10_lt_matches_scikit_learn() {
    let w = raw_weights(Scheme::Balanced, &cifar_counts());
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
    let raw =
        |beta: f64, n: u64| raw_weights(Scheme::Ens { beta }, &class_counts(&[n])).as_slice()[0];
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
    let counts = class_counts(&[1_000_000, 10_000_000]);
    let w = Scheme::Power { p: 50.0 }.weights(&counts).unwrap();
    // 1e-300 against 1e-350: the second underflows in f64 but not in log space.
    assert_close(w.as_slice(), &[2.0, 2e-50], 1e-62);
}

#[test]
fn median_frequency_balancing() {
    // Odd: median 10, so w = 10 / n.
    let w = raw_weights(Scheme::Median, &class_counts(&[100, 10, 1]));
    assert_close(w.as_slice(), &[0.1, 1.0, 10.0], 1e-12);
    // Even: median (4 + 8) / 2 = 6.
    let w = raw_weights(Scheme::Median, &class_counts(&[2, 4, 8, 16]));
    assert_close(w.as_slice(), &[3.0, 1.5, 0.75, 0.375], 1e-12);
}

#[test]
fn many_classes_take_one_median_and_one_total() {
    // 200 000 classes: a median (or a total) per class would sort (sum) 200 000 values
    // 200 000 times. Once, the weights are still median / n and N / (C n).
    let counts: Vec<u64> = (0..200_000u64).map(|c| 1 + c % 1000).collect();
    let counts = ClassCounts::from_counts(counts).unwrap();
    let w = raw_weights(Scheme::Median, &counts);
    // Counts 1..=1000, 200 times each: the median is (500 + 501) / 2.
    assert_close(&w.as_slice()[..3], &[500.5, 250.25, 500.5 / 3.0], 1e-9);
    let w = raw_weights(Scheme::Balanced, &counts);
    assert_close(&w.as_slice()[..2], &[500.5, 250.25], 1e-9);
}

#[test]
fn custom_weights_are_normalized() {
    let counts = class_counts(&[5, 5, 5, 5]);
    let scheme = Scheme::Custom {
        weights: vec![1.0, 1.0, 2.0, 4.0],
    };
    let w = scheme.weights(&counts).unwrap();
    assert_close(w.as_slice(), &[0.5, 0.5, 1.0, 2.0], 1e-12);
    let raw = raw_weights(scheme, &counts);
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
    let counts = class_counts(&[10, 0, 5, 0]);
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
    let counts = class_counts(&[10, 0, 30]);
    for (scheme, normalization, expected) in [
        // 1/10 : 1/30 = 3 : 1, summing to the 2 non-empty classes.
        (Scheme::Ins, Normalization::SumToClasses, [1.5, 0.0, 0.5]),
        // Balanced uses K = 2 classes: N / (K n) = 40 / 20 and 40 / 60.
        (Scheme::Balanced, Normalization::None, [2.0, 0.0, 2.0 / 3.0]),
    ] {
        let w = compute(scheme, normalization, ZeroCountPolicy::ZeroWeight, &counts).unwrap();
        assert_close(w.as_slice(), &expected, 1e-12);
    }
}

#[test]
fn add_one_policy_smooths_counts() {
    let counts = class_counts(&[9, 0, 1]);
    let add_one = |normalization| {
        compute(Scheme::Ins, normalization, ZeroCountPolicy::AddOne, &counts).unwrap()
    };
    let w = add_one(Normalization::None);
    assert_close(w.as_slice(), &[0.1, 1.0, 0.5], 1e-12);
    // mean-sample uses the real counts: 9·w0 + 0·w1 + 1·w2 = 10.
    let m = add_one(Normalization::MeanSample);
    let s = m.as_slice();
    assert!((9.0 * s[0] + s[2] - 10.0).abs() < 1e-12);
}

#[test]
fn custom_length_mismatch_names_both_lengths() {
    let counts = class_counts(&[1, 2, 3]);
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
    let counts = class_counts(&[1, 2]);
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
    let counts = class_counts(&[3, 0, 4]);
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
    let err =
        toml::from_str::<WeightsConfig>("scheme = \"ins\"\nnormalization = \"l1\"").unwrap_err();
    assert!(err.message().contains("l1"), "{err}");
}

#[test]
fn serializes_for_reports() {
    let w = raw_weights(Scheme::Ins, &class_counts(&[2, 4]));
    assert_eq!(
        serde_json::to_string(&w).unwrap(),
        r#"{"weights":[0.5,0.25],"scheme":"ins","normalization":"none"}"#
    );
}
