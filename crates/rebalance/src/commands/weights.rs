//! `rebalance weights`: the class weights a scheme gives for some class counts.

use rebalance_weights::{ClassCounts, Normalization, Scheme, WeightsConfig, ZeroCountPolicy};

use super::Format;

/// `rebalance weights`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Training samples per class, comma-separated: 5000,2997,1796.
    #[arg(
        long,
        value_delimiter = ',',
        required = true,
        allow_hyphen_values = true
    )]
    counts: Vec<u64>,
    /// Scheme: uniform, ins, isns, power, ens, balanced, median, or custom:W0,W1,... (one
    /// weight per class) [default: ens].
    #[arg(long, default_value = "ens")]
    scheme: String,
    /// β of the ens scheme, in [0, 1) [default: 0.9999].
    #[arg(long, allow_negative_numbers = true)]
    beta: Option<f64>,
    /// Exponent of the power scheme [default: 0.5].
    #[arg(long, allow_negative_numbers = true)]
    power: Option<f64>,
    /// Normalization: sum-to-classes, mean-sample, none.
    #[arg(long, default_value = "sum-to-classes")]
    normalize: Normalization,
    /// What a class with count 0 gets: error, zero-weight (weight 0, left out of the
    /// scheme), add-one (every count + 1) [default: error].
    #[arg(long, default_value = "error")]
    zero_count: ZeroCountPolicy,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Computes and prints the weights.
///
/// # Errors
/// A scheme, parameter or counts the weights library refuses.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.scheme.eq_ignore_ascii_case("custom") {
        anyhow::bail!(
            "--scheme custom: give the weights with the scheme, one per class, as \
             --scheme custom:W0,W1,... (here {} of them)",
            args.counts.len()
        );
    }
    let scheme = Scheme::from_parts(&args.scheme, args.beta, args.power, None)?;
    let counts = ClassCounts::from_counts(args.counts)?;
    let normalize = args.normalize;
    let weights = WeightsConfig::new(scheme.clone())
        .with_normalization(normalize)
        .with_zero_count(args.zero_count)
        .compute(&counts)?;
    match args.format {
        Format::Json => super::print(&format!(
            "{}\n",
            serde_json::json!({
                "scheme": scheme.to_string(),
                "normalization": normalize.name(),
                "counts": counts.as_slice(),
                "weights": weights.as_slice(),
            })
        ))?,
        Format::Table => {
            let mut text = format!("scheme {scheme}, normalization {normalize}\n");
            text += &format!("{:>6}  {:>10}  {:>10}\n", "class", "count", "weight");
            for (c, (n, w)) in counts.as_slice().iter().zip(weights.as_slice()).enumerate() {
                text += &format!("{c:>6}  {n:>10}  {w:>10.6}\n");
            }
            super::print(&text)?;
        }
    }
    Ok(())
}
