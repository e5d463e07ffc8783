//! What a sweep writes into the compare directory: `comparison.json` (the provenance and one
//! entry per variant), `comparison.md` (the table), `comparison.tex` (the table as a LaTeX
//! booktabs tabular), `comparison.csv` (one row per run) and the plots.

mod latex;
mod markdown;
mod provenance;
mod tuned;

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::figures::{self, ComparisonFigures, Estimate};
use super::plan::ComparePlan;
use super::stats::{
    BOOTSTRAP_FROM, BOOTSTRAP_RESAMPLES, CONFIDENCE, Metric, PairedDifference, RunResult, Summary,
    TaskView, VariantSummary, distinct_joined, shot_metrics, t_quantile,
};
use crate::reporting::shots::ShotGroups;
use rebalance_data::Task;

use crate::reporting::write_atomic;
use crate::run::config::RunConfig;
use latex::latex;
use markdown::markdown;
pub use provenance::Provenance;

fn is_default(task: &Task) -> bool {
    task.is_single_label()
}

/// The metric columns of `comparison.md` and `comparison.tex` after the ranking metric and
/// the gain over the baseline: the task's scores but the ranking metric.
fn columns(summary: &Summary) -> Vec<Metric> {
    TaskView::of(summary.task)
        .columns
        .iter()
        .copied()
        .filter(|&m| m != summary.rank_by)
        .collect()
}

/// `comparison.json`.
#[derive(Debug, Serialize)]
struct ComparisonFile<'a> {
    /// Where it comes from.
    provenance: &'a Provenance,
    /// `multi-label`; absent for single-label (the default).
    #[serde(skip_serializing_if = "is_default")]
    task: Task,
    /// The variant the gains and paired differences are measured against.
    baseline: &'a str,
    /// The ranking metric's key (`macro_f1`); absent for a single-label comparison ranked by
    /// its default, balanced accuracy.
    #[serde(skip_serializing_if = "Option::is_none")]
    rank_by: Option<&'static str>,
    /// The training samples per class (positives per label for multi-label).
    train_counts: &'a [usize],
    /// The shot groups of `train_counts` (single-label).
    #[serde(skip_serializing_if = "Option::is_none")]
    shot_groups: Option<&'a ShotGroups>,
    /// The tail labels, whose mean recall is `tail_recall` (multi-label).
    #[serde(skip_serializing_if = "Option::is_none")]
    tail_labels: Option<&'a [usize]>,
    /// One entry per variant, best mean of the ranking metric first.
    variants: &'a [VariantSummary],
}

/// Writes every output file of a sweep into `dir` and returns `comparison.md`; the recall
/// line plot shows `plot_variants` (none: [`default_plot_variants`]).
///
/// # Errors
/// The directory cannot be created, or a file cannot be written.
pub(super) fn write(
    dir: &Path,
    summary: &Summary,
    provenance: &Provenance,
    plot_variants: &[String],
) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let multi_label = !TaskView::of(summary.task).shot_groups;
    let file = ComparisonFile {
        provenance,
        task: summary.task,
        baseline: &summary.baseline,
        rank_by: (multi_label || summary.rank_by_set).then(|| summary.rank_by.key()),
        train_counts: &summary.counts,
        shot_groups: (!multi_label).then_some(&summary.groups),
        tail_labels: multi_label.then_some(summary.tail.as_slice()),
        variants: &summary.variants,
    };
    write_atomic(
        &dir.join("comparison.json"),
        &serde_json::to_string_pretty(&file)?,
    )?;
    let markdown = markdown(summary, provenance) + &tuned::markdown(summary);
    write_atomic(&dir.join("comparison.md"), &markdown)?;
    write_atomic(
        &dir.join("comparison.tex"),
        &(latex(summary) + &tuned::latex(summary)),
    )?;
    write_atomic(
        &dir.join("comparison.csv"),
        &csv(summary.task, &summary.results),
    )?;
    write_plots(dir, summary, plot_variants)?;
    tuned::figure(dir, summary)?;
    Ok(markdown)
}

