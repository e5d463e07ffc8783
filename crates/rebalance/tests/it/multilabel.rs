//! End-to-end multi-label runs: `rebalance train` on `configs/multilabel.toml` (small), its
//! report fields, `predictions.csv` agreeing with the report, tuned thresholds reused by
//! `rebalance eval`, resume, `rebalance data`, and the config errors of the task.
use std::path::Path;

use crate::common::{
    assert_ok, assert_one_line_error, eval_with, read_json, rebalance, stderr, stdout,
    train_multi_label, train_with, workspace,
};
use rebalance::task::multi_label::evaluation::{MultiLabelScores, Thresholds};
use serde_json::Value;

/// `predictions.csv`: the header in label order, then each row's targets and scores.
fn read_predictions(dir: &Path, labels: &[String]) -> (Vec<f32>, Vec<f32>) {
    let text = std::fs::read_to_string(dir.join("predictions.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = ["target", "score"]
        .iter()
        .flat_map(|p| labels.iter().map(move |l| format!("{p}_{l}")))
        .collect();
    assert_eq!(lines.next().unwrap(), header.join(","));
    let (mut targets, mut scores) = (Vec::new(), Vec::new());
    for line in lines {
        let fields: Vec<f32> = line.split(',').map(|f| f.parse().unwrap()).collect();
        assert_eq!(fields.len(), 2 * labels.len(), "{line}");
        targets.extend_from_slice(&fields[..labels.len()]);
        scores.extend_from_slice(&fields[labels.len()..]);
    }
    (targets, scores)
}

fn floats(value: &Value) -> Vec<f64> {
    serde_json::from_value(value.clone()).unwrap()
}

/// The report's metrics, recomputed from `predictions.csv` at the recorded thresholds
/// (the functions match scikit-learn, `multilabel_evaluation.rs`).
fn check_report_against_predictions(dir: &Path) -> Value {
    let report = read_json(dir, "report.json");
    let labels: Vec<String> = serde_json::from_value(report["label_names"].clone()).unwrap();
    let (targets, scores) = read_predictions(dir, &labels);
    let m = MultiLabelScores::new(&scores, &targets, labels.len()).unwrap();
    let thresholds: Vec<f32> = serde_json::from_value(report["thresholds"].clone()).unwrap();
    let at = m.at(&Thresholds::PerLabel(thresholds)).unwrap();
    let close = |a: f64, b: &Value| (a - b.as_f64().unwrap()).abs() < 1e-6;
    assert!(close(at.macro_f1(), &report["macro_f1"]), "{report}");
    assert!(close(at.micro_f1(), &report["micro_f1"]));
    assert!(close(at.subset_accuracy(), &report["subset_accuracy"]));
    assert!(close(at.hamming_loss(), &report["hamming_loss"]));
    assert!(close(
        m.mean_average_precision().unwrap(),
        &report["mean_average_precision"]
    ));
    let per_label = at.precision_recall_fscore_support();
    let f1 = floats(&report["per_label_f1"]);
    assert!(
        f1.iter()
            .zip(&per_label.f1)
            .all(|(a, b)| (a - b).abs() < 1e-12),
        "{f1:?} vs {:?}",
        per_label.f1
    );
    assert_eq!(
        serde_json::from_value::<Vec<u64>>(report["per_label_support"].clone()).unwrap(),
        per_label.support
    );
    report
}

#[test]
fn a_multi_label_run_reports_what_its_predictions_say() {
    let dir = tempfile::tempdir().unwrap();
    let out = train_multi_label(dir.path(), 2, &[]);
    assert_ok(&out);
    assert!(stdout(&out).contains("macro-F1"), "{}", stdout(&out));
    // Rows without a label weigh 0 under the article's rule: said, with the way out.
    assert!(
        stderr(&out).contains("training rows have no label")
            && stderr(&out)
                .contains("drops out of the loss (set loss.no_label_weight to keep them)"),
        "{}",
        stderr(&out)
    );
    let report = check_report_against_predictions(dir.path());
    assert_eq!(report["task"], "multi-label");
    assert_eq!(report["threshold_rule"], "tuned");
    for key in [
        "per_label_precision",
        "per_label_recall",
        "per_label_f1",
        "per_label_average_precision",
        "per_label_support",
        "label_names",
        "train_counts",
        "class_weights",
        "thresholds",
    ] {
        assert_eq!(report[key].as_array().map(Vec::len), Some(8), "{key}");
    }
    // Tuned thresholds, recorded for eval: not all 0.5.
    let thresholds: Vec<f32> =
        serde_json::from_value(read_json(dir.path(), "thresholds.json")).unwrap();
    assert!(thresholds.iter().any(|&t| t != 0.5), "{thresholds:?}");
    // The label weights fall from head to tail (ENS).
    let weights = floats(&report["class_weights"]);
    assert!(weights[0] < weights[7], "{weights:?}");
    for file in [
        "report.md",
        "per_label.png",
        "training_curves.png",
        "finished",
    ] {
        assert!(dir.path().join(file).is_file(), "{file}");
    }
    let history = read_json(dir.path(), "history.json");
    assert!(history["epochs"][1]["valid_macro_f1"].is_f64(), "{history}");

    // eval rebuilds the model, reuses the thresholds and writes the same report.
    let eval = |args: &[&str]| eval_with(dir.path(), args);
    assert_ok(&eval(&[]));
    let again = check_report_against_predictions(dir.path());
    assert_eq!(again["thresholds"], report["thresholds"]);
    assert_eq!(again["macro_f1"], report["macro_f1"]);
    assert_eq!(
        again["mean_average_precision"],
        report["mean_average_precision"]
    );

    // A post-hoc adjustment is single-label.
    assert_one_line_error(
        &eval(&["--posthoc-tau", "1"]),
        "--posthoc-tau, --target-prior, --calibrate and --tau-norm adjust a softmax classifier \
         and are for single-label runs",
    );

    // Issue 27, item 5: thresholds that are no probabilities are a damaged file, not a result.
    let labels = thresholds.len();
    let mut bad = vec![0.5_f32; labels];
    (bad[0], bad[1]) = (5.0, -1.0);
    std::fs::write(
        dir.path().join("thresholds.json"),
        serde_json::to_string(&bad).unwrap(),
    )
    .unwrap();
    // The finished run's marker notices the edit ...
    assert_one_line_error(
        &eval(&[]),
        "thresholds.json was changed or removed after the run finished",
    );
    // ... and a file damaged before the marker was written is refused on its values.
    crate::runs::refinish(dir.path());
    assert_one_line_error(
        &eval(&[]),
        "thresholds.json is damaged: the threshold of label 0 is 5; a threshold is a sigmoid \
         probability in [0, 1]",
    );
}

#[test]
fn a_resumed_multi_label_run_ends_as_the_uninterrupted_one() {
    let (whole, cut) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let fixed = "eval.thresholds=\"fixed\"";
    assert_ok(&train_multi_label(whole.path(), 2, &[fixed]));
    assert_ok(&train_multi_label(cut.path(), 1, &[fixed]));
    let config = cut.path().join("config.toml");
    let resumed = train_with(
        config.to_str().unwrap(),
        cut.path(),
        &["train.epochs=2"],
        &["--resume"],
    );
    assert_ok(&resumed);
    let (a, b) = (
        read_json(whole.path(), "report.json"),
        read_json(cut.path(), "report.json"),
    );
    assert_eq!(a["thresholds"], b["thresholds"]);
    assert_eq!(a["per_label_f1"], b["per_label_f1"]);
    assert_eq!(
        std::fs::read_to_string(whole.path().join("predictions.csv")).unwrap(),
        std::fs::read_to_string(cut.path().join("predictions.csv")).unwrap()
    );
}

/// The multi-label run on wgpu (lavapipe in CI), where the sigmoid loss's fused pass is one
/// CubeCL kernel (`rebalance-loss/src/fused/cube.rs`): it trains as the flex run does, to within
/// what other initial weights explain (wgpu draws its own).
#[cfg(feature = "wgpu")]
#[test]
fn a_multi_label_run_trains_on_wgpu_as_on_flex() {
    let (flex, wgpu) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let focal = "loss.kind=\"sigmoid-focal\"";
    let output = train_multi_label(wgpu.path(), 3, &[focal, "train.backend=\"wgpu\""]);
    if !crate::common::wgpu_ran("a_multi_label_run_trains_on_wgpu_as_on_flex", &output) {
        return;
    }
    assert_ok(&output);
    assert_ok(&train_multi_label(flex.path(), 3, &[focal]));
    let [flex, wgpu] = [flex.path(), wgpu.path()].map(|dir| read_json(dir, "report.json"));
    assert_eq!(wgpu["backend"], "wgpu");
    let map = |r: &Value| r["mean_average_precision"].as_f64().unwrap();
    assert!(
        (map(&wgpu) - map(&flex)).abs() < 0.1,
        "{} vs {}",
        map(&wgpu),
        map(&flex)
    );
}

#[test]
fn the_task_refuses_what_does_not_apply_to_it() {
    let dir = tempfile::tempdir().unwrap();
    assert_one_line_error(
        &train_multi_label(dir.path(), 1, &["loss.kind=\"focal\""]),
        "loss.kind = \"focal\" cannot train multi-label data: it is a softmax loss",
    );
    assert_one_line_error(
        &train_multi_label(dir.path(), 1, &["data.validation_fraction=0"]),
        "eval.thresholds = \"tuned\": must be given with a validation split",
    );
    assert_one_line_error(
        &train_multi_label(dir.path(), 1, &["eval.posthoc_tau=1.0"]),
        "eval.posthoc_tau = 1: must be left out with data.task = \"multi-label\"",
    );
    // Nothing was written.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // Tuned thresholds are multi-label.
    let quickstart = workspace().join("configs/quickstart.toml");
    let single = rebalance(&[
        "train",
        "--config",
        quickstart.to_str().unwrap(),
        "--set",
        "eval.thresholds=\"tuned\"",
    ]);
    assert_one_line_error(
        &single,
        "eval.thresholds = \"tuned\": must be \"fixed\" with",
    );
}

#[test]
fn data_shows_label_frequencies_and_labels_per_sample() {
    let config = workspace().join("configs/multilabel.toml");
    // `rebalance data` of the config with 2000 samples, then `args`.
    let data = |args: &[&str]| {
        let base = ["data", "--config", config.to_str().unwrap()];
        rebalance(&[&base[..], &["--set", "data.samples=2000"], args].concat())
    };
    let out = data(&[]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.starts_with("20 labels, features [32]"), "{text}");
    assert!(text.contains("labels per sample"), "{text}");
    let json = data(&["--format", "json"]);
    let value: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(value["task"], "multi-label");
    assert!(
        value["labels_per_sample"]["train"]["mean"]
            .as_f64()
            .unwrap()
            > 0.5
    );
}

/// A CSV of two features and a `tags` column of `|`-separated names, `rows` rows; label `c`
/// on every fifth row, some rows without a label.
fn write_tags_csv(path: &Path, rows: usize) {
    let mut text = String::from("f0,f1,tags\n");
    for i in 0..rows {
        let mut tags = Vec::new();
        if i % 2 == 0 {
            tags.push("a");
        }
        if i % 3 == 0 {
            tags.push("b");
        }
        if i % 5 == 0 {
            tags.push("c");
        }
        text += &format!("{},{},{}\n", i % 7, (i % 2) as f32 - 0.5, tags.join("|"));
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn the_csv_config_trains_on_a_tags_column() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    write_tags_csv(&train, 120);
    write_tags_csv(&test, 40);
    let out = dir.path().join("run");
    let config = workspace().join("configs/multilabel-csv.toml");
    let (train_set, test_set) = (
        format!("data.train={:?}", train.to_str().unwrap()),
        format!("data.test={:?}", test.to_str().unwrap()),
    );
    let sets = [
        train_set.as_str(),
        test_set.as_str(),
        "data.num_classes=3",
        "train.epochs=1",
    ];
    // The run's `train` command, then `extra`.
    let run = |extra: &[&str]| train_with(config.to_str().unwrap(), &out, &sets, extra);
    assert_ok(&run(&[]));
    let report = check_report_against_predictions(&out);
    assert_eq!(report["label_names"], serde_json::json!(["a", "b", "c"]));
    // 15 % of 120 rows held out to tune on: 102 train on, every label with positives.
    assert_eq!(report["train_samples"], 102);
    assert!(
        report["train_counts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n.as_u64() > Some(0))
    );

    // The files are kept as they are: the record says so, and a profile for them is refused.
    let recorded = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(recorded.contains("kind = \"none\""), "{recorded}");
    assert_one_line_error(
        &run(&[
            "--set",
            "data.profile={ kind = \"exponential\", factor = 10 }",
        ]),
        "data.profile = { kind = \"exponential\" }: must be left out (or { kind = \"none\" })",
    );

    // Four labels asked, three found: the error names the file and the labels.
    assert_one_line_error(
        &run(&["--set", "data.num_classes=4"]),
        "data.num_classes = 4: must be 3, the number of distinct labels in",
    );
}
