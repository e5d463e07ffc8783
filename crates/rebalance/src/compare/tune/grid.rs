//! A variant's grid of settings, `tune = { beta = [0.9, 0.99, 0.999, 0.9999] }`: its keys, the
//! values each takes, the points of their Cartesian product and each point's run config.
//!
//! A key without a section is a `[loss]` key (`beta`, `gamma`, `label_aware.head`); a key
//! whose first part names a section is that section's (`eval.posthoc_tau`, `train.epochs`).
//! TOML's dotted keys (`tune = { eval.posthoc_tau = [0.5, 1.0] }`) and quoted ones
//! (`"eval.posthoc_tau" = [...]`) are the same key.

use serde::{Deserialize, Serialize};

use crate::run::config::{ConfigError, RunConfig};

/// The sections a grid key may name; any other first part is a `[loss]` key's.
const SECTIONS: [&str; 6] = ["data", "model", "loss", "train", "eval", "output"];

/// Keys a grid may not vary: where a run lives and runs, its seeds, and the validation split
/// every grid point of a seed is chosen on.
const FIXED: [&str; 7] = [
    "output",
    "data.seed",
    "train.seed",
    "train.backend",
    "train.workers",
    "data.validation_fraction",
    "data.validation_per_class",
];

/// One key of a grid and the values it takes, in the order written.
#[derive(Debug, Clone, PartialEq)]
pub struct GridKey {
    /// The key as written in `tune` (`beta`, `eval.posthoc_tau`).
    pub key: String,
    /// Its values.
    pub values: Vec<toml::Value>,
}

impl GridKey {
    /// The key's path in a run config: `loss.beta`, `eval.posthoc_tau`.
    pub fn path(&self) -> String {
        let first = self.key.split('.').next().unwrap_or_default();
        if SECTIONS.contains(&first) {
            self.key.clone()
        } else {
            format!("loss.{}", self.key)
        }
    }
}

/// A variant's grid: its keys in alphabetical order (a TOML table keeps no order), each
/// with its values; the grid's points are their Cartesian product. In JSON, an object of
/// each key's list of values, in the grid's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// The keys and their values.
    pub keys: Vec<GridKey>,
}

impl Serialize for Grid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.keys.len()))?;
        for key in &self.keys {
            map.serialize_entry(&key.key, &key.values)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Grid {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = Grid;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of each key's list of values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Grid, A::Error> {
                let mut keys = Vec::new();
                while let Some((key, values)) = map.next_entry::<String, Vec<toml::Value>>()? {
                    keys.push(GridKey { key, values });
                }
                Ok(Grid { keys })
            }
        }
        deserializer.deserialize_map(Keys)
    }
}

/// One point of a grid: a value per key.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// A directory-safe name: `beta-0.99`, `gamma-0.2_tau-1.0`.
    pub name: String,
    /// `(key, value)` per key of the grid, in the grid's order.
    pub values: Vec<(String, toml::Value)>,
}

impl Grid {
    /// Reads `tune` of variant `variant` (for the messages).
    ///
    /// # Errors
    /// One line naming the variant and the key: not a table, empty, a key that is not a list
    /// of values, an empty list, a value listed twice, a key a grid may not vary.
    pub fn parse(value: &toml::Value, variant: &str) -> Result<Grid, String> {
        let bad = |what: String| format!("variant \"{variant}\": {what}");
        let toml::Value::Table(table) = value else {
            return Err(bad(format!(
                "tune = {value}: must be a table of keys and their values, as in \
                 tune = {{ beta = [0.9, 0.99] }}"
            )));
        };
        let mut keys = Vec::new();
        flatten(table, "", &mut keys);
        if keys.is_empty() {
            return Err(bad(
                "tune = {}: names no key; give one, as in tune = { beta = [0.9, 0.99] }"
                    .to_string(),
            ));
        }
        let mut grid = Vec::with_capacity(keys.len());
        for (key, value) in keys {
            let path = GridKey {
                key: key.clone(),
                values: Vec::new(),
            }
            .path();
            if let Some(fixed) = FIXED
                .iter()
                .find(|f| path == **f || path.starts_with(&format!("{f}.")))
            {
                return Err(bad(format!(
                    "tune.{key}: {fixed} is not tuned (the grid points of a seed share its \
                     data, split, seeds and place)"
                )));
            }
            let values = match value {
                toml::Value::Array(values) if !values.is_empty() => values.clone(),
                other => {
                    return Err(bad(format!(
                        "tune.{key} = {other}: must be a non-empty list of values, as in \
                         [0.9, 0.99]"
                    )));
                }
            };
            for (k, v) in values.iter().enumerate() {
                if matches!(v, toml::Value::Array(_) | toml::Value::Table(_)) {
                    return Err(bad(format!(
                        "tune.{key}: {v} is not a single value (a number, string or boolean)"
                    )));
                }
                if values[..k]
                    .iter()
                    .any(|w| safe(&name_of(w)) == safe(&name_of(v)))
                {
                    return Err(bad(format!("tune.{key}: {v} is listed twice")));
                }
            }
            grid.push(GridKey { key, values });
        }
        Ok(Grid { keys: grid })
    }

