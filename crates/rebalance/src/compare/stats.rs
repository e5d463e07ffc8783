//! The statistics of a sweep: each run's metrics, their mean and standard deviation over the
//! seeds of a variant, the shot groups, the gain over the baseline, and the paired difference
//! to the baseline with its 95% confidence interval.
//!
//! The paired difference of a metric is taken seed by seed: seed `k` of the variant minus seed
//! `k` of the baseline, over the seeds both have. Every variant of a seed trains on the same
//! data, split and initialisation seed, so pairing removes the seed-to-seed variation the two
//! share. Its interval is Student's t on the differences (`mean ± t_{0.975, n−1} · sd / √n`)
//! for 2 to 9 paired seeds, and a percentile bootstrap of their mean
//! ([`BOOTSTRAP_RESAMPLES`] resamples from the fixed [`BOOTSTRAP_SEED`]) from
//! [`BOOTSTRAP_FROM`] on, where it no longer leans on normality. With fewer than two paired
//! seeds there is no interval.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use strum::IntoEnumIterator;

use rebalance_data::Task;

use super::plan::ComparePlan;
use super::store::{Run, RunReport};
use crate::report::Report;

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
        match task {
            Task::SingleLabel => &SINGLE_LABEL,
            Task::MultiLabel => &MULTI_LABEL,
        }
    }

    /// The metric a comparison of `task` ranks by without `[compare] rank_by`: balanced
    /// accuracy (single-label), macro-F1 (multi-label).
    pub fn default_rank(task: Task) -> Metric {
        match task {
            Task::SingleLabel => Metric::BalancedAccuracy,
            Task::MultiLabel => Metric::MacroF1,
        }
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
                    match task {
                        Task::SingleLabel => "single-label",
                        Task::MultiLabel => "multi-label",
                    },
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
        let recall = match self.task {
            Task::SingleLabel => "per_class_recall",
            Task::MultiLabel => "per_label_recall",
        };
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

impl Metrics {
    fn of(report: &RunReport, groups: &ShotGroups, tail: &[usize]) -> Self {
        match report {
            RunReport::SingleLabel(report) => Self::of_single_label(report, groups),
            RunReport::MultiLabel(r) => Self {
                task: Task::MultiLabel,
                macro_f1: r.macro_f1,
                micro_f1: r.micro_f1,
                mean_average_precision: r.mean_average_precision,
                subset_accuracy: r.subset_accuracy,
                hamming_loss: r.hamming_loss,
                tail_recall: mean_and_std(
                    tail.iter()
                        .map(|&l| r.per_label_recall.get(l).copied().unwrap_or(0.0)),
                )
                .0,
                per_class_recall: r.per_label_recall.clone(),
                wall_seconds: r.wall_seconds,
                ..Self::default()
            },
        }
    }

    fn of_single_label(report: &Report, groups: &ShotGroups) -> Self {
        let s = &report.scores;
        let mut metrics = Self {
            accuracy: s.accuracy,
            balanced_accuracy: s.balanced_accuracy,
            macro_f1: s.macro_f1,
            g_mean: s.g_mean,
            ece: report.calibration.ece,
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
    pub(super) fn mean_std(runs: &[&Metrics]) -> (Metrics, Metrics) {
        let (mut mean, mut std) = (Metrics::default(), Metrics::default());
        let task = runs.first().map_or(Task::SingleLabel, |m| m.task);
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

/// The distinct non-empty `names` in order of first appearance, joined by `", "`: the backends
/// or devices of a variant's runs (`flex`, or `flex, wgpu` for runs of a merge trained on
/// several), or of a whole comparison.
pub(super) fn distinct_joined<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for name in names {
        if !name.is_empty() && !seen.contains(&name) {
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
    /// The hardware its runs trained on ([`crate::backend::device_names`]; several,
    /// comma-separated, where they differ); absent when no run's report records one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The loss, as the run reports name it.
    pub loss: String,
    /// Mean over seeds.
    pub mean: Metrics,
    /// Sample standard deviation over seeds.
    pub std: Metrics,
    /// The mean of the ranking metric (`[compare] rank_by`; balanced accuracy by default for
    /// single-label, macro-F1 for multi-label) minus the baseline's.
    pub gain_over_baseline: f64,
    /// Per score metric (by its key), the paired difference to the baseline over the seeds
    /// both have, with its 95% confidence interval; absent for the baseline itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired_difference: Option<BTreeMap<String, PairedDifference>>,
}

/// The confidence of the paired-difference intervals.
pub const CONFIDENCE: f64 = 0.95;

/// From this many paired seeds on, the interval is a percentile bootstrap instead of
/// Student's t.
pub const BOOTSTRAP_FROM: usize = 10;

/// The resamples of the percentile bootstrap.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// The seed of the bootstrap's generator (SplitMix64), the same for every variant and metric:
/// the intervals of a comparison are reproducible.
pub const BOOTSTRAP_SEED: u64 = 0x5EED_B007;

/// How a paired difference's interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntervalMethod {
    /// Student's t-interval on the paired differences (2 to 9 paired seeds).
    #[serde(rename = "student-t")]
    StudentT,
    /// The percentile bootstrap of the mean difference ([`BOOTSTRAP_FROM`] paired seeds on).
    #[serde(rename = "percentile-bootstrap")]
    PercentileBootstrap,
    /// No interval: fewer than two paired seeds.
    #[serde(rename = "none")]
    NoInterval,
}

/// A metric of a variant minus the baseline's, seed by seed over the seeds both have: the mean
/// difference and its 95% confidence interval. Fractions, like the metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedDifference {
    /// The mean of the paired differences; `None` without a common seed.
    pub mean: Option<f64>,
    /// The interval's lower end; `None` with fewer than two paired seeds.
    pub low: Option<f64>,
    /// The interval's upper end; `None` with fewer than two paired seeds.
    pub high: Option<f64>,
    /// How the interval was computed.
    pub method: IntervalMethod,
    /// The number of paired seeds (seeds both the variant and the baseline have).
    pub n: usize,
    /// The sample standard deviation of the differences (`n − 1`); `None` below two.
    pub sd: Option<f64>,
}

impl PairedDifference {
    /// The paired difference of `variant` minus `baseline`, each a list of `(seed, value)`:
    /// only seeds both have count, in the order of `variant`.
    pub fn of(variant: &[(u64, f64)], baseline: &[(u64, f64)]) -> Self {
        let differences: Vec<f64> = variant
            .iter()
            .filter_map(|&(seed, value)| {
                baseline
                    .iter()
                    .find(|&&(s, _)| s == seed)
                    .map(|&(_, base)| value - base)
            })
            .collect();
        Self::of_differences(&differences)
    }

    /// The mean of `differences` and its interval: Student's t below [`BOOTSTRAP_FROM`] values,
    /// the percentile bootstrap from there, none below two.
    pub fn of_differences(differences: &[f64]) -> Self {
        let n = differences.len();
        if n == 0 {
            return Self {
                mean: None,
                low: None,
                high: None,
                method: IntervalMethod::NoInterval,
                n,
                sd: None,
            };
        }
        let (mean, sd) = mean_and_std(differences.iter().copied());
        if n < 2 {
            return Self {
                mean: Some(mean),
                low: None,
                high: None,
                method: IntervalMethod::NoInterval,
                n,
                sd: None,
            };
        }
        let ((low, high), method) = if n < BOOTSTRAP_FROM {
            let half = t_quantile(0.5 + CONFIDENCE / 2.0, (n - 1) as f64) * sd / (n as f64).sqrt();
            ((mean - half, mean + half), IntervalMethod::StudentT)
        } else {
            (
                bootstrap_interval(differences, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED),
                IntervalMethod::PercentileBootstrap,
            )
        };
        Self {
            mean: Some(mean),
            low: Some(low),
            high: Some(high),
            method,
            n,
            sd: Some(sd),
        }
    }

    /// Whether the interval lies wholly above or below 0 (`false` without an interval).
    pub fn excludes_zero(&self) -> bool {
        match (self.low, self.high) {
            (Some(low), Some(high)) => low > 0.0 || high < 0.0,
            _ => false,
        }
    }
}

/// The percentile bootstrap interval of the mean of `values` at [`CONFIDENCE`]: the 2.5% and
/// 97.5% quantiles (linearly interpolated, as numpy's default) of the means of `resamples`
/// resamples with replacement, drawn by SplitMix64 from `seed`.
fn bootstrap_interval(values: &[f64], resamples: usize, seed: u64) -> (f64, f64) {
    let n = values.len();
    let mut rng = SplitMix64(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| {
            let sum: f64 = (0..n).map(|_| values[rng.below(n)]).sum();
            sum / n as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let tail = (1.0 - CONFIDENCE) / 2.0;
    (quantile(&means, tail), quantile(&means, 1.0 - tail))
}

/// The `p` quantile of sorted, non-empty `values`, linearly interpolated between order
/// statistics (numpy's default, Hyndman and Fan's type 7).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let (below, fraction) = (h.floor() as usize, h - h.floor());
    let above = (below + 1).min(sorted.len() - 1);
    sorted[below] + fraction * (sorted[above] - sorted[below])
}

/// SplitMix64 (Steele, Lea and Flood 2014): a small, fast generator, enough for resampling.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform index in `0..n` (Lemire's multiply-shift; its bias, below `n / 2^64`, is
    /// negligible here).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

/// The `p` quantile of Student's t distribution with `df` degrees of freedom (`df` may be
/// `f64::INFINITY`: the standard normal), to about 1e-12: the root of the CDF found by
/// bisection, the CDF from the regularized incomplete beta function (the incomplete gamma
/// function for the normal). `NaN` for `p` outside `(0, 1)` or `df` not positive.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if !(p > 0.0 && p < 1.0 && df > 0.0) {
        return f64::NAN;
    }
    if p == 0.5 {
        return 0.0;
    }
    // The tail probability P(T > t) for t > 0, decreasing in t.
    let upper_tail = |t: f64| -> f64 {
        if df.is_infinite() {
            // P(Z > z) = Q(1/2, z²/2) / 2.
            0.5 * gamma_q(0.5, t * t / 2.0)
        } else {
            // P(T > t) = I_{df/(df+t²)}(df/2, 1/2) / 2.
            let (x, y) = (df / (df + t * t), t * t / (df + t * t));
            0.5 * inc_beta(x, y, df / 2.0, 0.5)
        }
    };
    let tail = p.min(1.0 - p);
    let mut high = 1.0;
    while upper_tail(high) > tail {
        high *= 2.0;
        if !high.is_finite() {
            return if p > 0.5 {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            };
        }
    }
    let mut low = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if upper_tail(mid) > tail {
            low = mid;
        } else {
            high = mid;
        }
        if high - low <= 1e-15 * high {
            break;
        }
    }
    let t = 0.5 * (low + high);
    if p > 0.5 { t } else { -t }
}

/// `ln Γ(x)` for `x > 0`: Lanczos' approximation (g = 7, 9 terms), about 1e-15 relative.
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let sum = COEFFICIENTS[1..]
        .iter()
        .enumerate()
        .fold(COEFFICIENTS[0], |sum, (i, c)| {
            sum + c / (x + i as f64 + 1.0)
        });
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularized incomplete beta function `I_x(a, b)`, with `y = 1 − x` given exactly by
/// the caller: the continued fraction of Numerical Recipes (§6.4) on whichever side converges.
fn inc_beta(x: f64, y: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if y <= 0.0 {
        return 1.0;
    }
    let front = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * y.ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(y, b, a) / b
    }
}

/// The continued fraction of `I_x(a, b)` by the modified Lentz method.
fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let clamp = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / clamp(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..1000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / clamp(1.0 + aa * d);
        c = clamp(1.0 + aa / c);
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / clamp(1.0 + aa * d);
        c = clamp(1.0 + aa / c);
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// The regularized upper incomplete gamma function `Q(a, x)`: its series below `a + 1`, its
/// continued fraction (modified Lentz) above (Numerical Recipes §6.2).
fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let front = (a * x.ln() - x - ln_gamma(a)).exp();
    if x < a + 1.0 {
        let (mut term, mut sum, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..1000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        1.0 - front * sum
    } else {
        const TINY: f64 = 1e-300;
        let clamp = |v: f64| if v.abs() < TINY { TINY } else { v };
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let i = f64::from(i);
            let an = -i * (i - a);
            b += 2.0;
            d = 1.0 / clamp(an * d + b);
            c = clamp(b + an / c);
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        front * h
    }
}

/// What a sweep's outputs show.
#[derive(Debug, Clone)]
pub(super) struct Summary {
    /// The task of the runs.
    pub task: Task,
    /// The metric the variants are ranked by and the gains measured in.
    pub rank_by: Metric,
    /// Whether `rank_by` was set in the config (then `comparison.json` names it for a
    /// single-label comparison too).
    pub rank_by_set: bool,
    /// One per run, in the order of the runs.
    pub results: Vec<RunResult>,
    /// One per variant, best mean of `rank_by` first.
    pub variants: Vec<VariantSummary>,
    /// The variant the gains are measured against.
    pub baseline: String,
    /// The training samples per class (positives per label for multi-label).
    pub counts: Vec<usize>,
    /// The shot groups of `counts`.
    pub groups: ShotGroups,
    /// The tail labels of a multi-label comparison ([`tail_labels`]); empty for single-label.
    pub tail: Vec<usize>,
}

/// Aggregates each variant's runs and measures the gains over the baseline: the plan's, or
/// the first variant when the plan's was left out (`--only`).
pub(super) fn summarise(plan: &ComparePlan, runs: &[Run], reports: &[RunReport]) -> Summary {
    let task = plan.task();
    let rank_by = plan.rank_by;
    let counts = reports
        .first()
        .map_or(Vec::new(), |r| r.train_counts().to_vec());
    let groups = ShotGroups::of(&counts);
    let tail = match task {
        Task::SingleLabel => Vec::new(),
        Task::MultiLabel => tail_labels(&counts),
    };
    let results: Vec<RunResult> = runs
        .iter()
        .zip(reports)
        .map(|(run, report)| RunResult {
            variant: run.variant.clone(),
            seed: run.seed,
            metrics: Metrics::of(report, &groups, &tail),
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
            let mine: Vec<(&RunResult, &RunReport)> = results
                .iter()
                .zip(reports)
                .filter(|(r, _)| r.variant == name)
                .collect();
            let metrics: Vec<&Metrics> = mine.iter().map(|(r, _)| &r.metrics).collect();
            let (mean, std) = Metrics::mean_std(&metrics);
            VariantSummary {
                name: name.to_string(),
                seeds: mine.iter().map(|(r, _)| r.seed).collect(),
                backend: distinct_joined(mine.iter().map(|(_, report)| report.backend())),
                device: Some(distinct_joined(
                    mine.iter().filter_map(|(_, report)| report.device()),
                ))
                .filter(|names| !names.is_empty()),
                loss: mine.first().map_or(String::new(), |(_, report)| {
                    plan.variant(name)
                        .map_or(report.loss().to_string(), |v| v.method(report.loss()))
                }),
                mean,
                std,
                gain_over_baseline: 0.0,
                paired_difference: None,
            }
        })
        .collect();
    let baseline = if order.contains(&plan.baseline()) {
        plan.baseline().to_string()
    } else {
        order.first().map_or(String::new(), |s| s.to_string())
    };
    let base_score = variants
        .iter()
        .find(|s| s.name == baseline)
        .map_or(0.0, |s| s.mean.get(rank_by));
    let seed_values = |name: &str, metric: Metric| -> Vec<(u64, f64)> {
        results
            .iter()
            .filter(|r| r.variant == name)
            .map(|r| (r.seed, r.metrics.get(metric)))
            .collect()
    };
    for s in &mut variants {
        s.gain_over_baseline = s.mean.get(rank_by) - base_score;
        if s.name != baseline {
            s.paired_difference = Some(
                Metric::of_task(task)
                    .iter()
                    .filter(|m| m.is_score())
                    .map(|&metric| {
                        let difference = PairedDifference::of(
                            &seed_values(&s.name, metric),
                            &seed_values(&baseline, metric),
                        );
                        (metric.key().to_string(), difference)
                    })
                    .collect(),
            );
        }
    }
    variants.sort_by(|a, b| {
        let order = b.mean.get(rank_by).total_cmp(&a.mean.get(rank_by));
        if rank_by.lower_is_better() {
            order.reverse()
        } else {
            order
        }
    });
    Summary {
        task,
        rank_by,
        rank_by_set: plan.compare.rank_by.is_some(),
        results,
        variants,
        baseline,
        counts,
        groups,
        tail,
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
            ..Metrics::default()
        };
        // Every field is a named metric, under its JSON key, and each name reads its own field.
        let mut copy = Metrics {
            per_class_recall: full.per_class_recall.clone(),
            ..Metrics::default()
        };
        let json = serde_json::to_value(&full).unwrap();
        for &metric in Metric::of_task(Task::SingleLabel) {
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
            Metric::of_task(Task::SingleLabel).len() + 1
        );
        let (_, std) = Metrics::mean_std(&[&a]);
        assert_eq!(std.balanced_accuracy, 0.0);
    }

    #[test]
    fn t_quantiles_match_the_tables() {
        // The textbook values, to their 4 decimals.
        for (df, t) in [
            (1.0, 12.7062),
            (2.0, 4.3027),
            (4.0, 2.7764),
            (9.0, 2.2622),
            (30.0, 2.0423),
        ] {
            assert!((t_quantile(0.975, df) - t).abs() < 5e-5, "df {df}");
        }
        // scipy.stats.t.ppf(0.975, df), 1.17.1.
        for (df, t) in [
            (1.0, 12.706_204_736_174_694),
            (2.0, 4.302_652_729_749_462),
            (3.0, 3.182_446_305_283_707_8),
            (4.0, 2.776_445_105_197_793_4),
            (5.0, 2.570_581_835_636_314_6),
            (9.0, 2.262_157_162_798_205),
            (10.0, 2.228_138_851_986_274),
            (29.0, 2.045_229_642_132_703),
            (30.0, 2.042_272_456_301_237_8),
            (31.0, 2.039_513_446_396_408),
            (50.0, 2.008_559_112_100_761),
            (100.0, 1.983_971_518_523_551_8),
            (999.0, 1.962_341_461_133_449_3),
            (1e6, 1.959_966_356_814_107),
            (f64::INFINITY, 1.959_963_984_540_054),
        ] {
            let got = t_quantile(0.975, df);
            assert!((got - t).abs() < 1e-9 * t, "df {df}: {got} vs {t}");
        }
        // Closed forms: df 1 is Cauchy, df 2 is (2p − 1) / √(2p(1 − p)).
        let p: f64 = 0.9;
        let cauchy = (std::f64::consts::PI * (p - 0.5)).tan();
        assert!((t_quantile(p, 1.0) - cauchy).abs() < 1e-11);
        let two = (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt();
        assert!((t_quantile(p, 2.0) - two).abs() < 1e-11);
        // scipy.stats.t.ppf(0.995, 3) and .ppf(0.025, 7): other levels, the lower tail.
        assert!((t_quantile(0.995, 3.0) - 5.840_909_309_733_355).abs() < 1e-9);
        assert!((t_quantile(0.025, 7.0) + 2.364_624_251_592_784_4).abs() < 1e-9);
        assert_eq!(t_quantile(0.5, 4.0), 0.0);
        assert!(t_quantile(1.0, 4.0).is_nan() && t_quantile(0.9, 0.0).is_nan());
    }

    #[test]
    fn paired_t_interval_by_hand() {
        // Differences 0.02, 0.04, 0.03: mean 0.03, sd 0.01, se 0.01 / √3,
        // half-width t_{0.975, 2} · se = 4.302653 · 0.005774 = 0.024841.
        let d = PairedDifference::of_differences(&[0.02, 0.04, 0.03]);
        assert_eq!(d.method, IntervalMethod::StudentT);
        assert_eq!(d.n, 3);
        assert!((d.mean.unwrap() - 0.03).abs() < 1e-12);
        assert!((d.sd.unwrap() - 0.01).abs() < 1e-12);
        assert!((d.low.unwrap() - (0.03 - 0.024_841)).abs() < 1e-6);
        assert!((d.high.unwrap() - (0.03 + 0.024_841)).abs() < 1e-6);
        // scipy: 0.03 ∓ 0.024841377117503304.
        assert!((d.low.unwrap() - 0.005_158_622_882_496_695).abs() < 1e-12);
        assert!((d.high.unwrap() - 0.054_841_377_117_503_3).abs() < 1e-12);
        assert!(d.excludes_zero());
    }

    #[test]
    fn pairs_are_the_seeds_both_runs_have() {
        // Seed 3 has no baseline run and seed 9 no variant run: they do not count.
        let variant = [(1, 0.80), (2, 0.75), (3, 0.99)];
        let baseline = [(2, 0.70), (1, 0.78), (9, 0.10)];
        let d = PairedDifference::of(&variant, &baseline);
        assert_eq!(d.n, 2);
        assert!((d.mean.unwrap() - 0.035).abs() < 1e-12);
        // Differences 0.02 and 0.05: sd 0.03 / √2, half-width 12.7062 · 0.015.
        let half = 12.706_204_736_174_694 * 0.015;
        assert!((d.low.unwrap() - (0.035 - half)).abs() < 1e-9);
        assert!((d.high.unwrap() - (0.035 + half)).abs() < 1e-9);
        assert!(!d.excludes_zero());
        // One paired seed: a difference, no interval.
        let one = PairedDifference::of(&variant, &[(2, 0.70)]);
        assert_eq!((one.n, one.method), (1, IntervalMethod::NoInterval));
        assert!((one.mean.unwrap() - 0.05).abs() < 1e-12);
        assert_eq!((one.low, one.high, one.sd), (None, None, None));
        // None: not even a mean.
        let none = PairedDifference::of(&variant, &[(7, 0.5)]);
        assert_eq!((none.n, none.mean), (0, None));
        assert!(!none.excludes_zero());
        let json = serde_json::to_value(&one).unwrap();
        assert_eq!(json["method"], "none");
        assert_eq!(json["low"], serde_json::Value::Null);
    }

    #[test]
    fn ten_pairs_or_more_take_the_percentile_bootstrap() {
        let values: Vec<f64> = (0..12)
            .map(|i| 0.01 * ((i * 7) % 11) as f64 - 0.02)
            .collect();
        let d = PairedDifference::of_differences(&values);
        assert_eq!(d.method, IntervalMethod::PercentileBootstrap);
        assert_eq!(d.n, 12);
        // The same SplitMix64 draws in Python, then numpy.quantile(means, [0.025, 0.975]).
        assert!((d.low.unwrap() - 0.0075).abs() < 1e-12, "{d:?}");
        assert!((d.high.unwrap() - 0.045).abs() < 1e-12, "{d:?}");
        assert!((d.mean.unwrap() - 0.025_833_333_333_333_333).abs() < 1e-12);
        // Deterministic: the same interval again.
        assert_eq!(PairedDifference::of_differences(&values), d);
        // Nine pairs still take Student's t.
        let nine = PairedDifference::of_differences(&values[..9]);
        assert_eq!(nine.method, IntervalMethod::StudentT);
        assert_eq!(
            serde_json::to_value(&d).unwrap()["method"],
            "percentile-bootstrap"
        );
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let sorted = [1.0, 2.0, 4.0, 8.0];
        // numpy.quantile([1, 2, 4, 8], [0, 0.025, 0.5, 0.975, 1]).
        assert_eq!(quantile(&sorted, 0.0), 1.0);
        assert!((quantile(&sorted, 0.025) - 1.075).abs() < 1e-12);
        assert_eq!(quantile(&sorted, 0.5), 3.0);
        assert!((quantile(&sorted, 0.975) - 7.7).abs() < 1e-12);
        assert_eq!(quantile(&sorted, 1.0), 8.0);
    }
}
