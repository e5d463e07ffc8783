//! A run directory and its files; the one place that knows their names.
//!
//! ```text
//! config.toml                   the resolved config: every default filled in, the backend and
//!                               directory used
//! state.json                    what rebuilding the inputs needs beside the model: the
//!                               standardization statistics, and `train`'s working directory,
//!                               where the config's relative data paths start (for `eval`
//!                               from elsewhere)
//! checkpoint/                   burn-train's checkpoints (`model-<epoch>.bpk`, `optim-…`,
//!                               `scheduler-…`), for `--resume`; a packed run's last epoch's
//!                               with `packed-<epoch>.bpk` beside (its model only: it can
//!                               finish the run, not extend it)
//! train/, valid/                burn-train's per-epoch metric logs (none for a run trained
//!                               packed: `compare --pack`)
//! experiment.log                what burn-train logs while it trains (epochs, iterations, the
//!                               checkpoint restored; `run/experiment_log.rs`), or a packed
//!                               run's group and epochs; each `--resume` appends its session,
//!                               after a line saying where it resumes
//! history.json                  the training loss and validation score (balanced accuracy;
//!                               multi-label: macro-F1) of every finished epoch, for the curves
//! model.bpk                     the trained model (`model.partial.bpk` while it is written)
//! stage2/                       cRT's second stage: burn-train's logs and checkpoints
//! report.json, report.md,       the test evaluation (`confusion.csv`: single-label)
//! confusion.csv
//! thresholds.json               multi-label: the decision threshold of each label
//! predictions.csv               the test split, one row per sample in the split's order:
//!                               single-label, its class index (`target`) then its softmax
//!                               probability of each class (`score_<class name>`, names as in
//!                               the report, CSV-quoted where needed), post-hoc adjusted where
//!                               the run's evaluation is; multi-label, `target_<label>` (0/1)
//!                               then `score_<label>`; written by `train` and `eval`
//! report-<adjustment>.{json,md} `rebalance eval` with an adjustment, each its own files:
//! predictions-<adjustment>.csv  `tau-1.0` (`--posthoc-tau 1`), `prior-uniform` or
//!                               `prior-<file stem>` (`--target-prior`), `temperature`
//!                               (`--calibrate`), `tau-norm-0.5` or `tau-norm-auto`
//!                               (`--tau-norm`), joined by `_` when several are asked
//! finished                      written last, when model, report and plots are committed: the
//!                               SHA-256 of `model.bpk`, `state.json` and `config.toml` (its
//!                               backend, workers and directory aside); a run without it is
//!                               unfinished and `--resume` completes it
//! claim                         the process id, host and start time of the process training
//!                               the run, while it does
//! shared-training.json          a run whose training was shared ([`SharedTraining`]): trained
//!                               in a pack (`compare --pack`; the pack's runs and training
//!                               time, which each of their reports counts in `wall_seconds`),
//!                               or not trained, the model of a run alike but for `[eval]`
//! ```
//!
//! The plots beside them are named by `reporting/plots.rs`. Every file is written to a temporary name and
//! renamed, so an interrupted run never leaves a half-written one.

mod artifacts;
mod claim;
mod resume;

use std::path::{Path, PathBuf};

use crate::run::config::RunConfig;
use anyhow::Context;
use rebalance_data::Standardizer;
use serde::{Deserialize, Serialize};

pub use artifacts::SharedTraining;
pub use claim::Claim;
pub(crate) use resume::config_difference;
#[cfg(test)]
pub(crate) use resume::first_difference;

