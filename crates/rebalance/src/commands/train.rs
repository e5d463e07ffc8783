//! `rebalance train`: train a classifier from a config file, then evaluate it.

use std::path::PathBuf;

use crate::run::config::RunConfig;
use crate::run::run_dir::RunDir;
use crate::run::training::{self, TrainOptions};

/// `rebalance train`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The TOML config (see configs/reference.toml).
    #[arg(long)]
    config: PathBuf,
    /// Backend: flex, ndarray, wgpu, cuda or tch [default: the config's train.backend, flex].
    #[arg(long)]
    backend: Option<String>,
    /// Run directory [default: the config's output.dir, runs/latest].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override a config key, as in --set train.epochs=3 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Continue an interrupted run from its last checkpoint (or extend a finished one
    /// with a larger train.epochs).
    #[arg(long, conflicts_with = "overwrite")]
    resume: bool,
    /// Replace the run the run directory holds, finished or interrupted (without it, train
    /// refuses to touch either).
    #[arg(long)]
    overwrite: bool,
}

/// Trains, evaluates and prints the summary and the report's path.
///
/// # Errors
/// A bad config, data that cannot be loaded, a run directory that may not be used, or a
/// failed training.
pub fn run(args: Args) -> anyhow::Result<()> {
    let config = RunConfig::load(&args.config, &args.sets)?;
    let options = TrainOptions {
        backend: args.backend.as_deref().map(str::parse).transpose()?,
        out: args.out.clone(),
        resume: args.resume,
        overwrite: args.overwrite,
        progress: None,
        device: None,
    };
    let summary = crate::for_task!(config.data.task, T => {
        training::train::<T>(&config, &options)?.summary()
    });
    let run = RunDir::new(args.out.unwrap_or(config.output.dir));
    super::print(&format!(
        "{summary}\nreport: {}\n",
        run.report_markdown().display()
    ))?;
    Ok(())
}
