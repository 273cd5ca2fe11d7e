//! Bad input, one test per case (issue 5): every data failure exits 1 with one line
//! `csvnn: error: FILE: line N: column 'C': what was found; what was expected`; every
//! repair prints `csvnn: warning: ...` and gives the right result. The fixtures are in
//! tests/fixtures/data_errors/ (made by its make_fixtures.py); commands run in that folder
//! so that messages name the files as given. The end holds property tests of the reader
//! and the pipeline over arbitrary bytes and tables (PROPTEST_CASES sets their number).

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data_errors")
}

/// The binary, run in the fixtures folder.
fn csvnn() -> Command {
    let mut cmd = Command::cargo_bin("csvnn").unwrap();
    cmd.current_dir(fixtures());
    cmd
}

/// What stderr holds for exactly one error line.
fn error(message: &str) -> String {
    format!("csvnn: error: {message}\n")
}

/// `train` on a fixture (quick settings) into `out`.
fn train(data: &str, target: &str, out: &Path) -> Command {
    let mut cmd = csvnn();
    cmd.args(["--quiet", "train", "--data", data, "--target", target])
        .args(["--epochs", "3", "--validation-split", "0", "-o"])
        .arg(out);
    cmd
}

/// Assert a data error: exit code 1 and exactly this one line on stderr.
fn assert_error(cmd: &mut Command, message: &str) {
    cmd.assert().code(1).stdout("").stderr(error(message));
}

struct Setup {
    dir: TempDir,
}

impl Setup {
    fn new() -> Self {
        Setup {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A model trained on score_train.csv (x1, x2 numeric; color categorical; y label).
    fn model(&self) -> PathBuf {
        let out = self.path("model.json");
        if !out.exists() {
            train("score_train.csv", "y", &out)
                .assert()
                .success()
                .stderr("");
        }
        out
    }

    /// `predict --proba` of the model on a fixture: stdout, after checking stderr.
    fn predict(&self, data: &str, extra: &[&str], stderr: &str) -> String {
        let out = csvnn()
            .args(["predict", "--proba", "--model"])
            .arg(self.model())
            .args(["--data", data])
            .args(extra)
            .assert()
            .success()
            .stderr(stderr.to_string())
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    }
}

fn model_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn feature<'a>(model: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    model["pipeline"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no feature {name}"))
}

/// Every probability in a `predict --proba` output is a finite number in [0, 1].
fn assert_finite_probabilities(csv_text: &str) {
    for line in csv_text.lines().skip(1) {
        for p in line.split(',').skip(1) {
            let p: f64 = p.parse().unwrap();
            assert!((0.0..=1.0).contains(&p), "{line}");
        }
    }
}

// ---------------------------------------------------------------------------- files

#[test]
fn empty_file_is_an_error() {
    let s = Setup::new();
    assert_error(
        &mut train("empty.csv", "y", &s.path("m.json")),
        "empty.csv: the file is empty; expected a header line with the column names",
    );
}

#[test]
fn header_only_file_is_an_error_for_train_and_gives_no_rows_in_predict() {
    let s = Setup::new();
    assert_error(
        &mut train("header_only.csv", "y", &s.path("m.json")),
        "header_only.csv: the file has a header but no data rows; expected at least one row",
    );
    let out = s.predict("header_only.csv", &[], "");
    assert_eq!(out, "prediction,proba_no,proba_yes\n");
}

#[test]
fn file_of_blank_lines_is_an_error() {
    let s = Setup::new();
    assert_error(
        &mut train("blank_lines_only.csv", "y", &s.path("m.json")),
        "blank_lines_only.csv: the file has only blank lines; expected a header line with the column names",
    );
}

#[test]
fn missing_path_is_an_error() {
    let s = Setup::new();
    assert_error(
        &mut train("no_such_file.csv", "y", &s.path("m.json")),
        "no_such_file.csv: No such file or directory (os error 2)",
    );
}

#[test]
fn directory_is_an_error() {
    let s = Setup::new();
    assert_error(
        &mut train("a_directory.csv", "y", &s.path("m.json")),
        "a_directory.csv: is a directory; expected a CSV file",
    );
}

#[test]
fn unreadable_file_is_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let s = Setup::new();
    let path = s.path("secret.csv");
    fs::copy(fixtures().join("score_train.csv"), &path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    let shown = path.display().to_string();
    let expected = format!("{shown}: Permission denied (os error 13)");
    if fs::read(&path).is_err() {
        assert_error(&mut train(&shown, "y", &s.path("m.json")), &expected);
        return;
    }
    // Root reads any file: run csvnn as the unprivileged user `nobody` instead, in a
    // directory it may write the model in (the output is checked first).
    fs::set_permissions(s.dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(assert_cmd::cargo::cargo_bin("csvnn"))
        .args(["--quiet", "train", "--data", &shown, "--target", "y", "-o"])
        .arg(s.path("m.json"));
    assert_error(&mut cmd, &expected);
}

#[test]
fn binary_garbage_is_an_error() {
    let s = Setup::new();
    assert_error(
        &mut train("binary_garbage.csv", "y", &s.path("m.json")),
        "binary_garbage.csv: the file holds binary data (NUL bytes); expected a CSV text file (plain or gzip)",
    );
}

#[test]
fn gzip_is_read_whatever_the_file_name() {
    let s = Setup::new();
    let plain = s.predict("score_train.csv", &[], "");
    assert_eq!(s.predict("gzipped.data", &[], ""), plain);
    let gz = fs::read(fixtures().join("gzipped.data")).unwrap();
    let out = csvnn()
        .args(["predict", "--proba", "--data", "-", "--model"])
        .arg(s.model())
        .write_stdin(gz)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8(out).unwrap(), plain);
}

#[test]
fn truncated_gzip_is_an_error() {
    let s = Setup::new();
    assert_error(
        &mut train("truncated.csv.gz", "y", &s.path("m.json")),
        "truncated.csv.gz: invalid gzip data (incomplete deflate stream); expected a complete gzip file",
    );
}

#[test]
fn invalid_utf8_names_the_line_and_column() {
    let s = Setup::new();
    assert_error(
        &mut train("invalid_utf8.csv", "y", &s.path("m.json")),
        "invalid_utf8.csv: line 3: column 'color': the value 'caf\u{FFFD}' is not valid UTF-8 (byte 0xE9 at position 4); expected UTF-8 text (convert the file, e.g. with iconv)",
    );
}

#[test]
fn utf8_bom_is_stripped() {
    let s = Setup::new();
    // Without stripping, the first column would be named "\u{FEFF}x1" and missing.
    assert_eq!(
        s.predict("bom.csv", &[], ""),
        s.predict("score_train.csv", &[], "")
    );
}

// ---------------------------------------------------------------------------- lines

#[test]
fn crlf_and_cr_only_files_read_as_lf() {
    let s = Setup::new();
    let plain = s.predict("score_train.csv", &[], "");
    assert_eq!(s.predict("crlf.csv", &[], ""), plain);
    assert_eq!(s.predict("cr_only.csv", &[], ""), plain);
}

#[test]
fn crlf_and_cr_only_files_count_lines_right() {
    let s = Setup::new();
    for name in ["crlf_ragged.csv", "cr_ragged.csv"] {
        assert_error(
            &mut train(name, "y", &s.path("m.json")),
            &format!("{name}: line 4: 4 fields expected (as in the header), 3 found (use --skip-bad-rows to skip such rows)"),
        );
    }
}

#[test]
fn blank_lines_inside_and_at_the_end_are_skipped() {
    let s = Setup::new();
    let out = s.predict("blank_lines.csv", &[], "");
    let all = s.predict("score_train.csv", &[], "");
    let first_ten: Vec<&str> = all.lines().take(11).collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), first_ten);
}

