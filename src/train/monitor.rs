//! The validation value early stopping watches (`Monitor`), and `Tally`: what a pass over
//! the validation rows adds up, from which the loss, the main metric and any monitored
//! metric are read (scikit-learn's definitions).

use ndarray::{ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::nn::Targets;
use crate::preprocess::Task;

/// The validation value that decides the best epoch and early stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    /// The validation loss (lower is better).
    #[default]
    Loss,
    /// Accuracy (classification; higher is better).
    Accuracy,
    /// Mean recall over the classes present (classification; higher is better).
    BalancedAccuracy,
    /// Unweighted mean F1 over the classes true or predicted (classification; higher is
    /// better).
    MacroF1,
    /// Root mean squared error in the target's units (regression; lower is better).
    Rmse,
    /// Mean absolute error in the target's units (regression; lower is better).
    Mae,
    /// Coefficient of determination (regression; higher is better).
    R2,
}

impl Monitor {
    /// Every monitor, classification's first.
    pub const ALL: [Monitor; 7] = [
        Monitor::Loss,
        Monitor::Accuracy,
        Monitor::BalancedAccuracy,
        Monitor::MacroF1,
        Monitor::Rmse,
        Monitor::Mae,
        Monitor::R2,
    ];

    /// The name, as the metric reports spell it (`macro_f1`).
    pub fn name(self) -> &'static str {
        match self {
            Monitor::Loss => "loss",
            Monitor::Accuracy => "accuracy",
            Monitor::BalancedAccuracy => "balanced_accuracy",
            Monitor::MacroF1 => "macro_f1",
            Monitor::Rmse => "rmse",
            Monitor::Mae => "mae",
            Monitor::R2 => "r2",
        }
    }

    /// Whether a higher value is better (the value is then maximised).
    pub fn higher_is_better(self) -> bool {
        matches!(
            self,
            Monitor::Accuracy | Monitor::BalancedAccuracy | Monitor::MacroF1 | Monitor::R2
        )
    }

    /// Whether the value is defined for `task`.
    pub fn fits(self, task: Task) -> bool {
        match self {
            Monitor::Loss => true,
            Monitor::Accuracy | Monitor::BalancedAccuracy | Monitor::MacroF1 => {
                task == Task::Classification
            }
            Monitor::Rmse | Monitor::Mae | Monitor::R2 => task == Task::Regression,
        }
    }

    /// The names of the monitors that fit `task`.
    pub fn names_for(task: Task) -> Vec<&'static str> {
        Monitor::ALL
            .iter()
            .filter(|m| m.fits(task))
            .map(|m| m.name())
            .collect()
    }

    /// True for the default, the validation loss (the model file then omits it).
    pub fn is_loss(&self) -> bool {
        *self == Monitor::Loss
    }
}

/// Index of the largest value (the first on ties; a NaN first value is never beaten).
/// The class of a row of network outputs or probabilities, for training and prediction
/// alike (`metrics::argmax_rows` is numpy's rule for reports, which skips NaN).
pub fn argmax<T: PartialOrd + Copy>(row: ArrayView1<T>) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Sums over a pass of rows: the loss, and a confusion matrix (classification) or error
/// sums in standardised units (regression).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    rows: usize,
    loss_sum: f64,
    /// `confusion[true * n_classes + predicted]`
    confusion: Vec<usize>,
    n_classes: usize,
    squared: f64,
    absolute: f64,
    target_sum: f64,
    target_squared: f64,
    n_values: usize,
}

impl Tally {
    /// Add a chunk: `out` (n_rows, n_outputs) against `targets`, with its mean `loss`.
    pub fn add(&mut self, out: ArrayView2<f32>, targets: Targets<'_>, loss: f64) {
        self.rows += out.nrows();
        self.loss_sum += loss * out.nrows() as f64;
        match targets {
            Targets::Classes(classes) => {
                if self.n_classes == 0 {
                    self.n_classes = out.ncols();
                    self.confusion = vec![0; out.ncols() * out.ncols()];
                }
                for (row, &c) in out.axis_iter(Axis(0)).zip(classes) {
                    self.confusion[c as usize * self.n_classes + argmax(row)] += 1;
                }
            }
            Targets::Values(values) => {
                // Summed per chunk, then added: the order the recorded RMSE has always had.
                let pairs = || out.iter().zip(values.iter());
                self.squared += pairs()
                    .map(|(&o, &t)| ((o - t) as f64).powi(2))
                    .sum::<f64>();
                for (&o, &t) in pairs() {
                    self.absolute += (o as f64 - t as f64).abs();
                    self.target_sum += t as f64;
                    self.target_squared += (t as f64).powi(2);
                    self.n_values += 1;
                }
            }
        }
    }

