//! `rebalance compare`: every variant of a config trained over several seeds on the same data,
//! summarised as `comparison.json`, `comparison.md`, `comparison.csv` and plots.
//!
//! A compare config is a train config plus a list of variants, each a name and the keys it
//! overrides:
//!
//! ```toml
//! [compare]
//! seeds = 3            # default 3; --seeds overrides
//! baseline = "ce"      # the variant the gains are measured against (default "ce", else the first)
//!
//! [[variants]]
//! name = "ce"
//! loss = { kind = "cross-entropy" }
//!
//! [[variants]]
//! name = "ens-0.999"
//! loss = { kind = "cross-entropy", scheme = "ens", beta = 0.999 }
//!
//! [[variants]]
//! name = "cb-resampling"
//! data = { resampling = "class-balanced" }
//! ```
//!
//! A variant's `loss` replaces the base `[loss]` whole, so a variant is exactly the loss it
//! names; its other sections (`data`, `model`, `train`, `eval`) override the base key by key.
//! Without `[[variants]]` the [default set](default_variants) runs.
//!
//! Seed `k` (from 0) of a sweep adds `k` to both `data.seed` and `train.seed`: every variant
//! sees the same data, split and initialisation seed, and the data of a seed is generated once
//! and shared by all its variants.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use indicatif::{HumanDuration, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rebalance_data::{LongTailData, Resampling};
use serde::{Deserialize, Serialize};

use crate::config::{self, ConfigError, RunConfig};
use crate::plots::{self, Bar};
use crate::renderer::RunProgress;
use crate::report::{Report, write_atomic};
use crate::training::{TrainOptions, train_on};
use rebalance_loss::LossConfig;
use rebalance_weights::Scheme;

/// Options of `rebalance compare` beside the config file (its command-line flags).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CompareOptions {
    /// Backend for every run: flex, ndarray, wgpu or cuda [default: the config's].
    #[arg(long)]
    pub backend: Option<String>,
    /// Seeds per variant [default: the config's compare.seeds, 3].
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Compare directory [default: the config's output.dir].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only these variants, comma-separated [default: all].
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Override a config key for the base and every variant (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Retrain finished runs whose recorded config differs from the current one.
    #[arg(long)]
    pub force: bool,
}

/// `[compare]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompareSection {
    /// Seeds per variant, `>= 1`. Default 3.
    pub seeds: usize,
    /// The variant gains are measured against. Default `ce` when there is one, else the
    /// first variant.
    pub baseline: Option<String>,
}

