//! Tabular data from CSV files.

use std::collections::BTreeSet;
use std::path::Path;

use crate::{DataError, Samples};

/// A CSV split read from disk, before the long-tail profile.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvTable {
    /// The samples, labels as class indices.
    pub samples: Samples,
    /// The feature column names, in order.
    pub feature_names: Vec<String>,
}

/// How the label column's values map to class indices.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelMap {
    /// Non-negative integers, used as they are.
    Integer,
    /// Strings, indexed in sorted order: `names[i]` is class `i`.
    Names(Vec<String>),
}

impl LabelMap {
    /// The class names: the sorted strings, or `0..num_classes` as text.
    pub fn class_names(&self, num_classes: usize) -> Vec<String> {
        match self {
            LabelMap::Integer => (0..num_classes).map(|c| c.to_string()).collect(),
            LabelMap::Names(names) => names.clone(),
        }
    }
}

struct RawTable {
    feature_names: Vec<String>,
    features: Vec<f32>,
    labels: Vec<String>,
    /// The line of each record, for messages.
    lines: Vec<u64>,
}

fn read_raw(path: &Path, label_column: &str) -> Result<RawTable, DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| csv_error(path, e))?;
    let headers = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    let label_index = headers
        .iter()
        .position(|h| h.trim() == label_column)
        .ok_or_else(|| {
            DataError::format(
                path,
                "line 1: ",
                format!(
                    "no label column {label_column:?}; the columns are {}",
                    headers.iter().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
    let feature_names: Vec<String> = headers
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != label_index)
        .map(|(_, h)| h.trim().to_string())
        .collect();
    let mut table = RawTable {
        feature_names,
        features: Vec::new(),
        labels: Vec::new(),
        lines: Vec::new(),
    };
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, e))?;
        let line = record.position().map_or(0, |p| p.line());
        for (i, field) in record.iter().enumerate() {
            if i == label_index {
                table.labels.push(field.trim().to_string());
            } else {
                let value: f32 = field.trim().parse().map_err(|_| {
                    DataError::format(
                        path,
                        format!("line {line}: "),
                        format!("feature {:?} is {field:?}, not a number", headers[i].trim()),
                    )
                })?;
                table.features.push(value);
            }
        }
        table.lines.push(line);
    }
    Ok(table)
}

fn csv_error(path: &Path, err: csv::Error) -> DataError {
    let location = err
        .position()
        .map_or(String::new(), |p| format!("line {}: ", p.line()));
    match err.into_kind() {
        csv::ErrorKind::Io(source) => DataError::io(path, source),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => DataError::format(
            path,
            location,
            format!("a row of {len} fields where the header has {expected_len}"),
        ),
        other => DataError::format(path, location, format!("{other:?}")),
    }
}

/// Reads a training and a test CSV file: a header row, numeric feature columns, and the
/// label column `label_column`. Labels that are all non-negative integers are class indices;
/// otherwise the distinct training labels, sorted, are classes `0, 1, ...` (the test file may
/// use only those).
///
/// # Errors
/// A missing or unreadable file, a missing label column, a ragged row, a non-numeric
/// feature, files with different feature columns, a test label unknown to the training file;
/// each names the file and line.
pub fn read_csv_pair(
    train: &Path,
    test: &Path,
    label_column: &str,
) -> Result<(CsvTable, CsvTable, LabelMap), DataError> {
    let train_raw = read_raw(train, label_column)?;
    let test_raw = read_raw(test, label_column)?;
    if train_raw.feature_names != test_raw.feature_names {
        return Err(DataError::format(
            test,
            "line 1: ",
            format!(
                "feature columns {:?} differ from the training file's {:?}",
                test_raw.feature_names, train_raw.feature_names
            ),
        ));
    }
    let integer = train_raw
        .labels
        .iter()
        .chain(&test_raw.labels)
        .all(|l| l.parse::<usize>().is_ok());
    let map = if integer {
        LabelMap::Integer
    } else {
        let names: BTreeSet<&String> = train_raw.labels.iter().collect();
        LabelMap::Names(names.into_iter().cloned().collect())
    };
    let to_table = |raw: RawTable, path: &Path| -> Result<CsvTable, DataError> {
        let labels = raw
            .labels
            .iter()
            .zip(&raw.lines)
            .map(|(label, &line)| match &map {
                LabelMap::Integer => label.parse::<usize>().map_err(|_| unreachable_label()),
                LabelMap::Names(names) => names.binary_search(label).map_err(|_| {
                    DataError::format(
                        path,
                        format!("line {line}: "),
                        format!("label {label:?} does not occur in the training file"),
                    )
                }),
            })
            .collect::<Result<Vec<usize>, _>>()?;
        let dim = raw.feature_names.len();
        Ok(CsvTable {
            samples: Samples::new(raw.features, labels, dim)?,
            feature_names: raw.feature_names,
        })
    };
    Ok((to_table(train_raw, train)?, to_table(test_raw, test)?, map))
}

fn unreachable_label() -> DataError {
    DataError::invalid("label", "not an integer", "an integer (checked above)")
}
