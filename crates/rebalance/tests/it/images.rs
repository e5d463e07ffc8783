//! The image models on tiny IDX (MNIST-style) and CIFAR-10 files written by the tests.
use std::path::Path;
use std::process::Output;

use crate::common::{
    assert_ok, assert_one_line_error, confusion_total, read_json, stderr, write_config,
};
use rebalance_testing::{cifar_batch, idx};
use serde_json::Value;

/// `per_class` 28×28 images of each of 10 classes: class `c` lights row block `c`.
pub(crate) fn write_mnist(dir: &Path, prefix: &str, per_class: usize) {
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for i in 0..per_class * 10 {
        let class = i % 10;
        let mut image = vec![0u8; 28 * 28];
        for row in class * 2..class * 2 + 3 {
            for col in 0..28 {
                image[row * 28 + col] = 200 + (i % 50) as u8;
            }
        }
        images.extend(image);
        labels.push(class as u8);
    }
    let n = (per_class * 10) as u32;
    std::fs::write(
        dir.join(format!("{prefix}-images-idx3-ubyte")),
        idx(&[n, 28, 28], &images),
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("{prefix}-labels-idx1-ubyte")),
        idx(&[n], &labels),
    )
    .unwrap();
}

/// CIFAR-10 binary files in `dir`: the five training batches and the test batch, each of
/// `records`.
fn write_cifar(dir: &Path, records: &[(u8, u8)]) {
    for b in 1..=5 {
        std::fs::write(
            dir.join(format!("data_batch_{b}.bin")),
            cifar_batch(records),
        )
        .unwrap();
    }
    std::fs::write(dir.join("test_batch.bin"), cifar_batch(records)).unwrap();
}

/// `rebalance train` on `config`, written to `dir`; the run's report.
fn run(config: &str, dir: &Path) -> Value {
    let path = write_config(dir, "config.toml", config);
    let out = dir.join("run");
    assert_ok(&train_with(&path, &out, &[]));
    read_json(&out, "report.json")
}

/// `rebalance train --config path --out run`, then `extra`.
fn train_with(path: &Path, run: &Path, extra: &[&str]) -> Output {
    crate::common::train_with(path.to_str().unwrap(), run, &[], extra)
}

#[test]
fn cnn_on_idx_images() {
    let dir = tempfile::tempdir().unwrap();
    write_mnist(dir.path(), "train", 20);
    write_mnist(dir.path(), "t10k", 3);
    let report = run(
        &format!(
            "[data]\nsource = \"idx\"\ndir = {:?}\nprofile = {{ kind = \"exponential\", factor = 4 }}\n\
             [model]\nkind = \"cnn\"\n[loss]\nscheme = \"ins\"\n[train]\nepochs = 2\nbatch_size = 32\nlearning_rate = 0.01\n",
            dir.path()
        ),
        dir.path(),
    );
    assert_eq!(report["train_counts"][0], 20);
    assert_eq!(report["train_counts"][9], 5);
    assert_eq!(report["per_class_recall"].as_array().unwrap().len(), 10);
    // Ten trivially separable patterns: well above chance after two epochs.
    assert!(
        report["balanced_accuracy"].as_f64().unwrap() > 0.3,
        "{}",
        report["balanced_accuracy"]
    );
}

#[test]
fn resnet32_on_cifar_files() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<(u8, u8)> = (0..10u8).map(|c| (c, c * 25)).collect();
    write_cifar(dir.path(), &records);
    let report = run(
        &format!(
            "[data]\nsource = \"cifar10\"\ndir = {:?}\nprofile = {{ kind = \"step\", factor = 5 }}\n\
             [model]\nkind = \"resnet32\"\ncosine_head = true\n[loss]\nkind = \"ldam\"\n\
             [train]\nepochs = 1\nbatch_size = 16\noptimizer = \"sgd-momentum\"\nlearning_rate = 0.05\nweight_decay = 2e-4\n\
             schedule = \"step\"\nwarmup_epochs = 1\nstep_epochs = [2]\nstep_factors = [0.1]\naugment = true\n",
            dir.path()
        ),
        dir.path(),
    );
    assert_eq!(report["loss"], "ldam");
    assert_eq!(
        report["train_counts"],
        serde_json::json!([5, 5, 5, 5, 5, 1, 1, 1, 1, 1])
    );
    assert_eq!(confusion_total(&report), 10);
}

#[test]
fn an_image_model_needs_images() {
    let dir = tempfile::tempdir().unwrap();
    let train = |config: &str| {
        let path = write_config(dir.path(), "c.toml", config);
        train_with(&path, &dir.path().join("run"), &[])
    };
    let output =
        train("[model]\nkind = \"resnet32\"\n[data]\nmax_per_class = 100\ntest_per_class = 5\n");
    assert!(!output.status.success());
    let err = stderr(&output);
    assert_eq!(
        err.trim(),
        "error: model.kind = resnet32: needs 32×32 images [channels, 32, 32], but the data's samples have shape [16]"
    );
    let output =
        train("[train]\naugment = true\n[data]\nmax_per_class = 100\ntest_per_class = 5\n");
    assert_one_line_error(&output, "train.augment = true: needs images");
}

/// Issue 27, item 16: a run with `train.augment` resumed after its first epoch draws the
/// crops and flips of the uninterrupted run, and ends with its metrics.
#[test]
fn an_augmented_run_resumes_exactly() {
    assert_augmented_run_resumes_exactly("");
}

/// The same on two devices, each batching its slice on its own thread, with two loading
/// workers each: the crops do not depend on which thread draws first. (One device and two
/// train apart anyway, their slices and summed gradients being other batches: that the
/// crops are the same whatever the threads is `augment.rs`'s test.)
#[test]
fn an_augmented_two_device_run_resumes_exactly() {
    assert_augmented_run_resumes_exactly("devices = [\"flex:0\", \"flex:1\"]\nworkers = 2\n");
}

/// An augmented run on CIFAR-style files, cut after epoch 1 and resumed, ends with the
/// scores and confusion of the uninterrupted run; `train_keys` are added to its `[train]`.
fn assert_augmented_run_resumes_exactly(train_keys: &str) {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<(u8, u8)> = (0..40u8).map(|i| (i % 10, i * 6)).collect();
    write_cifar(dir.path(), &records);
    let config = |epochs: usize| {
        format!(
            "[data]\nsource = \"cifar10\"\ndir = {:?}\nprofile = {{ kind = \"none\" }}\n\
             [model]\nkind = \"mlp\"\nhidden = [16]\n\
             [train]\nepochs = {epochs}\nbatch_size = 16\naugment = true\n{train_keys}",
            dir.path()
        )
    };
    let (whole, cut) = (dir.path().join("whole"), dir.path().join("cut"));
    // The whole run; the cut one's first epoch, then its resume to the second.
    for (epochs, out, extra) in [
        (2, &whole, &[][..]),
        (1, &cut, &[]),
        (2, &cut, &["--resume"]),
    ] {
        let path = write_config(dir.path(), "c.toml", &config(epochs));
        assert_ok(&train_with(&path, out, extra));
    }
    let scores = |run: &Path| {
        let report = read_json(run, "report.json");
        (report["scores"].clone(), report["confusion"].clone())
    };
    assert_eq!(scores(&cut), scores(&whole));
}
