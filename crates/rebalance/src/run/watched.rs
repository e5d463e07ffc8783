//! [`Watched`]: a burn-train metric, unchanged, with a [`Watch`] that sees its updates, its
//! epoch's value and its clearing. The history's recorded curves and the training loss's NaN
//! guard are two watches.

use burn::tensor::TensorReadError;
use burn::train::metric::{
    Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericEntry, SerializedEntry,
};

/// What a [`Watched`] metric does beside its metric's work. Each hook runs after the
/// metric's own method, with the metric as it is then.
pub trait Watch: Send + Sync + Clone {
    /// After each batch's update.
    fn updated(&mut self, _metric: &impl Numeric) {}

    /// After the metric computed its value of an epoch's split.
    fn computed(&mut self, _metric: &impl Numeric) {}

    /// After burn-train cleared the metric (once per epoch, for a training metric).
    fn cleared(&mut self) {}
}

/// The metric `M`, unchanged (name, values and entries), watched by `W`.
#[derive(Clone)]
pub struct Watched<M, W> {
    pub(crate) metric: M,
    pub(crate) watch: W,
}

impl<M: Metric + Numeric, W: Watch> Metric for Watched<M, W> {
    type Input = M::Input;

    fn name(&self) -> MetricName {
        self.metric.name()
    }

    fn description(&self) -> Option<String> {
        self.metric.description()
    }

    fn attributes(&self) -> MetricAttributes {
        self.metric.attributes()
    }

    fn update(
        &mut self,
        input: &M::Input,
        metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        let entry = self.metric.update(input, metadata)?;
        self.watch.updated(&self.metric);
        Ok(entry)
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        let entry = self.metric.compute()?;
        self.watch.computed(&self.metric);
        Ok(entry)
    }

    fn clear(&mut self) {
        self.metric.clear();
        self.watch.cleared();
    }
}

impl<M: Numeric, W> Numeric for Watched<M, W> {
    fn value(&self) -> Option<NumericEntry> {
        self.metric.value()
    }

    fn running_value(&self) -> Option<NumericEntry> {
        self.metric.running_value()
    }

    fn final_value(&self) -> NumericEntry {
        self.metric.final_value()
    }
}
