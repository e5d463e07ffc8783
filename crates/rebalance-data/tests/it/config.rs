//! `DataConfig` end to end: TOML in, long-tailed splits out.
use std::path::Path;

use rebalance_data::{DataConfig, DataSource, read_csv_pair};

fn config(text: &str) -> DataConfig {
    toml::from_str(text).unwrap()
}

/// The message of the error that loading the config `text` gives.
fn load_error(text: &str) -> String {
    config(text).load().unwrap_err().to_string()
}

/// The message of the error that validating the config `text` gives.
fn validate_error(text: &str) -> String {
    config(text).validate().unwrap_err().to_string()
}

#[test]
fn synthetic_defaults() {
    let data = config("max_per_class = 200\ntest_per_class = 20")
        .load()
        .unwrap();
    let summary = data.summary();
    assert_eq!(summary.num_classes, 10);
    assert_eq!(summary.feature_shape, [16]);
    assert_eq!(
        summary.splits["train"].counts,
        [200, 119, 71, 43, 25, 15, 9, 5, 3, 2]
    );
    assert_eq!(summary.splits["test"].counts, [20; 10]);
    assert_eq!(summary.imbalance_factor, 100.0);
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["splits"]["train"]["counts"][0], 200);
    assert_eq!(json["num_classes"], 10);
}

#[test]
fn same_config_same_data() {
    let text = "max_per_class = 100\ntest_per_class = 5\nseed = 9";
    assert_eq!(config(text).load().unwrap(), config(text).load().unwrap());
    assert_ne!(
        config(text).load().unwrap().train,
        config("max_per_class = 100\ntest_per_class = 5\nseed = 10")
            .load()
            .unwrap()
            .train
    );
}

#[test]
fn keys_of_another_source_and_unknown_keys_are_errors() {
    let err = load_error("dir = \"/tmp\"");
    assert_eq!(
        err,
        "data.source = \"synthetic\" with data.dir: must be the source that uses data.dir, or data.dir removed"
    );
    let err = toml::from_str::<DataConfig>("sorce = \"csv\"").unwrap_err();
    assert!(err.message().contains("sorce"), "{err}");
    let err = load_error("source = \"idx\"");
    assert_eq!(err, "data.source = \"idx\": must be given with data.dir");
    let err = load_error("profile = { kind = \"exponential\", factor = 0.5 }");
    assert!(err.starts_with("data.profile.factor = 0.5: must be >= 1"));
    let err = load_error("num_classes = 1");
    assert_eq!(err, "data.num_classes = 1: must be >= 2");
    let err = load_error("label_noise = 1.5");
    assert_eq!(err, "data.label_noise = 1.5: must be in [0, 1)");
}

fn write_csv(path: &Path, rows: usize, classes: usize) {
    let mut text = String::from("x,y,label\n");
    for i in 0..rows {
        text += &format!("{},{},{}\n", i as f32 * 0.5, (i % 7) as f32, i % classes);
    }
    std::fs::write(path, text).unwrap();
}

/// `none` keeps a file's training split as it is; `balanced` cuts every class to the smallest
/// (or to `max_per_class`).
#[test]
fn csv_source_as_it_is_or_balanced() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    // Class 0 every second row: 100, 50, 50 of 200.
    let mut text = String::from("x,y,label\n");
    for i in 0..200 {
        let label = if i % 2 == 0 { 0 } else { 1 + (i / 2) % 2 };
        text += &format!("{i},{},{label}\n", i % 3);
    }
    std::fs::write(&train, text).unwrap();
    write_csv(&test, 30, 3);
    let with = |profile: &str, extra: &str| {
        format!(
            "source = \"csv\"\nnum_classes = 3\ntrain = {train:?}\ntest = {test:?}\n\
             profile = {{ kind = \"{profile}\" }}\n{extra}"
        )
    };
    let counts = |text: &str| {
        config(text).load().unwrap().summary().splits["train"]
            .counts
            .clone()
    };
    assert_eq!(counts(&with("none", "")), [100, 50, 50]);
    assert_eq!(counts(&with("balanced", "")), [50, 50, 50]);
    assert_eq!(
        counts(&with("balanced", "max_per_class = 20")),
        [20, 20, 20]
    );
    let err = validate_error(&with("none", "max_per_class = 20"));
    assert!(
        err.starts_with(
            "data.max_per_class = 20: must be left out with profile = { kind = \"none\" }, which \
             keeps the training split as it is"
        ),
        "{err}"
    );
}

