//! The successive-halving schedule: the epochs of each rung (`min_epochs · eta^k`, capped
//! at `max_epochs`), how many trials each rung of a synchronous study holds, and which
//! results a rung promotes (the best by validation loss, ties by trial index).

use std::cmp::Ordering;

/// The rungs of a study: rung `k` trains to `epochs[k]` epochs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Epochs of each rung, increasing; the last is the study's maximum.
    pub epochs: Vec<usize>,
    /// The halving factor: a rung keeps the best `1/eta` of its trials.
    pub eta: usize,
}

impl Schedule {
    /// Rungs from `min_epochs` up to `max_epochs`, each `eta` times the last (the last
    /// capped at `max_epochs`). `min_epochs` above `max_epochs` is taken as `max_epochs`.
    pub fn new(min_epochs: usize, max_epochs: usize, eta: usize) -> Schedule {
        let (max, eta) = (max_epochs.max(1), eta.max(2));
        let mut epochs = vec![min_epochs.clamp(1, max)];
        while let Some(&last) = epochs.last().filter(|&&e| e < max) {
            epochs.push(last.saturating_mul(eta).min(max));
        }
        Schedule { epochs, eta }
    }

    /// How many trials the rungs of a synchronous study of `n_trials` hold: all of them
    /// in rung 0, then `n / eta` (at least 1) in each next rung.
    pub fn rung_sizes(&self, n_trials: usize) -> Vec<usize> {
        let mut sizes = Vec::with_capacity(self.epochs.len());
        let mut n = n_trials;
        for _ in &self.epochs {
            sizes.push(n);
            n = (n / self.eta).max(1).min(n);
        }
        sizes
    }

    /// How many of `n_results` results of a rung an asynchronous study may promote:
    /// `n / eta`, rounded down.
    pub fn promotable(&self, n_results: usize) -> usize {
        n_results / self.eta
    }
}

/// A result's place in a rung: its validation loss (`None`: the trial failed, worst of
/// all) and its trial index, which breaks ties.
pub fn rank_order(a: (Option<f64>, usize), b: (Option<f64>, usize)) -> Ordering {
    let loss = |l: Option<f64>| l.filter(|v| v.is_finite());
    match (loss(a.0), loss(b.0)) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
    .then(a.1.cmp(&b.1))
}

/// The trial indexes of the `keep` best of `results` ((loss, trial) pairs), best first.
/// Failed trials are never kept.
pub fn best_of(results: &[(Option<f64>, usize)], keep: usize) -> Vec<usize> {
    let mut sorted = results.to_vec();
    sorted.sort_by(|&a, &b| rank_order(a, b));
    sorted
        .into_iter()
        .filter(|(loss, _)| loss.is_some_and(f64::is_finite))
        .take(keep)
        .map(|(_, trial)| trial)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rungs_multiply_by_eta_up_to_the_maximum() {
        assert_eq!(Schedule::new(1, 9, 3).epochs, vec![1, 3, 9]);
        assert_eq!(Schedule::new(3, 81, 3).epochs, vec![3, 9, 27, 81]);
        assert_eq!(Schedule::new(2, 10, 3).epochs, vec![2, 6, 10]);
        assert_eq!(Schedule::new(5, 5, 3).epochs, vec![5]);
        assert_eq!(Schedule::new(7, 4, 3).epochs, vec![4]);
    }

    #[test]
    fn rung_sizes_divide_by_eta_and_keep_at_least_one() {
        let s = Schedule::new(1, 27, 3);
        assert_eq!(s.rung_sizes(27), vec![27, 9, 3, 1]);
        assert_eq!(s.rung_sizes(6), vec![6, 2, 1, 1]);
        assert_eq!(s.rung_sizes(10), vec![10, 3, 1, 1]);
        assert_eq!(s.rung_sizes(1), vec![1, 1, 1, 1]);
        assert_eq!(Schedule::new(1, 3, 3).rung_sizes(2), vec![2, 1]);
        assert_eq!(s.promotable(8), 2);
    }

    #[test]
    fn promotion_takes_the_lowest_losses_ties_by_index() {
        let results = [
            (Some(0.5), 0),
            (Some(0.3), 1),
            (None, 2),
            (Some(0.3), 3),
            (Some(f64::NAN), 4),
            (Some(0.2), 5),
        ];
        assert_eq!(best_of(&results, 2), vec![5, 1]);
        assert_eq!(best_of(&results, 3), vec![5, 1, 3]);
        let mut reversed = results;
        reversed.reverse();
        assert_eq!(best_of(&reversed, 3), vec![5, 1, 3]);
        // Failed trials are never promoted, even when too few others remain.
        assert_eq!(best_of(&results, 6), vec![5, 1, 3, 0]);
        assert_eq!(best_of(&[(None, 0)], 1), Vec::<usize>::new());
    }
}
