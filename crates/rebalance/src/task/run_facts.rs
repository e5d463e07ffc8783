//! What both tasks' reports say of a run beside their scores, written once: how it trained
//! ([`Training`], the first keys of `report.json`) and what that cost ([`Cost`], the last
//! keys), both flattened into the report so their keys stay where they were; and the
//! [`RunFacts`] a report is made from.

use rebalance_data::LongTailData;
use rebalance_weights::ClassCounts;
use serde::{Deserialize, Serialize};

use crate::reporting::peak_memory_bytes;
use crate::run::backend::Backend;
use crate::run::config::RunConfig;

/// How a run trained: the first keys of its `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Training {
    /// The backend that trained the model.
    pub backend: String,
    /// The hardware that trained it ([`crate::run::backend::device_names`]: `NVIDIA H200`, a
    /// CPU's model name); absent when unknown and in reports written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Epochs trained.
    pub epochs: usize,
    /// The loss that trained the final classifier (`kind` of `[loss]`; with cRT, of
    /// `[train.stage2] loss`).
    pub loss: String,
    /// That loss's weighting scheme.
    pub scheme: String,
}

impl std::fmt::Display for Training {
    /// `report.md`'s line of it: ``loss `ldam`, scheme `ens`, backend `flex`, 20 epochs``.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "loss `{}`, scheme `{}`, backend `{}`, {} epochs",
            self.loss, self.scheme, self.backend, self.epochs
        )
    }
}

/// What a run's training cost: the last keys of its `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// Wall time of training, seconds.
    pub wall_seconds: f64,
    /// Training samples processed per second of training wall time.
    pub train_samples_per_second: f64,
    /// Bytes the dataset's splits take in memory (features as `f32`, labels).
    #[serde(default)]
    pub dataset_bytes: u64,
    /// Peak resident memory of the process that wrote the report (`train` or `eval`), from the
    /// OS (Linux's `VmHWM`); absent where the OS does not tell.
    #[serde(default)]
    pub peak_memory_bytes: Option<u64>,
}

impl Cost {
    /// `report.md`'s last line: the training time and throughput.
    pub fn markdown(&self) -> String {
        format!(
            "\ntraining: {:.1} s, {:.0} samples/s\n",
            self.wall_seconds, self.train_samples_per_second
        )
    }
}

/// What a report is made of beside its scores.
#[derive(Debug, Clone)]
pub struct RunFacts {
    /// How the run trained (its `device` is filled in by the caller that knows it).
    pub training: Training,
    /// The class (label) names.
    pub class_names: Vec<String>,
    /// Training samples per class (positives per label).
    pub train_counts: Vec<usize>,
    /// Training samples.
    pub train_samples: usize,
    /// The class weights in force at the end of training, one per class (all 1 for an
    /// unweighted loss; with cRT, the second stage's).
    pub class_weights: Vec<f64>,
    /// Training wall time, seconds.
    pub wall_seconds: f64,
    /// Bytes the dataset takes in memory; 0 where unknown.
    pub dataset_bytes: u64,
}

impl RunFacts {
    /// The facts of a run of `config`, trained on `backend` for `wall_seconds` on `data`,
    /// whose training split has `counts` (positives per label for multi-label data): the loss
    /// that trained the final classifier (cRT's second stage's, else `[loss]`) and its class
    /// weights at its last epoch.
    ///
    /// # Errors
    /// The class weights cannot be computed from `counts`.
    pub fn of<T: rebalance_data::Target>(
        config: &RunConfig,
        backend: Backend,
        data: &LongTailData<T>,
        counts: &ClassCounts,
        wall_seconds: f64,
    ) -> anyhow::Result<Self> {
        let (loss, epoch) = match &config.train.stage2 {
            Some(stage2) => (stage2.loss(), 0),
            None => (config.loss.clone(), config.train.epochs - 1),
        };
        let class_weights = loss
            .class_weights_at(counts, epoch)?
            .map_or_else(|| vec![1.0; data.num_classes], |w| w.into_vec());
        Ok(Self {
            training: Training {
                backend: backend.name().to_string(),
                device: None,
                epochs: config.train.epochs,
                loss: loss.name().to_string(),
                scheme: loss
                    .weighting()
                    .map_or("uniform", |w| w.scheme.name())
                    .to_string(),
            },
            class_names: data.class_names.clone(),
            train_counts: counts.as_slice().iter().map(|&n| n as usize).collect(),
            train_samples: data.train.len(),
            class_weights,
            wall_seconds,
            dataset_bytes: data.bytes(),
        })
    }

    /// The report's cost: the throughput over every epoch's samples, and this process's peak
    /// memory so far.
    pub fn cost(&self) -> Cost {
        let seen = self.train_samples * self.training.epochs;
        Cost {
            wall_seconds: self.wall_seconds,
            train_samples_per_second: if self.wall_seconds > 0.0 {
                seen as f64 / self.wall_seconds
            } else {
                0.0
            },
            dataset_bytes: self.dataset_bytes,
            peak_memory_bytes: peak_memory_bytes(),
        }
    }
}

#[cfg(test)]
impl RunFacts {
    /// Facts for a unit test: 2 epochs of `loss` (scheme `ens`) on flex in 2 s, over classes
    /// `names` with `train_counts` (`samples` training samples) and `class_weights`.
    pub(crate) fn for_test(
        loss: &str,
        names: &[&str],
        train_counts: Vec<usize>,
        samples: usize,
        class_weights: Vec<f64>,
    ) -> Self {
        Self {
            training: Training {
                backend: "flex".into(),
                device: None,
                epochs: 2,
                loss: loss.into(),
                scheme: "ens".into(),
            },
            class_names: names.iter().map(|&n| n.into()).collect(),
            train_counts,
            train_samples: samples,
            class_weights,
            wall_seconds: 2.0,
            dataset_bytes: 0,
        }
    }
}