#[test]
fn last_row_without_final_newline_is_kept() {
    let s = Setup::new();
    let out = s.predict("no_final_newline.csv", &[], "");
    assert_eq!(out.lines().count(), 61);
    assert_eq!(out, s.predict("score_train.csv", &[], ""));
}

#[test]
fn rows_with_wrong_field_counts_are_errors() {
    let s = Setup::new();
    assert_error(
        &mut train("ragged.csv", "y", &s.path("m.json")),
        "ragged.csv: line 7: 4 fields expected (as in the header), 3 found (use --skip-bad-rows to skip such rows)",
    );
    assert!(!s.path("m.json").exists());
}

#[test]
fn skip_bad_rows_skips_them_with_a_warning_naming_each_line() {
    let s = Setup::new();
    train("ragged.csv", "y", &s.path("m.json"))
        .arg("--skip-bad-rows")
        .assert()
        .success()
        .stderr(
            "csvnn: warning: ragged.csv: line 7: 4 fields expected (as in the header), 3 found; row skipped (--skip-bad-rows)\n\
             csvnn: warning: ragged.csv: line 13: 4 fields expected (as in the header), 5 found; row skipped (--skip-bad-rows)\n",
        );
    let out = s.predict(
        "ragged.csv",
        &["--skip-bad-rows"],
        "csvnn: warning: ragged.csv: line 7: 4 fields expected (as in the header), 3 found; row skipped (--skip-bad-rows)\n\
         csvnn: warning: ragged.csv: line 13: 4 fields expected (as in the header), 5 found; row skipped (--skip-bad-rows)\n",
    );
    assert_eq!(out, s.predict("score_train.csv", &[], ""));
}

