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
        /// LibTorch, PyTorch's own kernels, through Burn's (deprecated) `burn-tch` (`--features
        /// tch`, built against an installed PyTorch): the CPU, or CUDA device K as `tch:K` in
        /// `train.devices`.
        Tch,
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
    /// Whether `BACKEND:K` names a device of its own (a GPU; LibTorch's CUDA device): the CPU
    /// backends have one device, whose indices are workers.
    pub fn has_indexed_devices(self) -> bool {
        matches!(self, Backend::Wgpu | Backend::Cuda | Backend::Tch)
    }

    /// Whether this binary was built with the backend.
    pub fn compiled_in(self) -> bool {
        match self {
            Backend::Flex => true,
            Backend::Ndarray => cfg!(feature = "ndarray"),
            Backend::Wgpu => cfg!(feature = "wgpu"),
            Backend::Cuda => cfg!(feature = "cuda"),
            Backend::Tch => cfg!(feature = "tch"),
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
            #[cfg(feature = "tch")]
            Backend::Tch => {
                #[allow(deprecated)]
                let device = Device::libtorch();
                Ok(device)
            }
            #[allow(unreachable_patterns)]
            other => anyhow::bail!(
                "backend \"{other}\" is not compiled in: rebuild with `--features {other}` \
                 (compiled in: {})",
                compiled_names()
            ),
        }
    }
}

/// The hardware `devices` run on, for `report.json` and comparisons' provenance: each GPU as its
/// driver names it (`NVIDIA H200`, `llvmpipe (LLVM 15.0.6, 256 bits)`) on wgpu and CUDA, the
/// processor's model name (`/proc/cpuinfo`) on the CPU backends; distinct names joined by `", "`
/// in order. `None` when no name is known (another operating system, a device that reports none).
pub fn device_names(backend: Backend, devices: &[Device]) -> Option<String> {
    let mut names: Vec<String> = Vec::new();
    for device in devices {
        let name = match backend {
            Backend::Flex | Backend::Ndarray => cpu_model(),
            Backend::Wgpu | Backend::Cuda => gpu_name(device),
            // LibTorch reports no name: its CPU device is the processor, a CUDA device unnamed.
            Backend::Tch => libtorch_cpu(device).then(cpu_model).flatten(),
        };
        if let Some(name) = name
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    (!names.is_empty()).then(|| names.join(", "))
}

/// The processor's model name, from `/proc/cpuinfo` (Linux); `None` elsewhere.
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == "model name").then(|| value.trim().to_string())
        })
        .filter(|name| !name.is_empty())
}

/// Whether `device` is LibTorch's CPU device.
#[cfg(feature = "tch")]
fn libtorch_cpu(device: &Device) -> bool {
    #[allow(deprecated)]
    let cpu = Device::libtorch();
    *device == cpu
}

#[cfg(not(feature = "tch"))]
fn libtorch_cpu(_device: &Device) -> bool {
    false
}

/// A GPU backend's device name, as its driver reports it.
#[cfg(any(feature = "wgpu", feature = "cuda"))]
fn gpu_name(device: &Device) -> Option<String> {
    device.identity().map(|identity| identity.name)
}

#[cfg(not(any(feature = "wgpu", feature = "cuda")))]
fn gpu_name(_device: &Device) -> Option<String> {
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_device_names_are_the_processor_model() {
        let device = Device::flex();
        let name = device_names(Backend::Flex, &[device.clone(), device]);
        if cfg!(target_os = "linux") {
            let name = name.expect("a model name in /proc/cpuinfo");
            assert!(!name.is_empty() && !name.contains(", "), "{name}");
        }
    }
}
