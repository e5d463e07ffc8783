//! Progress renderers for burn-train: one readable line per epoch when stdout is not a
//! terminal (burn-train's own fallback prints a debug line per batch and no metric values),
//! and a sweep's progress bar for `rebalance compare`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use burn::train::LearnerSummary;
use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::{MetricDefinition, MetricId};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};

/// Prints `epoch 3/30  train loss 0.512 ...  valid loss 0.61  balanced accuracy 54.2 % ...`
/// at the end of each epoch, to stderr (`stage 2: epoch 1/10 ...` in cRT's second stage).
pub struct EpochLineRenderer {
    /// What goes before `epoch`: the stage's name and a colon, or nothing.
    prefix: String,
    names: BTreeMap<String, String>,
    train: BTreeMap<String, String>,
    valid: BTreeMap<String, String>,
    total_epochs: usize,
    started: Instant,
}

impl Default for EpochLineRenderer {
    fn default() -> Self {
        Self {
            prefix: String::new(),
            names: BTreeMap::new(),
            train: BTreeMap::new(),
            valid: BTreeMap::new(),
            total_epochs: 0,
            started: Instant::now(),
        }
    }
}

impl EpochLineRenderer {
    /// The lines of a named stage (`stage 2`), or of the run's training if `None`.
    pub fn of_stage(stage: Option<&str>) -> Self {
        Self {
            prefix: stage.map_or(String::new(), |name| format!("{name}: ")),
            ..Self::default()
        }
    }
}

/// The epoch-level part of a formatted entry (`epoch 54.21 % - batch 50.00 %` → `54.21 %`).
fn epoch_part(formatted: &str) -> String {
    let head = formatted.split(" - batch").next().unwrap_or(formatted);
    head.trim_start_matches("epoch ").trim().to_string()
}

impl EpochLineRenderer {
    fn record(&mut self, valid: bool, state: MetricState) {
        let entry = match state {
            MetricState::Generic(entry) | MetricState::Numeric(entry, _) => entry,
        };
        let id = format!("{:?}", entry.metric_id);
        let name = self.names.get(&id).cloned().unwrap_or(id);
        let value = epoch_part(&entry.serialized_entry.formatted);
        if valid {
            self.valid.insert(name, value);
        } else {
            self.train.insert(name, value);
        }
    }
}

fn key(id: &MetricId) -> String {
    format!("{id:?}")
}

/// The [`TrainingProgressLogger`] methods that a renderer of epochs ignores: a split's
/// progress within an epoch, the end, and training events.
macro_rules! epochs_only {
    () => {
        fn start_split(&mut self, _split: &str, _total_items: usize) {}

        fn update_split(&mut self, _items_processed: usize) {}

        fn end_split(&mut self) {}

        fn end(&mut self) {}

        fn log_event_training(&mut self, _event: String) {}
    };
}

impl MetricsRendererTraining for EpochLineRenderer {
    fn update_train(&mut self, state: MetricState) {
        self.record(false, state);
    }

    fn update_valid(&mut self, state: MetricState) {
        self.record(true, state);
    }

    fn on_train_end(
        &mut self,
        _summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn core::error::Error>> {
        Ok(())
    }
}

impl TrainingProgressLogger for EpochLineRenderer {
    fn start(
        &mut self,
        total_epochs: usize,
        _starting_epoch: usize,
        _total_items: Option<usize>,
        _label: Option<&str>,
    ) {
        self.total_epochs = total_epochs;
        self.started = Instant::now();
    }

    fn update_epoch(&mut self, epoch: usize) {
        let mut line = format!("{}epoch {epoch}/{}", self.prefix, self.total_epochs);
        if let Some(loss) = self.train.get("Loss") {
            line += &format!("  train loss {loss}");
        }
        for (name, value) in &self.valid {
            let name = if name == "Loss" {
                "valid loss".to_string()
            } else {
                name.to_lowercase()
            };
            line += &format!("  {name} {value}");
        }
        line += &format!("  ({:.1} s)", self.started.elapsed().as_secs_f64());
        crate::say!("{line}");
    }

    epochs_only!();
}

impl MetricsRenderer for EpochLineRenderer {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names
            .insert(key(&definition.metric_id), definition.name.to_string());
    }
}

