//! The packed classifier: R runs' backbones and heads as one Burn module whose parameters carry
//! a leading run dimension. Built by stacking R classifiers built as each run builds its own
//! (its seed, `seeded_init`), and split back into R classifiers after training, so a packed run
//! starts and ends as the run trained alone would.

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::nn::{Dropout, Linear, Relu};
use burn::prelude::*;
use rebalance_loss::l2_normalize;

use crate::run::backbone::Backbone;
use crate::run::model::{Head, TaskClassifier, TaskLoss};

/// Why a model cannot be packed: the backbones that have no packed form yet.
#[derive(Debug, thiserror::Error)]
#[error("model.kind = {0}: no packed form yet (the MLP packs); its runs train alone")]
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

/// R linear layers side by side: weights `[R, in, out]`, biases `[R, 1, out]`.
#[derive(Module, Debug)]
pub struct PackedLinear {
    weight: Param<Tensor<3>>,
    bias: Option<Param<Tensor<3>>>,
}

impl PackedLinear {
    /// The layers `layers` (one per run) stacked.
    fn stack(layers: &[&Linear]) -> Self {
        let mut params = stacked(layers).into_iter();
        let weight = params.next().expect("a linear layer has a weight");
        Self {
            weight,
            bias: params.next(),
        }
    }

    /// `[R, B, in]` to `[R, B, out]`: one batched product for every run.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let y = x.matmul(self.weight.val());
        match &self.bias {
            Some(bias) => y + bias.val(),
            None => y,
        }
    }
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

/// The packed feature extractor: one variant per backbone with a packed form. The packed
/// CNN and ResNet-32 (grouped convolutions, `stack(&[&Cnn])` / `unstack`) join here; until
/// then their runs train alone ([`Unpackable`]).
#[derive(Module, Debug)]
pub enum PackedBackbone {
    /// R MLPs.
    Mlp(PackedMlp),
}

impl PackedBackbone {
    /// The backbones of the runs, stacked.
    ///
    /// # Errors
    /// A backbone with no packed form.
    fn stack(backbones: &[&Backbone]) -> Result<Self, Unpackable> {
        let mlps = backbones
            .iter()
            .map(|b| match b {
                Backbone::Mlp(mlp) => Ok(mlp),
                Backbone::Cnn(_) => Err(Unpackable("cnn")),
                Backbone::ResNet32(_) => Err(Unpackable("resnet32")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let depth = mlps.first().map_or(0, |m| m.layers().len());
        Ok(PackedBackbone::Mlp(PackedMlp {
            layers: (0..depth)
                .map(|k| {
                    PackedLinear::stack(&mlps.iter().map(|m| &m.layers()[k]).collect::<Vec<_>>())
                })
                .collect(),
            activation: Relu::new(),
            dropout: mlps[0].dropout().clone(),
        }))
    }

    /// `[R, B, features]` to `[R, B, width]`.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        match self {
            PackedBackbone::Mlp(mlp) => mlp.forward(x),
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
    /// A backbone with no packed form, or heads of different kinds.
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
    /// last phase, with that phase's loss) with run `r`'s trained parameters.
    pub fn unstack<L: Module + TaskLoss>(
        self,
        templates: Vec<TaskClassifier<L>>,
    ) -> Vec<TaskClassifier<L>> {
        let backbone = params_3d(&self.backbone);
        let head = params_3d(&self.head);
        templates
            .into_iter()
            .enumerate()
            .map(|(r, template)| {
                let (b, h) = template.parts();
                let (b, h) = (
                    unstacked(b.clone(), &backbone, r),
                    unstacked(h.clone(), &head, r),
                );
                template.with_network(b, h)
            })
            .collect()
    }
}
