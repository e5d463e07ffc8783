//! How a run directory may be used (a new run, `--overwrite`, `--resume`), decided before
//! anything in it is touched; the `finished` marker and its checksums; the checkpoints.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use burn::lr_scheduler::LrSchedulerRecord;
use burn::optim::OptimizerRecord;
use burn::store::ModuleRecord;

use super::*;
use crate::reporting::write_atomic;
use crate::run::config::RunConfig;

/// The SHA-256 of the file at `path`, in hex.
fn sha256(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hex_sha256(&bytes))
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The SHA-256 of the config at `path` without its [`PLACEMENT_KEYS`]: what the model was
/// trained with, which `eval` must not see changed (the backend, workers and directory may).
fn config_sha256(path: &Path) -> anyhow::Result<String> {
    Ok(hex_sha256(
        toml::to_string(&placed_config(path)?)?.as_bytes(),
    ))
}

/// The config at `path` without its [`PLACEMENT_KEYS`].
fn placed_config(path: &Path) -> anyhow::Result<toml::Table> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut table: toml::Table = text
        .parse()
        .with_context(|| format!("{} is damaged", path.display()))?;
    for key in PLACEMENT_KEYS {
        let (section, name) = key.split_once('.').unwrap_or(("", key));
        if let Some(toml::Value::Table(t)) = table.get_mut(section) {
            t.remove(name);
        }
    }
    Ok(table)
}

/// The marker's entry of each config key's checksum, which names the keys edited after the
/// run finished.
const CONFIG_KEYS: &str = "config.toml keys";

/// A short checksum of each key (`section.key`) of the config at `path`, its placement keys
/// aside.
fn config_key_sums(path: &Path) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let mut sums = serde_json::Map::new();
    for (section, value) in placed_config(path)? {
        let keys: Vec<(String, toml::Value)> = match value {
            toml::Value::Table(table) => table
                .into_iter()
                .map(|(key, value)| (format!("{section}.{key}"), value))
                .collect(),
            value => vec![(section, value)],
        };
        for (key, value) in keys {
            let sum = hex_sha256(value.to_string().as_bytes());
            sums.insert(key, sum[..16].into());
        }
    }
    Ok(sums)
}

/// The keys whose checksums differ between `recorded` and `now` (changed, added or removed),
/// in order.
fn changed_keys(
    recorded: &serde_json::Map<String, serde_json::Value>,
    now: &serde_json::Map<String, serde_json::Value>,
) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = recorded.keys().chain(now.keys()).collect();
    keys.into_iter()
        .filter(|key| recorded.get(*key) != now.get(*key))
        .cloned()
        .collect()
}

/// The first key whose value differs between two configs written as TOML (`old`, `new`), as
/// `key: old → new`, the `ignored` keys (`section.key`) aside; `None` where they agree.
///
/// # Errors
/// A config that is not TOML.
pub(crate) fn config_difference(
    old: &str,
    new: &str,
    ignored: &[&str],
) -> Result<Option<String>, toml::de::Error> {
    let strip = |text: &str| -> Result<toml::Value, toml::de::Error> {
        let mut table: toml::Table = text.parse()?;
        for key in ignored {
            let (section, name) = key.split_once('.').unwrap_or(("", key));
            if let Some(toml::Value::Table(t)) = table.get_mut(section) {
                t.remove(name);
            }
        }
        Ok(toml::Value::Table(table))
    };
    Ok(first_difference(&strip(old)?, &strip(new)?, ""))
}

/// The first key whose value differs between two configs, as `key: old → new`.
pub(crate) fn first_difference(
    old: &toml::Value,
    new: &toml::Value,
    prefix: &str,
) -> Option<String> {
    match (old, new) {
        (toml::Value::Table(a), toml::Value::Table(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|k| {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => first_difference(x, y, &key),
                    (Some(x), None) => Some(format!("{key}: {x} → (unset)")),
                    (None, Some(y)) => Some(format!("{key}: (unset) → {y}")),
                    (None, None) => None,
                }
            })
        }
        (a, b) if a == b => None,
        (a, b) => Some(format!("{prefix}: {a} → {b}")),
    }
}

