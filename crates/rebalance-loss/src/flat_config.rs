//! The flat config-file form of [`LossConfig`](crate::LossConfig): one key per parameter, as
//! `[loss]` tables and scripts write them, checked against the keys each kind takes.

use rebalance_weights::{Normalization, Scheme, ZeroCountPolicy};
use serde::{Deserialize, Serialize};

use crate::{
    ClassBalancedBase, ClassWeighting, LabelAwareSmoothing, LabelWeighting, LossConfig, LossError,
    LossKind, PosWeight, Reduction,
};

/// The serde form of [`LossConfig`]: one optional field per config key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlatLoss {
    #[serde(default)]
    kind: LossKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    smoothing: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label_aware: Option<LabelAwareSmoothing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ignore_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gamma: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alpha: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pos_weight: Option<PosWeight>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label_weighting: Option<LabelWeighting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    no_label_weight: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    base: Option<ClassBalancedBase>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_margin: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tau: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remine_lambda: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    beta: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    power: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_weights: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    normalize: Option<Normalization>,
    #[serde(skip_serializing_if = "Option::is_none")]
    zero_count: Option<ZeroCountPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    drw_start_epoch: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reduction: Option<Reduction>,
    /// The nested weighting table of earlier versions; refused with the new spelling.
    #[serde(default, skip_serializing)]
    weights: Option<serde::de::IgnoredAny>,
    /// The earlier name of `normalize`; refused with the new spelling.
    #[serde(default, skip_serializing)]
    normalization: Option<serde::de::IgnoredAny>,
}

impl FlatLoss {
    /// The keys given, besides `kind`.
    fn given(&self) -> Vec<&'static str> {
        [
            ("smoothing", self.smoothing.is_some()),
            ("label_aware", self.label_aware.is_some()),
            ("ignore_index", self.ignore_index.is_some()),
            ("gamma", self.gamma.is_some()),
            ("alpha", self.alpha.is_some()),
            ("pos_weight", self.pos_weight.is_some()),
            ("label_weighting", self.label_weighting.is_some()),
            ("no_label_weight", self.no_label_weight.is_some()),
            ("base", self.base.is_some()),
            ("max_margin", self.max_margin.is_some()),
            ("scale", self.scale.is_some()),
            ("tau", self.tau.is_some()),
            ("remine_lambda", self.remine_lambda.is_some()),
            ("scheme", self.scheme.is_some()),
            ("beta", self.beta.is_some()),
            ("power", self.power.is_some()),
            ("custom_weights", self.custom_weights.is_some()),
            ("normalize", self.normalize.is_some()),
            ("zero_count", self.zero_count.is_some()),
            ("drw_start_epoch", self.drw_start_epoch.is_some()),
            ("reduction", self.reduction.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, given)| given.then_some(key))
        .collect()
    }

    /// The class weighting of the weight keys; `None` for `uniform`.
    fn weighting(&self) -> Result<Option<ClassWeighting>, LossError> {
        if self.drw_start_epoch == Some(0) {
            return Err(LossError::InvalidParameter {
                name: "drw_start_epoch",
                value: "0".to_string(),
                expected: ">= 1 (epochs count from 1)",
            });
        }
        let scheme = Scheme::from_parts(
            self.scheme.as_deref().unwrap_or("uniform"),
            self.beta,
            self.power,
            self.custom_weights.clone(),
        )?;
        if scheme == Scheme::Uniform {
            let given = [
                ("normalize", self.normalize.map(|n| n.to_string())),
                ("zero_count", self.zero_count.map(|z| z.to_string())),
                (
                    "drw_start_epoch",
                    self.drw_start_epoch.map(|e| e.to_string()),
                ),
            ];
            if let Some((name, Some(value))) = given.into_iter().find(|(_, v)| v.is_some()) {
                return Err(LossError::InvalidParameter {
                    name,
                    value,
                    expected: "given with class weights: set scheme (uniform has none)",
                });
            }
            return Ok(None);
        }
        Ok(Some(ClassWeighting {
            scheme,
            normalization: self.normalize.unwrap_or_default(),
            zero_count: self.zero_count.unwrap_or_default(),
            // Epochs count from 1 in a config file, as burn-train shows them; from 0 here.
            start_epoch: self.drw_start_epoch.map_or(0, |e| e - 1),
        }))
    }
}

