//! Metrics: plain functions over slices (classification.rs, regression.rs) and the
//! reports `evaluate` prints.
//!
//! The functions follow scikit-learn 1.9 (golden values: `tests/suite/golden_metrics.rs`).
//! The reports serialize with serde to the JSON object of `csvnn evaluate --format json`
//! (keys in DESIGN.md; NaN, i.e. undefined, is written as `null`) and render a
//! fixed-width table for people with `to_table`.

pub mod classification;
pub mod regression;
pub mod threshold;

pub use classification::{
    accuracy, argmax_rows, average_precision, balanced_accuracy, confusion_matrix, log_loss,
    macro_f1, matthews_corrcoef, micro_f1, per_class, roc_auc_binary, roc_auc_ovr_macro, roc_curve,
    weighted_f1, ClassScores,
};
pub use regression::{explained_variance, mae, max_error, r2, rmse};
pub use threshold::{
    best_f1_threshold, best_youden_threshold, classes_at_threshold, BestF1, BestYoudenJ,
    BinaryDecision,
};

use ndarray::ArrayView2;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt::{self, Write as _};

/// The numeric metrics of each report (the keys of `evaluate --format json` that gates,
/// cross-validation and scripts can name), in report order.
pub const CLASSIFICATION_KEYS: &[&str] = &[
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "micro_f1",
    "weighted_f1",
    "log_loss",
    "roc_auc",
    "mcc",
];
/// The numeric metrics of a regression report, as [`CLASSIFICATION_KEYS`] for a classifier.
pub const REGRESSION_KEYS: &[&str] = &["rmse", "mae", "r2", "explained_variance", "max_error"];

/// The name people read for a metric key of [`CLASSIFICATION_KEYS`] or [`REGRESSION_KEYS`]
/// (`balanced_accuracy` -> `balanced accuracy`), as `evaluate`'s and `cv`'s tables print
/// it; any other key unchanged.
pub fn metric_label(key: &str) -> &str {
    match key {
        "balanced_accuracy" => "balanced accuracy",
        "macro_f1" => "macro F1",
        "micro_f1" => "micro F1",
        "weighted_f1" => "weighted F1",
        "log_loss" => "log loss",
        "roc_auc" => "ROC AUC",
        "mcc" => "MCC",
        "rmse" => "RMSE",
        "mae" => "MAE",
        "r2" => "R2",
        "explained_variance" => "explained variance",
        "max_error" => "max error",
        other => other,
    }
}

/// Everything `evaluate` reports for a classifier. Built by [`classification_report`].
/// Undefined values (no rows; a ROC AUC with a class absent from the truth) are NaN or
/// `None` and serialize as `null`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ClassificationReport {
    /// Always `"classification"`.
    pub task: String,
    /// Rows scored.
    pub rows: usize,
    /// Share of rows whose predicted class is the true one.
    #[serde(with = "nan_as_null")]
    pub accuracy: f64,
    /// Mean recall over the classes.
    #[serde(with = "nan_as_null")]
    pub balanced_accuracy: f64,
    /// Unweighted mean of the per-class F1 scores.
    #[serde(with = "nan_as_null")]
    pub macro_f1: f64,
    /// F1 over all rows pooled (equal to accuracy for single-label data).
    #[serde(with = "nan_as_null")]
    pub micro_f1: f64,
    /// Mean of the per-class F1 scores weighted by each class's support.
    #[serde(with = "nan_as_null")]
    pub weighted_f1: f64,
    /// Mean negative log-probability of the true class (natural log).
    #[serde(with = "nan_as_null")]
    pub log_loss: f64,
    /// Binary AUC of the second label, or the one-vs-rest macro AUC.
    pub roc_auc: Option<f64>,
    /// Matthews correlation coefficient, multiclass form; in [-1, 1].
    #[serde(with = "nan_as_null")]
    pub mcc: f64,
    /// Label -> scores, in the order of the labels.
    pub per_class: PerClass,
    /// Counts of (true class, predicted class) pairs.
    pub confusion_matrix: LabeledConfusionMatrix,
    /// Two classes only (absent from the JSON otherwise): the decision threshold applied
    /// and the thresholds that would have scored best.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Box<BinaryDecision>>,
}

