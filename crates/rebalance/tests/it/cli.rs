//! End-to-end: the `rebalance` binary as a user runs it.
use std::path::Path;
use std::process::Output;

use crate::common::{
    assert_ok, assert_one_line_error, confusion_total, eval_with, read_json, rebalance, stderr,
    stdout, train_with, write_config,
};
use serde_json::Value;

/// A short quickstart run: 300 samples in the head class, 50 test samples per class.
fn train(out: &Path, extra: &[&str]) -> Output {
    // Separable classes: learnt above chance in a few epochs.
    let sets = [
        "train.epochs=3",
        "data.max_per_class=300",
        "data.test_per_class=50",
        "data.difficulty=\"easy\"",
    ];
    train_with("configs/quickstart.toml", out, &sets, extra)
}

#[test]
fn quickstart_trains_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let output = train(dir.path(), &[]);
    assert_ok(&output);
    let out = stdout(&output);
    assert!(out.contains("balanced accuracy"), "{out}");
    // One line per epoch, no per-batch debug output.
    let err = stderr(&output);
    assert_eq!(
        err.lines().filter(|l| l.starts_with("epoch ")).count(),
        3,
        "{err}"
    );
    assert!(!err.contains("ProgressSnapshot"));

    let r = read_json(dir.path(), "report.json");
    assert_eq!(r["backend"], "flex");
    assert_eq!(r["epochs"], 3);
    assert_eq!(r["scheme"], "ens");
    let classes = 10;
    for key in [
        "train_counts",
        "class_weights",
        "per_class_recall",
        "per_class_precision",
    ] {
        assert_eq!(r[key].as_array().unwrap().len(), classes, "{key}");
    }
    assert_eq!(r["train_counts"][0], 300);
    // Calibration of the test probabilities, in their ranges.
    for (key, high) in [("ece", 1.0), ("mce", 1.0), ("brier", 2.0)] {
        let value = r[key].as_f64().unwrap();
        assert!((0.0..=high).contains(&value), "{key} = {value}");
    }
    assert!(r["ece"].as_f64().unwrap() <= r["mce"].as_f64().unwrap());
    assert!(r["nll"].as_f64().unwrap() > 0.0);
    let report_md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(report_md.contains("| ECE (15 bins) |"), "{report_md}");
    for figure in ["reliability.png", "reliability.svg"] {
        let bytes = std::fs::metadata(dir.path().join(figure)).unwrap().len();
        assert!(bytes > 1000, "{figure}: {bytes} bytes");
    }
    assert_eq!(r["reliability"].as_array().unwrap().len(), 15);
    let weights: f64 = r["class_weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_f64().unwrap())
        .sum();
    assert!(
        (weights - 10.0).abs() < 1e-9,
        "ENS weights sum to C: {weights}"
    );
    // Well above chance (0.1) after three epochs.
    let balanced = r["balanced_accuracy"].as_f64().unwrap();
    assert!(balanced > 0.3 && balanced <= 1.0, "{balanced}");
    for key in ["accuracy", "macro_f1", "g_mean"] {
        let v = r[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    assert_eq!(confusion_total(&r), 500);
    assert!(r["wall_seconds"].as_f64().unwrap() > 0.0);
    assert!(r["train_samples_per_second"].as_f64().unwrap() > 0.0);
    for file in [
        "config.toml",
        "model.bpk",
        "report.md",
        "confusion.csv",
        "state.json",
    ] {
        assert!(dir.path().join(file).exists(), "{file}");
    }
    let svg = std::fs::read_to_string(dir.path().join("per_class_recall.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("test recall"),
        "{}",
        &svg[..100]
    );
    let png = std::fs::read(dir.path().join("training_curves.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(
        md.contains("| class | train samples | weight | precision | recall | f1-score | support |")
    );
    assert!(md.contains("ECE by shot group (many > 100"), "{md}");
    let shots = &r["calibration_by_shot"];
    for group in ["many", "medium", "few"] {
        let ece = shots[group]["ece"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&ece), "{shots}");
    }

    // eval rebuilds the model from the run directory and reproduces the test metrics.
    let output = eval_with(dir.path(), &[]);
    assert_ok(&output);
    let again = read_json(dir.path(), "report.json");
    for key in [
        "balanced_accuracy",
        "accuracy",
        "macro_f1",
        "confusion",
        "per_class_recall",
        // The hardware that trained the model is the training's record, kept.
        "device",
    ] {
        assert_eq!(again[key], r[key], "{key}");
    }
    // Post-hoc adjustment writes its own report.
    let output = eval_with(dir.path(), &["--posthoc-tau", "1"]);
    assert_ok(&output);
    assert_eq!(
        read_json(dir.path(), "report-tau-1.0.json")["posthoc_tau"],
        1.0
    );
}

#[test]
fn same_seed_same_metrics() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    assert_ok(&train(a.path(), &["--set", "train.epochs=2"]));
    assert_ok(&train(b.path(), &["--set", "train.epochs=2"]));
    let (ra, rb) = (
        read_json(a.path(), "report.json"),
        read_json(b.path(), "report.json"),
    );
    for key in [
        "balanced_accuracy",
        "accuracy",
        "macro_f1",
        "g_mean",
        "confusion",
        "per_class_recall",
    ] {
        assert_eq!(ra[key], rb[key], "{key}");
    }
}

#[test]
fn deferred_reweighting_switches_the_weights() {
    let dir = tempfile::tempdir().unwrap();
    let output = train(
        dir.path(),
        &[
            "--set",
            "loss.kind=\"ldam\"",
            "--set",
            "loss.drw_start_epoch=3",
        ],
    );
    assert_ok(&output);
    let r = read_json(dir.path(), "report.json");
    assert_eq!(r["loss"], "ldam");
    // The final weights are the ENS ones, not uniform.
    let w = r["class_weights"].as_array().unwrap();
    assert!(
        w[9].as_f64().unwrap() > w[0].as_f64().unwrap() * 10.0,
        "{w:?}"
    );
    assert_eq!(
        stderr(&output)
            .lines()
            .filter(|l| l.starts_with("epoch "))
            .count(),
        3
    );
}

#[test]
fn weights_command() {
    let output = rebalance(&[
        "weights",
        "--counts",
        "5000,2997,1796,1077,645,387,232,139,83,50",
        "--scheme",
        "ens",
        "--beta",
        "0.9999",
        "--format",
        "json",
    ]);
    assert_ok(&output);
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["scheme"], "ens:0.9999");
    assert_eq!(json["normalization"], "sum-to-classes");
    assert!((json["weights"][9].as_f64().unwrap() - 3.992724).abs() < 1e-6);
    let table = rebalance(&["weights", "--counts", "10,1", "--scheme", "ins"]);
    assert_ok(&table);
    assert!(stdout(&table).contains("1.818182"));
}

#[test]
fn data_command() {
    let output = rebalance(&[
        "data",
        "--config",
        "configs/quickstart.toml",
        "--format",
        "json",
        "--set",
        "data.test_per_class=7",
    ]);
    assert_ok(&output);
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["num_classes"], 10);
    assert_eq!(json["feature_shape"], serde_json::json!([16]));
    assert_eq!(json["imbalance_factor"], 100.0);
    assert_eq!(json["splits"]["train"]["counts"][0], 5000);
    assert_eq!(json["splits"]["test"]["counts"][3], 7);
}

