//! Softmax cross-entropy with class weights, label smoothing and an ignore index.

use burn::prelude::*;

use crate::config::kind::{BuildInputs, LossKeys, loss_keys, reduction_and_weights};
use crate::error::{check_class_values, check_min, check_weights};
use crate::reduction::PerSample;
use crate::{ImbalanceLoss, LabelAwareSmoothing, LossError, Reduction};

/// Configuration of [`WeightedCrossEntropy`].
///
/// `l_n = -Σ_c w_c · q_{n,c} · log softmax(z_n)_c` with the smoothed target
/// `q_n = (1 - ε)·onehot(y_n) + ε/C`; without smoothing, `l_n = -w_{y_n} · log p_{n,y_n}`.
/// Reduced by [`Reduction`] with per-sample weight `w_{y_n}`: the default `weighted-mean` is
/// `Σ_n l_n / Σ_n w_{y_n}`, exactly PyTorch's
/// `F.cross_entropy(z, y, weight=w, label_smoothing=ε, ignore_index=i)`.
///
/// ```
/// use burn::prelude::*;
/// use rebalance_loss::{Reduction, WeightedCrossEntropyConfig};
///
/// let device = Device::flex();
/// let loss = WeightedCrossEntropyConfig::new()
///     .with_weights(Some(vec![0.5, 1.0, 1.5]))
///     .with_smoothing(0.1)
///     .with_reduction(Reduction::WeightedMean)
///     .init(&device)?;
/// let logits = Tensor::<2>::from_floats([[2.0, 0.5, -1.0], [0.1, 1.5, 0.3]], &device);
/// let targets = Tensor::<1, Int>::from_ints([0, 2], &device);
/// let value = loss.forward(logits, targets); // shape [1]
/// assert_eq!(value.dims(), [1]);
/// # Ok::<(), rebalance_loss::LossError>(())
/// ```
#[derive(Config, Debug)]
pub struct WeightedCrossEntropyConfig {
    /// Per-class weights `w_c`, finite and `>= 0` (0 is allowed: that class is ignored), one
    /// per class. `None` (the default) is the unweighted loss. Typically
    /// [`ClassWeights::as_slice`](rebalance_weights::ClassWeights::as_slice) (see [`with_class_weights`](Self::with_class_weights)).
    pub weights: Option<Vec<f64>>,
    /// Label smoothing `ε` in `[0, 1]`, PyTorch's semantics. Default 0.
    #[config(default = 0.0)]
    pub smoothing: f64,
    /// Label smoothing by the target's class, `ε_{y_n}` in place of `ε`, each in `[0, 1]`, one
    /// per class: label-aware smoothing (Zhong et al., CVPR 2021), whose values
    /// [`LabelAwareSmoothing::epsilons`](crate::LabelAwareSmoothing::epsilons) computes. Not
    /// together with `smoothing`. Default `None`.
    pub class_smoothing: Option<Vec<f64>>,
    /// Samples whose target equals this index count in neither the numerator nor the
    /// denominator of any reduction (burn-nn's pad tokens still count in its mean). May be
    /// `>= C`, e.g. 255 for unlabeled pixels. Default `None`.
    pub ignore_index: Option<usize>,
    /// How per-sample losses are reduced. Default `weighted-mean`.
    #[config(default = "Reduction::WeightedMean")]
    pub reduction: Reduction,
}

impl WeightedCrossEntropyConfig {
    /// Checks the parameters that need neither the class counts nor a device; [`init`](Self::init)
    /// runs these checks too.
    ///
    /// # Errors
    /// As [`init`](Self::init), for those parameters.
    pub fn validate(&self) -> Result<(), LossError> {
        check_min("smoothing", self.smoothing, 0.0, false, "in [0, 1]")?;
        if self.smoothing > 1.0 {
            return Err(LossError::InvalidParameter {
                name: "smoothing",
                value: self.smoothing.to_string(),
                expected: "in [0, 1]",
            });
        }
        if let Some(values) = &self.class_smoothing {
            check_class_values("class_smoothing", values, None)?;
            if let Some(value) = values.iter().find(|&&e| e > 1.0) {
                return Err(LossError::InvalidParameter {
                    name: "class_smoothing",
                    value: value.to_string(),
                    expected: "in [0, 1] for every class",
                });
            }
            if self.smoothing > 0.0 {
                return Err(LossError::InvalidParameter {
                    name: "smoothing",
                    value: self.smoothing.to_string(),
                    expected: "0 when the smoothing is per class (label-aware)",
                });
            }
        }
        check_weights(self.weights.as_deref(), None)
    }

