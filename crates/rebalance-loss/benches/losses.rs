//! Forward + backward of every loss against burn-nn's weighted `CrossEntropyLoss`, measured in
//! the same run, on the flex CPU backend (or wgpu), at batch 1024 and 10, 100, 1000 classes.
//!
//! ```text
//! cargo bench -p rebalance-loss
//! ```
//!
//! On a GPU through wgpu (the sigmoid losses then run as the fused CubeCL kernel):
//!
//! ```text
//! REBALANCE_BENCH_DEVICE=wgpu cargo bench -p rebalance-loss --features wgpu
//! ```
//!
//! Criterion reports each timing; the table printed at the end gives each loss's time as a
//! ratio to burn-nn's weighted cross-entropy at the same shape. burn-nn's own class-weighted
//! `BinaryCrossEntropyLoss` with logits (one-hot targets built once, outside the timing) is
//! timed too: the like-for-like reference for the sigmoid losses.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use burn::nn::loss::{BinaryCrossEntropyLossConfig, CrossEntropyLossConfig};
use burn::prelude::*;
use criterion::Criterion;
use rebalance_loss::{
    ClassBalancedKeys, ClassWeighting, CrossEntropyKeys, FocalKeys, ImbalanceLoss, LdamKeys,
    LogitAdjustedKeys, LossConfig, LossKind, Reduction, SigmoidFocalKeys, SigmoidKeys,
};
use rebalance_weights::{ClassCounts, Scheme};

const BATCH: usize = 1024;
const BASELINE: &str = "burn-nn weighted CE";
const BCE_REFERENCE: &str = "burn-nn weighted BCE with logits";

/// Mean seconds per iteration, by (classes, loss).
static MEANS: Mutex<BTreeMap<(usize, String), f64>> = Mutex::new(BTreeMap::new());

fn ens() -> Option<ClassWeighting> {
    Some(ClassWeighting::new(Scheme::Ens { beta: 0.9999 }))
}

fn losses() -> Vec<(&'static str, LossConfig)> {
    vec![
        (
            "weighted CE",
            LossConfig::CrossEntropy(CrossEntropyKeys {
                weights: ens(),
                ..Default::default()
            }),
        ),
        (
            "weighted CE + smoothing",
            LossConfig::CrossEntropy(CrossEntropyKeys {
                weights: ens(),
                smoothing: 0.1,
                ..Default::default()
            }),
        ),
        (
            "focal",
            LossConfig::Focal(FocalKeys {
                gamma: 2.0,
                weights: ens(),
                ..Default::default()
            }),
        ),
        (
            "sigmoid BCE",
            LossConfig::Sigmoid(SigmoidKeys {
                weights: ens(),
                ..Default::default()
            }),
        ),
        (
            "sigmoid focal",
            LossConfig::SigmoidFocal(SigmoidFocalKeys {
                gamma: 2.0,
                alpha: 0.25,
                weights: ens(),
                ..Default::default()
            }),
        ),
        (
            "class-balanced focal",
            LossConfig::ClassBalanced(ClassBalancedKeys {
                beta: 0.9999,
                base: rebalance_loss::ClassBalancedBase::Focal,
                gamma: 2.0,
                reduction: Reduction::Mean,
                ..Default::default()
            }),
        ),
        (
            "LDAM-DRW",
            LossConfig::Ldam(LdamKeys {
                weights: ens(),
                ..Default::default()
            }),
        ),
        (
            "logit-adjusted",
            LossConfig::LogitAdjusted(LogitAdjustedKeys {
                tau: 1.0,
                ..Default::default()
            }),
        ),
        (
            "balanced softmax",
            LossConfig::with_defaults(LossKind::BalancedSoftmax),
        ),
    ]
}

/// The sigmoid losses on multi-hot targets (the weighting article's setting), through
/// `LossConfig::init_multi_label`: each row's class and the next one are positive.
fn multi_label_losses() -> Vec<(&'static str, LossConfig)> {
    losses()
        .into_iter()
        .filter_map(|(name, config)| match name {
            "sigmoid BCE" => Some(("sigmoid BCE, multi-hot", config)),
            "sigmoid focal" => Some(("sigmoid focal, multi-hot", config)),
            _ => None,
        })
        .collect()
}

/// Rows with two positive labels: `targets[n]` and the next class.
fn multi_hot(targets: &[i64], classes: usize, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = targets
        .iter()
        .flat_map(|&t| {
            (0..classes as i64)
                .map(move |c| f32::from(u8::from(c == t || c == (t + 1) % classes as i64)))
        })
        .collect();
    Tensor::from_data(TensorData::new(values, [targets.len(), classes]), device)
}

/// Long-tailed counts for `classes` classes (imbalance factor 100).
fn counts(classes: usize) -> ClassCounts {
    let counts: Vec<u64> = (0..classes)
        .map(|i| (5000.0 * 0.01f64.powf(i as f64 / (classes - 1) as f64)).floor() as u64)
        .collect();
    ClassCounts::from_counts(counts).unwrap()
}

