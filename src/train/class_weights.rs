//! Class weights for imbalanced classification.

/// scikit-learn's "balanced" weights: n_rows / (n_classes · count(c)); a class absent
/// from the rows gets weight 1.
pub fn balanced_class_weights(classes: &[u32], n_classes: usize) -> Vec<f32> {
    let mut counts = vec![0usize; n_classes];
    for &c in classes {
        counts[c as usize] += 1;
    }
    counts
        .iter()
        .map(|&count| {
            if count == 0 {
                1.0
            } else {
                (classes.len() as f64 / (n_classes as f64 * count as f64)) as f32
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_weights_match_scikit_learn() {
        // sklearn.utils.class_weight.compute_class_weight("balanced", classes=[0,1,2],
        // y=[0,0,0,0,1,1,2,2]) == [0.6667, 1.3333, 1.3333]
        let w = balanced_class_weights(&[0, 0, 0, 0, 1, 1, 2, 2], 3);
        assert!((w[0] - 2.0 / 3.0).abs() < 1e-6 && (w[1] - 4.0 / 3.0).abs() < 1e-6);
        assert_eq!(balanced_class_weights(&[0, 0], 2)[1], 1.0);
    }
}
