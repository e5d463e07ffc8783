//! A compare config: the base run config, `[compare]` and the variants, each resolved to a
//! complete run config.

use std::path::Path;

use anyhow::bail;
use rebalance_data::Resampling;
use rebalance_loss::{
    ClassBalancedKeys, CrossEntropyKeys, FocalKeys, LadeKeys, LogitAdjustedKeys, LossConfig,
    PosWeight, SigmoidFocalKeys, SigmoidKeys, VsKeys,
};
use rebalance_weights::Scheme;
use serde::{Deserialize, Serialize};

use rebalance_data::Task;

use super::packing::Pack;
use super::stats::{Metric, TaskView};
use super::tune::{self, Grid};
use crate::run::config::{self, ConfigError, RunConfig, ThresholdRule};

/// The most seeds a sweep may run per variant: each is a full training run, and the plan
/// holds every (variant, seed) run in memory before the first trains.
pub const MAX_SEEDS: usize = 1000;

/// `[compare]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompareSection {
    /// Seeds per variant, in `1..=MAX_SEEDS` (1000). Default 3.
    pub seeds: usize,
    /// The variant gains are measured against. Default `ce` (single-label) or `bce`
    /// (multi-label) when there is one, else the first variant.
    pub baseline: Option<String>,
    /// The metric the variants are ranked by and the gains measured in, by its
    /// [name](Metric::name): for single-label `balanced-accuracy` (default), `accuracy`,
    /// `macro-f1`, `g-mean`, `many-shot`, `medium-shot`, `few-shot`; for multi-label
    /// `macro-f1` (default), `micro-f1`, `map`, `subset-accuracy`, `hamming-loss` (lowest
    /// first), `tail-recall`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank_by: Option<String>,
    /// Which runs train packed, as one model: `"auto"` (default: on a GPU), `"off"`, or a
    /// number N, groups of at most N runs on any backend; `--pack` overrides
    /// (docs/compare.md, "Packed sweeps").
    pub pack: Pack,
    /// Train every point of each variant's `tune` grid and keep, per seed, the point best on
    /// the validation split (docs/compare.md); `compare --tune` sets it. Default false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tune: bool,
}

impl Default for CompareSection {
    fn default() -> Self {
        Self {
            seeds: 3,
            baseline: None,
            rank_by: None,
            pack: Pack::Auto,
            tune: false,
        }
    }
}

/// One variant of a sweep: its name and its complete run configuration (seed 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// The name, as in `--only` and the tables.
    pub name: String,
    /// The run configuration.
    pub config: RunConfig,
    /// Its grid of settings (`tune = { ... }`), trained with `--tune`; each point's config
    /// is checked when the plan is read.
    pub tune: Option<Grid>,
}

/// A parsed compare config.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparePlan {
    /// The base configuration (without `[[variants]]` and `[compare]`).
    pub base: RunConfig,
    /// `[compare]`.
    pub compare: CompareSection,
    /// The variants, in the config's order.
    pub variants: Vec<Variant>,
    /// The metric the comparison ranks by: `[compare] rank_by`, else the task's default
    /// ([`Metric::default_rank`]).
    pub rank_by: Metric,
    /// What the plan left out of the default set and why (printed by `rebalance compare`).
    pub notes: Vec<String>,
}

fn parse_error(path: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Parse {
        path: path.to_string(),
        message: message.into(),
    }
}

/// Overrides `base` with `variant`: `loss` whole, other sections key by key.
fn merge(base: &toml::Table, variant: &toml::Table) -> toml::Table {
    let mut merged = base.clone();
    for (key, value) in variant {
        match (merged.get_mut(key), value) {
            (Some(toml::Value::Table(section)), toml::Value::Table(keys)) if key != "loss" => {
                for (k, v) in keys {
                    section.insert(k.clone(), v.clone());
                }
            }
            _ => {
                merged.insert(key.clone(), value.clone());
            }
        }
    }
    merged
}

/// Whether `name` can name a directory everywhere.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A variant's config from its merged table with the `--set` overrides on top; errors name
/// `source`, the file and the variant.
fn variant_config(
    mut table: toml::Table,
    sets: &[String],
    source: &str,
) -> Result<RunConfig, ConfigError> {
    for set in sets {
        config::apply_set(&mut table, set)?;
    }
    RunConfig::from_table(table, source).map_err(|e| match e {
        ConfigError::Read { .. } | ConfigError::Parse { .. } => e,
        other => parse_error(source, other.to_string()),
    })
}

