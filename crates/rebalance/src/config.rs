//! The run configuration: one TOML file with `[data]`, `[model]`, `[loss]`, `[train]` and
//! `[output]`, every key defaulted (see `configs/reference.toml`), `--set key=value` overrides.

use std::path::{Path, PathBuf};

use rebalance_data::DataConfig;
use rebalance_loss::{ClassBalancedBase, ClassWeighting, LossConfig, Reduction};
use rebalance_weights::{Normalization, Scheme, ZeroCountPolicy};
use serde::{Deserialize, Serialize};

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

/// The whole run configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Where the samples come from and how the training split is made long-tailed.
    #[serde(default)]
    pub data: DataConfig,
    /// The classifier.
    #[serde(default)]
    pub model: ModelSection,
    /// The loss and its class weights.
    #[serde(default)]
    pub loss: LossSection,
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

/// The loss families of `[loss] kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    /// Softmax cross-entropy.
    #[default]
    CrossEntropy,
    /// Softmax focal loss.
    Focal,
    /// One-vs-all sigmoid cross-entropy.
    Sigmoid,
    /// Sigmoid focal loss.
    SigmoidFocal,
    /// Class-balanced loss (Cui et al.).
    ClassBalanced,
    /// LDAM (Cao et al.).
    Ldam,
    /// Logit-adjusted loss (Menon et al.).
    LogitAdjusted,
    /// Balanced Softmax (Ren et al.).
    BalancedSoftmax,
}

/// The weighting scheme names of `[loss] scheme`; parameters are the keys `beta` and `power`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SchemeName {
    /// No class weights.
    #[default]
    Uniform,
    /// `1 / n`.
    Ins,
    /// `1 / sqrt(n)`.
    Isns,
    /// `1 / n^power`.
    Power,
    /// Effective number with `beta`.
    Ens,
    /// scikit-learn's balanced.
    Balanced,
    /// Median frequency.
    Median,
    /// `custom_weights`.
    Custom,
}

/// `[loss]`: flat keys, as scripts and `--set` use them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LossSection {
    /// Loss family. Default `cross-entropy`.
    pub kind: LossKind,
    /// Class-weighting scheme. Default `uniform` (no weights).
    pub scheme: SchemeName,
    /// ENS and class-balanced `β`, in `[0, 1)`. Default 0.9999.
    pub beta: f64,
    /// Exponent of the `power` scheme, `>= 0`. Default 0.5.
    pub power: f64,
    /// Weights of the `custom` scheme, one per class.
    pub custom_weights: Vec<f64>,
    /// Focal `γ >= 0`. Default 2.
    pub gamma: f64,
    /// Sigmoid focal `α` in `[0, 1]`, negative to disable. Default 0.25.
    pub alpha: f64,
    /// Logit adjustment `τ`. Default 1.
    pub tau: f64,
    /// Label smoothing `ε` in `[0, 1]` (cross-entropy). Default 0.
    pub smoothing: f64,
    /// LDAM largest margin, `> 0`. Default 0.5.
    pub max_margin: f64,
    /// LDAM logit scale, `> 0`. Default 30.
    pub scale: f64,
    /// Class-balanced base loss: `softmax`, `sigmoid`, `focal`. Default `focal`.
    pub base: ClassBalancedBase,
    /// Weight normalization. Default `sum-to-classes`.
    pub normalize: Normalization,
    /// What classes without training samples get. Default `error`.
    pub zero_count: ZeroCountPolicy,
    /// Reduction. Default `weighted-mean`.
    pub reduction: Reduction,
    /// Deferred re-weighting: the first epoch (counted from 1) with class weights; uniform
    /// before. Default: weights from the start.
    pub drw_start_epoch: Option<usize>,
}

impl Default for LossSection {
    fn default() -> Self {
        Self {
            kind: LossKind::CrossEntropy,
            scheme: SchemeName::Uniform,
            beta: 0.9999,
            power: 0.5,
            custom_weights: Vec::new(),
            gamma: 2.0,
            alpha: 0.25,
            tau: 1.0,
            smoothing: 0.0,
            max_margin: 0.5,
            scale: 30.0,
            base: ClassBalancedBase::Focal,
            normalize: Normalization::SumToClasses,
            zero_count: ZeroCountPolicy::Error,
            reduction: Reduction::WeightedMean,
            drw_start_epoch: None,
        }
    }
}

impl LossSection {
    /// The weighting scheme, `None` for uniform.
    pub fn scheme(&self) -> Option<Scheme> {
        Some(match self.scheme {
            SchemeName::Uniform => return None,
            SchemeName::Ins => Scheme::Ins,
            SchemeName::Isns => Scheme::Isns,
            SchemeName::Power => Scheme::Power { p: self.power },
            SchemeName::Ens => Scheme::Ens { beta: self.beta },
            SchemeName::Balanced => Scheme::Balanced,
            SchemeName::Median => Scheme::Median,
            SchemeName::Custom => Scheme::Custom {
                weights: self.custom_weights.clone(),
            },
        })
    }

