//! Image augmentation for training batches: random crop of a zero-padded image and
//! horizontal flip, the standard CIFAR recipe (He et al., CVPR 2016).
//!
//! A sample's crop and flip are a function of the seed, the epoch and the sample's position in
//! the training data alone ([`AugmentedSamples`] numbers them), not of the order in which
//! batches are made: the same whatever the number of loading threads or devices (each device's
//! slice is batched on a thread of its own), and a resumed run draws what the uninterrupted
//! one drew.

use std::sync::atomic::{AtomicU64, Ordering};

use burn::data::dataset::{Dataset, DatasetError};
use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::Sample;
use crate::split::stream;

const AUGMENT: u64 = 40;

/// Random crop after padding by `padding` pixels (the padding is 0, the mean once the batcher
/// has standardized), and a horizontal flip with probability 1/2.
///
/// A batcher augments [`AugmentedSample`]s: each draws from a stream of its own, seeded by
/// `seed`, its epoch and its position.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageAugmentation {
    /// `[channels, height, width]` of the images.
    pub shape: [usize; 3],
    /// Pixels of zero padding before the crop (4 for CIFAR).
    pub padding: usize,
    /// Flip horizontally with probability 1/2.
    pub flip: bool,
    /// Seed of the draws.
    pub seed: u64,
}

impl ImageAugmentation {
    /// CIFAR's augmentation for images of `shape`: padding 4 and flips.
    pub fn cifar(shape: [usize; 3], seed: u64) -> Self {
        Self {
            shape,
            padding: 4,
            flip: true,
            seed,
        }
    }

    /// The generator of the sample at `index` in epoch `epoch` (both from 0).
    pub(crate) fn draws(&self, epoch: u64, index: usize) -> Xoshiro256PlusPlus {
        stream(
            self.seed ^ epoch.wrapping_add(1).wrapping_mul(0xD6E8_FEB8_6659_FD93),
            AUGMENT,
            index,
        )
    }

    /// Writes the augmented `image` (`[c, h, w]`, row-major) into `out`.
    pub(crate) fn apply(&self, image: &[f32], rng: &mut Xoshiro256PlusPlus, out: &mut Vec<f32>) {
        let [channels, height, width] = self.shape;
        let p = self.padding as i64;
        let dy = rng.random_range(-p..=p) as isize;
        let dx = rng.random_range(-p..=p) as isize;
        let flip = self.flip && rng.random_bool(0.5);
        for c in 0..channels {
            for y in 0..height as isize {
                for x in 0..width as isize {
                    let sx = if flip { width as isize - 1 - x } else { x } + dx;
                    let sy = y + dy;
                    let inside =
                        (0..height as isize).contains(&sy) && (0..width as isize).contains(&sx);
                    out.push(if inside {
                        image[c * height * width + sy as usize * width + sx as usize]
                    } else {
                        0.0
                    });
                }
            }
        }
    }
}

/// A training sample with what its augmentation is drawn from: its epoch and its position in
/// the training data, both from 0.
#[derive(Debug, Clone)]
pub struct AugmentedSample {
    /// The sample.
    pub sample: Sample,
    /// The epoch it is drawn in.
    pub epoch: u64,
    /// Its position in the training data ([`AugmentedSamples`]' index).
    pub index: usize,
}

/// The training data of an augmenting batcher: each sample numbered with its epoch and its
/// position. The epoch of a position is counted by its visits (a loader visits each position
/// once an epoch, whichever thread or device slice makes its batch), from `first_epoch`.
#[derive(Debug)]
pub struct AugmentedSamples<D> {
    samples: D,
    first_epoch: u64,
    visits: Vec<AtomicU64>,
}

impl<D: Dataset<Sample>> AugmentedSamples<D> {
    /// `samples` numbered from epoch `first_epoch` (counted from 0): a run resumed after `k`
    /// epochs, or a phase that starts after them, draws the crops of the uninterrupted run's
    /// epoch `k + 1` with `first_epoch = k`.
    pub fn new(samples: D, first_epoch: usize) -> Self {
        Self {
            visits: (0..samples.len()).map(|_| AtomicU64::new(0)).collect(),
            samples,
            first_epoch: first_epoch as u64,
        }
    }
}

impl<D: Dataset<Sample>> Dataset<AugmentedSample> for AugmentedSamples<D> {
    fn get(&self, index: usize) -> Result<AugmentedSample, DatasetError> {
        let epoch = self.first_epoch + self.visits[index].fetch_add(1, Ordering::Relaxed);
        Ok(AugmentedSample {
            sample: self.samples.get(index)?,
            epoch,
            index,
        })
    }

