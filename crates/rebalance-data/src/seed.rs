//! Serde for seeds: every `u64`, though TOML integers stop at `i64::MAX`.
//!
//! A seed reads from a TOML integer in `0..=9223372036854775807` or from a string of decimal
//! digits for the whole `u64` range (`seed = "18446744073709551615"`), and writes back as an
//! integer when TOML can hold it, else as that string, so a recorded config reads back.
//! Use it as `#[serde(with = "rebalance_data::seed")]`.

use serde::{Deserializer, Serializer, de};

/// The range of a seed, for messages.
const RANGE: &str = "a seed in 0..=18446744073709551615 (above 9223372036854775807, TOML's \
                     largest integer, as a string: \"18446744073709551615\")";

/// Writes `seed` as an integer, or as a string above `i64::MAX`.
///
/// # Errors
/// The serializer's own.
pub fn serialize<S: Serializer>(seed: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    match i64::try_from(*seed) {
        Ok(small) => serializer.serialize_i64(small),
        Err(_) => serializer.serialize_str(&seed.to_string()),
    }
}

/// Reads a seed from a non-negative integer or a string of decimal digits.
///
/// # Errors
/// A negative integer, another type, or a string that is not a `u64`; the message gives the
/// range.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    deserializer.deserialize_any(SeedVisitor)
}

struct SeedVisitor;

impl de::Visitor<'_> for SeedVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(RANGE)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom(format!("{v}: must be {RANGE}")))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom(format!("{v}: must be {RANGE}")))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom(format!("{v}: must be {RANGE}")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        let digits = v.trim().trim_matches('"');
        digits
            .parse::<u64>()
            .map_err(|_| E::custom(format!("{v:?}: must be {RANGE}")))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Config {
        #[serde(with = "super")]
        seed: u64,
    }

    #[test]
    fn every_u64_round_trips_through_toml() {
        for seed in [0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX] {
            let text = toml::to_string(&Config { seed }).unwrap();
            assert_eq!(
                toml::from_str::<Config>(&text).unwrap().seed,
                seed,
                "{text}"
            );
        }
        let config: Config = toml::from_str("seed = \"18446744073709551615\"").unwrap();
        assert_eq!(config.seed, u64::MAX);
    }

    #[test]
    fn out_of_range_seeds_say_the_range() {
        for (text, shown) in [("seed = -1", "-1"), ("seed = \"x\"", "\"x\"")] {
            let err = toml::from_str::<Config>(text).unwrap_err();
            assert!(
                err.message().starts_with(&format!(
                    "{shown}: must be a seed in 0..=18446744073709551615"
                )),
                "{err}"
            );
        }
    }
}
