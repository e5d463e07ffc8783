//! Autodiff gradients of every loss against central finite differences, and their finiteness
//! at extreme logits.
use crate::common::*;
use burn::prelude::*;
use rebalance_loss::{
    BalancedSoftmaxKeys, ClassBalancedBase, ClassBalancedKeys, ClassWeighting, CrossEntropyKeys,
    FocalKeys, LabelAwareSmoothing, LadeKeys, LdamKeys, LogitAdjustedKeys, LossConfig, Reduction,
    SigmoidFocalKeys, SigmoidKeys, VsKeys, WeightedBinaryCrossEntropyConfig,
};
use rebalance_weights::{ClassCounts, Scheme};

fn ens() -> Option<ClassWeighting> {
    Some(ClassWeighting::new(Scheme::Ens { beta: 0.99 }))
}

/// Every loss kind, weighted where it can be, with focusing parameter `gamma`.
fn every_loss(gamma: f64) -> Vec<LossConfig> {
    vec![
        LossConfig::CrossEntropy(CrossEntropyKeys {
            weights: ens(),
            smoothing: 0.1,
            label_aware: None,
            ignore_index: None,
            reduction: Reduction::WeightedMean,
        }),
        LossConfig::CrossEntropy(CrossEntropyKeys {
            weights: None,
            smoothing: 0.2,
            label_aware: None,
            ignore_index: None,
            reduction: Reduction::Mean,
        }),
        LossConfig::CrossEntropy(CrossEntropyKeys {
            weights: ens(),
            smoothing: 0.0,
            label_aware: Some(LabelAwareSmoothing::default()),
            ignore_index: None,
            reduction: Reduction::WeightedMean,
        }),
        LossConfig::Focal(FocalKeys {
            gamma,
            weights: ens(),
            reduction: Reduction::WeightedMean,
        }),
        LossConfig::Sigmoid(SigmoidKeys {
            weights: ens(),
            pos_weight: Some(rebalance_loss::PosWeight::Values(vec![1.0, 2.0, 0.5])),
            label_weighting: rebalance_loss::LabelWeighting::PositiveSum,
            no_label_weight: 0.0,
            reduction: Reduction::Mean,
        }),
        LossConfig::SigmoidFocal(SigmoidFocalKeys {
            gamma,
            alpha: 0.25,
            weights: ens(),
            pos_weight: None,
            label_weighting: rebalance_loss::LabelWeighting::PositiveSum,
            no_label_weight: 0.0,
            reduction: Reduction::WeightedMean,
        }),
        LossConfig::ClassBalanced(ClassBalancedKeys {
            beta: 0.99,
            base: ClassBalancedBase::Focal,
            gamma,
            label_weighting: rebalance_loss::LabelWeighting::PositiveSum,
            no_label_weight: 0.0,
            reduction: Reduction::Mean,
        }),
        LossConfig::ClassBalanced(ClassBalancedKeys {
            beta: 0.99,
            base: ClassBalancedBase::Softmax,
            gamma,
            label_weighting: rebalance_loss::LabelWeighting::PositiveSum,
            no_label_weight: 0.0,
            reduction: Reduction::Sum,
        }),
        LossConfig::Ldam(LdamKeys {
            max_margin: 0.5,
            scale: 30.0,
            weights: ens(),
            reduction: Reduction::WeightedMean,
        }),
        LossConfig::LogitAdjusted(LogitAdjustedKeys {
            tau: 1.0,
            weights: None,
            reduction: Reduction::WeightedMean,
        }),
        LossConfig::BalancedSoftmax(BalancedSoftmaxKeys {
            weights: ens(),
            reduction: Reduction::WeightedMean,
        }),
        // The multi-label options on class-index targets: per-label weights every column.
        LossConfig::Sigmoid(SigmoidKeys {
            weights: ens(),
            pos_weight: Some(rebalance_loss::PosWeight::Balanced),
            label_weighting: rebalance_loss::LabelWeighting::PerLabel,
            no_label_weight: 0.0,
            reduction: Reduction::WeightedMean,
        }),
        LossConfig::SigmoidFocal(SigmoidFocalKeys {
            gamma,
            alpha: 0.25,
            weights: ens(),
            pos_weight: None,
            label_weighting: rebalance_loss::LabelWeighting::PerLabel,
            no_label_weight: 0.0,
            reduction: Reduction::Mean,
        }),
        LossConfig::Vs(VsKeys {
            gamma: 0.3,
            tau: 1.0,
            weights: ens(),
            reduction: Reduction::WeightedMean,
        }),
        LossConfig::Lade(LadeKeys {
            alpha: 0.1,
            remine_lambda: 0.1,
            reduction: Reduction::WeightedMean,
        }),
        LossConfig::Lade(LadeKeys {
            alpha: 1.0,
            remine_lambda: 0.3,
            reduction: Reduction::Sum,
        }),
    ]
}