impl Default for CompareSection {
    fn default() -> Self {
        Self {
            seeds: 3,
            baseline: None,
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
}

/// The default variants, for a base config training `epochs` epochs: the weighting schemes,
/// the losses that adjust for the prior, and the re-sampling baselines.
///
/// | name | what |
/// |---|---|
/// | `ce` | plain cross-entropy |
/// | `ins`, `isns` | cross-entropy weighted by `1/n`, `1/√n` |
/// | `ens-0.9` … `ens-0.9999` | cross-entropy weighted by the effective number (Cui et al., 2019) |
/// | `focal-1`, `focal-2` | softmax focal loss, γ = 1, 2 (Lin et al., 2017) |
/// | `cb-focal` | class-balanced focal loss, β = 0.999, γ = 1 (Cui et al., 2019) |
/// | `ldam-drw` | LDAM, ENS β = 0.9999 weights deferred to the last fifth of the epochs (Cao et al., 2019) |
/// | `logit-adjusted` | logit-adjusted loss, τ = 1 (Menon et al., 2021) |
/// | `balanced-softmax` | Balanced Softmax (Ren et al., 2020) |
/// | `ce-posthoc` | cross-entropy, logits adjusted post hoc with τ = 1 (Menon et al., 2021) |
/// | `cb-resampling` | cross-entropy on class-balanced re-sampling (Kang et al., 2020) |
/// | `sqrt-resampling` | cross-entropy on square-root re-sampling (Mahajan et al., 2018) |
pub fn default_variants(epochs: usize) -> String {
    // Cao et al. switch the weights on at epoch 161 of 200.
    let drw = epochs * 4 / 5 + 1;
    let mut text = String::new();
    let ce = r#"{ kind = "cross-entropy" }"#;
    let mut add = |name: &str, keys: &str| {
        let _ = writeln!(text, "[[variants]]\nname = \"{name}\"\n{keys}\n");
    };
    add("ce", &format!("loss = {ce}"));
    add(
        "ins",
        r#"loss = { kind = "cross-entropy", scheme = "ins" }"#,
    );
    add(
        "isns",
        r#"loss = { kind = "cross-entropy", scheme = "isns" }"#,
    );
    for beta in ["0.9", "0.99", "0.999", "0.9999"] {
        add(
            &format!("ens-{beta}"),
            &format!(r#"loss = {{ kind = "cross-entropy", scheme = "ens", beta = {beta} }}"#),
        );
    }
    for gamma in [1, 2] {
        add(
            &format!("focal-{gamma}"),
            &format!(r#"loss = {{ kind = "focal", gamma = {gamma}.0 }}"#),
        );
    }
    add(
        "cb-focal",
        r#"loss = { kind = "class-balanced", base = "focal", beta = 0.999, gamma = 1.0 }"#,
    );
    add(
        "ldam-drw",
        &format!(
            r#"loss = {{ kind = "ldam", scheme = "ens", beta = 0.9999, drw_start_epoch = {drw} }}"#
        ),
    );
    add(
        "logit-adjusted",
        r#"loss = { kind = "logit-adjusted", tau = 1.0 }"#,
    );
    add(
        "balanced-softmax",
        r#"loss = { kind = "balanced-softmax" }"#,
    );
    add(
        "ce-posthoc",
        &format!("loss = {ce}\neval = {{ posthoc_tau = 1.0 }}"),
    );
    add(
        "cb-resampling",
        &format!("loss = {ce}\ndata = {{ resampling = \"class-balanced\" }}"),
    );
    add(
        "sqrt-resampling",
        &format!("loss = {ce}\ndata = {{ resampling = \"square-root\" }}"),
    );
    text
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
        if compare.seeds == 0 {
            return Err(ConfigError::Invalid {
                key: "compare.seeds",
                value: "0".to_string(),
                expected: ">= 1".to_string(),
            });
        }
        let variants = table.remove("variants");
        let base = RunConfig::from_table(table.clone(), &shown)?;
        let variants = match variants {
            Some(value) => value,
            None => toml::from_str::<toml::Table>(&default_variants(base.train.epochs))
                .map_err(|e| parse_error("the default variants", e.message()))?
                .remove("variants")
                .unwrap_or_else(|| toml::Value::Array(Vec::new())),
        };
        let toml::Value::Array(entries) = variants else {
            return Err(parse_error(
                &shown,
                "variants: must be a list of tables, as in [[variants]]",
            ));
        };
        if entries.is_empty() {
            return Err(parse_error(
                &shown,
                "variants: the list is empty; give at least one [[variants]] or none for the default set",
            ));
        }
        let mut out: Vec<Variant> = Vec::with_capacity(entries.len());
        for (i, entry) in entries.into_iter().enumerate() {
            let toml::Value::Table(mut keys) = entry else {
                return Err(parse_error(
                    &shown,
                    format!("variants[{i}]: must be a table"),
                ));
            };
            let name = match keys.remove("name") {
                Some(toml::Value::String(name)) if valid_name(&name) => name,
                Some(other) => {
                    return Err(parse_error(
                        &shown,
                        format!(
                            "variants[{i}].name = {other}: must be a non-empty string of letters, \
                             digits, '-', '_' or '.'"
                        ),
                    ));
                }
                None => {
                    return Err(parse_error(&shown, format!("variants[{i}]: has no name")));
                }
            };
            if out.iter().any(|v| v.name == name) {
                return Err(parse_error(
                    &shown,
                    format!("variants[{i}].name = \"{name}\": used twice; names must differ"),
                ));
            }
            let mut merged = merge(&table, &keys);
            for set in sets
                .iter()
                .filter(|s| !s.trim_start().starts_with("compare."))
            {
                config::apply_set(&mut merged, set)?;
            }
            let config = RunConfig::from_table(merged, &format!("{shown}, variant \"{name}\""))
                .map_err(|e| match e {
                    ConfigError::Read { .. } | ConfigError::Parse { .. } => e,
                    other => {
                        parse_error(&format!("{shown}, variant \"{name}\""), other.to_string())
                    }
                })?;
            out.push(Variant { name, config });
        }
        if let Some(baseline) = &compare.baseline
            && !out.iter().any(|v| &v.name == baseline)
        {
            return Err(parse_error(
                &shown,
                format!(
                    "compare.baseline = \"{baseline}\": no such variant; the variants are {}",
                    names(&out)
                ),
            ));
        }
        Ok(Self {
            base,
            compare,
            variants: out,
        })
    }

    /// The baseline variant's name: `[compare] baseline`, else `ce` when present, else the
    /// first variant.
    pub fn baseline(&self) -> &str {
        self.compare
            .baseline
            .as_deref()
            .or_else(|| {
                self.variants
                    .iter()
                    .find(|v| v.name == "ce")
                    .map(|v| v.name.as_str())
            })
            .unwrap_or_else(|| self.variants.first().map_or("", |v| v.name.as_str()))
    }
}

fn names(variants: &[Variant]) -> String {
    variants
        .iter()
        .map(|v| v.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One (variant, seed) run of a sweep.
#[derive(Debug, Clone)]
struct Run {
    variant: String,
    seed: u64,
    dir: PathBuf,
    config: RunConfig,
    /// The resolved config, as the run directory records it.
    recorded: String,
}

/// The first key whose value differs between two configs, as `key: old → new`.
fn first_difference(old: &toml::Value, new: &toml::Value, prefix: &str) -> Option<String> {
    match (old, new) {
        (toml::Value::Table(a), toml::Value::Table(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|k| {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => first_difference(x, y, &key),
                    (Some(x), None) => Some(format!("{key}: {x} → (unset)")),
                    (None, Some(y)) => Some(format!("{key}: (unset) → {y}")),
                    (None, None) => None,
                }
            })
        }
        (a, b) if a == b => None,
        (a, b) => Some(format!("{prefix}: {a} → {b}")),
    }
}

/// What a sweep found for one run in the compare directory.
enum Found {
    /// Finished with the same config.
    Done,
    /// Not finished (or never started).
    Todo,
    /// Started or finished with another config: the first difference.
    Changed(String),
}

fn inspect(run: &Run) -> Found {
    let Ok(old) = std::fs::read_to_string(run.dir.join("config.toml")) else {
        return Found::Todo;
    };
    if old == run.recorded {
        return if run.dir.join("report.json").exists() {
            Found::Done
        } else {
            Found::Todo
        };
    }
    let parse = |t: &str| t.parse::<toml::Table>().map(toml::Value::Table);
    let difference = match (parse(&old), parse(&run.recorded)) {
        (Ok(a), Ok(b)) => first_difference(&a, &b, ""),
        _ => None,
    };
    Found::Changed(difference.unwrap_or_else(|| "config.toml is unreadable".to_string()))
}

/// A run's test results, as `comparison.csv` lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// The variant.
    pub variant: String,
    /// Its `train.seed` (data seed = `data.seed` + the same offset).
    pub seed: u64,
    /// The metrics.
    #[serde(flatten)]
    pub metrics: Metrics,
}

/// The metrics a comparison aggregates; fractions in `[0, 1]`, wall time in seconds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metrics {
    /// Accuracy.
    pub accuracy: f64,
    /// Balanced accuracy (mean per-class recall).
    pub balanced_accuracy: f64,
    /// Macro-averaged F1.
    pub macro_f1: f64,
    /// Geometric mean of per-class recall.
    pub g_mean: f64,
    /// Accuracy on the test samples of many-shot classes.
    pub many_shot: f64,
    /// Accuracy on the test samples of medium-shot classes.
    pub medium_shot: f64,
    /// Accuracy on the test samples of few-shot classes.
    pub few_shot: f64,
    /// Recall per class, head → tail in class order.
    pub per_class_recall: Vec<f64>,
    /// Training wall time, seconds.
    pub wall_seconds: f64,
}

impl Metrics {
    fn of(report: &Report, groups: &ShotGroups) -> Self {
        let s = &report.scores;
        Self {
            accuracy: s.accuracy,
            balanced_accuracy: s.balanced_accuracy,
            macro_f1: s.macro_f1,
            g_mean: s.g_mean,
            many_shot: groups.accuracy(&report.confusion, &groups.many),
            medium_shot: groups.accuracy(&report.confusion, &groups.medium),
            few_shot: groups.accuracy(&report.confusion, &groups.few),
            per_class_recall: s.per_class_recall.clone(),
            wall_seconds: report.wall_seconds,
        }
    }

    /// How many scalar metrics there are (all but the per-class recalls).
    const SCALARS: usize = 8;

    /// The scalar metrics, by name, in the order of the tables.
    fn scalars(&self) -> [(&'static str, f64); Self::SCALARS] {
        [
            ("accuracy", self.accuracy),
            ("balanced_accuracy", self.balanced_accuracy),
            ("macro_f1", self.macro_f1),
            ("g_mean", self.g_mean),
            ("many_shot", self.many_shot),
            ("medium_shot", self.medium_shot),
            ("few_shot", self.few_shot),
            ("wall_seconds", self.wall_seconds),
        ]
    }

    /// Element-wise mean and sample standard deviation (`n − 1`; 0 for one run).
    fn mean_std(runs: &[&Metrics]) -> (Metrics, Metrics) {
        let n = runs.len() as f64;
        let columns: Vec<Vec<f64>> = runs.iter().map(|m| m.values()).collect();
        let width = columns.first().map_or(0, Vec::len);
        let column = |i: usize| {
            columns
                .iter()
                .map(move |values| values.get(i).copied().unwrap_or(0.0))
        };
        let mean: Vec<f64> = (0..width)
            .map(|i| column(i).sum::<f64>() / n.max(1.0))
            .collect();
        let std: Vec<f64> = (0..width)
            .map(|i| {
                if runs.len() < 2 {
                    return 0.0;
                }
                let squares: f64 = column(i).map(|v| (v - mean[i]).powi(2)).sum();
                (squares / (n - 1.0)).sqrt()
            })
            .collect();
        (Metrics::from_values(&mean), Metrics::from_values(&std))
    }

    /// Every value: the scalars in table order, then the per-class recalls.
    fn values(&self) -> Vec<f64> {
        self.scalars()
            .iter()
            .map(|&(_, v)| v)
            .chain(self.per_class_recall.iter().copied())
            .collect()
    }

    /// The inverse of [`values`](Self::values): the scalars in the order of
    /// [`scalars`](Self::scalars), then the per-class recalls.
    fn from_values(values: &[f64]) -> Self {
        let scalar = |i: usize| values.get(i).copied().unwrap_or(0.0);
        Self {
            accuracy: scalar(0),
            balanced_accuracy: scalar(1),
            macro_f1: scalar(2),
            g_mean: scalar(3),
            many_shot: scalar(4),
            medium_shot: scalar(5),
            few_shot: scalar(6),
            wall_seconds: scalar(7),
            per_class_recall: values.get(Self::SCALARS..).unwrap_or_default().to_vec(),
        }
    }
}

/// The many-, medium- and few-shot classes of a training split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShotGroups {
    /// How the groups were made.
    pub rule: String,
    /// Classes with many training samples.
    pub many: Vec<usize>,
    /// Classes with a medium number.
    pub medium: Vec<usize>,
    /// Classes with few.
    pub few: Vec<usize>,
}

impl ShotGroups {
    /// The groups of the long-tail literature (Liu et al., CVPR 2019): more than 100 training
    /// samples, 20 to 100, fewer than 20. When one of them would be empty (small or narrow
    /// counts), thirds of the classes ordered by count instead.
    pub fn of(counts: &[usize]) -> Self {
        let by = |keep: &dyn Fn(usize) -> bool| -> Vec<usize> {
            (0..counts.len()).filter(|&c| keep(counts[c])).collect()
        };
        let (many, medium, few) = (
            by(&|n| n > 100),
            by(&|n| (20..=100).contains(&n)),
            by(&|n| n < 20),
        );
        if !many.is_empty() && !medium.is_empty() && !few.is_empty() {
            return Self {
                rule: "many > 100, medium 20–100, few < 20 training samples".to_string(),
                many,
                medium,
                few,
            };
        }
        let mut order: Vec<usize> = (0..counts.len()).collect();
        order.sort_by_key(|&c| std::cmp::Reverse(counts[c]));
        let k = counts.len();
        let (a, b) = (k.div_ceil(3), k - k / 3);
        let sorted = |range: std::ops::Range<usize>| {
            let mut part = order[range].to_vec();
            part.sort_unstable();
            part
        };
        Self {
            rule: "thirds of the classes by training count".to_string(),
            many: sorted(0..a),
            medium: sorted(a..b),
            few: sorted(b..k),
        }
    }

    /// Accuracy on the test samples of `classes`, from a confusion matrix.
    fn accuracy(&self, confusion: &[Vec<u64>], classes: &[usize]) -> f64 {
        let (right, all) = classes.iter().fold((0u64, 0u64), |(r, a), &c| {
            confusion.get(c).map_or((r, a), |row| {
                (
                    r + row.get(c).copied().unwrap_or(0),
                    a + row.iter().sum::<u64>(),
                )
            })
        });
        if all == 0 {
            0.0
        } else {
            right as f64 / all as f64
        }
    }
}

/// One entry of `comparison.json`: a variant's mean and standard deviation over its seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantSummary {
    /// The variant.
    pub name: String,
    /// The `train.seed` of each run.
    pub seeds: Vec<u64>,
    /// The backend.
    pub backend: String,
    /// The loss, as the run reports name it.
    pub loss: String,
    /// Mean over seeds.
    pub mean: Metrics,
    /// Sample standard deviation over seeds.
    pub std: Metrics,
    /// Mean balanced accuracy minus the baseline's.
    pub gain_over_baseline: f64,
}

/// What `rebalance compare` returns: the summaries, best balanced accuracy first.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// One per variant, sorted by mean balanced accuracy, best first.
    pub variants: Vec<VariantSummary>,
    /// The baseline's name.
    pub baseline: String,
    /// The shot groups.
    pub groups: ShotGroups,
    /// The compare directory.
    pub dir: PathBuf,
    /// Runs trained by this call (the others were found finished).
    pub trained: usize,
    /// Wall time of this call, seconds.
    pub wall_seconds: f64,
    /// `comparison.md`.
    pub markdown: String,
}

