//! The `[data]` keys of a multi-label config: the synthetic and CSV sources, and the keys of
//! the other task.
use super::*;

fn data_config(text: &str) -> rebalance_data::DataConfig {
    toml::from_str(text).unwrap()
}

#[test]
fn config_multi_label_synthetic() {
    let text = "task = \"multi-label\"\nnum_classes = 6\nsamples = 1500\nfeatures = 4\n\
                informative = 3\nvalidation_fraction = 0.1";
    let config = data_config(text);
    config.validate().unwrap();
    let data = config.load_multi_label(ZeroCountPolicy::Error).unwrap();
    assert_eq!(data.num_classes, 6);
    assert_eq!(data.feature_shape, [4]);
    assert_eq!(
        data,
        config.multi_label_synthetic().generate().unwrap(),
        "the config is the generator's settings"
    );
    let validation = data.validation.as_ref().unwrap();
    assert_eq!(data.train.len() + validation.len() + data.test.len(), 1500);
    // Defaults written out read back to the same data.
    let full = config.clone().with_defaults();
    assert_eq!(full.samples, Some(1500));
    assert_eq!(full.head_frequency, Some(0.25));
    assert_eq!(full.test_fraction, Some(0.2));
    let written = toml::to_string(&full).unwrap();
    assert!(written.contains("task = \"multi-label\""), "{written}");
    let again: rebalance_data::DataConfig = toml::from_str(&written).unwrap();
    assert_eq!(
        again.load_multi_label(ZeroCountPolicy::Error).unwrap(),
        data
    );
    // A single-label config is written as before, without a task key.
    let single = toml::to_string(&rebalance_data::DataConfig::default().with_defaults()).unwrap();
    assert!(!single.contains("task"), "{single}");
}

#[test]
fn config_keys_of_the_other_task_are_errors() {
    let err = |text: &str| data_config(text).validate().unwrap_err().to_string();
    // A key of the other task: (config, the key, the task set, the task that uses the key).
    for (text, key, task, other) in [
        ("samples = 100", "samples", "single-label", "multi-label"),
        (
            "label_columns = [\"a\"]\nsource = \"csv\"\ntrain = \"a\"\ntest = \"b\"",
            "label_columns",
            "single-label",
            "multi-label",
        ),
        (
            "task = \"multi-label\"\nclass_sep = 1.0",
            "class_sep",
            "multi-label",
            "single-label",
        ),
        (
            "task = \"multi-label\"\nresampling = \"class-balanced\"",
            "resampling",
            "multi-label",
            "single-label",
        ),
    ] {
        assert_eq!(
            err(text),
            format!(
                "data.task = \"{task}\" with data.{key}: must be \"{other}\" (the task that uses \
                 data.{key}), or data.{key} removed"
            )
        );
    }
    assert_eq!(
        err("task = \"multi-label\"\nsource = \"idx\""),
        "data.task = \"multi-label\" with data.source = \"idx\": must be \"single-label\" for \
         that source; multi-label data comes from the sources \"synthetic\" and \"csv\""
    );
    assert_eq!(
        err("task = \"multi-label\"\nlabel_columns = [\"a\"]"),
        "data.source = \"synthetic\" with data.label_columns: must be the source that uses \
         data.label_columns, or data.label_columns removed"
    );
    assert_eq!(
        err("task = \"multi-label\"\nhead_frequency = 1.5"),
        "data.head_frequency = 1.5: must be in (0, 1]"
    );
    assert_eq!(
        err("task = \"multi-label\"\nnum_classes = 1"),
        "data.num_classes = 1: must be >= 2"
    );
    let csv = "task = \"multi-label\"\nsource = \"csv\"\ntrain = \"a.csv\"\ntest = \"b.csv\"\n";
    assert_eq!(
        err(csv),
        "data.task = \"multi-label\" with data.source = \"csv\": must be given with \
         data.label_columns (a 0/1 column per label) or data.label_column (a column of label \
         lists)"
    );
    assert_eq!(
        err(&format!("{csv}label_columns = [\"a\", \"b\"]")),
        "data.num_classes = 10: must be 2, the number of data.label_columns (\"a\", \"b\")"
    );
    assert_eq!(
        err(&format!(
            "{csv}num_classes = 2\nlabel_columns = [\"a\", \"a\"]"
        )),
        "data.label_columns = \"a\" twice (entries 1 and 2): must be a list of distinct columns"
    );
    assert_eq!(
        err(&format!(
            "{csv}label_column = \"tags\"\nlabel_separator = \"\""
        )),
        "data.label_separator = \"\": must be a non-empty string, such as \"|\""
    );
    assert_eq!(
        err(&format!(
            "{csv}label_column = \"tags\"\nlabel_columns = [\"a\"]"
        )),
        "data.label_columns = [\"a\"] beside data.label_column = \"tags\": must be removed, or \
         data.label_column removed: a file's labels are either one 0/1 column each \
         (label_columns) or one column of label lists (label_column)"
    );
    // Each loader refuses the other task.
    assert_eq!(
        data_config("task = \"multi-label\"")
            .load()
            .unwrap_err()
            .to_string(),
        "data.task = \"multi-label\": must be \"single-label\" for DataConfig::load; multi-label \
         data loads with DataConfig::load_multi_label"
    );
    assert_eq!(
        data_config("")
            .load_multi_label(ZeroCountPolicy::Error)
            .unwrap_err()
            .to_string(),
        "data.task = \"single-label\": must be \"multi-label\" for DataConfig::load_multi_label; \
         single-label data loads with DataConfig::load"
    );
}

