//! `rebalance compare`: every variant of a config trained over several seeds on the same data,
//! summarised as `comparison.json`, `comparison.md`, `comparison.tex`, `comparison.csv` and
//! plots, with each variant's paired difference to the baseline and its confidence interval,
//! and the comparison's provenance (version, commit, config hash, seeds, wall time).
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
//! A multi-label base config (`data.task = "multi-label"`) runs the same way: each seed's
//! data is loaded once, each run trains with [`crate::run::training::train_on`] of its task, and
//! the comparison has the multi-label metrics (macro- and micro-F1, mAP, subset accuracy,
//! Hamming loss, tail recall: [`Metric::of_task`]). Its default set is
//! [`default_multi_label_variants`], its baseline `bce`. `[compare] rank_by` names the
//! metric the variants are ranked by and the gains measured in (`macro-f1` by default for
//! multi-label, `balanced-accuracy` for single-label; `map`, ...: [`Metric::name`]).
//!
//! Seed `k` (from 0) of a sweep adds `k` to both `data.seed` and `train.seed`: every variant
//! sees the same data, split and initialisation seed, and the data of a seed is generated once
//! and shared by all its variants.
//!
//! A variant may list a grid, `tune = { beta = [0.9, 0.99, 0.999, 0.9999] }`: with `--tune`
//! (or `[compare] tune = true`) every point trains for every seed and each seed keeps the point
//! best on the validation split by the ranking metric ([`tune`](Tuned)); the test split is not
//! read for the choice.
//!
//! Several processes share a sweep through the compare directory: `--shard K/N` (or a Slurm
//! job array, or a Kubernetes Indexed Job, see [`shard`]) trains one shard of the runs, and
//! `--merge` writes the comparison once all are finished (docs/cluster.md).

mod figures;
mod output;
mod packing;
mod plan;
pub mod shard;
mod stats;
mod store;
mod sweep;
mod tune;
mod twins;
mod variants;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::bail;

pub use figures::MAX_LINE_VARIANTS;
pub use output::{DEFAULT_PLOT_VARIANTS, Provenance};
pub use packing::{AUTO_GROUP, Pack};
pub use plan::{ComparePlan, CompareSection, MAX_SEEDS, Variant};
pub use shard::{Shard, ShardEnv};
pub use stats::{
    BOOTSTRAP_FROM, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, CONFIDENCE, IntervalMethod, Metric,
    Metrics, PairedDifference, RunResult, VariantSummary, shot_metrics, t_quantile, tail_labels,
};
pub use tune::{
    Chosen, Grid, GridKey, TUNE_VALIDATION_FRACTION, TUNE_VALIDATION_PER_CLASS, Tuned,
    tuned_defaults,
};
pub use variants::{DefaultVariant, default_multi_label_variants, default_variants};

use crate::reporting::shots::ShotGroups;
use crate::run::backend::Backend;
use crate::run::devices::parse_device_list;
use store::Run;
use sweep::{Progress, Tally, train_all};

