//! `compare --jobs N --devices LIST`: several runs of a sweep trained at once in one process
//! give each run the report of the sequential sweep; errors of the flags are one line; a
//! failing run names itself and stops the sweep.

use crate::common::{
    assert_ok, assert_one_line_error, compare, read_json, stderr, tiny_sweep, without_wall_clock,
};
use serde_json::Value;

/// A report without what depends on the machine's speed and memory.
fn metrics(mut report: Value) -> Value {
    let object = report.as_object_mut().unwrap();
    object.retain(|key, _| {
        ![
            "wall_seconds",
            "train_samples_per_second",
            "peak_memory_bytes",
        ]
        .contains(&key.as_str())
    });
    report
}

#[test]
fn three_jobs_give_the_reports_of_one() {
    let (dir, config) = tiny_sweep(&["ce", "ins", "focal-1"]);
    let (one, three) = (dir.path().join("one"), dir.path().join("three"));
    assert_ok(&compare(&config, &one, &["--jobs", "1"]));
    let output = compare(&config, &three, &["--jobs", "3", "--devices", "flex"]);
    assert_ok(&output);
    for variant in ["ce", "ins", "focal-1"] {
        for seed in [1, 2] {
            let run = format!("{variant}/seed-{seed}");
            let (a, b) = (
                read_json(&one.join(&run), "report.json"),
                read_json(&three.join(&run), "report.json"),
            );
            assert!(a["balanced_accuracy"].as_f64().unwrap() > 0.0, "{a}");
            assert_eq!(metrics(a), metrics(b), "{run}");
        }
    }
    // The comparisons agree but for their wall-clock fields.
    assert_eq!(
        without_wall_clock(read_json(&one, "comparison.json")),
        without_wall_clock(read_json(&three, "comparison.json"))
    );
    // The second command trained three runs at once.
    assert!(
        stderr(&output).contains("6 to train"),
        "{}",
        stderr(&output)
    );
}

/// The same for a multi-label sweep, on two jobs.
#[test]
fn multi_label_runs_with_two_jobs_are_those_of_one() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        crate::common::tiny_multi_label_compare_config(dir.path(), &["bce", "bce-ens"], "");
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    assert_ok(&compare(&config, &one, &[]));
    assert_ok(&compare(&config, &two, &["--jobs", "2"]));
    for run in ["bce/seed-1", "bce-ens/seed-2"] {
        let (a, b) = (
            read_json(&one.join(run), "report.json"),
            read_json(&two.join(run), "report.json"),
        );
        assert!(a["macro_f1"].is_f64(), "{a}");
        assert_eq!(metrics(a), metrics(b), "{run}");
    }
}

#[test]
fn jobs_and_devices_errors_are_one_line() {
    let (dir, config) = tiny_sweep(&["ce"]);
    let out = dir.path().join("out");
    let argument_errors: [(&[&str], &str); 3] = [
        (&["--jobs", "0"], "--jobs 0: must be >= 1"),
        (
            &["--devices", "tpu:0"],
            "--devices: invalid device \"tpu:0\"",
        ),
        (
            &["--backend", "flex", "--devices", "cuda:0-1"],
            "--devices: \"cuda:0\" is not a device of backend \"flex\"",
        ),
    ];
    for (args, expected) in argument_errors {
        assert_one_line_error(&compare(&config, &out, args), expected);
    }
}

#[test]
fn a_failing_run_names_itself_and_stops_the_sweep() {
    let (dir, config) = tiny_sweep(&["ce", "ins"]);
    let out = dir.path().join("out");
    // A file where the run directory of `ins` seed 1 must go: that run fails.
    std::fs::create_dir_all(out.join("ins")).unwrap();
    std::fs::write(out.join("ins/seed-1"), "not a directory").unwrap();
    let output = compare(&config, &out, &["--jobs", "2"]);
    let err = stderr(&output);
    assert!(!output.status.success(), "{err}");
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("error: variant ins, seed 1: ") && last.contains("ins/seed-1"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("ins seed 1 failed; stopping the sweep"),
        "{err}"
    );
    // No run of seed 2 started after the failure; ce seed 1, trained beside it, is kept.
    assert!(!out.join("ce/seed-2/finished").exists(), "{err}");
}
