//! Loss values against PyTorch on the reference batch, on the flex and ndarray backends.
//!
//! The batch (`common`): logits [[2, .5, -1], [.1, 1.5, .3], [-.5, .2, .8], [1, -.3, 0]],
//! targets [0, 1, 2, 2], class counts [100, 10, 1]. The values marked "PyTorch" were produced
//! by this snippet (torch 2.x, float64):
//!
//! ```python
//! import torch, torch.nn.functional as F
//! from torchvision.ops import sigmoid_focal_loss
//! z = torch.tensor([[2, .5, -1], [.1, 1.5, .3], [-.5, .2, .8], [1, -.3, 0]], dtype=torch.float64)
//! y = torch.tensor([0, 1, 2, 2]); n = torch.tensor([100., 10., 1.], dtype=torch.float64)
//! w = (1 - .99) / (1 - .99 ** n); w = 3 * w / w.sum()                      # ENS weights
//! F.cross_entropy(z, y, weight=w)                                          # weighted-mean
//! (F.cross_entropy(z, y, weight=w, reduction="sum")) / 4                   # mean
//! F.cross_entropy(z, y)                                                    # unweighted
//! lp = F.log_softmax(z, 1).gather(1, y[:, None])[:, 0]
//! (-(1 - lp.exp()) ** 2 * lp).mean()                                       # softmax focal γ=2
//! sigmoid_focal_loss(z, F.one_hot(y, 3).double(), .25, 2, "mean")          # sigmoid focal
//! oh = F.one_hot(y, 3).double(); bce = F.binary_cross_entropy_with_logits(z, oh, reduction="none")
//! mod = torch.exp(-2 * oh * z - 2 * torch.log1p(torch.exp(-z)))           # Cui et al.'s code
//! (w[y][:, None] * mod * bce).sum() / oh.sum()                             # CB focal
//! F.cross_entropy(z + torch.log(n / n.sum()), y)                           # logit-adjusted τ=1
//! ```
//!
//! Values marked "formula" were computed in f64 Python from the formula in the loss's docs
//! (`F.cross_entropy(z, y, weight=w, label_smoothing=.1)` and friends give the same).
use crate::common::*;
use burn::prelude::*;
use rebalance_loss::*;
use rebalance_weights::{ClassCounts, Scheme};

/// f32 forward passes agree with the f64 references to about 1e-6 relative.
const TOL: f64 = 2e-6;

fn ens() -> Vec<f64> {
    let counts = ClassCounts::from_counts(COUNTS.to_vec()).unwrap();
    Scheme::Ens { beta: 0.99 }
        .weights(&counts)
        .unwrap()
        .into_vec()
}

#[test]
fn ens_weights_match_pytorch() {
    for (w, e) in ens().iter().zip(ENS_099) {
        assert_close(*w, e, 5e-7, "ENS β=0.99");
    }
}

#[test]
fn weighted_cross_entropy_matches_pytorch() {
    for (name, device) in cpu_devices() {
        let ce = WeightedCrossEntropyConfig::new;
        let w = Some(ens());
        for (config, want) in [
            (ce().with_weights(w.clone()), 1.0111566),
            (
                ce().with_weights(w.clone()).with_reduction(Reduction::Mean),
                1.4352657,
            ),
            (
                ce().with_weights(w.clone()).with_reduction(Reduction::Sum),
                4.0 * 1.4352657,
            ),
            (ce(), 0.6931654),
            (ce().with_reduction(Reduction::Mean), 0.6931654),
        ] {
            assert_reference(config.init(&device), &device, (want, TOL), name);
        }
    }
}

#[test]
fn weighted_cross_entropy_matches_burn_nn() {
    let device = Device::flex();
    let w = ens();
    let ours = WeightedCrossEntropyConfig::new()
        .with_weights(Some(w.clone()))
        .init(&device)
        .unwrap()
        .forward(logits(&device), targets(&device));
    let burn_nn = burn::nn::loss::CrossEntropyLossConfig::new()
        .with_weights(Some(w.iter().map(|&x| x as f32).collect()))
        .init(&device)
        .forward(logits(&device), targets(&device));
    assert_close(scalar(ours), scalar(burn_nn), 1e-6, "vs burn-nn");
}