#[test]
fn config_multi_label_csv() {
    let f = files(
        "x,tags\n1,a|b\n2,a\n3,\n4,b|c\n5,a|c\n6,a\n7,b\n8,a|b|c\n9,\n10,a\n",
        "x,tags\n11,c\n",
    );
    let text = format!(
        "task = \"multi-label\"\nsource = \"csv\"\ntrain = {:?}\ntest = {:?}\n\
         label_column = \"tags\"\nnum_classes = 3\n",
        f.train, f.test
    );
    let data = data_config(&text)
        .load_multi_label(ZeroCountPolicy::Error)
        .unwrap();
    assert_eq!(data.class_names, ["a", "b", "c"]);
    assert_eq!(data.train.label_counts(3), [6, 4, 3]);
    assert_eq!(
        data_config(&text)
            .with_defaults()
            .label_separator
            .as_deref(),
        Some("|")
    );
    // A validation split keeps each label with >= 2 training positives on both sides.
    let data = data_config(&format!("{text}validation_fraction = 0.3"))
        .load_multi_label(ZeroCountPolicy::Error)
        .unwrap();
    let validation = data.validation.as_ref().unwrap();
    assert_eq!(data.train.len() + validation.len(), 10);
    let (tr, va) = (data.train.label_counts(3), validation.label_counts(3));
    assert!(
        tr.iter().zip(&va).all(|(&a, &b)| a >= 1 && b >= 1),
        "{tr:?} {va:?}"
    );
    // The files' labels must match num_classes.
    assert_eq!(
        data_config(&text.replace("num_classes = 3", "num_classes = 4"))
            .load_multi_label(ZeroCountPolicy::Error)
            .unwrap_err()
            .to_string(),
        format!(
            "data.num_classes = 4: must be 3, the number of distinct labels in {} (\"a\", \"b\", \
             \"c\")",
            f.train.display()
        )
    );
    // A label column without positives, under each policy.
    let f = files("x,toxic,threat\n1,1,0\n", "x,toxic,threat\n2,0,1\n");
    let text = format!(
        "task = \"multi-label\"\nsource = \"csv\"\ntrain = {:?}\ntest = {:?}\n\
         label_columns = [\"toxic\", \"threat\"]\nnum_classes = 2\n",
        f.train, f.test
    );
    let err = data_config(&text)
        .load_multi_label(ZeroCountPolicy::Error)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "label \"threat\" has no positive training sample in {}",
            f.train.display()
        )),
        "{err}"
    );
    let data = data_config(&text)
        .load_multi_label(ZeroCountPolicy::AddOne)
        .unwrap();
    assert_eq!(data.train.label_counts(2), [1, 0]);
}
