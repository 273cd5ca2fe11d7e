//! `csvnn compress --prune`: a trained model pruned to 80% sparsity and fine-tuned on
//! chile_vote; the zeros are in the file, every command reads it, a hand edit is refused,
//! and each bad call says what is wrong.

use std::fs;
use std::path::{Path, PathBuf};

use super::util::{csvnn, data, evaluate_json, stdout_of};
use predicates::prelude::*;
use serde_json::Value;

fn train(dir: &Path) -> PathBuf {
    let model = dir.join("model.json");
    csvnn()
        .args(["--quiet", "train", "-o"])
        .arg(&model)
        .args(["--data", &data("chile_vote.train.csv"), "--target", "vote"])
        .args(["--hidden", "64,64", "--epochs", "15", "--seed", "3"])
        .assert()
        .success();
    model
}

fn prune(model: &Path, out: &Path, extra: &[&str]) {
    csvnn()
        .args(["--quiet", "compress", "--model"])
        .arg(model)
        .arg("-o")
        .arg(out)
        .args(["--prune", "0.8", "--data", &data("chile_vote.train.csv")])
        .args(extra)
        .assert()
        .success();
}

/// Every number under `value`.
fn numbers(value: &Value, out: &mut Vec<f64>) {
    match value {
        Value::Number(n) => out.push(n.as_f64().unwrap()),
        Value::Array(items) => items.iter().for_each(|v| numbers(v, out)),
        _ => {}
    }
}

/// (zeros, weights) of the dense layers' weight matrices of a model file.
fn dense_zeros(model: &Value) -> (usize, usize) {
    let mut weights = Vec::new();
    for layer in model["network"]["layers"].as_array().unwrap() {
        if layer["type"] == "dense" {
            numbers(&layer["weights"], &mut weights);
        }
    }
    let zeros = weights.iter().filter(|&&w| w == 0.0).count();
    (zeros, weights.len())
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_pruned_model_holds_its_zeros_and_every_command_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = train(d);
    let small = d.join("small.json");
    prune(&model, &small, &["--epochs", "3"]);

    let file = read(&small);
    assert_eq!(file["format_version"], 4);
    let (zeros, weights) = dense_zeros(&file);
    assert_eq!(zeros, (0.8 * weights as f64).round() as usize);
    let note = &file["compression"]["pruned"];
    assert_eq!(note["sparsity"], 0.8);
    assert_eq!(note["threshold"], "global");
    assert_eq!(note["fine_tune_epochs"], 3);
    assert_eq!(note["data"], "chile_vote.train.csv");
    let recorded: u64 = (note["layers"].as_array().unwrap().iter())
        .map(|l| l["zeros"].as_u64().unwrap())
        .sum();
    assert_eq!(recorded as usize, zeros);
    // The unpruned model is format 1 and has no compression key.
    let original = read(&model);
    assert_eq!(original["format_version"], 1);
    assert!(original.get("compression").is_none());

    // Fine-tuned, the pruned model still beats the majority class (0.35) by far.
    let test = data("chile_vote.test.csv");
    let before = evaluate_json(&model, &test)["accuracy"].as_f64().unwrap();
    let after = evaluate_json(&small, &test)["accuracy"].as_f64().unwrap();
    assert!(after > 0.55, "pruned accuracy {after} (unpruned {before})");

    let table = stdout_of(csvnn().args(["inspect", "--model"]).arg(&small));
    assert!(table.contains(
        "  pruned: magnitude, sparsity 0.8 asked (global threshold), fine-tuned 3 epochs on chile_vote.train.csv (2025 rows)"
    ), "{table}");
    assert!(table.contains("weights 80.0% zero"), "{table}");
    assert!(table.contains("size:     "), "{table}");
    let json: Value = serde_json::from_str(&stdout_of(
        csvnn()
            .args(["inspect", "--format", "json", "--model"])
            .arg(&small),
    ))
    .unwrap();
    assert!((json["compression"]["sparsity"].as_f64().unwrap() - 0.8).abs() < 1e-3);
    assert!(
        json["compression"]["nonzero_params"].as_u64().unwrap()
            < json["architecture"]["params"].as_u64().unwrap() / 4
    );

    let predicted = stdout_of(
        csvnn()
            .args(["predict", "--model"])
            .arg(&small)
            .args(["--data", &test]),
    );
    assert_eq!(predicted.lines().count(), 508);
    let report = d.join("report.html");
    csvnn()
        .args(["--quiet", "report", "--model"])
        .arg(&small)
        .args(["--data", &test, "-o"])
        .arg(&report)
        .assert()
        .success();
    assert!(fs::metadata(&report).unwrap().len() > 1000);
    stdout_of(
        csvnn()
            .args(["explain", "--repeats", "1", "--model"])
            .arg(&small)
            .args(["--data", &test]),
    );

    // Per-layer thresholds give every layer the sparsity.
    let per_layer = d.join("layer.json");
    prune(
        &model,
        &per_layer,
        &["--epochs", "0", "--prune-scope", "layer"],
    );
    for layer in read(&per_layer)["compression"]["pruned"]["layers"]
        .as_array()
        .unwrap()
    {
        let (z, w) = (
            layer["zeros"].as_f64().unwrap(),
            layer["weights"].as_f64().unwrap(),
        );
        assert!((z / w - 0.8).abs() < 0.01, "{layer}");
    }
}

