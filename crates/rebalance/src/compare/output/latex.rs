//! `comparison.tex`: the table as a LaTeX booktabs tabular.

use super::*;

/// `text` for LaTeX's text mode: the special characters escaped (`\_`, `\%`, `\&`, `\#`, ...),
/// Greek letters and a few symbols as math, dashes as `--` / `---`.
pub(super) fn tex_escape(text: &str) -> String {
    const GREEK: [(char, &str); 23] = [
        ('α', "alpha"),
        ('β', "beta"),
        ('γ', "gamma"),
        ('δ', "delta"),
        ('ε', "epsilon"),
        ('ζ', "zeta"),
        ('η', "eta"),
        ('θ', "theta"),
        ('ι', "iota"),
        ('κ', "kappa"),
        ('λ', "lambda"),
        ('μ', "mu"),
        ('ν', "nu"),
        ('ξ', "xi"),
        ('π', "pi"),
        ('ρ', "rho"),
        ('σ', "sigma"),
        ('τ', "tau"),
        ('υ', "upsilon"),
        ('φ', "phi"),
        ('χ', "chi"),
        ('ψ', "psi"),
        ('ω', "omega"),
    ];
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out += "\\textbackslash{}",
            '_' | '%' | '&' | '#' | '$' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out += "\\textasciitilde{}",
            '^' => out += "\\textasciicircum{}",
            '–' => out += "--",
            '—' => out += "---",
            '→' => out += "$\\to$",
            '×' => out += "$\\times$",
            '∈' => out += "$\\in$",
            '≤' => out += "$\\le$",
            '≥' => out += "$\\ge$",
            '±' => out += "$\\pm$",
            _ => match GREEK.iter().find(|(g, _)| *g == c) {
                Some((_, name)) => {
                    let _ = write!(out, "$\\{name}$");
                }
                None => out.push(c),
            },
        }
    }
    out
}

/// `comparison.tex`: the table as a booktabs `tabular` to `\input` (the document loads
/// `booktabs`): mean ± std per metric, the best mean of each column in bold, the paired
/// difference of balanced accuracy to the baseline with its interval.
pub(super) fn latex(summary: &Summary) -> String {
    let summaries = &summary.variants;
    let (rank, columns) = (summary.rank_by, columns(summary));
    let mut tex = format!(
        "% Written by rebalance compare ({} {}): \\input it where booktabs is loaded.\n\
         % Mean ± sample std over seeds; bold: the best mean of the column. Δ: the paired\n\
         % difference of {} to {} in points with its 95% CI; * where it excludes 0.\n",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
        rank.label(),
        summary.baseline.replace('\n', " "),
    );
    let _ = writeln!(
        tex,
        "\\begin{{tabular}}{{ll{}}}\n\\toprule",
        "r".repeat(columns.len() + 2)
    );
    let mut header = vec!["Variant".to_string(), "Method".to_string()];
    header.push(tex_escape(rank.label()));
    header.push(format!(
        "$\\Delta$ vs {} (pts)",
        tex_escape(&summary.baseline)
    ));
    header.extend(columns.iter().map(|m| tex_escape(m.label())));
    let _ = writeln!(tex, "{} \\\\\n\\midrule", header.join(" & "));
    for s in summaries {
        let cell = |metric: Metric| {
            let (mean, std) = (s.mean.get(metric), s.std.get(metric));
            if is_best(summaries, metric, s) {
                format!("$\\mathbf{{{mean:.3} \\pm {std:.3}}}$")
            } else {
                format!("${mean:.3} \\pm {std:.3}$")
            }
        };
        let delta = s
            .paired_difference
            .as_ref()
            .and_then(|d| d.get(rank.key()))
            .map_or("---".to_string(), |d| match d.in_points(1) {
                Some((mean, Some((low, high)))) => format!(
                    "${mean}$ {{\\scriptsize $[{low}, {high}]$}}{}",
                    if d.excludes_zero() { "$^{*}$" } else { "" }
                ),
                Some((mean, None)) => format!("${mean}$"),
                None => "---".to_string(),
            });
        let mut row = vec![tex_escape(&s.name), tex_escape(&s.loss)];
        row.push(cell(rank));
        row.push(delta);
        row.extend(columns.iter().map(|&m| cell(m)));
        let _ = writeln!(tex, "{} \\\\", row.join(" & "));
    }
    tex += "\\bottomrule\n\\end{tabular}\n";
    tex
}