/// Per-class scores keyed by label, kept in label order: serializes as a JSON object
/// whose keys appear in that order (not sorted).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PerClass(pub Vec<(String, ClassScores)>);

/// The confusion matrix with its labels: `matrix[t][p]` counts rows of true class
/// `labels[t]` predicted as `labels[p]`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LabeledConfusionMatrix {
    /// The class labels in model order: (n_classes,).
    pub labels: Vec<String>,
    /// Row per true class, column per predicted class: (n_classes, n_classes).
    pub matrix: Vec<Vec<u64>>,
}

/// Everything `evaluate` reports for a regressor. Built by [`regression_report`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RegressionReport {
    /// Always `"regression"`.
    pub task: String,
    /// Rows scored.
    pub rows: usize,
    /// Root mean squared error, in target units.
    #[serde(with = "nan_as_null")]
    pub rmse: f64,
    /// Mean absolute error, in target units.
    #[serde(with = "nan_as_null")]
    pub mae: f64,
    /// Coefficient of determination; 1 is perfect, below 0 worse than the mean.
    #[serde(with = "nan_as_null")]
    pub r2: f64,
    /// Explained variance score (R² without the penalty for a constant bias).
    #[serde(with = "nan_as_null")]
    pub explained_variance: f64,
    /// Largest absolute error of any row, in target units.
    #[serde(with = "nan_as_null")]
    pub max_error: f64,
}

/// Scores class probabilities against the truth. `labels`: the class labels in model
/// order (n_classes); `y_true`: class indices into `labels` (n_rows); `probs`:
/// (n_rows, n_classes). The predicted class of a row is its most probable one (the first
/// on ties). With 0 rows every scalar is NaN / `None` and every count 0.
///
/// Panics when `probs` does not have one row per `y_true` and one column per label, or a
/// class index is out of range.
pub fn classification_report(
    labels: &[String],
    y_true: &[usize],
    probs: ArrayView2<f64>,
) -> ClassificationReport {
    classification_report_at(labels, y_true, probs, None)
}

/// As [`classification_report`], with the classes predicted at `threshold` on the second
/// label's probability ([`classes_at_threshold`]) when it is given.
///
/// Panics, besides as [`classification_report`], when a threshold is given for other than
/// two labels.
pub fn classification_report_at(
    labels: &[String],
    y_true: &[usize],
    probs: ArrayView2<f64>,
    threshold: Option<f64>,
) -> ClassificationReport {
    let n_classes = labels.len();
    assert!(
        threshold.is_none() || n_classes == 2,
        "metrics: a decision threshold for {n_classes} labels"
    );
    assert!(
        probs.ncols() == n_classes,
        "metrics: probs has {} columns for {n_classes} labels",
        probs.ncols()
    );
    assert!(
        probs.nrows() == y_true.len(),
        "metrics: probs has {} rows for {} labels in y_true",
        probs.nrows(),
        y_true.len()
    );
    let y_pred = match threshold {
        Some(t) => classes_at_threshold(probs, t),
        None => argmax_rows(probs),
    };
    let scores = per_class(y_true, &y_pred, n_classes);
    ClassificationReport {
        task: "classification".to_string(),
        rows: y_true.len(),
        accuracy: accuracy(y_true, &y_pred),
        balanced_accuracy: balanced_accuracy(y_true, &y_pred, n_classes),
        macro_f1: macro_f1(y_true, &y_pred, n_classes),
        micro_f1: micro_f1(y_true, &y_pred, n_classes),
        weighted_f1: weighted_f1(y_true, &y_pred, n_classes),
        log_loss: log_loss(y_true, probs),
        roc_auc: roc_auc_ovr_macro(y_true, probs),
        mcc: matthews_corrcoef(y_true, &y_pred, n_classes),
        per_class: PerClass(labels.iter().cloned().zip(scores).collect()),
        confusion_matrix: LabeledConfusionMatrix {
            labels: labels.to_vec(),
            matrix: confusion_matrix(y_true, &y_pred, n_classes),
        },
        decision: (n_classes == 2)
            .then(|| Box::new(BinaryDecision::new(labels, y_true, probs, threshold))),
    }
}

