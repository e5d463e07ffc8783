//! The `[data]` section's multi-label task (`task = "multi-label"`): its keys, their checks
//! and loading a [`MultiLabelData`].

use rebalance_weights::ZeroCountPolicy;

use super::task::{MultiLabelCsvKeys, TaskSection, keys_of};
use crate::config::{DEFAULT_SEPARATOR, in_data_section, quoted_list};
use crate::memory::{exceeds_memory, synthetic_must_fit};
use crate::{
    DataConfig, DataError, DataSource, ImbalanceProfile, LabelLayout, MultiLabelCsv,
    MultiLabelData, MultiLabelSyntheticConfig, Task,
};

/// The multi-label task's view of `[data]`: a generator or CSV files.
pub(crate) struct MultiLabelSection;

impl TaskSection for MultiLabelSection {
    fn source_keys(&self, source: DataSource) -> Option<Vec<String>> {
        match source {
            DataSource::Synthetic => Some(keys_of(&MultiLabelSyntheticConfig::default())),
            DataSource::Csv => Some(keys_of(&MultiLabelCsvKeys::default())),
            DataSource::Idx | DataSource::Cifar10 => None,
        }
    }

    fn task_keys(&self) -> &'static [&'static str] {
        &[]
    }

    fn validate(&self, config: &DataConfig) -> Result<(), DataError> {
        config.validate_multi_label()
    }

    fn with_defaults(&self, mut config: DataConfig) -> DataConfig {
        if config.source == DataSource::Synthetic {
            let s = config.multi_label_synthetic();
            config.samples = Some(s.samples);
            config.head_frequency = Some(s.head_frequency);
            config.co_occurrence = Some(s.co_occurrence);
            config.features = Some(s.features);
            config.informative = Some(s.informative);
            config.label_sep = Some(s.label_sep);
            config.test_fraction = Some(s.test_fraction);
        } else if config.source == DataSource::Csv {
            // The files' training split is kept as it is: the record says so.
            config.profile = ImbalanceProfile::None;
            if config.label_columns.is_none() && config.label_separator.is_none() {
                config.label_separator = Some(DEFAULT_SEPARATOR.to_string());
            }
        }
        config
    }

    fn estimated_bytes(&self, config: &DataConfig) -> Option<u128> {
        (config.source == DataSource::Synthetic)
            .then(|| multi_label_bytes(&config.multi_label_synthetic()))
    }
}

