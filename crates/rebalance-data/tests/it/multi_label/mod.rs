//! Multi-label data: the synthetic generator, label counts, the iterative stratified split,
//! the `[data]` keys, the summary and export, and the batches; `csv` reads both CSV layouts.
mod config;
mod csv;

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
    assert_eq!(summary.class_names, data.class_names);
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
        layout: LabelLayout::Columns(data.class_names.clone()),
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
