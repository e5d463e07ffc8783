//! `experiment.log`: what burn-train logs while it trains a run (its epochs and iterations,
//! the checkpoint a resumed run restores, a backend's warnings), in the run's own directory.
//!
//! burn-train's own logger (`FileApplicationLoggerInstaller`) installs a process-wide
//! `tracing` subscriber writing to the file of the first run only, and a panic hook that
//! prints a banner: a sweep trains many runs in one process, several at once with `--jobs`, and
//! a panic is one error line (`panic_capture.rs`). Here one subscriber is installed once per
//! process, with no panic hook, and each event goes to the log of the run whose thread emits it:
//! the thread training the run ([`ExperimentLog::open`]), the threads of ours that work for it
//! ([`LogContext`]: the prefetching loader, the metric logger), and, while a single run trains
//! in the process, burn-train's own threads (its event processor, checkpointer and
//! multi-device workers). While several runs train at once, an event of one of burn-train's
//! threads cannot be told apart and is left out of every log.
//!
//! The log is only appended to: a resumed run adds its session after the earlier ones, with a
//! line saying where it resumes.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError};

use anyhow::Context;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

use crate::run::run_dir::RunDir;

/// A run's open log; closed (`None`) once the run's training ends, so that a late event of a
/// lingering thread never reaches a finished run.
#[derive(Debug)]
struct LogFile(Mutex<Option<File>>);

impl LogFile {
    fn file(&self) -> MutexGuard<'_, Option<File>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The logs of the runs training in this process.
static OPEN: Mutex<Vec<Arc<LogFile>>> = Mutex::new(Vec::new());

fn open_logs() -> MutexGuard<'static, Vec<Arc<LogFile>>> {
    OPEN.lock().unwrap_or_else(PoisonError::into_inner)
}

thread_local! {
    /// The log of the run this thread works for.
    static CURRENT: std::cell::RefCell<Option<Arc<LogFile>>> =
        const { std::cell::RefCell::new(None) };
}

/// The log an event of this thread goes to: its run's, else the one run training, if one.
fn route() -> Option<Arc<LogFile>> {
    CURRENT
        .with_borrow(Clone::clone)
        .or_else(|| match open_logs().as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        })
}

/// Installs, once, the subscriber that writes the events of INFO and above (wgpu's below WARN
/// aside, as burn-train does) to the log [`route`] finds, and makes the `log` crate's records
/// (burn-train logs through it) events. Where another subscriber was installed first, the logs
/// stay empty.
fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            // A failed write must not print to stderr: the log is a record, not the output.
            .log_internal_errors(false)
            .with_writer(Router)
            .with_filter(LevelFilter::INFO)
            .with_filter(filter_fn(|meta| {
                !(meta.module_path().is_some_and(|p| p.starts_with("wgpu"))
                    && *meta.level() >= LevelFilter::INFO)
            }));
        let _ = tracing_subscriber::registry().with(layer).try_init();
    });
}

/// The writers of [`install`]'s subscriber: one per event, to the log of [`route`], or nowhere.
struct Router;

impl<'a> MakeWriter<'a> for Router {
    type Writer = Routed;

    fn make_writer(&'a self) -> Routed {
        Routed(route())
    }
}

/// One event's line, written to its run's log in one piece (the formatter writes it whole).
struct Routed(Option<Arc<LogFile>>);

