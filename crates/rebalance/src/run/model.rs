//! The classifier: a backbone, a head, and the loss as one of its fields.

use burn::module::ModuleDisplay;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::train::ItemLazy;
use burn::train::{
    ClassificationOutput, InferenceStep, MultiLabelClassificationOutput, TrainOutput, TrainStep,
};
use rebalance_data::{MultiLabelBatch, SampleBatch};
use rebalance_loss::{ImbalanceLoss, MultiLabelLoss, NormedLinear, NormedLinearConfig};

use crate::run::backbone::{Backbone, ShapeError};
use crate::run::config::ModelSection;

/// The output layer.
#[derive(Module, Debug)]
pub enum Head {
    /// A plain linear layer.
    Linear(Linear),
    /// Cosine similarities (`NormedLinear`), for LDAM.
    Cosine(NormedLinear),
}

/// A task's loss as a classifier's field: the batches it takes and the step output it makes
/// (softmax losses of class indices, sigmoid losses of multi-hot targets).
pub trait TaskLoss: Module + ModuleDisplay {
    /// The task's batches.
    type Batch: Send + Clone + core::fmt::Debug + 'static;
    /// burn-train's output of a step.
    type Output: ItemLazy + 'static;

    /// The batch's features, `[batch_size, features]` (images flattened).
    fn features(batch: &Self::Batch) -> Tensor<2>;

    /// The loss of `logits` against the batch's targets, with the logits and targets.
    fn output(&self, logits: Tensor<2>, batch: Self::Batch) -> Self::Output;

    /// The loss of an output, to step on.
    fn loss(output: &Self::Output) -> Tensor<1>;
}

impl TaskLoss for ImbalanceLoss {
    type Batch = SampleBatch;
    type Output = ClassificationOutput;

    fn features(batch: &SampleBatch) -> Tensor<2> {
        batch.features.clone()
    }

    fn output(&self, logits: Tensor<2>, batch: SampleBatch) -> ClassificationOutput {
        let loss = self.forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }

    fn loss(output: &ClassificationOutput) -> Tensor<1> {
        output.loss.clone()
    }
}

impl TaskLoss for MultiLabelLoss {
    type Batch = MultiLabelBatch;
    type Output = MultiLabelClassificationOutput;

    fn features(batch: &MultiLabelBatch) -> Tensor<2> {
        batch.features.clone()
    }

    fn output(&self, logits: Tensor<2>, batch: MultiLabelBatch) -> MultiLabelClassificationOutput {
        let loss = self.forward(logits.clone(), batch.targets.clone());
        MultiLabelClassificationOutput::new(loss, logits, batch.targets.int())
    }

    fn loss(output: &MultiLabelClassificationOutput) -> Tensor<1> {
        output.loss.clone()
    }
}

/// A backbone, a classifier head, and the task's loss as a field: the loss's class weights
/// follow the model to its device. [`Classifier`] (softmax, class indices) and
/// [`MultiLabelClassifier`] (sigmoid, multi-hot targets) are its two tasks.
#[derive(Module, Debug)]
pub struct TaskClassifier<L: Module + TaskLoss> {
    backbone: Backbone,
    head: Head,
    loss: L,
}

/// The single-label classifier: one logit per class and a softmax loss.
pub type Classifier = TaskClassifier<ImbalanceLoss>;

/// The multi-label classifier: one logit per label and a sigmoid loss of multi-hot targets.
pub type MultiLabelClassifier = TaskClassifier<MultiLabelLoss>;

impl<L: Module + TaskLoss> TaskClassifier<L> {
    /// The model `section` describes, for samples of `shape` and `classes` classes (labels).
    ///
    /// # Errors
    /// A model kind that does not fit the data's shape.
    pub fn new(
        section: &ModelSection,
        shape: &[usize],
        classes: usize,
        loss: L,
        device: &Device,
    ) -> Result<Self, ShapeError> {
        let (backbone, head) = network(section, shape, classes, device)?;
        Ok(Self {
            backbone,
            head,
            loss,
        })
    }

