//! The element-wise core shared by the one-vs-all (sigmoid) losses.

use burn::prelude::*;

use crate::reduction::PerSample;

/// The parameters of a sigmoid loss; `gamma = 0` and `alpha = None` is plain BCE.
#[derive(Clone, Copy)]
pub(crate) struct SigmoidTerms<'a> {
    pub weights: Option<&'a Tensor<1>>,
    pub pos_weight: Option<&'a Tensor<1>>,
    pub alpha: Option<f64>,
    pub gamma: f64,
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

    /// Sample weights: the sum of the class weights of the positive labels (entries `> 0`).
    fn row_weights(&self, targets: &Tensor<2>) -> Option<Tensor<1>> {
        self.weights.map(|w| {
            (targets.clone().greater_elem(0.0).float() * w.clone().unsqueeze_dim::<2>(0))
                .sum_dim(1)
                .squeeze_dim::<1>(1)
        })
    }

    /// Weighted element losses `s_n · e_{n,c}`, `[B, C]`.
    pub fn weighted_elements(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<2> {
        let weights = self.row_weights(&targets);
        let elements = self.elements(logits, targets);
        match weights {
            Some(w) => elements * w.unsqueeze_dim::<2>(1),
            None => elements,
        }
    }

    /// Per-sample losses `s_n · Σ_c e_{n,c}` of multi-hot targets.
    pub fn per_sample(&self, logits: Tensor<2>, targets: Tensor<2>) -> PerSample {
        let weights = self.row_weights(&targets);
        let loss = self.row_sums(logits, targets);
        match weights {
            Some(w) => PerSample {
                loss: loss * w.clone(),
                weight: Some(w),
                valid: None,
            },
            None => PerSample::unweighted(loss),
        }
    }

    /// Per-sample losses of class-index targets: [`per_sample`](Self::per_sample) of their
    /// one-hot rows, with the sample weight `w_y` gathered rather than summed over the row.
    pub fn per_sample_of_indices(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> PerSample {
        let [_, num_classes] = logits.dims();
        let one_hot = one_hot_targets(targets.clone(), num_classes);
        PerSample::class_weighted(self.row_sums(logits, one_hot), self.weights, targets)
    }

    /// `Σ_c e_{n,c}`, `[B]`.
    fn row_sums(&self, logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
        self.elements(logits, targets)
            .sum_dim(1)
            .squeeze_dim::<1>(1)
    }
}

/// Class indices `[B]` as one-hot float targets `[B, C]`, built by comparison so nothing is
/// read back to the host (Burn's `one_hot` checks the indices on the host).
fn one_hot_targets(targets: Tensor<1, Int>, num_classes: usize) -> Tensor<2> {
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
