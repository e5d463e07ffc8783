//! Packed sweeps (issue 28): `compare --pack N` trains the runs that can share a step as one
//! model, and every run ends as it ends trained alone (`--pack off`).
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{
    assert_ok, assert_ok_with_stderr, compare, compare_crashing_at, eval_with, read_json, stderr,
    tiny_variants, train_with, write_config,
};
use crate::images::write_mnist;

/// Eight variants over two seeds: losses of four kinds, three weightings, LDAM with deferred
/// re-weighting on a linear and on a cosine head (another model: its own group), a
/// class-balanced re-sampled run (another epoch length: its own group), and cRT (its first
/// stage packed with the others, its second alone). Small and easy data, two epochs.
fn sweep_config(dir: &Path) -> PathBuf {
    let text = r#"
[data]
num_classes = 6
max_per_class = 120
test_per_class = 100
difficulty = "easy"
profile = { kind = "exponential", factor = 20 }

[model]
kind = "mlp"
hidden = [32]

[train]
epochs = 2
batch_size = 32
learning_rate = 0.003

[[variants]]
name = "ce"
loss = { kind = "cross-entropy" }

[[variants]]
name = "ins"
loss = { kind = "cross-entropy", scheme = "ins" }

[[variants]]
name = "ens"
loss = { kind = "cross-entropy", scheme = "ens", beta = 0.99 }

[[variants]]
name = "focal"
loss = { kind = "focal", gamma = 1.0 }

[[variants]]
name = "ldam-drw"
loss = { kind = "ldam", scheme = "ens", beta = 0.99, drw_start_epoch = 1 }

[[variants]]
name = "ldam-cosine"
loss = { kind = "ldam", scheme = "ins", drw_start_epoch = 1 }
model = { cosine_head = true }

[[variants]]
name = "cb-resampling"
loss = { kind = "cross-entropy" }
data = { resampling = "class-balanced" }

[[variants]]
name = "crt"
loss = { kind = "cross-entropy" }
train = { stage2 = { epochs = 1 } }
"#;
    write_config(dir, "compare.toml", text)
}

/// Every run directory of a compare directory: `variant/seed-N`.
fn runs(out: &Path) -> Vec<PathBuf> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .flat_map(|variant| {
            std::fs::read_dir(variant)
                .unwrap()
                .map(|e| e.unwrap().path())
        })
        .collect();
    runs.sort();
    runs
}

/// Each of `keys` of the report `packed` within `tol` of the report `alone`'s.
#[track_caller]
fn assert_keys_within(packed: &Value, alone: &Value, keys: &[&str], tol: f64, run: &Path) {
    for &key in keys {
        let (p, a) = (packed[key].as_f64().unwrap(), alone[key].as_f64().unwrap());
        assert!(
            (p - a).abs() <= tol,
            "{}: {key} {p} packed, {a} alone",
            run.display()
        );
    }
}

/// The class metrics of a report must be equal; the probability metrics (NLL, Brier, ECE)
/// within 1e-4. Packed, a run's arithmetic differs from its alone one in order only (a batched
/// matrix product, the packed loss's sums): weights agree to float rounding, which flips no
/// test prediction in two epochs here (observed: equal), and at most 0.005 balanced accuracy
/// (3 of the 600 test samples) is allowed for a platform whose kernels round otherwise.
#[track_caller]
pub(crate) fn assert_same_run(packed: &Value, alone: &Value, run: &Path) {
    let class_metrics = ["balanced_accuracy", "macro_f1", "accuracy", "g_mean"];
    assert_keys_within(packed, alone, &class_metrics, 0.005, run);
    assert_keys_within(packed, alone, &["nll", "brier", "ece"], 1e-4, run);
    assert_eq!(packed["train_counts"], alone["train_counts"]);
    assert_eq!(packed["class_weights"], alone["class_weights"]);
}

