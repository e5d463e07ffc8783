//! What the tasks' live metrics share: one host read of each validation batch.

use std::sync::{Arc, Mutex, PoisonError};

use burn::tensor::TensorReadError;
use burn::train::metric::MetricMetadata;

/// Which batch an update is for: burn-train's progress within the epoch and its iteration.
pub(crate) type BatchKey = (usize, usize, Option<usize>);

/// One host read of a batch, shared by every metric that needs it: burn-train updates each
/// metric in turn with the same batch, and only the first one reads (one device-to-host copy
/// per batch instead of one per metric).
pub struct SharedBatch<T>(Arc<Mutex<Cached<T>>>);

/// The last batch read, and which batch it was.
type Cached<T> = Option<(BatchKey, Arc<T>)>;

impl<T> Clone for SharedBatch<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Default for SharedBatch<T> {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(None)))
    }
}

impl<T> SharedBatch<T> {
    /// A cache no metric shares yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The batch `metadata` is at, read by `read` for the first metric that asks and reused by
    /// the others.
    pub(crate) fn get_or_read(
        &self,
        metadata: &MetricMetadata,
        read: impl FnOnce() -> Result<T, TensorReadError>,
    ) -> Result<Arc<T>, TensorReadError> {
        let key = (
            metadata.progress.items_processed,
            metadata.progress.items_total,
            metadata.iteration,
        );
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((cached, batch)) = cache.as_ref()
            && *cached == key
        {
            return Ok(Arc::clone(batch));
        }
        let batch = Arc::new(read()?);
        *cache = Some((key, Arc::clone(&batch)));
        Ok(batch)
    }

    /// Drops the cached batch (at the end of an epoch, when progress starts over).
    pub(crate) fn forget(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}