/// Scores predictions against the truth, both (n_rows,). With 0 rows every metric is NaN.
pub fn regression_report(y_true: &[f64], y_pred: &[f64]) -> RegressionReport {
    RegressionReport {
        task: "regression".to_string(),
        rows: y_true.len(),
        rmse: rmse(y_true, y_pred),
        mae: mae(y_true, y_pred),
        r2: r2(y_true, y_pred),
        explained_variance: explained_variance(y_true, y_pred),
        max_error: max_error(y_true, y_pred),
    }
}

// ------------------------------------------------------------------------------ tables

/// Widest label shown in full; longer ones are cut and end in "...".
const MAX_LABEL_WIDTH: usize = 24;
/// The width the confusion matrix tries to stay within.
const TERMINAL_WIDTH: usize = 80;
const CORNER: &str = "true \\ predicted";

fn width(s: &str) -> usize {
    s.chars().count()
}

fn clip_label(label: &str) -> String {
    if width(label) <= MAX_LABEL_WIDTH {
        label.to_string()
    } else {
        let kept: String = label.chars().take(MAX_LABEL_WIDTH - 3).collect();
        format!("{kept}...")
    }
}

/// A score in [0, 1] (or a loss) with 4 decimals; "n/a" when undefined.
fn fmt_score(x: f64) -> String {
    if x.is_nan() {
        "n/a".to_string()
    } else {
        format!("{x:.4}")
    }
}

/// A value of any magnitude with 6 significant digits; "n/a" when undefined.
fn fmt_value(x: f64) -> String {
    if x.is_nan() {
        return "n/a".to_string();
    }
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor();
    if !(-4.0..6.0).contains(&magnitude) {
        format!("{x:.5e}")
    } else {
        format!("{x:.*}", (5.0 - magnitude) as usize)
    }
}

/// "name   value" lines with the values aligned.
fn headline(out: &mut String, lines: &[(&str, String)]) {
    let name_width = lines.iter().map(|(name, _)| width(name)).max().unwrap_or(0);
    for (name, value) in lines {
        let _ = writeln!(out, "{name:<name_width$}  {value}");
    }
}

/// Right-aligns `cells` in columns of `widths`, separated by `sep` spaces, the first
/// column left-aligned; trailing spaces trimmed.
fn table_row(out: &mut String, cells: &[String], widths: &[usize], sep: usize) {
    let mut line = String::new();
    for (i, (cell, &w)) in cells.iter().zip(widths).enumerate() {
        let pad = w.saturating_sub(width(cell));
        if i == 0 {
            line.push_str(cell);
            line.push_str(&" ".repeat(pad));
        } else {
            line.push_str(&" ".repeat(sep + pad));
            line.push_str(cell);
        }
    }
    let _ = writeln!(out, "{}", line.trim_end());
}

fn column_widths(rows: &[Vec<String>]) -> Vec<usize> {
    let n_cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    (0..n_cols)
        .map(|j| {
            rows.iter()
                .filter_map(|r| r.get(j))
                .map(|c| width(c))
                .max()
                .unwrap_or(0)
        })
        .collect()
}

fn table_width(widths: &[usize], sep: usize) -> usize {
    widths.iter().sum::<usize>() + sep * widths.len().saturating_sub(1)
}

impl ClassificationReport {
    /// The report for people: headline metrics, a per-class table and the confusion
    /// matrix (rows: true class, columns: predicted). Fits 80 columns for up to about ten
    /// classes: when the labels are too long for the matrix, its columns are numbered
    /// and the rows say which number is which label. Not a stable format.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let auc = self.roc_auc.map_or_else(|| "n/a".to_string(), fmt_score);
        headline(
            &mut out,
            &[
                ("rows", self.rows.to_string()),
                (metric_label("accuracy"), fmt_score(self.accuracy)),
                (
                    metric_label("balanced_accuracy"),
                    fmt_score(self.balanced_accuracy),
                ),
                (metric_label("macro_f1"), fmt_score(self.macro_f1)),
                (metric_label("micro_f1"), fmt_score(self.micro_f1)),
                (metric_label("weighted_f1"), fmt_score(self.weighted_f1)),
                (metric_label("log_loss"), fmt_score(self.log_loss)),
                (metric_label("roc_auc"), auc),
                (metric_label("mcc"), fmt_score(self.mcc)),
            ],
        );
        if let Some(decision) = &self.decision {
            out.push('\n');
            headline(&mut out, &decision.table_lines());
        }

