//! Text and series models end to end: GRU, LSTM and attention encoders over a series, bag
//! and GRU encoders over a text column, mixed with plain columns; evaluate, predict,
//! inspect, determinism across thread counts, checkpoint and resume, streaming predict,
//! cv, explain, and the errors of the encoder flags. The data are small slices of
//! `../shared/data/{japanesevowels,tweets}` kept in tests/fixtures/sequences.

use std::fs;
use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

use super::util::{csvnn, data, evaluate_json, stdout_of};

/// A slice of a sequence or text dataset of `../shared/data`, kept in
/// tests/fixtures/sequences (written by its make.py).
fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/sequences/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// 68 training rows of japanesevowels (every 4th: all 9 classes) and 37 test rows.
fn vowels(_dir: &Path) -> (String, String) {
    (fixture("jv.csv"), fixture("jvt.csv"))
}

/// 300 training tweets and 80 test tweets, both classes in each.
fn tweets(_dir: &Path) -> (String, String) {
    (fixture("tw.csv"), fixture("twt.csv"))
}

/// `csvnn [global] train -o model args`, which must succeed.
fn train(global: &[&str], model: &Path, args: &[&str]) {
    csvnn()
        .arg("--quiet")
        .args(global)
        .arg("train")
        .arg("-o")
        .arg(model)
        .args(args)
        .assert()
        .success();
}

/// Three epochs unless the arguments say otherwise.
fn with_defaults(mut args: Vec<&str>) -> Vec<&str> {
    if !args.contains(&"--epochs") {
        args.extend_from_slice(&["--epochs", "3"]);
    }
    args
}

fn series_args<'a>(train_csv: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--data",
        train_csv,
        "--target",
        "label",
        "--sequence-shape",
        "25x12",
    ];
    args.extend_from_slice(extra);
    with_defaults(args)
}

fn text_args<'a>(train_csv: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--data", train_csv, "--target", "source"];
    args.extend_from_slice(extra);
    if !extra.contains(&"--drop") {
        args.extend_from_slice(&["--drop", "created_at"]);
    }
    with_defaults(args)
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// The model file's first layer, which must be `branches`.
fn branches_layer(model: &Path) -> Value {
    let m = json(model);
    assert_eq!(m["format_version"], 3);
    let layer = m["network"]["layers"][0].clone();
    assert_eq!(layer["type"], "branches", "{layer}");
    layer
}

/// The layer types of the encoder of the `i`-th block.
fn encoder_layer_types(branches: &Value, i: usize) -> Vec<String> {
    branches["branches"][i]["encoder"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["type"].as_str().unwrap().to_string())
        .collect()
}

fn predictions(model: &Path, data_csv: &str, extra: &[&str]) -> String {
    stdout_of(
        csvnn()
            .args(["predict", "--model"])
            .arg(model)
            .args(["--data", data_csv])
            .args(extra),
    )
}

fn records(path: &str) -> usize {
    csv::Reader::from_path(path).unwrap().records().count()
}

