//! Parquet input: a file that starts with `PAR1` is read by its schema, by every command
//! that reads data, and gives the same table as the same data written as CSV. The
//! fixtures and the CSV text each Parquet value must read as are made by
//! `tests/fixtures/parquet/make.py` (pyarrow).

use std::path::{Path, PathBuf};

use csvnn::data::{read_table, CsvOptions, NaValues};

use super::util::{csvnn, stdout_of};

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/parquet/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn stderr_of_failure(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected a data error, not a panic"
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn parquet_values_read_as_the_csv_export_of_the_same_table() {
    let na = NaValues::default();
    for (parquet, csv, groups) in [
        ("auto.parquet", "auto.csv", 2),
        ("types.parquet", "types.csv", 1),
        ("int96.parquet", "int96.csv", 1),
    ] {
        let p = read_table(&fixture(parquet), &CsvOptions::default()).unwrap();
        let c = read_table(&fixture(csv), &CsvOptions::default()).unwrap();
        assert_eq!(p.source, fixture(parquet));
        assert_eq!(p.headers, c.headers, "{parquet}");
        assert_eq!(
            p.lines, c.lines,
            "{parquet}: a row's line is its line in the CSV"
        );
        assert!(p.n_rows() > 2 * (groups - 1), "{parquet}");
        for (col, name) in p.headers.iter().enumerate() {
            let (pc, cc) = (p.columns[col].cells(&na), c.columns[col].cells(&na));
            for row in 0..p.n_rows() {
                assert_eq!(
                    p.columns[col].text_at(row),
                    c.columns[col].text_at(row),
                    "{parquet}: column {name}, row {row}"
                );
                assert_eq!(pc.get(row), cc.get(row), "{parquet}: {name}, row {row}");
            }
        }
    }
}

fn train(data: &str, model: &Path) {
    csvnn()
        .args(["--quiet", "train", "--data", data, "--target", "mpg"])
        .args(["--epochs", "15", "--seed", "3", "--hidden", "8", "-o"])
        .arg(model)
        .assert()
        .success();
}

#[test]
fn train_predict_and_evaluate_give_the_same_on_parquet_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (pq, csv) = (fixture("auto.parquet"), fixture("auto.csv"));
    let models: Vec<PathBuf> = ["p.json", "c.json"]
        .iter()
        .map(|m| dir.path().join(m))
        .collect();
    train(&pq, &models[0]);
    train(&csv, &models[1]);
    // The same table and seed: the same model, byte for byte.
    assert_eq!(
        std::fs::read(&models[0]).unwrap(),
        std::fs::read(&models[1]).unwrap()
    );
    let predict = |data: &str, chunk_rows: &str| {
        stdout_of(
            csvnn()
                .args(["--quiet", "predict", "--model"])
                .arg(&models[0])
                .args(["--data", data, "--keep", "name,built,imported,mpg"])
                .args(["--chunk-rows", chunk_rows]),
        )
    };
    let from_csv = predict(&csv, "1000");
    assert_eq!(from_csv.lines().count(), 121);
    // Chunks of 7 rows cross the row groups' boundary (60 rows each).
    for chunk_rows in ["1000", "7", "60"] {
        assert_eq!(
            predict(&pq, chunk_rows),
            from_csv,
            "--chunk-rows {chunk_rows}"
        );
    }
    let evaluate = |data: &str| {
        stdout_of(
            csvnn()
                .args(["--quiet", "evaluate", "--format", "json", "--model"])
                .arg(&models[0])
                .args(["--data", data]),
        )
        .replace(data, "DATA")
    };
    assert_eq!(evaluate(&pq), evaluate(&csv));
}

#[test]
fn every_command_that_reads_data_reads_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let pq = fixture("auto.parquet");
    let model = dir.path().join("m.json");
    train(&pq, &model);
    let profile = stdout_of(csvnn().args(["preprocess", "--data", &pq, "--target", "mpg"]));
    assert!(
        profile.contains("imported") && profile.contains("built"),
        "{profile}"
    );
    stdout_of(
        csvnn()
            .args(["--quiet", "cv", "--data", &pq, "--target", "mpg"])
            .args(["--folds", "2", "--epochs", "2"]),
    );
    stdout_of(
        csvnn()
            .args(["--quiet", "explain", "--repeats", "1", "--model"])
            .arg(&model)
            .args(["--data", &pq]),
    );
    let html = dir.path().join("r.html");
    csvnn()
        .args(["--quiet", "report", "--model"])
        .arg(&model)
        .args(["--data", &pq, "-o"])
        .arg(&html)
        .assert()
        .success();
    assert!(std::fs::metadata(&html).unwrap().len() > 1000);
}

#[test]
fn parquet_on_stdin_or_in_gzip_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    train(&fixture("auto.csv"), &model);
    let bytes = std::fs::read(fixture("auto.parquet")).unwrap();
    let err = stderr_of_failure(
        csvnn()
            .args(["predict", "--data", "-", "--model"])
            .arg(&model)
            .write_stdin(bytes.clone()),
    );
    assert!(
        err.contains("<stdin>: the input is Parquet, which cannot be read from standard input")
            && err.contains("write it to a file and read that file"),
        "{err}"
    );
    let gz = dir.path().join("auto.parquet.gz");
    let mut encoder =
        flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), Default::default());
    std::io::Write::write_all(&mut encoder, &bytes).unwrap();
    encoder.finish().unwrap();
    let err = stderr_of_failure(
        csvnn()
            .args(["preprocess", "--target", "mpg", "--data"])
            .arg(&gz),
    );
    assert!(
        err.contains("the file is gzip-compressed Parquet") && err.contains("decompress it first"),
        "{err}"
    );
}

#[test]
fn a_nested_column_is_refused_by_name_and_type() {
    let err = stderr_of_failure(csvnn().args([
        "preprocess",
        "--target",
        "x",
        "--data",
        &fixture("nested.parquet"),
    ]));
    assert!(
        err.contains(
            "nested.parquet: column 'tags': the column is nested (a list); expected flat columns"
        ),
        "{err}"
    );
}

#[test]
fn a_truncated_or_corrupted_parquet_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("auto.parquet")).unwrap();
    let path = dir.path().join("bad.parquet");
    let path_text = path.to_str().unwrap();
    for cut in [5, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err =
            stderr_of_failure(csvnn().args(["preprocess", "--target", "mpg", "--data", path_text]));
        assert!(
            err.contains(&format!("{path_text}: unreadable Parquet"))
                && err.contains("expected a complete Parquet file"),
            "cut at {cut}: {err}"
        );
    }
    // The footer intact, the pages overwritten: the error names a row group and column.
    let mut corrupt = bytes.clone();
    for b in &mut corrupt[8..bytes.len() / 2] {
        *b = 0xA5;
    }
    std::fs::write(&path, &corrupt).unwrap();
    let err =
        stderr_of_failure(csvnn().args(["preprocess", "--target", "mpg", "--data", path_text]));
    assert!(err.contains(&format!("{path_text}: ")), "{err}");
    assert!(err.contains("row group 1"), "{err}");
}