/// Prints a line above the progress bar, or to stderr when there is no bar.
fn say(bar: &ProgressBar, line: &str) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// Runs a sweep: trains every (variant, seed) run not already finished in the compare
/// directory, then writes the comparison.
///
/// # Errors
/// A bad config, an unknown `--only` name, finished runs recorded with another config (unless
/// `force`), or any failure of a run, naming the variant and seed.
pub fn compare(path: &Path, options: &CompareOptions) -> anyhow::Result<Comparison> {
    let started = Instant::now();
    let plan = ComparePlan::load(path, &options.sets)?;
    for name in &options.only {
        if !plan.variants.iter().any(|v| &v.name == name) {
            bail!(
                "--only {name}: no such variant; the variants are {}",
                names(&plan.variants)
            );
        }
    }
    let selected: Vec<&Variant> = plan
        .variants
        .iter()
        .filter(|v| options.only.is_empty() || options.only.contains(&v.name))
        .collect();
    let seeds = options.seeds.unwrap_or(plan.compare.seeds);
    if seeds == 0 {
        bail!("--seeds 0: must be >= 1");
    }
    let dir = options
        .out
        .clone()
        .unwrap_or_else(|| plan.base.output.dir.clone());
    let backend = match &options.backend {
        Some(name) => name.parse()?,
        None => plan.base.train.backend,
    };
    backend.device()?;

    let mut runs = Vec::new();
    for offset in 0..seeds as u64 {
        for variant in &selected {
            let mut config = variant.config.clone();
            config.data.seed += offset;
            config.train.seed += offset;
            config.train.backend = backend;
            let run_dir = dir
                .join(&variant.name)
                .join(format!("seed-{}", config.train.seed));
            config.output.dir = run_dir.clone();
            runs.push(Run {
                variant: variant.name.clone(),
                seed: config.train.seed,
                dir: run_dir,
                recorded: config.to_toml()?,
                config,
            });
        }
    }
    let mut todo = Vec::new();
    let mut changed = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        match inspect(run) {
            Found::Done => {}
            Found::Todo => todo.push(i),
            Found::Changed(difference) => changed.push((i, difference)),
        }
    }
    if let Some((i, difference)) = changed.first() {
        if !options.force {
            bail!(
                "{} holds a run of another config ({difference}){}; rerun with --force to \
                 retrain such runs, or choose another --out",
                runs[*i].dir.display(),
                if changed.len() > 1 {
                    format!(", as do {} more runs", changed.len() - 1)
                } else {
                    String::new()
                }
            );
        }
        for (i, _) in &changed {
            std::fs::remove_dir_all(&runs[*i].dir)
                .with_context(|| format!("cannot clear {}", runs[*i].dir.display()))?;
            todo.push(*i);
        }
        todo.sort_unstable();
    }

    let epochs_of = |run: &Run| run.config.train.epochs as u64;
    let total_epochs: u64 = todo.iter().map(|&i| epochs_of(&runs[i])).sum();
    eprintln!(
        "compare: {} variants × {seeds} seeds = {} runs on {backend} ({} finished before, {} to \
         train) into {}",
        selected.len(),
        runs.len(),
        runs.len() - todo.len(),
        todo.len(),
        dir.display()
    );
    let bar = ProgressBar::with_draw_target(Some(total_epochs), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} epochs, {eta} left  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let mut data_cache: BTreeMap<String, LongTailData> = BTreeMap::new();
    let mut cached_seed = None;
    let mut done_epochs = 0u64;
    let sweep_started = Instant::now();
    for (k, &i) in todo.iter().enumerate() {
        let run = &runs[i];
        if cached_seed != Some(run.seed) {
            data_cache.clear();
            cached_seed = Some(run.seed);
        }
        // Re-sampling changes what training visits, not the data: variants share it.
        let mut data_key = run.config.data.clone();
        data_key.resampling = Resampling::None;
        let data_key = toml::to_string(&data_key)?;
        if !data_cache.contains_key(&data_key) {
            let data = run.config.data.load().with_context(|| {
                format!(
                    "variant {}, seed {}: loading the data",
                    run.variant, run.seed
                )
            })?;
            data_cache.insert(data_key.clone(), data);
        }
        let data = &data_cache[&data_key];
        let label = format!("{} seed {}", run.variant, run.seed);
        let report = train_on(
            &run.config,
            &TrainOptions {
                backend: None,
                out: Some(run.dir.clone()),
                resume: false,
                progress: Some(RunProgress {
                    bar: bar.clone(),
                    label: label.clone(),
                }),
            },
            data,
        )
        .with_context(|| format!("variant {}, seed {}", run.variant, run.seed))?;
        // A finished run is never resumed: its checkpoints only take space.
        let _ = std::fs::remove_dir_all(run.dir.join("checkpoint"));
        done_epochs += epochs_of(run);
        bar.set_position(done_epochs);
        let left = total_epochs - done_epochs;
        let eta = if left == 0 {
            "done".to_string()
        } else {
            let per_epoch = sweep_started.elapsed().as_secs_f64() / done_epochs.max(1) as f64;
            format!(
                "about {} left",
                HumanDuration(Duration::from_secs_f64(per_epoch * left as f64))
            )
        };
        say(
            &bar,
            &format!(
                "[{}/{}] {label}: balanced accuracy {:.4} ({:.1} s); {eta}",
                k + 1,
                todo.len(),
                report.scores.balanced_accuracy,
                report.wall_seconds
            ),
        );
    }
    bar.finish_and_clear();
    drop(data_cache);

    let comparison = summarise(&plan, &runs, &dir, backend.into(), path)?;
    Ok(Comparison {
        trained: todo.len(),
        wall_seconds: started.elapsed().as_secs_f64(),
        ..comparison
    })
}

