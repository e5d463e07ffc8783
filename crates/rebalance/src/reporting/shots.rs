//! The many-, medium- and few-shot classes of a training split (Liu et al., CVPR 2019): the
//! groups a report's calibration and a comparison's shot columns are measured on.

use serde::{Deserialize, Serialize};

/// The many-, medium- and few-shot classes of a training split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShotGroups {
    /// How the groups were made.
    pub rule: String,
    /// Classes with many training samples.
    pub many: Vec<usize>,
    /// Classes with a medium number.
    pub medium: Vec<usize>,
    /// Classes with few.
    pub few: Vec<usize>,
}

impl ShotGroups {
    /// The groups of the long-tail literature (Liu et al., CVPR 2019): more than 100 training
    /// samples, 20 to 100, fewer than 20. When one of them would be empty (small or narrow
    /// counts), thirds of the classes ordered by count instead.
    pub fn of(counts: &[usize]) -> Self {
        let by = |keep: &dyn Fn(usize) -> bool| -> Vec<usize> {
            (0..counts.len()).filter(|&c| keep(counts[c])).collect()
        };
        let (many, medium, few) = (
            by(&|n| n > 100),
            by(&|n| (20..=100).contains(&n)),
            by(&|n| n < 20),
        );
        if !many.is_empty() && !medium.is_empty() && !few.is_empty() {
            return Self {
                rule: "many > 100, medium 20–100, few < 20 training samples".to_string(),
                many,
                medium,
                few,
            };
        }
        let mut order: Vec<usize> = (0..counts.len()).collect();
        order.sort_by_key(|&c| std::cmp::Reverse(counts[c]));
        let k = counts.len();
        let (a, b) = (k.div_ceil(3), k - k / 3);
        let sorted = |range: std::ops::Range<usize>| {
            let mut part = order[range].to_vec();
            part.sort_unstable();
            part
        };
        Self {
            rule: "thirds of the classes by training count".to_string(),
            many: sorted(0..a),
            medium: sorted(a..b),
            few: sorted(b..k),
        }
    }

    /// Accuracy on the test samples of `classes`, from a confusion matrix.
    pub fn accuracy(&self, confusion: &[Vec<u64>], classes: &[usize]) -> f64 {
        let (right, all) = classes.iter().fold((0u64, 0u64), |(r, a), &c| {
            confusion.get(c).map_or((r, a), |row| {
                (
                    r + row.get(c).copied().unwrap_or(0),
                    a + row.iter().sum::<u64>(),
                )
            })
        });
        if all == 0 {
            0.0
        } else {
            right as f64 / all as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shot_groups_follow_the_literature_or_thirds() {
        let counts = [500, 300, 180, 108, 64, 39, 23, 14, 8, 5];
        let g = ShotGroups::of(&counts);
        assert_eq!(g.many, vec![0, 1, 2, 3]);
        assert_eq!(g.medium, vec![4, 5, 6]);
        assert_eq!(g.few, vec![7, 8, 9]);
        // No class above 100: thirds by count, the larger groups first.
        let g = ShotGroups::of(&[50, 40, 30, 20, 10, 5, 4]);
        assert_eq!(g.rule, "thirds of the classes by training count");
        assert_eq!(g.many, vec![0, 1, 2]);
        assert_eq!(g.medium, vec![3, 4]);
        assert_eq!(g.few, vec![5, 6]);
        // Accuracy over the group's test samples.
        let confusion = vec![vec![8, 2, 0], vec![1, 3, 0], vec![0, 0, 6]];
        assert_eq!(g.accuracy(&confusion, &[0, 1]), 11.0 / 14.0);
    }
}
