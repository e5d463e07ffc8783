//! Picking the compute backend at run time among those compiled in.

use burn::prelude::*;

/// The backends this binary was built with, by name.
pub fn compiled_backends() -> Vec<&'static str> {
    let mut names = vec!["flex"];
    if cfg!(feature = "ndarray") {
        names.push("ndarray");
    }
    if cfg!(feature = "wgpu") {
        names.push("wgpu");
    }
    if cfg!(feature = "cuda") {
        names.push("cuda");
    }
    names
}

/// The device of backend `name`.
///
/// # Errors
/// An unknown name, or a backend not compiled in (the message names the cargo feature).
pub fn device(name: &str) -> anyhow::Result<Device> {
    match name {
        "flex" => Ok(Device::flex()),
        #[cfg(feature = "ndarray")]
        "ndarray" => {
            #[allow(deprecated)]
            let device = Device::ndarray();
            Ok(device)
        }
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(DeviceKind::DefaultDevice)),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        #[allow(unreachable_patterns)]
        "ndarray" | "wgpu" | "cuda" => anyhow::bail!(
            "backend {name:?} is not compiled in: rebuild with `--features {name}` \
             (compiled in: {})",
            compiled_backends().join(", ")
        ),
        other => anyhow::bail!(
            "unknown backend {other:?}: expected one of flex, ndarray, wgpu, cuda (compiled in: {})",
            compiled_backends().join(", ")
        ),
    }
}
