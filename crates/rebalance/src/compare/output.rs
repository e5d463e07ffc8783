//! What a sweep writes into the compare directory: `comparison.json` (the provenance and one
//! entry per variant), `comparison.md` (the table), `comparison.tex` (the table as a LaTeX
//! booktabs tabular), `comparison.csv` (one row per run) and the plots.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::figures::{self, ComparisonFigures, Estimate};
use super::plan::ComparePlan;
use super::stats::{
    BOOTSTRAP_FROM, BOOTSTRAP_RESAMPLES, CONFIDENCE, Metric, PairedDifference, RunResult, Summary,
    VariantSummary, distinct_joined, shot_metrics, t_quantile,
};
use crate::reporting::shots::ShotGroups;
use rebalance_data::Task;

use crate::reporting::write_atomic;
use crate::run::config::RunConfig;

/// The score columns of a single-label `comparison.md`, in their order.
const SINGLE_LABEL_COLUMNS: [Metric; 8] = [
    Metric::BalancedAccuracy,
    Metric::Ece,
    Metric::MacroF1,
    Metric::GMean,
    Metric::Accuracy,
    Metric::ManyShot,
    Metric::MediumShot,
    Metric::FewShot,
];

/// The score columns of a multi-label `comparison.md`, in their order.
const MULTI_LABEL_COLUMNS: [Metric; 6] = [
    Metric::MacroF1,
    Metric::MicroF1,
    Metric::MeanAveragePrecision,
    Metric::SubsetAccuracy,
    Metric::HammingLoss,
    Metric::TailRecall,
];

/// The metric columns of `comparison.md` and `comparison.tex` after the ranking metric and
/// the gain over the baseline: the task's scores but the ranking metric.
fn columns(summary: &Summary) -> Vec<Metric> {
    let all: &[Metric] = match summary.task {
        Task::SingleLabel => &SINGLE_LABEL_COLUMNS,
        Task::MultiLabel => &MULTI_LABEL_COLUMNS,
    };
    all.iter()
        .copied()
        .filter(|&m| m != summary.rank_by)
        .collect()
}

/// Where a comparison comes from, as `comparison.json` and `comparison.md` record it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The version of rebalance that wrote the comparison (`CARGO_PKG_VERSION`).
    pub rebalance_version: String,
    /// The git commit of rebalance's source: `REBALANCE_GIT_COMMIT` when the binary was built
    /// with it set, else `git rev-parse HEAD` at run time in the checkout the binary was built
    /// from (`CARGO_MANIFEST_DIR`), if it is still a git checkout of rebalance. Absent otherwise
    /// (an installed crate, no git).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// Whether that checkout had uncommitted changes to tracked files; absent when unknown
    /// (no checkout, or the commit came from `REBALANCE_GIT_COMMIT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_modified: Option<bool>,
    /// The backends that trained the runs, comma-separated in order of first appearance.
    pub backend: String,
    /// The hardware that trained the runs (GPU or CPU model names, comma-separated in order of
    /// first appearance); absent when no run's report records one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The compare config, as given on the command line.
    pub config: String,
    /// SHA-256 (hex) of the compared variants' resolved configs: each variant's name and its
    /// complete config as TOML (every default written out, `--set` applied, seed 0), in the
    /// config's order, with the placement keys (`train.backend`, `train.workers`,
    /// `output.dir`) at their defaults: shards, merges on another backend and moved compare
    /// directories of one sweep agree.
    pub config_sha256: String,
    /// Every `train.seed` of the runs, ascending.
    pub seeds: Vec<u64>,
    /// `train.epochs` of the base config.
    pub epochs: usize,
    /// The number of runs summarised.
    pub runs: usize,
    /// The training wall time of the sweep: the sum of its runs' (each is in
    /// `comparison.csv`), whether they trained in this call or before, one by one or in shards.
    pub wall_seconds: f64,
}

