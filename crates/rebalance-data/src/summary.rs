//! What a dataset holds, and its export to CSV.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::samples::Target;
use crate::{DataError, LongTailData, SplitSummary};

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

impl DatasetSummary {
    /// The summary of `splits` (named `train`, `test`, `validation`); the imbalance factor is
    /// that of the training counts.
    fn new(
        num_classes: usize,
        feature_shape: &[usize],
        class_names: &[String],
        splits: impl IntoIterator<Item = (&'static str, SplitSummary)>,
    ) -> Self {
        let splits: BTreeMap<String, SplitSummary> = splits
            .into_iter()
            .map(|(name, split)| (name.to_string(), split))
            .collect();
        let non_zero = splits
            .get("train")
            .into_iter()
            .flat_map(|s| s.counts.iter().copied())
            .filter(|&n| n > 0);
        let max = non_zero.clone().max().unwrap_or(1);
        let min = non_zero.min().unwrap_or(1);
        Self {
            num_classes,
            feature_shape: feature_shape.to_vec(),
            imbalance_factor: max as f64 / min as f64,
            class_names: class_names.to_vec(),
            splits,
        }
    }
}

/// The splits of a dataset with their names, in file order: train, test, then validation.
fn named_splits<'a, T>(
    train: &'a T,
    test: &'a T,
    validation: Option<&'a T>,
) -> Vec<(&'static str, &'a T)> {
    let mut splits = vec![("train", train), ("test", test)];
    splits.extend(validation.map(|v| ("validation", v)));
    splits
}

impl<T: Target> LongTailData<T> {
    /// The summary of the dataset: each split's per-class counts
    /// ([`class_counts`](crate::Rows::class_counts)). For multi-label data `num_classes` is the
    /// number of labels, `class_names` the label names, each split's `counts` its per-label
    /// positive counts (which sum to more than `total` when samples carry several labels), and
    /// `imbalance_factor` the largest over the smallest non-zero training count. Labels per
    /// sample: see [`labels_per_sample`](crate::MultiLabelSamples::labels_per_sample).
    ///
    /// ```
    /// use rebalance_data::MultiLabelSyntheticConfig;
    ///
    /// let data = MultiLabelSyntheticConfig { samples: 4000, num_labels: 5, ..Default::default() }
    ///     .generate()?;
    /// let summary = data.summary();
    /// assert_eq!(summary.num_classes, 5);
    /// assert_eq!(summary.splits["train"].total + summary.splits["test"].total, 4000);
    /// assert!(summary.imbalance_factor > 50.0);
    /// # Ok::<(), rebalance_data::DataError>(())
    /// ```
    pub fn summary(&self) -> DatasetSummary {
        let splits = named_splits(&self.train, &self.test, self.validation.as_ref());
        DatasetSummary::new(
            self.num_classes,
            &self.feature_shape,
            &self.class_names,
            splits.into_iter().map(|(name, s)| {
                let counts = s.class_counts(self.num_classes);
                (
                    name,
                    SplitSummary {
                        counts,
                        total: s.len(),
                    },
                )
            }),
        )
    }

    /// Writes each split to `dir/<split>.csv`, creating `dir`: header `f0,...,f{d-1}`, then
    /// the target's columns (single-label: `label`, the class index; multi-label: one 0/1
    /// column per label, named by the label, which [`MultiLabelCsv`](crate::MultiLabelCsv)
    /// with [`LabelLayout::Columns`](crate::LabelLayout::Columns) reads back). Each file is
    /// written to a temporary name and renamed, so an interrupted export leaves no half-written
    /// file. Returns the files written.
    ///
    /// # Errors
    /// The folder or a file cannot be written.
    pub fn export_csv(&self, dir: &Path) -> Result<Vec<PathBuf>, DataError> {
        std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
        named_splits(&self.train, &self.test, self.validation.as_ref())
            .into_iter()
            .map(|(name, samples)| {
                let path = dir.join(format!("{name}.csv"));
                write_atomically(&path, |out| {
                    let mut header: Vec<String> =
                        (0..samples.dim()).map(|j| format!("f{j}")).collect();
                    header.extend(T::csv_header(&self.class_names));
                    writeln!(out, "{}", header.join(","))?;
                    for (i, target) in samples.labels.iter().enumerate() {
                        for v in samples.row(i) {
                            write!(out, "{v},")?;
                        }
                        writeln!(out, "{}", target.csv_fields(self.num_classes).join(","))?;
                    }
                    Ok(())
                })?;
                Ok(path)
            })
            .collect()
    }
}

/// Writes `path` through `write` to a temporary name, then renames it.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), DataError> {
    let partial = path.with_extension("csv.partial");
    let io = |e| DataError::io(&partial, e);
    let file = std::fs::File::create(&partial).map_err(io)?;
    let mut out = std::io::BufWriter::new(file);
    write(&mut out).map_err(io)?;
    out.flush().map_err(io)?;
    drop(out);
    std::fs::rename(&partial, path).map_err(|e| DataError::io(path, e))
}
