//! The softmax losses of a pack in one pass: cross-entropy (label smoothing, label-aware
//! smoothing, ignore index), focal, LDAM, logit-adjusted, Balanced Softmax, VS, class-balanced
//! softmax and LADE, each run with its own class tensors.
//!
//! Every one of them is a cross-entropy of adjusted logits, `CE(s_r·(Δ_r ⊙ z + ι_r - m_{r,y}·
//! onehot(y)), y)`, with the focal modulator, label smoothing or the LADE regulariser on top:
//! the class tensors a run's single loss holds (`[C]`) are stacked `[R, C]` and broadcast over
//! the batch, the per-sample parts are gathered with the targets `[R, B]`, and the
//! log-softmax is the single losses' [`RowLogSoftmax`] of the `[R·B, C]` rows.

use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;

use super::reduce::PackedPerSample;
use super::{run_values, stack_classes};
use crate::cross_entropy::RowLogSoftmax;
use crate::lade::LadeTerms;
use crate::sigmoid::one_hot_targets;
use crate::{ClassBalancedLoss, ImbalanceLoss, LossError, WeightedCrossEntropy};

/// The exponent floor of LDAM's log-sum-exp, as [`Ldam`](crate::Ldam) applies it (see there:
/// `exp(-87)` is the smallest normal `f32`).
const LDAM_EXP_FLOOR: f64 = -87.0;

/// One run's softmax loss, as its single loss module holds it (`[C]` tensors).
#[derive(Default)]
pub(crate) struct SoftmaxRun {
    weights: Option<Tensor<1>>,
    scale: Option<Tensor<1>>,
    shift: Option<Tensor<1>>,
    margins: Option<Tensor<1>>,
    logit_scale: Option<f64>,
    smoothing: Option<Tensor<1>>,
    gamma: Option<f64>,
    lade: Option<LadeTerms>,
    ignore_index: Option<usize>,
}

impl SoftmaxRun {
    /// The run of `loss`, where it is a softmax loss. Uniform label smoothing becomes a `[C]`
    /// row of `ε`.
    pub fn of(loss: &ImbalanceLoss, num_classes: usize, device: &Device) -> Option<Self> {
        Some(match loss {
            ImbalanceLoss::CrossEntropy(loss) => Self::cross_entropy(loss, num_classes, device),
            ImbalanceLoss::ClassBalanced(loss) => match loss.base() {
                ClassBalancedLoss::Softmax(loss) => Self::cross_entropy(loss, num_classes, device),
                ClassBalancedLoss::Sigmoid(_) | ClassBalancedLoss::Focal(_) => return None,
            },
            ImbalanceLoss::Focal(loss) => Self {
                weights: loss.weights.clone(),
                gamma: Some(loss.gamma),
                ..Self::default()
            },
            ImbalanceLoss::Ldam(loss) => Self {
                weights: loss.weights.clone(),
                margins: Some(loss.margins.clone()),
                logit_scale: Some(loss.scale),
                ..Self::default()
            },
            ImbalanceLoss::LogitAdjusted(loss) => Self {
                weights: loss.weights.clone(),
                shift: Some(loss.shift.clone()),
                ..Self::default()
            },
            ImbalanceLoss::BalancedSoftmax(loss) => Self {
                weights: loss.weights.clone(),
                shift: Some(loss.log_counts.clone()),
                ..Self::default()
            },
            ImbalanceLoss::Vs(loss) => Self {
                weights: loss.weights.clone(),
                scale: Some(loss.scale.clone()),
                shift: Some(loss.shift.clone()),
                ..Self::default()
            },
            ImbalanceLoss::Lade(loss) => Self {
                shift: Some(loss.log_prior.clone()),
                lade: Some(loss.run_terms()),
                ..Self::default()
            },
            ImbalanceLoss::Sigmoid(_) | ImbalanceLoss::SigmoidFocal(_) => return None,
        })
    }

    fn cross_entropy(loss: &WeightedCrossEntropy, num_classes: usize, device: &Device) -> Self {
        let smoothing = match &loss.class_smoothing {
            Some(values) => Some(values.clone()),
            None if loss.smoothing > 0.0 => {
                Some(Tensor::full([num_classes], loss.smoothing, device))
            }
            None => None,
        };
        Self {
            weights: loss.weights.clone(),
            smoothing,
            ignore_index: loss.ignore_index,
            ..Self::default()
        }
    }
}

