//! Every bad config is a `LossError` whose message names the value.
use burn::prelude::*;
use rebalance_loss::*;

fn device() -> Device {
    Device::flex()
}

#[track_caller]
fn assert_message<T: std::fmt::Debug>(result: Result<T, LossError>, expected: &str) {
    assert_eq!(result.unwrap_err().to_string(), expected);
}

#[test]
fn negative_gamma() {
    assert_message(
        FocalConfig::new().with_gamma(-1.0).init(&device()),
        "gamma = -1: must be finite and >= 0",
    );
    assert_message(
        SigmoidFocalConfig::new()
            .with_gamma(f64::NAN)
            .init(&device()),
        "gamma = NaN: must be finite and >= 0",
    );
    assert_message(
        ClassBalancedConfig::new(vec![5, 1])
            .with_gamma(-0.5)
            .init(&device()),
        "gamma = -0.5: must be finite and >= 0",
    );
    assert_message(
        VsConfig::new(vec![5, 1]).with_gamma(-1.0).init(&device()),
        "gamma = -1: must be finite and >= 0",
    );
}

#[test]
fn beta_out_of_range() {
    for (beta, expected) in [
        (1.0, "beta = 1: must be in [0, 1)"),
        (-0.1, "beta = -0.1: must be in [0, 1)"),
    ] {
        assert_message(
            ClassBalancedConfig::new(vec![5, 1])
                .with_beta(beta)
                .init(&device()),
            expected,
        );
    }
}

#[test]
fn smoothing_out_of_range() {
    for (smoothing, expected) in [
        (1.5, "smoothing = 1.5: must be in [0, 1]"),
        (-0.1, "smoothing = -0.1: must be in [0, 1]"),
    ] {
        assert_message(
            WeightedCrossEntropyConfig::new()
                .with_smoothing(smoothing)
                .init(&device()),
            expected,
        );
    }
}

#[test]
fn weights_of_the_wrong_length() {
    assert_message(
        LdamConfig::new(vec![10, 5, 1])
            .with_weights(Some(vec![1.0, 2.0]))
            .init(&device()),
        "weights has 2 values but there are 3 classes: give one value per class",
    );
    assert_message(
        LogitAdjustedConfig::new(vec![10, 5])
            .with_weights(Some(vec![1.0, 2.0, 3.0]))
            .init(&device()),
        "weights has 3 values but there are 2 classes: give one value per class",
    );
    assert_message(
        BalancedSoftmaxConfig::new(vec![10, 5])
            .with_weights(Some(vec![1.0]))
            .init(&device()),
        "weights has 1 values but there are 2 classes: give one value per class",
    );
    assert_message(
        WeightedBinaryCrossEntropyConfig::new()
            .with_weights(Some(vec![1.0, 1.0]))
            .with_pos_weight(Some(vec![1.0, 1.0, 1.0]))
            .init(&device()),
        "pos_weight has 3 values but there are 2 classes: give one value per class",
    );
}

#[test]
fn negative_or_non_finite_weight() {
    assert_message(
        WeightedCrossEntropyConfig::new()
            .with_weights(Some(vec![1.0, -2.0]))
            .init(&device()),
        "weights[1] = -2: must be finite and >= 0",
    );
    assert_message(
        FocalConfig::new()
            .with_weights(Some(vec![f64::INFINITY, 1.0]))
            .init(&device()),
        "weights[0] = inf: must be finite and >= 0",
    );
    assert_message(
        SigmoidFocalConfig::new()
            .with_pos_weight(Some(vec![1.0, f64::NAN]))
            .init(&device()),
        "pos_weight[1] = NaN: must be finite and >= 0",
    );
}

#[test]
fn tau_not_finite() {
    assert_message(
        LogitAdjustedConfig::new(vec![10, 5])
            .with_tau(f64::INFINITY)
            .init(&device()),
        "tau = inf: must be finite",
    );
    let logits = Tensor::<2>::zeros([1, 2], &device());
    assert_message(
        posthoc_adjust(logits, &[10, 5], f64::NAN),
        "tau = NaN: must be finite",
    );
}

#[test]
fn bad_margin_and_scale() {
    for (config, expected) in [
        (
            LdamConfig::new(vec![10, 5]).with_max_margin(0.0),
            "max_margin = 0: must be finite and > 0",
        ),
        (
            LdamConfig::new(vec![10, 5]).with_scale(-30.0),
            "scale = -30: must be finite and > 0",
        ),
    ] {
        assert_message(config.init(&device()), expected);
    }
}

#[test]
fn bad_alpha() {
    assert_message(
        SigmoidFocalConfig::new().with_alpha(1.5).init(&device()),
        "alpha = 1.5: must be in [0, 1], or negative to disable it",
    );
}

#[test]
fn bad_lade_parameters() {
    assert_message(
        LadeConfig::new(vec![5, 1]).with_alpha(-0.5).init(&device()),
        "alpha = -0.5: must be finite and >= 0",
    );
    for lambda in [f64::INFINITY, f64::NAN] {
        assert_message(
            LadeConfig::new(vec![5, 1])
                .with_remine_lambda(lambda)
                .init(&device()),
            &format!("remine_lambda = {lambda}: must be finite and >= 0"),
        );
    }
    assert_message(
        LadeConfig::new(vec![]).init(&device()),
        "no classes: class counts need at least one class",
    );
}

#[test]
fn bad_counts() {
    // The losses whose margins or priors need a sample in every class.
    for empty_class in [
        LdamConfig::new(vec![10, 0, 3]).init(&device()).map(drop),
        LadeConfig::new(vec![5, 0]).init(&device()).map(drop),
        VsConfig::new(vec![5, 0]).init(&device()).map(drop),
    ] {
        assert_message(
            empty_class,
            "class 1 has no training samples, so its weight is undefined; remove the class, \
             or choose the zero-count policy \"zero-weight\" or \"add-one\"",
        );
    }
    assert_message(
        BalancedSoftmaxConfig::new(vec![]).init(&device()),
        "no classes: class counts need at least one class",
    );
    assert_message(
        LogitAdjustedConfig::new(vec![0, 0]).init(&device()),
        "the class counts have a total of 0 samples: at least one class needs a sample",
    );
}

#[test]
fn unknown_names_list_the_valid_ones() {
    assert_eq!(
        "huber"
            .parse::<ClassBalancedBase>()
            .unwrap_err()
            .to_string(),
        "unknown class-balanced base loss \"huber\": expected one of softmax, sigmoid, focal"
    );
}

/// Issue 27, item 15: LDAM's scale far beyond the paper's 30 is refused, as it would leave the
/// model untrained, and the value is shown short.
#[test]
fn an_ldam_scale_that_saturates_the_softmax_is_refused() {
    let config = rebalance_loss::LdamConfig::new(vec![10, 1]).with_scale(1e30);
    let err = config.validate().unwrap_err().to_string();
    assert!(
        err.starts_with("scale = 1e30: must be at most 1000"),
        "{err}"
    );
    assert!(
        rebalance_loss::LdamConfig::new(vec![10, 1])
            .with_scale(1000.0)
            .validate()
            .is_ok()
    );
}
