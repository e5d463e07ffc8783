//! Training the runs of a sweep: the data they share and the progress bar over all of them.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{HumanDuration, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rebalance_data::{LongTailData, MultiLabelData, Resampling, Task};

use super::store::{Run, RunReport};
use crate::multilabel_training::{self, zero_count};
use crate::renderer::RunProgress;
use crate::training::{TrainOptions, train_on};

/// The data of one seed's runs, loaded once for all its variants.
#[derive(Default)]
pub(super) struct SeedData {
    /// By the data config, re-sampling aside: variants may change the data keys.
    loaded: BTreeMap<String, LongTailData>,
    /// Multi-label data by the data config and the loss's zero-count policy.
    multi_label: BTreeMap<String, MultiLabelData>,
}

/// The data one run trains on.
pub(super) enum RunData<'a> {
    /// Single-label.
    SingleLabel(&'a LongTailData),
    /// Multi-label.
    MultiLabel(&'a MultiLabelData),
}

impl SeedData {
    /// The data `run` trains on, loaded on first use.
    ///
    /// # Errors
    /// The data cannot be loaded, naming the variant and seed.
    pub(super) fn of(&mut self, run: &Run) -> anyhow::Result<RunData<'_>> {
        let context = || {
            format!(
                "variant {}, seed {}: loading the data",
                run.variant, run.seed
            )
        };
        if run.config.data.task == Task::MultiLabel {
            // Variants differ in the loss only: a label without positives may be allowed by
            // one loss's weighting and refused by another's.
            let policy = zero_count(&run.config);
            let key = format!("{}\n{policy:?}", toml::to_string(&run.config.data)?);
            return Ok(RunData::MultiLabel(match self.multi_label.entry(key) {
                Entry::Occupied(data) => data.into_mut(),
                Entry::Vacant(slot) => slot.insert(
                    run.config
                        .data
                        .load_multi_label(policy)
                        .with_context(context)?,
                ),
            }));
        }
        // Re-sampling changes what training visits, not the data: variants share it.
        let mut key = run.config.data.clone();
        key.resampling = Resampling::None;
        Ok(RunData::SingleLabel(
            match self.loaded.entry(toml::to_string(&key)?) {
                Entry::Occupied(data) => data.into_mut(),
                Entry::Vacant(slot) => slot.insert(run.config.data.load().with_context(context)?),
            },
        ))
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
    pub(super) fn train(&self, run: &Run, data: RunData<'_>) -> anyhow::Result<RunReport> {
        let options = TrainOptions {
            backend: None,
            out: Some(run.dir.path().to_path_buf()),
            resume: false,
            overwrite: false,
            progress: Some(RunProgress {
                bar: self.bar.clone(),
                label: label(run),
            }),
            device: None,
        };
        match data {
            RunData::SingleLabel(data) => {
                train_on(&run.config, &options, data).map(RunReport::SingleLabel)
            }
            RunData::MultiLabel(data) => multilabel_training::train_on(&run.config, &options, data)
                .map(RunReport::MultiLabel),
        }
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
    pub(super) fn finished(&mut self, run: &Run, report: &RunReport) {
        self.finished += 1;
        self.done_epochs += epochs(run);
        self.bar.set_position(self.done_epochs);
        let (name, score) = report.headline();
        self.say(&format!(
            "[{}/{}] {}: {name} {score:.4} ({:.1} s); {}",
            self.finished,
            self.runs,
            label(run),
            report.wall_seconds(),
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
