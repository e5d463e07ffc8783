//! Packed losses: the losses of R runs trained as one model (parameters with a leading run
//! dimension), in one pass per loss kind. [`PackedLoss`] is the packed [`ImbalanceLoss`],
//! [`PackedMultiLabelLoss`] the packed [`MultiLabelLoss`](crate::MultiLabelLoss).
//!
//! Each run's loss is built as its single loss is (`LossConfig::init_for_epoch`), and the
//! pack stacks the class tensors those hold: one definition of every margin, offset and
//! weight. `softmax.rs` computes the softmax kinds, `sigmoid.rs` the sigmoid kinds, `reduce.rs`
//! each run's reduction.

mod reduce;
mod sigmoid;
mod softmax;

use burn::prelude::*;
use rebalance_weights::ClassCounts;

use crate::cross_entropy::class_tensor;
use crate::{ImbalanceLoss, LossConfig, LossError, LossKind, MultiLabelLoss};
use reduce::RunReductions;
use sigmoid::{PackedSigmoid, PackedTargets, SigmoidRun};
use softmax::{PackedSoftmax, SoftmaxRun};

/// The losses of a pack of R runs — the same architecture trained as one model, whose
/// parameters carry a leading run dimension — computed in one pass: each run with its own
/// class weights and class constants, all of one loss kind.
///
/// # Shapes
///
/// | tensor | shape |
/// |---|---|
/// | logits | `[R, B, C]`: run `r`'s batch is `logits[r]` |
/// | targets | `[R, B]`, class indices in `0..C` (or the ignore index) |
/// | class tensors (weights, offsets, margins, ...) | `[R, C]`, run `r`'s in row `r` |
/// | [`forward`](Self::forward) | `[R]`: run `r`'s loss, reduced by run `r`'s reduction |
/// | [`forward_no_reduction`](Self::forward_no_reduction) | `[R, B]`: the weighted per-sample losses |
///
/// `forward(..)[r]` is the single loss of run `r` on `logits[r]` and `targets[r]`, to float
/// precision (the tests check values and gradients to 1e-6 relative). Differentiate
/// `forward(..).sum()`: run `r`'s logits then get the gradient of run `r`'s loss alone.
///
/// # The kinds
///
/// Every kind of [`LossConfig`]. The softmax kinds take the single losses' log-softmax of the
/// `[R·B, C]` rows, each sample's class constants gathered from its run's row of the `[R, C]`
/// tensors; the sigmoid kinds take the single losses' element loss of the `[B, R·C]` matrix of
/// the runs side by side:
///
/// | kind | run `r`'s per-sample loss | paper | per run |
/// |---|---|---|---|
/// | `cross-entropy` | `-Σ_c w_{r,c} q_c log p_c`, `q = (1-ε_{r,y})·onehot(y) + ε_{r,y}/C` | PyTorch `cross_entropy` | `w`, `ε` (uniform or label-aware, Zhong et al., CVPR 2021) |
/// | `focal` | `-w_{r,y} (1-p_y)^{γ_r} log p_y` | Lin et al., ICCV 2017 | `w`, `γ` |
/// | `ldam` | `-w_{r,y} log softmax(s_r·(z - m_{r,y}·onehot(y)))_y` | Cao et al., NeurIPS 2019 | `w`, `m`, `s` |
/// | `logit-adjusted` | `-w_{r,y} log softmax(z + τ_r log π_r)_y` | Menon et al., ICLR 2021 | `w`, `τ log π` |
/// | `balanced-softmax` | `-w_{r,y} log softmax(z + log n_r)_y` | Ren et al., NeurIPS 2020 | `w`, `log n` |
/// | `vs` | `-w_{r,y} log softmax(Δ_r ⊙ z + τ_r log π_r)_y` | Kini et al., NeurIPS 2021 | `w`, `Δ`, `τ log π` |
/// | `lade` | `-log softmax(z + log π_r)_y + α_r·R_r` | Hong et al., CVPR 2021 | `π`, `α`, `λ` |
/// | `class-balanced` | the base loss with the ENS weights of `β_r` | Cui et al., CVPR 2019 | `w` (from `β`) |
/// | `sigmoid` | `s_{r,n} Σ_c v_{r,c}·e_c`, `e` the BCE with `pos_weight_r` | PyTorch `BCEWithLogits` | `w`, `pos_weight`, label weighting |
/// | `sigmoid-focal` | as `sigmoid`, `e` the focal element loss | Lin et al., ICCV 2017 | as `sigmoid` |
///
/// For the formulas in full, see each kind's loss ([`WeightedCrossEntropy`](crate::WeightedCrossEntropy),
/// ...). The reduction is per run too (`weighted-mean` `Σ w l / Σ w`, `mean`, `sum`).
///
/// # What the runs of a pack share
///
/// A pack holds one kind (for `class-balanced`, one base) and one number of classes: a
/// sweep's group is split by kind, and the runs share the data. Within a kind, what is cheap
/// per run is per run: every class tensor, focal's `γ`, the smoothing `ε`, LDAM's scale `s`,
/// LADE's `α` and `λ`, the sigmoid losses' label weighting and `no_label_weight`, and the
/// reduction. Shared, and refused with [`LossError::PackMismatch`] where runs differ:
/// - cross-entropy's `ignore_index`: it marks the unlabeled samples of the data the runs share;
/// - the sigmoid kinds' `γ` and `α`: their element loss is the single losses' own, computed
///   once on the runs' logits side by side, with its focal parameters as scalars.
///
/// The reduction `none` is refused: each run's loss is one value
/// ([`forward_no_reduction`](Self::forward_no_reduction) gives the per-sample losses).
///
/// The sigmoid kinds run as a composition of tensor operations on every backend: the single
/// losses' fused pass on flex and wgpu sums whole rows, which would mix the runs.
///
/// ```
/// use burn::prelude::*;
/// use rebalance_loss::{LossConfig, PackedLoss};
/// use rebalance_weights::ClassCounts;
///
/// let device = Device::flex();
/// let counts = ClassCounts::from_counts(vec![900, 90, 10])?;
/// // Three runs of one kind, each with its own class weights.
/// let configs: Vec<LossConfig> = ["", "scheme = \"ins\"", "scheme = \"ens\"\nbeta = 0.99"]
///     .iter()
///     .map(|keys| toml::from_str(&format!("kind = \"focal\"\n{keys}")).unwrap())
///     .collect();
/// let loss = PackedLoss::new(&configs, &[counts.clone(), counts.clone(), counts], 0, &device)?;
/// let logits = Tensor::<3>::zeros([3, 2, 3], &device); // [R, B, C]
/// let targets = Tensor::<2, Int>::from_ints([[0, 2], [0, 2], [1, 2]], &device); // [R, B]
/// let per_run = loss.forward(logits, targets); // [R]: differentiate per_run.sum()
/// assert_eq!(per_run.dims(), [3]);
///
/// // One kind per pack.
/// let mixed = [configs[0].clone(), toml::from_str("kind = \"ldam\"").unwrap()];
/// let counts = ClassCounts::from_counts(vec![900, 90, 10])?;
/// assert!(PackedLoss::new(&mixed, &[counts.clone(), counts], 0, &device).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Module, Debug)]
pub struct PackedLoss {
    terms: PackedTerms,
    reductions: RunReductions,
    #[module(skip)]
    kind: LossKind,
}