#[test]
fn errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = |text: &str| {
        let path = write_config(dir.path(), "c.toml", text);
        path.to_str().unwrap().to_string()
    };
    let train_with = |path: &str, extra: &[&str]| {
        let mut args = vec!["train", "--config", path];
        args.extend_from_slice(extra);
        rebalance(&args)
    };
    let unknown = config("[train]\nepoch = 3\n");
    assert_one_line_error(
        &train_with(&unknown, &[]),
        "train.epoch: unknown field `epoch`, expected one of `epochs`",
    );
    let bad = config("[loss]\nbeta = 1.2\n");
    assert_one_line_error(&train_with(&bad, &[]), "loss.beta = 1.2: must be in [0, 1)");
    let wrong_type = config("[train]\nepochs = \"many\"\n");
    assert_one_line_error(&train_with(&wrong_type, &[]), "train.epochs");
    let missing = train_with("no/such/config.toml", &[]);
    assert_one_line_error(&missing, "cannot read config file no/such/config.toml");
    // The OS's reason once, not once per level of the error chain.
    assert_eq!(stderr(&missing).matches("os error 2").count(), 1);
    let folder = config("[data]\nsource = \"idx\"\ndir = \"no/such/folder\"\n");
    assert_one_line_error(&train_with(&folder, &[]), "no/such/folder");
    assert_one_line_error(
        &train_with("configs/quickstart.toml", &["--backend", "cuda"]),
        "backend \"cuda\" is not compiled in: rebuild with `--features cuda`",
    );
    assert_one_line_error(
        &train_with("configs/quickstart.toml", &["--set", "train.epoch=3"]),
        "unknown field `epoch`",
    );
    let diverging = train(dir.path(), &["--set", "train.learning_rate=1e30"]);
    assert_one_line_error(
        &diverging,
        "training diverged: the loss became NaN or infinite in epoch 1",
    );
    assert_one_line_error(
        &rebalance(&["weights", "--counts", "10,0", "--scheme", "ins"]),
        "class 1 has no training samples",
    );
}

