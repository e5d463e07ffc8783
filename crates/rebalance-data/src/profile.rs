//! Long-tail profiles: how many training samples each class keeps.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DataError;

/// How many training samples each class keeps out of `n_max`; class 0 is the head.
///
/// | kind | `n_i` | from |
/// |---|---|---|
/// | `exponential { factor }` | `floor(n_max · (1/IF)^(i/(C-1)))` | Cui et al., CVPR 2019; Cao et al., NeurIPS 2019 |
/// | `step { factor, minority_fraction }` | `n_max` for the first classes, `floor(n_max/IF)` for the last `ceil(C · minority_fraction)` | Cao et al., NeurIPS 2019 (half and half) |
/// | `custom { counts }` | given | |
/// | `none` | a file's training split as it is; `n_max` for the synthetic source | |
/// | `balanced` | `n_max`: every class cut to the same count | |
///
/// In TOML: `profile = { kind = "exponential", factor = 100 }`.
///
/// ```
/// use rebalance_data::ImbalanceProfile;
///
/// let counts = ImbalanceProfile::Exponential { factor: 100.0 }.counts(5000, 10)?;
/// assert_eq!(counts, [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]);
/// # Ok::<(), rebalance_data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ImbalanceProfile {
    /// Counts decaying geometrically from `n_max` to `n_max / factor`.
    Exponential {
        /// Imbalance factor `IF = n_max / n_min`, `>= 1`.
        factor: f64,
    },
    /// Two levels: `n_max` and `n_max / factor`.
    Step {
        /// Imbalance factor, `>= 1`.
        factor: f64,
        /// Fraction of the classes at the low level, in `(0, 1)`. Default 0.5.
        #[serde(default = "half")]
        minority_fraction: f64,
    },
    /// Explicit per-class counts (each at most what the source has).
    Custom {
        /// Training samples per class.
        counts: Vec<usize>,
    },
    /// No shaping: a file source's training split is kept as it is (multi-label and many
    /// real datasets come long-tailed already); the synthetic source, balanced by
    /// construction, keeps `n_max` per class.
    None,
    /// Every class cut to `n_max` (a file source's smallest class unless
    /// `max_per_class` says otherwise): a balanced training split.
    Balanced,
}

fn half() -> f64 {
    0.5
}

impl fmt::Display for ImbalanceProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImbalanceProfile::Exponential { factor } => write!(f, "exponential (factor {factor})"),
            ImbalanceProfile::Step {
                factor,
                minority_fraction,
            } => write!(
                f,
                "step (factor {factor}, minority fraction {minority_fraction})"
            ),
            ImbalanceProfile::Custom { .. } => f.write_str("custom"),
            ImbalanceProfile::None => f.write_str("none"),
            ImbalanceProfile::Balanced => f.write_str("balanced"),
        }
    }
}

