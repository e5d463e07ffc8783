//! What to do with classes that have no training sample.

use crate::WeightError;

crate::config_enum! {
    /// What a class with no training sample gets, since `1 / n_c` is undefined at `n_c = 0`.
    ///
    /// The policy is about the data, not the scheme, so it applies to every scheme (even
    /// `uniform` and `custom`, whose formulas do not divide by the count): a class absent from the
    /// training split is most often a mistake, and the default makes it an error.
    ///
    /// | name | effect |
    /// |---|---|
    /// | `error` (default) | [`WeightError::ZeroCount`] naming the first empty class |
    /// | `zero-weight` | empty classes weigh 0; the scheme and the normalization see only the classes that have samples (for `balanced`, `C` is their number; for `median`, the median is over them) |
    /// | `add-one` | every count is smoothed to `n_c + 1` before the scheme is applied |
    pub enum ZeroCountPolicy("zero-count policy", WeightError) {
        /// An empty class is an error that names it (the default).
        #[default]
        Error,
        /// Empty classes get weight 0 and are left out of the scheme and the normalization.
        ZeroWeight,
        /// Laplace smoothing: every class's count is taken as `n_c + 1`.
        AddOne,
    }
}