/// The bytes the multi-label synthetic data needs at most: features (4 bytes each) and a
/// label list per sample (a 24-byte header and the labels' 4-byte indices), twice (the pool
/// and the splits), plus the label directions. Saturating.
fn multi_label_bytes(s: &MultiLabelSyntheticConfig) -> u128 {
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

/// The multi-label task.
impl DataConfig {
    /// The multi-label keys: the generator's parameters, or the CSV files and label layout.
    pub(crate) fn validate_multi_label(&self) -> Result<(), DataError> {
        match self.source {
            DataSource::Csv => {
                self.multi_label_csv(ZeroCountPolicy::Error)?;
            }
            _ => {
                let s = self.multi_label_synthetic();
                s.validate()?;
                let bytes = multi_label_bytes(&s);
                if let Some(limit) = exceeds_memory(bytes) {
                    return Err(DataError::invalid(
                        "data.samples",
                        s.samples,
                        synthetic_must_fit(bytes, limit),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The multi-label CSV reader the keys describe, checked without reading the files.
    fn multi_label_csv(&self, zero_count: ZeroCountPolicy) -> Result<MultiLabelCsv, DataError> {
        let missing = |key: &str| {
            DataError::invalid("data.source", "\"csv\"", format!("given with data.{key}"))
        };
        let train = self.train.clone().ok_or_else(|| missing("train"))?;
        let test = self.test.clone().ok_or_else(|| missing("test"))?;
        let layout = match (&self.label_columns, &self.label_column) {
            (Some(columns), Some(column)) => {
                return Err(DataError::invalid(
                    "data.label_columns",
                    format!("{columns:?} beside data.label_column = {column:?}"),
                    "removed, or data.label_column removed: a file's labels are either one 0/1 \
                     column each (label_columns) or one column of label lists (label_column)",
                ));
            }
            (None, None) => {
                return Err(DataError::invalid(
                    "data.task",
                    format!("{} with data.source = \"csv\"", self.task),
                    "given with data.label_columns (a 0/1 column per label) or \
                     data.label_column (a column of label lists)",
                ));
            }
            (Some(columns), None) => {
                if self.label_separator.is_some() {
                    return Err(DataError::invalid(
                        "data.label_separator",
                        "given with data.label_columns",
                        "removed (it separates the names of data.label_column's lists)",
                    ));
                }
                if columns.is_empty() {
                    return Err(DataError::invalid(
                        "data.label_columns",
                        "[]",
                        "a list of at least one column",
                    ));
                }
                if let Some((k, name)) = columns
                    .iter()
                    .enumerate()
                    .find(|(k, name)| columns[..*k].contains(name))
                {
                    return Err(DataError::invalid(
                        "data.label_columns",
                        format!(
                            "{name:?} twice (entries {} and {})",
                            columns[..k].iter().position(|c| c == name).unwrap_or(0) + 1,
                            k + 1
                        ),
                        "a list of distinct columns",
                    ));
                }
                if columns.len() != self.num_classes {
                    return Err(DataError::invalid(
                        "data.num_classes",
                        self.num_classes,
                        format!(
                            "{}, the number of data.label_columns ({})",
                            columns.len(),
                            quoted_list(columns)
                        ),
                    ));
                }
                LabelLayout::Columns(columns.clone())
            }
            (None, Some(column)) => {
                let separator = self
                    .label_separator
                    .clone()
                    .unwrap_or_else(|| DEFAULT_SEPARATOR.to_string());
                if separator.is_empty() {
                    return Err(DataError::invalid(
                        "data.label_separator",
                        "\"\"",
                        "a non-empty string, such as \"|\"",
                    ));
                }
                LabelLayout::List {
                    column: column.clone(),
                    separator,
                }
            }
        };
        Ok(MultiLabelCsv {
            train,
            test,
            layout,
            zero_count,
        })
    }

    /// Builds the multi-label dataset (`task = "multi-label"`): generates it, or reads the
    /// CSV files, then holds out `validation_fraction` of the training split by iterative
    /// stratification. `zero_count` is the loss's zero-count policy: under `error`, a label
    /// without a positive training sample is an error naming it (and the file), since its
    /// weight would be undefined.
    ///
    /// # Errors
    /// The task is single-label; a key of the other task or of another source; a parameter
    /// out of range; a missing or malformed file (naming file, line and value); a
    /// `num_classes` other than the files' number of labels; a label without training
    /// positives under [`ZeroCountPolicy::Error`].
    pub fn load_multi_label(
        &self,
        zero_count: ZeroCountPolicy,
    ) -> Result<MultiLabelData, DataError> {
        self.load_multi_label_unqualified(zero_count)
            .map_err(in_data_section)
    }

    fn load_multi_label_unqualified(
        &self,
        zero_count: ZeroCountPolicy,
    ) -> Result<MultiLabelData, DataError> {
        if self.task != Task::MultiLabel {
            return Err(DataError::invalid(
                "data.task",
                self.task,
                "\"multi-label\" for DataConfig::load_multi_label; single-label data loads \
                 with DataConfig::load",
            ));
        }
        self.validate_unqualified()?;
        let data = match self.source {
            DataSource::Csv => {
                let reader = self.multi_label_csv(zero_count)?;
                let data = reader.read()?;
                if data.num_classes != self.num_classes {
                    return Err(DataError::invalid(
                        "data.num_classes",
                        self.num_classes,
                        format!(
                            "{}, the number of distinct labels in {} ({})",
                            data.num_classes,
                            reader.train.display(),
                            quoted_list(&data.class_names)
                        ),
                    ));
                }
                if self.validation_fraction > 0.0 {
                    data.hold_out_validation(self.validation_fraction, self.seed)?
                } else {
                    data
                }
            }
            _ => self.multi_label_synthetic().generate()?,
        };
        data.train_label_counts(zero_count)?;
        for (split, samples) in [
            ("training", Some(&data.train)),
            ("validation", data.validation.as_ref()),
            ("test", Some(&data.test)),
        ] {
            if samples.is_some_and(|s| s.is_empty()) {
                return Err(DataError::EmptySplit { split });
            }
        }
        Ok(data)
    }
}
