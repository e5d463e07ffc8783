//! The `[data]` section of a config file.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::csv_file::{LabelMap, read_csv_pair};
use crate::idx::{read_cifar10, read_idx};
use crate::memory::{human_bytes, total_memory};
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
/// assert_eq!(DataConfig::default().task, Task::SingleLabel);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
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
        *self == Task::SingleLabel
    }
}

/// The config file's spelling, quoted: `"single-label"`, `"multi-label"`.
impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Task::SingleLabel => "\"single-label\"",
            Task::MultiLabel => "\"multi-label\"",
        })
    }
}

/// Where the samples come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// The bytes a synthetic dataset needs at most: every split's features (4 bytes each) and
/// labels (8), twice (the candidates and the selected training split), plus the mixture's
/// centres and maps. Saturating: absurd values give `u128::MAX`, never an overflow.
fn synthetic_bytes(s: &SyntheticConfig) -> u128 {
    let n = |v: usize| v as u128;
    let per_class = n(s.max_per_class)
        .saturating_add(n(s.test_per_class))
        .saturating_add(n(s.validation_per_class));
    let samples = per_class.saturating_mul(n(s.num_classes));
    let sample_bytes = n(s.features).saturating_mul(4).saturating_add(8);
    let clusters = n(s.num_classes).saturating_mul(n(s.clusters_per_class));
    let mixture = clusters.saturating_mul(
        n(s.informative)
            .saturating_mul(n(s.informative))
            .saturating_add(n(s.informative))
            .saturating_mul(4),
    );
    samples
        .saturating_mul(sample_bytes)
        .saturating_mul(2)
        .saturating_add(mixture)
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

/// The bytes the multi-label synthetic data needs at most: features (4 bytes each) and a
/// label list per sample (a 24-byte header and the labels' 4-byte indices), twice (the pool
/// and the splits), plus the label directions. Saturating.
pub(crate) fn multi_label_bytes(s: &MultiLabelSyntheticConfig) -> u128 {
    let n = |v: usize| v as u128;
    let per_sample = n(s.features)
        .saturating_mul(4)
        .saturating_add(24)
        .saturating_add(n(s.num_labels).saturating_mul(4));
    n(s.samples)
        .saturating_mul(per_sample)
        .saturating_mul(2)
        .saturating_add(
            n(s.num_labels)
                .saturating_mul(n(s.informative))
                .saturating_mul(4),
        )
}

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
/// assert_eq!(data.num_labels, 8);
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
            task: Task::SingleLabel,
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
    /// a recorded config shows every value the run used; other sources are left as they are.
    pub fn with_defaults(mut self) -> Self {
        if self.task == Task::MultiLabel {
            if self.source == DataSource::Synthetic {
                let s = self.multi_label_synthetic();
                self.samples = Some(s.samples);
                self.head_frequency = Some(s.head_frequency);
                self.co_occurrence = Some(s.co_occurrence);
                self.features = Some(s.features);
                self.informative = Some(s.informative);
                self.label_sep = Some(s.label_sep);
                self.test_fraction = Some(s.test_fraction);
            } else if self.source == DataSource::Csv {
                // The files' training split is kept as it is: the record says so.
                self.profile = ImbalanceProfile::None;
                if self.label_columns.is_none() && self.label_separator.is_none() {
                    self.label_separator = Some(DEFAULT_SEPARATOR.to_string());
                }
            }
            return self;
        }
        if self.source == DataSource::Synthetic {
            let s = self.synthetic();
            // Easy is written as nothing, as before the key existed: the recorded configs of
            // earlier runs stay equal to today's.
            self.difficulty = (s.difficulty != Difficulty::Easy).then_some(s.difficulty);
            self.max_per_class = Some(s.max_per_class);
            self.features = Some(s.features);
            self.informative = Some(s.informative);
            self.clusters_per_class = Some(s.clusters_per_class);
            self.class_sep = Some(s.class_sep);
            self.label_noise = Some(s.label_noise);
            self.test_per_class = Some(s.test_per_class);
            self.validation_per_class = Some(s.validation_per_class);
        }
        self
    }

    /// Checks every key that needs no file: keys of another source, a source's required keys,
    /// the generator's parameters and the profile. [`load`](Self::load) runs these checks
    /// first; call this to refuse a config before anything else starts.
    ///
    /// # Errors
    /// The first bad key, named as in the config file (`data.profile.factor = 0.5: must be
    /// >= 1 ...`).
    pub fn validate(&self) -> Result<(), DataError> {
        self.validate_unqualified().map_err(in_data_section)
    }

    pub(crate) fn validate_unqualified(&self) -> Result<(), DataError> {
        if self.validation_fraction > 0.0 && self.validation_per_class.is_some_and(|n| n > 0) {
            return Err(DataError::invalid(
                "data.validation_fraction",
                self.validation_fraction,
                "0 when data.validation_per_class is set (one validation split: the synthetic \
                 source's balanced one, or a fraction of the training split)",
            ));
        }
        self.check_keys()?;
        // Per-class counts, weights and a head row per class: a bound before any is allocated.
        let per_class_bytes = (self.num_classes as u128).saturating_mul(64);
        let limit = u128::from(total_memory());
        if per_class_bytes > limit {
            return Err(DataError::invalid(
                "num_classes",
                self.num_classes,
                format!(
                    "small enough for the per-class data to fit in memory (64 bytes a class, \
                     at most {} classes on this machine)",
                    limit / 64
                ),
            ));
        }
        if self.task == Task::MultiLabel {
            return self.validate_multi_label();
        }
        // A file source's n_max is its smallest class, unknown before reading it: a large
        // stand-in checks the profile's own parameters.
        let n_max = match self.source {
            DataSource::Synthetic => {
                self.check_synthetic_keys()?;
                let synthetic = self.synthetic();
                synthetic.validate()?;
                synthetic.max_per_class
            }
            DataSource::Csv => {
                for (key, given) in [
                    ("train", self.train.is_some()),
                    ("test", self.test.is_some()),
                ] {
                    if !given {
                        return Err(DataError::invalid(
                            "data.source",
                            "\"csv\"",
                            format!("given with data.{key}"),
                        ));
                    }
                }
                self.max_per_class.unwrap_or(1 << 20)
            }
            DataSource::Idx | DataSource::Cifar10 => {
                if self.dir.is_none() {
                    return Err(DataError::invalid(
                        "data.source",
                        self.source,
                        "given with data.dir",
                    ));
                }
                self.max_per_class.unwrap_or(1 << 20)
            }
        };
        if self.source != DataSource::Synthetic
            && self.profile == ImbalanceProfile::None
            && let Some(n_max) = self.max_per_class
        {
            return Err(DataError::invalid(
                "max_per_class",
                n_max,
                "left out with profile = { kind = \"none\" }, which keeps the training split \
                 as it is; profile = { kind = \"balanced\" } cuts every class to max_per_class",
            ));
        }
        self.profile.counts(n_max, self.num_classes)?;
        Ok(())
    }

    /// The bytes the synthetic data needs at most (every split's features and labels, a copy
    /// while the training split is selected, and the mixture's maps); `None` for a file
    /// source, whose size is known once read.
    pub fn estimated_bytes(&self) -> Option<u128> {
        if self.source != DataSource::Synthetic {
            return None;
        }
        Some(match self.task {
            Task::SingleLabel => synthetic_bytes(&self.synthetic()),
            Task::MultiLabel => multi_label_bytes(&self.multi_label_synthetic()),
        })
    }

    /// The synthetic keys the user set, checked so that an error names the key set rather
    /// than one it implies (`features = 0`, not `informative = 8: must be in 1..=0`), and the
    /// data's size checked against the machine's memory.
    fn check_synthetic_keys(&self) -> Result<(), DataError> {
        let s = self.synthetic();
        if s.features == 0 {
            return Err(DataError::invalid("features", 0, ">= 1"));
        }
        if self.informative.is_none() && s.informative > s.features {
            return Err(DataError::invalid(
                "features",
                s.features,
                format!(
                    ">= {} (the default of data.informative), or data.informative set to at \
                     most {}",
                    s.informative, s.features
                ),
            ));
        }
        let bytes = synthetic_bytes(&s);
        let limit = u128::from(total_memory());
        if bytes > limit {
            // Blame the key whose default would shrink the data the most.
            let d = SyntheticConfig::default();
            let candidates: [(&'static str, usize, SyntheticConfig); 7] = [
                (
                    "features",
                    s.features,
                    SyntheticConfig {
                        features: d.features.max(s.informative),
                        ..s.clone()
                    },
                ),
                (
                    "informative",
                    s.informative,
                    SyntheticConfig {
                        informative: d.informative.min(s.features),
                        ..s.clone()
                    },
                ),
                (
                    "max_per_class",
                    s.max_per_class,
                    SyntheticConfig {
                        max_per_class: d.max_per_class,
                        ..s.clone()
                    },
                ),
                (
                    "test_per_class",
                    s.test_per_class,
                    SyntheticConfig {
                        test_per_class: d.test_per_class,
                        ..s.clone()
                    },
                ),
                (
                    "validation_per_class",
                    s.validation_per_class,
                    SyntheticConfig {
                        validation_per_class: d.validation_per_class,
                        ..s.clone()
                    },
                ),
                (
                    "num_classes",
                    s.num_classes,
                    SyntheticConfig {
                        num_classes: d.num_classes,
                        ..s.clone()
                    },
                ),
                (
                    "clusters_per_class",
                    s.clusters_per_class,
                    SyntheticConfig {
                        clusters_per_class: d.clusters_per_class,
                        ..s.clone()
                    },
                ),
            ];
            let (key, value, _) = candidates
                .iter()
                .min_by_key(|(_, _, c)| synthetic_bytes(c))
                .unwrap_or(&candidates[0]);
            return Err(DataError::invalid(
                key,
                value,
                format!(
                    "small enough for the synthetic data to fit in memory: it needs about {}, \
                     more than the machine's {}",
                    human_bytes(bytes),
                    human_bytes(limit)
                ),
            ));
        }
        Ok(())
    }

    /// Keys set for another task or another source.
    fn check_keys(&self) -> Result<(), DataError> {
        self.check_task_keys()?;
        let synthetic_only = [
            ("difficulty", self.difficulty.is_some()),
            ("features", self.features.is_some()),
            ("informative", self.informative.is_some()),
            ("clusters_per_class", self.clusters_per_class.is_some()),
            ("class_sep", self.class_sep.is_some()),
            ("label_noise", self.label_noise.is_some()),
            ("test_per_class", self.test_per_class.is_some()),
            ("validation_per_class", self.validation_per_class.is_some()),
            ("samples", self.samples.is_some()),
            ("head_frequency", self.head_frequency.is_some()),
            ("co_occurrence", self.co_occurrence.is_some()),
            ("label_sep", self.label_sep.is_some()),
            ("test_fraction", self.test_fraction.is_some()),
        ];
        let csv_only = [
            ("train", self.train.is_some()),
            ("test", self.test.is_some()),
            ("label_column", self.label_column.is_some()),
            ("label_columns", self.label_columns.is_some()),
            ("label_separator", self.label_separator.is_some()),
        ];
        let folder_only = [("dir", self.dir.is_some())];
        let foreign: Vec<&str> = match self.source {
            DataSource::Synthetic => csv_only.iter().chain(&folder_only).collect::<Vec<_>>(),
            DataSource::Csv => synthetic_only.iter().chain(&folder_only).collect(),
            DataSource::Idx | DataSource::Cifar10 => {
                synthetic_only.iter().chain(&csv_only).collect()
            }
        }
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| *name)
        .collect();
        if let Some(name) = foreign.first() {
            return Err(DataError::invalid(
                "data.source",
                format!("{} with data.{name}", self.source),
                format!("the source that uses data.{name}, or data.{name} removed"),
            ));
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return Err(DataError::invalid(
                "data.validation_fraction",
                self.validation_fraction,
                "in [0, 1)",
            ));
        }
        Ok(())
    }

    /// Builds the dataset: generates or reads the samples, applies the profile to the
    /// training split, and holds out the validation split.
    ///
    /// # Errors
    /// A key for another source, a parameter out of range, a missing or malformed file, a
    /// label `>= num_classes`, a class left empty.
    pub fn load(&self) -> Result<LongTailData, DataError> {
        self.load_unqualified().map_err(in_data_section)
    }

    fn load_unqualified(&self) -> Result<LongTailData, DataError> {
        self.validate_unqualified()?;
        if self.task == Task::MultiLabel {
            return Err(DataError::invalid(
                "data.task",
                self.task,
                "\"single-label\" for DataConfig::load; multi-label data loads with \
                 DataConfig::load_multi_label",
            ));
        }
        let mut data = match self.source {
            DataSource::Synthetic => self.synthetic().generate(&self.profile)?,
            DataSource::Csv => {
                let missing = |key| {
                    DataError::invalid("data.source", "\"csv\"", format!("given with data.{key}"))
                };
                let train = self.train.as_ref().ok_or_else(|| missing("train"))?;
                let test = self.test.as_ref().ok_or_else(|| missing("test"))?;
                let label_column = self
                    .label_column
                    .clone()
                    .unwrap_or_else(default_label_column);
                let (train_table, test_table, map) = read_csv_pair(train, test, &label_column)?;
                if let LabelMap::Names(names) = &map
                    && names.len() != self.num_classes
                {
                    return Err(DataError::invalid(
                        "data.num_classes",
                        self.num_classes,
                        format!(
                            "{}, the number of distinct labels in {} ({})",
                            names.len(),
                            train.display(),
                            quoted_list(names)
                        ),
                    ));
                }
                let shape = vec![train_table.feature_names.len()];
                self.shape_files(
                    train_table.samples,
                    test_table.samples,
                    shape,
                    map.class_names(self.num_classes),
                )?
            }
            DataSource::Idx | DataSource::Cifar10 => {
                let dir = self.dir.as_ref().ok_or_else(|| {
                    DataError::invalid("data.source", self.source, "given with data.dir")
                })?;
                let (train, test, shape) = if self.source == DataSource::Idx {
                    read_idx(dir)?
                } else {
                    read_cifar10(dir)?
                };
                let names = (0..self.num_classes).map(|c| c.to_string()).collect();
                self.shape_files(train, test, shape, names)?
            }
        };
        if self.validation_fraction > 0.0 {
            let (train, validation) = stratified_split(
                data.train.labels(),
                data.num_classes,
                self.validation_fraction,
                self.seed,
            );
            if validation.is_empty() {
                return Err(DataError::invalid(
                    "data.validation_fraction",
                    self.validation_fraction,
                    format!(
                        "0 (no validation split), or large enough to hold out a sample of the \
                         {} training samples",
                        data.train.len()
                    ),
                ));
            }
            data.validation = Some(data.train.select(&validation));
            data.train = data.train.select(&train);
        }
        // Every split the run reads has samples (the readers refuse empty files; this is the
        // net under every source).
        let splits = [
            ("training", Some(&data.train)),
            ("validation", data.validation.as_ref()),
            ("test", Some(&data.test)),
        ];
        for (split, samples) in splits {
            if samples.is_some_and(Samples::is_empty) {
                return Err(DataError::EmptySplit { split });
            }
        }
        Ok(data)
    }

    /// Applies the profile to a file source's training split.
    fn shape_files(
        &self,
        train: Samples,
        test: Samples,
        feature_shape: Vec<usize>,
        class_names: Vec<String>,
    ) -> Result<LongTailData, DataError> {
        for (split, samples) in [("training", &train), ("test", &test)] {
            if let Some(&label) = samples.labels().iter().find(|&&l| l >= self.num_classes) {
                return Err(DataError::invalid(
                    "data.num_classes",
                    self.num_classes,
                    format!("greater than every label, but the {split} split has label {label}"),
                ));
            }
        }
        let available = train.class_counts(self.num_classes);
        if let Some(class) = available.iter().position(|&n| n == 0) {
            return Err(DataError::EmptyClass {
                class,
                split: "training",
                cause: " in the source files".to_string(),
            });
        }
        // `validate` has refused `max_per_class` beside `none`.
        if self.profile == ImbalanceProfile::None {
            return Ok(LongTailData {
                train,
                validation: None,
                test,
                num_classes: self.num_classes,
                feature_shape,
                class_names,
            });
        }
        let n_max = self
            .max_per_class
            .unwrap_or_else(|| available.iter().copied().min().unwrap_or(0));
        let counts = self.profile.counts(n_max, self.num_classes)?;
        if let Some((class, (&want, &have))) = counts
            .iter()
            .zip(&available)
            .enumerate()
            .find(|(_, (w, h))| w > h)
        {
            return Err(DataError::invalid(
                "data.max_per_class",
                n_max,
                format!(
                    "at most {have}: the profile asks {want} samples of class {class}, which has {have}"
                ),
            ));
        }
        let kept = long_tail_indices(train.labels(), &counts, self.seed);
        Ok(LongTailData {
            train: train.select(&kept),
            validation: None,
            test,
            num_classes: self.num_classes,
            feature_shape,
            class_names,
        })
    }
}