fn counts() -> ClassCounts {
    ClassCounts::from_counts(COUNTS.to_vec()).unwrap()
}

/// The loss at `logits` and its autodiff gradient, on flex.
fn loss_and_grad(config: &LossConfig, logits: &[f32], targets: &[i64]) -> (f32, Vec<f32>) {
    let device = Device::flex().autodiff();
    let c = COUNTS.len();
    let z = Tensor::<1>::from_floats(logits, &device)
        .reshape([logits.len() / c, c])
        .require_grad();
    let loss = config.init(&counts(), &device).unwrap();
    let value = loss.forward(z.clone(), Tensor::<1, Int>::from_ints(targets, &device));
    let grads = value.backward();
    let grad = values(z.grad(&grads).unwrap());
    (values(value)[0], grad)
}

/// The loss at `logits`, forward only, on flex.
fn loss_at(config: &LossConfig, logits: &[f32], targets: &[i64]) -> f64 {
    let device = Device::flex();
    let c = COUNTS.len();
    let z = Tensor::<1>::from_floats(logits, &device).reshape([logits.len() / c, c]);
    let loss = config.init(&counts(), &device).unwrap();
    scalar(loss.forward(z, Tensor::<1, Int>::from_ints(targets, &device)))
}

#[test]
fn gradients_match_central_differences() {
    let logits: Vec<f32> = LOGITS.iter().flatten().copied().collect();
    for gamma in [0.0, 0.5, 1.0, 2.0, 5.0] {
        for config in every_loss(gamma) {
            let (_, grad) = loss_and_grad(&config, &logits, &TARGETS);
            // f32 forward passes: a step of 1e-2 (1e-3 under LDAM's scale of 30) balances
            // truncation against rounding.
            let h = if matches!(config, LossConfig::Ldam(LdamKeys { .. })) {
                1e-3
            } else {
                1e-2
            };
            for (i, &analytic) in grad.iter().enumerate() {
                let mut plus = logits.clone();
                let mut minus = logits.clone();
                plus[i] += h;
                minus[i] -= h;
                let numeric = (loss_at(&config, &plus, &TARGETS)
                    - loss_at(&config, &minus, &TARGETS))
                    / (2.0 * f64::from(h));
                let scale = grad.iter().fold(1.0f32, |m, g| m.max(g.abs()));
                assert!(
                    (f64::from(analytic) - numeric).abs() <= 2e-3 * f64::from(scale),
                    "{} γ={gamma}: d/dz[{i}] autodiff {analytic} vs finite difference {numeric}",
                    config.name()
                );
            }
        }
    }
}

/// Deterministic logits spread over [-100, 100], with the extremes on the target and off it.
fn extreme_logits() -> (Vec<f32>, Vec<i64>) {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut logits: Vec<f32> = (0..48)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 20_001) as f32 / 100.0 - 100.0
        })
        .collect();
    logits[..6].copy_from_slice(&[100.0, -100.0, -100.0, -100.0, 100.0, 100.0]);
    let targets: Vec<i64> = (0..16).map(|i| i % 3).collect();
    (logits, targets)
}