    /// Builds the loss, with its weight tensor on `device`.
    ///
    /// # Errors
    /// `smoothing` outside `[0, 1]`, or a weight that is negative or not finite.
    pub fn init(&self, device: &Device) -> Result<WeightedCrossEntropy, LossError> {
        self.validate()?;
        Ok(WeightedCrossEntropy {
            weights: self.weights.as_deref().map(|w| class_tensor(w, device)),
            smoothing: self.smoothing,
            class_smoothing: self
                .class_smoothing
                .as_deref()
                .map(|e| class_tensor(e, device)),
            ignore_index: self.ignore_index,
            reduction: self.reduction,
        })
    }
}

loss_keys! {
    /// `kind = "cross-entropy"` in a config file: the keys of [`WeightedCrossEntropy`], each
    /// defaulting to [`WeightedCrossEntropyConfig`]'s.
    #[serde(default, deny_unknown_fields)]
    pub struct CrossEntropyKeys: WeightedCrossEntropyConfig::new(), weights {
        /// Label smoothing `ε` in `[0, 1]`.
        smoothing: f64 => with_smoothing,
        /// Label-aware smoothing: `ε` by the target's class count, instead of `smoothing`.
        label_aware: Option<LabelAwareSmoothing> = |_| None,
        /// Target index excluded from the loss.
        ignore_index: Option<usize> => with_ignore_index,
    }
}

impl LossKeys for CrossEntropyKeys {
    fn validate(&self) -> Result<(), LossError> {
        if let Some(label_aware) = &self.label_aware {
            label_aware.validate()?;
        }
        self.config(Vec::new())
            // A stand-in ε (the real ones need the counts) for the check that excludes
            // `smoothing`.
            .with_class_smoothing(self.label_aware.map(|_| vec![0.0]))
            .validate()
    }

    fn build(&self, inputs: &BuildInputs<'_>) -> Result<ImbalanceLoss, LossError> {
        let class_smoothing = match &self.label_aware {
            Some(label_aware) => Some(label_aware.epsilons(inputs.counts)?),
            None => None,
        };
        Ok(self
            .config(inputs.class_counts())
            .with_weights(inputs.class_weights(self.weights.as_ref())?)
            .with_class_smoothing(class_smoothing)
            .init(inputs.device)?
            .into())
    }

    reduction_and_weights!();
}

/// Softmax cross-entropy with optional class weights, label smoothing and ignore index.
///
/// Built by [`WeightedCrossEntropyConfig::init`]. The weight tensor is a constant of the
/// module: it moves with `to_device`/`fork` and is not re-uploaded per step.
#[derive(Module, Debug)]
pub struct WeightedCrossEntropy {
    pub(crate) weights: Option<Tensor<1>>,
    pub(crate) smoothing: f64,
    pub(crate) class_smoothing: Option<Tensor<1>>,
    pub(crate) ignore_index: Option<usize>,
    #[module(skip)]
    reduction: Reduction,
}

crate::reduction::row_forwards!(
    WeightedCrossEntropy,
    "A target may be the ignore index, whose loss is 0 and which no reduction counts."
);

