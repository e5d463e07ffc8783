//! [`config_enum!`](crate::config_enum): an enum named in config files and on command lines.

/// Declares a unit-only enum whose variants are named by their kebab-case names (`SumToClasses`
/// is `"sum-to-classes"`), derived once with strum:
///
/// - `Display`, and `name()` as a `&'static str`;
/// - `FromStr`, ASCII case-insensitive; an unknown name is `$error::unknown_name`, whose
///   message lists the valid names;
/// - `VariantNames` (the list) and `EnumIter`;
/// - serde through the same `FromStr` / `Display` (serde_with), so a config file and a command
///   line accept the same names and give the same error.
///
/// The body needs a `#[default]` variant. The calling crate depends on `strum` (with `derive`)
/// and `serde_with` (with `macros`), and `$error` has
/// `fn unknown_name<T: strum::VariantNames>(what: &'static str, text: &str) -> Self`.
///
/// ```ignore
/// rebalance_weights::config_enum! {
///     /// How per-sample losses are reduced.
///     pub enum Reduction("reduction", LossError) {
///         /// `Σ w·l / Σ w`.
///         #[default]
///         WeightedMean,
///         /// `Σ w·l / N`.
///         Mean,
///     }
/// }
/// ```
#[macro_export]
macro_rules! config_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident($what:literal, $error:ident) {
            $($body:tt)*
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            Default,
            PartialEq,
            Eq,
            Hash,
            strum::Display,
            strum::EnumString,
            strum::IntoStaticStr,
            strum::VariantNames,
            strum::EnumIter,
            serde_with::SerializeDisplay,
            serde_with::DeserializeFromStr,
        )]
        #[strum(
            serialize_all = "kebab-case",
            ascii_case_insensitive,
            parse_err_ty = $error,
            parse_err_fn = Self::unknown
        )]
        $vis enum $name {
            $($body)*
        }

        impl $name {
            /// The kebab-case name used in config files and on the command line.
            pub fn name(self) -> &'static str {
                self.into()
            }

            fn unknown(text: &str) -> $error {
                $error::unknown_name::<Self>($what, text)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::{Normalization, ZeroCountPolicy};

    /// The crate's config enums keep the promises above; an unknown name lists the valid ones.
    #[test]
    fn names_round_trip_and_an_unknown_one_lists_them() {
        rebalance_testing::assert_config_names::<Normalization>(
            "sum",
            "unknown normalization \"sum\": expected one of sum-to-classes, mean-sample, none",
        );
        rebalance_testing::assert_config_names::<ZeroCountPolicy>(
            "skip",
            "unknown zero-count policy \"skip\": expected one of error, zero-weight, add-one",
        );
        assert_eq!(Normalization::default(), Normalization::SumToClasses);
        assert_eq!(ZeroCountPolicy::default(), ZeroCountPolicy::Error);
    }
}