#[test]
fn rfc_4180_quoting_is_read() {
    let s = Setup::new();
    // Line 6 comes after a field with a line break: line numbers count file lines.
    assert_error(
        csvnn()
            .args(["predict", "--model"])
            .arg(s.model())
            .args(["--data", "quoted.csv"]),
        "quoted.csv: line 6: 4 fields expected (as in the header), 5 found (use --skip-bad-rows to skip such rows)",
    );
    let out = csvnn()
        .args(["predict", "--skip-bad-rows", "--keep", "color,y", "--model"])
        .arg(s.model())
        .args(["--data", "quoted.csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut reader = csv::Reader::from_reader(&out[..]);
    let colors: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[0].to_string())
        .collect();
    assert_eq!(colors, ["red, dark", "say \"hi\"", "two\nlines"]);
}

#[test]
fn whitespace_around_fields_and_header_names_is_trimmed() {
    let s = Setup::new();
    assert_eq!(
        s.predict("whitespace.csv", &[], ""),
        s.predict("score_train.csv", &[], "")
    );
}

// -------------------------------------------------------------- delimiters, locales

#[test]
fn semicolons_are_detected_or_given() {
    let s = Setup::new();
    let plain = s.predict("score_train.csv", &[], "");
    assert_eq!(s.predict("semicolon.csv", &[], ""), plain);
    assert_eq!(s.predict("semicolon.csv", &["--delimiter", ";"], ""), plain);
}

#[test]
fn a_wrong_delimiter_gets_a_hint() {
    let s = Setup::new();
    assert_error(
        train("semicolon.csv", "y", &s.path("m.json")).args(["--delimiter", ","]),
        "semicolon.csv: the target column 'y' was not found; the columns are: x1;x2;color;y (the header is one column 'x1;x2;color;y'; is the file delimited by ';'? try --delimiter ';')",
    );
    // '|' is not detected: the hint names it.
    assert_error(
        &mut train("pipe.csv", "y", &s.path("m.json")),
        "pipe.csv: the target column 'y' was not found; the columns are: x1|x2|color|y (the header is one column 'x1|x2|color|y'; is the file delimited by '|'? try --delimiter '|')",
    );
}

#[test]
fn decimal_commas_are_an_error_never_another_number() {
    let s = Setup::new();
    assert_error(
        &mut train("decimal_comma.csv", "y", &s.path("m.json")),
        "decimal_comma.csv: line 2: column 'x1': '0,0' looks like a number with a decimal comma or thousands separators, which csvnn does not guess at; expected a plain number like 1234.5 (clean the numbers of column 'x1' first: no thousands separators, a point for decimals)",
    );
}

#[test]
fn thousands_separators_are_an_error_never_another_number() {
    let s = Setup::new();
    assert_error(
        &mut train("thousands.csv", "y", &s.path("m.json")),
        "thousands.csv: line 4: column 'x1': '3,750' looks like a number with a decimal comma or thousands separators, which csvnn does not guess at; expected a plain number like 1234.5 (clean the numbers of column 'x1' first: no thousands separators, a point for decimals)",
    );
}

#[test]
fn localized_numbers_at_prediction_are_an_error() {
    let s = Setup::new();
    assert_error(
        csvnn()
            .args(["predict", "--model"])
            .arg(s.model())
            .args(["--data", "score_localized.csv"]),
        "score_localized.csv: line 4: column 'x1': '1,5' is not a number; expected a plain number like 1234.5 (no decimal comma, no thousands separators)",
    );
}

// ---------------------------------------------------------------------------- values

#[test]
fn text_in_a_numeric_column_is_an_error() {
    let s = Setup::new();
    assert_error(
        &mut train("non_numeric.csv", "y", &s.path("m.json")),
        "non_numeric.csv: line 10: column 'x2': 'lots' is not a number, but 60 of the column's 61 values are; expected a number (mark missing values with --na-values, or treat the column as categories with --categorical x2)",
    );
    assert_error(
        csvnn()
            .args(["predict", "--model"])
            .arg(s.model())
            .args(["--data", "non_numeric.csv"]),
        "non_numeric.csv: line 10: column 'x2': 'lots' is not a number; expected a number (the column is numeric in the model)",
    );
    // The documented ways out: the token as missing, or the column as categories.
    let out = s.path("m.json");
    train("non_numeric.csv", "y", &out)
        .args(["--na-values", "lots"])
        .assert()
        .success()
        .stderr("");
    assert_eq!(feature(&model_json(&out), "x2")["kind"], "numeric");
    train("non_numeric.csv", "y", &out)
        .args(["--categorical", "x2"])
        .assert()
        .success();
    assert_eq!(feature(&model_json(&out), "x2")["kind"], "categorical");
}

#[test]
fn missing_tokens_are_missing() {
    let s = Setup::new();
    let out = s.path("m.json");
    train("missing_tokens.csv", "y", &out)
        .assert()
        .success()
        .stderr("");
    let model = model_json(&out);
    assert_eq!(feature(&model, "x1")["kind"], "numeric");
    // The mean of the 60 present values of x1 (the four missing ones are imputed).
    let expected: f64 = (0..60).map(|i| (i % 7) as f64 * 1.5).sum::<f64>() / 60.0;
    assert!((feature(&model, "x1")["mean"].as_f64().unwrap() - expected).abs() < 1e-12);
    assert_eq!(
        feature(&model, "color")["categories"],
        serde_json::json!(["blue", "green", "red"])
    );
}

#[test]
fn infinite_and_out_of_range_values_are_missing_with_a_warning() {
    let s = Setup::new();
    let out = s.path("m.json");
    train("infinite.csv", "y", &out)
        .assert()
        .success()
        .stderr("csvnn: warning: infinite.csv: column 'x1': 4 infinite or out-of-range values are treated as missing\n");
    let model = model_json(&out);
    let x1 = feature(&model, "x1");
    assert_eq!(x1["kind"], "numeric");
    let expected: f64 = (0..60).map(|i| (i % 7) as f64 * 1.5).sum::<f64>() / 60.0;
    assert!((x1["mean"].as_f64().unwrap() - expected).abs() < 1e-12);
}

#[test]
fn infinite_and_out_of_range_values_at_prediction_warn() {
    let s = Setup::new();
    let out = s.predict(
        "score_out_of_range.csv",
        &[],
        "csvnn: warning: score_out_of_range.csv: column 'x1': 2 infinite or out-of-range value(s) (first '1e400' on line 4) treated as missing\n",
    );
    assert_eq!(out.lines().count(), 9);
    assert_finite_probabilities(&out);
}

#[test]
fn huge_values_standardise_without_overflow() {
    let s = Setup::new();
    let out = s.path("m.json");
    // Trained as they are, with a warning that they are most likely mistakes.
    train("huge.csv", "y", &out).assert().success().stderr(
        "csvnn: warning: huge.csv: line 2: column 'x1': -2e300 is beyond 1e15 in magnitude, most likely a mistake (48 such values in the training rows); it is used as it is, and standardising squashes the column's other values together\n",
    );
    let model = model_json(&out);
    let std = feature(&model, "x1")["std"].as_f64().unwrap();
    assert!(std > 1e299 && std.is_finite(), "{std}");
    let predictions = csvnn()
        .args(["predict", "--proba", "--data", "huge.csv", "--model"])
        .arg(&out)
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    assert_finite_probabilities(&String::from_utf8(predictions).unwrap());
}

// ---------------------------------------------------------------------------- header

#[test]
fn duplicate_column_names_are_an_error() {
    let s = Setup::new();
    assert_error(
        &mut train("duplicate_header.csv", "y", &s.path("m.json")),
        "duplicate_header.csv: line 1: the column name 'x1' appears twice; expected unique names",
    );
    assert_error(
        &mut train("duplicate_after_trim.csv", "y", &s.path("m.json")),
        "duplicate_after_trim.csv: line 1: the column name 'x2' appears twice; expected unique names",
    );
}

#[test]
fn empty_column_name_is_an_error() {
    let s = Setup::new();
    assert_error(
        &mut train("empty_header.csv", "y", &s.path("m.json")),
        "empty_header.csv: line 1: column 2 has an empty name; expected a name for every column",
    );
}

#[test]
fn unknown_target_lists_the_columns() {
    let s = Setup::new();
    assert_error(
        &mut train("score_train.csv", "label", &s.path("m.json")),
        "score_train.csv: the target column 'label' was not found; the columns are: x1, x2, color, y",
    );
}

// ---------------------------------------------------------------------------- target

#[test]
fn rows_without_a_target_are_dropped_with_a_warning() {
    let s = Setup::new();
    let out = s.path("m.json");
    train("missing_target.csv", "y", &out)
        .assert()
        .success()
        .stderr("csvnn: warning: missing_target.csv: 2 rows have no target value and are left out (lines 6, 7)\n");
    assert_eq!(model_json(&out)["training"]["rows_train"], 60);
}

#[test]
fn one_row_without_a_target_is_counted_in_the_singular() {
    let s = Setup::new();
    let text = std::fs::read_to_string(fixtures().join("missing_target.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert_eq!(lines[6], "3,4,blue,NA");
    lines[6] = "3,4,blue,no".to_string(); // line 7 gets a target; line 6 still has none
    std::fs::write(s.path("one_missing.csv"), lines.join("\n") + "\n").unwrap();
    train("one_missing.csv", "y", &s.path("m.json"))
        .current_dir(s.dir.path())
        .assert()
        .success()
        .stderr("csvnn: warning: one_missing.csv: 1 row has no target value and is left out (lines 6)\n");
}

#[test]
fn a_single_class_is_an_error() {
    let s = Setup::new();
    assert_error(
        &mut train("one_class.csv", "y", &s.path("m.json")),
        "one_class.csv: column 'y': the target has only one class ('yes') in the training rows; expected at least two",
    );
}

#[test]
fn text_in_a_regression_target_is_an_error() {
    let s = Setup::new();
    assert_error(
        train("regression_text_target.csv", "price", &s.path("m.json"))
            .args(["--task", "regression"]),
        "regression_text_target.csv: line 7: column 'price': 'cheap' is not a finite number; expected a number for a regression target",
    );
}

#[test]
fn decimal_commas_in_the_target_are_an_error() {
    let s = Setup::new();
    let message = "target_decimal_comma.csv: line 2: column 'price': '10,0' looks like a number with a decimal comma or thousands separators, which csvnn does not guess at; expected a plain number like 1234.5 in the target";
    for task in ["auto", "classification", "regression"] {
        assert_error(
            train("target_decimal_comma.csv", "price", &s.path("m.json")).args(["--task", task]),
            message,
        );
    }
}

#[test]
fn a_validation_file_without_target_values_is_an_error() {
    let s = Setup::new();
    let out = s.path("m.json");
    csvnn()
        .args(["--quiet", "train", "--data", "score_train.csv", "--target", "y"])
        .args(["--validation", "target_all_missing.csv", "-o"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(
            "csvnn: warning: target_all_missing.csv: 5 rows have no target value and are left out (lines 2, 3, 4, 5, 6)\n\
             csvnn: error: target_all_missing.csv: column 'y': no row has a target value; expected at least one to validate on\n",
        );
    assert!(!out.exists());
}

#[test]
fn too_few_rows_for_the_validation_split_is_an_error() {
    let s = Setup::new();
    assert_error(
        csvnn()
            .args(["--quiet", "train", "--data", "tiny.csv", "--target", "y"])
            .args(["--validation-split", "0.1", "-o"])
            .arg(s.path("m.json")),
        "tiny.csv: 2 rows with a target are too few for --validation-split 0.1; expected enough rows for both parts (or use --validation-split 0)",
    );
}

#[test]
fn a_target_without_values_is_an_error_whatever_the_task() {
    let s = Setup::new();
    for task in ["auto", "classification", "regression"] {
        train("target_all_missing.csv", "y", &s.path("m.json"))
            .args(["--task", task])
            .assert()
            .code(1)
            .stderr(
                "csvnn: warning: target_all_missing.csv: 5 rows have no target value and are left out (lines 2, 3, 4, 5, 6)\n\
                 csvnn: error: target_all_missing.csv: column 'y': the target has no values; expected at least one row with a target\n",
            );
    }
}

// ---------------------------------------------------------------------------- columns

#[test]
fn a_constant_column_trains_and_scales_by_one() {
    let s = Setup::new();
    let out = s.path("m.json");
    train("constant_column.csv", "y", &out)
        .assert()
        .success()
        .stderr("");
    let model = model_json(&out);
    assert_eq!(feature(&model, "k")["mean"], 7.0);
    assert_eq!(feature(&model, "k")["std"], 1.0);
    let predictions = csvnn()
        .args([
            "predict",
            "--proba",
            "--data",
            "constant_column.csv",
            "--model",
        ])
        .arg(&out)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_finite_probabilities(&String::from_utf8(predictions).unwrap());
}

#[test]
fn a_column_missing_in_every_row_is_dropped_with_a_warning() {
    let s = Setup::new();
    let out = s.path("m.json");
    train("all_missing_column.csv", "y", &out)
        .assert()
        .success()
        .stderr("csvnn: warning: all_missing_column.csv: column 'empty' has no value in the training rows; it is dropped\n");
    assert_eq!(
        model_json(&out)["pipeline"]["dropped"],
        serde_json::json!(["empty"])
    );
    // Scoring files need not have it.
    csvnn()
        .args(["predict", "--data", "score_train.csv", "--model"])
        .arg(&out)
        .assert()
        .success()
        .stderr("");
}

#[test]
fn an_identifier_like_column_gets_a_warning_suggesting_drop() {
    let s = Setup::new();
    let out = s.path("m.json");
    train("identifier.csv", "y", &out)
        .assert()
        .success()
        .stderr("csvnn: warning: identifier.csv: column 'id' has 60 distinct values in 60 rows, like an identifier; it will not help predict new rows (leave it out with --drop id)\n");
    train("identifier.csv", "y", &out)
        .args(["--drop", "id"])
        .assert()
        .success()
        .stderr("");
}

#[test]
fn max_categories_folds_the_rarest_into_one_input() {
    let s = Setup::new();
    let out = s.path("m.json");
    // 7 cities; the default 1000 keeps them all.
    train("many_categories.csv", "y", &out)
        .assert()
        .success()
        .stderr("");
    assert_eq!(
        feature(&model_json(&out), "city")["other"],
        serde_json::Value::Null
    );
    train("many_categories.csv", "y", &out)
        .args(["--max-categories", "5"])
        .assert()
        .success()
        .stderr("csvnn: warning: many_categories.csv: column 'city' has 7 distinct values, more than --max-categories 5; the 3 rarest (23 rows) share one input\n");
    let model = model_json(&out);
    let city = feature(&model, "city");
    assert_eq!(
        city["categories"],
        serde_json::json!(["c1", "c10", "c12", "c3"])
    );
    assert_eq!(
        city["other"],
        serde_json::json!({"n_categories": 3, "count": 23})
    );
    // Folded (c0, c9) and unseen (c99) cities share the "other" input at prediction:
    // identical outputs, and no unseen-category warning.
    let predictions = csvnn()
        .args([
            "predict",
            "--proba",
            "--data",
            "many_categories_score.csv",
            "--model",
        ])
        .arg(&out)
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(predictions).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows[0], rows[1]);
    assert_eq!(rows[0], rows[2]);
    // A flag value that is wrong whatever the data is a usage error.
    train("many_categories.csv", "y", &out)
        .args(["--max-categories", "1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid value '1' for '--max-categories <N>': expected a whole number of at least 2",
        ));
}

// ---------------------------------------------------------------------------- scoring

#[test]
fn columns_in_another_order_give_identical_predictions() {
    let s = Setup::new();
    assert_eq!(
        s.predict("score_reordered.csv", &[], ""),
        s.predict("score_train.csv", &[], "")
    );
}

#[test]
fn a_missing_feature_column_is_an_error_naming_it() {
    let s = Setup::new();
    assert_error(
        csvnn()
            .args(["predict", "--model"])
            .arg(s.model())
            .args(["--data", "score_missing_feature.csv"]),
        "score_missing_feature.csv: the feature column 'x2' is missing; the model needs it; the columns are: x1, color, y",
    );
}

#[test]
fn extra_columns_are_ignored_with_a_warning() {
    let s = Setup::new();
    let out = s.predict(
        "score_extra_column.csv",
        &[],
        "csvnn: warning: score_extra_column.csv: ignoring columns the model does not use: note\n",
    );
    let all = s.predict("score_train.csv", &[], "");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        all.lines().take(7).collect::<Vec<_>>()
    );
}

#[test]
fn a_file_without_the_target_predicts_but_does_not_evaluate() {
    let s = Setup::new();
    let out = s.predict("score_no_target.csv", &[], "");
    assert_eq!(out.lines().count(), 7);
    assert_error(
        csvnn()
            .args(["evaluate", "--model"])
            .arg(s.model())
            .args(["--data", "score_no_target.csv"]),
        "score_no_target.csv: the target column 'y' is missing; evaluate needs it to score the model (use predict for files without it)",
    );
}

#[test]
fn an_unseen_category_warns_and_encodes_as_zeros() {
    let s = Setup::new();
    let out = s.predict(
        "score_unseen_category.csv",
        &[],
        "csvnn: warning: score_unseen_category.csv: column 'color': 1 value(s) not seen in training (first 'purple' on line 5); encoded as all zeros\n",
    );
    assert_eq!(out.lines().count(), 8);
    assert_finite_probabilities(&out);
}

#[test]
fn an_unseen_label_at_evaluate_is_an_error_naming_it() {
    let s = Setup::new();
    assert_error(
        csvnn()
            .args(["evaluate", "--model"])
            .arg(s.model())
            .args(["--data", "score_unseen_label.csv"]),
        "score_unseen_label.csv: line 4: column 'y': the label 'maybe' was not seen in training; the model knows: no, yes",
    );
}

// ---------------------------------------------------------------------------- model files

#[test]
fn bad_model_files_are_clear_errors() {
    let cases = [
        (
            "model_truncated.json",
            "model_truncated.json: not a valid model file: invalid JSON at line 1 column 35 (EOF while parsing a string at line 1 column 35)",
        ),
        (
            "model_not_csvnn.json",
            "model_not_csvnn.json: not a csvnn model (expected a JSON object with \"format\": \"csvnn-model\")",
        ),
        (
            "model_newer.json",
            "model_newer.json: model format version 99 is newer than this csvnn reads (6); upgrade csvnn",
        ),
    ];
    for (model, message) in cases {
        for command in ["predict", "evaluate"] {
            assert_error(
                csvnn().args([command, "--model", model, "--data", "score_train.csv"]),
                message,
            );
        }
    }
    csvnn()
        .args([
            "predict",
            "--model",
            "model_damaged.json",
            "--data",
            "score_train.csv",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "csvnn: error: model_damaged.json: the model file is damaged: ",
        ))
        .stderr(
            predicate::str::ends_with("\n")
                .and(predicate::function(|s: &str| s.lines().count() == 1)),
        );
    let s = Setup::new();
    assert_error(
        train("score_train.csv", "y", &s.path("m.json"))
            .args(["--preprocessor", "prep_not_csvnn.json"]),
        "prep_not_csvnn.json: not a csvnn preprocessor (expected \"format\": \"csvnn-preprocessor\"; write one with `csvnn preprocess -o`)",
    );
}

// ---------------------------------------------------------------------------- training

#[test]
fn a_diverging_loss_stops_with_an_error_and_writes_no_model() {
    let s = Setup::new();
    let out = s.path("m.json");
    train("regression.csv", "price", &out)
        // ReLU: tanh's bounded outputs keep the loss finite even at this rate.
        .args(["--task", "regression", "--optimizer", "sgd", "--lr", "1e30"])
        .args(["--activation", "relu"])
        .assert()
        .code(1)
        .stderr(predicate::str::is_match(
            r"^csvnn: error: the training loss became (inf|NaN) at epoch \d+, batch \d+; try a lower --lr\n$",
        )
        .unwrap());
    assert!(!out.exists());
}

// ---------------------------------------------------------------------------- nothing lost

#[test]
fn failed_runs_leave_existing_output_files_untouched() {
    let s = Setup::new();
    let model = s.model();
    let model_bytes = fs::read(&model).unwrap();
    // train: bad data, and a diverging loss, over an existing model
    train("decimal_comma.csv", "y", &model).assert().code(1);
    train("regression.csv", "price", &model)
        .args(["--task", "regression", "--optimizer", "sgd", "--lr", "1e30"])
        .assert()
        .code(1);
    assert_eq!(fs::read(&model).unwrap(), model_bytes);
    // predict and preprocess over existing files
    let predictions = s.path("predictions.csv");
    fs::write(&predictions, "keep me\n").unwrap();
    csvnn()
        .args(["predict", "--data", "score_missing_feature.csv", "--model"])
        .arg(&model)
        .arg("-o")
        .arg(&predictions)
        .assert()
        .code(1);
    assert_eq!(fs::read_to_string(&predictions).unwrap(), "keep me\n");
    let prep = s.path("prep.json");
    fs::write(&prep, "keep me too\n").unwrap();
    csvnn()
        .args([
            "preprocess",
            "--data",
            "thousands.csv",
            "--target",
            "y",
            "-o",
        ])
        .arg(&prep)
        .assert()
        .code(1);
    assert_eq!(fs::read_to_string(&prep).unwrap(), "keep me too\n");
    // and no temporary files are left beside them
    let mut names: Vec<String> = fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["model.json", "predictions.csv", "prep.json"]);
}

// ---------------------------------------------------------------------------- big files

/// `preprocess` on `data` (a file name in the setup's folder, or `-` with `stdin`) on
/// `threads` threads: the exit code, stderr with the file's name as `F`, and the
/// preprocessor written.
fn preprocess_big(
    s: &Setup,
    data: &str,
    stdin: Option<&[u8]>,
    threads: &str,
) -> (i32, String, String) {
    let out = s.path("prep.json");
    let _ = fs::remove_file(&out);
    let mut cmd = csvnn();
    cmd.current_dir(s.dir.path())
        .args([
            "--threads",
            threads,
            "preprocess",
            "--data",
            data,
            "--target",
            "y",
            "-o",
        ])
        .arg(&out);
    if let Some(stdin) = stdin {
        cmd.write_stdin(stdin.to_vec());
    }
    let output = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr)
        .replace("big.csv", "F")
        .replace("<stdin>", "F");
    let written = fs::read_to_string(&out).unwrap_or_default();
    (
        output.status.code().unwrap(),
        stderr,
        written.replace("big.csv", "F").replace("<stdin>", "F"),
    )
}

/// A file big enough to be read in two ranges on two threads (issue 19) reports what the
/// csv reader (which reads stdin) reports: an error in its second half with its line,
/// the first of two errors, and a quoted line break near the middle read as a value.
#[test]
fn a_file_read_in_ranges_reads_and_fails_as_the_csv_reader_does() {
    let s = Setup::new();
    let rows = 400_000; // about 13 MB: two ranges of at least 4 MiB
    let lines: Vec<Vec<u8>> = (0..rows)
        .map(|i| {
            let x = i as u64 * 7919 % 1_000_003;
            format!("{i},{}.5,w{},{x}.{},{}\n", i % 13, i % 7, x % 997, i % 2).into_bytes()
        })
        .collect();
    let with = |changes: &[(usize, &[u8])]| -> Vec<u8> {
        let mut text = b"a,b,w,x,y\n".to_vec();
        for (i, line) in lines.iter().enumerate() {
            for (at, line) in changes {
                if *at == i {
                    text.extend_from_slice(line);
                }
            }
            text.extend_from_slice(line);
        }
        text
    };
    let cases: [&[(usize, &[u8])]; 5] = [
        &[(290_000, b"1,2\n")],
        &[(240_000, b"1,\xff,w,1,1\n"), (280_000, b"1,2\n")],
        &[(100_000, b"1,2,3\n"), (250_000, b"1,\xff,w,1,1\n")],
        &[
            (200_001, b"1,2.5,\"w\n0\",1.5,1\n"),
            (200_003, b"1,2.5,\"w\n1\",2.5,0\n"),
        ],
        &[],
    ];
    for (k, changes) in cases.iter().enumerate() {
        let text = with(changes);
        assert!(text.len() > 9 << 20, "{} bytes", text.len());
        fs::write(s.path("big.csv"), &text).unwrap();
        let expected = preprocess_big(&s, "-", Some(&text), "1");
        assert_eq!(expected.0, if k < 3 { 1 } else { 0 }, "{}", expected.1);
        if k < 3 {
            assert!(
                expected.1.starts_with("csvnn: error: F: line "),
                "{}",
                expected.1
            );
        }
        for threads in ["1", "2"] {
            assert_eq!(
                preprocess_big(&s, "big.csv", None, threads),
                expected,
                "case {k}"
            );
        }
    }
}

// ---------------------------------------------------------------------------- garbage

#[test]
fn garbage_on_stdin_never_panics() {
    let s = Setup::new();
    let model = s.model();
    let inputs: Vec<Vec<u8>> = vec![
        b"\"unterminated,quote\ny\n1,2".to_vec(),
        b",,,\n,,,\n".to_vec(),
        b"y\n\"".to_vec(),
        b"x1,x2,color,y\n1,2,\"red\nblue\",yes,\n".to_vec(),
        b"y,y\n".to_vec(),
        (1u8..=255).cycle().take(3000).collect(),
        vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3],
        "x1,x2,color,y\n\u{1F600},\u{FEFF},\u{0301},y\n"
            .as_bytes()
            .to_vec(),
    ];
    for input in inputs {
        for args in [
            vec!["preprocess", "--target", "y"],
            vec!["train", "--target", "y", "-o", "m.json", "--epochs", "1"],
            vec!["predict", "--model", model.to_str().unwrap()],
            vec!["evaluate", "--model", model.to_str().unwrap()],
        ] {
            let output = csvnn()
                .current_dir(s.dir.path())
                .args(&args)
                .args(["--data", "-"])
                .write_stdin(input.clone())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
            let code = output.status.code();
            assert!(
                code == Some(0) || code == Some(1),
                "{args:?}: {code:?} {stderr}"
            );
            // Every line is a diagnostic; a failure ends with one error line.
            assert!(
                stderr.lines().all(|l| l.starts_with("csvnn: ")),
                "{args:?}: {stderr}"
            );
            if code == Some(1) {
                let last = stderr.lines().last().unwrap_or("");
                assert!(
                    last.starts_with("csvnn: error: <stdin>"),
                    "{args:?}: {stderr}"
                );
                assert_eq!(stderr.matches("csvnn: error:").count(), 1, "{stderr}");
            }
        }
    }
    assert!(!s.path("m.json").exists() || fs::read(s.path("m.json")).is_ok());
}

