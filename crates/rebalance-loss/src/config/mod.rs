//! Picking a loss from a config file: what a [`LossConfig`] does with the kind it holds.
//!
//! [`LossConfig`] is the one schema of a loss: the `rebalance` binary deserializes its `[loss]`
//! section into it, and a library user can do the same. Each kind's keys, defaults, checks and
//! construction are its `*Keys` struct, in its loss's file (`kind.rs` says what one brings);
//! `LossConfig` lists the kinds (`losses.rs`) and delegates. `table.rs` reads and writes the
//! `[loss]` table, `weighting.rs` holds the class-weight keys the kinds share.

pub(crate) mod key_names;
pub(crate) mod kind;
pub(crate) mod table;
mod weighting;

use std::sync::LazyLock;

use burn::prelude::*;
use rebalance_weights::{ClassCounts, ClassWeights};
use strum::IntoEnumIterator;

pub use weighting::ClassWeighting;
pub(crate) use weighting::weight_keys;

use crate::config::kind::BuildInputs;
use crate::config::weighting::RENAMED_KEYS;
use crate::{ImbalanceLoss, LossConfig, LossError, LossKind, MultiLabelLoss, Reduction};

impl Default for LossConfig {
    /// Plain, unweighted cross-entropy.
    fn default() -> Self {
        Self::with_defaults(LossKind::default())
    }
}

impl LossKind {
    /// The config keys this kind takes besides `kind`, in the order a config lists them: the
    /// fields of its `*Keys` struct.
    pub fn keys(self) -> Vec<&'static str> {
        /// Each kind's keys, in the order of [`LossKind::iter`], read once from the types.
        static KEYS: LazyLock<Vec<Vec<String>>> =
            LazyLock::new(|| LossKind::iter().map(LossKind::written_keys).collect());
        KEYS[self as usize].iter().map(String::as_str).collect()
    }
}

impl LossConfig {
    /// The loss kind.
    pub fn kind(&self) -> LossKind {
        self.into()
    }