/// The computation of a [`PackedLoss`], by family.
// Built once per pack and held by the model: the size of the larger variant costs nothing,
// and boxing it would hide it from Burn's Module derive (as `ImbalanceLoss`).
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
enum PackedTerms {
    /// The softmax kinds.
    Softmax(PackedSoftmax),
    /// The sigmoid kinds, of class-index targets.
    Sigmoid(PackedSigmoid),
}

impl PackedLoss {
    /// The losses of `configs[r]` with the training counts `counts[r]` (one entry per run),
    /// at `epoch` (counted from 0; the DRW switch, as
    /// [`LossConfig::init_for_epoch`]), on `device`. Rebuild it when
    /// [`LossConfig::weights_change_at`] says so for any run.
    ///
    /// # Errors
    /// No run, `configs` and `counts` of different lengths, runs of different kinds (or
    /// `class-balanced` bases) or numbers of classes, a shared parameter that differs (see
    /// the type's docs), the reduction `none`, and every error of
    /// [`LossConfig::init_for_epoch`] of each run.
    pub fn new(
        configs: &[LossConfig],
        counts: &[ClassCounts],
        epoch: usize,
        device: &Device,
    ) -> Result<Self, LossError> {
        let num_classes = check_runs(configs, counts)?;
        let reductions = run_reductions(configs, device)?;
        let losses = configs
            .iter()
            .zip(counts)
            .map(|(config, counts)| config.init_for_epoch(counts, epoch, device))
            .collect::<Result<Vec<_>, _>>()?;
        let softmax: Option<Vec<SoftmaxRun>> = losses
            .iter()
            .map(|loss| SoftmaxRun::of(loss, num_classes, device))
            .collect();
        let sigmoid: Option<Vec<SigmoidRun>> = losses.iter().map(sigmoid_run).collect();
        // One kind and base in every run (`check_runs`): all softmax or all sigmoid losses.
        let terms = match (softmax, sigmoid) {
            (Some(runs), _) => PackedTerms::Softmax(PackedSoftmax::new(runs, num_classes, device)?),
            (None, Some(runs)) => {
                PackedTerms::Sigmoid(PackedSigmoid::new(runs, num_classes, device)?)
            }
            (None, None) => {
                return Err(LossError::InvalidParameter {
                    name: "kind",
                    value: configs[0].name().into(),
                    expected: "one loss kind in every run of a pack",
                });
            }
        };
        Ok(Self {
            terms,
            reductions,
            kind: configs[0].kind(),
        })
    }