#[test]
fn label_smoothing_and_ignore_index_match_the_formula() {
    for (name, device) in cpu_devices() {
        let config = WeightedCrossEntropyConfig::new()
            .with_weights(Some(ens()))
            .with_smoothing(0.1);
        let smoothed = |reduction| {
            scalar(
                config
                    .clone()
                    .with_reduction(reduction)
                    .init(&device)
                    .unwrap()
                    .forward(logits(&device), targets(&device)),
            )
        };
        // formula: F.cross_entropy(z, y, weight=w, label_smoothing=.1) = 1.0292690540046154
        assert_close(smoothed(Reduction::WeightedMean), 1.0292690540, TOL, name);
        assert_close(smoothed(Reduction::Mean), 1.4609750950, TOL, name);
        assert_close(smoothed(Reduction::Sum), 5.8439003799, TOL, name);
        // formula: F.cross_entropy(z, y, label_smoothing=.1) = 0.7623320424259307 (no weights:
        // the uniform term is a row sum, not a weighted product).
        let unweighted = WeightedCrossEntropyConfig::new().with_smoothing(0.1);
        assert_reference(unweighted.init(&device), &device, (0.7623320424, TOL), name);

        // formula: F.cross_entropy(z, y, weight=w, ignore_index=2) = 0.41120475249976735;
        // "mean" divides by the 2 samples left.
        let ignoring = WeightedCrossEntropyConfig::new()
            .with_weights(Some(ens()))
            .with_ignore_index(Some(2));
        assert_reference(
            ignoring.clone().init(&device),
            &device,
            (0.4112047525, TOL),
            name,
        );
        let loss = ignoring.clone().init(&device).unwrap();
        let per_sample = values(loss.forward_no_reduction(logits(&device), targets(&device)));
        assert_eq!(&per_sample[2..], &[0.0, 0.0], "{name}");
        let mean = ignoring
            .with_reduction(Reduction::Mean)
            .init(&device)
            .unwrap();
        assert_close(
            scalar(mean.forward(logits(&device), targets(&device))),
            0.0662617562,
            TOL,
            name,
        );
    }
}

#[test]
fn ignore_index_beyond_the_classes_is_allowed() {
    let device = Device::flex();
    let loss = WeightedCrossEntropyConfig::new()
        .with_ignore_index(Some(255))
        .init(&device)
        .unwrap();
    let targets = Tensor::<1, Int>::from_ints([0, 255, 2, 255], &device);
    let value = scalar(loss.forward(logits(&device), targets));
    // formula: mean of -log p over samples 0 and 2, (0.2413112967 + 0.5995743767) / 2.
    assert_close(value, 0.4204428367, TOL, "ignore 255");
}

#[test]
fn softmax_focal_matches_pytorch() {
    for (name, device) in cpu_devices() {
        let focal = |gamma| FocalConfig::new().with_gamma(gamma);
        for (config, want) in [
            (focal(2.0), 0.2718389),
            // formula: γ = 0.5, and γ = 2 with ENS weights (weighted-mean).
            (focal(0.5), 0.5227334121),
            (focal(2.0).with_weights(Some(ens())), 0.4845617970),
            // γ = 0 is cross-entropy.
            (focal(0.0), 0.6931654),
        ] {
            assert_reference(config.init(&device), &device, (want, TOL), name);
        }
    }
}

#[test]
fn sigmoid_focal_matches_torchvision() {
    for (name, device) in cpu_devices() {
        let loss = SigmoidFocalConfig::new()
            .with_gamma(2.0)
            .with_alpha(0.25)
            .init(&device)
            .unwrap();
        let elementwise = loss.forward_elementwise(logits(&device), one_hot(&device));
        assert_eq!(elementwise.dims(), [4, 3]);
        assert_close(scalar(elementwise.mean()), 0.1294228, TOL, name);
        // Class indices and one-hot rows give the same loss; `mean` divides the sum by N.
        let by_index = scalar(loss.forward(logits(&device), targets(&device)));
        let by_row = scalar(loss.forward_multi_hot(logits(&device), one_hot(&device)));
        assert_close(by_index, by_row, 1e-6, name);
        assert_close(by_index, 0.1294228 * 3.0, TOL, name);
    }
}