    /// The grid's points, the first key's values outermost.
    pub fn points(&self) -> Vec<Point> {
        let mut points = vec![Vec::<(String, toml::Value)>::new()];
        for key in &self.keys {
            points = points
                .into_iter()
                .flat_map(|point| {
                    key.values.iter().map(move |v| {
                        let mut point = point.clone();
                        point.push((key.key.clone(), v.clone()));
                        point
                    })
                })
                .collect();
        }
        points
            .into_iter()
            .map(|values| Point {
                name: values
                    .iter()
                    .map(|(k, v)| format!("{}-{}", safe(k), safe(&name_of(v))))
                    .collect::<Vec<_>>()
                    .join("_"),
                values,
            })
            .collect()
    }

    /// `config` at `point`: each key set, the config read and checked again. `source` names
    /// the file and variant in the errors.
    ///
    /// # Errors
    /// A value the key does not take, naming the variant, the key and the value.
    pub fn apply(
        &self,
        config: &RunConfig,
        point: &Point,
        source: &str,
    ) -> Result<RunConfig, ConfigError> {
        let setting = point
            .values
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let source = format!("{source}, tune {setting}");
        let mut table = toml::Table::try_from(config).map_err(|e| ConfigError::Parse {
            path: source.clone(),
            message: e.to_string(),
        })?;
        for ((key, value), grid_key) in point.values.iter().zip(&self.keys) {
            debug_assert_eq!(key, &grid_key.key);
            set(&mut table, &grid_key.path(), value.clone());
        }
        RunConfig::from_table(table, &source).map_err(|e| match e {
            ConfigError::Read { .. } | ConfigError::Parse { .. } => e,
            other => ConfigError::Parse {
                path: source,
                message: other.to_string(),
            },
        })
    }

    /// `key = [v, ...]` per key, as written: `beta = [0.9, 0.99]; tau = [1.0]`.
    pub fn describe(&self) -> String {
        self.keys
            .iter()
            .map(|k| {
                let values: Vec<String> = k.values.iter().map(name_of).collect();
                format!("{} ∈ {{{}}}", k.key, values.join(", "))
            })
            .collect::<Vec<_>>()
            .join(" × ")
    }
}

/// The `(dotted key, value)` leaves of `table`, a nested table's keys under `prefix.`.
fn flatten(table: &toml::Table, prefix: &str, out: &mut Vec<(String, toml::Value)>) {
    for (key, value) in table {
        let key = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten(inner, &key, out),
            other => out.push((key, other.clone())),
        }
    }
}

/// Sets `path` (dotted) in `table` to `value`, creating tables on the way.
fn set(table: &mut toml::Table, path: &str, value: toml::Value) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap_or_default();
    let mut here = table;
    for part in parts {
        let entry = here
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(inner) = entry else {
            return;
        };
        here = inner;
    }
    here.insert(last.to_string(), value);
}

