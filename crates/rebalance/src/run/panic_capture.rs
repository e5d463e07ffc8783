//! burn-train panics where it cannot write a file: its metric logger on a full disk or in an
//! unwritable run directory. [`catch_training_panics`] turns such a panic, in the training
//! thread or in one of burn-train's own, into an error naming the file, instead of a
//! backtrace, so the command still ends with one line.
//!
//! Several trainings may run at once (`compare --jobs`): each capture has its own slot. A panic
//! goes to the capture of the thread it happens in; a panic in another thread (burn-train's
//! logger, event-store or multi-device worker threads) to the capture whose run directory its
//! message names, else, its run unknown (a full disk), to every capture running.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once, PoisonError};
use std::thread::ThreadId;

use burn::train::Interrupter;
use burn::train::logger::{FileMetricLogger, MetricLogger};
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, NumericEntry};

use crate::run::experiment_log::LogContext;

/// A training running under [`catch_training_panics`].
struct Capture {
    id: u64,
    /// Its run directory.
    dir: PathBuf,
    /// The thread that runs it.
    thread: ThreadId,
    /// The first panic message attributed to it.
    message: Option<String>,
}

/// The trainings running under [`catch_training_panics`], one slot each.
static CAPTURES: Mutex<Vec<Capture>> = Mutex::new(Vec::new());
/// The ids of the captures.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn captures() -> std::sync::MutexGuard<'static, Vec<Capture>> {
    CAPTURES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `training`, which writes its logs into `dir`; a panic in it, or in any thread while it
/// runs, is an error.
///
/// # Errors
/// The first panic's message, as a file that cannot be written where it is one.
pub(crate) fn catch_training_panics<T>(
    dir: &Path,
    training: impl FnOnce() -> T,
) -> anyhow::Result<T> {
    install_hook();
    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    captures().push(Capture {
        id,
        dir: dir.to_path_buf(),
        thread: std::thread::current().id(),
        message: None,
    });
    let result = std::panic::catch_unwind(AssertUnwindSafe(training));
    let captured = {
        let mut all = captures();
        let at = all.iter().position(|c| c.id == id);
        at.and_then(|at| all.remove(at).message)
    };
    match (result, captured) {
        (Ok(value), None) => Ok(value),
        (_, Some(message)) => Err(panic_error(dir, &message)),
        (Err(payload), None) => Err(panic_error(dir, &payload_text(payload.as_ref()))),
    }
}

/// Installs, once, a panic hook that records the message instead of printing it while a
/// training runs, and otherwise leaves panics to the hook before it.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let mut all = captures();
            if all.is_empty() {
                drop(all);
                previous(info);
                return;
            }
            let message = payload_text(info.payload());
            let thread = std::thread::current().id();
            // The longest directory named: `runs/ab` before `runs/a`.
            let owner = all.iter().position(|c| c.thread == thread).or_else(|| {
                (0..all.len())
                    .filter(|&i| message.contains(&*all[i].dir.to_string_lossy()))
                    .max_by_key(|&i| all[i].dir.as_os_str().len())
            });
            match owner {
                Some(at) => {
                    all[at].message.get_or_insert(message);
                }
                None => {
                    for capture in all.iter_mut() {
                        capture.message.get_or_insert_with(|| message.clone());
                    }
                }
            }
        }));
    });
}

/// Whether a panic was captured for the training running in `dir`.
fn failed(dir: &Path) -> bool {
    captures()
        .iter()
        .any(|c| c.dir == dir && c.message.is_some())
}

/// burn-train's metric logs (`train/`, `valid/`), whose failure to write stops the training
/// instead of taking the process down: a panic of the file logger is caught, the logger
/// dropped without its (failing) clean-up and the training interrupted.
pub(crate) struct GuardedLogger {
    inner: Option<FileMetricLogger>,
    interrupter: Interrupter,
    /// The run directory.
    dir: PathBuf,
    /// The run burn-train's logger thread works for: what it logs goes to the run's log.
    context: LogContext,
}

impl GuardedLogger {
    /// burn-train's file logger of the run in `dir`.
    pub(crate) fn new(dir: &Path, interrupter: Interrupter) -> Self {
        Self {
            inner: Some(FileMetricLogger::new(dir)),
            interrupter,
            dir: dir.to_path_buf(),
            context: LogContext::current(),
        }
    }