#[test]
fn losses_and_gradients_stay_finite_at_extreme_logits() {
    let (logits, targets) = extreme_logits();
    for gamma in [0.0, 0.5, 1.0, 2.0, 5.0] {
        for config in every_loss(gamma) {
            let (value, grad) = loss_and_grad(&config, &logits, &targets);
            assert!(
                value.is_finite(),
                "{} γ={gamma}: loss {value}",
                config.name()
            );
            assert!(
                grad.iter().all(|g| g.is_finite()),
                "{} γ={gamma}: gradient {grad:?}",
                config.name()
            );
        }
    }
}

#[test]
fn sigmoid_focal_keeps_the_weight_of_a_hard_example() {
    // z = -100 on a positive label: (1 - p_t)^γ = σ(100)^γ = 1, and the loss is ≈ α·100.
    // Cui et al.'s exp(-γ·y·z - γ·log1p(exp(-z))) overflows to exp(-inf) = 0 here.
    let config = LossConfig::SigmoidFocal(SigmoidFocalKeys {
        gamma: 2.0,
        alpha: 0.25,
        weights: None,
        pos_weight: None,
        label_weighting: rebalance_loss::LabelWeighting::PositiveSum,
        no_label_weight: 0.0,
        reduction: Reduction::Sum,
    });
    let (value, grad) = loss_and_grad(&config, &[-100.0, -100.0, -100.0], &[0]);
    assert!((value - 25.0).abs() < 1e-3, "{value}");
    assert!((grad[0] + 0.25).abs() < 1e-4, "{grad:?}");
}

#[test]
fn sigmoid_bce_is_precise_at_large_and_zero_logits() {
    // PyTorch 2.15, float32:
    //   z = torch.tensor([-20., -10., 20., 0.], requires_grad=True)
    //   y = torch.tensor([0., 0., 1., 1.])
    //   l = F.binary_cross_entropy_with_logits(z, y, reduction="none")
    //   # [0.0, 4.57763671875e-05, 2.06115369e-09, 0.6931471824645996]
    //   l.sum().backward(); z.grad  # [2.06115369e-09, 4.53978719e-05, 0.0, -0.5]
    // The exact values (f64): softplus(-20) = 2.0611536922e-9, softplus(-10) = 4.5398899e-5,
    // σ(-20) = 2.0611536900e-9, σ(-10) = 4.5397868702e-5.
    let device = Device::flex().autodiff();
    let z = Tensor::<2>::from_floats([[-20.0, -10.0, 20.0, 0.0]], &device).require_grad();
    let y = Tensor::<2>::from_floats([[0.0, 0.0, 1.0, 1.0]], &device);
    let loss = WeightedBinaryCrossEntropyConfig::new()
        .init(&device)
        .unwrap();
    let elements = loss.forward_elementwise(z.clone(), y);
    let value = values(elements.clone());
    let grad = values(z.grad(&elements.sum().backward()).unwrap());
    // Values: within 2^-24 of the exact ones (PyTorch's are 4e-7 off at z = -10).
    let exact = [
        2.0611536922e-9,
        4.5398899217e-5,
        2.0611536922e-9,
        std::f64::consts::LN_2,
    ];
    for (v, e) in value.iter().zip(exact) {
        assert!((f64::from(*v) - e).abs() <= 6e-8, "{value:?}");
    }
    // Gradients σ(z) - y: to float precision even where they are tiny (PyTorch's σ(20) - 1
    // rounds to 0), and σ(0) - 1 = -1/2 at z = 0.
    let exact = [2.0611536900e-9, 4.5397868702e-5, -2.0611536900e-9, -0.5];
    for (g, e) in grad.iter().zip(exact) {
        assert!((f64::from(*g) - e).abs() <= 1e-6 * e.abs(), "{grad:?}");
    }
}

