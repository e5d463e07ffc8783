//! `compare --tune`: grids per variant, each seed's point chosen on the validation split.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::*;

/// The tiny base with `ce` and an ENS variant tuned over β.
fn tuned_config(dir: &Path) -> PathBuf {
    let text = format!(
        "{TINY_COMPARE_BASE}{}\n[[variants]]\nname = \"ens\"\n\
         loss = {{ kind = \"cross-entropy\", scheme = \"ens\", beta = 0.999 }}\n\
         tune = {{ beta = [0.9, 0.999] }}\n",
        tiny_variants(&["ce"])
    );
    write_config(dir, "tuned.toml", &text)
}

/// The entry of `variant` in `comparison.json`'s `variants`.
fn variant_of<'a>(comparison: &'a Value, variant: &str) -> &'a Value {
    comparison["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == variant)
        .unwrap()
}

/// The `tune` entry of `variant` in `comparison.json`.
fn tune_of(comparison: &Value, variant: &str) -> Value {
    variant_of(comparison, variant)["tune"].clone()
}

/// The validation scores of an entry of a `tune`'s `chosen`, one per grid point, and the
/// index of the best of them (the first of a tie).
fn validation_scores(chosen: &Value) -> (Vec<f64>, usize) {
    let scores: Vec<f64> = chosen["validation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let best = if scores[1] > scores[0] { 1 } else { 0 };
    (scores, best)
}

/// `compare --tune` of `config` into `out` succeeds and says it trained `runs` runs.
#[track_caller]
fn assert_tuned_sweep_trains(config: &Path, out: &Path, runs: usize) {
    assert_ok_with_stdout(
        &compare(config, out, &["--tune"]),
        &format!("{runs} runs trained"),
    );
}

#[test]
fn a_tuned_sweep_keeps_the_point_best_on_validation_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let config = tuned_config(dir.path());
    let out = dir.path().join("cmp");
    assert_tuned_sweep_trains(&config, &out, 6);
    let json = read_json(&out, "comparison.json");
    let tune = tune_of(&json, "ens");
    assert_eq!(tune["rank_by"], "balanced_accuracy");
    assert_eq!(tune["grid"], serde_json::json!({ "beta": [0.9, 0.999] }));
    assert_eq!(
        tune["points"],
        serde_json::json!(["beta-0.9", "beta-0.999"])
    );
    assert!(tune_of(&json, "ce").is_null());
    let chosen = tune["chosen"].as_array().unwrap();
    assert_eq!(chosen.len(), 2);
    let ens = variant_of(&json, "ens");
    let mut test_scores = Vec::new();
    for (c, seed) in chosen.iter().zip([1, 2]) {
        assert_eq!(c["seed"], seed);
        // The chosen point has the best validation score, the first of a tie.
        let (scores, best) = validation_scores(c);
        let point = ["beta-0.9", "beta-0.999"][best];
        assert_eq!(c["point"], point);
        assert_eq!(c["values"]["beta"], [0.9, 0.999][best]);
        // ... scored from the run's own validation report, which the comparison wrote.
        let run = out.join(format!("ens/tune/{point}/seed-{seed}"));
        let validation = read_json(&run, "report-validation.json");
        assert_eq!(
            validation["balanced_accuracy"].as_f64().unwrap(),
            scores[best]
        );
        // The chosen run is the variant's run of the seed: its test report is in the table.
        test_scores.push(
            read_json(&run, "report.json")["balanced_accuracy"]
                .as_f64()
                .unwrap(),
        );
    }
    let mean = (test_scores[0] + test_scores[1]) / 2.0;
    let shown = ens["mean"]["balanced_accuracy"].as_f64().unwrap();
    assert!((shown - mean).abs() < 1e-12, "{shown} vs {mean}");
    // Every variant of a seed shares the validation split --tune held out.
    let ce = std::fs::read_to_string(out.join("ce/seed-1/config.toml")).unwrap();
    assert!(ce.contains("validation_per_class = 100"), "{ce}");
    assert!(!out.join("ens/seed-1").exists());
    let md = std::fs::read_to_string(out.join("comparison.md")).unwrap();
    assert!(md.contains("## Tuned on the validation split"), "{md}");
    let setting = |c: &Value| format!("beta={}", c["values"]["beta"]);
    let row = format!(
        "| ens | beta ∈ {{0.9, 0.999}} | 1: {} (",
        setting(&chosen[0])
    );
    assert!(md.contains(&row), "{row} not in {md}");
    let tex = std::fs::read_to_string(out.join("comparison.tex")).unwrap();
    assert!(
        tex.contains("ens & beta $\\in$ \\{0.9, 0.999\\} & 1: beta="),
        "{tex}"
    );
    assert!(out.join("tuning.png").exists() && out.join("tuning.svg").exists());

    // Run again: every grid point is finished, nothing trains, the same choice.
    assert_tuned_sweep_trains(&config, &out, 0);
    let same = read_json(&out, "comparison.json");
    assert_eq!(
        without_wall_clock(same["variants"].clone()),
        without_wall_clock(json["variants"].clone())
    );
    // A lost grid point is trained again, alone; the choice is the same.
    std::fs::remove_dir_all(out.join("ens/tune/beta-0.9/seed-2")).unwrap();
    assert_tuned_sweep_trains(&config, &out, 1);
    assert_eq!(tune_of(&read_json(&out, "comparison.json"), "ens"), tune);

    // Shards and a merge take the grid points as runs and make the same choice.
    let sharded = dir.path().join("sharded");
    for shard in ["1/2", "2/2"] {
        assert_ok(&compare(&config, &sharded, &["--tune", "--shard", shard]));
    }
    // Each shard scored the grid points it trained: the merge only reads their reports.
    for point in ["beta-0.9", "beta-0.999"] {
        for seed in ["seed-1", "seed-2"] {
            let run = sharded.join("ens/tune").join(point).join(seed);
            assert!(
                run.join("report-validation.json").is_file(),
                "{}",
                run.display()
            );
        }
    }
    assert_ok(&compare(&config, &sharded, &["--tune", "--merge"]));
    assert_eq!(
        tune_of(&read_json(&sharded, "comparison.json"), "ens"),
        tune
    );

    // Without --tune the variant runs at its own setting, untuned.
    let plain = dir.path().join("plain");
    assert_ok(&compare(&config, &plain, &["--seeds", "1"]));
    let json = read_json(&plain, "comparison.json");
    assert!(tune_of(&json, "ens").is_null());
    assert!(plain.join("ens/seed-1/report.json").exists());
    assert!(!plain.join("ens/tune").exists());
}

