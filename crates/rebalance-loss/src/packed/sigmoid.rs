//! The sigmoid losses of a pack in one pass: BCE, sigmoid focal, and class-balanced on its
//! sigmoid or focal base, of class-index or multi-hot targets, each run with its own class
//! weights, `pos_weight`, label weighting and `no_label_weight`.
//!
//! The element loss is the single losses' [`SigmoidTerms::elements`], applied once to the
//! `[B, R·C]` matrix of the runs' logits side by side: its per-column constant (`pos_weight`)
//! is then the runs' `[R, C]` rows laid end to end, and nothing of it is written again. The
//! weighting and the sums per run follow on `[R, B, C]`. This is the composition that runs on
//! every backend; the single losses' fused pass (`fused/`) sums whole rows, which would mix the
//! runs, so the pack does not use it (the values agree to float precision).

use burn::prelude::*;

use super::reduce::PackedPerSample;
use super::{run_values, stack_classes};
use crate::sigmoid::{SigmoidTerms, one_hot_targets};
use crate::{LabelWeighting, LossError};

/// One run's sigmoid loss, as its single loss module holds it.
pub(crate) struct SigmoidRun {
    weights: Option<Tensor<1>>,
    pos_weight: Option<Tensor<1>>,
    gamma: f64,
    alpha: Option<f64>,
    label_weighting: LabelWeighting,
    no_label_weight: f64,
}

impl SigmoidRun {
    /// The run of a sigmoid loss with these terms.
    pub fn of(terms: SigmoidTerms<'_>) -> Self {
        Self {
            weights: terms.weights.cloned(),
            pos_weight: terms.pos_weight.cloned(),
            gamma: terms.gamma,
            alpha: terms.alpha,
            label_weighting: terms.label_weighting,
            no_label_weight: terms.no_label_weight,
        }
    }

    /// Whether a row of this run weighs the sum of its positive labels' class weights.
    fn positive_sum(&self) -> bool {
        self.weights.is_some() && self.label_weighting == LabelWeighting::PositiveSum
    }
}

/// The targets of a sigmoid pack.
pub(crate) enum PackedTargets {
    /// Class indices, `[R, B]`.
    Indices(Tensor<2, Int>),
    /// Multi-hot (or soft) targets in `[0, 1]`, `[R, B, C]`.
    Dense(Tensor<3>),
}

/// The sigmoid losses of a pack.
///
/// With `f_{r,n} = Σ_c v_{r,c}·e_{r,n,c}` the row sum of the element losses weighted by the
/// column weights `v` (the class weights of a `per-label` run, 1 in the others), run `r`'s
/// per-sample loss is `s_{r,n}·f_{r,n}`: `s_{r,n}` the sum of the positive labels' class
/// weights in a `positive-sum` run (`no_label_weight` for a row without one), 1 in the others.
/// Its sample weight is `s_{r,n}` in a `positive-sum` run and `mean_c v_{r,c}` in the others.
/// An unweighted run is a `per-label` run of ones: loss `Σ_c e`, weight 1.
#[derive(Module, Debug)]
pub struct PackedSigmoid {
    /// `[R·C]` `pos_weight` of every run, run after run (1 in a run without).
    pos_weight: Option<Tensor<1>>,
    /// `[R, C]` column weights `v_{r,c}`.
    columns: Option<Tensor<2>>,
    /// The `positive-sum` row weights, where a run has them.
    rows: Option<RowWeights>,
    /// `[R, 1]` the sample weight of the runs that are not `positive-sum`, `mean_c v_{r,c}`
    /// (0 in the `positive-sum` runs); `None`: 1 in every run.
    column_mean: Option<Tensor<2>>,
    /// The focal exponent `γ`, the same in every run.
    gamma: f64,
    /// The focal balance `α`, the same in every run.
    alpha: Option<f64>,
}

/// The `positive-sum` row weights of a pack.
#[derive(Module, Debug)]
pub struct RowWeights {
    /// `[R, C]` the class weights of the `positive-sum` runs, 0 in the other runs.
    classes: Tensor<2>,
    /// `[R, 1]` `no_label_weight` of the `positive-sum` runs, 0 in the others.
    no_label: Tensor<2>,
    /// `[R, 1]` 1 in the `positive-sum` runs, 0 in the others.
    flag: Tensor<2>,
}

