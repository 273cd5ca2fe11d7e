//! Golden-value tests: every csvnn metric against scikit-learn.
//!
//! The expected values in tests/fixtures/metrics/golden.json were computed by
//! tests/fixtures/metrics/make_golden.py (the scikit-learn and numpy versions are recorded
//! in the file). To regenerate it, from the repository root:
//!
//!     pip install scikit-learn numpy
//!     python3 tests/fixtures/metrics/make_golden.py
//!
//! Values agree to 1e-9 relative, or 1e-12 absolute near 0. `null` in the fixture means
//! sklearn returned NaN (undefined): csvnn must return NaN or `None` there.

use approx::relative_eq;
use csvnn::metrics::{self, ClassScores};
use ndarray::Array2;
use serde_json::Value;

const RELATIVE: f64 = 1e-9;
const ABSOLUTE: f64 = 1e-12;

fn golden() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/metrics/golden.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Collects mismatches so one run reports all of them.
#[derive(Default)]
struct Checker {
    failures: Vec<String>,
    checked: usize,
}

impl Checker {
    /// `expected`: a JSON number, or null for "undefined" (NaN or None here).
    fn value(&mut self, what: &str, actual: Option<f64>, expected: &Value) {
        self.checked += 1;
        let actual = actual.filter(|a| !a.is_nan());
        let ok = match (actual, expected.as_f64()) {
            (None, None) => expected.is_null(),
            (Some(a), Some(e)) => {
                relative_eq!(a, e, epsilon = ABSOLUTE, max_relative = RELATIVE)
            }
            _ => false,
        };
        if !ok {
            self.failures
                .push(format!("{what}: csvnn {actual:?}, sklearn {expected}"));
        }
    }

    fn f64(&mut self, what: &str, actual: f64, expected: &Value) {
        self.value(what, Some(actual), expected);
    }

    fn exact<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, actual: T, expected: T) {
        self.checked += 1;
        if actual != expected {
            self.failures
                .push(format!("{what}: csvnn {actual:?}, sklearn {expected:?}"));
        }
    }

    fn finish(self, section: &str) {
        assert!(self.checked > 0, "{section}: nothing checked");
        assert!(
            self.failures.is_empty(),
            "{section}: {} of {} values differ from sklearn:\n{}",
            self.failures.len(),
            self.checked,
            self.failures.join("\n")
        );
    }
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn bools(v: &Value) -> Vec<bool> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_bool().unwrap())
        .collect()
}

fn matrix_u64(v: &Value) -> Vec<Vec<u64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap())
                .collect()
        })
        .collect()
}

fn probs(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = v.as_array().unwrap().iter().map(f64s).collect();
    let n_cols = rows.first().map_or(0, Vec::len);
    Array2::from_shape_vec((rows.len(), n_cols), rows.concat()).unwrap()
}

#[test]
fn fixture_records_its_provenance() {
    let g = golden();
    for key in ["sklearn_version", "numpy_version", "generator"] {
        assert!(g[key].is_string(), "golden.json lacks {key}");
    }
    for (section, at_least) in [("classification", 15), ("ranking", 8), ("regression", 8)] {
        let n = g[section].as_array().map_or(0, Vec::len);
        assert!(n >= at_least, "{section}: {n} cases");
    }
}

