//! What `train` chooses when nothing is said: a table of fewer than 500 rows trains on all
//! of them (no validation split) unless a split, a patience or a plateau schedule is asked
//! for; a one-channel series goes to the dense layers whole (`flatten`) instead of
//! through attention; the hidden layers of a plain table use tanh, those behind encoders
//! ReLU.

use std::fs;
use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

use super::util::{csvnn, data};

const SMALL_TABLE_LINE: &str = "csvnn: 313 rows: fewer than 500, so all of them train and none is held out for validation (a 10% split is too small to choose an epoch by); --validation-split 0.1 holds rows out anyway\n";

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// `train` on auto_mpg's 313 training rows for 2 epochs with `extra`; returns stderr.
fn train_auto_mpg(model: &Path, extra: &[&str]) -> String {
    let out = csvnn()
        .args(["train", "--data", &data("auto_mpg.train.csv")])
        .args(["--target", "mpg", "--drop", "name", "--epochs", "2", "-o"])
        .arg(model)
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn a_table_under_500_rows_trains_on_all_of_them_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let stderr = train_auto_mpg(&model, &[]);
    assert!(stderr.contains(SMALL_TABLE_LINE), "{stderr}");
    assert!(stderr.contains("parameters) on 313 rows\n"), "{stderr}");
    assert!(!stderr.contains("validating"), "{stderr}");
    let training = &json(&model)["training"];
    assert_eq!(training["rows_train"], 313);
    assert_eq!(training["rows_validation"], 0);
    assert_eq!(training["validation_split"], 0.0);
}

#[test]
fn a_chosen_split_patience_or_plateau_keeps_validation_on_a_small_table() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    for extra in [
        &["--validation-split", "0.1"][..],
        &["--validation-split", "0.2"],
        &["--patience", "5"],
        &["--reduce-on-plateau"],
        &["--monitor", "r2"],
    ] {
        let stderr = train_auto_mpg(&model, extra);
        assert!(!stderr.contains("fewer than 500"), "{extra:?}: {stderr}");
        assert!(
            predicate::str::is_match(r"on \d+ rows, validating on \d+ rows\n")
                .unwrap()
                .eval(&stderr),
            "{extra:?}: {stderr}"
        );
        assert!(
            json(&model)["training"]["rows_validation"]
                .as_u64()
                .unwrap()
                > 0
        );
    }
}

#[test]
fn a_table_of_500_rows_or_more_keeps_the_default_split() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    csvnn()
        .args(["train", "--data", &data("chile_vote.train.csv")])
        .args(["--target", "vote", "--epochs", "1", "-o"])
        .arg(&model)
        .assert()
        .success()
        .stderr(predicate::str::contains("fewer than 500").not())
        .stderr(predicate::str::contains(
            "on 1823 rows, validating on 202 rows\n",
        ));
    assert_eq!(json(&model)["training"]["validation_split"], 0.1);
}

/// 68 training rows of japanesevowels (tests/fixtures/sequences).
fn vowels_csv() -> String {
    format!(
        "{}/tests/fixtures/sequences/jv.csv",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The layers of the one encoder of a series model trained on 68 rows of
/// japanesevowels read as `shape`, with `extra` flags.
fn series_encoder(shape: &str, extra: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let train_csv = vowels_csv();
    csvnn()
        .args([
            "--quiet", "train", "--data", &train_csv, "--target", "label",
        ])
        .args(["--sequence-shape", shape, "--epochs", "2", "-o"])
        .arg(&model)
        .args(extra)
        .assert()
        .success();
    let m = json(&model);
    m["network"]["layers"][0]["branches"][0]["encoder"]["layers"]
        .as_array()
        .unwrap()
        .clone()
}

fn types(layers: &[Value]) -> Vec<&str> {
    layers.iter().map(|l| l["type"].as_str().unwrap()).collect()
}

#[test]
fn a_one_channel_series_goes_whole_to_the_dense_layers() {
    let layers = series_encoder("300x1", &[]);
    assert_eq!(types(&layers), ["sequence_pool"]);
    assert_eq!(layers[0]["mode"], "flatten");
    // Another pooling asked for: the default attention block comes back.
    let layers = series_encoder("300x1", &["--pool", "mean"]);
    assert_eq!(
        types(&layers),
        [
            "time_dense",
            "positional_embedding",
            "transformer_encoder",
            "sequence_pool"
        ]
    );
    // Several channels keep attention.
    let layers = series_encoder("25x12", &[]);
    assert_eq!(layers.last().unwrap()["mode"], "mean");
    assert!(types(&layers).contains(&"transformer_encoder"));
}

#[test]
fn flatten_pooling_after_a_gru_feeds_every_state_to_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let train_csv = vowels_csv();
    csvnn()
        .args(["train", "--data", &train_csv, "--target", "label"])
        .args(["--sequence-shape", "25x12", "--epochs", "2", "-o"])
        .arg(&model)
        .args(["--rnn", "gru:4", "--pool", "flatten", "--hidden", "8"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "training a 301-[series 25x12: gru:4, flatten]-8-9 network",
        ));
    let layers = &json(&model)["network"]["layers"];
    // 25 steps of 4 hidden values reach the first dense layer.
    assert_eq!(layers[1]["type"], "dense", "{}", layers[1]);
    assert_eq!(layers[1]["n_in"], 100, "{}", layers[1]);
}

/// The activation a model of `series_encoder`'s kind recorded, trained with `extra`.
fn series_activation(shape: &str, extra: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    csvnn()
        .args([
            "--quiet",
            "train",
            "--data",
            &vowels_csv(),
            "--target",
            "label",
        ])
        .args(["--sequence-shape", shape, "--epochs", "1", "-o"])
        .arg(&model)
        .args(extra)
        .assert()
        .success();
    json(&model)["training"]["activation"].clone()
}

#[test]
fn the_default_activation_is_tanh_for_plain_tables_and_relu_behind_encoders() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    train_auto_mpg(&model, &[]);
    let m = json(&model);
    assert_eq!(m["training"]["activation"], "tanh");
    assert_eq!(
        m["network"]["layers"][1]["function"], "tanh",
        "{}",
        m["network"]["layers"][1]
    );
    // Given, it is kept.
    train_auto_mpg(&model, &["--activation", "relu"]);
    assert_eq!(json(&model)["training"]["activation"], "relu");
    // Behind a sequence encoder (attention, or the whole series flattened) ReLU stays.
    assert_eq!(series_activation("25x12", &[]), "relu");
    assert_eq!(series_activation("300x1", &[]), "relu");
    assert_eq!(
        series_activation("25x12", &["--activation", "tanh"]),
        "tanh"
    );
}
