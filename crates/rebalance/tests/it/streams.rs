//! Issue 27, item 7: what the binary does when its standard output or error is closed (a
//! reader gone, `| head`) or full (a full disk behind `>`): a closed one is quiet and the
//! work is kept, a full stdout is a one-line error, a full stderr loses only progress lines.
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{assert_one_line_error, stderr};
use crate::runs::train_args;

/// Issue 27, item 7: a closed standard output (`| head -0`) ends a command quietly with its
/// work done (exit 0, nothing on stderr), as ripgrep and git do; a full one (`> /dev/full`) is a
/// one-line error.
#[test]
fn a_closed_stdout_is_quiet_and_a_full_one_is_one_line() {
    let counts: Vec<String> = (1..=3000).map(|n| n.to_string()).collect();
    let counts = counts.join(",");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rebalance"))
        .args(["weights", "--counts", &counts])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before the table is written.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stderr(&output), "");

    if Path::new("/dev/full").exists() {
        let full = Command::new(env!("CARGO_BIN_EXE_rebalance"))
            .args(["weights", "--counts", "1,2,3"])
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        assert_one_line_error(&full, "cannot write the output to standard output");
        // --help too: a help that was never written is not exit 0.
        let help = Command::new(env!("CARGO_BIN_EXE_rebalance"))
            .args(["train", "--help"])
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        assert_one_line_error(&help, "cannot write the help to standard output");
    }
}

/// A closed or full standard error (`2>&1 | head -1`, `2>log` on a full disk) loses the
/// progress lines, never the run: training finishes and exits 0 (it panicked with 101, or hung
/// with a full one).
#[test]
fn a_closed_or_full_stderr_does_not_stop_training() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rebalance"))
        .args(train_args(&run, &[]))
        .current_dir(crate::common::workspace())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    assert!(child.wait().unwrap().success());
    assert!(run.join("finished").exists());
    if Path::new("/dev/full").exists() {
        let full = dir.path().join("full");
        let status = Command::new(env!("CARGO_BIN_EXE_rebalance"))
            .args(train_args(&full, &[]))
            .current_dir(crate::common::workspace())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create("/dev/full").unwrap())
            .status()
            .unwrap();
        assert!(status.success());
        assert!(full.join("finished").exists());
    }
}
