//! A numeric column: missing values imputed with the training mean, then standardised.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// A fitted numeric column: imputed, then standardised with the training mean and std.
pub struct NumericColumn {
    /// The column's name.
    pub name: String,
    /// The value that replaces a missing cell (the training mean).
    pub impute: f64,
    /// The training mean.
    pub mean: f64,
    /// Population standard deviation; 1 for a constant column, so it scales by 1.
    pub std: f64,
}

/// Mean and population standard deviation, computed on values scaled by their largest
/// magnitude so that squares of values like 1e300 cannot overflow.
pub fn mean_and_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 1.0);
    }
    let scale = max_magnitude(values);
    if scale == 0.0 {
        return (0.0, 1.0);
    }
    let n = values.len() as f64;
    let mean_scaled = values.iter().map(|v| v / scale).sum::<f64>() / n;
    let var_scaled = values
        .iter()
        .map(|v| (v / scale - mean_scaled).powi(2))
        .sum::<f64>()
        / n;
    let std = var_scaled.sqrt() * scale;
    let mean = mean_scaled * scale;
    // A column constant up to rounding scales by 1, as a constant column does.
    let std = if std <= scale * 1e-12 { 1.0 } else { std };
    (mean, std)
}

/// The largest |v| (0 for none), in four running maxima: max gives the same in any order,
/// and four chains of it run at once (the training ingest fits hundreds of columns).
fn max_magnitude(values: &[f64]) -> f64 {
    let mut maxima = [0.0f64; 4];
    let mut quads = values.chunks_exact(4);
    for quad in &mut quads {
        for (m, v) in maxima.iter_mut().zip(quad) {
            *m = m.max(v.abs());
        }
    }
    let tail = quads.remainder().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    maxima.iter().fold(tail, |m, &v| m.max(v))
}

impl NumericColumn {
    /// Fit on the present `values` of the training rows.
    pub fn fit(name: &str, values: &[f64]) -> Self {
        let (mean, std) = mean_and_std(values);
        NumericColumn {
            name: name.to_string(),
            impute: mean,
            mean,
            std,
        }
    }

    /// The network input for a cell (`None`: missing, imputed).
    pub fn transform(&self, value: Option<f64>) -> f32 {
        let v = value.unwrap_or(self.impute);
        ((v - self.mean) / self.std) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardises_and_imputes_the_mean() {
        let col = NumericColumn::fit("x", &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(col.mean, 2.5);
        assert!((col.std - 1.25f64.sqrt()).abs() < 1e-12);
        assert_eq!(col.transform(None), 0.0);
        assert!((col.transform(Some(4.0)) - (1.5 / 1.25f64.sqrt()) as f32).abs() < 1e-6);
    }

    #[test]
    fn constant_column_scales_by_one() {
        let col = NumericColumn::fit("c", &[7.0, 7.0, 7.0]);
        assert_eq!((col.mean, col.std), (7.0, 1.0));
        assert_eq!(col.transform(Some(9.0)), 2.0);
    }

    #[test]
    fn huge_values_do_not_overflow() {
        let (mean, std) = mean_and_std(&[1e300, -1e300, 1e300, -1e300]);
        assert_eq!(mean, 0.0);
        assert!((std - 1e300).abs() / 1e300 < 1e-12);
    }
}
