//! Picking the compute backend at run time among those compiled in.

use burn::prelude::*;
use strum::{IntoEnumIterator, VariantNames};

rebalance_weights::config_enum! {
    /// A compute backend, by its config and command-line name (`train.backend`, `--backend`).
    pub enum Backend("backend", UnknownBackend) {
        /// Burn's pure-Rust CPU backend (always compiled in; the default).
        #[default]
        Flex,
        /// Burn's deprecated ndarray CPU backend (`--features ndarray`).
        Ndarray,
        /// GPUs through wgpu: Vulkan, Metal, DX12 (`--features wgpu`).
        Wgpu,
        /// NVIDIA GPUs through CUDA (`--features cuda`).
        Cuda,
    }
}

/// A backend name that is not one of [`Backend`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend {value:?}: expected one of {names} (compiled in: {compiled})", compiled = compiled_names())]
pub struct UnknownBackend {
    value: String,
    names: String,
}

impl UnknownBackend {
    fn unknown_name<T: VariantNames>(_what: &'static str, text: &str) -> Self {
        UnknownBackend {
            value: text.to_string(),
            names: T::VARIANTS.join(", "),
        }
    }
}

impl Backend {
    /// Whether this binary was built with the backend.
    pub fn compiled_in(self) -> bool {
        match self {
            Backend::Flex => true,
            Backend::Ndarray => cfg!(feature = "ndarray"),
            Backend::Wgpu => cfg!(feature = "wgpu"),
            Backend::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The backend's device.
    ///
    /// # Errors
    /// A backend not compiled in (the message names the cargo feature).
    pub fn device(self) -> anyhow::Result<Device> {
        match self {
            Backend::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            Backend::Ndarray => {
                #[allow(deprecated)]
                let device = Device::ndarray();
                Ok(device)
            }
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => Ok(Device::wgpu(DeviceKind::DefaultDevice)),
            #[cfg(feature = "cuda")]
            Backend::Cuda => Ok(Device::cuda(0)),
            #[allow(unreachable_patterns)]
            other => anyhow::bail!(
                "backend \"{other}\" is not compiled in: rebuild with `--features {other}` \
                 (compiled in: {})",
                compiled_names()
            ),
        }
    }
}

/// The backends this binary was built with.
pub fn compiled_backends() -> Vec<Backend> {
    Backend::iter().filter(|b| b.compiled_in()).collect()
}

fn compiled_names() -> String {
    compiled_backends()
        .iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The device of backend `name`.
///
/// # Errors
/// An unknown name, or a backend not compiled in (the message names the cargo feature).
pub fn device(name: &str) -> anyhow::Result<Device> {
    name.parse::<Backend>()?.device()
}
