//! The `[data]` section of a config file.

mod checks;
mod load;
mod multi_label;
mod single_label;
mod task;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::csv_file::{LabelMap, read_csv_pair};
use crate::idx::{read_cifar10, read_idx};
use crate::memory::{exceeds_memory, synthetic_must_fit};
use crate::split::{long_tail_indices, stratified_split};
use crate::{
    DataError, Difficulty, ImbalanceProfile, LongTailData, MultiLabelSyntheticConfig, Resampling,
    Samples, SyntheticConfig,
};

/// What a sample's label is: one class, or a set of labels.
///
/// ```
/// use rebalance_data::{DataConfig, Task};
///
/// let config: DataConfig = toml::from_str("task = \"multi-label\"").unwrap();
/// assert_eq!(config.task, Task::MultiLabel);
/// assert!(DataConfig::default().task.is_single_label());
/// ```
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::EnumIter,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Task {
    /// One class per sample, `0..num_classes` (the default; softmax or sigmoid losses).
    #[default]
    SingleLabel,
    /// Any number of positive labels per sample, out of `num_classes` labels (multi-hot
    /// targets, sigmoid losses); loaded by [`DataConfig::load_multi_label`].
    MultiLabel,
}

impl Task {
    /// Whether this is the default, single-label task (which a written config leaves out).
    pub fn is_single_label(&self) -> bool {
        matches!(self, Self::SingleLabel)
    }
}

/// The config file's spelling, quoted: `"single-label"`, `"multi-label"`.
impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{}\"", <&str>::from(self))
    }
}

/// Where the samples come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, strum::EnumIter)]
#[serde(rename_all = "kebab-case")]
pub enum DataSource {
    /// The Gaussian-mixture generator (the default; no file needed).
    #[default]
    Synthetic,
    /// A training and a test CSV file.
    Csv,
    /// MNIST or Fashion-MNIST IDX files in a folder.
    Idx,
    /// CIFAR-10 binary batches in a folder.
    Cifar10,
}

/// The config file's spelling, quoted: `"synthetic"`, `"csv"`, `"idx"`, `"cifar10"`.
impl std::fmt::Display for DataSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Self::Synthetic => "synthetic",
            Self::Csv => "csv",
            Self::Idx => "idx",
            Self::Cifar10 => "cifar10",
        };
        write!(f, "\"{name}\"")
    }
}

/// `"a", "b", "c"`, at most eight of them, escaped (a binary file's bytes show as escapes).
pub(crate) fn quoted_list(names: &[String]) -> String {
    let mut shown: Vec<String> = names.iter().take(8).map(|n| format!("{n:?}")).collect();
    if names.len() > 8 {
        shown.push(format!("... {} more", names.len() - 8));
    }
    shown.join(", ")
}

/// An error of the generator or the profile (which name their own parameters, `num_classes`),
/// renamed to the config key the user wrote (`data.num_classes`).
pub(crate) fn in_data_section(error: DataError) -> DataError {
    match error {
        DataError::InvalidParameter {
            name,
            value,
            expected,
        } => {
            let name = match name {
                "num_classes" => "data.num_classes",
                "features" => "data.features",
                "validation_per_class" => "data.validation_per_class",
                "informative" => "data.informative",
                "clusters_per_class" => "data.clusters_per_class",
                "difficulty" => "data.difficulty",
                "class_sep" => "data.class_sep",
                "label_noise" => "data.label_noise",
                "max_per_class" => "data.max_per_class",
                "test_per_class" => "data.test_per_class",
                "imbalance factor" => "data.profile.factor",
                "minority_fraction" => "data.profile.minority_fraction",
                "profile.counts" => "data.profile.counts",
                "resampling" => "data.resampling",
                "num_labels" => "data.num_classes",
                "samples" => "data.samples",
                "head_frequency" => "data.head_frequency",
                "co_occurrence" => "data.co_occurrence",
                "label_sep" => "data.label_sep",
                "test_fraction" => "data.test_fraction",
                "validation_fraction" => "data.validation_fraction",
                "profile" => "data.profile",
                "label_separator" => "data.label_separator",
                "label_columns" => "data.label_columns",
                other => other,
            };
            DataError::InvalidParameter {
                name,
                value,
                expected,
            }
        }
        other => other,
    }
}

/// The default separator of a multi-label CSV's label lists.
pub(crate) const DEFAULT_SEPARATOR: &str = "|";

fn default_profile() -> ImbalanceProfile {
    ImbalanceProfile::Exponential { factor: 100.0 }
}
fn default_label_column() -> String {
    "label".to_string()
}

