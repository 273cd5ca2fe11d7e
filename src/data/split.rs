//! Seeded train/validation splits.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Split row indices `0..n_rows` at random: `fraction` of them (rounded) go to the second
/// list. Both lists are returned in ascending order, so row order is kept.
pub fn shuffled_split(n_rows: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n_rows).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_5917);
    order.shuffle(&mut rng);
    let n_second = ((n_rows as f64) * fraction).round() as usize;
    let mut second = order[..n_second].to_vec();
    let mut first = order[n_second..].to_vec();
    first.sort_unstable();
    second.sort_unstable();
    (first, second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_a_seeded_partition() {
        let (a, b) = shuffled_split(100, 0.1, 7);
        assert_eq!((a.len(), b.len()), (90, 10));
        let mut all: Vec<usize> = a.iter().chain(&b).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(shuffled_split(100, 0.1, 7), (a, b.clone()));
        assert_ne!(shuffled_split(100, 0.1, 8).1, b);
    }
}

/// Like `shuffled_split`, but within each group (class): each group sends
/// round(fraction · its size) rows to the second list, so both keep the class balance.
/// `groups[i]` is the group of row i.
pub fn stratified_split(groups: &[usize], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let n_groups = groups.iter().max().map_or(0, |&g| g + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_groups];
    for (row, &g) in groups.iter().enumerate() {
        members[g].push(row);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_5917);
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for mut rows in members {
        rows.shuffle(&mut rng);
        let n_second = ((rows.len() as f64) * fraction).round() as usize;
        second.extend_from_slice(&rows[..n_second]);
        first.extend_from_slice(&rows[n_second..]);
    }
    first.sort_unstable();
    second.sort_unstable();
    (first, second)
}

#[cfg(test)]
mod stratified_tests {
    use super::*;

    #[test]
    fn stratified_split_keeps_class_balance() {
        let groups: Vec<usize> = (0..200).map(|i| if i % 10 == 0 { 1 } else { 0 }).collect();
        let (train, val) = stratified_split(&groups, 0.25, 3);
        assert_eq!(val.len(), 50);
        assert_eq!(val.iter().filter(|&&r| groups[r] == 1).count(), 5);
        assert_eq!(train.len() + val.len(), 200);
        assert_eq!(stratified_split(&groups, 0.25, 3).1, val);
    }
}
