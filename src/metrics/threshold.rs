//! The decision threshold of a binary classifier: a row is predicted as the positive class
//! (the second label, column 1 of `probs`: (n_rows, 2)) when that class's probability is
//! at least the threshold, as scikit-learn's `FixedThresholdClassifier` does; and the
//! thresholds that maximise F1 and Youden's J on scored rows.
//!
//! Candidate thresholds are the distinct finite scores; of several that score the same,
//! the highest is chosen (the fewest rows predicted positive). Golden values:
//! `tests/suite/threshold.rs` against `tests/fixtures/threshold/make_thresholds.py`.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::classification::counts_at_thresholds;

/// The class of each row of `probs` (n_rows, 2) at `threshold`: 1 when `probs[[i, 1]] >=
/// threshold`, else 0 (a NaN probability is never at least the threshold).
pub fn classes_at_threshold(probs: ArrayView2<f64>, threshold: f64) -> Vec<usize> {
    probs
        .column(1)
        .iter()
        .map(|&p| usize::from(p >= threshold))
        .collect()
}

/// The threshold with the highest F1 of the positive class, and that F1.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct BestF1 {
    /// Predict positive when the positive class's probability is at least this.
    pub threshold: f64,
    /// F1 of the positive class at `threshold`.
    pub f1: f64,
}

/// The threshold with the highest Youden's J (true positive rate minus false positive
/// rate), and that J.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct BestYoudenJ {
    /// Predict positive when the positive class's probability is at least this.
    pub threshold: f64,
    /// Youden's J at `threshold`, in [-1, 1].
    pub youden_j: f64,
}

/// Each finite candidate threshold with its (false positives, true positives), from the
/// highest threshold down, and the totals (negatives, positives). NaN scores count as
/// never positive, as in [`classes_at_threshold`].
fn sweep(y_true: &[bool], scores: &[f64]) -> (Vec<(f64, u64, u64)>, u64, u64) {
    let scores: Vec<f64> = scores
        .iter()
        .map(|&s| if s.is_nan() { f64::NEG_INFINITY } else { s })
        .collect();
    let counts = counts_at_thresholds(y_true, &scores);
    let (n_neg, n_pos) = counts.last().map_or((0, 0), |&(_, fps, tps)| (fps, tps));
    let finite = counts.into_iter().filter(|c| c.0.is_finite()).collect();
    (finite, n_neg, n_pos)
}

/// The first (highest) threshold of `candidates` with the largest `value`.
fn argmax_first(candidates: impl Iterator<Item = (f64, f64)>) -> Option<(f64, f64)> {
    candidates.fold(None, |best, (t, v)| match best {
        Some((_, b)) if v <= b => best,
        _ => Some((t, v)),
    })
}

/// The threshold that maximises the positive class's F1, `2 tp / (2 tp + fp + fn)`, for
/// binary truth and scores (higher = more positive). `None` with no positive row (every
/// F1 is 0) or no finite score.
pub fn best_f1_threshold(y_true: &[bool], scores: &[f64]) -> Option<BestF1> {
    let (counts, _, n_pos) = sweep(y_true, scores);
    if n_pos == 0 {
        return None;
    }
    let f1 = |fps: u64, tps: u64| 2.0 * tps as f64 / (n_pos + tps + fps) as f64;
    argmax_first(counts.iter().map(|&(t, fps, tps)| (t, f1(fps, tps))))
        .map(|(threshold, f1)| BestF1 { threshold, f1 })
}

/// The threshold that maximises Youden's J, `tp / positives - fp / negatives`, for binary
/// truth and scores. `None` when the truth holds a single class or no score is finite.
pub fn best_youden_threshold(y_true: &[bool], scores: &[f64]) -> Option<BestYoudenJ> {
    let (counts, n_neg, n_pos) = sweep(y_true, scores);
    if n_neg == 0 || n_pos == 0 {
        return None;
    }
    let j = |fps: u64, tps: u64| tps as f64 / n_pos as f64 - fps as f64 / n_neg as f64;
    argmax_first(counts.iter().map(|&(t, fps, tps)| (t, j(fps, tps)))).map(
        |(threshold, youden_j)| BestYoudenJ {
            threshold,
            youden_j,
        },
    )
}

