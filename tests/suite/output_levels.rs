//! What `train` and `cv` print on a pipe at each output level: `-q`, `--no-progress`, the
//! default and `-v` (assert_cmd's captures are pipes).

use assert_cmd::Command;
use predicates::prelude::*;

use super::util::{csvnn, data};

/// `csvnn [level flags] train` on auto_mpg (regression on mpg) for `epochs` epochs,
/// without early stopping unless `extra` sets `--patience`; returns (stdout, stderr) of
/// the successful run.
fn train(levels: &[&str], epochs: usize, extra: &[&str]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let output = train_command(levels, epochs, extra)
        .arg(dir.path().join("m.json"))
        .assert()
        .success()
        .get_output()
        .clone();
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn train_command(levels: &[&str], epochs: usize, extra: &[&str]) -> Command {
    let mut cmd = csvnn();
    cmd.args(levels)
        .args(["train", "--data", &data("auto_mpg.train.csv")])
        .args(["--target", "mpg", "--drop", "name", "--hidden", "8"])
        .args(["--epochs", &epochs.to_string()])
        .args(extra);
    if !extra.contains(&"--patience") {
        cmd.args(["--patience", "0"]);
    }
    cmd.arg("-o");
    cmd
}

/// The epochs of the `csvnn: epoch E/N ...` lines, in order.
fn epoch_lines(stderr: &str) -> Vec<usize> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("csvnn: epoch "))
        .map(|l| l.split('/').next().unwrap().parse().unwrap())
        .collect()
}

fn has_summary(stderr: &str) -> bool {
    stderr.contains("csvnn: validation: loss ") && stderr.contains("csvnn: saved the model to ")
}

#[test]
fn on_a_pipe_the_default_prints_about_ten_epoch_lines_and_the_summary() {
    let (stdout, stderr) = train(&[], 200, &[]);
    assert_eq!(stdout, "");
    assert_eq!(
        epoch_lines(&stderr),
        [1, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200]
    );
    assert!(has_summary(&stderr), "{stderr}");
    // The summary comes after the last epoch line.
    let last_epoch = stderr.find("csvnn: epoch 200/200").unwrap();
    assert!(stderr.find("csvnn: validation:").unwrap() > last_epoch);
}

#[test]
fn verbose_prints_every_epoch() {
    for flag in ["-v", "--verbose"] {
        let (_, stderr) = train(&[flag], 30, &[]);
        assert_eq!(epoch_lines(&stderr), (1..=30).collect::<Vec<_>>());
        assert!(has_summary(&stderr), "{stderr}");
    }
}

#[test]
fn no_progress_prints_the_summary_only() {
    let (stdout, stderr) = train(&["--no-progress"], 30, &[]);
    assert_eq!(stdout, "");
    assert_eq!(epoch_lines(&stderr), Vec::<usize>::new());
    assert!(has_summary(&stderr), "{stderr}");
    assert!(stderr.contains("csvnn: task: regression"), "{stderr}");
}

#[test]
fn quiet_prints_nothing_on_success() {
    for flag in ["-q", "--quiet"] {
        let (stdout, stderr) = train(&[flag], 30, &[]);
        assert_eq!((stdout.as_str(), stderr.as_str()), ("", ""));
    }
    // --quiet wins over --no-progress (scripts that add one to the other keep silence).
    let (stdout, stderr) = train(&["-q", "--no-progress"], 5, &[]);
    assert_eq!((stdout.as_str(), stderr.as_str()), ("", ""));
}

#[test]
fn quiet_still_prints_warnings() {
    let dir = tempfile::tempdir().unwrap();
    csvnn()
        .current_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/data_errors"
        ))
        .args([
            "-q",
            "train",
            "--data",
            "missing_target.csv",
            "--target",
            "y",
        ])
        .args(["--epochs", "2", "-o"])
        .arg(dir.path().join("m.json"))
        .assert()
        .success()
        .stdout("")
        .stderr(
            "csvnn: warning: missing_target.csv: 2 rows have no target value and are left out \
             (lines 6, 7)\n",
        );
}

