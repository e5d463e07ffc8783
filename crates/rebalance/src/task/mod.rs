//! The task dimension: what single-label and multi-label classification do differently, behind
//! one trait. Training, resuming, DRW phases, devices, the run directory and `eval`'s
//! skeleton are written once (`crate::run`: `training`, `launch`, `start`), generic over a [`TaskKind`]; each task
//! supplies its data, loss, batches, live metrics, evaluation, report and plots.
//!
//! | | [`SingleLabel`] | [`MultiLabel`] |
//! |---|---|---|
//! | target | a class index | a set of positive labels |
//! | loss | softmax ([`rebalance_loss::ImbalanceLoss`]) | sigmoid of multi-hot targets ([`rebalance_loss::MultiLabelLoss`]) |
//! | live metrics | accuracy, balanced accuracy, macro-F1, G-mean, per-class recall | macro-F1, micro-F1, mAP, Hamming score |
//! | decision | the argmax, post-hoc adjusted (`eval.posthoc_tau`) | a threshold per label (0.5 or tuned on validation) |
//! | report | `single_label::report::Report` | `multi_label::report::MultiLabelReport` |
//!
//! Methods defined for softmax outputs only are refused for multi-label runs, with a one-line
//! error: their config keys in `RunConfig::validate_task` (`crate::run::config`), `eval`'s flags in
//! [`MultiLabel`]'s `reevaluate`. They are cRT (`train.stage2`: Kang et al.'s class-balanced
//! sampling has no one definition over label sets), post-hoc logit adjustment and target
//! priors (derived for the softmax's balanced error; a per-label threshold, which
//! `eval.thresholds = "tuned"` fits, is the sigmoid's counterpart), temperature scaling and
//! τ-normalisation (`eval`'s softmax calibration and Kang et al.'s softmax classifier).

pub mod multi_label;
pub mod run_facts;
pub mod shared;
pub mod single_label;

use burn::prelude::{Device, Module};

use crate::run::config::RunConfig;
use crate::run::model::{TaskClassifier, TaskLoss};
pub use crate::run::task::{Loader, TaskKind, TaskReport, Trained};
pub use multi_label::MultiLabel;
pub use single_label::SingleLabel;

/// Runs `$body` with `$T` the [`TaskKind`] of `$task` (a [`rebalance_data::Task`]): the one
/// place a task value becomes a type.
#[macro_export]
macro_rules! for_task {
    ($task:expr, $T:ident => $body:expr) => {
        match $task {
            rebalance_data::Task::SingleLabel => {
                type $T = $crate::task::SingleLabel;
                $body
            }
            rebalance_data::Task::MultiLabel => {
                type $T = $crate::task::MultiLabel;
                $body
            }
        }
    };
}

/// The classifier `config.model` describes for `data`, with `loss` (`[loss]`, built for the
/// task) as its field: both tasks' `TaskKind::model`.
///
/// # Errors
/// A loss that could not be built, or a model that does not fit the data.
pub(crate) fn classifier<L: Module + TaskLoss, T: rebalance_data::Target>(
    config: &RunConfig,
    data: &rebalance_data::LongTailData<T>,
    loss: Result<L, rebalance_loss::LossError>,
    device: &Device,
) -> anyhow::Result<TaskClassifier<L>> {
    let loss = loss.map_err(loss_error("loss"))?;
    Ok(TaskClassifier::new(
        &config.model,
        &data.feature_shape,
        data.num_classes,
        loss,
        device,
    )?)
}

/// A loss that cannot be built as one line naming its table's key: a `custom_weights` of the
/// wrong length is `loss.custom_weights` (or `train.stage2.loss.custom_weights`), counted
/// against the classes the data has, which validation alone cannot know.
pub(crate) fn loss_error(
    table: &'static str,
) -> impl FnOnce(rebalance_loss::LossError) -> anyhow::Error {
    move |error| match error {
        rebalance_loss::LossError::Weights(rebalance_weights::WeightError::CustomLength {
            len,
            num_classes,
        }) => anyhow::anyhow!(
            "{table}.custom_weights = [{len} values]: must be {num_classes} weights, one per \
             class of the data"
        ),
        other => other.into(),
    }
}
