//! A run's per-epoch curves (training loss, and the validation score: balanced accuracy, or
//! macro-F1 for multi-label) for its plots, taken
//! from the metric objects themselves as burn-train computes each epoch's value, not read
//! back from burn-train's log files by a metric's display name (a renamed metric would leave
//! the plot empty without a word). Saved in the run directory after every epoch, so a resumed
//! run still plots the epochs before its checkpoint.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::bail;
use burn::train::metric::Numeric;
use serde::{Deserialize, Serialize};

use crate::run::run_dir::RunDir;
use crate::run::watched::{Watch, Watched};

/// One finished epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochValues {
    /// The epoch, counted from 1.
    pub epoch: usize,
    /// The training loss, averaged over the epoch's batches.
    pub train_loss: f64,
    /// The validation score after the epoch, in `[0, 1]`, under its own key.
    #[serde(flatten)]
    pub valid: ValidScore,
    /// Seconds of training from the run's start to the end of the epoch, summed over the
    /// sessions of a resumed run (what a killed session spent after its last checkpoint is
    /// not counted); 0 in a history written before it was recorded.
    #[serde(default)]
    pub wall_seconds: f64,
}

/// The validation score a run tracks per epoch, written under its own key in `history.json`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ValidScore {
    /// Single-label: the balanced accuracy (`valid_balanced_accuracy`).
    #[serde(rename = "valid_balanced_accuracy")]
    BalancedAccuracy(f64),
    /// Multi-label: the macro-F1 at a threshold of 0.5 (`valid_macro_f1`).
    #[serde(rename = "valid_macro_f1")]
    MacroF1(f64),
}

impl ValidScore {
    /// The value, in `[0, 1]`.
    pub fn value(self) -> f64 {
        match self {
            ValidScore::BalancedAccuracy(v) | ValidScore::MacroF1(v) => v,
        }
    }

    /// The curve's name in a plot.
    pub fn label(self) -> &'static str {
        match self {
            ValidScore::BalancedAccuracy(_) => "validation balanced accuracy",
            ValidScore::MacroF1(_) => "validation macro-F1",
        }
    }
}

/// Every finished epoch of a run, in order (`history.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochHistory {
    /// The epochs, from the first.
    pub epochs: Vec<EpochValues>,
}

impl EpochHistory {
    /// The training loss of each epoch.
    pub fn train_loss(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.train_loss).collect()
    }

    /// The validation score of each epoch (balanced accuracy, or macro-F1 for multi-label).
    pub fn valid_score(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.valid.value()).collect()
    }

    /// The name of the validation score, for a plot: that of the first epoch's.
    pub fn valid_label(&self) -> &'static str {
        self.epochs
            .first()
            .map_or(ValidScore::BalancedAccuracy(0.0).label(), |e| {
                e.valid.label()
            })
    }

    /// The training curves' figure of these epochs.
    pub fn curves(&self) -> crate::reporting::plots::CurvesFigure {
        crate::reporting::plots::CurvesFigure {
            loss: self.train_loss(),
            valid: self.valid_score(),
            valid_label: self.valid_label(),
        }
    }

    /// Whether it holds exactly epochs `1..=epochs`, in order.
    pub fn covers(&self, epochs: usize) -> bool {
        self.epochs.len() == epochs && self.epochs.iter().zip(1..).all(|(e, n)| e.epoch == n)
    }
}

/// Which curve a [`Recorded`] metric feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// The training loss: the value of the training loss metric (`NanGuard`).
    TrainLoss,
    /// The validation balanced accuracy: the value of the validation balanced accuracy
    /// metric (`ConfusionMetric`), which is in percent.
    ValidBalancedAccuracy,
    /// The multi-label validation macro-F1 (`MultiLabelMetric`), in percent.
    ValidMacroF1,
}

/// Collects a training run's epochs and saves the history to its run directory after each
/// one; every phase of the run and every metric it records shares it.
#[derive(Clone)]
pub struct HistoryRecorder(Arc<Mutex<Recording>>);

struct Recording {
    run: RunDir,
    history: EpochHistory,
    /// The training loss of the epoch whose validation has not ended yet.
    train_loss: Option<f64>,
    /// The first failure to record or save, reported by [`HistoryRecorder::finish`].
    failure: Option<String>,
    /// When this session's clock started; `None` while it is paused ([`HistoryRecorder::pause`]).
    started: Option<Instant>,
    /// The training seconds of the sessions before it: those up to the checkpoint resumed.
    before: f64,
}

impl Recording {
    /// The training seconds so far: the sessions' before this one, and this one's while its
    /// clock runs.
    fn seconds(&self) -> f64 {
        self.before + self.started.map_or(0.0, |t| t.elapsed().as_secs_f64())
    }