impl PackedSigmoid {
    /// Stacks the runs' tensors.
    ///
    /// # Errors
    /// Runs with different `γ` or `α`, or a class tensor of another length than `num_classes`.
    pub fn new(
        runs: Vec<SigmoidRun>,
        num_classes: usize,
        device: &Device,
    ) -> Result<Self, LossError> {
        for (name, value) in [
            (
                "gamma",
                (|run: &SigmoidRun| run.gamma.to_string()) as fn(&SigmoidRun) -> String,
            ),
            ("alpha", |run| {
                run.alpha.map_or("none".into(), |a| a.to_string())
            }),
        ] {
            if let Some(run) = runs.iter().position(|run| value(run) != value(&runs[0])) {
                return Err(LossError::PackMismatch {
                    run,
                    name,
                    found: value(&runs[run]),
                    expected: value(&runs[0]),
                    why: "the sigmoid losses of a pack share their focal parameters (the element \
                          loss is computed once for all runs); split the runs by them",
                });
            }
        }
        let stack =
            |rows: Vec<Option<Tensor<1>>>, fill| stack_classes(rows, fill, num_classes, device);
        let pos_weight = stack(runs.iter().map(|r| r.pos_weight.clone()).collect(), 1.0)?
            .map(|pw| pw.reshape([runs.len() * num_classes]));
        let columns = stack(
            runs.iter()
                .map(|r| r.weights.clone().filter(|_| !r.positive_sum()))
                .collect(),
            1.0,
        )?;
        let rows = stack(
            runs.iter()
                .map(|r| r.weights.clone().filter(|_| r.positive_sum()))
                .collect(),
            0.0,
        )?
        .map(|classes| {
            let per_run = |value: fn(&SigmoidRun) -> f64| {
                run_values(runs.iter().map(value), device).unsqueeze_dim(1)
            };
            RowWeights {
                classes,
                no_label: per_run(|r| {
                    if r.positive_sum() {
                        r.no_label_weight
                    } else {
                        0.0
                    }
                }),
                flag: per_run(|r| if r.positive_sum() { 1.0 } else { 0.0 }),
            }
        });
        let column_mean = match (&columns, &rows) {
            (None, None) => None,
            _ => {
                let mean = match &columns {
                    Some(columns) => columns.clone().mean_dim(1),
                    None => Tensor::ones([runs.len(), 1], device),
                };
                Some(match &rows {
                    Some(rows) => mean * rows.flag.clone().neg().add_scalar(1.0),
                    None => mean,
                })
            }
        };
        Ok(Self {
            pos_weight,
            columns,
            rows,
            column_mean,
            gamma: runs[0].gamma,
            alpha: runs[0].alpha,
        })
    }

    /// The per-sample losses of every run, `[R, B]`.
    pub(crate) fn per_sample(&self, logits: Tensor<3>, targets: PackedTargets) -> PackedPerSample {
        let [runs, batch_size, num_classes] = logits.dims();
        let dense = match &targets {
            PackedTargets::Indices(t) => {
                one_hot_targets(t.clone().reshape([runs * batch_size]), num_classes).reshape([
                    runs,
                    batch_size,
                    num_classes,
                ])
            }
            PackedTargets::Dense(t) => t.clone(),
        };
        let side_by_side =
            |t: Tensor<3>| t.swap_dims(0, 1).reshape([batch_size, runs * num_classes]);
        let terms = SigmoidTerms {
            weights: None,
            pos_weight: self.pos_weight.as_ref(),
            alpha: self.alpha,
            gamma: self.gamma,
            label_weighting: LabelWeighting::PositiveSum,
            no_label_weight: 0.0,
        };
        let elements = terms
            .elements(side_by_side(logits), side_by_side(dense.clone()))
            .reshape([batch_size, runs, num_classes])
            .swap_dims(0, 1);
        let sums = match &self.columns {
            Some(columns) => elements * columns.clone().unsqueeze_dim::<3>(1),
            None => elements,
        }
        .sum_dim(2)
        .squeeze_dim::<2>(2);
        let Some(rows) = &self.rows else {
            return PackedPerSample {
                loss: sums,
                weight: self
                    .column_mean
                    .as_ref()
                    .map(|mean| mean.clone().expand([runs, batch_size])),
                valid: None,
            };
        };
        let positive_sums = match targets {
            // A one-hot row has its one positive label: its class weight, gathered.
            PackedTargets::Indices(t) => rows.classes.clone().gather(1, t),
            PackedTargets::Dense(_) => {
                let positive = dense.greater_elem(0.0).float();
                let empty = positive
                    .clone()
                    .sum_dim(2)
                    .squeeze_dim::<2>(2)
                    .equal_elem(0.0)
                    .float();
                (positive * rows.classes.clone().unsqueeze_dim::<3>(1))
                    .sum_dim(2)
                    .squeeze_dim::<2>(2)
                    + empty * rows.no_label.clone()
            }
        };
        // s = 1 in the runs that are not positive-sum.
        let s = positive_sums + rows.flag.clone().neg().add_scalar(1.0);
        let weight = s.clone() * rows.flag.clone()
            + self
                .column_mean
                .clone()
                .unwrap_or_else(|| Tensor::zeros([runs, 1], &s.device()));
        PackedPerSample {
            loss: sums * s,
            weight: Some(weight),
            valid: None,
        }
    }
}
