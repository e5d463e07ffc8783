//! Shards of a sweep: `compare --shard K/N` trains only the runs of shard `K`, so that `N`
//! processes (a Slurm job array, a Kubernetes Indexed Job, GNU parallel) share a sweep.
//!
//! The partition is a pure function of the (variant, seed) list, so every shard computes the
//! same one whatever the others have done:
//!
//! 1. each run gets an expected cost, [`cost`]: its epochs × the training samples an epoch
//!    visits (from the data config: the profile's counts, the validation fraction, and the
//!    epoch size of the re-sampling);
//! 2. the runs are taken by cost, largest first (ties: the order of the sweep, seed by seed and
//!    variant by variant as the config lists them), each to the shard with the least cost so
//!    far (ties: the lowest shard).
//!
//! Every run lands in exactly one shard, and the costs of two shards differ by at most one
//! run's cost.

use std::fmt;
use std::str::FromStr;

use anyhow::bail;
use rebalance_data::Resampling;

use crate::run::config::RunConfig;

/// Shard `index` (from 1) of `count`, as `--shard K/N` writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// `K`, in `1..=count`.
    pub index: usize,
    /// `N`, at least 1.
    pub count: usize,
}

impl Shard {
    /// Shard `index` of `count`.
    ///
    /// # Errors
    /// `count` 0, or `index` outside `1..=count`.
    pub fn new(index: usize, count: usize) -> Result<Self, String> {
        if count == 0 {
            return Err(format!("{index}/{count}: N must be at least 1"));
        }
        if !(1..=count).contains(&index) {
            return Err(format!(
                "{index}/{count}: K counts from 1 to N, so must be in 1..={count}"
            ));
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let number = |part: &str| {
            part.trim().parse::<usize>().map_err(|_| {
                format!("{text:?}: expected K/N, two whole numbers with K in 1..=N, as in 2/4")
            })
        };
        let Some((k, n)) = text.split_once('/') else {
            return Err(format!(
                "{text:?}: expected K/N, two whole numbers with K in 1..=N, as in 2/4"
            ));
        };
        Self::new(number(k)?, number(n)?)
    }
}

/// The environment variables a shard may come from, as the process sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardEnv {
    /// `SLURM_ARRAY_TASK_ID`: this task's id in a Slurm job array.
    pub slurm_task_id: Option<String>,
    /// `SLURM_ARRAY_TASK_COUNT`: the number of tasks in the array.
    pub slurm_task_count: Option<String>,
    /// `SLURM_ARRAY_TASK_MIN`: the array's lowest id (`--array=0-3` starts at 0, `1-4` at 1).
    pub slurm_task_min: Option<String>,
    /// `SLURM_ARRAY_TASK_MAX`: the array's highest id.
    pub slurm_task_max: Option<String>,
    /// `SLURM_ARRAY_TASK_STEP`: the step between ids (`--array=0-15:4`).
    pub slurm_task_step: Option<String>,
    /// `JOB_COMPLETION_INDEX`: the pod's index, from 0, in a Kubernetes Indexed Job.
    pub job_completion_index: Option<String>,
}

impl ShardEnv {
    /// The variables of this process.
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            slurm_task_id: var("SLURM_ARRAY_TASK_ID"),
            slurm_task_count: var("SLURM_ARRAY_TASK_COUNT"),
            slurm_task_min: var("SLURM_ARRAY_TASK_MIN"),
            slurm_task_max: var("SLURM_ARRAY_TASK_MAX"),
            slurm_task_step: var("SLURM_ARRAY_TASK_STEP"),
            job_completion_index: var("JOB_COMPLETION_INDEX"),
        }
    }
}

