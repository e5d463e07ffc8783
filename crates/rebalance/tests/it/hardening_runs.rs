//! Regression tests of issue 27 (nothing lost, round three): adjustments that would make every
//! score NaN are refused, with one line, before anything is written.
use crate::common::{assert_ok, assert_one_line_error, eval_with, read_json, rebalance};
use crate::runs::train;

#[test]
fn adjustments_that_overflow_are_refused_before_anything_is_written() {
    // A post-hoc τ whose shift overflows f32: refused before the run directory is touched.
    let dir = tempfile::tempdir().unwrap();
    let never = dir.path().join("never");
    assert_one_line_error(
        &train(&never, &["--set", "eval.posthoc_tau=1e300"]),
        "eval.posthoc_tau = 1e300: the shift τ · log π of class 0",
    );
    assert!(!never.exists());

    // eval's adjustments of a finished run: refused, its report left as it was.
    let run = dir.path().join("run");
    assert_ok(&train(&run, &[]));
    let report = read_json(&run, "report.json");
    assert_one_line_error(
        &eval_with(&run, &["--posthoc-tau", "1e300"]),
        "--posthoc-tau 1e300: the shift τ · log π of class 0",
    );
    assert_one_line_error(
        &eval_with(&run, &["--tau-norm", "1e9"]),
        "--tau-norm 1e9: the normalised class weights are not finite",
    );
    assert_eq!(read_json(&run, "report.json"), report);
    assert!(!run.join("report-tau-1e300.json").exists());
    assert!(!run.join("report-tau-norm-1e9.json").exists());
}

/// Issue 27, item 4: a finished run's config is part of what `eval` checks: an edited setting
/// (`data.seed`) is refused, naming the file, where the backend, workers and directory may
/// change.
#[test]
fn eval_refuses_a_config_changed_after_the_run_finished() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    assert_ok(&train(&run, &[]));
    let report = read_json(&run, "report.json");
    let config = run.join("config.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, original.replace("workers = 0", "workers = 1")).unwrap();
    assert_ok(&eval_with(&run, &[]));
    let seeded = original.replacen("seed = 1", "seed = 2", 1);
    assert_ne!(seeded, original);
    std::fs::write(&config, &seeded).unwrap();
    assert_one_line_error(
        &eval_with(&run, &[]),
        "config.toml was changed after the run finished (in data.seed): the model was trained",
    );
    // A removed key (back to its default) and a changed one are both named.
    let edited = seeded.replace("class_sep = ", "# class_sep = ");
    assert_ne!(edited, seeded);
    std::fs::write(&config, edited).unwrap();
    assert_one_line_error(
        &eval_with(&run, &[]),
        "changed after the run finished (in data.class_sep, data.seed)",
    );
    assert_eq!(read_json(&run, "report.json")["scores"], report["scores"]);
}

/// Issue 27, item 14: `--scheme custom` shows its syntax; `eval` of an unfinished run is one
/// line that says how to finish it, without an OS error after it.
#[test]
fn messages_show_the_way_on() {
    assert_one_line_error(
        &rebalance(&["weights", "--counts", "10,5", "--scheme", "custom"]),
        "--scheme custom: give the weights with the scheme, one per class, as --scheme \
         custom:W0,W1,... (here 2 of them)",
    );
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    crate::runs::train_crashing_at(&run, "after-model", &[]);
    let output = eval_with(&run, &[]);
    assert_one_line_error(
        &output,
        "is not finished (it has no finished marker); complete it",
    );
    let err = crate::common::stderr(&output);
    assert!(err.trim_end().ends_with("--resume`"), "{err}");
}

/// Issue 27, items 15 and 18: devices named twice, a CPU worker beyond the cores, and a number
/// of epochs no schedule has are refused, naming the key.
#[test]
fn absurd_devices_and_epochs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    for (set, expected) in [
        (
            "train.devices=[\"flex:0\", \"flex:0\"]",
            "train.devices = \"flex:0\" (entry 2): must be each device once",
        ),
        (
            "train.devices=[\"flex:1000\"]",
            "train.devices = \"flex:1000\": must be workers of the CPU's one device, flex:0 to",
        ),
        (
            "train.epochs=10000000",
            "train.epochs = 10000000: must be in 1..=100000",
        ),
        (
            "train.stage2={ epochs = 10000000 }",
            "train.stage2.epochs = 10000000: must be in 1..=100000",
        ),
    ] {
        assert_one_line_error(&train(&run, &["--set", set]), expected);
    }
    // Custom weights counted against the data's classes name their table's key.
    // (After the note that the quickstart's beta goes with its old scheme.)
    let custom = train(
        &run,
        &[
            "--set",
            "loss.scheme=\"custom\"",
            "--set",
            "loss.custom_weights=[1, 2]",
        ],
    );
    let err = crate::common::stderr(&custom);
    assert!(!custom.status.success(), "{err}");
    assert!(
        err.trim_end().ends_with(
            "error: loss.custom_weights = [2 values]: must be 10 weights, one per class of the data"
        ),
        "{err}"
    );
    assert_one_line_error(
        &train(
            &run,
            &[
                "--set",
                "train.stage2={ epochs = 1, loss = { kind = \"cross-entropy\", scheme = \"custom\", custom_weights = [1] } }",
            ],
        ),
        "train.stage2.loss.custom_weights = [1 values]",
    );
    assert!(!run.exists());
}

/// Issue 27, item 12: a model that does not fit its config (a run finished before the marker
/// recorded the config, then `model.hidden` edited) is one short line naming config.toml, not
/// Burn's list of every tensor's shapes.
#[test]
fn a_model_that_does_not_fit_its_config_names_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    assert_ok(&train(&run, &[]));
    let config = run.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let edited = text.replacen("hidden = [\n    128,\n    128,\n]", "hidden = [64]", 1);
    assert_ne!(edited, text);
    std::fs::write(&config, edited).unwrap();
    // The marker as runs finished before it recorded the config.
    crate::runs::refinish(&run);
    let output = eval_with(&run, &[]);
    assert_one_line_error(&output, "its weights do not fit the model");
    assert!(crate::common::stderr(&output).len() < 400);
}
