//! The runs of a sweep on disk: `<compare dir>/<variant>/seed-<train.seed>/`, each a
//! [`RunDir`]. A run whose recorded config equals the one it would be trained with and that
//! has its report is finished and not trained again; one recorded with another config is
//! refused unless `--force` clears it.

use std::path::Path;

use anyhow::{Context, bail};

use super::plan::Variant;
use crate::run::backend::Backend;
use crate::run::config::RunConfig;
use crate::run::run_dir::{PLACEMENT_KEYS, RunDir, SharedTraining, config_difference};
use crate::task::TaskKind;

/// One (variant, seed) run of a sweep.
#[derive(Debug, Clone)]
pub(super) struct Run {
    /// The variant's name.
    pub variant: String,
    /// Its `train.seed`.
    pub seed: u64,
    /// Where it lives.
    pub dir: RunDir,
    /// Its configuration: the variant's, with the seed's offset, the backend and `dir`.
    pub config: RunConfig,
    /// The resolved config, as the run directory records it.
    recorded: String,
}

/// Every (variant, seed) run of a sweep into `dir`, seed by seed: seed `k` (from 0) adds `k`
/// to `data.seed` and `train.seed`.
///
/// # Errors
/// A config that cannot be serialized (never in practice).
pub(super) fn runs(
    dir: &Path,
    variants: &[&Variant],
    seeds: usize,
    backend: Backend,
) -> anyhow::Result<Vec<Run>> {
    let mut runs = Vec::with_capacity(variants.len() * seeds);
    for offset in 0..seeds as u64 {
        for variant in variants {
            let mut config = variant.config.clone();
            config.data.seed += offset;
            config.train.seed += offset;
            config.train.backend = backend;
            let run_dir = dir
                .join(&variant.name)
                .join(format!("seed-{}", config.train.seed));
            config.output.dir = run_dir.clone();
            runs.push(Run {
                variant: variant.name.clone(),
                seed: config.train.seed,
                dir: RunDir::new(run_dir),
                recorded: config.to_toml()?,
                config,
            });
        }
    }
    Ok(runs)
}

/// The runs to train, in the order of `runs`: those not finished, and with `force` those
/// recorded with another config, cleared first, each named on stderr. A run whose config
/// differs only in [`PLACEMENT_KEYS`] (the backend, the workers, the directory) is the same run
/// and kept. `merging` (`--merge`, which trains nothing) says so in the error.
///
/// # Errors
/// Runs recorded with another config without `force`, naming the first difference, or a run
/// directory that cannot be cleared.
pub(super) fn pending<'a>(
    runs: &[&'a Run],
    force: bool,
    merging: bool,
) -> anyhow::Result<Vec<&'a Run>> {
    let found: Vec<(&Run, Found)> = runs.iter().map(|&run| (run, run.inspect())).collect();
    let changed: Vec<(&Run, &str)> = found
        .iter()
        .filter_map(|(run, found)| match found {
            Found::Changed(difference) => Some((*run, difference.as_str())),
            _ => None,
        })
        .collect();
    if let Some((first, difference)) = changed.first() {
        if !force {
            let rerun = if merging {
                "--merge takes runs as they are: compare without --merge, with --force,"
            } else {
                "rerun with --force"
            };
            bail!(
                "{} holds a run of another config ({difference}){}; {rerun} to replace such runs \
                 (trained again, or only evaluated again where their training is another run's), \
                 or choose another --out",
                first.dir.path().display(),
                if changed.len() > 1 {
                    format!(", as do {} more runs", changed.len() - 1)
                } else {
                    String::new()
                }
            );
        }
        for (run, difference) in &changed {
            let path = run.dir.path();
            // Cleared under the run's claim: one another process trains is left to it, and
            // the sweep skips it, saying so.
            let claim = match run.dir.claim()? {
                Ok(claim) => claim,
                Err(pid) => {
                    crate::say!(
                        "--force: leaving {} seed {} in {}: process {pid} is training it",
                        run.variant,
                        run.seed,
                        path.display()
                    );
                    continue;
                }
            };
            // Looked at again under the claim: another process may have retrained it with
            // this config between the look above and the claim.
            if !matches!(run.inspect(), Found::Changed(_)) {
                continue;
            }
            crate::say!(
                "--force: deleting the {} run {} seed {} in {}, of another config ({difference})",
                if run.dir.is_finished() {
                    "finished"
                } else {
                    "unfinished"
                },
                run.variant,
                run.seed,
                path.display()
            );
            run.dir.clear_claimed(&claim)?;
        }
    }
    Ok(found
        .into_iter()
        .filter(|(_, found)| !matches!(found, Found::Done))
        .map(|(run, _)| run)
        .collect())
}