        out.push('\n');
        let mut rows = vec![["label", "precision", "recall", "f1", "support"]
            .map(String::from)
            .to_vec()];
        for (label, s) in &self.per_class.0 {
            rows.push(vec![
                clip_label(label),
                fmt_score(s.precision),
                fmt_score(s.recall),
                fmt_score(s.f1),
                s.support.to_string(),
            ]);
        }
        let widths = column_widths(&rows);
        for row in &rows {
            table_row(&mut out, row, &widths, 2);
        }

        out.push('\n');
        out.push_str("confusion matrix (rows: true class, columns: predicted class)\n");
        self.confusion_table(&mut out);
        out
    }

    fn confusion_table(&self, out: &mut String) {
        let cm = &self.confusion_matrix;
        let counts = |t: usize| cm.matrix[t].iter().map(u64::to_string);
        let build = |headers: Vec<String>, row_names: Vec<String>| {
            let mut rows = vec![std::iter::once(CORNER.to_string()).chain(headers).collect()];
            for (t, name) in row_names.into_iter().enumerate() {
                rows.push(
                    std::iter::once(name)
                        .chain(counts(t))
                        .collect::<Vec<String>>(),
                );
            }
            rows
        };
        // Columns named by label when that fits, else numbered.
        let named = build(
            cm.labels.iter().map(|l| clip_label(l)).collect(),
            cm.labels.iter().map(|l| clip_label(l)).collect(),
        );
        let widths = column_widths(&named);
        if table_width(&widths, 2) <= TERMINAL_WIDTH {
            for row in &named {
                table_row(out, row, &widths, 2);
            }
            return;
        }
        let numbered = build(
            (0..cm.labels.len()).map(|i| i.to_string()).collect(),
            cm.labels
                .iter()
                .enumerate()
                .map(|(i, l)| format!("{i}: {}", clip_label(l)))
                .collect(),
        );
        let widths = column_widths(&numbered);
        let sep = if table_width(&widths, 2) <= TERMINAL_WIDTH {
            2
        } else {
            1
        };
        for row in &numbered {
            table_row(out, row, &widths, sep);
        }
    }
}

impl RegressionReport {
    /// The report for people: one aligned line per metric. Not a stable format.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        headline(
            &mut out,
            &[
                ("rows", self.rows.to_string()),
                (metric_label("rmse"), fmt_value(self.rmse)),
                (metric_label("mae"), fmt_value(self.mae)),
                (metric_label("r2"), fmt_value(self.r2)),
                (
                    metric_label("explained_variance"),
                    fmt_value(self.explained_variance),
                ),
                (metric_label("max_error"), fmt_value(self.max_error)),
            ],
        );
        out
    }
}

// ------------------------------------------------------------------------------- serde

impl Serialize for PerClass {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (label, scores) in &self.0 {
            map.serialize_entry(label, scores)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for PerClass {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = PerClass;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map from class label to scores")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PerClass, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry::<String, ClassScores>()? {
                    entries.push(entry);
                }
                Ok(PerClass(entries))
            }
        }
        deserializer.deserialize_map(InOrder)
    }
}