/// A value as a point's name shows it: a string without its quotes.
pub(crate) fn name_of(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `text` with every character a directory name may not hold made `_`.
fn safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(text: &str) -> Result<Grid, String> {
        let table: toml::Table = toml::from_str(&format!("tune = {text}")).unwrap();
        Grid::parse(&table["tune"], "v")
    }

    #[test]
    fn keys_make_a_cartesian_grid_of_named_points() {
        let g = grid("{ tau = [0.5, 1.0], gamma = [0.1, 0.2, 0.3] }").unwrap();
        let points = g.points();
        assert_eq!(points.len(), 6);
        let names: Vec<&str> = points.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "gamma-0.1_tau-0.5",
                "gamma-0.1_tau-1.0",
                "gamma-0.2_tau-0.5",
                "gamma-0.2_tau-1.0",
                "gamma-0.3_tau-0.5",
                "gamma-0.3_tau-1.0"
            ]
        );
        assert_eq!(g.describe(), "gamma ∈ {0.1, 0.2, 0.3} × tau ∈ {0.5, 1.0}");
        // Dotted keys name a section, or a [loss] key below its first part.
        let g = grid("{ eval.posthoc_tau = [1.0], label_aware.head = [0.2], \"beta\" = [0.9] }")
            .unwrap();
        let paths: Vec<String> = g.keys.iter().map(GridKey::path).collect();
        assert_eq!(
            paths,
            ["loss.beta", "eval.posthoc_tau", "loss.label_aware.head"]
        );
        assert_eq!(
            g.points()[0].name,
            "beta-0.9_eval.posthoc_tau-1.0_label_aware.head-0.2"
        );
        assert_eq!(
            grid("{ shape = [\"concave\", \"linear\"] }")
                .unwrap()
                .points()[1]
                .name,
            "shape-linear"
        );
    }

    #[test]
    fn bad_grids_are_named() {
        for (text, message) in [
            (
                "[0.9]",
                "variant \"v\": tune = [0.9]: must be a table of keys and their values",
            ),
            ("{}", "variant \"v\": tune = {}: names no key"),
            (
                "{ beta = 0.9 }",
                "variant \"v\": tune.beta = 0.9: must be a non-empty list of values",
            ),
            (
                "{ beta = [] }",
                "variant \"v\": tune.beta = []: must be a non-empty list of values",
            ),
            (
                "{ beta = [0.9, 0.9] }",
                "variant \"v\": tune.beta: 0.9 is listed twice",
            ),
            (
                "{ beta = [[0.9]] }",
                "variant \"v\": tune.beta: [0.9] is not a single value",
            ),
            (
                "{ train.seed = [1, 2] }",
                "variant \"v\": tune.train.seed: train.seed is not tuned",
            ),
            (
                "{ data.validation_fraction = [0.1] }",
                "variant \"v\": tune.data.validation_fraction: data.validation_fraction is not \
                 tuned",
            ),
        ] {
            let err = grid(text).unwrap_err();
            assert!(err.starts_with(message), "{text}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn a_point_sets_its_keys_and_is_checked() {
        let config = RunConfig {
            loss: toml::from_str::<toml::Table>(
                "kind = \"cross-entropy\"\nscheme = \"ens\"\nbeta = 0.999\n",
            )
            .unwrap()
            .try_into()
            .unwrap(),
            ..RunConfig::default()
        };
        let g = grid("{ beta = [0.9, 1.5], eval.posthoc_tau = [0.5] }").unwrap();
        let points = g.points();
        let at = g
            .apply(&config, &points[0], "c.toml, variant \"ens\"")
            .unwrap();
        assert_eq!(
            at.loss.weighting().map(|w| w.scheme.clone()),
            Some(rebalance_weights::Scheme::Ens { beta: 0.9 })
        );
        assert_eq!(at.eval.posthoc_tau, Some(0.5));
        let err = g
            .apply(&config, &points[1], "c.toml, variant \"ens\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "c.toml, variant \"ens\", tune beta = 1.5, eval.posthoc_tau = 0.5: loss.beta"
            ),
            "{err}"
        );
        assert!(err.contains("1.5"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}