#[test]
fn csv_source_with_a_profile_and_validation() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    write_csv(&train, 300, 3); // 100 per class
    write_csv(&test, 30, 3);
    // The two files as a CSV source, with `keys` after them.
    let csv = |keys: &str| format!("source = \"csv\"\ntrain = {train:?}\ntest = {test:?}\n{keys}");
    let text = csv(
        "num_classes = 3\nprofile = { kind = \"exponential\", factor = 10 }\n\
         validation_fraction = 0.2",
    );
    let data = config(&text).load().unwrap();
    assert_eq!(data.feature_shape, [2]);
    let summary = data.summary();
    // 100 · 10^(-i/2) = [100, 31, 10]; then 20 % of each class held out.
    assert_eq!(summary.splits["train"].counts, [80, 25, 8]);
    assert_eq!(summary.splits["validation"].counts, [20, 6, 2]);
    assert_eq!(summary.splits["test"].counts, [10, 10, 10]);

    let err = load_error(&csv("num_classes = 3\nmax_per_class = 150"));
    assert_eq!(
        err,
        "data.max_per_class = 150: must be at most 100: the profile asks 150 samples of class 0, \
         which has 100; or set data.profile = { kind = \"none\" } to train on the split as it is"
    );
    // The way it suggests works: the split as it is, every sample kept.
    let as_it_is = csv("num_classes = 3\nprofile = { kind = \"none\" }");
    assert!(config(&as_it_is).load().is_ok());
    let err = load_error(&csv("num_classes = 2"));
    assert_eq!(
        err,
        "data.num_classes = 2: must be greater than every label, but the training split has label 2"
    );
    assert_eq!(config(&text).source, DataSource::Csv);
}

#[test]
fn export_writes_readable_csv() {
    let data = config("max_per_class = 30\ntest_per_class = 4\nfeatures = 3\ninformative = 3\nclusters_per_class = 1\nnum_classes = 4\nprofile = { kind = \"step\", factor = 10 }")
        .load()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = data.export_csv(&dir.path().join("export")).unwrap();
    assert_eq!(files.len(), 2);
    let (train, test, _) = read_csv_pair(&files[0], &files[1], "label").unwrap();
    assert_eq!(train.samples.labels(), data.train.labels());
    assert_eq!(train.samples.features(), data.train.features());
    assert_eq!(test.samples.features(), data.test.features());
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path().join("export"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.ends_with(".csv")), "{names:?}");
}

#[test]
fn errors_name_the_key_the_user_set() {
    let err = validate_error("features = 0");
    assert_eq!(err, "data.features = 0: must be >= 1");
    let err = validate_error("features = 3");
    assert_eq!(
        err,
        "data.features = 3: must be >= 8 (the default of data.informative), or \
         data.informative set to at most 3"
    );
    // Data that cannot fit in memory is refused before anything is allocated, naming the key.
    for key in ["features", "test_per_class", "max_per_class"] {
        let text = validate_error(&format!("{key} = 1000000000"));
        assert!(
            text.starts_with(&format!(
                "data.{key} = 1000000000: must be small enough for the synthetic data to fit \
                 in memory"
            )),
            "{text}"
        );
    }
    let err = validate_error("test_per_class = 18446744073709551615");
    assert!(
        err.starts_with("data.test_per_class = 18446744073709551615: must be small enough"),
        "{err}"
    );
}

#[test]
fn difficulty_picks_the_generator_defaults() {
    use rebalance_data::{Difficulty, SyntheticConfig};
    // Unset and `easy` are the easy data; only `standard` is written out.
    let unset = config("max_per_class = 100\ntest_per_class = 5");
    let easy = config("difficulty = \"easy\"\nmax_per_class = 100\ntest_per_class = 5");
    assert_eq!(unset.load().unwrap(), easy.load().unwrap());
    assert_eq!(unset.clone().with_defaults(), easy.clone().with_defaults());
    assert_eq!(unset.with_defaults().difficulty, None);

    let standard = config("difficulty = \"standard\"\nmax_per_class = 100\ntest_per_class = 5");
    let s = standard.synthetic();
    assert_eq!(s.difficulty, Difficulty::Standard);
    assert_eq!(
        s.clusters_per_class,
        SyntheticConfig::standard().clusters_per_class
    );
    assert_eq!(s.class_sep, SyntheticConfig::standard().class_sep);
    let written = standard.clone().with_defaults();
    assert_eq!(written.difficulty, Some(Difficulty::Standard));
    assert_eq!(
        written.class_sep,
        Some(SyntheticConfig::standard().class_sep)
    );
    assert_ne!(standard.load().unwrap(), unset_load());
    // A key beside it wins over the preset.
    let set = config("difficulty = \"standard\"\nclass_sep = 1.5\nmax_per_class = 100");
    assert_eq!(set.synthetic().class_sep, 1.5);

    // Only the synthetic single-label data has a difficulty.
    let err = toml::from_str::<DataConfig>("difficulty = \"hard\"")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("difficulty = hard: must be one of easy, standard"),
        "{err}"
    );
    let err = validate_error("task = \"multi-label\"\ndifficulty = \"standard\"");
    assert!(err.contains("data.difficulty"), "{err}");
    let err = validate_error(
        "source = \"csv\"\ntrain = \"a.csv\"\ntest = \"b.csv\"\ndifficulty = \"easy\"",
    );
    assert!(err.contains("data.difficulty"), "{err}");
}

fn unset_load() -> rebalance_data::LongTailData {
    config("max_per_class = 100\ntest_per_class = 5")
        .load()
        .unwrap()
}
