//! Training the runs of a sweep: the data they share and the progress bar over all of them.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{HumanDuration, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rebalance_data::{LongTailData, Resampling};

use super::store::Run;
use crate::renderer::RunProgress;
use crate::report::Report;
use crate::training::{TrainOptions, train_on};

/// The data of one seed's runs, loaded once for all its variants.
#[derive(Default)]
pub(super) struct SeedData {
    /// By the data config, re-sampling aside: variants may change the data keys.
    loaded: BTreeMap<String, LongTailData>,
}

impl SeedData {
    /// The data `run` trains on, loaded on first use.
    ///
    /// # Errors
    /// The data cannot be loaded, naming the variant and seed.
    pub(super) fn of(&mut self, run: &Run) -> anyhow::Result<&LongTailData> {
        // Re-sampling changes what training visits, not the data: variants share it.
        let mut key = run.config.data.clone();
        key.resampling = Resampling::None;
        Ok(match self.loaded.entry(toml::to_string(&key)?) {
            Entry::Occupied(data) => data.into_mut(),
            Entry::Vacant(slot) => slot.insert(run.config.data.load().with_context(|| {
                format!(
                    "variant {}, seed {}: loading the data",
                    run.variant, run.seed
                )
            })?),
        })
    }
}

/// The progress of a sweep: a bar over the epochs of every run to train, and a line per
/// finished run with its score and the time left.
pub(super) struct Progress {
    bar: ProgressBar,
    runs: usize,
    finished: usize,
    total_epochs: u64,
    done_epochs: u64,
    started: Instant,
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
            finished: 0,
            total_epochs,
            done_epochs: 0,
            started: Instant::now(),
        }
    }

    /// Trains `run` on `data`, its epochs on the bar.
    ///
    /// # Errors
    /// Any failure of the run, naming the variant and seed.
    pub(super) fn train(&self, run: &Run, data: &LongTailData) -> anyhow::Result<Report> {
        train_on(
            &run.config,
            &TrainOptions {
                backend: None,
                out: Some(run.dir.path().to_path_buf()),
                resume: false,
                overwrite: false,
                progress: Some(RunProgress {
                    bar: self.bar.clone(),
                    label: label(run),
                }),
            },
            data,
        )
        .with_context(|| format!("variant {}, seed {}", run.variant, run.seed))
    }

    /// Counts `run` skipped: another process (`pid`) trains it.
    pub(super) fn skipped(&mut self, run: &Run, pid: u32) {
        self.done_epochs += epochs(run);
        self.bar.set_position(self.done_epochs);
        self.say(&format!(
            "skipping {}: process {pid} is training it ({})",
            label(run),
            run.dir.path().display()
        ));
    }

    /// Counts `run` finished by another process while this one waited.
    pub(super) fn finished_elsewhere(&mut self, run: &Run) {
        self.done_epochs += epochs(run);
        self.bar.set_position(self.done_epochs);
        self.say(&format!("{}: finished by another process", label(run)));
    }

    /// Counts `run` finished and prints its line: its score and the time left.
    pub(super) fn finished(&mut self, run: &Run, report: &Report) {
        self.finished += 1;
        self.done_epochs += epochs(run);
        self.bar.set_position(self.done_epochs);
        self.say(&format!(
            "[{}/{}] {}: balanced accuracy {:.4} ({:.1} s); {}",
            self.finished,
            self.runs,
            label(run),
            report.scores.balanced_accuracy,
            report.wall_seconds,
            self.eta()
        ));
    }

    /// The time left, from the time per epoch so far.
    fn eta(&self) -> String {
        let left = self.total_epochs - self.done_epochs;
        if left == 0 {
            return "done".to_string();
        }
        let per_epoch = self.started.elapsed().as_secs_f64() / self.done_epochs.max(1) as f64;
        format!(
            "about {} left",
            HumanDuration(Duration::from_secs_f64(per_epoch * left as f64))
        )
    }

    /// Prints a line above the bar, or to stderr when there is no bar.
    fn say(&self, line: &str) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
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

fn epochs(run: &Run) -> u64 {
    run.config.train.epochs as u64
}
