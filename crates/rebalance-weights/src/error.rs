//! The error type of this crate.

/// Everything that can go wrong when turning class counts into weights.
///
/// Every message names the offending value and says what would have been valid, so a
/// program can print it as is (`error: {err}`) and the user knows what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WeightError {
    /// Class counts with zero classes.
    #[error("no classes: class counts need at least one class")]
    NoClasses,

    /// A label outside `0..num_classes`.
    #[error(
        "label {label} at position {position} is out of range: labels must be in 0..{num_classes} \
         (num_classes = {num_classes})"
    )]
    LabelOutOfRange {
        /// Position of the label in the input slice.
        position: usize,
        /// The label itself.
        label: usize,
        /// The number of classes the labels were checked against.
        num_classes: usize,
    },

    /// All counts are zero.
    #[error("the class counts have a total of 0 samples: at least one class needs a sample")]
    EmptyDataset,

    /// A class with no sample under [`ZeroCountPolicy::Error`](crate::ZeroCountPolicy::Error).
    #[error(
        "class {class} has no training samples, so its weight is undefined; remove the class, \
         or choose the zero-count policy \"zero-weight\" or \"add-one\""
    )]
    ZeroCount {
        /// Index of the empty class.
        class: usize,
    },

    /// A scheme parameter outside its range (`beta = 1.2: must be in [0, 1)`).
    #[error("{name} = {value}: must be {expected}")]
    InvalidParameter {
        /// Parameter name, as written in configs (`beta`, `p`).
        name: &'static str,
        /// The rejected value, as written.
        value: String,
        /// The valid range, in words.
        expected: &'static str,
    },

    /// A scheme parameter given to a scheme that does not take it (`beta` with `ins`), or
    /// given twice (`ens:0.99` and `beta`).
    #[error("{name} = {value}: {problem}")]
    MisplacedParameter {
        /// Parameter name, as written in configs (`beta`, `power`, `custom_weights`).
        name: &'static str,
        /// The value, as written.
        value: String,
        /// What is wrong and what would be valid.
        problem: String,
    },

    /// A name that is not one of the known variants (scheme, normalization, policy).
    #[error("unknown {what} {value:?}: expected one of {expected}")]
    UnknownName {
        /// What was being parsed (`scheme`, `normalization`, `zero-count policy`).
        what: &'static str,
        /// The rejected text.
        value: String,
        /// The accepted names, comma-separated.
        expected: String,
    },

    /// A custom weight vector whose length differs from the number of classes.
    #[error(
        "custom weights have {len} values but there are {num_classes} classes: give one weight per class"
    )]
    CustomLength {
        /// Length of the given vector.
        len: usize,
        /// Number of classes.
        num_classes: usize,
    },

    /// A custom weight that is negative, NaN or infinite.
    #[error("custom weight for class {class} is {value}: weights must be finite and >= 0")]
    InvalidCustomWeight {
        /// Index of the class.
        class: usize,
        /// The rejected weight.
        value: f64,
    },

    /// Weights that sum to zero cannot be normalized.
    #[error(
        "all weights of the classes that have samples are 0, so they cannot be normalized; \
         give at least one such class a positive weight, or use normalization \"none\""
    )]
    ZeroSum,

    /// A tensor whose shape does not fit the weights.
    #[error("{what} has shape {shape:?}, expected {expected}")]
    ShapeMismatch {
        /// The tensor argument (`multi_hot`).
        what: &'static str,
        /// Its actual shape.
        shape: Vec<usize>,
        /// The expected shape, in words.
        expected: String,
    },
}

impl WeightError {
    /// The error for `text` not naming any variant of `T` (strum's `parse_err_fn`).
    pub(crate) fn unknown_name<T: strum::VariantNames>(what: &'static str, text: &str) -> Self {
        WeightError::UnknownName {
            what,
            value: text.to_string(),
            expected: T::VARIANTS.join(", "),
        }
    }
}
