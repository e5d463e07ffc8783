//! `rebalance`: parse the command line, run, and turn any error into one line and exit 1.

use clap::Parser;

fn main() {
    let cli = rebalance::cli::Cli::parse();
    if let Err(error) = rebalance::cli::run(cli) {
        // One line, whatever the causes' own formatting.
        let message = format!("{error:#}");
        let message: Vec<&str> = message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        eprintln!("error: {}", message.join(" "));
        std::process::exit(1);
    }
}