/// Each epoch of the run's history (`history.json`) as its twin's: the training loss (the mean
/// of the epoch's batch losses, each batch once, as burn-train records it) within 1e-4 of it,
/// relative, and the validation metric `key` (`valid_balanced_accuracy`, ...) within 0.005,
/// for the reasons of [`assert_same_run`].
#[track_caller]
fn assert_same_history(run: &Path, twin: &Path, key: &str) {
    let epochs = |dir: &Path| read_json(dir, "history.json")["epochs"].clone();
    let (packed, alone) = (epochs(run), epochs(twin));
    let (packed, alone) = (packed.as_array().unwrap(), alone.as_array().unwrap());
    assert_eq!(packed.len(), alone.len(), "{}", run.display());
    for (p, a) in packed.iter().zip(alone) {
        let (lp, la) = (
            p["train_loss"].as_f64().unwrap(),
            a["train_loss"].as_f64().unwrap(),
        );
        assert!(
            (lp - la).abs() <= 1e-4 * la.abs().max(1.0),
            "{}: epoch {}: training loss {lp} packed, {la} alone",
            run.display(),
            p["epoch"]
        );
        let (vp, va) = (p[key].as_f64().unwrap(), a[key].as_f64().unwrap());
        assert!(
            (vp - va).abs() <= 0.005,
            "{}: epoch {}: {key} {vp} packed, {va} alone",
            run.display(),
            p["epoch"]
        );
    }
}

/// The sweep of `config` trained with `--pack pack` and with `--pack off`, beside the config:
/// the two compare directories, and the packed sweep's stderr.
fn packed_and_alone(config: &Path, pack: &str) -> (PathBuf, PathBuf, String) {
    let dir = config.parent().unwrap();
    let (packed, alone) = (dir.join("packed"), dir.join("alone"));
    let trained = compare(config, &packed, &["--pack", pack]);
    assert_ok(&trained);
    assert_ok(&compare(config, &alone, &["--pack", "off"]));
    (packed, alone, stderr(&trained))
}

