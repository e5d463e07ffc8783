//! `rebalance compare`: every variant of a config trained over several seeds on the same data,
//! summarised as `comparison.json`, `comparison.md`, `comparison.csv` and plots.
//!
//! A compare config is a train config plus a list of variants, each a name and the keys it
//! overrides:
//!
//! ```toml
//! [compare]
//! seeds = 3            # default 3; --seeds overrides
//! baseline = "ce"      # the variant the gains are measured against (default "ce", else the first)
//!
//! [[variants]]
//! name = "ce"
//! loss = { kind = "cross-entropy" }
//!
//! [[variants]]
//! name = "ens-0.999"
//! loss = { kind = "cross-entropy", scheme = "ens", beta = 0.999 }
//!
//! [[variants]]
//! name = "cb-resampling"
//! data = { resampling = "class-balanced" }
//! ```
//!
//! A variant's `loss` replaces the base `[loss]` whole, so a variant is exactly the loss it
//! names; its other sections (`data`, `model`, `train`, `eval`) override the base key by key.
//! Without `[[variants]]` the [default set](default_variants) runs.
//!
//! Seed `k` (from 0) of a sweep adds `k` to both `data.seed` and `train.seed`: every variant
//! sees the same data, split and initialisation seed, and the data of a seed is generated once
//! and shared by all its variants.

mod output;
mod plan;
mod stats;
mod store;
mod sweep;
mod variants;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::bail;

pub use plan::{ComparePlan, CompareSection, MAX_SEEDS, Variant};
pub use stats::{Metric, Metrics, RunResult, ShotGroups, VariantSummary};
pub use variants::{DefaultVariant, default_variants};

use sweep::{Progress, SeedData};

/// Options of `rebalance compare` beside the config file (its command-line flags).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CompareOptions {
    /// Backend for every run: flex, ndarray, wgpu or cuda [default: the config's].
    #[arg(long)]
    pub backend: Option<String>,
    /// Seeds per variant, in 1..=1000 [default: the config's compare.seeds, 3].
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Compare directory [default: the config's output.dir].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only these variants, comma-separated [default: all].
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Override a config key for the base and every variant (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Retrain finished runs whose recorded config differs from the current one.
    #[arg(long)]
    pub force: bool,
}

/// What `rebalance compare` returns: the summaries, best balanced accuracy first.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// One per variant, sorted by mean balanced accuracy, best first.
    pub variants: Vec<VariantSummary>,
    /// The baseline's name.
    pub baseline: String,
    /// The shot groups.
    pub groups: ShotGroups,
    /// The compare directory.
    pub dir: PathBuf,
    /// Runs trained by this call (the others were found finished).
    pub trained: usize,
    /// Wall time of this call, seconds.
    pub wall_seconds: f64,
    /// `comparison.md`.
    pub markdown: String,
}

/// Runs a sweep: trains every (variant, seed) run not already finished in the compare
/// directory, then writes the comparison.
///
/// # Errors
/// A bad config, an unknown `--only` name, finished runs recorded with another config (unless
/// `force`), or any failure of a run, naming the variant and seed.
pub fn compare(path: &Path, options: &CompareOptions) -> anyhow::Result<Comparison> {
    let started = Instant::now();
    let plan = ComparePlan::load(path, &options.sets)?;
    let variants = plan.select(&options.only)?;
    let seeds = options.seeds.unwrap_or(plan.compare.seeds);
    if !(1..=MAX_SEEDS).contains(&seeds) {
        bail!("--seeds {seeds}: must be in 1..={MAX_SEEDS}");
    }
    // Seed k adds k to data.seed and train.seed: the last must still be a u64.
    for variant in &variants {
        let config = &variant.config;
        for (key, seed) in [
            ("data.seed", config.data.seed),
            ("train.seed", config.train.seed),
        ] {
            if seed.checked_add(seeds as u64 - 1).is_none() {
                bail!(
                    "{key} = {seed}: must be at most {} for {seeds} seeds (seed k of a sweep \
                     adds k), variant {}",
                    u64::MAX - (seeds as u64 - 1),
                    variant.name
                );
            }
        }
    }
    let dir = (options.out.clone()).unwrap_or_else(|| plan.base.output.dir.clone());
    let backend = match &options.backend {
        Some(name) => name.parse()?,
        None => plan.base.train.backend,
    };
    backend.device()?;

    // Runs finished with the same config are kept; runs of another config need --force.
    let runs = store::runs(&dir, &variants, seeds, backend)?;
    let todo = store::pending(&runs, options.force)?;
    eprintln!(
        "compare: {} variants × {seeds} seeds = {} runs on {backend} ({} finished before, {} to \
         train) into {}",
        variants.len(),
        runs.len(),
        runs.len() - todo.len(),
        todo.len(),
        dir.display()
    );
    let mut progress = Progress::new(&todo);
    let mut skipped = 0;
    // Runs come seed by seed; a seed's variants share its data, loaded once.
    for seed_runs in todo.chunk_by(|a, b| a.seed == b.seed) {
        let mut data = SeedData::default();
        for run in seed_runs {
            // A run another compare process trains is left to it.
            let _claim = match run.dir.claim()? {
                Ok(claim) => claim,
                Err(pid) => {
                    progress.skipped(run, pid);
                    skipped += 1;
                    continue;
                }
            };
            if run.dir.is_finished() {
                // Another process finished it since the sweep looked.
                progress.finished_elsewhere(run);
                continue;
            }
            let report = progress.train(run, data.of(run)?)?;
            run.drop_checkpoints();
            progress.finished(run, &report);
        }
    }
    progress.finish();
    if skipped > 0 {
        bail!(
            "{skipped} runs are being trained by another process; run this command again when \
             it has finished to write the comparison"
        );
    }

    let reports = store::reports(&runs)?;
    let summary = stats::summarise(&plan, &runs, &reports, backend.name());
    let markdown = output::write(&dir, &summary, path, plan.base.train.epochs)?;
    Ok(Comparison {
        variants: summary.variants,
        baseline: summary.baseline,
        groups: summary.groups,
        dir,
        trained: todo.len(),
        wall_seconds: started.elapsed().as_secs_f64(),
        markdown,
    })
}
