//! End-to-end: a compare sweep split into shards (`--shard`, Slurm job arrays, Kubernetes
//! Indexed Jobs) and merged, as docs/cluster.md runs it.

use crate::common::{
    assert_ok, assert_ok_with_stderr, assert_ok_with_stdout, assert_one_line_error,
    compare_with_env, modified, read_json, stderr, stdout, tiny_sweep, without_wall_clock,
    workspace,
};
use clap::Parser;

#[test]
fn two_shards_and_a_merge_give_the_unsharded_comparison() {
    let (dir, config) = tiny_sweep(&["ce", "ins", "focal-1"]);

    // One unsharded sweep: 3 variants × 2 seeds.
    let whole = dir.path().join("whole");
    let output = compare_with_env(&config, &whole, &[], &[]);
    assert_ok(&output);
    let expected = read_json(&whole, "comparison.json");

    // Shard 1 of 2 by the flag, which beats the Slurm variables around it.
    let sharded = dir.path().join("sharded");
    let slurm = [
        ("SLURM_ARRAY_TASK_ID", "2"),
        ("SLURM_ARRAY_TASK_COUNT", "2"),
        ("SLURM_ARRAY_TASK_MIN", "1"),
    ];
    let first = compare_with_env(&config, &sharded, &["--shard", "1/2"], &slurm);
    assert_ok(&first);
    let (out, err) = (stdout(&first), stderr(&first));
    assert!(
        err.contains("3 variants × 2 seeds = shard 1/2 (--shard 1/2): 3 of the sweep's 6 runs"),
        "{err}"
    );
    assert!(
        out.contains("shard 1/2 (--shard 1/2): 3 runs: 3 trained in"),
        "{out}"
    );
    assert!(out.contains("0 finished before, 0 skipped"), "{out}");
    assert!(
        out.contains("no comparison written: 3 of the sweep's 6 runs are not finished yet"),
        "{out}"
    );
    assert!(!sharded.join("comparison.json").exists());
    // Equal costs: the runs are dealt round-robin in the sweep's order.
    let finished = |variant: &str, seed: u64| {
        sharded
            .join(format!("{variant}/seed-{seed}/finished"))
            .exists()
    };
    assert!(finished("ce", 1) && finished("focal-1", 1) && finished("ins", 2));
    assert!(!finished("ins", 1) && !finished("ce", 2) && !finished("focal-1", 2));

    // A merge now lists exactly the runs that are missing, and fails.
    assert_one_line_error(
        &compare_with_env(&config, &sharded, &["--merge"], &[]),
        "--merge: 3 of 6 runs are not finished: ins seed 1; ce seed 2; focal-1 seed 2;",
    );
    assert!(!sharded.join("comparison.json").exists());

    // Shard 2 of 2 as a Kubernetes Indexed Job's pod of index 1.
    let shard_2 = || {
        compare_with_env(
            &config,
            &sharded,
            &["--shards", "2"],
            &[("JOB_COMPLETION_INDEX", "1")],
        )
    };
    let second = shard_2();
    assert_ok(&second);
    let out = stdout(&second);
    assert!(
        out.contains("shard 2/2 (JOB_COMPLETION_INDEX=1 of --shards 2): 3 runs: 3 trained"),
        "{out}"
    );
    assert!(
        out.contains("all 6 runs of the sweep are finished"),
        "{out}"
    );
    assert!(!sharded.join("comparison.json").exists());
    // Shard 2 again: nothing to train.
    let again = shard_2();
    assert_ok_with_stdout(&again, "3 runs: 0 trained in");
    assert!(stdout(&again).contains("3 finished before"));

    // The merge gives the comparison of the unsharded sweep, wall-clock times aside.
    assert_ok_with_stdout(
        &compare_with_env(&config, &sharded, &["--merge"], &[]),
        "0 runs trained",
    );
    assert_eq!(
        without_wall_clock(read_json(&sharded, "comparison.json")),
        without_wall_clock(expected)
    );
    // So does a plain compare, training nothing.
    assert_ok_with_stderr(
        &compare_with_env(&config, &sharded, &[], &[]),
        "(6 finished before, 0 to train)",
    );
}

