//! `rebalance bench`: training throughput on each compiled backend, the speed of the data
//! pipeline, and the peak memory of a training run, each printed as a ratio against a baseline
//! measured in the same run. (The losses against burn-nn's cross-entropy are
//! `cargo bench -p rebalance-loss`.)
//!
//! Every training run is a child `rebalance train` process, so its peak memory is its own and
//! nothing of one backend's start-up (kernel compilation, thread pools) carries over to the next.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::prelude::*;
use rebalance_data::Task;
use serde::Serialize;

use crate::run::backend::compiled_backends;
use crate::run::config::RunConfig;
use crate::run::run_dir::RunDir;
use crate::task::{TaskKind, TaskReport};

/// Options of `rebalance bench` (its command-line flags).
#[derive(Debug, Clone, clap::Args)]
pub struct BenchOptions {
    /// The training config to measure.
    #[arg(long, default_value = "configs/quickstart.toml")]
    pub config: PathBuf,
    /// Backends, comma-separated [default: every one compiled in; the first is the baseline].
    #[arg(long, value_delimiter = ',')]
    pub backends: Vec<String>,
    /// Training runs per backend; the median is reported.
    #[arg(long, default_value_t = 3, allow_negative_numbers = true)]
    pub repeats: usize,
    /// Override a config key (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

/// The machine the benchmark ran on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Logical cores available to the process.
    pub cores: usize,
    /// The CPU model (Linux's `/proc/cpuinfo`), or `unknown`.
    pub cpu: String,
}

impl Machine {
    /// This machine.
    pub fn here() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, name)| name.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".to_string());
        Self {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            cpu,
        }
    }
}

/// The training runs on one backend.
#[derive(Debug, Clone, Serialize)]
pub struct BackendResult {
    /// The backend.
    pub backend: String,
    /// Runs that finished.
    pub runs: usize,
    /// Median training throughput, samples per second.
    pub samples_per_second: f64,
    /// Median training wall time, seconds.
    pub wall_seconds: f64,
    /// Largest peak resident memory of the runs, bytes.
    pub peak_memory_bytes: Option<u64>,
    /// Median test balanced accuracy (single-label configs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balanced_accuracy: Option<f64>,
    /// Median test macro-F1 at the run's thresholds (multi-label configs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub macro_f1: Option<f64>,
    /// Why the backend did not run (no adapter, ...), if it did not.
    pub error: Option<String>,
}

/// What `rebalance bench` measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Where.
    pub machine: Machine,
    /// The config measured.
    pub config: PathBuf,
    /// Its task: the runs' score is balanced accuracy (single-label) or macro-F1 (multi-label).
    pub task: Task,
    /// Training samples per epoch.
    pub train_samples: usize,
    /// Epochs per run.
    pub epochs: usize,
    /// Bytes the dataset's splits take in memory.
    pub dataset_bytes: u64,
    /// One entry per backend; the first is the baseline of the ratios.
    pub training: Vec<BackendResult>,
    /// The data source (generator or reader) building the config's dataset, samples per second.
    pub data_samples_per_second: f64,
    /// The batcher (standardization and tensor creation on flex), samples per second.
    pub batcher_samples_per_second: f64,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Repeats `work` (which returns the samples it handled) for at least `seconds`; samples per
/// second.
fn throughput(
    seconds: f64,
    mut work: impl FnMut() -> anyhow::Result<usize>,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut samples = 0;
    loop {
        samples += work()?;
        let elapsed = started.elapsed().as_secs_f64();
        if elapsed >= seconds {
            return Ok(samples as f64 / elapsed);
        }
    }
}

/// What one training run measured, read from its report.
struct RunFigures {
    samples_per_second: f64,
    wall_seconds: f64,
    peak_memory_bytes: Option<u64>,
    /// Balanced accuracy (single-label) or macro-F1 (multi-label).
    score: f64,
}