#[test]
fn binary_cross_entropy_matches_pytorch() {
    for (name, device) in cpu_devices() {
        let plain = WeightedBinaryCrossEntropyConfig::new()
            .init(&device)
            .unwrap();
        // formula: F.binary_cross_entropy_with_logits(z, oh) = 0.6182093747768604
        let elementwise = plain.forward_elementwise(logits(&device), one_hot(&device));
        assert_close(scalar(elementwise.mean()), 0.6182093748, TOL, name);
        assert_close(
            scalar(plain.forward(logits(&device), targets(&device))),
            3.0 * 0.6182093748,
            TOL,
            name,
        );
        // formula: ... pos_weight=torch.tensor([1., 2., 3.]) = 0.8123684556933769
        let pos = WeightedBinaryCrossEntropyConfig::new()
            .with_pos_weight(Some(vec![1.0, 2.0, 3.0]))
            .init(&device)
            .unwrap();
        let elementwise = pos.forward_elementwise(logits(&device), one_hot(&device));
        assert_close(scalar(elementwise.mean()), 0.8123684557, TOL, name);
    }
}

#[test]
fn class_balanced_matches_cui_et_al() {
    for (name, device) in cpu_devices() {
        let cb = |base| {
            ClassBalancedConfig::new(COUNTS.to_vec())
                .with_beta(0.99)
                .with_base(base)
                .with_gamma(2.0)
                .with_reduction(Reduction::Mean)
        };
        for (base, want) in [
            (ClassBalancedBase::Focal, 0.9225158),
            // formula: softmax base is weighted CE with `mean`; sigmoid base Σ w·BCE / N.
            (ClassBalancedBase::Softmax, 1.4352657),
            (ClassBalancedBase::Sigmoid, 2.9553015122),
        ] {
            assert_reference(cb(base).init(&device), &device, (want, TOL), name);
        }
    }
}

#[test]
fn sigmoid_bias_init_is_minus_log_c_minus_one() {
    assert_eq!(sigmoid_bias_init(2).unwrap(), 0.0);
    assert!((sigmoid_bias_init(10).unwrap() + 9f64.ln()).abs() < 1e-15);
    let err = sigmoid_bias_init(1).unwrap_err();
    assert_eq!(err.to_string(), "num_classes = 1: must be >= 2");
}

#[test]
fn logit_adjusted_equals_balanced_softmax() {
    for (name, device) in cpu_devices() {
        let la = LogitAdjustedConfig::new(COUNTS.to_vec())
            .with_tau(1.0)
            .init(&device)
            .unwrap();
        let bs = BalancedSoftmaxConfig::new(COUNTS.to_vec())
            .init(&device)
            .unwrap();
        let la_value = scalar(la.forward(logits(&device), targets(&device)));
        let bs_value = scalar(bs.forward(logits(&device), targets(&device)));
        assert_close(la_value, 2.6071389, TOL, name);
        assert_close(bs_value, 2.6071389, TOL, name);
        let la_per = values(la.forward_no_reduction(logits(&device), targets(&device)));
        let bs_per = values(bs.forward_no_reduction(logits(&device), targets(&device)));
        for (a, b) in la_per.iter().zip(&bs_per) {
            assert!((a - b).abs() < 1e-5, "{name}: {la_per:?} vs {bs_per:?}");
        }
        // formula: τ = 0.5.
        let half = LogitAdjustedConfig::new(COUNTS.to_vec())
            .with_tau(0.5)
            .init(&device)
            .unwrap();
        assert_close(
            scalar(half.forward(logits(&device), targets(&device))),
            1.4544047084,
            TOL,
            name,
        );
    }
}

#[test]
fn posthoc_adjustment_subtracts_the_log_prior() {
    let device = Device::flex();
    let adjusted = posthoc_adjust(logits(&device), &COUNTS, 1.0).unwrap();
    let row: Vec<f32> = values(adjusted)[..3].to_vec();
    // formula: z_0 - log(n / N) = [2.10436, 2.90695, 3.70953]
    for (a, e) in row.iter().zip([2.1043600153, 2.9069451083, 3.7095302013]) {
        assert_close(f64::from(*a), e, 1e-6, "posthoc");
    }
    let err = posthoc_adjust(logits(&device), &[1, 2], 1.0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "counts has 2 values but there are 3 classes: give one value per class"
    );
}

