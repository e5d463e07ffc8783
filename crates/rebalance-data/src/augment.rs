//! Image augmentation for training batches: random crop of a zero-padded image and
//! horizontal flip, the standard CIFAR recipe (He et al., CVPR 2016).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::split::stream;

const AUGMENT: u64 = 40;

/// Random crop after padding by `padding` pixels (the padding is 0, the mean once the batcher
/// has standardized), and a horizontal flip with probability 1/2.
///
/// Each batch draws from its own seeded stream, numbered in the order batches are made: with
/// one data-loading thread the augmentations are the same from run to run.
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
    #[serde(skip)]
    batches: Arc<AtomicU64>,
}

impl ImageAugmentation {
    /// CIFAR's augmentation for images of `shape`: padding 4 and flips.
    pub fn cifar(shape: [usize; 3], seed: u64) -> Self {
        Self {
            shape,
            padding: 4,
            flip: true,
            seed,
            batches: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Makes `batch` (counted from 0) the next batch drawn for: a run resumed after `k` epochs
    /// of `n` batches starts at `k · n`, so it draws the crops and flips the uninterrupted run
    /// drew.
    pub fn start_at_batch(&self, batch: u64) {
        self.batches.store(batch, Ordering::SeqCst);
    }

    /// A generator for the next batch.
    pub(crate) fn next_batch(&self) -> Xoshiro256PlusPlus {
        let batch = self.batches.fetch_add(1, Ordering::SeqCst);
        stream(
            self.seed ^ batch.wrapping_mul(0xD6E8_FEB8_6659_FD93),
            AUGMENT,
            0,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crops_shift_and_flips_mirror() {
        let aug = ImageAugmentation {
            shape: [1, 2, 3],
            padding: 0,
            flip: true,
            seed: 1,
            batches: Arc::default(),
        };
        let image = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut seen = std::collections::BTreeSet::new();
        let mut rng = aug.next_batch();
        for _ in 0..50 {
            let mut out = Vec::new();
            aug.apply(&image, &mut rng, &mut out);
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
            batches: Arc::default(),
        };
        let image = [1.0; 16];
        let mut rng = aug.next_batch();
        let mut zeros = 0;
        for _ in 0..20 {
            let mut out = Vec::new();
            aug.apply(&image, &mut rng, &mut out);
            assert_eq!(out.len(), 16);
            zeros += out.iter().filter(|&&v| v == 0.0).count();
        }
        assert!(zeros > 0);
    }
}
