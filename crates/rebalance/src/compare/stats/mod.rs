//! The statistics of a sweep: each run's metrics, their mean and standard deviation over the
//! seeds of a variant, the shot groups, the gain over the baseline, and the paired difference
//! to the baseline with its 95% confidence interval.
//!
//! The paired difference of a metric is taken seed by seed: seed `k` of the variant minus seed
//! `k` of the baseline, over the seeds both have. Every variant of a seed trains on the same
//! data, split and initialisation seed, so pairing removes the seed-to-seed variation the two
//! share. Its interval is Student's t on the differences (`mean ± t_{0.975, n−1} · sd / √n`)
//! for 2 to 9 paired seeds, and a percentile bootstrap of their mean
//! ([`BOOTSTRAP_RESAMPLES`] resamples from the fixed [`BOOTSTRAP_SEED`]) from
//! [`BOOTSTRAP_FROM`] on, where it no longer leans on normality. With fewer than two paired
//! seeds there is no interval.

mod metric;
mod paired;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use rebalance_data::Task;

pub use metric::{Compared, Metric, Metrics, RunResult, TaskView, shot_metrics, tail_labels};
pub use paired::{
    BOOTSTRAP_FROM, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, CONFIDENCE, IntervalMethod,
    PairedDifference, t_quantile,
};

use super::plan::ComparePlan;
use super::store::Run;
use crate::reporting::shots::ShotGroups;

/// The distinct non-empty `names` in order of first appearance, joined by `", "`: the backends
/// or devices of a variant's runs (`flex`, or `flex, wgpu` for runs of a merge trained on
/// several), or of a whole comparison.
pub(super) fn distinct_joined<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for name in names {
        if !name.is_empty() && !seen.contains(&name) {
            seen.push(name);
        }
    }
    seen.join(", ")
}

/// One entry of `comparison.json`: a variant's mean and standard deviation over its seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantSummary {
    /// The variant.
    pub name: String,
    /// The `train.seed` of each run.
    pub seeds: Vec<u64>,
    /// The backend of its runs (several, comma-separated, where a merge found runs trained on
    /// more than one).
    pub backend: String,
    /// The hardware its runs trained on ([`crate::run::backend::device_names`]; several,
    /// comma-separated, where they differ); absent when no run's report records one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The loss, as the run reports name it.
    pub loss: String,
    /// Mean over seeds.
    pub mean: Metrics,
    /// Sample standard deviation over seeds.
    pub std: Metrics,
    /// The mean of the ranking metric (`[compare] rank_by`; balanced accuracy by default for
    /// single-label, macro-F1 for multi-label) minus the baseline's.
    pub gain_over_baseline: f64,
    /// Per score metric (by its key), the paired difference to the baseline over the seeds
    /// both have, with its 95% confidence interval; absent for the baseline itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired_difference: Option<BTreeMap<String, PairedDifference>>,
    /// What a tuned comparison chose for the variant on the validation split; absent for a
    /// variant not tuned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tune: Option<super::tune::Tuned>,
}

/// What a sweep's outputs show.
#[derive(Debug, Clone)]
pub(super) struct Summary {
    /// The task of the runs.
    pub task: Task,
    /// The metric the variants are ranked by and the gains measured in.
    pub rank_by: Metric,
    /// Whether `rank_by` was set in the config (then `comparison.json` names it for a
    /// single-label comparison too).
    pub rank_by_set: bool,
    /// One per run, in the order of the runs.
    pub results: Vec<RunResult>,
    /// One per variant, best mean of `rank_by` first.
    pub variants: Vec<VariantSummary>,
    /// The variant the gains are measured against.
    pub baseline: String,
    /// The training samples per class (positives per label for multi-label).
    pub counts: Vec<usize>,
    /// The shot groups of `counts`.
    pub groups: ShotGroups,
    /// The tail labels of a multi-label comparison ([`tail_labels`]); empty for single-label.
    pub tail: Vec<usize>,
}

/// Aggregates each variant's runs and measures the gains over the baseline: the plan's, or
/// the first variant when the plan's was left out (`--only`).
pub(super) fn summarise<R: Compared>(plan: &ComparePlan, runs: &[Run], reports: &[R]) -> Summary {
    let task = plan.task();
    let rank_by = plan.rank_by;
    let counts = reports
        .first()
        .map_or(Vec::new(), |r| r.train_counts().to_vec());
    let groups = ShotGroups::of(&counts);
    let tail = if TaskView::of(task).shot_groups {
        Vec::new()
    } else {
        tail_labels(&counts)
    };
    let results: Vec<RunResult> = runs
        .iter()
        .zip(reports)
        .map(|(run, report)| RunResult {
            variant: run.variant.clone(),
            seed: run.seed,
            metrics: report.metrics(&groups, &tail),
        })
        .collect();

    let mut order: Vec<&str> = Vec::new();
    for run in runs {
        if !order.contains(&run.variant.as_str()) {
            order.push(&run.variant);
        }
    }
    let mut variants: Vec<VariantSummary> = order
        .iter()
        .map(|&name| {
            let mine: Vec<(&RunResult, &R)> = results
                .iter()
                .zip(reports)
                .filter(|(r, _)| r.variant == name)
                .collect();
            let metrics: Vec<&Metrics> = mine.iter().map(|(r, _)| &r.metrics).collect();
            let (mean, std) = Metrics::mean_std(&metrics);
            VariantSummary {
                name: name.to_string(),
                seeds: mine.iter().map(|(r, _)| r.seed).collect(),
                backend: distinct_joined(mine.iter().map(|(_, report)| report.backend())),
                device: Some(distinct_joined(
                    mine.iter().filter_map(|(_, report)| report.device()),
                ))
                .filter(|names| !names.is_empty()),
                loss: mine.first().map_or(String::new(), |(_, report)| {
                    plan.variant(name)
                        .map_or(report.loss().to_string(), |v| v.method(report.loss()))
                }),
                mean,
                std,
                gain_over_baseline: 0.0,
                paired_difference: None,
                tune: None,
            }
        })
        .collect();
    let baseline = if order.contains(&plan.baseline()) {
        plan.baseline().to_string()
    } else {
        order.first().map_or(String::new(), |s| s.to_string())
    };
    let base_score = variants
        .iter()
        .find(|s| s.name == baseline)
        .map_or(0.0, |s| s.mean.get(rank_by));
    let seed_values = |name: &str, metric: Metric| -> Vec<(u64, f64)> {
        results
            .iter()
            .filter(|r| r.variant == name)
            .map(|r| (r.seed, r.metrics.get(metric)))
            .collect()
    };
    for s in &mut variants {
        s.gain_over_baseline = s.mean.get(rank_by) - base_score;
        if s.name != baseline {
            s.paired_difference = Some(
                Metric::of_task(task)
                    .iter()
                    .filter(|m| m.is_score())
                    .map(|&metric| {
                        let difference = PairedDifference::of(
                            &seed_values(&s.name, metric),
                            &seed_values(&baseline, metric),
                        );
                        (metric.key().to_string(), difference)
                    })
                    .collect(),
            );
        }
    }
    variants.sort_by(|a, b| {
        let order = b.mean.get(rank_by).total_cmp(&a.mean.get(rank_by));
        if rank_by.lower_is_better() {
            order.reverse()
        } else {
            order
        }
    });
    Summary {
        task,
        rank_by,
        rank_by_set: plan.compare.rank_by.is_some(),
        results,
        variants,
        baseline,
        counts,
        groups,
        tail,
    }
}
