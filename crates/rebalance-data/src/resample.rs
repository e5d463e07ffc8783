//! Re-sampling baselines: which training indices an epoch visits.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::split::{class_indices, stream};
use crate::{DataError, Sample, Samples};
use burn::data::dataset::transform::SelectionDataset;
use burn::data::dataset::{Dataset, DatasetError};
use rand::RngExt;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::seq::SliceRandom;

const RESAMPLE: u64 = 30;

rebalance_weights::config_enum! {
    /// Re-sampling of the training split, the data-side alternative to re-weighting the loss.
    ///
    /// | name | epoch | from |
    /// |---|---|---|
    /// | `none` | every sample once | |
    /// | `class-balanced` | `N` draws: a class uniformly, then one of its samples | class-balanced sampling (Kang et al., ICLR 2020) |
    /// | `square-root` | `N` draws: class `c` with probability `∝ n_c^{1/2}`, then one of its samples | square-root sampling (Mahajan et al., ECCV 2018; Kang et al., ICLR 2020) |
    /// | `oversample` | every class brought up to `n_max` by drawing its samples again | random over-sampling |
    /// | `undersample` | every class cut to `n_min` at random | random under-sampling |
    ///
    /// `N` is the training size. [`epoch_indices`](Resampling::epoch_indices) and
    /// [`select`](Resampling::select) draw once per call; [`ResampledSamples`] is the dataset to
    /// hand a Burn data loader, as it re-draws every epoch.
    pub enum Resampling("resampling", DataError) {
        /// No re-sampling (the default).
        #[default]
        None,
        /// Each class equally likely.
        ClassBalanced,
        /// Class probability proportional to the square root of its count.
        SquareRoot,
        /// Random over-sampling of every class to the largest count.
        Oversample,
        /// Random under-sampling of every class to the smallest count.
        Undersample,
    }
}

impl Resampling {
    /// The indices into `labels` one epoch visits (with repeats for the drawing schemes), in
    /// increasing order. Classes without samples are skipped.
    ///
    /// # Errors
    /// `labels` is empty.
    pub fn epoch_indices(
        self,
        labels: &[usize],
        num_classes: usize,
        seed: u64,
    ) -> Result<Vec<usize>, DataError> {
        if labels.is_empty() {
            return Err(DataError::invalid(
                "training split",
                "empty",
                "at least one sample to re-sample",
            ));
        }
        let by_class: Vec<Vec<usize>> = class_indices(labels, num_classes)
            .into_iter()
            .filter(|c| !c.is_empty())
            .collect();
        let mut rng = stream(seed, RESAMPLE, self as usize);
        let draw_by = |weights: Vec<f64>, rng: &mut rand::rngs::Xoshiro256PlusPlus| -> Vec<usize> {
            // Weights are positive and finite for non-empty classes.
            let classes = WeightedIndex::new(&weights).unwrap_or_else(|_| unreachable!());
            (0..labels.len())
                .map(|_| {
                    let members = &by_class[classes.sample(rng)];
                    members[rng.random_range(0..members.len())]
                })
                .collect()
        };
        let mut indices: Vec<usize> = match self {
            Resampling::None => (0..labels.len()).collect(),
            Resampling::ClassBalanced => draw_by(vec![1.0; by_class.len()], &mut rng),
            Resampling::SquareRoot => draw_by(
                by_class.iter().map(|c| (c.len() as f64).sqrt()).collect(),
                &mut rng,
            ),
            Resampling::Oversample => {
                let n_max = by_class.iter().map(Vec::len).max().unwrap_or(0);
                let mut out = Vec::with_capacity(n_max * by_class.len());
                for members in &by_class {
                    out.extend_from_slice(members);
                    out.extend(
                        (members.len()..n_max).map(|_| members[rng.random_range(0..members.len())]),
                    );
                }
                out
            }
            Resampling::Undersample => {
                let n_min = by_class.iter().map(Vec::len).min().unwrap_or(0);
                let mut out = Vec::with_capacity(n_min * by_class.len());
                for members in &by_class {
                    let mut members = members.clone();
                    members.shuffle(&mut rng);
                    out.extend_from_slice(&members[..n_min]);
                }
                out
            }
        };
        indices.sort_unstable();
        Ok(indices)
    }

    /// The training split re-sampled for one epoch, as a Burn [`SelectionDataset`] over it.
    ///
    /// # Errors
    /// As [`epoch_indices`](Resampling::epoch_indices).
    pub fn select(
        self,
        train: Samples,
        num_classes: usize,
        seed: u64,
    ) -> Result<SelectionDataset<Samples, Sample>, DataError> {
        let indices = self.epoch_indices(train.labels(), num_classes, seed)?;
        Ok(SelectionDataset::from_indices_checked(train, indices))
    }
}

