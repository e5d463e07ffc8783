//! The element-wise core shared by the one-vs-all (sigmoid) losses.

use burn::prelude::*;

use crate::LabelWeighting;
use crate::fused::{self, ElementParams, SigmoidTargets};
use crate::reduction::PerSample;

/// The public forwards of a sigmoid loss module
/// ([`WeightedBinaryCrossEntropy`](crate::WeightedBinaryCrossEntropy),
/// [`SigmoidFocal`](crate::SigmoidFocal)), written once: expanded in each module's `impl`, they
/// delegate to its `terms()` and its `reduction`.
macro_rules! sigmoid_forwards {
    () => {
        /// The loss of class-index targets, reduced: shape `[1]`, or `[B]` for `none`.
        ///
        /// # Shapes
        /// - logits: `[batch_size, num_classes]`
        /// - targets: `[batch_size]`, class indices in `0..num_classes`
        pub fn forward(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
            self.terms()
                .per_sample_of_indices(logits, targets)
                .reduce(self.reduction)
        }

        /// Per-sample losses of class-index targets, already weighted, shape `[batch_size]`.
        pub fn forward_no_reduction(
            &self,
            logits: Tensor<2>,
            targets: Tensor<1, Int>,
        ) -> Tensor<1> {
            self.terms().per_sample_of_indices(logits, targets).loss
        }

        /// The loss of multi-hot targets (`[batch_size, num_classes]`, values in `[0, 1]`), reduced.
        pub fn forward_multi_hot(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
            self.terms()
                .per_sample(logits, targets)
                .reduce(self.reduction)
        }

        /// Weighted element losses `s_n · e_{n,c}` (`w_c · e_{n,c}` under `per-label`) of
        /// multi-hot targets, shape `[batch_size, num_classes]`.
        pub fn forward_elementwise(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<2> {
            self.terms().weighted_elements(logits, targets)
        }
    };
}
pub(crate) use sigmoid_forwards;

/// The parameters of a sigmoid loss; `gamma = 0` and `alpha = None` is plain BCE.
#[derive(Clone, Copy)]
pub(crate) struct SigmoidTerms<'a> {
    pub weights: Option<&'a Tensor<1>>,
    pub pos_weight: Option<&'a Tensor<1>>,
    pub alpha: Option<f64>,
    pub gamma: f64,
    /// How `weights` weigh a multi-hot row.
    pub label_weighting: LabelWeighting,
    /// Under `positive-sum`, the weight of a row without a positive label.
    pub no_label_weight: f64,
}

/// How the class weights enter a batch of multi-hot rows.
enum RowWeights {
    /// Every element of row `n` times `s_n`, `[B]`; `s_n` is also the sample weight.
    Rows(Tensor<1>),
    /// Element `(n, c)` times `w_c`, `[C]`; the sample weight is `mean_c w_c`.
    Columns(Tensor<1>),
}