    /// The library's loss configuration.
    pub fn loss_config(&self) -> LossConfig {
        let weights = self.scheme().map(|scheme| ClassWeighting {
            scheme,
            normalization: self.normalize,
            zero_count: self.zero_count,
            // Epochs count from 1 here, as burn-train shows them; from 0 in the library.
            start_epoch: self.drw_start_epoch.map_or(0, |e| e.saturating_sub(1)),
        });
        let reduction = self.reduction;
        match self.kind {
            LossKind::CrossEntropy => LossConfig::CrossEntropy {
                weights,
                smoothing: self.smoothing,
                ignore_index: None,
                reduction,
            },
            LossKind::Focal => LossConfig::Focal {
                gamma: self.gamma,
                weights,
                reduction,
            },
            LossKind::Sigmoid => LossConfig::Sigmoid {
                weights,
                pos_weight: None,
                reduction,
            },
            LossKind::SigmoidFocal => LossConfig::SigmoidFocal {
                gamma: self.gamma,
                alpha: self.alpha,
                weights,
                pos_weight: None,
                reduction,
            },
            LossKind::ClassBalanced => LossConfig::ClassBalanced {
                beta: self.beta,
                base: self.base,
                gamma: self.gamma,
                reduction,
            },
            LossKind::Ldam => LossConfig::Ldam {
                max_margin: self.max_margin,
                scale: self.scale,
                weights,
                reduction,
            },
            LossKind::LogitAdjusted => LossConfig::LogitAdjusted {
                tau: self.tau,
                weights,
                reduction,
            },
            LossKind::BalancedSoftmax => LossConfig::BalancedSoftmax { weights, reduction },
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
    /// Seed of initialisation, shuffling and augmentation. Default 1.
    pub seed: u64,
    /// Backend: `flex`, `ndarray`, `wgpu`, `cuda`. Default `flex`.
    pub backend: String,
    /// Data-loading threads (0: the training thread). Default 0.
    pub workers: usize,
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
            backend: "flex".to_string(),
            workers: 0,
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
        let config: RunConfig = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| ConfigError::Parse {
                path: source.to_string(),
                message: format!("{}: {}", e.path(), e.inner().message().trim()),
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Range checks that the types cannot express.
    ///
    /// # Errors
    /// The first value out of range, naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let loss = &self.loss;
        if !(0.0..1.0).contains(&loss.beta) {
            return Err(invalid("loss.beta", loss.beta, "in [0, 1)"));
        }
        if !(loss.gamma.is_finite() && loss.gamma >= 0.0) {
            return Err(invalid("loss.gamma", loss.gamma, "finite and >= 0"));
        }
        if !(loss.power.is_finite() && loss.power >= 0.0) {
            return Err(invalid("loss.power", loss.power, "finite and >= 0"));
        }
        if !(0.0..=1.0).contains(&loss.smoothing) {
            return Err(invalid("loss.smoothing", loss.smoothing, "in [0, 1]"));
        }
        if !loss.tau.is_finite() {
            return Err(invalid("loss.tau", loss.tau, "finite"));
        }
        if !(loss.max_margin.is_finite() && loss.max_margin > 0.0) {
            return Err(invalid(
                "loss.max_margin",
                loss.max_margin,
                "finite and > 0",
            ));
        }
        if !(loss.scale.is_finite() && loss.scale > 0.0) {
            return Err(invalid("loss.scale", loss.scale, "finite and > 0"));
        }
        if loss.drw_start_epoch == Some(0) {
            return Err(invalid(
                "loss.drw_start_epoch",
                0,
                ">= 1 (epochs count from 1)",
            ));
        }
        let train = &self.train;
        if train.epochs == 0 {
            return Err(invalid("train.epochs", 0, ">= 1"));
        }
        if train.batch_size == 0 {
            return Err(invalid("train.batch_size", 0, ">= 1"));
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
        if let Some(tau) = self.eval.posthoc_tau
            && !tau.is_finite()
        {
            return Err(invalid("eval.posthoc_tau", tau, "finite"));
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
        Ok(())
    }

    /// The resolved configuration as TOML, every default filled in.
    ///
    /// # Errors
    /// Never in practice: every field serializes.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string_pretty(self)
    }
}

/// Reads and parses a TOML file.
pub(crate) fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        message: e.message().to_string(),
    })
}

/// Sets `key.path = value` in `table`, creating sections as needed.
pub(crate) fn apply_set(table: &mut toml::Table, set: &str) -> Result<(), ConfigError> {
    let parse_error = |message: String| ConfigError::Parse {
        path: format!("--set {set}"),
        message,
    };
    let (key, raw) = set
        .split_once('=')
        .ok_or_else(|| parse_error("expected key=value, as in train.epochs=3".to_string()))?;
    let key = key.trim();
    let value = match toml::from_str::<toml::Table>(&format!("v = {}", raw.trim())) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.trim().to_string()),
    };
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts
        .pop()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| parse_error("empty key".to_string()))?;
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| parse_error(format!("{part} is a value, not a section")))?;
    }
    current.insert(last.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!(config.loss.scheme().is_some(), "{name}");
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
        assert_eq!(config.loss.kind, LossKind::Focal);
        assert_eq!(config.loss.scheme, SchemeName::Ins);
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
        let mut loss = LossSection {
            kind: LossKind::Ldam,
            scheme: SchemeName::Ens,
            beta: 0.999,
            drw_start_epoch: Some(160),
            ..LossSection::default()
        };
        match loss.loss_config() {
            LossConfig::Ldam {
                weights: Some(w), ..
            } => {
                assert_eq!(w.scheme, Scheme::Ens { beta: 0.999 });
                // 1-based epoch 160 is the library's epoch 159.
                assert_eq!(w.start_epoch, 159);
            }
            other => panic!("{other:?}"),
        }
        loss.scheme = SchemeName::Uniform;
        assert!(matches!(
            loss.loss_config(),
            LossConfig::Ldam { weights: None, .. }
        ));
    }
}
