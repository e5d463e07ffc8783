//! `comparison.md`: the table of variants with their intervals, and the provenance.

use super::*;

/// `comparison.md`.
pub(super) fn markdown(summary: &Summary, provenance: &Provenance) -> String {
    let (summaries, baseline, groups) = (&summary.variants, &summary.baseline, &summary.groups);
    let first = summaries.first();
    let mut md = format!(
        "# rebalance compare\n\n`{}`, backend `{}`, {} epochs, seeds {} (mean ± std over {} \
         runs per variant)\n\n",
        provenance.config,
        provenance.backend,
        provenance.epochs,
        first.map_or(String::new(), |s| join(&s.seeds)),
        first.map_or(0, |s| s.seeds.len()),
    );
    let _ = writeln!(md, "{}\n", provenance.markdown());
    let (rank, columns) = (summary.rank_by, columns(summary));
    let view = TaskView::of(summary.task);
    match view.shot_groups {
        true => {
            let _ = writeln!(
                md,
                "Training samples per class (head → tail): {}. Shot groups ({}): many = \
                 classes {}, medium = {}, few = {}.\n",
                join(&summary.counts),
                groups.rule,
                join(&groups.many),
                join(&groups.medium),
                join(&groups.few),
            );
        }
        false => {
            let _ = writeln!(
                md,
                "Multi-label. Training positives per label: {}. Tail labels (the rarest third \
                 by training positives; tail recall is their mean recall): {}. Ranked by {}; \
                 Hamming loss: lower is better.\n",
                join(&summary.counts),
                join(&summary.tail),
                rank.label(),
            );
        }
    }
    if view.shot_groups && rank != view.default_rank {
        let _ = writeln!(md, "Ranked by {}.\n", rank.label());
    }
    let labels: Vec<&str> = columns.iter().map(|m| m.label()).collect();
    let _ = writeln!(
        md,
        "| variant | method | {} | Δ vs {baseline} (95% CI) | {} | {} |\n|{}",
        rank.label(),
        labels.join(" | "),
        Metric::WallSeconds.label(),
        "---|".repeat(columns.len() + 5),
    );
    // The best mean of each metric column is bold.
    let cell = |metric: Metric, s: &VariantSummary| {
        let text = format!("{:.4} ± {:.4}", s.mean.get(metric), s.std.get(metric));
        if is_best(summaries, metric, s) {
            format!("**{text}**")
        } else {
            text
        }
    };
    let difference = |s: &VariantSummary, metric: Metric| {
        s.paired_difference
            .as_ref()
            .and_then(|d| d.get(metric.key()))
            .map(difference_points)
    };
    for s in summaries {
        let gain = match difference(s, rank) {
            Some(text) => format!("{text} pts"),
            None => "—".to_string(),
        };
        let cells: Vec<String> = columns.iter().map(|&m| cell(m, s)).collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {gain} | {} | {:.1} |",
            s.name,
            s.loss,
            cell(rank, s),
            cells.join(" | "),
            s.mean.wall_seconds,
        );
    }
    let _ = writeln!(md, "\n{}", interval_legend(baseline));
    if summaries.iter().any(|s| s.paired_difference.is_some()) {
        let _ = writeln!(
            md,
            "\nPaired differences to `{baseline}` of every metric, points (95% CI):\n"
        );
        for s in summaries {
            let metrics: Vec<String> = std::iter::once(rank)
                .chain(columns.iter().copied())
                .filter_map(|m| difference(s, m).map(|text| format!("{} {text}", m.label())))
                .collect();
            if !metrics.is_empty() {
                let _ = writeln!(md, "- `{}`: {}", s.name, metrics.join("; "));
            }
        }
    }
    let _ = write!(
        md,
        "\nPlots: `{}.png` (mean and 95% CI per variant), `{recall}.png` (heatmap), \
         `{recall}_lines.png` (a few variants, `--plot-variants`){} (and `.svg`).",
        rank.key(),
        if view.shot_groups {
            ", `shot_groups.png`"
        } else {
            ""
        },
        recall = view.recall,
    );
    md += " One row per run: `comparison.csv`. The table for LaTeX: `comparison.tex`.\n";
    md
}