/// The shard this process trains, and where it came from: `--shard K/N`; else a Slurm job
/// array (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` (0 when unset), over the step, + 1, of
/// `SLURM_ARRAY_TASK_COUNT`); else a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX` + 1 of
/// `--shards N`); else none, the whole sweep. A flag beats the environment; `--shards` must
/// agree with the count of the other sources.
///
/// # Errors
/// Values that disagree or do not parse, each naming the flag or variable: `--shards` with
/// `--shard K/M` of another `M`, or with no index to go with it; a Slurm array without its count,
/// with ids that do not map onto `1..=N`, or with another count than `--shards`;
/// `JOB_COMPLETION_INDEX` without `--shards`, or outside it; both a Slurm array and an Indexed
/// Job.
pub fn resolve(
    shard: Option<Shard>,
    shards: Option<usize>,
    env: &ShardEnv,
) -> anyhow::Result<Option<(Shard, String)>> {
    if shards == Some(0) {
        bail!("--shards 0: must be at least 1");
    }
    if let Some(shard) = shard {
        if let Some(n) = shards.filter(|&n| n != shard.count) {
            bail!("--shards {n} disagrees with --shard {shard}: give one of them");
        }
        return Ok(Some((shard, format!("--shard {shard}"))));
    }
    let number = |name: &str, value: &str| -> anyhow::Result<usize> {
        value.trim().parse::<usize>().map_err(|_| {
            anyhow::anyhow!("{name}={value:?}: expected a whole number (or pass --shard K/N)")
        })
    };
    match (&env.slurm_task_id, &env.job_completion_index) {
        (Some(_), Some(_)) => bail!(
            "both SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX are set: pass --shard K/N to say \
             which shard this is"
        ),
        (Some(id), None) => {
            let id = number("SLURM_ARRAY_TASK_ID", id)?;
            let Some(count) = &env.slurm_task_count else {
                bail!(
                    "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: pass \
                     --shard K/N"
                );
            };
            let count = number("SLURM_ARRAY_TASK_COUNT", count)?;
            if count == 0 {
                bail!("SLURM_ARRAY_TASK_COUNT=0: must be at least 1");
            }
            let min = match &env.slurm_task_min {
                Some(min) => number("SLURM_ARRAY_TASK_MIN", min)?,
                None => 0,
            };
            let step = match &env.slurm_task_step {
                Some(step) => number("SLURM_ARRAY_TASK_STEP", step)?.max(1),
                None => 1,
            };
            if let Some(max) = &env.slurm_task_max {
                let max = number("SLURM_ARRAY_TASK_MAX", max)?;
                if max < min || (max - min) != (count - 1) * step {
                    bail!(
                        "the Slurm array's ids {min}-{max} (step {step}) are not \
                         SLURM_ARRAY_TASK_COUNT={count} evenly spaced ids: use a contiguous \
                         --array, as in --array=1-{count}, or pass --shard K/N"
                    );
                }
            }
            if id < min || (id - min) % step != 0 || (id - min) / step >= count {
                bail!(
                    "SLURM_ARRAY_TASK_ID={id} is not one of the {count} ids from \
                     SLURM_ARRAY_TASK_MIN={min} in steps of {step}: pass --shard K/N"
                );
            }
            if let Some(n) = shards.filter(|&n| n != count) {
                bail!("--shards {n} disagrees with SLURM_ARRAY_TASK_COUNT={count}");
            }
            let shard = Shard::new((id - min) / step + 1, count).map_err(anyhow::Error::msg)?;
            Ok(Some((
                shard,
                format!("SLURM_ARRAY_TASK_ID={id} of SLURM_ARRAY_TASK_COUNT={count}"),
            )))
        }
        (None, Some(index)) => {
            let index = number("JOB_COMPLETION_INDEX", index)?;
            let Some(count) = shards else {
                bail!(
                    "JOB_COMPLETION_INDEX={index} is set (a Kubernetes Indexed Job) but --shards \
                     is not: pass --shards N, the Job's completions (or --shard K/N)"
                );
            };
            if index >= count {
                bail!(
                    "JOB_COMPLETION_INDEX={index} is outside --shards {count}: it counts from 0 \
                     to {}",
                    count - 1
                );
            }
            let shard = Shard::new(index + 1, count).map_err(anyhow::Error::msg)?;
            Ok(Some((
                shard,
                format!("JOB_COMPLETION_INDEX={index} of --shards {count}"),
            )))
        }
        (None, None) => match shards {
            Some(n) => bail!(
                "--shards {n}: no shard index (neither SLURM_ARRAY_TASK_ID nor \
                 JOB_COMPLETION_INDEX is set); pass --shard K/{n}"
            ),
            None => Ok(None),
        },
    }
}

