//! The `[data]` section's multi-label task (`task = "multi-label"`): its keys, their checks
//! and loading a [`MultiLabelData`].

use rebalance_weights::ZeroCountPolicy;

use super::checks::multi_label_bytes;
use crate::config::{DEFAULT_SEPARATOR, in_data_section, quoted_list};
use crate::memory::{human_bytes, total_memory};
use crate::{
    DataConfig, DataError, DataSource, LabelLayout, MultiLabelCsv, MultiLabelData, Resampling, Task,
};

/// The multi-label task.
impl DataConfig {
    /// Keys of the other task: the multi-label keys in the single-label task, the single-label
    /// keys and sources in the multi-label task.
    pub(crate) fn check_task_keys(&self) -> Result<(), DataError> {
        let multi_only = [
            ("samples", self.samples.is_some()),
            ("head_frequency", self.head_frequency.is_some()),
            ("co_occurrence", self.co_occurrence.is_some()),
            ("label_sep", self.label_sep.is_some()),
            ("test_fraction", self.test_fraction.is_some()),
            ("label_columns", self.label_columns.is_some()),
            ("label_separator", self.label_separator.is_some()),
        ];
        let single_only = [
            ("difficulty", self.difficulty.is_some()),
            ("clusters_per_class", self.clusters_per_class.is_some()),
            ("class_sep", self.class_sep.is_some()),
            ("label_noise", self.label_noise.is_some()),
            ("max_per_class", self.max_per_class.is_some()),
            ("test_per_class", self.test_per_class.is_some()),
            ("validation_per_class", self.validation_per_class.is_some()),
            ("dir", self.dir.is_some()),
            ("resampling", self.resampling != Resampling::None),
        ];
        let (foreign, other) = match self.task {
            Task::SingleLabel => (&multi_only[..], Task::MultiLabel),
            Task::MultiLabel => (&single_only[..], Task::SingleLabel),
        };
        if let Some((name, _)) = foreign.iter().find(|(_, set)| *set) {
            return Err(DataError::invalid(
                "data.task",
                format!("{} with data.{name}", self.task),
                format!("{other} (the task that uses data.{name}), or data.{name} removed"),
            ));
        }
        if self.task == Task::MultiLabel
            && !matches!(self.source, DataSource::Synthetic | DataSource::Csv)
        {
            return Err(DataError::invalid(
                "data.task",
                format!("{} with data.source = {}", self.task, self.source),
                "\"single-label\" for that source; multi-label data comes from the sources \
                 \"synthetic\" and \"csv\"",
            ));
        }
        Ok(())
    }

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
                let limit = u128::from(total_memory());
                if bytes > limit {
                    return Err(DataError::invalid(
                        "data.samples",
                        s.samples,
                        format!(
                            "small enough for the synthetic data to fit in memory: it needs \
                             about {}, more than the machine's {}",
                            human_bytes(bytes),
                            human_bytes(limit)
                        ),
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
