//! Classification metrics over class indices `0..n_classes` (`y_true`, `y_pred`: one per
//! row), class probabilities (`probs`: (n_rows, n_classes)) and binary scores.
//!
//! Every function is defined exactly as scikit-learn 1.9 defines it, with
//! `labels = range(n_classes)` and `zero_division = 0`; `tests/suite/golden_metrics.rs` checks
//! them against values that sklearn computed (`tests/fixtures/metrics/make_golden.py`).
//! Sums and ratios are taken in f64 from integer counts.
//!
//! Undefined values: with no rows, every scalar metric is NaN (sklearn refuses empty
//! input) and the ranking metrics are `None`. A class absent from both the truth and the
//! predictions scores 0 (sklearn's `zero_division=0`) and still counts in macro averages.
//!
//! Panics: the slices of one call must have the same length, and every class index must
//! be below `n_classes` (the number of columns of `probs`); breaking either is a bug in the
//! caller, and the panic message says which.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// Precision, recall and F1 of one class (one-vs-rest), and its number of true rows.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ClassScores {
    /// Share of the rows predicted as this class that are of it (0 when none are predicted).
    pub precision: f64,
    /// Share of the rows of this class predicted as it (0 when it has no rows).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Rows whose true class this is.
    pub support: u64,
}

fn check_lengths(what: &str, n_true: usize, n_other: usize) {
    assert!(
        n_true == n_other,
        "metrics: y_true has {n_true} rows but {what} has {n_other}"
    );
}

