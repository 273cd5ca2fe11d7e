//! The decision threshold of a binary classifier: `predict --threshold`, `evaluate
//! --threshold` and the best thresholds `evaluate` reports, against values scikit-learn
//! computed on the shipped `default` dataset (`tests/fixtures/threshold/`).

use std::path::PathBuf;

use super::script_output::default_model;
use super::util::{csvnn, data, stdout_of};
use serde_json::Value;

fn golden() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/threshold/thresholds.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn evaluate_json(extra: &[&str]) -> Value {
    let text = stdout_of(
        csvnn()
            .args(["evaluate", "--format", "json", "--model"])
            .arg(default_model())
            .args(["--data", &data("default.test.csv")])
            .args(extra),
    );
    serde_json::from_str(&text).unwrap()
}

fn f64_at(value: &Value, pointer: &str) -> f64 {
    value
        .pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {pointer} in {value}"))
}

/// Scores are probabilities the model computes; another GEMM kernel may move them in the
/// last bits, so thresholds are compared to 1e-9. F1 and J are ratios of counts.
fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual} != {expected}"
    );
}

#[test]
fn evaluate_reports_the_thresholds_scikit_learn_finds_best() {
    let golden = golden();
    let report = evaluate_json(&[]);
    let decision = &report["decision"];
    assert_eq!(decision["positive_class"], "Yes");
    assert!(decision["threshold"].is_null(), "{decision}");
    for (key, value) in [("best_f1", "f1"), ("best_youden_j", "youden_j")] {
        let at = |p: &str| format!("/{key}/{p}");
        assert_close(
            f64_at(decision, &at("threshold")),
            f64_at(&golden, &at("threshold")),
            1e-9,
            key,
        );
        assert_close(
            f64_at(decision, &at(value)),
            f64_at(&golden, &at(value)),
            1e-12,
            key,
        );
    }
    // The table says the same.
    let text = stdout_of(
        csvnn()
            .args(["evaluate", "--model"])
            .arg(default_model())
            .args(["--data", &data("default.test.csv")]),
    );
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} line in\n{text}"))
            .to_string()
    };
    assert_eq!(
        line("threshold "),
        "threshold                more probable class (0.5 on P(Yes))"
    );
    let best = line("best F1 threshold");
    let shown: f64 = best.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert_close(shown, f64_at(&golden, "/best_f1/threshold"), 1e-9, "table");
    assert!(best.ends_with("(F1 0.6299)"), "{best}");
    assert!(line("best Youden J threshold").ends_with("(J 0.7425)"));
}

#[test]
fn evaluate_at_a_threshold_scores_as_scikit_learn() {
    let golden = golden();
    let report = evaluate_json(&["--threshold", "0.3"]);
    assert_eq!(report["decision"]["threshold"], 0.3);
    assert_eq!(
        report["confusion_matrix"]["matrix"],
        golden["at_0_3"]["confusion_matrix"]
    );
    for (ours, theirs) in [
        ("/accuracy", "/at_0_3/accuracy"),
        ("/balanced_accuracy", "/at_0_3/balanced_accuracy"),
        ("/per_class/Yes/f1", "/at_0_3/f1_yes"),
    ] {
        assert_close(f64_at(&report, ours), f64_at(&golden, theirs), 1e-12, ours);
    }
    // Log loss and AUC do not depend on the threshold.
    let plain = evaluate_json(&[]);
    assert_eq!(report["log_loss"], plain["log_loss"]);
    assert_eq!(report["roc_auc"], plain["roc_auc"]);

    // The best F1 threshold given back scores that F1.
    let best = plain["decision"]["best_f1"]["threshold"].to_string();
    let at_best = evaluate_json(&["--threshold", &best]);
    assert_eq!(
        at_best["per_class"]["Yes"]["f1"],
        plain["decision"]["best_f1"]["f1"]
    );
}

#[test]
fn predict_at_a_threshold_says_yes_from_that_probability_up() {
    let golden = golden();
    let out = stdout_of(
        csvnn()
            .args([
                "predict",
                "--format",
                "jsonl",
                "--proba",
                "--threshold",
                "0.3",
            ])
            .arg("--model")
            .arg(default_model())
            .args(["--data", &data("default.test.csv")]),
    );
    let mut yes = 0;
    for line in out.lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        let p = row["proba_Yes"].as_f64().unwrap();
        let predicted_yes = row["prediction"] == "Yes";
        assert_eq!(predicted_yes, p >= 0.3, "{line}");
        yes += usize::from(predicted_yes);
    }
    assert_eq!(
        yes as u64,
        golden["at_0_3"]["predicted_yes"].as_u64().unwrap()
    );
    // 0 and 1 are the ends: every row, and only rows of probability 1.
    let all = stdout_of(
        csvnn()
            .args(["predict", "--threshold", "0", "--model"])
            .arg(default_model())
            .args(["--data", &data("default.test.csv")]),
    );
    assert!(all.lines().skip(1).all(|l| l == "Yes"));
}

#[test]
fn a_threshold_needs_a_binary_model_and_a_probability() {
    let dir = tempfile::tempdir().unwrap();
    let chile = dir.path().join("chile.json");
    let mpg = dir.path().join("mpg.json");
    for (model, file, target) in [
        (&chile, "chile_vote.train.csv", "vote"),
        (&mpg, "auto_mpg.train.csv", "mpg"),
    ] {
        csvnn()
            .args([
                "--quiet",
                "train",
                "--data",
                &data(file),
                "--target",
                target,
            ])
            .args(["--epochs", "1", "-o"])
            .arg(model)
            .assert()
            .success();
    }
    for command in ["predict", "evaluate"] {
        for (model, file, what) in [
            (
                &chile,
                "chile_vote.test.csv",
                "this model has 4 classes (A, N, U, Y)",
            ),
            (&mpg, "auto_mpg.test.csv", "this model does regression"),
        ] {
            csvnn()
                .args([command, "--threshold", "0.4", "--model"])
                .arg(model)
                .args(["--data", &data(file)])
                .assert()
                .code(2)
                .stdout("")
                .stderr(format!(
                    "csvnn: error: --threshold needs a binary classification model; {what}\n"
                ));
        }
        for bad in ["1.5", "-0.1", "NaN", "half"] {
            csvnn()
                .args([command, "--model"])
                .arg(default_model())
                .args(["--data", &data("default.test.csv"), "--threshold", bad])
                .assert()
                .code(2)
                .stdout("")
                .stderr(format!(
                    "csvnn: error: invalid value '{bad}' for '--threshold <P>': expected a probability from 0 to 1\n\n\
                     For more information, try '--help'.\n"
                ));
        }
    }
}
