//! What the packs' unit tests share: R single backbones built from their seeds, and the checks
//! that a pack computes what its runs compute alone (forward in training and inference mode,
//! batch-norm running statistics, gradients), written once for every architecture.

use burn::module::{ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::Gradients;

use crate::run::backbone::Backbone;
use crate::run::config::{ModelKind, ModelSection};
use crate::run::launch::materialize;

/// A backbone that packs, as the tests see it.
pub(super) trait Packs: Module + Clone + Sized {
    /// The pack of R such backbones.
    type Pack: Module;
    /// The pack of `models`.
    fn stack(models: &[&Self]) -> Self::Pack;
    /// The backbones `pack` holds.
    fn unstack(pack: Self::Pack) -> Vec<Self>;
    /// This backbone alone: `[B, features]` to `[B, width]`.
    fn alone(&self, x: Tensor<2>) -> Tensor<2>;
    /// The pack: `[R, B, features]` to `[R, B, width]`.
    fn packed(pack: &Self::Pack, x: Tensor<3>) -> Tensor<3>;
    /// The backbone of `kind` for samples of `shape`, as the run of `seed` builds it: seeded,
    /// then every parameter drawn at once (`Trainer::phase`).
    fn build(kind: ModelKind, shape: &[usize], seed: u64, device: &Device) -> Self {
        device.seed(seed);
        let section = ModelSection {
            kind,
            ..ModelSection::default()
        };
        let (backbone, _) = Backbone::new(&section, shape, device).unwrap();
        Self::from_backbone(materialize(backbone))
    }
    /// The architecture's model inside `backbone`.
    fn from_backbone(backbone: Backbone) -> Self;
}

/// Every float tensor of a module (parameters and running statistics), in visiting order.
pub(super) fn floats<M: Module>(module: &M) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.val().into_data().iter::<f32>().collect());
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    collect.0
}

/// `module` with each parameter replaced by its gradient in `grads` (running statistics, which
/// have none, stay, with the update of the last training-mode forward applied).
pub(super) fn gradients<M: Module>(module: M, grads: &Gradients) -> M {
    // A batch norm's running statistics take a training-mode forward's update when read through
    // `value_sync`, not when visited or mapped; `valid` syncs them (it shares their state).
    let _ = module.valid();
    struct ToGrad<'a>(&'a Gradients);
    impl ModuleMapper for ToGrad<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            match param.val().grad(self.0) {
                Some(grad) => Param::from_tensor(grad),
                None => param,
            }
        }
    }
    module.map(&mut ToGrad(grads))
}

/// The largest difference between `a` and `b`, tensor by tensor, relative to the largest
/// magnitude in `b`'s tensor (so an element near zero is held to its tensor's scale).
pub(super) fn relative_error(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len(), "not the same tensors");
    a.iter()
        .zip(b)
        .map(|(a, b)| {
            assert_eq!(a.len(), b.len(), "not the same shapes");
            let scale = b.iter().fold(f32::MIN_POSITIVE, |m, v| m.max(v.abs()));
            let diff = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));

            diff / scale
        })
        .fold(0.0, f32::max)
}

/// The values of `x`, as one tensor for [`relative_error`].
fn values<const D: usize>(x: Tensor<D>) -> Vec<Vec<f32>> {
    vec![x.into_data().iter::<f32>().collect()]
}

/// The bound the checks hold a pack to: relative to each tensor's largest magnitude.
pub(super) const TOLERANCE: f32 = 1e-5;

/// Three runs of different seeds.
const SEEDS: [u64; 3] = [7, 11, 2024];

/// The runs of [`SEEDS`] alone, and their pack.
fn runs<M: Packs>(kind: ModelKind, shape: &[usize], device: &Device) -> (Vec<M>, M::Pack) {
    let models: Vec<M> = SEEDS
        .iter()
        .map(|&s| M::build(kind, shape, s, device))
        .collect();
    let pack = M::stack(&models.iter().collect::<Vec<_>>());
    (models, pack)
}

/// A batch of `batch` samples of `shape` for each run, `[R, batch, features]`.
fn input(shape: &[usize], batch: usize, device: &Device) -> Tensor<3> {
    let features = shape.iter().product::<usize>();
    let size = [SEEDS.len(), batch, features];
    Tensor::random(size, Distribution::Normal(0.0, 1.0), device)
}

/// `stack` then `unstack` gives back every run's tensors bit for bit.
pub(super) fn check_round_trip<M: Packs>(kind: ModelKind, shape: &[usize]) {
    let (models, pack) = runs::<M>(kind, shape, &Device::flex());
    let back = M::unstack(pack);
    assert_eq!(back.len(), models.len());
    for (back, model) in back.iter().zip(&models) {
        assert_eq!(floats(back), floats(model));
    }
    assert_ne!(floats(&models[0]), floats(&models[1]), "seeds differ");
}

