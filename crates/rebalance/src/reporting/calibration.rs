//! Calibration of predicted probabilities: expected and maximum calibration error, negative
//! log-likelihood and Brier score, accumulated batch by batch on the host.

use serde::{Deserialize, Serialize};

/// The number of equal-width confidence bins of the calibration errors, as Guo et al. use.
pub const BINS: usize = 15;

/// Calibration scores of a classifier's softmax probabilities on a split.
///
/// - `ece`: expected calibration error (Guo et al., "On Calibration of Modern Neural Networks",
///   ICML 2017), top-label, over [`BINS`] equal-width bins `((m-1)/M, m/M]` of the confidence
///   `max_c p_c`: `Σ_m |B_m|/n · |acc(B_m) - conf(B_m)|`.
/// - `mce`: maximum calibration error, `max_m |acc(B_m) - conf(B_m)|` over non-empty bins.
/// - `nll`: mean negative log-likelihood of the true class, `-1/n Σ log p_y` (`p_y` floored at
///   `1e-12`, so one certain mistake does not make it infinite).
/// - `brier`: multi-class Brier score, `1/n Σ_n Σ_c (p_{n,c} - [c = y_n])²` (Brier, 1950), in
///   `[0, 2]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CalibrationScores {
    /// Expected calibration error, in `[0, 1]`.
    #[serde(default)]
    pub ece: f64,
    /// Maximum calibration error, in `[0, 1]`.
    #[serde(default)]
    pub mce: f64,
    /// Mean negative log-likelihood.
    #[serde(default)]
    pub nll: f64,
    /// Multi-class Brier score, in `[0, 2]`.
    #[serde(default)]
    pub brier: f64,
    /// The [`BINS`] confidence bins behind `ece` and `mce`, lowest first: the reliability
    /// diagram's data.
    #[serde(default)]
    pub reliability: Vec<ReliabilityBin>,
}

/// Calibration of the test samples of each many-, medium- and few-shot group of classes (by
/// their true class; the groups of `shots::ShotGroups`); the reliability bins left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShotCalibration {
    /// How the groups were made.
    pub rule: String,
    /// Samples of many-shot classes.
    pub many: CalibrationScores,
    /// Samples of medium-shot classes.
    pub medium: CalibrationScores,
    /// Samples of few-shot classes.
    pub few: CalibrationScores,
}

impl ShotCalibration {
    /// The calibration of each group's samples among `probabilities` (row-major
    /// `[n, num_classes]`) with classes `targets`, the groups made from the training `counts`.
    pub fn new(
        probabilities: &[f32],
        num_classes: usize,
        targets: &[i64],
        counts: &[usize],
    ) -> Self {
        let groups = crate::reporting::shots::ShotGroups::of(counts);
        let of = |classes: &[usize]| {
            let mut calibration = Calibration::default();
            for (row, &target) in probabilities.chunks_exact(num_classes).zip(targets) {
                if usize::try_from(target).is_ok_and(|t| classes.contains(&t)) {
                    calibration.add(row, num_classes, &[target]);
                }
            }
            CalibrationScores {
                reliability: Vec::new(),
                ..calibration.scores()
            }
        };
        Self {
            many: of(&groups.many),
            medium: of(&groups.medium),
            few: of(&groups.few),
            rule: groups.rule,
        }
    }
}

/// One confidence bin `((m-1)/M, m/M]` of a reliability diagram.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Samples whose confidence falls in the bin.
    pub count: usize,
    /// Their mean confidence (0 for an empty bin).
    pub confidence: f64,
    /// The fraction of them predicted right (0 for an empty bin).
    pub accuracy: f64,
}

/// Accumulates [`CalibrationScores`] over batches.
///
/// ```
/// use rebalance::reporting::calibration::Calibration;
///
/// let mut calibration = Calibration::default();
/// // Two samples, two classes: confident and right, unsure and wrong.
/// calibration.add(&[0.9, 0.1, 0.6, 0.4], 2, &[0, 1]);
/// let scores = calibration.scores();
/// assert!((scores.brier - (0.02 + 0.72) / 2.0).abs() < 1e-6); // f32 probabilities
/// ```
#[derive(Debug, Clone, Default)]
pub struct Calibration {
    samples: usize,
    /// Per bin: samples, summed confidence, correct predictions.
    bins: [(usize, f64, usize); BINS],
    nll: f64,
    brier: f64,
}

impl Calibration {
    /// Adds a batch: `probabilities` row-major `[n, num_classes]` (each row a distribution),
    /// `targets` the `n` true classes.
    pub fn add(&mut self, probabilities: &[f32], num_classes: usize, targets: &[i64]) {
        for (row, &target) in probabilities.chunks_exact(num_classes).zip(targets) {
            let Ok(target) = usize::try_from(target) else {
                continue;
            };
            let (predicted, confidence) =
                row.iter()
                    .enumerate()
                    .fold((0, f64::NEG_INFINITY), |best, (c, &p)| {
                        if f64::from(p) > best.1 {
                            (c, f64::from(p))
                        } else {
                            best
                        }
                    });
            // Bin m holds confidences in ((m-1)/M, m/M]; a confidence of 0 goes to the first.
            let bin = ((confidence * BINS as f64).ceil() as usize).clamp(1, BINS) - 1;
            let entry = &mut self.bins[bin];
            entry.0 += 1;
            entry.1 += confidence;
            entry.2 += usize::from(predicted == target);
            let p_true = row.get(target).map_or(0.0, |&p| f64::from(p));
            self.nll -= p_true.max(1e-12).ln();
            self.brier += row
                .iter()
                .enumerate()
                .map(|(c, &p)| {
                    let y = if c == target { 1.0 } else { 0.0 };
                    (f64::from(p) - y).powi(2)
                })
                .sum::<f64>();
            self.samples += 1;
        }
    }

