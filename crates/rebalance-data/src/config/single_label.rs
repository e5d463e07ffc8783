//! The `[data]` section's single-label task (the default): its sources' keys, checks and
//! defaults.

use super::task::{CsvKeys, FolderKeys, TaskSection, keys_of};
use super::*;

/// The single-label task's view of `[data]`.
pub(crate) struct SingleLabelSection;

impl TaskSection for SingleLabelSection {
    fn source_keys(&self, source: DataSource) -> Option<Vec<String>> {
        Some(match source {
            DataSource::Synthetic => keys_of(&SyntheticConfig::default()),
            DataSource::Csv => keys_of(&CsvKeys::default()),
            DataSource::Idx | DataSource::Cifar10 => keys_of(&FolderKeys::default()),
        })
    }

    fn task_keys(&self) -> &'static [&'static str] {
        &["resampling"]
    }

    fn validate(&self, config: &DataConfig) -> Result<(), DataError> {
        config.validate_single_label()
    }

    fn with_defaults(&self, mut config: DataConfig) -> DataConfig {
        if config.source == DataSource::Synthetic {
            let s = config.synthetic();
            // Easy is written as nothing, as before the key existed: the recorded configs of
            // earlier runs stay equal to today's.
            config.difficulty = (s.difficulty != Difficulty::Easy).then_some(s.difficulty);
            config.max_per_class = Some(s.max_per_class);
            config.features = Some(s.features);
            config.informative = Some(s.informative);
            config.clusters_per_class = Some(s.clusters_per_class);
            config.class_sep = Some(s.class_sep);
            config.label_noise = Some(s.label_noise);
            config.test_per_class = Some(s.test_per_class);
            config.validation_per_class = Some(s.validation_per_class);
        }
        config
    }

    fn estimated_bytes(&self, config: &DataConfig) -> Option<u128> {
        (config.source == DataSource::Synthetic).then(|| synthetic_bytes(&config.synthetic()))
    }
}

/// The bytes a synthetic dataset needs at most: every split's features (4 bytes each) and
/// labels (8), twice (the candidates and the selected training split), plus the mixture's
/// centres and maps. Saturating: absurd values give `u128::MAX`, never an overflow.
fn synthetic_bytes(s: &SyntheticConfig) -> u128 {
    let n = |v: usize| v as u128;
    let per_class = n(s.max_per_class)
        .saturating_add(n(s.test_per_class))
        .saturating_add(n(s.validation_per_class));
    let samples = per_class.saturating_mul(n(s.num_classes));
    let sample_bytes = n(s.features).saturating_mul(4).saturating_add(8);
    let clusters = n(s.num_classes).saturating_mul(n(s.clusters_per_class));
    let mixture = clusters.saturating_mul(
        n(s.informative)
            .saturating_mul(n(s.informative))
            .saturating_add(n(s.informative))
            .saturating_mul(4),
    );
    samples
        .saturating_mul(sample_bytes)
        .saturating_mul(2)
        .saturating_add(mixture)
}

impl DataConfig {
    /// The single-label checks: the generator's keys and parameters, a file source's required
    /// keys, and the profile.
    fn validate_single_label(&self) -> Result<(), DataError> {
        // A file source's n_max is its smallest class, unknown before reading it: a large
        // stand-in checks the profile's own parameters.
        let n_max = match self.source {
            DataSource::Synthetic => {
                self.check_synthetic_keys()?;
                let synthetic = self.synthetic();
                synthetic.validate()?;
                synthetic.max_per_class
            }
            DataSource::Csv => {
                for (key, given) in [
                    ("train", self.train.is_some()),
                    ("test", self.test.is_some()),
                ] {
                    if !given {
                        return Err(DataError::invalid(
                            "data.source",
                            "\"csv\"",
                            format!("given with data.{key}"),
                        ));
                    }
                }
                self.max_per_class.unwrap_or(1 << 20)
            }
            DataSource::Idx | DataSource::Cifar10 => {
                if self.dir.is_none() {
                    return Err(DataError::invalid(
                        "data.source",
                        self.source,
                        "given with data.dir",
                    ));
                }
                self.max_per_class.unwrap_or(1 << 20)
            }
        };
        if self.source != DataSource::Synthetic
            && self.profile == ImbalanceProfile::None
            && let Some(n_max) = self.max_per_class
        {
            return Err(DataError::invalid(
                "max_per_class",
                n_max,
                "left out with profile = { kind = \"none\" }, which keeps the training split \
                 as it is; profile = { kind = \"balanced\" } cuts every class to max_per_class",
            ));
        }
        self.profile.counts(n_max, self.num_classes)?;
        Ok(())
    }

    /// The synthetic keys the user set, checked so that an error names the key set rather
    /// than one it implies (`features = 0`, not `informative = 8: must be in 1..=0`), and the
    /// data's size checked against the machine's memory.
    fn check_synthetic_keys(&self) -> Result<(), DataError> {
        let s = self.synthetic();
        if s.features == 0 {
            return Err(DataError::invalid("features", 0, ">= 1"));
        }
        if self.informative.is_none() && s.informative > s.features {
            return Err(DataError::invalid(
                "features",
                s.features,
                format!(
                    ">= {} (the default of data.informative), or data.informative set to at \
                     most {}",
                    s.informative, s.features
                ),
            ));
        }
        let bytes = synthetic_bytes(&s);
        if let Some(limit) = exceeds_memory(bytes) {
            // Blame the key whose default would shrink the data the most.
            let d = SyntheticConfig::default();
            let candidates: [(&'static str, usize, SyntheticConfig); 7] = [
                (
                    "features",
                    s.features,
                    SyntheticConfig {
                        features: d.features.max(s.informative),
                        ..s.clone()
                    },
                ),
                (
                    "informative",
                    s.informative,
                    SyntheticConfig {
                        informative: d.informative.min(s.features),
                        ..s.clone()
                    },
                ),
                (
                    "max_per_class",
                    s.max_per_class,
                    SyntheticConfig {
                        max_per_class: d.max_per_class,
                        ..s.clone()
                    },
                ),
                (
                    "test_per_class",
                    s.test_per_class,
                    SyntheticConfig {
                        test_per_class: d.test_per_class,
                        ..s.clone()
                    },
                ),
                (
                    "validation_per_class",
                    s.validation_per_class,
                    SyntheticConfig {
                        validation_per_class: d.validation_per_class,
                        ..s.clone()
                    },
                ),
                (
                    "num_classes",
                    s.num_classes,
                    SyntheticConfig {
                        num_classes: d.num_classes,
                        ..s.clone()
                    },
                ),
                (
                    "clusters_per_class",
                    s.clusters_per_class,
                    SyntheticConfig {
                        clusters_per_class: d.clusters_per_class,
                        ..s.clone()
                    },
                ),
            ];
            let (key, value, _) = candidates
                .iter()
                .min_by_key(|(_, _, c)| synthetic_bytes(c))
                .unwrap_or(&candidates[0]);
            return Err(DataError::invalid(
                key,
                value,
                synthetic_must_fit(bytes, limit),
            ));
        }
        Ok(())
    }
}
