//! `RunConfig::validate`: the range checks the types cannot express, section by section, and
//! the task's and memory's limits, before anything is loaded or trained.

use super::*;

/// The most epochs a run may have: far beyond any schedule in the literature (CIFAR-LT's
/// are 200), and small enough that epochs times batches never overflows the schedules'
/// step counts.
pub const MAX_EPOCHS: usize = 100_000;

impl RunConfig {
    /// Range checks that the types cannot express, section by section, before anything is
    /// loaded or trained (a compare sweep checks every variant this way up front).
    ///
    /// # Errors
    /// The first value out of range, naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.data.validate()?;
        self.loss.validate()?;
        if self.loss.reduction() == rebalance_loss::Reduction::None {
            return Err(invalid(
                "loss.reduction",
                "\"none\"",
                "weighted-mean, mean or sum for training (none gives per-sample losses, which \
                 training cannot step on)",
            ));
        }
        if let Some(w) = self.loss.weighting()
            && w.start_epoch >= self.train.epochs
            && w.start_epoch > 0
        {
            return Err(invalid(
                "loss.drw_start_epoch",
                w.start_epoch + 1,
                format!(
                    "<= train.epochs = {} (the epoch, from 1, the class weights start; later \
                     would train the whole run unweighted)",
                    self.train.epochs
                ),
            ));
        }
        self.train.validate()?;
        self.eval.validate()?;
        self.validate_task()?;
        if let Some(stage2) = &self.train.stage2 {
            stage2.validate()?;
        }
        self.model.validate()?;
        self.check_memory(u128::from(rebalance_data::total_memory()))
    }

    /// The keys that depend on the task, the one place a multi-label run refuses what is
    /// defined for softmax outputs: it needs a loss of multi-hot targets and has no post-hoc
    /// adjustment, cRT or image augmentation; tuned thresholds are multi-label
    /// and need a validation split.
    fn validate_task(&self) -> Result<(), ConfigError> {
        let multi_label = self.data.task == Task::MultiLabel;
        if multi_label {
            self.loss.check_multi_label()?;
            if let Some(tau) = self.eval.posthoc_tau {
                return Err(invalid(
                    "eval.posthoc_tau",
                    tau,
                    "left out with data.task = \"multi-label\" (post-hoc logit adjustment \
                     shifts a softmax; tune the sigmoid thresholds with eval.thresholds = \
                     \"tuned\")",
                ));
            }
            if let Some(stage2) = &self.train.stage2 {
                return Err(invalid(
                    "train.stage2",
                    format!("{{ epochs = {} }}", stage2.epochs),
                    "left out with data.task = \"multi-label\" (cRT re-trains a softmax \
                     classifier on class-balanced samples, which label sets do not define; \
                     tune the sigmoid thresholds with eval.thresholds = \"tuned\")",
                ));
            }
            if self.train.augment {
                return Err(invalid(
                    "train.augment",
                    true,
                    "false with data.task = \"multi-label\" (the augmentation is for images)",
                ));
            }
        }
        if self.eval.thresholds == ThresholdRule::Tuned {
            if !multi_label {
                return Err(invalid(
                    "eval.thresholds",
                    "\"tuned\"",
                    "\"fixed\" with data.task = \"single-label\" (a single-label model \
                     predicts its top class; thresholds are per label of a multi-label task)",
                ));
            }
            if self.data.validation_fraction <= 0.0 {
                return Err(invalid(
                    "eval.thresholds",
                    "\"tuned\"",
                    "given with a validation split to tune on: set data.validation_fraction \
                     (e.g. 0.1)",
                ));
            }
        }
        Ok(())
    }

    /// Refuses a run whose estimated memory exceeds `limit` bytes, naming the key (of
    /// `model.hidden` and `train.batch_size`) whose default would shrink it the most; the data
    /// alone is checked by [`DataConfig::validate`].
    fn check_memory(&self, limit: u128) -> Result<(), ConfigError> {
        let needed = self.estimated_bytes();
        if needed <= limit {
            return Ok(());
        }
        let defaults = (ModelSection::default(), TrainSection::default());
        let mut smaller_model = self.clone();
        smaller_model.model.hidden = defaults.0.hidden;
        let mut smaller_batch = self.clone();
        smaller_batch.train.batch_size = defaults.1.batch_size;
        let (key, value) = if smaller_model.estimated_bytes() <= smaller_batch.estimated_bytes() {
            ("model.hidden", format!("{:?}", self.model.hidden))
        } else {
            ("train.batch_size", self.train.batch_size.to_string())
        };
        Err(invalid(
            key,
            value,
            format!(
                "small enough for the run to fit in memory: it needs about {} (parameters, \
                 gradients and Adam's moments, a batch's activations, the data), more than \
                 the machine's {}",
                rebalance_data::human_bytes(needed),
                rebalance_data::human_bytes(limit)
            ),
        ))
    }

    /// A rough upper estimate of a run's memory in bytes: the MLP's parameters four times
    /// (weights, gradients, two Adam moments), a batch's input and activations three times
    /// (forward, backward, dropout), and the synthetic data. The MLP's input width is the
    /// synthetic data's features, or 1 for a file source (known once read). Saturating.
    pub fn estimated_bytes(&self) -> u128 {
        let n = |v: usize| v as u128;
        let inputs = match self.model.kind {
            ModelKind::Mlp => n(self.data.features.unwrap_or(1)),
            ModelKind::Cnn | ModelKind::Resnet32 => 1,
        };
        let mut widths = vec![inputs];
        if self.model.kind == ModelKind::Mlp {
            widths.extend(self.model.hidden.iter().map(|&h| n(h)));
        }
        widths.push(n(self.data.num_classes));
        let parameters = widths.windows(2).fold(0u128, |sum, w| {
            sum.saturating_add(w[0].saturating_mul(w[1]).saturating_add(w[1]))
        });
        let activations = widths.iter().fold(0u128, |sum, &w| sum.saturating_add(w));
        let batch = n(self.train.batch_size);
        parameters
            .saturating_mul(4 * 4)
            .saturating_add(batch.saturating_mul(activations).saturating_mul(4 * 3))
            .saturating_add(self.data.estimated_bytes().unwrap_or(0))
    }
}

