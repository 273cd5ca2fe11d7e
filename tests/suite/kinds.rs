//! Date, text and series columns end to end: what `preprocess` reports, the flags, every
//! error message, the model and preprocessor files, and that older files still load. The
//! CSV files are written by `tests/fixtures/kinds/make.py`.

use std::fs;
use std::path::Path;

use predicates::prelude::*;

use super::util::{csvnn, data, stdout_of};
use csvnn::data::{read_table, CsvOptions};
use csvnn::preprocess::{
    load_preprocessor, save_preprocessor, Feature, FitOptions, KindOptions, Pipeline, Task,
    TextOptions,
};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/kinds/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A copy of fixture `name` with `from` replaced by `to`, in `dir`.
fn edited(dir: &Path, name: &str, from: &str, to: &str) -> String {
    let text = fs::read_to_string(fixture(name)).unwrap();
    assert!(text.contains(from), "{from}");
    let path = dir.join(name);
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path.to_str().unwrap().to_string()
}

/// The one error line of a command that must fail with `code`.
fn error_of(args: &[&str], code: i32) -> String {
    let out = csvnn().args(args).assert().code(code).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    stderr
        .lines()
        .find(|l| l.starts_with("csvnn: error: "))
        .unwrap_or_else(|| panic!("no error line in {stderr}"))
        .to_string()
}

#[test]
fn preprocess_reports_detected_dates_and_declared_formats() {
    let dates = fixture("dates.csv");
    let out = stdout_of(csvnn().args(["preprocess", "--data", &dates, "--target", "y"]));
    assert!(out.contains("when    feature   date               1        39  2010-01-01T00:30:00Z .. 2017-12-24T23:30:00Z; inputs: year month_sin month_cos weekday_sin weekday_cos yearday_sin yearday_cos hour_sin hour_cos"), "{out}");
    // day/month/year is not ISO 8601: categorical unless its format is given.
    assert!(out.contains("day     feature   categorical"), "{out}");
    let out = stdout_of(csvnn().args([
        "preprocess",
        "--data",
        &dates,
        "--target",
        "y",
        "--date-format",
        "day=%d/%m/%Y",
    ]));
    assert!(out.contains("day     feature   date               0        40  2010-01-01 .. 2017-12-24; inputs: year month_sin month_cos weekday_sin weekday_cos yearday_sin yearday_cos\n"), "{out}");
    // 9 + 7 date inputs and x.
    assert!(out.contains("17 network inputs"), "{out}");
    // --categorical overrides the detection.
    let out = stdout_of(csvnn().args([
        "preprocess",
        "--data",
        &dates,
        "--target",
        "y",
        "--categorical",
        "when",
    ]));
    assert!(out.contains("when    feature   categorical"), "{out}");
}

#[test]
fn preprocess_says_a_column_is_read_as_text() {
    let texts = fixture("texts.csv");
    let out = csvnn()
        .args(["preprocess", "--data", &texts, "--target", "label"])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "csvnn: {texts}: column 'review' is read as text (29 distinct values in 29 rows, 7.0 words on average; a vocabulary of 12 words); use --categorical review to one-hot it instead, or --drop review\n"
        )))
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("review  feature   text               1        29  vocabulary 12 words (min count 2), 13 token ids, at most 200 tokens\n"), "{out}");
    let out = stdout_of(csvnn().args([
        "preprocess",
        "--data",
        &texts,
        "--target",
        "label",
        "--text",
        "review",
        "--ngrams",
        "2",
        "--ngram-buckets",
        "50",
        "--max-tokens",
        "8",
        "--min-count",
        "1",
        "--vocab-size",
        "5",
    ]));
    assert!(out.contains("vocabulary 5 words (min count 1), 56 token ids, at most 8 tokens with 2-grams in 50 buckets"), "{out}");
    assert!(out.contains("10 network inputs"), "{out}");
}

