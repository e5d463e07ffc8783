//! Train a small classifier on a long-tailed toy problem with burn-train, the imbalance loss a
//! field of the model — the way to drop `rebalance-loss` into a Burn project.
//!
//! ```text
//! cargo run -p rebalance-loss --example train --release
//! cargo run -p rebalance-loss --example train --release -- 'kind = "ldam"'
//! ```
//!
//! The optional argument is a `LossConfig` in TOML; the default is a focal loss with
//! effective-number class weights. Prints the per-class recall on a balanced test set.
#![allow(clippy::unwrap_used)]

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::InMemDataset;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::train::metric::{AccuracyMetric, ClassReduction, LossMetric, RecallMetric};
use burn::train::renderer::CliMetricsRenderer;
use burn::train::{
    ClassificationOutput, InferenceStep, Learner, SupervisedTraining, TrainOutput, TrainStep,
};
use rebalance_loss::{ImbalanceLoss, LossConfig};
use rebalance_weights::ClassCounts;

const NUM_CLASSES: usize = 3;

/// One sample: a point in the plane and its class.
#[derive(Clone, Debug)]
struct Item {
    x: [f32; 2],
    y: usize,
}

#[derive(Clone, Debug)]
struct Batch {
    x: Tensor<2>,
    y: Tensor<1, Int>,
}

#[derive(Clone, Default)]
struct ItemBatcher;

impl Batcher<Item, Batch> for ItemBatcher {
    fn batch(&self, items: Vec<Item>, device: &Device) -> Batch {
        let n = items.len();
        let x: Vec<f32> = items.iter().flat_map(|i| i.x).collect();
        let y: Vec<i64> = items.iter().map(|i| i.y as i64).collect();
        Batch {
            x: Tensor::<1>::from_floats(x.as_slice(), device).reshape([n, 2]),
            y: Tensor::<1, Int>::from_ints(y.as_slice(), device),
        }
    }
}

/// A two-layer MLP whose loss is one of its fields: the loss's class-weight tensors follow the
/// model to its device and are neither trained nor re-uploaded per step.
#[derive(Module, Debug)]
struct Classifier {
    hidden: Linear,
    activation: Relu,
    output: Linear,
    loss: ImbalanceLoss,
}

impl Classifier {
    fn new(loss: ImbalanceLoss, device: &Device) -> Self {
        Self {
            hidden: LinearConfig::new(2, 32).init(device),
            activation: Relu::new(),
            output: LinearConfig::new(32, NUM_CLASSES).init(device),
            loss,
        }
    }

    /// `[batch_size, 2]` -> `[batch_size, NUM_CLASSES]` logits.
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output
            .forward(self.activation.forward(self.hidden.forward(x)))
    }

    fn forward_classification(&self, batch: Batch) -> ClassificationOutput {
        let logits = self.forward(batch.x);
        let loss = self.loss.forward(logits.clone(), batch.y.clone());
        ClassificationOutput::new(loss, logits, batch.y)
    }
}

impl TrainStep for Classifier {
    type Input = Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Batch) -> TrainOutput<ClassificationOutput> {
        let item = self.forward_classification(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl InferenceStep for Classifier {
    type Input = Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Batch) -> ClassificationOutput {
        self.forward_classification(batch)
    }
}

/// Three overlapping Gaussian blobs; `per_class[c]` samples of class `c`.
fn blobs(per_class: &[usize], seed: u64) -> Vec<Item> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f32 / (1u64 << 53) as f32
    };
    let centers = [[0.0, 0.0], [1.5, 0.0], [0.75, 1.3]];
    let mut items = Vec::new();
    for (class, &count) in per_class.iter().enumerate() {
        for _ in 0..count {
            // Box-Muller.
            let (u, v) = (uniform().max(1e-12), uniform());
            let r = (-2.0 * u.ln()).sqrt();
            let angle = 2.0 * std::f32::consts::PI * v;
            let x = [
                centers[class][0] + r * angle.cos(),
                centers[class][1] + r * angle.sin(),
            ];
            items.push(Item { x, y: class });
        }
    }
    items
}

