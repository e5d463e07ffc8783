//! A run's per-sample predictions, written as `predictions.csv`: each test sample's class and
//! the softmax probability of every class (`Predictions`), or its 0/1 labels and the sigmoid
//! probability of every label (`MultiLabelPredictions`), for analyses the report
//! does not make (other metrics, curves, thresholds, comparing runs sample by sample).

use std::borrow::Cow;

/// Either task's predictions as `predictions.csv` writes them.
pub trait PredictionsCsv {
    /// The file's text, the classes or labels named by `names` (by index where a name is
    /// missing).
    fn csv(&self, names: &[String]) -> String;
}

/// Per-sample targets and class probabilities, in the order of the split.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Predictions {
    num_classes: usize,
    targets: Vec<i64>,
    /// Row-major `[samples, num_classes]`.
    probabilities: Vec<f32>,
}

impl Predictions {
    /// No predictions yet, over `num_classes` classes.
    pub fn new(num_classes: usize) -> Self {
        Self {
            num_classes,
            ..Self::default()
        }
    }

    /// Appends a batch: its targets and their probabilities, row-major `[targets.len(),
    /// num_classes]`.
    pub(crate) fn extend(&mut self, targets: &[i64], probabilities: &[f32]) {
        debug_assert_eq!(probabilities.len(), targets.len() * self.num_classes);
        self.targets.extend_from_slice(targets);
        self.probabilities.extend_from_slice(probabilities);
    }

    /// Samples recorded.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether no sample is recorded.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// Each sample's class.
    pub fn targets(&self) -> &[i64] {
        &self.targets
    }

    /// The probabilities of sample `i`, one per class.
    ///
    /// # Panics
    /// `i >= self.len()`.
    pub fn probabilities(&self, i: usize) -> &[f32] {
        &self.probabilities[i * self.num_classes..(i + 1) * self.num_classes]
    }

    /// Every sample's probabilities, row-major `[n, classes]`.
    pub fn all_probabilities(&self) -> &[f32] {
        &self.probabilities
    }
}

/// A multi-label split's per-sample 0/1 targets and sigmoid probabilities, row-major
/// `[n, labels]`, in the split's order: `predictions.csv` of a multi-label run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MultiLabelPredictions {
    num_labels: usize,
    targets: Vec<f32>,
    scores: Vec<f32>,
}

impl MultiLabelPredictions {
    /// No samples yet, over `num_labels` labels.
    pub fn new(num_labels: usize) -> Self {
        Self {
            num_labels,
            ..Self::default()
        }
    }

    /// Appends samples: `targets` and `scores` row-major `[n, labels]` each.
    pub fn extend(&mut self, targets: &[f32], scores: &[f32]) {
        self.targets.extend_from_slice(targets);
        self.scores.extend_from_slice(scores);
    }

    /// The number of labels.
    pub fn num_labels(&self) -> usize {
        self.num_labels
    }

    /// The 0/1 targets, row-major.
    pub fn targets(&self) -> &[f32] {
        &self.targets
    }

    /// The sigmoid probabilities, row-major.
    pub fn scores(&self) -> &[f32] {
        &self.scores
    }
}

/// `field` as a CSV field (RFC 4180): quoted, with its quotes doubled, where it holds a comma, a
/// quote or a line break; as it is otherwise.
pub fn csv_field(field: &str) -> Cow<'_, str> {
    if field.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(field)
    }
}

impl PredictionsCsv for Predictions {
    /// `predictions.csv`: a header `target,score_<class name>,...` (a class without a name in
    /// `class_names` is named by its index; fields CSV-quoted where needed), then one row per
    /// sample: its class index and its probability of each class.
    fn csv(&self, class_names: &[String]) -> String {
        let mut csv = String::from("target");
        for c in 0..self.num_classes {
            let name = class_names.get(c).map_or(c.to_string(), Clone::clone);
            csv.push(',');
            csv.push_str(&csv_field(&format!("score_{name}")));
        }
        csv.push('\n');
        for (i, target) in self.targets.iter().enumerate() {
            csv.push_str(&target.to_string());
            for p in self.probabilities(i) {
                csv.push(',');
                csv.push_str(&p.to_string());
            }
            csv.push('\n');
        }
        csv
    }
}

impl PredictionsCsv for MultiLabelPredictions {
    /// `predictions.csv`: a header `target_<label>,...,score_<label>,...` in label-index order
    /// (a label without a name in `label_names` is named by its index; fields CSV-quoted where
    /// needed), then one row per sample: its 0/1 targets, then its probabilities.
    fn csv(&self, label_names: &[String]) -> String {
        let names: Vec<String> = (0..self.num_labels)
            .map(|l| label_names.get(l).map_or(l.to_string(), Clone::clone))
            .collect();
        let header: Vec<String> = ["target", "score"]
            .iter()
            .flat_map(|prefix| {
                names
                    .iter()
                    .map(move |name| csv_field(&format!("{prefix}_{name}")).into_owned())
            })
            .collect();
        let mut csv = header.join(",");
        csv.push('\n');
        let rows = self
            .targets
            .chunks(self.num_labels.max(1))
            .zip(self.scores.chunks(self.num_labels.max(1)));
        for (targets, scores) in rows {
            let fields: Vec<String> = targets
                .iter()
                .map(|t| (*t as u8).to_string())
                .chain(scores.iter().map(f32::to_string))
                .collect();
            csv.push_str(&fields.join(","));
            csv.push('\n');
        }
        csv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_header_of_escaped_class_names_and_a_row_per_sample() {
        let mut p = Predictions::new(3);
        p.extend(&[2], &[0.25, 0.25, 0.5]);
        p.extend(&[0, 1], &[1.0, 0.0, 0.0, 0.125, 0.75, 0.125]);
        assert_eq!(p.len(), 3);
        assert_eq!(p.probabilities(2), [0.125, 0.75, 0.125]);
        let names = ["cat".to_string(), "a, \"b\"".to_string()];
        assert_eq!(
            p.csv(&names),
            "target,score_cat,\"score_a, \"\"b\"\"\",score_2\n\
             2,0.25,0.25,0.5\n\
             0,1,0,0\n\
             1,0.125,0.75,0.125\n"
        );
    }

    #[test]
    fn multi_label_rows_hold_the_targets_then_the_scores_in_label_order() {
        let mut p = MultiLabelPredictions::new(2);
        p.extend(&[1.0, 0.0, 0.0, 0.0], &[0.75, 0.125, 0.5, 0.25]);
        let names = ["toxic".to_string(), "a,b".to_string()];
        assert_eq!(
            p.csv(&names),
            "target_toxic,\"target_a,b\",score_toxic,\"score_a,b\"\n\
             1,0,0.75,0.125\n\
             0,0,0.5,0.25\n"
        );
    }

    #[test]
    fn quotes_only_the_fields_that_need_it() {
        for (field, want) in [
            ("plain", "plain"),
            ("two\nlines", "\"two\nlines\""),
            ("cr\r", "\"cr\r\""),
            ("\"", "\"\"\"\""),
        ] {
            assert_eq!(csv_field(field), want);
        }
    }
}
