//! The statistics of a sweep: each run's metrics, their mean and standard deviation over the
//! seeds of a variant, the shot groups, and the gain over the baseline.

use serde::{Deserialize, Serialize};
use strum::IntoEnumIterator;

use super::plan::ComparePlan;
use super::store::Run;
use crate::report::Report;

/// A scalar metric of [`Metrics`]: its field, its `comparison.json` key and its
/// `comparison.csv` column, in the order of the CSV.
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
    /// Training wall time.
    WallSeconds,
}

impl Metric {
    /// The key in `comparison.json` and the column of `comparison.csv` (`balanced_accuracy`).
    pub fn key(self) -> &'static str {
        self.into()
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
            Metric::WallSeconds => "s / run",
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

/// The metrics a comparison aggregates; fractions in `[0, 1]`, wall time in seconds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metrics {
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
    /// Recall per class, head → tail in class order.
    pub per_class_recall: Vec<f64>,
    /// Training wall time, seconds.
    pub wall_seconds: f64,
}

impl Metrics {
    fn of(report: &Report, groups: &ShotGroups) -> Self {
        let s = &report.scores;
        let mut metrics = Self {
            accuracy: s.accuracy,
            balanced_accuracy: s.balanced_accuracy,
            macro_f1: s.macro_f1,
            g_mean: s.g_mean,
            per_class_recall: s.per_class_recall.clone(),
            wall_seconds: report.wall_seconds,
            ..Self::default()
        };
        for (metric, classes) in groups.by_metric() {
            *metric_mut(&mut metrics, metric) = groups.accuracy(&report.confusion, classes);
        }
        metrics
    }

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
            Metric::WallSeconds => self.wall_seconds,
        }
    }

    /// Each metric's mean and sample standard deviation (`n − 1`; 0 for one run) over `runs`;
    /// the per-class recalls class by class, as many classes as the first run has.
    pub(super) fn mean_std(runs: &[&Metrics]) -> (Metrics, Metrics) {
        let (mut mean, mut std) = (Metrics::default(), Metrics::default());
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
        Metric::WallSeconds => &mut metrics.wall_seconds,
    }
}

/// The mean and sample standard deviation (`n − 1`; 0 for fewer than two values).
fn mean_and_std(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let values: Vec<f64> = values.collect();
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n.max(1.0);
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let squares: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
    (mean, (squares / (n - 1.0)).sqrt())
}

/// The backends that trained a variant's runs, as their reports name them, in order of first
/// appearance: `flex`, or `flex, wgpu` for runs of a merge trained on several.
fn backends<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for name in names {
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    seen.join(", ")
}

/// The many-, medium- and few-shot classes of a training split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShotGroups {
    /// How the groups were made.
    pub rule: String,
    /// Classes with many training samples.
    pub many: Vec<usize>,
    /// Classes with a medium number.
    pub medium: Vec<usize>,
    /// Classes with few.
    pub few: Vec<usize>,
}

impl ShotGroups {
    /// The groups of the long-tail literature (Liu et al., CVPR 2019): more than 100 training
    /// samples, 20 to 100, fewer than 20. When one of them would be empty (small or narrow
    /// counts), thirds of the classes ordered by count instead.
    pub fn of(counts: &[usize]) -> Self {
        let by = |keep: &dyn Fn(usize) -> bool| -> Vec<usize> {
            (0..counts.len()).filter(|&c| keep(counts[c])).collect()
        };
        let (many, medium, few) = (
            by(&|n| n > 100),
            by(&|n| (20..=100).contains(&n)),
            by(&|n| n < 20),
        );
        if !many.is_empty() && !medium.is_empty() && !few.is_empty() {
            return Self {
                rule: "many > 100, medium 20–100, few < 20 training samples".to_string(),
                many,
                medium,
                few,
            };
        }
        let mut order: Vec<usize> = (0..counts.len()).collect();
        order.sort_by_key(|&c| std::cmp::Reverse(counts[c]));
        let k = counts.len();
        let (a, b) = (k.div_ceil(3), k - k / 3);
        let sorted = |range: std::ops::Range<usize>| {
            let mut part = order[range].to_vec();
            part.sort_unstable();
            part
        };
        Self {
            rule: "thirds of the classes by training count".to_string(),
            many: sorted(0..a),
            medium: sorted(a..b),
            few: sorted(b..k),
        }
    }

    /// Each group with the metric of its accuracy, many-shot first.
    pub fn by_metric(&self) -> [(Metric, &[usize]); 3] {
        [
            (Metric::ManyShot, &self.many),
            (Metric::MediumShot, &self.medium),
            (Metric::FewShot, &self.few),
        ]
    }

    /// Accuracy on the test samples of `classes`, from a confusion matrix.
    fn accuracy(&self, confusion: &[Vec<u64>], classes: &[usize]) -> f64 {
        let (right, all) = classes.iter().fold((0u64, 0u64), |(r, a), &c| {
            confusion.get(c).map_or((r, a), |row| {
                (
                    r + row.get(c).copied().unwrap_or(0),
                    a + row.iter().sum::<u64>(),
                )
            })
        });
        if all == 0 {
            0.0
        } else {
            right as f64 / all as f64
        }
    }
}

