//! The command line: `train`, `compare`, `bench`, `weights`, `data`, `eval`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use rebalance_data::{DatasetSummary, LabelsPerSample, Task};
use rebalance_weights::{ClassCounts, Normalization, Scheme, WeightsConfig, ZeroCountPolicy};

use crate::adjustment::{TargetPrior, TauNorm};
use crate::bench::{BenchOptions, bench};
use crate::compare::{CompareOptions, compare};
use crate::config::RunConfig;
use crate::inference::{EvalOptions, eval_run};
use crate::multilabel_training;
use crate::run_dir::RunDir;
use crate::training::{TrainOptions, train};

/// Train classifiers on imbalanced data with re-weighted losses, on Burn.
#[derive(Debug, Parser)]
#[command(name = "rebalance", version, about, long_about = None)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Output format of the inspection commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table.
    Table,
    /// JSON, for scripts.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a classifier from a config file, then evaluate it on the test split.
    Train {
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
        /// Replace the finished run the run directory holds.
        #[arg(long)]
        overwrite: bool,
    },
    /// Train every variant of a compare config (default: every weighting scheme) over several
    /// seeds on the same data, and write a comparison table and plots.
    ///
    /// Finished runs are kept in the output directory and skipped when the command runs
    /// again, so an interrupted sweep continues where it stopped.
    Compare {
        /// The TOML config: a train config plus `[[variants]]` (see configs/compare.toml).
        #[arg(long)]
        config: PathBuf,
        /// The sweep's options.
        #[command(flatten)]
        options: CompareOptions,
    },
    /// Measure training throughput on each compiled backend, the data pipeline and peak
    /// memory, each against a baseline measured in the same run.
    Bench {
        /// What to measure.
        #[command(flatten)]
        options: BenchOptions,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Print the class weights a scheme gives for some class counts.
    Weights {
        /// Training samples per class, comma-separated: 5000,2997,1796.
        #[arg(long, value_delimiter = ',', required = true)]
        counts: Vec<u64>,
        /// Scheme: uniform, ins, isns, power, ens, balanced, median [default: ens].
        #[arg(long, default_value = "ens")]
        scheme: String,
        /// β of the ens scheme, in [0, 1) [default: 0.9999].
        #[arg(long)]
        beta: Option<f64>,
        /// Exponent of the power scheme [default: 0.5].
        #[arg(long)]
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
    },
    /// Show the per-class counts of each split, the imbalance factor and the feature shape.
    Data {
        /// The TOML config; only its `[data]` section is used.
        #[arg(long)]
        config: PathBuf,
        /// Override a config key (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Also write each split as CSV into this folder.
        #[arg(long)]
        export: Option<PathBuf>,
    },
    /// Rebuild a trained model from its run directory and evaluate it on the test split.
    Eval {
        /// The run directory.
        #[arg(long)]
        run: PathBuf,
        /// Post-hoc logit adjustment: subtract τ · log(training prior) from the logits.
        /// Writes report-posthoc.* and predictions-posthoc.csv, as the other adjustments do.
        #[arg(long, conflicts_with = "target_prior")]
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
        #[arg(long, value_name = "TAU|auto")]
        tau_norm: Option<TauNorm>,
    },
}

/// How `eval --calibrate` calibrates the probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Calibrate {
    /// Temperature scaling: one temperature, fitted by NLL on the validation split.
    Temperature,
}