/// Mixes an epoch number into a seed, so each epoch draws afresh.
fn epoch_seed(seed: u64, epoch: u64) -> u64 {
    seed ^ epoch.wrapping_add(1).wrapping_mul(0xD1B5_4A32_D192_ED03)
}

/// The training split re-sampled afresh every epoch, as a Burn [`Dataset`].
///
/// A data loader visits every index of a dataset once per epoch (in a shuffled order, from any
/// number of workers). This dataset counts the visits of each index: the `k`-th visit of index
/// `i` returns sample `epoch_indices(seed of epoch k)[i]`. So every epoch is a fresh draw of
/// [`Resampling::epoch_indices`], and the draws depend only on the seed and the epoch, not on
/// the order or the thread in which the loader asks for items.
///
/// ```
/// use burn::data::dataset::Dataset;
/// use rebalance_data::{ResampledSamples, Resampling, Samples};
///
/// // 9 samples of class 0, 1 of class 1.
/// let labels: Vec<usize> = (0..10).map(|i| usize::from(i == 9)).collect();
/// let train = Samples::new((0..10).map(|i| i as f32).collect(), labels, 1)?;
/// let epochs = ResampledSamples::new(train, Resampling::Oversample, 2, 7)?;
/// assert_eq!(epochs.len(), 18); // both classes brought up to 9
/// let tail: usize = (0..18).filter(|&i| epochs.get(i).unwrap().label == 1).count();
/// assert_eq!(tail, 9);
/// # Ok::<(), rebalance_data::DataError>(())
/// ```
pub struct ResampledSamples {
    samples: Samples,
    resampling: Resampling,
    num_classes: usize,
    seed: u64,
    first_epoch: u64,
    len: usize,
    visits: Vec<AtomicU64>,
    /// The index lists of the epochs in use (at most two: a loader's workers may straddle
    /// an epoch boundary).
    epochs: Mutex<Vec<(u64, Arc<Vec<usize>>)>>,
}

impl ResampledSamples {
    /// `samples` re-sampled by `resampling`, drawing with `seed`.
    ///
    /// # Errors
    /// `samples` is empty.
    pub fn new(
        samples: Samples,
        resampling: Resampling,
        num_classes: usize,
        seed: u64,
    ) -> Result<Self, DataError> {
        let first = resampling.epoch_indices(samples.labels(), num_classes, epoch_seed(seed, 0))?;
        Ok(Self {
            len: first.len(),
            visits: (0..first.len()).map(|_| AtomicU64::new(0)).collect(),
            epochs: Mutex::new(vec![(0, Arc::new(first))]),
            samples,
            resampling,
            num_classes,
            seed,
            first_epoch: 0,
        })
    }

    /// Starts the draws at `epoch` (counted from 0), as a run resumed after `epoch` epochs
    /// must, to see the samples an uninterrupted run would.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn starting_at_epoch(self, epoch: usize) -> Result<Self, DataError> {
        let epoch = epoch as u64;
        let first = self.draw(epoch)?;
        Ok(Self {
            first_epoch: epoch,
            epochs: Mutex::new(vec![(epoch, Arc::new(first))]),
            ..self
        })
    }

    fn draw(&self, epoch: u64) -> Result<Vec<usize>, DataError> {
        self.resampling.epoch_indices(
            self.samples.labels(),
            self.num_classes,
            epoch_seed(self.seed, epoch),
        )
    }

    /// The indices of `epoch`, drawn on first use.
    fn indices(&self, epoch: u64) -> Result<Arc<Vec<usize>>, DataError> {
        let mut epochs = self.epochs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, indices)) = epochs.iter().find(|(e, _)| *e == epoch) {
            return Ok(Arc::clone(indices));
        }
        let indices = Arc::new(self.draw(epoch)?);
        epochs.retain(|(e, _)| e + 1 >= epoch);
        epochs.push((epoch, Arc::clone(&indices)));
        Ok(indices)
    }
}

impl Dataset<Sample> for ResampledSamples {
    fn get(&self, index: usize) -> Result<Sample, DatasetError> {
        let epoch = self.first_epoch + self.visits[index].fetch_add(1, Ordering::Relaxed);
        let indices = self.indices(epoch).map_err(DatasetError::new)?;
        // Every epoch of a scheme has the same length, so `index` is in range.
        self.samples.get(indices[index])
    }

    fn len(&self) -> usize {
        self.len
    }
}

impl fmt::Debug for ResampledSamples {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResampledSamples")
            .field("resampling", &self.resampling)
            .field("len", &self.len)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::data::dataset::Dataset;

    /// 900 samples of class 0, 100 of class 1.
    fn labels() -> Vec<usize> {
        (0..1000).map(|i| usize::from(i >= 900)).collect()
    }

