//! A single-label evaluation's per-sample predictions, written as `predictions.csv`: each test
//! sample's class and the probabilities the model gives every class, for analyses the report
//! does not make (other metrics, curves, thresholds, comparing runs sample by sample).

use std::borrow::Cow;

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

    /// `predictions.csv`: a header `target,score_<class name>,...` (a class without a name in
    /// `class_names` is named by its index; fields CSV-quoted where needed), then one row per
    /// sample: its class index and its probability of each class.
    pub fn csv(&self, class_names: &[String]) -> String {
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

/// `field` as a CSV field (RFC 4180): quoted, with its quotes doubled, where it holds a comma, a
/// quote or a line break; as it is otherwise.
pub fn csv_field(field: &str) -> Cow<'_, str> {
    if field.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(field)
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
    fn quotes_only_the_fields_that_need_it() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("cr\r"), "\"cr\r\"");
        assert_eq!(csv_field("\""), "\"\"\"\"");
    }
}
