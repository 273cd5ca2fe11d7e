//! The target: choosing the task, and encoding class labels or standardising values.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::numeric::mean_and_std;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
/// What the network predicts.
pub enum Task {
    /// One of a set of labels.
    Classification,
    /// A number.
    Regression,
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        })
    }
}

/// Most distinct integer values a numeric target may have to be taken as class labels.
pub const MAX_AUTO_CLASSES: usize = 20;

/// Choose the task from the (non-missing) training target values, and say why.
/// Classification: any non-numeric value, or integers that look like class labels: at
/// most 20 distinct values, no more than half as many as the rows, and no wide gaps
/// between them (at least half of the integers from the smallest to the largest occur).
/// Other numbers are a regression's.
pub fn infer_task<'a>(values: impl Iterator<Item = impl Into<Cow<'a, str>>>) -> (Task, String) {
    let mut distinct: BTreeSet<Cow<'a, str>> = BTreeSet::new();
    let mut all_integers = true;
    let mut rows = 0usize;
    for v in values {
        let v = v.into();
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() => all_integers &= x.fract() == 0.0,
            _ => {
                return (
                    Task::Classification,
                    format!("the target has the non-numeric value '{v}'"),
                )
            }
        }
        rows += 1;
        distinct.insert(v);
    }
    let numbers: BTreeSet<u64> = distinct
        .iter()
        .map(|v| v.parse::<f64>().unwrap_or(f64::NAN).to_bits())
        .collect();
    let n_distinct = numbers.len();
    if !all_integers {
        return (
            Task::Regression,
            "the target has non-integer numbers".to_string(),
        );
    }
    if n_distinct > MAX_AUTO_CLASSES {
        return (
            Task::Regression,
            format!("the target is numeric with {n_distinct} distinct values (more than {MAX_AUTO_CLASSES})"),
        );
    }
    let (min, max) = numbers
        .iter()
        .map(|&bits| f64::from_bits(bits))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
    if n_distinct > 2 && 2 * n_distinct > rows {
        (
            Task::Regression,
            format!("the target has {n_distinct} distinct integer values in {rows} rows, too many for class labels (at most half the rows)"),
        )
    } else if n_distinct > 2 && max - min + 1.0 > 2.0 * n_distinct as f64 {
        (
            Task::Regression,
            format!("the target's {n_distinct} distinct integer values spread from {min} to {max} with wide gaps, unlike class labels"),
        )
    } else {
        (
            Task::Classification,
            format!(
                "the target has {n_distinct} distinct integer values (at most {MAX_AUTO_CLASSES})"
            ),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
/// How target values become network outputs, and back.
pub enum TargetEncoder {
    /// Labels as spelled in the training file; numerically ordered when all are numbers,
    /// else in byte order. The order fixes output columns and the positive class.
    Classification {
        /// The labels, in output order.
        labels: Vec<String>,
    },
    /// The network learns (y - mean) / std; predictions are de-standardised.
    Regression {
        /// The training mean of the target.
        mean: f64,
        /// The training standard deviation of the target (1 for a constant target).
        std: f64,
    },
}

/// Order labels: numerically when every label is a number, else by bytes.
pub fn order_labels(labels: &mut [String]) {
    let numbers: Option<Vec<f64>> = labels.iter().map(|l| l.parse::<f64>().ok()).collect();
    if numbers.is_some() {
        labels.sort_by(|a, b| {
            let (x, y) = (
                a.parse::<f64>().unwrap_or(0.0),
                b.parse::<f64>().unwrap_or(0.0),
            );
            x.partial_cmp(&y)
                .unwrap_or(Ordering::Equal)
                .then_with(|| a.cmp(b))
        });
    } else {
        labels.sort();
    }
}

impl TargetEncoder {
    /// A classification encoder of the labels in `values`, ordered by `order_labels`.
    pub fn fit_classes<'a>(values: impl Iterator<Item = impl Into<Cow<'a, str>>>) -> Self {
        let mut labels: Vec<String> = values
            .map(Into::into)
            .collect::<BTreeSet<Cow<'a, str>>>()
            .into_iter()
            .map(Cow::into_owned)
            .collect();
        order_labels(&mut labels);
        TargetEncoder::Classification { labels }
    }

    /// A regression encoder standardising with the mean and std of `values`.
    pub fn fit_values(values: &[f64]) -> Self {
        let (mean, std) = mean_and_std(values);
        TargetEncoder::Regression { mean, std }
    }

    /// The task this encoder is for.
    pub fn task(&self) -> Task {
        match self {
            TargetEncoder::Classification { .. } => Task::Classification,
            TargetEncoder::Regression { .. } => Task::Regression,
        }
    }

    /// Number of network outputs: one per class, or one value.
    pub fn n_outputs(&self) -> usize {
        match self {
            TargetEncoder::Classification { labels } => labels.len(),
            TargetEncoder::Regression { .. } => 1,
        }
    }

    /// The labels in output order (empty for regression).
    pub fn labels(&self) -> &[String] {
        match self {
            TargetEncoder::Classification { labels } => labels,
            TargetEncoder::Regression { .. } => &[],
        }
    }

    /// The output index of `label`, if it was seen in training.
    pub fn class_index(&self, label: &str) -> Option<usize> {
        self.labels().iter().position(|l| l == label)
    }

    /// A network output back in the target's units.
    pub fn destandardise(&self, output: f32) -> f64 {
        match self {
            TargetEncoder::Regression { mean, std } => output as f64 * std + mean,
            TargetEncoder::Classification { .. } => output as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_task_follows_the_design() {
        assert_eq!(
            infer_task(["1", "0", "1.0"].into_iter()).0,
            Task::Classification
        );
        assert_eq!(infer_task(["yes", "1"].into_iter()).0, Task::Classification);
        assert_eq!(infer_task(["1.5", "2"].into_iter()).0, Task::Regression);
        let many: Vec<String> = (0..21).map(|i| i.to_string()).collect();
        assert_eq!(
            infer_task(many.iter().map(|s| s.as_str())).0,
            Task::Regression
        );
        let twenty: Vec<String> = (0..40).map(|i| (i % 20).to_string()).collect();
        assert_eq!(
            infer_task(twenty.iter().map(|s| s.as_str())).0,
            Task::Classification
        );
    }

    #[test]
    fn integers_unlike_class_labels_are_a_regression() {
        // Body weights: 13 distinct values in 15 rows.
        let weights = [
            "61", "64", "64", "66", "70", "72", "75", "75", "78", "80", "83", "85", "88", "90",
            "95",
        ];
        assert_eq!(
            infer_task(weights.into_iter()),
            (
                Task::Regression,
                "the target has 13 distinct integer values in 15 rows, too many for class labels (at most half the rows)".to_string()
            )
        );
        // Few values, many rows, but far apart.
        let spread: Vec<String> = (0..30).map(|i| (100 * (i % 3)).to_string()).collect();
        assert_eq!(
            infer_task(spread.iter().map(|s| s.as_str())),
            (
                Task::Regression,
                "the target's 3 distinct integer values spread from 0 to 200 with wide gaps, unlike class labels".to_string()
            )
        );
        // Two values are labels whatever they are; codes 1..5 with a gap are labels.
        assert_eq!(infer_task(["0", "100"].into_iter()).0, Task::Classification);
        let codes: Vec<String> = (0..20).map(|i| [1, 2, 3, 5][i % 4].to_string()).collect();
        assert_eq!(
            infer_task(codes.iter().map(|s| s.as_str())).0,
            Task::Classification
        );
    }

    #[test]
    fn labels_ordered_numerically_when_all_numbers() {
        let enc = TargetEncoder::fit_classes(["10", "9", "2"].into_iter());
        assert_eq!(enc.labels(), ["2", "9", "10"]);
        let enc = TargetEncoder::fit_classes(["b", "B", "a"].into_iter());
        assert_eq!(enc.labels(), ["B", "a", "b"]);
    }
}