/// Trains `config` (of `task`) on `backend` in a child process writing to `dir`.
fn train_child(
    config: &Path,
    task: Task,
    backend: &str,
    sets: &[String],
    dir: &Path,
) -> anyhow::Result<Result<RunFigures, String>> {
    let exe = std::env::current_exe().context("cannot find the rebalance executable")?;
    let mut command = Command::new(exe);
    command
        .arg("train")
        .arg("--config")
        .arg(config)
        .args(["--backend", backend])
        .arg("--out")
        .arg(dir)
        .stdin(Stdio::null());
    for set in sets {
        command.args(["--set", set]);
    }
    let output = command.output().context("cannot start rebalance train")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let line = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed without a message");
        return Ok(Err(line.trim_start_matches("error: ").to_string()));
    }
    let run = RunDir::new(dir);
    Ok(Ok(crate::for_task!(task, T => {
        let report = run.read_report::<<T as TaskKind>::Report>()?;
        RunFigures {
            samples_per_second: report.samples_per_second(),
            wall_seconds: report.wall_seconds(),
            peak_memory_bytes: report.peak_memory_bytes(),
            score: report.headline().1,
        }
    })))
}

/// Runs the benchmark, printing progress to stderr.
///
/// # Errors
/// A bad config, an unknown backend name, or a failure to run or read a training run. A
/// compiled-in backend that cannot run here (wgpu without an adapter) is reported in the
/// result, not an error.
pub fn bench(options: &BenchOptions) -> anyhow::Result<BenchReport> {
    let config = RunConfig::load(&options.config, &options.sets)?;
    let task = config.data.task;
    if options.repeats == 0 {
        bail!("--repeats 0: must be >= 1");
    }
    let compiled = compiled_backends();
    let backends: Vec<String> = if options.backends.is_empty() {
        compiled.iter().map(|b| (*b).to_string()).collect()
    } else {
        options.backends.clone()
    };
    for b in &backends {
        crate::run::backend::device(b)?;
    }
    // Removed when dropped, so also when a run fails with an error.
    let scratch = tempfile::Builder::new()
        .prefix("rebalance-bench-")
        .tempdir()
        .context("creating a scratch folder for the benchmark runs")?;

    let mut training = Vec::new();
    for backend in &backends {
        let mut speeds = Vec::new();
        let mut walls = Vec::new();
        let mut scores = Vec::new();
        let mut peak = None;
        let mut error = None;
        for r in 0..options.repeats {
            crate::say!(
                "training on {backend}, run {}/{} ...",
                r + 1,
                options.repeats
            );
            let dir = scratch.path().join(format!("{backend}-{r}"));
            match train_child(&options.config, task, backend, &options.sets, &dir)? {
                Ok(run) => {
                    speeds.push(run.samples_per_second);
                    walls.push(run.wall_seconds);
                    scores.push(run.score);
                    peak = peak.max(run.peak_memory_bytes);
                }
                Err(message) => {
                    crate::say!("{backend} did not run: {message}");
                    error = Some(message);
                    break;
                }
            }
        }
        training.push(BackendResult {
            backend: backend.clone(),
            runs: speeds.len(),
            samples_per_second: median(&mut speeds),
            wall_seconds: median(&mut walls),
            peak_memory_bytes: peak,
            balanced_accuracy: task.is_single_label().then(|| median(&mut scores)),
            macro_f1: (!task.is_single_label()).then(|| median(&mut scores)),
            error,
        });
    }
    drop(scratch);

    crate::say!("data pipeline ...");
    let pipeline = crate::for_task!(task, T => pipeline::<T>(&config)?);
    Ok(BenchReport {
        machine: Machine::here(),
        config: options.config.clone(),
        task,
        train_samples: pipeline.train_samples,
        epochs: config.train.epochs,
        dataset_bytes: pipeline.dataset_bytes,
        training,
        data_samples_per_second: pipeline.data_samples_per_second,
        batcher_samples_per_second: pipeline.batcher_samples_per_second,
    })
}

/// The data pipeline's figures: the dataset, the source's and the batcher's speeds.
struct Pipeline {
    train_samples: usize,
    dataset_bytes: u64,
    data_samples_per_second: f64,
    batcher_samples_per_second: f64,
}

