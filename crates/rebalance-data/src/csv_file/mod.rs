//! Tabular data from CSV files.

mod multi_label;
pub use multi_label::{LabelLayout, MultiLabelCsv};

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

/// Opens a CSV file with a header row and returns the reader with the trimmed column names,
/// refusing a name that appears twice.
pub(crate) fn open_csv(
    path: &Path,
) -> Result<(csv::Reader<std::fs::File>, Vec<String>), DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| csv_error(path, e))?;
    let headers = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    if headers.is_empty() {
        return Err(DataError::format(
            path,
            "",
            "the file is empty; a CSV file starts with a header row of column names",
        ));
    }
    // Names are quoted with `{:?}`: a file that is not text shows escapes, not raw bytes.
    let names: Vec<String> = headers.iter().map(|h| h.trim().to_string()).collect();
    for (i, name) in names.iter().enumerate() {
        if let Some(first) = names[..i].iter().position(|other| other == name) {
            return Err(DataError::format(
                path,
                format!("line 1, column {}: ", i + 1),
                format!(
                    "column {name:?} appears twice (also column {}); column names must differ",
                    first + 1
                ),
            ));
        }
    }
    Ok((reader, names))
}

/// The column names, escaped and joined, for "the columns are ..." messages.
pub(crate) fn column_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| n.escape_debug().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_raw(path: &Path, label_column: &str) -> Result<RawTable, DataError> {
    let (mut reader, names) = open_csv(path)?;
    let label_index = names
        .iter()
        .position(|h| h == label_column)
        .ok_or_else(|| {
            DataError::format(
                path,
                "line 1: ",
                format!(
                    "no label column {label_column:?}; the columns are {}",
                    column_list(&names)
                ),
            )
        })?;
    let feature_names: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != label_index)
        .map(|(_, h)| h.to_string())
        .collect();
    if feature_names.is_empty() {
        return Err(DataError::format(
            path,
            "line 1: ",
            format!("no feature column beside the label column {label_column:?}"),
        ));
    }
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
                if field.trim().is_empty() {
                    return Err(DataError::format(
                        path,
                        format!("line {line}, column {}: ", i + 1),
                        format!("the label ({label_column:?}) is empty"),
                    ));
                }
                table.labels.push(field.trim().to_string());
            } else {
                table
                    .features
                    .push(parse_feature(path, line, i, &names[i], field)?);
            }
        }
        table.lines.push(line);
    }
    if table.labels.is_empty() {
        return Err(no_rows(path));
    }
    Ok(table)
}

/// A feature value: a finite number within `f32`'s range. `NaN`, `inf` and `1e39` (which
/// `f32` rounds to infinity) would train on garbage, so they are errors naming the place.
pub(crate) fn parse_feature(
    path: &Path,
    line: u64,
    index: usize,
    name: &str,
    field: &str,
) -> Result<f32, DataError> {
    let value: f32 = field.trim().parse().map_err(|_| {
        DataError::format(
            path,
            format!("line {line}: "),
            format!("feature {name:?} is {field:?}, not a number"),
        )
    })?;
    if !value.is_finite() {
        return Err(DataError::format(
            path,
            format!("line {line}, column {}: ", index + 1),
            format!(
                "feature {name:?} is {field:?}, not a finite number within f32's range (±{:e})",
                f32::MAX
            ),
        ));
    }
    Ok(value)
}

pub(crate) fn csv_error(path: &Path, err: csv::Error) -> DataError {
    let location = err
        .position()
        .map_or(String::new(), |p| format!("line {}: ", p.line()));
    let message = match err.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("a row of {len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { err: utf8, .. } => format!(
            "field {} is not UTF-8 text (its bytes from {} on are not); save the file as UTF-8",
            utf8.field() + 1,
            utf8.valid_up_to()
        ),
        _ => err.to_string(),
    };
    match err.into_kind() {
        csv::ErrorKind::Io(source) => DataError::io(path, source),
        _ => DataError::format(path, location, message),
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
    let all: Vec<(&Path, u64, &String)> = [(&train_raw, train), (&test_raw, test)]
        .into_iter()
        .flat_map(|(raw, path)| {
            raw.labels
                .iter()
                .zip(&raw.lines)
                .map(move |(label, &line)| (path, line, label))
        })
        .collect();
    let integer = all.iter().all(|(_, _, l)| l.parse::<usize>().is_ok());
    // Integer labels with a stray `0.0` or `1.5` among them: not names, a typo to point at.
    if !integer && !all.iter().all(|(_, _, l)| l.parse::<i64>().is_ok()) {
        let first_integer = all.iter().find(|(_, _, l)| l.parse::<usize>().is_ok());
        let odd_number = all
            .iter()
            .find(|(_, _, l)| l.parse::<i64>().is_err() && l.parse::<f64>().is_ok());
        if let (Some((ipath, iline, ilabel)), Some((path, line, label))) =
            (first_integer, odd_number)
        {
            return Err(DataError::format(
                path,
                format!("line {line}: "),
                format!(
                    "label {label:?} is not a non-negative integer, as other labels are \
                     ({ilabel:?} at {}, line {iline}); class labels are all integers \
                     0, 1, ... or all names",
                    ipath.display()
                ),
            ));
        }
    }
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

/// The error of a CSV file with a header and no rows (every split needs a sample).
pub(crate) fn no_rows(path: &Path) -> DataError {
    DataError::format(path, "", "no samples: the file has a header and no rows")
}
