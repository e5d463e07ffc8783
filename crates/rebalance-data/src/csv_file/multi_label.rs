//! Multi-label data from CSV files: one 0/1 column per label, or one column of label lists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rebalance_weights::ZeroCountPolicy;

use crate::csv_file::{RawRows, check_same_features, read_rows};
use crate::samples::check_positives;
use crate::{DataError, MultiLabelData, MultiLabelSamples};

/// Where a CSV file keeps its labels (see [`MultiLabelCsv`] for a whole read).
///
/// ```
/// use rebalance_data::LabelLayout;
///
/// // toxic,obscene,x  ->  1,0,0.5
/// let columns = LabelLayout::Columns(vec!["toxic".into(), "obscene".into()]);
/// // tags,x  ->  news|sport,0.5
/// let list = LabelLayout::List { column: "tags".into(), separator: "|".into() };
/// assert_ne!(columns, list);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelLayout {
    /// One column per label holding `0` or `1` (`toxic,obscene,...`), labels in the order
    /// given. TOML: `label_columns = ["toxic", "obscene"]`.
    Columns(Vec<String>),
    /// One column holding each row's positive labels as a delimited list (`news|sport`; an
    /// empty field is a row without labels). The distinct names of the training file, sorted,
    /// are labels `0, 1, ...`. TOML: `label_column = "tags"`, `label_separator = "|"`.
    List {
        /// The label column.
        column: String,
        /// What separates two names, not empty (`|`).
        separator: String,
    },
}

impl LabelLayout {
    /// The checks that need no file: a list's separator is not empty; there is a label column,
    /// and none is named twice.
    fn check(&self) -> Result<(), DataError> {
        match self {
            LabelLayout::List { separator, .. } if separator.is_empty() => Err(DataError::invalid(
                "label_separator",
                "\"\"",
                "a non-empty string, such as \"|\"",
            )),
            LabelLayout::List { .. } => Ok(()),
            LabelLayout::Columns(columns) if columns.is_empty() => Err(DataError::invalid(
                "label_columns",
                "[]",
                "at least one label column",
            )),
            LabelLayout::Columns(columns) => {
                match (1..columns.len()).find(|&k| columns[..k].contains(&columns[k])) {
                    Some(k) => Err(DataError::invalid(
                        "label_columns",
                        format!("{:?} twice", columns[k]),
                        "a list of distinct columns",
                    )),
                    None => Ok(()),
                }
            }
        }
    }
}

/// A training and a test CSV file of multi-label data: a header row, numeric feature columns,
/// and the labels in one of the two [`LabelLayout`]s. Every column that is not a label column
/// is a feature.
///
/// ```
/// use rebalance_data::{LabelLayout, MultiLabelCsv};
/// use rebalance_weights::ZeroCountPolicy;
///
/// let dir = tempfile::tempdir().unwrap();
/// let (train, test) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
/// std::fs::write(&train, "x,tags\n0.5,news|sport\n1.5,\n-2,sport\n").unwrap();
/// std::fs::write(&test, "x,tags\n3,news\n").unwrap();
/// let data = MultiLabelCsv {
///     train,
///     test,
///     layout: LabelLayout::List { column: "tags".into(), separator: "|".into() },
///     zero_count: ZeroCountPolicy::Error,
/// }
/// .read()?;
/// assert_eq!(data.class_names, ["news", "sport"]);
/// assert_eq!(data.train.label_counts(2), [1, 2]);
/// assert_eq!(data.train.labels(1), &[] as &[u32]); // a row without labels
/// assert_eq!(data.test.labels(0), &[0]);
/// # Ok::<(), rebalance_data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MultiLabelCsv {
    /// The training file.
    pub train: PathBuf,
    /// The test file (same columns).
    pub test: PathBuf,
    /// Where the labels are.
    pub layout: LabelLayout,
    /// What a label without a positive training row is: an error naming it under `error`;
    /// accepted under `zero-weight` and `add-one`, which give it a weight.
    pub zero_count: ZeroCountPolicy,
}

