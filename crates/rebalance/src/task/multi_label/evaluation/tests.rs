//! The multi-label metrics against scikit-learn's values.

use super::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

// Four samples, three labels; label 2 has no positive.
const SCORES: [f32; 12] = [
    0.9, 0.2, 0.1, //
    0.4, 0.6, 0.7, //
    0.6, 0.6, 0.3, //
    0.4, 0.1, 0.2, //
];
const TARGETS: [f32; 12] = [
    1.0, 0.0, 0.0, //
    1.0, 1.0, 0.0, //
    0.0, 1.0, 0.0, //
    1.0, 0.0, 0.0, //
];

// scikit-learn 1.9.1:
//   import numpy as np; from sklearn.metrics import *
//   s = np.array(SCORES).reshape(4, 3); y = np.array(TARGETS).reshape(4, 3).astype(int)
//   p = (s >= 0.5).astype(int)  # [[1,0,0],[0,1,1],[1,1,0],[0,0,0]]
//   precision_recall_fscore_support(y, p, zero_division=0)
//     -> P [0.5, 1, 0], R [1/3, 1, 0], F [0.4, 1, 0], support [3, 2, 0]
//   f1_score(y, p, average="micro", zero_division=0) -> 0.6  (2·3 / (2·3 + 2 + 2))
//   f1_score(y, p, average="macro", zero_division=0) -> 0.4666667  ((0.4 + 1 + 0) / 3)
//   accuracy_score(y, p) -> 0.25 (row 0 only) ; hamming_loss(y, p) -> 0.3333333  (4 / 12)
#[test]
fn thresholded_metrics_match_scikit_learn() {
    let m = MultiLabelScores::new(&SCORES, &TARGETS, 3).unwrap();
    assert_eq!((m.len(), m.num_labels()), (4, 3));
    let at = m.at(&Thresholds::default()).unwrap();
    let s = at.precision_recall_fscore_support();
    assert_eq!(s.precision, [0.5, 1.0, 0.0]);
    assert!(close(s.recall[0], 1.0 / 3.0));
    assert_eq!(&s.recall[1..], [1.0, 0.0]);
    assert!(close(s.f1[0], 0.4));
    assert_eq!(&s.f1[1..], [1.0, 0.0]);
    assert_eq!(s.support, [3, 2, 0]);
    assert!(close(at.micro_f1(), 0.6));
    assert!(close(at.macro_f1(), 1.4 / 3.0));
    assert_eq!(at.subset_accuracy(), 0.25);
    assert!(close(at.hamming_loss(), 4.0 / 12.0));
}

// Per-label thresholds [0.4, 0.6, 0.8]: p = [[1,0,0],[1,1,0],[1,1,0],[1,0,0]].
// scikit-learn 1.9.1: accuracy_score -> 0.75, hamming_loss -> 1/12,
//   f1_score(average="micro") -> 2·5 / (2·5 + 1) = 0.9090909,
//   f1_score(average="macro") -> (6/7 + 1 + 0) / 3 = 0.6190476
#[test]
fn per_label_thresholds_match_scikit_learn() {
    let m = MultiLabelScores::new(&SCORES, &TARGETS, 3).unwrap();
    let at = m.at(&Thresholds::PerLabel(vec![0.4, 0.6, 0.8])).unwrap();
    assert_eq!(at.subset_accuracy(), 0.75);
    assert!(close(at.hamming_loss(), 1.0 / 12.0));
    assert!(close(at.micro_f1(), 10.0 / 11.0));
    assert!(close(at.macro_f1(), (6.0 / 7.0 + 1.0) / 3.0));
    assert_eq!(
        m.at(&Thresholds::PerLabel(vec![0.5; 2])),
        Err(MultiLabelError::ThresholdCount {
            given: 2,
            num_labels: 3
        })
    );
    assert_eq!(
        m.at(&Thresholds::Uniform(f32::NAN)),
        Err(MultiLabelError::NanThreshold { label: 0 })
    );
}

// scikit-learn 1.9.1: average_precision_score(y, s, average=None) -> [0.8333333, 1, 0]
//   (warning "No positive class found in y_true" for label 2), average="macro" -> 0.6111111.
// By hand, label 0: scores 0.9(+) 0.6(−) 0.4(+) 0.4(+) → thresholds 0.9: P 1, R 1/3;
//   0.6: R unchanged; 0.4 (two samples, both enter): P 3/4, R 1 → 1/3·1 + 2/3·3/4 = 5/6.
//   Label 1: 0.6(+) 0.6(+) first, P 1, R 1 → 1.
// Our mAP leaves label 2 out: (5/6 + 1) / 2 = 0.9166667.
#[test]
fn average_precision_matches_scikit_learn_and_skips_labels_without_positives() {
    let m = MultiLabelScores::new(&SCORES, &TARGETS, 3).unwrap();
    let ap = m.average_precision();
    assert!(close(ap[0].unwrap(), 5.0 / 6.0));
    assert_eq!(ap[1], Some(1.0));
    assert_eq!(ap[2], None);
    assert!(close(
        m.mean_average_precision().unwrap(),
        (5.0 / 6.0 + 1.0) / 2.0
    ));
}

