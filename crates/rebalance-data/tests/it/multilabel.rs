//! Multi-label data: both CSV layouts and their errors, the synthetic generator, label counts
//! and the iterative stratified split.
use std::path::{Path, PathBuf};

use rebalance_data::{
    DataError, ImbalanceProfile, LabelLayout, MultiLabelCsv, MultiLabelSamples,
    MultiLabelSyntheticConfig, iterative_stratified_split,
};
use rebalance_weights::ZeroCountPolicy;

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn columns(names: &[&str]) -> LabelLayout {
    LabelLayout::Columns(names.iter().map(|n| n.to_string()).collect())
}

fn list(column: &str, separator: &str) -> LabelLayout {
    LabelLayout::List {
        column: column.into(),
        separator: separator.into(),
    }
}

fn csv(train: &Path, test: &Path, layout: LabelLayout) -> MultiLabelCsv {
    MultiLabelCsv {
        train: train.to_path_buf(),
        test: test.to_path_buf(),
        layout,
        zero_count: ZeroCountPolicy::Error,
    }
}

/// A temporary folder with a `train.csv` and a `test.csv`.
struct Files {
    _dir: tempfile::TempDir,
    train: PathBuf,
    test: PathBuf,
}

fn files(train: &str, test: &str) -> Files {
    let dir = tempfile::tempdir().unwrap();
    let (tr, te) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    write(&tr, train);
    write(&te, test);
    Files {
        _dir: dir,
        train: tr,
        test: te,
    }
}