    /// The backbone and the head (`crate::run::pack` stacks them).
    pub(crate) fn parts(&self) -> (&Backbone, &Head) {
        (&self.backbone, &self.head)
    }

    /// This classifier, its loss kept, with `backbone` and `head` (`crate::run::pack` splits a
    /// packed model back into classifiers).
    pub(crate) fn with_network(self, backbone: Backbone, head: Head) -> Self {
        Self {
            backbone,
            head,
            ..self
        }
    }

    /// `[batch_size, features]` (images flattened) to `[batch_size, classes]` logits.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        head_forward(&self.head, self.backbone.forward(x))
    }

    /// Logits, loss and targets of a batch.
    pub fn forward_classification(&self, batch: L::Batch) -> L::Output {
        let logits = self.forward(L::features(&batch));
        self.loss.output(logits, batch)
    }
}

impl<L: Module + TaskLoss> TrainStep for TaskClassifier<L> {
    type Input = L::Batch;
    type Output = L::Output;

    fn step(&self, batch: L::Batch) -> TrainOutput<L::Output> {
        let item = self.forward_classification(batch);
        TrainOutput::new(self, L::loss(&item).backward(), item)
    }
}

impl<L: Module + TaskLoss> InferenceStep for TaskClassifier<L> {
    type Input = L::Batch;
    type Output = L::Output;

    fn step(&self, batch: L::Batch) -> L::Output {
        self.forward_classification(batch)
    }
}

impl Classifier {
    /// The model of cRT's second stage (Kang et al., ICLR 2020): this backbone frozen (no
    /// gradients, batch-norm statistics and dropout fixed), a classifier head drawn afresh
    /// as `section` describes, for samples of `shape` and `classes` classes, and the stage's
    /// own `loss` (stage 1's is dropped).
    ///
    /// # Errors
    /// A model kind that does not fit the data's shape.
    pub fn for_classifier_retraining(
        self,
        section: &ModelSection,
        shape: &[usize],
        classes: usize,
        loss: ImbalanceLoss,
        device: &Device,
    ) -> Result<Self, ShapeError> {
        let (_, head) = network(section, shape, classes, device)?;
        Ok(Self {
            backbone: self.backbone.freeze(),
            head,
            loss,
        })
    }

    /// The τ-normalised classifier of Kang et al., "Decoupling Representation and Classifier
    /// for Long-Tailed Recognition", ICLR 2020: each class's weight vector `w_c` of the linear
    /// head becomes `w_c / ‖w_c‖^τ` (`τ = 0` keeps the weights, `τ = 1` gives them all unit
    /// norm), and the bias is dropped, as the authors' τ-normalised classifier computes its
    /// logits as `f · w_c` alone. A class whose weights are all 0 keeps them.
    ///
    /// # Errors
    /// `τ` negative or not finite, or a cosine head (whose rows are unit-norm already).
    pub fn tau_normalized(self, tau: f64) -> Result<Self, String> {
        if !(tau.is_finite() && tau >= 0.0) {
            return Err(format!("--tau-norm {tau}: must be finite and >= 0"));
        }
        let Head::Linear(linear) = self.head else {
            return Err(
                "--tau-norm: the model has a cosine head (model.cosine_head), whose \
                        class weights are unit-norm already; τ-normalisation is for a linear head"
                    .to_string(),
            );
        };
        // `[d_input, classes]`: a class's weights are a column.
        let weight = linear.weight.val();
        let norms = weight.clone().powi_scalar(2).sum_dim(0).sqrt();
        // ‖w‖^τ, with 1 for an all-zero column (no division by 0).
        let zero = norms.clone().equal_elem(0.0);
        let scale = norms.powf_scalar(tau as f32).mask_fill(zero, 1.0);
        let weight = weight / scale;
        let finite = weight.clone().into_data().iter::<f32>().all(f32::is_finite);
        if !finite {
            return Err(format!(
                "--tau-norm {}: the normalised class weights are not finite (‖w‖^τ overflows \
                 or vanishes); choose a τ of a few units (--tau-norm auto tries 0 to 2)",
                if tau >= 1e6 {
                    format!("{tau:e}")
                } else {
                    tau.to_string()
                }
            ));
        }
        let linear = Linear {
            weight: burn::module::Param::from_tensor(weight),
            bias: None,
        };
        Ok(Self {
            head: Head::Linear(linear),
            ..self
        })
    }
}