impl MultiLabelCsv {
    /// Reads both files.
    ///
    /// # Errors
    /// Each names the file, and the line and value where there is one: a missing or unreadable
    /// file; a label column the header lacks (the message lists the columns); no feature
    /// column; a ragged row; a feature that is not a finite number; a 0/1 label column holding
    /// anything else (`2`, `yes`); a label list with an empty name (`a||b`, `a|`); a test label
    /// the training file never names; test feature columns that differ from the training
    /// file's; a file without rows; an empty separator; and, under the zero-count policy
    /// `error`, a label with no positive training row ([`DataError::EmptyLabel`]).
    pub fn read(&self) -> Result<MultiLabelData, DataError> {
        self.layout.check()?;
        let train = self.read_rows(&self.train)?;
        let test = self.read_rows(&self.test)?;
        check_same_features(&train, &test, &self.test)?;
        let label_names: Vec<String> = match &self.layout {
            LabelLayout::Columns(columns) => columns.clone(),
            LabelLayout::List { .. } => {
                let names: BTreeSet<&String> = train.labels.iter().flatten().collect();
                names.into_iter().cloned().collect()
            }
        };
        let num_labels = label_names.len();
        let dim = train.feature_names.len();
        let to_samples =
            |rows: RawRows<Vec<String>>, path: &Path| -> Result<MultiLabelSamples, DataError> {
                let mut sets = Vec::with_capacity(rows.labels.len());
                for (names, line) in rows.labelled() {
                    let mut set = Vec::with_capacity(names.len());
                    for name in names {
                        let index = label_names.binary_search(name).or_else(|_| {
                            // Column order is the user's, not sorted: look it up in full.
                            label_names.iter().position(|n| n == name).ok_or_else(|| {
                                DataError::format(
                                    path,
                                    format!("line {line}: "),
                                    format!(
                                        "label {name:?} does not occur in the training file {}",
                                        self.train.display()
                                    ),
                                )
                            })
                        })?;
                        set.push(index as u32);
                    }
                    set.sort_unstable();
                    set.dedup();
                    sets.push(set);
                }
                Ok(MultiLabelSamples::from_parts(rows.features, sets, dim))
            };
        let train_samples = to_samples(train, &self.train)?;
        let test_samples = to_samples(test, &self.test)?;
        if num_labels == 0 {
            return Err(DataError::format(
                &self.train,
                "",
                "no row names a label; a multi-label file needs at least one",
            ));
        }
        check_positives(
            train_samples.label_counts(num_labels),
            &label_names,
            self.zero_count,
            "training",
            &format!(" in {}", self.train.display()),
        )?;
        Ok(MultiLabelData {
            train: train_samples,
            validation: None,
            test: test_samples,
            num_classes: num_labels,
            class_names: label_names,
            feature_shape: vec![dim],
        })
    }

    /// One file's rows, each label the names of its positive labels.
    fn read_rows(&self, path: &Path) -> Result<RawRows<Vec<String>>, DataError> {
        let label_columns: Vec<&str> = match &self.layout {
            LabelLayout::Columns(columns) => columns.iter().map(String::as_str).collect(),
            LabelLayout::List { column, .. } => vec![column.as_str()],
        };
        let no_features = "no feature column beside the label columns";
        read_rows(path, &label_columns, no_features, |fields, line| {
            let mut positives = Vec::new();
            for (k, &(i, field)) in fields.iter().enumerate() {
                match &self.layout {
                    LabelLayout::Columns(columns) => match field.trim() {
                        "1" => positives.push(columns[k].clone()),
                        "0" => {}
                        other => {
                            return Err(DataError::format(
                                path,
                                format!("line {line}, column {}: ", i + 1),
                                format!(
                                    "label {:?} is {other:?}; a label column holds 0 or 1",
                                    columns[k]
                                ),
                            ));
                        }
                    },
                    LabelLayout::List { column, separator } => {
                        let list = field.trim();
                        if list.is_empty() {
                            continue;
                        }
                        for name in list.split(separator.as_str()) {
                            let name = name.trim();
                            if name.is_empty() {
                                return Err(DataError::format(
                                    path,
                                    format!("line {line}, column {}: ", i + 1),
                                    format!(
                                        "label list {list:?} (column {column:?}) has an empty \
                                         name; names are separated by {separator:?}, an empty \
                                         field means no label"
                                    ),
                                ));
                            }
                            positives.push(name.to_string());
                        }
                    }
                }
            }
            Ok(positives)
        })
    }
}
