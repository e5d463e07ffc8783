//! The packed classifier: R runs' backbones and heads as one Burn module whose parameters carry
//! a leading run dimension. Built by stacking R classifiers built as each run builds its own
//! (its seed, `seeded_init`), and split back into R classifiers after training, so a packed run
//! starts and ends as the run trained alone would. Every backbone packs: the MLP as batched
//! matrix products, the CNN and ResNet-32 as grouped convolutions with batch norms side by side
//! ([`super::conv`], [`super::resnet`]).

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::nn::{Dropout, Linear, Relu};
use burn::prelude::*;
use rebalance_loss::l2_normalize;

use super::conv::{PackedCnn, PackedLinear};
use super::resnet::PackedResNet32;
use crate::run::backbone::{Backbone, Mlp};
use crate::run::model::{Head, TaskClassifier, TaskLoss};

/// Why models cannot be packed: backbones or heads of different kinds (the runs of a group share
/// `model`, so never in a sweep).
#[derive(Debug, thiserror::Error)]
#[error("the runs' models cannot be packed: {0}")]
pub struct Unpackable(&'static str);

/// Every float parameter of `module` in the module's order as a 3-d tensor: a packed one
/// `[R, rows, columns]` as it is, a weight `[in, out]` as `[1, in, out]`, a bias `[out]` as
/// `[1, 1, out]`.
fn params_3d<M: Module>(module: &M) -> Vec<Tensor<3>> {
    struct Collect(Vec<Tensor<3>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let value = param.val();
            let shape = match value.dims().as_slice() {
                [n] => [1, 1, *n],
                [rows, columns] => [1, *rows, *columns],
                [runs, rows, columns] => [*runs, *rows, *columns],
                _ => return,
            };
            self.0.push(value.reshape(shape));
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    collect.0
}

/// The parameters of `modules` (one per run, all of one shape) stacked along a leading run
/// dimension, in the modules' order: fresh trainable parameters `[R, rows, columns]`.
fn stacked<M: Module>(modules: &[&M]) -> Vec<Param<Tensor<3>>> {
    let per_run: Vec<Vec<Tensor<3>>> = modules.iter().map(|m| params_3d(*m)).collect();
    let count = per_run.first().map_or(0, Vec::len);
    (0..count)
        .map(|k| {
            let runs: Vec<Tensor<3>> = per_run.iter().map(|p| p[k].clone()).collect();
            Param::from_tensor(Tensor::cat(runs, 0).detach())
        })
        .collect()
}

/// `template` with each float parameter, in the module's order, replaced by run `run`'s slice
/// of the packed parameters `packed` (reshaped to the parameter's shape; its id kept).
fn unstacked<M: Module>(template: M, packed: &[Tensor<3>], run: usize) -> M {
    struct Replace<'a> {
        packed: std::slice::Iter<'a, Tensor<3>>,
        run: usize,
    }
    impl ModuleMapper for Replace<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let Some(packed) = self.packed.next() else {
                return param;
            };
            let [_, rows, columns] = packed.dims();
            let slice = packed
                .clone()
                .slice([self.run..self.run + 1, 0..rows, 0..columns])
                .detach();
            param.map(|old| slice.reshape(old.dims()))
        }
    }
    template.map(&mut Replace {
        packed: packed.iter(),
        run,
    })
}

/// R MLPs side by side (`crate::run::backbone::Mlp`): each layer a [`PackedLinear`], the
/// activation and dropout as the runs' (one `model` section for the group).
#[derive(Module, Debug)]
pub struct PackedMlp {
    layers: Vec<PackedLinear>,
    activation: Relu,
    dropout: Dropout,
}

impl PackedMlp {
    /// The runs' MLPs (one `model` section: layers of one width), stacked layer by layer.
    fn stack(mlps: &[&Mlp]) -> Self {
        let depth = mlps.first().map_or(0, |m| m.layers().len());
        Self {
            layers: (0..depth)
                .map(|k| {
                    PackedLinear::stack(&mlps.iter().map(|m| &m.layers()[k]).collect::<Vec<_>>())
                })
                .collect(),
            activation: Relu::new(),
            dropout: mlps[0].dropout().clone(),
        }
    }

    /// `[R, B, features]` to `[R, B, width]`.
    fn forward(&self, mut x: Tensor<3>) -> Tensor<3> {
        for layer in &self.layers {
            x = self
                .dropout
                .forward(self.activation.forward(layer.forward(x)));
        }
        x
    }
}

/// The packed feature extractor: one variant per backbone, each taking the runs' samples
/// flattened, `[R, B, features]`, as the single backbones take theirs.
// One per model: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum PackedBackbone {
    /// R MLPs.
    Mlp(PackedMlp),
    /// R CNNs: grouped convolutions, batch norms side by side.
    Cnn(PackedCnn),
    /// R ResNet-32s: grouped convolutions, batch norms side by side.
    ResNet32(PackedResNet32),
}