#[test]
fn verbose_conflicts_with_quiet_and_no_progress() {
    for other in ["-q", "--no-progress"] {
        csvnn()
            .args(["-v", other, "train", "--data", "x.csv", "--target", "y"])
            .args(["-o", "m.json"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("cannot be used with"));
    }
}

#[test]
fn early_stopping_prints_the_last_epoch_before_the_summary() {
    // 300 epochs: a line every 30; patience 1 stops well before epoch 30.
    let (_, stderr) = train(&[], 300, &["--patience", "1", "--lr", "0.05"]);
    let epochs = epoch_lines(&stderr);
    let last = *epochs.last().unwrap();
    assert_eq!(epochs, [1, last], "{stderr}");
    let stop = format!("csvnn: stopped early after {last} epochs;");
    assert!(stderr.contains(&stop), "{stderr}");
    assert!(stderr.find(&stop).unwrap() > stderr.find(&format!("epoch {last}/300")).unwrap());
}

#[test]
fn the_regression_summary_says_which_number_is_in_which_units() {
    let (_, stderr) = train(&[], 3, &[]);
    assert!(
        stderr.contains(
            "csvnn: regression: losses are the MSE of the standardised target; \
             rmse is in the target's units\n"
        ),
        "{stderr}"
    );
    let summary = predicate::str::is_match(
        r"csvnn: validation: loss \d+\.\d{6} \(MSE of the standardised target\), rmse \d+\.\d{6} \(target units\)\n",
    )
    .unwrap();
    assert!(summary.eval(&stderr), "{stderr}");
    // The legend goes with the progress: the summary alone labels itself.
    let (_, stderr) = train(&["--no-progress"], 3, &[]);
    assert!(!stderr.contains("csvnn: regression: losses"), "{stderr}");
    assert!(summary.eval(&stderr), "{stderr}");
}

#[test]
fn a_classification_summary_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    csvnn()
        .args(["train", "--data", &data("auto_mpg.train.csv")])
        .args(["--target", "cylinders", "--drop", "name", "--epochs", "2"])
        // A table this small trains whole unless a split is asked for.
        .args(["--validation-split", "0.1", "-o"])
        .arg(dir.path().join("m.json"))
        .assert()
        .success()
        .stderr(
            predicate::str::is_match(r"csvnn: validation: loss \d+\.\d{6}, accuracy \d\.\d{6}\n")
                .unwrap(),
        )
        .stderr(predicate::str::contains("losses are the MSE").not());
}

fn cv(levels: &[&str]) -> (String, String) {
    let output = csvnn()
        .args(levels)
        .args(["cv", "--data", &data("auto_mpg.train.csv")])
        .args(["--target", "mpg", "--drop", "name", "--hidden", "8"])
        .args(["--epochs", "3", "--folds", "3"])
        .assert()
        .success()
        .get_output()
        .clone();
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn cv_keeps_its_fold_lines_at_every_level_but_quiet() {
    for levels in [&[][..], &["-v"], &["--no-progress"]] {
        let (stdout, stderr) = cv(levels);
        assert!(stdout.starts_with("3-fold cross-validation"), "{stdout}");
        let folds = stderr
            .lines()
            .filter(|l| l.starts_with("csvnn: fold "))
            .count();
        assert_eq!(folds, 3, "{levels:?}: {stderr}");
        assert_eq!(epoch_lines(&stderr), Vec::<usize>::new());
    }
    let (stdout, stderr) = cv(&["-q"]);
    assert!(stdout.starts_with("3-fold cross-validation"), "{stdout}");
    assert_eq!(stderr, "");
}

#[test]
fn inspect_says_which_regression_number_is_in_which_units() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    train_command(&["-q"], 2, &[])
        .arg(&model)
        .assert()
        .success();
    csvnn()
        .args(["inspect", "--model"])
        .arg(&model)
        .assert()
        .success()
        .stdout(
            predicate::str::is_match(
                r"\nvalidation metrics: loss \d+\.\d+ \(MSE of the standardised target\), rmse \d+\.\d+ \(target units\)\n",
            )
            .unwrap(),
        );
}

#[test]
fn the_level_flags_are_listed_apart_as_global_options() {
    let help = csvnn().args(["train", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let global = help
        .find("\nGlobal options:\n  -q, --quiet\n")
        .expect(&help);
    // Every one of train's own flags comes before the global ones.
    assert!(help.find("--target <COL>").unwrap() < global, "{help}");
    for flag in ["--no-progress", "-v, --verbose", "--threads <N>"] {
        assert!(help.find(flag).unwrap() > global, "{flag}: {help}");
    }
}