/// Options of `rebalance compare` beside the config file (its command-line flags).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CompareOptions {
    /// Backend for every run: flex, ndarray, wgpu, cuda or tch [default: the config's].
    #[arg(long)]
    pub backend: Option<String>,
    /// Seeds per variant, in 1..=1000 [default: the config's compare.seeds, 3].
    #[arg(long, allow_negative_numbers = true)]
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
    /// The variants drawn as lines in `per_class_recall_lines` (`per_label_recall_lines`),
    /// comma-separated, at most 6 [default: the baseline and the 3 best others by the ranking
    /// metric]. Every variant is in the recall heatmap whatever this says.
    #[arg(long, value_delimiter = ',', value_name = "A,B,...")]
    pub plot_variants: Vec<String>,
    /// Retrain finished runs whose recorded config differs from the current one (other than
    /// in train.backend, train.workers or output.dir), naming each.
    #[arg(long)]
    pub force: bool,
    /// Train only shard K of N (K from 1 to N): a fixed partition of the runs, balanced by
    /// expected cost; writes no comparison [default: from SLURM_ARRAY_TASK_ID and
    /// SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX with --shards; else every run].
    #[arg(long, value_name = "K/N", allow_hyphen_values = true)]
    pub shard: Option<Shard>,
    /// The number of shards, with JOB_COMPLETION_INDEX (from 0) giving the index: a Kubernetes
    /// Indexed Job's completions [default: none].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub shards: Option<usize>,
    /// Train nothing: write the comparison from the finished runs, or list the missing ones and
    /// fail.
    #[arg(long, conflicts_with_all = ["force", "shard", "shards"])]
    pub merge: bool,
    /// Train up to N runs at once, each on a thread of this process, >= 1; the results are
    /// those of one run after another (with model.dropout = 0). For several GPUs, or small
    /// models that leave a GPU idle; on a CPU the runs share its cores. A failing run stops
    /// the sweep: the runs training then finish, no other starts [default: 1].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// Devices the runs train on, assigned round-robin in the sweep's order (several jobs may
    /// share one): comma-separated BACKEND or BACKEND:INDEX, BACKEND:A-B for a range, all of
    /// one backend (which --backend, if given, must be): `cuda:0-7`, `wgpu:0,wgpu:1`, `flex`.
    /// A config's train.devices (one model on several devices) wins over it [default: the
    /// backend's default device].
    #[arg(long, value_name = "LIST")]
    pub devices: Option<String>,
    /// Train the runs that can share a step (same model, data, batch size, epochs, optimizer
    /// and schedule; any seed, loss, weights, DRW, cRT's first stage; either task) as one
    /// packed model, each run's results its own: auto (where it measured faster: on a GPU
    /// groups of up to 32 that fit 24 GiB by an estimate, on wgpu over lavapipe the MLP's; on
    /// flex every run alone), off, or N (groups of at most N on any backend) [default: the
    /// config's compare.pack, auto].
    #[arg(long, value_name = "auto|off|N")]
    pub pack: Option<Pack>,
    /// Tune: train every point of each variant's `tune` grid per seed and keep the point best
    /// on the validation split by the ranking metric (the config's split, else one held out
    /// for every variant; docs/compare.md) [default: the config's compare.tune, false].
    #[arg(long)]
    pub tune: bool,
}

/// What `rebalance compare` returns: the summaries, best first by the ranking metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// One per variant, sorted by the mean of the ranking metric ([`ComparePlan::rank_by`]),
    /// best first.
    pub variants: Vec<VariantSummary>,
    /// The baseline's name.
    pub baseline: String,
    /// The shot groups (for multi-label, of the labels' training positives; the outputs show
    /// the tail labels instead, [`tail_labels`]).
    pub groups: ShotGroups,
    /// The compare directory.
    pub dir: PathBuf,
    /// Runs trained by this call (the others were found finished), [`shared`](Self::shared)
    /// among them.
    pub trained: usize,
    /// Of the runs trained, those evaluated from another run's training (their configs differ
    /// in `[eval]` only).
    pub shared: usize,
    /// Wall time of this call, seconds.
    pub wall_seconds: f64,
    /// `comparison.md`.
    pub markdown: String,
}

/// What one shard of a sweep did; it writes no comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardReport {
    /// The shard.
    pub shard: Shard,
    /// Where it came from: `--shard 2/4`, `SLURM_ARRAY_TASK_ID=…`, `JOB_COMPLETION_INDEX=…`.
    pub from: String,
    /// The runs of the shard.
    pub runs: usize,
    /// Runs trained by this call, [`shared`](Self::shared) among them.
    pub trained: usize,
    /// Of the runs trained, those evaluated from another run's training.
    pub shared: usize,
    /// Runs found finished (before, or by another process meanwhile).
    pub finished_before: usize,
    /// Runs left to another process that holds their claim.
    pub skipped: usize,
    /// The runs of the whole sweep.
    pub sweep_runs: usize,
    /// The runs of the whole sweep not finished yet (other shards', or skipped ones).
    pub sweep_missing: usize,
    /// The compare directory.
    pub dir: PathBuf,
    /// Wall time of this call, seconds.
    pub wall_seconds: f64,
}