/// The backbone and the head `section` describes, for samples of `shape` and `outputs` logits.
fn network(
    section: &ModelSection,
    shape: &[usize],
    outputs: usize,
    device: &Device,
) -> Result<(Backbone, Head), ShapeError> {
    let (backbone, width) = Backbone::new(section, shape, device)?;
    let head = if section.cosine_head {
        Head::Cosine(NormedLinearConfig::new(width, outputs).init(device))
    } else {
        Head::Linear(LinearConfig::new(width, outputs).init(device))
    };
    Ok((backbone, head))
}

fn head_forward(head: &Head, x: Tensor<2>) -> Tensor<2> {
    match head {
        Head::Linear(linear) => linear.forward(x),
        Head::Cosine(cosine) => cosine.forward(x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::config::RunConfig;

    /// `τ = 1` gives every class's weights unit norm, `τ = 0` keeps them; the bias is dropped.
    #[test]
    fn tau_normalization_scales_each_class_column() {
        let device = Device::flex();
        let config = RunConfig::default();
        let loss = config
            .loss
            .init(
                &rebalance_weights::ClassCounts::from_counts(vec![5, 1, 1]).unwrap(),
                &device,
            )
            .unwrap();
        let model = Classifier::new(&config.model, &[4], 3, loss, &device).unwrap();
        let column_norms = |m: &Classifier| -> Vec<f32> {
            let Head::Linear(linear) = &m.head else {
                unreachable!()
            };
            linear
                .weight
                .val()
                .powi_scalar(2)
                .sum_dim(0)
                .sqrt()
                .into_data()
                .iter::<f32>()
                .collect()
        };
        let before = column_norms(&model);
        let unit = model.clone().tau_normalized(1.0).unwrap();
        assert!(
            column_norms(&unit).iter().all(|n| (n - 1.0).abs() < 1e-5),
            "{:?}",
            column_norms(&unit)
        );
        let kept = model.clone().tau_normalized(0.0).unwrap();
        assert_eq!(column_norms(&kept), before);
        let Head::Linear(linear) = &kept.head else {
            unreachable!()
        };
        assert!(linear.bias.is_none());
        assert!(model.tau_normalized(f64::NAN).is_err());
    }
}

#[cfg(test)]
mod retraining_tests {
    use super::*;
    use crate::run::config::RunConfig;
    use rebalance_loss::LossConfig;

    /// The frozen backbone computes what it computed before.
    #[test]
    fn a_frozen_backbone_keeps_its_features() {
        let device = Device::flex().autodiff();
        let config = RunConfig::default();
        let counts = rebalance_weights::ClassCounts::from_counts(vec![5, 1, 1]).unwrap();
        let loss = config.loss.init(&counts, &device).unwrap();
        let model = Classifier::new(&config.model, &[4], 3, loss, &device).unwrap();
        let x = Tensor::<2>::from_floats([[0.5, -1.0, 2.0, 0.1], [1.0, 0.0, -0.5, 0.3]], &device);
        let before: Vec<f32> = model
            .backbone
            .forward(x.clone())
            .into_data()
            .iter::<f32>()
            .collect();
        let stage2_loss = LossConfig::default().init(&counts, &device).unwrap();
        let retrained = model
            .for_classifier_retraining(&config.model, &[4], 3, stage2_loss, &device)
            .unwrap();
        let after: Vec<f32> = retrained
            .backbone
            .forward(x)
            .into_data()
            .iter::<f32>()
            .collect();
        assert_eq!(before, after);
    }
}
