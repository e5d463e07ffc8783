//! A single-label run's report (`report.json`) and its renderings: `report.md`,
//! `confusion.csv` and the terminal summary.

use crate::reporting::markdown_cell;
use serde::{Deserialize, Serialize};

use crate::reporting::calibration::{CalibrationScores, ShotCalibration};
use crate::task::run_facts::{Cost, RunFacts, Training};
use crate::task::single_label::adjustment::TemperatureFit;
use crate::task::single_label::evaluation::{Confusion, Scores};

/// `report.json`: the run's test metrics (fractions in `[0, 1]`) and how they were obtained.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// How the run trained: `backend`, `device`, `epochs`, `loss`, `scheme`.
    #[serde(flatten)]
    pub training: Training,
    /// Training samples per class.
    pub train_counts: Vec<usize>,
    /// The class weights in force at the end of training (all 1 for an unweighted loss; with
    /// cRT, the second stage's).
    pub class_weights: Vec<f64>,
    /// The class names.
    pub class_names: Vec<String>,
    /// Post-hoc logit adjustment `τ` applied at evaluation, if any.
    pub posthoc_tau: Option<f64>,
    /// The test-label prior the logits were adjusted for (`eval --target-prior`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_prior: Option<String>,
    /// The temperature fitted on the validation split (`eval --calibrate temperature`), if any,
    /// with the validation NLL before and after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<TemperatureFit>,
    /// With `[train.stage2]` (cRT): the test scores of stage 1's model, before its classifier
    /// was retrained; the report's own scores are stage 2's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage1: Option<Scores>,
    /// The τ of the τ-normalised classifier (`eval --tau-norm`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tau_norm: Option<f64>,
    /// Test metrics.
    #[serde(flatten)]
    pub scores: Scores,
    /// Calibration of the test probabilities: `ece`, `mce`, `nll`, `brier`.
    #[serde(flatten)]
    pub calibration: CalibrationScores,
    /// Calibration of the many-, medium- and few-shot classes' test samples apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration_by_shot: Option<ShotCalibration>,
    /// `confusion[t][p]`: test samples of class `t` predicted as `p`.
    pub confusion: Vec<Vec<u64>>,
    /// What the training cost: `wall_seconds`, `train_samples_per_second`, `dataset_bytes`,
    /// `peak_memory_bytes`.
    #[serde(flatten)]
    pub cost: Cost,
}

impl Report {
    /// The report of a run of `facts` whose test evaluation gave `confusion`, post-hoc
    /// adjusted by `posthoc_tau`.
    pub fn new(facts: RunFacts, confusion: &Confusion, posthoc_tau: Option<f64>) -> Self {
        let cost = facts.cost();
        Self {
            training: facts.training,
            train_counts: facts.train_counts,
            class_weights: facts.class_weights,
            class_names: facts.class_names,
            posthoc_tau,
            target_prior: None,
            temperature: None,
            stage1: None,
            tau_norm: None,
            scores: confusion.scores(),
            calibration: CalibrationScores::default(),
            calibration_by_shot: None,
            confusion: confusion.rows().to_vec(),
            cost,
        }
    }