/// What `rebalance compare` did: a comparison, or one shard's runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The whole sweep, or a merge: the comparison is written.
    Comparison(Comparison),
    /// One shard: its runs are trained, the comparison is left to `--merge`.
    Shard(ShardReport),
}

impl Outcome {
    /// What the command prints on stdout: the comparison and the runs trained, or what the
    /// shard did and what the sweep still lacks.
    pub fn summary(&self) -> String {
        match self {
            Outcome::Comparison(c) => format!(
                "{}\n{} runs trained{} in {:.1} s; comparison: {}\n",
                c.markdown,
                c.trained,
                shared_note(c.shared),
                c.wall_seconds,
                c.dir.join("comparison.md").display()
            ),
            Outcome::Shard(s) => {
                let mut text = format!(
                    "shard {} ({}): {} runs: {} trained{} in {:.1} s, {} finished before, {} \
                     skipped (another process trains them)\n",
                    s.shard,
                    s.from,
                    s.runs,
                    s.trained,
                    shared_note(s.shared),
                    s.wall_seconds,
                    s.finished_before,
                    s.skipped
                );
                text += &if s.sweep_missing == 0 {
                    format!(
                        "all {} runs of the sweep are finished; write the comparison with \
                         `rebalance compare --merge` (same --config, --out, --seeds, --only, \
                         --set) into {}\n",
                        s.sweep_runs,
                        s.dir.display()
                    )
                } else {
                    format!(
                        "no comparison written: {} of the sweep's {} runs are not finished yet \
                         (other shards'); when every shard is done, `rebalance compare --merge` \
                         (same --config, --out, --seeds, --only, --set) writes it into {}\n",
                        s.sweep_missing,
                        s.sweep_runs,
                        s.dir.display()
                    )
                };
                text
            }
        }
    }
}

/// Runs a sweep, or the shard of it the flags or the environment ([`ShardEnv::from_process`])
/// name, or with `merge` only writes the comparison. See [`compare_in`].
///
/// # Errors
/// As [`compare_in`].
pub fn compare(path: &Path, options: &CompareOptions) -> anyhow::Result<Outcome> {
    compare_in(path, options, &ShardEnv::from_process())
}

