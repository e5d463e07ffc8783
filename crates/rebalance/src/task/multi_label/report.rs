//! A multi-label run's report (`report.json`, `report.md` and the terminal summary), with
//! scikit-learn's metric names; the multi-label counterpart of
//! `task/single_label/report.rs`.

use crate::reporting::markdown_cell;
use rebalance_data::Task;
use serde::{Deserialize, Serialize};

use crate::run::config::ThresholdRule;
use crate::task::multi_label::evaluation::{MultiLabelError, MultiLabelScores, Thresholds};
use crate::task::run_facts::{Cost, RunFacts, Training};

/// `report.json` of a multi-label run: test metrics (fractions in `[0, 1]`) at the run's
/// thresholds, per-label vectors in label-index order, and how they were obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiLabelReport {
    /// Always `"multi-label"`.
    pub task: Task,
    /// How the run trained: `backend`, `device`, `epochs`, `loss`, `scheme`.
    #[serde(flatten)]
    pub training: Training,
    /// The label names, in index order.
    pub label_names: Vec<String>,
    /// Training samples positive for each label.
    pub train_counts: Vec<usize>,
    /// Training samples.
    pub train_samples: usize,
    /// The label weights in force at the end of training (all 1 for an unweighted loss).
    pub class_weights: Vec<f64>,
    /// How the thresholds were chosen (`fixed` or `tuned`).
    pub threshold_rule: ThresholdRule,
    /// Each label's decision threshold on its sigmoid probability.
    pub thresholds: Vec<f32>,
    /// `f1_score(average="micro")`.
    pub micro_f1: f64,
    /// `f1_score(average="macro", zero_division=0)`.
    pub macro_f1: f64,
    /// Mean of the per-label average precision over the labels with a test positive (mAP,
    /// threshold-free).
    pub mean_average_precision: f64,
    /// Samples whose whole label set is predicted exactly (`accuracy_score`).
    pub subset_accuracy: f64,
    /// Wrong (sample, label) pairs over all pairs (`hamming_loss`).
    pub hamming_loss: f64,
    /// Per-label precision.
    pub per_label_precision: Vec<f64>,
    /// Per-label recall.
    pub per_label_recall: Vec<f64>,
    /// Per-label F1.
    pub per_label_f1: Vec<f64>,
    /// Per-label average precision (`average_precision_score(average=None)`); `null` for a
    /// label without a test positive.
    pub per_label_average_precision: Vec<Option<f64>>,
    /// Test samples positive for each label.
    pub per_label_support: Vec<u64>,
    /// What the training cost: `wall_seconds`, `train_samples_per_second`, `dataset_bytes`,
    /// `peak_memory_bytes`.
    #[serde(flatten)]
    pub cost: Cost,
}

impl MultiLabelReport {
    /// The report of `scores` at `thresholds` (chosen by `rule`).
    ///
    /// # Errors
    /// Thresholds not one per label, or NaN.
    pub fn new(
        facts: RunFacts,
        scores: &MultiLabelScores,
        rule: ThresholdRule,
        thresholds: Vec<f32>,
    ) -> Result<Self, MultiLabelError> {
        let at = scores.at(&Thresholds::PerLabel(thresholds.clone()))?;
        let per_label = at.precision_recall_fscore_support();
        let cost = facts.cost();
        Ok(Self {
            task: Task::MultiLabel,
            training: facts.training,
            label_names: facts.class_names,
            train_counts: facts.train_counts,
            train_samples: facts.train_samples,
            class_weights: facts.class_weights,
            threshold_rule: rule,
            thresholds,
            micro_f1: at.micro_f1(),
            macro_f1: at.macro_f1(),
            mean_average_precision: scores.mean_average_precision().unwrap_or(0.0),
            subset_accuracy: at.subset_accuracy(),
            hamming_loss: at.hamming_loss(),
            per_label_precision: per_label.precision,
            per_label_recall: per_label.recall,
            per_label_f1: per_label.f1,
            per_label_average_precision: scores.average_precision(),
            per_label_support: per_label.support,
            cost,
        })
    }

