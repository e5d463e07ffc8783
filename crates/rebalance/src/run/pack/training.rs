//! Training a packed group: each run begun as alone (its checks, its directory claimed), one
//! loop over the group's epochs (one optimizer step per step of every run, each run's DRW phase
//! its own), each run's history per epoch, a checkpoint per epoch in the group's folder; then
//! the pack split back into the runs' classifiers, each run finished as alone (cRT's second
//! stage too: it retrains one run's classifier, alone).

use anyhow::{Context, bail};
use burn::lr_scheduler::LrSchedulerRecord;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::{GradientsParams, ModuleOptimizer, OptimizerRecord};
use burn::prelude::*;
use burn::store::ModuleRecord;
use rebalance_loss::LossConfig;
use rebalance_weights::ClassCounts;

use super::loader::Lockstep;
use super::loss::GroupLoss;
use super::model::PackedClassifier;
use super::{Group, GroupResults, PackTask};
use crate::run::devices::steps_per_epoch;
use crate::run::launch::{materialize, optimizer, phases, scheduler, seeded_init};
use crate::run::renderer::RunProgress;
use crate::run::run_dir::{RunDir, SharedTraining, fault_point};
use crate::run::start::Joining;
use crate::run::task::Loader;
use crate::run::training::{Begun, Loaders, begin};

/// The checkpoints a group keeps: the last two epochs', as burn-train keeps a run's.
const KEPT_CHECKPOINTS: usize = 2;

/// Trains `group` as one model and finishes each of its runs as a run trained alone would be
/// (`model.bpk`, report, predictions, plots, history); the reports in the group's order. A
/// group interrupted after a checkpoint continues from it.
///
/// # Errors
/// The group's failure (runs whose epochs do not step together, a checkpoint that cannot be
/// written, every run diverged); a run's own failure (it diverged, its results cannot be
/// written) is its entry, naming its directory, and the others are finished.
pub fn train_group<T: PackTask>(group: &Group<'_, T>) -> GroupResults<T> {
    let done = group.dir.last_checkpoint();
    // The group's runs, in its order, so that an interrupted sweep forms it again as it was
    // (`crate::compare::packing::units`), whatever it would group now.
    let dirs: Vec<RunDir> = group
        .runs
        .iter()
        .map(|run| run.options.run_dir(run.config))
        .collect();
    if done.is_none() {
        let members: Vec<String> = dirs
            .iter()
            .map(|dir| format!("{}\n", dir.path().display()))
            .collect();
        std::fs::create_dir_all(group.dir.path())
            .with_context(|| format!("cannot create {}", group.dir.path().display()))?;
        crate::reporting::write_atomic(&group.dir.group_members(), &members.concat())?;
    }
    // A run whose history stops before the group's checkpoint diverged in the epoch after it
    // (the histories are written before the checkpoint): it resumes from its history's end,
    // marked diverged.
    let recorded: Vec<Option<usize>> = dirs
        .iter()
        .map(|dir| done.map(|done| done.min(dir.history_epochs())))
        .collect();
    let mut diverged: Vec<Option<usize>> = recorded
        .iter()
        .map(|&r| r.zip(done).filter(|(r, d)| r < d).map(|(r, _)| r + 1))
        .collect();
    let begun = group
        .runs
        .iter()
        .zip(&recorded)
        .map(|(run, &done)| {
            // A run with no epoch recorded starts afresh.
            let done = done.filter(|&d| d > 0);
            begin::<T>(run.config, &run.options, run.data, Joining::Pack { done })
                .with_context(|| named(run.config))
        })
        .collect::<anyhow::Result<Vec<Begun<'_, T>>>>()?;
    let names: Vec<String> = begun
        .iter()
        .map(|run| run.run.path().display().to_string())
        .collect();
    for run in &begun {
        run.log(&format!(
            "trained packed, as one model with {} runs ({}), in {}{}",
            begun.len(),
            names.join(", "),
            group.dir.path().display(),
            done.map_or(String::new(), |d| format!(
                ", from the group's checkpoint of epoch {d}"
            ))
        ));
    }
    let pack = Pack {
        runs: &begun,
        dir: &group.dir,
        progress: group.progress.as_ref(),
    };
    // Every run's clock starts with the group's training, not at its own setup above.
    for run in &begun {
        run.history.restart();
    }
    let models = pack.train(done, &mut diverged)?;
    // The group's training is over: each run's clock stops (writing the others' results is
    // not its training), and each run gets its own checkpoint of the last epoch, from which
    // it resumes alone if this process stops before it is finished; the group's folder is
    // then no longer needed.
    for run in &begun {
        run.history.pause();
    }
    pack.hand_over(&models, &diverged)?;
    std::fs::remove_dir_all(group.dir.path())
        .with_context(|| format!("cannot delete {}", group.dir.path().display()))?;
    Ok(begun
        .into_iter()
        .zip(models)
        .zip(diverged)
        .map(|((run, model), diverged)| {
            if let Some(epoch) = diverged {
                bail!("{}", diverged_error(run.config, epoch));
            }
            let name = named(run.config);
            let dir = run.run.clone();
            run.history.resume();
            if run.config.train.stage2.is_some() {
                run.log("cRT's second stage: the classifier retrained alone, after the group");
            }
            let (model, stage1) = T::second_stage(&run.trainer(group.progress.as_ref()), model)
                .with_context(|| name.clone())?;
            let report = run.conclude(model, stage1).context(name)?;
            let _ = dir.remove_checkpoints();
            Ok(report)
        })
        .collect())
}

