//! `csvnn cv` on real data: K-fold cross-validation with the train flags.

use super::util::data;
use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn cv(args: &[&str]) -> Value {
    let out = Command::cargo_bin("csvnn")
        .unwrap()
        .args(["--quiet", "cv", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn classification_cv_reports_mean_and_std_of_every_metric() {
    let args = [
        "--data",
        &data("chile_vote.train.csv"),
        "--target",
        "vote",
        "--folds",
        "3",
        "--epochs",
        "8",
    ];
    let report = cv(&args);
    assert_eq!(report["task"], "classification");
    assert_eq!(report["folds"], 3);
    assert_eq!(report["rows"], 2025);
    let names: Vec<&String> = report["metrics"].as_object().unwrap().keys().collect();
    for name in [
        "accuracy",
        "balanced_accuracy",
        "macro_f1",
        "weighted_f1",
        "log_loss",
        "roc_auc",
        "mcc",
    ] {
        assert!(names.iter().any(|n| *n == name), "missing {name}");
    }
    let accuracy = &report["metrics"]["accuracy"];
    let folds: Vec<f64> = accuracy["folds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(folds.len(), 3);
    let mean = folds.iter().sum::<f64>() / 3.0;
    assert!((accuracy["mean"].as_f64().unwrap() - mean).abs() < 1e-12);
    let std = (folds.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    assert!((accuracy["std"].as_f64().unwrap() - std).abs() < 1e-12);
    // Well above the majority class (35%) on every fold, and the folds differ.
    assert!(folds.iter().all(|&f| f > 0.55), "{folds:?}");
    assert!(std > 0.0);
    assert_eq!(
        cv(&args),
        report,
        "seeded: the same flags give the same numbers"
    );
}

#[test]
fn regression_cv_and_bad_fold_counts() {
    let report = cv(&[
        "--data",
        &data("auto_mpg.train.csv"),
        "--target",
        "mpg",
        "--drop",
        "name",
        "--folds",
        "4",
        "--epochs",
        "30",
    ]);
    assert_eq!(report["task"], "regression");
    let r2 = report["metrics"]["r2"]["mean"].as_f64().unwrap();
    assert!(r2 > 0.6, "r2 {r2}");
    Command::cargo_bin("csvnn")
        .unwrap()
        .args([
            "cv",
            "--data",
            &data("auto_mpg.train.csv"),
            "--target",
            "mpg",
            "--folds",
            "1",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "expected a whole number of at least 2",
        ));
}