/// A binary classifier's decision rule as `evaluate` applied it, and the thresholds that
/// would have scored best on the same rows.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BinaryDecision {
    /// The label whose probability the thresholds apply to (the second label).
    pub positive_class: String,
    /// The threshold the predictions were made at; `None`: each row went to its more
    /// probable class (the threshold 0.5, but for a probability of exactly 0.5).
    pub threshold: Option<f64>,
    /// The threshold with the highest F1 of the positive class; `None` without positives.
    pub best_f1: Option<BestF1>,
    /// The threshold with the highest Youden's J; `None` when the truth holds one class.
    pub best_youden_j: Option<BestYoudenJ>,
}

impl BinaryDecision {
    /// The decision of a two-class model: `labels` (2,), `y_true`: class indices (n_rows,),
    /// `probs`: (n_rows, 2), `threshold` as applied (`None`: the more probable class).
    pub fn new(
        labels: &[String],
        y_true: &[usize],
        probs: ArrayView2<f64>,
        threshold: Option<f64>,
    ) -> Self {
        let positive: Vec<bool> = y_true.iter().map(|&c| c == 1).collect();
        let scores = probs.column(1).to_vec();
        BinaryDecision {
            positive_class: labels[1].clone(),
            threshold,
            best_f1: best_f1_threshold(&positive, &scores),
            best_youden_j: best_youden_threshold(&positive, &scores),
        }
    }

    /// The lines `evaluate`'s table shows: (name, value). Thresholds are printed in full,
    /// so that one can be given back to `--threshold` exactly.
    pub fn table_lines(&self) -> Vec<(&'static str, String)> {
        let applied = match self.threshold {
            Some(t) => format!("{t} on P({})", self.positive_class),
            None => format!("more probable class (0.5 on P({}))", self.positive_class),
        };
        let best_f1 = self.best_f1.map_or_else(
            || "n/a".to_string(),
            |b| format!("{} (F1 {:.4})", b.threshold, b.f1),
        );
        let best_j = self.best_youden_j.map_or_else(
            || "n/a".to_string(),
            |b| format!("{} (J {:.4})", b.threshold, b.youden_j),
        );
        vec![
            ("threshold", applied),
            ("best F1 threshold", best_f1),
            ("best Youden J threshold", best_j),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn classes_at_threshold_is_at_least() {
        let probs = array![[0.7, 0.3], [0.5, 0.5], [0.1, 0.9], [f64::NAN, f64::NAN]];
        assert_eq!(classes_at_threshold(probs.view(), 0.5), [0, 1, 1, 0]);
        assert_eq!(classes_at_threshold(probs.view(), 0.3), [1, 1, 1, 0]);
        assert_eq!(classes_at_threshold(probs.view(), 0.0), [1, 1, 1, 0]);
        assert_eq!(classes_at_threshold(probs.view(), 1.0), [0, 0, 0, 0]);
    }

    #[test]
    fn hand_computed_best_thresholds() {
        // Scores high to low: 0.9 P, 0.8 N, 0.7 P, 0.4 P, 0.2 N.
        let y = [true, false, true, true, false];
        let s = [0.9, 0.8, 0.7, 0.4, 0.2];
        // At 0.4: tp 3, fp 1 -> F1 6/7; at 0.7: tp 2, fp 1 -> 4/6; at 0.2: 6/8.
        let f1 = best_f1_threshold(&y, &s).unwrap();
        assert_eq!(f1.threshold, 0.4);
        assert_eq!(f1.f1, 6.0 / 7.0);
        // J at 0.9: 1/3; at 0.7: 2/3 - 1/2; at 0.4: 1 - 1/2 = 0.5 (the best).
        let j = best_youden_threshold(&y, &s).unwrap();
        assert_eq!((j.threshold, j.youden_j), (0.4, 0.5));
    }

    #[test]
    fn ties_go_to_the_highest_threshold_and_undefined_is_none() {
        // F1 at 0.8 is 2/3 (tp 1, fp 0, fn 1), at 0.6 also 2/3 (tp 2, fp 2).
        let y = [true, false, false, true];
        let s = [0.8, 0.7, 0.7, 0.6];
        assert_eq!(best_f1_threshold(&y, &s).unwrap().threshold, 0.8);
        assert!(best_f1_threshold(&[false, false], &[0.1, 0.2]).is_none());
        assert!(best_youden_threshold(&[true, true], &[0.1, 0.2]).is_none());
        assert!(best_f1_threshold(&[], &[]).is_none());
        // NaN scores are never positive and never a candidate.
        let best = best_f1_threshold(&[true, false], &[f64::NAN, 0.3]).unwrap();
        assert_eq!((best.threshold, best.f1), (0.3, 0.0));
    }
}
