//! The error type of this crate.

use rebalance_weights::{ClassCounts, WeightError};

use crate::LossKind;

/// A loss configuration that cannot be built.
///
/// Every message names the offending value and says what would be valid
/// (`gamma = -1: must be finite and >= 0`). Losses never panic on a bad config.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LossError {
    /// A scalar parameter outside its range.
    #[error("{name} = {value}: must be {expected}")]
    InvalidParameter {
        /// The config field (`gamma`, `smoothing`, `tau`, ...).
        name: &'static str,
        /// The rejected value, as written.
        value: String,
        /// The valid range, in words.
        expected: &'static str,
    },

    /// A per-class vector whose length differs from the number of classes.
    #[error(
        "{name} has {len} values but there are {num_classes} classes: give one value per class"
    )]
    WrongLength {
        /// The config field (`weights`, `pos_weight`).
        name: &'static str,
        /// Length of the given vector.
        len: usize,
        /// Number of classes.
        num_classes: usize,
    },

    /// A per-class value that is negative, NaN or infinite.
    #[error("{name}[{class}] = {value}: must be finite and >= 0")]
    InvalidClassValue {
        /// The config field (`weights`, `pos_weight`).
        name: &'static str,
        /// Index of the class.
        class: usize,
        /// The rejected value.
        value: f64,
    },

    /// A name that is not one of the known variants.
    #[error("unknown {what} {value:?}: expected one of {expected}")]
    UnknownName {
        /// What was being parsed (`reduction`, `class-balanced base loss`).
        what: &'static str,
        /// The rejected text.
        value: String,
        /// The accepted names, comma-separated.
        expected: String,
    },

    /// A config key that the loss kind does not take (`gamma` with `kind = "ldam"`, or a
    /// misspelt key).
    #[error("{key} does not apply to kind = \"{kind}\"; its keys are {keys}")]
    KeyNotForKind {
        /// The key.
        key: String,
        /// The loss kind.
        kind: LossKind,
        /// The keys the kind takes, comma-separated.
        keys: String,
    },

    /// A key or shape of an older config format, with its new spelling.
    #[error("{key}: {new_spelling}")]
    Renamed {
        /// The old key.
        key: &'static str,
        /// What to write instead.
        new_spelling: &'static str,
    },

    /// A loss without a multi-hot form asked to train multi-label data.
    #[error("kind = \"{kind}\" cannot train multi-label data: {why}")]
    NotMultiLabel {
        /// The loss kind.
        kind: LossKind,
        /// Why, and what to use instead.
        why: &'static str,
    },

    /// `pos_weight = "balanced"` with a label positive in more rows than there are samples.
    #[error(
        "pos_weight = \"balanced\": label {label} has {count} positives but there are only \
         {samples} training samples (samples must count the training rows)"
    )]
    MorePositivesThanSamples {
        /// Index of the label.
        label: usize,
        /// Its positive count.
        count: u64,
        /// The number of training samples given.
        samples: u64,
    },

    /// A dense label (a pixel of a segmentation mask) outside the classes that is not the
    /// ignore index.
    #[error(
        "label {label} at position {position} (row-major) is outside 0..{num_classes} and is \
         not the ignore index"
    )]
    LabelOutOfRange {
        /// Row-major position of the element in the targets tensor.
        position: usize,
        /// The label.
        label: i64,
        /// The number of classes.
        num_classes: usize,
    },

    /// A run of a pack that differs from the pack's first run where the runs of a pack must
    /// agree (the loss kind, the number of classes, a parameter the pack shares): see
    /// [`PackedLoss`](crate::PackedLoss).
    #[error("run {run} of the pack has {name} = {found} but run 0 has {expected}: {why}")]
    PackMismatch {
        /// Index of the run, counted from 0.
        run: usize,
        /// What differs (`kind`, `classes`, `gamma`, ...).
        name: &'static str,
        /// The run's value.
        found: String,
        /// Run 0's value.
        expected: String,
        /// Why they must agree, and what to do.
        why: &'static str,
    },

    /// The class counts or weights could not be turned into class weights.
    #[error(transparent)]
    Weights(#[from] WeightError),
}

impl LossError {
    /// The error for `text` not naming any variant of `T` (strum's `parse_err_fn`).
    pub(crate) fn unknown_name<T: strum::VariantNames>(what: &'static str, text: &str) -> Self {
        LossError::UnknownName {
            what,
            value: text.to_string(),
            expected: T::VARIANTS.join(", "),
        }
    }
}

/// Checks `low <= value` (or `<` when `strict`), finite; the error names `name`.
pub(crate) fn check_min(
    name: &'static str,
    value: f64,
    low: f64,
    strict: bool,
    expected: &'static str,
) -> Result<(), LossError> {
    let ok = value.is_finite() && if strict { value > low } else { value >= low };
    if ok {
        Ok(())
    } else {
        Err(LossError::InvalidParameter {
            name,
            value: shown(value),
            expected,
        })
    }
}

/// `value` as a message shows it: in scientific notation where plain digits would be long
/// (`1e30`, not 31 digits).
pub(crate) fn shown(value: f64) -> String {
    if value.is_finite() && value != 0.0 && (value.abs() >= 1e6 || value.abs() < 1e-4) {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

/// Checks a per-class vector: every value finite and `>= 0`, and, when `num_classes` is
/// known, one value per class.
pub(crate) fn check_class_values(
    name: &'static str,
    values: &[f64],
    num_classes: Option<usize>,
) -> Result<(), LossError> {
    if let Some(num_classes) = num_classes
        && values.len() != num_classes
    {
        return Err(LossError::WrongLength {
            name,
            len: values.len(),
            num_classes,
        });
    }
    if values.is_empty() {
        return Err(LossError::WrongLength {
            name,
            len: 0,
            num_classes: num_classes.unwrap_or(0),
        });
    }
    match values
        .iter()
        .enumerate()
        .find(|&(_, v)| !(v.is_finite() && *v >= 0.0))
    {
        Some((class, &value)) => Err(LossError::InvalidClassValue { name, class, value }),
        None => Ok(()),
    }
}

/// Refuses the first of `keys` that is given (its value `Some`, as written):
/// `name = value: must be {expected}`.
pub(crate) fn refuse_given<const N: usize>(
    keys: [(&'static str, Option<String>); N],
    expected: &'static str,
) -> Result<(), LossError> {
    match keys
        .into_iter()
        .find_map(|(name, value)| Some((name, value?)))
    {
        Some((name, value)) => Err(LossError::InvalidParameter {
            name,
            value,
            expected,
        }),
        None => Ok(()),
    }
}

/// Checks optional class weights as [`check_class_values`] does, under the name `weights`.
pub(crate) fn check_weights(
    weights: Option<&[f64]>,
    num_classes: Option<usize>,
) -> Result<(), LossError> {
    weights.map_or(Ok(()), |weights| {
        check_class_values("weights", weights, num_classes)
    })
}

/// `counts` as [`ClassCounts`], for a loss that needs a sample in every class (its margins or
/// log-priors are undefined for an empty one).
pub(crate) fn counts_of_every_class(counts: &[u64]) -> Result<ClassCounts, LossError> {
    let counts = ClassCounts::from_counts(counts.to_vec())?;
    check_every_class(&counts)?;
    Ok(counts)
}

/// An error naming the first class of `counts` without a sample, if any.
pub(crate) fn check_every_class(counts: &ClassCounts) -> Result<(), LossError> {
    match counts.empty_classes().next() {
        Some(class) => Err(WeightError::ZeroCount { class }.into()),
        None => Ok(()),
    }
}