/// Where a run of a sweep (`rebalance compare`) reports its epochs: the sweep's progress bar
/// and the run's name on it.
#[derive(Debug, Clone)]
pub struct RunProgress {
    /// The sweep's bar, counting epochs over all runs.
    pub bar: indicatif::ProgressBar,
    /// The run, as the bar shows it (`ens-0.999 seed 2`).
    pub label: String,
    /// The runs training now (several with `compare --jobs`), shown together on the bar.
    pub active: ActiveRuns,
}

/// The runs of a sweep training now, each with its epoch: the bar's message.
#[derive(Debug, Clone, Default)]
pub struct ActiveRuns(Arc<Mutex<BTreeMap<String, String>>>);

impl ActiveRuns {
    /// Sets `label`'s status; the message of every active run.
    pub fn set(&self, label: &str, status: String) -> String {
        let mut runs = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        runs.insert(label.to_string(), status);
        Self::message(&runs)
    }

    /// Removes `label` (its run ended); the message of the runs left.
    pub fn remove(&self, label: &str) -> String {
        let mut runs = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        runs.remove(label);
        Self::message(&runs)
    }

    fn message(runs: &BTreeMap<String, String>) -> String {
        let shown: Vec<String> = runs
            .iter()
            .map(|(label, status)| format!("{label} · {status}"))
            .collect();
        shown.join(" | ")
    }
}

/// Advances a sweep's progress bar by one epoch at the end of each epoch of the run, and shows
/// which run and epoch it is in; prints nothing else.
pub struct SweepRenderer {
    progress: RunProgress,
    total_epochs: usize,
}

impl SweepRenderer {
    /// A renderer for one run of the sweep.
    pub fn new(progress: RunProgress) -> Self {
        Self {
            progress,
            total_epochs: 0,
        }
    }
}

impl MetricsRendererTraining for SweepRenderer {
    fn update_train(&mut self, _state: MetricState) {}

    fn update_valid(&mut self, _state: MetricState) {}

    fn on_train_end(
        &mut self,
        _summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn core::error::Error>> {
        Ok(())
    }
}

impl TrainingProgressLogger for SweepRenderer {
    fn start(
        &mut self,
        total_epochs: usize,
        starting_epoch: usize,
        _total_items: Option<usize>,
        _label: Option<&str>,
    ) {
        self.total_epochs = total_epochs;
        let message = self.progress.active.set(
            &self.progress.label,
            format!("epoch {}/{total_epochs}", starting_epoch + 1),
        );
        self.progress.bar.set_message(message);
    }

    fn update_epoch(&mut self, epoch: usize) {
        self.progress.bar.inc(1);
        let message = self.progress.active.set(
            &self.progress.label,
            format!(
                "epoch {}/{}",
                (epoch + 1).min(self.total_epochs),
                self.total_epochs
            ),
        );
        self.progress.bar.set_message(message);
    }

    epochs_only!();
}

impl MetricsRenderer for SweepRenderer {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, _definition: MetricDefinition) {}
}

/// The renderers here only follow training: evaluation events are ignored.
macro_rules! ignore_evaluation {
    ($renderer:ty) => {
        impl MetricsRendererEvaluation for $renderer {
            fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}

            fn on_test_end(
                &mut self,
                _summary: Option<LearnerSummary>,
            ) -> Result<(), Box<dyn core::error::Error>> {
                Ok(())
            }
        }

        impl EvaluationProgressLogger for $renderer {
            fn start_global_progress(&mut self, _total_tests: usize) {}

            fn start_test(&mut self, _name: &str, _total_items: usize) {}

            fn update_test_progress(&mut self, _items_processed: usize) {}

            fn end_test(&mut self) {}

            fn end_global_progress(&mut self) {}

            fn log_event_evaluation(&mut self, _event: String) {}
        }
    };
}

ignore_evaluation!(EpochLineRenderer);
ignore_evaluation!(SweepRenderer);

#[cfg(test)]
mod tests {
    use super::*;

    /// The bar's message names every run training now, each with its epoch.
    #[test]
    fn the_message_shows_every_active_run() {
        let active = ActiveRuns::default();
        active.set("ce seed 1", "epoch 1/3".to_string());
        let both = active.set("ins seed 1", "epoch 2/3".to_string());
        assert_eq!(both, "ce seed 1 · epoch 1/3 | ins seed 1 · epoch 2/3");
        assert_eq!(active.remove("ce seed 1"), "ins seed 1 · epoch 2/3");
        assert_eq!(active.remove("ins seed 1"), "");
    }
}
