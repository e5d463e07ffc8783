//! Weighting schemes: how a class count becomes a raw class weight.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::WeightError;

/// How the raw weight `w_c` of class `c` is derived from its training count `n_c`
/// (`C` classes, `N` samples).
///
/// | scheme | raw weight `w_c` | reference |
/// |---|---|---|
/// | [`Uniform`](Scheme::Uniform) | `1` | plain, unweighted loss |
/// | [`Ins`](Scheme::Ins) | `1 / n_c` | inverse number of samples |
/// | [`Isns`](Scheme::Isns) | `1 / sqrt(n_c)` | inverse square root (Mahajan et al., ECCV 2018) |
/// | [`Power`](Scheme::Power) | `1 / n_c^p` | the family of the two above (`p = 1`, `p = 0.5`) |
/// | [`Ens`](Scheme::Ens) | `(1 - β) / (1 - β^{n_c})` | effective number of samples (Cui et al., CVPR 2019) |
/// | [`Balanced`](Scheme::Balanced) | `N / (C · n_c)` | scikit-learn's `class_weight="balanced"` |
/// | [`Median`](Scheme::Median) | `median_j(n_j) / n_c` | median frequency balancing (Eigen & Fergus, ICCV 2015) |
/// | [`Custom`](Scheme::Custom) | given | your own vector |
///
/// The raw weights are then scaled by a [`Normalization`](crate::Normalization).
///
/// # Text and serde forms
///
/// On a command line and in TOML a scheme is its lower-case name, with the parameter after a
/// colon: `uniform`, `ins`, `isns`, `power:0.25`, `ens` (β = 0.9999), `ens:0.99`, `balanced`,
/// `median`, `custom:1,2.5,4`. In TOML the table form works too:
/// `scheme = { kind = "ens", beta = 0.99 }`. Parameters are checked when parsed: `ens:1.2`
/// is an error naming `beta = 1.2`.
///
/// ```
/// use rebalance_weights::Scheme;
///
/// let ens: Scheme = "ens:0.99".parse()?;
/// assert_eq!(ens, Scheme::Ens { beta: 0.99 });
/// assert_eq!(ens.to_string(), "ens:0.99");
/// assert_eq!("ens".parse::<Scheme>()?, Scheme::Ens { beta: Scheme::DEFAULT_ENS_BETA });
/// assert!("ens:1.0".parse::<Scheme>().is_err());
/// # Ok::<(), rebalance_weights::WeightError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Scheme {
    /// Every class weighs 1: the unweighted baseline.
    Uniform,
    /// Inverse number of samples, `w_c = 1 / n_c`.
    Ins,
    /// Inverse square root of the number of samples, `w_c = 1 / sqrt(n_c)`
    /// (Mahajan et al., "Exploring the Limits of Weakly Supervised Pretraining", ECCV 2018).
    Isns,
    /// Inverse power of the number of samples, `w_c = 1 / n_c^p`. `p = 0` is uniform, `p = 0.5`
    /// ISNS, `p = 1` INS.
    Power {
        /// The exponent `p`: finite and `>= 0`.
        p: f64,
    },
    /// Inverse effective number of samples, `w_c = (1 - β) / (1 - β^{n_c})`
    /// (Cui et al., "Class-Balanced Loss Based on Effective Number of Samples", CVPR 2019).
    ///
    /// `β = 0` gives uniform weights and `β → 1` tends to INS. `1 - β^n` is computed as
    /// `-expm1(n · ln β)` in f64, so `β = 0.99999` with `n = 10^7` keeps full precision.
    Ens {
        /// The hyper-parameter `β`, in `[0, 1)`. Cui et al. use 0.9999 on CIFAR-10-LT.
        beta: f64,
    },
    /// scikit-learn's balanced weights, `w_c = N / (C · n_c)`
    /// (`sklearn.utils.class_weight.compute_class_weight("balanced")`). They already satisfy
    /// [`Normalization::MeanSample`](crate::Normalization::MeanSample); use
    /// [`Normalization::None`](crate::Normalization::None) to get scikit-learn's numbers.
    Balanced,
    /// Median frequency balancing, `w_c = median_j(f_j) / f_c` with `f_c = n_c / N`
    /// (Eigen & Fergus, "Predicting Depth, Surface Normals and Semantic Labels", ICCV 2015).
    /// The median of an even number of classes is the mean of the two middle counts.
    Median,
    /// Weights given by the user, one per class, each finite and `>= 0`.
    Custom {
        /// The raw weights, indexed by class.
        weights: Vec<f64>,
    },
}