/// The error of a packed run whose loss stopped being finite in `epoch`, as a run alone says it.
fn diverged_error(config: &crate::run::config::RunConfig, epoch: usize) -> String {
    format!(
        "{}: training diverged: the loss became NaN or infinite in epoch {epoch}; lower \
         train.learning_rate (now {}) or check the data",
        named(config),
        config.train.learning_rate
    )
}

/// A run as errors name it: its directory.
fn named(config: &crate::run::config::RunConfig) -> String {
    format!("the packed run in {}", config.output.dir.display())
}

/// A group's runs, begun, and where their pack trains.
struct Pack<'a, 'b, T: PackTask> {
    runs: &'a [Begun<'b, T>],
    dir: &'a RunDir,
    progress: Option<&'a RunProgress>,
}

impl<T: PackTask> Pack<'_, '_, T> {
    /// Run `r`'s model as its phase from epoch `first` builds it alone: seeded with its seed,
    /// with the loss of epoch `first - 1`, on the autodiff device.
    fn single(&self, r: usize, first: usize) -> anyhow::Result<T::Model> {
        let run = &self.runs[r];
        let autodiff = run.devices[0].clone().autodiff();
        seeded_init(|| -> anyhow::Result<T::Model> {
            autodiff.seed(run.config.train.seed);
            Ok(materialize(T::model(
                run.config,
                run.data,
                &run.counts,
                first - 1,
                &autodiff,
            )?))
        })
    }