// Ties: scores [0.5, 0.5, 0.5, 0.2], targets [1, 0, 0, 1]: one threshold 0.5 holds three
// samples, P 1/3, R 1/2; then 0.2: P 2/4, R 1 → AP = 1/2·1/3 + 1/2·1/2 = 0.4166667.
// scikit-learn 1.9.1: average_precision_score([1,0,0,1], [.5,.5,.5,.2]) -> 0.4166667.
// (Breaking the tie positive-first would give 1/2·1 + 1/2·1/2 = 0.75.)
#[test]
fn tied_scores_enter_together() {
    let m = MultiLabelScores::new(&[0.5, 0.5, 0.5, 0.2], &[1.0, 0.0, 0.0, 1.0], 1).unwrap();
    assert!(close(m.average_precision()[0].unwrap(), 5.0 / 12.0));
}

// Label 0 of SCORES: thresholds 0.9 → TP 1, FP 0, FN 2: F1 2/4; 0.6 → TP 1, FP 1, FN 2:
//   2/5; 0.4 → TP 3, FP 1, FN 0: 6/7, the best → 0.4.
// Label 1: 0.6 → TP 2, FP 0: F1 1, the best (0.2 and 0.1 add false positives) → 0.6.
// Label 2: no positive → the fallback.
#[test]
fn tuned_thresholds_maximise_each_labels_f1() {
    let m = MultiLabelScores::new(&SCORES, &TARGETS, 3).unwrap();
    assert_eq!(m.tune_thresholds(0.5), [0.4, 0.6, 0.5]);
    // Applied, they give the best per-label F1 of any threshold tried.
    let tuned = m.at(&Thresholds::PerLabel(m.tune_thresholds(0.5))).unwrap();
    let f1 = tuned.precision_recall_fscore_support().f1;
    assert!(close(f1[0], 6.0 / 7.0) && f1[1] == 1.0);
}

// Scores [0.9, 0.8, 0.3, 0.2], targets [1, 0, 1, 0] (P = 2), F1 = 2 TP / (2 TP + FP + FN):
//   0.9 → 2/3; 0.8 → 2/4; 0.3 → 4/5, the best; 0.2 → 4/6.
// A tie: scores [0.9, 0.8, 0.7, 0.6], targets [1, 0, 0, 1] (P = 2):
//   0.9 → TP 1, FP 0, FN 1 → 2/3; 0.8 → 2/4; 0.7 → 2/5;
//   0.6 → TP 2, FP 2, FN 0 → 4/6 = 2/3: a tie at 0.9 and 0.6 → the larger, 0.9.
// scikit-learn 1.9.1: [f1_score(y, s >= t) for t in s] -> [0.667, 0.5, 0.8, 0.667] for the
//   first and [0.667, 0.5, 0.4, 0.667] for the second.
#[test]
fn tuning_prefers_the_larger_threshold_on_a_tie() {
    let m = MultiLabelScores::new(&[0.9, 0.8, 0.3, 0.2], &[1.0, 0.0, 1.0, 0.0], 1).unwrap();
    assert_eq!(m.tune_thresholds(0.5), [0.3]);
    let tie = MultiLabelScores::new(&[0.9, 0.8, 0.7, 0.6], &[1.0, 0.0, 0.0, 1.0], 1).unwrap();
    assert_eq!(tie.tune_thresholds(0.5), [0.9]);
}

// scikit-learn 1.9.1 on the tie above (y = [1, 0, 0, 1]):
//   f1_score(y, s >= 0.9) -> 0.6666667 ; f1_score(y, s >= 0.6) -> 0.6666667
#[test]
fn the_tied_thresholds_really_tie() {
    let tie = MultiLabelScores::new(&[0.9, 0.8, 0.7, 0.6], &[1.0, 0.0, 0.0, 1.0], 1).unwrap();
    for t in [0.9, 0.6] {
        let f1 = tie.at(&Thresholds::Uniform(t)).unwrap().macro_f1();
        assert!(close(f1, 2.0 / 3.0), "{t}: {f1}");
    }
}

#[test]
fn refuses_bad_shapes_targets_and_scores() {
    assert_eq!(
        MultiLabelScores::new(&[0.5], &[1.0], 0).unwrap_err(),
        MultiLabelError::NoLabels
    );
    assert!(matches!(
        MultiLabelScores::new(&[0.5, 0.5, 0.5], &[1.0, 0.0, 1.0], 2),
        Err(MultiLabelError::Shape { .. })
    ));
    assert!(matches!(
        MultiLabelScores::new(&[0.5, 0.5], &[1.0], 1),
        Err(MultiLabelError::Shape { .. })
    ));
    assert_eq!(
        MultiLabelScores::new(&[0.5, 0.5, 0.5, 0.5], &[1.0, 0.0, 0.0, 0.5], 2).unwrap_err(),
        MultiLabelError::Target {
            sample: 1,
            label: 1,
            value: 0.5
        }
    );
    assert_eq!(
        MultiLabelScores::new(&[0.5, f32::NAN], &[1.0, 0.0], 2).unwrap_err(),
        MultiLabelError::NanScore {
            sample: 0,
            label: 1
        }
    );
}

#[test]
fn an_empty_split_scores_zero_and_tunes_to_the_fallback() {
    let m = MultiLabelScores::new(&[], &[], 2).unwrap();
    assert!(m.is_empty());
    let at = m.at(&Thresholds::default()).unwrap();
    assert_eq!(
        (
            at.micro_f1(),
            at.macro_f1(),
            at.subset_accuracy(),
            at.hamming_loss()
        ),
        (0.0, 0.0, 0.0, 0.0)
    );
    assert_eq!(m.average_precision(), [None, None]);
    assert_eq!(m.mean_average_precision(), None);
    assert_eq!(m.tune_thresholds(0.3), [0.3, 0.3]);
}
