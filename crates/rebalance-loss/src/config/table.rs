//! The `[loss]` table of a config file: `kind` (default `cross-entropy`, any case) picks the
//! variant of [`LossConfig`], and the other keys are the kind's `*Keys` struct. serde's
//! internally tagged enums do the same, but without a default tag and with their own
//! messages; this keeps ours: a key the kind does not take lists the kind's keys, and every
//! error names its key.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::config::weighting::RENAMED_KEYS;
use crate::{LossConfig, LossError, LossKind};

/// The serde form of a [`LossConfig`]: `kind`, then the keys of its kind.
#[derive(Serialize)]
pub(crate) struct Tagged<'a, K> {
    /// The kind.
    pub kind: LossKind,
    /// Its keys.
    #[serde(flatten)]
    pub keys: &'a K,
}

impl<'de> Deserialize<'de> for LossConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `null` (JSON's) is a key left out, as TOML leaves out a `None`.
        let entries = BTreeMap::<String, Option<toml::Value>>::deserialize(deserializer)?;
        let table = entries
            .into_iter()
            .filter_map(|(key, value)| Some((key, value?)))
            .collect();
        LossConfig::from_table(table).map_err(serde::de::Error::custom)
    }
}

impl LossConfig {
    /// The config of a `[loss]` table.
    ///
    /// # Errors
    /// A message that starts with the key it is about.
    fn from_table(mut table: toml::Table) -> Result<Self, String> {
        let kind = match table.remove("kind") {
            Some(value) => {
                LossKind::deserialize(value).map_err(|e| format!("kind: {}", e.message()))?
            }
            None => LossKind::default(),
        };
        if let Some((key, new_spelling)) = RENAMED_KEYS
            .into_iter()
            .find(|(key, _)| table.contains_key(*key))
        {
            return Err(LossError::Renamed { key, new_spelling }.to_string());
        }
        let keys = kind.keys();
        if let Some(key) = table.keys().find(|key| !keys.contains(&key.as_str())) {
            return Err(LossError::KeyNotForKind {
                key: key.clone(),
                kind,
                keys: keys.join(", "),
            }
            .to_string());
        }
        LossConfig::from_keys(kind, table)
    }
}

/// A kind's `*Keys` from the keys of its table.
///
/// # Errors
/// A message that starts with the key it is about (`gamma: invalid type: ...`), or the kind's
/// own check of its keys together (`beta = 2: must be in [0, 1)`).
pub(crate) fn deserialize_keys<K: DeserializeOwned>(table: toml::Table) -> Result<K, String> {
    serde_path_to_error::deserialize(toml::Value::Table(table))
        .map_err(|e| keyed_message(e.path(), e.inner().message()))
}

/// `message` after the key path where it happened (`label_aware.shape: unknown smoothing
/// shape "round": ...`), or alone at the top of the table.
pub(crate) fn keyed_message(path: &serde_path_to_error::Path, message: &str) -> String {
    match path.to_string().as_str() {
        "." => message.to_string(),
        path => format!("{path}: {message}"),
    }
}