#[test]
fn classification_matches_sklearn() {
    let g = golden();
    let mut check = Checker::default();
    for case in g["classification"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let e = &case["expected"];
        let labels: Vec<String> = case["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_string())
            .collect();
        let n = labels.len();
        let y_true = usizes(&case["y_true"]);
        let probs = probs(&case["probs"]);
        let y_pred = metrics::argmax_rows(probs.view());
        check.exact(
            &format!("{name} y_pred"),
            y_pred.clone(),
            usizes(&e["y_pred"]),
        );

        // The functions one by one.
        let at = |m: &str| format!("{name} {m}");
        check.f64(
            &at("accuracy"),
            metrics::accuracy(&y_true, &y_pred),
            &e["accuracy"],
        );
        check.f64(
            &at("balanced_accuracy"),
            metrics::balanced_accuracy(&y_true, &y_pred, n),
            &e["balanced_accuracy"],
        );
        check.f64(
            &at("macro_f1"),
            metrics::macro_f1(&y_true, &y_pred, n),
            &e["macro_f1"],
        );
        check.f64(
            &at("micro_f1"),
            metrics::micro_f1(&y_true, &y_pred, n),
            &e["micro_f1"],
        );
        check.f64(
            &at("weighted_f1"),
            metrics::weighted_f1(&y_true, &y_pred, n),
            &e["weighted_f1"],
        );
        check.f64(
            &at("mcc"),
            metrics::matthews_corrcoef(&y_true, &y_pred, n),
            &e["mcc"],
        );
        check.f64(
            &at("log_loss"),
            metrics::log_loss(&y_true, probs.view()),
            &e["log_loss"],
        );
        check.value(
            &at("roc_auc"),
            metrics::roc_auc_ovr_macro(&y_true, probs.view()),
            &e["roc_auc"],
        );
        let matrix = matrix_u64(&e["confusion_matrix"]);
        check.exact(
            &at("confusion_matrix"),
            metrics::confusion_matrix(&y_true, &y_pred, n),
            matrix.clone(),
        );
        let scores = metrics::per_class(&y_true, &y_pred, n);
        let expected_scores = e["per_class"].as_array().unwrap();
        check.exact(&at("per_class len"), scores.len(), expected_scores.len());
        for (c, (s, es)) in scores.iter().zip(expected_scores).enumerate() {
            check.f64(
                &format!("{name} class {c} precision"),
                s.precision,
                &es["precision"],
            );
            check.f64(&format!("{name} class {c} recall"), s.recall, &es["recall"]);
            check.f64(&format!("{name} class {c} f1"), s.f1, &es["f1"]);
            check.exact(
                &format!("{name} class {c} support"),
                s.support,
                es["support"].as_u64().unwrap(),
            );
        }

        // The report gathers the same values under the labels.
        let report = metrics::classification_report(&labels, &y_true, probs.view());
        let at = |m: &str| format!("{name} report.{m}");
        check.exact(&at("rows"), report.rows, y_true.len());
        check.f64(&at("accuracy"), report.accuracy, &e["accuracy"]);
        check.f64(
            &at("balanced_accuracy"),
            report.balanced_accuracy,
            &e["balanced_accuracy"],
        );
        check.f64(&at("macro_f1"), report.macro_f1, &e["macro_f1"]);
        check.f64(&at("micro_f1"), report.micro_f1, &e["micro_f1"]);
        check.f64(&at("weighted_f1"), report.weighted_f1, &e["weighted_f1"]);
        check.f64(&at("log_loss"), report.log_loss, &e["log_loss"]);
        check.value(&at("roc_auc"), report.roc_auc, &e["roc_auc"]);
        check.f64(&at("mcc"), report.mcc, &e["mcc"]);
        check.exact(
            &at("confusion_matrix.matrix"),
            report.confusion_matrix.matrix,
            matrix,
        );
        check.exact(
            &at("confusion_matrix.labels"),
            report.confusion_matrix.labels,
            labels.clone(),
        );
        let keyed: Vec<(String, ClassScores)> = labels.iter().cloned().zip(scores).collect();
        check.exact(&at("per_class"), report.per_class.0, keyed);
    }
    check.finish("classification");
}

#[test]
fn ranking_matches_sklearn() {
    let g = golden();
    let mut check = Checker::default();
    for case in g["ranking"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let e = &case["expected"];
        let y_true = bools(&case["y_true"]);
        let scores = f64s(&case["scores"]);
        check.value(
            &format!("{name} roc_auc"),
            metrics::roc_auc_binary(&y_true, &scores),
            &e["roc_auc"],
        );
        let ap = metrics::average_precision(&y_true, &scores);
        if y_true.iter().any(|&t| t) {
            check.value(
                &format!("{name} average_precision"),
                ap,
                &e["average_precision"],
            );
        } else {
            // Known deviation: sklearn returns 0.0 (with a warning) without positives.
            check.exact(
                &format!("{name} average_precision (no positives)"),
                ap,
                None,
            );
            check.exact(
                &format!("{name} sklearn average_precision (no positives)"),
                e["average_precision"].as_f64(),
                Some(0.0),
            );
        }
        let curve = metrics::roc_curve(&y_true, &scores);
        let fpr = e["roc_curve"]["fpr"].as_array().unwrap();
        let tpr = e["roc_curve"]["tpr"].as_array().unwrap();
        check.exact(&format!("{name} roc_curve points"), curve.len(), fpr.len());
        for (k, ((f, t), (ef, et))) in curve.iter().zip(fpr.iter().zip(tpr)).enumerate() {
            check.f64(&format!("{name} roc_curve[{k}].fpr"), *f, ef);
            check.f64(&format!("{name} roc_curve[{k}].tpr"), *t, et);
        }
    }
    check.finish("ranking");
}

#[test]
fn regression_matches_sklearn() {
    let g = golden();
    let mut check = Checker::default();
    for case in g["regression"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let e = &case["expected"];
        let y_true = f64s(&case["y_true"]);
        let y_pred = f64s(&case["y_pred"]);
        let at = |m: &str| format!("{name} {m}");
        check.f64(&at("rmse"), metrics::rmse(&y_true, &y_pred), &e["rmse"]);
        check.f64(&at("mae"), metrics::mae(&y_true, &y_pred), &e["mae"]);
        check.f64(&at("r2"), metrics::r2(&y_true, &y_pred), &e["r2"]);
        check.f64(
            &at("explained_variance"),
            metrics::explained_variance(&y_true, &y_pred),
            &e["explained_variance"],
        );
        check.f64(
            &at("max_error"),
            metrics::max_error(&y_true, &y_pred),
            &e["max_error"],
        );

        let report = metrics::regression_report(&y_true, &y_pred);
        let at = |m: &str| format!("{name} report.{m}");
        check.exact(&at("rows"), report.rows, y_true.len());
        check.f64(&at("rmse"), report.rmse, &e["rmse"]);
        check.f64(&at("mae"), report.mae, &e["mae"]);
        check.f64(&at("r2"), report.r2, &e["r2"]);
        check.f64(
            &at("explained_variance"),
            report.explained_variance,
            &e["explained_variance"],
        );
        check.f64(&at("max_error"), report.max_error, &e["max_error"]);
    }
    check.finish("regression");
}

/// Inputs where csvnn deliberately differs from sklearn: the fixture records both values
/// and why; csvnn's must hold.
#[test]
fn known_deviations_hold() {
    let g = golden();
    let mut check = Checker::default();
    for case in g["known_deviations"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let actual = match case["function"].as_str().unwrap() {
            "average_precision" => metrics::average_precision(
                &bools_from_ints(&case["y_true"]),
                &f64s(&case["scores"]),
            ),
            "r2" => Some(metrics::r2(&f64s(&case["y_true"]), &f64s(&case["y_pred"]))),
            "explained_variance" => Some(metrics::explained_variance(
                &f64s(&case["y_true"]),
                &f64s(&case["y_pred"]),
            )),
            other => panic!("{name}: unknown function {other}"),
        };
        check.value(name, actual, &case["csvnn"]);
        // The sklearn value really differs, or this is no longer a deviation.
        check.exact(
            &format!("{name} differs from sklearn"),
            case["sklearn"] != case["csvnn"],
            true,
        );
    }
    check.finish("known_deviations");
}

fn bools_from_ints(v: &Value) -> Vec<bool> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() != 0)
        .collect()
}
