//! Reading a TOML config file and applying `--set key=value` overrides to it, before it is
//! deserialized into a [`RunConfig`](crate::run::config::RunConfig).

use std::path::Path;

use rebalance_loss::{ClassWeighting, LossKind};
use rebalance_weights::Scheme;
use strum::IntoEnumIterator;

use crate::run::config::ConfigError;

/// Reads and parses a TOML file.
pub(crate) fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: located(&path.display().to_string(), &text, &e),
        message: toml_message(&text, &e),
    })
}

/// `source:line:column`, where the TOML parser found the error in `text`; `source` alone
/// when the error has no place.
fn located(source: &str, text: &str, error: &toml::de::Error) -> String {
    match error.span() {
        Some(span) => {
            let (line, column) = line_column(text, span.start);
            format!("{source}:{line}:{column}")
        }
        None => source.to_string(),
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The parser's message, control characters escaped (a binary file shows escapes, not raw
/// bytes), and for an integer beyond TOML's range, the range and what to write instead.
fn toml_message(text: &str, error: &toml::de::Error) -> String {
    let message = escape_controls(error.message().trim());
    let literal = error
        .span()
        .and_then(|span| text.get(span))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '_'));
    match literal {
        Some(digits) if digits.replace('_', "").parse::<i64>().is_err() => format!(
            "{digits}: {message}; TOML integers are in -9223372036854775808..=9223372036854775807 \
             (a seed above that is written as a string: \"{digits}\")"
        ),
        _ => match error.span().and_then(|span| text.get(span)).map(str::trim) {
            // The text the error is about (the key given twice), quoted and escaped.
            Some(found) if !found.is_empty() && found.len() <= 60 && !found.contains('\n') => {
                format!("{message}: {found:?}")
            }
            _ => message,
        },
    }
}

/// `text` with control characters (but not spaces) escaped as `\n`, `\u{1b}`.
pub(crate) fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
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
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(parse_error(format!(
            "no value after '=' (a string is written \"\", as in {key}=\"\")"
        )));
    }
    let document = format!("v = {raw}");
    let value = match toml::from_str::<toml::Table>(&document) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        // A bare word is a string (`loss.scheme=ens`); a value that starts as TOML structure
        // (a list, a table, a quoted string) and does not parse is an error, with its column.
        Err(e) if raw.starts_with(['[', '{', '"', '\'']) => {
            let column = e.span().map_or(1, |span| {
                line_column(&document, span.start)
                    .1
                    .saturating_sub(4)
                    .max(1)
            });
            return Err(parse_error(format!(
                "column {column} of the value: {}",
                escape_controls(e.message().trim())
            )));
        }
        Err(_) => toml::Value::String(raw.to_string()),
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
    // A kind without class weights (no `scheme` key) owns all its keys; with them, a
    // scheme's parameter goes with its scheme, and the weighting's options with any but
    // uniform.
    let weighted = keys.contains(&"scheme");
    let scheme_takes = |key: &str| {
        if !weighted {
            return true;
        }
        if let Some((_, owner)) = Scheme::PARAMETER_KEYS.iter().find(|(k, _)| *k == key) {
            return scheme.eq_ignore_ascii_case(owner);
        }
        !ClassWeighting::OPTION_KEYS.contains(&key)
            || !scheme.eq_ignore_ascii_case(Scheme::Uniform.name())
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
            crate::say!(
                "note: --set {set} drops loss.{key} = {value}, which went with the old setting"
            );
        }
    }
}
