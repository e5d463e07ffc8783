//! The metrics a comparison aggregates: the named columns ([`Metric`]), each run's values
//! ([`Metrics`]) and their mean and standard deviation over seeds.

use serde::{Deserialize, Serialize};
use strum::IntoEnumIterator;

use rebalance_data::Task;

use crate::compare::variants::{DefaultVariant, multi_label_defaults, single_label_defaults};
use crate::reporting::shots::ShotGroups;
use crate::run::config::RunConfig;
use crate::task::TaskReport;
use crate::task::multi_label::report::MultiLabelReport;
use crate::task::single_label::report::Report;

/// A scalar metric of [`Metrics`]: its field, its `comparison.json` key and its
/// `comparison.csv` column. A comparison has the metrics of its task
/// ([`Metric::of_task`]), in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumIter, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Metric {
    /// Accuracy.
    Accuracy,
    /// Balanced accuracy.
    BalancedAccuracy,
    /// Macro-averaged F1.
    MacroF1,
    /// Geometric mean of per-class recall.
    GMean,
    /// Accuracy on the many-shot classes.
    ManyShot,
    /// Accuracy on the medium-shot classes.
    MediumShot,
    /// Accuracy on the few-shot classes.
    FewShot,
    /// Expected calibration error of the test probabilities (lower is better).
    Ece,
    /// Training wall time.
    WallSeconds,
    /// Micro-averaged F1 (multi-label).
    MicroF1,
    /// Mean of the per-label average precision, mAP (multi-label).
    MeanAveragePrecision,
    /// Samples whose whole label set is predicted exactly (multi-label).
    SubsetAccuracy,
    /// Wrong (sample, label) pairs over all pairs (multi-label; lower is better).
    HammingLoss,
    /// Mean recall of the tail labels, the rarest third by training positives (multi-label).
    TailRecall,
}

/// The metrics of a single-label comparison, in the order of `comparison.csv`.
const SINGLE_LABEL: [Metric; 9] = [
    Metric::Accuracy,
    Metric::BalancedAccuracy,
    Metric::MacroF1,
    Metric::GMean,
    Metric::ManyShot,
    Metric::MediumShot,
    Metric::FewShot,
    Metric::Ece,
    Metric::WallSeconds,
];

/// The metrics of a multi-label comparison, in the order of `comparison.csv`.
const MULTI_LABEL: [Metric; 7] = [
    Metric::MacroF1,
    Metric::MicroF1,
    Metric::MeanAveragePrecision,
    Metric::SubsetAccuracy,
    Metric::HammingLoss,
    Metric::TailRecall,
    Metric::WallSeconds,
];

/// The score columns of a single-label `comparison.md`, in their order.
const SINGLE_LABEL_COLUMNS: [Metric; 8] = [
    Metric::BalancedAccuracy,
    Metric::Ece,
    Metric::MacroF1,
    Metric::GMean,
    Metric::Accuracy,
    Metric::ManyShot,
    Metric::MediumShot,
    Metric::FewShot,
];

/// What a comparison of one task shows and what it calls things: the one place `compare`
/// tells the tasks apart by value ([`Compared`] does by type).
#[derive(Debug)]
pub struct TaskView {
    /// The task, as the messages name it.
    pub name: &'static str,
    /// The metrics, in the order of `comparison.csv`.
    pub metrics: &'static [Metric],
    /// The score columns of `comparison.md` and `comparison.tex`, in their order.
    pub columns: &'static [Metric],
    /// The metric the variants are ranked by without `[compare] rank_by`.
    pub default_rank: Metric,
    /// The plain loss's variant, the baseline without `[compare] baseline`.
    pub baseline: &'static str,
    /// What one of the targets is called: `class` or `label`.
    pub unit: &'static str,
    /// The per-class recall's key in `comparison.json`, and its figures' name.
    pub recall: &'static str,
    /// Whether the comparison reports shot groups (single-label) or tail labels (multi-label).
    pub shot_groups: bool,
    /// The default set of variants on a base config, with notes on what it leaves out.
    pub defaults: fn(&RunConfig, &mut Vec<String>) -> Vec<DefaultVariant>,
}

/// Single-label: balanced accuracy first, shot groups, `ce` the baseline.
const SINGLE_LABEL_VIEW: TaskView = TaskView {
    name: "single-label",
    metrics: &SINGLE_LABEL,
    columns: &SINGLE_LABEL_COLUMNS,
    default_rank: Metric::BalancedAccuracy,
    baseline: "ce",
    unit: "class",
    recall: "per_class_recall",
    shot_groups: true,
    defaults: single_label_defaults,
};

