//! Index rules over labels: the long-tail subset and the stratified split.

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;

/// A generator for one purpose and one class, so that changing one split or class count
/// leaves every other stream as it was.
pub(crate) fn stream(seed: u64, purpose: u64, class: usize) -> Xoshiro256PlusPlus {
    // SplitMix64-style mixing of the three numbers into one seed.
    let mut z = seed
        ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (class as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Xoshiro256PlusPlus::seed_from_u64(z ^ (z >> 31))
}

const LONG_TAIL: u64 = 1;
const STRATIFY: u64 = 2;

/// The indices of each class, in order of appearance.
pub(crate) fn class_indices(labels: &[usize], num_classes: usize) -> Vec<Vec<usize>> {
    let mut by_class = vec![Vec::new(); num_classes];
    for (i, &label) in labels.iter().enumerate() {
        if let Some(list) = by_class.get_mut(label) {
            list.push(i);
        }
    }
    by_class
}

/// The long-tail subset: for each class `c`, the first `counts[c]` of a seeded shuffle of its
/// indices, as in the reference code of Cui et al. and Cao et al. For one seed, the classes'
/// shuffles do not depend on `counts`, so a more imbalanced subset is contained in a less
/// imbalanced one. Returned in increasing order.
pub fn long_tail_indices(labels: &[usize], counts: &[usize], seed: u64) -> Vec<usize> {
    let mut kept = Vec::new();
    for (class, mut indices) in class_indices(labels, counts.len()).into_iter().enumerate() {
        indices.shuffle(&mut stream(seed, LONG_TAIL, class));
        kept.extend(indices.into_iter().take(counts[class]));
    }
    kept.sort_unstable();
    kept
}

/// A stratified split: each class gives `round(n_c · fraction)` of its samples (at least one
/// when it has two or more, never all of them) to the second list. Both lists are in
/// increasing order.
pub fn stratified_split(
    labels: &[usize],
    num_classes: usize,
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut first = Vec::new();
    let mut second = Vec::new();
    for (class, mut indices) in class_indices(labels, num_classes).into_iter().enumerate() {
        indices.shuffle(&mut stream(seed, STRATIFY, class));
        let n = indices.len();
        let mut take = (n as f64 * fraction).round() as usize;
        if fraction > 0.0 && n >= 2 {
            take = take.max(1);
        }
        let take = take.min(n.saturating_sub(1));
        second.extend_from_slice(&indices[..take]);
        first.extend_from_slice(&indices[take..]);
    }
    first.sort_unstable();
    second.sort_unstable();
    (first, second)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<usize> {
        (0..300).map(|i| i % 3).collect()
    }

    #[test]
    fn long_tail_keeps_the_asked_counts() {
        let kept = long_tail_indices(&labels(), &[100, 30, 5], 7);
        let mut counts = [0; 3];
        for &i in &kept {
            counts[labels()[i]] += 1;
        }
        assert_eq!(counts, [100, 30, 5]);
    }

    #[test]
    fn a_longer_tail_is_a_subset_of_a_shorter_one() {
        let mild = long_tail_indices(&labels(), &[100, 60, 30], 7);
        let harsh = long_tail_indices(&labels(), &[100, 20, 3], 7);
        assert!(harsh.iter().all(|i| mild.contains(i)));
        let other_seed = long_tail_indices(&labels(), &[100, 20, 3], 8);
        assert_ne!(harsh, other_seed);
    }

    #[test]
    fn stratified_split_keeps_class_proportions() {
        let labels: Vec<usize> = (0..110).map(|i| usize::from(i >= 100)).collect();
        let (train, val) = stratified_split(&labels, 2, 0.2, 3);
        assert_eq!(train.len() + val.len(), 110);
        let val_counts = [
            val.iter().filter(|&&i| labels[i] == 0).count(),
            val.iter().filter(|&&i| labels[i] == 1).count(),
        ];
        assert_eq!(val_counts, [20, 2]);
        // A class of one sample stays in the first list.
        let (train, val) = stratified_split(&[0, 0, 0, 1], 2, 0.5, 3);
        assert!(train.contains(&3) && !val.contains(&3));
    }
}