impl RunDir {
    /// Decides how training uses the directory, reading it and writing nothing: a new run
    /// (refused over a finished run without `overwrite`), or with `resume` the epoch the run
    /// continues after (refused where `config`, as it would be recorded, differs from the
    /// recorded config in a key [`RESUMABLE_KEYS`] does not name, where the run has finished
    /// `config.train.epochs` already, or where its files are damaged).
    ///
    /// # Errors
    /// As above, each naming the file or key.
    pub fn plan(&self, config: &RunConfig, resume: bool, overwrite: bool) -> anyhow::Result<Start> {
        let finished = self.finished_epochs()?;
        if !resume {
            return match finished {
                // Extending needs the last checkpoint, which a sweep's runs do not keep.
                Some(_) if !overwrite => bail!(
                    "{} holds a finished run ({}); pass --overwrite to replace it, {}or choose \
                     another --out",
                    self.path.display(),
                    self.describe(),
                    if self.last_checkpoint().is_some() {
                        "--resume with a larger train.epochs to extend it, "
                    } else {
                        ""
                    }
                ),
                Some(_) => Ok(Start::Fresh {
                    replacing: Some(format!(
                        "the finished run in {} ({})",
                        self.path.display(),
                        self.describe()
                    )),
                }),
                // An interrupted run's epochs are work too: kept unless asked otherwise.
                None => match self.last_checkpoint() {
                    Some(done) if !overwrite => bail!(
                        "{} holds an unfinished run ({done} of its {} epochs done); continue it \
                         with --resume, start it over with --overwrite, or choose another --out",
                        self.path.display(),
                        self.recorded_epochs()
                            .map_or("?".to_string(), |e| e.to_string())
                    ),
                    Some(done) => Ok(Start::Fresh {
                        replacing: Some(format!(
                            "the unfinished run in {} ({done} epochs done)",
                            self.path.display()
                        )),
                    }),
                    None => Ok(Start::Fresh { replacing: None }),
                },
            };
        }
        let checkpoints = self.path.join(CHECKPOINTS);
        let Some(from) = self.last_checkpoint() else {
            if let Some(done) = finished.filter(|&done| config.train.epochs <= done) {
                bail!(
                    "--resume: the run in {} has already finished its {done} epochs",
                    self.path.display()
                );
            }
            if finished.is_some() {
                bail!(
                    "--resume: the run in {} is finished and keeps no checkpoint to continue from \
                     (a compare sweep's runs delete theirs once finished), so it cannot be \
                     extended; train it again with --overwrite and the new train.epochs",
                    self.path.display()
                );
            }
            let found = match self.newest_checkpoint_file() {
                Some(epoch) => {
                    format!("the one of epoch {epoch} was cut short before it was complete")
                }
                None => "none was written".to_string(),
            };
            bail!(
                "--resume: no complete checkpoint in {} ({found}), so no epoch to continue \
                 from; start the run again without --resume",
                checkpoints.display()
            );
        };
        self.check_resumable(config)?;
        let epochs = config.train.epochs;
        if let Some(done) = finished {
            self.verify_checksums()?;
            if epochs <= done {
                bail!(
                    "--resume: the run in {} has already finished its {done} epochs; raise \
                     train.epochs to extend it",
                    self.path.display()
                );
            }
        }
        if from > epochs {
            bail!(
                "--resume: the run in {} has a checkpoint of epoch {from}, past train.epochs = \
                 {epochs}",
                self.path.display()
            );
        }
        if epochs > from && self.checkpoint_file(PACKED_CHECKPOINT, from).exists() {
            bail!(
                "--resume: the checkpoint of epoch {from} in {} is a packed run's (compare \
                 --pack): it holds the model, not the optimizer's state, so the run can be \
                 finished (train.epochs = {from}) but not extended; train it again with \
                 --overwrite and train.epochs = {epochs}",
                self.path.display()
            );
        }
        Ok(Start::Resume { from })
    }

    /// Refuses a config that differs from the recorded one in a key `--resume` may not change.
    fn check_resumable(&self, config: &RunConfig) -> anyhow::Result<()> {
        let path = self.path.join(CONFIG);
        let recorded = std::fs::read_to_string(&path)
            .with_context(|| format!("--resume: cannot read {}", path.display()))?;
        let difference = config_difference(&recorded, &config.to_toml()?, &RESUMABLE_KEYS)
            .with_context(|| format!("--resume: {} is damaged", path.display()))?;
        if let Some(difference) = difference {
            bail!(
                "--resume: the config differs from the run's {} in {difference}; only {} may \
                 change on --resume (train afresh into another --out instead)",
                path.display(),
                RESUMABLE_KEYS.join(", ")
            );
        }
        Ok(())
    }