impl WeightedCrossEntropy {
    pub(crate) fn per_sample(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> PerSample {
        softmax_cross_entropy(
            logits,
            targets,
            self.weights.as_ref(),
            &match &self.class_smoothing {
                Some(values) => Smoothing::PerClass(values),
                None => Smoothing::Uniform(self.smoothing),
            },
            self.ignore_index,
        )
    }

    /// The configured reduction.
    pub fn reduction(&self) -> Reduction {
        self.reduction
    }
}

/// A `[C]` float tensor of per-class values on `device`.
pub(crate) fn class_tensor(values: &[f64], device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
}

/// The log-softmax of each row of logits `z`, as the two parts `log p_c = s_c - lse` is made
/// of: the shifted logits `s = z - max(z)` (the max detached, as in Burn's `log_softmax`) and
/// `lse = log Σ_c exp(s_c)`. The losses need only the target's `log p_y` (and, with label
/// smoothing, a weighted row sum), which follow from these parts: the `[B, C]` tensor of
/// log-probabilities, a pass forward and one backward, is never formed.
pub(crate) struct RowLogSoftmax {
    /// `[B, C]` shifted logits `s`.
    pub shifted: Tensor<2>,
    /// `[B]` log-sum-exp `lse` of the shifted logits.
    pub log_sum_exp: Tensor<1>,
}

impl RowLogSoftmax {
    /// The parts of `log_softmax(logits, 1)`. With `exp_floor`, shifted logits below it count
    /// as the floor inside the exponential (see [`Ldam`](crate::Ldam): a floor of -87 keeps
    /// libm's `expf` off its slow underflow path and changes `lse` by less than f32's
    /// resolution).
    pub fn new(logits: Tensor<2>, exp_floor: Option<f64>) -> Self {
        let shifted = logits.clone() - logits.detach().max_dim(1);
        let exponent = match exp_floor {
            Some(floor) => shifted.clone().clamp_min(floor),
            None => shifted.clone(),
        };
        let log_sum_exp = exponent.exp().sum_dim(1).log().squeeze_dim::<1>(1);
        Self {
            shifted,
            log_sum_exp,
        }
    }

    /// `[B]` log-probabilities `log p_{n, y_n}` of the targets.
    pub fn at(&self, targets: Tensor<1, Int>) -> Tensor<1> {
        self.shifted
            .clone()
            .gather(1, targets.unsqueeze_dim(1))
            .squeeze_dim::<1>(1)
            - self.log_sum_exp.clone()
    }
}

/// The label smoothing of a cross-entropy.
pub(crate) enum Smoothing<'a> {
    /// One `ε` for every sample (0: none).
    Uniform(f64),
    /// `ε_{y_n}` by the target's class, a `[C]` tensor.
    PerClass(&'a Tensor<1>),
}

/// The weighted, smoothed, masked softmax cross-entropy of every sample.
pub(crate) fn softmax_cross_entropy(
    logits: Tensor<2>,
    targets: Tensor<1, Int>,
    weights: Option<&Tensor<1>>,
    smoothing: &Smoothing<'_>,
    ignore_index: Option<usize>,
) -> PerSample {
    let [_, num_classes] = logits.dims();
    let (targets, valid) = match ignore_index {
        Some(ignore) => {
            let ignored = targets.clone().equal_elem(ignore as i64);
            let valid = ignored.clone().bool_not().float();
            // Any in-range index will do for the ignored rows: their terms are zeroed below.
            (targets.mask_fill(ignored, 0), Some(valid))
        }
        None => (targets, None),
    };
    let log_softmax = RowLogSoftmax::new(logits, None);
    let nll = log_softmax.at(targets.clone()).neg();
    let sample_weights = weights.map(|w| w.clone().gather(0, targets.clone()));
    let mut loss = match &sample_weights {
        Some(sw) => nll * sw.clone(),
        None => nll,
    };
    let smoothed = match smoothing {
        Smoothing::Uniform(e) if *e > 0.0 => true,
        Smoothing::Uniform(_) => false,
        Smoothing::PerClass(_) => true,
    };
    if smoothed {
        // -Σ_c w_c·log p_c = W·lse - Σ_c w_c·s_c with W = Σ_c w_c; the weighted row sum is
        // one [B, C] × [C, 1] product. Both terms are >= 0: no cancellation.
        let RowLogSoftmax {
            shifted,
            log_sum_exp,
        } = log_softmax;
        let uniform_term = match weights {
            Some(w) => {
                let [batch_size] = log_sum_exp.dims();
                log_sum_exp * w.clone().sum().expand([batch_size])
                    - shifted
                        .matmul(w.clone().unsqueeze_dim::<2>(1))
                        .squeeze_dim::<1>(1)
            }
            None => {
                log_sum_exp.mul_scalar(num_classes as f64) - shifted.sum_dim(1).squeeze_dim::<1>(1)
            }
        };
        loss = match smoothing {
            Smoothing::Uniform(e) => {
                loss.mul_scalar(1.0 - e) + uniform_term.mul_scalar(e / num_classes as f64)
            }
            Smoothing::PerClass(values) => {
                let e = (*values).clone().gather(0, targets);
                loss * e.clone().neg().add_scalar(1.0)
                    + uniform_term * e.div_scalar(num_classes as f64)
            }
        };
    }
    PerSample::masked(loss, sample_weights, valid)
}
