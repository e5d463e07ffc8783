//! The config's loading, overrides and checks.

use super::*;
use rebalance_loss::{LdamKeys, LossKind};

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

/// The config of the TOML `text`, as read from the file `f.toml`.
fn from_toml(text: &str) -> Result<RunConfig, ConfigError> {
    RunConfig::from_table(toml::from_str(text).unwrap(), "f.toml")
}

/// The message of the error [`from_toml`] gives for `text`.
fn error_of(text: &str) -> String {
    from_toml(text).unwrap_err().to_string()
}

/// `text` starts with `prefix`; `text` is the failure message otherwise.
#[track_caller]
fn assert_starts_with(text: &str, prefix: &str) {
    assert!(text.starts_with(prefix), "{text}");
}

#[test]
fn reference_toml_lists_the_defaults() {
    let reference = RunConfig::load(&configs().join("reference.toml"), &[]).unwrap();
    assert_eq!(reference, RunConfig::default());
}

#[test]
fn shipped_configs_load() {
    for name in [
        "quickstart.toml",
        "synthetic-lt100.toml",
        "mnist-lt.toml",
        "fashion-mnist-lt.toml",
        "cifar10-lt.toml",
    ] {
        let config = RunConfig::load(&configs().join(name), &[]).unwrap();
        assert!(config.loss.weighting().is_some(), "{name}");
    }
    for name in ["multilabel.toml", "multilabel-csv.toml"] {
        let config = RunConfig::load(&configs().join(name), &[]).unwrap();
        assert_eq!(config.data.task, Task::MultiLabel, "{name}");
        assert_eq!(config.eval.thresholds, ThresholdRule::Tuned, "{name}");
        config.loss.check_multi_label().unwrap();
    }
}