/// f64 fields where NaN means "undefined": written as `null`, and `null` read back as NaN
/// (serde_json writes NaN as null but refuses to read null into an f64).
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if x.is_nan() {
            serializer.serialize_none()
        } else {
            serializer.serialize_f64(*x)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    fn labels(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn json_keys_and_label_order() {
        // Labels deliberately not in sorted order: the map must keep them as given.
        let probs = array![[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]];
        let report = classification_report(&labels(&["zeta", "alpha"]), &[1, 0, 0], probs.view());
        let json = serde_json::to_string(&report).unwrap();
        let keys = [
            "task",
            "rows",
            "accuracy",
            "balanced_accuracy",
            "macro_f1",
            "micro_f1",
            "weighted_f1",
            "log_loss",
            "roc_auc",
            "mcc",
            "per_class",
            "confusion_matrix",
            "decision",
        ];
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let object = value.as_object().unwrap();
        assert_eq!(object.len(), keys.len());
        for key in keys {
            assert!(object.contains_key(key), "missing {key} in {json}");
        }
        assert_eq!(value["task"], "classification");
        assert_eq!(value["rows"], 3);
        assert!(json.find("\"zeta\":{").unwrap() < json.find("\"alpha\":{").unwrap());
        assert_eq!(value["per_class"]["alpha"]["support"], 1);
        assert_eq!(
            value["confusion_matrix"]["labels"],
            serde_json::json!(["zeta", "alpha"])
        );
        assert_eq!(
            value["confusion_matrix"]["matrix"],
            serde_json::json!([[1, 1], [0, 1]])
        );
        let back: ClassificationReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn undefined_values_are_null_and_read_back() {
        let empty = Array2::<f64>::zeros((0, 2));
        let report = classification_report(&labels(&["a", "b"]), &[], empty.view());
        let value = serde_json::to_value(&report).unwrap();
        for key in ["accuracy", "macro_f1", "log_loss", "roc_auc", "mcc"] {
            assert!(value[key].is_null(), "{key} should be null: {value}");
        }
        assert_eq!(value["rows"], 0);
        let back: ClassificationReport = serde_json::from_value(value).unwrap();
        assert!(back.accuracy.is_nan() && back.roc_auc.is_none());
        assert!(!report.to_table().is_empty());

        let report = regression_report(&[], &[]);
        let value = serde_json::to_value(&report).unwrap();
        assert_eq!(value["task"], "regression");
        assert!(value["rmse"].is_null() && value["r2"].is_null());
        let back: RegressionReport = serde_json::from_value(value).unwrap();
        assert!(back.max_error.is_nan());
        assert!(report.to_table().contains("n/a"));
    }

    #[test]
    fn regression_json_keys() {
        let report = regression_report(&[1.0, 2.0, 3.0], &[1.5, 2.0, 2.0]);
        let value = serde_json::to_value(&report).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 7);
        for key in [
            "task",
            "rows",
            "rmse",
            "mae",
            "r2",
            "explained_variance",
            "max_error",
        ] {
            assert!(keys.contains(&key), "missing {key}");
        }
    }

    #[test]
    fn tables_fit_80_columns() {
        // Ten classes with long labels and 4-digit counts.
        let names: Vec<String> = (0..10)
            .map(|i| format!("a rather long class label number {i}"))
            .collect();
        let n = 10_000;
        let y_true: Vec<usize> = (0..n).map(|i| i % 10).collect();
        let mut probs = Array2::<f64>::from_elem((n, 10), 0.05);
        for (i, &t) in y_true.iter().enumerate() {
            probs[[i, (t + i % 3) % 10]] = 0.55;
        }
        let table = classification_report(&names, &y_true, probs.view()).to_table();
        for line in table.lines() {
            assert!(width(line) <= TERMINAL_WIDTH, "too wide: {line:?}\n{table}");
        }
        assert!(table.contains(CORNER));

        // Short labels keep their names as column headers.
        let probs = array![[0.9, 0.1], [0.2, 0.8]];
        let table =
            classification_report(&labels(&["cat", "dog"]), &[0, 0], probs.view()).to_table();
        let header = table.lines().find(|l| l.starts_with(CORNER)).unwrap();
        assert_eq!(header, "true \\ predicted  cat  dog");
        assert!(
            table.lines().any(|l| l == "cat                 1    1"),
            "{table}"
        );
    }

    #[test]
    fn value_formatting() {
        assert_eq!(fmt_value(1234.5678), "1234.57");
        assert_eq!(fmt_value(0.000123456), "0.000123456");
        assert_eq!(fmt_value(0.0000123), "1.23000e-5");
        assert_eq!(fmt_value(2.5e7), "2.50000e7");
        assert_eq!(fmt_value(-0.5), "-0.500000");
        assert_eq!(fmt_value(0.0), "0");
        assert_eq!(fmt_value(f64::NAN), "n/a");
        assert_eq!(fmt_score(0.96666), "0.9667");
    }
}
