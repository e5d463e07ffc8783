//! The Burn side of `ClassWeights`, on the flex CPU backend.
use burn::prelude::*;
use burn::tensor::Tolerance;
use rebalance_weights::{ClassCounts, ClassWeights, Scheme, WeightError};

const CIFAR10_LT: [u64; 10] = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50];

fn ens() -> ClassWeights {
    Scheme::Ens { beta: 0.9999 }
        .weights(&ClassCounts::from_counts(CIFAR10_LT.to_vec()).unwrap())
        .unwrap()
}

fn as_f32(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}

#[test]
fn to_tensor_matches_as_slice() {
    let device = Device::flex();
    let weights = ens();
    let tensor = weights.to_tensor(&device);
    assert_eq!(tensor.dims(), [10]);
    assert_eq!(tensor.device(), device);
    let values: Vec<f32> = tensor.into_data().try_to_vec().unwrap();
    assert_eq!(values, as_f32(weights.as_slice()));
}

#[test]
fn sample_weights_look_up_each_target() {
    let device = Device::flex();
    let weights = ens();
    let targets = [0i64, 9, 3, 3, 7, 0, 5];
    let per_sample = weights.sample_weights(Tensor::<1, Int>::from_ints(targets, &device));
    assert_eq!(per_sample.dims(), [targets.len()]);
    assert_eq!(per_sample.device(), device);
    let expected: Vec<f32> = targets
        .iter()
        .map(|&t| weights.as_slice()[t as usize] as f32)
        .collect();
    assert_eq!(
        per_sample.into_data().try_to_vec::<f32>().unwrap(),
        expected
    );
}

#[test]
fn sample_weights_of_an_empty_batch_are_empty() {
    let device = Device::flex();
    let targets = Tensor::<1, Int>::from_ints([0i64; 0], &device);
    assert_eq!(ens().sample_weights(targets).dims(), [0]);
}

#[test]
fn sample_weights_work_on_an_autodiff_device() {
    let device = Device::flex().autodiff();
    let per_sample = ens().sample_weights(Tensor::<1, Int>::from_ints([9, 0], &device));
    assert!(per_sample.device().is_autodiff());
    let values = per_sample.into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(values, as_f32(&[ens().as_slice()[9], ens().as_slice()[0]]));
}

#[test]
fn row_weights_sum_the_positive_classes() {
    let device = Device::flex();
    // Raw INS weights of [1, 2, 4] normalized to sum 3: [12/7, 6/7, 3/7].
    let weights = Scheme::Ins
        .weights(&ClassCounts::from_counts(vec![1, 2, 4]).unwrap())
        .unwrap();
    let multi_hot = Tensor::<2>::from_floats(
        [
            [1.0, 0.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 1.0],
            [1.0, 1.0, 1.0],
            [0.0, 0.0, 0.0], // no positive label: weight 0
        ],
        &device,
    );
    let rows = weights.row_weights(multi_hot).unwrap();
    rows.into_data().assert_approx_eq::<f32>(
        &TensorData::from([12.0f32 / 7.0, 18.0 / 7.0, 9.0 / 7.0, 3.0, 0.0]),
        Tolerance::default(),
    );
}

#[test]
fn row_weights_reject_a_wrong_number_of_columns() {
    let device = Device::flex();
    let err = ens()
        .row_weights(Tensor::<2>::zeros([4, 3], &device))
        .unwrap_err();
    assert!(matches!(err, WeightError::ShapeMismatch { .. }));
    assert_eq!(
        err.to_string(),
        "multi_hot has shape [4, 3], expected [batch_size, 10]"
    );
}
