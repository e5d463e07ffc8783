//! Issue 27, item 19: every run writes its own `experiment.log` (what burn-train logs while it
//! trains), also when a sweep trains several runs at once in one process; a resumed run
//! appends to it, and nothing of it reaches the terminal.
use std::path::Path;

use crate::common::{assert_ok, compare, modified, stderr, tiny_sweep};
use crate::runs::train;

fn log(run: &Path) -> String {
    std::fs::read_to_string(run.join("experiment.log")).unwrap()
}

/// How many lines of `log` contain `text`.
fn count(log: &str, text: &str) -> usize {
    log.lines().filter(|line| line.contains(text)).count()
}

/// The numbers of burn-train's `Iteration N` lines, in order.
fn iterations(log: &str) -> Vec<usize> {
    log.lines()
        .filter_map(|line| line.rsplit_once(": Iteration ")?.1.parse().ok())
        .collect()
}

/// The first line of `log`.
fn first_line(log: &str) -> &str {
    log.lines().next().unwrap_or_default()
}

/// `log` holds one epoch's training: epoch 1's training and validation steps once each, and
/// its batches' `Iteration` lines, numbered from 1; those numbers.
#[track_caller]
fn assert_one_epoch_logged(log: &str) -> Vec<usize> {
    assert_eq!(
        count(log, "Executing training step for epoch 1"),
        1,
        "{log}"
    );
    assert_eq!(
        count(log, "Executing validation step for epoch 1"),
        1,
        "{log}"
    );
    let batches = iterations(log);
    assert!(!batches.is_empty(), "{log}");
    assert_eq!(batches, (1..=batches.len()).collect::<Vec<_>>(), "{log}");
    batches
}

#[test]
fn a_run_logs_its_training_and_a_resume_appends() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let first = train(&run, &["--set", "train.epochs=1"]);
    assert_ok(&first);
    let before = log(&run);
    assert!(
        first_line(&before).ends_with(&format!(
            "INFO rebalance::run::experiment_log: training {}: a new run, epochs 1 to 1",
            run.display()
        )),
        "{before}"
    );
    let batches = assert_one_epoch_logged(&before);
    // The log is the file's, not the terminal's.
    assert!(!stderr(&first).contains(" INFO "), "{}", stderr(&first));

    let resumed = train(&run, &["--resume"]);
    assert_ok(&resumed);
    let after = log(&run);
    let session = after
        .strip_prefix(&before)
        .unwrap_or_else(|| panic!("the first session's lines were rewritten:\n{after}"));
    assert!(
        first_line(session).contains(&format!(
            "--resume: {} continues after epoch 1, to epoch 2",
            run.display()
        )),
        "{session}"
    );
    assert_eq!(
        count(session, "Restoring checkpoint 1 from"),
        3,
        "{session}"
    );
    assert_eq!(count(session, "Executing training step for epoch 1"), 0);
    assert_eq!(count(session, "Executing training step for epoch 2"), 1);
    assert_eq!(iterations(session), batches, "{session}");
}

/// Two runs trained at once by `compare --jobs 2` each log their own training alone: their
/// own first line, one epoch, and each batch's line once. A finished run's log is not touched
/// by the next sweep.
#[test]
fn runs_trained_at_once_log_their_own_lines() {
    let (dir, config) = tiny_sweep(&["ce", "ins"]);
    let out = dir.path().join("cmp");
    assert_ok(&compare(&config, &out, &["--seeds", "1", "--jobs", "2"]));
    let runs = [out.join("ce/seed-1"), out.join("ins/seed-1")];
    let logs = runs.clone().map(|run| log(&run));
    for (k, run) in runs.iter().enumerate() {
        let (own, other) = (&logs[k], &runs[1 - k]);
        assert_eq!(
            count(own, &format!("training {}:", run.display())),
            1,
            "{own}"
        );
        assert_eq!(count(own, &other.display().to_string()), 0, "{own}");
        assert_one_epoch_logged(own);
    }
    // Same data, same batches.
    assert_eq!(iterations(&logs[0]), iterations(&logs[1]));

    let written = runs
        .clone()
        .map(|run| modified(&run.join("experiment.log")));
    assert_ok(&compare(&config, &out, &["--seeds", "1", "--jobs", "2"]));
    assert_eq!(
        runs.map(|run| modified(&run.join("experiment.log"))),
        written
    );
}