/// Runs a sweep: trains every (variant, seed) run not already finished in the compare
/// directory, then writes the comparison. With a shard (`--shard`, or from `env`), trains only
/// that shard's runs and writes no comparison. With `merge`, trains nothing and writes the
/// comparison from the finished runs.
///
/// # Errors
/// A bad config, an unknown `--only` name, inconsistent shard flags or variables, finished runs
/// recorded with another config (unless `force`), any failure of a run, naming the variant and
/// seed, or for the comparison, runs not finished (all listed).
pub fn compare_in(
    path: &Path,
    options: &CompareOptions,
    env: &ShardEnv,
) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let mut sets = options.sets.clone();
    if options.tune {
        sets.push("compare.tune=true".to_string());
    }
    let plan = ComparePlan::load(path, &sets)?;
    let variants = plan.select(&options.only)?;
    check_plot_variants(&options.plot_variants, &variants)?;
    for note in &plan.notes {
        crate::say!("compare: {note}");
    }
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
    let shard = if options.merge {
        None
    } else {
        shard::resolve(options.shard, options.shards, env)?
    };
    let dir = (options.out.clone()).unwrap_or_else(|| plan.base.output.dir.clone());
    let jobs = match options.jobs {
        Some(0) => bail!("--jobs 0: must be >= 1 (the runs trained at once)"),
        Some(jobs) => jobs,
        None => 1,
    };
    let devices = match &options.devices {
        Some(list) => parse_device_list(list).map_err(|e| anyhow::anyhow!("--devices: {e}"))?,
        None => Vec::new(),
    };
    let backend = match (&options.backend, devices.first()) {
        (Some(name), _) => name.parse()?,
        (None, Some(device)) => device.backend,
        (None, None) => plan.base.train.backend,
    };
    if let Some(other) = devices.iter().find(|d| d.backend != backend) {
        bail!(
            "--devices: \"{other}\" is not a device of backend \"{backend}\" (--backend, else \
             the first device's); a sweep runs on one backend"
        );
    }
    let tuning = tune::Tuning::of(&plan, &variants)?;
    let expanded = tuning.expand(&variants)?;
    let runs = store::runs(&dir, &expanded.iter().collect::<Vec<_>>(), seeds, backend)?;
    let all: Vec<&Run> = runs.iter().collect();
    if options.merge {
        // Nothing is trained: no device is needed, and runs of any backend are taken.
        let missing = store::pending(&all, false, true)?;
        if !missing.is_empty() {
            bail!(
                "--merge: {} of {} runs are not finished: {}; train them (the shards that hold \
                 them, or compare without --merge), then merge again",
                missing.len(),
                runs.len(),
                store::compact(&missing)
            );
        }
        return Ok(Outcome::Comparison(write_comparison(
            &plan,
            path,
            (&runs, &tuning, backend),
            dir,
            (0, 0),
            started,
            &options.plot_variants,
        )?));
    }
    backend.device()?;
    for device in &devices {
        device.device()?;
    }

    // The shard's runs: a partition of the whole sweep, whatever is finished.
    let mine: Vec<&Run> = match &shard {
        None => all.clone(),
        Some((shard, _)) => {
            // Runs of one training go to the shard of its first run, which trains it; the
            // others cost nothing to place.
            let sources = twins::sources(&all);
            let costs: Vec<u64> = runs
                .iter()
                .zip(&sources)
                .enumerate()
                .map(|(k, (run, &source))| {
                    if source == k {
                        shard::cost(&run.config)
                    } else {
                        0
                    }
                })
                .collect();
            let mut shard_of = shard::partition(&costs, shard.count);
            for (k, &source) in sources.iter().enumerate() {
                shard_of[k] = shard_of[source];
            }
            runs.iter()
                .zip(shard_of)
                .filter(|(_, k)| k + 1 == shard.index)
                .map(|(run, _)| run)
                .collect()
        }
    };
    // Runs finished with the same config are kept; runs of another config need --force.
    let todo = store::pending(&mine, options.force, false)?;
    let which = match &shard {
        Some((shard, from)) => format!(
            "shard {shard} ({from}): {} of the sweep's {} runs",
            mine.len(),
            runs.len()
        ),
        None => format!("{} runs", runs.len()),
    };
    crate::say!(
        "compare: {} variants × {seeds} seeds = {which} on {backend} ({} finished before, {} to \
         train) into {}",
        variants.len(),
        mine.len() - todo.len(),
        todo.len(),
        dir.display()
    );
    if jobs > 1 && todo.iter().any(|run| run.config.model.dropout > 0.0) {
        crate::say!(
            "compare: note: model.dropout > 0 draws from Burn's process-wide generator while \
             training: with --jobs {jobs} the runs are seeded but not bit-identical to --jobs 1"
        );
    }
    let pack = options.pack.unwrap_or(plan.compare.pack);
    let group_size = pack.group_size(backend, plan.base.model.kind)?;
    // Runs of one training (differing in `[eval]` only) train once.
    let (train, twins) = twins::split(&todo, &all);
    let progress = Progress::new(&train);
    let (units, notes) = packing::units(&dir, &train, group_size);
    for note in notes {
        crate::say!("compare: --pack: {note}");
    }
    let tally = crate::for_task!(plan.task(), T => train_all::<T>(&units, pack, &dir, jobs, &devices, &progress));
    // After a failure nothing new starts, evaluations neither.
    let evaluated = if tally.failures.is_empty() {
        crate::for_task!(plan.task(), T => progress.evaluate_twins::<T>(&twins))
    } else {
        Ok(0)
    };
    progress.finish();
    let Tally {
        skipped,
        elsewhere,
        failures,
    } = tally;
    if let Some(first) = failures.into_iter().next() {
        return Err(first);
    }
    let shared = evaluated?;
    packing::tidy(&dir, runs.iter().all(|run| run.dir.is_finished()));
    let trained = todo.len() - skipped - elsewhere;
    // The grid points trained here are scored on the validation split here, where their data
    // is: a merge only reads the reports.
    crate::for_task!(plan.task(), T => tuning.validate_trained::<T>(&todo, backend))?;
    if let Some((shard, from)) = shard {
        let sweep_missing = runs.iter().filter(|run| !run.dir.is_finished()).count();
        return Ok(Outcome::Shard(ShardReport {
            shard,
            from,
            runs: mine.len(),
            trained,
            shared,
            finished_before: mine.len() - todo.len() + elsewhere,
            skipped,
            sweep_runs: runs.len(),
            sweep_missing,
            dir,
            wall_seconds: started.elapsed().as_secs_f64(),
        }));
    }
    if skipped > 0 {
        // The other process may have finished them meanwhile: only runs still unfinished wait.
        let waiting: Vec<&Run> = runs.iter().filter(|run| !run.dir.is_finished()).collect();
        if !waiting.is_empty() {
            let training = waiting
                .iter()
                .filter_map(|run| run.dir.claimed_by())
                .collect::<std::collections::BTreeSet<u32>>();
            if training.is_empty() {
                bail!(
                    "{} runs are not finished: the process that was training them has stopped \
                     without finishing them; run this command again to train them",
                    waiting.len()
                );
            }
            let processes: Vec<String> = training.iter().map(u32::to_string).collect();
            bail!(
                "{} runs are not finished, being trained by another process (process {}); run \
                 this command again when it has finished to write the comparison",
                waiting.len(),
                processes.join(", ")
            );
        }
    }
    Ok(Outcome::Comparison(write_comparison(
        &plan,
        path,
        (&runs, &tuning, backend),
        dir,
        (trained, shared),
        started,
        &options.plot_variants,
    )?))
}