#[test]
fn a_hand_edited_pruned_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = train(d);
    let small = d.join("small.json");
    prune(&model, &small, &["--epochs", "0"]);
    let mut file = read(&small);
    let note = file["compression"]["pruned"]["layers"][0].clone();
    let (zeros, weights) = (
        note["zeros"].as_u64().unwrap(),
        note["weights"].as_u64().unwrap(),
    );
    // Un-prune one weight of the first layer.
    let first = &mut file["network"]["layers"][0]["weights"];
    fn first_zero(v: &mut Value) -> Option<&mut Value> {
        match v {
            Value::Array(items) => items.iter_mut().find_map(first_zero),
            Value::Number(n) if n.as_f64() == Some(0.0) => Some(v),
            _ => None,
        }
    }
    *first_zero(first).unwrap() = serde_json::json!(0.5);
    let edited = d.join("edited.json");
    fs::write(&edited, serde_json::to_string(&file).unwrap()).unwrap();
    csvnn()
        .args(["evaluate", "--model"])
        .arg(&edited)
        .args(["--data", &data("chile_vote.test.csv")])
        .assert()
        .failure()
        .stderr(format!(
            "csvnn: error: {}: layer 1 holds {} zero weights of {weights}, but the pruning record says {zeros} of {weights}; the file was edited or damaged\n",
            edited.display(),
            zeros - 1
        ));
}

#[test]
fn bad_pruning_calls_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = train(d);
    let out = d.join("small.json");
    let compress = || {
        let mut cmd = csvnn();
        cmd.args(["compress", "--model"])
            .arg(&model)
            .arg("-o")
            .arg(&out);
        cmd
    };
    compress()
        .args(["--prune", "1", "--data", &data("chile_vote.train.csv")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: invalid value '1' for '--prune <S>': expected a fraction between 0 and 1, both excluded, e.g. 0.8",
        ));
    compress()
        .args(["--prune", "0.8"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: the following required arguments were not provided:\n  --data <FILE>",
        ));
    compress().assert().code(2).stderr(predicate::str::contains(
        "error: the following required arguments were not provided:\n  <--int8|--prune <S>>",
    ));
    // Another table: its target is not the model's.
    let mpg = data("auto_mpg.train.csv");
    compress()
        .args(["--prune", "0.8", "--data", &mpg])
        .assert()
        .failure()
        .stderr(format!(
            "csvnn: error: {mpg}: the target column 'vote' is missing; fine-tuning a pruned model needs it\n"
        ));
    // A regression model on a table whose target holds labels.
    let regression = d.join("mpg.json");
    csvnn()
        .args(["--quiet", "train", "-o"])
        .arg(&regression)
        .args([
            "--data", &mpg, "--target", "mpg", "--drop", "name", "--epochs", "2",
        ])
        .assert()
        .success();
    let text = fs::read_to_string(&mpg).unwrap();
    let labelled = d.join("labelled.csv");
    fs::write(&labelled, text.replacen("\n29.0,", "\nhigh,", 1)).unwrap();
    csvnn()
        .args(["compress", "--model"])
        .arg(&regression)
        .arg("-o")
        .arg(&out)
        .arg("--prune")
        .arg("0.5")
        .arg("--data")
        .arg(&labelled)
        .assert()
        .failure()
        .stderr(format!(
            "csvnn: error: {}: line 2: column 'mpg': 'high' is not a finite number; expected a number for a regression target\n",
            labelled.display()
        ));
    // A table without one of the model's columns.
    let chile = fs::read_to_string(data("chile_vote.train.csv")).unwrap();
    let no_age: String = chile
        .lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split(',').collect();
            cells.remove(3);
            cells.join(",") + "\n"
        })
        .collect();
    let without = d.join("no_age.csv");
    fs::write(&without, no_age).unwrap();
    compress()
        .arg("--quiet")
        .arg("--prune")
        .arg("0.5")
        .arg("--data")
        .arg(&without)
        .assert()
        .failure()
        .stderr(format!(
            "csvnn: error: {}: the feature column 'age' is missing; the model needs it; the columns are: region, population, sex, education, income, statusquo, vote\n",
            without.display()
        ));
    assert!(!out.exists());
}

#[test]
fn prune_and_int8_together_prune_first_and_an_int8_model_is_not_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = train(d);
    let both = d.join("both.json");
    prune(&model, &both, &["--int8", "--epochs", "2"]);
    let file: Value = serde_json::from_str(&fs::read_to_string(&both).unwrap()).unwrap();
    assert_eq!(file["format_version"], 6);
    let record = &file["compression"];
    assert_eq!(record["pruned"]["sparsity"], 0.8, "{record}");
    assert_eq!(record["int8"]["layers_int8"], 3, "{record}");
    let types: Vec<&str> = file["network"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["type"].as_str().unwrap())
        .collect();
    assert!(types.iter().all(|t| *t != "dense"), "{types:?}");
    // It loads (the pruning record is not checked against int8 layers) and scores.
    let report = evaluate_json(&both, &data("chile_vote.test.csv"));
    assert!(report["accuracy"].as_f64().unwrap() > 0.5, "{report}");
    // An int8 model cannot be fine-tuned.
    let again = d.join("again.json");
    csvnn()
        .args(["compress", "--model"])
        .arg(&both)
        .arg("-o")
        .arg(&again)
        .args(["--prune", "0.5", "--data", &data("chile_vote.train.csv")])
        .assert()
        .failure()
        .stderr("csvnn: error: the model's weights are already int8, which cannot be fine-tuned; expected an f32 model (prune first, then quantize: --prune with --int8 does both in that order)\n");
    assert!(!again.exists());
}