/// One entry of `comparison.json`: a variant's mean and standard deviation over its seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantSummary {
    /// The variant.
    pub name: String,
    /// The `train.seed` of each run.
    pub seeds: Vec<u64>,
    /// The backend of its runs (several, comma-separated, where a merge found runs trained on
    /// more than one).
    pub backend: String,
    /// The loss, as the run reports name it.
    pub loss: String,
    /// Mean over seeds.
    pub mean: Metrics,
    /// Sample standard deviation over seeds.
    pub std: Metrics,
    /// Mean balanced accuracy minus the baseline's.
    pub gain_over_baseline: f64,
}

/// What a sweep's outputs show.
#[derive(Debug, Clone)]
pub(super) struct Summary {
    /// One per run, in the order of the runs.
    pub results: Vec<RunResult>,
    /// One per variant, best mean balanced accuracy first.
    pub variants: Vec<VariantSummary>,
    /// The variant the gains are measured against.
    pub baseline: String,
    /// The training samples per class.
    pub counts: Vec<usize>,
    /// The shot groups of `counts`.
    pub groups: ShotGroups,
}

/// Aggregates each variant's runs and measures the gains over the baseline: the plan's, or
/// the first variant when the plan's was left out (`--only`).
pub(super) fn summarise(plan: &ComparePlan, runs: &[Run], reports: &[Report]) -> Summary {
    let counts = reports
        .first()
        .map_or(Vec::new(), |r| r.train_counts.clone());
    let groups = ShotGroups::of(&counts);
    let results: Vec<RunResult> = runs
        .iter()
        .zip(reports)
        .map(|(run, report)| RunResult {
            variant: run.variant.clone(),
            seed: run.seed,
            metrics: Metrics::of(report, &groups),
        })
        .collect();

    let mut order: Vec<&str> = Vec::new();
    for run in runs {
        if !order.contains(&run.variant.as_str()) {
            order.push(&run.variant);
        }
    }
    let mut variants: Vec<VariantSummary> = order
        .iter()
        .map(|&name| {
            let mine: Vec<(&RunResult, &Report)> = results
                .iter()
                .zip(reports)
                .filter(|(r, _)| r.variant == name)
                .collect();
            let metrics: Vec<&Metrics> = mine.iter().map(|(r, _)| &r.metrics).collect();
            let (mean, std) = Metrics::mean_std(&metrics);
            VariantSummary {
                name: name.to_string(),
                seeds: mine.iter().map(|(r, _)| r.seed).collect(),
                backend: backends(mine.iter().map(|(_, report)| report.backend.as_str())),
                loss: mine.first().map_or(String::new(), |(_, report)| {
                    plan.variant(name)
                        .map_or(report.loss.clone(), |v| v.method(&report.loss))
                }),
                mean,
                std,
                gain_over_baseline: 0.0,
            }
        })
        .collect();
    let baseline = if order.contains(&plan.baseline()) {
        plan.baseline().to_string()
    } else {
        order.first().map_or(String::new(), |s| s.to_string())
    };
    let base_ba = variants
        .iter()
        .find(|s| s.name == baseline)
        .map_or(0.0, |s| s.mean.balanced_accuracy);
    for s in &mut variants {
        s.gain_over_baseline = s.mean.balanced_accuracy - base_ba;
    }
    variants.sort_by(|a, b| {
        b.mean
            .balanced_accuracy
            .total_cmp(&a.mean.balanced_accuracy)
    });
    Summary {
        results,
        variants,
        baseline,
        counts,
        groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shot_groups_follow_the_literature_or_thirds() {
        let counts = [500, 300, 180, 108, 64, 39, 23, 14, 8, 5];
        let g = ShotGroups::of(&counts);
        assert_eq!(g.many, vec![0, 1, 2, 3]);
        assert_eq!(g.medium, vec![4, 5, 6]);
        assert_eq!(g.few, vec![7, 8, 9]);
        // No class above 100: thirds by count, the larger groups first.
        let g = ShotGroups::of(&[50, 40, 30, 20, 10, 5, 4]);
        assert_eq!(g.rule, "thirds of the classes by training count");
        assert_eq!(g.many, vec![0, 1, 2]);
        assert_eq!(g.medium, vec![3, 4]);
        assert_eq!(g.few, vec![5, 6]);
        // Accuracy over the group's test samples.
        let confusion = vec![vec![8, 2, 0], vec![1, 3, 0], vec![0, 0, 6]];
        assert_eq!(g.accuracy(&confusion, &[0, 1]), 11.0 / 14.0);
    }

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
        };
        // Every field is a named metric, under its JSON key, and each name reads its own field.
        let mut copy = Metrics {
            per_class_recall: full.per_class_recall.clone(),
            ..Metrics::default()
        };
        let json = serde_json::to_value(&full).unwrap();
        for metric in Metric::iter() {
            assert_eq!(
                json[metric.key()].as_f64(),
                Some(full.get(metric)),
                "{metric:?}"
            );
            *metric_mut(&mut copy, metric) = full.get(metric);
        }
        assert_eq!(copy, full);
        assert_eq!(json.as_object().unwrap().len(), Metric::iter().count() + 1);
        let (_, std) = Metrics::mean_std(&[&a]);
        assert_eq!(std.balanced_accuracy, 0.0);
    }
}