/// Times `iters` forward + backward passes of `loss_fn` and records the mean.
fn time_loop(
    classes: usize,
    name: &str,
    iters: u64,
    device: &Device,
    logits: &Tensor<2>,
    targets: &Tensor<1, Int>,
    loss_fn: &dyn Fn(Tensor<2>, Tensor<1, Int>) -> Tensor<1>,
) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        let z = logits.clone().require_grad();
        let grads = loss_fn(z.clone(), targets.clone()).backward();
        std::hint::black_box(z.grad(&grads));
    }
    device.sync().unwrap();
    let elapsed = start.elapsed();
    let mut means = MEANS.lock().unwrap();
    let entry = means.entry((classes, name.to_string())).or_insert(0.0);
    // Keep the fastest sample mean: the least disturbed by the rest of the machine.
    let mean = elapsed.as_secs_f64() / iters as f64;
    if *entry == 0.0 || mean < *entry {
        *entry = mean;
    }
    elapsed
}

/// The device to measure on, `REBALANCE_BENCH_DEVICE`: `flex` (the default) or `wgpu` (with
/// the `wgpu` feature), as an autodiff device, and its name for the table.
fn bench_device() -> (Device, &'static str) {
    match std::env::var("REBALANCE_BENCH_DEVICE").as_deref() {
        Err(_) | Ok("flex") => (Device::flex().autodiff(), "flex"),
        #[cfg(feature = "wgpu")]
        Ok("wgpu") => (
            Device::wgpu(burn::prelude::DeviceKind::DefaultDevice).autodiff(),
            "wgpu",
        ),
        Ok(other) => {
            eprintln!(
                "REBALANCE_BENCH_DEVICE={other}: expected flex, or wgpu (with --features wgpu)"
            );
            std::process::exit(2)
        }
    }
}

fn bench(c: &mut Criterion, device: &Device) {
    let device = device.clone();
    for classes in [10usize, 100, 1000] {
        let counts = counts(classes);
        let weights = Scheme::Ens { beta: 0.9999 }.weights(&counts).unwrap();
        let logits = Tensor::<2>::random(
            [BATCH, classes],
            burn::tensor::Distribution::Normal(0.0, 2.0),
            &device,
        );
        let indices: Vec<i64> = (0..BATCH).map(|i| ((i * 7919) % classes) as i64).collect();
        let targets = Tensor::<1, Int>::from_ints(indices.as_slice(), &device);
        let multi_hot_targets = multi_hot(&indices, classes, &device);

        let mut group = c.benchmark_group(format!("B{BATCH}xC{classes}"));
        let mut bench_loss =
            |name: &str, forward: &dyn Fn(Tensor<2>, Tensor<1, Int>) -> Tensor<1>| {
                group.bench_function(name, |b| {
                    b.iter_custom(|iters| {
                        time_loop(classes, name, iters, &device, &logits, &targets, forward)
                    })
                });
            };
        let weights_f32: Vec<f32> = weights.as_slice().iter().map(|&w| w as f32).collect();
        let baseline = CrossEntropyLossConfig::new()
            .with_weights(Some(weights_f32.clone()))
            .init(&device);
        bench_loss(BASELINE, &|z, y| baseline.forward(z, y));
        let bce_reference = BinaryCrossEntropyLossConfig::new()
            .with_logits(true)
            .with_weights(Some(weights_f32))
            .init(&device);
        let one_hot: Tensor<2, Int> = targets.clone().one_hot(classes);
        bench_loss(BCE_REFERENCE, &|z, _| {
            bce_reference.forward(z, one_hot.clone())
        });
        for (name, config) in losses() {
            let loss = ImbalanceLoss::new(&config, &counts, &device).unwrap();
            bench_loss(name, &|z, y| loss.forward(z, y));
        }
        for (name, config) in multi_label_losses() {
            let loss = config
                .init_multi_label(&counts, counts.total(), 0, &device)
                .unwrap();
            bench_loss(name, &|z, _| loss.forward(z, multi_hot_targets.clone()));
        }
        group.finish();
    }
}

fn main() {
    let mut criterion = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let (device, device_name) = bench_device();
    bench(&mut criterion, &device);
    criterion.final_summary();

    let means = MEANS.lock().unwrap();
    println!(
        "\nforward + backward, {device_name}, batch {BATCH}: time per step and ratio to {BASELINE}\n"
    );
    println!("| loss | C = 10 | C = 100 | C = 1000 |");
    println!("|---|---|---|---|");
    let names: Vec<&str> = [BASELINE, BCE_REFERENCE]
        .into_iter()
        .chain(losses().iter().map(|(n, _)| *n))
        .chain(multi_label_losses().iter().map(|(n, _)| *n))
        .collect();
    for name in names {
        let mut row = format!("| {name} |");
        for classes in [10usize, 100, 1000] {
            let base = means.get(&(classes, BASELINE.to_string()));
            let this = means.get(&(classes, name.to_string()));
            match (base, this) {
                (Some(base), Some(this)) => {
                    row += &format!(" {:.0} µs ({:.2}×) |", this * 1e6, this / base)
                }
                _ => row += " – |",
            }
        }
        println!("{row}");
    }
}