/// Multi-hot targets under per-label weighting and under positive-sum with a weight for rows
/// without a positive label: autodiff against the hand-computed gradient
/// `w_c·(σ(z) - y) / N` of `mean` per-label BCE, and against central differences.
#[test]
fn multi_label_weighting_gradients() {
    use rebalance_loss::LabelWeighting;
    let z0: [[f32; 3]; 3] = [[0.5, -1.0, 2.0], [-0.3, 0.8, 0.0], [1.2, -2.0, 0.4]];
    let y0: [[f32; 3]; 3] = [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 1.0, 1.0]];
    let w = vec![0.5, 2.0, 1.5];
    let config = |label_weighting, no_label_weight, reduction| {
        WeightedBinaryCrossEntropyConfig::new()
            .with_weights(Some(w.clone()))
            .with_label_weighting(label_weighting)
            .with_no_label_weight(no_label_weight)
            .with_reduction(reduction)
    };
    let value_and_grad = |config: &WeightedBinaryCrossEntropyConfig, z: &[f32]| {
        let device = Device::flex().autodiff();
        let logits = Tensor::<1>::from_floats(z, &device)
            .reshape([3, 3])
            .require_grad();
        let loss = config
            .init(&device)
            .unwrap()
            .forward_multi_hot(logits.clone(), Tensor::from_floats(y0, &device));
        let grad = values(logits.grad(&loss.backward()).unwrap());
        (values(loss)[0], grad)
    };
    let flat: Vec<f32> = z0.iter().flatten().copied().collect();
    // d/dz_{n,c} of Σ_n Σ_c w_c·e_{n,c} / N = w_c·(σ(z) - y) / 3.
    let (_, grad) = value_and_grad(
        &config(LabelWeighting::PerLabel, 0.0, Reduction::Mean),
        &flat,
    );
    let exact = [
        -0.0629234447996909,
        0.17929428091333008,
        -0.05960146101105884,
        0.07092624719805683,
        0.4599829874184083,
        0.25,
        0.1280874639165029,
        -0.587198051985255,
        -0.200656169943774,
    ];
    for (g, e) in grad.iter().zip(exact) {
        assert!((f64::from(*g) - e).abs() < 1e-6, "{grad:?}");
    }
    for config in [
        config(LabelWeighting::PerLabel, 0.0, Reduction::WeightedMean),
        config(LabelWeighting::PositiveSum, 0.5, Reduction::WeightedMean),
    ] {
        let (_, grad) = value_and_grad(&config, &flat);
        let h = 1e-2f32;
        for i in 0..flat.len() {
            let mut plus = flat.clone();
            let mut minus = flat.clone();
            plus[i] += h;
            minus[i] -= h;
            let numeric =
                f64::from(value_and_grad(&config, &plus).0 - value_and_grad(&config, &minus).0)
                    / (2.0 * f64::from(h));
            assert!(
                (f64::from(grad[i]) - numeric).abs() < 2e-3,
                "{:?} d/dz[{i}]: {} vs {numeric}",
                config.label_weighting,
                grad[i]
            );
        }
    }
    // Under positive-sum with no_label_weight = 0 the row without a positive label has no
    // gradient; with 0.5 it has one.
    let (_, dropped) = value_and_grad(
        &config(LabelWeighting::PositiveSum, 0.0, Reduction::WeightedMean),
        &flat,
    );
    assert!(dropped[3..6].iter().all(|g| *g == 0.0), "{dropped:?}");
    let (_, kept) = value_and_grad(
        &config(LabelWeighting::PositiveSum, 0.5, Reduction::WeightedMean),
        &flat,
    );
    assert!(kept[3..6].iter().all(|g| *g > 0.0), "{kept:?}");
}
