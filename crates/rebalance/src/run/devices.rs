//! Naming devices (`[train] devices`, `compare --devices`) and ordering a training split so
//! that burn-train's multi-device strategy gives every device a stratified share of it.
//!
//! A device is written `BACKEND` or `BACKEND:INDEX`: `flex`, `flex:1`, `cuda:0`, `wgpu:1`,
//! `ndarray`. The index picks the GPU (`cuda:K` is CUDA device K, `wgpu:K` the K-th discrete
//! GPU, `wgpu` the default adapter, `tch:K` LibTorch's CUDA device K and `tch` its CPU). The CPU
//! backends have one device: `flex:0` and `flex:1` are the same CPU, trained on by two workers
//! (threads), which is what the tests use.

use rand_xoshiro::SplitMix64;
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use std::fmt;
use std::str::FromStr;

use crate::run::backend::Backend;
use burn::prelude::*;

/// A device as `[train] devices` and `compare --devices` name it: `BACKEND[:INDEX]`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde_with::DeserializeFromStr, serde_with::SerializeDisplay,
)]
pub struct DeviceSpec {
    /// The backend, which must be the run's `train.backend`.
    pub backend: Backend,
    /// The device index (GPU number); none for the backend's default device.
    pub index: Option<usize>,
}

/// A device name that is not `BACKEND[:INDEX]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid device {value:?}: {reason}; expected BACKEND or BACKEND:INDEX with BACKEND one of \
     flex, ndarray, wgpu, cuda, tch (e.g. \"flex\", \"cuda:0\", \"wgpu:1\")"
)]
pub struct InvalidDevice {
    value: String,
    reason: String,
}

impl FromStr for DeviceSpec {
    type Err = InvalidDevice;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| InvalidDevice {
            value: text.to_string(),
            reason,
        };
        let (name, index) = match text.trim().split_once(':') {
            Some((name, index)) => (name, Some(index)),
            None => (text.trim(), None),
        };
        let backend = name
            .parse::<Backend>()
            .map_err(|_| invalid(format!("unknown backend {name:?}")))?;
        let index = index
            .map(|i| {
                i.trim()
                    .parse::<usize>()
                    .map_err(|_| invalid(format!("the index {i:?} is not a number >= 0")))
            })
            .transpose()?;
        Ok(DeviceSpec { backend, index })
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(index) => write!(f, "{}:{index}", self.backend),
            None => write!(f, "{}", self.backend),
        }
    }
}

impl DeviceSpec {
    /// The backend's default device.
    pub fn default_of(backend: Backend) -> Self {
        DeviceSpec {
            backend,
            index: None,
        }
    }

    /// The Burn device.
    ///
    /// # Errors
    /// A backend not compiled in (the message names the cargo feature).
    pub fn device(self) -> anyhow::Result<Device> {
        match (self.backend, self.index) {
            #[cfg(feature = "wgpu")]
            (Backend::Wgpu, Some(index)) => Ok(Device::wgpu(DeviceKind::DiscreteGpu(index))),
            #[cfg(feature = "cuda")]
            (Backend::Cuda, Some(index)) => Ok(Device::cuda(index)),
            #[cfg(feature = "tch")]
            (Backend::Tch, Some(index)) => {
                #[allow(deprecated)]
                let device = Device::libtorch_cuda(index);
                Ok(device)
            }
            // The CPU backends have one device; the index only names a worker.
            (backend, _) => backend.device(),
        }
    }
}

/// Parses a `--devices` list: comma-separated devices, where `BACKEND:A-B` stands for
/// `BACKEND:A` to `BACKEND:B` (`cuda:0-3`).
///
/// # Errors
/// An empty list, a name that is not a device, or a range that runs backwards.
pub fn parse_device_list(text: &str) -> Result<Vec<DeviceSpec>, InvalidDevice> {
    let mut devices = Vec::new();
    for part in text.split(',').map(str::trim) {
        if let Some((name, range)) = part.split_once(':')
            && let Some((a, b)) = range.split_once('-')
        {
            let invalid = |reason: &str| InvalidDevice {
                value: part.to_string(),
                reason: reason.to_string(),
            };
            let first: DeviceSpec = format!("{name}:{a}").parse()?;
            let last: DeviceSpec = format!("{name}:{b}").parse()?;
            let (Some(a), Some(b)) = (first.index, last.index) else {
                return Err(invalid("a range needs two indices"));
            };
            if a > b {
                return Err(invalid("the range runs backwards"));
            }
            devices.extend((a..=b).map(|i| DeviceSpec {
                backend: first.backend,
                index: Some(i),
            }));
        } else {
            devices.push(part.parse()?);
        }
    }
    Ok(devices)
}

