//! Reading and writing a run's files: the config, the state, the history, the model, the
//! reports, the thresholds and the predictions, each written to a temporary name and renamed.

use anyhow::{Context, bail};
use burn::module::Module;

use super::*;
use crate::reporting::predictions::{Predictions, PredictionsCsv};
use crate::reporting::write_atomic;
use crate::run::config::RunConfig;
use crate::run::history::EpochHistory;
use crate::run::task::TaskReport;

impl RunDir {
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

    /// How many epochs `history.json` holds (0 where it is missing or unreadable).
    pub fn history_epochs(&self) -> usize {
        std::fs::read_to_string(self.path.join(HISTORY))
            .ok()
            .and_then(|text| serde_json::from_str::<EpochHistory>(&text).ok())
            .map_or(0, |history| history.epochs.len())
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
        // On the disk before the rename, as `write_atomic` does: after a power cut the name never
        // points at a half-written model.
        std::fs::File::open(self.path.join(MODEL_PARTIAL))
            .and_then(|file| file.sync_all())
            .with_context(context)?;
        std::fs::rename(self.path.join(MODEL_PARTIAL), self.path.join(MODEL)).with_context(context)
    }

    /// Loads `model.bpk`'s weights into `model`, built as the run's config says.
    ///
    /// # Errors
    /// A missing or unreadable file, or weights of another model.
    pub fn load_model<M: Module>(&self, model: M) -> anyhow::Result<M> {
        let path = self.path.join(MODEL);
        if !path.exists() {
            bail!("cannot load the model: {} does not exist", path.display());
        }
        // Burn's message lists every tensor whose shape differs: hundreds of characters that
        // say one thing, that the config describes another model.
        model.try_load_file(&path).map_err(|_| {
            anyhow::anyhow!(
                "cannot load the model from {}: its weights do not fit the model {} describes \
                 (model.*, data.num_classes, the data's features); was {} edited after \
                 training, or the file damaged?",
                path.display(),
                self.path.join(CONFIG).display(),
                CONFIG
            )
        })
    }

    /// Writes `report.json`, `report.md` and, for a task with one, `confusion.csv`.
    ///
    /// # Errors
    /// A file cannot be written.
    pub fn write_report<R: TaskReport + serde::Serialize>(&self, report: &R) -> anyhow::Result<()> {
        write_atomic(
            &self.path.join(REPORT_JSON),
            &serde_json::to_string_pretty(report)?,
        )?;
        write_atomic(&self.path.join(REPORT_MD), &report.markdown())?;
        match report.confusion_csv() {
            Some(csv) => write_atomic(&self.path.join(CONFUSION_CSV), &csv),
            None => Ok(()),
        }
    }

    /// Writes `report-validation.json`: the report of the model on the validation split (a
    /// tuned comparison's score of the run, `crate::compare`).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_validation_report<R: serde::Serialize>(&self, report: &R) -> anyhow::Result<()> {
        write_atomic(
            &self.path.join(VALIDATION_JSON),
            &serde_json::to_string_pretty(report)?,
        )
    }

    /// Reads `report-validation.json`.
    ///
    /// # Errors
    /// None written, or unreadable.
    pub fn read_validation_report<R: serde::de::DeserializeOwned>(&self) -> anyhow::Result<R> {
        let path = self.path.join(VALIDATION_JSON);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))
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
        if thresholds.len() != labels {
            bail!(
                "{} is damaged: it holds {} thresholds for {labels} labels",
                path.display(),
                thresholds.len()
            );
        }
        if let Some((label, t)) = thresholds
            .iter()
            .enumerate()
            .find(|(_, t)| !(0.0..=1.0).contains(*t))
        {
            bail!(
                "{} is damaged: the threshold of label {label} is {t}; a threshold is a sigmoid \
                 probability in [0, 1]",
                path.display()
            );
        }
        Ok(thresholds)
    }

    /// Writes the evaluation adjusted by `adjustment` (`EvalOptions::name`) as
    /// `report-<adjustment>.json` and `.md`, beside the run's own report.
    ///
    /// # Errors
    /// A file cannot be written.
    pub fn write_adjusted_report<R: TaskReport + serde::Serialize>(
        &self,
        adjustment: &str,
        report: &R,
    ) -> anyhow::Result<()> {
        let [json, md] = self.adjusted_report(adjustment);
        write_atomic(&json, &serde_json::to_string_pretty(report)?)?;
        write_atomic(&md, &report.markdown())
    }

    /// Writes the test split's per-sample predictions as `predictions.csv` (single-label:
    /// the probabilities of each class; multi-label: the 0/1 targets and the probabilities of
    /// each label), named by `names` (the report's class or label names).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_predictions(
        &self,
        predictions: &impl PredictionsCsv,
        names: &[String],
    ) -> anyhow::Result<()> {
        write_atomic(&self.predictions_csv(), &predictions.csv(names))
    }

    /// Writes the probabilities of the evaluation adjusted by `adjustment` as
    /// `predictions-<adjustment>.csv`, beside the run's own.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_adjusted_predictions(
        &self,
        adjustment: &str,
        predictions: &Predictions,
        class_names: &[String],
    ) -> anyhow::Result<()> {
        write_atomic(
            &self.adjusted_predictions_csv(adjustment),
            &predictions.csv(class_names),
        )
    }

    /// Reads `report.json`.
    ///
    /// # Errors
    /// A missing or damaged file.
    pub fn read_report<R: serde::de::DeserializeOwned>(&self) -> anyhow::Result<R> {
        let path = self.path.join(REPORT_JSON);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))
    }

    /// Records how the run's training was shared (`shared-training.json`).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_shared_training(&self, shared: &SharedTraining) -> anyhow::Result<()> {
        write_atomic(
            &self.path.join(SHARED_TRAINING),
            &serde_json::to_string_pretty(shared)?,
        )
    }

    /// How the run's training was shared; `None` for a run that trained alone (or a record
    /// that cannot be read).
    pub fn shared_training(&self) -> Option<SharedTraining> {
        let text = std::fs::read_to_string(self.path.join(SHARED_TRAINING)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The training wall time `report.json` records; 0 where there is no readable report.
    pub fn report_wall_seconds(&self) -> f64 {
        std::fs::read_to_string(self.path.join(REPORT_JSON))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|p| p["wall_seconds"].as_f64())
            .unwrap_or(0.0)
    }
}

/// How a run's training was shared with other runs, as its directory records it
/// (`shared-training.json`): its report's `wall_seconds` then counts time that is not its own
/// alone, which a sweep's total counts once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SharedTraining {
    /// Trained in a pack (`compare --pack`).
    Pack {
        /// The pack's runs: their directories, in its order (this run's among them).
        runs: Vec<String>,
        /// The pack's training time in seconds, which each of its runs' `wall_seconds` counts
        /// (before cRT's second stage, which a run trains alone).
        training_seconds: f64,
    },
    /// Not trained: the model of `source`, a run of the same config but for `[eval]`, evaluated
    /// with this run's `[eval]`; its `wall_seconds` repeats the source's.
    Twin {
        /// The source run's directory.
        source: String,
    },
}
