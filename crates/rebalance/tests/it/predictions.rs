//! End-to-end: every single-label run writes `predictions.csv` for the test split, and it
//! agrees with the report.
use std::path::Path;

use crate::common::{assert_ok, confusion_total, read_json, rebalance, train_with};
use rebalance::reporting::predictions::csv_field;
use serde_json::Value;

/// The rows of a predictions file: each sample's target and probabilities, after checking the
/// header against the report's class names.
fn read_predictions(path: &Path, report: &Value) -> Vec<(usize, Vec<f64>)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let names: Vec<String> = report["class_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| csv_field(&format!("score_{}", n.as_str().unwrap())).into_owned())
        .collect();
    assert_eq!(lines.next().unwrap(), format!("target,{}", names.join(",")));
    lines
        .map(|line| {
            let mut fields = line.split(',');
            let target = fields.next().unwrap().parse().unwrap();
            let scores: Vec<f64> = fields.map(|f| f.parse().unwrap()).collect();
            assert_eq!(scores.len(), names.len(), "{line}");
            (target, scores)
        })
        .collect()
}

/// The confusion matrix of the rows' argmax (the first of equal maxima, as `argmax` takes it).
fn confusion_of(rows: &[(usize, Vec<f64>)], classes: usize) -> Vec<Vec<u64>> {
    let mut confusion = vec![vec![0u64; classes]; classes];
    for (target, scores) in rows {
        let predicted = (0..classes)
            .reduce(|best, c| if scores[c] > scores[best] { c } else { best })
            .unwrap();
        confusion[*target][predicted] += 1;
    }
    confusion
}

/// Checks `file` of run `dir` against report `report_name`: a row per test sample, rows
/// summing to 1, and the report's confusion matrix recomputed from the argmax.
fn check_against_report(dir: &Path, file: &str, report_name: &str) -> String {
    let report = read_json(dir, report_name);
    let rows = read_predictions(&dir.join(file), &report);
    assert_eq!(rows.len() as u64, confusion_total(&report));
    for (i, (_, scores)) in rows.iter().enumerate() {
        let sum: f64 = scores.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "row {i} sums to {sum}");
        assert!(scores.iter().all(|p| (0.0..=1.0).contains(p)), "row {i}");
    }
    let classes = report["class_names"].as_array().unwrap().len();
    let expected: Vec<Vec<u64>> = serde_json::from_value(report["confusion"].clone()).unwrap();
    assert_eq!(confusion_of(&rows, classes), expected, "{file}");
    std::fs::read_to_string(dir.join(file)).unwrap()
}

#[test]
fn train_and_eval_write_predictions_that_agree_with_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    assert_ok(&crate::runs::train(dir.path(), &[]));
    let trained = check_against_report(dir.path(), "predictions.csv", "report.json");
    // 10 classes of 20 test samples, and the header.
    assert_eq!(trained.lines().count(), 201);

    // eval rewrites the same predictions.
    assert_ok(&rebalance(&["eval", "--run", out]));
    let evaluated = check_against_report(dir.path(), "predictions.csv", "report.json");
    assert_eq!(evaluated, trained);

    // A post-hoc adjusted evaluation writes its own, matching its own report.
    assert_ok(&rebalance(&["eval", "--run", out, "--posthoc-tau", "1"]));
    let adjusted =
        check_against_report(dir.path(), "predictions-tau-1.0.csv", "report-tau-1.0.json");
    assert_ne!(adjusted, trained);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("predictions.csv")).unwrap(),
        trained
    );

    // Temperature scaling needs a validation split, which this run has not.
    crate::common::assert_one_line_error(
        &rebalance(&["eval", "--run", out, "--calibrate", "temperature"]),
        "--calibrate temperature: the run's data has no validation split",
    );
}