    /// The scores of everything added; all 0 when nothing was.
    pub fn scores(&self) -> CalibrationScores {
        if self.samples == 0 {
            return CalibrationScores::default();
        }
        let n = self.samples as f64;
        let gaps = self.bins.iter().filter(|(count, _, _)| *count > 0).map(
            |&(count, confidence, correct)| {
                let count_f = count as f64;
                (
                    count_f,
                    (correct as f64 / count_f - confidence / count_f).abs(),
                )
            },
        );
        let (ece, mce) = gaps.fold((0.0, 0.0_f64), |(ece, mce), (count, gap)| {
            (ece + count / n * gap, mce.max(gap))
        });
        let reliability = self
            .bins
            .iter()
            .map(|&(count, confidence, correct)| {
                let count_f = count.max(1) as f64;
                ReliabilityBin {
                    count,
                    confidence: confidence / count_f,
                    accuracy: correct as f64 / count_f,
                }
            })
            .collect();
        CalibrationScores {
            ece,
            mce,
            nll: self.nll / n,
            brier: self.brier / n,
            reliability,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each group holds its own classes' samples: here one per class, classes 0 (many), 1
    /// (medium) and 2 (few), so each group's Brier score is its one row's.
    #[test]
    fn shot_groups_are_calibrated_apart() {
        let probabilities = [0.9, 0.05, 0.05, 0.2, 0.7, 0.1, 0.6, 0.3, 0.1];
        let shots = ShotCalibration::new(&probabilities, 3, &[0, 1, 2], &[500, 50, 5]);
        let brier = |row: [f64; 3], y: usize| -> f64 {
            row.iter()
                .enumerate()
                .map(|(c, p)| (p - if c == y { 1.0 } else { 0.0 }).powi(2))
                .sum()
        };
        assert!((shots.many.brier - brier([0.9, 0.05, 0.05], 0)).abs() < 1e-6);
        assert!((shots.medium.brier - brier([0.2, 0.7, 0.1], 1)).abs() < 1e-6);
        assert!((shots.few.brier - brier([0.6, 0.3, 0.1], 2)).abs() < 1e-6);
        // The few-shot sample is confidently wrong: its ECE is its confidence.
        assert!((shots.few.ece - 0.6).abs() < 1e-6, "{shots:?}");
        assert!(shots.few.reliability.is_empty());
    }

    // By hand, 4 samples, 3 classes:
    //   p = [0.7, 0.2, 0.1] y=0: conf 0.7 (bin 11, (0.667, 0.733]), right
    //   p = [0.6, 0.3, 0.1] y=1: conf 0.6 (alone in its bin),       wrong
    //   p = [0.2, 0.7, 0.1] y=1: conf 0.7 (bin 11),                 right
    //   p = [0.1, 0.1, 0.8] y=0: conf 0.8 (alone in its bin),       wrong
    // bin 11: 2 samples, acc 1, conf 0.7 -> gap 0.3; 0.6 alone: acc 0 -> 0.6;
    // 0.8 alone: acc 0 -> 0.8.
    // ECE = 2/4·0.3 + 1/4·0.6 + 1/4·0.8 = 0.5; MCE = 0.8.
    // NLL = -(ln 0.7 + ln 0.3 + ln 0.7 + ln 0.1)/4 = 1.0535184...
    // Brier: (0.09+0.04+0.01) + (0.36+0.49+0.01) + (0.04+0.09+0.01) + (0.81+0.01+0.64)
    //      = 0.14 + 0.86 + 0.14 + 1.46 = 2.6, / 4 = 0.65.
    #[test]
    fn scores_of_a_hand_computed_case() {
        let mut calibration = Calibration::default();
        let probabilities = [0.7, 0.2, 0.1, 0.6, 0.3, 0.1, 0.2, 0.7, 0.1];
        calibration.add(&probabilities, 3, &[0, 1, 1]);
        calibration.add(&[0.1, 0.1, 0.8], 3, &[0]);
        let s = calibration.scores();
        let nll = -(0.7f64.ln() + 0.3f64.ln() + 0.7f64.ln() + 0.1f64.ln()) / 4.0;
        assert!((s.ece - 0.5).abs() < 1e-6, "{s:?}");
        assert!((s.mce - 0.8).abs() < 1e-6, "{s:?}");
        assert!((s.nll - nll).abs() < 1e-6, "{s:?}");
        assert!((s.brier - 0.65).abs() < 1e-6, "{s:?}");
        // The diagram's bins: 0.7 is in bin 11 of 15 ((0.667, 0.733]); 0.8 as an f32 is just
        // above 0.8, so in bin 13 ((0.8, 0.867]).
        assert_eq!(s.reliability.len(), BINS);
        assert_eq!(s.reliability.iter().map(|b| b.count).sum::<usize>(), 4);
        assert_eq!(s.reliability[10].count, 2);
        assert!((s.reliability[10].confidence - 0.7).abs() < 1e-6);
        assert_eq!(s.reliability[10].accuracy, 1.0);
        assert_eq!(
            (s.reliability[12].count, s.reliability[12].accuracy),
            (1, 0.0)
        );
    }

    #[test]
    fn a_calibrated_predictor_has_no_calibration_error() {
        // Confidence 0.75 and right 3 times in 4.
        let mut calibration = Calibration::default();
        calibration.add(&[0.75, 0.25].repeat(4), 2, &[0, 0, 0, 1]);
        let s = calibration.scores();
        assert!(s.ece.abs() < 1e-7 && s.mce.abs() < 1e-7, "{s:?}");
        assert_eq!(
            Calibration::default().scores(),
            CalibrationScores::default()
        );
    }
}
