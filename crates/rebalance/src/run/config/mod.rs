//! The run configuration: one TOML file with `[data]`, `[model]`, `[loss]`, `[train]` and
//! `[output]`, every key defaulted (see `configs/reference.toml`), `--set key=value` overrides.

mod validate;

use std::path::{Path, PathBuf};

use rebalance_data::{DataConfig, DataError, Task};
use rebalance_loss::{LossConfig, LossError};
use serde::{Deserialize, Serialize};

use crate::run::backend::Backend;
use crate::run::devices::DeviceSpec;
// Where compare and the run config read a file and apply `--set`.
pub(crate) use crate::run::overrides::{apply_set, read_table};

/// A configuration error, naming the key path and the value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key or value does not fit the schema.
    #[error("{path}: {message}")]
    Parse {
        /// The file (or `--set`).
        path: String,
        /// The key path and what is wrong.
        message: String,
    },
    /// A `[data]` value the data library refuses; its message names the key (`data.seed`).
    #[error(transparent)]
    Data(#[from] DataError),
    /// A `[loss]` value the loss library refuses (`loss.gamma = -1: must be ...`).
    #[error("loss.{0}")]
    Loss(#[from] LossError),
    /// A `[train.stage2] loss` value the loss library refuses.
    #[error("train.stage2.loss.{0}")]
    Stage2Loss(LossError),
    /// A value out of range.
    #[error("{key} = {value}: must be {expected}")]
    Invalid {
        /// The key path (`loss.beta`).
        key: &'static str,
        /// The value.
        value: String,
        /// What would be valid.
        expected: String,
    },
}

impl ConfigError {
    /// The error for `text` not naming any variant of `T` (for `config_enum!`): the key
    /// `what`, the text, and the valid names.
    fn unknown_name<T: strum::VariantNames>(what: &'static str, text: &str) -> Self {
        invalid(
            what,
            format!("{text:?}"),
            format!("one of {}", T::VARIANTS.join(", ")),
        )
    }
}

rebalance_weights::config_enum! {
    /// How a multi-label run turns each label's sigmoid probability into a prediction
    /// (`eval.thresholds`).
    pub enum ThresholdRule("eval.thresholds", ConfigError) {
        /// 0.5 for every label.
        #[default]
        Fixed,
        /// Each label's F1-maximising threshold on the validation split
        /// (`data.validation_fraction > 0`), recorded in the run's `thresholds.json` and reused
        /// by `rebalance eval`. A label without a validation positive keeps 0.5.
        Tuned,
    }
}

/// The whole run configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Where the samples come from and how the training split is made long-tailed.
    #[serde(default)]
    pub data: DataConfig,
    /// The classifier.
    #[serde(default)]
    pub model: ModelSection,
    /// The loss and its class weights: the library's own schema (flat keys `kind`, `scheme`,
    /// `beta`, `gamma`, ...; see [`LossConfig`]).
    #[serde(default)]
    pub loss: LossConfig,
    /// Optimisation.
    #[serde(default)]
    pub train: TrainSection,
    /// How the test split is evaluated.
    #[serde(default)]
    pub eval: EvalSection,
    /// Where results go.
    #[serde(default)]
    pub output: OutputSection,
}

impl Default for RunConfig {
    /// Every default, the synthetic data's included (as a recorded `config.toml` shows them).
    fn default() -> Self {
        Self {
            data: DataConfig::default().with_defaults(),
            model: ModelSection::default(),
            loss: LossConfig::default(),
            train: TrainSection::default(),
            eval: EvalSection::default(),
            output: OutputSection::default(),
        }
    }
}

/// The classifier architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// A multi-layer perceptron on feature vectors (images are flattened).
    #[default]
    Mlp,
    /// A small CNN for 28×28 images (MNIST, Fashion-MNIST).
    Cnn,
    /// ResNet-32 for 32×32 images (CIFAR).
    Resnet32,
}

/// `[model]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSection {
    /// Architecture: `mlp`, `cnn` or `resnet32`. Default `mlp`.
    pub kind: ModelKind,
    /// Hidden layer widths of the MLP. Default `[128, 128]`.
    pub hidden: Vec<usize>,
    /// Dropout probability after each hidden (MLP) or dense (CNN) layer, in `[0, 1)`.
    /// Default 0.
    pub dropout: f64,
    /// A cosine (`NormedLinear`) classifier head, as LDAM is meant for. Default false.
    pub cosine_head: bool,
}

impl Default for ModelSection {
    fn default() -> Self {
        Self {
            kind: ModelKind::Mlp,
            hidden: vec![128, 128],
            dropout: 0.0,
            cosine_head: false,
        }
    }
}

/// `[train] optimizer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// Adam.
    #[default]
    Adam,
    /// AdamW (decoupled weight decay).
    Adamw,
    /// SGD with momentum.
    SgdMomentum,
}