/// Trains a series model with `encoder` flags; checks the model file, evaluate, predict and
/// the inspect architecture.
fn series_round_trip(encoder: &[&str], expected_layers: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (train_csv, test_csv) = vowels(dir.path());
    let model = dir.path().join("m.json");
    train(&[], &model, &series_args(&train_csv, encoder));

    let branches = branches_layer(&model);
    assert_eq!(branches["n_inputs"], 301);
    assert_eq!(branches["branches"].as_array().unwrap().len(), 1);
    assert_eq!(encoder_layer_types(&branches, 0), expected_layers);

    let report = evaluate_json(&model, &test_csv);
    assert_eq!(report["rows"], 37, "{report}");
    let accuracy = report["accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&accuracy), "{report}");

    let out = predictions(&model, &test_csv, &[]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "prediction");
    assert_eq!(lines.len() - 1, records(&test_csv));
    for label in &lines[1..] {
        assert!((1..=9).any(|c| c.to_string() == *label), "{label}");
    }

    let text = stdout_of(csvnn().arg("inspect").arg("--model").arg(&model));
    assert!(text.contains("format 3"), "{text}");
    assert!(
        text.contains("t000_c0..t024_c11  sequence     25 steps x 12 channels"),
        "{text}"
    );
    assert!(text.contains("branches    301 -> "), "{text}");
    assert!(text.contains("(0 plain, 1 encoded block)"), "{text}");
    let report: Value = serde_json::from_str(&stdout_of(
        csvnn()
            .args(["inspect", "--format", "json", "--model"])
            .arg(&model),
    ))
    .unwrap();
    assert_eq!(report["format_version"], 3);
    assert_eq!(report["architecture"]["layers"][0]["type"], "branches");
    assert_eq!(report["inputs"][0]["type"], "sequence");
    assert_eq!(report["inputs"][0]["steps"], 25);
    assert_eq!(report["inputs"][0]["channels"], 12);
}

#[test]
fn a_gru_series_model_trains_evaluates_predicts_and_inspects() {
    series_round_trip(&["--rnn", "gru:16"], &["gru", "sequence_pool"]);
}

#[test]
fn an_lstm_series_model_trains_evaluates_predicts_and_inspects() {
    series_round_trip(
        &["--rnn", "lstm:8,lstm:8", "--pool", "max"],
        &["lstm", "lstm", "sequence_pool"],
    );
}

#[test]
fn an_attention_series_model_trains_evaluates_predicts_and_inspects() {
    series_round_trip(
        &["--attention", "2:16"],
        &[
            "time_dense",
            "positional_embedding",
            "transformer_encoder",
            "sequence_pool",
        ],
    );
}

#[test]
fn inspect_lists_the_layers_of_each_encoder() {
    let dir = tempfile::tempdir().unwrap();
    let (train_csv, _) = vowels(dir.path());
    let model = dir.path().join("m.json");
    train(&[], &model, &series_args(&train_csv, &["--rnn", "gru:16"]));
    let text = stdout_of(csvnn().arg("inspect").arg("--model").arg(&model));
    assert!(text.contains("1.1.1    gru"), "{text}");
    assert!(text.contains("1.1.2    sequence_pool"), "{text}");
    let report = stdout_of(
        csvnn()
            .args(["inspect", "--format", "json", "--model"])
            .arg(&model),
    );
    let report: Value = serde_json::from_str(&report).unwrap();
    let encoder = &report["architecture"]["layers"][0]["encoders"][0];
    assert_eq!(encoder[0]["type"], "gru", "{report}");
    assert_eq!(encoder[1]["type"], "sequence_pool", "{report}");
}

/// Two test rows with the same numbers: the text empty, then without any word, then only
/// words the vocabulary lacks.
fn odd_texts(dir: &Path, test_csv: &str) -> String {
    let mut reader = csv::Reader::from_path(test_csv).unwrap();
    let header = reader.headers().unwrap().clone();
    assert_eq!(header.get(0), Some("text"));
    let row = reader.records().next().unwrap().unwrap();
    let path = dir.join("odd.csv");
    let mut writer = csv::Writer::from_path(&path).unwrap();
    writer.write_record(&header).unwrap();
    for text in ["", "... !!!", "zzqxv qqwweeyy xxyyzzk"] {
        let mut cells: Vec<&str> = row.iter().collect();
        cells[0] = text;
        writer.write_record(&cells).unwrap();
    }
    writer.flush().unwrap();
    path.to_str().unwrap().to_string()
}

/// The probability columns of `predict --proba`, row by row.
fn probabilities(out: &str) -> Vec<Vec<f64>> {
    out.lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            cells[1..].iter().map(|c| c.parse().unwrap()).collect()
        })
        .collect()
}

#[test]
fn text_models_predict_empty_and_unknown_texts_from_the_unknown_word() {
    let dir = tempfile::tempdir().unwrap();
    let (train_csv, test_csv) = tweets(dir.path());
    let odd = odd_texts(dir.path(), &test_csv);

    // Bag: the mean of the token embeddings. An empty cell, one without a word and one of
    // unknown words all average the out-of-vocabulary embedding alone: the same scores.
    let bag = dir.path().join("bag.json");
    train(&[], &bag, &text_args(&train_csv, &[]));
    assert!(encoder_layer_types(&branches_layer(&bag), 0) == ["embedding", "sequence_pool"]);
    let out = predictions(&bag, &odd, &["--proba"]);
    assert!(out.starts_with("prediction,proba_Twitter for Android,proba_Twitter for iPhone\n"));
    let p = probabilities(&out);
    assert_eq!(p.len(), 3);
    for row in &p {
        assert!((row[0] + row[1] - 1.0).abs() < 1e-9, "{out}");
    }
    // (three equal vectors averaged round a little differently than one)
    for row in &p[1..] {
        for (a, b) in row.iter().zip(&p[0]) {
            assert!((a - b).abs() < 1e-7, "{out}");
        }
    }

    // GRU: an empty cell and one without a word are one unknown token, so they agree; three
    // unknown words are three steps, so the last state differs.
    let gru = dir.path().join("gru.json");
    train(
        &[],
        &gru,
        &text_args(
            &train_csv,
            &["--text-encoder", "gru", "--embedding-dim", "16"],
        ),
    );
    assert_eq!(
        encoder_layer_types(&branches_layer(&gru), 0),
        ["embedding", "gru", "sequence_pool"]
    );
    let out = predictions(&gru, &odd, &["--proba"]);
    let p = probabilities(&out);
    assert_eq!(p.len(), 3);
    assert_eq!(p[0], p[1], "{out}");
    assert_ne!(p[0], p[2], "{out}");
    // And the whole test slice predicts a row per row.
    let out = predictions(&gru, &test_csv, &[]);
    assert_eq!(out.lines().count() - 1, records(&test_csv));
}

