//! The classifier: an MLP whose loss is one of its fields.

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig, Relu};
use burn::prelude::*;
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};
use rebalance_data::SampleBatch;
use rebalance_loss::{ImbalanceLoss, NormedLinear, NormedLinearConfig};

use crate::config::ModelSection;

/// The output layer.
#[derive(Module, Debug)]
pub enum Head {
    /// A plain linear layer.
    Linear(Linear),
    /// Cosine similarities (`NormedLinear`), for LDAM.
    Cosine(NormedLinear),
}

/// A multi-layer perceptron with ReLU and dropout, and the imbalance loss as a field: the
/// loss's class weights follow the model to its device.
#[derive(Module, Debug)]
pub struct Classifier {
    layers: Vec<Linear>,
    activation: Relu,
    dropout: Dropout,
    head: Head,
    loss: ImbalanceLoss,
}

impl Classifier {
    /// An MLP from `inputs` features to `classes` logits, as `section` describes.
    pub fn new(
        section: &ModelSection,
        inputs: usize,
        classes: usize,
        loss: ImbalanceLoss,
        device: &Device,
    ) -> Self {
        let mut width = inputs;
        let layers = section
            .hidden
            .iter()
            .map(|&h| {
                let layer = LinearConfig::new(width, h).init(device);
                width = h;
                layer
            })
            .collect();
        let head = if section.cosine_head {
            Head::Cosine(NormedLinearConfig::new(width, classes).init(device))
        } else {
            Head::Linear(LinearConfig::new(width, classes).init(device))
        };
        Self {
            layers,
            activation: Relu::new(),
            dropout: DropoutConfig::new(section.dropout).init(),
            head,
            loss,
        }
    }

    /// The same model with another loss (the deferred re-weighting switch).
    pub fn with_loss(mut self, loss: ImbalanceLoss) -> Self {
        self.loss = loss;
        self
    }

    /// `[batch_size, inputs]` features to `[batch_size, classes]` logits.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut x = x;
        for layer in &self.layers {
            x = self
                .dropout
                .forward(self.activation.forward(layer.forward(x)));
        }
        match &self.head {
            Head::Linear(linear) => linear.forward(x),
            Head::Cosine(cosine) => cosine.forward(x),
        }
    }

    /// Logits, loss and targets of a batch.
    pub fn forward_classification(&self, batch: SampleBatch) -> ClassificationOutput {
        let logits = self.forward(batch.features);
        let loss = self.loss.forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

impl TrainStep for Classifier {
    type Input = SampleBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: SampleBatch) -> TrainOutput<ClassificationOutput> {
        let item = self.forward_classification(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl InferenceStep for Classifier {
    type Input = SampleBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: SampleBatch) -> ClassificationOutput {
        self.forward_classification(batch)
    }
}