    fn len(&self) -> usize {
        self.samples.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `image` as `aug` augments the sample at `index` in epoch 0.
    fn augmented(aug: &ImageAugmentation, image: &[f32], index: usize) -> Vec<f32> {
        let mut out = Vec::new();
        aug.apply(image, &mut aug.draws(0, index), &mut out);
        out
    }

    #[test]
    fn crops_shift_and_flips_mirror() {
        let aug = ImageAugmentation {
            shape: [1, 2, 3],
            padding: 0,
            flip: true,
            seed: 1,
        };
        let image = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut seen = std::collections::BTreeSet::new();
        for index in 0..50 {
            let out = augmented(&aug, &image, index);
            seen.insert(out.iter().map(|v| *v as i32).collect::<Vec<_>>());
        }
        // Only the image and its mirror.
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            vec![vec![1, 2, 3, 4, 5, 6], vec![3, 2, 1, 6, 5, 4]]
        );
    }

    #[test]
    fn padding_shifts_in_zeros_and_keeps_the_shape() {
        let aug = ImageAugmentation {
            shape: [1, 4, 4],
            padding: 2,
            flip: false,
            seed: 3,
        };
        let image = [1.0; 16];
        let mut zeros = 0;
        for index in 0..20 {
            let out = augmented(&aug, &image, index);
            assert_eq!(out.len(), 16);
            zeros += out.iter().filter(|&&v| v == 0.0).count();
        }
        assert!(zeros > 0);
    }

    /// Issue 27, item 16: a sample's crop and flip depend on the seed, its epoch and its
    /// position only. The same rows, epoch by epoch, from one loader; from two slices of it
    /// batched at once on two threads (burn-train's multi-device strategy); from three loading
    /// workers; and, for the second epoch, from a loader resumed after the first.
    #[test]
    fn draws_depend_on_epoch_and_position_not_on_threads_or_slices() {
        use std::collections::BTreeMap;

        use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
        use burn::prelude::Device;

        use crate::{SampleBatch, SampleBatcher, Samples};

        /// Each sample's augmented row, by its label (its position), in the epochs run.
        type Epochs = Vec<BTreeMap<i64, Vec<f32>>>;

        const N: usize = 24;
        let batcher = SampleBatcher::new(None).with_augmentation(ImageAugmentation {
            shape: [1, 4, 4],
            padding: 2,
            flip: true,
            seed: 5,
        });
        let loader = |first_epoch: usize, workers: usize| {
            let samples = Samples::new(
                (0..N * 16).map(|v| v as f32).collect(),
                (0..N).collect(),
                16,
            )
            .unwrap();
            DataLoaderBuilder::new(batcher.clone())
                .batch_size(5)
                .shuffle(3)
                .num_workers(workers)
                .set_device(Device::flex())
                .build(AugmentedSamples::new(samples, first_epoch))
        };
        let epochs = |loader: &dyn DataLoader<SampleBatch>, epochs: usize| -> Epochs {
            (0..epochs)
                .map(|_| {
                    let mut rows = BTreeMap::new();
                    for batch in loader.iter() {
                        let batch = batch.unwrap();
                        let features: Vec<f32> = batch.features.into_data().iter().collect();
                        let labels: Vec<i64> = batch.targets.into_data().iter().collect();
                        for (label, row) in labels.into_iter().zip(features.chunks(16)) {
                            rows.insert(label, row.to_vec());
                        }
                    }
                    rows
                })
                .collect()
        };
        let whole = epochs(&*loader(0, 0), 2);
        assert_eq!(whole[0].len(), N);
        assert_ne!(whole[0], whole[1], "the epochs draw anew");

        let sliced = loader(0, 0);
        let halves = [sliced.slice(0, N / 2), sliced.slice(N / 2, N)];
        let barrier = std::sync::Barrier::new(2);
        let mut merged: Epochs = vec![BTreeMap::new(); 2];
        std::thread::scope(|scope| {
            let threads: Vec<_> = halves
                .iter()
                .map(|half| {
                    scope.spawn(|| {
                        barrier.wait();
                        epochs(&**half, 2)
                    })
                })
                .collect();
            for thread in threads {
                for (epoch, rows) in thread.join().unwrap().into_iter().enumerate() {
                    merged[epoch].extend(rows);
                }
            }
        });
        assert_eq!(merged, whole, "two slices on two threads");
        assert_eq!(epochs(&*loader(0, 3), 2), whole, "three workers");
        assert_eq!(
            epochs(&*loader(1, 0), 1)[0],
            whole[1],
            "resumed after epoch 1"
        );
    }
}
