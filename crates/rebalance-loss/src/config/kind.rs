//! [`LossKeys`]: what each kind of [`LossConfig`](crate::LossConfig) brings from its loss's
//! own file, and [`BuildInputs`], what a loss is built from.

use burn::prelude::*;
use rebalance_weights::{ClassCounts, ClassWeights};

use crate::error::check_class_values;
use crate::{ClassWeighting, ImbalanceLoss, LossError, PosWeight, Reduction};

/// Why a softmax loss cannot train multi-hot targets.
const SOFTMAX: &str = "it is a softmax loss, with one true class per sample; use kind = \
                       \"sigmoid\", \"sigmoid-focal\" or \"class-balanced\"";

/// One kind of [`LossConfig`](crate::LossConfig), implemented in its loss's file by its
/// `*Keys` struct (`LdamKeys` in `ldam.rs`).
///
/// The struct's serde form is the kind's table in a config file besides `kind`: its fields
/// are the keys, in the order they are written and listed in errors; its `Default` holds the
/// defaults, read from the loss's own `*Config`; a `weights` field flattened with
/// `crate::config::weight_keys` takes the class-weight keys. Its `Serialize` writes every
/// field, `None` ones included (TOML leaves them out): no `skip_serializing_if`, or the key
/// drops out of the kind's keys ([`LossKind::keys`](crate::LossKind::keys) reads them from
/// there).
pub(crate) trait LossKeys {
    /// Checks every key that does not depend on the class counts, with the checks of the
    /// loss's own `*Config` (those its `init` runs).
    fn validate(&self) -> Result<(), LossError>;

    /// The loss for the counts, epoch and device of `inputs`.
    fn build(&self, inputs: &BuildInputs<'_>) -> Result<ImbalanceLoss, LossError>;

    /// The reduction.
    fn reduction(&self) -> Reduction;

    /// The class weighting; `None` without class weights.
    fn weighting(&self) -> Option<&ClassWeighting> {
        None
    }

    /// `Ok` if the loss takes multi-hot targets, else why not.
    fn multi_label(&self) -> Result<(), &'static str> {
        Err(SOFTMAX)
    }

    /// The weight of a multi-hot row without a positive label where it differs from the
    /// other rows' rule (see
    /// [`LossConfig::no_label_row_weight`](crate::LossConfig::no_label_row_weight)).
    fn no_label_row_weight(&self) -> Option<f64> {
        None
    }

    /// The class weights in force at `epoch`, if the loss has any.
    fn class_weights_at(
        &self,
        counts: &ClassCounts,
        epoch: usize,
    ) -> Result<Option<ClassWeights>, LossError> {
        self.weighting()
            .map(|w| Ok(w.schedule(counts)?.weights_at(epoch).clone()))
            .transpose()
    }
}

/// What a loss is built from.
pub(crate) struct BuildInputs<'a> {
    /// Training samples per class (positives per label for multi-hot targets).
    pub counts: &'a ClassCounts,
    /// Training rows, for `pos_weight = "balanced"`.
    pub samples: u64,
    /// The epoch, counted from 0 (the DRW switch).
    pub epoch: usize,
    /// Where the loss's tensors go.
    pub device: &'a Device,
}

impl BuildInputs<'_> {
    /// The counts, as the `*Config`s take them.
    pub fn class_counts(&self) -> Vec<u64> {
        self.counts.as_slice().to_vec()
    }

    /// The class weights of `weighting` at the epoch; `None` without weighting.
    pub fn class_weights(
        &self,
        weighting: Option<&ClassWeighting>,
    ) -> Result<Option<Vec<f64>>, LossError> {
        weighting
            .map(|w| {
                Ok(w.schedule(self.counts)?
                    .weights_at(self.epoch)
                    .as_slice()
                    .to_vec())
            })
            .transpose()
    }

    /// `pos_weight` resolved from the counts, one value per class.
    pub fn pos_weight(
        &self,
        pos_weight: Option<&PosWeight>,
    ) -> Result<Option<Vec<f64>>, LossError> {
        let Some(pos_weight) = pos_weight else {
            return Ok(None);
        };
        let values = pos_weight.resolve(self.counts, self.samples)?;
        check_class_values("pos_weight", &values, Some(self.counts.num_classes()))?;
        Ok(Some(values))
    }
}

/// [`LossKeys::reduction`] and [`LossKeys::weighting`] of a `*Keys` with `reduction` and
/// `weights` fields.
macro_rules! reduction_and_weights {
    () => {
        fn reduction(&self) -> $crate::Reduction {
            self.reduction
        }

        fn weighting(&self) -> Option<&$crate::ClassWeighting> {
            self.weights.as_ref()
        }
    };
}