// ---------------------------------------------------------------------------- properties

mod properties {
    use csvnn::data::{read_table_from, CsvOptions, NaValues};
    use csvnn::preprocess::{rows_with_target, FitOptions, Pipeline, Task};
    use proptest::prelude::*;

    /// PROPTEST_CASES, or a number quick enough for every `cargo test`.
    fn config() -> ProptestConfig {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(500);
        ProptestConfig {
            cases,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// Read `bytes` as a CSV file and, when that works, fit a pipeline on it with the last
    /// column as the target and transform every row: whatever happens, nothing panics and
    /// every success yields finite numbers.
    fn read_fit_transform(bytes: &[u8], task: Task, max_categories: usize) {
        let options = CsvOptions {
            delimiter: None,
            skip_bad_rows: bytes.len().is_multiple_of(2),
            columns: None,
        };
        let Ok(table) = read_table_from(bytes, "p.csv", &options) else {
            return;
        };
        let Some(target) = table.headers.last().cloned() else {
            return;
        };
        let na = NaValues::default();
        let (rows, _) = rows_with_target(&table, table.headers.len() - 1, &na);
        let fit = FitOptions {
            target,
            max_categories,
            ..FitOptions::default()
        };
        let Ok((pipeline, _)) = Pipeline::fit(&table, &rows, task, &fit) else {
            return;
        };
        for f in &pipeline.features {
            if let csvnn::preprocess::Feature::Numeric(n) = f {
                assert!(
                    n.mean.is_finite() && n.std.is_finite() && n.std > 0.0,
                    "{n:?}"
                );
            }
        }
        if let Ok(t) = pipeline.transform(&table, None) {
            assert!(t.x.iter().all(|v| v.is_finite()), "{:?}", t.x);
        }
        if let Ok(csvnn::preprocess::EncodedTargets::Values { raw, standardised }) =
            pipeline.encode_targets(&table, &rows)
        {
            assert!(raw.iter().all(|v| v.is_finite()));
            assert!(
                standardised.iter().all(|v| v.is_finite()),
                "{standardised:?}"
            );
        }
    }

    /// Cells of a numeric column, with missing, infinite, huge and tiny values.
    fn number_cell() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => (-1e6f64..1e6).prop_map(|v| v.to_string()),
            2 => (-5i64..5).prop_map(|v| v.to_string()),
            1 => prop::sample::select(vec![
                "", " ", "NA", "null", "NaN", "inf", "-Infinity", "1e400", "-1e300", "1e300",
                "1e-320", "-0", "+1", ".5", "5.", "1e5", "\"7\"",
            ])
            .prop_map(String::from),
        ]
    }

