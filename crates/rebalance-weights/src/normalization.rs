//! How raw class weights are scaled.

use crate::WeightError;

crate::config_enum! {
    /// How raw weights are scaled once a [`Scheme`](crate::Scheme) has produced them.
    ///
    /// Only the scale changes: the ratios between classes stay those of the scheme. The scale
    /// matters for losses reduced by a plain mean (`Σ w_y·l / N`) and for the learning rate; a
    /// weighted mean (`Σ w_y·l / Σ w_y`) cancels it.
    ///
    /// | name | rule | from |
    /// |---|---|---|
    /// | `sum-to-classes` (default) | `w_c ← K · w_c / Σ_j w_j`, so the weights sum to the number of classes | Cui et al., CVPR 2019 |
    /// | `mean-sample` | `w_c ← N · w_c / Σ_j n_j·w_j`, so the mean weight per training sample is 1 | scikit-learn |
    /// | `none` | raw weights | |
    ///
    /// `K` is the number of classes `C`, except under
    /// [`ZeroCountPolicy::ZeroWeight`](crate::ZeroCountPolicy::ZeroWeight), where it is the number
    /// of classes that have samples (the empty ones weigh 0 and take no share). `n_j` and `N` in
    /// `mean-sample` are always the real counts, so the invariant holds on the real training set
    /// even under [`ZeroCountPolicy::AddOne`](crate::ZeroCountPolicy::AddOne).
    pub enum Normalization("normalization", WeightError) {
        /// `w_c ← K · w_c / Σ_j w_j`: weights sum to the number of classes (the default).
        #[default]
        SumToClasses,
        /// `w_c ← N · w_c / Σ_j n_j·w_j`: the mean per-sample weight over the training set is 1.
        MeanSample,
        /// Raw weights, unscaled.
        None,
    }
}