/// Runs a parsed command line.
///
/// # Errors
/// Whatever the command failed on, with its context.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train {
            config,
            backend,
            out,
            sets,
            resume,
            overwrite,
        } => {
            let config = RunConfig::load(&config, &sets)?;
            let options = TrainOptions {
                backend: backend.as_deref().map(str::parse).transpose()?,
                out: out.clone(),
                resume,
                overwrite,
                progress: None,
                device: None,
            };
            let summary = match config.data.task {
                Task::SingleLabel => train(&config, &options)?.summary(),
                Task::MultiLabel => multilabel_training::train(&config, &options)?.summary(),
            };
            let run = RunDir::new(out.unwrap_or(config.output.dir));
            println!("{summary}");
            println!("report: {}", run.report_markdown().display());
        }
        Command::Compare { config, options } => {
            print!("{}", compare(&config, &options)?.summary());
        }
        Command::Bench { options, format } => {
            let report = bench(&options)?;
            match format {
                Format::Table => print!("{}", report.table()),
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
            }
        }
        Command::Weights {
            counts,
            scheme,
            beta,
            power,
            normalize,
            zero_count,
            format,
        } => {
            let scheme = Scheme::from_parts(&scheme, beta, power, None)?;
            let counts = ClassCounts::from_counts(counts)?;
            let weights = WeightsConfig::new(scheme.clone())
                .with_normalization(normalize)
                .with_zero_count(zero_count)
                .compute(&counts)?;
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::json!({
                        "scheme": scheme.to_string(),
                        "normalization": normalize.name(),
                        "counts": counts.as_slice(),
                        "weights": weights.as_slice(),
                    })
                ),
                Format::Table => {
                    println!("scheme {scheme}, normalization {normalize}");
                    println!("{:>6}  {:>10}  {:>10}", "class", "count", "weight");
                    for (c, (n, w)) in counts.as_slice().iter().zip(weights.as_slice()).enumerate()
                    {
                        println!("{c:>6}  {n:>10}  {w:>10.6}");
                    }
                }
            }
        }
        Command::Data {
            config,
            sets,
            format,
            export,
        } => {
            let config = RunConfig::load(&config, &sets)?;
            match config.data.task {
                Task::SingleLabel => {
                    let data = config.data.load()?;
                    print_data(&data.summary(), format, &[])?;
                    if let Some(dir) = export {
                        report_export(data.export_csv(&dir), &dir)?;
                    }
                }
                Task::MultiLabel => {
                    let zero_count = config
                        .loss
                        .weighting()
                        .map_or(ZeroCountPolicy::Error, |w| w.zero_count);
                    let data = config.data.load_multi_label(zero_count)?;
                    let per_sample = [
                        ("train", data.train.labels_per_sample()),
                        ("test", data.test.labels_per_sample()),
                    ]
                    .into_iter()
                    .chain(
                        data.validation
                            .as_ref()
                            .map(|v| ("validation", v.labels_per_sample())),
                    )
                    .collect::<Vec<_>>();
                    print_data(&data.summary(), format, &per_sample)?;
                    if let Some(dir) = export {
                        report_export(data.export_csv(&dir), &dir)?;
                    }
                }
            }
        }
        Command::Eval {
            run,
            posthoc_tau,
            target_prior,
            calibrate,
            tau_norm,
        } => {
            let options = EvalOptions {
                posthoc_tau,
                target_prior,
                calibrate: calibrate == Some(Calibrate::Temperature),
                tau_norm,
            };
            let task = RunDir::new(&run).read_config()?.data.task;
            let summary = match task {
                Task::SingleLabel => eval_run(&run, &options)?.summary(),
                Task::MultiLabel if options.adjusts() => bail!(
                    "--posthoc-tau, --target-prior, --calibrate and --tau-norm adjust a softmax \
                     classifier and are for single-label runs; {} is a multi-label run (its thresholds are tuned with \
                     eval.thresholds = \"tuned\")",
                    run.display()
                ),
                Task::MultiLabel => multilabel_training::eval_run(&run)?.summary(),
            };
            println!("{summary}");
        }
    }
    Ok(())
}

/// Prints `rebalance data`'s summary as a table (per class or label and split, then the
/// labels per sample of a multi-label dataset) or as JSON (with `labels_per_sample`).
fn print_data(
    summary: &DatasetSummary,
    format: Format,
    per_sample: &[(&str, LabelsPerSample)],
) -> anyhow::Result<()> {
    let multi_label = !per_sample.is_empty();
    match format {
        Format::Json => {
            let mut json = serde_json::to_value(summary)?;
            if multi_label {
                json["task"] = "multi-label".into();
                json["labels_per_sample"] = serde_json::to_value(
                    per_sample
                        .iter()
                        .map(|(name, s)| (name.to_string(), s))
                        .collect::<std::collections::BTreeMap<_, _>>(),
                )?;
            }
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        Format::Table => {
            let (what, count) = if multi_label {
                ("labels", "positives per label")
            } else {
                ("classes", "samples per class")
            };
            println!(
                "{} {what}, features {:?}, imbalance factor {:.1} ({count})",
                summary.num_classes, summary.feature_shape, summary.imbalance_factor
            );
            let splits: Vec<&String> = summary.splits.keys().collect();
            print!("{:>12}", if multi_label { "label" } else { "class" });
            for s in &splits {
                print!("  {s:>10}");
            }
            println!();
            for c in 0..summary.num_classes {
                print!("{:>12}", summary.class_names[c]);
                for s in &splits {
                    print!("  {:>10}", summary.splits[*s].counts[c]);
                }
                println!();
            }
            for (name, s) in per_sample {
                println!(
                    "{name}: {} samples, {:.2} labels per sample (min {}, max {}), {} without \
                     a label",
                    summary.splits[*name].total, s.mean, s.min, s.max, s.without_labels
                );
            }
        }
    }
    Ok(())
}

/// Says which files an export wrote.
fn report_export(
    written: Result<Vec<std::path::PathBuf>, rebalance_data::DataError>,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let files = written.with_context(|| format!("cannot export to {}", dir.display()))?;
    for f in files {
        eprintln!("wrote {}", f.display());
    }
    Ok(())
}

/// An error and its causes as one line: `outer: cause: root cause`.
///
/// A cause whose text the line already holds is left out: some errors print their source in
/// their own message (`{path}: {source}`) and also return it from `source()`, and anyhow's
/// `{:#}` would print it twice.
///
/// ```
/// use anyhow::Context;
/// let io = std::io::Error::new(std::io::ErrorKind::NotFound, "not found");
/// let error = anyhow::Error::new(io).context("cannot open a.toml: not found").context("config");
/// assert_eq!(rebalance::cli::one_line(&error), "config: cannot open a.toml: not found");
/// ```
#[must_use]
pub fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        // Bytes quoted from a file that is not text: escapes, never raw control characters.
        let text = crate::overrides::escape_controls(&text);
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