/// Samples per second of `batcher` building batches of `batch_size` from `samples` on flex.
fn batcher_throughput<I, O>(
    samples: &impl Dataset<I>,
    batch_size: usize,
    batcher: &impl Batcher<I, O>,
) -> anyhow::Result<f64> {
    let device = Device::flex();
    throughput(1.0, || {
        let mut seen = 0;
        for first in (0..samples.len()).step_by(batch_size) {
            let items = (first..(first + batch_size).min(samples.len()))
                .map(|i| samples.get(i))
                .collect::<Result<Vec<_>, _>>()?;
            seen += items.len();
            let _batch = batcher.batch(items, &device);
        }
        Ok(seen)
    })
}

/// Samples per second of `load` building the `split_samples` samples of a dataset's splits.
fn source_throughput<T, E>(
    split_samples: usize,
    load: impl Fn() -> Result<T, E>,
) -> anyhow::Result<f64>
where
    anyhow::Error: From<E>,
{
    throughput(1.0, || {
        load()?;
        Ok(split_samples)
    })
}

/// The data pipeline of task `T`: loading the data and batching its training split.
fn pipeline<T: TaskKind>(config: &RunConfig) -> anyhow::Result<Pipeline> {
    let data = T::load(config)?;
    let split_samples = data.summary().splits.values().map(|s| s.total).sum();
    let (batcher, _) = T::batchers(config, &data, Some(T::standardizer(&data)))?;
    Ok(Pipeline {
        train_samples: data.train.len(),
        dataset_bytes: data.bytes(),
        data_samples_per_second: source_throughput(split_samples, || T::load(config))?,
        batcher_samples_per_second: batcher_throughput(
            &data.train,
            config.train.batch_size,
            &batcher,
        )?,
    })
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

impl BenchReport {
    /// The report as aligned text: each figure beside its ratio to the baseline.
    pub fn table(&self) -> String {
        let mut out = format!(
            "machine: {} cores, {}\nconfig: {} ({} training samples × {} epochs, dataset {:.2} MiB)\n\n",
            self.machine.cores,
            self.machine.cpu,
            self.config.display(),
            self.train_samples,
            self.epochs,
            mib(self.dataset_bytes)
        );
        let base = self
            .training
            .iter()
            .find(|t| t.error.is_none())
            .map(|t| (t.backend.clone(), t.samples_per_second));
        out += &format!(
            "{:<10} {:>5} {:>14} {:>12} {:>10} {:>12} {:>14} {:>10}\n",
            "backend",
            "runs",
            "samples/s",
            "vs baseline",
            "wall s",
            if self.task.is_single_label() {
                "balanced acc"
            } else {
                "macro-F1"
            },
            "peak memory",
            "/ dataset"
        );
        for t in &self.training {
            if let Some(error) = &t.error
                && t.runs == 0
            {
                out += &format!("{:<10} did not run: {error}\n", t.backend);
                continue;
            }
            let ratio = base.as_ref().map_or(String::new(), |(_, b)| {
                format!("{:.2}×", t.samples_per_second / b)
            });
            let (peak, per_data) =
                t.peak_memory_bytes
                    .map_or(("n/a".to_string(), "n/a".to_string()), |p| {
                        (
                            format!("{:.0} MiB", mib(p)),
                            format!("{:.0}×", p as f64 / self.dataset_bytes.max(1) as f64),
                        )
                    });
            out += &format!(
                "{:<10} {:>5} {:>14.0} {:>12} {:>10.2} {:>12.4} {:>14} {:>10}\n",
                t.backend,
                t.runs,
                t.samples_per_second,
                ratio,
                t.wall_seconds,
                t.balanced_accuracy.or(t.macro_f1).unwrap_or(f64::NAN),
                peak,
                per_data
            );
        }
        if let Some((name, speed)) = &base {
            out += &format!(
                "(baseline: {name}; ratios above 1 are faster)\n\n\
                 data pipeline              samples/s   vs {name} training\n\
                 {:<24} {:>12.0} {:>12.1}×\n{:<24} {:>12.0} {:>12.1}×\n",
                "data source (generate)",
                self.data_samples_per_second,
                self.data_samples_per_second / speed,
                "batcher (flex)",
                self.batcher_samples_per_second,
                self.batcher_samples_per_second / speed,
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }
}
