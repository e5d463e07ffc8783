//! Tuned comparisons (`compare --tune`, `[compare] tune = true`): each variant with a grid
//! (`tune = { beta = [0.9, 0.99, 0.999, 0.9999] }`, [`Grid`]) trains every point of the grid
//! for every seed, and each seed keeps the point whose model scores best on the validation
//! split by the comparison's ranking metric; that point's run is the variant's run of the seed
//! in every table. The test split is never read for the choice.
//!
//! - The validation split is the config's (`data.validation_fraction`, or
//!   `data.validation_per_class` for synthetic data); without one, `--tune` holds one out for
//!   every variant ([`default_validation`]), so all variants and grid points of a seed train
//!   on the same data.
//! - Grid point `p` of variant `v`, seed `k`, lives in `<dir>/v/tune/p/seed-k/`, a run like
//!   any other: finished ones are skipped, interrupted ones resume, `--shard` and `--merge`
//!   take them.
//! - Each finished point is evaluated once on the validation split with the task's own
//!   evaluation ([`score`]), cached in the run's `report-validation.json`.
//! - Ties: the first point of the grid in its order ([`Grid::points`]).
//! - Without tuning a variant with a grid trains at its own setting, as any variant.

mod defaults;
mod grid;
mod score;

use std::collections::BTreeMap;

use anyhow::bail;
use serde::{Deserialize, Serialize};

pub use defaults::tuned_defaults;
pub(crate) use grid::name_of;
pub use grid::{Grid, GridKey, Point};
use score::Validated;

use super::plan::{ComparePlan, Variant};
use super::stats::Summary;
use super::store::Run;
use crate::run::backend::Backend;
use crate::run::config::{ConfigError, RunConfig};

/// Validation samples per class `--tune` holds out of synthetic single-label data (generated
/// beside the training split, balanced as the test split is) when the config sets none.
pub const TUNE_VALIDATION_PER_CLASS: usize = 100;

/// The fraction of the training split `--tune` holds out, stratified, for validation when the
/// config sets none (files, multi-label data); each class keeps at least one training sample.
pub const TUNE_VALIDATION_FRACTION: f64 = 0.15;

/// Where tuning puts a variant's grid points: `<variant>/tune/<point>`.
const TUNE_DIR: &str = "tune";

/// With `--tune`, the base `table` without a validation split gets one
/// ([`TUNE_VALIDATION_PER_CLASS`] per class for synthetic single-label data, else
/// [`TUNE_VALIDATION_FRACTION`]); the note saying so, if it did.
///
/// # Errors
/// A base config that does not parse.
pub(super) fn default_validation(
    table: &mut toml::Table,
    shown: &str,
) -> Result<Option<String>, ConfigError> {
    let base = RunConfig::from_table(table.clone(), shown)?;
    if has_validation(&base) {
        return Ok(None);
    }
    // A validation split of so many samples a class where the data takes one (single-label
    // generated data), else a fraction.
    let (key, value) = if base.data.takes_key("validation_per_class") {
        (
            "validation_per_class",
            toml::Value::Integer(TUNE_VALIDATION_PER_CLASS as i64),
        )
    } else {
        (
            "validation_fraction",
            toml::Value::Float(TUNE_VALIDATION_FRACTION),
        )
    };
    let data = table
        .entry("data")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(data) = data {
        data.insert(key.to_string(), value.clone());
    }
    Ok(Some(format!(
        "--tune: the settings are chosen on a validation split, data.{key} = {value} for every \
         variant (the config sets none; set data.validation_fraction or \
         data.validation_per_class to choose it)"
    )))
}

/// Whether `config`'s data has a validation split.
fn has_validation(config: &RunConfig) -> bool {
    config.data.validation_fraction > 0.0 || config.data.validation_per_class.unwrap_or(0) > 0
}

/// Checks every point of `grid` on `config` (the variant's, `source` naming it).
///
/// # Errors
/// The first point whose config is invalid, naming the variant, the key and the value.
pub(super) fn check(grid: &Grid, config: &RunConfig, source: &str) -> Result<(), ConfigError> {
    for point in grid.points() {
        grid.apply(config, &point, source)?;
    }
    Ok(())
}

/// A sweep's tuned variants and the grid points that stand in for them.
#[derive(Debug, Clone, Default)]
pub(super) struct Tuning {
    /// The tuned variants, in the sweep's order; none without tuning.
    tuned: Vec<TunedVariant>,
}

#[derive(Debug, Clone)]
struct TunedVariant {
    name: String,
    grid: Grid,
    points: Vec<Point>,
}

