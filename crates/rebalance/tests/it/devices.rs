//! `[train] devices`: one model trained data-parallel on several devices with burn-train's
//! multi-device strategy. The CPU backends have one device, so two flex "devices" are two
//! workers (threads) on it: the strategy runs as on two GPUs (the split cut in two slices,
//! one batch per device per step, the gradients summed), on one CPU.
use std::path::Path;

use crate::common::{assert_one_line_error, train_multi_label, train_with, workspace};
use rebalance::run::config::RunConfig;
use rebalance::run::run_dir::RunDir;
use rebalance::run::training::{TrainOptions, train};
use rebalance::task::SingleLabel;

/// The quickstart, small and easy: 100 samples in the head class, 20 test samples per class,
/// separable classes, 2 epochs.
fn tiny(extra: &[&str]) -> RunConfig {
    let mut sets = vec![
        "train.epochs=2".to_string(),
        "data.difficulty=\"easy\"".to_string(),
        "data.max_per_class=100".to_string(),
        "data.test_per_class=20".to_string(),
        // Several steps per epoch on two devices too.
        "train.batch_size=32".to_string(),
    ];
    sets.extend(extra.iter().map(|s| s.to_string()));
    RunConfig::load(&workspace().join("configs/quickstart.toml"), &sets).unwrap()
}

fn train_into(dir: &Path, config: &RunConfig) -> rebalance::task::single_label::report::Report {
    let options = TrainOptions {
        out: Some(dir.to_path_buf()),
        ..TrainOptions::default()
    };
    train::<SingleLabel>(config, &options).unwrap()
}

#[test]
fn two_devices_train_in_line_with_one() {
    let dir = tempfile::tempdir().unwrap();
    let one = train_into(&dir.path().join("one"), &tiny(&[]));
    let two_config = tiny(&["train.devices=[\"flex:0\", \"flex:1\"]"]);
    assert_eq!(two_config.train.devices.len(), 2);
    let two_dir = dir.path().join("two");
    let two = train_into(&two_dir, &two_config);

    // Both learn (chance is 0.1) and land close together.
    let (a, b) = (one.scores.balanced_accuracy, two.scores.balanced_accuracy);
    assert!(a > 0.3 && b > 0.3, "one device {a}, two devices {b}");
    assert!((a - b).abs() < 0.15, "one device {a}, two devices {b}");
    // Every epoch's training loss reached the history, finite.
    let history = RunDir::new(&two_dir).read_history(2).unwrap();
    assert!(
        history
            .train_loss()
            .iter()
            .all(|l| l.is_finite() && *l > 0.0),
        "{history:?}"
    );
    // The recorded config keeps the devices: their number changes the results.
    let recorded = std::fs::read_to_string(two_dir.join("config.toml")).unwrap();
    let recorded: toml::Table = recorded.parse().unwrap();
    assert_eq!(
        recorded["train"]["devices"],
        toml::Value::from(vec!["flex:0", "flex:1"]),
    );
    eprintln!("balanced accuracy: one device {a:.4}, two devices {b:.4}");
}

/// A two-device run cut after epoch 1 and resumed ends as the uninterrupted one: each
/// device's slice is shuffled as it would have been.
#[test]
fn a_resumed_two_device_run_ends_as_the_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let two = ["train.devices=[\"flex:0\", \"flex:1\"]"];
    let whole = train_into(&dir.path().join("whole"), &tiny(&two));
    let cut = dir.path().join("cut");
    let mut one_epoch = tiny(&two);
    one_epoch.train.epochs = 1;
    train_into(&cut, &one_epoch);
    let options = TrainOptions {
        out: Some(cut.clone()),
        resume: true,
        ..TrainOptions::default()
    };
    let resumed = train::<SingleLabel>(&tiny(&two), &options).unwrap();
    assert_eq!(resumed.confusion, whole.confusion);
    assert_eq!(resumed.calibration.nll, whole.calibration.nll);
}

/// A multi-label run on two devices trains too (rows stratified by their rarest label).
#[test]
fn a_multi_label_run_trains_on_two_devices() {
    let dir = tempfile::tempdir().unwrap();
    let output = train_multi_label(dir.path(), 2, &["train.devices=[\"flex:0\", \"flex:1\"]"]);
    crate::common::assert_ok(&output);
    let report = crate::common::read_json(dir.path(), "report.json");
    let macro_f1 = report["macro_f1"].as_f64().unwrap();
    assert!(macro_f1 > 0.0, "{report}");
}

#[test]
fn devices_of_another_backend_or_malformed_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let run = |set| train_with("configs/quickstart.toml", dir.path(), &[set], &[]);
    assert_one_line_error(
        &run("train.devices=[\"cuda:0\"]"),
        "train.devices = \"cuda:0\": must be devices of train.backend = \"flex\"",
    );
    assert_one_line_error(&run("train.devices=[\"tpu:0\"]"), "train.devices");
    assert_one_line_error(&run("train.devices=[\"flex:x\"]"), "BACKEND:INDEX");
}
