//! Iterative stratification: a split of multi-label samples that keeps each label's share.

use rand::RngExt;
use rand::seq::SliceRandom;

use crate::split::stream;

const ITERATIVE: u64 = 40;

/// The two index lists of [`iterative_stratified_split`], and the labels it could not place in
/// both.
///
/// ```
/// use rebalance_data::iterative_stratified_split;
///
/// // Label 0's two positives each carry a label with a single positive (1 and 2), which
/// // stays first: label 0 cannot reach the second part, and the split says so.
/// let labels = vec![vec![0, 1], vec![0, 2], vec![], vec![], vec![]];
/// let split = iterative_stratified_split(&labels, 3, 0.4, 1);
/// assert_eq!(split.uncovered, [0]);
/// assert_eq!(split.first.len() + split.second.len(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiLabelSplit {
    /// The larger part (training), increasing.
    pub first: Vec<usize>,
    /// The held-out part (test or validation), increasing.
    pub second: Vec<usize>,
    /// Labels with two or more positives that still lack one in a part: only possible when
    /// every way of moving one of their samples would take another label's last positive out
    /// of a part (see the function's doc). Empty on any realistic data.
    pub uncovered: Vec<usize>,
}

/// Splits multi-label samples in two by iterative stratification (Sechidis, Tsoumakas and
/// Vlahavas, "On the stratification of multi-label data", ECML PKDD 2011), with a per-label
/// guarantee added: every label with two or more positives has at least one in each part.
///
/// `labels[i]` lists the positive labels of sample `i` (indices `< num_labels`; others are
/// ignored); `fraction`, in `[0, 1)`, is the share of the samples the second part asks for.
///
/// 1. **Targets.** Label `l` with `n_l` positives asks the second part for
///    `round(n_l · fraction)` of them, clamped to `1..=n_l - 1` when `n_l >= 2` (so both
///    parts get one), and 0 when `n_l < 2`: a label's only positive stays in the first
///    (training) part, where its weight is computed: the samples holding such a positive are
///    placed there before anything else. A label without positives is in neither part,
///    which the zero-count policy then judges. The first part asks for the rest; the second
///    part asks for `round(N · fraction)` samples in all.
/// 2. **Rarest label first** (the paper's loop): take the label with the fewest positives
///    not yet placed (lowest index on ties); place each of them, in a seeded random order, in
///    the part that still wants the most of that label, ties broken by the part that still
///    wants the most samples, then by a seeded coin. Each placement lowers the wants of every
///    label of the sample.
/// 3. **Samples without labels** go, in a seeded random order, to the part that still wants
///    the most samples (the first on ties).
/// 4. **Repair.** A label with two or more positives left all in one part (possible when
///    rarer labels placed all its samples) gets one moved across: the first of its samples,
///    in seeded order, whose move leaves every other label of the sample still present in the
///    part it leaves. A label for which no such sample exists is listed in
///    [`uncovered`](MultiLabelSplit::uncovered) (making every label two-sided is hypergraph
///    2-colouring, NP-complete in general; on real data the move always exists).
///
/// Deterministic from `seed`.
///
/// ```
/// use rebalance_data::iterative_stratified_split;
///
/// // Label 1 has two positives: with a fraction of 0.2, plain stratification would put both
/// // in the first part; here each part gets one. Label 2's single positive stays first.
/// let labels = vec![vec![0], vec![0, 1], vec![0], vec![0, 1], vec![2], vec![], vec![0]];
/// let split = iterative_stratified_split(&labels, 3, 0.2, 7);
/// let in_part = |part: &[usize], l: u32| part.iter().any(|&i| labels[i].contains(&l));
/// assert!(in_part(&split.first, 1) && in_part(&split.second, 1));
/// assert!(in_part(&split.first, 2) && !in_part(&split.second, 2));
/// assert_eq!(split.first.len() + split.second.len(), labels.len());
/// assert!(split.uncovered.is_empty());
/// ```
pub fn iterative_stratified_split(
    labels: &[Vec<u32>],
    num_labels: usize,
    fraction: f64,
    seed: u64,
) -> MultiLabelSplit {
    let fraction = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let n = labels.len();
    let valid = |l: &u32| (*l as usize) < num_labels;
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); num_labels];
    for (i, set) in labels.iter().enumerate() {
        for &l in set.iter().filter(|l| valid(l)) {
            members[l as usize].push(i);
        }
    }
    // want[part][label] and want_total[part], as signed counts (they may go below 0).
    let mut want = [vec![0i64; num_labels], vec![0i64; num_labels]];
    for (l, m) in members.iter().enumerate() {
        let n_l = m.len();
        let second = if n_l >= 2 && fraction > 0.0 {
            ((n_l as f64 * fraction).round() as usize).clamp(1, n_l - 1)
        } else {
            0
        };
        want[1][l] = second as i64;
        want[0][l] = (n_l - second) as i64;
    }
    let second_total = ((n as f64 * fraction).round() as usize).min(n) as i64;
    let mut want_total = [n as i64 - second_total, second_total];

    let mut rng = stream(seed, ITERATIVE, 0);
    let mut part: Vec<Option<usize>> = vec![None; n];
    let mut unplaced: Vec<usize> = members.iter().map(Vec::len).collect();
    let place = |i: usize,
                 p: usize,
                 part: &mut Vec<Option<usize>>,
                 want: &mut [Vec<i64>; 2],
                 want_total: &mut [i64; 2],
                 unplaced: &mut Vec<usize>| {
        part[i] = Some(p);
        want_total[p] -= 1;
        for &l in labels[i].iter().filter(|l| valid(l)) {
            want[p][l as usize] -= 1;
            unplaced[l as usize] -= 1;
        }
    };
    // 1. A label's only positive is pinned to the first part before anything else.
    for m in &members {
        if let [i] = m[..]
            && part[i].is_none()
        {
            place(i, 0, &mut part, &mut want, &mut want_total, &mut unplaced);
        }
    }
    // 2. The rarest label with positives still unplaced, until none is left.
    while let Some(label) = (0..num_labels)
        .filter(|&l| unplaced[l] > 0)
        .min_by_key(|&l| (unplaced[l], l))
    {
        let mut todo: Vec<usize> = members[label]
            .iter()
            .copied()
            .filter(|&i| part[i].is_none())
            .collect();
        todo.shuffle(&mut rng);
        for i in todo {
            let p = match want[0][label].cmp(&want[1][label]) {
                std::cmp::Ordering::Greater => 0,
                std::cmp::Ordering::Less => 1,
                std::cmp::Ordering::Equal => match want_total[0].cmp(&want_total[1]) {
                    std::cmp::Ordering::Greater => 0,
                    std::cmp::Ordering::Less => 1,
                    std::cmp::Ordering::Equal => usize::from(rng.random_bool(0.5)),
                },
            };
            place(i, p, &mut part, &mut want, &mut want_total, &mut unplaced);
        }
    }
    // 3. Samples without (valid) labels.
    let mut rest: Vec<usize> = (0..n).filter(|&i| part[i].is_none()).collect();
    rest.shuffle(&mut rng);
    for i in rest {
        let p = usize::from(want_total[1] > want_total[0]);
        place(i, p, &mut part, &mut want, &mut want_total, &mut unplaced);
    }
    let mut part: Vec<usize> = part.into_iter().map(|p| p.unwrap_or(0)).collect();

    // 4. Repair: labels with >= 2 positives present in one part only, rarest first.
    let mut present = [vec![0usize; num_labels], vec![0usize; num_labels]];
    for (l, m) in members.iter().enumerate() {
        for &i in m {
            present[part[i]][l] += 1;
        }
    }
    let mut order: Vec<usize> = (0..num_labels).filter(|&l| members[l].len() >= 2).collect();
    order.sort_by_key(|&l| (members[l].len(), l));
    let mut uncovered = Vec::new();
    for label in order {
        let Some(empty) = (0..2).find(|&p| present[p][label] == 0) else {
            continue;
        };
        let full = 1 - empty;
        let mut candidates = members[label].clone();
        candidates.shuffle(&mut rng);
        // Moving sample i out of `full` must leave each of its labels there (a label's only
        // positive, which step 1 keeps first, never moves: its count in `full` is 1).
        let movable = candidates.into_iter().find(|&i| {
            labels[i]
                .iter()
                .filter(|l| valid(l))
                .all(|&l| present[full][l as usize] >= 2)
        });
        match movable {
            Some(i) => {
                part[i] = empty;
                for &l in labels[i].iter().filter(|l| valid(l)) {
                    present[full][l as usize] -= 1;
                    present[empty][l as usize] += 1;
                }
            }
            None => uncovered.push(label),
        }
    }
    uncovered.sort_unstable();
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for (i, &p) in part.iter().enumerate() {
        if p == 0 {
            first.push(i);
        } else {
            second.push(i);
        }
    }
    MultiLabelSplit {
        first,
        second,
        uncovered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The paper's targets: label shares and sizes close to the fraction.
    #[test]
    fn shares_follow_the_fraction() {
        // 1000 samples; label l on samples divisible by l + 1 (0: all, 1: half, ...).
        let labels: Vec<Vec<u32>> = (0..1000u32)
            .map(|i| (0..5u32).filter(|l| i % (l + 1) == 0).collect())
            .collect();
        let split = iterative_stratified_split(&labels, 5, 0.25, 3);
        assert_eq!(split.first.len() + split.second.len(), 1000);
        assert!(
            (245..=255).contains(&split.second.len()),
            "{}",
            split.second.len()
        );
        for l in 0..5u32 {
            let total = labels.iter().filter(|s| s.contains(&l)).count() as f64;
            let second = split
                .second
                .iter()
                .filter(|&&i| labels[i].contains(&l))
                .count() as f64;
            assert!(
                (second / total - 0.25).abs() < 0.02,
                "label {l}: {second} of {total}"
            );
        }
        assert!(split.uncovered.is_empty());
        assert_eq!(split, iterative_stratified_split(&labels, 5, 0.25, 3));
        assert_ne!(split, iterative_stratified_split(&labels, 5, 0.25, 4));
    }

    #[test]
    fn the_repair_moves_a_sample_and_reports_what_it_cannot() {
        // Label 0 has two positives, each the only positive of another label (1 and 2),
        // which must stay first: label 0 cannot reach the second part.
        let labels = vec![vec![0, 1], vec![0, 2], vec![], vec![], vec![]];
        let split = iterative_stratified_split(&labels, 3, 0.4, 1);
        assert_eq!(split.uncovered, [0]);
        assert!(split.first.contains(&0) && split.first.contains(&1));
    }
}