/// Each run's slice of the pack's output, beside the run's own output on its slice of `x`.
fn outputs<M: Packs>(pack: &M::Pack, models: &[M], x: Tensor<3>) -> f32 {
    let packed = M::packed(pack, x.clone());
    let mut error = 0f32;
    for (r, model) in models.iter().enumerate() {
        let alone = model.alone(x.clone().narrow(0, r, 1).squeeze_dim(0));
        let mine = packed.clone().narrow(0, r, 1).squeeze_dim::<2>(0);
        error = error.max(relative_error(&values(mine), &values(alone)));
    }
    error
}

/// Training-mode forwards (batch statistics), then the running statistics they leave, then
/// inference-mode forwards: the pack equals each run alone within [`TOLERANCE`]. Returns the
/// largest relative error of the outputs and of the running statistics.
pub(super) fn check_forward<M: Packs>(
    kind: ModelKind,
    shape: &[usize],
    batch: usize,
    device: &Device,
) -> [f32; 3] {
    let device = device.clone().autodiff();
    let (models, pack) = runs::<M>(kind, shape, &device);
    let mut train = 0f32;
    for _ in 0..3 {
        train = train.max(outputs(&pack, &models, input(shape, batch, &device)));
    }
    let pack = pack.valid();
    let models: Vec<M> = models.iter().map(Module::valid).collect();
    let running = models
        .iter()
        .zip(M::unstack(pack.clone()))
        .map(|(model, back)| relative_error(&floats(&back), &floats(model)))
        .fold(0.0, f32::max);
    let inference = outputs(&pack, &models, input(shape, batch, &device).inner());
    for error in [train, running, inference] {
        assert!(error <= TOLERANCE, "relative error {error}");
    }
    [train, running, inference]
}

/// The gradient of a loss summed over runs, unstacked, equals each run's gradient alone within
/// [`TOLERANCE`]. Returns the largest relative error.
pub(super) fn check_gradients<M: Packs>(
    kind: ModelKind,
    shape: &[usize],
    batch: usize,
    device: &Device,
) -> f32 {
    let device = device.clone().autodiff();
    let (models, pack) = runs::<M>(kind, shape, &device);
    let x = input(shape, batch, &device);
    let out = M::packed(&pack, x.clone());
    let weights = out.random_like(Distribution::Normal(0.0, 1.0));
    let grads = (out * weights.clone()).sum().backward();
    let packed = M::unstack(gradients(pack, &grads));
    let mut error = 0f32;
    for (r, (model, packed)) in models.into_iter().zip(packed).enumerate() {
        let slice = |t: Tensor<3>| t.narrow(0, r, 1).squeeze_dim::<2>(0);
        let out = model.alone(slice(x.clone()));
        let grads = (out * slice(weights.clone())).sum().backward();
        let alone = gradients(model, &grads);
        error = error.max(relative_error(&floats(&packed), &floats(&alone)));
    }
    assert!(error <= TOLERANCE, "relative error {error}");
    error
}

/// [`Packs`] for a backbone, its pack and its [`Backbone`] variant; with `tests`, also the
/// tests every pack passes on flex, for the backbone of `kind` on samples of `shape`: the round
/// trip ([`check_round_trip`]) and the forward passes of batches of `batch` ([`check_forward`]).
macro_rules! packs {
    ($model:ty, $pack:ty, $variant:path, tests($kind:expr, $shape:expr, batch $batch:literal)) => {
        $crate::run::pack::testing::packs!($model, $pack, $variant);

        /// `stack` then `unstack` gives back every run bit for bit.
        #[test]
        fn round_trips_bit_for_bit() {
            $crate::run::pack::testing::check_round_trip::<$model>($kind, &$shape);
        }

        /// The pack's forward passes equal each run's alone.
        #[test]
        fn forward_equals_each_run_alone() {
            let device = burn::prelude::Device::flex();
            let errors = $crate::run::pack::testing::check_forward::<$model>(
                $kind, &$shape, $batch, &device,
            );
            eprintln!(
                "{}: relative errors (train, running stats, inference) {errors:?}",
                stringify!($pack)
            );
        }
    };
    ($model:ty, $pack:ty, $variant:path) => {
        impl $crate::run::pack::testing::Packs for $model {
            type Pack = $pack;
            fn stack(models: &[&Self]) -> $pack {
                <$pack>::stack(models)
            }
            fn unstack(pack: $pack) -> Vec<Self> {
                pack.unstack()
            }
            fn alone(&self, x: Tensor<2>) -> Tensor<2> {
                $variant(self.clone()).forward(x)
            }
            fn packed(pack: &$pack, x: Tensor<3>) -> Tensor<3> {
                pack.forward(x)
            }
            fn from_backbone(backbone: $crate::run::backbone::Backbone) -> Self {
                match backbone {
                    $variant(model) => model,
                    _ => unreachable!("another architecture was asked for"),
                }
            }
        }
    };
}
pub(super) use packs;