/// Multi-label: macro-F1 first, tail labels, `bce` the baseline.
const MULTI_LABEL_VIEW: TaskView = TaskView {
    name: "multi-label",
    metrics: &MULTI_LABEL,
    // Every metric but the wall time, in the same order.
    columns: MULTI_LABEL.split_at(MULTI_LABEL.len() - 1).0,
    default_rank: Metric::MacroF1,
    baseline: "bce",
    unit: "label",
    recall: "per_label_recall",
    shot_groups: false,
    defaults: multi_label_defaults,
};

impl TaskView {
    /// The view of a comparison of `task`.
    pub fn of(task: Task) -> &'static TaskView {
        match task {
            Task::SingleLabel => &SINGLE_LABEL_VIEW,
            Task::MultiLabel => &MULTI_LABEL_VIEW,
        }
    }
}

impl Metric {
    /// The key in `comparison.json` and the column of `comparison.csv` (`balanced_accuracy`).
    pub fn key(self) -> &'static str {
        self.into()
    }

    /// The metrics of a comparison of `task`, in the order of `comparison.csv`: for
    /// single-label, accuracy, balanced accuracy, macro-F1, G-mean, the shot groups' accuracy;
    /// for multi-label, macro-F1, micro-F1, mAP, subset accuracy, Hamming loss, tail recall;
    /// the wall time last.
    pub fn of_task(task: Task) -> &'static [Metric] {
        TaskView::of(task).metrics
    }

    /// The metric a comparison of `task` ranks by without `[compare] rank_by`: balanced
    /// accuracy (single-label), macro-F1 (multi-label).
    pub fn default_rank(task: Task) -> Metric {
        TaskView::of(task).default_rank
    }

    /// The name in `[compare] rank_by`: the key in kebab case (`balanced-accuracy`,
    /// `macro-f1`), `map` for the mean average precision.
    pub fn name(self) -> String {
        match self {
            Metric::MeanAveragePrecision => "map".to_string(),
            other => other.key().replace('_', "-"),
        }
    }

    /// The score metric of `task` called `name` (see [`Metric::name`]).
    ///
    /// # Errors
    /// An unknown name: a one-line message listing the valid ones.
    pub fn parse_rank(name: &str, task: Task) -> Result<Metric, String> {
        let scores = Metric::of_task(task).iter().filter(|m| m.is_score());
        scores
            .clone()
            .find(|m| m.name() == name)
            .copied()
            .ok_or_else(|| {
                format!(
                    "compare.rank_by = \"{name}\": not a metric of a {} comparison; valid: {}",
                    TaskView::of(task).name,
                    scores.map(|m| m.name()).collect::<Vec<_>>().join(", ")
                )
            })
    }

    /// Whether the metric is a score of the test predictions (all but the wall time): the
    /// metrics whose paired difference to the baseline is reported.
    pub fn is_score(self) -> bool {
        self != Metric::WallSeconds
    }

    /// Whether a smaller value is better (the Hamming loss, the ECE and the wall time).
    pub fn lower_is_better(self) -> bool {
        matches!(
            self,
            Metric::HammingLoss | Metric::Ece | Metric::WallSeconds
        )
    }

    /// The heading in `comparison.md` and the plots.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::BalancedAccuracy => "balanced accuracy",
            Metric::MacroF1 => "macro-F1",
            Metric::GMean => "G-mean",
            Metric::ManyShot => "many-shot",
            Metric::MediumShot => "medium-shot",
            Metric::FewShot => "few-shot",
            Metric::Ece => "ECE",
            Metric::WallSeconds => "s / run",
            Metric::MicroF1 => "micro-F1",
            Metric::MeanAveragePrecision => "mAP",
            Metric::SubsetAccuracy => "subset accuracy",
            Metric::HammingLoss => "Hamming loss",
            Metric::TailRecall => "tail recall",
        }
    }
}

/// A run's test results, as `comparison.csv` lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// The variant.
    pub variant: String,
    /// Its `train.seed` (data seed = `data.seed` + the same offset).
    pub seed: u64,
    /// The metrics.
    #[serde(flatten)]
    pub metrics: Metrics,
}