#[test]
fn text_and_numeric_columns_share_one_model() {
    let dir = tempfile::tempdir().unwrap();
    let (train_csv, test_csv) = tweets(dir.path());
    let model = dir.path().join("m.json");
    train(&[], &model, &text_args(&train_csv, &["--max-tokens", "50"]));
    // [text: 1 + 50 | retweet_count | favorite_count]
    let branches = branches_layer(&model);
    assert_eq!(branches["n_inputs"], 53);
    assert_eq!(branches["branches"][0]["start"], 0);
    assert_eq!(branches["branches"][0]["encoder"]["n_inputs"], 51);
    let text = stdout_of(csvnn().arg("inspect").arg("--model").arg(&model));
    assert!(text.contains("(2 plain, 1 encoded block)"), "{text}");
    assert!(text.contains("retweet_count   numeric"), "{text}");
    assert!(text.contains("favorite_count  numeric"), "{text}");
    // The dense head reads the two plain columns after the 64 pooled embedding values.
    assert_eq!(json(&model)["network"]["layers"][1]["n_in"], 66);

    // Without the counts, the same text block and no plain column.
    let alone = dir.path().join("alone.json");
    train(
        &[],
        &alone,
        &text_args(
            &train_csv,
            &[
                "--max-tokens",
                "50",
                "--drop",
                "created_at,retweet_count,favorite_count",
            ],
        ),
    );
    assert_eq!(branches_layer(&alone)["n_inputs"], 51);
    let text = stdout_of(csvnn().arg("inspect").arg("--model").arg(&alone));
    assert!(text.contains("(0 plain, 1 encoded block)"), "{text}");
    assert_eq!(evaluate_json(&model, &test_csv)["rows"], 80);
}

#[test]
fn a_seed_gives_the_same_model_bytes_on_one_or_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (jv, _) = vowels(d);
    let (tw, _) = tweets(d);
    let series = series_args(&jv, &["--rnn", "gru:16", "--seed", "5"]);
    let text = text_args(&tw, &["--seed", "5"]);
    let attention = series_args(
        &jv,
        &["--attention", "2:16:1", "--pool", "mean", "--seed", "5"],
    );
    for (name, args) in [
        ("series", &series),
        ("text", &text),
        ("attention", &attention),
    ] {
        let one = d.join(format!("{name}1.json"));
        let two = d.join(format!("{name}2.json"));
        train(&["--threads", "1"], &one, args);
        train(&["--threads", "2"], &two, args);
        assert!(
            fs::read(&one).unwrap() == fs::read(&two).unwrap(),
            "{name}: the models differ"
        );
    }
    // Another seed gives other weights, so the comparison above can fail.
    let other = d.join("other.json");
    train(
        &["--threads", "1"],
        &other,
        &series_args(&jv, &["--rnn", "gru:16", "--seed", "6"]),
    );
    assert!(fs::read(&other).unwrap() != fs::read(d.join("series1.json")).unwrap());
}

#[test]
fn a_resumed_series_run_equals_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (jv, _) = vowels(d);
    let ck = d.join("ck");
    let ck_str = ck.to_str().unwrap();
    let two = d.join("two.json");
    let args = |epochs: &'static str| series_args(&jv, &["--rnn", "gru:16", "--epochs", epochs]);
    let mut first = args("2");
    first.extend_from_slice(&["--checkpoint-dir", ck_str]);
    train(&[], &two, &first);
    assert_eq!(json(&ck.join("checkpoint.json"))["epochs_done"], 2);

    let resumed = d.join("resumed.json");
    csvnn()
        .args(["train", "--epochs", "5", "--resume", ck_str, "-o"])
        .arg(&resumed)
        .assert()
        .success()
        .stderr(predicate::str::contains("csvnn: resuming after epoch 2"));
    let straight = d.join("straight.json");
    train(&[], &straight, &args("5"));
    assert!(fs::read(&resumed).unwrap() == fs::read(&straight).unwrap());
    assert!(fs::read(&resumed).unwrap() != fs::read(&two).unwrap());
}

