//! What a sweep writes into the compare directory: `comparison.json` (one entry per variant),
//! `comparison.md` (the table), `comparison.csv` (one row per run) and the plots.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use strum::IntoEnumIterator;

use super::stats::{Metric, RunResult, Summary, VariantSummary};
use crate::plots::{self, Bar};
use crate::report::write_atomic;

/// The metric columns of `comparison.md` after the gain over the baseline.
const COLUMNS: [Metric; 6] = [
    Metric::MacroF1,
    Metric::GMean,
    Metric::Accuracy,
    Metric::ManyShot,
    Metric::MediumShot,
    Metric::FewShot,
];

/// Writes every output file of a sweep into `dir` and returns `comparison.md`.
///
/// # Errors
/// The directory cannot be created, or a file cannot be written.
pub(super) fn write(
    dir: &Path,
    summary: &Summary,
    config_path: &Path,
    epochs: usize,
) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_atomic(
        &dir.join("comparison.json"),
        &serde_json::to_string_pretty(&summary.variants)?,
    )?;
    let markdown = markdown(summary, config_path, epochs);
    write_atomic(&dir.join("comparison.md"), &markdown)?;
    write_atomic(&dir.join("comparison.csv"), &csv(&summary.results))?;
    write_plots(dir, summary)?;
    Ok(markdown)
}

/// `balanced_accuracy`, `per_class_recall` and `shot_groups` (`.png` and `.svg`).
fn write_plots(dir: &Path, summary: &Summary) -> anyhow::Result<()> {
    let bars = |metric: Metric| -> Vec<Bar> {
        summary
            .variants
            .iter()
            .map(|s| Bar {
                name: s.name.clone(),
                mean: s.mean.get(metric),
                std: s.std.get(metric),
            })
            .collect()
    };
    let lines: Vec<(String, Vec<f64>)> = summary
        .variants
        .iter()
        .map(|s| (s.name.clone(), s.mean.per_class_recall.clone()))
        .collect();
    let shots: Vec<(String, Vec<Bar>)> = summary
        .groups
        .by_metric()
        .into_iter()
        .map(|(metric, classes)| {
            let counts: Vec<String> = classes
                .iter()
                .map(|&c| summary.counts[c].to_string())
                .collect();
            let title = format!("{} (n = {})", metric.label(), counts.join(", "));
            (title, bars(metric))
        })
        .collect();
    plots::write_comparison_plots(dir, &bars(Metric::BalancedAccuracy), &lines, &shots)
}

fn join<T: ToString>(values: &[T]) -> String {
    values
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `comparison.md`.
fn markdown(summary: &Summary, config_path: &Path, epochs: usize) -> String {
    let (summaries, baseline, groups) = (&summary.variants, &summary.baseline, &summary.groups);
    let first = summaries.first();
    let mut md = format!(
        "# rebalance compare\n\n`{}`, backend `{}`, {} epochs, seeds {} (mean ± std over {} \
         runs per variant)\n\n",
        config_path.display(),
        first.map_or("", |s| s.backend.as_str()),
        epochs,
        first.map_or(String::new(), |s| join(&s.seeds)),
        first.map_or(0, |s| s.seeds.len()),
    );
    let _ = writeln!(
        md,
        "Training samples per class (head → tail): {}. Shot groups ({}): many = classes {}, \
         medium = {}, few = {}.\n",
        join(&summary.counts),
        groups.rule,
        join(&groups.many),
        join(&groups.medium),
        join(&groups.few),
    );
    let labels: Vec<&str> = COLUMNS.iter().map(|m| m.label()).collect();
    let _ = writeln!(
        md,
        "| variant | method | {} | Δ vs {baseline} | {} | {} |\n|{}",
        Metric::BalancedAccuracy.label(),
        labels.join(" | "),
        Metric::WallSeconds.label(),
        "---|".repeat(COLUMNS.len() + 5),
    );
    // The best mean of each metric column is bold.
    let cell = |metric: Metric, s: &VariantSummary| {
        let best = summaries
            .iter()
            .map(|s| s.mean.get(metric))
            .fold(f64::NEG_INFINITY, f64::max);
        let text = format!("{:.4} ± {:.4}", s.mean.get(metric), s.std.get(metric));
        if s.mean.get(metric) >= best {
            format!("**{text}**")
        } else {
            text
        }
    };
    for s in summaries {
        let gain = if &s.name == baseline {
            "—".to_string()
        } else {
            format!("{:+.2} pts", 100.0 * s.gain_over_baseline)
        };
        let cells: Vec<String> = COLUMNS.iter().map(|&m| cell(m, s)).collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {gain} | {} | {:.1} |",
            s.name,
            s.loss,
            cell(Metric::BalancedAccuracy, s),
            cells.join(" | "),
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
    for metric in Metric::iter() {
        text += &format!(",{}", metric.key());
    }
    for c in 0..classes {
        text += &format!(",recall_{c}");
    }
    text.push('\n');
    for r in results {
        text += &format!("{},{}", r.variant, r.seed);
        for metric in Metric::iter() {
            text += &format!(",{}", r.metrics.get(metric));
        }
        for value in &r.metrics.per_class_recall {
            text += &format!(",{value}");
        }
        text.push('\n');
    }
    text
}