/// The metrics a comparison aggregates; fractions in `[0, 1]`, wall time in seconds. Only the
/// metrics of its [`task`](Metrics::task) mean anything (the others are 0) and only those are
/// serialized ([`Metric::of_task`]), with the per-class recall (`per_class_recall`;
/// `per_label_recall` for multi-label) before the wall time.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct Metrics {
    /// The task of the runs: which metrics are set.
    #[serde(skip)]
    pub task: Task,
    /// Accuracy.
    pub accuracy: f64,
    /// Balanced accuracy (mean per-class recall).
    pub balanced_accuracy: f64,
    /// Macro-averaged F1.
    pub macro_f1: f64,
    /// Geometric mean of per-class recall.
    pub g_mean: f64,
    /// Accuracy on the test samples of many-shot classes.
    pub many_shot: f64,
    /// Accuracy on the test samples of medium-shot classes.
    pub medium_shot: f64,
    /// Accuracy on the test samples of few-shot classes.
    pub few_shot: f64,
    /// Expected calibration error (15 bins, top-label) of the test probabilities.
    pub ece: f64,
    /// Micro-averaged F1 (multi-label).
    pub micro_f1: f64,
    /// Mean average precision (multi-label).
    pub mean_average_precision: f64,
    /// Subset accuracy (multi-label).
    pub subset_accuracy: f64,
    /// Hamming loss (multi-label).
    pub hamming_loss: f64,
    /// Mean recall of the tail labels (multi-label).
    pub tail_recall: f64,
    /// Recall per class (per label for multi-label), in class order.
    #[serde(alias = "per_label_recall")]
    pub per_class_recall: Vec<f64>,
    /// Training wall time, seconds.
    pub wall_seconds: f64,
}

impl Serialize for Metrics {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for &metric in Metric::of_task(self.task) {
            if metric != Metric::WallSeconds {
                map.serialize_entry(metric.key(), &self.get(metric))?;
            }
        }
        let recall = TaskView::of(self.task).recall;
        map.serialize_entry(recall, &self.per_class_recall)?;
        map.serialize_entry(Metric::WallSeconds.key(), &self.wall_seconds)?;
        map.end()
    }
}

/// The labels of the tail: the rarest third (rounded up) by training positives, ascending
/// label index.
pub fn tail_labels(counts: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|&c| (counts[c], c));
    let mut tail = order[..counts.len().div_ceil(3)].to_vec();
    tail.sort_unstable();
    tail
}

/// A run's report as a comparison reads it: the [`Metrics`] of the run's task.
pub trait Compared: TaskReport {
    /// The run's metrics, the shot groups and tail labels those of the training counts.
    fn metrics(&self, groups: &ShotGroups, tail: &[usize]) -> Metrics;
}

impl Compared for Report {
    fn metrics(&self, groups: &ShotGroups, _tail: &[usize]) -> Metrics {
        let s = &self.scores;
        let mut metrics = Metrics {
            accuracy: s.accuracy,
            balanced_accuracy: s.balanced_accuracy,
            macro_f1: s.macro_f1,
            g_mean: s.g_mean,
            ece: self.calibration.ece,
            per_class_recall: s.per_class_recall.clone(),
            wall_seconds: self.cost.wall_seconds,
            ..Metrics::default()
        };
        for (metric, classes) in shot_metrics(groups) {
            *metric_mut(&mut metrics, metric) = groups.accuracy(&self.confusion, classes);
        }
        metrics
    }
}

impl Compared for MultiLabelReport {
    fn metrics(&self, _groups: &ShotGroups, tail: &[usize]) -> Metrics {
        Metrics {
            task: self.task,
            macro_f1: self.macro_f1,
            micro_f1: self.micro_f1,
            mean_average_precision: self.mean_average_precision,
            subset_accuracy: self.subset_accuracy,
            hamming_loss: self.hamming_loss,
            tail_recall: mean_and_std(
                tail.iter()
                    .map(|&l| self.per_label_recall.get(l).copied().unwrap_or(0.0)),
            )
            .0,
            per_class_recall: self.per_label_recall.clone(),
            wall_seconds: self.cost.wall_seconds,
            ..Metrics::default()
        }
    }
}

impl Metrics {
    /// The value of `metric`.
    pub fn get(&self, metric: Metric) -> f64 {
        match metric {
            Metric::Accuracy => self.accuracy,
            Metric::BalancedAccuracy => self.balanced_accuracy,
            Metric::MacroF1 => self.macro_f1,
            Metric::GMean => self.g_mean,
            Metric::ManyShot => self.many_shot,
            Metric::MediumShot => self.medium_shot,
            Metric::FewShot => self.few_shot,
            Metric::Ece => self.ece,
            Metric::WallSeconds => self.wall_seconds,
            Metric::MicroF1 => self.micro_f1,
            Metric::MeanAveragePrecision => self.mean_average_precision,
            Metric::SubsetAccuracy => self.subset_accuracy,
            Metric::HammingLoss => self.hamming_loss,
            Metric::TailRecall => self.tail_recall,
        }
    }