#[test]
fn csv_with_one_column_per_label() {
    let f = files(
        "id_x,toxic,y,obscene,insult\n1,1,2,0,1\n3,0,4,0,0\n5,1,6,1,0\n",
        "id_x,toxic,y,obscene,insult\n7,0,8,1,1\n",
    );
    let data = csv(&f.train, &f.test, columns(&["toxic", "obscene", "insult"]))
        .read()
        .unwrap();
    // The labels keep the order given; every other column is a feature.
    assert_eq!(data.label_names, ["toxic", "obscene", "insult"]);
    assert_eq!(data.num_labels, 3);
    assert_eq!(data.feature_shape, [2]);
    assert_eq!(data.train.features(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(data.train.label_sets(), &[vec![0, 2], vec![], vec![0, 1]]);
    assert_eq!(data.test.label_sets(), &[vec![1, 2]]);
    assert_eq!(data.train.label_counts(3), [2, 1, 1]);
    assert!(data.validation.is_none());
}

#[test]
fn csv_with_a_label_list_sorts_the_names() {
    let f = files(
        "a,tags,b\n1,sport|news,2\n3,,4\n5, weather | sport |sport,6\n",
        "a,tags,b\n7,news,8\n9,,10\n",
    );
    let data = csv(&f.train, &f.test, list("tags", "|")).read().unwrap();
    assert_eq!(data.label_names, ["news", "sport", "weather"]);
    // Names are trimmed, a repeated name counts once, an empty field is no label.
    assert_eq!(data.train.label_sets(), &[vec![0, 1], vec![], vec![1, 2]]);
    assert_eq!(data.test.label_sets(), &[vec![0], vec![]]);
    assert_eq!(data.train.features(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    // A separator of several characters.
    let f = files("x,tags\n1,a;;b\n2,b\n", "x,tags\n3,a\n");
    let data = csv(&f.train, &f.test, list("tags", ";;")).read().unwrap();
    assert_eq!(data.label_names, ["a", "b"]);
    assert_eq!(data.train.label_counts(2), [1, 2]);
}

/// The error of reading `train` (with a good test file) as one line: the file's path, then
/// `expected`.
fn train_error(train: &str, layout: LabelLayout, expected: &str) {
    let header = train.lines().next().unwrap();
    let f = files(train, &format!("{header}\n"));
    // The test file is read second: an error here is the training file's.
    let err = csv(&f.train, &f.test, layout)
        .read()
        .unwrap_err()
        .to_string();
    assert!(!err.contains('\n'), "{err}");
    assert_eq!(err, format!("{}: {expected}", f.train.display()));
}

#[test]
fn a_label_column_holds_0_or_1() {
    let layout = || columns(&["toxic", "obscene"]);
    train_error(
        "x,toxic,obscene\n1,0,1\n2,2,0\n",
        layout(),
        "line 3, column 2: label \"toxic\" is \"2\"; a label column holds 0 or 1",
    );
    train_error(
        "x,toxic,obscene\n1,0,yes\n",
        layout(),
        "line 2, column 3: label \"obscene\" is \"yes\"; a label column holds 0 or 1",
    );
    train_error(
        "x,toxic,obscene\n1,0,\n",
        layout(),
        "line 2, column 3: label \"obscene\" is \"\"; a label column holds 0 or 1",
    );
}

#[test]
fn an_unknown_column_lists_the_columns() {
    train_error(
        "x,toxic\n1,0\n",
        columns(&["toxic", "threat"]),
        "line 1: no label column \"threat\"; the columns are x, toxic",
    );
    train_error(
        "x,labels\n1,a\n",
        list("tags", "|"),
        "line 1: no label column \"tags\"; the columns are x, labels",
    );
    train_error(
        "toxic,threat\n1,0\n",
        columns(&["toxic", "threat"]),
        "line 1: no feature column beside the label columns",
    );
}

#[test]
fn a_label_list_with_an_empty_name() {
    for (field, shown) in [("a||b", "a||b"), ("a|", "a|"), ("|a", "|a"), (" | ", "|")] {
        train_error(
            &format!("x,tags\n1,a\n2,{field}\n"),
            list("tags", "|"),
            &format!(
                "line 3, column 2: label list {shown:?} (column \"tags\") has an empty name; \
                 names are separated by \"|\", an empty field means no label"
            ),
        );
    }
    let f = files("x,tags\n1,a\n", "x,tags\n1,a\n");
    assert_eq!(
        csv(&f.train, &f.test, list("tags", ""))
            .read()
            .unwrap_err()
            .to_string(),
        "label_separator = \"\": must be a non-empty string, such as \"|\""
    );
}

#[test]
fn non_finite_and_non_numeric_features() {
    for (value, shown) in [("inf", "inf"), ("NaN", "NaN"), ("1e39", "1e39")] {
        train_error(
            &format!("x,toxic\n1,0\n{value},1\n"),
            columns(&["toxic"]),
            &format!(
                "line 3, column 1: feature \"x\" is {shown:?}, not a finite number within \
                 f32's range (±3.4028235e38)"
            ),
        );
    }
    train_error(
        "x,tags\nabc,a\n",
        list("tags", "|"),
        "line 2: feature \"x\" is \"abc\", not a number",
    );
    train_error(
        "x,tags\n1,a,3\n",
        list("tags", "|"),
        "line 2: a row of 3 fields where the header has 2",
    );
    train_error(
        "x,tags\n",
        list("tags", "|"),
        "no samples: the file has a header and no rows",
    );
}

#[test]
fn the_test_file_must_match_the_training_file() {
    let f = files("x,tags\n1,a\n", "x,tags\n2,b\n");
    assert_eq!(
        csv(&f.train, &f.test, list("tags", "|"))
            .read()
            .unwrap_err()
            .to_string(),
        format!(
            "{}: line 2: label \"b\" does not occur in the training file {}",
            f.test.display(),
            f.train.display()
        )
    );
    let f = files("x,tags\n1,a\n", "z,tags\n2,a\n");
    assert_eq!(
        csv(&f.train, &f.test, list("tags", "|"))
            .read()
            .unwrap_err()
            .to_string(),
        format!(
            "{}: line 1: feature columns [\"z\"] differ from the training file's [\"x\"]",
            f.test.display()
        )
    );
}

#[test]
fn a_label_without_a_training_positive_names_the_policies() {
    let f = files("x,toxic,threat\n1,1,0\n2,0,0\n", "x,toxic,threat\n3,0,1\n");
    let reader = csv(&f.train, &f.test, columns(&["toxic", "threat"]));
    let err = reader.read().unwrap_err();
    assert!(matches!(&err, DataError::EmptyLabel { label, .. } if label == "threat"));
    assert_eq!(
        err.to_string(),
        format!(
            "label \"threat\" has no positive training sample in {}, so its weight is \
             undefined; remove the label, or choose the zero-count policy \"zero-weight\" \
             (the label weighs 0) or \"add-one\" (every label's count taken as n + 1)",
            f.train.display()
        )
    );
    // Either policy named accepts it.
    for zero_count in [ZeroCountPolicy::ZeroWeight, ZeroCountPolicy::AddOne] {
        let data = MultiLabelCsv {
            zero_count,
            ..reader.clone()
        }
        .read()
        .unwrap();
        assert_eq!(data.train.label_counts(2), [1, 0]);
        assert_eq!(data.train_label_counts(zero_count).unwrap(), [1, 0]);
    }
    // The same check on the data itself.
    let data = MultiLabelCsv {
        zero_count: ZeroCountPolicy::ZeroWeight,
        ..reader
    }
    .read()
    .unwrap();
    assert_eq!(
        data.train_label_counts(ZeroCountPolicy::Error)
            .unwrap_err()
            .to_string(),
        "label \"threat\" has no positive training sample, so its weight is undefined; remove \
         the label, or choose the zero-count policy \"zero-weight\" (the label weighs 0) or \
         \"add-one\" (every label's count taken as n + 1)"
    );
    // A label list names only labels that occur, so only an empty file of labels fails.
    let f = files("x,tags\n1,\n", "x,tags\n2,\n");
    assert_eq!(
        csv(&f.train, &f.test, list("tags", "|"))
            .read()
            .unwrap_err()
            .to_string(),
        format!(
            "{}: no row names a label; a multi-label file needs at least one",
            f.train.display()
        )
    );
}

#[test]
fn label_counts_and_statistics_by_hand() {
    // Five samples over four labels; sample 3 has none, label 3 is on nothing.
    let samples = MultiLabelSamples::new(
        (0..10).map(|v| v as f32).collect(),
        vec![vec![0, 1], vec![0], vec![2, 0, 1], vec![], vec![1, 1]],
        2,
        4,
    )
    .unwrap();
    // A sample counts once per positive label: 2 + 1 + 3 + 0 + 1 = 7 = the sum of the counts.
    assert_eq!(samples.label_counts(4), [3, 3, 1, 0]);
    assert_eq!(samples.labels(2), &[0, 1, 2]);
    assert_eq!(samples.labels(4), &[1]);
    let stats = samples.labels_per_sample();
    assert_eq!(stats.mean, 7.0 / 5.0);
    assert_eq!((stats.min, stats.max, stats.without_labels), (0, 3, 1));
    assert_eq!(stats.histogram, [1, 2, 1, 1]);
    assert_eq!(samples.multi_hot(2, 4), [1.0, 1.0, 1.0, 0.0]);
    // select keeps order and repeats.
    let picked = samples.select(&[4, 2, 4]);
    assert_eq!(picked.label_counts(4), [1, 3, 1, 0]);
    assert_eq!(picked.row(1), &[4.0, 5.0]);
    // A sample's weight is the sum of its positive labels' weights.
    assert_eq!(
        samples.sample_weights(&[1.0, 2.0, 4.0, 8.0]),
        [3.0, 1.0, 7.0, 0.0, 2.0]
    );
    let names: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
    assert_eq!(
        samples
            .checked_label_counts(&names, ZeroCountPolicy::Error, "training")
            .unwrap_err()
            .to_string(),
        "label \"d\" has no positive training sample, so its weight is undefined; remove the \
         label, or choose the zero-count policy \"zero-weight\" (the label weighs 0) or \
         \"add-one\" (every label's count taken as n + 1)"
    );
    assert_eq!(
        MultiLabelSamples::new(vec![0.0; 2], vec![vec![4], vec![]], 1, 4)
            .unwrap_err()
            .to_string(),
        "label = 4 (sample 0): must be < 4, the number of labels"
    );
    assert!(MultiLabelSamples::new(vec![0.0; 3], vec![vec![]], 2, 1).is_err());
}

fn small() -> MultiLabelSyntheticConfig {
    MultiLabelSyntheticConfig {
        samples: 4000,
        num_labels: 10,
        features: 8,
        informative: 6,
        ..MultiLabelSyntheticConfig::default()
    }
}

fn bytes(samples: &MultiLabelSamples) -> Vec<u8> {
    samples
        .features()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect()
}

#[test]
fn synthetic_is_deterministic_from_the_seed() {
    let a = small().generate().unwrap();
    let b = small().generate().unwrap();
    assert_eq!(bytes(&a.train), bytes(&b.train));
    assert_eq!(bytes(&a.test), bytes(&b.test));
    assert_eq!(a, b);
    let c = MultiLabelSyntheticConfig { seed: 2, ..small() }
        .generate()
        .unwrap();
    assert_ne!(bytes(&a.train), bytes(&c.train));
    assert_ne!(a.train.label_sets(), c.train.label_sets());
    // Same per-label totals: the profile fixes them, the seed only where they fall.
    let total = |d: &rebalance_data::MultiLabelData| -> Vec<usize> {
        let (tr, te) = (d.train.label_counts(10), d.test.label_counts(10));
        tr.iter().zip(&te).map(|(a, b)| a + b).collect()
    };
    assert_eq!(total(&a), total(&c));
}

#[test]
fn synthetic_label_frequencies_follow_the_profile() {
    let config = MultiLabelSyntheticConfig::default();
    let data = config.generate().unwrap();
    let counts = config.label_counts().unwrap();
    // n_max = 0.25 · 20000; exponential, factor 100, over 20 labels.
    assert_eq!(
        counts,
        ImbalanceProfile::Exponential { factor: 100.0 }
            .counts(5000, 20)
            .unwrap()
    );
    assert_eq!((counts[0], counts[19]), (5000, 50));
    let (train, test) = (data.train.label_counts(20), data.test.label_counts(20));
    for l in 0..20 {
        assert_eq!(train[l] + test[l], counts[l], "label {l}");
        // Long-tailed in each split, the test split holding about a fifth of each label.
        let share = test[l] as f64 / counts[l] as f64;
        assert!((0.15..=0.25).contains(&share), "label {l}: {share}");
    }
    assert!(train.windows(2).all(|w| w[0] >= w[1]), "{train:?}");
    assert_eq!(data.train.len() + data.test.len(), 20_000);
    assert_eq!(data.test.len(), 4000);
    // Head on a quarter of the samples, tail on a quarter of a percent.
    let n = 20_000.0;
    assert_eq!(counts[0] as f64 / n, 0.25);
    assert_eq!(counts[19] as f64 / n, 0.0025);
    let stats = data.train.labels_per_sample();
    assert!((1.0..1.3).contains(&stats.mean), "{stats:?}");
    assert!(stats.without_labels > data.train.len() / 5, "{stats:?}");

    // Another profile and head frequency.
    let step = MultiLabelSyntheticConfig {
        profile: ImbalanceProfile::Step {
            factor: 10.0,
            minority_fraction: 0.5,
        },
        head_frequency: 0.1,
        ..small()
    };
    assert_eq!(
        step.label_counts().unwrap(),
        [400, 400, 400, 400, 400, 40, 40, 40, 40, 40]
    );
}

#[test]
fn synthetic_labels_co_occur_and_features_carry_them() {
    let data = MultiLabelSyntheticConfig::default().generate().unwrap();
    let train = &data.train;
    let all: Vec<&Vec<u32>> = train
        .label_sets()
        .iter()
        .chain(data.test.label_sets())
        .collect();
    // Every label l >= 1 has a more frequent parent carried by at least half its positives
    // (co_occurrence 0.5), far above chance: the parent is on at most a quarter of the samples.
    for l in 1..20u32 {
        let positives: Vec<&&Vec<u32>> = all.iter().filter(|s| s.contains(&l)).collect();
        let best = (0..l)
            .map(|m| positives.iter().filter(|s| s.contains(&m)).count())
            .max()
            .unwrap();
        assert!(
            best * 2 >= positives.len(),
            "label {l}: {best} of {}",
            positives.len()
        );
    }
    // Label 0's positives and negatives differ in the informative dimensions by about
    // label_sep (plus what co-occurring labels add), not in the noise dimensions.
    let dim = train.dim();
    let mut sums = [vec![0.0f64; dim], vec![0.0f64; dim]];
    let mut n = [0.0f64; 2];
    for i in 0..train.len() {
        let k = usize::from(train.labels(i).contains(&0));
        n[k] += 1.0;
        for (s, &x) in sums[k].iter_mut().zip(train.row(i)) {
            *s += f64::from(x);
        }
    }
    let gap = |range: std::ops::Range<usize>| -> f64 {
        range
            .map(|j| (sums[1][j] / n[1] - sums[0][j] / n[0]).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    assert!((2.0..4.0).contains(&gap(0..16)), "{}", gap(0..16));
    assert!(gap(16..32) < 0.3, "{}", gap(16..32));
}

#[test]
fn synthetic_parameters_name_the_value() {
    let err = |config: MultiLabelSyntheticConfig| config.generate().unwrap_err().to_string();
    assert_eq!(
        err(MultiLabelSyntheticConfig {
            num_labels: 1,
            ..small()
        }),
        "num_labels = 1: must be >= 2"
    );
    assert_eq!(
        err(MultiLabelSyntheticConfig {
            head_frequency: 0.0,
            ..small()
        }),
        "head_frequency = 0: must be in (0, 1]"
    );
    assert_eq!(
        err(MultiLabelSyntheticConfig {
            test_fraction: 1.0,
            ..small()
        }),
        "test_fraction = 1: must be in (0, 1)"
    );
    assert_eq!(
        err(MultiLabelSyntheticConfig {
            samples: 100,
            head_frequency: 0.1,
            ..small()
        }),
        "profile = exponential (factor 100): must be a profile that leaves label 5 a positive \
         sample when the head label has 10 (head_frequency · samples): more samples, a larger \
         head_frequency, or a smaller factor"
    );
}

#[test]
fn synthetic_validation_split() {
    let data = MultiLabelSyntheticConfig {
        validation_fraction: 0.25,
        ..small()
    }
    .generate()
    .unwrap();
    let validation = data.validation.as_ref().unwrap();
    assert_eq!(data.train.len() + validation.len() + data.test.len(), 4000);
    assert_eq!(validation.len(), 800);
    let (tr, va) = (data.train.label_counts(10), validation.label_counts(10));
    assert!(
        tr.iter().zip(&va).all(|(&a, &b)| a >= 1 && b >= 1),
        "{tr:?} {va:?}"
    );
}

/// Every label with two or more positives has one in each part; a label's single positive
/// stays first.
fn assert_both_sides(labels: &[Vec<u32>], num_labels: usize, fraction: f64, seed: u64) {
    let split = iterative_stratified_split(labels, num_labels, fraction, seed);
    let mut all: Vec<usize> = split.first.iter().chain(&split.second).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..labels.len()).collect::<Vec<_>>());
    assert!(
        split.uncovered.is_empty(),
        "seed {seed}: {:?}",
        split.uncovered
    );
    let count = |part: &[usize], l: u32| part.iter().filter(|&&i| labels[i].contains(&l)).count();
    for l in 0..num_labels as u32 {
        let (first, second) = (count(&split.first, l), count(&split.second, l));
        match first + second {
            0 => {}
            1 => assert_eq!((first, second), (1, 0), "seed {seed}, label {l}"),
            _ => assert!(
                first >= 1 && second >= 1,
                "seed {seed}, label {l}: {first}/{second}"
            ),
        }
    }
}

#[test]
fn the_split_keeps_every_label_with_two_positives_on_both_sides() {
    // Rare labels at a small fraction: rounding alone would leave them all first.
    let labels: Vec<Vec<u32>> = vec![
        vec![0, 1],
        vec![0],
        vec![0, 2],
        vec![0, 1, 3],
        vec![],
        vec![0, 2],
        vec![4],
        vec![0],
        vec![],
        vec![0],
    ];
    for seed in 0..20 {
        assert_both_sides(&labels, 5, 0.1, seed);
    }
    // Random long-tailed label sets, many seeds and fractions.
    for seed in 0..30u64 {
        let config = MultiLabelSyntheticConfig {
            samples: 300,
            num_labels: 12,
            features: 2,
            informative: 1,
            head_frequency: 0.3,
            profile: ImbalanceProfile::Exponential { factor: 45.0 },
            seed,
            ..MultiLabelSyntheticConfig::default()
        };
        let data = config.generate().unwrap();
        let sets: Vec<Vec<u32>> = data
            .train
            .label_sets()
            .iter()
            .chain(data.test.label_sets())
            .cloned()
            .collect();
        for fraction in [0.05, 0.2, 0.5] {
            assert_both_sides(&sets, 12, fraction, seed);
        }
    }
    // The generator's own split, at the defaults.
    let data = MultiLabelSyntheticConfig::default().generate().unwrap();
    let (tr, te) = (data.train.label_counts(20), data.test.label_counts(20));
    assert!(tr.iter().zip(&te).all(|(&a, &b)| a >= 1 && b >= 1));
}

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
    assert_eq!(data.num_labels, 6);
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
    assert_eq!(
        err("samples = 100"),
        "data.task = \"single-label\" with data.samples: must be \"multi-label\" (the task that \
         uses data.samples), or data.samples removed"
    );
    assert_eq!(
        err("label_columns = [\"a\"]\nsource = \"csv\"\ntrain = \"a\"\ntest = \"b\""),
        "data.task = \"single-label\" with data.label_columns: must be \"multi-label\" (the task \
         that uses data.label_columns), or data.label_columns removed"
    );
    assert_eq!(
        err("task = \"multi-label\"\nclass_sep = 1.0"),
        "data.task = \"multi-label\" with data.class_sep: must be \"single-label\" (the task that \
         uses data.class_sep), or data.class_sep removed"
    );
    assert_eq!(
        err("task = \"multi-label\"\nresampling = \"class-balanced\""),
        "data.task = \"multi-label\" with data.resampling: must be \"single-label\" (the task \
         that uses data.resampling), or data.resampling removed"
    );
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
    assert_eq!(data.label_names, ["a", "b", "c"]);
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

#[test]
fn summary_and_export_read_back() {
    let data = MultiLabelSyntheticConfig {
        validation_fraction: 0.2,
        ..small()
    }
    .generate()
    .unwrap();
    let summary = data.summary();
    assert_eq!(summary.num_classes, 10);
    assert_eq!(summary.class_names, data.label_names);
    assert_eq!(summary.splits["train"].counts, data.train.label_counts(10));
    assert_eq!(summary.splits["validation"].total, 640);
    let train = &summary.splits["train"].counts;
    assert_eq!(
        summary.imbalance_factor,
        train[0] as f64 / *train.iter().min().unwrap() as f64
    );
    let dir = tempfile::tempdir().unwrap();
    let files = data.export_csv(dir.path()).unwrap();
    assert_eq!(files.len(), 3);
    let back = MultiLabelCsv {
        train: dir.path().join("train.csv"),
        test: dir.path().join("test.csv"),
        layout: LabelLayout::Columns(data.label_names.clone()),
        zero_count: ZeroCountPolicy::Error,
    }
    .read()
    .unwrap();
    assert_eq!(back.train, data.train);
    assert_eq!(back.test, data.test);
}

#[test]
fn batches_hold_multi_hot_targets_and_give_the_sample_weights() {
    use burn::data::dataloader::batcher::Batcher;
    use burn::data::dataset::Dataset;
    use burn::prelude::*;
    use rebalance_data::{MultiLabelBatcher, Standardizer};

    let device = Device::flex();
    let data = small().generate().unwrap();
    let standardizer = Standardizer::per_feature_multi_label(&data.train);
    let indices = [0, 1, 2, 3, 4, 5, 6, 7];
    let items: Vec<_> = indices.iter().map(|&i| data.test.get(i).unwrap()).collect();
    let batch = MultiLabelBatcher::new(10, Some(standardizer.clone())).batch(items, &device);
    assert_eq!(batch.features.dims(), [8, 8]);
    assert_eq!(batch.targets.dims(), [8, 10]);
    let targets: Vec<f32> = batch.targets.clone().into_data().iter::<f32>().collect();
    let expected: Vec<f32> = indices
        .iter()
        .flat_map(|&i| data.test.multi_hot(i, 10))
        .collect();
    assert_eq!(targets, expected);
    let features: Vec<f32> = batch.features.into_data().iter::<f32>().collect();
    let mut standardized = Vec::new();
    standardizer.apply_into(data.test.row(7), &mut standardized);
    assert_eq!(&features[56..], &standardized[..]);
    // The article's per-sample weight, the sum of the positive labels' weights, is
    // targets · weights.
    let weights: Vec<f64> = (0..10).map(|l| 1.0 + l as f64).collect();
    let w = Tensor::<1>::from_data(
        TensorData::new(weights.iter().map(|&w| w as f32).collect(), [10]),
        &device,
    );
    let per_sample: Vec<f32> = batch
        .targets
        .matmul(w.reshape([10, 1]))
        .into_data()
        .iter::<f32>()
        .collect();
    let expected: Vec<f32> = data
        .test
        .select(&indices)
        .sample_weights(&weights)
        .iter()
        .map(|&w| w as f32)
        .collect();
    assert_eq!(per_sample, expected);
}