#[test]
fn ldam_matches_the_formula() {
    for (name, device) in cpu_devices() {
        let config = LdamConfig::new(COUNTS.to_vec());
        let margins = config.margins().unwrap();
        // formula: 0.5 · n^{-1/4} / max n^{-1/4}
        for (m, e) in margins.iter().zip([0.158113883, 0.2811706626, 0.5]) {
            assert_close(*m, e, 1e-9, "margins");
        }
        assert_reference(
            config.clone().init(&device),
            &device,
            (11.2621468379, TOL),
            name,
        );
        let drw = config.with_weights(Some(ens()));
        assert_reference(drw.init(&device), &device, (21.2457601949, TOL), name);
    }
}

#[test]
fn normed_linear_outputs_cosines() {
    let device = Device::flex();
    let layer = NormedLinearConfig::new(3, 4).init(&device);
    let x = Tensor::<2>::from_floats([[3.0, 0.0, 4.0], [-1.0, 2.0, 0.5]], &device);
    let out = layer.forward(x);
    assert_eq!(out.dims(), [2, 4]);
    for v in values(out) {
        assert!((-1.0 - 1e-6..=1.0 + 1e-6).contains(&v), "{v}");
    }
    // A scaled input gives the same cosines.
    let a = values(layer.forward(Tensor::<2>::from_floats([[1.0, 2.0, 3.0]], &device)));
    let b = values(layer.forward(Tensor::<2>::from_floats([[10.0, 20.0, 30.0]], &device)));
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-6);
    }
}

#[test]
fn zero_class_weights_are_allowed() {
    let device = Device::flex();
    let loss = WeightedCrossEntropyConfig::new()
        .with_weights(Some(vec![1.0, 1.0, 0.0]))
        .init(&device)
        .unwrap();
    let per_sample = values(loss.forward_no_reduction(logits(&device), targets(&device)));
    assert_eq!(&per_sample[2..], &[0.0, 0.0]);
    // A batch of only class-2 samples: weighted-mean is 0, not NaN.
    let only_tail = Tensor::<1, Int>::from_ints([2, 2, 2, 2], &device);
    assert_eq!(scalar(loss.forward(logits(&device), only_tail)), 0.0);
}

#[test]
fn reduction_none_returns_per_sample_losses() {
    let device = Device::flex();
    let loss = WeightedCrossEntropyConfig::new()
        .with_weights(Some(ens()))
        .with_reduction(Reduction::None)
        .init(&device)
        .unwrap();
    let reduced = loss.forward(logits(&device), targets(&device));
    let per_sample = loss.forward_no_reduction(logits(&device), targets(&device));
    assert_eq!(reduced.dims(), [4]);
    assert_eq!(values(reduced), values(per_sample.clone()));
    let total: f64 = values(per_sample).iter().map(|&v| f64::from(v)).sum();
    assert_close(total, 4.0 * 1.4352657, TOL, "Σ w·l");
}

#[test]
fn class_weights_move_with_the_module() {
    #[allow(deprecated)]
    let ndarray = Device::ndarray();
    let loss = WeightedCrossEntropyConfig::new()
        .with_weights(Some(ens()))
        .init(&Device::flex())
        .unwrap();
    use burn::module::Module;
    let moved = loss.to_device(&ndarray);
    assert_eq!(moved.devices(), vec![ndarray.clone()]);
    let value = scalar(moved.forward(logits(&ndarray), targets(&ndarray)));
    assert_close(value, 1.0111566, TOL, "after to_device");
}

/// LADE's reduced value on the reference logits with `targets`.
fn lade_value(config: LadeConfig, targets: [i64; 4]) -> f64 {
    let device = Device::flex();
    let loss = config.init(&device).unwrap();
    scalar(loss.forward(logits(&device), Tensor::from_ints(targets, &device)))
}