impl ComparePlan {
    /// Reads a compare config, applies `--set` overrides to the base and every variant, and
    /// validates each variant's configuration.
    ///
    /// # Errors
    /// An unreadable file, invalid TOML, a bad `[compare]` or `[[variants]]` entry, or a
    /// variant whose configuration is invalid; each names the key and the variant.
    pub fn load(path: &Path, sets: &[String]) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let mut table = config::read_table(path)?;
        for set in sets {
            config::apply_set(&mut table, set)?;
        }
        let compare: CompareSection = match table.remove("compare") {
            None => CompareSection::default(),
            Some(value) => serde_path_to_error::deserialize(value).map_err(|e| {
                parse_error(
                    &shown,
                    format!("compare.{}: {}", e.path(), e.inner().message().trim()),
                )
            })?,
        };
        if !(1..=MAX_SEEDS).contains(&compare.seeds) {
            return Err(ConfigError::Invalid {
                key: "compare.seeds",
                value: compare.seeds.to_string(),
                expected: format!("in 1..={MAX_SEEDS}"),
            });
        }
        let entries = table.remove("variants");
        let mut notes = Vec::new();
        if compare.tune {
            notes.extend(tune::default_validation(&mut table, &shown)?);
        }
        let base = RunConfig::from_table(table.clone(), &shown)?;
        // `--set` applies to every variant, and wins over what the variant sets.
        let sets: Vec<String> = sets
            .iter()
            .filter(|s| !s.trim_start().starts_with("compare."))
            .cloned()
            .collect();
        let task = base.data.task;
        let rank_by = match &compare.rank_by {
            None => Metric::default_rank(task),
            Some(name) => Metric::parse_rank(name, task).map_err(|e| parse_error(&shown, e))?,
        };
        let variants = match entries {
            Some(entries) => listed_variants(&table, entries, &sets, &shown)?,
            None => defaults(&base, &sets, &shown, compare.tune, &mut notes)?,
        };
        if let Some(v) = variants.iter().find(|v| v.config.data.task != task) {
            return Err(parse_error(
                &shown,
                format!(
                    "variant \"{}\": data.task = {}, but the sweep's is {task}; the variants of a \
                     sweep are of one task (set data.task in the base config)",
                    v.name, v.config.data.task
                ),
            ));
        }
        if let Some(baseline) = &compare.baseline
            && !variants.iter().any(|v| &v.name == baseline)
        {
            return Err(parse_error(
                &shown,
                format!(
                    "compare.baseline = \"{baseline}\": no such variant; the variants are {}",
                    names(&variants)
                ),
            ));
        }
        Ok(Self {
            base,
            compare,
            variants,
            rank_by,
            notes,
        })
    }

    /// The task of the sweep (`data.task` of the base config).
    pub fn task(&self) -> Task {
        self.base.data.task
    }

    /// The baseline variant's name: `[compare] baseline`, else `ce` (single-label) or `bce`
    /// (multi-label) when present, else the first variant.
    pub fn baseline(&self) -> &str {
        let plain = TaskView::of(self.task()).baseline;
        self.compare
            .baseline
            .as_deref()
            .or_else(|| self.variant(plain).map(|v| v.name.as_str()))
            .unwrap_or_else(|| self.variants.first().map_or("", |v| v.name.as_str()))
    }

    /// The variant called `name`.
    pub fn variant(&self, name: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.name == name)
    }

    /// The variants `--only` names, in the plan's order; all of them without names.
    ///
    /// # Errors
    /// A name that is no variant's (with the plan's [`notes`](Self::notes), which say what the
    /// default set left out).
    pub fn select(&self, only: &[String]) -> anyhow::Result<Vec<&Variant>> {
        if let Some(name) = only.iter().find(|name| self.variant(name).is_none()) {
            let why = if self.notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", self.notes.join("; "))
            };
            bail!(
                "--only {name}: no such variant; the variants are {}{why}",
                names(&self.variants)
            );
        }
        Ok(self
            .variants
            .iter()
            .filter(|v| only.is_empty() || only.contains(&v.name))
            .collect())
    }
}

