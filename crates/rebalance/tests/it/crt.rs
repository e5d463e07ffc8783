//! cRT (`[train.stage2]`, Kang et al., ICLR 2020): the classifier retrained on frozen features
//! after stage 1, resumable, and with plain cross-entropy unless the config asks otherwise.
use crate::common::{assert_ok, assert_one_line_error, read_json, stderr};
use crate::runs::{eval, metrics, train, train_crashing_at};

/// cRT (`[train.stage2]`): the classifier retrained on frozen features after stage 1; both
/// stages' scores in the report, both stages' epochs in the history. A crash inside stage 2
/// resumes from the stage's own last checkpoint (stage 1 is done) and ends with the
/// uninterrupted run's metrics.
#[test]
fn classifier_retraining_is_a_second_stage_that_resumes() {
    let stage2 = ["--set", "train.stage2={ epochs = 2 }"];
    let whole = tempfile::tempdir().unwrap();
    let trained = train(whole.path(), &stage2);
    assert_ok(&trained);
    // Each stage's epoch lines say which stage they are.
    let lines: Vec<String> = stderr(&trained)
        .lines()
        .filter(|l| l.contains("epoch "))
        .map(|l| l.split("  ").next().unwrap().to_string())
        .collect();
    assert_eq!(
        lines,
        [
            "epoch 1/2",
            "epoch 2/2",
            "stage 2: epoch 1/2",
            "stage 2: epoch 2/2"
        ],
        "{}",
        stderr(&trained)
    );
    let report = read_json(whole.path(), "report.json");
    let stage1 = &report["stage1"];
    assert!(stage1["balanced_accuracy"].is_f64(), "{report}");
    assert_ne!(stage1["per_class_recall"], report["per_class_recall"]);
    let history = read_json(whole.path(), "history.json");
    assert_eq!(history["epochs"].as_array().unwrap().len(), 4, "{history}");
    assert!(whole.path().join("stage2").is_dir());
    let md = std::fs::read_to_string(whole.path().join("report.md")).unwrap();
    assert!(
        md.contains("stage 1 (before the classifier was retrained)"),
        "{md}"
    );

    // Stage 1 alone is the run without stage 2: the same first two epochs.
    let plain = tempfile::tempdir().unwrap();
    assert_ok(&train(plain.path(), &[]));
    assert_eq!(
        metrics(&read_json(plain.path(), "report.json"))[..5],
        [
            stage1["accuracy"].clone(),
            stage1["balanced_accuracy"].clone(),
            stage1["macro_f1"].clone(),
            stage1["g_mean"].clone(),
            stage1["per_class_recall"].clone(),
        ]
    );

    let cut = tempfile::tempdir().unwrap();
    train_crashing_at(cut.path(), "after-checkpoint", &stage2);
    // As a crash after stage 2's first epoch leaves the run: the stage's checkpoint of its
    // epoch 2 not written yet.
    let checkpoints = cut.path().join("stage2/checkpoint");
    for part in ["model", "optim", "scheduler"] {
        std::fs::remove_file(checkpoints.join(format!("{part}-2.bpk"))).unwrap();
    }
    let first_epoch = |dir: &std::path::Path| read_json(dir, "history.json")["epochs"][2].clone();
    let before = first_epoch(cut.path());
    let mut resume = stage2.to_vec();
    resume.push("--resume");
    let resumed = train(cut.path(), &resume);
    assert_ok(&resumed);
    // Stage 2 continues from its own checkpoint: only its second epoch is trained again.
    let err = stderr(&resumed);
    assert!(
        err.contains("cRT's second stage continues after its epoch 1"),
        "{err}"
    );
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("epoch ")).collect();
    assert!(
        lines.iter().all(|l| !l.contains("stage 2: epoch 1/2")),
        "{err}"
    );
    assert_eq!(first_epoch(cut.path()), before);
    // The run's log counts both stages: after stage 1's 2 epochs and stage 2's first.
    let log = std::fs::read_to_string(cut.path().join("experiment.log")).unwrap();
    assert!(log.contains("continues after epoch 3, to epoch 4"), "{log}");
    assert_eq!(
        metrics(&read_json(cut.path(), "report.json")),
        metrics(&report)
    );

    // eval rebuilds the retrained model and keeps stage 1's record.
    assert_ok(&eval(whole.path()));
    let again = read_json(whole.path(), "report.json");
    assert_eq!(metrics(&again), metrics(&report));
    assert_eq!(again["stage1"], report["stage1"]);

    // A stage without epochs is refused up front.
    assert_one_line_error(
        &train(
            cut.path(),
            &["--set", "train.stage2={ epochs = 0 }", "--overwrite"],
        ),
        "train.stage2.epochs = 0: must be >= 1",
    );
}

