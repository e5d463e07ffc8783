//! What `rebalance eval` may ask beside re-evaluating a run: another post-hoc `τ`, a target
//! prior, temperature scaling, τ-normalisation. Parsed here; applied by the task
//! (`crate::task::single_label`), and refused by a multi-label run.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, bail};

/// How `rebalance eval` adjusts the logits, beside the run's own `eval.posthoc_tau`.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// Post-hoc logit adjustment with this `τ` instead of the config's.
    pub posthoc_tau: Option<f64>,
    /// Adjust for this test-label prior (`z − log π_train + log π_target`).
    pub target_prior: Option<TargetPrior>,
    /// Fit a temperature on the validation split and divide the logits by it.
    pub calibrate: bool,
    /// τ-normalise the classifier's weights (Kang et al., 2020), or pick τ on the validation
    /// split.
    pub tau_norm: Option<TauNorm>,
}

impl EvalOptions {
    /// Whether the evaluation departs from the run's own (and goes to its own files,
    /// [`name`](Self::name)).
    pub fn adjusts(&self) -> bool {
        self.name().is_some()
    }

    /// The adjustment's name in its files' names (`report-<name>.json`,
    /// `predictions-<name>.csv`), so that each adjustment keeps its own and a second one never
    /// replaces the first's: `tau-1.0`, `prior-uniform`, `prior-<file stem>`, `temperature`,
    /// `tau-norm-0.5`, `tau-norm-auto`, joined by `_` when several are asked; `None` for the
    /// run's own evaluation.
    pub fn name(&self) -> Option<String> {
        let parts: Vec<String> = [
            self.posthoc_tau.map(|tau| format!("tau-{tau:?}")),
            self.target_prior.as_ref().map(|prior| match prior {
                TargetPrior::Uniform => "prior-uniform".to_string(),
                TargetPrior::File(path) => format!(
                    "prior-{}",
                    path.file_stem()
                        .map_or("file".into(), |s| s.to_string_lossy())
                ),
            }),
            self.calibrate.then(|| "temperature".to_string()),
            self.tau_norm.map(|tau| match tau {
                TauNorm::Value(tau) => format!("tau-norm-{tau:?}"),
                TauNorm::Auto => "tau-norm-auto".to_string(),
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        // A file name everywhere: letters, digits, `.`, `-` and `_` only.
        (!parts.is_empty()).then(|| {
            parts
                .join("_")
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                        c
                    } else {
                        '-'
                    }
                })
                .collect()
        })
    }
}

/// The test-label distribution `eval --target-prior` adjusts for.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetPrior {
    /// Every class equally likely: the same as `--posthoc-tau 1`.
    Uniform,
    /// A file of one non-negative number per class (counts or probabilities, separated by
    /// commas, spaces or line breaks), normalised to sum to 1.
    File(PathBuf),
}

impl FromStr for TargetPrior {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(if text.eq_ignore_ascii_case("uniform") {
            TargetPrior::Uniform
        } else {
            TargetPrior::File(PathBuf::from(text))
        })
    }
}

impl std::fmt::Display for TargetPrior {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetPrior::Uniform => f.write_str("uniform"),
            TargetPrior::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl TargetPrior {
    /// The prior's `log π_target`, one per class of `num_classes`.
    ///
    /// # Errors
    /// An unreadable file, a value that is not a number, a negative, zero or non-finite value,
    /// or another number of values than classes; each names the file and the value.
    pub fn log_prior(&self, num_classes: usize) -> anyhow::Result<Vec<f64>> {
        match self {
            TargetPrior::Uniform => Ok(vec![-(num_classes as f64).ln(); num_classes]),
            TargetPrior::File(path) => read_prior(path, num_classes),
        }
    }
}

fn read_prior(path: &Path, num_classes: usize) -> anyhow::Result<Vec<f64>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--target-prior: cannot read {}", path.display()))?;
    // A spreadsheet's byte-order mark is not part of the first value.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    // Values apart by commas or whitespace. An empty field between commas (`10,,30`) would
    // shift every later class's value onto the class before: an error, not skipped. A comma
    // that ends a line is allowed.
    let mut tokens: Vec<&str> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        for (i, field) in fields.iter().enumerate() {
            let before = tokens.len();
            tokens.extend(field.split_whitespace());
            let last = i + 1 == fields.len();
            if tokens.len() == before && fields.len() > 1 && !last {
                bail!(
                    "--target-prior {}: line {}, field {} is empty; give one value per class",
                    path.display(),
                    number + 1,
                    i + 1
                );
            }
        }
    }
    let values = tokens
        .into_iter()
        .enumerate()
        .map(|(class, v)| match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
            _ => bail!(
                "--target-prior {}: value {} (class {class}) is {v:?}; expected a finite number > 0 \
                 (a count or a probability per class)",
                path.display(),
                class + 1
            ),
        })
        .collect::<anyhow::Result<Vec<f64>>>()?;
    if values.len() != num_classes {
        bail!(
            "--target-prior {}: {} values for {num_classes} classes; give one per class",
            path.display(),
            values.len()
        );
    }
    let total: f64 = values.iter().sum();
    Ok(values.iter().map(|v| (v / total).ln()).collect())
}

/// `eval --tau-norm`: the τ of Kang et al.'s τ-normalised classifier
/// ([`Classifier::tau_normalized`](crate::run::model::Classifier::tau_normalized)), or `auto` to pick
/// it on the validation split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TauNorm {
    /// This τ, finite and `>= 0`.
    Value(f64),
    /// The τ of [`TAU_GRID`] with the best validation balanced accuracy (the smallest of equals).
    Auto,
}

/// The τ values `--tau-norm auto` tries: 0, 0.1, …, 2.
pub const TAU_GRID: [f64; 21] = [
    0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8,
    1.9, 2.0,
];

impl FromStr for TauNorm {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.eq_ignore_ascii_case("auto") {
            return Ok(TauNorm::Auto);
        }
        match text.parse::<f64>() {
            Ok(tau) if tau.is_finite() && tau >= 0.0 => Ok(TauNorm::Value(tau)),
            _ => Err(format!("{text:?}: expected a number >= 0 or \"auto\"")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prior(text: &str, classes: usize) -> anyhow::Result<Vec<f64>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prior.csv");
        std::fs::write(&path, text).unwrap();
        TargetPrior::File(path).log_prior(classes)
    }

    #[test]
    fn a_prior_file_reads_commas_whitespace_and_a_byte_order_mark() {
        let expected: Vec<f64> = [0.1_f64, 0.2, 0.7].iter().map(|p| p.ln()).collect();
        for text in ["1,2,7", "1 2 7\n", "\u{feff}1,2,7,\n", "1,\n2,\n7\n"] {
            let got = prior(text, 3).unwrap();
            for (g, e) in got.iter().zip(&expected) {
                assert!((g - e).abs() < 1e-12, "{text:?}: {got:?}");
            }
        }
    }

    #[test]
    fn an_empty_field_is_an_error_not_a_shift() {
        let err = prior("10,,20,30", 3).unwrap_err().to_string();
        assert!(
            err.contains("line 1, field 2 is empty; give one value per class"),
            "{err}"
        );
    }
}
