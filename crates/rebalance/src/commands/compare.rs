//! `rebalance compare`: every variant of a compare config over seeds, side by side.

use std::path::PathBuf;

use crate::compare::{self, CompareOptions};

/// `rebalance compare`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The TOML config: a train config plus `[[variants]]` (see configs/compare.toml).
    #[arg(long)]
    config: PathBuf,
    /// The sweep's options.
    #[command(flatten)]
    options: CompareOptions,
}

/// Runs the sweep and prints its table.
///
/// # Errors
/// As [`compare::compare`].
pub fn run(args: Args) -> anyhow::Result<()> {
    super::print(&compare::compare(&args.config, &args.options)?.summary())?;
    Ok(())
}
