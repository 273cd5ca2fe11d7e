//! End-to-end tests of the `csvnn` binary on the real files in `data/` (assert_cmd).

use std::fs;
use std::path::PathBuf;

use super::util::{csvnn, data, evaluate_json, stdout_of};
use predicates::prelude::*;
use tempfile::TempDir;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
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

    /// Train a small, quick model; returns its path.
    fn train(&self, name: &str, args: &[&str]) -> PathBuf {
        let model = self.path(name);
        csvnn()
            .args(["--quiet", "train", "-o"])
            .arg(&model)
            .args(args)
            .assert()
            .success();
        model
    }

    fn chile_model(&self) -> PathBuf {
        self.train(
            "chile.json",
            &[
                "--data",
                &data("chile_vote.train.csv"),
                "--target",
                "vote",
                "--categorical",
                "region,sex,education",
                "--epochs",
                "15",
            ],
        )
    }

    fn mpg_model(&self) -> PathBuf {
        self.train(
            "mpg.json",
            &[
                "--data",
                &data("auto_mpg.train.csv"),
                "--target",
                "mpg",
                "--drop",
                "name",
                "--categorical",
                "origin",
                "--epochs",
                "30",
            ],
        )
    }
}

fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn classification_train_evaluate_predict_agree_exactly() {
    let s = Setup::new();
    let model = s.chile_model();
    let test = data("chile_vote.test.csv");
    let report = evaluate_json(&model, &test);
    for key in [
        "task",
        "rows",
        "accuracy",
        "macro_f1",
        "weighted_f1",
        "log_loss",
        "per_class",
        "confusion_matrix",
    ] {
        assert!(report.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(report["task"], "classification");
    assert_eq!(report["rows"], 507);
    assert_eq!(
        report["confusion_matrix"]["labels"],
        serde_json::json!(["A", "N", "U", "Y"])
    );

    let text = stdout_of(
        csvnn()
            .args(["predict", "--proba", "--keep", "vote", "--model"])
            .arg(&model)
            .args(["--data", &test]),
    );
    let (header, rows) = read_csv(&text);
    assert_eq!(
        header,
        [
            "vote",
            "prediction",
            "proba_A",
            "proba_N",
            "proba_U",
            "proba_Y"
        ]
    );
    assert_eq!(rows.len(), 507);
    let correct = rows.iter().filter(|r| r[0] == r[1]).count();
    assert_eq!(report["accuracy"].as_f64().unwrap(), correct as f64 / 507.0);

    // Log loss recomputed from the printed probabilities equals evaluate's exactly.
    let labels = ["A", "N", "U", "Y"];
    let y_true: Vec<usize> = rows
        .iter()
        .map(|r| labels.iter().position(|l| *l == r[0]).unwrap())
        .collect();
    let probs = ndarray::Array2::from_shape_fn((rows.len(), 4), |(i, j)| {
        rows[i][2 + j].parse::<f64>().unwrap()
    });
    let log_loss = csvnn::metrics::classification::log_loss(&y_true, probs.view());
    assert_eq!(report["log_loss"].as_f64().unwrap(), log_loss);
}

#[test]
fn regression_predictions_reproduce_the_evaluate_scores() {
    let s = Setup::new();
    let model = s.mpg_model();
    let test = data("auto_mpg.test.csv");
    let report = evaluate_json(&model, &test);
    assert_eq!(report["task"], "regression");
    for key in ["rows", "rmse", "mae", "r2"] {
        assert!(report.get(key).is_some(), "missing key {key}");
    }
    let text = stdout_of(
        csvnn()
            .args(["predict", "--keep", "mpg,name", "-o", "-", "--model"])
            .arg(&model)
            .args(["--data", &test]),
    );
    let (header, rows) = read_csv(&text);
    assert_eq!(header, ["mpg", "name", "prediction"]);
    let y: Vec<f64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    let pred: Vec<f64> = rows.iter().map(|r| r[2].parse().unwrap()).collect();
    assert_eq!(
        report["rmse"].as_f64().unwrap(),
        csvnn::metrics::regression::rmse(&y, &pred)
    );
    assert_eq!(
        report["r2"].as_f64().unwrap(),
        csvnn::metrics::regression::r2(&y, &pred)
    );
    assert!(
        report["r2"].as_f64().unwrap() > 0.6,
        "a trained model explains mpg: {report}"
    );
}

#[test]
fn auto_task_says_what_it_chose() {
    let s = Setup::new();
    csvnn()
        .args([
            "train",
            "--data",
            &data("auto_mpg.train.csv"),
            "--target",
            "mpg",
            "--drop",
            "name",
            "--epochs",
            "2",
            "-o",
        ])
        .arg(s.path("m.json"))
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "csvnn: task: regression (the target has non-integer numbers)",
        ))
        .stderr(predicate::str::contains("csvnn: epoch 2/2"));
    csvnn()
        .args([
            "train",
            "--data",
            &data("auto_mpg.train.csv"),
            "--target",
            "cylinders",
            "--drop",
            "name",
            "--epochs",
            "1",
            "-o",
        ])
        .arg(s.path("c.json"))
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "task: classification (the target has 5 distinct integer values (at most 20))",
        ));
}