/// The packed sweeps on wgpu (lavapipe in CI): the MLP sweep's and the CNN sweep's runs end as
/// they end trained alone on wgpu, within the flex tests' tolerances, and rank alike.
#[cfg(feature = "wgpu")]
#[test]
fn packed_sweeps_on_wgpu_give_each_run_its_results_alone() {
    for (make, pack) in [
        (sweep_config as fn(&Path) -> PathBuf, "6"),
        (cnn_sweep_config, "4"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = make(dir.path());
        let (packed, alone) = (dir.path().join("packed"), dir.path().join("alone"));
        let trained = compare(&config, &packed, &["--pack", pack, "--backend", "wgpu"]);
        if !crate::common::wgpu_ran("packed_sweeps_on_wgpu", &trained) {
            return;
        }
        assert_ok(&trained);
        assert!(stderr(&trained).contains(&format!("pack of {pack}:")));
        assert_ok(&compare(
            &config,
            &alone,
            &["--pack", "off", "--backend", "wgpu"],
        ));
        assert_runs_as_alone(&packed, &alone);
    }
}

/// Every run of the single-label packed sweep in `packed` ends as its twin in `alone`
/// ([`assert_same_run`], [`assert_same_history`]), and the variants rank alike; the runs.
#[track_caller]
fn assert_runs_as_alone(packed: &Path, alone: &Path) -> Vec<PathBuf> {
    assert_twins(packed, alone, assert_same_run, "valid_balanced_accuracy")
}

/// Every run of the packed sweep in `packed` ends as its twin in `alone`: `same_run` of their
/// reports, and [`assert_same_history`] with the validation metric `valid_key`; and the
/// variants rank alike; the runs.
#[track_caller]
fn assert_twins(
    packed: &Path,
    alone: &Path,
    same_run: fn(&Value, &Value, &Path),
    valid_key: &str,
) -> Vec<PathBuf> {
    let runs = runs(packed);
    for run in &runs {
        let twin = alone.join(run.strip_prefix(packed).unwrap());
        same_run(
            &read_json(run, "report.json"),
            &read_json(&twin, "report.json"),
            run,
        );
        assert_same_history(run, &twin, valid_key);
    }
    assert_eq!(ranking(packed), ranking(alone));
    runs
}

/// The variants of `comparison.json`, best first.
fn ranking(out: &Path) -> Vec<String> {
    read_json(out, "comparison.json")["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_packed_sweep_gives_each_run_its_results_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (packed, alone, err) = packed_and_alone(&sweep_config(dir.path()), "6");
    // Twelve runs share a step (6 variants × 2 seeds): two groups of 6; the cosine head and the
    // re-sampled runs pack by themselves (2 each).
    for (group, count) in [
        ("pack of 6: ce seed 1, ins seed 1", 1),
        ("pack of 6:", 2),
        ("pack of 2:", 2),
    ] {
        assert_eq!(err.matches(group).count(), count, "{group}: {err}");
    }

    let runs = assert_runs_as_alone(&packed, &alone);
    assert_eq!(runs.len(), 16);
    for run in &runs {
        // Each run's own curves, epoch by epoch (cRT's second stage's epoch too).
        let history = read_json(run, "history.json");
        let epochs = if run.starts_with(packed.join("crt")) {
            3
        } else {
            2
        };
        assert_eq!(
            history["epochs"].as_array().unwrap().len(),
            epochs,
            "{history}"
        );
        assert!(run.join("predictions.csv").is_file() && run.join("finished").is_file());
        // Its experiment.log says it trained packed, and its epochs.
        let log = std::fs::read_to_string(run.join("experiment.log")).unwrap();
        assert!(log.contains("trained packed, as one model with"), "{log}");
        assert!(log.contains("epoch 2/2: training loss"), "{log}");
    }
    // The groups' folders are gone once their runs are finished.
    assert!(!packed.join(".packs").exists());
    // A packed run's training time is its group's, whatever its place in the group (cRT's
    // adds its own second stage): writing the others' results is not its training.
    let first = err
        .lines()
        .find_map(|l| l.split("pack of 6: ").nth(1))
        .and_then(|l| l.split(": training").next())
        .unwrap();
    let seconds: Vec<f64> = first
        .split(", ")
        .filter(|run| !run.starts_with("crt "))
        .map(|run| {
            let (variant, seed) = run.split_once(" seed ").unwrap();
            let dir = packed.join(variant).join(format!("seed-{seed}"));
            read_json(&dir, "report.json")["wall_seconds"]
                .as_f64()
                .unwrap()
        })
        .collect();
    let spread = seconds.iter().cloned().fold(f64::MIN, f64::max)
        - seconds.iter().cloned().fold(f64::MAX, f64::min);
    assert!(seconds.len() >= 5 && spread < 0.01, "{first}: {seconds:?}");
    crate::training_time::assert_packs_counted_once(
        &dir.path().join("compare.toml"),
        &packed,
        &alone,
        &runs,
    );

    assert_eval_gives_its_report(&packed.join("ldam-drw/seed-2"));
    // cRT's report keeps its first stage's scores beside the retrained classifier's.
    let crt = read_json(&packed.join("crt/seed-1"), "report.json");
    assert!(crt["stage1"]["balanced_accuracy"].is_f64(), "{crt}");
}

/// A packed run's `model.bpk`, evaluated alone (`eval --run`), gives its report: each of
/// `keys` equal; the report before and after.
#[track_caller]
fn eval_again(run: &Path, keys: &[&str]) -> (Value, Value) {
    let before = read_json(run, "report.json");
    assert_ok(&eval_with(run, &[]));
    let again = read_json(run, "report.json");
    for &key in keys {
        assert_eq!(again[key], before[key], "{key}");
    }
    (before, again)
}

/// A packed run's `model.bpk`, evaluated alone (`eval --run`), gives its report: the class
/// metrics equal, the NLL within 1e-6 (float rounding).
#[track_caller]
fn assert_eval_gives_its_report(run: &Path) {
    let (before, again) = eval_again(run, &["balanced_accuracy", "macro_f1", "accuracy"]);
    let nll = (
        again["nll"].as_f64().unwrap(),
        before["nll"].as_f64().unwrap(),
    );
    assert!((nll.0 - nll.1).abs() < 1e-6, "{nll:?}");
}

/// A packed group killed in training, after the group's checkpoint of epoch 1, continues from
/// that checkpoint in its folder (epoch 1 not trained again). Killed after its training, while
/// its runs' results are written, each unfinished run continues alone from its own checkpoint
/// of the last epoch (nothing trained again). Both end with the uninterrupted sweep's results,
/// and no group folder is left.
#[test]
fn an_interrupted_packed_group_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let config = sweep_config(dir.path());
    let only = ["--pack", "4", "--seeds", "2", "--only", "ce,ins"];
    let whole = dir.path().join("whole");
    assert_ok(&compare(&config, &whole, &only));

    // In training.
    let out = dir.path().join("cut");
    compare_crashing_at(&config, &out, &only, "after-pack-checkpoint");
    let groups: Vec<PathBuf> = std::fs::read_dir(out.join(".packs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert!(groups[0].join("checkpoint/model-1.bpk").is_file());
    let first_epoch =
        |out: &Path| read_json(&out.join("ce/seed-1"), "history.json")["epochs"][0].clone();
    let before = first_epoch(&out);
    // Whatever --pack says now: the group's epoch 1 is in its checkpoint.
    let unpacked = ["--pack", "off", "--seeds", "2", "--only", "ce,ins"];
    let resumed = compare(&config, &out, &unpacked);
    assert_ok_with_stderr(&resumed, "pack of 4:");
    assert_eq!(first_epoch(&out), before);
    // The bar counts the group's checkpointed epochs as done: none is left at the end.
    let err = stderr(&resumed);
    assert!(
        err.lines()
            .any(|l| l.starts_with("[4/4]") && l.ends_with("; done")),
        "{err}"
    );
    assert!(!out.join(".packs").exists());

    // After training, while the runs' results are written (the first run's, here).
    let late = dir.path().join("late");
    compare_crashing_at(&config, &late, &only, "after-checkpoint");
    assert_eq!(std::fs::read_dir(late.join(".packs")).unwrap().count(), 0);
    for run in runs(&late) {
        assert!(
            run.join("checkpoint/model-2.bpk").is_file(),
            "{}",
            run.display()
        );
    }
    let history = read_json(&late.join("ins/seed-2"), "history.json");
    // Such a checkpoint holds the model, not the optimizer's state: it finishes the run, and
    // extending the run from it is refused.
    let run = late.join("ins/seed-2");
    let config_of_run = run.join("config.toml");
    let extended = train_with(
        config_of_run.to_str().unwrap(),
        &run,
        &["train.epochs=4"],
        &["--resume"],
    );
    assert!(!extended.status.success());
    assert!(
        stderr(&extended).contains("but not extended"),
        "{}",
        stderr(&extended)
    );
    let resumed = compare(&config, &late, &only);
    assert_ok(&resumed);
    let err = stderr(&resumed);
    assert!(!err.contains("pack of"), "{err}");
    assert_eq!(read_json(&late.join("ins/seed-2"), "history.json"), history);
    assert!(!late.join(".packs").exists());

    // While the runs get their own checkpoints (after the first's): the group is formed again
    // from its folder's list, whatever the runs that already have one, and trains nothing again.
    let handing = dir.path().join("handing");
    compare_crashing_at(&config, &handing, &only, "during-hand-over");
    let histories = |out: &Path| -> Vec<Value> {
        runs(out)
            .iter()
            .map(|run| read_json(run, "history.json"))
            .collect()
    };
    let before = histories(&handing);
    assert_ok_with_stderr(&compare(&config, &handing, &only), "pack of 4:");
    assert_eq!(histories(&handing), before);
    assert!(!handing.join(".packs").exists());

    for cut in [&out, &late, &handing] {
        for run in runs(cut) {
            let twin = whole.join(run.strip_prefix(cut).unwrap());
            assert_same_run(
                &read_json(&run, "report.json"),
                &read_json(&twin, "report.json"),
                &run,
            );
            assert!(!run.join("checkpoint").exists(), "{}", run.display());
            // Resumed or not, a run's time holds its pack's (which the sweep counts once).
            let shared = read_json(&run, "shared-training.json");
            let wall = read_json(&run, "report.json")["wall_seconds"]
                .as_f64()
                .unwrap();
            assert!(
                shared["training_seconds"].as_f64().unwrap() <= wall,
                "{shared}: {wall}"
            );
        }
    }
}

/// Two weightings over two seeds of the CNN on 28×28 IDX images (class `c` lights rows
/// `2c..2c+3`; 8 to 2 training images a class), augmented (random crops and flips, which each
/// run's own loader draws for its seed, epoch and sample), one epoch: one pack of 4.
fn cnn_sweep_config(dir: &Path) -> PathBuf {
    write_mnist(dir, "train", 8);
    write_mnist(dir, "t10k", 3);
    let text = format!(
        r#"
[data]
source = "idx"
dir = {:?}
profile = {{ kind = "exponential", factor = 4 }}

[model]
kind = "cnn"

[train]
epochs = 1
batch_size = 16
learning_rate = 0.01
augment = true
{}"#,
        dir,
        tiny_variants(&["ce", "ins"])
    );
    write_config(dir, "compare.toml", &text)
}

/// A packed CNN sweep: grouped convolutions, each run's batch norm over its own batch in
/// training and with its own running statistics in validation and evaluation. Every run ends
/// as trained alone and its `model.bpk` (running statistics included) evaluated alone gives its
/// report. The tolerances are [`assert_same_run`]'s and [`assert_same_history`]'s: on flex
/// the reports and histories were observed equal bit for bit (the CNN's grouped convolutions
/// sum in the lone ones' order, `run::pack::conv`'s tests); the margin is for a backend whose
/// grouped kernel orders its sums otherwise (flex's ResNet-32 stem: 1e-7 apart). With 3 test
/// images a class, one changed prediction moves balanced accuracy by 1/30, so 0.005 asks for
/// the same predictions.
#[test]
fn a_packed_cnn_sweep_gives_each_run_its_results_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (packed, alone, err) = packed_and_alone(&cnn_sweep_config(dir.path()), "4");
    assert_eq!(err.matches("pack of 4: ce seed 1").count(), 1, "{err}");
    assert!(!err.contains("train alone"), "{err}");

    assert_eq!(assert_runs_as_alone(&packed, &alone).len(), 4);
    assert_eval_gives_its_report(&packed.join("ins/seed-2"));
}

/// Six multi-label variants over two seeds on the tiny multi-label data, two epochs: sigmoid
/// BCE plain, with INS weights, ENS with deferred re-weighting, `pos_weight`, tuned thresholds,
/// and the sigmoid focal loss (another kind: its own loss pack inside the group).
fn multi_label_sweep_config(dir: &Path) -> PathBuf {
    let base = crate::common::TINY_MULTI_LABEL_COMPARE_BASE.replace("epochs = 1", "epochs = 2");
    let text = format!(
        r#"{base}
[[variants]]
name = "bce"
loss = {{ kind = "sigmoid" }}

[[variants]]
name = "bce-ins"
loss = {{ kind = "sigmoid", scheme = "ins" }}

[[variants]]
name = "bce-ens-drw"
loss = {{ kind = "sigmoid", scheme = "ens", beta = 0.99, drw_start_epoch = 1 }}

[[variants]]
name = "bce-pos-weight"
loss = {{ kind = "sigmoid", pos_weight = "balanced" }}

[[variants]]
name = "bce-tuned"
loss = {{ kind = "sigmoid" }}
eval = {{ thresholds = "tuned" }}

[[variants]]
name = "focal"
loss = {{ kind = "sigmoid-focal", gamma = 2.0 }}
"#
    );
    write_config(dir, "compare.toml", &text)
}

/// The multi-label scores of a packed run's report within 0.005 of its twin's alone, for the
/// reasons of [`assert_same_run`], and the same class weights.
#[track_caller]
fn assert_same_multi_label_run(packed: &Value, alone: &Value, run: &Path) {
    let scores = [
        "macro_f1",
        "micro_f1",
        "mean_average_precision",
        "subset_accuracy",
        "hamming_loss",
    ];
    assert_keys_within(packed, alone, &scores, 0.005, run);
    assert_eq!(
        packed["class_weights"],
        alone["class_weights"],
        "{}",
        run.display()
    );
}

/// A packed multi-label sweep: every run ends as it ends trained alone (its multi-label scores
/// within 0.005, its history's training loss within 1e-4 and validation macro-F1 within 0.005,
/// for the reasons of [`assert_same_run`]), the variants rank alike, and a packed run's model
/// evaluated alone gives its report.
#[test]
fn a_packed_multi_label_sweep_gives_each_run_its_results_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (packed, alone, err) = packed_and_alone(&multi_label_sweep_config(dir.path()), "6");
    // Ten runs train (`bce-tuned` evaluates `bce`'s models): packs of 6 and 4.
    assert_eq!(err.matches("pack of 6:").count(), 1, "{err}");
    assert_eq!(err.matches("pack of 4:").count(), 1, "{err}");
    assert!(!err.contains("train alone"), "{err}");
    let runs = assert_twins(
        &packed,
        &alone,
        assert_same_multi_label_run,
        "valid_macro_f1",
    );
    assert_eq!(runs.len(), 12);
    for run in &runs {
        let history = read_json(run, "history.json");
        assert_eq!(history["epochs"].as_array().unwrap().len(), 2, "{history}");
    }
    let run = packed.join("bce-ens-drw/seed-2");
    eval_again(
        &run,
        &["macro_f1", "mean_average_precision", "subset_accuracy"],
    );
}
