//! The run configuration: one TOML file with `[data]`, `[model]`, `[loss]`, `[train]` and
//! `[output]`, every key defaulted (see `configs/reference.toml`), `--set key=value` overrides.

use std::path::{Path, PathBuf};

use rebalance_data::{DataConfig, DataError, Task};
use rebalance_loss::{LossConfig, LossError};
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::devices::DeviceSpec;
// Where compare and the run config read a file and apply `--set`.
pub(crate) use crate::overrides::{apply_set, read_table};

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

    /// Range checks that the types cannot express, section by section, before anything is
    /// loaded or trained (a compare sweep checks every variant this way up front).
    ///
    /// # Errors
    /// The first value out of range, naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.data.validate()?;
        self.loss.validate()?;
        if self.loss.reduction() == rebalance_loss::Reduction::None {
            return Err(invalid(
                "loss.reduction",
                "\"none\"",
                "weighted-mean, mean or sum for training (none gives per-sample losses, which \
                 training cannot step on)",
            ));
        }
        if let Some(w) = self.loss.weighting()
            && w.start_epoch >= self.train.epochs
            && w.start_epoch > 0
        {
            return Err(invalid(
                "loss.drw_start_epoch",
                w.start_epoch + 1,
                format!(
                    "<= train.epochs = {} (the epoch, from 1, the class weights start; later \
                     would train the whole run unweighted)",
                    self.train.epochs
                ),
            ));
        }
        let train = &self.train;
        if train.epochs == 0 {
            return Err(invalid("train.epochs", 0, ">= 1"));
        }
        if train.batch_size == 0 {
            return Err(invalid("train.batch_size", 0, ">= 1"));
        }
        if let Some(other) = train.devices.iter().find(|d| d.backend != train.backend) {
            return Err(invalid(
                "train.devices",
                format!("\"{other}\""),
                format!(
                    "devices of train.backend = \"{0}\": \"{0}\" or \"{0}:INDEX\"",
                    train.backend
                ),
            ));
        }
        if !(train.learning_rate.is_finite() && train.learning_rate > 0.0) {
            return Err(invalid(
                "train.learning_rate",
                train.learning_rate,
                "finite and > 0",
            ));
        }
        if !(train.weight_decay.is_finite() && train.weight_decay >= 0.0) {
            return Err(invalid(
                "train.weight_decay",
                train.weight_decay,
                "finite and >= 0",
            ));
        }
        if !(0.0..1.0).contains(&train.momentum) {
            return Err(invalid("train.momentum", train.momentum, "in [0, 1)"));
        }
        if train.step_epochs.len() != train.step_factors.len() {
            return Err(invalid(
                "train.step_factors",
                format!("{:?}", train.step_factors),
                format!(
                    "one factor per step epoch ({} given)",
                    train.step_epochs.len()
                ),
            ));
        }
        if train.step_epochs.windows(2).any(|w| w[0] >= w[1]) || train.step_epochs.contains(&0) {
            return Err(invalid(
                "train.step_epochs",
                format!("{:?}", train.step_epochs),
                "increasing epochs counted from 1",
            ));
        }
        if train
            .step_factors
            .iter()
            .any(|f| !(f.is_finite() && *f > 0.0))
        {
            return Err(invalid(
                "train.step_factors",
                format!("{:?}", train.step_factors),
                "finite and > 0",
            ));
        }
        if train.warmup_epochs > 0 && train.schedule == ScheduleKind::Cosine {
            return Err(invalid(
                "train.warmup_epochs",
                train.warmup_epochs,
                "0 with schedule = \"cosine\" (warm-up goes with constant and step)",
            ));
        }
        if !train.step_epochs.is_empty() && train.schedule != ScheduleKind::Step {
            return Err(invalid(
                "train.step_epochs",
                format!("{:?}", train.step_epochs),
                "empty unless schedule = \"step\" (or set train.schedule = \"step\")",
            ));
        }
        if let Some(tau) = self.eval.posthoc_tau
            && !tau.is_finite()
        {
            return Err(invalid("eval.posthoc_tau", tau, "finite"));
        }
        self.validate_task()?;
        if let Some(stage2) = &self.train.stage2 {
            if stage2.epochs == 0 {
                return Err(invalid("train.stage2.epochs", 0, ">= 1"));
            }
            if let Some(rate) = stage2.learning_rate
                && !(rate.is_finite() && rate > 0.0)
            {
                return Err(invalid(
                    "train.stage2.learning_rate",
                    rate,
                    "finite and > 0",
                ));
            }
            let loss = stage2.loss();
            loss.validate().map_err(ConfigError::Stage2Loss)?;
            if loss.reduction() == rebalance_loss::Reduction::None {
                return Err(invalid(
                    "train.stage2.loss.reduction",
                    "\"none\"",
                    "weighted-mean, mean or sum for training",
                ));
            }
            if let Some(w) = loss.weighting()
                && w.start_epoch > 0
            {
                return Err(invalid(
                    "train.stage2.loss.drw_start_epoch",
                    w.start_epoch + 1,
                    "left out: the second stage's class weights hold from its first epoch",
                ));
            }
            if self.data.task == Task::MultiLabel {
                return Err(invalid(
                    "train.stage2",
                    format!("{{ epochs = {} }}", stage2.epochs),
                    "left out with data.task = \"multi-label\" (classifier re-training is \
                     single-label so far)",
                ));
            }
        }
        if !(0.0..1.0).contains(&self.model.dropout) {
            return Err(invalid("model.dropout", self.model.dropout, "in [0, 1)"));
        }
        if self.model.hidden.contains(&0) {
            return Err(invalid(
                "model.hidden",
                format!("{:?}", self.model.hidden),
                "widths >= 1",
            ));
        }
        self.check_memory(u128::from(rebalance_data::total_memory()))
    }

    /// The keys that depend on the task: a multi-label run needs a loss of multi-hot targets
    /// and has no post-hoc adjustment or image augmentation; tuned thresholds are multi-label
    /// and need a validation split.
    fn validate_task(&self) -> Result<(), ConfigError> {
        let multi_label = self.data.task == Task::MultiLabel;
        if multi_label {
            self.loss.check_multi_label()?;
            if let Some(tau) = self.eval.posthoc_tau {
                return Err(invalid(
                    "eval.posthoc_tau",
                    tau,
                    "left out with data.task = \"multi-label\" (post-hoc logit adjustment \
                     shifts a softmax; tune the sigmoid thresholds with eval.thresholds = \
                     \"tuned\")",
                ));
            }
            if self.train.augment {
                return Err(invalid(
                    "train.augment",
                    true,
                    "false with data.task = \"multi-label\" (the augmentation is for images)",
                ));
            }
        }
        if self.eval.thresholds == ThresholdRule::Tuned {
            if !multi_label {
                return Err(invalid(
                    "eval.thresholds",
                    "\"tuned\"",
                    "\"fixed\" with data.task = \"single-label\" (a single-label model \
                     predicts its top class; thresholds are per label of a multi-label task)",
                ));
            }
            if self.data.validation_fraction <= 0.0 {
                return Err(invalid(
                    "eval.thresholds",
                    "\"tuned\"",
                    "given with a validation split to tune on: set data.validation_fraction \
                     (e.g. 0.1)",
                ));
            }
        }
        Ok(())
    }

    /// Refuses a run whose estimated memory exceeds `limit` bytes, naming the key (of
    /// `model.hidden` and `train.batch_size`) whose default would shrink it the most; the data
    /// alone is checked by [`DataConfig::validate`].
    fn check_memory(&self, limit: u128) -> Result<(), ConfigError> {
        let needed = self.estimated_bytes();
        if needed <= limit {
            return Ok(());
        }
        let defaults = (ModelSection::default(), TrainSection::default());
        let mut smaller_model = self.clone();
        smaller_model.model.hidden = defaults.0.hidden;
        let mut smaller_batch = self.clone();
        smaller_batch.train.batch_size = defaults.1.batch_size;
        let (key, value) = if smaller_model.estimated_bytes() <= smaller_batch.estimated_bytes() {
            ("model.hidden", format!("{:?}", self.model.hidden))
        } else {
            ("train.batch_size", self.train.batch_size.to_string())
        };
        Err(invalid(
            key,
            value,
            format!(
                "small enough for the run to fit in memory: it needs about {} (parameters, \
                 gradients and Adam's moments, a batch's activations, the data), more than \
                 the machine's {}",
                rebalance_data::human_bytes(needed),
                rebalance_data::human_bytes(limit)
            ),
        ))
    }

    /// A rough upper estimate of a run's memory in bytes: the MLP's parameters four times
    /// (weights, gradients, two Adam moments), a batch's input and activations three times
    /// (forward, backward, dropout), and the synthetic data. The MLP's input width is the
    /// synthetic data's features, or 1 for a file source (known once read). Saturating.
    pub fn estimated_bytes(&self) -> u128 {
        let n = |v: usize| v as u128;
        let inputs = match self.model.kind {
            ModelKind::Mlp => n(self.data.features.unwrap_or(1)),
            ModelKind::Cnn | ModelKind::Resnet32 => 1,
        };
        let mut widths = vec![inputs];
        if self.model.kind == ModelKind::Mlp {
            widths.extend(self.model.hidden.iter().map(|&h| n(h)));
        }
        widths.push(n(self.data.num_classes));
        let parameters = widths.windows(2).fold(0u128, |sum, w| {
            sum.saturating_add(w[0].saturating_mul(w[1]).saturating_add(w[1]))
        });
        let activations = widths.iter().fold(0u128, |sum, &w| sum.saturating_add(w));
        let batch = n(self.train.batch_size);
        parameters
            .saturating_mul(4 * 4)
            .saturating_add(batch.saturating_mul(activations).saturating_mul(4 * 3))
            .saturating_add(self.data.estimated_bytes().unwrap_or(0))
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
mod tests {
    use super::*;
    use rebalance_loss::{LdamKeys, LossKind};

    fn configs() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
    }

    #[test]
    fn reference_toml_lists_the_defaults() {
        let reference = RunConfig::load(&configs().join("reference.toml"), &[]).unwrap();
        assert_eq!(reference, RunConfig::default());
    }

    #[test]
    fn shipped_configs_load() {
        for name in [
            "quickstart.toml",
            "synthetic-lt100.toml",
            "mnist-lt.toml",
            "fashion-mnist-lt.toml",
            "cifar10-lt.toml",
        ] {
            let config = RunConfig::load(&configs().join(name), &[]).unwrap();
            assert!(config.loss.weighting().is_some(), "{name}");
        }
        for name in ["multilabel.toml", "multilabel-csv.toml"] {
            let config = RunConfig::load(&configs().join(name), &[]).unwrap();
            assert_eq!(config.data.task, Task::MultiLabel, "{name}");
            assert_eq!(config.eval.thresholds, ThresholdRule::Tuned, "{name}");
            config.loss.check_multi_label().unwrap();
        }
    }

    #[test]
    fn set_overrides_and_creates_keys() {
        let path = configs().join("quickstart.toml");
        let sets = [
            "train.epochs=3".to_string(),
            "loss.kind=\"focal\"".to_string(),
            "loss.scheme=ins".to_string(),
            "model.hidden=[8]".to_string(),
            "data.profile={ kind = \"step\", factor = 10 }".to_string(),
        ];
        let config = RunConfig::load(&path, &sets).unwrap();
        assert_eq!(config.train.epochs, 3);
        assert_eq!(config.loss.kind(), LossKind::Focal);
        assert_eq!(
            config.loss.weighting().map(|w| &w.scheme),
            Some(&rebalance_weights::Scheme::Ins)
        );
        assert_eq!(config.model.hidden, [8]);
        assert_eq!(
            config.data.profile,
            rebalance_data::ImbalanceProfile::Step {
                factor: 10.0,
                minority_fraction: 0.5
            }
        );
        let err = RunConfig::load(&path, &["train.epochs".to_string()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--set train.epochs: expected key=value, as in train.epochs=3"
        );
        let err = RunConfig::load(&path, &["train.epochs=0".to_string()]).unwrap_err();
        assert_eq!(err.to_string(), "train.epochs = 0: must be >= 1");
        let err = RunConfig::load(&path, &["train.step_epochs=[10]".to_string()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "train.step_factors = []: must be one factor per step epoch (1 given)"
        );
    }

    #[test]
    fn loss_section_maps_to_the_library() {
        let table = |text: &str| toml::from_str::<toml::Table>(text).unwrap();
        let config = RunConfig::from_table(
            table(
                "[train]\nepochs = 200\n[loss]\nkind = \"ldam\"\nscheme = \"ens\"\nbeta = 0.999\n\
                 drw_start_epoch = 160",
            ),
            "test",
        )
        .unwrap();
        match &config.loss {
            LossConfig::Ldam(LdamKeys {
                weights: Some(w), ..
            }) => {
                assert_eq!(w.scheme, rebalance_weights::Scheme::Ens { beta: 0.999 });
                // 1-based epoch 160 is the library's epoch 159.
                assert_eq!(w.start_epoch, 159);
            }
            other => panic!("{other:?}"),
        }
        let config = RunConfig::from_table(
            table("[loss]\nkind = \"ldam\"\nscheme = \"uniform\""),
            "test",
        )
        .unwrap();
        assert!(matches!(
            config.loss,
            LossConfig::Ldam(LdamKeys { weights: None, .. })
        ));
        // The resolved config names the 1-based epoch again.
        let written = RunConfig::from_table(
            table("[train]\nepochs = 200\n[loss]\nkind = \"ldam\"\nscheme = \"ens\"\ndrw_start_epoch = 160"),
            "test",
        )
        .unwrap()
        .to_toml()
        .unwrap();
        assert!(written.contains("drw_start_epoch = 160"), "{written}");
    }

    #[test]
    fn loss_errors_name_the_loss_key() {
        let table = |text: &str| toml::from_str::<toml::Table>(text).unwrap();
        let err = RunConfig::from_table(table("[loss]\nkind = \"ldam\"\ngamma = 1.0"), "f.toml")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("f.toml: loss.gamma does not apply to kind = \"ldam\""),
            "{err}"
        );
        let err = RunConfig::from_table(table("[loss]\nkind = \"focal\"\ngamma = -1.0"), "f.toml")
            .unwrap_err();
        assert_eq!(err.to_string(), "loss.gamma = -1: must be finite and >= 0");
        let err =
            RunConfig::from_table(table("[loss]\nreduction = \"avg\""), "f.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.toml: loss.reduction: unknown reduction \"avg\": expected one of weighted-mean, \
             mean, sum, none"
        );
    }

    #[test]
    fn every_section_is_checked_before_anything_loads() {
        let table = |text: &str| toml::from_str::<toml::Table>(text).unwrap();
        // Nothing is generated or read: a CSV that does not exist is not opened here.
        let err = RunConfig::from_table(
            table("[data]\nprofile = { kind = \"exponential\", factor = 0.5 }"),
            "f.toml",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("data.profile.factor = 0.5: must be >= 1"),
            "{err}"
        );
        let err = RunConfig::from_table(table("[data]\nsource = \"csv\"\ntrain = \"x.csv\""), "f")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "data.source = \"csv\": must be given with data.test"
        );
        let err = RunConfig::from_table(table("[data]\nclass_sep = -1.0"), "f").unwrap_err();
        assert_eq!(
            err.to_string(),
            "data.class_sep = -1: must be finite and > 0"
        );
        let err = RunConfig::from_table(table("[train]\nbackend = \"tpu\""), "f.toml").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("f.toml: train.backend: unknown backend \"tpu\": expected one of flex, ndarray, wgpu, cuda, tch"),
            "{err}"
        );
        let config = RunConfig::from_table(table("[train]\nbackend = \"WGPU\""), "f").unwrap();
        assert_eq!(config.train.backend, Backend::Wgpu);
    }

    #[test]
    fn the_recorded_config_fills_in_the_synthetic_defaults() {
        let config = RunConfig::from_table(toml::Table::new(), "f").unwrap();
        let written = config.to_toml().unwrap();
        for key in [
            "features = 16",
            "informative = 8",
            "max_per_class = 5000",
            "test_per_class = 1000",
            "backend = \"flex\"",
        ] {
            assert!(written.contains(key), "{key} missing from\n{written}");
        }
        let again = RunConfig::from_table(toml::from_str(&written).unwrap(), "f").unwrap();
        assert_eq!(again, config);
        // A file source records no generator keys (they would be errors there).
        let csv = RunConfig::from_table(
            toml::from_str("[data]\nsource = \"csv\"\ntrain = \"a\"\ntest = \"b\"").unwrap(),
            "f",
        )
        .unwrap();
        assert_eq!(csv.data.features, None);
    }

    #[test]
    fn settings_that_would_be_ignored_or_misused_are_refused() {
        let table = |text: &str| toml::from_str::<toml::Table>(text).unwrap();
        let refuse = |text: &str, expected: &str| {
            let err = RunConfig::from_table(table(text), "f")
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{text}: {err}");
        };
        refuse(
            "[loss]\nreduction = \"none\"",
            "loss.reduction = \"none\": must be",
        );
        refuse(
            "[loss]\nscheme = \"ins\"\ndrw_start_epoch = 31",
            "loss.drw_start_epoch = 31: must be <= train.epochs = 30",
        );
        refuse(
            "[train]\nschedule = \"cosine\"\nstep_epochs = [5]\nstep_factors = [0.1]",
            "train.step_epochs = [5]: must be empty unless schedule = \"step\"",
        );
        refuse(
            "[loss]\nkind = \"class-balanced\"\nbase = \"softmax\"\ngamma = 1.0",
            "gamma = 1: must be given only with base = \"focal\"",
        );
        refuse(
            "[data]\nvalidation_per_class = 10\nvalidation_fraction = 0.2",
            "data.validation_fraction = 0.2: must be 0 when data.validation_per_class is set",
        );
        // The last epoch is still a valid start.
        let last = "[loss]\nscheme = \"ins\"\ndrw_start_epoch = 30";
        assert!(RunConfig::from_table(table(last), "f").is_ok());
    }
}
