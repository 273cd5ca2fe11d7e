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
    unscaled(mean_scaled, var_scaled, scale)
}

/// Mean and std from the mean and variance of values divided by `scale`.
fn unscaled(mean_scaled: f64, var_scaled: f64, scale: f64) -> (f64, f64) {
    let std = var_scaled.sqrt() * scale;
    let mean = mean_scaled * scale;
    // A column constant up to rounding scales by 1, as a constant column does.
    let std = if std <= scale * 1e-12 { 1.0 } else { std };
    (mean, std)
}

/// `mean_and_std` of each of `columns`, bit for bit, faster on many columns: each
/// column's values are divided by its scale once, in place (the values are left so), and
/// the sums of four columns run together, their chains of additions overlapping (each
/// column's sum still adds its values in order).
pub(super) fn means_and_stds(columns: &mut [Vec<f64>]) -> Vec<(f64, f64)> {
    let mut stats = Vec::with_capacity(columns.len());
    for group in columns.chunks_mut(4) {
        // Per column: its scale, or `None` when `mean_and_std` answers (0, 1) at once.
        let scales: Vec<Option<f64>> = group
            .iter_mut()
            .map(|values| {
                let scale = max_magnitude(values);
                if values.is_empty() || scale == 0.0 {
                    return None;
                }
                divide(values, scale);
                Some(scale)
            })
            .collect();
        let scaled: Vec<&[f64]> = group
            .iter()
            .zip(&scales)
            .filter(|(_, s)| s.is_some())
            .map(|(v, _)| v.as_slice())
            .collect();
        let n: Vec<f64> = scaled.iter().map(|v| v.len() as f64).collect();
        let sums = sums_of_four(&scaled, &[0.0; 4], false);
        let means: Vec<f64> = sums.iter().zip(&n).map(|(s, n)| s / n).collect();
        let squares = sums_of_four(&scaled, &means, true);
        let mut done = means.iter().zip(&squares).zip(&n);
        for scale in scales {
            stats.push(match scale {
                None => (0.0, 1.0),
                Some(scale) => {
                    let ((&mean, &square), &n) = done.next().expect("one per scaled column");
                    unscaled(mean, square / n, scale)
                }
            });
        }
    }
    stats
}

crate::nn::fast_math::vectorised_fn! {
    /// Each of `values` divided by `scale`, several at a time.
    fn divide(values: &mut [f64], scale: f64) {
        values.iter_mut().for_each(|v| *v /= scale);
    }
}

/// For each of at most four columns, the sum of its values in order (`squares`: of
/// their squared distances to the column's `centres`), four chains at once.
fn sums_of_four(columns: &[&[f64]], centres: &[f64], squares: bool) -> Vec<f64> {
    let Some(&first) = columns.first() else {
        return Vec::new();
    };
    // Missing columns repeat the first (their sums unused), so every chain runs.
    let lane = |k: usize| columns.get(k).copied().unwrap_or(first);
    let (a, b, c, d) = (lane(0), lane(1), lane(2), lane(3));
    let centre = |k: usize| centres.get(k).copied().unwrap_or(0.0);
    let m = [centre(0), centre(1), centre(2), centre(3)];
    let term = |v: f64, m: f64| if squares { (v - m).powi(2) } else { v };
    let common = a.len().min(b.len()).min(c.len()).min(d.len());
    // Float sums start from -0.0 (as `Iterator::sum` does): x + -0.0 is x for every x.
    let mut s = [-0.0f64; 4];
    for (((a, b), c), d) in a[..common]
        .iter()
        .zip(&b[..common])
        .zip(&c[..common])
        .zip(&d[..common])
    {
        s[0] += term(*a, m[0]);
        s[1] += term(*b, m[1]);
        s[2] += term(*c, m[2]);
        s[3] += term(*d, m[3]);
    }
    for (k, values) in [a, b, c, d].into_iter().enumerate() {
        for &v in &values[common..] {
            s[k] += term(v, m[k]);
        }
    }
    s[..columns.len()].to_vec()
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

    /// `means_and_stds` gives `mean_and_std`'s bits for every column, whatever the group
    /// it falls in: columns of different lengths, empty, all zero, constant, huge values.
    #[test]
    fn grouped_statistics_are_mean_and_std_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut columns: Vec<Vec<f64>> = Vec::new();
        for k in 0..40 {
            let len = [0, 1, 3, 4, 5, 257, 1000, 1001][k % 8] + rng.gen_range(0..3);
            let values = (0..len)
                .map(|i| match k % 6 {
                    0 => rng.gen_range(0..=255) as f64,
                    1 => rng.gen_range(-1e3..1e3),
                    2 => 0.0,
                    3 => 7.25,
                    4 => [1e300, -1e300, 3.0][i % 3],
                    _ => rng.gen_range(-1.0..1.0) * 10f64.powi(rng.gen_range(-20..20)),
                })
                .collect();
            columns.push(values);
        }
        for group in [1, 2, 3, 4, 5, 9, 40] {
            for chunk in columns.chunks(group) {
                let expected: Vec<(u64, u64)> = chunk
                    .iter()
                    .map(|v| mean_and_std(v))
                    .map(|(m, s)| (m.to_bits(), s.to_bits()))
                    .collect();
                let mut scratch = chunk.to_vec();
                let got: Vec<(u64, u64)> = means_and_stds(&mut scratch)
                    .into_iter()
                    .map(|(m, s)| (m.to_bits(), s.to_bits()))
                    .collect();
                assert_eq!(got, expected, "group of {group}");
            }
        }
    }
}
