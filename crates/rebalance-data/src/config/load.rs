//! Building the dataset a `[data]` section describes: generated, or read from its files,
//! made long-tailed and split.

use super::*;

impl DataConfig {
    /// Builds the dataset: generates or reads the samples, applies the profile to the
    /// training split, and holds out the validation split.
    ///
    /// # Errors
    /// A key for another source, a parameter out of range, a missing or malformed file, a
    /// label `>= num_classes`, a class left empty.
    pub fn load(&self) -> Result<LongTailData, DataError> {
        self.load_unqualified().map_err(in_data_section)
    }

    fn load_unqualified(&self) -> Result<LongTailData, DataError> {
        self.validate_unqualified()?;
        if self.task == Task::MultiLabel {
            return Err(DataError::invalid(
                "data.task",
                self.task,
                "\"single-label\" for DataConfig::load; multi-label data loads with \
                 DataConfig::load_multi_label",
            ));
        }
        let mut data = match self.source {
            DataSource::Synthetic => self.synthetic().generate(&self.profile)?,
            DataSource::Csv => {
                let missing = |key| {
                    DataError::invalid("data.source", "\"csv\"", format!("given with data.{key}"))
                };
                let train = self.train.as_ref().ok_or_else(|| missing("train"))?;
                let test = self.test.as_ref().ok_or_else(|| missing("test"))?;
                let label_column = self
                    .label_column
                    .clone()
                    .unwrap_or_else(default_label_column);
                let (train_table, test_table, map) = read_csv_pair(train, test, &label_column)?;
                if let LabelMap::Names(names) = &map
                    && names.len() != self.num_classes
                {
                    return Err(DataError::invalid(
                        "data.num_classes",
                        self.num_classes,
                        format!(
                            "{}, the number of distinct labels in {} ({})",
                            names.len(),
                            train.display(),
                            quoted_list(names)
                        ),
                    ));
                }
                let shape = vec![train_table.feature_names.len()];
                self.shape_files(
                    train_table.samples,
                    test_table.samples,
                    shape,
                    map.class_names(self.num_classes),
                )?
            }
            DataSource::Idx | DataSource::Cifar10 => {
                let dir = self.dir.as_ref().ok_or_else(|| {
                    DataError::invalid("data.source", self.source, "given with data.dir")
                })?;
                let (train, test, shape) = if self.source == DataSource::Idx {
                    read_idx(dir)?
                } else {
                    read_cifar10(dir)?
                };
                let names = (0..self.num_classes).map(|c| c.to_string()).collect();
                self.shape_files(train, test, shape, names)?
            }
        };
        if self.validation_fraction > 0.0 {
            let (train, validation) = stratified_split(
                data.train.labels(),
                data.num_classes,
                self.validation_fraction,
                self.seed,
            );
            if validation.is_empty() {
                return Err(DataError::invalid(
                    "data.validation_fraction",
                    self.validation_fraction,
                    format!(
                        "0 (no validation split), or large enough to hold out a sample of the \
                         {} training samples",
                        data.train.len()
                    ),
                ));
            }
            data.validation = Some(data.train.select(&validation));
            data.train = data.train.select(&train);
        }
        // Every split the run reads has samples (the readers refuse empty files; this is the
        // net under every source).
        let splits = [
            ("training", Some(&data.train)),
            ("validation", data.validation.as_ref()),
            ("test", Some(&data.test)),
        ];
        for (split, samples) in splits {
            if samples.is_some_and(Samples::is_empty) {
                return Err(DataError::EmptySplit { split });
            }
        }
        Ok(data)
    }

    /// Applies the profile to a file source's training split.
    fn shape_files(
        &self,
        train: Samples,
        test: Samples,
        feature_shape: Vec<usize>,
        class_names: Vec<String>,
    ) -> Result<LongTailData, DataError> {
        for (split, samples) in [("training", &train), ("test", &test)] {
            if let Some(&label) = samples.labels().iter().find(|&&l| l >= self.num_classes) {
                return Err(DataError::invalid(
                    "data.num_classes",
                    self.num_classes,
                    format!("greater than every label, but the {split} split has label {label}"),
                ));
            }
        }
        let available = train.class_counts(self.num_classes);
        if let Some(class) = available.iter().position(|&n| n == 0) {
            let present: Vec<String> = available
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(c, _)| c.to_string())
                .collect();
            return Err(DataError::EmptyClass {
                class,
                split: "training",
                cause: format!(
                    " in the source files, whose labels are {} of data.num_classes = {}; \
                     renumber the labels 0..{} and set data.num_classes = {} (a training split \
                     needs a sample of every class)",
                    present.join(", "),
                    self.num_classes,
                    present.len(),
                    present.len()
                ),
            });
        }
        // `validate` has refused `max_per_class` beside `none`.
        if self.profile == ImbalanceProfile::None {
            return Ok(LongTailData {
                train,
                validation: None,
                test,
                num_classes: self.num_classes,
                feature_shape,
                class_names,
            });
        }
        let n_max = self
            .max_per_class
            .unwrap_or_else(|| available.iter().copied().min().unwrap_or(0));
        let counts = self.profile.counts(n_max, self.num_classes)?;
        if let Some((class, (&want, &have))) = counts
            .iter()
            .zip(&available)
            .enumerate()
            .find(|(_, (w, h))| w > h)
        {
            return Err(DataError::invalid(
                "data.max_per_class",
                n_max,
                format!(
                    "at most {have}: the profile asks {want} samples of class {class}, which has \
                     {have}; or set data.profile = {{ kind = \"none\" }} to train on the split as it is"
                ),
            ));
        }
        let kept = long_tail_indices(train.labels(), &counts, self.seed);
        Ok(LongTailData {
            train: train.select(&kept),
            validation: None,
            test,
            num_classes: self.num_classes,
            feature_shape,
            class_names,
        })
    }
}