/// `value` where given, else the default already in `field`.
fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

impl TryFrom<FlatLoss> for LossConfig {
    type Error = LossError;

    fn try_from(flat: FlatLoss) -> Result<Self, LossError> {
        if flat.weights.is_some() {
            return Err(LossError::Renamed {
                key: "weights",
                new_spelling: "the nested weights table is now flat keys of [loss]: \
                               scheme = \"ens\", beta = 0.9999, normalize, zero_count, \
                               drw_start_epoch (counted from 1)",
            });
        }
        if flat.normalization.is_some() {
            return Err(LossError::Renamed {
                key: "normalization",
                new_spelling: "write normalize = \"sum-to-classes\" (or \"mean-sample\", \"none\")",
            });
        }
        let kind = flat.kind;
        let keys = kind.keys();
        if let Some(key) = flat.given().into_iter().find(|k| !keys.contains(k)) {
            return Err(LossError::KeyNotForKind {
                key,
                kind,
                keys: keys.join(", "),
            });
        }
        let mut config = LossConfig::with_defaults(kind);
        if let Some(weights) = config.weighting_mut() {
            *weights = flat.weighting()?;
        }
        match &mut config {
            LossConfig::CrossEntropy {
                smoothing,
                label_aware,
                ignore_index,
                reduction,
                ..
            } => {
                set(smoothing, flat.smoothing);
                set(label_aware, flat.label_aware.map(Some));
                set(ignore_index, flat.ignore_index.map(Some));
                set(reduction, flat.reduction);
            }
            LossConfig::Focal {
                gamma, reduction, ..
            } => {
                set(gamma, flat.gamma);
                set(reduction, flat.reduction);
            }
            LossConfig::Sigmoid {
                pos_weight,
                label_weighting,
                no_label_weight,
                reduction,
                ..
            } => {
                set(pos_weight, flat.pos_weight.map(Some));
                set(label_weighting, flat.label_weighting);
                set(no_label_weight, flat.no_label_weight);
                set(reduction, flat.reduction);
            }
            LossConfig::SigmoidFocal {
                gamma,
                alpha,
                pos_weight,
                label_weighting,
                no_label_weight,
                reduction,
                ..
            } => {
                set(gamma, flat.gamma);
                set(alpha, flat.alpha);
                set(pos_weight, flat.pos_weight.map(Some));
                set(label_weighting, flat.label_weighting);
                set(no_label_weight, flat.no_label_weight);
                set(reduction, flat.reduction);
            }
            LossConfig::ClassBalanced {
                beta,
                base,
                gamma,
                label_weighting,
                no_label_weight,
                reduction,
            } => {
                set(beta, flat.beta);
                set(base, flat.base);
                if let Some(value) = flat.gamma
                    && *base != ClassBalancedBase::Focal
                {
                    return Err(LossError::InvalidParameter {
                        name: "gamma",
                        value: value.to_string(),
                        expected: "given only with base = \"focal\" (the softmax and sigmoid \
                                   bases have no γ)",
                    });
                }
                set(gamma, flat.gamma);
                if *base == ClassBalancedBase::Softmax {
                    let given = [
                        (
                            "label_weighting",
                            flat.label_weighting.map(|l| l.to_string()),
                        ),
                        (
                            "no_label_weight",
                            flat.no_label_weight.map(|w| w.to_string()),
                        ),
                    ];
                    if let Some((name, Some(value))) = given.into_iter().find(|(_, v)| v.is_some())
                    {
                        return Err(LossError::InvalidParameter {
                            name,
                            value,
                            expected: "given only with base = \"sigmoid\" or \"focal\" (the \
                                       softmax base has one true class per sample)",
                        });
                    }
                }
                set(label_weighting, flat.label_weighting);
                set(no_label_weight, flat.no_label_weight);
                set(reduction, flat.reduction);
            }
            LossConfig::Ldam {
                max_margin,
                scale,
                reduction,
                ..
            } => {
                set(max_margin, flat.max_margin);
                set(scale, flat.scale);
                set(reduction, flat.reduction);
            }
            LossConfig::LogitAdjusted { tau, reduction, .. } => {
                set(tau, flat.tau);
                set(reduction, flat.reduction);
            }
            LossConfig::Vs {
                gamma,
                tau,
                reduction,
                ..
            } => {
                set(gamma, flat.gamma);
                set(tau, flat.tau);
                set(reduction, flat.reduction);
            }
            LossConfig::BalancedSoftmax { reduction, .. } => set(reduction, flat.reduction),
            LossConfig::Lade {
                alpha,
                remine_lambda,
                reduction,
            } => {
                set(alpha, flat.alpha);
                set(remine_lambda, flat.remine_lambda);
                set(reduction, flat.reduction);
            }
        }
        Ok(config)
    }
}