impl Provenance {
    /// The provenance of `summary`, a sweep of `plan` read from `config_path`.
    ///
    /// # Errors
    /// A variant's config that cannot be serialized (never in practice).
    pub(super) fn of(
        plan: &ComparePlan,
        config_path: &Path,
        summary: &Summary,
    ) -> anyhow::Result<Self> {
        let backends = distinct_joined(summary.variants.iter().flat_map(|s| s.backend.split(", ")));
        let devices = distinct_joined(
            summary
                .variants
                .iter()
                .filter_map(|s| s.device.as_deref())
                .flat_map(|d| d.split(", ")),
        );
        let mut seeds: Vec<u64> = summary.results.iter().map(|r| r.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        let names: Vec<&str> = summary.variants.iter().map(|s| s.name.as_str()).collect();
        let (git_commit, git_modified) = git_state();
        Ok(Self {
            rebalance_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit,
            git_modified,
            backend: backends,
            device: (!devices.is_empty()).then_some(devices),
            config: config_path.display().to_string(),
            config_sha256: config_sha256(plan, &names)?,
            seeds,
            epochs: plan.base.train.epochs,
            runs: summary.results.len(),
            wall_seconds: summary.results.iter().map(|r| r.metrics.wall_seconds).sum(),
        })
    }

    /// The provenance line of `comparison.md`.
    fn markdown(&self) -> String {
        let commit = match (&self.git_commit, self.git_modified) {
            (None, _) => "commit unknown".to_string(),
            (Some(commit), Some(true)) => format!("commit `{commit}` with uncommitted changes"),
            (Some(commit), _) => format!("commit `{commit}`"),
        };
        let device = self
            .device
            .as_ref()
            .map_or(String::new(), |d| format!(" on {d}"));
        format!(
            "rebalance {}, {commit}; config SHA-256 `{}`; training wall time {:.1} s summed \
             over {} runs{device}.",
            self.rebalance_version, self.config_sha256, self.wall_seconds, self.runs
        )
    }
}

/// SHA-256 of the configs of the variants `names` (see [`Provenance::config_sha256`]).
fn config_sha256(plan: &ComparePlan, names: &[&str]) -> anyhow::Result<String> {
    use sha2::Digest;
    let defaults = RunConfig::default();
    let mut hasher = sha2::Sha256::new();
    for variant in plan
        .variants
        .iter()
        .filter(|v| names.contains(&v.name.as_str()))
    {
        let mut config = variant.config.clone();
        // The placement keys (crate::run::run_dir::PLACEMENT_KEYS) make no other run.
        config.train.backend = defaults.train.backend;
        config.train.workers = defaults.train.workers;
        config.output.dir.clone_from(&defaults.output.dir);
        hasher.update(format!("[[variants]] name = {:?}\n", variant.name));
        hasher.update(config.to_toml()?);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The commit of rebalance's source and whether its checkout is modified (see
/// [`Provenance::git_commit`]).
fn git_state() -> (Option<String>, Option<bool>) {
    if let Some(commit) = option_env!("REBALANCE_GIT_COMMIT").filter(|c| !c.trim().is_empty()) {
        return (Some(commit.trim().to_string()), None);
    }
    let source = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| -> Option<String> {
        let output = std::process::Command::new("git")
            .args(["--no-optional-locks", "-C", source])
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let Some(parsed) = git(&["rev-parse", "--show-prefix", "HEAD"]) else {
        return (None, None);
    };
    let mut lines = parsed.lines();
    // Only rebalance's own checkout: this crate at `crates/rebalance/` of its top level, not a
    // repository that happens to hold an unpacked crate.
    if lines.next() != Some("crates/rebalance/") {
        return (None, None);
    }
    let Some(commit) = lines
        .next()
        .filter(|c| c.len() >= 40 && c.chars().all(|ch| ch.is_ascii_hexdigit()))
    else {
        return (None, None);
    };
    let modified = git(&["status", "--porcelain", "--untracked-files=no"])
        .map(|status| !status.trim().is_empty());
    (Some(commit.to_string()), modified)
}

/// `comparison.json`.
#[derive(Debug, Serialize)]
struct ComparisonFile<'a> {
    /// Where it comes from.
    provenance: &'a Provenance,
    /// `multi-label`; absent for single-label.
    #[serde(skip_serializing_if = "Task::is_single_label")]
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
    let multi_label = summary.task == Task::MultiLabel;
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
    let markdown = markdown(summary, provenance);
    write_atomic(&dir.join("comparison.md"), &markdown)?;
    write_atomic(&dir.join("comparison.tex"), &latex(summary))?;
    write_atomic(
        &dir.join("comparison.csv"),
        &csv(summary.task, &summary.results),
    )?;
    write_plots(dir, summary, plot_variants)?;
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
    let shots: Vec<(String, Vec<Estimate>)> = match summary.task {
        Task::MultiLabel => Vec::new(),
        Task::SingleLabel => shot_metrics(&summary.groups)
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
            unit: match summary.task {
                Task::SingleLabel => "class",
                Task::MultiLabel => "label",
            },
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
    let points = |v: f64| format!("{:+.2}", 100.0 * v);
    match (d.mean, d.low, d.high) {
        (None, ..) => "— [no common seed]".to_string(),
        (Some(mean), Some(low), Some(high)) => format!(
            "{} [{}, {}]{}",
            points(mean),
            points(low),
            points(high),
            if d.excludes_zero() { "*" } else { "" }
        ),
        (Some(mean), ..) => format!(
            "{} [no interval: {} paired seed{}]",
            points(mean),
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

/// `comparison.md`.
fn markdown(summary: &Summary, provenance: &Provenance) -> String {
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
    match summary.task {
        Task::SingleLabel => {
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
        Task::MultiLabel => {
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
    if summary.task == Task::SingleLabel && rank != Metric::BalancedAccuracy {
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
    md += &match summary.task {
        Task::SingleLabel => format!(
            "\nPlots: `{}.png` (mean and 95% CI per variant), `per_class_recall.png` (heatmap), \
             `per_class_recall_lines.png` (a few variants, `--plot-variants`), \
             `shot_groups.png` (and `.svg`).",
            rank.key()
        ),
        Task::MultiLabel => format!(
            "\nPlots: `{}.png` (mean and 95% CI per variant), `per_label_recall.png` (heatmap), \
             `per_label_recall_lines.png` (a few variants, `--plot-variants`) (and `.svg`).",
            rank.key()
        ),
    };
    md += " One row per run: `comparison.csv`. The table for LaTeX: `comparison.tex`.\n";
    md
}

/// `text` for LaTeX's text mode: the special characters escaped (`\_`, `\%`, `\&`, `\#`, ...),
/// Greek letters and a few symbols as math, dashes as `--` / `---`.
fn tex_escape(text: &str) -> String {
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
fn latex(summary: &Summary) -> String {
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
            .map_or("---".to_string(), |d| {
                let points = |v: f64| format!("{:+.1}", 100.0 * v);
                match (d.mean, d.low, d.high) {
                    (Some(mean), Some(low), Some(high)) => format!(
                        "${}$ {{\\scriptsize $[{}, {}]$}}{}",
                        points(mean),
                        points(low),
                        points(high),
                        if d.excludes_zero() { "$^{*}$" } else { "" }
                    ),
                    (Some(mean), ..) => format!("${}$", points(mean)),
                    (None, ..) => "---".to_string(),
                }
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
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;

    use super::*;
    use crate::compare::stats::Metrics;
    use crate::run::run_dir::PLACEMENT_KEYS;

    /// Three variants over seeds 1–3, best first as `summarise` sorts them: `ins` clearly better
    /// than `ce` (the baseline), `ens` within the noise.
    fn summary() -> Summary {
        let metrics = |ba: f64| Metrics {
            accuracy: ba + 0.1,
            balanced_accuracy: ba,
            macro_f1: ba - 0.01,
            g_mean: ba - 0.02,
            many_shot: 0.9,
            medium_shot: 0.8,
            few_shot: ba - 0.2,
            per_class_recall: vec![0.9, ba - 0.2],
            wall_seconds: 2.0,
            ..Metrics::default()
        };
        let runs = [
            ("ce", [0.70, 0.72, 0.74]),
            ("ins", [0.75, 0.78, 0.78]),
            ("ens", [0.72, 0.71, 0.75]),
        ];
        let results: Vec<RunResult> = runs
            .iter()
            .flat_map(|(name, bas)| {
                bas.iter().zip(1..).map(|(&ba, seed)| RunResult {
                    variant: name.to_string(),
                    seed,
                    metrics: metrics(ba),
                })
            })
            .collect();
        let mut variants: Vec<VariantSummary> = runs
            .iter()
            .map(|(name, bas)| {
                let mine: Vec<&Metrics> = results
                    .iter()
                    .filter(|r| r.variant == *name)
                    .map(|r| &r.metrics)
                    .collect();
                let (mean, std) = Metrics::mean_std(&mine);
                let paired_difference = (*name != "ce").then(|| {
                    Metric::of_task(Task::SingleLabel)
                        .iter()
                        .filter(|m| m.is_score())
                        .map(|&m| {
                            let values = |runs: &[f64; 3]| -> Vec<(u64, f64)> {
                                runs.iter()
                                    .zip(1..)
                                    .map(|(&ba, seed)| (seed, metrics(ba).get(m)))
                                    .collect()
                            };
                            let d = PairedDifference::of(&values(bas), &values(&runs[0].1));
                            (m.key().to_string(), d)
                        })
                        .collect::<BTreeMap<_, _>>()
                });
                VariantSummary {
                    name: name.to_string(),
                    seeds: vec![1, 2, 3],
                    backend: "flex".to_string(),
                    device: Some("AMD EPYC 7B13".to_string()),
                    loss: match *name {
                        "ins" => "cross-entropy, ins 50% & #2_x".to_string(),
                        "ens" => "cross-entropy, ens β=0.999 {τ=1}".to_string(),
                        _ => "cross-entropy".to_string(),
                    },
                    gain_over_baseline: mean.balanced_accuracy - 0.72,
                    mean,
                    std,
                    paired_difference,
                }
            })
            .collect();
        variants.sort_by(|a, b| {
            b.mean
                .balanced_accuracy
                .total_cmp(&a.mean.balanced_accuracy)
        });
        Summary {
            task: Task::SingleLabel,
            rank_by: Metric::BalancedAccuracy,
            rank_by_set: false,
            results,
            variants,
            baseline: "ce".to_string(),
            counts: vec![100, 10],
            groups: ShotGroups::of(&[100, 10]),
            tail: Vec::new(),
        }
    }

    fn provenance() -> Provenance {
        Provenance {
            rebalance_version: "0.1.0".to_string(),
            git_commit: Some("0123456789abcdef0123456789abcdef01234567".to_string()),
            git_modified: Some(false),
            backend: "flex".to_string(),
            device: Some("AMD EPYC 7B13".to_string()),
            config: "configs/compare.toml".to_string(),
            config_sha256: "ab".repeat(32),
            seeds: vec![1, 2, 3],
            epochs: 20,
            runs: 9,
            wall_seconds: 18.0,
        }
    }

    /// Braces not escaped by a backslash balance, never closing more than is open.
    fn braces_balance(tex: &str) -> bool {
        let mut depth = 0i64;
        let mut escaped = false;
        for c in tex
            .lines()
            .flat_map(|l| l.split('%').next().unwrap_or("").chars())
        {
            match c {
                '\\' if !escaped => {
                    escaped = true;
                    continue;
                }
                '{' if !escaped => depth += 1,
                '}' if !escaped => depth -= 1,
                _ => {}
            }
            escaped = false;
            if depth < 0 {
                return false;
            }
        }
        depth == 0
    }

    #[test]
    fn latex_table_is_booktabs_with_a_row_per_variant() {
        let summary = summary();
        let tex = latex(&summary);
        for rule in ["\\toprule", "\\midrule", "\\bottomrule"] {
            assert_eq!(tex.matches(rule).count(), 1, "{rule}\n{tex}");
        }
        assert!(tex.contains("\\begin{tabular}{llrrrrrrrrr}"), "{tex}");
        assert!(tex.trim_end().ends_with("\\end{tabular}"), "{tex}");
        assert!(braces_balance(&tex), "{tex}");
        // One row per variant between \midrule and \bottomrule, as many cells as columns.
        let body = &tex[tex.find("\\midrule").unwrap()..tex.find("\\bottomrule").unwrap()];
        let rows: Vec<&str> = body.lines().skip(1).collect();
        assert_eq!(rows.len(), 3, "{tex}");
        for row in &rows {
            assert!(row.ends_with(" \\\\"), "{row}");
            assert_eq!(row.matches(" & ").count(), 10, "{row}");
            assert!(braces_balance(row), "{row}");
        }
        // Best balanced accuracy first and in bold; ce has no difference to itself.
        assert!(rows[0].starts_with("ins & "), "{tex}");
        assert!(rows[0].contains("$\\mathbf{0.770 \\pm 0.017}$"), "{tex}");
        assert!(
            rows[1].contains("$+0.7$ {\\scriptsize $[-3.1, +4.5]$} & "),
            "{tex}"
        );
        assert!(rows[2].starts_with("ce & cross-entropy & $0.720 \\pm 0.020$ & --- & "));
        // ins − ce: differences 0.05, 0.06, 0.04, an interval above 0.
        assert!(
            rows[0].contains("$+5.0$ {\\scriptsize $[+2.5, +7.5]$}$^{*}$"),
            "{tex}"
        );
        // Escaped: _ % & # { } and Greek as math.
        assert!(
            rows[0].contains("cross-entropy, ins 50\\% \\& \\#2\\_x"),
            "{tex}"
        );
        assert!(
            rows[1].contains("cross-entropy, ens $\\beta$=0.999 \\{$\\tau$=1\\}"),
            "{tex}"
        );
        assert_eq!(
            tex_escape("a_b%c&d#e$f~g^h\\i–j"),
            "a\\_b\\%c\\&d\\#e\\$f\\textasciitilde{}g\\textasciicircum{}h\\textbackslash{}i--j"
        );
        assert!(!braces_balance("{\\}"));
    }

    #[test]
    fn markdown_shows_intervals_marks_and_provenance() {
        let summary = summary();
        let md = markdown(&summary, &provenance());
        let table: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).collect();
        assert_eq!(table.len(), 4, "{md}");
        assert!(table[0].contains("| Δ vs ce (95% CI) |"), "{md}");
        // ins − ce: mean 5, sd 1, t_{0.975,2} · 1 / √3 = 2.484 points.
        assert!(table[1].contains("| +5.00 [+2.52, +7.48]* pts |"), "{md}");
        // ens − ce: differences 2, −1, 1 points: the interval holds 0, no mark.
        assert!(table[2].contains("| +0.67 [-3.13, +4.46] pts |"), "{md}");
        assert!(table[3].contains("| — |"), "{md}");
        assert!(md.contains("`*`: the interval excludes 0."), "{md}");
        assert!(md.contains("Student's t for 2 to 9 paired seeds"), "{md}");
        assert!(
            md.contains(
                "- `ins`: balanced accuracy +5.00 [+2.52, +7.48]*; ECE +0.00 [+0.00, +0.00]; \
                 macro-F1 +5.00"
            ),
            "{md}"
        );
        assert!(!md.contains("- `ce`:"), "{md}");
        assert!(
            md.contains(
                "rebalance 0.1.0, commit `0123456789abcdef0123456789abcdef01234567`; config \
                 SHA-256 `abab"
            ),
            "{md}"
        );
        assert!(
            md.contains("training wall time 18.0 s summed over 9 runs on AMD EPYC 7B13."),
            "{md}"
        );
        assert!(md.contains("`comparison.tex`"), "{md}");
    }

    #[test]
    fn differences_without_an_interval_say_why() {
        let one = PairedDifference::of(&[(1, 0.8)], &[(1, 0.75)]);
        assert_eq!(
            difference_points(&one),
            "+5.00 [no interval: 1 paired seed]"
        );
        let none = PairedDifference::of(&[(1, 0.8)], &[(2, 0.75)]);
        assert_eq!(difference_points(&none), "— [no common seed]");
    }

    #[test]
    fn the_config_hash_ignores_placement_only() {
        // The placement keys the hash resets are exactly those that make no other run.
        assert_eq!(
            PLACEMENT_KEYS,
            ["train.backend", "train.workers", "output.dir"]
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[[variants]]\nname = \"ce\"\n\n[[variants]]\nname = \"ins\"\n\
             loss = { kind = \"cross-entropy\", scheme = \"ins\" }\n",
        )
        .unwrap();
        let hash = |sets: &[&str], names: &[&str]| {
            let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
            config_sha256(&ComparePlan::load(&path, &sets).unwrap(), names).unwrap()
        };
        let both = hash(&[], &["ce", "ins"]);
        assert_eq!(both.len(), 64);
        assert!(both.chars().all(|c| c.is_ascii_hexdigit()));
        // Stable, and the order of the names does not matter (the config's order is used).
        assert_eq!(hash(&[], &["ins", "ce"]), both);
        let placed = [
            "train.workers=2",
            "output.dir=\"elsewhere\"",
            "train.backend=\"ndarray\"",
        ];
        assert_eq!(hash(&placed, &["ce", "ins"]), both);
        assert_ne!(hash(&["train.learning_rate=0.01"], &["ce", "ins"]), both);
        assert_ne!(hash(&[], &["ce"]), both);
    }
}
