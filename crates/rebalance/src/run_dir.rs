//! A run directory and its files; the one place that knows their names.
//!
//! ```text
//! config.toml                   the resolved config: every default filled in, the backend and
//!                               directory used
//! state.json                    what rebuilding the inputs needs beside the model: the
//!                               standardization statistics
//! checkpoint/                   burn-train's checkpoints (`model-<epoch>.bpk`, `optim-…`,
//!                               `scheduler-…`), for `--resume`
//! train/, valid/                burn-train's per-epoch metric logs
//! history.json                  the training loss and validation balanced accuracy of every
//!                               finished epoch, for the training curves
//! model.bpk                     the trained model
//! report.json, report.md,       the test evaluation
//! confusion.csv
//! predictions.csv               the test split, one row per sample in the split's order: its
//!                               class index (`target`), then its softmax probability of each
//!                               class (`score_<class name>`, names as in the report, CSV-quoted
//!                               where needed), post-hoc adjusted where the run's evaluation is;
//!                               written by `train` and `eval`
//! report-posthoc.{json,md},     `rebalance eval --posthoc-tau`
//! predictions-posthoc.csv
//! finished                      written last, when model, report and plots are committed: the
//!                               SHA-256 of `model.bpk` and `state.json`; a run without it is
//!                               unfinished and `--resume` completes it
//! claim                         the id of the process training the run, while it does
//! ```
//!
//! The plots beside them are named by `plots.rs`. Every file is written to a temporary name and
//! renamed, so an interrupted run never leaves a half-written one.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use burn::lr_scheduler::LrSchedulerRecord;
use burn::module::Module;
use burn::optim::OptimizerRecord;
use burn::store::ModuleRecord;
use rebalance_data::Standardizer;
use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::history::EpochHistory;
use crate::multilabel_report::MultiLabelReport;
use crate::predictions::{MultiLabelPredictions, Predictions};
use crate::report::{Report, write_atomic};

const CONFIG: &str = "config.toml";
const STATE: &str = "state.json";
/// burn-train's `with_default_checkpointers` writes here: `model-<epoch>.bpk` and the like.
const CHECKPOINTS: &str = "checkpoint";
const HISTORY: &str = "history.json";
const MODEL: &str = "model.bpk";
const MODEL_PARTIAL: &str = "model.partial.bpk";
const REPORT_JSON: &str = "report.json";
const REPORT_MD: &str = "report.md";
const CONFUSION_CSV: &str = "confusion.csv";
const POSTHOC_JSON: &str = "report-posthoc.json";
const POSTHOC_MD: &str = "report-posthoc.md";
const PREDICTIONS_CSV: &str = "predictions.csv";
const POSTHOC_PREDICTIONS_CSV: &str = "predictions-posthoc.csv";
const THRESHOLDS: &str = "thresholds.json";
/// cRT's second stage: burn-train's logs and checkpoints of the stage.
const STAGE2: &str = "stage2";
const FINISHED: &str = "finished";
const CLAIM: &str = "claim";
/// The files a finished run records the checksum of.
const CHECKSUMMED: [&str; 2] = [MODEL, STATE];

/// The config keys that say where and how fast a run runs, not what it trains: the backend, the
/// loader's workers and the directory. Two runs whose configs differ only in them are the same
/// run: a compare sweep keeps a finished one whatever `--backend` or `--out` path it was trained
/// with (a merge of shards trained on other machines), and `--resume` may change them.
pub const PLACEMENT_KEYS: [&str; 3] = ["train.backend", "train.workers", "output.dir"];

/// The config keys `--resume` lets change: the epochs (to extend a run) and the
/// [`PLACEMENT_KEYS`].
pub const RESUMABLE_KEYS: [&str; 4] = [
    "train.epochs",
    PLACEMENT_KEYS[0],
    PLACEMENT_KEYS[1],
    PLACEMENT_KEYS[2],
];

/// The environment variable of the fault-injection test hook: `REBALANCE_FAULT=STAGE` aborts
/// the process (as `kill -9` would) when training reaches `STAGE` of its final step:
/// `after-checkpoint` (the last epoch's checkpoint written), `after-model` (`model.bpk`
/// written) or `after-report` (the report written, the `finished` marker not yet). For the
/// tests of crash recovery only.
pub const FAULT_ENV: &str = "REBALANCE_FAULT";