    fn class_share(indices: &[usize], labels: &[usize], class: usize) -> f64 {
        indices.iter().filter(|&&i| labels[i] == class).count() as f64 / indices.len() as f64
    }

    /// The draws of `resampling`'s epochs 0 to 19 on `labels()`, and the share of class 1 in
    /// them.
    fn twenty_epochs(resampling: Resampling) -> (Vec<usize>, f64) {
        let labels = labels();
        let draws: Vec<usize> = (0..20)
            .flat_map(|epoch| resampling.epoch_indices(&labels, 2, epoch).unwrap())
            .collect();
        let share = class_share(&draws, &labels, 1);
        (draws, share)
    }

    #[test]
    fn class_balanced_draws_each_class_equally() {
        // Over 20 epochs (20 000 draws), the share of class 1 is 0.5 ± 4σ (σ ≈ 0.0035).
        let (draws, share) = twenty_epochs(Resampling::ClassBalanced);
        assert_eq!(draws.len(), 20_000);
        assert!((share - 0.5).abs() < 0.015, "{share}");
    }

    #[test]
    fn square_root_draws_in_proportion_to_the_root_count() {
        // sqrt(100) / (sqrt(900) + sqrt(100)) = 0.25.
        let (_, share) = twenty_epochs(Resampling::SquareRoot);
        assert!((share - 0.25).abs() < 0.013, "{share}");
    }

    #[test]
    fn over_and_under_sampling_equalize_the_counts() {
        let labels = labels();
        let over = Resampling::Oversample.epoch_indices(&labels, 2, 1).unwrap();
        assert_eq!(over.len(), 1800);
        assert_eq!(class_share(&over, &labels, 1), 0.5);
        // Every original sample is kept.
        assert!((0..1000).all(|i| over.binary_search(&i).is_ok()));
        let under = Resampling::Undersample
            .epoch_indices(&labels, 2, 1)
            .unwrap();
        assert_eq!(under.len(), 200);
        assert_eq!(class_share(&under, &labels, 1), 0.5);
        under
            .windows(2)
            .for_each(|w| assert!(w[0] < w[1], "no repeats"));
        let none = Resampling::None.epoch_indices(&labels, 2, 1).unwrap();
        assert_eq!(none, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn selection_dataset_wraps_the_split() {
        let train = Samples::new((0..1000).map(|i| i as f32).collect(), labels(), 1).unwrap();
        let selected = Resampling::Undersample.select(train, 2, 3).unwrap();
        assert_eq!(selected.len(), 200);
        let tail = (0..200)
            .filter(|&i| selected.get(i).unwrap().label == 1)
            .count();
        assert_eq!(tail, 100);
    }

    #[test]
    fn resampled_samples_draw_afresh_each_epoch_in_any_visit_order() {
        let train = Samples::new((0..1000).map(|i| i as f32).collect(), labels(), 1).unwrap();
        let epochs = ResampledSamples::new(train.clone(), Resampling::ClassBalanced, 2, 5).unwrap();
        assert_eq!(epochs.len(), 1000);
        let epoch = |order: &mut dyn Iterator<Item = usize>| {
            let mut drawn = vec![0.0; 1000];
            for i in order {
                drawn[i] = epochs.get(i).unwrap().features[0];
            }
            drawn
        };
        let first = epoch(&mut (0..1000));
        // The second epoch, visited backwards, is a different draw ...
        let second = epoch(&mut (0..1000).rev());
        assert_ne!(first, second);
        let tail = second.iter().filter(|&&f| f >= 900.0).count();
        assert!((400..600).contains(&tail), "{tail}");
        // ... and the same one a fresh dataset, visited forwards, gives.
        let again = ResampledSamples::new(train.clone(), Resampling::ClassBalanced, 2, 5).unwrap();
        let firsts: Vec<f32> = (0..1000)
            .map(|i| again.get(i).unwrap().features[0])
            .collect();
        assert_eq!(firsts, first);
        let seconds: Vec<f32> = (0..1000)
            .map(|i| again.get(i).unwrap().features[0])
            .collect();
        assert_eq!(seconds, second);
        // A resumed run starts where it left off.
        let resumed = ResampledSamples::new(train, Resampling::ClassBalanced, 2, 5)
            .unwrap()
            .starting_at_epoch(1)
            .unwrap();
        let seconds: Vec<f32> = (0..1000)
            .map(|i| resumed.get(i).unwrap().features[0])
            .collect();
        assert_eq!(seconds, second);
    }

    #[test]
    fn names_parse() {
        rebalance_testing::assert_config_names::<Resampling>(
            "smote",
            "resampling = smote: must be one of none, class-balanced, square-root, oversample, undersample",
        );
    }
}