    /// Appends the next epoch and saves the history.
    fn push(&mut self, train_loss: f64, valid: ValidScore) {
        self.history.epochs.push(EpochValues {
            epoch: self.history.epochs.len() + 1,
            train_loss,
            valid,
            wall_seconds: self.seconds(),
        });
        if let Err(error) = self.run.write_history(&self.history) {
            self.failure.get_or_insert_with(|| format!("{error:#}"));
        }
    }
}

impl HistoryRecorder {
    /// Starts the history of a training run in `run`: empty for a new run, the epochs up to
    /// the checkpoint for a run resumed after epoch `resume_from`.
    ///
    /// # Errors
    /// A resumed run whose history is missing, damaged or shorter than its checkpoint.
    pub fn start(run: RunDir, resume_from: Option<usize>) -> anyhow::Result<Self> {
        let history = match resume_from {
            Some(done) => run.read_history(done)?,
            None => EpochHistory::default(),
        };
        let before = history.epochs.last().map_or(0.0, |e| e.wall_seconds);
        Ok(Self(Arc::new(Mutex::new(Recording {
            run,
            history,
            train_loss: None,
            failure: None,
            started: Some(Instant::now()),
            before,
        }))))
    }

    /// The run's training wall time so far, in seconds: this session's, after the time its
    /// history recorded up to the checkpoint it resumed from. A resumed run reports the time
    /// its epochs took, not only the last session's.
    pub fn wall_seconds(&self) -> f64 {
        let recording = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        recording.seconds()
    }

    /// `metric`, which records its value of each epoch as `curve`.
    pub fn record<M>(&self, metric: M, curve: Curve) -> Recorded<M> {
        Watched {
            metric,
            watch: CurveWatch {
                curve,
                recorder: self.clone(),
            },
        }
    }

    /// Adds one epoch's value; burn-train ends the training split of an epoch before its
    /// validation split, so an epoch is complete with its validation score.
    fn add(&self, curve: Curve, value: f64) {
        let mut recording = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let recording = &mut *recording;
        match curve {
            Curve::TrainLoss => recording.train_loss = Some(value),
            Curve::ValidBalancedAccuracy | Curve::ValidMacroF1 => {
                let Some(train_loss) = recording.train_loss.take() else {
                    let epoch = recording.history.epochs.len() + 1;
                    recording.failure.get_or_insert_with(|| {
                        format!("epoch {epoch}: a validation result without a training loss")
                    });
                    return;
                };
                let valid = match curve {
                    Curve::ValidMacroF1 => ValidScore::MacroF1(value / 100.0),
                    _ => ValidScore::BalancedAccuracy(value / 100.0),
                };
                recording.push(train_loss, valid);
            }
        }
    }

    /// The training seconds its history recorded at the end of its last epoch, if it has one.
    pub(crate) fn last_epoch_seconds(&self) -> Option<f64> {
        let recording = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        recording.history.epochs.last().map(|e| e.wall_seconds)
    }

    /// Adds a whole epoch: its training loss and validation score, computed by the caller (a
    /// packed group, `crate::run::pack`, computes each run's own).
    pub(crate) fn add_epoch(&self, train_loss: f64, valid: ValidScore) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(train_loss, valid);
    }

    /// Stops the training clock: what follows is not this run's training (a packed group
    /// writing its other runs' results). [`resume`](Self::resume) starts it again.
    pub(crate) fn pause(&self) {
        let mut recording = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        recording.before = recording.seconds();
        recording.started = None;
    }

    /// Starts this session's clock now, leaving out the time since the session began (a packed
    /// group's runs start their clocks together, when the group's training starts).
    pub(crate) fn restart(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .started = Some(Instant::now());
    }

    /// Starts the training clock again after [`pause`](Self::pause).
    pub(crate) fn resume(&self) {
        let mut recording = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if recording.started.is_none() {
            recording.started = Some(Instant::now());
        }
    }

    /// Takes `history`, another run's whole history (its epochs and their times), as this
    /// run's, and saves it: a run that evaluates a model another run trained
    /// (`crate::run::training::evaluate_trained`) records the training that made it.
    /// `seconds` is the other run's whole training time (its report's).
    pub(crate) fn replay(&self, history: EpochHistory, seconds: f64) {
        let mut recording = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        recording.before = seconds;
        recording.started = None;
        recording.history = history;
        if let Err(error) = recording.run.write_history(&recording.history) {
            recording
                .failure
                .get_or_insert_with(|| format!("{error:#}"));
        }
    }

    /// The history of a run that trained `epochs` epochs.
    ///
    /// # Errors
    /// The history could not be saved, or it misses an epoch.
    pub fn finish(&self, epochs: usize) -> anyhow::Result<EpochHistory> {
        let recording = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(failure) = &recording.failure {
            bail!("the per-epoch history: {failure}");
        }
        if !recording.history.covers(epochs) {
            bail!(
                "the per-epoch history holds epochs {:?}, not 1 to {epochs}",
                recording
                    .history
                    .epochs
                    .iter()
                    .map(|e| e.epoch)
                    .collect::<Vec<_>>()
            );
        }
        Ok(recording.history.clone())
    }
}

