//! `rebalance bench`: training throughput per backend, the data pipeline and peak memory.

use super::Format;
use crate::bench::{BenchOptions, bench};

/// `rebalance bench`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to measure.
    #[command(flatten)]
    options: BenchOptions,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Measures and prints the report.
///
/// # Errors
/// As [`bench()`](crate::bench::bench).
pub fn run(args: Args) -> anyhow::Result<()> {
    let report = bench(&args.options)?;
    match args.format {
        Format::Table => super::print(&report.table())?,
        Format::Json => super::print(&format!("{}\n", serde_json::to_string_pretty(&report)?))?,
    }
    Ok(())
}