/// The figures ([`super::figures`]): the ranking metric's dot plot (`balanced_accuracy`,
/// `macro_f1`, ...), the recall heatmap (`per_class_recall` or `per_label_recall`), the recall
/// lines of the `plot_variants` (`*_recall_lines`; none given: the baseline and the best 3
/// others) and, single-label, `shot_groups`.
fn write_plots(dir: &Path, summary: &Summary, plot_variants: &[String]) -> anyhow::Result<()> {
    let estimate = |s: &VariantSummary, metric: Metric| -> Estimate {
        let mean = s.mean.get(metric);
        let n = s.seeds.len();
        let half = if n >= 2 {
            t_quantile(0.5 + CONFIDENCE / 2.0, (n - 1) as f64) * s.std.get(metric)
                / (n as f64).sqrt()
        } else {
            0.0
        };
        Estimate {
            name: s.name.clone(),
            mean,
            low: mean - half,
            high: mean + half,
        }
    };
    let estimates = |metric: Metric| -> Vec<Estimate> {
        summary
            .variants
            .iter()
            .map(|s| estimate(s, metric))
            .collect()
    };
    let recall: Vec<(String, Vec<f64>)> = summary
        .variants
        .iter()
        .map(|s| (s.name.clone(), s.mean.per_class_recall.clone()))
        .collect();
    let lines = if plot_variants.is_empty() {
        default_plot_variants(summary)
    } else {
        plot_variants.to_vec()
    };
    let shots: Vec<(String, Vec<Estimate>)> = match TaskView::of(summary.task).shot_groups {
        false => Vec::new(),
        true => shot_metrics(&summary.groups)
            .into_iter()
            .map(|(metric, classes)| {
                let counts: Vec<usize> = classes.iter().map(|&c| summary.counts[c]).collect();
                let range = match (counts.iter().max(), counts.iter().min()) {
                    (Some(max), Some(min)) if max != min => format!("{max}–{min}"),
                    (Some(n), _) => n.to_string(),
                    _ => "none".to_string(),
                };
                let title = format!(
                    "{} ({} classes, {range} training samples)",
                    metric.label(),
                    classes.len()
                );
                (title, estimates(metric))
            })
            .collect(),
    };
    let seeds = summary
        .variants
        .iter()
        .map(|s| s.seeds.len())
        .max()
        .unwrap_or(0);
    let interval = if seeds >= 2 {
        format!("{:.0}% CI over {seeds} seeds", 100.0 * CONFIDENCE)
    } else {
        "1 seed, no interval".to_string()
    };
    let ranked = estimates(summary.rank_by);
    figures::write(
        dir,
        &ComparisonFigures {
            key: summary.rank_by.key(),
            label: summary.rank_by.label(),
            ranked: &ranked,
            baseline: &summary.baseline,
            unit: TaskView::of(summary.task).unit,
            counts: &summary.counts,
            recall: &recall,
            lines: &lines,
            shots: &shots,
            interval: &interval,
        },
    )
}

/// The variants of the recall line plot when `--plot-variants` is not given: the baseline and
/// the best [`DEFAULT_PLOT_VARIANTS`] others by the ranking metric.
fn default_plot_variants(summary: &Summary) -> Vec<String> {
    let mut names: Vec<String> = summary
        .variants
        .iter()
        .filter(|s| s.name == summary.baseline)
        .map(|s| s.name.clone())
        .collect();
    names.extend(
        summary
            .variants
            .iter()
            .filter(|s| s.name != summary.baseline)
            .take(DEFAULT_PLOT_VARIANTS)
            .map(|s| s.name.clone()),
    );
    names
}

/// How many variants beside the baseline the recall line plot shows by default: the best.
pub const DEFAULT_PLOT_VARIANTS: usize = 3;

fn join<T: ToString>(values: &[T]) -> String {
    values
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The paired difference in points, with its interval and a `*` where the interval excludes 0:
/// `+5.90 [+3.10, +8.70]*`, `+5.90 [no interval: 1 paired seed]`, or `— [no common seed]`.
fn difference_points(d: &PairedDifference) -> String {
    match d.in_points(2) {
        None => "— [no common seed]".to_string(),
        Some((mean, Some((low, high)))) => format!(
            "{mean} [{low}, {high}]{}",
            if d.excludes_zero() { "*" } else { "" }
        ),
        Some((mean, None)) => format!(
            "{mean} [no interval: {} paired seed{}]",
            d.n,
            if d.n == 1 { "" } else { "s" }
        ),
    }
}

/// The legend of the intervals, in Markdown.
fn interval_legend(baseline: &str) -> String {
    format!(
        "Δ: the paired difference to `{baseline}` in points (seed k minus seed k of `{baseline}`, \
         over the seeds both have) with its 95% confidence interval: Student's t for 2 to {} \
         paired seeds, a percentile bootstrap ({} resamples, fixed seed) from {BOOTSTRAP_FROM}, \
         none below 2. `*`: the interval excludes 0.",
        BOOTSTRAP_FROM - 1,
        BOOTSTRAP_RESAMPLES,
    )
}

/// Whether `s` has the best mean of `metric` over the variants (the lowest where lower is
/// better).
fn is_best(summaries: &[VariantSummary], metric: Metric, s: &VariantSummary) -> bool {
    let value = s.mean.get(metric);
    let means = summaries.iter().map(|s| s.mean.get(metric));
    if metric.lower_is_better() {
        value <= means.fold(f64::INFINITY, f64::min)
    } else {
        value >= means.fold(f64::NEG_INFINITY, f64::max)
    }
}

/// `comparison.csv`: one row per run, the metrics of `task`.
fn csv(task: Task, results: &[RunResult]) -> String {
    let classes = results
        .first()
        .map_or(0, |r| r.metrics.per_class_recall.len());
    let mut text = String::from("variant,seed");
    for metric in Metric::of_task(task) {
        text += &format!(",{}", metric.key());
    }
    for c in 0..classes {
        text += &format!(",recall_{c}");
    }
    text.push('\n');
    for r in results {
        text += &format!("{},{}", r.variant, r.seed);
        for &metric in Metric::of_task(task) {
            text += &format!(",{}", r.metrics.get(metric));
        }
        for value in &r.metrics.per_class_recall {
            text += &format!(",{value}");
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests;