#[test]
fn resume_continues_from_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    assert_ok(&train(dir.path(), &["--set", "train.epochs=2"]));
    let output = train(dir.path(), &["--set", "train.epochs=3", "--resume"]);
    assert_ok(&output);
    let err = stderr(&output);
    let epochs: Vec<&str> = err.lines().filter(|l| l.starts_with("epoch ")).collect();
    assert_eq!(epochs.len(), 1, "{err}");
    assert!(epochs[0].starts_with("epoch 3/3"), "{err}");
    assert_eq!(read_json(dir.path(), "report.json")["epochs"], 3);
    // Nothing left to resume.
    assert_one_line_error(
        &train(dir.path(), &["--set", "train.epochs=3", "--resume"]),
        "has already finished",
    );
    let empty = tempfile::tempdir().unwrap();
    assert_one_line_error(
        &train(empty.path(), &["--resume"]),
        "(none was written), so no epoch to continue from; start the run again without --resume",
    );
    // Issue 27, item 13: a checkpoint cut short is named, with the way on.
    let cut = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(cut.path().join("checkpoint")).unwrap();
    std::fs::write(cut.path().join("checkpoint/model-1.bpk"), b"cut short").unwrap();
    assert_one_line_error(
        &train(cut.path(), &["--resume"]),
        "(the one of epoch 1 was cut short before it was complete), so no epoch to continue from",
    );
}

/// A short run on wgpu: Mesa's lavapipe in CI, a GPU where there is one. Compiled in with
/// `--features rebalance/wgpu` (as the workspace's test command does); skipped with a message
/// where no adapter exists, unless `REBALANCE_REQUIRE_WGPU=1`.
#[cfg(feature = "wgpu")]
#[test]
fn trains_on_wgpu() {
    let dir = tempfile::tempdir().unwrap();
    let output = train(
        dir.path(),
        &["--backend", "wgpu", "--set", "train.epochs=1"],
    );
    if !crate::common::wgpu_ran("trains_on_wgpu", &output) {
        return;
    }
    assert_ok(&output);
    assert_learned_on(dir.path(), "wgpu", 0.2);
}