    /// The labels from the most to the fewest training positives (head → tail).
    fn head_to_tail(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.label_names.len()).collect();
        order.sort_by_key(|&l| std::cmp::Reverse(self.train_counts.get(l).copied().unwrap_or(0)));
        order
    }

    /// The label weights of each label (1 where there are none).
    fn weight(&self, label: usize) -> f64 {
        self.class_weights.get(label).copied().unwrap_or(1.0)
    }

    /// `report.md`: the headline metrics, then one row per label from head to tail.
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "# rebalance report (multi-label)\n\n{}, thresholds `{}`\n\n| metric | value |\n|---|---|\n| micro-F1 | {:.4} |\n\
             | macro-F1 | {:.4} |\n| mAP | {:.4} |\n| subset accuracy | {:.4} |\n\
             | Hamming loss | {:.4} |\n\n\
             | label | train positives | weight | threshold | precision | recall | f1-score | \
             AP | support |\n|---|---|---|---|---|---|---|---|---|\n",
            self.training,
            self.threshold_rule,
            self.micro_f1,
            self.macro_f1,
            self.mean_average_precision,
            self.subset_accuracy,
            self.hamming_loss,
        );
        for l in self.head_to_tail() {
            let ap = self.per_label_average_precision[l]
                .map_or("–".to_string(), |v| format!("{v:.4}"));
            md += &format!(
                "| {} | {} | {:.4} | {:.3} | {:.4} | {:.4} | {:.4} | {ap} | {} |\n",
                markdown_cell(&self.label_names[l]),
                self.train_counts[l],
                self.weight(l),
                self.thresholds[l],
                self.per_label_precision[l],
                self.per_label_recall[l],
                self.per_label_f1[l],
                self.per_label_support[l],
            );
        }
        md += &self.cost.markdown();
        md
    }

    /// The terminal summary.
    pub fn summary(&self) -> String {
        let recall: Vec<String> = self
            .head_to_tail()
            .iter()
            .map(|&l| format!("{:.2}", self.per_label_recall[l]))
            .collect();
        format!(
            "micro-F1 {:.4}  macro-F1 {:.4}  mAP {:.4}  subset accuracy {:.4}  Hamming loss {:.4}\n\
             per-label recall (head → tail): {}",
            self.micro_f1,
            self.macro_f1,
            self.mean_average_precision,
            self.subset_accuracy,
            self.hamming_loss,
            recall.join(" ")
        )
    }
}

crate::run::task::task_report!(MultiLabelReport, "macro-F1", |r| r.macro_f1);

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> RunFacts {
        RunFacts::for_test(
            "sigmoid",
            &["rare", "common"],
            vec![3, 30],
            40,
            vec![1.5, 0.5],
        )
    }

    /// The fields against scikit-learn on a hand-made case:
    /// ```python
    /// from sklearn import metrics
    /// y = [[1, 0], [0, 1], [1, 1], [0, 0]]
    /// s = [[0.9, 0.2], [0.6, 0.7], [0.4, 0.8], [0.1, 0.3]]
    /// p = [[int(v >= 0.5) for v in r] for r in s]
    /// metrics.f1_score(y, p, average="micro")            # 0.75
    /// metrics.f1_score(y, p, average="macro")            # 0.75
    /// metrics.accuracy_score(y, p)                       # 0.5
    /// metrics.hamming_loss(y, p)                         # 0.25
    /// metrics.average_precision_score(y, s, average=None) # [0.8333333, 1.0]
    /// ```
    #[test]
    fn matches_scikit_learn() {
        let scores = [0.9, 0.2, 0.6, 0.7, 0.4, 0.8, 0.1, 0.3];
        let targets = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0];
        let m = MultiLabelScores::new(&scores, &targets, 2).unwrap();
        let r = MultiLabelReport::new(facts(), &m, ThresholdRule::Fixed, vec![0.5; 2]).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        assert!(close(r.micro_f1, 0.75), "{}", r.micro_f1);
        assert!(close(r.macro_f1, 0.75), "{}", r.macro_f1);
        assert!(close(r.subset_accuracy, 0.5));
        assert!(close(r.hamming_loss, 0.25));
        let ap: Vec<f64> = r
            .per_label_average_precision
            .iter()
            .flatten()
            .copied()
            .collect();
        assert!(close(ap[0], 0.833_333_3) && close(ap[1], 1.0), "{ap:?}");
        assert!(close(r.mean_average_precision, (0.833_333_3 + 1.0) / 2.0));
        assert_eq!(r.per_label_support, [2, 2]);
        assert!(close(r.cost.train_samples_per_second, 40.0));

        // report.json's keys, and head → tail in the table: "common" (30) before "rare" (3).
        let json = serde_json::to_value(&r).unwrap();
        for key in [
            "task",
            "label_names",
            "micro_f1",
            "macro_f1",
            "mean_average_precision",
            "subset_accuracy",
            "hamming_loss",
            "per_label_precision",
            "per_label_recall",
            "per_label_f1",
            "per_label_average_precision",
            "per_label_support",
            "thresholds",
        ] {
            assert!(json.get(key).is_some(), "{key} missing from {json}");
        }
        assert_eq!(json["task"], "multi-label");
        let md = r.markdown();
        assert!(
            md.find("| common |").unwrap() < md.find("| rare |").unwrap(),
            "{md}"
        );
        assert!(
            r.summary()
                .contains("per-label recall (head → tail): 1.00 0.50"),
            "{}",
            r.summary()
        );
    }
}
