//! Batches on a Burn device, standardized with training statistics only.
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::*;
use rebalance_data::{
    ImbalanceProfile, Resampling, SampleBatcher, Samples, Standardizer, SyntheticConfig,
};

#[test]
fn batches_are_built_on_the_device() {
    let device = Device::flex();
    let samples = Samples::new(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], vec![2, 0, 1], 2).unwrap();
    let items: Vec<_> = (0..3).map(|i| samples.get(i).unwrap()).collect();
    let batch = SampleBatcher::new(None).batch(items, &device);
    assert_eq!(batch.features.dims(), [3, 2]);
    assert_eq!(batch.features.device(), device);
    assert_eq!(
        batch
            .features
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap(),
        samples.features()
    );
    let targets: Vec<i64> = batch.targets.into_data().iter::<i64>().collect();
    assert_eq!(targets, [2, 0, 1]);
}

#[test]
fn standardization_uses_the_training_split_only() {
    let data = SyntheticConfig {
        max_per_class: 300,
        test_per_class: 50,
        class_sep: 3.0,
        ..SyntheticConfig::default()
    }
    .generate(&ImbalanceProfile::Exponential { factor: 10.0 })
    .unwrap();
    let standardizer = Standardizer::per_feature(&data.train);
    // The statistics are those of the training rows, not of the balanced test split.
    let test_only = Standardizer::per_feature(&data.test);
    assert_ne!(standardizer.mean, test_only.mean);
    let device = Device::flex();
    let items: Vec<_> = (0..data.train.len())
        .map(|i| data.train.get(i).unwrap())
        .collect();
    let batch = SampleBatcher::new(Some(standardizer)).batch(items, &device);
    let mean: Vec<f32> = batch
        .features
        .clone()
        .mean_dim(0)
        .into_data()
        .try_to_vec()
        .unwrap();
    let var: Vec<f32> = batch.features.var(0).into_data().try_to_vec().unwrap();
    for (m, v) in mean.iter().zip(&var) {
        assert!(m.abs() < 1e-4, "mean {m}");
        // Burn's var is the sample variance (N - 1).
        assert!((v - 1.0).abs() < 1e-2, "var {v}");
    }
}

#[test]
fn a_resampled_split_feeds_a_data_loader() {
    let device = Device::flex();
    let labels: Vec<usize> = (0..120).map(|i| usize::from(i >= 100)).collect();
    let train = Samples::new((0..120).map(|i| i as f32).collect(), labels, 1).unwrap();
    let selected = Resampling::Oversample.select(train, 2, 5).unwrap();
    let loader = DataLoaderBuilder::new(SampleBatcher::new(None))
        .batch_size(50)
        .shuffle(1)
        .set_device(device)
        .build(selected);
    let mut per_class = [0usize; 2];
    for batch in loader.iter() {
        for t in batch.unwrap().targets.into_data().iter::<i64>() {
            per_class[t as usize] += 1;
        }
    }
    assert_eq!(per_class, [100, 100]);
}
