//! Training the runs of a sweep: the data they share, the progress bar over all of them, and
//! the threads that train them, run after run or several at once (`--jobs`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{HumanDuration, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rebalance_data::{LongTailData, Resampling};

use super::packing::{self, Pack};
use super::store::Run;
use crate::run::devices::DeviceSpec;
use crate::run::pack::{Group, GroupResults, GroupRun};
use crate::run::renderer::{ActiveRuns, RunProgress};
use crate::run::run_dir::RunDir;
use crate::run::training::{TrainOptions, evaluate_trained, train_on};
use crate::task::{TaskKind, TaskReport};

/// The data of a sweep's runs of task `T`, loaded once per seed (and data config) and shared
/// by the runs that train on it, also from several threads (`--jobs`); a seed's data is dropped
/// once its last run is done.
pub(super) struct SeedData<T: TaskKind> {
    /// By the seed and the data config, re-sampling aside (variants may change the data keys);
    /// multi-label data also by the loss's zero-count policy, which its loading checks.
    loaded: Mutex<BTreeMap<String, Data<T>>>,
    /// Runs still to come, by seed.
    remaining: Mutex<BTreeMap<u64, usize>>,
}

/// The data one run of task `T` trains on.
pub(super) type Data<T> = Arc<LongTailData<<T as TaskKind>::Target>>;

impl<T: TaskKind> SeedData<T> {
    /// Data for the runs of `todo`, none loaded yet.
    pub(super) fn new(todo: &[&Run]) -> Self {
        let mut remaining = BTreeMap::new();
        for run in todo {
            *remaining.entry(run.seed).or_insert(0) += 1;
        }
        Self {
            loaded: Mutex::new(BTreeMap::new()),
            remaining: Mutex::new(remaining),
        }
    }

    /// The data `run` trains on, loaded on first use.
    ///
    /// # Errors
    /// The data cannot be loaded, naming the variant and seed.
    pub(super) fn of(&self, run: &Run) -> anyhow::Result<Data<T>> {
        // Re-sampling changes what training visits, not the data: variants share it.
        let mut data = run.config.data.clone();
        data.resampling = Resampling::None;
        let mut key = format!("{}\n{}", run.seed, toml::to_string(&data)?);
        if !data.task.is_single_label() {
            // Multi-label loading checks the labels under the loss's zero-count policy.
            key += &format!("\n{:?}", run.config.zero_count());
        }
        // Loaded under the lock: a thread wanting the same data waits for it, not loads it
        // again.
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(data) = loaded.get(&key) {
            return Ok(Arc::clone(data));
        }
        let data = Arc::new(T::load(&run.config).with_context(|| {
            format!(
                "variant {}, seed {}: loading the data",
                run.variant, run.seed
            )
        })?);
        loaded.insert(key, Arc::clone(&data));
        Ok(data)
    }

    /// Counts `run` done (trained, skipped or failed); drops its seed's data after the last.
    pub(super) fn done(&self, run: &Run) {
        let mut remaining = self
            .remaining
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(left) = remaining.get_mut(&run.seed) {
            *left = left.saturating_sub(1);
            if *left == 0 {
                let prefix = format!("{}\n", run.seed);
                self.loaded
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .retain(|key, _| !key.starts_with(&prefix));
            }
        }
    }
}

/// The progress of a sweep: a bar over the epochs of every run to train, its message the runs
/// training now and their epochs, and a line per finished run with its score and the time
/// left. Shared by the threads of `--jobs`.
pub(super) struct Progress {
    bar: ProgressBar,
    runs: usize,
    finished: Mutex<usize>,
    total_epochs: u64,
    /// Epochs on the bar that were trained before this process (restored from checkpoints):
    /// done, but not in the time per epoch.
    restored: Mutex<u64>,
    started: Instant,
    active: ActiveRuns,
}

impl Progress {
    /// A bar over the epochs of `todo`.
    pub(super) fn new(todo: &[&Run]) -> Self {
        let total_epochs = todo.iter().map(|run| epochs(run)).sum();
        let bar = ProgressBar::with_draw_target(Some(total_epochs), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} epochs, {eta} left  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Self {
            bar,
            runs: todo.len(),
            finished: Mutex::new(0),
            total_epochs,
            restored: Mutex::new(0),
            started: Instant::now(),
            active: ActiveRuns::default(),
        }
    }

