//! `--pack auto|off|N` and `[compare] pack`: which runs of a sweep train as one packed model
//! (`crate::run::pack`), in groups of at most N runs that can share a step.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::store::Run;
use crate::run::backend::{Backend, device_names};
use crate::run::config::ModelKind;
use crate::run::pack::memory::{AUTO_MEMORY_BYTES, run_bytes, runs_within};
use crate::run::pack::step_key;
use crate::run::run_dir::RunDir;
use crate::task::TaskKind;
use rebalance_data::LongTailData;

/// The largest group `auto` makes; a group is smaller where its runs' estimated memory would
/// pass [`AUTO_MEMORY_BYTES`] (`Pack::split`).
pub const AUTO_GROUP: usize = 32;

/// How a sweep packs its runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pack {
    /// Packs where it measured faster (docs/compare.md, "Packed sweeps"): on a GPU (CUDA, or
    /// wgpu on a GPU adapter), groups of up to [`AUTO_GROUP`] that fit [`AUTO_MEMORY_BYTES`]
    /// (`Pack::split`); on wgpu over a CPU adapter
    /// (lavapipe) the MLP's runs too (0.67–0.78× the time, a fifth of the kernel launches),
    /// the convolutional nets' alone; on flex, ndarray and LibTorch's CPU every run alone, as
    /// `off` (a step of one small model already computes at the core's speed; `--jobs` uses
    /// the other cores).
    #[default]
    Auto,
    /// Every run alone.
    Off,
    /// Groups of at most N runs, on any backend (1: every run alone).
    Runs(usize),
}

impl Pack {
    /// The largest group on `backend` for runs of `model`: `None` for every run alone.
    ///
    /// # Errors
    /// The backend's device cannot be opened (only `auto` on wgpu asks it its name).
    pub fn group_size(self, backend: Backend, model: ModelKind) -> anyhow::Result<Option<usize>> {
        Ok(match self {
            Pack::Off | Pack::Runs(0 | 1) => None,
            Pack::Runs(n) => Some(n),
            Pack::Auto => match backend {
                Backend::Cuda => Some(AUTO_GROUP),
                Backend::Wgpu => {
                    let name = device_names(backend, &[backend.device()?]).unwrap_or_default();
                    let cpu = ["llvmpipe", "lavapipe", "SwiftShader"]
                        .iter()
                        .any(|adapter| name.contains(adapter));
                    (!cpu || model == ModelKind::Mlp).then_some(AUTO_GROUP)
                }
                Backend::Flex | Backend::Ndarray | Backend::Tch => None,
            },
        })
    }

    /// `group` (runs that share a step, all of one model, batch size and data shape, which the
    /// first run's `data` gives) in near-equal parts that each fit [`AUTO_MEMORY_BYTES`] by
    /// [`run_bytes`]' estimate, under `auto`; as it is under `N` (the user's size), or where
    /// the estimate cannot be made (the model's own check then reports why).
    pub(super) fn split<'a, T: TaskKind>(
        self,
        group: &[&'a Run],
        data: &LongTailData<T::Target>,
    ) -> Vec<Vec<&'a Run>> {
        let config = &group[0].config;
        let estimate = run_bytes(
            &config.model,
            &data.feature_shape,
            data.num_classes,
            config.train.batch_size,
        );
        let fit = match (self, estimate) {
            (Pack::Auto, Ok(bytes)) => runs_within(AUTO_MEMORY_BYTES, bytes),
            _ => group.len(),
        };
        group
            .chunks(part_size(group.len(), fit))
            .map(<[&Run]>::to_vec)
            .collect()
    }
}

/// The size of the near-equal parts of a group of `runs` where `fit` runs fit at most: 48 runs
/// of which 23 fit go in three parts of 16, not 23, 23 and 2.
fn part_size(runs: usize, fit: usize) -> usize {
    let parts = runs.div_ceil(fit.max(1)).max(1);
    runs.div_ceil(parts).max(1)
}

impl FromStr for Pack {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Pack::Auto),
            "off" => Ok(Pack::Off),
            n => match n.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(Pack::Runs(n)),
                _ => Err(format!(
                    "pack {s:?}: expected auto, off or a number of runs >= 1"
                )),
            },
        }
    }
}

impl fmt::Display for Pack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pack::Auto => f.write_str("auto"),
            Pack::Off => f.write_str("off"),
            Pack::Runs(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for Pack {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Pack::Runs(n) => serializer.serialize_u64(*n as u64),
            other => serializer.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Pack {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// `pack = 6` or `pack = "auto"`.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Runs(u64),
            Name(String),
        }
        match Written::deserialize(deserializer)? {
            Written::Runs(n) => n.to_string().parse(),
            Written::Name(name) => name.parse(),
        }
        .map_err(serde::de::Error::custom)
    }
}

/// The sweep's units of work: a group of runs to train as one model, or one run alone; with what
/// the packing left alone and why (said once per reason). The interrupted runs with their own
/// checkpoints come first, in the order of `todo`, then the others: a run that only needs
/// finishing is not held back by a failure of a unit before it.
///
/// A group interrupted before all of its runs had their own checkpoints (its folder in `dir`'s
/// `.packs/` lists them) is formed again as it was, before the others, whatever `group_size`
/// says now (`--pack off` included): its checkpoint holds exactly those runs, and their epochs
/// in it are not trained again.
pub(super) fn units<'a>(
    dir: &std::path::Path,
    todo: &[&'a Run],
    group_size: Option<usize>,
) -> (Vec<Vec<&'a Run>>, Vec<String>) {
    let interrupted = interrupted_groups(dir, todo);
    let in_group = |run: &Run| {
        interrupted
            .iter()
            .flatten()
            .any(|member| std::ptr::eq(*member, run))
    };
    let (resumed, rest): (Vec<&Run>, Vec<&Run>) = todo
        .iter()
        .copied()
        .filter(|run| !in_group(run))
        .partition(|run| run.dir.last_checkpoint().is_some());
    let (units, notes) = grouped(&rest, group_size);
    let resumed = resumed.into_iter().map(|run| vec![run]);
    (
        interrupted
            .clone()
            .into_iter()
            .chain(resumed)
            .chain(units)
            .collect(),
        notes,
    )
}