/// A separable long-tailed CSV split of 3 classes: `n` rows per class as `counts` say,
/// features drawn from a fixed generator.
fn csv_rows(counts: &[usize], seed: u64) -> Vec<(f64, f64, usize)> {
    let mut state = seed;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut rows = Vec::new();
    for (class, &n) in counts.iter().enumerate() {
        for _ in 0..n {
            let c = class as f64;
            rows.push((c + 2.0 * uniform() - 1.0, -c + 2.0 * uniform() - 1.0, class));
        }
    }
    rows
}

fn write_csv(path: &Path, rows: &[(f64, f64, usize)]) {
    let mut text = String::from("a,b,label\n");
    for (a, b, label) in rows {
        text += &format!("{a},{b},{label}\n");
    }
    std::fs::write(path, text).unwrap();
}

/// Issue 29: the choice is made on the validation split alone. Two sweeps differ only in the
/// test file's labels, permuted: the test scores differ, every validation score and every
/// chosen value are the same.
#[test]
fn the_test_split_cannot_change_the_choice() {
    let dir = tempfile::tempdir().unwrap();
    write_csv(&dir.path().join("train.csv"), &csv_rows(&[120, 40, 12], 1));
    let test = csv_rows(&[30, 30, 30], 2);
    write_csv(&dir.path().join("test.csv"), &test);
    let permuted: Vec<(f64, f64, usize)> = test
        .iter()
        .enumerate()
        .map(|(i, &(a, b, _))| (a, b, test[(i * 7 + 3) % test.len()].2))
        .collect();
    write_csv(&dir.path().join("permuted.csv"), &permuted);
    let config = |test: &str| {
        let path = dir.path().join(format!("{test}.toml"));
        std::fs::write(
            &path,
            format!(
                "[data]\nsource = \"csv\"\ntrain = {:?}\ntest = {:?}\nnum_classes = 3\n\
                 profile = {{ kind = \"none\" }}\nvalidation_fraction = 0.25\n\
                 [train]\nepochs = 2\nbatch_size = 32\nlearning_rate = 0.01\n\
                 [compare]\ntune = true\n\
                 [[variants]]\nname = \"ens\"\n\
                 loss = {{ kind = \"cross-entropy\", scheme = \"ens\", beta = 0.9 }}\n\
                 tune = {{ beta = [0.0, 0.9, 0.999] }}\n\
                 [[variants]]\nname = \"ce-posthoc\"\nloss = {{ kind = \"cross-entropy\" }}\n\
                 tune = {{ eval.posthoc_tau = [0.0, 1.0, 2.0] }}\n",
                dir.path().join("train.csv"),
                dir.path().join(format!("{test}.csv")),
            ),
        )
        .unwrap();
        path
    };
    let sweep = |test: &str| {
        let out = dir.path().join(format!("cmp-{test}"));
        assert_ok(&compare(&config(test), &out, &[]));
        read_json(&out, "comparison.json")
    };
    let (original, shuffled) = (sweep("test"), sweep("permuted"));
    for variant in ["ens", "ce-posthoc"] {
        let (a, b) = (tune_of(&original, variant), tune_of(&shuffled, variant));
        assert_eq!(a["chosen"].as_array().unwrap().len(), 2);
        assert_eq!(a, b, "{variant}");
    }
    let scores = |json: &Value| -> Vec<f64> {
        json["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["mean"]["balanced_accuracy"].as_f64().unwrap())
            .collect()
    };
    assert_ne!(scores(&original), scores(&shuffled));
}

#[test]
fn bad_grids_are_one_line_errors_naming_variant_key_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp");
    let with = |variant: &str| {
        let path = dir.path().join("bad.toml");
        std::fs::write(
            &path,
            format!("{TINY_COMPARE_BASE}\n[[variants]]\nname = \"v\"\n{variant}\n"),
        )
        .unwrap();
        path
    };
    let ens = "loss = { kind = \"cross-entropy\", scheme = \"ens\", beta = 0.999 }\n";
    for (keys, expected) in [
        (
            format!("{ens}tune = {{ beta = [0.9, 1.5] }}"),
            "variant \"v\", tune beta = 1.5: loss.beta",
        ),
        (
            format!("{ens}tune = {{ beta = 0.9 }}"),
            "variant \"v\": tune.beta = 0.9: must be a non-empty list of values",
        ),
        (
            format!("{ens}tune = {{ beta = [0.9, 0.9] }}"),
            "variant \"v\": tune.beta: 0.9 is listed twice",
        ),
        (
            "loss = { kind = \"cross-entropy\" }\ntune = { gamma = [1.0] }".to_string(),
            "variant \"v\", tune gamma = 1.0: loss.gamma",
        ),
        (
            format!("{ens}tune = {{ eval.posthoc_tau = [\"high\"] }}"),
            "variant \"v\", tune eval.posthoc_tau = \"high\": eval.posthoc_tau",
        ),
        (
            format!("{ens}tune = {{ train.seed = [1, 2] }}"),
            "variant \"v\": tune.train.seed: train.seed is not tuned",
        ),
    ] {
        // Checked up front, with or without --tune.
        assert_one_line_error(&compare(&with(&keys), &out, &[]), expected);
        assert_one_line_error(&compare(&with(&keys), &out, &["--tune"]), expected);
    }
    assert!(!out.exists(), "a bad grid trained something");
}