/// The report of the run in `dir`: trained on `backend`, to a balanced accuracy above `floor`.
#[cfg(any(feature = "wgpu", feature = "ndarray"))]
#[track_caller]
fn assert_learned_on(dir: &Path, backend: &str, floor: f64) -> Value {
    let report = read_json(dir, "report.json");
    assert_eq!(report["backend"], backend);
    let balanced = report["balanced_accuracy"].as_f64().unwrap();
    assert!(balanced > floor, "{balanced}");
    report
}

/// The deprecated ndarray backend, compiled in with `--features rebalance/ndarray` (as the
/// workspace's test command does).
#[cfg(feature = "ndarray")]
#[test]
fn trains_on_ndarray() {
    let dir = tempfile::tempdir().unwrap();
    assert_ok(&train(
        dir.path(),
        &["--backend", "ndarray", "--set", "train.epochs=2"],
    ));
    let r = assert_learned_on(dir.path(), "ndarray", 0.3);
    assert_eq!(r["per_class_recall"].as_array().unwrap().len(), 10);
}

/// LibTorch, compiled in with `--features rebalance/tch` (it builds against an installed
/// PyTorch 2.9.0: README's Backends). It trains, and agrees with flex on the same data within
/// what different initial weights explain.
#[cfg(feature = "tch")]
#[test]
fn trains_on_tch() {
    let dir = tempfile::tempdir().unwrap();
    let flex = dir.path().join("flex");
    let tch = dir.path().join("tch");
    assert_ok(&train(&flex, &["--set", "train.epochs=2"]));
    assert_ok(&train(
        &tch,
        &["--backend", "tch", "--set", "train.epochs=2"],
    ));
    let (f, t) = (
        read_json(&flex, "report.json"),
        read_json(&tch, "report.json"),
    );
    assert_eq!(t["backend"], "tch");
    // LibTorch's CPU device is named by the processor, as flex's is.
    assert_eq!(t["device"], f["device"]);
    let (f, t) = (
        f["balanced_accuracy"].as_f64().unwrap(),
        t["balanced_accuracy"].as_f64().unwrap(),
    );
    assert!(t > 0.3 && (f - t).abs() < 0.15, "flex {f}, tch {t}");
}

/// `rebalance bench` of `config` with `sets` overrides: one flex run of one epoch, in `format`.
fn bench_args<'a>(config: &'a str, sets: &[&'a str], format: &'a str) -> Vec<&'a str> {
    let mut args = vec![
        "bench",
        "--config",
        config,
        "--backends",
        "flex",
        "--repeats",
        "1",
    ];
    args.extend(["--set", "train.epochs=1", "--format", format]);
    for set in sets {
        args.extend(["--set", set]);
    }
    args
}

/// `rebalance bench` of `config` with `sets` overrides, as [`bench_args`] in JSON, which
/// succeeds; what it printed, parsed.
#[track_caller]
fn bench_json(config: &str, sets: &[&str]) -> Value {
    let output = rebalance(&bench_args(config, sets, "json"));
    assert_ok(&output);
    serde_json::from_slice(&output.stdout).unwrap()
}

/// `rebalance bench` on a tiny config: one flex run, the data pipeline, memory, ratios.
#[test]
fn bench_prints_ratios_against_its_baseline() {
    let sets = ["data.max_per_class=200", "data.test_per_class=20"];
    let json = bench_json("configs/quickstart.toml", &sets);
    let flex = &json["training"][0];
    assert_eq!(flex["backend"], "flex");
    assert_eq!(flex["runs"], 1);
    assert!(flex["samples_per_second"].as_f64().unwrap() > 0.0);
    let dataset = json["dataset_bytes"].as_u64().unwrap();
    // 10 classes × 20 test samples plus the long-tailed training split, 16 features each.
    assert!(dataset > 200 * (16 * 4 + 8), "{dataset}");
    if cfg!(target_os = "linux") {
        assert!(flex["peak_memory_bytes"].as_u64().unwrap() > dataset);
    }
    assert!(json["data_samples_per_second"].as_f64().unwrap() > 0.0);
    assert!(json["batcher_samples_per_second"].as_f64().unwrap() > 0.0);
    assert!(json["machine"]["cores"].as_u64().unwrap() >= 1);

    let output = rebalance(&bench_args("configs/quickstart.toml", &sets, "table"));
    assert_ok(&output);
    let table = stdout(&output);
    assert!(table.contains("1.00×"), "{table}");
    assert!(table.contains("vs flex training"), "{table}");
    assert_eq!(json["task"], "single-label");
    assert!(flex["balanced_accuracy"].as_f64().unwrap() > 0.0);
    assert!(flex.get("macro_f1").is_none(), "{flex}");
    assert_one_line_error(
        &rebalance(&["bench", "--backends", "tpu"]),
        "unknown backend \"tpu\"",
    );
}