    /// `report.md`: the headline metrics, a per-class table in the shape of scikit-learn's
    /// `classification_report`, and the class weights used.
    pub fn markdown(&self) -> String {
        let s = &self.scores;
        let mut md = format!(
            "# rebalance report\n\n{}{}\n\n\
             | metric | value |\n|---|---|\n| accuracy | {:.4} |\n| balanced accuracy | {:.4} |\n\
             | macro-F1 | {:.4} |\n| G-mean | {:.4} |\n\
             | ECE (15 bins) | {:.4} |\n| MCE | {:.4} |\n| NLL | {:.4} |\n| Brier | {:.4} |\n\n\
             | class | train samples | weight | precision | recall | f1-score | support |\n\
             |---|---|---|---|---|---|---|\n",
            self.training,
            [
                self.posthoc_tau
                    .map(|t| format!(", post-hoc adjustment τ = {t}")),
                self.target_prior
                    .as_ref()
                    .map(|p| format!(", adjusted for the target prior {p}")),
                self.tau_norm
                    .map(|t| format!(", τ-normalised classifier, τ = {t}")),
                self.temperature.map(|f| format!(
                    ", temperature {:.3} (validation NLL {:.4} → {:.4})",
                    f.temperature, f.validation_nll_before, f.validation_nll_after
                )),
            ]
            .into_iter()
            .flatten()
            .collect::<String>(),
            s.accuracy,
            s.balanced_accuracy,
            s.macro_f1,
            s.g_mean,
            self.calibration.ece,
            self.calibration.mce,
            self.calibration.nll,
            self.calibration.brier,
        );
        for c in 0..self.train_counts.len() {
            md += &format!(
                "| {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {} |\n",
                markdown_cell(&self.class_names.get(c).map_or(c.to_string(), Clone::clone)),
                self.train_counts[c],
                self.class_weights.get(c).copied().unwrap_or(1.0),
                s.per_class_precision[c],
                s.per_class_recall[c],
                s.per_class_f1[c],
                s.support[c],
            );
        }
        if let Some(shots) = &self.calibration_by_shot {
            md += &format!(
                "\nECE by shot group ({}): many {:.4}, medium {:.4}, few {:.4}\n",
                shots.rule, shots.many.ece, shots.medium.ece, shots.few.ece
            );
        }
        if let Some(stage1) = &self.stage1 {
            md += &format!(
                "\nstage 1 (before the classifier was retrained): accuracy {:.4}, balanced \
                 accuracy {:.4}, macro-F1 {:.4}, G-mean {:.4}\n",
                stage1.accuracy, stage1.balanced_accuracy, stage1.macro_f1, stage1.g_mean
            );
        }
        md += &self.cost.markdown();
        md
    }

    /// `confusion.csv`: a header of predicted classes, one row per true class.
    pub fn confusion_csv(&self) -> String {
        let n = self.confusion.len();
        let mut csv = format!(
            "true\\predicted,{}\n",
            (0..n).map(|c| c.to_string()).collect::<Vec<_>>().join(",")
        );
        for (t, row) in self.confusion.iter().enumerate() {
            csv += &format!(
                "{t},{}\n",
                row.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
            );
        }
        csv
    }

    /// The terminal summary.
    pub fn summary(&self) -> String {
        let s = &self.scores;
        // From the most to the fewest training samples: class indices (text labels sort
        // alphabetically) need not be in that order.
        let mut order: Vec<usize> = (0..s.per_class_recall.len()).collect();
        order.sort_by_key(|&c| std::cmp::Reverse(self.train_counts.get(c).copied().unwrap_or(0)));
        let recall: Vec<String> = order
            .iter()
            .map(|&c| format!("{:.2}", s.per_class_recall[c]))
            .collect();
        format!(
            "accuracy {:.4}  balanced accuracy {:.4}  macro-F1 {:.4}  G-mean {:.4}\n\
             per-class recall (head → tail): {}",
            s.accuracy,
            s.balanced_accuracy,
            s.macro_f1,
            s.g_mean,
            recall.join(" ")
        )
    }
}

crate::run::task::task_report!(
    Report,
    "balanced accuracy",
    |r| r.scores.balanced_accuracy,
    confusion | r | r.confusion_csv()
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_lists_recall_from_head_to_tail_by_training_count() {
        // Class 0 ("ant") is the tail, class 1 ("bee") the head, as text labels sort.
        let mut confusion = Confusion::new(2);
        confusion.add(&[0, 0, 1, 1], &[0, 1, 1, 1]);
        let facts = RunFacts::for_test(
            "cross-entropy",
            &["ant", "bee"],
            vec![5, 50],
            55,
            vec![1.0, 1.0],
        );
        let report = Report::new(facts, &confusion, None);
        assert!(
            report
                .summary()
                .ends_with("per-class recall (head → tail): 1.00 0.50"),
            "{}",
            report.summary()
        );
    }
}
