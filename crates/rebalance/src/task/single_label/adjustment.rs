//! What `rebalance eval` may do to a trained model's logits before its predictions: temperature
//! scaling (Guo et al., "On Calibration of Modern Neural Networks", ICML 2017), fitted by NLL on
//! the validation split, and a shift for the test-label prior (Menon et al., "Long-tail learning
//! via logit adjustment", ICLR 2021): `z / T − τ · log π_train`, or the general form
//! `z / T − log π_train + log π_target` for a known target prior.

use anyhow::bail;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// The fitted temperature and what it did to the validation NLL.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TemperatureFit {
    /// The temperature `T` the logits are divided by.
    pub temperature: f64,
    /// Mean NLL of the validation split at `T = 1`.
    pub validation_nll_before: f64,
    /// Mean NLL of the validation split at the fitted `T`.
    pub validation_nll_after: f64,
}

/// Mean NLL of `logits` (row-major `[n, classes]`) divided by `temperature`, against `targets`.
fn nll(logits: &[f32], classes: usize, targets: &[i64], temperature: f64) -> f64 {
    let rows = logits.chunks(classes).zip(targets);
    let total: f64 = rows
        .map(|(row, &y)| {
            let scaled: Vec<f64> = row.iter().map(|&z| f64::from(z) / temperature).collect();
            let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let log_sum = max + scaled.iter().map(|s| (s - max).exp()).sum::<f64>().ln();
            log_sum - scaled[y as usize]
        })
        .sum();
    total / targets.len().max(1) as f64
}

/// Fits the temperature `T` that minimises the mean NLL of `logits / T` on a validation split
/// (row-major `[n, classes]`, classes `targets`): golden-section search over `β = 1/T` in
/// `[0.01, 100]`, on which the NLL is convex (a log-sum-exp of functions linear in `β`, minus a
/// linear one), to a relative precision of `1e-6`.
///
/// # Errors
/// No validation samples, or NaN logits.
pub fn fit_temperature(
    logits: &[f32],
    classes: usize,
    targets: &[i64],
) -> anyhow::Result<TemperatureFit> {
    if targets.is_empty() || logits.len() != targets.len() * classes {
        bail!("temperature scaling needs a validation split with samples");
    }
    if logits.iter().any(|z| z.is_nan()) {
        bail!("temperature scaling: the model's validation logits hold NaN");
    }
    let at = |beta: f64| nll(logits, classes, targets, 1.0 / beta);
    // Golden-section search on log β.
    let (mut lo, mut hi) = (0.01f64.ln(), 100f64.ln());
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (hi - ratio * (hi - lo), lo + ratio * (hi - lo));
    let (mut fa, mut fb) = (at(a.exp()), at(b.exp()));
    while hi - lo > 1e-6 {
        if fa < fb {
            hi = b;
            (b, fb) = (a, fa);
            a = hi - ratio * (hi - lo);
            fa = at(a.exp());
        } else {
            lo = a;
            (a, fa) = (b, fb);
            b = lo + ratio * (hi - lo);
            fb = at(b.exp());
        }
    }
    let beta = ((lo + hi) / 2.0).exp();
    let before = at(1.0);
    let after = at(beta);
    // The search never ends above T = 1's value but by rounding: keep T = 1 then.
    Ok(if after <= before {
        TemperatureFit {
            temperature: 1.0 / beta,
            validation_nll_before: before,
            validation_nll_after: after,
        }
    } else {
        TemperatureFit {
            temperature: 1.0,
            validation_nll_before: before,
            validation_nll_after: before,
        }
    })
}

/// A transformation of logits before the softmax and the argmax: `z / T`, then post-hoc
/// adjustment `− τ · log π_train` (`rebalance_loss::posthoc_adjust`) or the target-prior shift
/// `− log π_train + log π_target`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogitAdjustment {
    /// `T`; `None` for 1.
    pub temperature: Option<f64>,
    /// Post-hoc logit adjustment: the training counts and `τ`.
    pub posthoc: Option<(Vec<u64>, f64)>,
    /// The target-prior shift, one value per class.
    pub target_shift: Option<Vec<f64>>,
}

impl LogitAdjustment {
    /// Post-hoc logit adjustment with `τ` and the training `counts`.
    pub fn posthoc(counts: &[u64], tau: f64) -> Self {
        Self {
            posthoc: Some((counts.to_vec(), tau)),
            ..Self::default()
        }
    }

    /// The shift for a target prior, `−log π_train + log π_target`.
    pub fn target_prior(counts: &[u64], log_target: &[f64]) -> Self {
        let shift = log_prior(counts)
            .iter()
            .zip(log_target)
            .map(|(train, target)| target - train)
            .collect();
        Self {
            target_shift: Some(shift),
            ..Self::default()
        }
    }

    /// Checks that the shift stays finite in `f32`, the logits' type: a `τ` so large that
    /// `τ · log π` overflows (or a target prior that far from the training prior) would turn
    /// every logit into infinities and every score into NaN.
    ///
    /// # Errors
    /// The first class whose shift is not finite, naming `τ` (or the target prior).
    pub fn check(&self) -> Result<(), String> {
        if let Some((counts, tau)) = &self.posthoc
            && let Some((class, shift)) = log_prior(counts)
                .iter()
                .map(|log| tau * log)
                .enumerate()
                .find(|(_, shift)| !(*shift as f32).is_finite())
        {
            return Err(format!(
                "the shift τ · log π of class {class} is {shift:e}, beyond the logits' f32; \
                 choose a τ of a few units (Menon et al. use τ = 1)"
            ));
        }
        if let Some(shift) = &self.target_shift
            && let Some(class) = shift.iter().position(|s| !(*s as f32).is_finite())
        {
            return Err(format!(
                "the target prior's shift of class {class} is {:e}, beyond the logits' f32",
                shift[class]
            ));
        }
        Ok(())
    }