/// `rebalance bench` on a multi-label config: its runs' score is macro-F1, its pipeline the
/// multi-label loader and batcher.
#[test]
fn bench_measures_a_multi_label_config() {
    let sets = ["data.samples=1500", "data.num_classes=8"];
    let json = bench_json("configs/multilabel.toml", &sets);
    assert_eq!(json["task"], "multi-label");
    let flex = &json["training"][0];
    assert_eq!(flex["runs"], 1, "{flex}");
    let macro_f1 = flex["macro_f1"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&macro_f1), "{flex}");
    assert!(flex.get("balanced_accuracy").is_none(), "{flex}");
    assert!(flex["samples_per_second"].as_f64().unwrap() > 0.0);
    assert!(json["train_samples"].as_u64().unwrap() > 0);
    assert!(json["dataset_bytes"].as_u64().unwrap() > 1500 * 16 * 4);
    assert!(json["batcher_samples_per_second"].as_f64().unwrap() > 0.0);
    let table = stdout(&rebalance(&bench_args(
        "configs/multilabel.toml",
        &sets,
        "table",
    )));
    assert!(
        table.contains("macro-F1") && table.contains("1.00×"),
        "{table}"
    );
}

/// Issue 27, item 8: an argument error is one line, as every other error, with the valid values
/// or clap's tip where it has them, and exit status 2; negative numbers are values, not unknown
/// flags.
#[test]
fn argument_errors_are_one_line_and_negative_numbers_are_values() {
    let argument_errors: [(&[&str], &str); 6] = [
        (
            &["weights", "--countz", "1"],
            "unexpected argument '--countz' found; tip: a similar argument exists: '--counts'",
        ),
        (
            &["weights", "--counts", "3,5", "--format", "xml"],
            "invalid value 'xml' for '--format <FORMAT>'; [possible values: table, json]",
        ),
        // A negative count is a value the parser refuses, naming it.
        (
            &["weights", "--counts", "-3,5"],
            "invalid value '-3' for '--counts <COUNTS>'",
        ),
        (
            &["compare", "--config", "x.toml", "--shard", "-1/2"],
            "invalid value '-1/2' for '--shard <K/N>'",
        ),
        (
            &["eval"],
            "the following required arguments were not provided: --run <RUN>",
        ),
        (
            &["compare", "--config", "x.toml", "--jobs", "-1"],
            "invalid value '-1' for '--jobs <N>'",
        ),
    ];
    for (args, expected) in argument_errors {
        let output = rebalance(args);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert_one_line_error(&output, expected);
    }
    // `--posthoc-tau -1` reaches the command, as `--posthoc-tau=-1` does.
    let dir = tempfile::tempdir().unwrap();
    let output = eval_with(dir.path(), &["--posthoc-tau", "-1"]);
    assert_eq!(output.status.code(), Some(1));
    assert_one_line_error(&output, "is not a run directory");
    // Help is not an error.
    let help = rebalance(&["--help"]);
    assert!(help.status.success());
    assert!(stdout(&help).contains("Usage: rebalance <COMMAND>"));
}
