//! What the tasks' live metrics share: one host read of each validation batch, and the
//! burn-train side of a score in percent accumulated over the epoch ([`PercentMetric`]).

use std::sync::{Arc, Mutex, PoisonError};

use burn::tensor::TensorReadError;
use burn::train::metric::{
    Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericAttributes, NumericEntry,
    SerializedEntry,
};

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

/// A score in percent accumulated over an epoch's batches (each task's live metrics: the
/// epoch's value is not the mean of its batches'). [`PercentMetric`] makes it a burn-train
/// metric.
pub trait EpochScore: Clone + Send + Sync + 'static {
    /// What burn-train hands the metric each batch.
    type Input: Send + Sync + 'static;

    /// The metric's name, as burn-train shows and logs it.
    fn name(&self) -> &'static str;

    /// Adds the batch to the epoch and returns the batch's own value and its sample count.
    fn add(
        &mut self,
        input: &Self::Input,
        metadata: &MetricMetadata,
    ) -> Result<(f64, usize), TensorReadError>;

    /// The value over the batches added since the last [`clear`](Self::clear).
    fn epoch_value(&self) -> f64;

    /// Starts a new epoch.
    fn clear(&mut self);
}

/// A numeric burn-train metric, in percent, of an [`EpochScore`]: its value over the epoch
/// so far, and the last batch's.
#[derive(Clone)]
pub struct PercentMetric<S> {
    name: MetricName,
    score: S,
    batch_value: f64,
}

impl<S: EpochScore> PercentMetric<S> {
    /// The metric of `score`.
    pub fn of(score: S) -> Self {
        Self {
            name: Arc::new(score.name().to_string()),
            score,
            batch_value: 0.0,
        }
    }

    /// The metric with its score changed by `change` (a builder step of the tasks' metrics).
    pub(crate) fn map_score(self, change: impl FnOnce(S) -> S) -> Self {
        Self {
            score: change(self.score),
            ..self
        }
    }
}

impl<S: EpochScore> Metric for PercentMetric<S> {
    type Input = S::Input;

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes {
            unit: Some("%".to_string()),
            higher_is_better: true,
        }
        .into()
    }

    fn update(
        &mut self,
        input: &S::Input,
        metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        let (batch_value, count) = self.score.add(input, metadata)?;
        self.batch_value = batch_value;
        let epoch = self.score.epoch_value();
        Ok(SerializedEntry::new(
            format!("epoch {epoch:.2} % - batch {batch_value:.2} %"),
            NumericEntry::Aggregated {
                aggregated_value: batch_value,
                count,
            }
            .serialize(),
        ))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        let value = self.score.epoch_value();
        Ok(SerializedEntry::new(
            format!("{value:.2} %"),
            NumericEntry::Final(value).serialize(),
        ))
    }

    fn clear(&mut self) {
        self.score.clear();
        self.batch_value = 0.0;
    }
}

impl<S: EpochScore> Numeric for PercentMetric<S> {
    fn value(&self) -> Option<NumericEntry> {
        Some(NumericEntry::Value(self.batch_value))
    }

    fn running_value(&self) -> Option<NumericEntry> {
        Some(NumericEntry::Value(self.score.epoch_value()))
    }

    fn final_value(&self) -> NumericEntry {
        NumericEntry::Final(self.score.epoch_value())
    }
}