const CONFIG: &str = "config.toml";
const STATE: &str = "state.json";
/// burn-train's `with_default_checkpointers` writes here: `model-<epoch>.bpk` and the like.
const CHECKPOINTS: &str = "checkpoint";
/// Beside a packed run's checkpoint of its last epoch (`packed-<epoch>.bpk`, empty): the
/// checkpoint holds the model, not the optimizer's state.
const PACKED_CHECKPOINT: &str = "packed";
/// A packed group's folder: its runs' directories, one a line, in the pack's order.
const MEMBERS: &str = "runs";
/// How a run's training was shared ([`SharedTraining`]).
const SHARED_TRAINING: &str = "shared-training.json";
const HISTORY: &str = "history.json";
const EXPERIMENT_LOG: &str = "experiment.log";
const MODEL: &str = "model.bpk";
const MODEL_PARTIAL: &str = "model.partial.bpk";
const REPORT_JSON: &str = "report.json";
const REPORT_MD: &str = "report.md";
const CONFUSION_CSV: &str = "confusion.csv";
const VALIDATION_JSON: &str = "report-validation.json";
const PREDICTIONS_CSV: &str = "predictions.csv";
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
/// written) or `after-report` (the report written, the `finished` marker not yet); in a packed
/// group, `after-pack-checkpoint` (the group's checkpoint of its first epoch written) and
/// `during-hand-over` (the first run's own checkpoint written after the training). For the
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
    /// A new run; `replacing` describes the run it replaces (`--overwrite`), finished or not.
    Fresh {
        /// The run replaced and where, in words.
        replacing: Option<String>,
    },
    /// A run continued after the checkpoint of epoch `from` (with `from` equal to the
    /// run's epochs, only the final step is done again).
    Resume {
        /// The epoch of the checkpoint.
        from: usize,
    },
}

/// What a run keeps beside the model to rebuild its inputs: the standardization statistics,
/// and where its relative data paths start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    /// The statistics the training inputs were standardized with.
    pub standardizer: Standardizer,
    /// The working directory of `train`, against which the config's relative data paths
    /// (`data.train`, `data.test`, `data.dir`) were read: `eval` from another directory finds
    /// the files through it. Absent in runs trained before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_root: Option<PathBuf>,
}

impl RunState {
    /// `config` with its relative data paths that do not exist from the current directory
    /// but do from [`data_root`](Self::data_root) read from there. The recorded config itself
    /// is left as it is (its paths, and so its hash, stay the same on every machine).
    pub fn locate_data(&self, mut config: RunConfig) -> RunConfig {
        let Some(root) = &self.data_root else {
            return config;
        };
        let data = &mut config.data;
        for path in [&mut data.train, &mut data.test, &mut data.dir]
            .into_iter()
            .flatten()
        {
            let there = root.join(&*path);
            if path.is_relative() && !path.exists() && there.exists() {
                *path = there;
            }
        }
        config
    }
}

/// A run directory (`[output] dir` or `--out`).
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
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

impl RunDir {
    /// The run directory at `path`; nothing is read or created yet.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where `predictions.csv` is.
    pub fn predictions_csv(&self) -> PathBuf {
        self.path.join(PREDICTIONS_CSV)
    }

    /// Where `predictions-<adjustment>.csv` is: the test probabilities of `eval` with an
    /// adjustment (`EvalOptions::name`).
    pub fn adjusted_predictions_csv(&self, adjustment: &str) -> PathBuf {
        self.path.join(format!("predictions-{adjustment}.csv"))
    }

    /// Where `report-<adjustment>.json` and `.md` are.
    pub fn adjusted_report(&self, adjustment: &str) -> [PathBuf; 2] {
        ["json", "md"].map(|ext| self.path.join(format!("report-{adjustment}.{ext}")))
    }

    /// Where `experiment.log` is: burn-train's log of the run's training.
    pub fn experiment_log(&self) -> PathBuf {
        self.path.join(EXPERIMENT_LOG)
    }

    /// Where `report.md` is, for the user to open.
    pub fn report_markdown(&self) -> PathBuf {
        self.path.join(REPORT_MD)
    }

    /// Where `report.json` is; a run that has one finished.
    pub fn report_json(&self) -> PathBuf {
        self.path.join(REPORT_JSON)
    }

    /// A packed group's list of its runs' directories (`runs`, in its folder).
    pub fn group_members(&self) -> PathBuf {
        self.path.join(MEMBERS)
    }

    /// The folder of cRT's second stage (`stage2/`), where burn-train writes that stage's logs
    /// and checkpoints.
    pub fn stage2(&self) -> RunDir {
        RunDir::new(self.path.join(STAGE2))
    }
}
