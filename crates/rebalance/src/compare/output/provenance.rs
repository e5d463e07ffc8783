//! Where a comparison's numbers come from: the code, the config, the runs and the machine.

use super::*;

/// Where a comparison comes from, as `comparison.json` and `comparison.md` record it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The version of rebalance that wrote the comparison (`CARGO_PKG_VERSION`).
    pub rebalance_version: String,
    /// The git commit of rebalance's source: `REBALANCE_GIT_COMMIT` when the binary was built
    /// with it set, else `git rev-parse HEAD` at run time in the checkout the binary was built
    /// from (`CARGO_MANIFEST_DIR`), if it is still a git checkout of rebalance. Absent otherwise
    /// (an installed crate, no git).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// Whether that checkout had uncommitted changes to tracked files; absent when unknown
    /// (no checkout, or the commit came from `REBALANCE_GIT_COMMIT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_modified: Option<bool>,
    /// The backends that trained the runs, comma-separated in order of first appearance.
    pub backend: String,
    /// The hardware that trained the runs (GPU or CPU model names, comma-separated in order of
    /// first appearance); absent when no run's report records one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The compare config, as given on the command line.
    pub config: String,
    /// SHA-256 (hex) of the compared variants' resolved configs: each variant's name and its
    /// complete config as TOML (every default written out, `--set` applied, seed 0), in the
    /// config's order, with the placement keys (`train.backend`, `train.workers`,
    /// `output.dir`) at their defaults (and, tuned, each tuned variant's grid): shards, merges
    /// on another backend and moved compare directories of one sweep agree.
    pub config_sha256: String,
    /// Every `train.seed` of the runs, ascending.
    pub seeds: Vec<u64>,
    /// `train.epochs` of the base config.
    pub epochs: usize,
    /// The number of runs summarised; in a tuned comparison, the runs of every grid point.
    pub runs: usize,
    /// The training wall time of the sweep: the sum of its runs' (each is in
    /// `comparison.csv`; in a tuned comparison, every grid point's run too), whether they
    /// trained in this call or before, one by one or in shards, each training counted once:
    /// runs evaluated from another run's training add it once where no compared run trained
    /// it (else nothing), and runs trained together in a pack (`--pack`) add their pack's time
    /// once (`store::training_seconds`).
    pub wall_seconds: f64,
}

impl Provenance {
    /// The provenance of `summary`, a sweep of `plan` read from `config_path` whose runs
    /// trained for `wall_seconds` (see [`Provenance::wall_seconds`]).
    ///
    /// # Errors
    /// A variant's config that cannot be serialized (never in practice).
    pub(in crate::compare) fn of(
        plan: &ComparePlan,
        config_path: &Path,
        summary: &Summary,
        wall_seconds: f64,
    ) -> anyhow::Result<Self> {
        let backends = distinct_joined(summary.variants.iter().flat_map(|s| s.backend.split(", ")));
        let devices = distinct_joined(
            summary
                .variants
                .iter()
                .filter_map(|s| s.device.as_deref())
                .flat_map(|d| d.split(", ")),
        );
        let mut seeds: Vec<u64> = summary.results.iter().map(|r| r.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        let names: Vec<&str> = summary.variants.iter().map(|s| s.name.as_str()).collect();
        let (git_commit, git_modified) = git_state();
        Ok(Self {
            rebalance_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit,
            git_modified,
            backend: backends,
            device: (!devices.is_empty()).then_some(devices),
            config: config_path.display().to_string(),
            config_sha256: config_sha256(plan, &names)?,
            seeds,
            epochs: plan.base.train.epochs,
            runs: summary.results.len(),
            wall_seconds,
        })
    }

    /// The provenance line of `comparison.md`.
    pub(super) fn markdown(&self) -> String {
        let commit = match (&self.git_commit, self.git_modified) {
            (None, _) => "commit unknown".to_string(),
            (Some(commit), Some(true)) => format!("commit `{commit}` with uncommitted changes"),
            (Some(commit), _) => format!("commit `{commit}`"),
        };
        let device = self
            .device
            .as_ref()
            .map_or(String::new(), |d| format!(" on {d}"));
        format!(
            "rebalance {}, {commit}; config SHA-256 `{}`; training wall time {:.1} s for {} \
             runs{device}, each training counted once.",
            self.rebalance_version, self.config_sha256, self.wall_seconds, self.runs
        )
    }
}

/// SHA-256 of the configs of the variants `names` (see [`Provenance::config_sha256`]).
pub(super) fn config_sha256(plan: &ComparePlan, names: &[&str]) -> anyhow::Result<String> {
    use sha2::Digest;
    let defaults = RunConfig::default();
    let mut hasher = sha2::Sha256::new();
    for variant in plan
        .variants
        .iter()
        .filter(|v| names.contains(&v.name.as_str()))
    {
        let mut config = variant.config.clone();
        // The placement keys (crate::run::run_dir::PLACEMENT_KEYS) make no other run.
        config.train.backend = defaults.train.backend;
        config.train.workers = defaults.train.workers;
        config.output.dir.clone_from(&defaults.output.dir);
        hasher.update(format!("[[variants]] name = {:?}\n", variant.name));
        hasher.update(config.to_toml()?);
        // A tuned comparison's variant is its grid.
        if let Some(grid) = variant.tune.as_ref().filter(|_| plan.compare.tune) {
            hasher.update(format!("tune = {}\n", grid.describe()));
        }
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The commit of rebalance's source and whether its checkout is modified (see
/// [`Provenance::git_commit`]).
pub(super) fn git_state() -> (Option<String>, Option<bool>) {
    if let Some(commit) = option_env!("REBALANCE_GIT_COMMIT").filter(|c| !c.trim().is_empty()) {
        return (Some(commit.trim().to_string()), None);
    }
    let source = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| -> Option<String> {
        let output = std::process::Command::new("git")
            .args(["--no-optional-locks", "-C", source])
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let Some(parsed) = git(&["rev-parse", "--show-prefix", "HEAD"]) else {
        return (None, None);
    };
    let mut lines = parsed.lines();
    // Only rebalance's own checkout: this crate at `crates/rebalance/` of its top level, not a
    // repository that happens to hold an unpacked crate.
    if lines.next() != Some("crates/rebalance/") {
        return (None, None);
    }
    let Some(commit) = lines
        .next()
        .filter(|c| c.len() >= 40 && c.chars().all(|ch| ch.is_ascii_hexdigit()))
    else {
        return (None, None);
    };
    let modified = git(&["status", "--porcelain", "--untracked-files=no"])
        .map(|status| !status.trim().is_empty());
    (Some(commit.to_string()), modified)
}
