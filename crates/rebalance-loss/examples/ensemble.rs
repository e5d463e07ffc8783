//! Train an ensemble of small MLPs as one model — R runs whose parameters carry a leading run
//! dimension — each run with its own class weighting, the losses of all runs computed in one
//! pass by a [`PackedLoss`]. This is how to compare weighting schemes in one training loop of
//! your own Burn project (PyTorch's "model ensembling", `vmap` over stacked parameters).
//!
//! ```text
//! cargo run -p rebalance-loss --example ensemble
//! ```
//!
//! Prints each run's training loss and its per-class recall on a balanced test set.
#![allow(clippy::unwrap_used)]

use burn::module::Param;
use burn::nn::Relu;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::Distribution;
use rebalance_loss::{LossConfig, PackedLoss};
use rebalance_weights::ClassCounts;

/// Training samples per class: long-tailed, imbalance factor 60.
const TRAIN_COUNTS: [usize; 4] = [600, 150, 40, 10];
/// Test samples per class: balanced.
const TEST_PER_CLASS: usize = 200;
/// Where each class's Gaussian blob (standard deviation 1) is centred.
const CENTERS: [[f32; 2]; 4] = [[0.0, 0.0], [1.8, 0.0], [0.9, 1.6], [-0.9, 1.6]];
const HIDDEN: usize = 32;

/// The weighting scheme of each run: its `[loss]` keys besides the kind.
const SCHEMES: [&str; 3] = [
    "scheme = \"uniform\"",
    "scheme = \"ins\"",
    "scheme = \"ens\"\nbeta = 0.999",
];

/// R linear layers side by side: weights `[R, in, out]`, biases `[R, 1, out]`. Adam's update is
/// element-wise, so each run's slice moves as it would alone.
#[derive(Module, Debug)]
struct PackedLinear {
    weight: Param<Tensor<3>>,
    bias: Param<Tensor<3>>,
}

impl PackedLinear {
    /// Each run's own initialisation, uniform in `±1/√in` (PyTorch's `nn.Linear`).
    fn new(runs: usize, input: usize, output: usize, device: &Device) -> Self {
        let bound = 1.0 / (input as f64).sqrt();
        let uniform = Distribution::Uniform(-bound, bound);
        Self {
            weight: Param::from_tensor(Tensor::random([runs, input, output], uniform, device)),
            bias: Param::from_tensor(Tensor::random([runs, 1, output], uniform, device)),
        }
    }

    /// `[R, B, in]` -> `[R, B, out]`: one batched product for all runs.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        x.matmul(self.weight.val()) + self.bias.val()
    }
}

/// The ensemble: two packed layers and the packed loss, a field of the model so that its
/// `[R, C]` class tensors follow the model's device.
#[derive(Module, Debug)]
struct Ensemble {
    hidden: PackedLinear,
    activation: Relu,
    output: PackedLinear,
    loss: PackedLoss,
}

impl Ensemble {
    /// `[R, B, 2]` features -> `[R, B, C]` logits.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.output
            .forward(self.activation.forward(self.hidden.forward(x)))
    }
}

/// `per_class[c]` points of each class's blob: features `[N, 2]`, labels `[N]`.
fn blobs(per_class: &[usize], device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
    let (features, labels) = per_class
        .iter()
        .zip(CENTERS)
        .enumerate()
        .map(|(class, (&n, center))| {
            let noise = Tensor::<2>::random([n, 2], Distribution::Normal(0.0, 1.0), device);
            let center = Tensor::<1>::from_floats(center, device).unsqueeze_dim(0);
            (noise + center, Tensor::full([n], class as i64, device))
        })
        .unzip();
    (Tensor::cat(features, 0), Tensor::cat(labels, 0))
}

/// The same batch for every run: `[N, F]` -> `[R, N, F]` and `[N]` -> `[R, N]`. (Runs with
/// their own samplers would each gather their own rows here.)
fn for_each_run(x: Tensor<2>, y: Tensor<1, Int>, runs: usize) -> (Tensor<3>, Tensor<2, Int>) {
    let [n, f] = x.dims();
    (
        x.unsqueeze_dim::<3>(0).expand([runs, n, f]),
        y.unsqueeze_dim::<2>(0).expand([runs, n]),
    )
}