#[test]
fn quiet_prints_nothing_on_success() {
    let s = Setup::new();
    csvnn()
        .args([
            "--quiet",
            "train",
            "--data",
            &data("auto_mpg.train.csv"),
            "--target",
            "mpg",
            "--drop",
            "name",
            "--epochs",
            "2",
            "-o",
        ])
        .arg(s.path("m.json"))
        .assert()
        .success()
        .stderr("")
        .stdout("");
}

#[test]
fn the_same_seed_gives_a_byte_identical_model() {
    let s = Setup::new();
    let args = [
        "--data",
        &data("chile_vote.train.csv"),
        "--target",
        "vote",
        "--epochs",
        "3",
        "--seed",
        "7",
    ];
    let a = s.train("a.json", &args);
    let b = s.train("b.json", &args);
    assert_eq!(fs::read(a).unwrap(), fs::read(b).unwrap());
    let mut other_seed = args.to_vec();
    other_seed[7] = "8";
    let c = s.train("c.json", &other_seed);
    assert_ne!(fs::read(s.path("a.json")).unwrap(), fs::read(c).unwrap());
}

#[test]
fn stdin_gzip_column_order_and_threads_give_identical_predictions() {
    let s = Setup::new();
    let model = s.chile_model();
    let test = data("chile_vote.test.csv");
    let from_file = stdout_of(
        csvnn()
            .args(["predict", "--proba", "--model"])
            .arg(&model)
            .args(["--data", &test]),
    );

    let from_stdin = stdout_of(
        csvnn()
            .args(["predict", "--proba", "--model"])
            .arg(&model)
            .args(["--data", "-"])
            .pipe_stdin(&test)
            .unwrap(),
    );
    assert_eq!(from_file, from_stdin);

    let gz = s.path("test.csv.anything");
    let mut encoder = flate2::write::GzEncoder::new(
        fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    std::io::copy(&mut fs::File::open(&test).unwrap(), &mut encoder).unwrap();
    encoder.finish().unwrap();
    let from_gzip = stdout_of(
        csvnn()
            .args(["predict", "--proba", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&gz),
    );
    assert_eq!(from_file, from_gzip);

    // Columns reversed: matched by name, same predictions.
    let text = fs::read_to_string(&test).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let reversed = s.path("reversed.csv");
    let mut writer = csv::Writer::from_path(&reversed).unwrap();
    writer
        .write_record(reader.headers().unwrap().iter().rev())
        .unwrap();
    for record in reader.records() {
        writer.write_record(record.unwrap().iter().rev()).unwrap();
    }
    writer.flush().unwrap();
    let from_reversed = stdout_of(
        csvnn()
            .args(["predict", "--proba", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&reversed),
    );
    assert_eq!(from_file, from_reversed);

    for threads in ["1", "2", "3"] {
        let out = stdout_of(
            csvnn()
                .args(["--threads", threads, "predict", "--proba", "--model"])
                .arg(&model)
                .args(["--data", &test]),
        );
        assert_eq!(from_file, out, "--threads {threads}");
    }
}

#[test]
fn predict_writes_a_file_and_works_without_the_target() {
    let s = Setup::new();
    let model = s.mpg_model();
    let text = fs::read_to_string(data("auto_mpg.test.csv")).unwrap();
    let no_target: String = text
        .lines()
        .map(|l| l.split_once(',').unwrap().1.to_string() + "\n")
        .collect();
    let input = s.path("no_target.csv");
    fs::write(&input, no_target).unwrap();
    let out = s.path("pred.csv");
    csvnn()
        .args(["predict", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .stdout("");
    let (header, rows) = read_csv(&fs::read_to_string(&out).unwrap());
    assert_eq!(header, ["prediction"]);
    assert_eq!(rows.len(), 79);
    csvnn()
        .args(["evaluate", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&input)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the target column 'mpg' is missing; evaluate needs it",
        ));
}

#[test]
fn preprocess_profiles_and_its_pipeline_trains() {
    let s = Setup::new();
    let prep = s.path("prep.json");
    csvnn()
        .args([
            "preprocess",
            "--data",
            &data("chile_vote.train.csv"),
            "--target",
            "vote",
            "-o",
        ])
        .arg(&prep)
        .assert()
        .success()
        .stdout(predicate::str::contains("education"))
        .stdout(predicate::str::contains("class balance:"))
        .stdout(predicate::str::contains("N: 711"));
    let json = stdout_of(csvnn().args([
        "preprocess",
        "--format",
        "json",
        "--data",
        &data("chile_vote.train.csv"),
        "--target",
        "vote",
    ]));
    let profile: serde_json::Value = serde_json::from_str(&json).unwrap();
    let age = profile["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "age")
        .unwrap();
    assert_eq!(age["type"], "numeric");
    assert_eq!(age["missing"], 1);
    let model = s.train(
        "m.json",
        &[
            "--data",
            &data("chile_vote.train.csv"),
            "--target",
            "vote",
            "--epochs",
            "2",
            "--preprocessor",
            prep.to_str().unwrap(),
        ],
    );
    let saved: serde_json::Value = serde_json::from_slice(&fs::read(model).unwrap()).unwrap();
    let prep_json: serde_json::Value = serde_json::from_slice(&fs::read(&prep).unwrap()).unwrap();
    assert_eq!(
        saved["pipeline"], prep_json["pipeline"],
        "the pipeline is used as it is"
    );
}

#[test]
fn quoted_fields_are_read_as_rfc_4180() {
    let s = Setup::new();
    let model = s.train(
        "q.json",
        &[
            "--data",
            &fixture("quoted.csv"),
            "--target",
            "label",
            "--drop",
            "id",
            "--epochs",
            "2",
            "--validation-split",
            "0",
        ],
    );
    let text = stdout_of(
        csvnn()
            .args(["predict", "--keep", "note", "--model"])
            .arg(&model)
            .args(["--data", &fixture("quoted.csv")]),
    );
    let (_, rows) = read_csv(&text);
    let notes: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        notes,
        [
            "plain",
            "has, comma",
            "has \"quotes\"",
            "line\nbreak",
            "",
            "x",
            "y",
            "z"
        ]
    );
}

#[test]
fn unseen_categories_warn_and_encode_as_zeros() {
    let s = Setup::new();
    let model = s.chile_model();
    let text = fs::read_to_string(data("chile_vote.test.csv"))
        .unwrap()
        .replacen("\nSA,", "\nXX,", 1);
    let input = s.path("unseen.csv");
    fs::write(&input, text).unwrap();
    csvnn()
        .args(["predict", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&input)
        .assert()
        .success()
        .stderr(predicate::str::contains("csvnn: warning:"))
        .stderr(predicate::str::contains(
            "column 'region': 1 value(s) not seen in training (first 'XX' on line",
        ));
}

#[test]
fn early_stopping_restores_the_best_epoch() {
    let s = Setup::new();
    let model = s.train(
        "es.json",
        &[
            "--data",
            &data("auto_mpg.train.csv"),
            "--target",
            "mpg",
            "--drop",
            "name",
            "--epochs",
            "300",
            "--patience",
            "3",
            "--lr",
            "0.01",
        ],
    );
    let saved: serde_json::Value = serde_json::from_slice(&fs::read(model).unwrap()).unwrap();
    let training = &saved["training"];
    let best = training["best_epoch"].as_u64().unwrap() as usize;
    let history = saved["history"].as_array().unwrap();
    assert!(training["stopped_early"].as_bool().unwrap(), "{training}");
    assert_eq!(history.len(), best + 3);
    let losses: Vec<f64> = history
        .iter()
        .map(|h| h["val_loss"].as_f64().unwrap())
        .collect();
    let min = losses.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(losses[best - 1], min);
    assert_eq!(saved["validation_metrics"]["loss"].as_f64().unwrap(), min);
}

#[test]
fn usage_errors_exit_2() {
    let s = Setup::new();
    let out = s.path("m.json");
    let base = [
        "train",
        "--data",
        &data("chile_vote.train.csv"),
        "--target",
        "vote",
        "-o",
        out.to_str().unwrap(),
    ];
    csvnn()
        .args(base)
        .args(["--loss", "mse"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "csvnn: error: --loss mse does not fit a classification task; use cross-entropy",
        ));
    csvnn().args(base).args(["--lr", "0"]).assert().code(2);
    csvnn()
        .args(base)
        .args(["--validation-split", "1.5"])
        .assert()
        .code(2);
    csvnn()
        .args(base)
        .args(["--hidden", "64,x"])
        .assert()
        .code(2);
    csvnn()
        .args(base)
        .args(["--validation-split", "0.2", "--validation", "x.csv"])
        .assert()
        .code(2);
    assert!(!out.exists(), "no model is left by a failed run");
    let model = s.mpg_model();
    csvnn()
        .args(["predict", "--proba", "--model"])
        .arg(&model)
        .args(["--data", &data("auto_mpg.test.csv")])
        .assert()
        .code(2)
        .stderr("csvnn: error: --proba needs a classification model; this model does regression\n");
}

#[test]
fn data_errors_name_the_file_and_column_and_exit_1() {
    let s = Setup::new();
    let train = data("chile_vote.train.csv");
    let out = s.path("m.json");
    csvnn()
        .args(["train", "--data", &train, "--target", "nope", "-o"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(format!(
            "csvnn: error: {train}: the target column 'nope' was not found; the columns are: region, population, sex, age, education, income, statusquo, vote\n"
        ));
    csvnn()
        .args([
            "train", "--data", &train, "--target", "vote", "--drop", "ghost", "-o",
        ])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--drop names the column 'ghost', which does not exist",
        ));
    csvnn()
        .args([
            "train",
            "--data",
            "/no/such/file.csv",
            "--target",
            "vote",
            "-o",
        ])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "csvnn: error: /no/such/file.csv: No such file",
        ));
    assert!(!out.exists());

    let model = s.chile_model();
    let text = fs::read_to_string(data("chile_vote.test.csv")).unwrap();
    let without_age: String = text
        .lines()
        .map(|l| {
            let mut fields: Vec<&str> = l.split(',').collect();
            fields.remove(3);
            fields.join(",") + "\n"
        })
        .collect();
    let input = s.path("no_age.csv");
    fs::write(&input, without_age).unwrap();
    csvnn()
        .args(["predict", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&input)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the feature column 'age' is missing; the model needs it",
        ));

    let bad_number = text.replacen("\nSA,250000,", "\nSA,lots,", 1);
    let input = s.path("bad_number.csv");
    fs::write(&input, bad_number).unwrap();
    csvnn()
        .args(["predict", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&input)
        .assert()
        .code(1)
        .stderr(predicate::str::is_match(r"bad_number.csv: line \d+: column 'population': 'lots' is not a number; expected a number").unwrap());
    csvnn()
        .args(["predict", "--keep", "ghost", "--model"])
        .arg(&model)
        .args(["--data", &data("chile_vote.test.csv")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--keep names the column 'ghost', which is not in the file",
        ));
}

#[test]
fn bad_model_files_are_refused_clearly() {
    let s = Setup::new();
    let test = data("chile_vote.test.csv");
    let cases = [
        (
            "truncated.json",
            "{\"format\": \"csvnn-model\", \"format_v",
            "not a valid model file: invalid JSON at line 1",
        ),
        ("other.json", "{\"hello\": 1}", "not a csvnn model"),
        (
            "newer.json",
            "{\"format\": \"csvnn-model\", \"format_version\": 99}",
            "model format version 99 is newer than this csvnn reads (6)",
        ),
    ];
    for (name, content, message) in cases {
        let path = s.path(name);
        fs::write(&path, content).unwrap();
        csvnn()
            .args(["predict", "--model"])
            .arg(&path)
            .args(["--data", &test])
            .assert()
            .code(1)
            .stderr(predicate::str::contains(message));
    }
}
