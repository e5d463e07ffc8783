//! Reading a TOML config file and applying `--set key=value` overrides to it, before it is
//! deserialized into a [`RunConfig`](crate::config::RunConfig).

use std::path::Path;

use rebalance_loss::LossKind;
use strum::IntoEnumIterator;

use crate::config::ConfigError;

/// Reads and parses a TOML file.
pub(crate) fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        message: e.message().to_string(),
    })
}

/// Sets `key.path = value` in `table`, creating sections as needed.
pub(crate) fn apply_set(table: &mut toml::Table, set: &str) -> Result<(), ConfigError> {
    let parse_error = |message: String| ConfigError::Parse {
        path: format!("--set {set}"),
        message,
    };
    let (key, raw) = set
        .split_once('=')
        .ok_or_else(|| parse_error("expected key=value, as in train.epochs=3".to_string()))?;
    let key = key.trim();
    let value = match toml::from_str::<toml::Table>(&format!("v = {}", raw.trim())) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.trim().to_string()),
    };
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts
        .pop()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| parse_error("empty key".to_string()))?;
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| parse_error(format!("{part} is a value, not a section")))?;
    }
    current.insert(last.to_string(), value);
    if key == "loss.kind" || key == "loss.scheme" {
        drop_stale_loss_keys(current, set);
    }
    Ok(())
}

/// After `--set loss.kind=...` or `--set loss.scheme=...`, drops the `[loss]` keys that went
/// with the old choice (`beta` of an `ens` scheme switched to `ins`), saying which: the
/// override switches the loss, and the file's keys for the old one would make it an error.
fn drop_stale_loss_keys(loss: &mut toml::Table, set: &str) {
    let kind = match loss.get("kind") {
        Some(toml::Value::String(kind)) => kind.parse::<LossKind>().ok(),
        Some(_) => None,
        None => Some(LossKind::default()),
    };
    let Some(kind) = kind else { return };
    let keys = kind.keys();
    let scheme = loss
        .get("scheme")
        .and_then(toml::Value::as_str)
        .unwrap_or("uniform");
    let scheme_takes = |key: &str| match key {
        "beta" => kind == LossKind::ClassBalanced || scheme.eq_ignore_ascii_case("ens"),
        "power" => scheme.eq_ignore_ascii_case("power"),
        "custom_weights" => scheme.eq_ignore_ascii_case("custom"),
        "normalize" | "zero_count" | "drw_start_epoch" => !scheme.eq_ignore_ascii_case("uniform"),
        _ => true,
    };
    let stale: Vec<String> = loss
        .keys()
        .filter(|k| {
            // Only keys some loss takes: a typo stays, to be reported as unknown.
            let known = LossKind::iter().any(|other| other.keys().contains(&k.as_str()));
            known && !(keys.contains(&k.as_str()) && scheme_takes(k))
        })
        .cloned()
        .collect();
    for key in &stale {
        if let Some(value) = loss.remove(key) {
            eprintln!(
                "note: --set {set} drops loss.{key} = {value}, which went with the old setting"
            );
        }
    }
}
