//! Helpers shared by the binary's integration tests: run `rebalance` as a user does and check
//! what it printed and wrote.
// Each test file uses its own subset of the helpers.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The workspace root, where the binary runs (the configs' paths are relative to it).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The environment variables `rebalance compare` reads its shard from (a Slurm job array, a
/// Kubernetes Indexed Job): the tests run without them, whatever runs the tests.
pub const SHARD_VARIABLES: [&str; 6] = [
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_MAX",
    "SLURM_ARRAY_TASK_STEP",
    "JOB_COMPLETION_INDEX",
];

/// Whether a run on wgpu ran: a failed one is a skip (said on the terminal, not in the output
/// libtest captures of a passing test, which would hide that nothing ran) where no adapter
/// exists, unless `REBALANCE_REQUIRE_WGPU=1` (set by `.ci/run`) makes it the test's failure.
pub fn wgpu_ran(test: &str, output: &Output) -> bool {
    if output.status.success() || std::env::var("REBALANCE_REQUIRE_WGPU").as_deref() == Ok("1") {
        return true;
    }
    use std::io::Write;
    let reason = stderr(output);
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: wgpu did not run here ({}); REBALANCE_REQUIRE_WGPU=1 makes this a failure",
        reason.lines().last().unwrap_or("no message").trim()
    );
    false
}

/// `rebalance ARGS...`, run in the workspace root.
/// `train --config CONFIG --out OUT`, then `--set S` for each of `sets`.
pub fn train_command(config: &str, out: &Path, sets: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["train", "--config", config, "--out"]
        .map(String::from)
        .into();
    args.push(out.to_str().unwrap().to_string());
    for set in sets {
        args.extend(["--set".to_string(), set.to_string()]);
    }
    args
}