    /// Each run's loss, reduced by its reduction: `[R]`.
    ///
    /// # Shapes
    /// - logits: `[runs, batch_size, num_classes]`
    /// - targets: `[runs, batch_size]`, class indices in `0..num_classes`
    pub fn forward(&self, logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<1> {
        self.per_sample(logits, targets).reduce(&self.reductions)
    }

    /// The per-sample losses of every run, already weighted: `[runs, batch_size]`.
    pub fn forward_no_reduction(&self, logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<2> {
        self.per_sample(logits, targets).loss
    }

    /// The loss kind of every run.
    pub fn kind(&self) -> LossKind {
        self.kind
    }

    /// The number of runs `R`.
    pub fn runs(&self) -> usize {
        self.reductions.runs()
    }

    fn per_sample(&self, logits: Tensor<3>, targets: Tensor<2, Int>) -> reduce::PackedPerSample {
        match &self.terms {
            PackedTerms::Softmax(terms) => terms.per_sample(logits, targets),
            PackedTerms::Sigmoid(terms) => {
                terms.per_sample(logits, PackedTargets::Indices(targets))
            }
        }
    }
}

/// The losses of multi-hot targets of a pack of R runs: the packed
/// [`MultiLabelLoss`](crate::MultiLabelLoss), as [`PackedLoss`] is the packed
/// [`ImbalanceLoss`]. The kinds are the sigmoid ones (`sigmoid`, `sigmoid-focal`,
/// `class-balanced` on its `sigmoid` or `focal` base); each run has its own class weights,
/// `pos_weight`, `label_weighting`, `no_label_weight` and reduction, and the runs share `γ` and
/// `α` (see [`PackedLoss`]).
///
/// # Shapes
/// - logits: `[runs, batch_size, num_labels]`
/// - targets: `[runs, batch_size, num_labels]`, multi-hot (values in `[0, 1]`)
/// - [`forward`](Self::forward): `[runs]`; [`forward_no_reduction`](Self::forward_no_reduction):
///   `[runs, batch_size]`
///
/// ```
/// use burn::prelude::*;
/// use rebalance_loss::{LossConfig, PackedMultiLabelLoss};
/// use rebalance_weights::ClassCounts;
///
/// let device = Device::flex();
/// let counts = ClassCounts::from_counts(vec![900, 90, 10])?; // positives per label
/// let configs: Vec<LossConfig> = ["", "scheme = \"ens\"\npos_weight = \"balanced\""]
///     .iter()
///     .map(|keys| toml::from_str(&format!("kind = \"sigmoid\"\n{keys}")).unwrap())
///     .collect();
/// let loss = PackedMultiLabelLoss::new(&configs, &[counts.clone(), counts], &[1000, 1000], 0, &device)?;
/// let logits = Tensor::<3>::zeros([2, 4, 3], &device);
/// let targets = Tensor::<3>::ones([2, 4, 3], &device);
/// assert_eq!(loss.forward(logits, targets).dims(), [2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Module, Debug)]
pub struct PackedMultiLabelLoss {
    terms: PackedSigmoid,
    reductions: RunReductions,
    #[module(skip)]
    kind: LossKind,
}

impl PackedMultiLabelLoss {
    /// The losses of `configs[r]` with `label_counts[r]` positives per label over
    /// `samples[r]` training rows (one entry per run), at `epoch`, on `device`: as
    /// [`LossConfig::init_multi_label`] for each run.
    ///
    /// # Errors
    /// As [`PackedLoss::new`], `samples` of another length than `configs`, and every error
    /// of [`LossConfig::init_multi_label`] of each run (a softmax kind among them).
    pub fn new(
        configs: &[LossConfig],
        label_counts: &[ClassCounts],
        samples: &[u64],
        epoch: usize,
        device: &Device,
    ) -> Result<Self, LossError> {
        let num_classes = check_runs(configs, label_counts)?;
        check_length("samples", samples.len(), configs.len())?;
        let reductions = run_reductions(configs, device)?;
        let runs = configs
            .iter()
            .zip(label_counts)
            .zip(samples)
            .map(|((config, counts), &samples)| {
                let terms = match config.init_multi_label(counts, samples, epoch, device)? {
                    MultiLabelLoss::Sigmoid(loss) => SigmoidRun::of(loss.terms()),
                    MultiLabelLoss::SigmoidFocal(loss) => SigmoidRun::of(loss.terms()),
                };
                Ok(terms)
            })
            .collect::<Result<Vec<_>, LossError>>()?;
        Ok(Self {
            terms: PackedSigmoid::new(runs, num_classes, device)?,
            reductions,
            kind: configs[0].kind(),
        })
    }

    /// Each run's loss, reduced by its reduction: `[R]`.
    ///
    /// # Shapes
    /// - logits: `[runs, batch_size, num_labels]`
    /// - targets: `[runs, batch_size, num_labels]`, values in `[0, 1]`
    pub fn forward(&self, logits: Tensor<3>, targets: Tensor<3>) -> Tensor<1> {
        self.terms
            .per_sample(logits, PackedTargets::Dense(targets))
            .reduce(&self.reductions)
    }

    /// The per-sample losses of every run, already weighted: `[runs, batch_size]`.
    pub fn forward_no_reduction(&self, logits: Tensor<3>, targets: Tensor<3>) -> Tensor<2> {
        self.terms
            .per_sample(logits, PackedTargets::Dense(targets))
            .loss
    }

    /// The loss kind of every run.
    pub fn kind(&self) -> LossKind {
        self.kind
    }

    /// The number of runs `R`.
    pub fn runs(&self) -> usize {
        self.reductions.runs()
    }
}

/// The run of a sigmoid loss of class-index targets.
fn sigmoid_run(loss: &ImbalanceLoss) -> Option<SigmoidRun> {
    MultiLabelLoss::from_loss(loss.clone()).map(|loss| match loss {
        MultiLabelLoss::Sigmoid(loss) => SigmoidRun::of(loss.terms()),
        MultiLabelLoss::SigmoidFocal(loss) => SigmoidRun::of(loss.terms()),
    })
}

/// The number of classes of the pack, after checking that it has runs, one count per config,
/// one kind (and `class-balanced` base) and one number of classes.
fn check_runs(configs: &[LossConfig], counts: &[ClassCounts]) -> Result<usize, LossError> {
    if configs.is_empty() {
        return Err(LossError::InvalidParameter {
            name: "runs",
            value: "0".into(),
            expected: "at least one run in a pack",
        });
    }
    check_length("counts", counts.len(), configs.len())?;
    let kind = |config: &LossConfig| match config {
        LossConfig::ClassBalanced(keys) => format!("{} (base {})", config.name(), keys.base),
        _ => config.name().to_string(),
    };
    let mismatch = |run: usize, name, found: String, expected: String, why| {
        Err(LossError::PackMismatch {
            run,
            name,
            found,
            expected,
            why,
        })
    };
    for (run, config) in configs.iter().enumerate() {
        if kind(config) != kind(&configs[0]) {
            return mismatch(
                run,
                "kind",
                kind(config),
                kind(&configs[0]),
                "a pack computes one loss kind; split the runs by kind",
            );
        }
    }
    let num_classes = counts[0].num_classes();
    for (run, counts) in counts.iter().enumerate() {
        if counts.num_classes() != num_classes {
            return mismatch(
                run,
                "classes",
                counts.num_classes().to_string(),
                num_classes.to_string(),
                "the runs of a pack share their logits' shape [R, B, C]",
            );
        }
    }
    Ok(num_classes)
}

/// `len` equals the number of runs.
fn check_length(name: &'static str, len: usize, runs: usize) -> Result<(), LossError> {
    if len == runs {
        return Ok(());
    }
    Err(LossError::InvalidParameter {
        name,
        value: format!("{len} entries"),
        expected: "one entry per run (per config)",
    })
}

fn run_reductions(configs: &[LossConfig], device: &Device) -> Result<RunReductions, LossError> {
    let reductions: Vec<_> = configs.iter().map(LossConfig::reduction).collect();
    RunReductions::new(&reductions, device)
}

/// The runs' `[C]` rows stacked `[R, C]`, a run without one given the row of `fill`; `None`
/// when no run has one.
fn stack_classes(
    rows: Vec<Option<Tensor<1>>>,
    fill: f64,
    num_classes: usize,
    device: &Device,
) -> Result<Option<Tensor<2>>, LossError> {
    if rows.iter().all(Option::is_none) {
        return Ok(None);
    }
    let rows = rows
        .into_iter()
        .map(|row| match row {
            Some(row) if row.dims() == [num_classes] => Ok(row),
            Some(row) => Err(LossError::WrongLength {
                name: "class tensor",
                len: row.dims()[0],
                num_classes,
            }),
            None => Ok(Tensor::full([num_classes], fill, device)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Tensor::stack(rows, 0)))
}

/// One value per run, `[R]`.
fn run_values(values: impl Iterator<Item = f64>, device: &Device) -> Tensor<1> {
    class_tensor(&values.collect::<Vec<_>>(), device)
}
