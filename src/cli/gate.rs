//! Metric gates for CI: `evaluate --fail-under accuracy=0.9,macro_f1=0.85` and
//! `--fail-over rmse=10`. A missed gate is `GateMissed`, which `main` turns into exit 3.

use std::fmt;

use csvnn::preprocess::Task;
use csvnn::Error;

pub use csvnn::metrics::{CLASSIFICATION_KEYS, REGRESSION_KEYS};

/// Which side of the threshold fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `--fail-under`: a value below the threshold misses.
    Under,
    /// `--fail-over`: a value above the threshold misses.
    Over,
}

impl Direction {
    pub fn flag(self) -> &'static str {
        match self {
            Direction::Under => "--fail-under",
            Direction::Over => "--fail-over",
        }
    }

    /// How a met gate compares: `>=` for `--fail-under`, `<=` for `--fail-over`.
    pub fn operator_met(self) -> &'static str {
        match self {
            Direction::Under => ">=",
            Direction::Over => "<=",
        }
    }
}

/// One `KEY=VALUE` of a gate flag, as given.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub key: String,
    pub value: f64,
}

/// Parses one `KEY=VALUE` (clap splits the list at commas). The key must be a metric of
/// some task; whether it fits the model's task is checked once the model is read.
pub fn parse_threshold(text: &str) -> Result<Threshold, String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, for example accuracy=0.9; got '{text}'"))?;
    let key = key.trim();
    if !CLASSIFICATION_KEYS.contains(&key) && !REGRESSION_KEYS.contains(&key) {
        return Err(format!(
            "unknown metric '{key}'; the metrics are: {} (classification), {} (regression)",
            CLASSIFICATION_KEYS.join(", "),
            REGRESSION_KEYS.join(", ")
        ));
    }
    match value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Threshold {
            key: key.to_string(),
            value: v,
        }),
        _ => Err(format!(
            "'{}' is not a number; expected KEY=VALUE with a number, for example {key}=0.9",
            value.trim()
        )),
    }
}

/// A gate that was not met.
#[derive(Debug, Clone, PartialEq)]
pub struct Miss {
    pub key: String,
    /// `None` when the metric is undefined on this data (a ROC AUC with one class).
    pub value: Option<f64>,
    pub threshold: f64,
    pub direction: Direction,
}

/// The error `evaluate` returns when a gate is missed; the binary exits with 3.
#[derive(Debug, Clone, PartialEq)]
pub struct GateMissed(pub Vec<Miss>);

impl fmt::Display for GateMissed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|m| {
                let (op, flag) = match m.direction {
                    Direction::Under => ("<", "--fail-under"),
                    Direction::Over => (">", "--fail-over"),
                };
                match m.value {
                    Some(v) => format!("{} {v} {op} {} ({flag})", m.key, m.threshold),
                    None => format!(
                        "{} is undefined on this data, so it cannot meet {} ({flag})",
                        m.key, m.threshold
                    ),
                }
            })
            .collect();
        let noun = if self.0.len() == 1 { "gate" } else { "gates" };
        write!(
            f,
            "{} metric {noun} missed: {}",
            self.0.len(),
            parts.join("; ")
        )
    }
}

impl std::error::Error for GateMissed {}

/// The gate keys that fit a task.
pub fn keys_for(task: Task) -> &'static [&'static str] {
    match task {
        Task::Classification => CLASSIFICATION_KEYS,
        Task::Regression => REGRESSION_KEYS,
    }
}

/// Refuse gate keys that the model's task does not report (a usage error).
pub fn check_keys(task: Task, gates: &[(Direction, &Threshold)]) -> Result<(), Error> {
    let keys = keys_for(task);
    for (direction, t) in gates {
        if !keys.contains(&t.key.as_str()) {
            return Err(Error::config(format!(
                "{} {}: the model does {task}, which has no '{}' metric; the metrics are: {}",
                direction.flag(),
                t.key,
                t.key,
                keys.join(", ")
            )));
        }
    }
    Ok(())
}

/// Compare the metrics (the JSON object `evaluate` prints) with the gates.
pub fn check(metrics: &serde_json::Value, gates: &[(Direction, &Threshold)]) -> Vec<Miss> {
    gates
        .iter()
        .filter_map(|&(direction, t)| {
            let value = metrics.get(&t.key).and_then(|v| v.as_f64());
            let met = match (value, direction) {
                (Some(v), Direction::Under) => v >= t.value,
                (Some(v), Direction::Over) => v <= t.value,
                (None, _) => false,
            };
            (!met).then(|| Miss {
                key: t.key.clone(),
                value,
                threshold: t.value,
                direction,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_parsed_and_checked() {
        let t = parse_threshold("accuracy=0.9").unwrap();
        assert_eq!((t.key.as_str(), t.value), ("accuracy", 0.9));
        assert!(parse_threshold("accuracy").is_err());
        assert!(parse_threshold("acc=0.9").unwrap_err().contains("macro_f1"));
        assert!(parse_threshold("rmse=ten").is_err());
        let rmse = parse_threshold("rmse=10").unwrap();
        let metrics = serde_json::json!({"accuracy": 0.85, "roc_auc": null, "rmse": 12.5});
        let roc = parse_threshold("roc_auc=0.5").unwrap();
        let misses = check(
            &metrics,
            &[
                (Direction::Under, &t),
                (Direction::Over, &rmse),
                (Direction::Under, &roc),
            ],
        );
        assert_eq!(misses.len(), 3);
        assert_eq!(
            GateMissed(misses).to_string(),
            "3 metric gates missed: accuracy 0.85 < 0.9 (--fail-under); rmse 12.5 > 10 (--fail-over); roc_auc is undefined on this data, so it cannot meet 0.5 (--fail-under)"
        );
        let passed = parse_threshold("accuracy=0.85").unwrap();
        assert!(check(&metrics, &[(Direction::Under, &passed)]).is_empty());
    }
}