    fn guard<R>(&mut self, call: impl FnOnce(&mut FileMetricLogger) -> R) -> Option<R> {
        let _entered = self.context.enter();
        let inner = self.inner.as_mut()?;
        match std::panic::catch_unwind(AssertUnwindSafe(|| call(inner))) {
            Ok(value) => Some(value),
            Err(_) => {
                // Its loggers' threads are dead: dropping it would panic again.
                std::mem::forget(self.inner.take());
                self.interrupter
                    .stop(Some("a metric log of the run cannot be written"));
                None
            }
        }
    }
}

impl MetricLogger for GuardedLogger {
    fn log(&mut self, update: MetricsUpdate, epoch: usize, split: &Split) {
        self.guard(|logger| logger.log(update, epoch, split));
    }

    fn read_numeric(
        &mut self,
        name: &str,
        epoch: usize,
        split: &Split,
    ) -> Result<Vec<NumericEntry>, String> {
        self.guard(|logger| logger.read_numeric(name, epoch, split))
            .unwrap_or_else(|| Err("the metric logs cannot be written".to_string()))
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.guard(|logger| logger.log_metric_definition(definition));
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        self.guard(|logger| logger.log_epoch_summary(summary));
    }
}

impl Drop for GuardedLogger {
    fn drop(&mut self) {
        if failed(&self.dir) {
            // A logger thread may have died writing: its clean-up would panic.
            std::mem::forget(self.inner.take());
        }
    }
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// A panic message as one line: burn-train's "Should be able to create the new file 'PATH':
/// REASON" as `cannot write PATH: REASON`; a full disk (where burn-train's message names no
/// file) as the log folders of `dir` and "no space left on device".
fn panic_error(dir: &Path, message: &str) -> anyhow::Error {
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let full = line.contains("StorageFull") || line.contains("No space left on device");
    let line = line.replace(
        "No space left on device (os error 28)",
        "no space left on device",
    );
    if let Some(rest) = line.strip_prefix("Should be able to create the new file '")
        && let Some((path, reason)) = rest.split_once("': ")
    {
        return anyhow::anyhow!("cannot write {path}: {reason}");
    }
    if full {
        return anyhow::anyhow!(
            "cannot write the metric logs in {}: no space left on device",
            dir.join("{train,valid}").display()
        );
    }
    anyhow::anyhow!("training stopped: {line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logger_panic_becomes_an_error_naming_the_file() {
        let _alone = crate::run::testing::PANICS.write();
        let dir = Path::new("run");
        let err = catch_training_panics(dir, || {
            std::thread::spawn(|| {
                panic!(
                    "Should be able to create the new file 'run/train/epoch-1/Loss.log': No \
                     space left on device (os error 28)"
                )
            })
            .join()
            .ok();
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot write run/train/epoch-1/Loss.log: no space left on device"
        );
        let err = catch_training_panics(dir, || {
            std::thread::spawn(|| {
                panic!(
                    "Can log an item.: Os {{ code: 28, kind: StorageFull, message: \"No space \
                     left on device\" }}"
                )
            })
            .join()
            .ok();
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot write the metric logs in run/{train,valid}: no space left on device"
        );
        let err = catch_training_panics(dir, || panic!("Event store thread crashed")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "training stopped: Event store thread crashed"
        );
        assert_eq!(catch_training_panics(dir, || 3).unwrap(), 3);
    }

    /// Two trainings at once (`compare --jobs`): each gets the panics of its own thread, and of
    /// other threads naming its directory; the other's result is untouched.
    #[test]
    fn concurrent_captures_keep_their_own_panics() {
        let _alone = crate::run::testing::PANICS.write();
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|scope| {
            let failing = scope.spawn(|| {
                catch_training_panics(Path::new("runs/a"), || {
                    barrier.wait();
                    std::thread::spawn(|| {
                        panic!("Should be able to create the new file 'runs/a/x.log': denied")
                    })
                    .join()
                    .ok();
                    barrier.wait();
                })
            });
            let fine = scope.spawn(|| {
                catch_training_panics(Path::new("runs/b"), || {
                    barrier.wait();
                    barrier.wait();
                    7
                })
            });
            let err = failing.join().unwrap().unwrap_err();
            assert_eq!(err.to_string(), "cannot write runs/a/x.log: denied");
            assert_eq!(fine.join().unwrap().unwrap(), 7);
        });
    }
}