    /// Trains `run` on `data` (on `device` if given), its epochs on the bar.
    ///
    /// # Errors
    /// Any failure of the run, naming the variant and seed.
    pub(super) fn train<T: TaskKind>(
        &self,
        run: &Run,
        data: &LongTailData<T::Target>,
        device: Option<DeviceSpec>,
    ) -> anyhow::Result<T::Report> {
        let label = match device {
            Some(device) => format!("{} on {device}", label(run)),
            None => label(run),
        };
        // Each checkpoint is read to check it: once.
        let checkpoint = run.dir.last_checkpoint();
        let options = TrainOptions {
            backend: None,
            out: Some(run.dir.path().to_path_buf()),
            // An interrupted run of this sweep (the same config: `store` checked) continues
            // from its last checkpoint; nothing it trained is lost.
            resume: checkpoint.is_some(),
            overwrite: false,
            progress: Some(RunProgress {
                bar: self.bar.clone(),
                label: label.clone(),
                active: self.active.clone(),
            }),
            device,
        };
        self.restored(epochs_done(run, checkpoint));
        let result = train_on::<T>(&run.config, &options, data)
            .with_context(|| format!("variant {}, seed {}", run.variant, run.seed));
        self.bar.set_message(self.active.remove(&label));
        result
    }

    /// Trains `runs` as one packed model in `folder` (on `device` if given), each on its
    /// `data`, their epochs on the bar under one label naming the group's runs.
    ///
    /// # Errors
    /// The group's failure, naming the run where it is one run's; each run's own failure is its
    /// entry.
    pub(super) fn train_group<T: TaskKind>(
        &self,
        runs: &[&Run],
        data: &[Data<T>],
        folder: RunDir,
        device: Option<DeviceSpec>,
    ) -> GroupResults<T> {
        let packing = T::packing();
        let names: Vec<String> = runs.iter().map(|run| label(run)).collect();
        let mut label = format!("pack of {}: {}", runs.len(), names.join(", "));
        if let Some(device) = device {
            label += &format!(" on {device}");
        }
        self.say(&format!("{label}: training as one model"));
        // A group resumed from its checkpoint trains only the epochs after it.
        self.restored(folder.last_checkpoint().unwrap_or(0) as u64 * runs.len() as u64);
        let progress = RunProgress {
            bar: self.bar.clone(),
            label: label.clone(),
            active: self.active.clone(),
        };
        let group = Group {
            runs: runs
                .iter()
                .zip(data)
                .map(|(run, data)| GroupRun {
                    config: &run.config,
                    options: TrainOptions {
                        out: Some(run.dir.path().to_path_buf()),
                        device,
                        ..TrainOptions::default()
                    },
                    data: data.as_ref(),
                })
                .collect(),
            dir: folder,
            progress: Some(progress),
        };
        // A run's failure is named as the group's is: under the group's label.
        let result = (packing.train)(&group)
            .with_context(|| label.clone())
            .map(|results| {
                results
                    .into_iter()
                    .map(|result| result.with_context(|| label.clone()))
                    .collect()
            });
        self.bar.set_message(self.active.remove(&label));
        result
    }

    /// Finishes each `(run, source)` of `twins` with `source`'s trained model, evaluated with
    /// the run's own `[eval]` (`super::twins`), and says so; a run whose source is not
    /// finished (another process trains it) is left.
    ///
    /// # Errors
    /// A run that cannot be finished, naming it.
    pub(super) fn evaluate_twins<T: TaskKind>(
        &self,
        twins: &[(&Run, &Run)],
    ) -> anyhow::Result<usize> {
        let runs: Vec<&Run> = twins.iter().map(|&(run, _)| run).collect();
        let data = SeedData::<T>::new(&runs);
        let mut evaluated = 0;
        for &(run, source) in twins {
            if !source.dir.is_finished() {
                self.say(&format!(
                    "{}: left untrained: {} it shares its training with is not finished",
                    label(run),
                    label(source)
                ));
                continue;
            }
            let options = TrainOptions {
                out: Some(run.dir.path().to_path_buf()),
                ..TrainOptions::default()
            };
            let report =
                evaluate_trained::<T>(&run.config, &options, data.of(run)?.as_ref(), &source.dir)
                    .with_context(|| format!("variant {}, seed {}", run.variant, run.seed))?;
            data.done(run);
            let (name, score) = report.headline();
            self.say(&format!(
                "{}: {name} {score:.4}, the model of {} (the same training) evaluated with its \
                 own [eval]",
                label(run),
                label(source)
            ));
            evaluated += 1;
        }
        Ok(evaluated)
    }