impl SigmoidTerms<'_> {
    /// Element losses `e_{n,c}` before the sample weight, `[B, C]`, for targets `y` in `[0, 1]`:
    /// `α_t · exp(-γ·(y·z + softplus(-z))) · (pw_c·y·softplus(-z) + (1 - y)·softplus(z))`.
    ///
    /// Computed as `z·a + f·t`, with `t = log(1 + exp(-|z|))` (so `softplus(±z) = relu(±z) + t`),
    /// `f = 1 + (pw_c - 1)·y` and the coefficient `a = (1 - y) - f·[z < 0]`, a constant of
    /// the graph. Nothing cancels. The gradient `f·σ(z) - pw_c·y` comes out as
    /// `a + f·s·u / (1 + u)`, with `u = exp(-|z|)` and `s = ±1`; `a` is 0 for a confidently
    /// right prediction, so tiny gradients keep full precision (PyTorch's
    /// `(1 - y)·z - log σ(z)` rounds `σ(20) - 1` to 0). At `z = 0` it is `a - f/2`, because the
    /// sign `s` is a constant (-1 at `z >= 0`), not the derivative of `|z|`, which is 0 there.
    /// The value: `log(1 + u)` in place of `log1p(u)` is off by at most `2^-24` absolute
    /// (PyTorch's form is off by up to half an ulp of `z`: 4e-7 at `z = -10`).
    ///
    /// Why not Burn's `log_sigmoid`: on flex it calls glibc's `log1pf` once per element, about
    /// four times an `expf`, and `perf` put over half of the sigmoid BCE's time there. This form
    /// needs an `expf`, a `logf` and vectorized products: the sigmoid BCE's forward + backward
    /// at C = 1000 went from 3.2× to 1.7× of weighted cross-entropy (crate README). It does not
    /// use `mask_fill` either, which flex runs one element at a time.
    pub fn elements(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<2> {
        // [z < 0] as 1.0 / 0.0; comparisons carry no gradient.
        let below = logits.clone().lower_elem(0.0).float();
        // -|z| = s·z with s = 1 where z < 0, else -1.
        let sign = below.clone().mul_scalar(2.0).sub_scalar(1.0);
        let tail = (logits.clone() * sign).exp().add_scalar(1.0).log();
        let negative = targets.clone().neg().add_scalar(1.0);
        let factor = self.pos_weight.map(|pw| {
            (targets.clone() * pw.clone().sub_scalar(1.0).unsqueeze_dim::<2>(0)).add_scalar(1.0)
        });
        let mut loss = match factor {
            Some(f) => logits.clone() * (negative - f.clone() * below.clone()) + f * tail.clone(),
            None => logits.clone() * (negative - below.clone()) + tail.clone(),
        };
        if self.gamma > 0.0 {
            // (1 - p_t)^γ in log space: y·z + softplus(-z) = z·(y - [z < 0]) + t is
            // -log(1 - p_t) for y in {0, 1}. Finite for any z, where Cui et al.'s
            // exp(-γ·y·z - γ·log1p(exp(-z))) overflows.
            let modulator = (logits * (targets.clone() - below) + tail)
                .mul_scalar(-self.gamma)
                .exp();
            loss = loss * modulator;
        }
        if let Some(alpha) = self.alpha {
            let alpha_t = targets
                .clone()
                .mul_scalar(2.0 * alpha - 1.0)
                .add_scalar(1.0 - alpha);
            loss = loss * alpha_t;
        }
        loss
    }

    /// The weights of a batch of multi-hot `targets`, `None` without class weights.
    ///
    /// `positive-sum`: `s_n = Σ_{c: y_nc > 0} w_c` (entries `> 0` are positive), or
    /// `no_label_weight` for a row with no positive entry. `per-label`: the column weights `w_c`.
    fn row_weights(&self, targets: &Tensor<2>) -> Option<RowWeights> {
        let w = self.weights?;
        Some(match self.label_weighting {
            LabelWeighting::PerLabel => RowWeights::Columns(w.clone()),
            LabelWeighting::PositiveSum => RowWeights::Rows(
                fused::positive_sums(targets, w, self.no_label_weight)
                    .unwrap_or_else(|| composed_positive_sums(targets, w, self.no_label_weight)),
            ),
        })
    }

    /// Weighted element losses, `[B, C]`: `s_n · e_{n,c}` (`positive-sum`) or `w_c · e_{n,c}`
    /// (`per-label`).
    pub fn weighted_elements(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<2> {
        let weights = self.row_weights(&targets);
        let elements = self.elements(logits, targets);
        match weights {
            Some(RowWeights::Rows(s)) => elements * s.unsqueeze_dim::<2>(1),
            Some(RowWeights::Columns(w)) => elements * w.unsqueeze_dim::<2>(0),
            None => elements,
        }
    }

    /// Per-sample losses of multi-hot targets: `s_n · Σ_c e_{n,c}` with sample weight `s_n`
    /// (`positive-sum`), or `Σ_c w_c·e_{n,c}` with sample weight `mean_c w_c` (`per-label`).
    pub fn per_sample(&self, logits: Tensor<2>, targets: Tensor<2>) -> PerSample {
        match self.row_weights(&targets) {
            Some(RowWeights::Rows(s)) => PerSample {
                loss: self.row_sums(logits, SigmoidTargets::Dense(targets), None) * s.clone(),
                weight: Some(s),
                valid: None,
            },
            Some(RowWeights::Columns(w)) => {
                self.column_weighted(logits, SigmoidTargets::Dense(targets), &w)
            }
            None => {
                PerSample::unweighted(self.row_sums(logits, SigmoidTargets::Dense(targets), None))
            }
        }
    }

    /// Per-sample losses of class-index targets: [`per_sample`](Self::per_sample) of their
    /// one-hot rows. Under `positive-sum` the sample weight `w_y` is gathered rather than
    /// summed over the row (a one-hot row always has its positive label).
    pub fn per_sample_of_indices(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> PerSample {
        let indices = SigmoidTargets::Indices(targets.clone());
        match (self.label_weighting, self.weights) {
            (LabelWeighting::PositiveSum, _) | (LabelWeighting::PerLabel, None) => {
                PerSample::class_weighted(
                    self.row_sums(logits, indices, None),
                    self.weights,
                    targets,
                )
            }
            (LabelWeighting::PerLabel, Some(w)) => self.column_weighted(logits, indices, w),
        }
    }

    /// `per-label` weighting: `Σ_c w_c·e_{n,c}` with sample weight `mean_c w_c`.
    fn column_weighted(
        &self,
        logits: Tensor<2>,
        targets: SigmoidTargets,
        weights: &Tensor<1>,
    ) -> PerSample {
        let [batch_size, _] = logits.dims();
        PerSample {
            loss: self.row_sums(logits, targets, Some(weights)),
            weight: Some(weights.clone().mean().expand([batch_size])),
            valid: None,
        }
    }

    /// The element loss's scalars as the fused path takes them.
    pub(crate) fn params(&self) -> ElementParams {
        ElementParams::new(self.gamma, self.alpha)
    }

    /// `Σ_c w_c·e_{n,c}`, `[B]` (`w_c = 1` without `columns`): one fused pass forward and one
    /// backward on flex (`fused/`) and, with the `wgpu` feature, on Burn's CubeCL backend
    /// (`fused/cube.rs`); the composition of [`elements`](Self::elements) elsewhere.
    fn row_sums(
        &self,
        logits: Tensor<2>,
        targets: SigmoidTargets,
        columns: Option<&Tensor<1>>,
    ) -> Tensor<1> {
        fused::row_sums(&logits, &targets, self.pos_weight, columns, self.params())
            .unwrap_or_else(|| self.composed_row_sums(logits, targets, columns))
    }

    /// [`row_sums`](Self::row_sums) by tensor operations on any backend: the reference the
    /// fused pass is tested against.
    pub(crate) fn composed_row_sums(
        &self,
        logits: Tensor<2>,
        targets: SigmoidTargets,
        columns: Option<&Tensor<1>>,
    ) -> Tensor<1> {
        let [_, num_classes] = logits.dims();
        let targets = match targets {
            SigmoidTargets::Indices(t) => one_hot_targets(t, num_classes),
            SigmoidTargets::Dense(t) => t,
        };
        let elements = self.elements(logits, targets);
        let elements = match columns {
            Some(w) => elements * w.clone().unsqueeze_dim::<2>(0),
            None => elements,
        };
        elements.sum_dim(1).squeeze_dim::<1>(1)
    }
}

/// `s_n = Σ_{c: y_nc > 0} w_c`, or `no_label_weight` for a row without a positive entry, `[B]`,
/// by tensor operations on any backend (on flex, [`fused::positive_sums`] computes it in one
/// pass; this is its reference).
pub(crate) fn composed_positive_sums(
    targets: &Tensor<2>,
    weights: &Tensor<1>,
    no_label_weight: f64,
) -> Tensor<1> {
    let positive = targets.clone().greater_elem(0.0).float();
    let rows = (positive.clone() * weights.clone().unsqueeze_dim::<2>(0))
        .sum_dim(1)
        .squeeze_dim::<1>(1);
    if no_label_weight == 0.0 {
        return rows;
    }
    // 1 for a row without a positive label, else 0.
    let empty = positive
        .sum_dim(1)
        .squeeze_dim::<1>(1)
        .equal_elem(0.0)
        .float();
    rows + empty.mul_scalar(no_label_weight)
}

/// Class indices `[B]` as one-hot float targets `[B, C]`, built by comparison so nothing is
/// read back to the host (Burn's `one_hot` checks the indices on the host).
pub(crate) fn one_hot_targets(targets: Tensor<1, Int>, num_classes: usize) -> Tensor<2> {
    let [batch_size] = targets.dims();
    let classes = Tensor::<1, Int>::arange(0..num_classes as i64, &targets.device())
        .reshape([1, num_classes])
        .expand([batch_size, num_classes]);
    targets
        .reshape([batch_size, 1])
        .expand([batch_size, num_classes])
        .equal(classes)
        .float()
}