/// The models of `backbones` that `pick` finds, all of the first's kind.
fn all_of<'a, M>(
    backbones: &[&'a Backbone],
    pick: fn(&'a Backbone) -> Option<&'a M>,
) -> Result<Vec<&'a M>, Unpackable> {
    backbones
        .iter()
        .map(|&b| pick(b).ok_or(Unpackable("backbones of different kinds")))
        .collect()
}

impl PackedBackbone {
    /// The backbones of the runs, stacked (each built as its run builds it alone: seeded, then
    /// `materialize`d; [`PackedCnn::stack`]).
    ///
    /// # Errors
    /// No backbone, or backbones of different kinds.
    fn stack(backbones: &[&Backbone]) -> Result<Self, Unpackable> {
        let first = backbones.first().ok_or(Unpackable("no run"))?;
        Ok(match first {
            Backbone::Mlp(_) => {
                PackedBackbone::Mlp(PackedMlp::stack(&all_of(backbones, |b| match b {
                    Backbone::Mlp(m) => Some(m),
                    _ => None,
                })?))
            }
            Backbone::Cnn(_) => {
                PackedBackbone::Cnn(PackedCnn::stack(&all_of(backbones, |b| match b {
                    Backbone::Cnn(m) => Some(m),
                    _ => None,
                })?))
            }
            Backbone::ResNet32(_) => {
                PackedBackbone::ResNet32(PackedResNet32::stack(&all_of(backbones, |b| match b {
                    Backbone::ResNet32(m) => Some(m),
                    _ => None,
                })?))
            }
        })
    }

    /// `[R, B, features]` to `[R, B, width]`. Batch norms (CNN, ResNet-32) normalise with each
    /// run's batch statistics on an autodiff device, as a run's training step does, and with
    /// its running statistics elsewhere (`valid()`), as its validation does.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        match self {
            PackedBackbone::Mlp(mlp) => mlp.forward(x),
            PackedBackbone::Cnn(cnn) => cnn.forward(x),
            PackedBackbone::ResNet32(net) => net.forward(x),
        }
    }

    /// The runs' backbones: `templates[r]` (run `r`'s backbone, of this architecture) with run
    /// `r`'s trained parameters and, for the convolutional backbones, its batch norms' running
    /// statistics (which its evaluation uses).
    fn unstack(self, templates: Vec<Backbone>) -> Vec<Backbone> {
        match self {
            PackedBackbone::Mlp(mlp) => {
                let packed = params_3d(&mlp);
                templates
                    .into_iter()
                    .enumerate()
                    .map(|(r, template)| unstacked(template, &packed, r))
                    .collect()
            }
            PackedBackbone::Cnn(cnn) => cnn.unstack().into_iter().map(Backbone::Cnn).collect(),
            PackedBackbone::ResNet32(net) => {
                net.unstack().into_iter().map(Backbone::ResNet32).collect()
            }
        }
    }
}

/// R cosine heads side by side (`NormedLinear`): weights `[R, in, out]`.
#[derive(Module, Debug)]
pub struct PackedNormedLinear {
    weight: Param<Tensor<3>>,
}

/// The packed output layer.
#[derive(Module, Debug)]
pub enum PackedHead {
    /// R linear heads.
    Linear(PackedLinear),
    /// R cosine heads (LDAM's).
    Cosine(PackedNormedLinear),
}

impl PackedHead {
    /// The heads of the runs, stacked; `None` where the runs' heads are not of one kind (the
    /// group's runs share `model`, so never in a sweep).
    fn stack(heads: &[&Head]) -> Option<Self> {
        match heads.first()? {
            Head::Linear(_) => {
                let linear: Option<Vec<&Linear>> = heads
                    .iter()
                    .map(|h| match h {
                        Head::Linear(l) => Some(l),
                        Head::Cosine(_) => None,
                    })
                    .collect();
                Some(PackedHead::Linear(PackedLinear::stack(&linear?)))
            }
            Head::Cosine(_) => {
                let cosine: Option<Vec<&Head>> = heads
                    .iter()
                    .map(|h| matches!(h, Head::Cosine(_)).then_some(*h))
                    .collect();
                let mut params = stacked(&cosine?).into_iter();
                Some(PackedHead::Cosine(PackedNormedLinear {
                    weight: params.next()?,
                }))
            }
        }
    }