    /// Trains the pack from the checkpoint of epoch `done` (or from the runs' initial models)
    /// to the last epoch; the runs' trained classifiers. `diverged[r]` is the epoch run `r`
    /// diverged in (given for a group resumed after it, set as it happens): such a run trains
    /// on in the pack, its slices unused, and is not finished.
    fn train(
        &self,
        done: Option<usize>,
        diverged: &mut [Option<usize>],
    ) -> anyhow::Result<Vec<T::Model>> {
        let first = &self.runs[0];
        let train = &first.config.train;
        let autodiff = first.devices[0].clone().autodiff();
        let batches = steps_per_epoch(first.data.train.len(), train.batch_size, 1);
        let singles = (0..self.runs.len())
            .map(|r| self.single(r, 1))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut model = PackedClassifier::stack(&singles.iter().collect::<Vec<_>>())?;
        drop(singles);
        let mut optim = optimizer(train);
        let mut schedule = scheduler(train, batches)?;
        let start = done.unwrap_or(0);
        if start > 0 {
            (model, optim, schedule) = self.restore(model, optim, schedule, start)?;
        }
        let phases: Vec<Vec<(usize, usize)>> =
            self.runs.iter().map(|run| phases(run.config)).collect();
        let phase = |r: usize, epoch: usize| -> (usize, usize) {
            *phases[r]
                .iter()
                .find(|&&(f, l)| f <= epoch && epoch <= l)
                .unwrap_or(&(1, train.epochs))
        };
        let mut loaders: Vec<Loaders<T::Batch>> = Vec::new();
        let mut loss = None;
        for epoch in start + 1..=train.epochs {
            // A run whose phase starts now (or the session's first epoch): its loaders and
            // loss as its phase builds them alone.
            let renewed = (0..self.runs.len())
                .filter(|&r| epoch == start + 1 || phase(r, epoch).0 == epoch)
                .collect::<Vec<_>>();
            for &r in &renewed {
                let loaders_r = self.loaders(r, phase(r, epoch).0, epoch - 1)?;
                if loaders.len() <= r {
                    loaders.push(loaders_r);
                } else {
                    loaders[r] = loaders_r;
                }
            }
            if !renewed.is_empty() {
                let configs: Vec<&LossConfig> = self.runs.iter().map(|r| &r.config.loss).collect();
                let counts: Vec<ClassCounts> = self.runs.iter().map(|r| r.counts.clone()).collect();
                let samples: Vec<u64> = self
                    .runs
                    .iter()
                    .map(|r| r.data.train.len() as u64)
                    .collect();
                let epochs: Vec<usize> = (0..self.runs.len())
                    .map(|r| phase(r, epoch).0 - 1)
                    .collect();
                loss = Some(GroupLoss::<T>::new(
                    &configs, &counts, &samples, &epochs, &autodiff,
                )?);
            }
            let Some(loss) = &loss else {
                bail!("no loss for epoch {epoch}");
            };
            let train_loaders: Vec<Loader<T::Batch>> =
                loaders.iter().map(|(t, _)| t.clone()).collect();
            let valid_loaders: Vec<Loader<T::Batch>> =
                loaders.iter().map(|(_, v)| v.clone()).collect();
            for split in [&train_loaders, &valid_loaders] {
                let items: Vec<usize> = split.iter().map(|l| l.num_items()).collect();
                if items.windows(2).any(|w| w[0] != w[1]) {
                    bail!(
                        "the runs of the pack in {} have splits of different sizes ({items:?} \
                         samples): they cannot share a step; train them with --pack off",
                        self.dir.path().display()
                    );
                }
            }
            // Each run's epoch loss is the mean of its batches' losses, each batch counting
            // once whatever its size, as burn-train's `LossMetric` records a run alone (its
            // loss tensor is one value a batch). Summed on the device and read once an epoch:
            // a read every step would make the device wait for each step to finish.
            let mut sums: Option<Tensor<1>> = None;
            let mut steps = 0usize;
            for batch in Lockstep::<T>::new(&train_loaders) {
                let batch = batch?;
                let losses = loss.forward(model.forward(batch.features), batch.targets);
                let detached = losses.clone().detach();
                sums = Some(match sums {
                    Some(sum) => sum + detached,
                    None => detached,
                });
                steps += 1;
                let grads = GradientsParams::from_grads(losses.sum().backward(), &model);
                model = optim.step(schedule.step(), model, grads);
            }
            let losses: Vec<f64> = match sums {
                Some(sums) => sums
                    .into_data()
                    .iter::<f32>()
                    .map(|s| f64::from(s) / steps as f64)
                    .collect(),
                None => vec![0.0; self.runs.len()],
            };
            // A run whose loss is no longer finite stops here: its parameters are its own
            // slices of the pack's, so the others train on unharmed, as they would alone.
            for (r, loss) in losses.iter().enumerate() {
                if !loss.is_finite() && diverged[r].is_none() {
                    diverged[r] = Some(epoch);
                    self.runs[r].log(&format!(
                        "training diverged in epoch {epoch}; the other runs of the pack go on"
                    ));
                }
            }
            if diverged.iter().all(Option::is_some) {
                bail!("{}", diverged_error(self.runs[0].config, epoch));
            }
            let scores = self.validate(&model, &valid_loaders)?;
            for (r, (run, (loss, score))) in self
                .runs
                .iter()
                .zip(losses.into_iter().zip(scores))
                .enumerate()
            {
                if diverged[r].is_some() {
                    continue;
                }
                run.log(&format!(
                    "epoch {epoch}/{}: training loss {loss:.6}, {} {:.4} (packed)",
                    train.epochs,
                    score.label(),
                    score.value()
                ));
                run.history.add_epoch(loss, score);
            }
            self.checkpoint(&model, &optim, &schedule, epoch)?;
            fault_point("after-pack-checkpoint");
            self.show(epoch, train.epochs);
        }
        let templates = (0..self.runs.len())
            .map(|r| self.single(r, phase(r, train.epochs).0))
            .collect::<anyhow::Result<Vec<_>>>()?;
        // Each in inference mode on the plain device, as burn-train hands back a run trained
        // alone (`LearningResult::model`): its batch norms evaluate with running statistics.
        Ok(model
            .unstack(templates)
            .into_iter()
            .map(|m| m.valid())
            .collect())
    }

    /// Run `r`'s training loader of its phase from epoch `first`, as from epoch `start + 1`
    /// (on the autodiff device), and its validation loader, as its phase builds them alone.
    fn loaders(&self, r: usize, first: usize, start: usize) -> anyhow::Result<Loaders<T::Batch>> {
        let run = &self.runs[r];
        let trainer = run.trainer(None);
        let (train, valid) = trainer.loaders(first, start, run.config.data.resampling)?;
        Ok((
            train.to_device(&trainer.autodiff),
            valid.to_device(&trainer.device),
        ))
    }