/// The [default set](default_variants) on `base` ([the multi-label
/// one](default_multi_label_variants) for a multi-label base, without its tuned-threshold
/// variants when `base` has no validation split, noted in `notes`). The `--set` overrides,
/// already in `base`, go on top of each variant again: they win over what it sets, as over a
/// listed variant's keys.
fn defaults(
    base: &RunConfig,
    sets: &[String],
    shown: &str,
    tuned: bool,
    notes: &mut Vec<String>,
) -> Result<Vec<Variant>, ConfigError> {
    let mut defaults = (TaskView::of(base.data.task).defaults)(base, notes);
    if tuned {
        defaults = tune::tuned_defaults(defaults);
    }
    defaults
        .into_iter()
        .map(|default| {
            let source = format!("{shown}, variant \"{}\"", default.name);
            let config = default.apply(base);
            let config = if sets.is_empty() {
                config
                    .validate()
                    .map_err(|e| parse_error(&source, e.to_string()))?;
                config
            } else {
                let table = toml::Table::try_from(&config)
                    .map_err(|e| parse_error(&source, e.to_string()))?;
                variant_config(table, sets, &source)?
            };
            if let Some(grid) = &default.tune {
                tune::check(grid, &config, &source)?;
            }
            Ok(Variant {
                name: default.name,
                config,
                tune: default.tune,
            })
        })
        .collect()
}

/// The variants of a `[[variants]]` list, each merged into the base `table`.
fn listed_variants(
    table: &toml::Table,
    entries: toml::Value,
    sets: &[String],
    shown: &str,
) -> Result<Vec<Variant>, ConfigError> {
    let toml::Value::Array(entries) = entries else {
        return Err(parse_error(
            shown,
            "variants: must be a list of tables, as in [[variants]]",
        ));
    };
    if entries.is_empty() {
        return Err(parse_error(
            shown,
            "variants: the list is empty; give at least one [[variants]] or none for the default set",
        ));
    }
    let mut out: Vec<Variant> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let toml::Value::Table(mut keys) = entry else {
            return Err(parse_error(
                shown,
                format!("variants[{i}]: must be a table"),
            ));
        };
        let name = match keys.remove("name") {
            Some(toml::Value::String(name)) if valid_name(&name) => name,
            Some(other) => {
                return Err(parse_error(
                    shown,
                    format!(
                        "variants[{i}].name = {other}: must be a non-empty string of letters, \
                         digits, '-', '_' or '.'"
                    ),
                ));
            }
            None => {
                return Err(parse_error(shown, format!("variants[{i}]: has no name")));
            }
        };
        if out.iter().any(|v| v.name == name) {
            return Err(parse_error(
                shown,
                format!("variants[{i}].name = \"{name}\": used twice; names must differ"),
            ));
        }
        let grid = keys
            .remove("tune")
            .map(|value| Grid::parse(&value, &name))
            .transpose()
            .map_err(|e| parse_error(shown, e))?;
        let source = format!("{shown}, variant \"{name}\"");
        let config = variant_config(merge(table, &keys), sets, &source)?;
        if let Some(grid) = &grid {
            tune::check(grid, &config, &source)?;
        }
        out.push(Variant {
            name,
            config,
            tune: grid,
        });
    }
    Ok(out)
}