    /// The mean loss over the rows.
    pub fn loss(&self) -> f64 {
        self.loss_sum / self.rows as f64
    }

    /// Fraction of rows whose largest output is the true class.
    pub fn accuracy(&self) -> f64 {
        let correct: usize = (0..self.n_classes)
            .map(|c| self.confusion[c * self.n_classes + c])
            .sum();
        correct as f64 / self.rows as f64
    }

    /// RMSE in standardised units (times the target's std for its units), per row.
    pub fn rmse(&self) -> f64 {
        (self.squared / self.rows as f64).sqrt()
    }

    /// The value of `monitor`; `target_std` turns regression errors into target units.
    pub fn value(&self, monitor: Monitor, target_std: f64) -> f64 {
        match monitor {
            Monitor::Loss => self.loss(),
            Monitor::Accuracy => self.accuracy(),
            Monitor::BalancedAccuracy => self.balanced_accuracy(),
            Monitor::MacroF1 => self.macro_f1(),
            Monitor::Rmse => self.rmse() * target_std,
            Monitor::Mae => self.absolute / self.n_values as f64 * target_std,
            Monitor::R2 => self.r2(),
        }
    }

    /// (true count, predicted count, correct count) of `class`.
    fn class_counts(&self, class: usize) -> (usize, usize, usize) {
        let k = self.n_classes;
        let truth = (0..k).map(|p| self.confusion[class * k + p]).sum();
        let predicted = (0..k).map(|t| self.confusion[t * k + class]).sum();
        (truth, predicted, self.confusion[class * k + class])
    }

    /// Mean recall over the classes with true rows.
    fn balanced_accuracy(&self) -> f64 {
        let recalls: Vec<f64> = (0..self.n_classes)
            .map(|c| self.class_counts(c))
            .filter(|&(truth, _, _)| truth > 0)
            .map(|(truth, _, correct)| correct as f64 / truth as f64)
            .collect();
        recalls.iter().sum::<f64>() / recalls.len() as f64
    }

    /// Mean F1 over the classes true or predicted in some row (F1 is 0 for a class
    /// never predicted correctly).
    fn macro_f1(&self) -> f64 {
        let f1s: Vec<f64> = (0..self.n_classes)
            .map(|c| self.class_counts(c))
            .filter(|&(truth, predicted, _)| truth + predicted > 0)
            .map(|(truth, predicted, correct)| 2.0 * correct as f64 / (truth + predicted) as f64)
            .collect();
        f1s.iter().sum::<f64>() / f1s.len() as f64
    }

    /// 1 - residual sum of squares / total sum of squares (1 for a perfect fit of a
    /// constant target, else 0 then).
    fn r2(&self) -> f64 {
        let n = self.n_values as f64;
        let total = self.target_squared - self.target_sum * self.target_sum / n;
        if total <= 0.0 {
            return if self.squared == 0.0 { 1.0 } else { 0.0 };
        }
        1.0 - self.squared / total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn classification_metrics_follow_scikit_learn() {
        // y_true = [0, 0, 1, 2], y_pred = [0, 1, 1, 1]
        let out = array![
            [1.0f32, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 1.0, 0.0]
        ];
        let mut tally = Tally::default();
        tally.add(out.view(), Targets::Classes(&[0, 0, 1, 2]), 0.5);
        assert_eq!(tally.value(Monitor::Accuracy, 1.0), 0.5);
        // sklearn: balanced_accuracy_score = (0.5 + 1 + 0) / 3; f1_score(average="macro")
        // = (2/3 + 0.5 + 0) / 3
        assert!((tally.value(Monitor::BalancedAccuracy, 1.0) - 0.5).abs() < 1e-12);
        assert!((tally.value(Monitor::MacroF1, 1.0) - 7.0 / 18.0).abs() < 1e-12);
        assert_eq!(tally.value(Monitor::Loss, 1.0), 0.5);
    }

    #[test]
    fn regression_metrics_are_in_target_units() {
        let out = array![[1.0f32], [2.0], [4.0]];
        let y = array![[1.0f32], [3.0], [5.0]];
        let mut tally = Tally::default();
        tally.add(out.view(), Targets::Values(y.view()), 0.0);
        assert!((tally.value(Monitor::Mae, 2.0) - 4.0 / 3.0).abs() < 1e-12);
        assert!((tally.value(Monitor::Rmse, 2.0) - 2.0 * (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        // sklearn r2_score([1, 3, 5], [1, 2, 4]) = 1 - 2 / 8
        assert!((tally.value(Monitor::R2, 2.0) - 0.75).abs() < 1e-12);
        assert!(Monitor::R2.higher_is_better() && !Monitor::Mae.higher_is_better());
        assert_eq!(
            Monitor::names_for(Task::Regression),
            vec!["loss", "rmse", "mae", "r2"]
        );
    }
}