/// Trains for `epochs` and returns the per-class recall on a balanced test set.
fn run(loss: &LossConfig, epochs: usize, dir: &std::path::Path) -> Vec<f64> {
    let device = Device::flex();
    device.seed(7);
    let train = blobs(&[2000, 200, 20], 1);
    let test = blobs(&[500, 500, 500], 2);

    // Class weights, margins and priors come from the training counts only.
    let labels: Vec<usize> = train.iter().map(|i| i.y).collect();
    let counts = ClassCounts::from_labels(&labels, NUM_CLASSES).unwrap();
    // Training runs on the autodiff flavour of the device; the loss is built there too.
    let autodiff = device.clone().autodiff();
    let model = Classifier::new(loss.init(&counts, &autodiff).unwrap(), &autodiff);

    let train_loader = DataLoaderBuilder::new(ItemBatcher)
        .batch_size(64)
        .shuffle(7)
        .build(InMemDataset::new(train));
    let valid_loader = DataLoaderBuilder::new(ItemBatcher)
        .batch_size(500)
        .build(InMemDataset::new(test.clone()));

    let result = SupervisedTraining::new(dir, train_loader, valid_loader)
        .metrics((AccuracyMetric::new(), LossMetric::new()))
        // Macro recall over the classes is the balanced accuracy.
        .metric_valid_numeric(RecallMetric::multiclass(1, ClassReduction::Macro))
        .renderer(Box::new(CliMetricsRenderer::new()))
        .with_application_logger(None)
        .num_epochs(epochs)
        .summary()
        .launch(Learner::new(model, AdamConfig::new().init(), 1e-2));
    if let Some(error) = result.error {
        panic!("training failed: {error}");
    }

    // Per-class recall of the trained model.
    let model = result.model;
    let batch = ItemBatcher.batch(test, &device);
    let predicted: Vec<i64> = model
        .forward(batch.x)
        .argmax(1)
        .into_data()
        .iter::<i64>()
        .collect();
    let truth: Vec<i64> = batch.y.into_data().iter::<i64>().collect();
    (0..NUM_CLASSES as i64)
        .map(|c| {
            let of_class = truth.iter().filter(|&&t| t == c).count();
            let hits = truth
                .iter()
                .zip(&predicted)
                .filter(|&(&t, &p)| t == c && p == c)
                .count();
            hits as f64 / of_class as f64
        })
        .collect()
}

fn main() {
    let text = std::env::args().nth(1).unwrap_or_else(|| {
        r#"kind = "focal"
           gamma = 1.0
           scheme = "ens"
           beta = 0.999"#
            .to_string()
    });
    let loss: LossConfig = match toml::from_str(&text) {
        Ok(loss) => loss,
        Err(err) => {
            eprintln!("error: bad loss config: {err}");
            std::process::exit(2);
        }
    };
    let dir = std::env::temp_dir().join("rebalance-loss-example");
    let recall = run(&loss, 8, &dir);
    println!("loss: {}", loss.name());
    for (class, r) in recall.iter().enumerate() {
        println!("class {class}: recall {r:.3}");
    }
    let balanced = recall.iter().sum::<f64>() / recall.len() as f64;
    println!("balanced accuracy: {balanced:.3}");
}

#[test]
fn reweighting_lifts_the_tail_class() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let plain: LossConfig = toml::from_str(r#"kind = "cross-entropy""#).unwrap();
    let weighted: LossConfig = toml::from_str(
        r#"kind = "cross-entropy"
                          scheme = "ins""#,
    )
    .unwrap();
    let plain_recall = run(&plain, 2, &dir.join("plain"));
    let weighted_recall = run(&weighted, 2, &dir.join("weighted"));
    // The 20-sample tail class: the plain loss all but ignores it, INS weights do not.
    assert!(
        weighted_recall[2] > plain_recall[2] + 0.2,
        "tail recall: plain {plain_recall:?}, weighted {weighted_recall:?}"
    );
}