#[test]
fn preprocess_reads_a_series() {
    let out = stdout_of(csvnn().args([
        "preprocess",
        "--data",
        &fixture("series.csv"),
        "--target",
        "label",
        "--sequence-shape",
        "4x2",
    ]));
    assert!(out.contains("9 network inputs"), "{out}");
    assert!(
        out.contains(
            "t0_c0   feature   sequence           0        12  series of 4 steps x 2 channels\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("t3_c1   feature   sequence           8         4  mean 35.0000"),
        "{out}"
    );
}

#[test]
fn bad_dates_name_file_line_column_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let absurd = edited(
        dir.path(),
        "dates.csv",
        "2012-03-03T02:30:00Z",
        "2012-02-30T02:30:00Z",
    );
    assert_eq!(
        error_of(&["preprocess", "--data", &absurd, "--target", "y"], 1),
        format!("csvnn: error: {absurd}: line 4: column 'when': '2012-02-30T02:30:00Z' is not a date: February 2012 has 29 days, not 30")
    );
    let word = edited(dir.path(), "dates.csv", "2012-03-03T02:30:00Z", "March 3rd");
    assert_eq!(
        error_of(&["preprocess", "--data", &word, "--target", "y"], 1),
        format!("csvnn: error: {word}: line 4: column 'when': 'March 3rd' is not a date, but 38 of the column's 39 values are; expected ISO 8601, like 2016-03-01 or 2016-03-01T12:30:00Z (give its format with --date-format 'when=%d/%m/%Y', mark missing values with --na-values, or treat the column as categories with --categorical when)")
    );
    let dates = fixture("dates.csv");
    assert_eq!(
        error_of(&["preprocess", "--data", &dates, "--target", "y", "--date-format", "day=%Y-%m-%d"], 1),
        format!("csvnn: error: {dates}: line 2: column 'day': '1/1/2010' is not a date in the format '%Y-%m-%d'")
    );
}

#[test]
fn bad_date_formats_and_shapes_are_usage_errors() {
    let dates = fixture("dates.csv");
    assert_eq!(
        error_of(&["preprocess", "--data", &dates, "--target", "y", "--date-format", "day=%d/%m"], 2),
        "csvnn: error: invalid value 'day=%d/%m' for '--date-format <COL=FMT>': '%d/%m' has no year (%Y or %y); a date format needs a year, a month and a day"
    );
    assert_eq!(
        error_of(&["preprocess", "--data", &dates, "--target", "y", "--date-format", "day=%d/%m/%Q"], 2),
        "csvnn: error: invalid value 'day=%d/%m/%Q' for '--date-format <COL=FMT>': '%Q' in '%d/%m/%Q' is not a directive csvnn knows; expected %Y %y %m %b %B %d %e %H %I %p %M %S %f %z %T %F %%"
    );
    let series = fixture("series.csv");
    assert_eq!(
        error_of(&["preprocess", "--data", &series, "--target", "label", "--sequence-shape", "3x2"], 2),
        format!("csvnn: error: --sequence-shape is 3x2, 6 values per row, but {series} has 8 feature columns (every column but the target and the dropped ones); they must be exactly 6")
    );
    assert_eq!(
        error_of(&["preprocess", "--data", &dates, "--target", "y", "--date", "when", "--categorical", "when"], 2),
        "csvnn: error: --date names the column 'when', which --categorical names too; give it to only one of them"
    );
}

#[test]
fn a_gap_in_a_series_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let gap = edited(
        dir.path(),
        "series.csv",
        "2,20,3,10,4,0,5,-10",
        "2,20,,,4,0,5,-10",
    );
    assert_eq!(
        error_of(&["preprocess", "--data", &gap, "--target", "label", "--sequence-shape", "4x2"], 1),
        format!("csvnn: error: {gap}: line 4: column 't1_c0': a gap in the series: the cell is empty but column 't2_c0' after it is not; a series may only end early (empty cells at its end)")
    );
}

#[test]
fn text_and_series_train_with_their_default_encoders() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.json");
    let out = out.to_str().unwrap();
    let training_line = |args: &[&str]| {
        let run = csvnn()
            .args(args)
            .args(["-o", out, "--epochs", "1"])
            .assert()
            .success();
        let stderr = String::from_utf8(run.get_output().stderr.clone()).unwrap();
        stderr
            .lines()
            .find(|l| l.starts_with("csvnn: training a "))
            .unwrap_or_else(|| panic!("no training line in {stderr}"))
            .to_string()
    };
    let text = training_line(&[
        "train",
        "--data",
        &fixture("texts.csv"),
        "--target",
        "label",
    ]);
    assert!(text.contains("ids): embedding 64, mean]"), "{text}");
    let series = training_line(&[
        "train",
        "--data",
        &fixture("series.csv"),
        "--target",
        "label",
        "--sequence-shape",
        "4x2",
    ]);
    assert!(
        series.contains("[series 4x2: attention 4:32:1, mean]"),
        "{series}"
    );
}

