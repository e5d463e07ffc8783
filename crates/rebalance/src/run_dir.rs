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
//! report-posthoc.{json,md}      `rebalance eval --posthoc-tau`
//! ```
//!
//! The plots beside them are named by `plots.rs`. Every file is written to a temporary name and
//! renamed, so an interrupted run never leaves a half-written one.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use burn::module::Module;
use rebalance_data::Standardizer;
use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::history::EpochHistory;
use crate::model::Classifier;
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

    /// Readies the directory for training and returns the epoch training resumes after: with
    /// `resume`, the newest checkpoint's; without, the checkpoints of an earlier run are
    /// cleared. Creates the directory.
    ///
    /// # Errors
    /// `resume` without a checkpoint, or a directory that cannot be cleared or created.
    pub fn prepare(&self, resume: bool) -> anyhow::Result<Option<usize>> {
        let checkpoints = self.path.join(CHECKPOINTS);
        let resume_from = if resume {
            let epoch = self
                .last_checkpoint()
                .with_context(|| format!("--resume: no checkpoint in {}", checkpoints.display()))?;
            Some(epoch)
        } else {
            None
        };
        if resume_from.is_none() && checkpoints.exists() {
            std::fs::remove_dir_all(&checkpoints)
                .with_context(|| format!("cannot clear {}", checkpoints.display()))?;
        }
        std::fs::create_dir_all(&self.path)
            .with_context(|| format!("cannot create {}", self.path.display()))?;
        Ok(resume_from)
    }

    /// The epoch of the newest model checkpoint, if any.
    fn last_checkpoint(&self) -> Option<usize> {
        std::fs::read_dir(self.path.join(CHECKPOINTS))
            .ok()?
            .filter_map(|e| {
                let name = e.ok()?.file_name().to_string_lossy().into_owned();
                name.strip_prefix("model-")?
                    .strip_suffix(".bpk")?
                    .parse()
                    .ok()
            })
            .max()
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
    pub fn save_model(&self, model: &Classifier) -> anyhow::Result<()> {
        let context = || format!("cannot save the model to {}", self.path.display());
        model
            .clone()
            .save_file(self.path.join(MODEL_PARTIAL))
            .with_context(context)?;
        std::fs::rename(self.path.join(MODEL_PARTIAL), self.path.join(MODEL)).with_context(context)
    }

    /// Loads `model.bpk`'s weights into `model`, built as the run's config says.
    ///
    /// # Errors
    /// A missing or unreadable file, or weights of another model.
    pub fn load_model(&self, model: Classifier) -> anyhow::Result<Classifier> {
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

    /// Deletes the checkpoints, which only a run to be resumed needs.
    ///
    /// # Errors
    /// The directory cannot be deleted (or there is none).
    pub fn remove_checkpoints(&self) -> std::io::Result<()> {
        std::fs::remove_dir_all(self.path.join(CHECKPOINTS))
    }
}