#[test]
fn a_multi_label_sweep_tunes_by_macro_f1() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_multi_label_compare_config(dir.path(), &["bce"], "[compare]\ntune = true");
    let text = std::fs::read_to_string(&config).unwrap()
        + "\n[[variants]]\nname = \"bce-ens\"\n\
           loss = { kind = \"sigmoid\", scheme = \"ens\", beta = 0.999 }\n\
           tune = { beta = [0.9, 0.999] }\n";
    std::fs::write(&config, text).unwrap();
    let out = dir.path().join("cmp");
    assert_ok(&compare(&config, &out, &["--seeds", "1"]));
    let tune = tune_of(&read_json(&out, "comparison.json"), "bce-ens");
    assert_eq!(tune["rank_by"], "macro_f1");
    let chosen = &tune["chosen"][0];
    let (scores, best) = validation_scores(chosen);
    assert_eq!(chosen["point"], ["beta-0.9", "beta-0.999"][best]);
    let run = out.join(format!(
        "bce-ens/tune/{}/seed-1",
        chosen["point"].as_str().unwrap()
    ));
    assert_eq!(
        read_json(&run, "report-validation.json")["macro_f1"].as_f64(),
        Some(scores[best])
    );
}

/// The tiny sweep of `ce` and `ce-posthoc` (cross-entropy with `setting`, its post-hoc τ),
/// written into `dir`.
fn posthoc_config(dir: &Path, setting: &str) -> PathBuf {
    let text = format!(
        "{TINY_COMPARE_BASE}{}\n[[variants]]\nname = \"ce-posthoc\"\n\
         loss = {{ kind = \"cross-entropy\" }}\n{setting}\n",
        tiny_variants(&["ce"])
    );
    write_config(dir, "posthoc.toml", &text)
}