impl From<LossConfig> for FlatLoss {
    /// Every key the kind takes, defaults included, so a written config is complete.
    fn from(config: LossConfig) -> Self {
        let mut flat = FlatLoss {
            kind: config.kind(),
            reduction: Some(config.reduction()),
            ..FlatLoss::default()
        };
        if !matches!(config.kind(), LossKind::ClassBalanced | LossKind::Lade) {
            flat.scheme = Some(Scheme::Uniform.name().to_string());
        }
        if let Some(w) = config.weighting() {
            flat.scheme = Some(w.scheme.name().to_string());
            match &w.scheme {
                Scheme::Ens { beta } => flat.beta = Some(*beta),
                Scheme::Power { p } => flat.power = Some(*p),
                Scheme::Custom { weights } => flat.custom_weights = Some(weights.clone()),
                _ => {}
            }
            flat.normalize = Some(w.normalization);
            flat.zero_count = Some(w.zero_count);
            flat.drw_start_epoch = (w.start_epoch > 0).then_some(w.start_epoch + 1);
        }
        match config {
            LossConfig::CrossEntropy {
                smoothing,
                label_aware,
                ignore_index,
                ..
            } => {
                flat.smoothing = Some(smoothing);
                flat.label_aware = label_aware;
                flat.ignore_index = ignore_index;
            }
            LossConfig::Focal { gamma, .. } => flat.gamma = Some(gamma),
            LossConfig::Sigmoid {
                pos_weight,
                label_weighting,
                no_label_weight,
                ..
            } => {
                flat.pos_weight = pos_weight;
                flat.label_weighting = Some(label_weighting);
                flat.no_label_weight = Some(no_label_weight);
            }
            LossConfig::SigmoidFocal {
                gamma,
                alpha,
                pos_weight,
                label_weighting,
                no_label_weight,
                ..
            } => {
                flat.gamma = Some(gamma);
                flat.alpha = Some(alpha);
                flat.pos_weight = pos_weight;
                flat.label_weighting = Some(label_weighting);
                flat.no_label_weight = Some(no_label_weight);
            }
            LossConfig::ClassBalanced {
                beta,
                base,
                gamma,
                label_weighting,
                no_label_weight,
                ..
            } => {
                flat.beta = Some(beta);
                flat.base = Some(base);
                flat.gamma = (base == ClassBalancedBase::Focal).then_some(gamma);
                if base != ClassBalancedBase::Softmax {
                    flat.label_weighting = Some(label_weighting);
                    flat.no_label_weight = Some(no_label_weight);
                }
            }
            LossConfig::Ldam {
                max_margin, scale, ..
            } => {
                flat.max_margin = Some(max_margin);
                flat.scale = Some(scale);
            }
            LossConfig::LogitAdjusted { tau, .. } => flat.tau = Some(tau),
            LossConfig::Vs { gamma, tau, .. } => {
                flat.gamma = Some(gamma);
                flat.tau = Some(tau);
            }
            LossConfig::BalancedSoftmax { .. } => {}
            LossConfig::Lade {
                alpha,
                remine_lambda,
                ..
            } => {
                flat.alpha = Some(alpha);
                flat.remine_lambda = Some(remine_lambda);
            }
        }
        flat
    }
}
