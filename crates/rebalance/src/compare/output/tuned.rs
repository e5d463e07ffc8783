//! What a tuned comparison adds to `comparison.md` and `comparison.tex`: per tuned variant its
//! grid and the setting chosen per seed on the validation split; and the `tuning` figure.

use super::latex::tex_escape;
use super::*;
use crate::compare::tune::Tuned;

/// The tuned variants of `summary`, in the table's order.
fn tuned(summary: &Summary) -> Vec<(String, &Tuned)> {
    summary
        .variants
        .iter()
        .filter_map(|s| s.tune.as_ref().map(|t| (s.name.clone(), t)))
        .collect()
}

/// Seed by seed, the chosen setting and its validation score: `1: beta=0.99 (0.712)`.
fn chosen(t: &Tuned) -> Vec<String> {
    t.chosen
        .iter()
        .map(|c| format!("{}: {} ({:.3})", c.seed, c.setting(), c.score(&t.points)))
        .collect()
}

/// The Markdown section on the tuned variants; empty when none is tuned.
pub(super) fn markdown(summary: &Summary) -> String {
    let tuned = tuned(summary);
    if tuned.is_empty() {
        return String::new();
    }
    let label = summary.rank_by.label();
    let mut md = format!(
        "\n## Tuned on the validation split\n\nEach tuned variant trained every point of its \
         grid for every seed; the point with the best validation {label} is the variant's run \
         of that seed in the table (ties: the first point of the grid). The test split is not \
         read for the choice.\n\n| variant | grid | chosen per seed (validation {label}) |\n\
         |---|---|---|\n"
    );
    for (name, t) in &tuned {
        let _ = writeln!(
            md,
            "| {name} | {} | {} |",
            t.grid.describe(),
            chosen(t).join("; ")
        );
    }
    md += "\nEvery point's validation score: `comparison.json` (`tune`) and `tuning.png`.\n";
    md
}

/// The LaTeX table of the tuned variants, after the comparison's; empty when none is tuned.
pub(super) fn latex(summary: &Summary) -> String {
    let tuned = tuned(summary);
    if tuned.is_empty() {
        return String::new();
    }
    let mut tex = format!(
        "% The tuned variants: the setting chosen per seed on the validation split (validation\n\
         % {} in parentheses).\n\\begin{{tabular}}{{lll}}\n\\toprule\nVariant & Grid & Chosen \
         per seed \\\\\n\\midrule\n",
        summary.rank_by.label()
    );
    for (name, t) in &tuned {
        let _ = writeln!(
            tex,
            "{} & {} & {} \\\\",
            tex_escape(name),
            tex_escape(&t.grid.describe()),
            tex_escape(&chosen(t).join("; "))
        );
    }
    tex += "\\bottomrule\n\\end{tabular}\n";
    tex
}

/// The `tuning` figure of the tuned variants (none: no figure).
///
/// # Errors
/// A file cannot be written.
pub(super) fn figure(dir: &Path, summary: &Summary) -> anyhow::Result<()> {
    let tuned: Vec<(String, &Tuned)> = tuned(summary);
    figures::write_tuning(
        dir,
        &figures::TuningPanels {
            variants: &tuned,
            label: summary.rank_by.label(),
        },
    )
}
