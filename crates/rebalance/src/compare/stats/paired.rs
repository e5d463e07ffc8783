//! The paired difference of a variant to the baseline and its confidence interval: Student's
//! t below [`BOOTSTRAP_FROM`] paired seeds, the percentile bootstrap from there.

use rand_xoshiro::SplitMix64;
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use super::metric::mean_and_std;

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

    /// The mean and the interval's bounds in signed percentage points with `decimals`
    /// decimals, as tables write them (`+5.9`): `None` without a common seed, no bounds
    /// without an interval.
    pub fn in_points(&self, decimals: usize) -> Option<(String, Option<(String, String)>)> {
        let points = |v: f64| format!("{:+.*}", decimals, 100.0 * v);
        let bounds = self
            .low
            .zip(self.high)
            .map(|(low, high)| (points(low), points(high)));
        self.mean.map(|mean| (points(mean), bounds))
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
    let mut rng = SplitMix64::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| {
            let sum: f64 = (0..n).map(|_| values[below(&mut rng, n)]).sum();
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

/// A uniform index in `0..n` from SplitMix64 (Steele, Lea and Flood 2014; `rand_xoshiro`'s)
/// by Lemire's multiply-shift, whose bias, below `n / 2^64`, is negligible here: the draws
/// the tests reproduce in Python.
fn below(rng: &mut SplitMix64, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// The `p` quantile of Student's t distribution with `df` degrees of freedom (`df` may be
/// `f64::INFINITY`: the standard normal), from `statrs`. `NaN` for `p` outside `(0, 1)` or
/// `df` not positive. Within 1e-9 (relative) of scipy for the degrees of freedom a comparison
/// has (1 to [`MAX_SEEDS`](crate::compare::MAX_SEEDS) − 1, tested); statrs's inverse loses
/// precision far beyond (1e-4 at `df = 1e6`).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if !(p > 0.0 && p < 1.0 && df > 0.0) {
        return f64::NAN;
    }
    if df.is_infinite() {
        return Normal::standard().inverse_cdf(p);
    }
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| t.inverse_cdf(p))
}

#[cfg(test)]
mod tests {
    use super::*;

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
