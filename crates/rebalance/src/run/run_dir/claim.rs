//! The `claim` file: the host and process training a run, so that a second process keeps off
//! it while the first lives.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::*;

/// A run claimed by this process; dropping it releases the claim.
#[derive(Debug)]
pub struct Claim {
    /// The claim file, `None` where an outer claim of this process holds the run.
    path: Option<PathBuf>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Who holds a claim: a process id, the host it runs on and when the process started
/// (`claim` holds `PID HOST START`, `?` for a host not known; a claim of an earlier version
/// holds `PID HOST` or the id alone, taken to be this host's). The start (Linux's clock ticks
/// since boot) tells the holder from a later process given the same id (after a container's
/// restart). Runs of one sweep may be trained by shards on several machines sharing the output
/// directory: a process of another host cannot be checked from here, so its claim is never
/// taken over as stale.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holder {
    pid: u32,
    host: Option<String>,
    start: Option<u64>,
}

impl Holder {
    /// This process.
    fn me() -> Self {
        let pid = std::process::id();
        Self {
            pid,
            host: this_host(),
            start: process_start(pid),
        }
    }

    fn parse(text: &str) -> Option<Self> {
        let mut fields = text.split_whitespace();
        let pid = fields.next()?.parse().ok()?;
        Some(Self {
            pid,
            host: fields.next().filter(|h| *h != "?").map(str::to_string),
            start: fields.next().and_then(|s| s.parse().ok()),
        })
    }

    fn on_this_host(&self) -> bool {
        self.host.is_none() || self.host == this_host()
    }

    fn is_me(&self) -> bool {
        self.pid == std::process::id() && self.on_this_host()
    }

    /// Whether the holder may still run: a process of this host that does, or any process of
    /// another host.
    fn alive(&self) -> bool {
        !self.on_this_host()
            || (process_alive(self.pid)
                && match (self.start, process_start(self.pid)) {
                    (Some(claimed), Some(now)) => claimed == now,
                    _ => true,
                })
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.pid, self.host.as_deref().unwrap_or("?"))?;
        match self.start {
            Some(start) => write!(f, " {start}"),
            None => Ok(()),
        }
    }
}

/// This machine's host name (Linux's `/proc/sys/kernel/hostname`, else `HOSTNAME`), if known.
fn this_host() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && !h.contains(char::is_whitespace))
}

/// When process `pid` started, in clock ticks since boot (`/proc/PID/stat`'s 22nd field), where
/// the OS tells.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the name's closing `)`: the state (field 3), ..., the start time (field 22).
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
}

/// Whether process `pid` runs; where the OS cannot tell (no `/proc`), assumed so. A zombie
/// (`Z`: killed, not yet reaped by its parent, which in a container may take a while or never
/// happen) or a dead process (`X`) does not run.
fn process_alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (name) state ...`: the name may hold spaces and parentheses, the state follows
        // the last `)`.
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next()),
            Some('Z' | 'X')
        ),
        Err(_) => Path::new(&format!("/proc/{pid}")).exists(),
    }
}

impl RunDir {
    /// The `claim` file, which names the process training the run while it does.
    pub fn claim_file(&self) -> PathBuf {
        self.path.join(CLAIM)
    }

    /// The live process, other than this one, that holds the run's claim, if any.
    pub fn claimed_by(&self) -> Option<u32> {
        let holder = Holder::parse(&std::fs::read_to_string(self.claim_file()).ok()?)?;
        (!holder.is_me() && holder.alive()).then_some(holder.pid)
    }

    /// Claims the run for this process (a `claim` file holding its id, created atomically),
    /// creating the directory; `None` where another live process holds it. A claim whose
    /// process has ended (on Linux, no `/proc/PID`) is taken over; one this process holds
    /// already is returned without a second claim.
    ///
    /// # Errors
    /// The directory or the claim file cannot be created.
    pub fn claim(&self) -> anyhow::Result<Result<Claim, u32>> {
        std::fs::create_dir_all(&self.path)
            .with_context(|| format!("cannot create {}", self.path.display()))?;
        let path = self.claim_file();
        let me = Holder::me().to_string();
        // The id is written first under a name of this process's own (on this host), then
        // linked as `claim`: the link is atomic and fails if a claim exists, so no process ever
        // reads a claim without its id (and takes it over as stale while its owner is writing it).
        let own = self
            .path
            .join(format!("{CLAIM}.{}.tmp", me.replace(' ', ".")));
        std::fs::write(&own, &me).with_context(|| format!("cannot write {}", own.display()))?;
        let claimed = self.link_claim(&own, &path);
        let _ = std::fs::remove_file(&own);
        claimed
    }

    /// Deletes everything in the run directory but the claim, which `_claim` proves this
    /// process holds: `compare --force` clears a run of another config this way, so a process
    /// training the run is never pulled from under. Dropping the claim then leaves an empty
    /// directory.
    ///
    /// # Errors
    /// A file that cannot be deleted.
    pub fn clear_claimed(&self, _claim: &Claim) -> anyhow::Result<()> {
        let entries = std::fs::read_dir(&self.path)
            .with_context(|| format!("cannot read {}", self.path.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read {}", self.path.display()))?;
            if entry.file_name() == CLAIM {
                continue;
            }
            let path = entry.path();
            let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.with_context(|| format!("cannot delete {}", path.display()))?;
        }
        Ok(())
    }

    /// Links `own` (holding this process's id) as the claim `path`, taking over a stale one.
    fn link_claim(&self, own: &Path, path: &Path) -> anyhow::Result<Result<Claim, u32>> {
        for _ in 0..3 {
            match std::fs::hard_link(own, path) {
                Ok(()) => {
                    return Ok(Ok(Claim {
                        path: Some(path.to_path_buf()),
                    }));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(path)
                        .ok()
                        .and_then(|t| Holder::parse(&t));
                    match holder {
                        Some(h) if h.is_me() => return Ok(Ok(Claim { path: None })),
                        Some(h) if h.alive() => return Ok(Err(h.pid)),
                        // A stale claim: its process has ended.
                        _ => remove_if_present(path)?,
                    }
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", path.display()));
                }
            }
        }
        bail!("cannot claim {}: it keeps changing", path.display())
    }
}

#[cfg(test)]
mod tests {
    /// A child process that sleeps for 30 s, and its id.
    fn sleeper() -> (std::process::Child, u32) {
        let child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        (child, pid)
    }

    /// A zombie holds no claim: a child killed and not yet reaped is not alive.
    /// A claim naming a live process that started at another time is a stale claim whose id
    /// was given again (after a container's restart), not a holder.
    #[test]
    fn a_reused_process_id_holds_no_claim() {
        let (mut child, pid) = sleeper();
        let host = super::this_host();
        let claim = |start: u64| super::Holder {
            pid,
            host: host.clone(),
            start: Some(start),
        };
        let now = super::process_start(pid).unwrap();
        assert!(claim(now).alive());
        assert!(!claim(now + 1).alive());
        let written = claim(now).to_string();
        assert_eq!(super::Holder::parse(&written), Some(claim(now)));
        // A claim of an earlier version: the id alone, checked by it.
        assert!(super::Holder::parse(&pid.to_string()).unwrap().alive());
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn a_zombie_process_is_not_alive() {
        let (mut child, pid) = sleeper();
        assert!(super::process_alive(pid));
        child.kill().unwrap();
        // Killed but not waited for: a zombie until `wait`.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while super::process_alive(pid) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!super::process_alive(pid));
        assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
        child.wait().unwrap();
    }
}