impl TrainSection {
    /// `[train]`'s ranges: epochs, warm-up, batch size, devices, rates and the step schedule.
    ///
    /// # Errors
    /// The first value out of range, naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let train = self;
        if !(1..=MAX_EPOCHS).contains(&train.epochs) {
            return Err(invalid(
                "train.epochs",
                train.epochs,
                format!("in 1..={MAX_EPOCHS}"),
            ));
        }
        if train.warmup_epochs > train.epochs {
            return Err(invalid(
                "train.warmup_epochs",
                train.warmup_epochs,
                format!("<= train.epochs = {}", train.epochs),
            ));
        }
        if train.batch_size == 0 {
            return Err(invalid("train.batch_size", 0, ">= 1"));
        }
        if let Some((k, twice)) = train
            .devices
            .iter()
            .enumerate()
            .find(|(k, d)| train.devices[..*k].contains(d))
        {
            return Err(invalid(
                "train.devices",
                format!("\"{twice}\" (entry {})", k + 1),
                "each device once",
            ));
        }
        // A CPU backend has one device: its indices are workers, at most one per core.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        if let Some(worker) = train.devices.iter().find(|d| {
            !train.backend.has_indexed_devices() && d.index.is_some_and(|index| index >= cores)
        }) {
            return Err(invalid(
                "train.devices",
                format!("\"{worker}\""),
                format!(
                    "workers of the CPU's one device, {0}:0 to {0}:{1} here (one per core)",
                    train.backend,
                    cores - 1
                ),
            ));
        }
        if let Some(other) = train.devices.iter().find(|d| d.backend != train.backend) {
            return Err(invalid(
                "train.devices",
                format!("\"{other}\""),
                format!(
                    "devices of train.backend = \"{0}\": \"{0}\" or \"{0}:INDEX\"",
                    train.backend
                ),
            ));
        }
        if !(train.learning_rate.is_finite() && train.learning_rate > 0.0) {
            return Err(invalid(
                "train.learning_rate",
                train.learning_rate,
                "finite and > 0",
            ));
        }
        if !(train.weight_decay.is_finite() && train.weight_decay >= 0.0) {
            return Err(invalid(
                "train.weight_decay",
                train.weight_decay,
                "finite and >= 0",
            ));
        }
        if !(0.0..1.0).contains(&train.momentum) {
            return Err(invalid("train.momentum", train.momentum, "in [0, 1)"));
        }
        if train.step_epochs.len() != train.step_factors.len() {
            return Err(invalid(
                "train.step_factors",
                format!("{:?}", train.step_factors),
                format!(
                    "one factor per step epoch ({} given)",
                    train.step_epochs.len()
                ),
            ));
        }
        if train.step_epochs.windows(2).any(|w| w[0] >= w[1]) || train.step_epochs.contains(&0) {
            return Err(invalid(
                "train.step_epochs",
                format!("{:?}", train.step_epochs),
                "increasing epochs counted from 1",
            ));
        }
        if train
            .step_factors
            .iter()
            .any(|f| !(f.is_finite() && *f > 0.0))
        {
            return Err(invalid(
                "train.step_factors",
                format!("{:?}", train.step_factors),
                "finite and > 0",
            ));
        }
        if train.warmup_epochs > 0 && train.schedule == ScheduleKind::Cosine {
            return Err(invalid(
                "train.warmup_epochs",
                train.warmup_epochs,
                "0 with schedule = \"cosine\" (warm-up goes with constant and step)",
            ));
        }
        if !train.step_epochs.is_empty() && train.schedule != ScheduleKind::Step {
            return Err(invalid(
                "train.step_epochs",
                format!("{:?}", train.step_epochs),
                "empty unless schedule = \"step\" (or set train.schedule = \"step\")",
            ));
        }
        Ok(())
    }
}

