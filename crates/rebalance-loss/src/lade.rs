//! LADE: the PC-softmax cross-entropy plus the LADE regulariser (Hong et al., CVPR 2021).

use burn::prelude::*;

use crate::config::kind::{LossKeys, loss_keys, through_config};
use crate::cross_entropy::class_tensor;
use crate::error::{check_min, counts_of_every_class};
use crate::logit_adjusted::shifted_cross_entropy;
use crate::reduction::PerSample;
use crate::sigmoid::one_hot_targets;
use crate::{LossError, Reduction};

/// Configuration of [`Lade`], the label-distribution-disentangling loss of Hong et al.,
/// "Disentangling Label Distribution for Long-tailed Visual Recognition", CVPR 2021.
///
/// `L = CE(z + log π, y) + α · R(z, y)`, as the authors' code (hyperconnect/LADE) trains it:
/// its `PriorCELoss` (the PC-softmax cross-entropy, weight 1) plus `α` times its `LADELoss`.
/// `π_c = n_c / N` is the training prior. The regulariser is the negated, prior-weighted
/// Donsker–Varadhan bound (with the ReMINE penalty `λ`) of each class's logit, estimated on
/// the batch of `B` samples:
///
/// ```text
/// R = -Σ_c π_c · (T1_c - T2_c - λ · T2_c²)
/// T1_c = Σ_{i: y_i = c} z_ic / n_c^batch                       (0 when c is not in the batch)
/// T2_c = log( (1/B) Σ_i exp(z_ic - log π_c + log(1/C)) )      (over every sample of the batch)
/// ```
///
/// Every class counts in `R`, present in the batch or not, as in the authors' code (an absent
/// class has `T1_c = 0`). At inference the raw logits `z` are the balanced (uniform-prior)
/// scores.
///
/// # Reduction
///
/// `R` is one number per batch. The per-sample loss is `l_n = CE_n + α · R`: the
/// regulariser is spread evenly over the batch, so that the `mean` (and `weighted-mean`: LADE
/// has no class weights, so the two are equal) of the `none` vector is the authors' loss,
/// `sum` is `Σ_n CE_n + B · α · R`, and `none` returns the `[B]` vector `l_n` (each element
/// depends on the whole batch through `R`).
///
/// # Class weights
///
/// None: LADE re-balances through the prior, and the authors' code has no class weights (so
/// a config file's `kind = "lade"` takes no weight keys).
///
/// The defaults are the authors' configs' (`remine_lambda: 0.1`, loss weight `0.1` for
/// CIFAR-100-LT, ImageNet-LT, Places-LT and iNaturalist 2018). Their `1e-9` inside
/// `log(π + 1e-9)` and `1e-8` under `n_c` are left out: every class needs a training sample
/// here, and an absent class's `T1_c` is 0 exactly.
#[derive(Config, Debug)]
pub struct LadeConfig {
    /// Training samples per class; every class needs at least one.
    pub counts: Vec<u64>,
    /// Weight `α` of the LADE regulariser, finite and `>= 0` (0: the PC-softmax cross-entropy
    /// alone, which equals [`BalancedSoftmax`](crate::BalancedSoftmax)). Default 0.1.
    #[config(default = 0.1)]
    pub alpha: f64,
    /// ReMINE penalty `λ` on `T2_c²`, finite and `>= 0`. Default 0.1.
    #[config(default = 0.1)]
    pub remine_lambda: f64,
    /// How per-sample losses are reduced (see the type's docs). Default `weighted-mean`.
    #[config(default = "Reduction::WeightedMean")]
    pub reduction: Reduction,
}

impl LadeConfig {
    /// Checks the parameters that need neither the class counts nor a device; [`init`](Self::init)
    /// runs these checks too.
    ///
    /// # Errors
    /// As [`init`](Self::init), for those parameters.
    pub fn validate(&self) -> Result<(), LossError> {
        check_min("alpha", self.alpha, 0.0, false, "finite and >= 0")?;
        check_min(
            "remine_lambda",
            self.remine_lambda,
            0.0,
            false,
            "finite and >= 0",
        )
    }