impl Write for Routed {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        if let Some(log) = &self.0
            && let Some(file) = log.file().as_mut()
        {
            // A log that cannot be written (a full disk) costs its lines, not the run: the
            // run's own files report that failure.
            let _ = file.write_all(line);
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The run a thread works for, to hand to a thread working for it ([`LogContext::enter`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct LogContext(Option<Arc<LogFile>>);

impl LogContext {
    /// The run this thread works for, if any.
    pub(crate) fn current() -> Self {
        Self(CURRENT.with_borrow(Clone::clone))
    }

    /// Makes this thread work for the context's run until the guard drops.
    pub(crate) fn enter(&self) -> Entered {
        Entered(CURRENT.replace(self.0.clone()))
    }
}

/// The thread's run before [`LogContext::enter`], given back on drop.
pub(crate) struct Entered(Option<Arc<LogFile>>);

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.set(self.0.take());
    }
}

/// A run's `experiment.log`, open while the run trains; closing it (on drop) ends its lines.
pub(crate) struct ExperimentLog {
    file: Arc<LogFile>,
    _entered: Entered,
}

impl ExperimentLog {
    /// Opens `run`'s log for appending, makes this thread's events go to it and writes the
    /// session's first line: a new run of `epochs` epochs, or one resumed after epoch
    /// `resume_from`.
    ///
    /// # Errors
    /// The log cannot be opened.
    pub(crate) fn open(
        run: &RunDir,
        resume_from: Option<usize>,
        epochs: usize,
    ) -> anyhow::Result<Self> {
        install();
        let path = run.experiment_log();
        let file = append(&path)?;
        let file = Arc::new(LogFile(Mutex::new(Some(file))));
        open_logs().push(file.clone());
        let entered = LogContext(Some(file.clone())).enter();
        let dir = run.path().display();
        match resume_from {
            Some(done) => log::info!(
                "--resume: {dir} continues after epoch {done}, to epoch {epochs}; the lines \
                 above are of earlier sessions"
            ),
            None => log::info!("training {dir}: a new run, epochs 1 to {epochs}"),
        }
        Ok(Self {
            file,
            _entered: entered,
        })
    }
}

impl ExperimentLog {
    /// The run of this log, to make another thread, or this one for a while, log to it.
    pub(crate) fn context(&self) -> LogContext {
        LogContext(Some(self.file.clone()))
    }
}

impl Drop for ExperimentLog {
    fn drop(&mut self) {
        open_logs().retain(|log| !Arc::ptr_eq(log, &self.file));
        self.file.file().take();
    }
}

/// `path` opened to append to, created if missing.
fn append(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Two runs logging at once keep their own lines; a thread of neither goes to neither, and
    /// a context handed to a thread of ours takes its run's lines there. (A thread of neither
    /// while one run trains alone goes to it: other tests train in this process at the same
    /// time, so the integration tests check that.)
    #[test]
    fn each_run_logs_its_own_lines() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (
            RunDir::new(dir.path().join("a")),
            RunDir::new(dir.path().join("b")),
        );
        std::fs::create_dir_all(a.path()).unwrap();
        std::fs::create_dir_all(b.path()).unwrap();
        let both_open = std::sync::Barrier::new(2);
        let a_done = std::sync::Barrier::new(2);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let _log = ExperimentLog::open(&a, None, 2).unwrap();
                both_open.wait();
                log::info!("line of a");
                let context = LogContext::current();
                std::thread::spawn(move || {
                    let _entered = context.enter();
                    log::info!("a's helper thread");
                })
                .join()
                .unwrap();
                std::thread::spawn(|| log::info!("unattributed"))
                    .join()
                    .unwrap();
                a_done.wait();
            });
            scope.spawn(|| {
                let _log = ExperimentLog::open(&b, Some(1), 2).unwrap();
                both_open.wait();
                log::info!("line of b");
                a_done.wait();
            });
        });
        let a_lines = lines(&a.experiment_log());
        let b_lines = lines(&b.experiment_log());
        let ends: Vec<_> = a_lines
            .iter()
            .map(|l| l.rsplit(": ").next().unwrap())
            .collect();
        assert_eq!(
            ends,
            ["a new run, epochs 1 to 2", "line of a", "a's helper thread"],
            "{a_lines:?}"
        );
        assert_eq!(b_lines.len(), 2, "{b_lines:?}");
        assert!(
            b_lines[0].contains("continues after epoch 1, to epoch 2"),
            "{b_lines:?}"
        );
        assert!(b_lines[1].ends_with("line of b"), "{b_lines:?}");
        assert!(a_lines[1].contains(" INFO "), "{a_lines:?}");
    }
}