#[test]
fn set_overrides_and_creates_keys() {
    let path = configs().join("quickstart.toml");
    let sets = [
        "train.epochs=3".to_string(),
        "loss.kind=\"focal\"".to_string(),
        "loss.scheme=ins".to_string(),
        "model.hidden=[8]".to_string(),
        "data.profile={ kind = \"step\", factor = 10 }".to_string(),
    ];
    let config = RunConfig::load(&path, &sets).unwrap();
    assert_eq!(config.train.epochs, 3);
    assert_eq!(config.loss.kind(), LossKind::Focal);
    assert_eq!(
        config.loss.weighting().map(|w| &w.scheme),
        Some(&rebalance_weights::Scheme::Ins)
    );
    assert_eq!(config.model.hidden, [8]);
    assert_eq!(
        config.data.profile,
        rebalance_data::ImbalanceProfile::Step {
            factor: 10.0,
            minority_fraction: 0.5
        }
    );
    let err = RunConfig::load(&path, &["train.epochs".to_string()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--set train.epochs: expected key=value, as in train.epochs=3"
    );
    let err = RunConfig::load(&path, &["train.epochs=0".to_string()]).unwrap_err();
    assert_eq!(err.to_string(), "train.epochs = 0: must be in 1..=100000");
    let err = RunConfig::load(&path, &["train.step_epochs=[10]".to_string()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "train.step_factors = []: must be one factor per step epoch (1 given)"
    );
}

#[test]
fn loss_section_maps_to_the_library() {
    let config = from_toml(
        "[train]\nepochs = 200\n[loss]\nkind = \"ldam\"\nscheme = \"ens\"\nbeta = 0.999\n\
             drw_start_epoch = 160",
    )
    .unwrap();
    match &config.loss {
        LossConfig::Ldam(LdamKeys {
            weights: Some(w), ..
        }) => {
            assert_eq!(w.scheme, rebalance_weights::Scheme::Ens { beta: 0.999 });
            // 1-based epoch 160 is the library's epoch 159.
            assert_eq!(w.start_epoch, 159);
        }
        other => panic!("{other:?}"),
    }
    let config = from_toml("[loss]\nkind = \"ldam\"\nscheme = \"uniform\"").unwrap();
    assert!(matches!(
        config.loss,
        LossConfig::Ldam(LdamKeys { weights: None, .. })
    ));
    // The resolved config names the 1-based epoch again.
    let written = from_toml(
        "[train]\nepochs = 200\n[loss]\nkind = \"ldam\"\nscheme = \"ens\"\ndrw_start_epoch = 160",
    )
    .unwrap()
    .to_toml()
    .unwrap();
    assert!(written.contains("drw_start_epoch = 160"), "{written}");
}

#[test]
fn loss_errors_name_the_loss_key() {
    assert_starts_with(
        &error_of("[loss]\nkind = \"ldam\"\ngamma = 1.0"),
        "f.toml: loss.gamma does not apply to kind = \"ldam\"",
    );
    assert_eq!(
        error_of("[loss]\nkind = \"focal\"\ngamma = -1.0"),
        "loss.gamma = -1: must be finite and >= 0"
    );
    assert_eq!(
        error_of("[loss]\nreduction = \"avg\""),
        "f.toml: loss.reduction: unknown reduction \"avg\": expected one of weighted-mean, \
         mean, sum, none"
    );
}

#[test]
fn every_section_is_checked_before_anything_loads() {
    // Nothing is generated or read: a CSV that does not exist is not opened here.
    assert_starts_with(
        &error_of("[data]\nprofile = { kind = \"exponential\", factor = 0.5 }"),
        "data.profile.factor = 0.5: must be >= 1",
    );
    assert_eq!(
        error_of("[data]\nsource = \"csv\"\ntrain = \"x.csv\""),
        "data.source = \"csv\": must be given with data.test"
    );
    assert_eq!(
        error_of("[data]\nclass_sep = -1.0"),
        "data.class_sep = -1: must be finite and > 0"
    );
    assert_starts_with(
        &error_of("[train]\nbackend = \"tpu\""),
        "f.toml: train.backend: unknown backend \"tpu\": expected one of flex, ndarray, wgpu, \
         cuda, tch",
    );
    let config = from_toml("[train]\nbackend = \"WGPU\"").unwrap();
    assert_eq!(config.train.backend, Backend::Wgpu);
}

#[test]
fn the_recorded_config_fills_in_the_synthetic_defaults() {
    let config = RunConfig::from_table(toml::Table::new(), "f").unwrap();
    let written = config.to_toml().unwrap();
    for key in [
        "features = 16",
        "informative = 8",
        "max_per_class = 5000",
        "test_per_class = 1000",
        "backend = \"flex\"",
    ] {
        assert!(written.contains(key), "{key} missing from\n{written}");
    }
    let again = from_toml(&written).unwrap();
    assert_eq!(again, config);
    // A file source records no generator keys (they would be errors there).
    let csv = from_toml("[data]\nsource = \"csv\"\ntrain = \"a\"\ntest = \"b\"").unwrap();
    assert_eq!(csv.data.features, None);
}

#[test]
fn settings_that_would_be_ignored_or_misused_are_refused() {
    let refuse = |text: &str, expected: &str| {
        let err = error_of(text);
        assert!(err.contains(expected), "{text}: {err}");
    };
    refuse(
        "[loss]\nreduction = \"none\"",
        "loss.reduction = \"none\": must be",
    );
    refuse(
        "[loss]\nscheme = \"ins\"\ndrw_start_epoch = 31",
        "loss.drw_start_epoch = 31: must be <= train.epochs = 30",
    );
    refuse(
        "[train]\nschedule = \"cosine\"\nstep_epochs = [5]\nstep_factors = [0.1]",
        "train.step_epochs = [5]: must be empty unless schedule = \"step\"",
    );
    refuse(
        "[loss]\nkind = \"class-balanced\"\nbase = \"softmax\"\ngamma = 1.0",
        "gamma = 1: must be given only with base = \"focal\"",
    );
    refuse(
        "[data]\nvalidation_per_class = 10\nvalidation_fraction = 0.2",
        "data.validation_fraction = 0.2: must be 0 when data.validation_per_class is set",
    );
    // The last epoch is still a valid start.
    let last = "[loss]\nscheme = \"ins\"\ndrw_start_epoch = 30";
    assert!(from_toml(last).is_ok());
}