/// `num / den`, or 0 when `den` is 0 (sklearn's `zero_division=0`).
fn ratio_or_zero(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Fraction of rows where `y_pred == y_true`. NaN with no rows.
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> f64 {
    check_lengths("y_pred", y_true.len(), y_pred.len());
    if y_true.is_empty() {
        return f64::NAN;
    }
    let correct = y_true.iter().zip(y_pred).filter(|(t, p)| t == p).count();
    correct as f64 / y_true.len() as f64
}

/// Counts of (true class, predicted class): `matrix[t][p]`, rows = true class,
/// (n_classes, n_classes). All zeros with no rows.
pub fn confusion_matrix(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Vec<Vec<u64>> {
    check_lengths("y_pred", y_true.len(), y_pred.len());
    let mut matrix = vec![vec![0u64; n_classes]; n_classes];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        assert!(
            t < n_classes && p < n_classes,
            "metrics: class index {} out of range for {n_classes} classes",
            t.max(p)
        );
        matrix[t][p] += 1;
    }
    matrix
}

/// Per-class counts taken from the confusion matrix.
struct ClassCounts {
    /// Rows of class c predicted as c.
    tp: Vec<u64>,
    /// Rows predicted as class c (column sums).
    pred_sum: Vec<u64>,
    /// Rows whose true class is c (row sums): the support.
    true_sum: Vec<u64>,
}

impl ClassCounts {
    fn new(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Self {
        let matrix = confusion_matrix(y_true, y_pred, n_classes);
        ClassCounts {
            tp: (0..n_classes).map(|c| matrix[c][c]).collect(),
            pred_sum: (0..n_classes)
                .map(|c| matrix.iter().map(|row| row[c]).sum())
                .collect(),
            true_sum: matrix.iter().map(|row| row.iter().sum()).collect(),
        }
    }

    /// F1 of class `c` as sklearn computes it: 2 tp / (true + pred), 0 when both are 0.
    fn f1(&self, c: usize) -> f64 {
        ratio_or_zero(2 * self.tp[c], self.true_sum[c] + self.pred_sum[c])
    }
}

/// Mean recall over the classes present in `y_true` (sklearn's `balanced_accuracy_score`:
/// classes that are only predicted are left out). NaN with no rows.
pub fn balanced_accuracy(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> f64 {
    let counts = ClassCounts::new(y_true, y_pred, n_classes);
    let recalls: Vec<f64> = (0..n_classes)
        .filter(|&c| counts.true_sum[c] > 0)
        .map(|c| counts.tp[c] as f64 / counts.true_sum[c] as f64)
        .collect();
    if recalls.is_empty() {
        return f64::NAN;
    }
    recalls.iter().sum::<f64>() / recalls.len() as f64
}

/// One [`ClassScores`] per class `0..n_classes`, with `zero_division=0`: a class never
/// predicted has precision 0, a class absent from the truth has recall 0, and F1 is 0 when
/// both its support and its predicted count are 0. With no rows every class scores 0 with
/// support 0.
pub fn per_class(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Vec<ClassScores> {
    let counts = ClassCounts::new(y_true, y_pred, n_classes);
    (0..n_classes)
        .map(|c| ClassScores {
            precision: ratio_or_zero(counts.tp[c], counts.pred_sum[c]),
            recall: ratio_or_zero(counts.tp[c], counts.true_sum[c]),
            f1: counts.f1(c),
            support: counts.true_sum[c],
        })
        .collect()
}

/// Unweighted mean of the per-class F1 over ALL classes `0..n_classes`, including those
/// absent from both truth and predictions (they score 0), as sklearn's
/// `f1_score(average="macro", labels=range(n_classes), zero_division=0)`. NaN with no rows.
pub fn macro_f1(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> f64 {
    let counts = ClassCounts::new(y_true, y_pred, n_classes);
    if y_true.is_empty() || n_classes == 0 {
        return f64::NAN;
    }
    (0..n_classes).map(|c| counts.f1(c)).sum::<f64>() / n_classes as f64
}

/// Mean of the per-class F1 weighted by support (`average="weighted"`). NaN with no rows.
pub fn weighted_f1(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> f64 {
    let counts = ClassCounts::new(y_true, y_pred, n_classes);
    let total: u64 = counts.true_sum.iter().sum();
    if total == 0 {
        return f64::NAN;
    }
    let weighted: f64 = (0..n_classes)
        .map(|c| counts.f1(c) * counts.true_sum[c] as f64)
        .sum();
    weighted / total as f64
}

/// F1 of the summed counts over all classes (`average="micro"`); with every class in
/// `labels` it equals the accuracy. NaN with no rows.
pub fn micro_f1(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> f64 {
    let counts = ClassCounts::new(y_true, y_pred, n_classes);
    if y_true.is_empty() {
        return f64::NAN;
    }
    let tp: u64 = counts.tp.iter().sum();
    let true_sum: u64 = counts.true_sum.iter().sum();
    let pred_sum: u64 = counts.pred_sum.iter().sum();
    ratio_or_zero(2 * tp, true_sum + pred_sum)
}

/// Matthews correlation coefficient, multiclass form (Gorodkin's R_K, as sklearn):
/// `(c s - t.p) / sqrt((s^2 - p.p) (s^2 - t.t))` with `t`, `p` the true and predicted
/// class counts, `c` the correct count and `s` the rows. 0 when the denominator is 0
/// (a single class in the truth or in the predictions). NaN with no rows.
pub fn matthews_corrcoef(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> f64 {
    let counts = ClassCounts::new(y_true, y_pred, n_classes);
    if y_true.is_empty() {
        return f64::NAN;
    }
    let t: Vec<f64> = counts.true_sum.iter().map(|&v| v as f64).collect();
    let p: Vec<f64> = counts.pred_sum.iter().map(|&v| v as f64).collect();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let n_correct = counts.tp.iter().sum::<u64>() as f64;
    let n_samples = y_true.len() as f64;
    let cov_ytyp = n_correct * n_samples - dot(&t, &p);
    let cov_ypyp = n_samples * n_samples - dot(&p, &p);
    let cov_ytyt = n_samples * n_samples - dot(&t, &t);
    let denominator = cov_ypyp * cov_ytyt;
    if denominator == 0.0 {
        0.0
    } else {
        cov_ytyp / denominator.sqrt()
    }
}

/// Mean negative log-likelihood of the true class, `-mean(ln p[i, y_true[i]])`, natural
/// log. `probs`: (n_rows, n_classes). Each probability is first clipped to
/// `[eps, 1 - eps]` with `eps = f64::EPSILON`, as sklearn 1.9 does for float64 input, so an
/// exact 0 costs `-ln(eps)` ≈ 36.04 instead of infinity. Rows are NOT renormalised:
/// sklearn 1.9 only warns when they do not sum to 1 (older versions divided by the row
/// sum). NaN with no rows.
pub fn log_loss(y_true: &[usize], probs: ArrayView2<f64>) -> f64 {
    check_lengths("probs", y_true.len(), probs.nrows());
    if y_true.is_empty() {
        return f64::NAN;
    }
    let eps = f64::EPSILON;
    let total: f64 = y_true
        .iter()
        .zip(probs.rows())
        .map(|(&t, row)| {
            assert!(
                t < row.len(),
                "metrics: class index {t} out of range for {} probability columns",
                row.len()
            );
            -row[t].clamp(eps, 1.0 - eps).ln()
        })
        .sum();
    total / y_true.len() as f64
}

/// Sort key: scores descending, with -0.0 equal to 0.0 (as numpy's comparisons); NaN
/// (which sklearn refuses) sorts consistently instead of panicking.
fn score_key(s: f64) -> f64 {
    s + 0.0
}

/// Cumulative (false positives, true positives) at each distinct score, from the highest
/// score down: the confusion counts when predicting positive for `score >= threshold`.
/// The last entry holds (negatives, positives).
fn threshold_counts(y_true: &[bool], scores: &[f64]) -> Vec<(u64, u64)> {
    counts_at_thresholds(y_true, scores)
        .into_iter()
        .map(|(_, fps, tps)| (fps, tps))
        .collect()
}

/// As `threshold_counts`, each entry led by its threshold (the distinct score):
/// `(threshold, false positives, true positives)`.
pub(super) fn counts_at_thresholds(y_true: &[bool], scores: &[f64]) -> Vec<(f64, u64, u64)> {
    check_lengths("scores", y_true.len(), scores.len());
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| score_key(scores[b]).total_cmp(&score_key(scores[a])));
    let mut counts = Vec::new();
    let (mut fps, mut tps) = (0u64, 0u64);
    for (k, &i) in order.iter().enumerate() {
        if y_true[i] {
            tps += 1;
        } else {
            fps += 1;
        }
        let last_of_tie = order.get(k + 1).is_none_or(|&next| {
            score_key(scores[next]).total_cmp(&score_key(scores[i])) != Ordering::Equal
        });
        if last_of_tie {
            counts.push((scores[i], fps, tps));
        }
    }
    counts
}

/// ROC curve points `(fpr, tpr)`: `(0, 0)` first, then one point per distinct score from
/// the highest down (sklearn's `roc_curve(drop_intermediate=False)`), ending at `(1, 1)`.
/// When the truth holds no negatives the fpr values are NaN, with no positives the tpr
/// values are NaN (as sklearn). Empty with no rows.
pub fn roc_curve(y_true: &[bool], scores: &[f64]) -> Vec<(f64, f64)> {
    let counts = threshold_counts(y_true, scores);
    let Some(&(n_neg, n_pos)) = counts.last() else {
        return Vec::new();
    };
    let rate = |k: u64, n: u64| {
        if n == 0 {
            f64::NAN
        } else {
            k as f64 / n as f64
        }
    };
    std::iter::once((0, 0))
        .chain(counts)
        .map(|(fps, tps)| (rate(fps, n_neg), rate(tps, n_pos)))
        .collect()
}

/// Area under the ROC curve for binary truth and scores (higher = more positive):
/// trapezoids over the distinct thresholds, which equals the Mann-Whitney statistic with
/// ties counted half. `None` when the truth holds a single class (or no rows).
pub fn roc_auc_binary(y_true: &[bool], scores: &[f64]) -> Option<f64> {
    let counts = threshold_counts(y_true, scores);
    let &(n_neg, n_pos) = counts.last()?;
    if n_neg == 0 || n_pos == 0 {
        return None;
    }
    // Twice the area in units of one (negative, positive) pair: exact integers in f64.
    let mut twice_area = 0.0;
    let (mut prev_fps, mut prev_tps) = (0u64, 0u64);
    for (fps, tps) in counts {
        twice_area += (fps - prev_fps) as f64 * (tps + prev_tps) as f64;
        (prev_fps, prev_tps) = (fps, tps);
    }
    Some(twice_area / (2.0 * n_neg as f64 * n_pos as f64))
}

/// ROC AUC from class probabilities `probs`: (n_rows, n_classes). With 2 classes, the
/// binary AUC of column 1 (the positive class, sklearn's `classes_[1]`); with more, the
/// unweighted mean of the one-vs-rest AUCs of every class (sklearn's
/// `roc_auc_score(multi_class="ovr", average="macro", labels=range(n_classes))`).
/// `None` when any class's AUC is undefined (a class absent from the truth, or the truth
/// holding a single class), with fewer than 2 columns, or with no rows. Unlike sklearn it
/// does not insist that rows sum to 1.
pub fn roc_auc_ovr_macro(y_true: &[usize], probs: ArrayView2<f64>) -> Option<f64> {
    check_lengths("probs", y_true.len(), probs.nrows());
    let n_classes = probs.ncols();
    let auc_of = |c: usize| {
        let is_c: Vec<bool> = y_true.iter().map(|&t| t == c).collect();
        roc_auc_binary(&is_c, &probs.column(c).to_vec())
    };
    match n_classes {
        0 | 1 => None,
        2 => auc_of(1),
        _ => {
            let mut sum = 0.0;
            for c in 0..n_classes {
                sum += auc_of(c)?;
            }
            Some(sum / n_classes as f64)
        }
    }
}

/// Average precision, sklearn's step-wise (not interpolated) definition:
/// `sum_k (R_k - R_{k-1}) P_k` over the distinct thresholds from the highest score down,
/// with `R_0 = 0`. `None` with no positive in the truth (or no rows): sklearn returns 0.0
/// with a warning there, having set recall to 1.
pub fn average_precision(y_true: &[bool], scores: &[f64]) -> Option<f64> {
    let counts = threshold_counts(y_true, scores);
    let &(_, n_pos) = counts.last()?;
    if n_pos == 0 {
        return None;
    }
    let mut ap = 0.0;
    let mut prev_tps = 0u64;
    for (fps, tps) in counts {
        let recall_step = (tps - prev_tps) as f64 / n_pos as f64;
        ap += recall_step * (tps as f64 / (tps + fps) as f64);
        prev_tps = tps;
    }
    Some(ap)
}

/// Index of the largest value of each row, the first one on ties (numpy's `argmax`).
/// NaN values are never chosen unless a row holds nothing else (then 0).
/// `probs`: (n_rows, n_classes).
pub fn argmax_rows(probs: ArrayView2<f64>) -> Vec<usize> {
    probs
        .rows()
        .into_iter()
        .map(|row| {
            let mut best = 0;
            for (j, &v) in row.iter().enumerate() {
                if v > row[best] || row[best].is_nan() && !v.is_nan() {
                    best = j;
                }
            }
            best
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use ndarray::{array, Array2};

    #[test]
    fn hand_computed_binary_counts() {
        // tp=2, fn=1, fp=1, tn=2.
        let y_true = [1, 1, 1, 0, 0, 0];
        let y_pred = [1, 1, 0, 1, 0, 0];
        assert_eq!(
            confusion_matrix(&y_true, &y_pred, 2),
            vec![vec![2, 1], vec![1, 2]]
        );
        assert_relative_eq!(accuracy(&y_true, &y_pred), 4.0 / 6.0);
        let scores = per_class(&y_true, &y_pred, 2);
        assert_relative_eq!(scores[1].precision, 2.0 / 3.0);
        assert_relative_eq!(scores[1].recall, 2.0 / 3.0);
        assert_eq!(scores[1].support, 3);
        // MCC = (tp tn - fp fn) / sqrt(...) = (4 - 1) / 9.
        assert_relative_eq!(matthews_corrcoef(&y_true, &y_pred, 2), 1.0 / 3.0);
    }

    #[test]
    fn macro_f1_counts_classes_absent_everywhere() {
        // Perfect on classes 0 and 1; class 2 never seen: macro = (1 + 1 + 0) / 3.
        let y = [0, 1, 0, 1];
        assert_relative_eq!(macro_f1(&y, &y, 3), 2.0 / 3.0);
        assert_relative_eq!(weighted_f1(&y, &y, 3), 1.0);
        assert_relative_eq!(micro_f1(&y, &y, 3), 1.0);
        assert_relative_eq!(balanced_accuracy(&y, &y, 3), 1.0);
    }

    #[test]
    fn log_loss_clips_exact_zero_and_one() {
        let probs = array![[1.0, 0.0], [1.0, 0.0]];
        let expected = (-(1.0 - f64::EPSILON).ln() - f64::EPSILON.ln()) / 2.0;
        assert_relative_eq!(log_loss(&[0, 1], probs.view()), expected);
    }

    #[test]
    fn auc_counts_ties_half() {
        // One positive tied with one negative, above the other negative: (1 + 0.5) / 2.
        let auc = roc_auc_binary(&[true, false, false], &[0.5, 0.5, 0.1]).unwrap();
        assert_relative_eq!(auc, 0.75);
        // -0.0 and 0.0 are the same threshold.
        let auc = roc_auc_binary(&[true, false], &[0.0, -0.0]).unwrap();
        assert_relative_eq!(auc, 0.5);
        assert_eq!(roc_curve(&[true, false], &[0.0, -0.0]).len(), 2);
    }

    #[test]
    fn average_precision_hand_computed() {
        // Ranked: +, -, + : AP = 1/2 * 1 + 1/2 * 2/3.
        let ap = average_precision(&[true, false, true], &[0.9, 0.8, 0.7]).unwrap();
        assert_relative_eq!(ap, 0.5 + 1.0 / 3.0);
    }

    #[test]
    fn argmax_takes_first_maximum() {
        let probs = array![[0.4, 0.4, 0.2], [0.1, 0.3, 0.3], [f64::NAN, 0.2, 0.5]];
        assert_eq!(argmax_rows(probs.view()), vec![0, 1, 2]);
    }

    #[test]
    fn empty_input_is_nan_or_none() {
        let none: [usize; 0] = [];
        let probs = Array2::<f64>::zeros((0, 3));
        assert!(accuracy(&none, &none).is_nan());
        assert!(balanced_accuracy(&none, &none, 3).is_nan());
        assert!(macro_f1(&none, &none, 3).is_nan());
        assert!(micro_f1(&none, &none, 3).is_nan());
        assert!(weighted_f1(&none, &none, 3).is_nan());
        assert!(matthews_corrcoef(&none, &none, 3).is_nan());
        assert!(log_loss(&none, probs.view()).is_nan());
        assert_eq!(
            confusion_matrix(&none, &none, 2),
            vec![vec![0, 0], vec![0, 0]]
        );
        assert!(per_class(&none, &none, 2)
            .iter()
            .all(|s| s.support == 0 && s.f1 == 0.0));
        assert_eq!(roc_auc_binary(&[], &[]), None);
        assert_eq!(roc_auc_ovr_macro(&none, probs.view()), None);
        assert_eq!(average_precision(&[], &[]), None);
        assert!(roc_curve(&[], &[]).is_empty());
        assert!(argmax_rows(probs.view()).is_empty());
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn class_index_out_of_range_panics() {
        confusion_matrix(&[0, 3], &[0, 1], 2);
    }
}
