//! The checks of `[data]` that need no file: the keys of each source, the generator's
//! parameters, the profile and the memory the data would take.

use super::*;

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
        if let Some(limit) = exceeds_memory(per_class_bytes) {
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
        self.task.section().validate(self)
    }

    /// The bytes the synthetic data needs at most (every split's features and labels, a copy
    /// while the training split is selected, and the mixture's maps); `None` for a file
    /// source, whose size is known once read.
    pub fn estimated_bytes(&self) -> Option<u128> {
        self.task.section().estimated_bytes(self)
    }
}