#[test]
fn finished_runs_of_another_backend_or_place_are_kept() {
    let (dir, config) = tiny_sweep(&["ce", "ins", "focal-1"]);
    let trained = dir.path().join("trained");
    let only = ["--seeds", "1", "--only", "ce,ins"];
    assert_ok(&compare_with_env(&config, &trained, &only, &[]));
    // The compare directory moves (another machine mounts it elsewhere): each run's recorded
    // output.dir is then another path, and the run the same.
    let out = dir.path().join("moved");
    std::fs::rename(&trained, &out).unwrap();
    let report = out.join("ce/seed-1/report.json");
    let trained_at = modified(&report);

    // A merge with another backend takes the runs as they are.
    let merge = [&only[..], &["--merge", "--backend", "wgpu"]].concat();
    let merged = compare_with_env(&config, &out, &merge, &[]);
    assert_ok(&merged);
    let json = read_json(&out, "comparison.json");
    assert_eq!(json["variants"][0]["backend"], "flex", "{json}");
    assert_eq!(json["provenance"]["backend"], "flex", "{json}");
    // As does a sweep on another backend, or with other workers, even with --force.
    let mut extra = vec!["--set", "train.workers=2", "--force"];
    if cfg!(feature = "ndarray") {
        extra.extend_from_slice(&["--backend", "ndarray"]);
    }
    let forced = compare_with_env(&config, &out, &[&only[..], &extra].concat(), &[]);
    assert_ok(&forced);
    let err = stderr(&forced);
    assert!(err.contains("(2 finished before, 0 to train)"), "{err}");
    assert!(!err.contains("--force: deleting"), "{err}");
    assert_eq!(modified(&report), trained_at);
    // The placement keys leave the config hash alone.
    assert_eq!(
        read_json(&out, "comparison.json")["provenance"]["config_sha256"],
        json["provenance"]["config_sha256"]
    );

    // --force retrains a run of another config only after naming it.
    let changed = [&only[..], &["--set", "train.learning_rate=0.01", "--force"]].concat();
    let retrained = compare_with_env(&config, &out, &changed, &[]);
    assert_ok(&retrained);
    let err = stderr(&retrained);
    let deleted: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("--force: deleting"))
        .collect();
    assert_eq!(deleted.len(), 2, "{err}");
    assert!(
        deleted[0].starts_with("--force: deleting the finished run ce seed 1 in ")
            && deleted[0].ends_with("of another config (train.learning_rate: 0.003 → 0.01)"),
        "{err}"
    );
    assert!(
        deleted[1].starts_with("--force: deleting the finished run ins seed 1 in "),
        "{err}"
    );
}

#[test]
fn shard_sources_that_disagree_are_one_line_errors() {
    let (dir, config) = tiny_sweep(&["ce", "ins", "focal-1"]);
    let out = dir.path().join("cmp");
    assert_one_line_error(
        &compare_with_env(
            &config,
            &out,
            &["--shards", "2"],
            &[("JOB_COMPLETION_INDEX", "2")],
        ),
        "JOB_COMPLETION_INDEX=2 is outside --shards 2",
    );
    assert_one_line_error(
        &compare_with_env(&config, &out, &[], &[("JOB_COMPLETION_INDEX", "0")]),
        "JOB_COMPLETION_INDEX=0 is set (a Kubernetes Indexed Job) but --shards is not",
    );
    assert_one_line_error(
        &compare_with_env(
            &config,
            &out,
            &["--shards", "3"],
            &[
                ("SLURM_ARRAY_TASK_ID", "1"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
            ],
        ),
        "--shards 3 disagrees with SLURM_ARRAY_TASK_COUNT=4",
    );
    assert_one_line_error(
        &compare_with_env(&config, &out, &["--shard", "1/4", "--shards", "2"], &[]),
        "--shards 2 disagrees with --shard 1/4",
    );
    assert!(!out.exists(), "nothing written on errors");
    // Flags clap refuses.
    for bad in [
        &["--shard", "0/4"][..],
        &["--shard", "3"],
        &["--shard", "1/2", "--merge"],
        &["--merge", "--force"],
    ] {
        let output = compare_with_env(&config, &out, bad, &[]);
        assert!(!output.status.success(), "{bad:?}");
        assert!(stderr(&output).contains("error:"), "{}", stderr(&output));
    }
    assert!(!out.exists(), "nothing written on errors");
}

/// Every `rebalance compare ...` command of docs/cluster.md parses: the Slurm script, the
/// Kubernetes manifest and GNU parallel's line (its `{}` read as a shard number).
#[test]
fn every_compare_command_in_docs_cluster_md_parses() {
    let text = std::fs::read_to_string(workspace().join("docs/cluster.md")).unwrap();
    // Lines continued with a backslash are one command.
    let joined = text.replace("\\\n", " ");
    let mut commands = Vec::new();
    let mut in_block = false;
    for line in joined.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        // Prose names the command too; the commands are in the code blocks.
        let Some(at) = line.find("rebalance compare").filter(|_| in_block) else {
            continue;
        };
        let command = line[at..].split(":::").next().unwrap().replace("{}", "1");
        let words: Vec<String> = command
            .split_whitespace()
            .map(|w| w.trim_matches(|c| c == '"' || c == '\'').to_string())
            .filter(|w| !w.is_empty())
            .collect();
        commands.push(words);
    }
    assert!(commands.len() >= 6, "too few commands: {commands:?}");
    let mut flags = std::collections::BTreeSet::new();
    for words in &commands {
        if let Err(e) = rebalance::commands::Cli::try_parse_from(words) {
            panic!("docs/cluster.md: `{}` does not parse: {e}", words.join(" "));
        }
        flags.extend(words.iter().filter(|w| w.starts_with("--")).cloned());
    }
    for flag in ["--shard", "--shards", "--merge"] {
        assert!(flags.contains(flag), "docs/cluster.md never uses {flag}");
    }
}