/// The expected cost of training a run, in sample-epochs: `train.epochs` × the training
/// samples an epoch visits. Those come from the data config without loading it: the profile's
/// counts for `n_max` = `data.max_per_class` (1000 when a file source leaves it to the files),
/// less the validation fraction, and for re-sampling its epoch size (`oversample`: every class
/// at the largest count; `undersample`: at the smallest; the drawing schemes: the training
/// size). An estimate for balancing shards, not a promise.
pub fn cost(config: &RunConfig) -> u64 {
    let data = &config.data;
    let n_max = data.max_per_class.unwrap_or(1000);
    let counts = data
        .profile
        .counts(n_max, data.num_classes)
        .unwrap_or_else(|_| vec![n_max; data.num_classes]);
    let keep = 1.0 - data.validation_fraction.clamp(0.0, 1.0);
    let counts: Vec<u64> = counts
        .iter()
        .map(|&n| ((n as f64 * keep).round() as u64).max(1))
        .collect();
    let classes = counts.len() as u64;
    let samples = match data.resampling {
        Resampling::Oversample => counts.iter().copied().max().unwrap_or(0) * classes,
        Resampling::Undersample => counts.iter().copied().min().unwrap_or(0) * classes,
        Resampling::None | Resampling::ClassBalanced | Resampling::SquareRoot => {
            counts.iter().sum()
        }
    };
    // cRT's second stage trains the head alone, but still runs the frozen backbone forward.
    let epochs = config.train.epochs + config.train.stage2.as_ref().map_or(0, |s| s.epochs);
    (epochs as u64).saturating_mul(samples.max(1))
}