/// Runs that differ only in `[eval]` share one training: `ce` trains, and the points of
/// `ce-posthoc`'s post-hoc τ grid evaluate its model with their own τ. Each such run is still a
/// whole run: its report, history and model are those of the same config trained alone (flex
/// trains bit for bit alike), and `eval` rebuilds it from its directory.
#[test]
fn runs_differing_only_in_eval_share_one_training() {
    let dir = tempfile::tempdir().unwrap();
    let config = posthoc_config(dir.path(), "tune = { eval.posthoc_tau = [0.5, 1.0] }");
    let out = dir.path().join("out");
    let swept = compare(&config, &out, &["--tune", "--seeds", "1"]);
    assert_ok(&swept);
    let err = stderr(&swept);
    assert_eq!(
        err.matches("the model of ce seed 1 (the same training) evaluated with its own [eval]")
            .count(),
        2,
        "{err}"
    );
    assert!(err.contains("[1/1] ce seed 1"), "{err}");
    assert!(
        stdout(&swept).contains("3 runs trained (2 of them evaluated from another run's training)"),
        "{}",
        stdout(&swept)
    );

    // The sweep's training time counts that one training once, for its 3 runs; each twin
    // records whose model it holds.
    let provenance = &read_json(&out, "comparison.json")["provenance"];
    assert_eq!(provenance["runs"], 3);
    assert_eq!(
        provenance["wall_seconds"],
        read_json(&out.join("ce/seed-1"), "report.json")["wall_seconds"]
    );
    let shared = read_json(
        &out.join("ce-posthoc/tune/eval.posthoc_tau-0.5/seed-1"),
        "shared-training.json",
    );
    assert_eq!(shared["kind"], "twin", "{shared}");
    assert!(shared["source"].as_str().unwrap().ends_with("ce/seed-1"));

    let twin = out.join("ce-posthoc/tune/eval.posthoc_tau-0.5/seed-1");
    let alone = dir.path().join("alone");
    let config_of_twin = twin.join("config.toml");
    assert_ok(&rebalance(&[
        "train",
        "--config",
        config_of_twin.to_str().unwrap(),
        "--out",
        alone.to_str().unwrap(),
    ]));
    let (shared, trained) = (
        read_json(&twin, "report.json"),
        read_json(&alone, "report.json"),
    );
    for key in [
        "balanced_accuracy",
        "per_class_recall",
        "nll",
        "class_weights",
    ] {
        assert_eq!(shared[key], trained[key], "{key}");
    }
    let losses = |dir: &Path| -> Vec<Value> {
        read_json(dir, "history.json")["epochs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["train_loss"].clone())
            .collect()
    };
    assert_eq!(losses(&twin), losses(&alone));
    let log = std::fs::read_to_string(twin.join("experiment.log")).unwrap();
    assert!(log.contains("not trained: the model of"), "{log}");
    // Its training time is its source's.
    assert_eq!(
        shared["wall_seconds"],
        read_json(&out.join("ce/seed-1"), "report.json")["wall_seconds"]
    );
    assert_ok(&rebalance(&["eval", "--run", twin.to_str().unwrap()]));
    assert_eq!(
        read_json(&twin, "report.json")["balanced_accuracy"],
        shared["balanced_accuracy"]
    );

    // Shards keep a training's runs together, in whatever order they run: no shard trains a
    // point of the post-hoc grid.
    let sharded = dir.path().join("sharded");
    for shard in ["2/2", "1/2"] {
        let done = compare(
            &config,
            &sharded,
            &["--tune", "--seeds", "2", "--shard", shard],
        );
        assert_ok(&done);
        let err = stderr(&done);
        assert!(
            !err.lines()
                .any(|l| l.starts_with('[') && l.contains("ce-posthoc")),
            "{shard}: {err}"
        );
    }
}

/// A run that trained itself, alone, counts in the sweep's training time even where the sweep
/// now holds the run it could have been evaluated from.
#[test]
fn a_run_trained_before_its_twin_source_counts_its_training() {
    let dir = tempfile::tempdir().unwrap();
    let config = posthoc_config(dir.path(), "eval = { posthoc_tau = 1.0 }");
    let out = dir.path().join("out");
    assert_ok(&compare(
        &config,
        &out,
        &["--seeds", "1", "--only", "ce-posthoc"],
    ));
    assert_ok(&compare(&config, &out, &["--seeds", "1"]));
    let wall = |run: &str| {
        read_json(&out.join(run), "report.json")["wall_seconds"]
            .as_f64()
            .unwrap()
    };
    assert!(!out.join("ce-posthoc/seed-1/shared-training.json").exists());
    let total = read_json(&out, "comparison.json")["provenance"]["wall_seconds"]
        .as_f64()
        .unwrap();
    let both = wall("ce/seed-1") + wall("ce-posthoc/seed-1");
    assert!((total - both).abs() < 1e-9, "{total} vs {both}");
}

/// Compared without the run whose model they hold (`--only`), runs evaluated from one training
/// count that training once.
#[test]
fn twins_compared_without_their_source_count_its_training_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = posthoc_config(dir.path(), "tune = { eval.posthoc_tau = [0.5, 1.0] }");
    let out = dir.path().join("out");
    let args = ["--tune", "--seeds", "1"];
    assert_ok(&compare(&config, &out, &args));
    assert_ok(&compare(
        &config,
        &out,
        &[&args[..], &["--only", "ce-posthoc"]].concat(),
    ));
    let provenance = &read_json(&out, "comparison.json")["provenance"];
    assert_eq!(provenance["runs"], 2);
    assert_eq!(
        provenance["wall_seconds"],
        read_json(&out.join("ce/seed-1"), "report.json")["wall_seconds"]
    );
}