/// `[train] schedule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleKind {
    /// A constant learning rate.
    #[default]
    Constant,
    /// Cosine annealing to 0 over the run.
    Cosine,
    /// The rate times `step_factors[k]` from epoch `step_epochs[k]` on.
    Step,
}

/// `[train]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainSection {
    /// Epochs, `>= 1`. Default 30.
    pub epochs: usize,
    /// Batch size, `>= 1`. Default 256.
    pub batch_size: usize,
    /// Optimizer. Default `adam`.
    pub optimizer: OptimizerKind,
    /// Learning rate, `> 0`. Default 1e-3.
    pub learning_rate: f64,
    /// Weight decay, `>= 0`. Default 0.
    pub weight_decay: f64,
    /// SGD momentum, in `[0, 1)`. Default 0.9.
    pub momentum: f64,
    /// Learning-rate schedule: `constant`, `cosine`, `step`. Default `constant`.
    pub schedule: ScheduleKind,
    /// Linear warm-up over the first epochs (constant and step schedules). Default 0.
    pub warmup_epochs: usize,
    /// Step schedule: the epochs (from 1) from which a factor applies, increasing.
    pub step_epochs: Vec<usize>,
    /// Step schedule: the factor of the base rate from each of `step_epochs` on.
    pub step_factors: Vec<f64>,
    /// Random crop (4-pixel padding) and horizontal flip of training images. Default false.
    pub augment: bool,
    /// Seed of initialisation, shuffling and augmentation, any `u64` (above `i64::MAX`
    /// written as a string, see [`rebalance_data::seed`]). Default 1.
    #[serde(with = "rebalance_data::seed")]
    pub seed: u64,
    /// Backend: `flex`, `ndarray`, `wgpu`, `cuda`, `tch`. Default `flex`.
    pub backend: Backend,
    /// Batches prepared ahead on a background thread (0: none; the batches are made on the
    /// training thread). Any value gives the same batches in the same order, so the same
    /// metrics. Default 0.
    pub workers: usize,
    /// A second stage that retrains the classifier on the frozen features (cRT); none by
    /// default. See [`Stage2`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage2: Option<Stage2>,
    /// Devices to train one model on, data-parallel (burn-train's multi-device strategy):
    /// each `BACKEND` or `BACKEND:INDEX` of `backend` (`["cuda:0", "cuda:1"]`, `["flex:0",
    /// "flex:1"]`; the CPU backends have one device, so `flex:K` are workers on it). Each
    /// device takes a batch of `batch_size` per step and their gradients are summed: an
    /// optimizer step sees `N · batch_size` samples, an epoch has about `1/N` as many steps,
    /// and with SGD the sum applies the linear scaling rule (the rate of a mean over
    /// `N · batch_size` is `N · learning_rate`); Adam hardly sees the sum. The schedules count
    /// these steps. Empty (the default): the backend's one device, as before. The number of
    /// devices changes the results, so a resumed run must keep the list.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceSpec>,
}

/// `[train.stage2]`: classifier re-training, cRT (Kang et al., "Decoupling Representation and
/// Classifier for Long-Tailed Recognition", ICLR 2020). After `train.epochs` epochs the backbone
/// is frozen (its weights, batch-norm statistics and dropout), the classifier head drawn afresh,
/// and the head alone trained for `epochs` more epochs on re-sampled data with a cosine
/// schedule from `learning_rate`, with plain cross-entropy unless `loss` says otherwise. The
/// report holds both stages' test scores (`stage1`). A run resumed during stage 2 starts stage
/// 2 again from stage 1's last checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage2 {
    /// Epochs of the second stage, `>= 1`.
    pub epochs: usize,
    /// Re-sampling of the training split in the second stage. Default `class-balanced`.
    #[serde(default = "class_balanced")]
    pub resampling: rebalance_data::Resampling,
    /// The second stage's learning rate, `> 0`. Default: `train.learning_rate`.
    #[serde(default)]
    pub learning_rate: Option<f64>,
    /// The second stage's loss, a `[loss]` table of its own (`loss = { kind = "cross-entropy",
    /// scheme = "ens" }`), without a DRW start. Default: plain, unweighted cross-entropy, as
    /// Kang et al. retrain the classifier: the class-balanced sampling is the stage's
    /// correction, and `[loss]`'s class weights on top of it would correct twice. `[loss]` is
    /// stage 1's alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<LossConfig>,
}

impl Stage2 {
    /// The loss the second stage trains with: `loss`, or plain cross-entropy.
    pub fn loss(&self) -> LossConfig {
        self.loss.clone().unwrap_or_default()
    }
}

fn class_balanced() -> rebalance_data::Resampling {
    rebalance_data::Resampling::ClassBalanced
}