    /// Readies the directory once training really starts (after [`RunDir::plan`] and
    /// [`RunDir::claim`]): un-finishes the run, clears an earlier run's files for a fresh one,
    /// and records `config` and, for a fresh run, `state`.
    ///
    /// # Errors
    /// A file that cannot be removed or written.
    pub fn begin(&self, start: &Start, config: &RunConfig, state: &RunState) -> anyhow::Result<()> {
        // First: from here until the new `finished` marker, the run is unfinished.
        remove_if_present(&self.path.join(FINISHED))?;
        if let Start::Fresh { .. } = start {
            for name in [
                MODEL,
                REPORT_JSON,
                REPORT_MD,
                CONFUSION_CSV,
                HISTORY,
                EXPERIMENT_LOG,
                PREDICTIONS_CSV,
                SHARED_TRAINING,
            ] {
                remove_if_present(&self.path.join(name))?;
            }
            for adjusted in self.adjusted_outputs()? {
                remove_if_present(&adjusted)?;
            }
            let checkpoints = self.path.join(CHECKPOINTS);
            if checkpoints.exists() {
                std::fs::remove_dir_all(&checkpoints)
                    .with_context(|| format!("cannot clear {}", checkpoints.display()))?;
            }
            self.write_state(state)?;
        }
        self.write_config(config)
    }

    /// The files of `eval`'s adjusted evaluations (`report-<adjustment>.{json,md}`,
    /// `predictions-<adjustment>.csv`, and the older `report-posthoc.*`).
    ///
    /// # Errors
    /// The directory cannot be listed.
    fn adjusted_outputs(&self) -> anyhow::Result<Vec<PathBuf>> {
        let entries = std::fs::read_dir(&self.path)
            .with_context(|| format!("cannot list {}", self.path.display()))?;
        let mut found = Vec::new();
        for entry in entries {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let adjusted = (name.starts_with("report-")
                && (name.ends_with(".json") || name.ends_with(".md")))
                || (name.starts_with("predictions-") && name.ends_with(".csv"));
            if adjusted && path.is_file() {
                found.push(path);
            }
        }
        Ok(found)
    }

    /// The epochs of the finished run the directory holds, if it holds one.
    ///
    /// # Errors
    /// A `finished` marker beside a config that cannot be read.
    fn finished_epochs(&self) -> anyhow::Result<Option<usize>> {
        if !self.is_finished() {
            return Ok(None);
        }
        Ok(Some(self.read_config()?.train.epochs))
    }

    /// Whether the directory holds a finished run: its `finished` marker, written last, with the
    /// model and the report it finished with.
    pub fn is_finished(&self) -> bool {
        [FINISHED, MODEL, REPORT_JSON]
            .iter()
            .all(|name| self.path.join(name).is_file())
            || self.is_legacy_finished()
    }

    /// A run finished before runs had a `finished` marker: its model and report, and no
    /// checkpoints (a sweep deleted them once the run finished; a crash after the last
    /// checkpoint leaves them). Such a run has no checksums to check.
    fn is_legacy_finished(&self) -> bool {
        !self.path.join(FINISHED).exists()
            && self.path.join(MODEL).is_file()
            && self.path.join(REPORT_JSON).is_file()
            && !self.path.join(CHECKPOINTS).exists()
    }

    /// The finished run, in words: its loss, epochs and balanced accuracy (macro-F1 for a
    /// multi-label run).
    fn describe(&self) -> String {
        let report = std::fs::read_to_string(self.path.join(REPORT_JSON))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        let Some(r) = report else {
            return "its report is unreadable".to_string();
        };
        let (name, key) = match r["task"].as_str() {
            Some("multi-label") => ("macro-F1", "macro_f1"),
            _ => ("balanced accuracy", "balanced_accuracy"),
        };
        format!(
            "loss {}, scheme {}, {} epochs, {name} {:.4}",
            r["loss"].as_str().unwrap_or("?"),
            r["scheme"].as_str().unwrap_or("?"),
            r["epochs"],
            r[key].as_f64().unwrap_or(f64::NAN)
        )
    }

