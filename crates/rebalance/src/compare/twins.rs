//! Runs that differ only in `[eval]` share one trained model: the grid points of a post-hoc
//! setting (`tune = { eval.posthoc_tau = [...] }`), or a variant that is another's plus an
//! evaluation setting (`ce-posthoc` and `ce`). Trained alone, each would train the same model
//! again (on a CPU bit for bit); instead the first of them trains and the others evaluate its
//! model with their own `[eval]` (`crate::run::training::evaluate_trained`), so a post-hoc grid
//! also compares its settings on one model, as the method means.

use super::store::Run;

/// What a run's training depends on: its config without `[eval]` and its directory, and its
/// seed; `None` for a run that trains alone whatever its twins (cRT: its report also records
/// its first stage, which only training gives).
fn training_key(run: &Run) -> Option<String> {
    if run.config.train.stage2.is_some() {
        return None;
    }
    let mut training = run.config.clone();
    training.eval = Default::default();
    training.output = Default::default();
    Some(format!("{}\n{}", run.seed, training.to_toml().ok()?))
}

/// Each of `runs`'s training key ([`training_key`]): runs with the same key train the same
/// model.
pub(super) fn training_keys(runs: &[&Run]) -> Vec<Option<String>> {
    runs.iter().map(|run| training_key(run)).collect()
}

/// For each of `runs` (the sweep's, in order), the index of the first run with its training:
/// its own for a run that trains. `--shard` keeps a run with that one (its shard trains it
/// once, and evaluates the others).
pub(super) fn sources(runs: &[&Run]) -> Vec<usize> {
    let keys = training_keys(runs);
    keys.iter()
        .enumerate()
        .map(|(k, key)| match key {
            Some(key) => keys
                .iter()
                .position(|other| other.as_ref() == Some(key))
                .unwrap_or(k),
            None => k,
        })
        .collect()
}

/// The runs of `todo` to train, and the others with the run whose model each evaluates: the
/// first run of `all` (the sweep's order) with its training, where that run is finished or
/// trains in `todo` (`--shard` keeps them in one shard, [`sources`]); else it trains itself.
pub(super) fn split<'a>(
    todo: &[&'a Run],
    all: &[&'a Run],
) -> (Vec<&'a Run>, Vec<(&'a Run, &'a Run)>) {
    let sources = sources(all);
    let in_todo = |run: &Run| todo.iter().any(|t| std::ptr::eq(*t, run));
    let mut train = Vec::new();
    let mut twins = Vec::new();
    for &run in todo {
        let source = all
            .iter()
            .position(|other| std::ptr::eq(*other, run))
            .map(|k| all[sources[k]])
            .filter(|source| !std::ptr::eq(*source, run))
            .filter(|source| source.dir.is_finished() || in_todo(source));
        match source {
            Some(source) => twins.push((run, source)),
            None => train.push(run),
        }
    }
    (train, twins)
}
