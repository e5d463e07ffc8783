//! The reference values on the wgpu backend. In CI it runs on Mesa's lavapipe (a CPU Vulkan
//! driver); on a machine with a GPU, on the GPU. Where no wgpu adapter exists the test says so
//! on the terminal and passes, unless `REBALANCE_REQUIRE_WGPU=1` (set by `.ci/run`) makes that a
//! failure (`rebalance_testing::wgpu_device`).
use crate::common::*;
use rebalance_loss::{ImbalanceLoss, LossConfig};
use rebalance_weights::ClassCounts;

#[test]
fn reference_values_on_wgpu() {
    let Some(device) = rebalance_testing::wgpu_device("reference_values_on_wgpu") else {
        return;
    };
    let counts = ClassCounts::from_counts(COUNTS.to_vec()).unwrap();
    let cases = [
        (
            "kind = \"cross-entropy\"\nscheme = \"ens\"\nbeta = 0.99",
            1.0111566,
        ),
        ("kind = \"focal\"", 0.2718389),
        // Sigmoid BCE: 3 × PyTorch's element mean 0.6182093748 (reference.rs).
        ("kind = \"sigmoid\"", 1.8546281244),
        ("kind = \"class-balanced\"\nbeta = 0.99", 0.9225158),
        ("kind = \"ldam\"", 11.2621468379),
        ("kind = \"balanced-softmax\"", 2.6071389),
    ];
    for (text, expected) in cases {
        let config: LossConfig = toml::from_str(text).unwrap();
        let loss = ImbalanceLoss::new(&config, &counts, &device).unwrap();
        let value = scalar(loss.forward(logits(&device), targets(&device)));
        assert_close(value, expected, 1e-5, text);
    }

    // Gradients flow on the GPU path too.
    let autodiff = device.autodiff();
    let config: LossConfig = toml::from_str("kind = \"focal\"\ngamma = 0.5").unwrap();
    let loss = ImbalanceLoss::new(&config, &counts, &autodiff).unwrap();
    let z = logits(&autodiff).require_grad();
    let grads = loss.forward(z.clone(), targets(&autodiff)).backward();
    let grad = values(z.grad(&grads).unwrap());
    assert!(grad.iter().all(|g| g.is_finite()), "{grad:?}");
    // Each row of a softmax-loss gradient sums to 0.
    for row in grad.chunks(3) {
        assert!(row.iter().sum::<f32>().abs() < 1e-5, "{row:?}");
    }
}