impl EvalSection {
    /// `[eval]`'s ranges.
    ///
    /// # Errors
    /// A post-hoc `τ` that is not finite.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(tau) = self.posthoc_tau
            && !tau.is_finite()
        {
            return Err(invalid("eval.posthoc_tau", tau, "finite"));
        }
        Ok(())
    }
}

impl Stage2 {
    /// `[train.stage2]`'s ranges and its loss.
    ///
    /// # Errors
    /// The first value out of range, naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let stage2 = self;
        if stage2.epochs > MAX_EPOCHS {
            return Err(invalid(
                "train.stage2.epochs",
                stage2.epochs,
                format!("in 1..={MAX_EPOCHS}"),
            ));
        }
        if stage2.epochs == 0 {
            return Err(invalid("train.stage2.epochs", 0, ">= 1"));
        }
        if let Some(rate) = stage2.learning_rate
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(invalid(
                "train.stage2.learning_rate",
                rate,
                "finite and > 0",
            ));
        }
        let loss = stage2.loss();
        loss.validate().map_err(ConfigError::Stage2Loss)?;
        if loss.reduction() == rebalance_loss::Reduction::None {
            return Err(invalid(
                "train.stage2.loss.reduction",
                "\"none\"",
                "weighted-mean, mean or sum for training",
            ));
        }
        if let Some(w) = loss.weighting()
            && w.start_epoch > 0
        {
            return Err(invalid(
                "train.stage2.loss.drw_start_epoch",
                w.start_epoch + 1,
                "left out: the second stage's class weights hold from its first epoch",
            ));
        }
        Ok(())
    }
}

impl ModelSection {
    /// `[model]`'s ranges.
    ///
    /// # Errors
    /// A dropout outside `[0, 1)` or a hidden width of 0.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(invalid("model.dropout", self.dropout, "in [0, 1)"));
        }
        if self.hidden.contains(&0) {
            return Err(invalid(
                "model.hidden",
                format!("{:?}", self.hidden),
                "widths >= 1",
            ));
        }
        Ok(())
    }
}
