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

/// One file's rows, before their labels are indexed: the features, and each row's label as
/// the reader made it of its label fields.
pub(crate) struct RawRows<L> {
    /// The feature columns' names, in order.
    pub feature_names: Vec<String>,
    /// The features, row after row.
    pub features: Vec<f32>,
    /// Each row's label.
    pub labels: Vec<L>,
    /// The line of each row, for messages.
    pub lines: Vec<u64>,
}

impl<L> RawRows<L> {
    /// Each row's label with its line.
    pub(crate) fn labelled(&self) -> impl Iterator<Item = (&L, u64)> {
        self.labels.iter().zip(self.lines.iter().copied())
    }
}

/// Reads the CSV file `path` of either task: its header; the columns `label_columns`, which
/// it must have (the message lists its columns); every other column a feature (at least one,
/// else the error `no_features`), each a finite number; and each row's label, which `label`
/// makes of the row's label fields (`(column index, field)`, in `label_columns`' order) and
/// its line.
///
/// # Errors
/// As above, and a ragged row, a file without rows, or `label`'s error; each names the file.
pub(crate) fn read_rows<L>(
    path: &Path,
    label_columns: &[&str],
    no_features: &str,
    mut label: impl FnMut(&[(usize, &str)], u64) -> Result<L, DataError>,
) -> Result<RawRows<L>, DataError> {
    let (mut reader, names) = open_csv(path)?;
    let label_index = label_columns
        .iter()
        .map(|&column| {
            names.iter().position(|n| n == column).ok_or_else(|| {
                DataError::format(
                    path,
                    "line 1: ",
                    format!(
                        "no label column {column:?}; the columns are {}",
                        column_list(&names)
                    ),
                )
            })
        })
        .collect::<Result<Vec<usize>, _>>()?;
    let feature_names: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| !label_index.contains(i))
        .map(|(_, n)| n.clone())
        .collect();
    if feature_names.is_empty() {
        return Err(DataError::format(path, "line 1: ", no_features));
    }
    let mut rows = RawRows {
        feature_names,
        features: Vec::new(),
        labels: Vec::new(),
        lines: Vec::new(),
    };
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(path, e))?;
        let line = record.position().map_or(0, |p| p.line());
        let mut fields = vec![(0, ""); label_index.len()];
        for (i, field) in record.iter().enumerate() {
            match label_index.iter().position(|&li| li == i) {
                Some(k) => fields[k] = (i, field),
                None => rows
                    .features
                    .push(parse_feature(path, line, i, &names[i], field)?),
            }
        }
        rows.labels.push(label(&fields, line)?);
        rows.lines.push(line);
    }
    if rows.labels.is_empty() {
        return Err(no_rows(path));
    }
    Ok(rows)
}

/// Refuses a test file (`test` at `path`) whose feature columns differ from the training
/// file's.
pub(crate) fn check_same_features<L>(
    train: &RawRows<L>,
    test: &RawRows<L>,
    path: &Path,
) -> Result<(), DataError> {
    if train.feature_names == test.feature_names {
        return Ok(());
    }
    Err(DataError::format(
        path,
        "line 1: ",
        format!(
            "feature columns {:?} differ from the training file's {:?}",
            test.feature_names, train.feature_names
        ),
    ))
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

/// A single-label file's rows, each label its trimmed text (not empty).
fn read_raw(path: &Path, label_column: &str) -> Result<RawRows<String>, DataError> {
    read_rows(
        path,
        &[label_column],
        &format!("no feature column beside the label column {label_column:?}"),
        |fields, line| {
            let (i, field) = fields[0];
            if field.trim().is_empty() {
                return Err(DataError::format(
                    path,
                    format!("line {line}, column {}: ", i + 1),
                    format!("the label ({label_column:?}) is empty"),
                ));
            }
            Ok(field.trim().to_string())
        },
    )
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
    check_same_features(&train_raw, &test_raw, test)?;
    let all: Vec<(&Path, u64, &String)> = [(&train_raw, train), (&test_raw, test)]
        .into_iter()
        .flat_map(|(raw, path)| raw.labelled().map(move |(label, line)| (path, line, label)))
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
    let to_table = |raw: RawRows<String>, path: &Path| -> Result<CsvTable, DataError> {
        let labels = raw
            .labelled()
            .map(|(label, line)| match &map {
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
