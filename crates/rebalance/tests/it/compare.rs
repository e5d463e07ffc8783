//! End-to-end: `rebalance compare` as a user runs it.
use std::path::Path;
use std::process::Output;

use crate::common::{
    assert_ok, assert_ok_with_stderr, assert_one_line_error, assert_sweep_trained, compare,
    compare_crashing_at, modified, read_json, rebalance_with_env, stderr, stdout, tiny_sweep,
    without_wall_clock, write_config,
};

/// The scores of a variant's `mean`, `std` and `paired_difference` in `comparison.json`, each
/// in [0, 1].
const SCORES: [&str; 7] = [
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "g_mean",
    "many_shot",
    "medium_shot",
    "few_shot",
];

#[test]
fn tiny_compare_writes_the_comparison_and_skips_finished_runs() {
    let (dir, config) = tiny_sweep(&["ce", "ins"]);
    let out = dir.path().join("cmp");
    let first = compare(&config, &out, &[]);
    // A line per finished run, with its balanced accuracy.
    let finished = assert_sweep_trained(
        &first,
        "2 variants × 2 seeds = 4 runs on flex (0 finished before, 4 to train)",
        4,
        "[1/4] ce seed 1: balanced accuracy 0.",
    );
    assert!(finished[3].contains("done"), "{}", stderr(&first));

    // comparison.json: the provenance, and one entry per variant, mean and std of each metric.
    let json = read_json(&out, "comparison.json");
    let provenance = &json["provenance"];
    assert_eq!(provenance["rebalance_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(provenance["backend"], "flex");
    // The hardware: the processor's model name, as every run's report.json records it.
    let device = provenance["device"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if cfg!(target_os = "linux") {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
        assert!(!device.is_empty() && cpuinfo.contains(&device), "{device}");
        let report = read_json(&out.join("ce/seed-1"), "report.json");
        assert_eq!(report["device"], device.as_str());
    }
    assert_eq!(provenance["seeds"], serde_json::json!([1, 2]));
    assert_eq!(provenance["epochs"], 1);
    assert_eq!(provenance["runs"], 4);
    assert_eq!(provenance["config"], config.to_str().unwrap());
    let sha = provenance["config_sha256"].as_str().unwrap();
    assert!(
        sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()),
        "{sha}"
    );
    // The commit: the one the build was given, else that of the checkout the tests run from
    // (none outside a git checkout).
    let checkout = std::process::Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let expected = option_env!("REBALANCE_GIT_COMMIT")
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .or(checkout);
    let commit = provenance["git_commit"].as_str().unwrap_or("unknown");
    assert_eq!(
        commit,
        expected.as_deref().unwrap_or("unknown"),
        "{provenance}"
    );
    if option_env!("REBALANCE_GIT_COMMIT").is_none() && expected.is_some() {
        assert!(
            commit.len() >= 40 && commit.chars().all(|c| c.is_ascii_hexdigit()),
            "{commit}"
        );
        assert!(provenance["git_modified"].is_boolean(), "{provenance}");
    }
    assert_eq!(json["baseline"], "ce");
    let entries = json["variants"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let mut names: Vec<&str> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["ce", "ins"]);
    for e in entries {
        assert_eq!(e["seeds"], serde_json::json!([1, 2]));
        assert_eq!(e["backend"], "flex");
        for stat in ["mean", "std"] {
            for key in SCORES {
                let v = e[stat][key].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&v), "{stat}.{key} = {v}");
            }
            assert_eq!(e[stat]["per_class_recall"].as_array().unwrap().len(), 6);
            assert!(e[stat]["wall_seconds"].as_f64().unwrap() >= 0.0);
            // Calibration beside the scores.
            assert!((0.0..=1.0).contains(&e[stat]["ece"].as_f64().unwrap()));
        }
    }
    // Sorted by balanced accuracy, best first.
    let ba = |i: usize| entries[i]["mean"]["balanced_accuracy"].as_f64().unwrap();
    assert!(ba(0) >= ba(1));
    // The mean is the mean of the runs in comparison.csv.
    let csv = std::fs::read_to_string(out.join("comparison.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 5, "{csv}");
    assert_eq!(
        &rows[0][..4],
        ["variant", "seed", "accuracy", "balanced_accuracy"]
    );
    assert!(rows.iter().all(|r| r.len() == 2 + 9 + 6), "{csv}");
    let best = entries[0]["name"].as_str().unwrap();
    let runs: Vec<f64> = rows[1..]
        .iter()
        .filter(|r| r[0] == best)
        .map(|r| r[3].parse().unwrap())
        .collect();
    assert_eq!(runs.len(), 2);
    assert!((ba(0) - (runs[0] + runs[1]) / 2.0).abs() < 1e-12);
    // The training wall time of the sweep is the sum of its runs'.
    let wall: f64 = rows[1..]
        .iter()
        .map(|r| r[10].parse::<f64>().unwrap())
        .sum();
    assert_eq!(rows[0][10], "wall_seconds");
    assert!((provenance["wall_seconds"].as_f64().unwrap() - wall).abs() < 1e-9);

    // The paired difference of ins to ce: seed k minus seed k, with a Student t-interval.
    let ins = entries.iter().find(|e| e["name"] == "ins").unwrap();
    let ce = entries.iter().find(|e| e["name"] == "ce").unwrap();
    assert!(ce.get("paired_difference").is_none(), "{ce}");
    let seed_value = |variant: &str, seed: &str| -> f64 {
        rows[1..]
            .iter()
            .find(|r| r[0] == variant && r[1] == seed)
            .unwrap()[3]
            .parse()
            .unwrap()
    };
    let differences: Vec<f64> = ["1", "2"]
        .iter()
        .map(|seed| seed_value("ins", seed) - seed_value("ce", seed))
        .collect();
    let d = &ins["paired_difference"]["balanced_accuracy"];
    assert_eq!(d["method"], "student-t", "{d}");
    assert_eq!(d["n"], 2);
    let mean = (differences[0] + differences[1]) / 2.0;
    assert!((d["mean"].as_f64().unwrap() - mean).abs() < 1e-12, "{d}");
    // n = 2: half-width t_{0.975,1} · sd / √2 = 12.7062 · |d1 − d2| / 2.
    let half = 12.706_204_736_174_694 * (differences[0] - differences[1]).abs() / 2.0;
    assert!(
        (d["low"].as_f64().unwrap() - (mean - half)).abs() < 1e-9,
        "{d}"
    );
    assert!(
        (d["high"].as_f64().unwrap() - (mean + half)).abs() < 1e-9,
        "{d}"
    );
    for key in SCORES {
        assert_eq!(ins["paired_difference"][key]["n"], 2, "{key}");
    }
    assert!(ins["paired_difference"].get("wall_seconds").is_none());

    // comparison.tex: the booktabs table, a row per variant.
    let tex = std::fs::read_to_string(out.join("comparison.tex")).unwrap();
    for rule in ["\\toprule", "\\midrule", "\\bottomrule", "\\begin{tabular}"] {
        assert!(tex.contains(rule), "{rule}: {tex}");
    }
    assert_eq!(tex.matches('{').count(), tex.matches('}').count(), "{tex}");
    let body = &tex[tex.find("\\midrule").unwrap()..tex.find("\\bottomrule").unwrap()];
    assert_eq!(body.lines().count(), 3, "{tex}");

    // comparison.md: a row per variant, the best in bold, the gain over CE.
    let md = std::fs::read_to_string(out.join("comparison.md")).unwrap();
    let table: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(table.len(), 3, "{md}");
    assert!(table[0].contains("Δ vs ce"), "{md}");
    assert!(table[1].contains("**"), "{md}");
    assert!(md.contains(" pts |"), "{md}");
    assert!(md.contains("`*`: the interval excludes 0."), "{md}");
    assert!(md.contains(&format!("config SHA-256 `{sha}`")), "{md}");
    if commit == "unknown" {
        assert!(md.contains("commit unknown"), "{md}");
    } else {
        assert!(md.contains(&format!("commit `{commit}`")), "{md}");
    }
    assert_eq!(stdout(&first).lines().next(), Some("# rebalance compare"));
    // The figures: PNG files, and SVG files that say what they show.
    for (plot, labels) in [
        (
            "balanced_accuracy",
            &[
                "balanced accuracy per variant",
                "ce (baseline)",
                "ins",
                "95% CI over 2 seeds",
            ][..],
        ),
        (
            "per_class_recall",
            &["test recall per class", "ce (baseline)", "ins"][..],
        ),
        // The default line variants: the baseline and the best others.
        ("per_class_recall_lines", &["ce (baseline)", "ins"][..]),
        (
            "shot_groups",
            &["many-shot", "medium-shot", "few-shot", "ce (baseline)"][..],
        ),
    ] {
        let png = std::fs::read(out.join(format!("{plot}.png"))).unwrap();
        assert!(png.len() > 1000, "{plot}.png");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{plot}.png");
        let svg = std::fs::read_to_string(out.join(format!("{plot}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "{plot}.svg");
        for label in labels {
            assert!(svg.contains(label), "{plot}.svg lacks {label:?}");
        }
    }
    assert!(md.contains("`per_class_recall_lines.png`"), "{md}");
    let run_report = out.join("ins/seed-2/report.json");
    let trained_at = modified(&run_report);

    // The same command again trains nothing and gives the same comparison.
    let again = compare(&config, &out, &[]);
    assert_ok_with_stderr(&again, "(4 finished before, 0 to train)");
    assert!(stdout(&again).contains("0 runs trained"));
    assert_eq!(modified(&run_report), trained_at);
    let json_again = read_json(&out, "comparison.json");
    assert_eq!(json_again, json);

    // --plot-variants picks the recall lines; the heatmap keeps every variant.
    let picked = compare(&config, &out, &["--plot-variants", "ins"]);
    assert_ok(&picked);
    let lines = std::fs::read_to_string(out.join("per_class_recall_lines.svg")).unwrap();
    assert!(lines.contains("ins") && !lines.contains("ce (baseline)"));
    let heatmap = std::fs::read_to_string(out.join("per_class_recall.svg")).unwrap();
    assert!(heatmap.contains("ins") && heatmap.contains("ce (baseline)"));

    // An interrupted sweep continues: a run without its report is trained again, alone.
    std::fs::remove_file(out.join("ce/seed-2/report.json")).unwrap();
    assert_ok_with_stderr(
        &compare(&config, &out, &[]),
        "(3 finished before, 1 to train)",
    );
    // A third seed adds runs and keeps the others.
    let more = compare(&config, &out, &["--seeds", "3", "--only", "ins"]);
    assert_ok_with_stderr(
        &more,
        "1 variants × 3 seeds = 3 runs on flex (2 finished before, 1 to train)",
    );

    // A changed config refuses to mix with the old results, naming the key ...
    assert_one_line_error(
        &compare(&config, &out, &["--set", "train.learning_rate=0.01"]),
        "holds a run of another config (train.learning_rate: 0.003 → 0.01), as do 3 more runs; \
         rerun with --force",
    );
    // --merge trains nothing: it says how to replace them.
    assert_one_line_error(
        &compare(
            &config,
            &out,
            &["--set", "train.learning_rate=0.01", "--merge"],
        ),
        "--merge takes runs as they are: compare without --merge, with --force, to replace",
    );
    assert_eq!(modified(&run_report), trained_at);
    // ... unless forced.
    assert_ok_with_stderr(
        &compare(
            &config,
            &out,
            &["--set", "train.learning_rate=0.01", "--force"],
        ),
        "4 to train",
    );
}

#[test]
fn compare_errors_are_one_line() {
    let (dir, config) = tiny_sweep(&["ce", "ins"]);
    let out = dir.path().join("cmp");
    let argument_errors: [(&[&str], &str); 4] = [
        (
            &["--only", "focal"],
            "--only focal: no such variant; the variants are ce, ins",
        ),
        (
            &["--plot-variants", "ce,focal"],
            "--plot-variants focal: no such variant in this sweep; the variants are ce, ins",
        ),
        (
            &["--only", "ins", "--plot-variants", "ce"],
            "--plot-variants ce: no such variant in this sweep; the variants are ins",
        ),
        (
            &["--plot-variants", "ins,ins"],
            "--plot-variants ins: named twice",
        ),
    ];
    for (args, expected) in argument_errors {
        assert_one_line_error(&compare(&config, &out, args), expected);
    }
    // --merge trains nothing: beside a shard or a shard count it is refused, in either order.
    for args in [
        &["--merge", "--shard", "1/2"][..],
        &["--shards", "2", "--merge"],
    ] {
        let refused = compare(&config, &out, args);
        assert!(!refused.status.success());
        assert!(stderr(&refused).contains("cannot be used with"), "{args:?}");
    }
    let config_errors = [
        (
            "[[variants]]\nloss = { kind = \"focal\" }\n",
            "variants[0]: has no name",
        ),
        (
            "[[variants]]\nname = \"a\"\nloss = { kind = \"focal\", gamma = -1.0 }\n",
            "variant \"a\": loss.gamma = -1: must be finite and >= 0",
        ),
        (
            "[[variants]]\nname = \"a/b\"\n",
            "variants[0].name = \"a/b\": must be a non-empty string",
        ),
        (
            "[compare]\nbaseline = \"x\"\n",
            "compare.baseline = \"x\": no such variant",
        ),
        // A sweep's variants are of the base config's task.
        (
            "[[variants]]\nname = \"ce\"\n\n[[variants]]\nname = \"bce\"\n\
             data = { task = \"multi-label\" }\nloss = { kind = \"sigmoid\" }\n",
            "variant \"bce\": data.task = \"multi-label\", but the sweep's is \"single-label\"",
        ),
    ];
    for (text, expected) in config_errors {
        let bad = write_config(dir.path(), "bad.toml", text);
        assert_one_line_error(&compare(&bad, &out, &[]), expected);
    }
    assert!(!out.exists(), "nothing written on errors");
}

/// Every variant of the default set trains: re-sampling, post-hoc adjustment, cRT's second
/// stage and LDAM with deferred re-weighting (2 epochs: the weights switch on in epoch 2)
/// included.
#[test]
fn the_default_set_trains() {
    let dir = tempfile::tempdir().unwrap();
    let tiny_without_variants = crate::common::TINY_COMPARE_BASE;
    let path = write_config(dir.path(), "default.toml", tiny_without_variants);
    let out = dir.path().join("cmp");
    let output = compare(&path, &out, &["--seeds", "1", "--set", "train.epochs=2"]);
    assert_ok(&output);
    let json = read_json(&out, "comparison.json");
    assert_eq!(json["variants"].as_array().unwrap().len(), 20);
    let loss = |name: &str| {
        json["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap()["loss"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        loss("cb-resampling"),
        "cross-entropy, class-balanced re-sampling"
    );
    assert_eq!(loss("ce-posthoc"), "cross-entropy, post-hoc τ=1");
    assert_eq!(loss("ldam-drw"), "ldam, ens β=0.9999, weights from epoch 2");
    let posthoc = read_json(&out, "ce-posthoc/seed-1/report.json");
    assert_eq!(posthoc["posthoc_tau"], 1.0);
}

/// README's compare command, cut to one variant, one seed and one epoch.
#[test]
fn readme_compare_config_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp");
    let config = Path::new("configs/compare.toml");
    let output = compare(
        config,
        &out,
        &["--seeds", "1", "--only", "ce", "--set", "train.epochs=1"],
    );
    assert_ok(&output);
    assert!(stdout(&output).contains("| ce | cross-entropy |"));
    assert!(!out.join("ce/seed-1/checkpoint").exists());
}

/// From ten paired seeds on, the interval is the percentile bootstrap, reproducibly.
#[test]
fn ten_seeds_take_the_bootstrap_interval() {
    let (dir, config) = tiny_sweep(&["ce", "ins"]);
    let out = dir.path().join("cmp");
    let output = compare(&config, &out, &["--seeds", "10"]);
    assert_ok(&output);
    let json = read_json(&out, "comparison.json");
    assert_eq!(json["provenance"]["seeds"].as_array().unwrap().len(), 10);
    let ins = json["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "ins")
        .unwrap();
    let d = &ins["paired_difference"]["balanced_accuracy"];
    assert_eq!(d["method"], "percentile-bootstrap", "{d}");
    assert_eq!(d["n"], 10);
    let (low, mean, high) = (
        d["low"].as_f64().unwrap(),
        d["mean"].as_f64().unwrap(),
        d["high"].as_f64().unwrap(),
    );
    assert!(low <= mean && mean <= high, "{d}");
    // The mean difference is the difference of the means (the same ten seeds).
    let gain = ins["gain_over_baseline"].as_f64().unwrap();
    assert!((mean - gain).abs() < 1e-12, "{d}");
    // A merge of the same runs gives the same intervals.
    let merged = compare(&config, &out, &["--seeds", "10", "--merge"]);
    assert_ok(&merged);
    assert_eq!(read_json(&out, "comparison.json"), json);
}

/// A sweep killed inside a run continues that run from its last checkpoint when started again
/// (issue 27: an interrupted run's epochs are kept), and ends with the uninterrupted sweep's
/// comparison.
#[test]
fn an_interrupted_run_of_a_sweep_resumes_from_its_checkpoint() {
    let (dir, config) = tiny_sweep(&["ce", "ins"]);
    let (whole, cut) = (dir.path().join("whole"), dir.path().join("cut"));
    let only = ["--seeds", "1", "--only", "ce"];
    assert_ok(&compare(&config, &whole, &only));
    compare_crashing_at(&config, &cut, &only, "after-checkpoint");
    let run = cut.join("ce/seed-1");
    assert!(run.join("checkpoint").is_dir() && !run.join("finished").exists());
    // burn-train's log of the first epoch: written again only if the run starts over.
    let log = std::fs::read_dir(run.join("train/epoch-1"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let logged = modified(&log);
    let resumed = compare(&config, &cut, &only);
    assert_ok(&resumed);
    assert_eq!(modified(&log), logged, "the first epoch was trained again");
    // The bar counts the checkpoint's epochs as done: nothing is left once the run finishes.
    let err = stderr(&resumed);
    assert!(
        err.lines()
            .any(|l| l.starts_with("[1/1] ce seed 1:") && l.ends_with("; done")),
        "{err}"
    );
    assert_eq!(
        without_wall_clock(read_json(&cut, "comparison.json"))["variants"],
        without_wall_clock(read_json(&whole, "comparison.json"))["variants"]
    );
}

/// Issue 27, item 9: two compare processes on one directory share its runs; the one that ends
/// last finds every run finished and writes the comparison, instead of both ending with "runs
/// are being trained by another process".
#[test]
fn two_processes_on_one_sweep_end_with_its_comparison() {
    let (dir, config) = tiny_sweep(&["ce", "ins"]);
    let out = dir.path().join("cmp");
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_rebalance"))
            .args(["compare", "--config", config.to_str().unwrap()])
            .args(["--out", out.to_str().unwrap(), "--seeds", "3"])
            .current_dir(crate::common::workspace())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    assert!(
        outputs.iter().any(|o| o.status.success()),
        "{}\n{}",
        stderr(&outputs[0]),
        stderr(&outputs[1])
    );
    for output in outputs.iter().filter(|o| !o.status.success()) {
        assert_one_line_error_last(output, "being trained by another process");
    }
    assert!(out.join("comparison.json").exists());
}

/// A failed command whose last stderr line is the error, containing `expected`.
fn assert_one_line_error_last(output: &Output, expected: &str) {
    let err = stderr(output);
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.starts_with("error: ") && last.contains(expected),
        "{err}"
    );
}

/// A sweep's finished run keeps no checkpoint, so it cannot be extended: the errors say so
/// instead of sending the user from `--resume` to no `--resume` and back (trial finding).
#[test]
fn a_sweeps_finished_run_says_it_cannot_be_extended() {
    let (dir, config) = tiny_sweep(&["ce"]);
    let out = dir.path().join("cmp");
    assert_ok(&compare(&config, &out, &["--seeds", "1"]));
    let run = out.join("ce/seed-1");
    let recorded = run.join("config.toml");
    let again = |extra: &[&str]| {
        let mut args = vec!["train", "--config", recorded.to_str().unwrap()];
        args.extend(["--out", run.to_str().unwrap(), "--set", "train.epochs=3"]);
        args.extend(extra);
        crate::common::rebalance(&args)
    };
    let plain = again(&[]);
    assert!(!plain.status.success());
    let err = stderr(&plain);
    assert!(
        err.contains("pass --overwrite to replace it, or choose"),
        "{err}"
    );
    assert!(!err.contains("extend"), "{err}");
    let resumed = again(&["--resume"]);
    assert!(!resumed.status.success());
    assert!(
        stderr(&resumed).contains("cannot be extended"),
        "{}",
        stderr(&resumed)
    );
    // Asked to resume with its own epochs, it is only said to be finished.
    let own = rebalance_with_env(
        &[
            "train",
            "--config",
            recorded.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
            "--resume",
        ],
        &[],
    );
    let err = stderr(&own);
    assert!(
        err.contains("has already finished its 1 epochs") && !err.contains("extend"),
        "{err}"
    );
}
