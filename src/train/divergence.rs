//! Divergence that stays finite: the epoch's training loss climbing far above where the
//! untrained network started, or rising epoch after epoch. (An infinite or NaN batch loss
//! is caught by the loop itself.) The rule is judged on the training loss alone, so it
//! works without validation rows; its thresholds sit far from what real data do at sane
//! settings (docs/cli.md lists the measurements).

use crate::number_text::fixed_or_exponent;

/// An epoch's training loss more than this many times the starting level has diverged.
pub const DIVERGENCE_FACTOR: f64 = 10.0;
/// The least starting level: the loss of predicting the mean of a standardised target
/// (MSE), and a cross-entropy no sane network exceeds for long.
pub const LEAST_START: f64 = 1.0;
/// A training loss that rose this many epochs in a row, ending more than `RISING_MARGIN`
/// above the first epoch's, has diverged.
pub const RISING_EPOCHS: usize = 5;
/// How far above the first epoch's loss a rising run must end to count, as a fraction:
/// a model that barely learns (a series set of 36 rows) wanders within a fraction of a
/// percent of its first epoch, up and down, without diverging.
pub const RISING_MARGIN: f64 = 0.05;

/// How the training loss diverged (see `Error::LossDiverged`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Divergence {
    /// The loss is more than `DIVERGENCE_FACTOR` times the starting level: the untrained
    /// network's loss on the first batch, or `LEAST_START` if larger.
    FarAboveStart,
    /// The loss rose for `RISING_EPOCHS` epochs in a row and is more than `RISING_MARGIN`
    /// above the first epoch's.
    Rising,
}

impl Divergence {
    /// What happened, in words: the loss at `epoch` against `reference` (the starting
    /// level, or the first epoch's loss).
    pub fn describe(self, epoch: usize, loss: f64, reference: f64) -> String {
        // Diverged losses reach 1e15 and more: four decimals, with an exponent when huge.
        let loss = fixed_or_exponent(loss, 4);
        let reference = fixed_or_exponent(reference, 4);
        match self {
            Divergence::FarAboveStart => format!(
                "the training loss diverged: {loss} at epoch {epoch}, more than {DIVERGENCE_FACTOR} times its starting level {reference}"
            ),
            Divergence::Rising => format!(
                "the training loss diverged: it rose for {RISING_EPOCHS} epochs in a row, to {loss} at epoch {epoch}, above the {reference} of epoch 1"
            ),
        }
    }
}

/// How the epochs' training losses so far (`train_losses`, oldest first) show divergence
/// at the last epoch, if they do, with the reference it was judged against. `initial_loss`
/// is the untrained network's loss on the first batch (`None` falls back to the first
/// epoch's loss).
pub fn divergence<I>(train_losses: I, initial_loss: Option<f64>) -> Option<(Divergence, f64)>
where
    I: DoubleEndedIterator<Item = f64> + Clone,
{
    let first = train_losses.clone().next()?;
    let last = train_losses.clone().next_back()?;
    let start = initial_loss.unwrap_or(first).max(LEAST_START);
    if last > DIVERGENCE_FACTOR * start {
        return Some((Divergence::FarAboveStart, start));
    }
    let rising = train_losses
        .clone()
        .rev()
        .zip(train_losses.rev().skip(1))
        .take_while(|(later, earlier)| later > earlier)
        .count();
    (rising >= RISING_EPOCHS && last > first * (1.0 + RISING_MARGIN))
        .then_some((Divergence::Rising, first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_prints_huge_losses_readably() {
        assert_eq!(
            Divergence::FarAboveStart.describe(1, 6445525304413435.0, 1.1063653060663414),
            "the training loss diverged: 6.4455e15 at epoch 1, more than 10 times its starting level 1.1064"
        );
        assert_eq!(
            Divergence::Rising.describe(9, 2.5, 1.25),
            "the training loss diverged: it rose for 5 epochs in a row, to 2.5000 at epoch 9, above the 1.2500 of epoch 1"
        );
    }

    #[test]
    fn far_above_the_start_or_rising_for_epochs_is_divergence() {
        let at = |losses: &[f64], initial| divergence(losses.iter().copied(), initial);
        assert_eq!(at(&[2.0, 0.5, 19.9], Some(2.0)), None);
        assert_eq!(
            at(&[2.0, 0.5, 20.1], Some(2.0)),
            Some((Divergence::FarAboveStart, 2.0))
        );
        // Already far above the start in the first epoch (a huge learning rate).
        assert_eq!(
            at(&[300.0], Some(1.4)),
            Some((Divergence::FarAboveStart, 1.4))
        );
        // A small starting loss counts as 1.
        assert_eq!(at(&[0.2, 0.1, 9.0], Some(0.01)), None);
        // Without the starting loss (an older checkpoint), the first epoch's.
        assert_eq!(
            at(&[3.0, 31.0], None),
            Some((Divergence::FarAboveStart, 3.0))
        );
        let rising = [1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.1];
        assert_eq!(at(&rising, Some(1.0)), Some((Divergence::Rising, 1.0)));
        // Rising, but still below where it started: a noisy plateau, not divergence.
        assert_eq!(at(&rising[..6], Some(1.0)), None);
        // Five tiny rises just above the first epoch (arrowhead's GRU at seed 2): a plateau.
        let plateau = [1.1047, 1.1040, 1.1045, 1.1048, 1.1050, 1.1052, 1.1054];
        assert_eq!(at(&plateau, Some(1.1)), None);
        // Four rises in a row are not enough.
        assert_eq!(at(&[1.0, 0.5, 1.2, 1.3, 1.4, 1.5], Some(1.0)), None);
        assert_eq!(at(&[], Some(1.0)), None);
    }
}