/// A numeric burn-train metric, unchanged, that also records its value of each epoch into a
/// [`HistoryRecorder`].
pub type Recorded<M> = Watched<M, CurveWatch>;

/// The [`Watch`] of a [`Recorded`] metric: the curve it feeds, and where.
#[derive(Clone)]
pub struct CurveWatch {
    curve: Curve,
    recorder: HistoryRecorder,
}

impl Watch for CurveWatch {
    fn computed(&mut self, metric: &impl Numeric) {
        // burn-train computes each metric once at the end of an epoch's split.
        self.recorder
            .add(self.curve, metric.final_value().current());
    }
}

#[cfg(test)]
mod tests {
    use burn::prelude::*;
    use burn::train::metric::{LossInput, LossMetric, Metric};

    use super::*;
    use crate::run::testing;

    /// One epoch of `metric` as burn-train runs it: a batch of `values`, then compute and clear.
    fn epoch<M: Metric<Input = LossInput>>(metric: &mut M, values: [f32; 2]) {
        let input = LossInput::new(Tensor::from_floats(values, &Device::flex()));
        metric.update(&input, &testing::metadata(1)).unwrap();
        metric.compute().unwrap();
        metric.clear();
    }

    #[test]
    fn recorded_metrics_save_every_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let recorder = HistoryRecorder::start(run.clone(), None).unwrap();
        let mut loss = recorder.record(LossMetric::new(), Curve::TrainLoss);
        // Stands in for the balanced accuracy metric, which reports percent.
        let mut balanced = recorder.record(LossMetric::new(), Curve::ValidBalancedAccuracy);
        // The wrapped metric is unchanged: burn-train logs and shows it under its own name.
        assert_eq!(loss.name().as_str(), "Loss");
        epoch(&mut loss, [1.0, 2.0]);
        epoch(&mut balanced, [50.0, 70.0]);
        assert_eq!(run.read_history(1).unwrap().train_loss(), [1.5]);
        epoch(&mut loss, [0.5, 0.5]);
        epoch(&mut balanced, [80.0, 80.0]);

        let history = recorder.finish(2).unwrap();
        let expected = [
            EpochValues {
                epoch: 1,
                train_loss: 1.5,
                valid: ValidScore::BalancedAccuracy(0.6),
                wall_seconds: history.epochs[0].wall_seconds,
            },
            EpochValues {
                epoch: 2,
                train_loss: 0.5,
                valid: ValidScore::BalancedAccuracy(0.8),
                wall_seconds: history.epochs[1].wall_seconds,
            },
        ];
        assert_eq!(history.epochs, expected);
        // The clock runs on from epoch to epoch.
        assert!(
            expected[0].wall_seconds > 0.0 && expected[1].wall_seconds >= expected[0].wall_seconds
        );
        assert_eq!(run.read_history(2).unwrap(), history);
        // Under its own key, as runs before multi-label wrote it.
        let text = std::fs::read_to_string(dir.path().join("history.json")).unwrap();
        assert!(text.contains("\"valid_balanced_accuracy\": 0.6"), "{text}");
        // A missing epoch is an error, not a shorter curve.
        let err = recorder.finish(3).unwrap_err().to_string();
        assert!(err.contains("holds epochs [1, 2], not 1 to 3"), "{err}");

        // Resumed after epoch 1: epoch 1 kept, the next one recorded after it.
        let resumed = HistoryRecorder::start(run.clone(), Some(1)).unwrap();
        let mut loss = resumed.record(LossMetric::new(), Curve::TrainLoss);
        let mut balanced = resumed.record(LossMetric::new(), Curve::ValidBalancedAccuracy);
        epoch(&mut loss, [3.0, 3.0]);
        epoch(&mut balanced, [10.0, 10.0]);
        let history = resumed.finish(2).unwrap();
        assert_eq!(history.epochs[0], expected[0]);
        assert_eq!(history.train_loss(), [1.5, 3.0]);
        // The resumed session's time counts after the time up to the checkpoint.
        assert!(history.epochs[1].wall_seconds > expected[0].wall_seconds);
        assert!(resumed.wall_seconds() >= history.epochs[1].wall_seconds);
        let err = HistoryRecorder::start(run, Some(3))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("lacks epochs before the checkpoint of epoch 3"),
            "{err}"
        );
    }

    #[test]
    fn a_validation_value_without_a_training_loss_fails_the_history() {
        let dir = tempfile::tempdir().unwrap();
        let recorder = HistoryRecorder::start(RunDir::new(dir.path()), None).unwrap();
        let mut balanced = recorder.record(LossMetric::new(), Curve::ValidBalancedAccuracy);
        epoch(&mut balanced, [50.0, 50.0]);
        let err = recorder.finish(0).unwrap_err().to_string();
        assert!(err.contains("epoch 1: a validation result without a training loss"));
    }
}
