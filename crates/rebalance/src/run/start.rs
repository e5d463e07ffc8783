//! Starting a run: the devices it trains on, and its directory planned, claimed and readied
//! before training.

use anyhow::bail;
use burn::prelude::*;

use crate::run::backend::Backend;
use crate::run::config::RunConfig;
use crate::run::devices::training_devices;
use crate::run::history::HistoryRecorder;
use crate::run::run_dir::{Claim, RunDir, RunState, Start};
use crate::run::training::TrainOptions;

/// The devices a run trains on: `train.devices` (checked against `backend`), else the one
/// device a sweep assigned (`options.device`), else `backend`'s default device.
///
/// # Errors
/// A device of another backend, or a backend not compiled in.
pub(crate) fn run_devices(
    config: &RunConfig,
    options: &TrainOptions,
    backend: Backend,
) -> anyhow::Result<Vec<Device>> {
    match options.device {
        Some(spec) if config.train.devices.is_empty() => {
            if spec.backend != backend {
                bail!("device \"{spec}\" is not a device of train.backend = \"{backend}\"");
            }
            Ok(vec![spec.device()?])
        }
        _ => training_devices(&config.train.devices, backend),
    }
}

/// A run directory claimed and readied for training.
pub(crate) struct Prepared {
    /// The standardization of the inputs: fitted for a new run, read back for a resumed one.
    pub state: RunState,
    /// The epoch of the checkpoint a resumed run continues after.
    pub resume_from: Option<usize>,
    /// The epoch of cRT's second stage a resumed run continues after: where its first stage is
    /// done and the stage's own checkpoint (`stage2/checkpoint/`) and history hold it.
    pub stage2_from: Option<usize>,
    /// The per-epoch history, holding a resumed run's epochs before its checkpoint.
    pub history: HistoryRecorder,
    /// This process's claim on the run, held until training ends.
    pub claim: Claim,
}

/// How a run joins training: alone, as its [`TrainOptions`] say (`--resume`, `--overwrite`), or
/// as a run of a packed group (`crate::run::pack`), whose checkpoint, in the group's folder,
/// holds every run's epochs up to `done`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Joining {
    /// Trained alone.
    Alone,
    /// In a packed group: resumed after epoch `done` where the group has a checkpoint, else
    /// new (an unfinished run's files without checkpoints are replaced).
    Pack {
        /// The epoch of the group's checkpoint.
        done: Option<usize>,
    },
}

/// Plans how `run` may be used (`--resume`, `--overwrite`, or as `joining` a packed group
/// says), claims it, plans again under the claim, then writes `recorded` and the state
/// (`fresh`'s for a new run; a resumed run's is read back and checked against `features`).
///
/// # Errors
/// A run that may not be started or resumed as asked, a claim held by another process, or a
/// file that cannot be read or written.
pub(crate) fn prepare(
    run: &RunDir,
    recorded: &RunConfig,
    options: &TrainOptions,
    joining: Joining,
    features: usize,
    fresh: impl FnOnce() -> RunState,
) -> anyhow::Result<Prepared> {
    let plan = || match joining {
        Joining::Alone => run.plan(recorded, options.resume, options.overwrite),
        // The sweep found the run unfinished with this config (`compare::store`).
        Joining::Pack { done: Some(from) } => Ok(Start::Resume { from }),
        Joining::Pack { done: None } => run.plan(recorded, false, options.overwrite),
    };
    let start = plan()?;
    if let Start::Resume { from } = start
        && let Some(newest) = run.newest_checkpoint_file().filter(|&n| n > from)
    {
        crate::say!(
            "--resume: the checkpoint of epoch {newest} is incomplete (cut short by a crash); \
             resuming after epoch {from}"
        );
    }
    let state = match start {
        Start::Fresh { .. } => fresh(),
        Start::Resume { .. } => run.read_state_for(features)?,
    };
    let resume_from = match start {
        Start::Resume { from } => Some(from),
        Start::Fresh { .. } => None,
    };
    let (stage2_from, history) = resumed_history(run, recorded, resume_from)?;

    // Training starts: the run is claimed, then its directory readied.
    let claim = run.claim()?.map_err(|pid| {
        anyhow::anyhow!(
            "{} is being trained by process {pid}; wait for it, or delete {} if that process \
             is not rebalance",
            run.path().display(),
            run.claim_file().display()
        )
    })?;
    // Planned again under the claim: another process may have changed the run meanwhile.
    if plan()? != start {
        bail!(
            "the run in {} changed while this command started; run it again",
            run.path().display()
        );
    }
    if let Start::Fresh {
        replacing: Some(old),
    } = &start
    {
        crate::say!("--overwrite: replacing {old}");
    }
    run.begin(&start, recorded, &state)?;
    Ok(Prepared {
        state,
        resume_from,
        stage2_from,
        history,
        claim,
    })
}

/// The history of a run resumed after epoch `resume_from`, and the epoch of cRT's second stage
/// it continues after: where the first stage is done (`train.epochs`) and the stage has a
/// checkpoint of epoch `k` whose epochs the history holds, the history up to `k` epochs into
/// the stage; else up to `resume_from`, the stage started again.
fn resumed_history(
    run: &RunDir,
    recorded: &RunConfig,
    resume_from: Option<usize>,
) -> anyhow::Result<(Option<usize>, HistoryRecorder)> {
    let stage2_from = resume_from
        .filter(|&from| recorded.train.stage2.is_some() && from == recorded.train.epochs)
        .and_then(|from| Some((from, run.stage2().last_checkpoint()?)))
        .and_then(|(from, done)| {
            let history = HistoryRecorder::start(run.clone(), Some(from + done)).ok()?;
            Some((done, history))
        });
    match stage2_from {
        Some((done, history)) => {
            crate::say!("--resume: cRT's second stage continues after its epoch {done}");
            Ok((Some(done), history))
        }
        None => Ok((None, HistoryRecorder::start(run.clone(), resume_from)?)),
    }
}
