//! Shared test inputs and helpers.
#![allow(dead_code, clippy::unwrap_used)]

use burn::prelude::*;

/// The reference batch: logits `[4, 3]`, targets, and class counts.
pub const LOGITS: [[f32; 3]; 4] = [
    [2.0, 0.5, -1.0],
    [0.1, 1.5, 0.3],
    [-0.5, 0.2, 0.8],
    [1.0, -0.3, 0.0],
];
pub const TARGETS: [i64; 4] = [0, 1, 2, 2];
pub const COUNTS: [u64; 3] = [100, 10, 1];
/// ENS weights, β = 0.99, normalized to sum to 3.
pub const ENS_099: [f64; 3] = [0.0422375, 0.2800436, 2.6777189];

/// The CPU backends every loss is tested on.
pub fn cpu_devices() -> Vec<(&'static str, Device)> {
    #[allow(deprecated)]
    let ndarray = Device::ndarray();
    vec![("flex", Device::flex()), ("ndarray", ndarray)]
}

pub fn logits(device: &Device) -> Tensor<2> {
    Tensor::from_floats(LOGITS, device)
}

pub fn targets(device: &Device) -> Tensor<1, Int> {
    Tensor::from_ints(TARGETS, device)
}

/// [`TARGETS`] as one-hot rows `[4, 3]`.
pub fn one_hot(device: &Device) -> Tensor<2> {
    Tensor::from_floats(
        [
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.0, 0.0, 1.0],
        ],
        device,
    )
}

/// The host values of a tensor.
pub fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor.into_data().convert::<f32>().try_to_vec().unwrap()
}

/// A softmax loss, as its config's `init` built it on `device`, has the reduced value `want` on
/// the reference batch ([`LOGITS`], [`TARGETS`]) within `tol` (`what` names the case).
#[track_caller]
pub fn assert_reference<L: Into<rebalance_loss::ImbalanceLoss>>(
    built: Result<L, rebalance_loss::LossError>,
    device: &Device,
    (want, tol): (f64, f64),
    what: &str,
) {
    let loss = built.unwrap().into();
    let value = scalar(loss.forward(logits(device), targets(device)));
    assert_close(value, want, tol, what);
}

/// The single value of a reduced loss.
pub fn scalar(tensor: Tensor<1>) -> f64 {
    let v = values(tensor);
    assert_eq!(v.len(), 1, "expected a reduced loss, got {v:?}");
    f64::from(v[0])
}

#[track_caller]
pub fn assert_close(actual: f64, expected: f64, tol: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tol * expected.abs().max(1.0),
        "{what}: {actual} vs expected {expected}"
    );
}
