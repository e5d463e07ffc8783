//! Test fixtures shared by the workspace's test suites (`rebalance-data`'s reader tests, the
//! `rebalance` binary's image tests), the check of a config enum's names
//! ([`assert_config_names`]), and with the `wgpu` feature the wgpu adapter probe of the tests
//! that run on wgpu (`wgpu_device`).
//!
//! The files are written byte by byte from the formats' descriptions, not with code of
//! `rebalance-data`: a reader test then checks the reader against the format, not against a
//! writer that shares its mistakes. This crate is a dev-dependency only and is not published.

/// An IDX file (the MNIST format) of unsigned bytes: the magic number `0x0000_08nn` (`nn` the
/// number of dimensions), each dimension as a big-endian `u32`, then `data` as it is.
///
/// `data` is not checked against the dimensions, so that tests can write truncated files.
pub fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let rank = u8::try_from(dims.len()).expect("an IDX file has at most 255 dimensions");
    let mut bytes = vec![0, 0, 0x08, rank];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

/// A CIFAR-10 binary batch: for each `(label, fill)` one 3073-byte record, the label byte then
/// a 3×32×32 image whose every byte is `fill`.
///
/// Labels are not checked, so that tests can write out-of-range ones.
pub fn cifar_batch(records: &[(u8, u8)]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(records.len() * 3073);
    for &(label, fill) in records {
        bytes.push(label);
        bytes.extend(std::iter::repeat_n(fill, 3 * 32 * 32));
    }
    bytes
}

/// Checks what `rebalance_weights::config_enum!` promises of the enum `T`: each variant's
/// name (its `&'static str`) is its `Display`, is listed in `T::VARIANTS` in the variants'
/// order, is its serde form (a JSON string), and reads back as the variant through `FromStr`
/// (in upper case too: names are ASCII case-insensitive) and through serde; and `unknown`, a
/// name of no variant, is refused by `FromStr` and by serde alike with the error `message`.
///
/// # Panics
/// Where one of these does not hold, naming the variant or the text.
pub fn assert_config_names<T>(unknown: &str, message: &str)
where
    T: strum::IntoEnumIterator
        + strum::VariantNames
        + Copy
        + Into<&'static str>
        + std::str::FromStr
        + std::fmt::Display
        + std::fmt::Debug
        + PartialEq
        + serde::Serialize
        + serde::de::DeserializeOwned,
    T::Err: std::fmt::Display,
{
    let from_json = |text: &str| serde_json::from_value::<T>(serde_json::Value::from(text));
    let names: Vec<&'static str> = T::iter().map(Into::into).collect();
    assert_eq!(names, T::VARIANTS, "the names of the variants, in order");
    for (variant, name) in T::iter().zip(names) {
        assert_eq!(variant.to_string(), name, "{variant:?}");
        let json = serde_json::to_string(&variant).expect("a name serializes");
        assert_eq!(json, format!("\"{name}\""), "{variant:?}");
        for text in [name.to_string(), name.to_ascii_uppercase()] {
            assert_eq!(text.parse::<T>().ok(), Some(variant), "{text:?}");
            assert_eq!(
                from_json(&text).ok(),
                Some(variant),
                "{text:?} through serde"
            );
        }
    }
    match unknown.parse::<T>() {
        Ok(variant) => panic!("{unknown:?} names {variant:?}"),
        Err(err) => assert_eq!(err.to_string(), message),
    }
    match from_json(unknown) {
        Ok(variant) => panic!("{unknown:?} names {variant:?} through serde"),
        Err(err) => assert_eq!(err.to_string(), message, "through serde"),
    }
}

/// A wgpu device, if an adapter can run a kernel (`test` names the caller in the message).
///
/// Where none can, the test should pass without running: this says so on the terminal (not in
/// the output libtest captures of a passing test, which would hide that nothing ran) and
/// returns `None`, unless `REBALANCE_REQUIRE_WGPU=1` (set by `.ci/run`) makes that a failure.
#[cfg(feature = "wgpu")]
pub fn wgpu_device(test: &str) -> Option<burn::prelude::Device> {
    use burn::prelude::{Device, DeviceKind, Tensor};
    let probe = std::panic::catch_unwind(|| {
        let device = Device::wgpu(DeviceKind::DefaultDevice);
        let sum: f32 = Tensor::<1>::from_floats([1.0, 2.0], &device)
            .sum()
            .into_scalar();
        (sum == 3.0).then_some(device)
    });
    match probe {
        Ok(Some(device)) => Some(device),
        _ if std::env::var("REBALANCE_REQUIRE_WGPU").is_ok_and(|v| v == "1") => {
            panic!("{test}: no usable wgpu adapter, and REBALANCE_REQUIRE_WGPU=1")
        }
        _ => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no usable wgpu adapter (install mesa-vulkan-drivers for \
                 lavapipe; REBALANCE_REQUIRE_WGPU=1 makes this a failure)"
            );
            None
        }
    }
}