/// Runs [`train_command`], then `extra`, in the workspace.
pub fn train_with(config: &str, out: &Path, sets: &[&str], extra: &[&str]) -> Output {
    let mut args = train_command(config, out, sets);
    args.extend(extra.iter().map(|a| a.to_string()));
    rebalance(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// `configs/multilabel.toml`, small: 1500 samples, 8 labels, `epochs` epochs, trained into
/// `out`, then `--set S` for each of `sets`.
pub fn train_multi_label(out: &Path, epochs: usize, sets: &[&str]) -> Output {
    let config = workspace().join("configs/multilabel.toml");
    let epochs = format!("train.epochs={epochs}");
    let base = ["data.samples=1500", "data.num_classes=8", epochs.as_str()];
    train_with(
        config.to_str().unwrap(),
        out,
        &[&base[..], sets].concat(),
        &[],
    )
}

pub fn rebalance(args: &[&str]) -> Output {
    rebalance_with_env(args, &[])
}

/// `rebalance ARGS...`, run in the workspace root with the variables `env` set for it (the
/// shard variables unset otherwise).
pub fn rebalance_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rebalance"));
    for name in SHARD_VARIABLES {
        command.env_remove(name);
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .current_dir(workspace())
        .output()
        .unwrap()
}

/// `rebalance eval --run RUN ARGS...`, run in the workspace root.
pub fn eval_with(run: &Path, args: &[&str]) -> Output {
    rebalance(&[&["eval", "--run", run.to_str().unwrap()], args].concat())
}

/// What the command printed on stdout.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What the command printed on stderr.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The command succeeded; its stderr is the failure message otherwise.
#[track_caller]
pub fn assert_ok(output: &Output) {
    assert!(output.status.success(), "failed:\n{}", stderr(output));
}

/// The command succeeded and printed `expected` on stdout; its stdout is the failure message
/// otherwise.
#[track_caller]
pub fn assert_ok_with_stdout(output: &Output, expected: &str) {
    assert_ok(output);
    assert!(stdout(output).contains(expected), "{}", stdout(output));
}

/// The command succeeded and printed `expected` on stderr; its stderr is the failure message
/// otherwise.
#[track_caller]
pub fn assert_ok_with_stderr(output: &Output, expected: &str) {
    assert_ok(output);
    assert!(stderr(output).contains(expected), "{}", stderr(output));
}

/// A failed command: non-zero exit, exactly one line on stderr, which starts with `error: ` and
/// contains `expected`; no panic and no backtrace.
#[track_caller]
pub fn assert_one_line_error(output: &Output, expected: &str) {
    let err = stderr(output);
    assert!(!output.status.success(), "succeeded:\n{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(
        lines[0].contains(expected),
        "expected {expected:?} in {err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

/// A JSON file the command wrote: `report.json` of a run, `comparison.json`, ...
pub fn read_json(dir: &Path, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}

/// The number of test samples a report's confusion matrix counts.
pub fn confusion_total(report: &Value) -> u64 {
    report["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()))
        .sum()
}

/// `text` written into `dir/name`; its path.
pub fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The base of the tiny compare configs: small synthetic data (120 samples in the head
/// class), one epoch.
pub const TINY_COMPARE_BASE: &str = r#"
[data]
num_classes = 6
max_per_class = 120
test_per_class = 30
profile = { kind = "exponential", factor = 20 }

[train]
epochs = 1
batch_size = 64
learning_rate = 0.003
"#;

/// The `[[variants]]` of `names`, from `ce` (cross-entropy), `ins` (cross-entropy with INS
/// weights) and `focal-1` (focal, γ = 1).
pub fn tiny_variants(names: &[&str]) -> String {
    let mut text = String::new();
    for name in names {
        let loss = match *name {
            "ce" => r#"{ kind = "cross-entropy" }"#,
            "ins" => r#"{ kind = "cross-entropy", scheme = "ins" }"#,
            "focal-1" => r#"{ kind = "focal", gamma = 1.0 }"#,
            other => panic!("no tiny variant {other}"),
        };
        text += &format!("\n[[variants]]\nname = \"{name}\"\nloss = {loss}\n");
    }
    text
}

/// `TINY_COMPARE_BASE` with the [`tiny_variants`] of `names` written into `dir/compare.toml`;
/// its path.
pub fn tiny_compare_config(dir: &Path, names: &[&str]) -> PathBuf {
    let text = format!("{TINY_COMPARE_BASE}{}", tiny_variants(names));
    write_config(dir, "compare.toml", &text)
}

/// A temporary folder holding the tiny compare config of `names` ([`tiny_compare_config`]);
/// the folder and the config's path.
pub fn tiny_sweep(names: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_compare_config(dir.path(), names);
    (dir, config)
}

/// The base of the tiny multi-label compare configs: 800 samples, 5 labels with a validation
/// split, one epoch.
pub const TINY_MULTI_LABEL_COMPARE_BASE: &str = r#"
[data]
task = "multi-label"
source = "synthetic"
num_classes = 5
samples = 800
head_frequency = 0.3
profile = { kind = "exponential", factor = 10 }
co_occurrence = 0.5
validation_fraction = 0.2
seed = 1

[model]
kind = "mlp"
hidden = [16]

[loss]
kind = "sigmoid"

[train]
epochs = 1
batch_size = 64
learning_rate = 0.003
seed = 1
backend = "flex"
"#;

/// `TINY_MULTI_LABEL_COMPARE_BASE` with `extra` (a `[compare]` section, ...) and the
/// `[[variants]]` of `names` (from `bce`, `bce-ens`, `bce-tuned`) written into
/// `dir/compare.toml`; its path.
pub fn tiny_multi_label_compare_config(dir: &Path, names: &[&str], extra: &str) -> PathBuf {
    let mut text = format!("{TINY_MULTI_LABEL_COMPARE_BASE}{extra}\n");
    for name in names {
        let keys = match *name {
            "bce" => r#"loss = { kind = "sigmoid" }"#,
            "bce-ens" => r#"loss = { kind = "sigmoid", scheme = "ens", beta = 0.999 }"#,
            "bce-tuned" => "loss = { kind = \"sigmoid\" }\neval = { thresholds = \"tuned\" }",
            other => panic!("no tiny multi-label variant {other}"),
        };
        text += &format!("\n[[variants]]\nname = \"{name}\"\n{keys}\n");
    }
    write_config(dir, "compare.toml", &text)
}

/// `comparison.json` (or any JSON) without its wall-clock fields.
pub fn without_wall_clock(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            map.remove("wall_seconds");
            for v in map.values_mut() {
                *v = without_wall_clock(v.take());
            }
        }
        Value::Array(items) => {
            for v in items {
                *v = without_wall_clock(v.take());
            }
        }
        _ => {}
    }
    value
}

/// `rebalance compare --config CONFIG --out OUT --seeds 2 EXTRA...` (`EXTRA`'s own `--seeds`
/// wins), run in the workspace root.
pub fn compare(config: &Path, out: &Path, extra: &[&str]) -> Output {
    compare_with_env(config, out, extra, &[])
}

/// [`compare`] with the variables `env` set.
pub fn compare_with_env(config: &Path, out: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = vec![
        "compare",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    if !extra.contains(&"--seeds") {
        args.extend_from_slice(&["--seeds", "2"]);
    }
    args.extend_from_slice(extra);
    rebalance_with_env(&args, env)
}

/// [`compare`] with the fault-injection hook set to abort at `stage`, which must make it fail.
#[track_caller]
pub fn compare_crashing_at(config: &Path, out: &Path, extra: &[&str], stage: &str) {
    let crashed = compare_with_env(config, out, extra, &[("REBALANCE_FAULT", stage)]);
    assert!(!crashed.status.success(), "{stage}: {}", stderr(&crashed));
}

/// A sweep that trained all its runs: `output` succeeded, its stderr says `plan` and has a
/// line per finished run (starting with `[`), `runs` of them, the first starting with `first`;
/// those lines.
#[track_caller]
pub fn assert_sweep_trained(output: &Output, plan: &str, runs: usize, first: &str) -> Vec<String> {
    assert_ok(output);
    let err = stderr(output);
    assert!(err.contains(plan), "{err}");
    let finished: Vec<String> = err
        .lines()
        .filter(|l| l.starts_with('['))
        .map(String::from)
        .collect();
    assert_eq!(finished.len(), runs, "{err}");
    assert!(finished[0].starts_with(first), "{err}");
    finished
}

/// When `path` was last modified.
pub fn modified(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}