/// The scheme names accepted by [`Scheme::from_str`], as listed in error messages.
const SCHEME_NAMES: &str =
    "uniform, ins, isns, power:P, ens, ens:BETA, balanced, median, custom:W0,W1,...";

impl Scheme {
    /// The `β` of a bare `ens`: 0.9999, Cui et al.'s choice for CIFAR-10-LT.
    pub const DEFAULT_ENS_BETA: f64 = 0.9999;

    /// The exponent `p` of a bare `power`: 0.5, which is ISNS.
    pub const DEFAULT_POWER: f64 = 0.5;

    /// The keys that give a scheme's parameter apart from its name, each with the scheme that
    /// takes it ([`from_parts`](Self::from_parts)): `beta` goes with `ens`, `power` with
    /// `power`, `custom_weights` with `custom`.
    pub const PARAMETER_KEYS: [(&'static str, &'static str); 3] = [
        ("beta", "ens"),
        ("power", "power"),
        ("custom_weights", "custom"),
    ];

    /// A scheme from a name and its parameters given apart, as config files and command lines
    /// give them: `scheme = "ens"` with `beta = 0.999`, `"power"` with `power`, `"custom"`
    /// with `custom_weights`. A missing `beta` or `power` takes its default
    /// ([`DEFAULT_ENS_BETA`](Self::DEFAULT_ENS_BETA), [`DEFAULT_POWER`](Self::DEFAULT_POWER));
    /// custom weights have none. The name may also carry its parameter (`"ens:0.99"`, see
    /// [`Scheme::from_str`]), but then not as a key too.
    ///
    /// ```
    /// use rebalance_weights::Scheme;
    ///
    /// assert_eq!(Scheme::from_parts("ens", Some(0.99), None, None)?, Scheme::Ens { beta: 0.99 });
    /// assert_eq!(Scheme::from_parts("power", None, None, None)?, Scheme::Power { p: 0.5 });
    /// let err = Scheme::from_parts("ins", Some(0.99), None, None).unwrap_err();
    /// assert_eq!(err.to_string(), "beta = 0.99: goes with scheme \"ens\", not \"ins\"");
    /// # Ok::<(), rebalance_weights::WeightError>(())
    /// ```
    ///
    /// # Errors
    /// An unknown name; a parameter out of range (checked first, naming the key); a parameter
    /// the scheme does not take, or given twice; `custom` without weights.
    pub fn from_parts(
        name: &str,
        beta: Option<f64>,
        power: Option<f64>,
        custom_weights: Option<Vec<f64>>,
    ) -> Result<Scheme, WeightError> {
        // Ranges first, so that a bad value is named as such whatever the scheme.
        if let Some(beta) = beta {
            Scheme::Ens { beta }.validate()?;
        }
        if let Some(p) = power {
            Scheme::Power { p }
                .validate()
                .map_err(|_| WeightError::InvalidParameter {
                    name: "power",
                    value: p.to_string(),
                    expected: "finite and >= 0",
                })?;
        }
        let bare = !name.contains(':');
        let parsed = match name.trim().to_ascii_lowercase().as_str() {
            "power" => Scheme::Power {
                p: power.unwrap_or(Self::DEFAULT_POWER),
            },
            "custom" => match &custom_weights {
                Some(weights) => Scheme::Custom {
                    weights: weights.clone(),
                },
                None => {
                    return Err(WeightError::MisplacedParameter {
                        name: "custom_weights",
                        value: "(missing)".to_string(),
                        problem: "scheme \"custom\" needs its weights, one per class".to_string(),
                    });
                }
            },
            _ => name.parse()?,
        };
        let scheme = match (parsed, beta) {
            (Scheme::Ens { .. }, Some(beta)) if bare => Scheme::Ens { beta },
            (other, _) => other,
        };
        // Each key with the scheme it belongs to.
        let values = [
            beta.map(|b| b.to_string()),
            power.map(|p| p.to_string()),
            custom_weights.as_ref().map(|w| format!("{w:?}")),
        ];
        for ((key, owner), value) in Self::PARAMETER_KEYS.into_iter().zip(values) {
            let Some(value) = value else { continue };
            if bare && scheme.name() == owner {
                continue;
            }
            let problem = if bare {
                format!("goes with scheme \"{owner}\", not \"{}\"", scheme.name())
            } else {
                format!("given twice, here and in scheme = \"{name}\"; give it once")
            };
            return Err(WeightError::MisplacedParameter {
                name: key,
                value,
                problem,
            });
        }
        scheme.validate()?;
        Ok(scheme)
    }

