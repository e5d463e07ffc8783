//! End-to-end: what a run directory guarantees (issue 14). A crash at any stage of the final
//! step leaves a run `--resume` completes; a refused command leaves a finished run as it was;
//! `--resume` refuses a changed config; a run is claimed by the process training it; a damaged
//! model or state is named, never evaluated.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{
    assert_ok, assert_ok_with_stderr, assert_one_line_error, read_json, rebalance, stderr,
    train_command, workspace,
};
use serde_json::Value;

/// The arguments of a tiny quickstart run (100 samples in the head class, 20 test samples per
/// class, 2 epochs) into `out`, then `extra`.
pub(crate) fn train_args(out: &Path, extra: &[&str]) -> Vec<String> {
    let sets = [
        "train.epochs=2",
        "data.max_per_class=100",
        "data.test_per_class=20",
    ];
    let mut args = train_command("configs/quickstart.toml", out, &sets);
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

pub(crate) fn train(out: &Path, extra: &[&str]) -> Output {
    rebalance(
        &train_args(out, extra)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
}

/// `train` with the fault-injection hook set to abort at `stage` of the final step, which must
/// make it fail.
#[track_caller]
pub(crate) fn train_crashing_at(out: &Path, stage: &str, extra: &[&str]) {
    let crashed = Command::new(env!("CARGO_BIN_EXE_rebalance"))
        .args(train_args(out, extra))
        .env("REBALANCE_FAULT", stage)
        .current_dir(workspace())
        .output()
        .unwrap();
    assert!(!crashed.status.success(), "{stage}: {}", stderr(&crashed));
}

/// `rebalance eval --run RUN`.
pub(crate) fn eval(run: &Path) -> Output {
    crate::common::eval_with(run, &[])
}

/// The test metrics of a report, everything but timings and memory.
pub(crate) fn metrics(report: &Value) -> Vec<Value> {
    [
        "accuracy",
        "balanced_accuracy",
        "macro_f1",
        "g_mean",
        "per_class_recall",
        "confusion",
        "epochs",
    ]
    .iter()
    .map(|k| report[*k].clone())
    .collect()
}

/// Every file (or link) under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}

/// Every file under `dir` and its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files(dir)
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect()
}

/// The run's `finished` marker recomputed, as if `state.json` (and `thresholds.json`)
/// had been written so.
pub(crate) fn refinish(run: &Path) {
    use sha2::Digest;
    let sum = |name: &str| -> String {
        sha2::Sha256::digest(std::fs::read(run.join(name)).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let mut marker =
        serde_json::json!({ "model.bpk": sum("model.bpk"), "state.json": sum("state.json") });
    if run.join("thresholds.json").exists() {
        marker["thresholds.json"] = sum("thresholds.json").into();
    }
    std::fs::write(run.join("finished"), marker.to_string()).unwrap();
}

#[test]
fn a_crash_in_the_final_step_is_completed_by_resume() {
    let reference = tempfile::tempdir().unwrap();
    assert_ok(&train(reference.path(), &[]));
    let expected = metrics(&read_json(reference.path(), "report.json"));

    for stage in ["after-checkpoint", "after-model", "after-report"] {
        let dir = tempfile::tempdir().unwrap();
        train_crashing_at(dir.path(), stage, &[]);
        assert!(
            dir.path().join("checkpoint/model-2.bpk").exists(),
            "{stage}"
        );
        assert!(!dir.path().join("finished").exists(), "{stage}");
        // Not finished: eval says so instead of loading what is there.
        assert_one_line_error(&eval(dir.path()), "is not finished");

        let resumed = train(dir.path(), &["--resume"]);
        assert_ok(&resumed);
        // No epoch trained again: only the final step.
        let epochs = stderr(&resumed)
            .lines()
            .filter(|l| l.starts_with("epoch "))
            .count();
        assert_eq!(epochs, 0, "{stage}: {}", stderr(&resumed));
        // Its wall time (and throughput) counts the crashed session's epochs.
        let timed = read_json(dir.path(), "history.json")["epochs"][1]["wall_seconds"]
            .as_f64()
            .unwrap();
        let wall = read_json(dir.path(), "report.json")["wall_seconds"]
            .as_f64()
            .unwrap();
        assert!(timed > 0.0 && wall >= timed, "{stage}: {wall} < {timed}");
        assert!(dir.path().join("finished").exists(), "{stage}");
        assert!(!dir.path().join("claim").exists(), "{stage}");
        assert_eq!(
            metrics(&read_json(dir.path(), "report.json")),
            expected,
            "{stage}"
        );
        assert_ok(&eval(dir.path()));
        assert_eq!(
            metrics(&read_json(dir.path(), "report.json")),
            expected,
            "{stage}"
        );
        // And now it is finished.
        assert_one_line_error(
            &train(dir.path(), &["--resume"]),
            "has already finished its 2 epochs",
        );
    }
}

/// An interrupted run's epochs are kept as a finished run's are (issue 27): `train` into it
/// without `--resume` is refused, naming the epochs done and the two ways on, and deletes
/// nothing; `--overwrite` starts it over and says what it replaced.
#[test]
fn an_unfinished_run_is_kept_without_resume_or_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    train_crashing_at(dir.path(), "after-checkpoint", &[]);
    let before = snapshot(dir.path());
    assert!(before.keys().any(|p| p.ends_with("checkpoint/model-2.bpk")));
    let refused = train(dir.path(), &[]);
    assert_one_line_error(
        &refused,
        "holds an unfinished run (2 of its 2 epochs done); continue it with --resume, start it \
         over with --overwrite",
    );
    assert_eq!(snapshot(dir.path()), before, "nothing deleted or rewritten");
    assert_ok_with_stderr(
        &train(dir.path(), &["--overwrite"]),
        "--overwrite: replacing the unfinished run in",
    );
    assert!(dir.path().join("finished").exists());
}

#[test]
fn a_refused_command_leaves_a_finished_run_alone() {
    let dir = tempfile::tempdir().unwrap();
    assert_ok(&train(dir.path(), &[]));
    let expected = metrics(&read_json(dir.path(), "report.json"));
    let before = snapshot(dir.path());

    // A model that does not fit the data is refused before anything is touched.
    let cnn = train(dir.path(), &["--set", "model.kind=\"cnn\"", "--overwrite"]);
    assert_one_line_error(&cnn, "cnn");
    let refused: [(&[&str], &str); 5] = [
        // A finished run is replaced only on request.
        (
            &[],
            "holds a finished run (loss cross-entropy, scheme ens, 2 epochs, balanced accuracy",
        ),
        (&[], "pass --overwrite to replace it"),
        // Nothing to resume, whatever the epochs.
        (
            &["--resume", "--set", "train.epochs=2"],
            "has already finished its 2 epochs",
        ),
        (
            &["--resume", "--set", "train.epochs=1"],
            "has already finished its 2 epochs",
        ),
        // Another config is not a resume.
        (
            &[
                "--resume",
                "--set",
                "train.epochs=3",
                "--set",
                "loss.beta=0.99",
            ],
            "the config differs from the run's",
        ),
    ];
    for (extra, expected) in refused {
        assert_one_line_error(&train(dir.path(), extra), expected);
    }
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a refused command changed the run"
    );

    // It still evaluates to the same metrics.
    assert_ok(&eval(dir.path()));
    assert_eq!(metrics(&read_json(dir.path(), "report.json")), expected);

    // Replaced when asked, saying what is replaced.
    assert_ok_with_stderr(
        &train(dir.path(), &["--overwrite", "--set", "train.epochs=1"]),
        "replacing the finished run in",
    );
    assert_eq!(read_json(dir.path(), "report.json")["epochs"], 1);
    assert_eq!(
        read_json(dir.path(), "history.json")["epochs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn resume_refuses_a_changed_config_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    train_crashing_at(dir.path(), "after-checkpoint", &[]);
    let before = snapshot(dir.path());
    for (set, expected) in [
        ("model.hidden=[64]", "the config differs from the run's"),
        ("model.hidden=[64]", "model.hidden: [128, 128] → [64]"),
        (
            "train.learning_rate=0.01",
            "train.learning_rate: 0.003 → 0.01",
        ),
    ] {
        assert_one_line_error(&train(dir.path(), &["--resume", "--set", set]), expected);
    }
    assert_eq!(snapshot(dir.path()), before);

    // The keys that may change: more epochs, other workers.
    let extended = train(
        dir.path(),
        &[
            "--resume",
            "--set",
            "train.epochs=3",
            "--set",
            "train.workers=1",
        ],
    );
    assert_ok(&extended);
    let epochs: Vec<String> = stderr(&extended)
        .lines()
        .filter(|l| l.starts_with("epoch "))
        .map(String::from)
        .collect();
    assert_eq!(epochs.len(), 1, "{}", stderr(&extended));
    assert!(epochs[0].starts_with("epoch 3/3"), "{epochs:?}");
    assert_eq!(read_json(dir.path(), "report.json")["epochs"], 3);
    assert_ok(&eval(dir.path()));
}

#[test]
fn a_damaged_model_or_state_is_named() {
    let dir = tempfile::tempdir().unwrap();
    assert_ok(&train(dir.path(), &[]));
    let model = dir.path().join("model.bpk");
    let original = std::fs::read(&model).unwrap();
    let mut flipped = original.clone();
    let n = flipped.len();
    flipped[n / 2] ^= 0x01;
    flipped[n - 5] ^= 0x80;
    std::fs::write(&model, &flipped).unwrap();
    assert_one_line_error(&eval(dir.path()), "model.bpk is damaged");
    assert_one_line_error(
        &train(dir.path(), &["--resume", "--set", "train.epochs=3"]),
        "model.bpk is damaged",
    );
    std::fs::write(&model, &original).unwrap();
    assert_ok(&eval(dir.path()));

    // A state whose standardizer does not fit the data, checksum and all.
    let state_path = dir.path().join("state.json");
    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    state["standardizer"]["std"].as_array_mut().unwrap().pop();
    std::fs::write(&state_path, state.to_string()).unwrap();
    assert_one_line_error(&eval(dir.path()), "state.json is damaged");
    refinish(dir.path());
    assert_one_line_error(
        &eval(dir.path()),
        "its standardizer has 16 means and 15 standard deviations, but the data has 16 features",
    );
}

/// A process that has ended: its id names no live process.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn a_run_is_claimed_by_the_process_training_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path()).unwrap();
    // This test's own process stands for another rebalance training the run.
    let live = std::process::id();
    std::fs::write(dir.path().join("claim"), live.to_string()).unwrap();
    assert_one_line_error(
        &train(dir.path(), &[]),
        &format!("is being trained by process {live}"),
    );
    assert!(!dir.path().join("config.toml").exists());

    // A process of another machine sharing the directory (a shard of a cluster sweep) cannot
    // be checked from here: its claim holds, whatever its id.
    std::fs::write(
        dir.path().join("claim"),
        format!("{} another-host.example", dead_pid()),
    )
    .unwrap();
    assert_one_line_error(&train(dir.path(), &[]), "is being trained by process");
    assert!(!dir.path().join("config.toml").exists());

    // A claim whose process has ended is taken over, and released at the end: with this
    // host's name, or with the id alone (as earlier versions wrote it).
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    std::fs::write(
        dir.path().join("claim"),
        format!("{} {}", dead_pid(), host.trim()),
    )
    .unwrap();
    assert_ok(&train(dir.path(), &[]));
    assert!(!dir.path().join("claim").exists());
    assert!(dir.path().join("finished").exists());
    std::fs::write(dir.path().join("claim"), dead_pid().to_string()).unwrap();
    assert_ok(&train(dir.path(), &["--overwrite"]));
    assert!(!dir.path().join("claim").exists());
}

#[test]
fn compare_skips_a_run_another_process_trains() {
    let (dir, config) = crate::common::tiny_sweep(&["ce"]);
    let out = dir.path().join("out");
    // `compare --seeds 2`.
    let compare = || crate::common::compare(&config, &out, &[]);
    let claimed = out.join("ce/seed-2");
    std::fs::create_dir_all(&claimed).unwrap();
    let live = std::process::id();
    std::fs::write(claimed.join("claim"), live.to_string()).unwrap();
    let skipped = compare();
    let err = stderr(&skipped);
    assert!(!skipped.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "skipping ce seed 2: process {live} is training it"
        )),
        "{err}"
    );
    assert!(
        err.lines().last().unwrap().contains(&format!(
            "error: 1 runs are not finished, being trained by another process (process \
                 {live}); run this command again"
        )),
        "{err}"
    );
    assert!(out.join("ce/seed-1/finished").exists());
    assert!(!claimed.join("config.toml").exists());

    // Its process gone, the claim is stale: taken over.
    std::fs::write(claimed.join("claim"), dead_pid().to_string()).unwrap();
    let finished = compare();
    assert_ok_with_stderr(&finished, "(1 finished before, 1 to train)");
    assert!(claimed.join("finished").exists());
    assert!(!claimed.join("claim").exists());
}