    /// Marks the run finished, last of all its files: the checksums of its model and state.
    ///
    /// # Errors
    /// A file that cannot be read or written.
    pub fn mark_finished(&self) -> anyhow::Result<()> {
        let mut sums = serde_json::Map::new();
        for name in CHECKSUMMED {
            sums.insert(name.to_string(), sha256(&self.path.join(name))?.into());
        }
        sums.insert(
            CONFIG.to_string(),
            config_sha256(&self.path.join(CONFIG))?.into(),
        );
        sums.insert(
            CONFIG_KEYS.to_string(),
            config_key_sums(&self.path.join(CONFIG))?.into(),
        );
        // A multi-label run's decision thresholds are part of what it reports.
        let thresholds = self.path.join(THRESHOLDS);
        if thresholds.exists() {
            sums.insert(THRESHOLDS.to_string(), sha256(&thresholds)?.into());
        }
        write_atomic(
            &self.path.join(FINISHED),
            &serde_json::to_string_pretty(&sums)?,
        )
    }

    /// Checks a finished run's model, state and config (its [`PLACEMENT_KEYS`] aside) against
    /// the checksums it recorded (nothing for a run finished before runs recorded them).
    ///
    /// # Errors
    /// An unfinished run, or a file whose checksum differs, naming it.
    pub fn verify_checksums(&self) -> anyhow::Result<()> {
        if self.is_legacy_finished() {
            return Ok(());
        }
        let marker = self.path.join(FINISHED);
        if !marker.exists() {
            bail!(
                "the run in {} is not finished (it has no {FINISHED} marker); complete it with \
                 `rebalance train --config {} --out {} --resume`",
                self.path.display(),
                self.path.join(CONFIG).display(),
                self.path.display()
            );
        }
        let text = std::fs::read_to_string(&marker)
            .with_context(|| format!("cannot read {}", marker.display()))?;
        let sums: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
            .with_context(|| format!("{} is damaged", marker.display()))?;
        for name in CHECKSUMMED {
            let path = self.path.join(name);
            let recorded = sums.get(name).and_then(|v| v.as_str());
            if recorded != Some(sha256(&path)?.as_str()) {
                bail!(
                    "{} is damaged: its SHA-256 differs from the one recorded in {} when the run \
                     finished",
                    path.display(),
                    marker.display()
                );
            }
        }
        if let Some(recorded) = sums.get(THRESHOLDS).and_then(|v| v.as_str()) {
            let path = self.path.join(THRESHOLDS);
            if !path.exists() || recorded != sha256(&path)? {
                bail!(
                    "{} was changed or removed after the run finished: its thresholds decided \
                     the reported predictions; restore it, or train the run again with \
                     eval.thresholds set as you want them",
                    path.display()
                );
            }
        }
        // A run finished before the marker recorded its config is not checked.
        let config = self.path.join(CONFIG);
        if let Some(recorded) = sums.get(CONFIG).and_then(|v| v.as_str())
            && recorded != config_sha256(&config)?
        {
            // Markers written since they record each key's checksum name the edited keys.
            let edited = match sums.get(CONFIG_KEYS).and_then(|v| v.as_object()) {
                Some(keys) => {
                    let changed = changed_keys(keys, &config_key_sums(&config)?);
                    format!(" (in {})", changed.join(", "))
                }
                None => String::new(),
            };
            bail!(
                "{} was changed after the run finished{edited}: the model was trained with \
                 other settings (only {} may change); restore it, or train a new run with the \
                 new settings",
                config.display(),
                PLACEMENT_KEYS.join(", ")
            );
        }
        Ok(())
    }

    /// The epoch of the newest checkpoint whose model, optimizer and scheduler records all
    /// load, if any. burn-train writes checkpoints in place: one cut short by a crash is passed
    /// over for the one before it.
    pub fn last_checkpoint(&self) -> Option<usize> {
        let mut epochs = self.checkpoint_epochs();
        epochs.sort_unstable();
        epochs.into_iter().rev().find(|&epoch| {
            let file = |part: &str| self.checkpoint_file(part, epoch);
            ModuleRecord::load(file("model")).is_ok()
                && OptimizerRecord::load(file("optim")).is_ok()
                && LrSchedulerRecord::load(file("scheduler")).is_ok()
        })
    }

