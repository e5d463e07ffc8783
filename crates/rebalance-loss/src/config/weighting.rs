//! [`ClassWeighting`]: class weights computed from the training counts, and their flat keys in
//! a `[loss]` table (`scheme`, `beta`, `power`, `custom_weights`, `normalize`, `zero_count`,
//! `drw_start_epoch`), which every kind with a `weights` field takes.

use rebalance_weights::{
    ClassCounts, Normalization, Scheme, WeightSchedule, WeightsConfig, ZeroCountPolicy,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::LossError;
use crate::config::table::keyed_message;
use crate::error::refuse_given;

/// Class weights computed from the training counts, optionally deferred (DRW).
///
/// In a config file these are the flat keys `scheme`, `beta`, `power`, `custom_weights`,
/// `normalize`, `zero_count` and `drw_start_epoch` of a kind's table (see
/// [`LossConfig`](crate::LossConfig)); `scheme = "uniform"` (the default) is no weighting.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassWeighting {
    /// How counts become weights.
    pub scheme: Scheme,
    /// How the weights are scaled. Default `sum-to-classes`.
    pub normalization: Normalization,
    /// What empty classes get. Default `error`.
    pub zero_count: ZeroCountPolicy,
    /// First epoch (counted from 0) with these weights; before it the weights are uniform
    /// (deferred re-weighting, Cao et al., NeurIPS 2019). Default 0: from the start. A config
    /// file's `drw_start_epoch` counts from 1, as burn-train shows epochs.
    pub start_epoch: usize,
}

impl ClassWeighting {
    /// The keys of a weighting beside its scheme, which a `uniform` scheme (no weighting)
    /// refuses: `normalize`, `zero_count`, `drw_start_epoch`.
    pub const OPTION_KEYS: [&'static str; 3] = ["normalize", "zero_count", "drw_start_epoch"];

    /// Weights from the start, with the default normalization and zero-count policy.
    pub fn new(scheme: Scheme) -> Self {
        Self {
            scheme,
            normalization: Normalization::default(),
            zero_count: ZeroCountPolicy::default(),
            start_epoch: 0,
        }
    }

    /// The schedule of weights for `counts`.
    ///
    /// # Errors
    /// As [`WeightsConfig::compute`].
    pub fn schedule(&self, counts: &ClassCounts) -> Result<WeightSchedule, LossError> {
        let weights = WeightsConfig::new(self.scheme.clone())
            .with_normalization(self.normalization)
            .with_zero_count(self.zero_count)
            .compute(counts)?;
        Ok(WeightSchedule::deferred(self.start_epoch, weights))
    }
}

/// Keys of earlier versions of the `[loss]` table, refused with their new spelling.
pub(crate) const RENAMED_KEYS: [(&str, &str); 2] = [
    (
        "weights",
        "the nested weights table is now flat keys of the loss table: scheme = \"ens\", beta = 0.9999, \
         normalize, zero_count, drw_start_epoch (counted from 1)",
    ),
    (
        "normalization",
        "write normalize = \"sum-to-classes\" (or \"mean-sample\", \"none\")",
    ),
];

/// The class-weight keys as a config file writes them. Every field is written, `None` ones
/// included (TOML leaves them out), so that the kinds' key lists see them all.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct WeightKeys {
    scheme: Option<String>,
    beta: Option<f64>,
    power: Option<f64>,
    custom_weights: Option<Vec<f64>>,
    normalize: Option<Normalization>,
    zero_count: Option<ZeroCountPolicy>,
    drw_start_epoch: Option<usize>,
}

impl WeightKeys {
    /// The keys of `weighting`, complete: `scheme = "uniform"` for none.
    fn written(weighting: Option<&ClassWeighting>) -> Self {
        let Some(w) = weighting else {
            return WeightKeys {
                scheme: Some(Scheme::Uniform.name().to_string()),
                ..WeightKeys::default()
            };
        };
        let mut keys = WeightKeys {
            scheme: Some(w.scheme.name().to_string()),
            normalize: Some(w.normalization),
            zero_count: Some(w.zero_count),
            drw_start_epoch: (w.start_epoch > 0).then_some(w.start_epoch + 1),
            ..WeightKeys::default()
        };
        match &w.scheme {
            Scheme::Ens { beta } => keys.beta = Some(*beta),
            Scheme::Power { p } => keys.power = Some(*p),
            Scheme::Custom { weights } => keys.custom_weights = Some(weights.clone()),
            _ => {}
        }
        keys
    }

    /// The class weighting of the keys; `None` for `uniform`.
    fn weighting(self) -> Result<Option<ClassWeighting>, LossError> {
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
            self.custom_weights,
        )?;
        if scheme == Scheme::Uniform {
            let [normalize, zero_count, drw_start_epoch] = ClassWeighting::OPTION_KEYS;
            refuse_given(
                [
                    (normalize, self.normalize.map(|n| n.to_string())),
                    (zero_count, self.zero_count.map(|z| z.to_string())),
                    (drw_start_epoch, self.drw_start_epoch.map(|e| e.to_string())),
                ],
                "given with class weights: set scheme (uniform has none)",
            )?;
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

/// A kind's `weights` field as the flat class-weight keys of its table:
/// `#[serde(flatten, with = "crate::config::weight_keys")]`.
pub(crate) mod weight_keys {
    use super::*;

    /// Writes the keys of `weighting`.
    pub(crate) fn serialize<S: Serializer>(
        weighting: &Option<ClassWeighting>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        WeightKeys::written(weighting.as_ref()).serialize(serializer)
    }

    /// Reads the keys, checked together; an error names its key.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<ClassWeighting>, D::Error> {
        let keys: WeightKeys = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let message = e.inner().to_string();
            serde::de::Error::custom(keyed_message(e.path(), message.trim_end()))
        })?;
        keys.weighting().map_err(serde::de::Error::custom)
    }
}

/// `with_class_weights` of the `*Config`s with a `weights` field: written once.
macro_rules! with_class_weights {
    ($($config:ty),* $(,)?) => {$(
        impl $config {
            /// Uses `weights` as the class weights.
            pub fn with_class_weights(self, weights: &rebalance_weights::ClassWeights) -> Self {
                self.with_weights(Some(weights.as_slice().to_vec()))
            }
        }
    )*};
}

with_class_weights!(
    crate::BalancedSoftmaxConfig,
    crate::WeightedBinaryCrossEntropyConfig,
    crate::WeightedCrossEntropyConfig,
    crate::FocalConfig,
    crate::LdamConfig,
    crate::LogitAdjustedConfig,
    crate::SigmoidFocalConfig,
    crate::VsConfig,
);