/// The softmax losses of a pack: each run's class tensors stacked `[R, C]` (a run without one
/// gets the neutral row: weight 1, scale 1, offset, margin and smoothing 0).
#[derive(Module, Debug)]
pub struct PackedSoftmax {
    /// `[R, C]` class weights `w_{r,c}`.
    weights: Option<Tensor<2>>,
    /// `[R, C]` multiplicative logit scale `Δ_{r,c}` (VS).
    scale: Option<Tensor<2>>,
    /// `[R, C]` additive logit offset `ι_{r,c}` (`τ·log π`, `log n`, `log π`).
    shift: Option<Tensor<2>>,
    /// `[R, C]` LDAM margins `m_{r,c}`.
    margins: Option<Tensor<2>>,
    /// `[R]` LDAM logit scale `s_r`.
    logit_scale: Option<Tensor<1>>,
    /// `[R, C]` label smoothing `ε_{r,c}` by the target's class.
    smoothing: Option<Tensor<2>>,
    /// `[R]` focal exponent `γ_r`.
    gamma: Option<Tensor<1>>,
    /// The LADE regulariser.
    lade: Option<PackedLade>,
    /// The exponent floor of the log-sum-exp (LDAM's).
    exp_floor: Option<f64>,
    /// The target index no run counts.
    ignore_index: Option<usize>,
}

/// The LADE regulariser of each run (Hong et al., CVPR 2021; see [`Lade`](crate::Lade)).
#[derive(Module, Debug)]
pub struct PackedLade {
    /// `[R, C]` training prior `π_{r,c}`.
    prior: Tensor<2>,
    /// `[R, C]` `log(1/C) - log π_{r,c}`.
    target_shift: Tensor<2>,
    /// `[R, 1]` weight `α_r` of the regulariser.
    alpha: Tensor<2>,
    /// `[R, 1, 1]` ReMINE penalty `λ_r`.
    lambda: Tensor<3>,
}

impl PackedSoftmax {
    /// Stacks the runs' tensors.
    ///
    /// # Errors
    /// Runs with different ignore indices, or a class tensor of another length than
    /// `num_classes`.
    pub fn new(
        runs: Vec<SoftmaxRun>,
        num_classes: usize,
        device: &Device,
    ) -> Result<Self, LossError> {
        if let Some(run) = runs
            .iter()
            .position(|run| run.ignore_index != runs[0].ignore_index)
        {
            let shown = |index: Option<usize>| index.map_or("none".into(), |i| i.to_string());
            return Err(LossError::PackMismatch {
                run,
                name: "ignore_index",
                found: shown(runs[run].ignore_index),
                expected: shown(runs[0].ignore_index),
                why: "the runs of a pack share their data, and the ignore index marks its \
                      unlabeled samples",
            });
        }
        let stack = |part: fn(&SoftmaxRun) -> Option<Tensor<1>>, fill: f64| {
            stack_classes(runs.iter().map(part).collect(), fill, num_classes, device)
        };
        let margins = stack(|run| run.margins.clone(), 0.0)?;
        let scalars = |part: fn(&SoftmaxRun) -> Option<f64>, neutral: f64| {
            runs.iter()
                .any(|run| part(run).is_some())
                .then(|| run_values(runs.iter().map(|run| part(run).unwrap_or(neutral)), device))
        };
        // A pack holds one kind: every run is LADE, or none is.
        let lade = runs
            .iter()
            .map(|run| run.lade.as_ref())
            .collect::<Option<Vec<_>>>()
            .map(|lades| PackedLade::new(&lades, device));
        Ok(Self {
            weights: stack(|run| run.weights.clone(), 1.0)?,
            scale: stack(|run| run.scale.clone(), 1.0)?,
            shift: stack(|run| run.shift.clone(), 0.0)?,
            exp_floor: margins.as_ref().map(|_| LDAM_EXP_FLOOR),
            margins,
            logit_scale: scalars(|run| run.logit_scale, 1.0),
            smoothing: stack(|run| run.smoothing.clone(), 0.0)?,
            // γ = 0 in every run is cross-entropy, without the modulator (as `Focal`).
            gamma: scalars(|run| run.gamma.filter(|g| *g > 0.0), 0.0),
            lade,
            ignore_index: runs[0].ignore_index,
        })
    }

