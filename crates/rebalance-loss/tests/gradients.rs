//! Autodiff gradients of every loss against central finite differences, and their finiteness
//! at extreme logits.
#![allow(clippy::unwrap_used)]

mod common;

use burn::prelude::*;
use common::*;
use rebalance_loss::{
    ClassBalancedBase, ClassWeighting, LabelAwareSmoothing, LossConfig, Reduction,
    WeightedBinaryCrossEntropyConfig,
};
use rebalance_weights::{ClassCounts, Scheme};

fn ens() -> Option<ClassWeighting> {
    Some(ClassWeighting::new(Scheme::Ens { beta: 0.99 }))
}

/// Every loss kind, weighted where it can be, with focusing parameter `gamma`.
fn every_loss(gamma: f64) -> Vec<LossConfig> {
    vec![
        LossConfig::CrossEntropy {
            weights: ens(),
            smoothing: 0.1,
            label_aware: None,
            ignore_index: None,
            reduction: Reduction::WeightedMean,
        },
        LossConfig::CrossEntropy {
            weights: None,
            smoothing: 0.2,
            label_aware: None,
            ignore_index: None,
            reduction: Reduction::Mean,
        },
        LossConfig::CrossEntropy {
            weights: ens(),
            smoothing: 0.0,
            label_aware: Some(LabelAwareSmoothing::default()),
            ignore_index: None,
            reduction: Reduction::WeightedMean,
        },
        LossConfig::Focal {
            gamma,
            weights: ens(),
            reduction: Reduction::WeightedMean,
        },
        LossConfig::Sigmoid {
            weights: ens(),
            pos_weight: Some(vec![1.0, 2.0, 0.5]),
            reduction: Reduction::Mean,
        },
        LossConfig::SigmoidFocal {
            gamma,
            alpha: 0.25,
            weights: ens(),
            pos_weight: None,
            reduction: Reduction::WeightedMean,
        },
        LossConfig::ClassBalanced {
            beta: 0.99,
            base: ClassBalancedBase::Focal,
            gamma,
            reduction: Reduction::Mean,
        },
        LossConfig::ClassBalanced {
            beta: 0.99,
            base: ClassBalancedBase::Softmax,
            gamma,
            reduction: Reduction::Sum,
        },
        LossConfig::Ldam {
            max_margin: 0.5,
            scale: 30.0,
            weights: ens(),
            reduction: Reduction::WeightedMean,
        },
        LossConfig::LogitAdjusted {
            tau: 1.0,
            weights: None,
            reduction: Reduction::WeightedMean,
        },
        LossConfig::BalancedSoftmax {
            weights: ens(),
            reduction: Reduction::WeightedMean,
        },
        LossConfig::Vs {
            gamma: 0.3,
            tau: 1.0,
            weights: ens(),
            reduction: Reduction::WeightedMean,
        },
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
            let h = if matches!(config, LossConfig::Ldam { .. }) {
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
    let config = LossConfig::SigmoidFocal {
        gamma: 2.0,
        alpha: 0.25,
        weights: None,
        pos_weight: None,
        reduction: Reduction::Sum,
    };
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