    /// Cells people and programs write, good and bad.
    fn any_cell() -> impl Strategy<Value = String> {
        prop_oneof![
            number_cell(),
            prop::sample::select(vec![
                "3,750",
                "1.234,5",
                "abc",
                "\"q,uoted\"",
                "\"a \"\"b\"\"\"",
                "\"x\ny\"",
                "é",
                "\u{FEFF}",
                "0x10",
                "--1",
                "\"",
                "a\"b",
            ])
            .prop_map(String::from),
            "[a-c]{1,2}",
        ]
    }

    /// A column's cells: numeric, categorical, or anything at all.
    fn column(n_rows: usize) -> impl Strategy<Value = Vec<String>> {
        prop_oneof![
            prop::collection::vec(number_cell(), n_rows),
            prop::collection::vec("[a-d]{1,2}|NA|", n_rows),
            prop::collection::vec(any_cell(), n_rows),
        ]
    }

    fn small_table() -> impl Strategy<Value = (Vec<u8>, u8)> {
        (1usize..6, 0usize..12).prop_flat_map(|(n_cols, n_rows)| {
            (
                prop::collection::vec(column(n_rows), n_cols),
                prop::sample::select(vec![",", ";", "\t"]),
                prop::sample::select(vec!["\n", "\r\n", "\r"]),
                any::<u8>(),
            )
                .prop_map(move |(columns, sep, end, extra)| {
                    let mut text: String = (0..n_cols)
                        .map(|i| format!("c{i}"))
                        .collect::<Vec<_>>()
                        .join(sep);
                    text += end;
                    for row in 0..n_rows {
                        let cells: Vec<&str> = columns.iter().map(|c| c[row].as_str()).collect();
                        text += &cells.join(sep);
                        text += end;
                    }
                    (text.into_bytes(), extra)
                })
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            read_fit_transform(&bytes, Task::Classification, 1000);
            read_fit_transform(&bytes, Task::Regression, 3);
        }

        #[test]
        fn arbitrary_small_tables_never_panic_and_give_finite_numbers(
            (bytes, extra) in small_table()
        ) {
            let task = if extra.is_multiple_of(2) { Task::Classification } else { Task::Regression };
            read_fit_transform(&bytes, task, 2 + (extra as usize % 4));
        }
    }
}