#[test]
fn an_unwritable_run_directory_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let out = file.join("run");
    assert_one_line_error(&train(&out, &[]), "a-file/run");
}

/// `train.workers` changes how batches are loaded, never which: the same seed gives the same
/// metrics with 0 workers and with 2, run after run.
#[test]
fn the_worker_count_does_not_change_the_run() {
    let runs: Vec<Value> = ["0", "0", "2", "2"]
        .iter()
        .map(|workers| {
            let dir = tempfile::tempdir().unwrap();
            let set = format!("train.workers={workers}");
            assert_ok(&train(dir.path(), &["--set", &set]));
            read_json(dir.path(), "report.json")
        })
        .collect();
    for (k, run) in runs.iter().enumerate() {
        assert_eq!(metrics(run), metrics(&runs[0]), "run {k}");
    }
}

/// A command that failed after training some epochs: beside the per-epoch lines, exactly one
/// line, the error, containing `expected`; no panic.
#[track_caller]
fn assert_error_after_epochs(output: &Output, expected: &str) {
    let err = stderr(output);
    assert!(!output.status.success(), "succeeded:\n{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("epoch ")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(
        lines[0].contains(expected),
        "expected {expected:?} in {err}"
    );
    assert!(!err.contains("panicked") && !err.contains("PANIC"), "{err}");
}