/// cRT as Kang et al. define it: the second stage retrains the classifier with plain
/// cross-entropy, whatever stage 1's loss, so that class-balanced sampling is its only
/// correction. A weighted second stage is there when the config asks for it, and `eval`
/// rebuilds either.
#[test]
fn classifier_retraining_uses_plain_cross_entropy_unless_asked() {
    let ens = ["--set", "loss.scheme=\"ens\""];
    let run = |stage2: &str| {
        let dir = tempfile::tempdir().unwrap();
        let set = format!("train.stage2={stage2}");
        let mut extra = ens.to_vec();
        extra.extend(["--set", set.as_str()]);
        assert_ok(&train(dir.path(), &extra));
        let report = read_json(dir.path(), "report.json");
        (dir, report)
    };
    let (default_dir, default) = run("{ epochs = 2 }");
    let (_plain_dir, plain) = run("{ epochs = 2, loss = { kind = \"cross-entropy\" } }");
    let (weighted_dir, weighted) =
        run("{ epochs = 2, loss = { kind = \"cross-entropy\", scheme = \"ens\" } }");
    // Stage 1 is the same ENS-weighted training in all three.
    assert_eq!(default["stage1"], weighted["stage1"]);
    // The report names the loss that trained the final classifier: stage 2's.
    assert_eq!(
        (&default["loss"], &default["scheme"]),
        (&"cross-entropy".into(), &"uniform".into())
    );
    assert_eq!(weighted["scheme"], "ens");
    assert!(
        default["class_weights"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w == 1.0),
        "{default}"
    );
    // The default second stage is the plain one, not stage 1's weighted loss.
    assert_eq!(metrics(&default), metrics(&plain));
    assert_ne!(metrics(&default), metrics(&weighted));
    // The recorded config keeps the stage's loss, so eval rebuilds the retrained model.
    let config = std::fs::read_to_string(weighted_dir.path().join("config.toml")).unwrap();
    assert!(config.contains("[train.stage2.loss]"), "{config}");
    for (dir, report) in [(&default_dir, &default), (&weighted_dir, &weighted)] {
        assert_ok(&eval(dir.path()));
        assert_eq!(
            metrics(&read_json(dir.path(), "report.json")),
            metrics(report)
        );
    }
    // The stage's weights hold from its first epoch: no DRW start inside it.
    let dir = tempfile::tempdir().unwrap();
    assert_one_line_error(
        &train(
            dir.path(),
            &[
                "--set",
                "train.stage2={ epochs = 2, loss = { scheme = \"ens\", drw_start_epoch = 2 } }",
            ],
        ),
        "train.stage2.loss.drw_start_epoch = 2: must be left out",
    );
    // A stage loss that cannot be built for the counts is refused before the run directory
    // is touched, not after stage 1 has trained.
    let early = tempfile::tempdir().unwrap();
    let run = early.path().join("run");
    let refused = train(
        &run,
        &[
            "--set",
            "train.stage2={ epochs = 1, loss = { scheme = \"custom\", custom_weights = [1.0, 2.0] } }",
        ],
    );
    assert!(!refused.status.success());
    assert_eq!(crate::common::stderr(&refused).lines().count(), 1);
    assert!(!run.join("config.toml").exists());
    // A bad key in the stage's loss names its path.
    assert_one_line_error(
        &train(
            dir.path(),
            &[
                "--set",
                "train.stage2={ epochs = 2, loss = { gamma = 2.0 } }",
            ],
        ),
        "train.stage2.loss",
    );
}