    /// Each run's validation score of `model` on its validation loader.
    fn validate(
        &self,
        model: &PackedClassifier,
        loaders: &[Loader<T::Batch>],
    ) -> anyhow::Result<Vec<crate::run::history::ValidScore>> {
        let model = model.valid();
        let runs = self.runs.len();
        let mut truth: Vec<Vec<f32>> = vec![Vec::new(); runs];
        let mut answers: Vec<Vec<f32>> = vec![Vec::new(); runs];
        for batch in Lockstep::<T>::new(loaders) {
            let batch = batch?;
            let (true_rows, answer_rows) =
                T::valid_rows(model.forward(batch.features), batch.targets);
            let [_, size] = true_rows.dims();
            // Both in one read-back per step.
            let both: Vec<f32> = Tensor::cat(vec![true_rows, answer_rows], 0)
                .into_data()
                .convert::<f32>()
                .iter::<f32>()
                .collect();
            let (true_values, answer_values) = both.split_at(runs * size);
            for r in 0..runs {
                truth[r].extend_from_slice(&true_values[r * size..(r + 1) * size]);
                answers[r].extend_from_slice(&answer_values[r * size..(r + 1) * size]);
            }
        }
        let classes = self.runs[0].data.num_classes;
        Ok(truth
            .iter()
            .zip(&answers)
            .map(|(t, a)| T::valid_score(t, a, classes))
            .collect())
    }

    /// Writes the group's checkpoint of `epoch` (the files burn-train writes for a run, which
    /// [`RunDir::last_checkpoint`] reads) and drops the one before the last kept.
    fn checkpoint(
        &self,
        model: &PackedClassifier,
        optim: &ModuleOptimizer,
        schedule: &ModuleLrScheduler,
        epoch: usize,
    ) -> anyhow::Result<()> {
        self.dir.write_checkpoint(
            epoch,
            model.clone().into_record(),
            optim.to_record(),
            schedule.to_record(),
        )?;
        if let Some(old) = epoch.checked_sub(KEPT_CHECKPOINTS) {
            self.dir.remove_checkpoint(old);
        }
        Ok(())
    }

    /// Writes each run's own checkpoint of its last epoch: its trained model (`models[r]`), as
    /// a run trained alone leaves it, with a fresh optimizer and schedule (a resumed run trains
    /// no further epoch with them; the run's checkpoints are deleted once it is finished), and
    /// its record of the pack ([`SharedTraining::Pack`]: the runs and their training time).
    fn hand_over(&self, models: &[T::Model], diverged: &[Option<usize>]) -> anyhow::Result<()> {
        let runs: Vec<String> = self
            .runs
            .iter()
            .map(|run| run.run.path().display().to_string())
            .collect();
        for ((run, model), diverged) in self.runs.iter().zip(models).zip(diverged) {
            if diverged.is_some() {
                continue;
            }
            // The pack's time, as the run's history counts it at the end of its last epoch
            // (a run resumed from here starts its clock from that time too).
            let training_seconds =
                (run.history.last_epoch_seconds()).unwrap_or_else(|| run.history.wall_seconds());
            let shared = SharedTraining::Pack {
                runs: runs.clone(),
                training_seconds,
            };
            run.run
                .write_shared_training(&shared)
                .with_context(|| named(run.config))?;
            let train = &run.config.train;
            let batches = steps_per_epoch(run.data.train.len(), train.batch_size, 1);
            run.run
                .write_checkpoint(
                    train.epochs,
                    model.clone().into_record(),
                    optimizer(train).to_record(),
                    scheduler(train, batches)?.to_record(),
                )
                .with_context(|| named(run.config))?;
            run.run
                .mark_packed_checkpoint(train.epochs)
                .with_context(|| named(run.config))?;
            fault_point("during-hand-over");
        }
        Ok(())
    }

    /// `model`, `optim` and `schedule` as the group's checkpoint of `epoch` left them.
    fn restore(
        &self,
        model: PackedClassifier,
        optim: ModuleOptimizer,
        schedule: ModuleLrScheduler,
        epoch: usize,
    ) -> anyhow::Result<(PackedClassifier, ModuleOptimizer, ModuleLrScheduler)> {
        let failed = |e: &dyn std::fmt::Display| {
            anyhow::anyhow!(
                "{}: the checkpoint of epoch {epoch}: {e}",
                self.dir.path().display()
            )
        };
        let file = |part: &str| self.dir.checkpoint_file(part, epoch);
        let record = ModuleRecord::load(file("model")).map_err(|e| failed(&e))?;
        let model = model.try_load_record(record).map_err(|e| failed(&e))?;
        let optim =
            optim.load_record(OptimizerRecord::load(file("optim")).map_err(|e| failed(&e))?);
        let schedule = schedule
            .load_record(LrSchedulerRecord::load(file("scheduler")).map_err(|e| failed(&e))?);
        Ok((model, optim, schedule))
    }

    /// Counts an epoch of every run on the sweep's bar.
    fn show(&self, epoch: usize, epochs: usize) {
        if let Some(progress) = self.progress {
            progress.bar.inc(self.runs.len() as u64);
            let status = format!("epoch {}/{epochs}", (epoch + 1).min(epochs));
            progress
                .bar
                .set_message(progress.active.set(&progress.label, status));
        }
    }
}
