//! Picking the compute backend at run time among those compiled in.

use burn::prelude::*;
use serde_with::{DeserializeFromStr, SerializeDisplay};
use strum::{IntoEnumIterator, VariantNames};

/// A compute backend, by its config and command-line name (`train.backend`, `--backend`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantNames,
    strum::EnumIter,
    SerializeDisplay,
    DeserializeFromStr,
)]
#[strum(
    serialize_all = "lowercase",
    ascii_case_insensitive,
    parse_err_ty = UnknownBackend,
    parse_err_fn = unknown_backend
)]
pub enum Backend {
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

/// A backend name that is not one of [`Backend`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown backend {0:?}: expected one of {names} (compiled in: {compiled})",
    names = Backend::VARIANTS.join(", "),
    compiled = compiled_names()
)]
pub struct UnknownBackend(String);

fn unknown_backend(text: &str) -> UnknownBackend {
    UnknownBackend(text.to_string())
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