/// Every file under `dir` whose name holds `.partial`.
fn partial_files(dir: &Path) -> Vec<PathBuf> {
    files(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".partial"))
        .collect()
}

/// A full disk, where a file of the run is a link to `/dev/full` (every write: "No space left
/// on device"): one line naming the file or folder, no partial file left, and `--resume`
/// completes the run once there is space.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_is_one_line_and_leaves_no_partial_file() {
    use std::io::Write;
    if !Path::new("/dev/full").exists() {
        writeln!(std::io::stderr(), "skipping: no /dev/full here").unwrap();
        return;
    }
    // The plot, as the tester saw it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path()).unwrap();
    let png = dir.path().join("per_class_recall.partial.png");
    std::os::unix::fs::symlink("/dev/full", &png).unwrap();
    let full = train(dir.path(), &[]);
    assert_error_after_epochs(
        &full,
        &format!(
            "cannot write {}: no space left on device",
            dir.path().join("per_class_recall.png").display()
        ),
    );
    assert_eq!(partial_files(dir.path()), Vec::<PathBuf>::new());
    assert!(png.symlink_metadata().is_err());
    assert!(!dir.path().join("finished").exists());
    assert_ok(&train(dir.path(), &["--resume"]));
    assert_ok(&eval(dir.path()));

    // burn-train's metric log.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("train/epoch-1")).unwrap();
    std::os::unix::fs::symlink("/dev/full", dir.path().join("train/epoch-1/Loss.log")).unwrap();
    let full = train(dir.path(), &[]);
    assert_error_after_epochs(&full, "no space left on device");
    assert_error_after_epochs(&full, &dir.path().display().to_string());
    assert_eq!(partial_files(dir.path()), Vec::<PathBuf>::new());
    assert!(!dir.path().join("finished").exists());
}

