//! The writers' tests, on a fixed summary and provenance.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use super::latex::tex_escape;
use super::provenance::config_sha256;
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
                tune: None,
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
        md.contains(
            "training wall time 18.0 s for 9 runs on AMD EPYC 7B13, each training counted once."
        ),
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