/// The groups of `dir`'s `.packs/` whose runs are all in `todo`, with their configs unchanged
/// (the folder's name is their hash), as they were.
fn interrupted_groups<'a>(dir: &std::path::Path, todo: &[&'a Run]) -> Vec<Vec<&'a Run>> {
    let Ok(entries) = std::fs::read_dir(dir.join(".packs")) else {
        return Vec::new();
    };
    let mut folders: Vec<std::path::PathBuf> =
        entries.filter_map(|e| Some(e.ok()?.path())).collect();
    folders.sort();
    let mut groups: Vec<Vec<&Run>> = Vec::new();
    for folder in folders {
        let Ok(text) = std::fs::read_to_string(RunDir::new(&folder).group_members()) else {
            continue;
        };
        let members: Option<Vec<&Run>> = text
            .lines()
            .map(|line| {
                todo.iter()
                    .copied()
                    .find(|run| run.dir.path() == std::path::Path::new(line))
            })
            .collect();
        let Some(members) = members.filter(|m| !m.is_empty()) else {
            continue;
        };
        let unchanged = group_dir(dir, &members).is_ok_and(|d| d.path() == folder);
        let free = members.iter().all(|run| {
            !groups
                .iter()
                .flatten()
                .any(|other| std::ptr::eq(*other, *run))
        });
        if unchanged && free {
            groups.push(members);
        }
    }
    groups
}

/// [`units`] of runs without their own checkpoints, in the order of `todo`.
fn grouped<'a>(todo: &[&'a Run], group_size: Option<usize>) -> (Vec<Vec<&'a Run>>, Vec<String>) {
    let Some(size) = group_size else {
        return (todo.iter().map(|&run| vec![run]).collect(), Vec::new());
    };
    let mut notes = Vec::new();
    let mut keyed: Vec<(Option<String>, Vec<&Run>)> = Vec::new();
    for &run in todo {
        let key = match step_key(&run.config) {
            Ok(key) => Some(key),
            Err(reason) => {
                let note = format!("{reason}: its runs train alone");
                if !notes.contains(&note) {
                    notes.push(note);
                }
                None
            }
        };
        match keyed
            .iter_mut()
            .find(|(k, runs)| key.is_some() && *k == key && runs.len() < size)
        {
            Some((_, runs)) => runs.push(run),
            None => keyed.push((key, vec![run])),
        }
    }
    let units = keyed.into_iter().map(|(_, runs)| runs).collect();
    (units, notes)
}

/// Tidies the compare directory `dir`'s `.packs/` after a sweep: deleted whole where every
/// run of the sweep is finished (no group can resume from it), else only if empty (a shard's
/// groups beside it may still train).
pub(super) fn tidy(dir: &std::path::Path, all_finished: bool) {
    let packs = dir.join(".packs");
    let _ = if all_finished {
        std::fs::remove_dir_all(&packs)
    } else {
        std::fs::remove_dir(&packs)
    };
}

/// The folder of a group of `runs` in the compare directory `dir`: named by its runs and their
/// configs, so the same group of an interrupted sweep finds its checkpoints again.
pub(super) fn group_dir(dir: &std::path::Path, runs: &[&Run]) -> anyhow::Result<RunDir> {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    for run in runs {
        hash.update(run.dir.path().to_string_lossy().as_bytes());
        hash.update(run.config.to_toml()?.as_bytes());
    }
    let id: String = hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(RunDir::new(dir.join(".packs").join(format!("group-{id}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_split_into_near_equal_parts_that_fit() {
        assert_eq!(part_size(48, 23), 16);
        assert_eq!(part_size(32, 32), 32);
        assert_eq!(part_size(32, 100), 32);
        assert_eq!(part_size(5, 1), 1);
        assert_eq!(part_size(7, 3), 3);
        assert_eq!(part_size(1, 0), 1);
    }

    #[test]
    fn pack_reads_auto_off_and_a_number() {
        assert_eq!("auto".parse(), Ok(Pack::Auto));
        assert_eq!("off".parse(), Ok(Pack::Off));
        assert_eq!("6".parse(), Ok(Pack::Runs(6)));
        assert!("0".parse::<Pack>().is_err());
        assert!("many".parse::<Pack>().is_err());
        let toml: toml::Table = toml::from_str("a = 4\nb = \"off\"").unwrap();
        assert_eq!(Pack::deserialize(toml["a"].clone()).unwrap(), Pack::Runs(4));
        assert_eq!(Pack::deserialize(toml["b"].clone()).unwrap(), Pack::Off);
        let mlp = ModelKind::Mlp;
        assert_eq!(Pack::Runs(1).group_size(Backend::Flex, mlp).unwrap(), None);
        assert_eq!(Pack::Auto.group_size(Backend::Flex, mlp).unwrap(), None);
        assert_eq!(
            Pack::Runs(6).group_size(Backend::Flex, mlp).unwrap(),
            Some(6)
        );
        assert_eq!(
            Pack::Auto.group_size(Backend::Cuda, mlp).unwrap(),
            Some(AUTO_GROUP)
        );
    }
}