impl Tuning {
    /// The tuning of `variants` (the selected ones of `plan`): none unless the plan tunes.
    ///
    /// # Errors
    /// A tuned variant without a validation split.
    pub(super) fn of(plan: &ComparePlan, variants: &[&Variant]) -> anyhow::Result<Self> {
        if !plan.compare.tune {
            return Ok(Self::default());
        }
        let mut tuned = Vec::new();
        for variant in variants {
            let Some(grid) = &variant.tune else { continue };
            if !has_validation(&variant.config) {
                bail!(
                    "variant {}: tuning chooses its setting on a validation split, and its \
                     data has none; set data.validation_fraction (or data.validation_per_class \
                     for synthetic data)",
                    variant.name
                );
            }
            tuned.push(TunedVariant {
                name: variant.name.clone(),
                grid: grid.clone(),
                points: grid.points(),
            });
        }
        Ok(Self { tuned })
    }

    /// Whether any variant is tuned.
    pub(super) fn is_active(&self) -> bool {
        !self.tuned.is_empty()
    }

    /// What tuning trains: each tuned variant of `variants` replaced by its grid points
    /// (named `<variant>/tune/<point>`, their run directories' place), the others as they are.
    ///
    /// # Errors
    /// A point's config that does not parse (the plan checked them: never in practice).
    pub(super) fn expand(&self, variants: &[&Variant]) -> anyhow::Result<Vec<Variant>> {
        let mut out = Vec::new();
        for &variant in variants {
            match self.tuned.iter().find(|t| t.name == variant.name) {
                None => out.push(variant.clone()),
                Some(tuned) => {
                    for point in &tuned.points {
                        out.push(Variant {
                            name: point_name(&tuned.name, point),
                            config: tuned.grid.apply(
                                &variant.config,
                                point,
                                &format!("variant \"{}\"", tuned.name),
                            )?,
                            tune: None,
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    /// The tuned variant (its index) and grid point (its index) `run` is of; `None` for a run
    /// of an untuned variant.
    fn point_of(&self, run: &Run) -> Option<(usize, usize)> {
        self.tuned.iter().enumerate().find_map(|(t, tuned)| {
            let k = tuned
                .points
                .iter()
                .position(|p| point_name(&tuned.name, p) == run.variant)?;
            Some((t, k))
        })
    }

    /// Writes the validation report (`report-validation.json`) of each of `runs` that is a
    /// finished grid point, where it has none, on `backend`'s device: a sweep or a shard scores
    /// the points it trained, where their data is, and a merge reads the reports.
    ///
    /// # Errors
    /// As [`score::validation_reports`].
    pub(super) fn validate_trained<T: Validated>(
        &self,
        runs: &[&Run],
        backend: Backend,
    ) -> anyhow::Result<()> {
        let points: Vec<&Run> = runs
            .iter()
            .filter(|run| self.point_of(run).is_some() && run.dir.is_finished())
            .copied()
            .collect();
        score::validation_reports::<T>(&points, backend).map(drop)
    }

    /// Each tuned variant's choice per seed among the finished `runs` of the expanded sweep:
    /// the runs of the comparison (the chosen points' runs named as their variants, the
    /// others as they are, in the order of `runs`) and what was chosen. Validation scores are
    /// computed on `backend`'s device where a run has none cached.
    ///
    /// # Errors
    /// A run whose model or data cannot be read, or whose validation evaluation fails.
    pub(super) fn choose<T: Validated>(
        &self,
        plan: &ComparePlan,
        runs: &[Run],
        backend: Backend,
    ) -> anyhow::Result<(Vec<Run>, BTreeMap<String, Tuned>)> {
        let point_of = |run: &Run| self.point_of(run);
        let grid_runs: Vec<&Run> = runs.iter().filter(|r| point_of(r).is_some()).collect();
        let scores = score::validation_scores::<T>(&grid_runs, plan.rank_by, backend)?;
        let score_of: BTreeMap<(String, u64), f64> = grid_runs
            .iter()
            .zip(&scores)
            .map(|(run, &s)| ((run.variant.clone(), run.seed), s))
            .collect();
        let lower = plan.rank_by.lower_is_better();
        let mut summaries: BTreeMap<String, Tuned> = BTreeMap::new();
        let mut chosen_dirs: Vec<(String, u64, String)> = Vec::new();
        for tuned in &self.tuned {
            let mut seeds: Vec<u64> = grid_runs
                .iter()
                .filter(|r| point_of(r).is_some_and(|(t, _)| self.tuned[t].name == tuned.name))
                .map(|r| r.seed)
                .collect();
            seeds.sort_unstable();
            seeds.dedup();
            let mut chosen = Vec::new();
            for seed in seeds {
                let validation: Vec<f64> = tuned
                    .points
                    .iter()
                    .map(|p| {
                        let key = (point_name(&tuned.name, p), seed);
                        score_of.get(&key).copied().unwrap_or(f64::NAN)
                    })
                    .collect();
                let best = best_point(&validation, lower);
                let point = &tuned.points[best];
                chosen_dirs.push((tuned.name.clone(), seed, point_name(&tuned.name, point)));
                chosen.push(Chosen {
                    seed,
                    point: point.name.clone(),
                    values: point.values.iter().cloned().collect(),
                    validation,
                });
            }
            summaries.insert(
                tuned.name.clone(),
                Tuned {
                    rank_by: plan.rank_by.key().to_string(),
                    grid: tuned.grid.clone(),
                    points: tuned.points.iter().map(|p| p.name.clone()).collect(),
                    chosen,
                },
            );
        }
        let compared = runs
            .iter()
            .filter_map(|run| match point_of(run) {
                None => Some(run.clone()),
                Some((t, _)) => {
                    let name = &self.tuned[t].name;
                    let picked = chosen_dirs
                        .iter()
                        .any(|(v, s, p)| v == name && *s == run.seed && *p == run.variant);
                    picked.then(|| {
                        let mut run = run.clone();
                        run.variant.clone_from(name);
                        run
                    })
                }
            })
            .collect();
        Ok((compared, summaries))
    }

    /// Writes what was chosen into `summary`'s tuned variants: their `tune` and a method that
    /// says what they were tuned to, per seed.
    pub(super) fn annotate(summary: &mut Summary, tuned: BTreeMap<String, Tuned>, runs: &[Run]) {
        for s in &mut summary.variants {
            let Some(t) = tuned.get(&s.name) else {
                continue;
            };
            let loss = runs
                .iter()
                .find(|r| r.variant == s.name)
                .map_or(String::new(), |r| r.config.loss.name().to_string());
            s.loss = format!("{loss}, tuned: {}", t.chosen_per_seed());
            s.tune = Some(t.clone());
        }
    }
}

/// The run-directory name of `point` of `variant`: `<variant>/tune/<point>`.
fn point_name(variant: &str, point: &Point) -> String {
    format!("{variant}/{TUNE_DIR}/{}", point.name)
}

/// The index of the best of `scores` (the highest, or the lowest where `lower` is better);
/// ties go to the first; NaN (no score) is never best unless all are.
pub(super) fn best_point(scores: &[f64], lower: bool) -> usize {
    let mut best: Option<usize> = None;
    for (k, &s) in scores.iter().enumerate() {
        if s.is_nan() {
            continue;
        }
        let better = match best {
            None => true,
            Some(b) if lower => s < scores[b],
            Some(b) => s > scores[b],
        };
        if better {
            best = Some(k);
        }
    }
    best.unwrap_or(0)
}

/// What tuning chose for a variant, as `comparison.json` gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tuned {
    /// The metric the points were scored by on the validation split (its key).
    pub rank_by: String,
    /// The grid: its keys, each with its values.
    pub grid: Grid,
    /// The grid's points, by name, in the grid's order.
    pub points: Vec<String>,
    /// Per seed, the point chosen and every point's validation score.
    pub chosen: Vec<Chosen>,
}

/// One seed's choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chosen {
    /// The seed (`train.seed`).
    pub seed: u64,
    /// The point chosen, by name.
    pub point: String,
    /// Its value per key.
    pub values: BTreeMap<String, toml::Value>,
    /// Every point's validation score, in the order of [`Tuned::points`] (NaN where none).
    pub validation: Vec<f64>,
}

impl Tuned {
    /// The chosen values per seed, `beta=0.99 / beta=0.999`, a point's keys joined by `, `.
    pub fn chosen_per_seed(&self) -> String {
        self.chosen
            .iter()
            .map(Chosen::setting)
            .collect::<Vec<_>>()
            .join(" / ")
    }
}

impl Chosen {
    /// `beta=0.99, tau=1.0`, by key.
    pub fn setting(&self) -> String {
        self.values
            .iter()
            .map(|(k, v)| format!("{k}={}", grid::name_of(v)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The chosen point's validation score.
    pub fn score(&self, points: &[String]) -> f64 {
        points
            .iter()
            .position(|p| *p == self.point)
            .and_then(|k| self.validation.get(k).copied())
            .unwrap_or(f64::NAN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_point_wins_and_ties_go_to_the_first() {
        assert_eq!(best_point(&[0.7, 0.8, 0.8, 0.6], false), 1);
        assert_eq!(best_point(&[0.7, 0.8, 0.8, 0.6], true), 3);
        assert_eq!(best_point(&[f64::NAN, 0.5, 0.5], false), 1);
        assert_eq!(best_point(&[f64::NAN, f64::NAN], false), 0);
        assert_eq!(best_point(&[0.3, 0.3], true), 0);
    }
}