/// The runs as a compact list, variant by variant in the order of `runs`: `ce seeds 1-3, 5;
/// ins seed 2`.
pub(super) fn compact(runs: &[&Run]) -> String {
    let mut variants: Vec<(&str, Vec<u64>)> = Vec::new();
    for run in runs {
        match variants.iter_mut().find(|(name, _)| *name == run.variant) {
            Some((_, seeds)) => seeds.push(run.seed),
            None => variants.push((&run.variant, vec![run.seed])),
        }
    }
    let lists: Vec<String> = variants
        .into_iter()
        .map(|(name, mut seeds)| {
            seeds.sort_unstable();
            seeds.dedup();
            let mut ranges: Vec<String> = Vec::new();
            let mut i = 0;
            while i < seeds.len() {
                let mut j = i;
                while j + 1 < seeds.len() && seeds[j + 1] == seeds[j] + 1 {
                    j += 1;
                }
                ranges.push(if j > i {
                    format!("{}-{}", seeds[i], seeds[j])
                } else {
                    seeds[i].to_string()
                });
                i = j + 1;
            }
            let word = if seeds.len() == 1 { "seed" } else { "seeds" };
            format!("{name} {word} {}", ranges.join(", "))
        })
        .collect();
    lists.join("; ")
}

/// Reads the report of every run, of task `T`.
///
/// # Errors
/// A run without a readable report.
pub(super) fn reports<T: TaskKind>(runs: &[Run]) -> anyhow::Result<Vec<T::Report>> {
    runs.iter()
        .map(|run| {
            run.dir.read_report().with_context(|| {
                format!(
                    "the finished run {} (delete its folder to train it again)",
                    run.dir.path().display()
                )
            })
        })
        .collect()
}

/// What a sweep found for one run in the compare directory.
enum Found {
    /// Finished with the same config.
    Done,
    /// Not finished (or never started).
    Todo,
    /// Started or finished with another config: the first difference.
    Changed(String),
}

impl Run {
    fn inspect(&self) -> Found {
        let Some(old) = self.dir.recorded_config() else {
            return Found::Todo;
        };
        match config_difference(&old, &self.recorded, &PLACEMENT_KEYS) {
            Ok(None) if self.dir.is_finished() => Found::Done,
            Ok(None) => Found::Todo,
            Ok(Some(difference)) => Found::Changed(difference),
            Err(_) => Found::Changed("config.toml is unreadable".to_string()),
        }
    }

    /// Deletes the checkpoints of a finished run: it is never resumed, they only take space.
    pub(super) fn drop_checkpoints(&self) {
        let _ = self.dir.remove_checkpoints();
    }
}

