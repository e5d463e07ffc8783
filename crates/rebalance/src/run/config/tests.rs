//! The config's loading, overrides and checks.

use super::*;
use rebalance_loss::{LdamKeys, LossKind};

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
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
    let table = |text: &str| toml::from_str::<toml::Table>(text).unwrap();
    let config = RunConfig::from_table(
        table(
            "[train]\nepochs = 200\n[loss]\nkind = \"ldam\"\nscheme = \"ens\"\nbeta = 0.999\n\
             drw_start_epoch = 160",
        ),
        "test",
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
    let config = RunConfig::from_table(
        table("[loss]\nkind = \"ldam\"\nscheme = \"uniform\""),
        "test",
    )
    .unwrap();
    assert!(matches!(
        config.loss,
        LossConfig::Ldam(LdamKeys { weights: None, .. })
    ));
    // The resolved config names the 1-based epoch again.
    let written = RunConfig::from_table(
        table("[train]\nepochs = 200\n[loss]\nkind = \"ldam\"\nscheme = \"ens\"\ndrw_start_epoch = 160"),
        "test",
    )
    .unwrap()
    .to_toml()
    .unwrap();
    assert!(written.contains("drw_start_epoch = 160"), "{written}");
}

#[test]
fn loss_errors_name_the_loss_key() {
    let table = |text: &str| toml::from_str::<toml::Table>(text).unwrap();
    let err =
        RunConfig::from_table(table("[loss]\nkind = \"ldam\"\ngamma = 1.0"), "f.toml").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("f.toml: loss.gamma does not apply to kind = \"ldam\""),
        "{err}"
    );
    let err = RunConfig::from_table(table("[loss]\nkind = \"focal\"\ngamma = -1.0"), "f.toml")
        .unwrap_err();
    assert_eq!(err.to_string(), "loss.gamma = -1: must be finite and >= 0");
    let err = RunConfig::from_table(table("[loss]\nreduction = \"avg\""), "f.toml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "f.toml: loss.reduction: unknown reduction \"avg\": expected one of weighted-mean, \
         mean, sum, none"
    );
}

#[test]
fn every_section_is_checked_before_anything_loads() {
    let table = |text: &str| toml::from_str::<toml::Table>(text).unwrap();
    // Nothing is generated or read: a CSV that does not exist is not opened here.
    let err = RunConfig::from_table(
        table("[data]\nprofile = { kind = \"exponential\", factor = 0.5 }"),
        "f.toml",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("data.profile.factor = 0.5: must be >= 1"),
        "{err}"
    );
    let err = RunConfig::from_table(table("[data]\nsource = \"csv\"\ntrain = \"x.csv\""), "f")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "data.source = \"csv\": must be given with data.test"
    );
    let err = RunConfig::from_table(table("[data]\nclass_sep = -1.0"), "f").unwrap_err();
    assert_eq!(
        err.to_string(),
        "data.class_sep = -1: must be finite and > 0"
    );
    let err = RunConfig::from_table(table("[train]\nbackend = \"tpu\""), "f.toml").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("f.toml: train.backend: unknown backend \"tpu\": expected one of flex, ndarray, wgpu, cuda, tch"),
        "{err}"
    );
    let config = RunConfig::from_table(table("[train]\nbackend = \"WGPU\""), "f").unwrap();
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
    let again = RunConfig::from_table(toml::from_str(&written).unwrap(), "f").unwrap();
    assert_eq!(again, config);
    // A file source records no generator keys (they would be errors there).
    let csv = RunConfig::from_table(
        toml::from_str("[data]\nsource = \"csv\"\ntrain = \"a\"\ntest = \"b\"").unwrap(),
        "f",
    )
    .unwrap();
    assert_eq!(csv.data.features, None);
}

#[test]
fn settings_that_would_be_ignored_or_misused_are_refused() {
    let table = |text: &str| toml::from_str::<toml::Table>(text).unwrap();
    let refuse = |text: &str, expected: &str| {
        let err = RunConfig::from_table(table(text), "f")
            .unwrap_err()
            .to_string();
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
    assert!(RunConfig::from_table(table(last), "f").is_ok());
}