/// The shard (from 0) of each run, given each run's cost in the sweep's order: largest cost
/// first (ties: the earlier run), each to the shard with the least cost so far (ties: the
/// lower shard). `count` must be at least 1.
pub fn partition(costs: &[u64], count: usize) -> Vec<usize> {
    let count = count.max(1);
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(costs[i]), i));
    let mut loads = vec![0u64; count];
    let mut shard_of = vec![0; costs.len()];
    for i in order {
        let (least, _) = loads
            .iter()
            .enumerate()
            .min_by_key(|&(shard, load)| (*load, shard))
            .unwrap_or((0, &0));
        loads[least] = loads[least].saturating_add(costs[i]);
        shard_of[i] = least;
    }
    shard_of
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loads(costs: &[u64], count: usize) -> Vec<u64> {
        let mut loads = vec![0; count];
        for (i, shard) in partition(costs, count).into_iter().enumerate() {
            loads[shard] += costs[i];
        }
        loads
    }

    /// Costs of 48 runs as a real sweep has them: most equal, some larger (re-sampling that
    /// grows the epoch, more epochs), some smaller.
    fn mixed_costs() -> Vec<u64> {
        (0..48u64)
            .map(|i| match i % 16 {
                14 => 5000,
                15 => 300,
                10 => 2 * 1270,
                _ => 1270 + (i * 7919) % 97,
            })
            .collect()
    }

    #[test]
    fn every_run_lands_in_exactly_one_shard_and_shards_are_balanced() {
        for costs in [vec![1270; 48], mixed_costs(), vec![], vec![7], vec![0; 5]] {
            let largest = costs.iter().copied().max().unwrap_or(0);
            for count in [1, 2, 3, 5, 60, 61] {
                let shard_of = partition(&costs, count);
                // One shard per run, each shard in range: every run exactly once.
                assert_eq!(shard_of.len(), costs.len());
                assert!(shard_of.iter().all(|&s| s < count), "{shard_of:?}");
                let shard_of_ref = &shard_of;
                let mut seen: Vec<usize> = (0..count)
                    .flat_map(|k| (0..costs.len()).filter(move |&i| shard_of_ref[i] == k))
                    .collect();
                seen.sort_unstable();
                assert_eq!(seen, (0..costs.len()).collect::<Vec<_>>());
                // Deterministic.
                assert_eq!(partition(&costs, count), shard_of);
                // Balanced within one run's cost.
                let loads = loads(&costs, count);
                let (min, max) = (
                    loads.iter().copied().min().unwrap(),
                    loads.iter().copied().max().unwrap(),
                );
                assert!(max - min <= largest, "N = {count}: {loads:?}");
                assert_eq!(loads.iter().sum::<u64>(), costs.iter().sum::<u64>());
            }
        }
        // Equal costs: runs dealt round-robin, in the sweep's order.
        assert_eq!(partition(&[5; 7], 3), [0, 1, 2, 0, 1, 2, 0]);
        // Largest first, each to the least-loaded shard.
        assert_eq!(partition(&[1, 10, 3, 8], 2), [0, 0, 1, 1]);
    }

    /// The default sweep of configs/compare.toml: 20 variants × 3 seeds, shared out.
    #[test]
    fn the_default_sweep_is_shared_out() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/compare.toml");
        let plan = crate::compare::ComparePlan::load(&path, &[]).unwrap();
        let costs: Vec<u64> = (0..3)
            .flat_map(|_| plan.variants.iter().map(|v| cost(&v.config)))
            .collect();
        assert_eq!(costs.len(), 60);
        // 20 epochs of the profile's training counts (5000 in the head down to 50).
        let samples: usize = plan
            .base
            .data
            .profile
            .counts(5000, 10)
            .unwrap()
            .iter()
            .sum();
        assert_eq!(costs[0], 20 * samples as u64);
        for count in [1, 2, 3, 5, 60, 61] {
            let shard_of = partition(&costs, count);
            let mut sizes = vec![0; count];
            for &k in &shard_of {
                sizes[k] += 1;
            }
            assert_eq!(sizes.iter().sum::<usize>(), 60);
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(max - min <= 1, "N = {count}: {sizes:?}");
        }
        // Re-sampling that changes the epoch size changes the cost; drawing schemes do not.
        let mut config = plan.variants[0].config.clone();
        let base = cost(&config);
        config.data.resampling = Resampling::ClassBalanced;
        assert_eq!(cost(&config), base);
        config.data.resampling = Resampling::Oversample;
        assert_eq!(cost(&config), 20 * 5000 * 10);
        config.data.resampling = Resampling::Undersample;
        assert_eq!(cost(&config), 20 * 50 * 10);
        config.train.epochs = 40;
        assert_eq!(cost(&config), 40 * 50 * 10);
    }

    #[test]
    fn shard_flags_parse() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(Shard::new(1, 1).unwrap().to_string(), "1/1");
        for bad in ["0/4", "5/4", "1/0", "2", "a/4", "2/4/1", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert!(
            "0/4"
                .parse::<Shard>()
                .unwrap_err()
                .contains("K counts from 1 to N")
        );
    }

    fn slurm(id: &str, count: &str, min: Option<&str>) -> ShardEnv {
        ShardEnv {
            slurm_task_id: Some(id.to_string()),
            slurm_task_count: Some(count.to_string()),
            slurm_task_min: min.map(str::to_string),
            ..ShardEnv::default()
        }
    }

    fn shard_of(shard: Option<Shard>, shards: Option<usize>, env: &ShardEnv) -> Option<Shard> {
        resolve(shard, shards, env).unwrap().map(|(s, _)| s)
    }

    fn error_of(shard: Option<Shard>, shards: Option<usize>, env: &ShardEnv) -> String {
        format!("{:#}", resolve(shard, shards, env).unwrap_err())
    }

    #[test]
    fn the_shard_comes_from_the_flag_slurm_or_kubernetes() {
        let s = |k, n| Some(Shard::new(k, n).unwrap());
        let none = ShardEnv::default();
        assert_eq!(shard_of(None, None, &none), None);
        assert_eq!(shard_of(s(2, 4), None, &none), s(2, 4));
        assert_eq!(shard_of(s(2, 4), Some(4), &none), s(2, 4));
        // Slurm arrays from 1 or from 0, normalised by SLURM_ARRAY_TASK_MIN.
        assert_eq!(shard_of(None, None, &slurm("1", "4", Some("1"))), s(1, 4));
        assert_eq!(shard_of(None, None, &slurm("4", "4", Some("1"))), s(4, 4));
        assert_eq!(shard_of(None, None, &slurm("0", "4", Some("0"))), s(1, 4));
        assert_eq!(shard_of(None, None, &slurm("3", "4", Some("0"))), s(4, 4));
        assert_eq!(shard_of(None, None, &slurm("12", "3", Some("10"))), s(3, 3));
        // Without SLURM_ARRAY_TASK_MIN, ids count from 0.
        assert_eq!(shard_of(None, None, &slurm("0", "2", None)), s(1, 2));
        // A step: --array=0-12:4 is ids 0, 4, 8, 12.
        let stepped = ShardEnv {
            slurm_task_step: Some("4".into()),
            slurm_task_max: Some("12".into()),
            ..slurm("8", "4", Some("0"))
        };
        assert_eq!(shard_of(None, None, &stepped), s(3, 4));
        assert_eq!(
            shard_of(None, Some(4), &slurm("2", "4", Some("1"))),
            s(2, 4)
        );
        // Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX from 0, with --shards.
        let k8s = |index: &str| ShardEnv {
            job_completion_index: Some(index.to_string()),
            ..ShardEnv::default()
        };
        assert_eq!(shard_of(None, Some(3), &k8s("0")), s(1, 3));
        assert_eq!(shard_of(None, Some(3), &k8s("2")), s(3, 3));
        // A flag beats the environment.
        assert_eq!(
            shard_of(s(1, 2), None, &slurm("3", "4", Some("1"))),
            s(1, 2)
        );
        assert_eq!(shard_of(s(2, 2), Some(2), &k8s("0")), s(2, 2));
        let (_, from) = resolve(None, Some(3), &k8s("1")).unwrap().unwrap();
        assert_eq!(from, "JOB_COMPLETION_INDEX=1 of --shards 3");
    }

    #[test]
    fn inconsistent_shard_sources_are_errors() {
        let s = |k, n| Some(Shard::new(k, n).unwrap());
        let none = ShardEnv::default();
        let k8s = |index: &str| ShardEnv {
            job_completion_index: Some(index.to_string()),
            ..ShardEnv::default()
        };
        assert!(
            error_of(s(1, 4), Some(3), &none).contains("--shards 3 disagrees with --shard 1/4")
        );
        assert!(error_of(None, Some(0), &none).contains("--shards 0"));
        assert!(error_of(None, Some(4), &none).contains("pass --shard K/4"));
        assert!(
            error_of(None, None, &k8s("1")).contains("JOB_COMPLETION_INDEX=1 is set"),
            "{}",
            error_of(None, None, &k8s("1"))
        );
        assert!(error_of(None, Some(3), &k8s("3")).contains("outside --shards 3"));
        assert!(error_of(None, Some(3), &k8s("x")).contains("JOB_COMPLETION_INDEX=\"x\""));
        let both = ShardEnv {
            job_completion_index: Some("0".into()),
            ..slurm("1", "2", Some("1"))
        };
        assert!(error_of(None, Some(2), &both).contains("both SLURM_ARRAY_TASK_ID"));
        assert!(
            error_of(None, Some(3), &slurm("1", "4", Some("1")))
                .contains("--shards 3 disagrees with SLURM_ARRAY_TASK_COUNT=4")
        );
        // Ids from 1 read as ids from 0 run off the end; so does an id below the minimum.
        assert!(error_of(None, None, &slurm("4", "4", None)).contains("SLURM_ARRAY_TASK_ID=4"));
        assert!(
            error_of(None, None, &slurm("0", "4", Some("1"))).contains("SLURM_ARRAY_TASK_ID=0")
        );
        let no_count = ShardEnv {
            slurm_task_count: None,
            ..slurm("1", "4", Some("1"))
        };
        assert!(error_of(None, None, &no_count).contains("SLURM_ARRAY_TASK_COUNT is not"));
        // A sparse array (--array=1,3,8) cannot map onto 1..=N.
        let sparse = ShardEnv {
            slurm_task_max: Some("8".into()),
            ..slurm("3", "3", Some("1"))
        };
        assert!(error_of(None, None, &sparse).contains("use a contiguous"));
        assert!(error_of(None, None, &slurm("x", "4", None)).contains("SLURM_ARRAY_TASK_ID=\"x\""));
    }
}