    /// Builds the loss, with its tensors on `device`.
    ///
    /// # Errors
    /// Empty or all-zero counts, a class with no sample, `α` or `λ` negative or not finite.
    pub fn init(&self, device: &Device) -> Result<Lade, LossError> {
        self.validate()?;
        let counts = counts_of_every_class(&self.counts)?;
        let total = counts.total() as f64;
        let prior: Vec<f64> = counts
            .as_slice()
            .iter()
            .map(|&n| n as f64 / total)
            .collect();
        let log_prior: Vec<f64> = prior.iter().map(|p| p.ln()).collect();
        let log_uniform = -(prior.len() as f64).ln();
        let target_shift: Vec<f64> = log_prior.iter().map(|lp| log_uniform - lp).collect();
        Ok(Lade {
            prior: class_tensor(&prior, device),
            log_prior: class_tensor(&log_prior, device),
            target_shift: class_tensor(&target_shift, device),
            alpha: self.alpha,
            remine_lambda: self.remine_lambda,
            reduction: self.reduction,
        })
    }
}

loss_keys! {
    /// `kind = "lade"` in a config file: the keys of [`Lade`], each defaulting to
    /// [`LadeConfig`]'s. LADE has no class weights, so it takes no class-weight keys.
    #[serde(default, deny_unknown_fields)]
    pub struct LadeKeys: LadeConfig::new(counts) {
        /// Weight `α >= 0` of the LADE regulariser.
        alpha: f64 => with_alpha,
        /// ReMINE penalty `λ >= 0`.
        remine_lambda: f64 => with_remine_lambda,
    }
}

impl LossKeys for LadeKeys {
    through_config!();

    fn reduction(&self) -> Reduction {
        self.reduction
    }
}

/// The LADE loss, built by [`LadeConfig::init`].
#[derive(Module, Debug)]
pub struct Lade {
    /// `π_c`.
    pub(crate) prior: Tensor<1>,
    /// `log π_c`.
    pub(crate) log_prior: Tensor<1>,
    /// `log(1/C) - log π_c`.
    pub(crate) target_shift: Tensor<1>,
    pub(crate) alpha: f64,
    pub(crate) remine_lambda: f64,
    #[module(skip)]
    reduction: Reduction,
}

/// One run's LADE terms as a packed loss stacks them (`crate::packed`).
pub(crate) struct LadeTerms {
    /// `π_c`.
    pub prior: Tensor<1>,
    /// `log(1/C) - log π_c`.
    pub target_shift: Tensor<1>,
    /// The regulariser's weight `α`.
    pub alpha: f64,
    /// The ReMINE penalty `λ`.
    pub lambda: f64,
}

impl Lade {
    /// The terms of this loss that a packed loss stacks over its runs.
    pub(crate) fn run_terms(&self) -> LadeTerms {
        LadeTerms {
            prior: self.prior.clone(),
            target_shift: self.target_shift.clone(),
            alpha: self.alpha,
            lambda: self.remine_lambda,
        }
    }
}

crate::reduction::row_forwards!(
    Lade,
    "Each is `CE_n + α · R`: the batch's regulariser `R` is added to every sample (see [`LadeConfig`])."
);

impl Lade {
    /// The LADE regulariser `R` of the batch, shape `[1]`, without `α`.
    ///
    /// # Shapes
    /// - logits: `[batch_size, num_classes]`, `batch_size >= 1`
    /// - targets: `[batch_size]`, class indices in `0..num_classes`
    pub fn regularizer(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        let [batch_size, num_classes] = logits.dims();
        let mask = one_hot_targets(targets, num_classes);
        let in_batch = mask.clone().sum_dim(0).clamp_min(1.0);
        // T1_c: the mean logit of class c over its samples (0 for an absent class).
        let first = (logits.clone() * mask).sum_dim(0) / in_batch;
        // T2_c: log-mean-exp over the batch of the target-prior logits, max-shifted.
        let shifted = logits + self.target_shift.clone().unsqueeze_dim::<2>(0);
        let max = shifted.clone().detach().max_dim(0);
        let second =
            (shifted - max.clone()).exp().sum_dim(0).log() + max - (batch_size.max(1) as f64).ln();
        let bound = first - second.clone() - second.clone() * second.mul_scalar(self.remine_lambda);
        (bound * self.prior.clone().unsqueeze_dim::<2>(0))
            .sum()
            .neg()
    }

    fn per_sample(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> PerSample {
        let [batch_size, _] = logits.dims();
        let mut per_sample =
            shifted_cross_entropy(logits.clone(), targets.clone(), &self.log_prior, None);
        if self.alpha > 0.0 && batch_size > 0 {
            let regularizer = self
                .regularizer(logits, targets)
                .mul_scalar(self.alpha)
                .expand([batch_size]);
            per_sample.loss = per_sample.loss + regularizer;
        }
        per_sample
    }
}