/// Reads every run's report, aggregates per variant and writes the comparison files.
fn summarise(
    plan: &ComparePlan,
    runs: &[Run],
    dir: &Path,
    backend: &str,
    config_path: &Path,
) -> anyhow::Result<Comparison> {
    let mut reports = Vec::with_capacity(runs.len());
    for run in runs {
        let path = run.dir.join("report.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let report: Report = serde_json::from_str(&text)
            .with_context(|| format!("{} is damaged; delete its run folder", path.display()))?;
        reports.push(report);
    }
    let counts = reports
        .first()
        .map_or(&[][..], |r| r.train_counts.as_slice());
    let groups = ShotGroups::of(counts);
    let results: Vec<RunResult> = runs
        .iter()
        .zip(&reports)
        .map(|(run, report)| RunResult {
            variant: run.variant.clone(),
            seed: run.seed,
            metrics: Metrics::of(report, &groups),
        })
        .collect();

    let mut order: Vec<&str> = Vec::new();
    for run in runs {
        if !order.contains(&run.variant.as_str()) {
            order.push(&run.variant);
        }
    }
    let mut summaries: Vec<VariantSummary> = order
        .iter()
        .map(|&name| {
            let mine: Vec<(&RunResult, &Report)> = results
                .iter()
                .zip(&reports)
                .filter(|(r, _)| r.variant == name)
                .collect();
            let metrics: Vec<&Metrics> = mine.iter().map(|(r, _)| &r.metrics).collect();
            let (mean, std) = Metrics::mean_std(&metrics);
            VariantSummary {
                name: name.to_string(),
                seeds: mine.iter().map(|(r, _)| r.seed).collect(),
                backend: backend.to_string(),
                loss: mine.first().map_or(String::new(), |(_, rep)| {
                    describe(&plan.variants, name, &rep.loss)
                }),
                mean,
                std,
                gain_over_baseline: 0.0,
            }
        })
        .collect();
    let baseline = if order.contains(&plan.baseline()) {
        plan.baseline().to_string()
    } else {
        order.first().map_or(String::new(), |s| s.to_string())
    };
    let base_ba = summaries
        .iter()
        .find(|s| s.name == baseline)
        .map_or(0.0, |s| s.mean.balanced_accuracy);
    for s in &mut summaries {
        s.gain_over_baseline = s.mean.balanced_accuracy - base_ba;
    }
    summaries.sort_by(|a, b| {
        b.mean
            .balanced_accuracy
            .total_cmp(&a.mean.balanced_accuracy)
    });

    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_atomic(
        &dir.join("comparison.json"),
        &serde_json::to_string_pretty(&summaries)?,
    )?;
    let epochs = plan.base.train.epochs;
    let markdown = markdown(&summaries, &baseline, &groups, counts, config_path, epochs);
    write_atomic(&dir.join("comparison.md"), &markdown)?;
    write_atomic(&dir.join("comparison.csv"), &csv(&results))?;

    let bar = |name: &str, mean: f64, std: f64| Bar {
        name: name.to_string(),
        mean,
        std,
    };
    let balanced: Vec<Bar> = summaries
        .iter()
        .map(|s| bar(&s.name, s.mean.balanced_accuracy, s.std.balanced_accuracy))
        .collect();
    let lines: Vec<(String, Vec<f64>)> = summaries
        .iter()
        .map(|s| (s.name.clone(), s.mean.per_class_recall.clone()))
        .collect();
    let group_title = |what: &str, classes: &[usize]| {
        let counts: Vec<String> = classes.iter().map(|&c| counts[c].to_string()).collect();
        format!("{what} (n = {})", counts.join(", "))
    };
    let shots = vec![
        (
            group_title("many-shot", &groups.many),
            summaries
                .iter()
                .map(|s| bar(&s.name, s.mean.many_shot, s.std.many_shot))
                .collect(),
        ),
        (
            group_title("medium-shot", &groups.medium),
            summaries
                .iter()
                .map(|s| bar(&s.name, s.mean.medium_shot, s.std.medium_shot))
                .collect(),
        ),
        (
            group_title("few-shot", &groups.few),
            summaries
                .iter()
                .map(|s| bar(&s.name, s.mean.few_shot, s.std.few_shot))
                .collect(),
        ),
    ];
    plots::write_comparison_plots(dir, &balanced, &lines, &shots)?;
    Ok(Comparison {
        variants: summaries,
        baseline,
        groups,
        dir: dir.to_path_buf(),
        trained: 0,
        wall_seconds: 0.0,
        markdown,
    })
}

/// A short description of a variant's method: the loss and what it adds.
fn describe(variants: &[Variant], name: &str, loss: &str) -> String {
    let Some(v) = variants.iter().find(|v| v.name == name) else {
        return loss.to_string();
    };
    let l = &v.config.loss;
    let mut text = loss.to_string();
    match l.weighting().map(|w| &w.scheme) {
        None => {}
        Some(Scheme::Ens { beta }) => text += &format!(", ens β={beta}"),
        Some(other) => text += &format!(", {}", other.name()),
    }
    match l {
        LossConfig::Focal { gamma, .. } | LossConfig::SigmoidFocal { gamma, .. } => {
            text += &format!(" γ={gamma}")
        }
        LossConfig::ClassBalanced { beta, gamma, .. } => text += &format!(" β={beta} γ={gamma}"),
        LossConfig::LogitAdjusted { tau, .. } => text += &format!(" τ={tau}"),
        _ => {}
    }
    if let Some(w) = l.weighting().filter(|w| w.start_epoch > 0) {
        text += &format!(", weights from epoch {}", w.start_epoch + 1);
    }
    if let Some(tau) = v.config.eval.posthoc_tau {
        text += &format!(", post-hoc τ={tau}");
    }
    if v.config.data.resampling != Resampling::None {
        text += &format!(", {} re-sampling", v.config.data.resampling);
    }
    text
}

/// `comparison.md`.
fn markdown(
    summaries: &[VariantSummary],
    baseline: &str,
    groups: &ShotGroups,
    counts: &[usize],
    config_path: &Path,
    epochs: usize,
) -> String {
    let first = summaries.first();
    let mut md = format!(
        "# rebalance compare\n\n`{}`, backend `{}`, {} epochs, seeds {} (mean ± std over {} \
         runs per variant)\n\n",
        config_path.display(),
        first.map_or("", |s| s.backend.as_str()),
        epochs,
        first.map_or(String::new(), |s| s
            .seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")),
        first.map_or(0, |s| s.seeds.len()),
    );
    let list = |classes: &[usize]| {
        classes
            .iter()
            .map(|&c| c.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        md,
        "Training samples per class (head → tail): {}. Shot groups ({}): many = classes {}, \
         medium = {}, few = {}.\n",
        counts
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        groups.rule,
        list(&groups.many),
        list(&groups.medium),
        list(&groups.few),
    );
    md += &format!(
        "| variant | method | balanced accuracy | Δ vs {baseline} | macro-F1 | G-mean | accuracy \
         | many-shot | medium-shot | few-shot | s / run |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    // The best mean of each metric column is bold.
    let best = |f: &dyn Fn(&Metrics) -> f64| {
        summaries
            .iter()
            .map(|s| f(&s.mean))
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let cell = |f: &dyn Fn(&Metrics) -> f64, s: &VariantSummary| {
        let text = format!("{:.4} ± {:.4}", f(&s.mean), f(&s.std));
        if f(&s.mean) >= best(f) {
            format!("**{text}**")
        } else {
            text
        }
    };
    for s in summaries {
        let gain = if s.name == baseline {
            "—".to_string()
        } else {
            format!("{:+.2} pts", 100.0 * s.gain_over_baseline)
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {gain} | {} | {} | {} | {} | {} | {} | {:.1} |",
            s.name,
            s.loss,
            cell(&|m| m.balanced_accuracy, s),
            cell(&|m| m.macro_f1, s),
            cell(&|m| m.g_mean, s),
            cell(&|m| m.accuracy, s),
            cell(&|m| m.many_shot, s),
            cell(&|m| m.medium_shot, s),
            cell(&|m| m.few_shot, s),
            s.mean.wall_seconds,
        );
    }
    md += "\nPlots: `balanced_accuracy.png`, `per_class_recall.png`, `shot_groups.png` (and `.svg`). \
           One row per run: `comparison.csv`.\n";
    md
}

/// `comparison.csv`: one row per run.
fn csv(results: &[RunResult]) -> String {
    let classes = results
        .first()
        .map_or(0, |r| r.metrics.per_class_recall.len());
    let mut text = String::from("variant,seed");
    for (name, _) in Metrics::default().scalars() {
        text += &format!(",{name}");
    }
    for c in 0..classes {
        text += &format!(",recall_{c}");
    }
    text.push('\n');
    for r in results {
        text += &format!("{},{}", r.variant, r.seed);
        for (_, value) in r.metrics.scalars() {
            text += &format!(",{value}");
        }
        for value in &r.metrics.per_class_recall {
            text += &format!(",{value}");
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shot_groups_follow_the_literature_or_thirds() {
        let counts = [500, 300, 180, 108, 64, 39, 23, 14, 8, 5];
        let g = ShotGroups::of(&counts);
        assert_eq!(g.many, vec![0, 1, 2, 3]);
        assert_eq!(g.medium, vec![4, 5, 6]);
        assert_eq!(g.few, vec![7, 8, 9]);
        // No class above 100: thirds by count, the larger groups first.
        let g = ShotGroups::of(&[50, 40, 30, 20, 10, 5, 4]);
        assert_eq!(g.rule, "thirds of the classes by training count");
        assert_eq!(g.many, vec![0, 1, 2]);
        assert_eq!(g.medium, vec![3, 4]);
        assert_eq!(g.few, vec![5, 6]);
        // Accuracy over the group's test samples.
        let confusion = vec![vec![8, 2, 0], vec![1, 3, 0], vec![0, 0, 6]];
        assert_eq!(g.accuracy(&confusion, &[0, 1]), 11.0 / 14.0);
    }

    #[test]
    fn mean_and_sample_std() {
        let m = |ba: f64| Metrics {
            balanced_accuracy: ba,
            per_class_recall: vec![ba, 1.0],
            ..Metrics::default()
        };
        let (a, b, c) = (m(0.6), m(0.7), m(0.8));
        let (mean, std) = Metrics::mean_std(&[&a, &b, &c]);
        assert!((mean.balanced_accuracy - 0.7).abs() < 1e-12);
        // numpy.std([0.6, 0.7, 0.8], ddof=1) = 0.1
        assert!((std.balanced_accuracy - 0.1).abs() < 1e-12);
        assert!((mean.per_class_recall[0] - 0.7).abs() < 1e-12);
        assert!((std.per_class_recall[0] - 0.1).abs() < 1e-12);
        assert_eq!(std.per_class_recall[1], 0.0);
        let full = Metrics {
            accuracy: 0.1,
            balanced_accuracy: 0.2,
            macro_f1: 0.3,
            g_mean: 0.4,
            many_shot: 0.5,
            medium_shot: 0.6,
            few_shot: 0.7,
            per_class_recall: vec![0.8, 0.9],
            wall_seconds: 1.5,
        };
        assert_eq!(Metrics::from_values(&full.values()), full);
        let (_, std) = Metrics::mean_std(&[&a]);
        assert_eq!(std.balanced_accuracy, 0.0);
    }

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
    fn the_default_set_parses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[train]\nepochs = 20\n").unwrap();
        let plan = ComparePlan::load(&path, &[]).unwrap();
        let names: Vec<&str> = plan.variants.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "ce",
                "ins",
                "isns",
                "ens-0.9",
                "ens-0.99",
                "ens-0.999",
                "ens-0.9999",
                "focal-1",
                "focal-2",
                "cb-focal",
                "ldam-drw",
                "logit-adjusted",
                "balanced-softmax",
                "ce-posthoc",
                "cb-resampling",
                "sqrt-resampling"
            ]
        );
        assert_eq!(plan.baseline(), "ce");
        let ldam = &plan.variants[10].config.loss;
        // Epoch 17 counted from 1 is the library's 16.
        assert_eq!(ldam.weighting().map(|w| w.start_epoch), Some(16));
        assert_eq!(plan.variants[13].config.eval.posthoc_tau, Some(1.0));
        assert_eq!(
            plan.variants[14].config.data.resampling,
            Resampling::ClassBalanced
        );
        assert_eq!(plan.compare.seeds, 3);
    }

    #[test]
    fn the_shipped_compare_config_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/compare.toml");
        let plan = ComparePlan::load(&path, &[]).unwrap();
        assert_eq!(plan.variants.len(), 16);
        assert_eq!(plan.baseline(), "ce");
        assert_eq!(plan.base.output.dir, Path::new("runs/compare"));
    }

    #[test]
    fn config_differences_name_the_key() {
        let parse = |t: &str| toml::Value::Table(toml::from_str(t).unwrap());
        let a = parse("[loss]\nbeta = 0.99\n");
        let b = parse("[loss]\nbeta = 0.999\n");
        assert_eq!(
            first_difference(&a, &b, "").as_deref(),
            Some("loss.beta: 0.99 → 0.999")
        );
    }
}
