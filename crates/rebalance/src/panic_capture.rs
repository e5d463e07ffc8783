//! burn-train panics where it cannot write a file: its metric logger on a full disk or in an
//! unwritable run directory. [`catch_training_panics`] turns such a panic, in the training
//! thread or in one of burn-train's own, into an error naming the file, instead of a
//! backtrace, so the command still ends with one line.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once, PoisonError};

use burn::train::Interrupter;
use burn::train::logger::{FileMetricLogger, MetricLogger};
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, NumericEntry};

/// Trainings running under [`catch_training_panics`].
static CAPTURING: AtomicUsize = AtomicUsize::new(0);
/// The first panic message while one was.
static CAPTURED: Mutex<Option<String>> = Mutex::new(None);

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
    CAPTURING.fetch_add(1, Ordering::SeqCst);
    let result = std::panic::catch_unwind(AssertUnwindSafe(training));
    CAPTURING.fetch_sub(1, Ordering::SeqCst);
    let captured = CAPTURED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
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
            if CAPTURING.load(Ordering::SeqCst) > 0 {
                let mut slot = CAPTURED.lock().unwrap_or_else(PoisonError::into_inner);
                slot.get_or_insert_with(|| payload_text(info.payload()));
            } else {
                previous(info);
            }
        }));
    });
}

/// Whether a panic was captured since the last [`catch_training_panics`] ended.
fn failed() -> bool {
    CAPTURED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .is_some()
}

/// burn-train's metric logs (`train/`, `valid/`), whose failure to write stops the training
/// instead of taking the process down: a panic of the file logger is caught, the logger
/// dropped without its (failing) clean-up and the training interrupted.
pub(crate) struct GuardedLogger {
    inner: Option<FileMetricLogger>,
    interrupter: Interrupter,
}

impl GuardedLogger {
    /// burn-train's file logger of the run in `dir`.
    pub(crate) fn new(dir: &Path, interrupter: Interrupter) -> Self {
        Self {
            inner: Some(FileMetricLogger::new(dir)),
            interrupter,
        }
    }

    fn guard<R>(&mut self, call: impl FnOnce(&mut FileMetricLogger) -> R) -> Option<R> {
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
        if failed() {
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
}