    /// The checkpoint file of `part` (`model`, `optim`, `scheduler`) at `epoch`, as burn-train
    /// names it.
    pub fn checkpoint_file(&self, part: &str, epoch: usize) -> PathBuf {
        self.path
            .join(CHECKPOINTS)
            .join(format!("{part}-{epoch}.bpk"))
    }

    /// Writes the checkpoint of `epoch`: the `model`, `optim` and `scheduler` records, as
    /// burn-train writes a run's ([`last_checkpoint`](Self::last_checkpoint) reads it).
    ///
    /// # Errors
    /// A file that cannot be written.
    pub fn write_checkpoint(
        &self,
        epoch: usize,
        model: ModuleRecord,
        optim: OptimizerRecord,
        scheduler: LrSchedulerRecord,
    ) -> anyhow::Result<()> {
        let folder = self.path.join(CHECKPOINTS);
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
        model
            .save(self.checkpoint_file("model", epoch))
            .and_then(|()| optim.save(self.checkpoint_file("optim", epoch)))
            .and_then(|()| scheduler.save(self.checkpoint_file("scheduler", epoch)))
            .map_err(|e| anyhow::anyhow!("{}: checkpoint {epoch}: {e}", folder.display()))
    }

    /// Marks the checkpoint of `epoch` as a packed run's (`crate::run::pack`): its model alone,
    /// with a fresh optimizer and schedule, which may finish the run but not extend it.
    ///
    /// # Errors
    /// The marker cannot be written.
    pub fn mark_packed_checkpoint(&self, epoch: usize) -> anyhow::Result<()> {
        let path = self.checkpoint_file(PACKED_CHECKPOINT, epoch);
        std::fs::write(&path, "").with_context(|| format!("cannot write {}", path.display()))
    }

    /// Deletes the checkpoint of `epoch`, if there is one.
    pub fn remove_checkpoint(&self, epoch: usize) {
        for part in ["model", "optim", "scheduler"] {
            let _ = std::fs::remove_file(self.checkpoint_file(part, epoch));
        }
    }

    /// `train.epochs` of the recorded config, where it is readable.
    fn recorded_epochs(&self) -> Option<usize> {
        let config: toml::Table = self.recorded_config()?.parse().ok()?;
        config
            .get("train")?
            .get("epochs")?
            .as_integer()
            .and_then(|e| usize::try_from(e).ok())
    }

    /// The epoch of the newest checkpoint file, loadable or not.
    pub fn newest_checkpoint_file(&self) -> Option<usize> {
        self.checkpoint_epochs().into_iter().max()
    }

    /// The epochs of the model checkpoint files.
    fn checkpoint_epochs(&self) -> Vec<usize> {
        let Ok(entries) = std::fs::read_dir(self.path.join(CHECKPOINTS)) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| {
                let name = e.ok()?.file_name().to_string_lossy().into_owned();
                name.strip_prefix("model-")?
                    .strip_suffix(".bpk")?
                    .parse::<usize>()
                    .ok()
            })
            .collect()
    }

    /// `config.toml` as written, if the run has one.
    pub fn recorded_config(&self) -> Option<String> {
        std::fs::read_to_string(self.path.join(CONFIG)).ok()
    }

    /// Deletes the checkpoints, which only a run to be resumed needs (with cRT's second
    /// stage's folder).
    ///
    /// # Errors
    /// The directory cannot be deleted (or there is none).
    pub fn remove_checkpoints(&self) -> std::io::Result<()> {
        if self.path.join(STAGE2).exists() {
            std::fs::remove_dir_all(self.path.join(STAGE2))?;
        }
        std::fs::remove_dir_all(self.path.join(CHECKPOINTS))
    }

    /// Deletes this folder's burn-train files (logs and checkpoints) if it has any: the second
    /// stage of an interrupted run starts again from stage 1's model.
    ///
    /// # Errors
    /// A file cannot be deleted.
    pub fn remove_stage_files(&self) -> anyhow::Result<()> {
        for folder in [CHECKPOINTS, "train", "valid"] {
            let path = self.path.join(folder);
            if path.exists() {
                std::fs::remove_dir_all(&path)
                    .with_context(|| format!("cannot delete {}", path.display()))?;
            }
        }
        Ok(())
    }
}
