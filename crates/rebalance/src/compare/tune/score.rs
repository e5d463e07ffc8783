//! A grid point's score: its trained model evaluated on the validation split by the task's
//! own evaluation (the single-label confusion matrix with the run's post-hoc τ, the
//! multi-label scores at the run's thresholds), summed up as the comparison's ranking metric
//! by the same [`Compared::metrics`] as the test reports. The validation report is written
//! once into the run directory (`report-validation.json`) and read from there afterwards.

use anyhow::Context;
use burn::prelude::Device;
use rebalance_data::LongTailData;

use crate::compare::stats::{Compared, Metric, TaskView, tail_labels};
use crate::compare::store::Run;
use crate::compare::sweep::SeedData;
use crate::reporting::shots::ShotGroups;
use crate::run::backend::Backend;
use crate::run::task::Trained;
use crate::task::{TaskKind, TaskReport};

/// A task whose trained model can be evaluated on the validation split
/// ([`TaskKind::validation_report`]) and ranked.
pub trait Validated: TaskKind<Report: Compared> {}

impl<T: TaskKind<Report: Compared>> Validated for T {}

/// Each of `runs`' validation score by `metric` (the ranking metric), in their order
/// ([`validation_reports`]).
///
/// # Errors
/// As [`validation_reports`].
pub(super) fn validation_scores<T: Validated>(
    runs: &[&Run],
    metric: Metric,
    backend: Backend,
) -> anyhow::Result<Vec<f64>> {
    Ok(validation_reports::<T>(runs, backend)?
        .iter()
        .zip(runs)
        .map(|(report, run)| {
            let counts = report.train_counts().to_vec();
            let tail = if TaskView::of(run.config.data.task).shot_groups {
                Vec::new()
            } else {
                tail_labels(&counts)
            };
            report.metrics(&ShotGroups::of(&counts), &tail).get(metric)
        })
        .collect())
}

/// Each of the finished `runs`' validation report, in their order: read from its directory
/// (`report-validation.json`), else computed on `backend`'s device and written there. Each
/// seed's data is loaded once.
///
/// # Errors
/// A run whose validation report cannot be read or computed, naming it.
pub(super) fn validation_reports<T: Validated>(
    runs: &[&Run],
    backend: Backend,
) -> anyhow::Result<Vec<T::Report>> {
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let data = SeedData::<T>::new(runs);
    let mut device = None;
    let mut reports = Vec::with_capacity(runs.len());
    for run in runs {
        let report = match run.dir.read_validation_report::<T::Report>() {
            Ok(report) => report,
            Err(_) => {
                let device = match &device {
                    Some(device) => device,
                    None => device.insert(backend.device()?),
                };
                let report =
                    evaluate::<T>(run, &*data.of(run)?, device, backend).with_context(|| {
                        format!(
                            "variant {}, seed {}: the validation split's evaluation",
                            run.variant, run.seed
                        )
                    })?;
                run.dir.write_validation_report(&report)?;
                report
            }
        };
        data.done(run);
        reports.push(report);
    }
    Ok(reports)
}

/// The validation report of the finished `run`, its model read from its directory.
fn evaluate<T: Validated>(
    run: &Run,
    data: &LongTailData<T::Target>,
    device: &Device,
    backend: Backend,
) -> anyhow::Result<T::Report> {
    let config = &run.config;
    run.dir.verify_checksums()?;
    let state = run.dir.read_state_for(data.train.dim())?;
    let counts = T::counts(config, data)?;
    let model = run
        .dir
        .load_model(T::trained_model(config, data, &counts, device)?)?;
    let (batcher, _) = T::batchers(config, data, Some(state.standardizer))?;
    T::validation_report(
        &Trained {
            config,
            backend,
            data,
            counts: &counts,
            batcher: &batcher,
            device,
            devices: None,
            run: &run.dir,
            wall_seconds: run.dir.report_wall_seconds(),
            stage1: T::Stage1::default(),
        },
        &model,
    )
}