/// [`LossKeys::validate`] and [`LossKeys::build`] of a kind whose loss is its `*Config` for the
/// class counts, `self.config(counts)`: the `*Config`'s checks (no counts needed) and its
/// `init`. `through_config!(weighted)` builds it with the epoch's class weights (its `*Keys`
/// has `weights` and `reduction` fields) and adds [`reduction_and_weights`].
macro_rules! through_config {
    () => {
        $crate::config::kind::through_config!(@validate);

        fn build(
            &self,
            inputs: &$crate::config::kind::BuildInputs<'_>,
        ) -> Result<$crate::ImbalanceLoss, $crate::LossError> {
            Ok(self.config(inputs.class_counts()).init(inputs.device)?.into())
        }
    };
    (weighted) => {
        $crate::config::kind::through_config!(@validate);

        fn build(
            &self,
            inputs: &$crate::config::kind::BuildInputs<'_>,
        ) -> Result<$crate::ImbalanceLoss, $crate::LossError> {
            let weights = inputs.class_weights(self.weights.as_ref())?;
            Ok(self
                .config(inputs.class_counts())
                .with_weights(weights)
                .init(inputs.device)?
                .into())
        }

        $crate::config::kind::reduction_and_weights!();
    };
    (@validate) => {
        fn validate(&self) -> Result<(), $crate::LossError> {
            self.config(Vec::new()).validate()
        }
    };
}

/// A kind's `*Keys` struct (see [`LossKeys`]), its `Default` and its `config(counts)`, from
/// its own keys: each is a field with its doc, and `=> with_key` (its `*Config`'s setter, whose
/// default the key takes) or `= |config| default` (a key the `*Config` holds in another form,
/// or not at all: its default from the `*Config`'s, and `config` leaves it out). The keys every kind shares follow them: `weights` (the class-weight keys)
/// where the struct's head names it, then `reduction`.
///
/// ```ignore
/// loss_keys! {
///     /// `kind = "vs"`: ...
///     #[serde(default, deny_unknown_fields)]
///     pub struct VsKeys: VsConfig::new(counts), weights {
///         /// Temperature `τ` of the additive prior, finite.
///         tau: f64 => with_tau,
///     }
/// }
/// ```
///
/// `VsConfig::new(counts)` says the `*Config` is made from the class counts;
/// `FocalConfig::new()`, that it is not.
macro_rules! loss_keys {
    (
        $(#[$meta:meta])*
        pub struct $name:ident: $config:ident::new(counts) $(, $weights:ident)? { $($body:tt)* }
    ) => {
        $crate::config::kind::loss_keys!(@keys $(#[$meta])* $name $config
            (|counts: Vec<u64>| $config::new(counts)) [$($weights)?] { $($body)* });
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident: $config:ident::new() $(, $weights:ident)? { $($body:tt)* }
    ) => {
        $crate::config::kind::loss_keys!(@keys $(#[$meta])* $name $config
            (|_: Vec<u64>| $config::new()) [$($weights)?] { $($body)* });
    };
    (@keys $(#[$meta:meta])* $name:ident $config:ident ($new:expr) [$($weights:ident)?] {
        $($(#[$field_meta:meta])* $field:ident: $ty:ty $(=> $setter:ident)? $(= $default:expr)?,)*
    }) => {
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        $(#[$meta])*
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)*
            $(
                /// Class weights (the class-weight keys); `None`: unweighted.
                #[serde(flatten, with = "crate::config::weight_keys")]
                pub $weights: Option<$crate::ClassWeighting>,
            )?
            /// How per-sample losses are reduced.
            pub reduction: $crate::Reduction,
        }

        impl Default for $name {
            fn default() -> Self {
                let config = ($new)(Vec::new());
                Self {
                    $($field: $crate::config::kind::loss_keys!(
                        @default config $config $field: $ty [$($setter)?] [$($default)?]
                    ),)*
                    $($weights: None,)?
                    reduction: config.reduction,
                }
            }
        }

        impl $name {
            /// The loss's `*Config` with these keys and `counts`, without class weights (or a
            /// key it does not hold).
            fn config(&self, counts: Vec<u64>) -> $config {
                ($new)(counts)
                    $($(.$setter(self.$field))?)*
                    .with_reduction(self.reduction)
            }
        }
    };
    (@default $config:ident $type:ident $field:ident: $ty:ty [$setter:ident] []) => {
        $config.$field
    };
    (@default $config:ident $type:ident $field:ident: $ty:ty [] [$default:expr]) => {{
        let default: fn(&$type) -> $ty = $default;
        default(&$config)
    }};
    (@default $config:ident $type:ident $field:ident: $ty:ty [$($s:ident)?] [$($d:expr)?]) => {
        compile_error!(concat!(
            "loss_keys!: the key `",
            stringify!($field),
            "` needs exactly one of `=> with_key` (its *Config's setter) and `= |config| default`"
        ))
    };
}

pub(crate) use {loss_keys, reduction_and_weights, through_config};