    /// The per-sample losses of every run, `[R, B]`.
    pub(crate) fn per_sample(&self, logits: Tensor<3>, targets: Tensor<2, Int>) -> PackedPerSample {
        let [runs, batch_size, num_classes] = logits.dims();
        let (targets, valid) = match self.ignore_index {
            Some(ignore) => {
                let ignored = targets.clone().equal_elem(ignore as i64);
                let valid = ignored.clone().bool_not().float();
                // Any in-range index will do for the ignored samples: their terms are zeroed.
                (targets.mask_fill(ignored, 0), Some(valid))
            }
            None => (targets, None),
        };
        let (log_p, log_softmax) = self.log_softmax(logits.clone(), targets.clone());
        let mut loss = log_p.clone().neg();
        if let Some(gamma) = &self.gamma {
            // Focal's (1 - p_y)^γ, floored as `Focal` floors it, with each run's γ.
            let modulator = log_p
                .exp()
                .neg()
                .add_scalar(1.0)
                .clamp_min(f32::MIN_POSITIVE)
                .powf(
                    gamma
                        .clone()
                        .unsqueeze_dim::<2>(1)
                        .expand([runs, batch_size]),
                );
            loss = loss * modulator;
        }
        let sample_weights = self
            .weights
            .as_ref()
            .map(|w| w.clone().gather(1, targets.clone()));
        if let Some(sw) = &sample_weights {
            loss = loss * sw.clone();
        }
        if let Some(epsilons) = &self.smoothing {
            // As `softmax_cross_entropy`: -Σ_c w_c·log p_c = W·lse - Σ_c w_c·s_c, each run with
            // its own weights (a batched [B, C] × [C, 1] product per run).
            let RowLogSoftmax {
                shifted,
                log_sum_exp,
            } = log_softmax;
            let shifted = shifted.reshape([runs, batch_size, num_classes]);
            let log_sum_exp = log_sum_exp.reshape([runs, batch_size]);
            let uniform_term = match &self.weights {
                Some(w) => {
                    log_sum_exp * w.clone().sum_dim(1)
                        - shifted
                            .matmul(w.clone().unsqueeze_dim::<3>(2))
                            .squeeze_dim::<2>(2)
                }
                None => {
                    log_sum_exp.mul_scalar(num_classes as f64)
                        - shifted.sum_dim(2).squeeze_dim::<2>(2)
                }
            };
            let e = epsilons.clone().gather(1, targets.clone());
            loss = loss * e.clone().neg().add_scalar(1.0)
                + uniform_term * e.div_scalar(num_classes as f64);
        }
        if let Some(lade) = &self.lade {
            loss = loss + lade.regularizer(logits, targets).expand([runs, batch_size]);
        }
        PackedPerSample::masked(loss, sample_weights, valid)
    }

    /// `log p_{r,n,y}` (`[R, B]`) of the adjusted logits `s_r·(Δ_r ⊙ z + ι_r - m_{r,y}·onehot(y))`,
    /// and the parts of their log-softmax.
    fn log_softmax(
        &self,
        logits: Tensor<3>,
        targets: Tensor<2, Int>,
    ) -> (Tensor<2>, RowLogSoftmax) {
        let [runs, batch_size, num_classes] = logits.dims();
        let mut adjusted = logits;
        if let Some(scale) = &self.scale {
            adjusted = adjusted * scale.clone().unsqueeze_dim::<3>(1);
        }
        if let Some(shift) = &self.shift {
            adjusted = adjusted + shift.clone().unsqueeze_dim::<3>(1);
        }
        if let (Some(margins), Some(scale)) = (&self.margins, &self.logit_scale) {
            // As `Ldam`: each sample's own margin off its target logit, one scatter.
            let own_margins = margins
                .clone()
                .gather(1, targets.clone())
                .neg()
                .unsqueeze_dim::<3>(2);
            adjusted = adjusted.scatter(
                2,
                targets.clone().unsqueeze_dim::<3>(2),
                own_margins,
                IndexingUpdateOp::Add,
            ) * scale.clone().reshape([runs, 1, 1]);
        }
        let rows = runs * batch_size;
        let log_softmax = RowLogSoftmax::new(adjusted.reshape([rows, num_classes]), self.exp_floor);
        let log_p = log_softmax
            .at(targets.reshape([rows]))
            .reshape([runs, batch_size]);
        (log_p, log_softmax)
    }
}

impl PackedLade {
    fn new(runs: &[&LadeTerms], device: &Device) -> Self {
        let stack = |part: fn(&LadeTerms) -> Tensor<1>| {
            Tensor::stack(runs.iter().map(|run| part(run)).collect(), 0)
        };
        let scalars =
            |part: fn(&LadeTerms) -> f64| run_values(runs.iter().map(|run| part(run)), device);
        Self {
            prior: stack(|run| run.prior.clone()),
            target_shift: stack(|run| run.target_shift.clone()),
            alpha: scalars(|run| run.alpha).unsqueeze_dim(1),
            lambda: scalars(|run| run.lambda).reshape([runs.len(), 1, 1]),
        }
    }

    /// `α_r · R_r` of each run's batch, `[R, 1]`: [`Lade::regularizer`](crate::Lade::regularizer)
    /// with the batch dimension 1 and each run's prior.
    fn regularizer(&self, logits: Tensor<3>, targets: Tensor<2, Int>) -> Tensor<2> {
        let [runs, batch_size, num_classes] = logits.dims();
        let mask = one_hot_targets(targets.reshape([runs * batch_size]), num_classes).reshape([
            runs,
            batch_size,
            num_classes,
        ]);
        let in_batch = mask.clone().sum_dim(1).clamp_min(1.0);
        let first = (logits.clone() * mask).sum_dim(1) / in_batch;
        let shifted = logits + self.target_shift.clone().unsqueeze_dim::<3>(1);
        let max = shifted.clone().detach().max_dim(1);
        let second =
            (shifted - max.clone()).exp().sum_dim(1).log() + max - (batch_size.max(1) as f64).ln();
        let bound = first - second.clone() - second.clone() * (second * self.lambda.clone());
        (bound * self.prior.clone().unsqueeze_dim::<3>(1))
            .sum_dim(2)
            .reshape([runs, 1])
            .neg()
            * self.alpha.clone()
    }
}