/// ` (N of them evaluated from another run's training)` where N runs were, else nothing.
fn shared_note(shared: usize) -> String {
    match shared {
        0 => String::new(),
        n => format!(" ({n} of them evaluated from another run's training)"),
    }
}

/// `--plot-variants`: each a variant of the sweep, at most [`MAX_LINE_VARIANTS`], none twice.
///
/// # Errors
/// An unknown name (listing the sweep's variants), too many, or one named twice.
fn check_plot_variants(names: &[String], variants: &[&Variant]) -> anyhow::Result<()> {
    for (k, name) in names.iter().enumerate() {
        if !variants.iter().any(|v| v.name == *name) {
            let all: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
            bail!(
                "--plot-variants {name}: no such variant in this sweep; the variants are {}",
                all.join(", ")
            );
        }
        if names[..k].contains(name) {
            bail!("--plot-variants {name}: named twice");
        }
    }
    if names.len() > MAX_LINE_VARIANTS {
        bail!(
            "--plot-variants: {} variants, at most {MAX_LINE_VARIANTS} (every variant is in the \
             recall heatmap)",
            names.len()
        );
    }
    Ok(())
}

/// Reads every run's report and writes the comparison into `dir`; with `tuning`, of each
/// tuned variant the runs of the points chosen on the validation split (scored on
/// `backend`'s device where not yet).
fn write_comparison(
    plan: &ComparePlan,
    path: &Path,
    (runs, tuning, backend): (&[Run], &tune::Tuning, Backend),
    dir: PathBuf,
    (trained, shared): (usize, usize),
    started: Instant,
    plot_variants: &[String],
) -> anyhow::Result<Comparison> {
    let summary = crate::for_task!(plan.task(), T => {
        let (compared, tuned) = tuning.choose::<T>(plan, runs, backend)?;
        let mut summary = stats::summarise(plan, &compared, &store::reports::<T>(&compared)?);
        tune::Tuning::annotate(&mut summary, tuned, &compared);
        summary
    });
    // Every training once, and in a tuned comparison every grid point's, not only the
    // chosen ones'.
    let wall_seconds = store::training_seconds(runs);
    let mut provenance = output::Provenance::of(plan, path, &summary, wall_seconds)?;
    if tuning.is_active() {
        provenance.runs = runs.len();
    }
    let markdown = output::write(&dir, &summary, &provenance, plot_variants)?;
    Ok(Comparison {
        variants: summary.variants,
        baseline: summary.baseline,
        groups: summary.groups,
        dir,
        trained,
        shared,
        wall_seconds: started.elapsed().as_secs_f64(),
        markdown,
    })
}