    /// Counts `unit` (a run, or a packed group: the error names its run) failed: says so, and
    /// that the runs training now finish and no other starts.
    pub(super) fn failed(&self, unit: &[&Run], running: usize) {
        let what = match unit {
            [run] => label(run),
            group => format!(
                "a run of the pack of {} ({})",
                group.len(),
                group
                    .iter()
                    .map(|run| label(run))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.say(&format!(
            "{what} failed; {}",
            match running {
                0 => "stopping the sweep".to_string(),
                1 => "stopping the sweep once the run training now finishes".to_string(),
                n => format!("stopping the sweep once the {n} runs training now finish"),
            }
        ));
    }

    /// Counts `run` skipped: another process (`pid`) trains it.
    pub(super) fn skipped(&self, run: &Run, pid: u32) {
        self.bar.inc(epochs(run));
        self.say(&format!(
            "skipping {}: process {pid} is training it ({})",
            label(run),
            run.dir.path().display()
        ));
    }

    /// Counts `run` finished by another process while this one waited.
    pub(super) fn finished_elsewhere(&self, run: &Run) {
        self.bar.inc(epochs(run));
        self.say(&format!("{}: finished by another process", label(run)));
    }

    /// Counts `epochs` trained before this process (a run or group resuming from its
    /// checkpoint) on the bar, so that it ends full and the time left counts only what is
    /// trained now.
    fn restored(&self, epochs: u64) {
        *self.restored.lock().unwrap_or_else(PoisonError::into_inner) += epochs;
        self.bar.inc(epochs);
    }

    /// Counts `run` finished and prints its line: its score and the time left.
    pub(super) fn finished(&self, run: &Run, report: &dyn TaskReport) {
        let finished = {
            let mut finished = self.finished.lock().unwrap_or_else(PoisonError::into_inner);
            *finished += 1;
            *finished
        };
        let (name, score) = report.headline();
        self.say(&format!(
            "[{}/{}] {}: {name} {score:.4} ({:.1} s); {}",
            finished,
            self.runs,
            label(run),
            report.wall_seconds(),
            self.eta()
        ));
    }

    /// The time left, from the time per epoch so far (over every run training at once: the
    /// epochs the bar has counted).
    fn eta(&self) -> String {
        let done = self.bar.position().min(self.total_epochs);
        let left = self.total_epochs - done;
        if left == 0 {
            return "done".to_string();
        }
        let restored = *self.restored.lock().unwrap_or_else(PoisonError::into_inner);
        let trained = done.saturating_sub(restored).max(1);
        let per_epoch = self.started.elapsed().as_secs_f64() / trained as f64;
        match per_epoch * left as f64 {
            seconds if seconds < 1.0 => "less than a second left".to_string(),
            seconds => format!(
                "about {} left",
                HumanDuration(Duration::from_secs_f64(seconds))
            ),
        }
    }

    /// Prints a line above the bar, or to stderr when there is no bar.
    fn say(&self, line: &str) {
        if self.bar.is_hidden() {
            crate::say!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    /// Clears the bar.
    pub(super) fn finish(self) {
        self.bar.finish_and_clear();
    }
}

fn label(run: &Run) -> String {
    format!("{} seed {}", run.variant, run.seed)
}

/// The epochs `run` counts on the bar: both stages' (cRT's second stage reports its own).
fn epochs(run: &Run) -> u64 {
    crate::run::training::total_epochs(&run.config) as u64
}

/// The epochs of `run` that its checkpoints hold, `checkpoint` its last one's (cRT's second
/// stage's after the first's): which resuming it does not train again.
fn epochs_done(run: &Run, checkpoint: Option<usize>) -> u64 {
    let Some(first) = checkpoint else {
        return 0;
    };
    let train = &run.config.train;
    let second = match train.stage2 {
        Some(_) if first == train.epochs => run.dir.stage2().last_checkpoint().unwrap_or(0),
        _ => 0,
    };
    ((first + second) as u64).min(epochs(run))
}

/// What the threads of a sweep did.
#[derive(Default)]
pub(super) struct Tally {
    /// Runs left to another process that holds their claim.
    pub(super) skipped: usize,
    /// Runs another process finished while this one waited.
    pub(super) elsewhere: usize,
    /// The runs that failed, in the order they did, each error naming its variant and seed.
    pub(super) failures: Vec<anyhow::Error>,
}

/// Trains the runs of `units` (each a run alone, or a group of runs to train packed as one
/// model, whose folder goes into `.packs/` of the compare directory `dir`) on `jobs` threads
/// (the calling one when `jobs` is 1), the `k`-th unit on `devices[k % len]` when there are
/// devices. Each thread takes the next unit, claims its runs, trains them on their seeds'
/// shared data (a group in the parts `pack` splits it into, [`Pack::split`]) and lets the claims
/// go. After a failure no unit starts; those training then finish (finished runs are kept, so
/// running the sweep again resumes it).
pub(super) fn train_all<T: TaskKind>(
    units: &[Vec<&Run>],
    pack: Pack,
    dir: &Path,
    jobs: usize,
    devices: &[DeviceSpec],
    progress: &Progress,
) -> Tally {
    let todo: Vec<&Run> = units.iter().flatten().copied().collect();
    let data = SeedData::<T>::new(&todo);
    let next = AtomicUsize::new(0);
    let running = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let tally = Mutex::new(Tally::default());
    let count = |f: fn(&mut Tally)| f(&mut tally.lock().unwrap_or_else(PoisonError::into_inner));
    let worker = || {
        while !stop.load(Ordering::SeqCst) {
            let k = next.fetch_add(1, Ordering::SeqCst);
            let Some(unit) = units.get(k) else { break };
            let device = (!devices.is_empty()).then(|| devices[k % devices.len()]);
            running.fetch_add(unit.len(), Ordering::SeqCst);
            let result = (|| -> anyhow::Result<()> {
                // Runs another compare process trains are left to it.
                let mut claims = Vec::new();
                let mut mine = Vec::new();
                for &run in unit {
                    let claimed = run.dir.claim().with_context(|| {
                        format!(
                            "variant {}, seed {}: claiming the run",
                            run.variant, run.seed
                        )
                    })?;
                    match claimed {
                        Err(pid) => {
                            progress.skipped(run, pid);
                            count(|t| t.skipped += 1);
                        }
                        // Another process finished it since the sweep looked.
                        Ok(_) if run.dir.is_finished() => {
                            progress.finished_elsewhere(run);
                            count(|t| t.elsewhere += 1);
                        }
                        Ok(claim) => {
                            claims.push(claim);
                            mine.push(run);
                        }
                    }
                }
                let Some(first) = mine.first() else {
                    return Ok(());
                };
                // A group in parts that fit the device's memory (`auto`).
                let parts = match mine.len() {
                    1 => vec![mine.clone()],
                    _ => pack.split::<T>(&mine, data.of(first)?.as_ref()),
                };
                for part in parts {
                    match part.as_slice() {
                        [run] => {
                            let report =
                                progress.train::<T>(run, data.of(run)?.as_ref(), device)?;
                            run.drop_checkpoints();
                            progress.finished(run, &report);
                        }
                        group => {
                            let loaded = group
                                .iter()
                                .map(|run| data.of(run))
                                .collect::<anyhow::Result<Vec<_>>>()?;
                            let folder = packing::group_dir(dir, group)?;
                            // The runs that finished count; the first that failed (a run
                            // that diverged) stops the sweep, as a run alone.
                            let results =
                                progress.train_group::<T>(group, &loaded, folder, device)?;
                            let mut failed: Vec<(&Run, anyhow::Error)> = Vec::new();
                            for (&run, result) in group.iter().zip(results) {
                                match result {
                                    Ok(report) => progress.finished(run, &report),
                                    Err(error) => failed.push((run, error)),
                                }
                            }
                            let mut failed = failed.into_iter();
                            if let Some((_, error)) = failed.next() {
                                // The first run's error; the others are named.
                                let others: Vec<String> =
                                    failed.map(|(run, _)| label(run)).collect();
                                return Err(match others.as_slice() {
                                    [] => error,
                                    others => anyhow::anyhow!(
                                        "{error:#}; {} of the pack failed too (see their \
                                         experiment.log)",
                                        others.join(", ")
                                    ),
                                });
                            }
                        }
                    }
                }
                Ok(())
            })();
            let still = running.fetch_sub(unit.len(), Ordering::SeqCst) - unit.len();
            for run in unit {
                data.done(run);
            }
            if let Err(error) = result {
                stop.store(true, Ordering::SeqCst);
                progress.failed(unit, still);
                tally
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .failures
                    .push(error);
            }
        }
    };
    if jobs == 1 {
        worker();
    } else {
        std::thread::scope(|scope| {
            for k in 0..jobs.min(units.len()) {
                // The main thread's stack size: deep backbones recurse in debug builds.
                let spawned = std::thread::Builder::new()
                    .name(format!("compare-job-{k}"))
                    .stack_size(8 << 20)
                    .spawn_scoped(scope, worker);
                if spawned.is_err() {
                    // No thread: the runs go to the threads there are (at worst this one).
                    worker();
                    break;
                }
            }
        });
    }
    tally.into_inner().unwrap_or_else(PoisonError::into_inner)
}
