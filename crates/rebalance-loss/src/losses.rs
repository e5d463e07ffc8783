//! The losses of this crate, listed once at the end of this file: each line is a `kind` of
//! [`LossConfig`] (and of [`LossKind`]) holding the `*Keys` of its loss's file, and the
//! variant of [`ImbalanceLoss`] holding the module it builds. Adding a loss is a new file (its
//! module, its `*Config`, its `*Keys`) and one line there.

use burn::prelude::*;
use rebalance_weights::ClassCounts;
use serde::{Serialize, Serializer};
use serde_with::{DeserializeFromStr, SerializeDisplay};

use crate::config::key_names::keys_of;
use crate::config::kind::LossKeys;
use crate::config::table::{self, Tagged};
use crate::{
    BalancedSoftmax, BalancedSoftmaxKeys, ClassBalanced, ClassBalancedKeys, CrossEntropyKeys,
    Focal, FocalKeys, Lade, LadeKeys, Ldam, LdamKeys, LogitAdjusted, LogitAdjustedKeys, LossError,
    SigmoidFocal, SigmoidFocalKeys, SigmoidKeys, Vs, VsKeys, WeightedBinaryCrossEntropy,
    WeightedCrossEntropy,
};

/// Defines [`LossConfig`], [`LossKind`] and [`ImbalanceLoss`] from the list of losses, and
/// the `match`es that dispatch on them.
macro_rules! losses {
    ($($(#[$attr:meta])* $variant:ident($keys:ident => $loss:ident),)+) => {
        /// Any loss of this crate, as a config file names it (`kind = "..."`), with class
        /// weights given as a scheme to compute from the training counts.
        ///
        /// # Config keys
        ///
        /// A flat table: `kind` and the keys of that kind, the fields of its `*Keys` struct
        /// (its doc lists them). Every key but `kind` is optional and defaults to the matching
        /// `*Config`'s default; `kind` defaults to `cross-entropy`, in any case. A key the
        /// kind does not take is an error that lists the kind's keys
        /// ([`LossKind::keys`]). Ranges are checked by [`validate`](LossConfig::validate), and
        /// again by [`init`](LossConfig::init).
        ///
        /// | kind | keys | loss |
        /// |---|---|---|
        /// | `cross-entropy` | [`CrossEntropyKeys`] | [`WeightedCrossEntropy`] |
        /// | `focal` | [`FocalKeys`] | [`Focal`] |
        /// | `sigmoid` | [`SigmoidKeys`] | [`WeightedBinaryCrossEntropy`] |
        /// | `sigmoid-focal` | [`SigmoidFocalKeys`] | [`SigmoidFocal`] |
        /// | `class-balanced` | [`ClassBalancedKeys`] | [`ClassBalanced`] |
        /// | `ldam` | [`LdamKeys`] | [`Ldam`] |
        /// | `logit-adjusted` | [`LogitAdjustedKeys`] | [`LogitAdjusted`] |
        /// | `balanced-softmax` | [`BalancedSoftmaxKeys`] | [`BalancedSoftmax`] |
        /// | `vs` | [`VsKeys`] | [`Vs`] |
        /// | `lade` | [`LadeKeys`] | [`Lade`] |
        ///
        /// Every kind takes `reduction`; every kind with a `weights` field (all but
        /// `class-balanced`, whose weights are ENS with its `beta`, and `lade`) takes the
        /// class-weight keys ([`ClassWeighting`](crate::ClassWeighting)): `scheme` (a
        /// [`Scheme`](rebalance_weights::Scheme) name; default `uniform`, no weights), its
        /// parameter `beta` (`ens`), `power` (`power`) or `custom_weights` (`custom`),
        /// `normalize`, `zero_count`, and `drw_start_epoch` (the first epoch with weights,
        /// counted from 1).
        ///
        /// The multi-label keys of the sigmoid kinds:
        /// - `pos_weight` ([`PosWeight`](crate::PosWeight)): a list of numbers, one per
        ///   class, or `"balanced"`: `n_neg / n_pos` of each label from the training counts
        ///   ([`balanced_pos_weight`](crate::balanced_pos_weight));
        /// - `label_weighting` ([`LabelWeighting`](crate::LabelWeighting)): `"positive-sum"`
        ///   (default; a row weighs the sum of its positive labels' class weights) or
        ///   `"per-label"` (PyTorch's `weight=w`, column by column);
        /// - `no_label_weight` (finite, `>= 0`, default 0): under `positive-sum`, the weight
        ///   of a row without a positive label: offer a weight for such rows (0 drops them).
        ///
        /// With `kind = "class-balanced"`, `label_weighting` and `no_label_weight` need its
        /// `sigmoid` or `focal` base, and `gamma` its `focal` base.
        ///
        /// ```
        /// use burn::prelude::*;
        /// use rebalance_loss::LossConfig;
        /// use rebalance_weights::ClassCounts;
        ///
        /// let config: LossConfig = toml::from_str(r#"
        ///     kind = "ldam"
        ///     scale = 30
        ///     scheme = "ens"
        ///     beta = 0.9999
        ///     drw_start_epoch = 161
        /// "#).unwrap();
        /// let counts = ClassCounts::from_counts(vec![5000, 500, 50])?;
        /// let device = Device::flex();
        /// let before = config.init(&counts, &device)?;            // epoch 0: uniform weights
        /// assert!(config.weights_change_at(160));                  // epoch 161, counted from 1
        /// let after = config.init_for_epoch(&counts, 160, &device)?; // re-weighted
        /// # let _ = (before, after);
        /// # Ok::<(), rebalance_loss::LossError>(())
        /// ```
        #[derive(Debug, Clone, PartialEq, strum::EnumDiscriminants)]
        #[strum_discriminants(
            name(LossKind),
            vis(pub),
            doc = "The `kind` of a [`LossConfig`]: the loss family, by its config name \
                   (`\"ldam\"`).",
            derive(
                Hash,
                Default,
                strum::Display,
                strum::EnumString,
                strum::IntoStaticStr,
                strum::VariantNames,
                strum::EnumIter,
                SerializeDisplay,
                DeserializeFromStr
            ),
            strum(
                serialize_all = "kebab-case",
                ascii_case_insensitive,
                parse_err_ty = LossError,
                parse_err_fn = unknown_kind
            )
        )]
        pub enum LossConfig {
            $(
                #[doc = concat!(
                    "[`", stringify!($loss), "`], its keys in [`", stringify!($keys), "`]."
                )]
                $(#[$attr])*
                $variant($keys),
            )+
        }

        impl LossConfig {
            /// The loss of `kind` with every key at its default (those of its `*Config`) and
            /// no class weights.
            pub fn with_defaults(kind: LossKind) -> Self {
                match kind {
                    $(LossKind::$variant => LossConfig::$variant($keys::default()),)+
                }
            }

            /// The keys of this kind, with what they check and build.
            pub(crate) fn as_keys(&self) -> &dyn LossKeys {
                match self {
                    $(LossConfig::$variant(keys) => keys,)+
                }
            }

            /// The config of `kind` from the other keys of its table.
            pub(crate) fn from_keys(kind: LossKind, keys: toml::Table) -> Result<Self, String> {
                match kind {
                    $(LossKind::$variant => {
                        table::deserialize_keys(keys).map(LossConfig::$variant)
                    })+
                }
            }
        }

        impl Serialize for LossConfig {
            /// `kind`, then every key the kind takes, defaults included, so a written config
            /// is complete.
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(LossConfig::$variant(keys) => Tagged {
                        kind: LossKind::$variant,
                        keys,
                    }
                    .serialize(serializer),)+
                }
            }
        }

        impl LossKind {
            /// The keys this kind's `*Keys` writes, in order.
            pub(crate) fn written_keys(self) -> Vec<String> {
                match self {
                    $(LossKind::$variant => keys_of(&$keys::default()),)+
                }
            }
        }

        /// Any loss of this crate behind one `forward`, built by [`LossConfig::init`]. A Burn
        /// module: keep it as a field of your model and its tensors follow the model's device.
        // Built once per run and held by the model: the size of its largest variant (VS, three
        // tensors) costs nothing, and boxing a variant would hide it from Burn's Module derive.
        #[allow(clippy::large_enum_variant)]
        #[derive(Module, Debug)]
        pub enum ImbalanceLoss {
            $(
                #[doc = concat!(
                    "[`", stringify!($loss), "`], built from [`LossConfig::",
                    stringify!($variant), "`]."
                )]
                $variant($loss),
            )+
        }

        $(impl From<$loss> for ImbalanceLoss {
            fn from(loss: $loss) -> Self {
                ImbalanceLoss::$variant(loss)
            }
        })+

        impl ImbalanceLoss {
            /// Same as [`LossConfig::init`].
            ///
            /// # Errors
            /// As [`LossConfig::init_for_epoch`].
            pub fn new(
                config: &LossConfig,
                counts: &ClassCounts,
                device: &Device,
            ) -> Result<Self, LossError> {
                config.init(counts, device)
            }

            /// The loss reduced as configured: shape `[1]`, or `[B]` for reduction `none`.
            ///
            /// # Shapes
            /// - logits: `[batch_size, num_classes]`
            /// - targets: `[batch_size]`, class indices in `0..num_classes`
            pub fn forward(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
                match self {
                    $(ImbalanceLoss::$variant(loss) => loss.forward(logits, targets),)+
                }
            }

            /// The per-sample losses, already weighted, shape `[batch_size]`.
            pub fn forward_no_reduction(
                &self,
                logits: Tensor<2>,
                targets: Tensor<1, Int>,
            ) -> Tensor<1> {
                match self {
                    $(ImbalanceLoss::$variant(loss) => {
                        loss.forward_no_reduction(logits, targets)
                    })+
                }
            }
        }
    };
}

fn unknown_kind(text: &str) -> LossError {
    LossError::unknown_name::<LossKind>("loss kind", text)
}

losses! {
    #[strum_discriminants(default)]
    CrossEntropy(CrossEntropyKeys => WeightedCrossEntropy),
    Focal(FocalKeys => Focal),
    Sigmoid(SigmoidKeys => WeightedBinaryCrossEntropy),
    SigmoidFocal(SigmoidFocalKeys => SigmoidFocal),
    ClassBalanced(ClassBalancedKeys => ClassBalanced),
    Ldam(LdamKeys => Ldam),
    LogitAdjusted(LogitAdjustedKeys => LogitAdjusted),
    BalancedSoftmax(BalancedSoftmaxKeys => BalancedSoftmax),
    Vs(VsKeys => Vs),
    Lade(LadeKeys => Lade),
}
