//! The error type of this crate.

use std::path::PathBuf;

/// Why a dataset could not be built, naming the file, record and value involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// A file's content is not what its format requires.
    #[error("{path}: {location}{message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Where in the file (`line 4: `, `record 12: `, or empty).
        location: String,
        /// What is wrong, with the offending value.
        message: String,
    },

    /// A parameter outside its range (`imbalance factor = 0.5: must be >= 1`).
    #[error("{name} = {value}: must be {expected}")]
    InvalidParameter {
        /// The parameter, as configs name it.
        name: &'static str,
        /// The rejected value.
        value: String,
        /// The valid range, in words.
        expected: String,
    },

    /// A split left without any sample.
    #[error("the {split} split has no samples")]
    EmptySplit {
        /// The split (`training`, `validation`, `test`).
        split: &'static str,
    },

    /// A class left without samples.
    #[error("class {class} has no {split} samples{cause}")]
    EmptyClass {
        /// The class index.
        class: usize,
        /// The split (`training`, `test`).
        split: &'static str,
        /// What caused it (` after profile exponential (factor 1000) on n_max = 5`), or empty.
        cause: String,
    },

    /// A label (multi-label data) without a positive sample in a split whose counts feed the
    /// weights, under the zero-count policy `error`.
    #[error(
        "label {label:?} has no positive {split} sample{cause}, so its weight is undefined; \
         remove the label, or choose the zero-count policy \"zero-weight\" (the label weighs 0) \
         or \"add-one\" (every label's count taken as n + 1)"
    )]
    EmptyLabel {
        /// The label's name.
        label: String,
        /// The split (`training`).
        split: &'static str,
        /// Where the samples came from (` in train.csv`), or empty.
        cause: String,
    },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(
        path: impl Into<PathBuf>,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        DataError::Format {
            path: path.into(),
            location: location.into(),
            message: message.into(),
        }
    }

    /// The error for `text` not naming any variant of `T` (see `config_enum!`).
    pub(crate) fn unknown_name<T: strum::VariantNames>(what: &'static str, text: &str) -> Self {
        Self::invalid(what, text, format!("one of {}", T::VARIANTS.join(", ")))
    }

    pub(crate) fn invalid(
        name: &'static str,
        value: impl ToString,
        expected: impl Into<String>,
    ) -> Self {
        DataError::InvalidParameter {
            name,
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}
