//! `csvnn explain` on real data: a column of pure noise, added by the test, ranks last or
//! near last; the important columns rank first.

use std::fs;
use std::path::{Path, PathBuf};

use super::util::{csvnn, data};
use predicates::prelude::*;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// Copy `source` to `dir/name` with a `noise` column appended: numbers drawn from a seeded
/// RNG, or letters a..e when `categorical`.
fn with_noise(source: &str, dir: &Path, name: &str, seed: u64, categorical: bool) -> PathBuf {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let text = fs::read_to_string(source).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        out.push_str(line);
        if i == 0 {
            out.push_str(",noise\n");
        } else if categorical {
            out.push_str(&format!(",{}\n", (b'a' + rng.gen_range(0..5u8)) as char));
        } else {
            out.push_str(&format!(",{:.4}\n", rng.gen_range(-100.0..100.0f64)));
        }
    }
    let path = dir.join(name);
    fs::write(&path, out).unwrap();
    path
}

fn train(dir: &Path, train_csv: &Path, args: &[&str]) -> PathBuf {
    let model = dir.join("model.json");
    csvnn()
        .args(["--quiet", "train", "-o"])
        .arg(&model)
        .arg("--data")
        .arg(train_csv)
        .args(args)
        .assert()
        .success();
    model
}

fn explain_json(model: &Path, test_csv: &Path, repeats: usize) -> Value {
    let out = csvnn()
        .args(["explain", "--format", "json", "--seed", "7", "--model"])
        .arg(model)
        .arg("--data")
        .arg(test_csv)
        .args(["--repeats", &repeats.to_string()])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

fn ranked(result: &Value, repeats: usize) -> Vec<(String, f64, f64)> {
    result["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["drops"].as_array().unwrap().len(), repeats);
            (
                c["column"].as_str().unwrap().to_string(),
                c["mean_drop"].as_f64().unwrap(),
                c["std_drop"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn numeric_noise_ranks_last_on_chile_vote() {
    let dir = tempfile::tempdir().unwrap();
    let train_csv = with_noise(
        &data("chile_vote.train.csv"),
        dir.path(),
        "train.csv",
        1,
        false,
    );
    let test_csv = with_noise(
        &data("chile_vote.test.csv"),
        dir.path(),
        "test.csv",
        2,
        false,
    );
    let model = train(
        dir.path(),
        &train_csv,
        &[
            "--target",
            "vote",
            "--categorical",
            "region,sex,education",
            "--epochs",
            "10",
        ],
    );
    let result = explain_json(&model, &test_csv, 10);
    assert_eq!(result["metric"], "accuracy");
    assert_eq!(result["rows"], 507);
    let baseline = result["baseline"].as_f64().unwrap();
    assert!(baseline > 0.6, "baseline accuracy {baseline}");
    let columns = ranked(&result, 10);
    assert_eq!(columns.len(), 8, "7 features and the noise");
    // Sorted by mean drop, largest first.
    assert!(columns.windows(2).all(|w| w[0].1 >= w[1].1));
    // The attitude to the status quo decides the vote.
    assert_eq!(columns[0].0, "statusquo");
    assert!(columns[0].1 > 0.1, "{columns:?}");
    // On this file only statusquo matters much: the other columns' drops are within about
    // 0.01 of zero, so "near last" is the bottom three, with a drop under 1%.
    let noise = columns.iter().position(|c| c.0 == "noise").unwrap();
    assert!(
        noise >= columns.len() - 3,
        "noise ranks {noise}: {columns:?}"
    );
    assert!(columns[noise].1.abs() < 0.01, "{columns:?}");
}

#[test]
fn categorical_noise_ranks_last_on_auto_mpg_regression() {
    let dir = tempfile::tempdir().unwrap();
    let train_csv = with_noise(
        &data("auto_mpg.train.csv"),
        dir.path(),
        "train.csv",
        3,
        true,
    );
    let test_csv = with_noise(&data("auto_mpg.test.csv"), dir.path(), "test.csv", 4, true);
    let model = train(
        dir.path(),
        &train_csv,
        &[
            "--target",
            "mpg",
            "--drop",
            "name",
            "--categorical",
            "origin,noise",
            "--epochs",
            "60",
        ],
    );
    let result = explain_json(&model, &test_csv, 5);
    assert_eq!(result["metric"], "r2");
    let columns = ranked(&result, 5);
    assert_eq!(columns.len(), 8);
    // The noise column is one categorical column (5 one-hot inputs permuted together).
    let kinds: Vec<&str> = result["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["column"] == "noise")
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["categorical"]);
    let noise = columns.iter().position(|c| c.0 == "noise").unwrap();
    assert!(
        noise >= columns.len() - 2,
        "noise ranks {noise}: {columns:?}"
    );
    assert!(columns[0].1 > 0.1, "{columns:?}");
}

#[test]
fn the_table_names_the_metric_and_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let model = train(
        dir.path(),
        Path::new(&data("auto_mpg.train.csv")),
        &["--target", "mpg", "--drop", "name", "--epochs", "5"],
    );
    csvnn()
        .args(["explain", "--repeats", "2", "--model"])
        .arg(&model)
        .args(["--data", &data("auto_mpg.test.csv")])
        .assert()
        .success()
        .stdout(predicate::str::contains("drop in R²"))
        .stdout(predicate::str::contains("rank  column"));
    csvnn()
        .args(["explain", "--repeats", "0", "--model"])
        .arg(&model)
        .args(["--data", &data("auto_mpg.test.csv")])
        .assert()
        .code(2);
    // The test file without its target column cannot be scored.
    let no_target = dir.path().join("no_target.csv");
    let text = fs::read_to_string(data("auto_mpg.test.csv")).unwrap();
    let stripped: String = text
        .lines()
        .map(|l| l.split_once(',').unwrap().1.to_string() + "\n")
        .collect();
    fs::write(&no_target, stripped).unwrap();
    csvnn()
        .args(["explain", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&no_target)
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("csvnn: error: "))
        .stderr(predicate::str::contains("no_target.csv"))
        .stderr(predicate::str::contains("'mpg'"))
        .stderr(predicate::function(|s: &str| s.lines().count() == 1));
    // Rows without a target are left out and named, as evaluate names them.
    let one_missing = dir.path().join("one_missing.csv");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[2] = ",".to_string() + lines[2].split_once(',').unwrap().1;
    fs::write(&one_missing, lines.join("\n") + "\n").unwrap();
    csvnn()
        .args(["explain", "--repeats", "1", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&one_missing)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "one_missing.csv: 1 row has no target value and is not scored (lines 3)",
        ));
}