#[test]
fn streaming_predict_of_a_text_model_equals_whole_predict() {
    let dir = tempfile::tempdir().unwrap();
    let (train_csv, test_csv) = tweets(dir.path());
    let model = dir.path().join("m.json");
    train(
        &[],
        &model,
        &text_args(
            &train_csv,
            &["--text-encoder", "gru", "--embedding-dim", "8"],
        ),
    );
    let whole = predictions(&model, &test_csv, &["--proba", "--keep", "favorite_count"]);
    let chunked = predictions(
        &model,
        &test_csv,
        &["--proba", "--keep", "favorite_count", "--chunk-rows", "7"],
    );
    assert_eq!(whole.lines().count(), 81);
    assert_eq!(whole, chunked);
}

#[test]
fn cv_runs_on_a_series() {
    let dir = tempfile::tempdir().unwrap();
    let (jv, _) = vowels(dir.path());
    let out = stdout_of(
        csvnn()
            .args(["--quiet", "cv", "--format", "json", "--folds", "3"])
            .args(series_args(&jv, &["--rnn", "gru:8", "--epochs", "2"])),
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["folds"], 3);
    assert_eq!(report["rows"], 68);
    let folds = report["metrics"]["accuracy"]["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 3);
    for a in folds {
        assert!((0.0..=1.0).contains(&a.as_f64().unwrap()), "{out}");
    }
}

#[test]
fn explain_ranks_a_text_column_as_one_row() {
    let dir = tempfile::tempdir().unwrap();
    let (train_csv, test_csv) = tweets(dir.path());
    let model = dir.path().join("m.json");
    train(&[], &model, &text_args(&train_csv, &[]));
    let out = stdout_of(
        csvnn()
            .args(["explain", "--format", "json", "--repeats", "2", "--model"])
            .arg(&model)
            .args(["--data", &test_csv]),
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["rows"], 80);
    let mut columns: Vec<(String, String)> = report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["drops"].as_array().unwrap().len(), 2);
            (
                c["column"].as_str().unwrap().to_string(),
                c["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    columns.sort();
    assert_eq!(
        columns,
        [
            ("favorite_count".to_string(), "numeric".to_string()),
            ("retweet_count".to_string(), "numeric".to_string()),
            ("text".to_string(), "text".to_string()),
        ]
    );
}

/// The stderr of a command that must fail with `code`.
fn failure(cmd: &mut assert_cmd::Command, code: i32) -> String {
    let out = cmd.assert().code(code).get_output().clone();
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn encoder_flags_without_a_sequence_and_bad_values_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let err = failure(
        csvnn()
            .args(["--quiet", "train", "--data", &data("auto_mpg.train.csv")])
            .args(["--target", "mpg", "--drop", "name", "--rnn", "gru:64", "-o"])
            .arg(&model),
        2,
    );
    assert_eq!(err, "csvnn: error: --rnn, --attention, --pool, --text-encoder and --embedding-dim need a text column (--text) or a series (--sequence-shape); the table has neither\n");
    assert!(!model.exists());

    let (jv, _) = vowels(dir.path());
    let err = failure(
        csvnn()
            .args(["--quiet", "train", "-o"])
            .arg(&model)
            .args(series_args(&jv, &["--attention", "3:32"])),
        2,
    );
    assert!(err.starts_with("csvnn: error: invalid value '3:32' for '--attention <HEADS:WIDTH[:LAYERS]>': the width 32 does not split into 3 heads; expected a multiple of 3, e.g. 33\n"), "{err}");
    let err = failure(
        csvnn()
            .args(["--quiet", "train", "-o"])
            .arg(&model)
            .args(series_args(&jv, &["--rnn", "gru"])),
        2,
    );
    assert!(err.starts_with("csvnn: error: invalid value 'gru' for '--rnn <gru|lstm:N[,...]>': 'gru' is not CELL:UNITS; expected e.g. gru:64 or lstm:64,lstm:32\n"), "{err}");
    assert!(!model.exists());
}