    /// Each metric's mean and sample standard deviation (`n − 1`; 0 for one run) over `runs`;
    /// the per-class recalls class by class, as many classes as the first run has.
    pub(crate) fn mean_std(runs: &[&Metrics]) -> (Metrics, Metrics) {
        let (mut mean, mut std) = (Metrics::default(), Metrics::default());
        let task = runs.first().map(|m| m.task).unwrap_or_default();
        (mean.task, std.task) = (task, task);
        for metric in Metric::iter() {
            (
                *metric_mut(&mut mean, metric),
                *metric_mut(&mut std, metric),
            ) = mean_and_std(runs.iter().map(|m| m.get(metric)));
        }
        let classes = runs.first().map_or(0, |m| m.per_class_recall.len());
        (mean.per_class_recall, std.per_class_recall) = (0..classes)
            .map(|c| {
                mean_and_std(
                    runs.iter()
                        .map(|m| m.per_class_recall.get(c).copied().unwrap_or(0.0)),
                )
            })
            .unzip();
        (mean, std)
    }
}

/// Each shot group of `groups` with the metric of its accuracy, many-shot first.
pub fn shot_metrics(groups: &ShotGroups) -> [(Metric, &[usize]); 3] {
    [
        (Metric::ManyShot, &groups.many),
        (Metric::MediumShot, &groups.medium),
        (Metric::FewShot, &groups.few),
    ]
}

/// The field of `metric`.
fn metric_mut(metrics: &mut Metrics, metric: Metric) -> &mut f64 {
    match metric {
        Metric::Accuracy => &mut metrics.accuracy,
        Metric::BalancedAccuracy => &mut metrics.balanced_accuracy,
        Metric::MacroF1 => &mut metrics.macro_f1,
        Metric::GMean => &mut metrics.g_mean,
        Metric::ManyShot => &mut metrics.many_shot,
        Metric::MediumShot => &mut metrics.medium_shot,
        Metric::FewShot => &mut metrics.few_shot,
        Metric::Ece => &mut metrics.ece,
        Metric::WallSeconds => &mut metrics.wall_seconds,
        Metric::MicroF1 => &mut metrics.micro_f1,
        Metric::MeanAveragePrecision => &mut metrics.mean_average_precision,
        Metric::SubsetAccuracy => &mut metrics.subset_accuracy,
        Metric::HammingLoss => &mut metrics.hamming_loss,
        Metric::TailRecall => &mut metrics.tail_recall,
    }
}

/// The mean and sample standard deviation (`n − 1`; 0 for fewer than two values).
pub(super) fn mean_and_std(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let values: Vec<f64> = values.collect();
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n.max(1.0);
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let squares: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
    (mean, (squares / (n - 1.0)).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std() {
        let m = |ba: f64| Metrics {
            balanced_accuracy: ba,
            per_class_recall: vec![ba, 1.0],
            ..Metrics::default()
        };
        let (a, b, c) = (m(0.6), m(0.7), m(0.8));
        let (mean, std) = Metrics::mean_std(&[&a, &b, &c]);
        assert!((mean.balanced_accuracy - 0.7).abs() < 1e-12);
        // numpy.std([0.6, 0.7, 0.8], ddof=1) = 0.1
        assert!((std.balanced_accuracy - 0.1).abs() < 1e-12);
        assert!((mean.per_class_recall[0] - 0.7).abs() < 1e-12);
        assert!((std.per_class_recall[0] - 0.1).abs() < 1e-12);
        assert_eq!(std.per_class_recall[1], 0.0);
        let full = Metrics {
            accuracy: 0.1,
            balanced_accuracy: 0.2,
            macro_f1: 0.3,
            g_mean: 0.4,
            many_shot: 0.5,
            medium_shot: 0.6,
            few_shot: 0.7,
            per_class_recall: vec![0.8, 0.9],
            wall_seconds: 1.5,
            ..Metrics::default()
        };
        // Every field is a named metric, under its JSON key, and each name reads its own field.
        let mut copy = Metrics {
            per_class_recall: full.per_class_recall.clone(),
            ..Metrics::default()
        };
        let json = serde_json::to_value(&full).unwrap();
        for &metric in Metric::of_task(Default::default()) {
            assert_eq!(
                json[metric.key()].as_f64(),
                Some(full.get(metric)),
                "{metric:?}"
            );
            *metric_mut(&mut copy, metric) = full.get(metric);
        }
        assert_eq!(copy, full);
        assert_eq!(
            json.as_object().unwrap().len(),
            Metric::of_task(Default::default()).len() + 1
        );
        let (_, std) = Metrics::mean_std(&[&a]);
        assert_eq!(std.balanced_accuracy, 0.0);
    }
}