/// The `[data]` section: a source, a long-tail profile, a seed, and the source's own keys.
///
/// ```toml
/// [data]
/// source = "synthetic"          # synthetic | csv | idx | cifar10
/// num_classes = 10
/// seed = 1
/// profile = { kind = "exponential", factor = 100 }
/// # synthetic: difficulty, features, informative, clusters_per_class, class_sep, label_noise,
/// #            max_per_class, test_per_class, validation_per_class
/// # csv: train, test, label_column;  idx / cifar10: dir
/// resampling = "none"           # none | class-balanced | square-root | oversample | undersample
/// ```
///
/// Keys another source uses are errors, as are unknown keys.
///
/// `task = "multi-label"` reads a set of labels per sample instead, out of `num_classes`
/// labels, through [`load_multi_label`](Self::load_multi_label); its sources are
/// `synthetic` ([`MultiLabelSyntheticConfig`]: `features`, `informative`, `samples`,
/// `head_frequency`, `co_occurrence`, `label_sep`, `test_fraction`; `profile` sets the label
/// frequencies) and `csv` (`train`, `test`, and either `label_columns = ["toxic", ...]`, one
/// 0/1 column per label, or `label_column` with `label_separator`, default `"|"`, a column
/// of label lists; the profile is not applied to files). `validation_fraction` holds out an
/// iteratively stratified validation split. Keys of the single-label task only
/// (`clusters_per_class`, `class_sep`, `label_noise`, `max_per_class`, `test_per_class`,
/// `validation_per_class`, `dir`, a `resampling` other than `none`) are errors there, and
/// the multi-label keys are errors in the single-label task.
///
/// ```
/// use rebalance_data::DataConfig;
/// use rebalance_weights::ZeroCountPolicy;
///
/// let config: DataConfig = toml::from_str(r#"
///     task = "multi-label"
///     num_classes = 8
///     samples = 2000
///     profile = { kind = "exponential", factor = 50 }
/// "#).unwrap();
/// config.validate()?;
/// let data = config.load_multi_label(ZeroCountPolicy::Error)?;
/// assert_eq!(data.num_classes, 8);
/// assert_eq!(data.train.len() + data.test.len(), 2000);
/// # Ok::<(), rebalance_data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `single-label` (default) or `multi-label`; see [`Task`]. Left out of a written config
    /// when single-label.
    #[serde(default, skip_serializing_if = "Task::is_single_label")]
    pub task: Task,
    /// Where the samples come from. Default `synthetic`.
    #[serde(default)]
    pub source: DataSource,
    /// Number of classes, `>= 2`. Default 10.
    #[serde(default = "ten")]
    pub num_classes: usize,
    /// Seed of the generator, the long-tail subset and the splits, any `u64` (above
    /// `i64::MAX` written as a string, see [`seed`](crate::seed)). Default 1.
    #[serde(default = "one", with = "crate::seed")]
    pub seed: u64,
    /// The long-tail profile of the training split. Default exponential, factor 100.
    #[serde(default = "default_profile")]
    pub profile: ImbalanceProfile,
    /// Fraction of the (long-tailed) training split held out, stratified, for validation, in
    /// `[0, 1)`; for the synthetic source prefer `validation_per_class` (balanced). Default 0.
    #[serde(default)]
    pub validation_fraction: f64,
    /// `n_max` of the profile for file sources; default: the smallest class of the source's
    /// training split, so every class can give what the profile asks. The synthetic source's
    /// `max_per_class` (default 5000).
    #[serde(default)]
    pub max_per_class: Option<usize>,
    /// Synthetic, single-label: `easy` (default, the generator as it always was) or
    /// `standard` (as hard as CIFAR-10-LT at the standard sizes); see
    /// [`Difficulty`](crate::Difficulty). It picks the defaults of the generator's other keys
    /// ([`SyntheticConfig::preset`]); keys set beside it win.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<Difficulty>,
    /// Synthetic: features per sample. Default 16.
    #[serde(default)]
    pub features: Option<usize>,
    /// Synthetic: informative dimensions. Default 8.
    #[serde(default)]
    pub informative: Option<usize>,
    /// Synthetic: clusters per class. Default 1.
    #[serde(default)]
    pub clusters_per_class: Option<usize>,
    /// Synthetic: class separation. Default 2.
    #[serde(default)]
    pub class_sep: Option<f64>,
    /// Synthetic: training label noise. Default 0.
    #[serde(default)]
    pub label_noise: Option<f64>,
    /// Synthetic: test samples per class. Default 1000.
    #[serde(default)]
    pub test_per_class: Option<usize>,
    /// Synthetic: validation samples per class. Default 0.
    #[serde(default)]
    pub validation_per_class: Option<usize>,
    /// CSV: the training file.
    #[serde(default)]
    pub train: Option<PathBuf>,
    /// CSV: the test file.
    #[serde(default)]
    pub test: Option<PathBuf>,
    /// CSV: the label column. Default `label`.
    #[serde(default)]
    pub label_column: Option<String>,
    /// IDX / CIFAR-10: the folder holding the files.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Multi-label synthetic: samples over all splits. Default 20 000.
    #[serde(default)]
    pub samples: Option<usize>,
    /// Multi-label synthetic: fraction of the samples positive for the head label. Default
    /// 0.25.
    #[serde(default)]
    pub head_frequency: Option<f64>,
    /// Multi-label synthetic: share of a label's positives drawn among its parent label's.
    /// Default 0.5.
    #[serde(default)]
    pub co_occurrence: Option<f64>,
    /// Multi-label synthetic: length of each label's feature direction. Default 2.5.
    #[serde(default)]
    pub label_sep: Option<f64>,
    /// Multi-label synthetic: share of the samples in the test split. Default 0.2.
    #[serde(default)]
    pub test_fraction: Option<f64>,
    /// Multi-label CSV: one 0/1 column per label, in label order.
    #[serde(default)]
    pub label_columns: Option<Vec<String>>,
    /// Multi-label CSV: what separates the names in `label_column`'s lists. Default `|`.
    #[serde(default)]
    pub label_separator: Option<String>,
    /// Re-sampling of the training split, drawn afresh every epoch (see [`Resampling`]):
    /// `none`, `class-balanced`, `square-root`, `oversample`, `undersample`. It changes what
    /// training visits, not the split itself, its counts or the class weights. Default `none`.
    #[serde(default)]
    pub resampling: Resampling,
}

