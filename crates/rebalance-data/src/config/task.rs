//! What each task makes of the `[data]` section: the sources it reads, the keys each source
//! takes, its checks and its defaults. [`TaskSection`] is the one place a [`Task`] value
//! becomes behaviour in the data crate; the keys a source takes come from the type that holds
//! them (the generators' configs, [`CsvKeys`], [`FolderKeys`], [`MultiLabelCsvKeys`]), not from
//! lists kept beside them.

use std::path::PathBuf;

use serde::Serialize;
use strum::IntoEnumIterator;

use super::single_label::SingleLabelSection;
use crate::config::multi_label::MultiLabelSection;
use crate::{DataConfig, DataError, DataSource, Task};

/// The keys of `[data]` every task and source takes.
const COMMON_KEYS: [&str; 6] = [
    "task",
    "source",
    "num_classes",
    "seed",
    "profile",
    "validation_fraction",
];

/// A task's view of the `[data]` section.
pub(crate) trait TaskSection: Sync {
    /// The keys `source` takes in this task beside [`COMMON_KEYS`] and
    /// [`task_keys`](Self::task_keys); `None` where the source does not serve the task.
    fn source_keys(&self, source: DataSource) -> Option<Vec<String>>;

    /// The keys every source of the task takes.
    fn task_keys(&self) -> &'static [&'static str];

    /// The task's own checks of the keys, after [`check_keys`] (the memory bound of the
    /// generated data, the generator's and the profile's parameters).
    fn validate(&self, config: &DataConfig) -> Result<(), DataError>;

    /// The config with the task's defaults of `config.source` written out.
    fn with_defaults(&self, config: DataConfig) -> DataConfig;

    /// The bytes the generated data takes at most; `None` for a file source.
    fn estimated_bytes(&self, config: &DataConfig) -> Option<u128>;

    /// Whether some source of the task takes `key`.
    fn takes(&self, key: &str) -> bool {
        self.task_keys().contains(&key)
            || DataSource::iter()
                .filter_map(|source| self.source_keys(source))
                .any(|keys| keys.iter().any(|k| k == key))
    }
}

/// Every task.
fn tasks() -> impl Iterator<Item = Task> {
    Task::iter()
}

impl Task {
    /// The task's view of the `[data]` section.
    pub(crate) fn section(self) -> &'static dyn TaskSection {
        match self {
            Task::SingleLabel => &SingleLabelSection,
            Task::MultiLabel => &MultiLabelSection,
        }
    }
}

/// The keys of a table `value` writes (every field of a struct whose fields are never left
/// out).
pub(crate) fn keys_of(value: &impl Serialize) -> Vec<String> {
    // Only a value that is not a table fails, and the callers' values are structs.
    toml::Table::try_from(value)
        .map(|table| table.keys().cloned().collect())
        .unwrap_or_default()
}

/// The keys of a single-label CSV source.
#[derive(Serialize, Default)]
pub(crate) struct CsvKeys {
    train: PathBuf,
    test: PathBuf,
    label_column: String,
    max_per_class: usize,
}

/// The keys of a multi-label CSV source.
#[derive(Serialize, Default)]
pub(crate) struct MultiLabelCsvKeys {
    train: PathBuf,
    test: PathBuf,
    label_column: String,
    label_columns: Vec<String>,
    label_separator: String,
}

/// The keys of a source of files in a folder (IDX, CIFAR-10).
#[derive(Serialize, Default)]
pub(crate) struct FolderKeys {
    dir: PathBuf,
    max_per_class: usize,
}

impl DataConfig {
    /// Whether this config's task and source take `key` of `[data]`.
    ///
    /// ```
    /// use rebalance_data::DataConfig;
    ///
    /// let synthetic = DataConfig::default();
    /// assert!(synthetic.takes_key("validation_per_class") && synthetic.takes_key("seed"));
    /// let tags: DataConfig = toml::from_str("task = \"multi-label\"").unwrap();
    /// assert!(!tags.takes_key("validation_per_class") && tags.takes_key("co_occurrence"));
    /// ```
    pub fn takes_key(&self, key: &str) -> bool {
        let section = self.task.section();
        COMMON_KEYS.contains(&key)
            || section.task_keys().contains(&key)
            || section
                .source_keys(self.source)
                .is_some_and(|keys| keys.iter().any(|k| k == key))
    }

    /// Keys set for another task or another source, a source the task does not read, and the
    /// validation fraction's range.
    pub(crate) fn check_keys(&self) -> Result<(), DataError> {
        let section = self.task.section();
        let set: Vec<String> = keys_of(self)
            .into_iter()
            .filter(|key| !COMMON_KEYS.contains(&key.as_str()))
            // The default re-sampling is written, but is not set.
            .filter(|key| key != "resampling" || self.resampling != crate::Resampling::None)
            .collect();
        if let Some(key) = set.iter().find(|key| !section.takes(key)) {
            let other = tasks()
                .find(|task| *task != self.task && task.section().takes(key))
                .unwrap_or_default();
            return Err(DataError::invalid(
                "data.task",
                format!("{} with data.{key}", self.task),
                format!("{other} (the task that uses data.{key}), or data.{key} removed"),
            ));
        }
        let Some(source_keys) = section.source_keys(self.source) else {
            let served: Vec<String> = DataSource::iter()
                .filter(|source| section.source_keys(*source).is_some())
                .map(|source| source.to_string())
                .collect();
            let other = tasks()
                .find(|task| task.section().source_keys(self.source).is_some())
                .unwrap_or_default();
            return Err(DataError::invalid(
                "data.task",
                format!("{} with data.source = {}", self.task, self.source),
                format!(
                    "{other} for that source; {} data comes from the sources {}",
                    self.task.to_string().trim_matches('"'),
                    served.join(" and ")
                ),
            ));
        };
        let foreign = set
            .iter()
            .find(|key| !section.task_keys().contains(&key.as_str()) && !source_keys.contains(key));
        if let Some(key) = foreign {
            return Err(DataError::invalid(
                "data.source",
                format!("{} with data.{key}", self.source),
                format!("the source that uses data.{key}, or data.{key} removed"),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key of `[data]` is common, or taken by some source of some task: nothing the
    /// section reads is left out of the types that say who takes it. (Written field by field,
    /// so a new key does not compile until it is listed here.)
    #[test]
    fn every_key_belongs_to_a_source_or_to_all() {
        let every = DataConfig {
            task: Task::MultiLabel,
            source: DataSource::Csv,
            num_classes: 2,
            seed: 1,
            profile: crate::ImbalanceProfile::None,
            validation_fraction: 0.1,
            max_per_class: Some(1),
            difficulty: Some(crate::Difficulty::Standard),
            features: Some(1),
            informative: Some(1),
            clusters_per_class: Some(1),
            class_sep: Some(1.0),
            label_noise: Some(0.0),
            test_per_class: Some(1),
            validation_per_class: Some(1),
            train: Some("a".into()),
            test: Some("b".into()),
            label_column: Some("c".into()),
            dir: Some("d".into()),
            samples: Some(1),
            head_frequency: Some(0.5),
            co_occurrence: Some(0.5),
            label_sep: Some(1.0),
            test_fraction: Some(0.5),
            label_columns: Some(vec!["e".into()]),
            label_separator: Some("|".into()),
            resampling: crate::Resampling::ClassBalanced,
        };
        let keys = keys_of(&every);
        assert_eq!(keys.len(), 27);
        for key in keys {
            assert!(
                COMMON_KEYS.contains(&key.as_str())
                    || tasks().any(|task| task.section().takes(&key)),
                "data.{key} is taken by no source"
            );
        }
    }
}