impl Default for TrainSection {
    fn default() -> Self {
        Self {
            epochs: 30,
            batch_size: 256,
            optimizer: OptimizerKind::Adam,
            learning_rate: 1e-3,
            weight_decay: 0.0,
            momentum: 0.9,
            schedule: ScheduleKind::Constant,
            warmup_epochs: 0,
            step_epochs: Vec::new(),
            step_factors: Vec::new(),
            augment: false,
            seed: 1,
            backend: Backend::default(),
            workers: 0,
            stage2: None,
            devices: Vec::new(),
        }
    }
}

/// `[eval]`: how the trained model is evaluated on the test split.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalSection {
    /// Post-hoc logit adjustment (Menon et al., ICLR 2021): subtract `τ · log π_c` (the
    /// training prior) from the logits before the argmax. Default: none.
    pub posthoc_tau: Option<f64>,
    /// Multi-label only: the decision thresholds, `fixed` (0.5, the default) or `tuned` on the
    /// validation split. See [`ThresholdRule`].
    #[serde(skip_serializing_if = "is_fixed")]
    pub thresholds: ThresholdRule,
}

fn is_fixed(rule: &ThresholdRule) -> bool {
    *rule == ThresholdRule::Fixed
}

/// `[output]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputSection {
    /// The run directory. Default `runs/latest`.
    pub dir: PathBuf,
}

impl Default for OutputSection {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("runs/latest"),
        }
    }
}

fn invalid(key: &'static str, value: impl ToString, expected: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        value: value.to_string(),
        expected: expected.into(),
    }
}

impl RunConfig {
    /// Reads `path`, applies `--set` overrides (`key.path=value`, the value as TOML, or as a
    /// string when it is not valid TOML), deserializes and validates.
    ///
    /// # Errors
    /// An unreadable file, invalid TOML, an unknown key (from the file or `--set`), a value of
    /// the wrong type or out of range; each names the key path.
    pub fn load(path: &Path, sets: &[String]) -> Result<Self, ConfigError> {
        let mut table = read_table(path)?;
        for set in sets {
            apply_set(&mut table, set)?;
        }
        let shown = path.display().to_string();
        Self::from_table(
            table,
            &if sets.is_empty() {
                shown
            } else {
                format!("{shown} (with --set)")
            },
        )
    }

    /// Deserializes and validates a parsed config; errors name `source` and the key path.
    ///
    /// # Errors
    /// An unknown key, a value of the wrong type or out of range.
    pub(crate) fn from_table(table: toml::Table, source: &str) -> Result<Self, ConfigError> {
        let profile = table
            .get("data")
            .and_then(|d| d.get("profile"))
            .and_then(|p| p.get("kind"))
            .and_then(toml::Value::as_str)
            .map(str::to_string);
        let mut config: RunConfig = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| ConfigError::Parse {
                path: source.to_string(),
                message: key_message(&e.path().to_string(), e.inner().message().trim()),
            })?;
        // The data's keys as the user wrote them first, so an error names the key set
        // (`data.features = 4`), not a default it implies (`data.informative = 8`).
        config.data.validate()?;
        // Multi-label files come long-tailed already and are kept as they are: a profile given
        // for them would be ignored, so it is refused.
        if config.data.task == Task::MultiLabel
            && config.data.source == rebalance_data::DataSource::Csv
            && let Some(kind) = profile.filter(|k| k != "none")
        {
            return Err(invalid(
                "data.profile",
                format!("{{ kind = {kind:?} }}"),
                "left out (or { kind = \"none\" }) with data.task = \"multi-label\" and \
                 data.source = \"csv\": the files' training split is kept as it is",
            ));
        }
        config.data = config.data.with_defaults();
        config.validate()?;
        Ok(config)
    }

    /// The loss's zero-count policy: a class or label without training samples is an error
    /// unless the weighting allows it.
    pub fn zero_count(&self) -> rebalance_weights::ZeroCountPolicy {
        self.loss
            .weighting()
            .map_or(rebalance_weights::ZeroCountPolicy::Error, |w| w.zero_count)
    }

    /// The resolved configuration as TOML, every default filled in.
    ///
    /// # Errors
    /// Never in practice: every field serializes.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string_pretty(self)
    }
}

/// `path: message`, or `path.message` for the loss library's errors of a loss table (`[loss]`,
/// `train.stage2.loss`), whose messages start with the key they are about (`beta = 1.2: must
/// be ...`).
fn key_message(path: &str, message: &str) -> String {
    let first = message.split([' ', '[', ':']).next().unwrap_or_default();
    let loss_table = path == "loss" || path.ends_with(".loss");
    if loss_table && LossConfig::is_key(first) {
        format!("{path}.{message}")
    } else {
        format!("{path}: {message}")
    }
}

#[cfg(test)]
mod tests;