/// Each run's training loss after each of `steps` full-batch Adam steps, and the trained model.
fn train(steps: usize) -> (Ensemble, Vec<Vec<f32>>) {
    let device = Device::flex().autodiff();
    device.seed(7);
    let runs = SCHEMES.len();
    let (x, y) = blobs(&TRAIN_COUNTS, &device);
    let counts =
        ClassCounts::from_counts(TRAIN_COUNTS.iter().map(|&n| n as u64).collect::<Vec<_>>())
            .unwrap();
    let configs: Vec<LossConfig> = SCHEMES
        .iter()
        .map(|scheme| toml::from_str(&format!("kind = \"cross-entropy\"\n{scheme}")).unwrap())
        .collect();
    let mut model = Ensemble {
        hidden: PackedLinear::new(runs, 2, HIDDEN, &device),
        activation: Relu::new(),
        output: PackedLinear::new(runs, HIDDEN, TRAIN_COUNTS.len(), &device),
        loss: PackedLoss::new(&configs, &vec![counts; runs], 0, &device).unwrap(),
    };
    let mut optimizer = AdamConfig::new().init();
    let (x, y) = for_each_run(x, y, runs);
    let mut history = Vec::with_capacity(steps);
    for _ in 0..steps {
        let per_run = model.loss.forward(model.forward(x.clone()), y.clone()); // [R]
        history.push(per_run.clone().into_data().try_to_vec::<f32>().unwrap());
        // The sum's gradient in run r's parameters is that of run r's loss alone.
        let grads = GradientsParams::from_grads(per_run.sum().backward(), &model);
        model = optimizer.step(2e-2, model, grads);
    }
    (model, history)
}

/// Each run's recall of each class on the balanced test set: `[R][C]`.
fn recall(model: &Ensemble) -> Vec<Vec<f64>> {
    let device = Device::flex();
    device.seed(8);
    let runs = SCHEMES.len();
    let (x, y) = blobs(&[TEST_PER_CLASS; 4], &device);
    let (x, _) = for_each_run(x, y.clone(), runs);
    let predicted: Vec<i64> = model
        .valid()
        .forward(x)
        .argmax(2)
        .into_data()
        .iter::<i64>()
        .collect();
    let truth: Vec<i64> = y.into_data().iter::<i64>().collect();
    let n = truth.len();
    (0..runs)
        .map(|r| {
            (0..TRAIN_COUNTS.len() as i64)
                .map(|c| {
                    let hits = truth
                        .iter()
                        .zip(&predicted[r * n..(r + 1) * n])
                        .filter(|&(&t, &p)| t == c && p == c)
                        .count();
                    hits as f64 / TEST_PER_CLASS as f64
                })
                .collect()
        })
        .collect()
}

fn main() {
    let (model, history) = train(200);
    let recall = recall(&model);
    println!(
        "training counts {TRAIN_COUNTS:?}; {} runs packed as one model",
        SCHEMES.len()
    );
    println!(
        "run  weighting                loss first -> last   recall per class (head -> tail)   balanced acc."
    );
    for (r, scheme) in SCHEMES.iter().enumerate() {
        let classes: Vec<String> = recall[r].iter().map(|v| format!("{v:.2}")).collect();
        let balanced = recall[r].iter().sum::<f64>() / recall[r].len() as f64;
        println!(
            "{r:<4} {:<30} {:>6.3} -> {:<10.3} {:<33} {balanced:.3}",
            scheme.replace('\n', ", "),
            history[0][r],
            history[history.len() - 1][r],
            classes.join(" "),
        );
    }
}

#[test]
fn weighting_lifts_the_tail_class_in_its_own_run() {
    let (model, history) = train(150);
    let recall = recall(&model);
    let tail = TRAIN_COUNTS.len() - 1;
    for r in 0..SCHEMES.len() {
        assert!(
            history[history.len() - 1][r] < history[0][r],
            "run {r}: {history:?}"
        );
    }
    // The 10-sample tail class: the unweighted run all but ignores it, the weighted runs do not.
    for r in [1, 2] {
        assert!(
            recall[r][tail] > recall[0][tail] + 0.2,
            "tail recall per run: {recall:?}"
        );
    }
}