    /// `logits / T`, then the post-hoc or target-prior shift.
    ///
    /// # Errors
    /// Post-hoc adjustment's: counts with an empty class or of another length than the
    /// logits' columns, `τ` not finite.
    pub fn apply(&self, logits: Tensor<2>) -> Result<Tensor<2>, rebalance_loss::LossError> {
        let mut logits = match self.temperature {
            Some(t) => logits.div_scalar(t),
            None => logits,
        };
        if let Some((counts, tau)) = &self.posthoc {
            logits = rebalance_loss::posthoc_adjust(logits, counts, *tau)?;
        }
        if let Some(shift) = &self.target_shift {
            let values: Vec<f32> = shift.iter().map(|&s| s as f32).collect();
            let shift = Tensor::<1>::from_floats(values.as_slice(), &logits.device());
            logits = logits + shift.unsqueeze_dim::<2>(0);
        }
        Ok(logits)
    }
}

/// `log π_c = log(n_c / Σ n)`, a count of 0 taken as 1 (training splits have a sample in every
/// class, checked when the data loads, so that only guards against `−∞`).
fn log_prior(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    counts
        .iter()
        .map(|&n| (n.max(1) as f64 / total.max(1) as f64).ln())
        .collect()
}

/// `value` as a message shows it: in scientific notation where plain digits would be long
/// (`1e300`, not 301 digits).
pub fn short(value: f64) -> String {
    if value != 0.0 && (value.abs() >= 1e6 || value.abs() < 1e-4) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::eval_options::TargetPrior;

    #[test]
    fn a_target_prior_equal_to_the_training_prior_shifts_nothing() {
        let counts = [500u64, 50, 5];
        let log_target = log_prior(&counts);
        let same = LogitAdjustment::target_prior(&counts, &log_target);
        let shift = same.target_shift.clone().unwrap();
        assert!(shift.iter().all(|&s| s == 0.0), "{shift:?}");
        let device = Device::flex();
        let logits = Tensor::<2>::from_floats([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]], &device);
        let values = |t: Tensor<2>| t.into_data().iter::<f32>().collect::<Vec<_>>();
        assert_eq!(
            values(same.apply(logits.clone()).unwrap()),
            values(logits.clone())
        );
        // Uniform is post-hoc adjustment with τ = 1, up to a constant per row.
        let uniform = TargetPrior::Uniform.log_prior(3).unwrap();
        let a = values(
            LogitAdjustment::target_prior(&counts, &uniform)
                .apply(logits.clone())
                .unwrap(),
        );
        let b = values(
            LogitAdjustment::posthoc(&counts, 1.0)
                .apply(logits)
                .unwrap(),
        );
        let offset = a[0] - b[0];
        assert!(
            a.iter().zip(&b).all(|(x, y)| (x - y - offset).abs() < 1e-5),
            "{a:?} {b:?}"
        );
    }

    #[test]
    fn a_prior_file_names_its_bad_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prior.txt");
        std::fs::write(&path, "1, 2\n0\n").unwrap();
        let err = TargetPrior::File(path.clone())
            .log_prior(3)
            .unwrap_err()
            .to_string();
        assert!(err.contains("value 3 (class 2) is \"0\""), "{err}");
        std::fs::write(&path, "1 1").unwrap();
        let err = TargetPrior::File(path.clone())
            .log_prior(3)
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("2 values for 3 classes; give one per class"),
            "{err}"
        );
        std::fs::write(&path, "3,1").unwrap();
        let log = TargetPrior::File(path).log_prior(2).unwrap();
        assert!((log[0] - 0.75f64.ln()).abs() < 1e-12 && (log[1] - 0.25f64.ln()).abs() < 1e-12);
    }

    /// Overconfident logits (two of three samples right, all at a margin of 4): the fitted
    /// temperature is above 1, lowers the NLL, and is a minimum of the NLL curve.
    #[test]
    fn temperature_scaling_lowers_the_nll_of_overconfident_logits() {
        let logits = [4.0f32, 0.0, 4.0, 0.0, 0.0, 4.0];
        let targets = [0i64, 1, 1];
        let fit = fit_temperature(&logits, 2, &targets).unwrap();
        assert!(fit.temperature > 1.0, "{fit:?}");
        assert!(
            fit.validation_nll_after < fit.validation_nll_before,
            "{fit:?}"
        );
        // NLL at T = 1 by hand: (log(1 + e^-4) + log(1 + e^4) + log(1 + e^-4)) / 3.
        let by_hand = ((1.0 + (-4f64).exp()).ln() * 2.0 + (1.0 + 4f64.exp()).ln()) / 3.0;
        assert!((fit.validation_nll_before - by_hand).abs() < 1e-9);
        // Two right of three: the optimum has a finite T; its NLL is a minimum of the curve.
        let around = |t: f64| nll(&logits, 2, &targets, t);
        let t = fit.temperature;
        assert!(around(t) <= around(t * 1.01) && around(t) <= around(t / 1.01));
    }
}
