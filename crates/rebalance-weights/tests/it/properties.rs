//! Properties every valid input must satisfy, checked on random counts and parameters.
use proptest::prelude::*;
use rebalance_weights::{ClassCounts, ClassWeights, Normalization, Scheme, WeightsConfig};

/// Counts from 1 to 10^9 for 1 to 200 classes: every class has samples.
fn counts() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(
        prop_oneof![1u64..=20, 1u64..=10_000, 1u64..=1_000_000_000],
        1..200,
    )
}

/// Schemes whose weight is a non-increasing function of the count.
fn monotone_scheme() -> impl Strategy<Value = Scheme> {
    prop_oneof![
        Just(Scheme::Uniform),
        Just(Scheme::Ins),
        Just(Scheme::Isns),
        (0.0f64..8.0).prop_map(|p| Scheme::Power { p }),
        (0.0f64..1.0).prop_map(|beta| Scheme::Ens { beta }),
        // β within 1e-12 of 1, where the naive formula breaks down.
        (1e-12f64..1e-3).prop_map(|gap| Scheme::Ens { beta: 1.0 - gap }),
        Just(Scheme::Balanced),
        Just(Scheme::Median),
    ]
}

fn any_scheme(num_classes: usize) -> impl Strategy<Value = Scheme> {
    prop_oneof![
        4 => monotone_scheme(),
        1 => prop::collection::vec(0.0f64..100.0, num_classes)
            .prop_filter("one positive weight", |w| w.iter().any(|&x| x > 0.0))
            .prop_map(|weights| Scheme::Custom { weights }),
    ]
}

/// Counts, as [`counts`], with a scheme of [`any_scheme`] for their number of classes.
fn counts_and_scheme() -> impl Strategy<Value = (Vec<u64>, Scheme)> {
    counts().prop_flat_map(|c| {
        let n = c.len();
        (Just(c), any_scheme(n))
    })
}

/// The weights of `scheme` on `counts`, normalized by `normalization`.
fn normalized_weights(
    counts: &ClassCounts,
    scheme: Scheme,
    normalization: Normalization,
) -> ClassWeights {
    WeightsConfig::new(scheme)
        .with_normalization(normalization)
        .compute(counts)
        .unwrap()
}

/// Passes when `actual` is within a relative 1e-12 of `expected`, else fails naming `what`.
fn assert_relatively_close(what: &str, actual: f64, expected: f64) -> Result<(), TestCaseError> {
    prop_assert!(
        (actual - expected).abs() <= 1e-12 * expected,
        "{}: {} vs {}",
        what,
        actual,
        expected
    );
    Ok(())
}

fn normalization() -> impl Strategy<Value = Normalization> {
    prop_oneof![
        Just(Normalization::SumToClasses),
        Just(Normalization::MeanSample),
        Just(Normalization::None),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn weights_are_finite_and_non_negative(
        (counts, scheme) in counts_and_scheme(),
        normalization in normalization(),
    ) {
        let counts = ClassCounts::from_counts(counts).unwrap();
        let weights = normalized_weights(&counts, scheme, normalization);
        prop_assert_eq!(weights.num_classes(), counts.num_classes());
        for &w in weights.as_slice() {
            prop_assert!(w.is_finite() && w >= 0.0, "{:?}", weights.as_slice());
        }
    }

    #[test]
    fn sum_to_classes_sums_to_the_number_of_classes(
        (counts, scheme) in counts_and_scheme(),
    ) {
        let counts = ClassCounts::from_counts(counts).unwrap();
        let weights = scheme.weights(&counts).unwrap();
        let sum: f64 = weights.as_slice().iter().sum();
        assert_relatively_close("sum of the weights", sum, counts.num_classes() as f64)?;
    }

    #[test]
    fn mean_sample_gives_unit_mean_sample_weight(
        counts in counts(),
        scheme in monotone_scheme(),
    ) {
        let counts = ClassCounts::from_counts(counts).unwrap();
        let weights = normalized_weights(&counts, scheme, Normalization::MeanSample);
        let weighted: f64 = weights.as_slice().iter().zip(counts.as_slice())
            .map(|(w, &n)| w * n as f64).sum();
        assert_relatively_close("weighted total", weighted, counts.total() as f64)?;
    }

    #[test]
    fn weights_never_increase_with_the_count(
        counts in counts(),
        scheme in monotone_scheme(),
        normalization in normalization(),
    ) {
        let counts = ClassCounts::from_counts(counts).unwrap();
        let weights = normalized_weights(&counts, scheme, normalization);
        let mut by_count: Vec<(u64, f64)> = counts.as_slice().iter().copied()
            .zip(weights.as_slice().iter().copied()).collect();
        by_count.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        for pair in by_count.windows(2) {
            let ((n0, w0), (n1, w1)) = (pair[0], pair[1]);
            prop_assert!(w1 <= w0, "n={} w={} but n={} w={}", n0, w0, n1, w1);
        }
    }

    #[test]
    fn text_form_round_trips(scheme in monotone_scheme()) {
        let text = scheme.to_string();
        prop_assert_eq!(text.parse::<Scheme>().unwrap(), scheme);
    }
}
