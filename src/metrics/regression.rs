//! Regression metrics over `y_true`, `y_pred`: (n_rows,), f64 accumulation.
//!
//! Defined as scikit-learn 1.9 defines them (`tests/suite/golden_metrics.rs` checks them against
//! values sklearn computed). With no rows every metric is NaN (sklearn refuses empty
//! input). The slices must have the same length (a panic otherwise: a bug in the caller).

fn check_lengths(y_true: &[f64], y_pred: &[f64]) {
    assert!(
        y_true.len() == y_pred.len(),
        "metrics: y_true has {} rows but y_pred has {}",
        y_true.len(),
        y_pred.len()
    );
}

/// Mean of `values`, shifted by the first value so that a constant column has exactly
/// its value as mean (numpy's mean of `[0.1; 3]` is not exactly 0.1, which turns sklearn's
/// "constant y_true" test into a division by ~1e-33). NaN when empty.
fn mean(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let Some(shift) = values.clone().next() else {
        return f64::NAN;
    };
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + (v - shift), n + 1));
    shift + sum / n as f64
}

/// Root of the mean squared error. NaN with no rows.
pub fn rmse(y_true: &[f64], y_pred: &[f64]) -> f64 {
    check_lengths(y_true, y_pred);
    mean(y_true.iter().zip(y_pred).map(|(t, p)| (t - p) * (t - p))).sqrt()
}

/// Mean absolute error. NaN with no rows.
pub fn mae(y_true: &[f64], y_pred: &[f64]) -> f64 {
    check_lengths(y_true, y_pred);
    mean(y_true.iter().zip(y_pred).map(|(t, p)| (t - p).abs()))
}

/// Largest absolute error. NaN with no rows (sklearn refuses them), and NaN when any
/// error is NaN.
pub fn max_error(y_true: &[f64], y_pred: &[f64]) -> f64 {
    check_lengths(y_true, y_pred);
    if y_true.is_empty() {
        return f64::NAN;
    }
    y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p).abs())
        .fold(0.0, |max, e| if e > max || e.is_nan() { e } else { max })
}

/// `1 - numerator / denominator` with sklearn's `force_finite=True`: when the
/// denominator (the spread of `y_true`) is 0, 1.0 if the numerator is 0 too, else 0.0.
fn one_minus_ratio_force_finite(numerator: f64, denominator: f64) -> f64 {
    match (numerator != 0.0, denominator != 0.0) {
        (_, true) => 1.0 - numerator / denominator,
        (true, false) => 0.0,
        (false, false) => 1.0,
    }
}

/// Coefficient of determination, `1 - SS_res / SS_tot`. For a constant `y_true`
/// (SS_tot = 0): 1.0 when the predictions are perfect, else 0.0 (sklearn's
/// `force_finite=True`). NaN with fewer than 2 rows, as sklearn.
pub fn r2(y_true: &[f64], y_pred: &[f64]) -> f64 {
    check_lengths(y_true, y_pred);
    if y_true.len() < 2 {
        return f64::NAN;
    }
    let y_mean = mean(y_true.iter().copied());
    let ss_res: f64 = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p) * (t - p))
        .sum();
    let ss_tot: f64 = y_true.iter().map(|t| (t - y_mean) * (t - y_mean)).sum();
    one_minus_ratio_force_finite(ss_res, ss_tot)
}

/// Explained variance, `1 - Var(y_true - y_pred) / Var(y_true)`: unlike R² a constant
/// bias in the predictions is not penalised. For a constant `y_true`: 1.0 when the
/// residuals are constant (perfect, or off by a constant), else 0.0 (`force_finite=True`).
/// NaN with no rows; a single row gives 1.0, as sklearn.
pub fn explained_variance(y_true: &[f64], y_pred: &[f64]) -> f64 {
    check_lengths(y_true, y_pred);
    if y_true.is_empty() {
        return f64::NAN;
    }
    let residuals = y_true.iter().zip(y_pred).map(|(t, p)| t - p);
    let residual_mean = mean(residuals.clone());
    let y_mean = mean(y_true.iter().copied());
    let numerator = mean(residuals.map(|r| (r - residual_mean) * (r - residual_mean)));
    let denominator = mean(y_true.iter().map(|t| (t - y_mean) * (t - y_mean)));
    one_minus_ratio_force_finite(numerator, denominator)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn hand_computed_values() {
        // Errors 1, -2, 0, 1: squared mean 6/4, absolute mean 4/4, max 2.
        let y_true = [1.0, 2.0, 3.0, 4.0];
        let y_pred = [0.0, 4.0, 3.0, 3.0];
        assert_relative_eq!(rmse(&y_true, &y_pred), 1.5f64.sqrt());
        assert_relative_eq!(mae(&y_true, &y_pred), 1.0);
        assert_relative_eq!(max_error(&y_true, &y_pred), 2.0);
        // SS_res = 6, SS_tot = 5.
        assert_relative_eq!(r2(&y_true, &y_pred), 1.0 - 6.0 / 5.0);
        // Residuals 1, -2, 0, 1 (mean 0): variance 6/4; Var(y_true) = 5/4.
        assert_relative_eq!(explained_variance(&y_true, &y_pred), 1.0 - 6.0 / 5.0);
    }

    #[test]
    fn constant_truth_is_forced_finite() {
        let y = [0.1, 0.1, 0.1];
        assert_eq!(r2(&y, &y), 1.0);
        assert_eq!(explained_variance(&y, &y), 1.0);
        assert_eq!(r2(&y, &[0.1, 0.2, 0.1]), 0.0);
        assert_eq!(explained_variance(&y, &[0.1, 0.2, 0.1]), 0.0);
        // A constant offset: R² penalises it, explained variance does not.
        assert_eq!(r2(&y, &[0.2, 0.2, 0.2]), 0.0);
        assert_eq!(explained_variance(&[3.0; 3], &[4.0; 3]), 1.0);
    }

    #[test]
    fn empty_and_single_row() {
        for f in [rmse, mae, r2, explained_variance, max_error] {
            assert!(f(&[], &[]).is_nan());
        }
        assert!(r2(&[1.0], &[2.0]).is_nan());
        assert_eq!(explained_variance(&[1.0], &[2.0]), 1.0);
        assert!(max_error(&[1.0, 2.0], &[1.0, f64::NAN]).is_nan());
    }
}
