//! What a sweep writes into the compare directory: `comparison.json` (one entry per variant),
//! `comparison.md` (the table), `comparison.csv` (one row per run) and the plots.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use super::stats::{Metrics, RunResult, Summary, VariantSummary};
use crate::plots::{self, Bar};
use crate::report::write_atomic;

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
    let (summaries, groups, counts) = (&summary.variants, &summary.groups, &summary.counts);
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
    plots::write_comparison_plots(dir, &balanced, &lines, &shots)
}

/// `comparison.md`.
fn markdown(summary: &Summary, config_path: &Path, epochs: usize) -> String {
    let (summaries, baseline, groups) = (&summary.variants, &summary.baseline, &summary.groups);
    let counts = &summary.counts;
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
        let gain = if &s.name == baseline {
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