/// The training time of `runs` (a sweep's), each training counted once, as their
/// directories record how trainings were shared ([`SharedTraining`]): each run's
/// `wall_seconds`, but a pack's training time once for its runs (each of their reports counts
/// it; cRT's second stage, trained alone after the pack, is a run's own), and a run evaluated
/// from another run's training only where no run of `runs` trained that model (then once for
/// the runs evaluated from it: `--only` of a post-hoc variant, or its source since re-trained
/// with another config by `--force`).
pub(super) fn training_seconds(runs: &[Run]) -> f64 {
    use std::collections::{BTreeMap, BTreeSet};
    let all: Vec<&Run> = runs.iter().collect();
    let keys = super::twins::training_keys(&all);
    let mut packs: BTreeMap<Vec<String>, f64> = BTreeMap::new();
    let mut trained: BTreeSet<&str> = BTreeSet::new();
    let mut evaluated: BTreeMap<&str, f64> = BTreeMap::new();
    let mut own = 0.0;
    for (run, key) in runs.iter().zip(&keys) {
        let wall = run.dir.report_wall_seconds();
        match (run.dir.shared_training(), key) {
            (Some(SharedTraining::Twin { .. }), Some(key)) => {
                evaluated.entry(key).or_insert(wall);
                continue;
            }
            (
                Some(SharedTraining::Pack {
                    runs,
                    training_seconds,
                }),
                _,
            ) => {
                own += (wall - training_seconds).max(0.0);
                let pack = packs.entry(runs).or_default();
                *pack = pack.max(training_seconds);
            }
            _ => own += wall,
        }
        if let Some(key) = key {
            trained.insert(key);
        }
    }
    let untrained = evaluated
        .iter()
        .filter(|(key, _)| !trained.contains(*key))
        .map(|(_, wall)| wall);
    own + packs.values().sum::<f64>() + untrained.sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_keys_make_no_other_run() {
        let a = "[train]\nbackend = \"flex\"\nworkers = 0\nlr = 0.1\n[output]\ndir = \"a\"\n";
        let b = "[train]\nbackend = \"wgpu\"\nworkers = 4\nlr = 0.1\n[output]\ndir = \"b\"\n";
        assert_eq!(config_difference(a, b, &PLACEMENT_KEYS), Ok(None));
        let c = b.replace("lr = 0.1", "lr = 0.2");
        assert_eq!(
            config_difference(a, &c, &PLACEMENT_KEYS)
                .unwrap()
                .as_deref(),
            Some("train.lr: 0.1 → 0.2")
        );
    }

    /// Issue 27, item 17: `--force` deletes a run of another config only under the run's
    /// claim. A claim held by another live process (a child started for the test) keeps every
    /// file, the claim included; once that process has ended, the stale claim is taken over
    /// and the run cleared.
    #[test]
    fn force_deletes_no_run_another_process_has_claimed() {
        let dir = tempfile::tempdir().unwrap();
        let quickstart =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/quickstart.toml");
        let config = RunConfig::load(&quickstart, &[]).unwrap();
        let run_dir = RunDir::new(dir.path().join("ce/seed-1"));
        let run = Run {
            variant: "ce".to_string(),
            seed: 1,
            dir: run_dir.clone(),
            recorded: config.to_toml().unwrap(),
            config: config.clone(),
        };
        let mut other = config;
        other.train.learning_rate *= 2.0;
        std::fs::create_dir_all(run_dir.path()).unwrap();
        let files = ["config.toml", "model.bpk", "claim"];
        let mut holder = std::process::Command::new("sleep")
            .arg("600")
            .spawn()
            .unwrap();
        std::fs::write(run_dir.path().join(files[0]), other.to_toml().unwrap()).unwrap();
        std::fs::write(run_dir.path().join(files[1]), b"weights").unwrap();
        std::fs::write(run_dir.path().join(files[2]), holder.id().to_string()).unwrap();
        let contents = || -> Vec<Option<Vec<u8>>> {
            files
                .iter()
                .map(|name| std::fs::read(run_dir.path().join(name)).ok())
                .collect()
        };
        let before = contents();
        let pending_while_held = pending(&[&run], true, false).map(|todo| todo.len());
        let kept = contents();
        holder.kill().unwrap();
        holder.wait().unwrap();
        assert_eq!(pending_while_held.unwrap(), 1);
        assert_eq!(kept, before, "a claimed run was touched");

        // The holder has ended: its claim is stale, taken over, and the run cleared.
        assert_eq!(pending(&[&run], true, false).unwrap().len(), 1);
        assert_eq!(contents(), vec![None, None, None]);
    }

    #[test]
    fn config_differences_name_the_key() {
        use crate::run::run_dir::first_difference;
        let parse = |t: &str| toml::Value::Table(toml::from_str(t).unwrap());
        let a = parse("[loss]\nbeta = 0.99\n");
        let b = parse("[loss]\nbeta = 0.999\n");
        assert_eq!(
            first_difference(&a, &b, "").as_deref(),
            Some("loss.beta: 0.99 → 0.999")
        );
    }
}