/// The devices a run trains on: `devices` (`[train] devices`), or the backend's default
/// device when it is empty; every one must be of `backend`.
///
/// # Errors
/// A device of another backend (naming `train.devices`), or a backend not compiled in.
pub fn training_devices(devices: &[DeviceSpec], backend: Backend) -> anyhow::Result<Vec<Device>> {
    if devices.is_empty() {
        return Ok(vec![backend.device()?]);
    }
    if let Some(other) = devices.iter().find(|d| d.backend != backend) {
        anyhow::bail!(
            "train.devices: \"{other}\" is not a device of train.backend = \"{backend}\"; \
             write them as \"{backend}\" or \"{backend}:INDEX\""
        );
    }
    devices.iter().map(|d| d.device()).collect()
}

/// Optimizer steps in an epoch of `items` samples in batches of `batch_size` on `devices`
/// devices, as burn-train's multi-device strategy steps: the split is cut into `devices`
/// contiguous slices (the last takes the remainder), each device takes one batch of its slice
/// per step, and the step ends when every slice is done.
pub fn steps_per_epoch(items: usize, batch_size: usize, devices: usize) -> usize {
    if devices <= 1 {
        return items.div_ceil(batch_size);
    }
    let slice = items / devices;
    (items - slice * (devices - 1)).div_ceil(batch_size)
}

/// An order of samples in which every contiguous stretch is a stratified mix: each stratum's
/// members (shuffled with `seed`) are spread evenly over the whole order. burn-train's
/// multi-device strategy gives each device a contiguous slice of the training split, so on
/// this order each device sees every class in its training share, not a run of head classes.
pub fn stratified_order(strata: &[usize], seed: u64) -> Vec<usize> {
    // SplitMix64: a fixed stream for the shuffles, the same on every platform.
    let mut rng = SplitMix64::seed_from_u64(seed ^ 0x5EED_DE71_CE50_0001);
    let num = strata.iter().max().map_or(0, |&m| m + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); num];
    for (i, &s) in strata.iter().enumerate() {
        members[s].push(i);
    }
    let mut keyed: Vec<(f64, usize, usize)> = Vec::with_capacity(strata.len());
    for (s, list) in members.iter_mut().enumerate() {
        for k in (1..list.len()).rev() {
            list.swap(k, (rng.next_u64() % (k as u64 + 1)) as usize);
        }
        let n = list.len() as f64;
        for (j, &i) in list.iter().enumerate() {
            keyed.push(((j as f64 + 0.5) / n, s, i));
        }
    }
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    keyed.into_iter().map(|(_, _, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse_and_print() {
        let d: DeviceSpec = "cuda:3".parse().unwrap();
        assert_eq!((d.backend, d.index), (Backend::Cuda, Some(3)));
        assert_eq!(d.to_string(), "cuda:3");
        assert_eq!("FLEX".parse::<DeviceSpec>().unwrap().to_string(), "flex");
        let err = "tpu:0".parse::<DeviceSpec>().unwrap_err().to_string();
        assert!(
            err.contains("unknown backend \"tpu\"") && err.contains("cuda:0"),
            "{err}"
        );
        assert!("cuda:x".parse::<DeviceSpec>().is_err());
        let list = parse_device_list("cuda:0-2,cuda:5").unwrap();
        let names: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["cuda:0", "cuda:1", "cuda:2", "cuda:5"]);
        assert!(parse_device_list("cuda:3-1").is_err());
        assert!(parse_device_list("").is_err());
    }

    #[test]
    fn other_backends_are_refused() {
        let devices = [
            DeviceSpec::default_of(Backend::Flex),
            "cuda:0".parse().unwrap(),
        ];
        let err = training_devices(&devices, Backend::Flex)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("train.devices: \"cuda:0\""), "{err}");
        assert_eq!(training_devices(&[], Backend::Flex).unwrap().len(), 1);
    }

    #[test]
    fn steps_follow_the_longest_slice() {
        assert_eq!(steps_per_epoch(1000, 100, 1), 10);
        assert_eq!(steps_per_epoch(1000, 100, 2), 5);
        // Slices of 333, 333 and 334.
        assert_eq!(steps_per_epoch(1000, 100, 3), 4);
    }

    #[test]
    fn every_slice_is_stratified() {
        // Class-sorted: 600 of class 0, 300 of class 1, 100 of class 2.
        let labels: Vec<usize> = (0..1000)
            .map(|i| usize::from(i >= 600) + usize::from(i >= 900))
            .collect();
        let order = stratified_order(&labels, 7);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        for slice in order.chunks(250) {
            let mut counts = [0usize; 3];
            for &i in slice {
                counts[labels[i]] += 1;
            }
            for (c, expected) in [150, 75, 25].into_iter().enumerate() {
                assert!(counts[c].abs_diff(expected) <= 1, "{counts:?}");
            }
        }
        assert_ne!(order, stratified_order(&labels, 8));
    }
}
