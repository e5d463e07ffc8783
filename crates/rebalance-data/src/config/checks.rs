//! The checks of `[data]` that need no file: the keys of each source, the generator's
//! parameters, the profile and the memory the data would take.

use super::*;

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

/// The bytes the multi-label synthetic data needs at most: features (4 bytes each) and a
/// label list per sample (a 24-byte header and the labels' 4-byte indices), twice (the pool
/// and the splits), plus the label directions. Saturating.
pub(crate) fn multi_label_bytes(s: &MultiLabelSyntheticConfig) -> u128 {
    let n = |v: usize| v as u128;
    let per_sample = n(s.features)
        .saturating_mul(4)
        .saturating_add(24)
        .saturating_add(n(s.num_labels).saturating_mul(4));
    n(s.samples)
        .saturating_mul(per_sample)
        .saturating_mul(2)
        .saturating_add(
            n(s.num_labels)
                .saturating_mul(n(s.informative))
                .saturating_mul(4),
        )
}

impl DataConfig {
    /// Checks every key that needs no file: keys of another source, a source's required keys,
    /// the generator's parameters and the profile. [`load`](Self::load) runs these checks
    /// first; call this to refuse a config before anything else starts.
    ///
    /// # Errors
    /// The first bad key, named as in the config file (`data.profile.factor = 0.5: must be
    /// >= 1 ...`).
    pub fn validate(&self) -> Result<(), DataError> {
        self.validate_unqualified().map_err(in_data_section)
    }

    pub(crate) fn validate_unqualified(&self) -> Result<(), DataError> {
        if self.validation_fraction > 0.0 && self.validation_per_class.is_some_and(|n| n > 0) {
            return Err(DataError::invalid(
                "data.validation_fraction",
                self.validation_fraction,
                "0 when data.validation_per_class is set (one validation split: the synthetic \
                 source's balanced one, or a fraction of the training split)",
            ));
        }
        self.check_keys()?;
        // Per-class counts, weights and a head row per class: a bound before any is allocated.
        let per_class_bytes = (self.num_classes as u128).saturating_mul(64);
        let limit = u128::from(total_memory());
        if per_class_bytes > limit {
            return Err(DataError::invalid(
                "num_classes",
                self.num_classes,
                format!(
                    "small enough for the per-class data to fit in memory (64 bytes a class, \
                     at most {} classes on this machine)",
                    limit / 64
                ),
            ));
        }
        if self.task == Task::MultiLabel {
            return self.validate_multi_label();
        }
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

    /// The bytes the synthetic data needs at most (every split's features and labels, a copy
    /// while the training split is selected, and the mixture's maps); `None` for a file
    /// source, whose size is known once read.
    pub fn estimated_bytes(&self) -> Option<u128> {
        if self.source != DataSource::Synthetic {
            return None;
        }
        Some(match self.task {
            Task::SingleLabel => synthetic_bytes(&self.synthetic()),
            Task::MultiLabel => multi_label_bytes(&self.multi_label_synthetic()),
        })
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
        let limit = u128::from(total_memory());
        if bytes > limit {
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
                format!(
                    "small enough for the synthetic data to fit in memory: it needs about {}, \
                     more than the machine's {}",
                    human_bytes(bytes),
                    human_bytes(limit)
                ),
            ));
        }
        Ok(())
    }

    /// Keys set for another task or another source.
    fn check_keys(&self) -> Result<(), DataError> {
        self.check_task_keys()?;
        let synthetic_only = [
            ("difficulty", self.difficulty.is_some()),
            ("features", self.features.is_some()),
            ("informative", self.informative.is_some()),
            ("clusters_per_class", self.clusters_per_class.is_some()),
            ("class_sep", self.class_sep.is_some()),
            ("label_noise", self.label_noise.is_some()),
            ("test_per_class", self.test_per_class.is_some()),
            ("validation_per_class", self.validation_per_class.is_some()),
            ("samples", self.samples.is_some()),
            ("head_frequency", self.head_frequency.is_some()),
            ("co_occurrence", self.co_occurrence.is_some()),
            ("label_sep", self.label_sep.is_some()),
            ("test_fraction", self.test_fraction.is_some()),
        ];
        let csv_only = [
            ("train", self.train.is_some()),
            ("test", self.test.is_some()),
            ("label_column", self.label_column.is_some()),
            ("label_columns", self.label_columns.is_some()),
            ("label_separator", self.label_separator.is_some()),
        ];
        let folder_only = [("dir", self.dir.is_some())];
        let foreign: Vec<&str> = match self.source {
            DataSource::Synthetic => csv_only.iter().chain(&folder_only).collect::<Vec<_>>(),
            DataSource::Csv => synthetic_only.iter().chain(&folder_only).collect(),
            DataSource::Idx | DataSource::Cifar10 => {
                synthetic_only.iter().chain(&csv_only).collect()
            }
        }
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| *name)
        .collect();
        if let Some(name) = foreign.first() {
            return Err(DataError::invalid(
                "data.source",
                format!("{} with data.{name}", self.source),
                format!("the source that uses data.{name}, or data.{name} removed"),
            ));
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return Err(DataError::invalid(
                "data.validation_fraction",
                self.validation_fraction,
                "in [0, 1)",
            ));
        }
        Ok(())
    }
}
