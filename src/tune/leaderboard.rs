//! The leaderboard of a study: one row per trial at the highest rung it reached, best
//! first (higher rung first, then lower validation loss, then lower trial index).

use serde::Serialize;

use super::journal::TrialRecord;
use super::schedule::rank_order;
use super::space::TrialSettings;

/// One trial at the highest rung it reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeaderRow {
    /// The trial's index, from 0.
    pub trial: usize,
    /// The highest rung it reached, from 0.
    pub rung: usize,
    /// Epochs trained at that rung.
    pub epochs: usize,
    /// Validation loss at that rung; `None` when training failed.
    pub val_loss: Option<f64>,
    /// Validation accuracy or RMSE at that rung.
    pub val_metric: Option<f64>,
    /// Why training failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// The trial's settings.
    pub settings: TrialSettings,
    /// The settings in one short line.
    pub summary: String,
    /// Wall-clock seconds over all its rungs.
    pub seconds: f64,
}

/// The rows of `records` (in any order), best first.
pub fn leaderboard(records: &[TrialRecord]) -> Vec<LeaderRow> {
    let mut rows: Vec<LeaderRow> = Vec::new();
    for r in records {
        let row = match rows.iter_mut().find(|row| row.trial == r.trial) {
            Some(row) => row,
            None => {
                rows.push(LeaderRow {
                    trial: r.trial,
                    rung: r.rung,
                    epochs: r.epochs,
                    val_loss: r.val_loss,
                    val_metric: r.val_metric,
                    failed: r.failed.clone(),
                    summary: r.settings.summary(),
                    settings: r.settings.clone(),
                    seconds: 0.0,
                });
                rows.last_mut().expect("just pushed")
            }
        };
        row.seconds += r.seconds;
        if r.rung >= row.rung {
            row.rung = r.rung;
            row.epochs = r.epochs;
            row.val_loss = r.val_loss;
            row.val_metric = r.val_metric;
            row.failed = r.failed.clone();
        }
    }
    rows.sort_by(|a, b| {
        b.rung
            .cmp(&a.rung)
            .then(rank_order((a.val_loss, a.trial), (b.val_loss, b.trial)))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::SearchSpace;
    use rand::SeedableRng;

    #[test]
    fn higher_rungs_rank_first_then_lower_losses() {
        let settings =
            SearchSpace::default().sample(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0));
        let record = |trial, rung, loss: Option<f64>| TrialRecord {
            trial,
            rung,
            settings: settings.clone(),
            epochs: 3 * (rung + 1),
            val_loss: loss,
            val_metric: loss,
            failed: None,
            seconds: 1.0,
        };
        let rows = leaderboard(&[
            record(0, 0, Some(0.5)),
            record(1, 0, Some(0.2)),
            record(2, 0, None),
            record(3, 0, Some(0.3)),
            record(1, 1, Some(0.4)),
            record(3, 1, Some(0.1)),
        ]);
        let order: Vec<(usize, usize)> = rows.iter().map(|r| (r.trial, r.rung)).collect();
        assert_eq!(order, vec![(3, 1), (1, 1), (0, 0), (2, 0)]);
        assert_eq!(rows[0].seconds, 2.0);
        assert_eq!(rows[0].epochs, 6);
    }
}