impl ImbalanceProfile {
    /// The per-class training counts for `num_classes` classes with at most `n_max` each.
    ///
    /// # Errors
    /// `num_classes < 2`, `factor < 1` (or not finite), `minority_fraction ∉ (0, 1)`, custom
    /// counts of the wrong length, and a class left with 0 samples (the message names the
    /// profile that caused it).
    pub fn counts(&self, n_max: usize, num_classes: usize) -> Result<Vec<usize>, DataError> {
        if num_classes < 2 {
            return Err(DataError::invalid("num_classes", num_classes, ">= 2"));
        }
        let check_factor = |factor: f64| {
            if factor.is_finite() && factor >= 1.0 {
                Ok(())
            } else {
                Err(DataError::invalid(
                    "imbalance factor",
                    factor,
                    ">= 1 (the ratio of the largest to the smallest class)",
                ))
            }
        };
        let counts: Vec<usize> = match self {
            ImbalanceProfile::Exponential { factor } => {
                check_factor(*factor)?;
                // The reference code's arithmetic, `int(n_max * (1/IF) ** (i / (C - 1.0)))`.
                let ratio = 1.0 / factor;
                (0..num_classes)
                    .map(|i| {
                        let exponent = i as f64 / (num_classes as f64 - 1.0);
                        (n_max as f64 * ratio.powf(exponent)).floor() as usize
                    })
                    .collect()
            }
            ImbalanceProfile::Step {
                factor,
                minority_fraction,
            } => {
                check_factor(*factor)?;
                if !(*minority_fraction > 0.0 && *minority_fraction < 1.0) {
                    return Err(DataError::invalid(
                        "minority_fraction",
                        minority_fraction,
                        "in (0, 1)",
                    ));
                }
                // Cao et al.: the first C // 2 classes keep n_max.
                let head = ((num_classes as f64) * (1.0 - minority_fraction)).floor() as usize;
                let tail = (n_max as f64 / factor).floor() as usize;
                (0..num_classes)
                    .map(|i| if i < head { n_max } else { tail })
                    .collect()
            }
            ImbalanceProfile::Custom { counts } => {
                if counts.len() != num_classes {
                    return Err(DataError::invalid(
                        "profile.counts",
                        format!("a list of {}", counts.len()),
                        format!("one count per class ({num_classes})"),
                    ));
                }
                if let Some((class, &n)) = counts.iter().enumerate().find(|&(_, &n)| n > n_max) {
                    return Err(DataError::invalid(
                        "profile.counts",
                        format!("{n} for class {class}"),
                        format!("at most the {n_max} samples the class has"),
                    ));
                }
                counts.clone()
            }
            ImbalanceProfile::None | ImbalanceProfile::Balanced => vec![n_max; num_classes],
        };
        if let Some(class) = counts.iter().position(|&n| n == 0) {
            return Err(DataError::EmptyClass {
                class,
                split: "training",
                cause: format!(" after profile {self} on {n_max} samples per class"),
            });
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(factor: f64) -> ImbalanceProfile {
        ImbalanceProfile::Exponential { factor }
    }

    #[test]
    fn exponential_reproduces_the_literature() {
        assert_eq!(
            exp(100.0).counts(5000, 10).unwrap(),
            [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
        );
        let total = |f: f64, n_max, c| exp(f).counts(n_max, c).unwrap().iter().sum::<usize>();
        assert_eq!(total(100.0, 5000, 10), 12406);
        assert_eq!(total(10.0, 5000, 10), 20431);
        assert_eq!(total(50.0, 5000, 10), 13996);
        assert_eq!(total(100.0, 500, 100), 10847);
        assert_eq!(exp(1.0).counts(7, 3).unwrap(), [7, 7, 7]);
    }

    #[test]
    fn step_splits_half_and_half() {
        let step = ImbalanceProfile::Step {
            factor: 10.0,
            minority_fraction: 0.5,
        };
        assert_eq!(step.counts(100, 4).unwrap(), [100, 100, 10, 10]);
        assert_eq!(step.counts(100, 3).unwrap(), [100, 10, 10]);
    }

    #[test]
    fn custom_and_none() {
        let custom = ImbalanceProfile::Custom {
            counts: vec![5, 3, 1],
        };
        assert_eq!(custom.counts(5, 3).unwrap(), [5, 3, 1]);
        assert_eq!(ImbalanceProfile::None.counts(4, 2).unwrap(), [4, 4]);
        let err = custom.counts(4, 3).unwrap_err();
        assert_eq!(
            err.to_string(),
            "profile.counts = 5 for class 0: must be at most the 4 samples the class has"
        );
    }

    #[test]
    fn bad_parameters_name_the_value() {
        assert_eq!(
            exp(0.5).counts(100, 10).unwrap_err().to_string(),
            "imbalance factor = 0.5: must be >= 1 (the ratio of the largest to the smallest class)"
        );
        assert_eq!(
            exp(10.0).counts(100, 1).unwrap_err().to_string(),
            "num_classes = 1: must be >= 2"
        );
        let step = ImbalanceProfile::Step {
            factor: 10.0,
            minority_fraction: 1.0,
        };
        assert_eq!(
            step.counts(100, 4).unwrap_err().to_string(),
            "minority_fraction = 1: must be in (0, 1)"
        );
    }

    #[test]
    fn an_emptied_class_names_the_profile() {
        let err = exp(1000.0).counts(5, 4).unwrap_err();
        assert_eq!(
            err.to_string(),
            "class 1 has no training samples after profile exponential (factor 1000) on 5 samples per class"
        );
    }

    #[test]
    fn toml_form() {
        #[derive(Deserialize)]
        struct Holder {
            profile: ImbalanceProfile,
        }
        let h: Holder = toml::from_str(r#"profile = { kind = "step", factor = 10 }"#).unwrap();
        assert_eq!(
            h.profile,
            ImbalanceProfile::Step {
                factor: 10.0,
                minority_fraction: 0.5
            }
        );
        let h: Holder = toml::from_str(r#"profile = { kind = "none" }"#).unwrap();
        assert_eq!(h.profile, ImbalanceProfile::None);
        assert!(toml::from_str::<Holder>(r#"profile = { kind = "linear" }"#).is_err());
    }
}
