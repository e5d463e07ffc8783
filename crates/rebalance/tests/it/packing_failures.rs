//! Failures in packed sweeps (issue 28): a run that diverges fails alone and its pack's other
//! runs finish, also across a crash and a re-run.
use std::path::Path;

use crate::common::{
    TINY_COMPARE_BASE, compare, compare_crashing_at, read_json, stderr, write_config,
};
use crate::packing::assert_same_run;

/// The run `ce/seed-1` of the compare directory `out` ends as that of `twin`
/// ([`assert_same_run`]).
#[track_caller]
fn assert_same_ce_run(out: &Path, twin: &Path) {
    let run = out.join("ce/seed-1");
    assert_same_run(
        &read_json(&run, "report.json"),
        &read_json(&twin.join("ce/seed-1"), "report.json"),
        &run,
    );
}

/// A run of a pack that diverges (the sweep's first variant here) fails its sweep naming it, the failure line names the pack,
/// not its first run, and the pack's other runs finish, as they would trained alone (their
/// parameters are their own slices of the pack's).
#[test]
fn a_diverging_run_of_a_pack_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let huge = ["3e38"; 6].join(", ");
    let config = write_config(
        dir.path(),
        "diverging.toml",
        &format!(
            "{}\n[[variants]]\nname = \"bad\"\nloss = {{ kind = \"cross-entropy\", scheme = \"custom\", \
             custom_weights = [{huge}], normalize = \"none\", reduction = \"sum\" }}\n\n\
             [[variants]]\nname = \"ce\"\nloss = {{ kind = \"cross-entropy\" }}\n",
            TINY_COMPARE_BASE
        ),
    );
    let out = dir.path().join("out");
    let failed = compare(&config, &out, &["--pack", "2", "--seeds", "1"]);
    assert!(!failed.status.success());
    let err = stderr(&failed);
    assert!(
        err.contains("a run of the pack of 2 (bad seed 1, ce seed 1) failed; stopping the sweep"),
        "{err}"
    );
    assert!(err.contains("bad/seed-1: training diverged"), "{err}");
    assert!(out.join("ce/seed-1/finished").is_file(), "{err}");
    assert!(!out.join("bad/seed-1/finished").exists());
    let alone = dir.path().join("alone");
    let _ = compare(
        &config,
        &alone,
        &["--pack", "off", "--seeds", "1", "--only", "ce"],
    );
    assert_same_ce_run(&out, &alone);

    // Killed after the epoch its run diverged in, the group resumes with that run marked
    // diverged (its history stops before the group's checkpoint) and the other finishes.
    let two = ["--pack", "2", "--seeds", "1", "--set", "train.epochs=2"];
    let cut = dir.path().join("cut");
    compare_crashing_at(&config, &cut, &two, "after-pack-checkpoint");
    let resumed = compare(&config, &cut, &two);
    assert!(!resumed.status.success());
    let err = stderr(&resumed);
    assert!(err.contains("bad/seed-1: training diverged"), "{err}");
    assert!(cut.join("ce/seed-1/finished").is_file(), "{err}");
    let whole = dir.path().join("whole");
    let _ = compare(&config, &whole, &two);
    assert_same_ce_run(&cut, &whole);

    // Killed while the pack's results are written, a re-run first finishes the run that only
    // needs finishing (from its own checkpoint), then fails on the diverging one again.
    let late = dir.path().join("late");
    let one = ["--pack", "2", "--seeds", "1"];
    compare_crashing_at(&config, &late, &one, "after-checkpoint");
    assert!(late.join("ce/seed-1/checkpoint").is_dir());
    let again = compare(&config, &late, &one);
    assert!(!again.status.success());
    assert!(
        late.join("ce/seed-1/finished").is_file(),
        "{}",
        stderr(&again)
    );
}