#[test]
fn a_date_model_saves_as_version_3_predicts_and_refuses_bad_dates() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let dates = fixture("dates.csv");
    csvnn()
        .args([
            "train",
            "--data",
            &dates,
            "--target",
            "y",
            "--date-format",
            "day=%d/%m/%Y",
            "--epochs",
            "3",
            "--quiet",
            "-o",
        ])
        .arg(&model)
        .assert()
        .success();
    let saved: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(saved["format_version"], 3);
    assert_eq!(saved["pipeline"]["features"][1]["format"], "%d/%m/%Y");
    let inspected = stdout_of(csvnn().arg("inspect").arg("--model").arg(&model));
    assert!(inspected.contains("  day     date         2010-01-01 .. 2017-12-24  format %d/%m/%Y  inputs: year month_sin month_cos weekday_sin weekday_cos yearday_sin yearday_cos\n"), "{inspected}");
    let predicted = stdout_of(
        csvnn()
            .arg("predict")
            .arg("--model")
            .arg(&model)
            .args(["--data", &dates]),
    );
    assert_eq!(predicted.lines().count(), 41);
    let absurd = edited(
        dir.path(),
        "dates.csv",
        "2012-03-03T02:30:00Z",
        "2012-02-30T02:30:00Z",
    );
    let model_arg = model.to_str().unwrap();
    assert_eq!(
        error_of(&["predict", "--model", model_arg, "--data", &absurd], 1),
        format!("csvnn: error: {absurd}: line 4: column 'when': '2012-02-30T02:30:00Z' is not a date: February 2012 has 29 days, not 30")
    );
    // ONNX, encoded inputs: each date is its encoded parts (the caller parses the dates).
    csvnn()
        .args(["export", "--format", "onnx", "--inputs", "encoded"])
        .args(["--model", model_arg, "-o"])
        .arg(dir.path().join("m.onnx"))
        .assert()
        .success()
        .stderr(predicate::str::contains("16 date inputs"));
}

#[test]
fn preprocessor_files_round_trip_every_new_kind() {
    let dir = tempfile::tempdir().unwrap();
    let options = CsvOptions::default();
    let cases = [
        (
            "dates.csv",
            "y",
            KindOptions {
                date_formats: vec!["day=%d/%m/%Y".parse().unwrap()],
                ..KindOptions::default()
            },
        ),
        (
            "texts.csv",
            "label",
            KindOptions {
                text_options: TextOptions {
                    ngrams: 2,
                    ngram_buckets: 7,
                    ..TextOptions::default()
                },
                ..KindOptions::default()
            },
        ),
        (
            "series.csv",
            "label",
            KindOptions {
                sequence_shape: Some("4x2".parse().unwrap()),
                ..KindOptions::default()
            },
        ),
    ];
    for (file, target, kinds) in cases {
        let table = read_table(&fixture(file), &options).unwrap();
        let rows: Vec<usize> = (0..table.n_rows()).collect();
        let fit_options = FitOptions {
            target: target.into(),
            kinds,
            ..FitOptions::default()
        };
        let (pipeline, _) =
            Pipeline::fit(&table, &rows, Task::Classification, &fit_options).unwrap();
        assert_eq!(pipeline.format_version(), 3, "{file}");
        let path = dir.path().join(format!("{file}.json"));
        save_preprocessor(&path, &pipeline).unwrap();
        let loaded = load_preprocessor(&path).unwrap();
        assert_eq!(loaded, pipeline, "{file}");
        let x = pipeline.transform(&table, None).unwrap().x;
        assert_eq!(loaded.transform(&table, None).unwrap().x, x, "{file}");
        // The blocks the network builder reads: where each starts, and the vocabulary.
        if let Some((start, Feature::Text(text))) = pipeline.blocks().first() {
            assert_eq!((*start, text.vocab_size(), text.n_ids()), (0, 12, 20));
            // The empty review (line 5): one out-of-vocabulary id.
            assert_eq!(
                x.row(3).iter().take(3).copied().collect::<Vec<f32>>(),
                [1.0, 0.0, 0.0]
            );
        }
        if let Some((_, Feature::Sequence(_))) = pipeline.blocks().first() {
            // Row 0 has 2 of 4 steps: its padding is zeros.
            assert_eq!(x[[0, 0]], 2.0);
            assert!(x.row(0).iter().skip(5).all(|&v| v == 0.0));
        }
    }
}

#[test]
fn older_model_files_still_load() {
    // Format version 1, written before dates, text and series existed.
    let model = format!(
        "{}/tests/fixtures/threshold/default_model.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = stdout_of(csvnn().args([
        "predict",
        "--model",
        &model,
        "--data",
        &data("default.test.csv"),
    ]));
    assert!(out.lines().count() > 100);
    let inspected = stdout_of(csvnn().args(["inspect", "--model", &model]));
    assert!(
        inspected.contains("csvnn model (format 1, written by csvnn 0.1.0)"),
        "{inspected}"
    );
}