    /// `[R, B, width]` to `[R, B, classes]`.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        match self {
            PackedHead::Linear(linear) => linear.forward(x),
            PackedHead::Cosine(cosine) => {
                l2_normalize(x, 2).matmul(l2_normalize(cosine.weight.val(), 1))
            }
        }
    }
}

/// R classifiers of one architecture as one module: their backbones and heads packed, their
/// losses apart (`super::loss::GroupLoss`, which changes with a DRW phase).
#[derive(Module, Debug)]
pub struct PackedClassifier {
    backbone: PackedBackbone,
    head: PackedHead,
}

impl PackedClassifier {
    /// The classifiers `models` (one per run, of one architecture) stacked: run `r`'s
    /// parameters are slice `r` of the packed ones.
    ///
    /// # Errors
    /// No model, or backbones or heads of different kinds.
    pub fn stack<L: Module + TaskLoss>(models: &[&TaskClassifier<L>]) -> Result<Self, Unpackable> {
        let backbones: Vec<&Backbone> = models.iter().map(|m| m.parts().0).collect();
        let heads: Vec<&Head> = models.iter().map(|m| m.parts().1).collect();
        Ok(Self {
            backbone: PackedBackbone::stack(&backbones)?,
            head: PackedHead::stack(&heads).ok_or(Unpackable("heads of different kinds"))?,
        })
    }

    /// `[R, B, features]` to `[R, B, classes]` logits.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.head.forward(self.backbone.forward(x))
    }

    /// Split back into R classifiers: `templates[r]` (run `r`'s classifier as built for its
    /// last phase, with that phase's loss) with run `r`'s trained parameters and batch-norm
    /// running statistics.
    pub fn unstack<L: Module + TaskLoss>(
        self,
        templates: Vec<TaskClassifier<L>>,
    ) -> Vec<TaskClassifier<L>> {
        let head = params_3d(&self.head);
        let backbones = self
            .backbone
            .unstack(templates.iter().map(|t| t.parts().0.clone()).collect());
        templates
            .into_iter()
            .zip(backbones)
            .enumerate()
            .map(|(r, (template, backbone))| {
                let h = unstacked(template.parts().1.clone(), &head, r);
                template.with_network(backbone, h)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::config::{ModelKind, RunConfig};
    use crate::run::launch::materialize;
    use crate::run::model::Classifier;
    use crate::run::pack::testing::floats;

    /// The classifier of `kind` for samples of `shape`, as the run of `seed` builds it.
    fn classifier(kind: ModelKind, shape: &[usize], seed: u64, device: &Device) -> Classifier {
        let mut config = RunConfig::default();
        config.model.kind = kind;
        let counts = rebalance_weights::ClassCounts::from_counts(vec![5, 2, 1]).unwrap();
        let loss = config.loss.init(&counts, device).unwrap();
        device.seed(seed);
        materialize(Classifier::new(&config.model, shape, 3, loss, device).unwrap())
    }

    /// Every backbone packs: stacked, then split back over templates of other seeds, each run's
    /// classifier has its own parameters and batch-norm statistics again, bit for bit.
    #[test]
    fn every_backbone_stacks_and_unstacks_into_its_runs() {
        let device = Device::flex();
        for (kind, shape) in [
            (ModelKind::Mlp, vec![6]),
            (ModelKind::Cnn, vec![1, 8, 8]),
            (ModelKind::Resnet32, vec![3, 32, 32]),
        ] {
            let models: Vec<Classifier> = [3, 5]
                .iter()
                .map(|&s| classifier(kind, &shape, s, &device))
                .collect();
            let pack = PackedClassifier::stack(&models.iter().collect::<Vec<_>>()).unwrap();
            let variant = match &pack.backbone {
                PackedBackbone::Mlp(_) => ModelKind::Mlp,
                PackedBackbone::Cnn(_) => ModelKind::Cnn,
                PackedBackbone::ResNet32(_) => ModelKind::Resnet32,
            };
            assert_eq!(variant, kind);
            let templates = [8, 9]
                .iter()
                .map(|&s| classifier(kind, &shape, s, &device))
                .collect();
            let back = pack.unstack(templates);
            for (back, model) in back.iter().zip(&models) {
                assert_eq!(floats(back), floats(model), "{kind:?}");
            }
            assert_ne!(
                floats(&models[0]),
                floats(&models[1]),
                "{kind:?}: seeds differ"
            );
        }
    }

    /// Runs of different architectures do not pack.
    #[test]
    fn backbones_of_different_kinds_do_not_pack() {
        let device = Device::flex();
        let mlp = classifier(ModelKind::Mlp, &[1, 8, 8], 1, &device);
        let cnn = classifier(ModelKind::Cnn, &[1, 8, 8], 1, &device);
        assert!(PackedClassifier::stack(&[&cnn, &mlp]).is_err());
    }
}