fn names(variants: &[Variant]) -> String {
    variants
        .iter()
        .map(|v| v.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Variant {
    /// A short description of the variant's method: `loss` (as its reports name it) and what
    /// the variant adds.
    pub fn method(&self, loss: &str) -> String {
        let mut text = describe_loss(loss, &self.config.loss);
        if self.config.eval.thresholds == ThresholdRule::Tuned {
            text += ", tuned thresholds";
        }
        if let Some(tau) = self.config.eval.posthoc_tau {
            text += &format!(", post-hoc τ={tau}");
        }
        if self.config.data.resampling != Resampling::None {
            text += &format!(", {} re-sampling", self.config.data.resampling);
        }
        if let Some(stage2) = &self.config.train.stage2 {
            text += &format!(
                ", cRT {} epochs on {} re-sampling",
                stage2.epochs, stage2.resampling
            );
            // The stage's loss, where it is not stage 1's plain cross-entropy already.
            let loss = stage2.loss();
            if stage2.loss.is_some() || self.config.loss != loss {
                text += &format!(" with {}", describe_loss(loss.name(), &loss));
            }
        }
        text
    }
}

/// `name` (the loss as reports name it) and the settings of `l` that tell methods apart.
fn describe_loss(name: &str, l: &LossConfig) -> String {
    let mut text = name.to_string();
    match l.weighting().map(|w| &w.scheme) {
        None => {}
        Some(Scheme::Ens { beta }) => text += &format!(", ens β={beta}"),
        Some(other) => text += &format!(", {}", other.name()),
    }
    match l {
        LossConfig::Focal(FocalKeys { gamma, .. })
        | LossConfig::SigmoidFocal(SigmoidFocalKeys { gamma, .. }) => {
            text += &format!(" γ={gamma}")
        }
        LossConfig::ClassBalanced(ClassBalancedKeys { beta, gamma, .. }) => {
            text += &format!(" β={beta} γ={gamma}")
        }
        LossConfig::LogitAdjusted(LogitAdjustedKeys { tau, .. }) => text += &format!(" τ={tau}"),
        LossConfig::Vs(VsKeys { gamma, tau, .. }) => text += &format!(" γ={gamma} τ={tau}"),
        LossConfig::CrossEntropy(CrossEntropyKeys {
            label_aware: Some(smoothing),
            ..
        }) => {
            text += &format!(
                ", label-aware smoothing {}→{} {}",
                smoothing.head, smoothing.tail, smoothing.shape
            )
        }
        LossConfig::Lade(LadeKeys {
            alpha,
            remine_lambda,
            ..
        }) => text += &format!(" α={alpha} λ={remine_lambda}"),
        _ => {}
    }
    if let Some(w) = l.weighting().filter(|w| w.start_epoch > 0) {
        text += &format!(", weights from epoch {}", w.start_epoch + 1);
    }
    if let LossConfig::Sigmoid(SigmoidKeys {
        pos_weight: Some(pos_weight),
        ..
    })
    | LossConfig::SigmoidFocal(SigmoidFocalKeys {
        pos_weight: Some(pos_weight),
        ..
    }) = l
    {
        text += &match pos_weight {
            PosWeight::Balanced => ", pos_weight balanced".to_string(),
            PosWeight::Values(_) => ", pos_weight".to_string(),
        };
    }
    text
}

#[cfg(test)]
impl ComparePlan {
    /// The plan of the compare config `text`, written to a temporary file, without overrides.
    ///
    /// # Panics
    /// The temporary file cannot be written.
    pub(crate) fn from_text(text: &str) -> Result<Self, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("compare.toml");
        std::fs::write(&path, text).unwrap();
        Self::load(&path, &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_override_the_base() {
        let base: toml::Table = toml::from_str(
            "[loss]\nkind = \"focal\"\ngamma = 3.0\n[train]\nepochs = 5\nseed = 2\n",
        )
        .unwrap();
        let variant: toml::Table =
            toml::from_str("loss = { kind = \"cross-entropy\" }\ntrain = { epochs = 7 }\n")
                .unwrap();
        let merged = merge(&base, &variant);
        // `loss` is replaced whole: no focal γ leaks into the variant.
        assert_eq!(merged["loss"].as_table().unwrap().len(), 1);
        assert_eq!(merged["train"]["epochs"].as_integer(), Some(7));
        assert_eq!(merged["train"]["seed"].as_integer(), Some(2));
    }

    #[test]
    fn the_shipped_compare_config_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/compare.toml");
        let plan = ComparePlan::load(&path, &[]).unwrap();
        assert_eq!(plan.variants.len(), 20);
        assert_eq!(plan.baseline(), "ce");
        assert_eq!(plan.base.output.dir, Path::new("runs/compare"));
        assert_eq!(plan.rank_by, Metric::BalancedAccuracy);
    }

    #[test]
    fn rank_by_takes_the_names_of_the_task() {
        let load = ComparePlan::from_text;
        let ml = "[data]\ntask = \"multi-label\"\n[loss]\nkind = \"sigmoid\"\n";
        let plan = load(&format!("{ml}[compare]\nrank_by = \"map\"\n")).unwrap();
        assert_eq!(plan.rank_by, Metric::MeanAveragePrecision);
        let plan = load(&format!("{ml}[compare]\nrank_by = \"hamming-loss\"\n")).unwrap();
        assert_eq!(plan.rank_by, Metric::HammingLoss);
        let plan = load("[compare]\nrank_by = \"macro-f1\"\n").unwrap();
        assert_eq!(plan.rank_by, Metric::MacroF1);
        let err = load("[compare]\nrank_by = \"map\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "compare.rank_by = \"map\": not a metric of a single-label comparison; valid: \
                 accuracy, balanced-accuracy, macro-f1, g-mean, many-shot, medium-shot, few-shot"
            ),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
        // Every score metric's name parses back to it.
        for task in <Task as strum::IntoEnumIterator>::iter() {
            for &metric in Metric::of_task(task).iter().filter(|m| m.is_score()) {
                assert_eq!(Metric::parse_rank(&metric.name(), task), Ok(metric));
            }
        }
    }
}