fn ten() -> usize {
    10
}
fn one() -> u64 {
    1
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            source: DataSource::Synthetic,
            num_classes: 10,
            seed: 1,
            profile: default_profile(),
            validation_fraction: 0.0,
            max_per_class: None,
            difficulty: None,
            features: None,
            informative: None,
            clusters_per_class: None,
            class_sep: None,
            label_noise: None,
            test_per_class: None,
            validation_per_class: None,
            train: None,
            test: None,
            label_column: None,
            dir: None,
            resampling: Resampling::None,
            task: Default::default(),
            samples: None,
            head_frequency: None,
            co_occurrence: None,
            label_sep: None,
            test_fraction: None,
            label_columns: None,
            label_separator: None,
        }
    }
}

impl DataConfig {
    /// The generator settings of the synthetic source, defaults filled in.
    pub fn synthetic(&self) -> SyntheticConfig {
        let d = SyntheticConfig::preset(self.difficulty.unwrap_or_default());
        SyntheticConfig {
            difficulty: d.difficulty,
            num_classes: self.num_classes,
            features: self.features.unwrap_or(d.features),
            informative: self.informative.unwrap_or(d.informative),
            clusters_per_class: self.clusters_per_class.unwrap_or(d.clusters_per_class),
            class_sep: self.class_sep.unwrap_or(d.class_sep),
            label_noise: self.label_noise.unwrap_or(d.label_noise),
            max_per_class: self.max_per_class.unwrap_or(d.max_per_class),
            test_per_class: self.test_per_class.unwrap_or(d.test_per_class),
            validation_per_class: self.validation_per_class.unwrap_or(d.validation_per_class),
            seed: self.seed,
        }
    }

    /// The multi-label generator's settings, defaults filled in: `num_classes` labels, the
    /// profile as the label frequencies, `validation_fraction` as the generator's.
    pub fn multi_label_synthetic(&self) -> MultiLabelSyntheticConfig {
        let d = MultiLabelSyntheticConfig::default();
        MultiLabelSyntheticConfig {
            num_labels: self.num_classes,
            samples: self.samples.unwrap_or(d.samples),
            head_frequency: self.head_frequency.unwrap_or(d.head_frequency),
            profile: self.profile.clone(),
            co_occurrence: self.co_occurrence.unwrap_or(d.co_occurrence),
            features: self.features.unwrap_or(d.features),
            informative: self.informative.unwrap_or(d.informative),
            label_sep: self.label_sep.unwrap_or(d.label_sep),
            test_fraction: self.test_fraction.unwrap_or(d.test_fraction),
            validation_fraction: self.validation_fraction,
            seed: self.seed,
        }
    }

    /// The config with the synthetic source's defaults written out (`features = 16`, ...), so
    /// a recorded config shows every value the run used; other sources are left as they are
    /// (a multi-label CSV's profile is written as `none`, its label separator as used).
    pub fn with_defaults(self) -> Self {
        self.task.section().with_defaults(self)
    }
}