    /// The lower-case name of the scheme, without its parameter (`"ens"`).
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::Uniform => "uniform",
            Scheme::Ins => "ins",
            Scheme::Isns => "isns",
            Scheme::Power { .. } => "power",
            Scheme::Ens { .. } => "ens",
            Scheme::Balanced => "balanced",
            Scheme::Median => "median",
            Scheme::Custom { .. } => "custom",
        }
    }

    /// Checks the scheme's parameters: `β ∈ [0, 1)`, `p` finite and `>= 0`, custom weights
    /// finite and `>= 0`. (The length of custom weights is checked against the counts when
    /// weights are computed.)
    ///
    /// # Errors
    /// [`WeightError::InvalidParameter`] or [`WeightError::InvalidCustomWeight`], naming the
    /// value.
    pub fn validate(&self) -> Result<(), WeightError> {
        match self {
            Scheme::Ens { beta } if !(0.0..1.0).contains(beta) => {
                Err(WeightError::InvalidParameter {
                    name: "beta",
                    value: beta.to_string(),
                    expected: "in [0, 1)",
                })
            }
            Scheme::Power { p } if !(p.is_finite() && *p >= 0.0) => {
                Err(WeightError::InvalidParameter {
                    name: "p",
                    value: p.to_string(),
                    expected: "finite and >= 0",
                })
            }
            Scheme::Custom { weights } => {
                match weights
                    .iter()
                    .enumerate()
                    .find(|&(_, w)| !(w.is_finite() && *w >= 0.0))
                {
                    Some((class, &value)) => Err(WeightError::InvalidCustomWeight { class, value }),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Scheme {
    /// The canonical text form, which [`Scheme::from_str`] parses back to an equal scheme.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scheme::Power { p } => write!(f, "power:{p}"),
            Scheme::Ens { beta } => write!(f, "ens:{beta}"),
            Scheme::Custom { weights } => {
                f.write_str("custom:")?;
                for (i, w) in weights.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{w}")?;
                }
                Ok(())
            }
            other => f.write_str(other.name()),
        }
    }
}

fn parse_number(
    name: &'static str,
    text: &str,
    expected: &'static str,
) -> Result<f64, WeightError> {
    text.trim()
        .parse::<f64>()
        .map_err(|_| WeightError::InvalidParameter {
            name,
            value: text.to_string(),
            expected,
        })
}

impl FromStr for Scheme {
    type Err = WeightError;

    /// Parses `name` or `name:parameter` (see the type's docs), case-insensitively, and
    /// validates the parameter.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (name, param) = match text.split_once(':') {
            Some((name, param)) => (name, Some(param)),
            None => (text, None),
        };
        let name = name.trim().to_ascii_lowercase();
        let scheme = match (name.as_str(), param) {
            ("uniform", None) => Scheme::Uniform,
            ("ins", None) => Scheme::Ins,
            ("isns", None) => Scheme::Isns,
            ("balanced", None) => Scheme::Balanced,
            ("median", None) => Scheme::Median,
            ("ens", None) => Scheme::Ens {
                beta: Self::DEFAULT_ENS_BETA,
            },
            ("ens", Some(beta)) => Scheme::Ens {
                beta: parse_number("beta", beta, "a number in [0, 1)")?,
            },
            ("power", Some(p)) => Scheme::Power {
                p: parse_number("p", p, "a finite number >= 0")?,
            },
            ("power", None) => {
                return Err(WeightError::InvalidParameter {
                    name: "p",
                    value: "(missing)".to_string(),
                    expected: "given after a colon, as in power:0.25",
                });
            }
            ("custom", Some(list)) => Scheme::Custom {
                weights: list
                    .split(',')
                    .map(|w| parse_number("custom weight", w, "a finite number >= 0"))
                    .collect::<Result<_, _>>()?,
            },
            _ => {
                return Err(WeightError::UnknownName {
                    what: "scheme",
                    value: text.to_string(),
                    expected: SCHEME_NAMES.to_string(),
                });
            }
        };
        scheme.validate()?;
        Ok(scheme)
    }
}

