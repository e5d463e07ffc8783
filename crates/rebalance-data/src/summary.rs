//! What a dataset holds, and its export to CSV.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{DataError, LongTailData, Samples, SplitSummary};

/// Per-class counts of each split, the imbalance factor and the feature shape: the JSON of
/// `rebalance data --format json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetSummary {
    /// The number of classes.
    pub num_classes: usize,
    /// The shape of one sample's features.
    pub feature_shape: Vec<usize>,
    /// `max / min` over the training counts of non-empty classes.
    pub imbalance_factor: f64,
    /// The class names, in class order.
    pub class_names: Vec<String>,
    /// `train`, `test` and, if present, `validation`.
    pub splits: BTreeMap<String, SplitSummary>,
}

impl LongTailData {
    /// The summary of the dataset.
    pub fn summary(&self) -> DatasetSummary {
        let split = |s: &Samples| SplitSummary {
            counts: s.class_counts(self.num_classes),
            total: s.len(),
        };
        let mut splits = BTreeMap::new();
        splits.insert("train".to_string(), split(&self.train));
        splits.insert("test".to_string(), split(&self.test));
        if let Some(validation) = &self.validation {
            splits.insert("validation".to_string(), split(validation));
        }
        let train = self.train.class_counts(self.num_classes);
        let non_zero = train.iter().copied().filter(|&n| n > 0);
        let max = non_zero.clone().max().unwrap_or(1);
        let min = non_zero.min().unwrap_or(1);
        DatasetSummary {
            num_classes: self.num_classes,
            feature_shape: self.feature_shape.clone(),
            imbalance_factor: max as f64 / min as f64,
            class_names: self.class_names.clone(),
            splits,
        }
    }

    /// Writes each split to `dir/<split>.csv` (header `f0,...,f{d-1},label`, labels as class
    /// indices), creating `dir`. Each file is written to a temporary name and renamed, so an
    /// interrupted export leaves no half-written file. Returns the files written.
    ///
    /// # Errors
    /// The folder or a file cannot be written.
    pub fn export_csv(&self, dir: &Path) -> Result<Vec<PathBuf>, DataError> {
        std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
        let mut splits = vec![("train", &self.train), ("test", &self.test)];
        if let Some(validation) = &self.validation {
            splits.push(("validation", validation));
        }
        splits
            .into_iter()
            .map(|(name, samples)| {
                let path = dir.join(format!("{name}.csv"));
                write_csv(samples, &path)?;
                Ok(path)
            })
            .collect()
    }
}

fn write_csv(samples: &Samples, path: &Path) -> Result<(), DataError> {
    let partial = path.with_extension("csv.partial");
    let io = |e| DataError::io(&partial, e);
    let file = std::fs::File::create(&partial).map_err(io)?;
    let mut out = std::io::BufWriter::new(file);
    let header: Vec<String> = (0..samples.dim()).map(|j| format!("f{j}")).collect();
    writeln!(out, "{},label", header.join(",")).map_err(io)?;
    for i in 0..samples.len() {
        for v in samples.row(i) {
            write!(out, "{v},").map_err(io)?;
        }
        writeln!(out, "{}", samples.labels()[i]).map_err(io)?;
    }
    out.flush().map_err(io)?;
    drop(out);
    std::fs::rename(&partial, path).map_err(|e| DataError::io(path, e))
}
