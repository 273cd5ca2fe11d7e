//! `csvnn explain --sample N`: a seeded reservoir sample of the rows, read in one pass
//! (files, gzip, stdin), stated in the table and the JSON; the default sample when a file
//! looks too big to read whole.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::util::{csvnn, data, stdout_of};
use serde_json::Value;

/// A small classifier on chile_vote (the test file has 507 rows).
fn model(dir: &Path) -> PathBuf {
    let model = dir.join("model.json");
    csvnn()
        .args([
            "--quiet", "train", "--target", "vote", "--epochs", "2", "-o",
        ])
        .arg(&model)
        .args(["--data", &data("chile_vote.train.csv")])
        .assert()
        .success();
    model
}

fn explain(model: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = csvnn();
    cmd.args(["explain", "--repeats", "2", "--model"])
        .arg(model)
        .args(args);
    cmd
}

fn json(model: &Path, args: &[&str]) -> Value {
    let text = stdout_of(explain(model, args).args(["--format", "json"]));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_seed_gives_one_sample_and_the_json_states_it() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let test = data("chile_vote.test.csv");
    let args = ["--data", &test, "--sample", "100", "--seed", "7"];
    let first = json(&model, &args);
    assert_eq!(json(&model, &args), first);
    assert_eq!(
        first["sample"],
        serde_json::json!({"requested": 100, "rows": 100, "of_rows": 507, "seed": 7})
    );
    assert_eq!(first["rows"], 100);
    // Another seed draws other rows: the baseline (which no shuffle touches) moves.
    let other = json(&model, &["--data", &test, "--sample", "100", "--seed", "8"]);
    assert_eq!(other["sample"]["seed"], 8);
    assert_ne!(other["baseline"], first["baseline"]);
    // The whole file has no sample.
    assert_eq!(json(&model, &["--data", &test])["sample"], Value::Null);
    // The table says it too.
    let table = stdout_of(&mut explain(&model, &args));
    assert!(
        table.contains("\ncomputed on a uniform sample of 100 of 507 rows, sample seed 7\n\n"),
        "{table}"
    );
}

#[test]
fn gzip_and_stdin_give_the_sample_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let test = data("chile_vote.test.csv");
    let text = std::fs::read(&test).unwrap();
    let gz = dir.path().join("test.csv.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    encoder.write_all(&text).unwrap();
    encoder.finish().unwrap();
    let args = ["--sample", "60", "--seed", "3", "--format", "json"];
    let from_file = stdout_of(explain(&model, &["--data", &test]).args(args));
    let from_gz = stdout_of(explain(&model, &["--data", gz.to_str().unwrap()]).args(args));
    let from_stdin = stdout_of(
        explain(&model, &["--data", "-"])
            .args(args)
            .write_stdin(text.clone()),
    );
    assert_eq!(from_gz, from_file);
    assert_eq!(from_stdin, from_file);
    assert!(from_file.contains("\"of_rows\": 507"), "{from_file}");
}

#[test]
fn a_sample_larger_than_the_file_uses_every_row_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let test = data("chile_vote.test.csv");
    let assert = explain(&model, &["--data", &test, "--sample", "1000"])
        .assert()
        .success();
    let out = assert.get_output();
    let table = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        table.contains("\ncomputed on all 507 rows (a sample of 1000 was asked for)\n\n"),
        "{table}"
    );
    assert_eq!(
        String::from_utf8(out.stderr.clone()).unwrap(),
        format!("csvnn: {test}: --sample 1000 is at least its 507 rows; using them all\n")
    );
    // The same rows as without --sample, so the same numbers.
    let sampled = json(&model, &["--data", &test, "--sample", "1000"]);
    let whole = json(&model, &["--data", &test]);
    assert_eq!(sampled["columns"], whole["columns"]);
    assert_eq!(sampled["baseline"], whole["baseline"]);
    assert_eq!(sampled["sample"]["rows"], 507);
}

#[test]
fn sample_zero_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    for value in ["0", "-3", "many"] {
        let assert = explain(&model, &["--data", &data("chile_vote.test.csv")])
            .args(["--sample", value])
            .assert()
            .code(2);
        let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
        let line = format!(
            "csvnn: error: invalid value '{value}' for '--sample <N>': expected a whole number of at least 1\n"
        );
        assert!(stderr.starts_with(&line), "{stderr}");
    }
}

#[test]
fn a_file_too_big_for_memory_is_sampled_with_the_seed_stated() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let test = data("chile_vote.test.csv");
    let size = std::fs::metadata(&test).unwrap().len() as f64;
    let assert = explain(
        &model,
        &["--data", &test, "--seed", "5", "--format", "json"],
    )
    .env("CSVNN_AVAILABLE_MEMORY", "1000")
    .assert()
    .success();
    let out = assert.get_output();
    assert_eq!(
        String::from_utf8(out.stderr.clone()).unwrap(),
        format!(
            "csvnn: {test} looks too big to read whole (about {:.1} GB needed, 0.0 GB available); explaining on a uniform sample of 100000 rows drawn with seed 5 (--sample N sets the size)\n",
            size * csvnn::data::MEMORY_PER_FILE_BYTE / 1e9
        )
    );
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        result["sample"],
        serde_json::json!({"requested": 100000, "rows": 507, "of_rows": 507, "seed": 5})
    );
    // --quiet drops the info line, not the sample.
    explain(&model, &["--data", &test])
        .arg("--quiet")
        .env("CSVNN_AVAILABLE_MEMORY", "1000")
        .assert()
        .success()
        .stderr("")
        .stdout(predicates::str::contains("computed on all 507 rows"));
}
