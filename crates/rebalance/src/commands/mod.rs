//! The command line: one module per command, each with its clap arguments (`Args`) and its
//! `run`, as cargo does; [`Command`] only lists and dispatches them.

pub mod bench;
pub mod compare;
pub mod data;
pub mod eval;
pub mod train;
pub mod weights;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

pub use eval::Calibrate;

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
    Train(train::Args),
    /// Train every variant of a compare config (default: every weighting scheme) over several
    /// seeds on the same data, and write a comparison table and plots.
    ///
    /// Finished runs are kept in the output directory and skipped when the command runs
    /// again, so an interrupted sweep continues where it stopped.
    Compare(compare::Args),
    /// Measure training throughput on each compiled backend, the data pipeline and peak
    /// memory, each against a baseline measured in the same run.
    Bench(bench::Args),
    /// Print the class weights a scheme gives for some class counts.
    Weights(weights::Args),
    /// Show the per-class counts of each split, the imbalance factor and the feature shape.
    Data(data::Args),
    /// Rebuild a trained model from its run directory and evaluate it on the test split.
    Eval(eval::Args),
}

/// The command line of this process, parsed. `--help` and `--version` print and exit 0 as
/// clap does; a bad argument exits 2 with one line, as every other error is one line: clap's
/// message and, where it gives them, the valid values and its tip, without the usage and help
/// hint that follow.
pub fn parse() -> Cli {
    use clap::error::ErrorKind;
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            // To standard output, as `print` writes: a closed pipe is quiet, a full disk an
            // error, not a help that was never written and exit 0.
            use std::io::Write;
            let written = error.print().and_then(|()| std::io::stdout().flush());
            match written {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    crate::say!("error: cannot write the help to standard output: {e}");
                    std::process::exit(1)
                }
                _ => std::process::exit(0),
            }
        }
        Err(error) if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            error.exit()
        }
        Err(error) => {
            crate::say!("error: {}", argument_error(&error.render().to_string()));
            std::process::exit(2)
        }
    }
}

/// clap's rendered error as one line: its first line, then its `[possible values: ...]` and
/// `tip:` lines, joined.
fn argument_error(rendered: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut listing = false;
    for raw in rendered.lines() {
        let line = raw.trim();
        if parts.is_empty() {
            listing = line.ends_with(':');
            parts.push(line.trim_start_matches("error: ").to_string());
        } else if listing && raw.starts_with("  ") && !line.is_empty() {
            // The arguments a "not provided" error lists, one per line.
            let first = parts.len() == 1;
            let last = parts.last_mut().expect("the first line is there");
            last.push_str(if first && last.ends_with(':') {
                " "
            } else {
                ", "
            });
            last.push_str(line);
        } else {
            listing = false;
            if line.starts_with("[possible values") || line.starts_with("tip:") {
                parts.push(line.to_string());
            }
        }
    }
    parts.join("; ")
}

/// Runs a parsed command line.
///
/// # Errors
/// Whatever the command failed on, with its context.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => train::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Weights(args) => weights::run(args),
        Command::Data(args) => data::run(args),
        Command::Eval(args) => eval::run(args),
    }
}

/// Writes a command's output to standard output. A closed pipe (`rebalance weights ... |
/// head -1`) is not an error: the work is done and the reader wanted no more, so the command
/// ends quietly with its work kept, as ripgrep and git do. Any other failure to write (a full
/// disk behind `> file`) is an error.
///
/// # Errors
/// Standard output cannot be written, for another reason than a closed pipe.
pub fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written.context("cannot write the output to standard output"),
    }
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
/// assert_eq!(rebalance::commands::one_line(&error), "config: cannot open a.toml: not found");
/// ```
#[must_use]
pub fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        // Bytes quoted from a file that is not text: escapes, never raw control characters.
        let text = crate::run::overrides::escape_controls(&text);
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