/// A run finished before runs had a `finished` marker (a sweep's, its checkpoints deleted) is
/// still finished: kept by `train`, evaluated by `eval`.
#[test]
fn a_run_finished_before_the_marker_is_still_finished() {
    let dir = tempfile::tempdir().unwrap();
    assert_ok(&train(dir.path(), &[]));
    let expected = metrics(&read_json(dir.path(), "report.json"));
    std::fs::remove_file(dir.path().join("finished")).unwrap();
    std::fs::remove_dir_all(dir.path().join("checkpoint")).unwrap();
    assert_one_line_error(&train(dir.path(), &[]), "holds a finished run");
    assert_ok(&eval(dir.path()));
    assert_eq!(metrics(&read_json(dir.path(), "report.json")), expected);
}

/// burn-train writes a checkpoint in place: one a crash cut short is passed over, and the run
/// resumes from the one before it.
#[test]
fn a_checkpoint_cut_short_is_passed_over() {
    let three = ["--set", "train.epochs=3"];
    let reference = tempfile::tempdir().unwrap();
    assert_ok(&train(reference.path(), &three));
    let dir = tempfile::tempdir().unwrap();
    train_crashing_at(dir.path(), "after-checkpoint", &three);
    let model = dir.path().join("checkpoint/model-3.bpk");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&model, &bytes[..bytes.len() / 2]).unwrap();

    let resumed = train(dir.path(), &["--resume", "--set", "train.epochs=3"]);
    assert_ok(&resumed);
    let err = stderr(&resumed);
    assert!(
        err.contains(
            "the checkpoint of epoch 3 is incomplete (cut short by a crash); resuming after epoch 2"
        ),
        "{err}"
    );
    let epochs: Vec<&str> = err.lines().filter(|l| l.starts_with("epoch ")).collect();
    assert_eq!(epochs.len(), 1, "{err}");
    assert!(epochs[0].starts_with("epoch 3/3"), "{err}");
    assert_ok(&eval(dir.path()));
    assert_eq!(
        metrics(&read_json(dir.path(), "report.json")),
        metrics(&read_json(reference.path(), "report.json"))
    );
}