/// The fault-injection hook: aborts the process if [`FAULT_ENV`] names `stage`.
pub(crate) fn fault_point(stage: &str) {
    if std::env::var(FAULT_ENV).is_ok_and(|s| s == stage) {
        std::process::abort();
    }
}

/// How training is to use a run directory, decided by [`RunDir::plan`] before anything in it
/// is touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// A new run; `replacing` describes the finished run it replaces (`--overwrite`).
    Fresh {
        /// The finished run replaced, in words.
        replacing: Option<String>,
    },
    /// A run continued after the checkpoint of epoch `from` (with `from` equal to the
    /// run's epochs, only the final step is done again).
    Resume {
        /// The epoch of the checkpoint.
        from: usize,
    },
}

/// What a run keeps beside the model to rebuild its inputs: the standardization statistics.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    /// The statistics the training inputs were standardized with.
    pub standardizer: Standardizer,
}

/// A run directory (`[output] dir` or `--out`).
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// The run directory at `path`; nothing is read or created yet.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.path
    }

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
                Some(_) if !overwrite => bail!(
                    "{} holds a finished run ({}); pass --overwrite to replace it, --resume with \
                     a larger train.epochs to extend it, or choose another --out",
                    self.path.display(),
                    self.describe()
                ),
                Some(_) => Ok(Start::Fresh {
                    replacing: Some(self.describe()),
                }),
                None => Ok(Start::Fresh { replacing: None }),
            };
        }
        let checkpoints = self.path.join(CHECKPOINTS);
        let Some(from) = self.last_checkpoint() else {
            bail!("--resume: no checkpoint in {}", checkpoints.display());
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
                POSTHOC_JSON,
                POSTHOC_MD,
                PREDICTIONS_CSV,
                POSTHOC_PREDICTIONS_CSV,
            ] {
                remove_if_present(&self.path.join(name))?;
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
        write_atomic(
            &self.path.join(FINISHED),
            &serde_json::to_string_pretty(&sums)?,
        )
    }

    /// Checks a finished run's model and state against the checksums it recorded (nothing for a
    /// run finished before runs recorded them).
    ///
    /// # Errors
    /// An unfinished run, or a file whose checksum differs, naming it.
    pub fn verify_checksums(&self) -> anyhow::Result<()> {
        if self.is_legacy_finished() {
            return Ok(());
        }
        let marker = self.path.join(FINISHED);
        let text = std::fs::read_to_string(&marker).with_context(|| {
            format!(
                "the run in {} is not finished (it has no {FINISHED} marker); complete it with \
                 `rebalance train --config {} --out {} --resume`",
                self.path.display(),
                self.path.join(CONFIG).display(),
                self.path.display()
            )
        })?;
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
        Ok(())
    }

    /// The live process, other than this one, that holds the run's claim, if any.
    pub fn claimed_by(&self) -> Option<u32> {
        let holder = Holder::parse(&std::fs::read_to_string(self.path.join(CLAIM)).ok()?)?;
        (!holder.is_me() && holder.alive()).then_some(holder.pid)
    }

    /// Claims the run for this process (a `claim` file holding its id, created atomically),
    /// creating the directory; `None` where another live process holds it. A claim whose
    /// process has ended (on Linux, no `/proc/PID`) is taken over; one this process holds
    /// already is returned without a second claim.
    ///
    /// # Errors
    /// The directory or the claim file cannot be created.
    pub fn claim(&self) -> anyhow::Result<Result<Claim, u32>> {
        std::fs::create_dir_all(&self.path)
            .with_context(|| format!("cannot create {}", self.path.display()))?;
        let path = self.path.join(CLAIM);
        let me = Holder::me().to_string();
        // The id is written first under a name of this process's own (on this host), then
        // linked as `claim`: the link is atomic and fails if a claim exists, so no process ever
        // reads a claim without its id (and takes it over as stale while its owner is writing it).
        let own = self
            .path
            .join(format!("{CLAIM}.{}.tmp", me.replace(' ', ".")));
        std::fs::write(&own, &me).with_context(|| format!("cannot write {}", own.display()))?;
        let claimed = self.link_claim(&own, &path);
        let _ = std::fs::remove_file(&own);
        claimed
    }

    /// Deletes everything in the run directory but the claim, which `_claim` proves this
    /// process holds: `compare --force` clears a run of another config this way, so a process
    /// training the run is never pulled from under. Dropping the claim then leaves an empty
    /// directory.
    ///
    /// # Errors
    /// A file that cannot be deleted.
    pub fn clear_claimed(&self, _claim: &Claim) -> anyhow::Result<()> {
        let entries = std::fs::read_dir(&self.path)
            .with_context(|| format!("cannot read {}", self.path.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read {}", self.path.display()))?;
            if entry.file_name() == CLAIM {
                continue;
            }
            let path = entry.path();
            let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.with_context(|| format!("cannot delete {}", path.display()))?;
        }
        Ok(())
    }

    /// Links `own` (holding this process's id) as the claim `path`, taking over a stale one.
    fn link_claim(&self, own: &Path, path: &Path) -> anyhow::Result<Result<Claim, u32>> {
        for _ in 0..3 {
            match std::fs::hard_link(own, path) {
                Ok(()) => {
                    return Ok(Ok(Claim {
                        path: Some(path.to_path_buf()),
                    }));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(path)
                        .ok()
                        .and_then(|t| Holder::parse(&t));
                    match holder {
                        Some(h) if h.is_me() => return Ok(Ok(Claim { path: None })),
                        Some(h) if h.alive() => return Ok(Err(h.pid)),
                        // A stale claim: its process has ended.
                        _ => remove_if_present(path)?,
                    }
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", path.display()));
                }
            }
        }
        bail!("cannot claim {}: it keeps changing", path.display())
    }
    /// The epoch of the newest checkpoint whose model, optimizer and scheduler records all
    /// load, if any. burn-train writes checkpoints in place: one cut short by a crash is passed
    /// over for the one before it.
    fn last_checkpoint(&self) -> Option<usize> {
        let dir = self.path.join(CHECKPOINTS);
        let mut epochs = self.checkpoint_epochs();
        epochs.sort_unstable();
        epochs.into_iter().rev().find(|epoch| {
            let file = |part: &str| dir.join(format!("{part}-{epoch}.bpk"));
            ModuleRecord::load(file("model")).is_ok()
                && OptimizerRecord::load(file("optim")).is_ok()
                && LrSchedulerRecord::load(file("scheduler")).is_ok()
        })
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

    /// Writes `config.toml`.
    ///
    /// # Errors
    /// The config cannot be serialized or written.
    pub fn write_config(&self, config: &RunConfig) -> anyhow::Result<()> {
        write_atomic(&self.path.join(CONFIG), &config.to_toml()?)
    }

    /// Reads `config.toml`.
    ///
    /// # Errors
    /// A directory without one, or a config that does not load.
    pub fn read_config(&self) -> anyhow::Result<RunConfig> {
        let path = self.path.join(CONFIG);
        if !path.exists() {
            bail!(
                "{} is not a run directory: it has no {CONFIG}",
                self.path.display()
            );
        }
        Ok(RunConfig::load(&path, &[])?)
    }

    /// Writes `state.json`.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_state(&self, state: &RunState) -> anyhow::Result<()> {
        write_atomic(&self.path.join(STATE), &serde_json::to_string(state)?)
    }

    /// Reads `state.json`.
    ///
    /// # Errors
    /// A missing or damaged file.
    pub fn read_state(&self) -> anyhow::Result<RunState> {
        let path = self.path.join(STATE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))
    }

    /// Reads `state.json` and checks it fits data of `features` features.
    ///
    /// # Errors
    /// As [`RunDir::read_state`], or standardizer vectors of another length.
    pub fn read_state_for(&self, features: usize) -> anyhow::Result<RunState> {
        let state = self.read_state()?;
        let s = &state.standardizer;
        if s.mean.len() != features || s.std.len() != features {
            bail!(
                "{} is damaged: its standardizer has {} means and {} standard deviations, but \
                 the data has {features} features",
                self.path.join(STATE).display(),
                s.mean.len(),
                s.std.len()
            );
        }
        Ok(state)
    }

    /// Writes `history.json`.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_history(&self, history: &EpochHistory) -> anyhow::Result<()> {
        write_atomic(
            &self.path.join(HISTORY),
            &serde_json::to_string_pretty(history)?,
        )
    }

    /// The first `epochs` epochs of `history.json`: those before the checkpoint a run resumes
    /// from.
    ///
    /// # Errors
    /// A missing or damaged file, or one without all of those epochs.
    pub fn read_history(&self, epochs: usize) -> anyhow::Result<EpochHistory> {
        let path = self.path.join(HISTORY);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("--resume: cannot read {}", path.display()))?;
        let mut history: EpochHistory = serde_json::from_str(&text)
            .with_context(|| format!("--resume: {} is damaged", path.display()))?;
        history.epochs.truncate(epochs);
        if !history.covers(epochs) {
            bail!(
                "--resume: {} lacks epochs before the checkpoint of epoch {epochs}; train the run \
                 afresh",
                path.display()
            );
        }
        Ok(history)
    }

    /// Saves the trained model as `model.bpk`.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save_model<M: Module + Clone>(&self, model: &M) -> anyhow::Result<()> {
        let context = || format!("cannot save the model to {}", self.path.display());
        let saved = model.clone().save_file(self.path.join(MODEL_PARTIAL));
        if saved.is_err() {
            let _ = std::fs::remove_file(self.path.join(MODEL_PARTIAL));
        }
        saved.with_context(context)?;
        std::fs::rename(self.path.join(MODEL_PARTIAL), self.path.join(MODEL)).with_context(context)
    }

    /// Loads `model.bpk`'s weights into `model`, built as the run's config says.
    ///
    /// # Errors
    /// A missing or unreadable file, or weights of another model.
    pub fn load_model<M: Module>(&self, model: M) -> anyhow::Result<M> {
        let path = self.path.join(MODEL);
        model
            .try_load_file(&path)
            .with_context(|| format!("cannot load the model from {}", path.display()))
    }

    /// Writes `report.json`, `report.md` and `confusion.csv`.
    ///
    /// # Errors
    /// A file cannot be written.
    pub fn write_report(&self, report: &Report) -> anyhow::Result<()> {
        write_atomic(
            &self.path.join(REPORT_JSON),
            &serde_json::to_string_pretty(report)?,
        )?;
        write_atomic(&self.path.join(REPORT_MD), &report.markdown())?;
        write_atomic(&self.path.join(CONFUSION_CSV), &report.confusion_csv())
    }

    /// Writes a multi-label run's `report.json` and `report.md`.
    ///
    /// # Errors
    /// A file cannot be written.
    pub fn write_multi_label_report(&self, report: &MultiLabelReport) -> anyhow::Result<()> {
        write_atomic(
            &self.path.join(REPORT_JSON),
            &serde_json::to_string_pretty(report)?,
        )?;
        write_atomic(&self.path.join(REPORT_MD), &report.markdown())
    }

    /// Reads a multi-label run's `report.json`.
    ///
    /// # Errors
    /// A missing or damaged file.
    pub fn read_multi_label_report(&self) -> anyhow::Result<MultiLabelReport> {
        let path = self.path.join(REPORT_JSON);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))
    }

    /// Writes a multi-label test split's targets and probabilities as `predictions.csv`.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_multi_label_predictions(
        &self,
        predictions: &MultiLabelPredictions,
        label_names: &[String],
    ) -> anyhow::Result<()> {
        write_atomic(&self.predictions_csv(), &predictions.csv(label_names))
    }

    /// Writes the per-label decision thresholds as `thresholds.json`, which `rebalance eval`
    /// reuses.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_thresholds(&self, thresholds: &[f32]) -> anyhow::Result<()> {
        write_atomic(
            &self.path.join(THRESHOLDS),
            &serde_json::to_string_pretty(thresholds)?,
        )
    }

    /// Reads `thresholds.json`, checked to hold one finite threshold per label of `labels`.
    ///
    /// # Errors
    /// A missing or damaged file, or thresholds of another number of labels.
    pub fn read_thresholds(&self, labels: usize) -> anyhow::Result<Vec<f32>> {
        let path = self.path.join(THRESHOLDS);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let thresholds: Vec<f32> = serde_json::from_str(&text)
            .with_context(|| format!("{} is damaged", path.display()))?;
        if thresholds.len() != labels || thresholds.iter().any(|t| !t.is_finite()) {
            bail!(
                "{} is damaged: it holds {} thresholds for {labels} labels, or one that is not \
                 finite",
                path.display(),
                thresholds.len()
            );
        }
        Ok(thresholds)
    }

    /// Writes a post-hoc adjusted evaluation as `report-posthoc.json` and `report-posthoc.md`,
    /// beside the run's own report.
    ///
    /// # Errors
    /// A file cannot be written.
    pub fn write_posthoc_report(&self, report: &Report) -> anyhow::Result<()> {
        write_atomic(
            &self.path.join(POSTHOC_JSON),
            &serde_json::to_string_pretty(report)?,
        )?;
        write_atomic(&self.path.join(POSTHOC_MD), &report.markdown())
    }

    /// Writes the test split's per-sample probabilities as `predictions.csv`, the class names
    /// `class_names` (the report's).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_predictions(
        &self,
        predictions: &Predictions,
        class_names: &[String],
    ) -> anyhow::Result<()> {
        write_atomic(&self.predictions_csv(), &predictions.csv(class_names))
    }

    /// Writes a post-hoc adjusted evaluation's probabilities as `predictions-posthoc.csv`,
    /// beside the run's own.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_posthoc_predictions(
        &self,
        predictions: &Predictions,
        class_names: &[String],
    ) -> anyhow::Result<()> {
        write_atomic(
            &self.posthoc_predictions_csv(),
            &predictions.csv(class_names),
        )
    }

    /// Where `predictions.csv` is.
    pub fn predictions_csv(&self) -> PathBuf {
        self.path.join(PREDICTIONS_CSV)
    }

    /// Where `predictions-posthoc.csv` is.
    pub fn posthoc_predictions_csv(&self) -> PathBuf {
        self.path.join(POSTHOC_PREDICTIONS_CSV)
    }

    /// Reads `report.json`.
    ///
    /// # Errors
    /// A missing or damaged file.
    pub fn read_report(&self) -> anyhow::Result<Report> {
        let path = self.path.join(REPORT_JSON);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))
    }

    /// The training wall time `report.json` records; 0 where there is no readable report.
    pub fn report_wall_seconds(&self) -> f64 {
        std::fs::read_to_string(self.path.join(REPORT_JSON))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|p| p["wall_seconds"].as_f64())
            .unwrap_or(0.0)
    }

    /// Where `report.md` is, for the user to open.
    pub fn report_markdown(&self) -> PathBuf {
        self.path.join(REPORT_MD)
    }

    /// Where `report.json` is; a run that has one finished.
    pub fn report_json(&self) -> PathBuf {
        self.path.join(REPORT_JSON)
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

    /// The folder of cRT's second stage (`stage2/`), where burn-train writes that stage's logs
    /// and checkpoints.
    pub fn stage2(&self) -> RunDir {
        RunDir::new(self.path.join(STAGE2))
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

/// A run claimed by this process; dropping it releases the claim.
#[derive(Debug)]
pub struct Claim {
    /// The claim file, `None` where an outer claim of this process holds the run.
    path: Option<PathBuf>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Who holds a claim: a process id and the host it runs on (`claim` holds `PID HOST`; a claim
/// of an earlier version holds the id alone, taken to be this host's). Runs of one sweep may
/// be trained by shards on several machines sharing the output directory: a process of
/// another host cannot be checked from here, so its claim is never taken over as stale.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    pid: u32,
    host: Option<String>,
}

impl Holder {
    /// This process.
    fn me() -> Self {
        Self {
            pid: std::process::id(),
            host: this_host(),
        }
    }

    fn parse(text: &str) -> Option<Self> {
        let mut fields = text.split_whitespace();
        let pid = fields.next()?.parse().ok()?;
        Some(Self {
            pid,
            host: fields.next().map(str::to_string),
        })
    }

    fn on_this_host(&self) -> bool {
        self.host.is_none() || self.host == this_host()
    }

    fn is_me(&self) -> bool {
        self.pid == std::process::id() && self.on_this_host()
    }

    /// Whether the holder may still run: a process of this host that does, or any process of
    /// another host.
    fn alive(&self) -> bool {
        !self.on_this_host() || process_alive(self.pid)
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.host {
            Some(host) => write!(f, "{} {host}", self.pid),
            None => write!(f, "{}", self.pid),
        }
    }
}

/// This machine's host name (Linux's `/proc/sys/kernel/hostname`, else `HOSTNAME`), if known.
fn this_host() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && !h.contains(char::is_whitespace))
}

/// Whether process `pid` runs; where the OS cannot tell (no `/proc`), assumed so.
fn process_alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes `path` if it exists.
fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// The SHA-256 of the file at `path`, in hex.
fn sha256(path: &Path) -> anyhow::Result<String> {
    use sha2::Digest;
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
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