    /// The `kind` name (`"ldam"`).
    pub fn name(&self) -> &'static str {
        self.kind().into()
    }

    /// Whether `name` (or, for a nested key, its part before the first `.`) is a key of a
    /// `[loss]` table: `kind`, a key some kind takes, or an earlier spelling that is refused
    /// with the new one. The error messages of a `[loss]` table start with such a key.
    pub fn is_key(name: &str) -> bool {
        let name = name.split('.').next().unwrap_or_default();
        name == "kind"
            || RENAMED_KEYS.iter().any(|(key, _)| *key == name)
            || LossKind::iter().any(|kind| kind.keys().contains(&name))
    }

    /// The class weighting, if the loss has one (`class-balanced` computes its own, `lade`
    /// has none).
    pub fn weighting(&self) -> Option<&ClassWeighting> {
        self.as_keys().weighting()
    }

    /// The reduction.
    pub fn reduction(&self) -> Reduction {
        self.as_keys().reduction()
    }

    /// Checks every parameter that does not depend on the class counts, with the checks of
    /// the loss's own `*Config` (so before any data is loaded, a config can be refused for
    /// what [`init`](Self::init) would refuse later).
    ///
    /// # Errors
    /// The first parameter out of range, naming it (`gamma = -1: must be finite and >= 0`).
    pub fn validate(&self) -> Result<(), LossError> {
        if let Some(weighting) = self.weighting() {
            weighting.scheme.validate()?;
        }
        self.as_keys().validate()
    }

    /// Whether the class weights at `epoch` differ from those of the epoch before, so the
    /// loss must be rebuilt with [`init_for_epoch`](Self::init_for_epoch) (the DRW switch).
    pub fn weights_change_at(&self, epoch: usize) -> bool {
        self.weighting()
            .is_some_and(|w| epoch > 0 && epoch == w.start_epoch)
    }

    /// The loss for the first epoch (epoch 0). Same as `init_for_epoch(counts, 0, device)`.
    ///
    /// # Errors
    /// As [`init_for_epoch`](Self::init_for_epoch).
    pub fn init(&self, counts: &ClassCounts, device: &Device) -> Result<ImbalanceLoss, LossError> {
        self.init_for_epoch(counts, 0, device)
    }

    /// The loss for `epoch` (counted from 0), with the class weights in force then.
    /// `pos_weight = "balanced"` takes `N = counts.total()` samples.
    ///
    /// # Errors
    /// Any parameter out of range, a class without samples (unless the weighting's
    /// zero-count policy allows it), a `pos_weight` of the wrong length; the message names
    /// the value.
    pub fn init_for_epoch(
        &self,
        counts: &ClassCounts,
        epoch: usize,
        device: &Device,
    ) -> Result<ImbalanceLoss, LossError> {
        self.build(counts, counts.total(), epoch, device)
    }

    /// The loss for `epoch`, with `samples` training rows for `pos_weight = "balanced"`.
    fn build(
        &self,
        counts: &ClassCounts,
        samples: u64,
        epoch: usize,
        device: &Device,
    ) -> Result<ImbalanceLoss, LossError> {
        self.as_keys().build(&BuildInputs {
            counts,
            samples,
            epoch,
            device,
        })
    }

    /// Checks that the loss takes multi-hot targets: `sigmoid`, `sigmoid-focal`, or
    /// `class-balanced` on its `sigmoid` or `focal` base. The softmax losses have one true
    /// class per sample.
    ///
    /// # Errors
    /// [`LossError::NotMultiLabel`], naming the kind and the kinds that would do.
    pub fn check_multi_label(&self) -> Result<(), LossError> {
        self.as_keys()
            .multi_label()
            .map_err(|why| LossError::NotMultiLabel {
                kind: self.kind(),
                why,
            })
    }

    /// The loss of multi-label targets for `epoch` (counted from 0): as
    /// [`init_for_epoch`](Self::init_for_epoch), with `label_counts` the positives of each
    /// label over the training split (a sample counts once for each of its positive labels)
    /// and `samples` the number of training rows `N` (for `pos_weight = "balanced"`:
    /// `(N - n_pos) / n_pos` per label).
    ///
    /// # Errors
    /// As [`check_multi_label`](Self::check_multi_label) and
    /// [`init_for_epoch`](Self::init_for_epoch); with `pos_weight = "balanced"`, a label with
    /// more positives than `samples`.
    pub fn init_multi_label(
        &self,
        label_counts: &ClassCounts,
        samples: u64,
        epoch: usize,
        device: &Device,
    ) -> Result<MultiLabelLoss, LossError> {
        self.check_multi_label()?;
        let loss = self.build(label_counts, samples, epoch, device)?;
        // `check_multi_label` has refused every kind that builds none.
        MultiLabelLoss::from_loss(loss).ok_or(LossError::NotMultiLabel {
            kind: self.kind(),
            why: "it has one true class per sample",
        })
    }

    /// The weight of a multi-hot row without a positive label, where it differs from the other
    /// rows' rule: `Some(no_label_weight)` for a class-weighted sigmoid loss under
    /// `positive-sum` (0 by default: such rows drop out of the loss, the weighting article's
    /// rule), `None` for an unweighted loss (every row weighs 1), `per-label` weighting, or a
    /// softmax loss.
    pub fn no_label_row_weight(&self) -> Option<f64> {
        self.as_keys().no_label_row_weight()
    }

    /// The class weights in force at `epoch`, if the loss has any (for reports).
    ///
    /// # Errors
    /// As [`init_for_epoch`](Self::init_for_epoch).
    pub fn class_weights_at(
        &self,
        counts: &ClassCounts,
        epoch: usize,
    ) -> Result<Option<ClassWeights>, LossError> {
        self.as_keys().class_weights_at(counts, epoch)
    }
}