// The authors' code (hyperconnect/LADE, loss/PriorCELoss.py + loss/LADELoss.py), as their
// configs combine them (weights 1 and α):
//   prior = n / n.sum()
//   ce = F.cross_entropy(x + torch.log(prior + 1e-9), y)
//   mask = (y == torch.arange(C).view(-1, 1))                       # C x N
//   first = (x.T * mask).sum(-1) / (mask.sum(-1) + 1e-8)
//   second = torch.logsumexp((x - torch.log(prior + 1e-9) + np.log(1 / C)).T, -1) - np.log(N)
//   reg = -torch.sum((first - second - lam * second ** 2) * prior)
//   loss = ce + alpha * reg
// on the crate's reference batch, counts [100, 10, 1]. No PyTorch here: the values are
// that code in f64 Python (max-shifted log-sum-exp) without the 1e-9 and 1e-8, which move
// them by < 1e-7. The PC-softmax part alone is 2.6071388, the logit-adjusted reference.
#[test]
fn lade_matches_the_authors_code() {
    // (alpha, remine_lambda, targets, the authors' value); 0.1 and 0.1 are the defaults.
    let cases = [
        (0.1, 0.1, [0, 1, 2, 2], 2.44773525083332),
        (0.5, 0.0, [0, 1, 2, 2], 1.78492754043089),
        (1.0, 0.3, [0, 1, 2, 2], 1.11387594673975),
        // Class 1 absent from the batch: it still counts in R, with T1 = 0.
        (0.1, 0.1, [0, 0, 2, 2], 2.3211880766839),
        (1.0, 0.3, [0, 0, 2, 2], 1.87922066448223),
        (0.0, 0.1, [0, 1, 2, 2], 2.60713880162235),
    ];
    for (alpha, remine_lambda, targets, want) in cases {
        let config = LadeConfig::new(COUNTS.to_vec())
            .with_alpha(alpha)
            .with_remine_lambda(remine_lambda);
        let got = lade_value(config, targets);
        assert!(
            (got - want).abs() < 2e-6,
            "{alpha} {remine_lambda} {targets:?}: {got} vs {want}"
        );
    }
}

#[test]
fn lade_reductions_spread_the_regularizer_evenly() {
    let device = Device::flex();
    let config = LadeConfig::new(COUNTS.to_vec());
    let (logits, targets) = (logits(&device), targets(&device));
    let none = config
        .clone()
        .with_reduction(Reduction::None)
        .init(&device)
        .unwrap()
        .forward(logits.clone(), targets.clone());
    let none: Vec<f32> = none.into_data().try_to_vec().unwrap();
    assert_eq!(none.len(), 4);
    let total: f64 = none.iter().map(|&v| f64::from(v)).sum();
    let reduced = |reduction| {
        let loss = config
            .clone()
            .with_reduction(reduction)
            .init(&device)
            .unwrap();
        f64::from(
            loss.forward(logits.clone(), targets.clone())
                .into_scalar::<f32>(),
        )
    };
    let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    close(reduced(Reduction::Sum), total);
    close(reduced(Reduction::Mean), total / 4.0);
    close(reduced(Reduction::WeightedMean), 2.44773525083332);
    // Each element is its PC-softmax CE plus α·R (R = -1.5940360 here).
    let ce_plus = |ce: f64| ce + 0.1 * -1.59403603990122;
    let plain = LadeConfig::new(COUNTS.to_vec())
        .with_alpha(0.0)
        .with_reduction(Reduction::None)
        .init(&device)
        .unwrap()
        .forward(logits, targets);
    let plain: Vec<f32> = plain.into_data().try_to_vec().unwrap();
    for (with, without) in none.iter().zip(&plain) {
        close(f64::from(*with), ce_plus(f64::from(*without)));
    }
}

// The authors' VSLoss (orparask/VS-Loss, class_imbalance/losses.py) on the CPU:
//   n = [100, 10, 1]; p = [c / sum(n) for c in n]
//   temp = (1.0 / np.array(n)) ** gamma; temp = temp / np.min(temp)
//   out = x / torch.tensor(temp) + tau * torch.log(torch.tensor(p))
//   F.cross_entropy(out, y, weight=w)
// with x the reference batch. No PyTorch on this machine: the values are that formula in f64
// Python (max-shifted log-sum-exp), checked to give plain CE, 0.6931654, at γ = τ = 0.
#[test]
fn vs_matches_the_authors_formula() {
    let device = Device::flex();
    let vs = |config: VsConfig| {
        let loss = config.init(&device).unwrap();
        scalar(loss.forward(logits(&device), targets(&device)))
    };
    let base = || VsConfig::new(COUNTS.to_vec());
    for (config, want) in [
        (base(), 2.895303579697557),
        (base().with_gamma(0.2).with_tau(1.5), 4.188009438538829),
        (
            base().with_weights(Some(ENS_099.to_vec())),
            4.678734710219787,
        ),
        (base().with_gamma(0.0).with_tau(0.0), 0.693165375759264),
    ] {
        assert_close(vs(config), want, 2e-6, "VS");
    }
}
