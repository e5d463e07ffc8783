//! `rebalance eval`: rebuild a trained model from its run directory and evaluate it on the test
//! split, with the logit adjustments of the literature.

use std::path::PathBuf;

use clap::ValueEnum;

use crate::run::eval_options::EvalOptions;
use crate::run::eval_options::{TargetPrior, TauNorm};
use crate::run::run_dir::RunDir;
use crate::run::training::eval_run;

/// `rebalance eval`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run directory.
    #[arg(long)]
    run: PathBuf,
    /// Post-hoc logit adjustment: subtract τ · log(training prior) from the logits (Menon et
    /// al. use τ = 1). Writes report-tau-<τ>.{json,md} and predictions-tau-<τ>.csv; each
    /// adjustment writes its own files, named by it (report-prior-uniform.json,
    /// report-temperature.json, report-tau-norm-auto.json, ...). Single-label runs only.
    #[arg(long, conflicts_with = "target_prior", allow_negative_numbers = true)]
    posthoc_tau: Option<f64>,
    /// Adjust the logits for a known test-label distribution: z − log π_train + log π_target.
    /// `uniform`, or a file of one count or probability per class (commas, spaces or lines).
    #[arg(long, value_name = "uniform|FILE")]
    target_prior: Option<TargetPrior>,
    /// Calibrate: `temperature` fits one temperature by NLL on the validation split and
    /// divides the logits by it (Guo et al., 2017); the report records it.
    #[arg(long, value_enum)]
    calibrate: Option<Calibrate>,
    /// τ-normalise the classifier (Kang et al., ICLR 2020): each class's weights divided by
    /// their norm to the power τ, bias dropped; `auto` picks τ in 0, 0.1, …, 2 by the
    /// validation split's balanced accuracy.
    #[arg(long, value_name = "TAU|auto", allow_hyphen_values = true)]
    tau_norm: Option<TauNorm>,
}

/// How `eval --calibrate` calibrates the probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Calibrate {
    /// Temperature scaling: one temperature, fitted by NLL on the validation split.
    Temperature,
}

/// Evaluates the run and prints the summary.
///
/// # Errors
/// A run that cannot be rebuilt or evaluated, or an adjustment its task does not have.
pub fn run(args: Args) -> anyhow::Result<()> {
    let options = EvalOptions {
        posthoc_tau: args.posthoc_tau,
        target_prior: args.target_prior,
        calibrate: args.calibrate == Some(Calibrate::Temperature),
        tau_norm: args.tau_norm,
    };
    let run = args.run;
    let task = RunDir::new(&run).read_config()?.data.task;
    let summary = crate::for_task!(task, T => eval_run::<T>(&run, &options)?.summary());
    super::print(&format!("{summary}\n"))?;
    Ok(())
}