/// The table form of a scheme, `{ kind = "ens", beta = 0.99 }`.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
enum SchemeTable {
    Uniform,
    Ins,
    Isns,
    Power {
        p: f64,
    },
    Ens {
        #[serde(default = "default_beta")]
        beta: f64,
    },
    Balanced,
    Median,
    Custom {
        weights: Vec<f64>,
    },
}

fn default_beta() -> f64 {
    Scheme::DEFAULT_ENS_BETA
}

impl From<SchemeTable> for Scheme {
    fn from(table: SchemeTable) -> Self {
        match table {
            SchemeTable::Uniform => Scheme::Uniform,
            SchemeTable::Ins => Scheme::Ins,
            SchemeTable::Isns => Scheme::Isns,
            SchemeTable::Power { p } => Scheme::Power { p },
            SchemeTable::Ens { beta } => Scheme::Ens { beta },
            SchemeTable::Balanced => Scheme::Balanced,
            SchemeTable::Median => Scheme::Median,
            SchemeTable::Custom { weights } => Scheme::Custom { weights },
        }
    }
}

impl Serialize for Scheme {
    /// Parameter-free schemes serialize as their name (`"ins"`), the others as a table
    /// (`{ kind = "ens", beta = 0.9999 }`).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let table = match self {
            Scheme::Power { p } => SchemeTable::Power { p: *p },
            Scheme::Ens { beta } => SchemeTable::Ens { beta: *beta },
            Scheme::Custom { weights } => SchemeTable::Custom {
                weights: weights.clone(),
            },
            other => return serializer.serialize_str(other.name()),
        };
        table.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Scheme {
    /// Accepts the text form (`"ens:0.99"`) or the table form (`{ kind = "ens", beta = 0.99 }`),
    /// and validates the parameters.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SchemeVisitor;

        impl<'de> Visitor<'de> for SchemeVisitor {
            type Value = Scheme;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a weighting scheme, as a name (\"ins\", \"ens:0.9999\") or a table \
                     ({ kind = \"ens\", beta = 0.9999 })",
                )
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Scheme, E> {
                text.parse().map_err(E::custom)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scheme, A::Error> {
                let table = SchemeTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let scheme = Scheme::from(table);
                scheme.validate().map_err(de::Error::custom)?;
                Ok(scheme)
            }
        }

        deserializer.deserialize_any(SchemeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_name() {
        let cases = [
            ("uniform", Scheme::Uniform),
            ("INS", Scheme::Ins),
            ("isns", Scheme::Isns),
            ("power:0.25", Scheme::Power { p: 0.25 }),
            ("ens", Scheme::Ens { beta: 0.9999 }),
            ("ens:0.99", Scheme::Ens { beta: 0.99 }),
            ("ens:0", Scheme::Ens { beta: 0.0 }),
            ("balanced", Scheme::Balanced),
            ("median", Scheme::Median),
            (
                "custom:1, 2.5,0",
                Scheme::Custom {
                    weights: vec![1.0, 2.5, 0.0],
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<Scheme>().unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "uniform",
            "ins",
            "isns",
            "power:0.3",
            "ens:0.9999",
            "balanced",
            "median",
            "custom:1,0.5,2",
        ] {
            let scheme: Scheme = text.parse().unwrap();
            assert_eq!(scheme.to_string(), text);
            assert_eq!(scheme.to_string().parse::<Scheme>().unwrap(), scheme);
        }
    }

    #[test]
    fn unknown_name_lists_the_valid_ones() {
        let err = "inverse".parse::<Scheme>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown scheme \"inverse\": expected one of uniform, ins, isns, power:P, ens, \
             ens:BETA, balanced, median, custom:W0,W1,..."
        );
        // A parameter on a scheme that takes none is not silently dropped.
        assert!(matches!(
            "ins:2".parse::<Scheme>(),
            Err(WeightError::UnknownName { .. })
        ));
    }

    #[test]
    fn beta_out_of_range_names_the_value() {
        for (text, shown) in [("ens:1.2", "1.2"), ("ens:1", "1"), ("ens:-0.5", "-0.5")] {
            let err = text.parse::<Scheme>().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("beta = {shown}: must be in [0, 1)")
            );
        }
        let err = Scheme::Ens { beta: f64::NAN }.validate().unwrap_err();
        assert_eq!(err.to_string(), "beta = NaN: must be in [0, 1)");
        let err = "ens:abc".parse::<Scheme>().unwrap_err();
        assert_eq!(err.to_string(), "beta = abc: must be a number in [0, 1)");
    }

    #[test]
    fn bad_power_names_the_value() {
        let err = "power:-1".parse::<Scheme>().unwrap_err();
        assert_eq!(err.to_string(), "p = -1: must be finite and >= 0");
        let err = "power:inf".parse::<Scheme>().unwrap_err();
        assert_eq!(err.to_string(), "p = inf: must be finite and >= 0");
        let err = "power".parse::<Scheme>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "p = (missing): must be given after a colon, as in power:0.25"
        );
    }

    #[test]
    fn bad_custom_weight_names_the_class() {
        let err = "custom:1,-2,3".parse::<Scheme>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "custom weight for class 1 is -2: weights must be finite and >= 0"
        );
        let err = "custom:1,x".parse::<Scheme>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "custom weight = x: must be a finite number >= 0"
        );
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Holder {
        scheme: Scheme,
    }

    #[test]
    fn toml_accepts_text_and_table_forms() {
        let text: Holder = toml::from_str(r#"scheme = "ens:0.99""#).unwrap();
        let table: Holder = toml::from_str(r#"scheme = { kind = "ens", beta = 0.99 }"#).unwrap();
        assert_eq!(text, table);
        let bare: Holder = toml::from_str(r#"scheme = { kind = "ens" }"#).unwrap();
        assert_eq!(bare.scheme, Scheme::Ens { beta: 0.9999 });
        let ins: Holder = toml::from_str(r#"scheme = { kind = "ins" }"#).unwrap();
        assert_eq!(ins.scheme, Scheme::Ins);
    }

    #[test]
    fn toml_round_trips() {
        for scheme in [
            Scheme::Isns,
            Scheme::Ens { beta: 0.999 },
            Scheme::Power { p: 0.75 },
            Scheme::Custom {
                weights: vec![1.0, 2.0],
            },
        ] {
            let holder = Holder { scheme };
            let text = toml::to_string(&holder).unwrap();
            assert_eq!(toml::from_str::<Holder>(&text).unwrap(), holder, "{text}");
        }
        assert_eq!(
            serde_json::to_string(&Scheme::Ens { beta: 0.5 }).unwrap(),
            r#"{"kind":"ens","beta":0.5}"#
        );
        assert_eq!(serde_json::to_string(&Scheme::Ins).unwrap(), r#""ins""#);
    }

    #[test]
    fn toml_rejects_bad_values_with_their_name() {
        let err = toml::from_str::<Holder>(r#"scheme = { kind = "ens", beta = 1.2 }"#).unwrap_err();
        assert!(
            err.message().contains("beta = 1.2: must be in [0, 1)"),
            "{err}"
        );
        let err = toml::from_str::<Holder>(r#"scheme = "ens:1.5""#).unwrap_err();
        assert!(
            err.message().contains("beta = 1.5: must be in [0, 1)"),
            "{err}"
        );
        let err =
            toml::from_str::<Holder>(r#"scheme = { kind = "ens", betta = 0.9 }"#).unwrap_err();
        assert!(err.message().contains("betta"), "{err}");
        let err = toml::from_str::<Holder>(r#"scheme = { kind = "nope" }"#).unwrap_err();
        assert!(err.message().contains("nope"), "{err}");
    }
}