/// `eval --target-prior` and `eval --calibrate temperature` on the quickstart, small, with a
/// balanced validation split: a prior equal to the training prior leaves the predictions as
/// they are; `uniform` is post-hoc adjustment with τ = 1; the temperature lowers the
/// validation NLL and the report records it.
#[test]
fn target_priors_and_temperature_scaling() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let config = crate::common::workspace().join("configs/quickstart.toml");
    let sets = [
        "train.epochs=3",
        "data.max_per_class=100",
        "data.test_per_class=20",
        "data.validation_per_class=20",
    ];
    assert_ok(&train_with(
        config.to_str().unwrap(),
        dir.path(),
        &sets,
        &[],
    ));
    let report = read_json(dir.path(), "report.json");
    let trained = std::fs::read_to_string(dir.path().join("predictions.csv")).unwrap();

    // The training prior as a file of counts: nothing moves.
    let prior = dir.path().join("train-prior.txt");
    let counts: Vec<String> = report["train_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    std::fs::write(&prior, counts.join("\n")).unwrap();
    assert_ok(&rebalance(&[
        "eval",
        "--run",
        out,
        "--target-prior",
        prior.to_str().unwrap(),
    ]));
    let same = check_against_report(
        dir.path(),
        "predictions-prior-train-prior.csv",
        "report-prior-train-prior.json",
    );
    assert_eq!(same, trained);
    assert_eq!(
        read_json(dir.path(), "report-prior-train-prior.json")["target_prior"],
        prior.to_str().unwrap()
    );

    // Uniform: the argmax of post-hoc adjustment with τ = 1.
    assert_ok(&rebalance(&[
        "eval",
        "--run",
        out,
        "--target-prior",
        "uniform",
    ]));
    let uniform = read_json(dir.path(), "report-prior-uniform.json");
    assert_ok(&rebalance(&["eval", "--run", out, "--posthoc-tau", "1"]));
    let posthoc = read_json(dir.path(), "report-tau-1.0.json");
    assert_eq!(uniform["confusion"], posthoc["confusion"]);

    // Temperature scaling: fitted on the validation split, lowering its NLL.
    assert_ok(&rebalance(&[
        "eval",
        "--run",
        out,
        "--calibrate",
        "temperature",
    ]));
    let calibrated = read_json(dir.path(), "report-temperature.json");
    let fit = &calibrated["temperature"];
    assert!(
        fit["validation_nll_after"].as_f64().unwrap()
            < fit["validation_nll_before"].as_f64().unwrap(),
        "{fit}"
    );
    // A temperature does not change the argmax.
    assert_eq!(calibrated["confusion"], report["confusion"]);
    check_against_report(
        dir.path(),
        "predictions-temperature.csv",
        "report-temperature.json",
    );

    // τ-normalisation: τ = 0 drops the bias only; auto picks τ on the validation split.
    assert_ok(&rebalance(&["eval", "--run", out, "--tau-norm", "auto"]));
    let tau = read_json(dir.path(), "report-tau-norm-auto.json")["tau_norm"]
        .as_f64()
        .unwrap();
    assert!((0.0..=2.0).contains(&tau), "{tau}");
    check_against_report(
        dir.path(),
        "predictions-tau-norm-auto.csv",
        "report-tau-norm-auto.json",
    );
    // Every adjustment kept its own files: none replaced another's.
    for name in [
        "prior-train-prior",
        "prior-uniform",
        "tau-1.0",
        "temperature",
        "tau-norm-auto",
    ] {
        assert!(
            dir.path().join(format!("report-{name}.json")).is_file(),
            "{name}"
        );
        assert!(
            dir.path().join(format!("report-{name}.md")).is_file(),
            "{name}"
        );
        assert!(
            dir.path().join(format!("predictions-{name}.csv")).is_file(),
            "{name}"
        );
    }
    assert_eq!(read_json(dir.path(), "report-temperature.json"), calibrated);
    let negative = rebalance(&["eval", "--run", out, "--tau-norm=-1"]);
    assert!(!negative.status.success());
    assert!(
        crate::common::stderr(&negative).contains("\"-1\": expected a number >= 0 or \"auto\""),
        "{}",
        crate::common::stderr(&negative)
    );

    // A bad prior file names the file and the value; nothing written.
    std::fs::write(&prior, "1,2,x").unwrap();
    let bad = rebalance(&[
        "eval",
        "--run",
        out,
        "--target-prior",
        prior.to_str().unwrap(),
    ]);
    crate::common::assert_one_line_error(&bad, "--target-prior");
    assert!(
        crate::common::stderr(&bad).contains("value 3 (class 2) is \"x\""),
        "{}",
        crate::common::stderr(&bad)
    );
}
