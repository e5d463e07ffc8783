//! `rebalance`: parse the command line, run, and turn any error into one line and exit 1.

use clap::Parser;

fn main() {
    let cli = rebalance::cli::Cli::parse();
    if let Err(error) = rebalance::cli::run(cli) {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}
