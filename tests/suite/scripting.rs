//! Scripting and insight: streaming `predict` in pipes, JSON lines, metric gates,
//! `inspect`, `report`, shell completions, `--version` and `preprocess --format json`.
//! Models are trained once per test binary on the shipped datasets in `data/`.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::util::{csvnn, data, evaluate_json, stdout_of};
use predicates::prelude::*;
use tempfile::TempDir;

/// The models every test shares, trained once in a directory that lives as long as the
/// test binary.
struct Models {
    dir: TempDir,
    /// 4 classes (A, N, U, Y).
    chile: PathBuf,
    /// 2 classes (No, Yes).
    default: PathBuf,
    /// Regression of mpg.
    mpg: PathBuf,
}

fn train(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let model = dir.join(name);
    csvnn()
        .args(["--quiet", "train", "-o"])
        .arg(&model)
        .args(args)
        .assert()
        .success();
    model
}

fn models() -> &'static Models {
    static MODELS: OnceLock<Models> = OnceLock::new();
    MODELS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let chile = train(
            dir.path(),
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
        );
        let default = train(
            dir.path(),
            "default.json",
            &[
                "--data",
                &data("default.train.csv"),
                "--target",
                "default",
                "--epochs",
                "8",
            ],
        );
        let mpg = train(
            dir.path(),
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
                "--validation-split",
                "0.1",
                "--epochs",
                "30",
            ],
        );
        Models {
            dir,
            chile,
            default,
            mpg,
        }
    })
}

// ------------------------------------------------------------------- streaming predict

#[test]
fn predict_from_stdin_equals_predict_from_a_file_byte_for_byte() {
    let m = models();
    let cases: [(&Path, &str, &[&str]); 3] = [
        (
            &m.chile,
            "chile_vote.test.csv",
            &["--proba", "--keep", "vote,region"],
        ),
        (&m.default, "default.test.csv", &["--proba"]),
        (&m.mpg, "auto_mpg.test.csv", &["--keep", "name,mpg"]),
    ];
    for (model, file, extra) in cases {
        for format in ["csv", "jsonl"] {
            let from_file = stdout_of(
                csvnn()
                    .args(["predict", "--format", format, "--model"])
                    .arg(model)
                    .args(["--data", &data(file)])
                    .args(extra),
            );
            // Small chunks: many reads, scores and flushes; the bytes must not change.
            for chunk_rows in ["8192", "7", "1"] {
                let from_stdin = stdout_of(
                    csvnn()
                        .args(["predict", "--format", format, "--chunk-rows", chunk_rows])
                        .arg("--model")
                        .arg(model)
                        .args(["--data", "-"])
                        .args(extra)
                        .pipe_stdin(data(file))
                        .unwrap(),
                );
                assert!(
                    from_file == from_stdin,
                    "{file} --format {format} --chunk-rows {chunk_rows}: stdin output differs"
                );
            }
            let lines = from_file.lines().count();
            let rows = fs::read_to_string(data(file)).unwrap().lines().count() - 1;
            let expected = if format == "csv" { rows + 1 } else { rows };
            assert_eq!(lines, expected, "{file} {format}");
        }
    }
}

#[test]
fn gzip_on_stdin_streams_too() {
    let m = models();
    let test = data("chile_vote.test.csv");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&fs::read(&test).unwrap()).unwrap();
    let gz = encoder.finish().unwrap();
    let args = ["predict", "--proba", "--chunk-rows", "50", "--data"];
    let from_file = stdout_of(csvnn().args(args).arg(&test).arg("--model").arg(&m.chile));
    let from_gzip_stdin = stdout_of(
        csvnn()
            .args(args)
            .arg("-")
            .arg("--model")
            .arg(&m.chile)
            .write_stdin(gz),
    );
    assert_eq!(from_file, from_gzip_stdin);
}

#[test]
fn jsonl_has_one_object_per_row_with_the_csv_columns_as_keys() {
    let m = models();
    let args = ["predict", "--proba", "--keep", "vote", "--data"];
    let test = data("chile_vote.test.csv");
    let csv_text = stdout_of(csvnn().args(args).arg(&test).arg("--model").arg(&m.chile));
    let jsonl = stdout_of(
        csvnn()
            .args(args)
            .arg(&test)
            .args(["--format", "jsonl", "--model"])
            .arg(&m.chile),
    );
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
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
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let objects: Vec<&str> = jsonl.lines().collect();
    assert_eq!(objects.len(), rows.len());
    for (line, row) in objects.iter().zip(&rows) {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).unwrap();
        assert_eq!(object.len(), header.len());
        for (key, cell) in header.iter().zip(row.iter()) {
            match &object[key] {
                serde_json::Value::String(s) => assert_eq!(s, cell, "{key}"),
                serde_json::Value::Number(n) => {
                    assert_eq!(n.as_f64().unwrap(), cell.parse::<f64>().unwrap(), "{key}")
                }
                other => panic!("{key}: unexpected {other}"),
            }
        }
        // Keys keep the CSV's column order.
        let first_key = line[2..].split('"').next().unwrap();
        assert_eq!(first_key, "vote");
    }

    // Regression: the prediction is a JSON number equal to the CSV's.
    let mpg_csv = stdout_of(
        csvnn()
            .args(["predict", "--model"])
            .arg(&m.mpg)
            .args(["--data", &data("auto_mpg.test.csv")]),
    );
    let mpg_jsonl = stdout_of(
        csvnn()
            .args(["predict", "--format", "jsonl", "-o", "-", "--model"])
            .arg(&m.mpg)
            .args(["--data", &data("auto_mpg.test.csv")]),
    );
    for (csv_line, json_line) in mpg_csv.lines().skip(1).zip(mpg_jsonl.lines()) {
        let value: serde_json::Value = serde_json::from_str(json_line).unwrap();
        assert_eq!(
            value["prediction"].as_f64().unwrap(),
            csv_line.parse::<f64>().unwrap()
        );
    }
}

#[test]
fn jsonl_to_a_file_and_a_header_only_input() {
    let m = models();
    let out = m.dir.path().join("predictions.jsonl");
    csvnn()
        .args(["predict", "--format", "jsonl", "--model"])
        .arg(&m.default)
        .args(["--data", &data("default.test.csv"), "-o"])
        .arg(&out)
        .assert()
        .success()
        .stderr(format!(
            "csvnn: wrote 2000 predictions to {}\n",
            out.display()
        ));
    let text = fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 2000);
    assert!(text.starts_with("{\"prediction\":\""));

    // A header and no rows: the CSV header only, and nothing for JSON lines.
    let header = "default,student,balance,income\n";
    csvnn()
        .args(["predict", "--proba", "--data", "-", "--model"])
        .arg(&m.default)
        .write_stdin(header)
        .assert()
        .success()
        .stdout("prediction,proba_No,proba_Yes\n");
    csvnn()
        .args(["predict", "--format", "jsonl", "--data", "-", "--model"])
        .arg(&m.default)
        .write_stdin(header)
        .assert()
        .success()
        .stdout("");
}

#[test]
fn streaming_keeps_the_error_messages_of_predict() {
    let m = models();
    csvnn()
        .args(["predict", "--keep", "nope", "--data", "-", "--model"])
        .arg(&m.default)
        .write_stdin("default,student,balance,income\nNo,No,1,2\n")
        .assert()
        .code(1)
        .stdout("")
        .stderr("csvnn: error: <stdin>: --keep names the column 'nope', which is not in the file; the columns are: default, student, balance, income\n");
    csvnn()
        .args(["predict", "--data", "-", "--model"])
        .arg(&m.default)
        .write_stdin("default,student,balance\nNo,No,1\n")
        .assert()
        .code(1)
        .stdout("")
        .stderr("csvnn: error: <stdin>: the feature column 'income' is missing; the model needs it; the columns are: default, student, balance\n");
    // A bad cell in a later chunk: the rows before it are out, the error names its line.
    let mut input = String::from("student,balance,income\n");
    for _ in 0..10 {
        input += "No,100,2000\n";
    }
    input += "No,lots,2000\n";
    csvnn()
        .args(["predict", "--chunk-rows", "4", "--data", "-", "--model"])
        .arg(&m.default)
        .write_stdin(input)
        .assert()
        .code(1)
        .stdout(predicate::function(|out: &str| out.lines().count() == 9))
        .stderr("csvnn: error: <stdin>: line 12: column 'balance': 'lots' is not a number; expected a number (the column is numeric in the model)\n");
}

/// `(default.test.csv rows) x copies` as one CSV text.
fn big_input(copies: usize) -> Vec<u8> {
    let text = fs::read_to_string(data("default.test.csv")).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    let mut out = format!("{header}\n").into_bytes();
    for _ in 0..copies {
        out.extend_from_slice(rows.as_bytes());
    }
    out
}

/// Kills a child process that outlives its deadline, so that a test fails rather than hangs.
fn watchdog(pid: u32, seconds: u64) -> std::sync::mpsc::Sender<()> {
    let (done, wait) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if wait.recv_timeout(Duration::from_secs(seconds)).is_err() {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        }
    });
    done
}

#[test]
fn a_closed_pipe_ends_predict_quietly_with_exit_0() {
    let m = models();
    let input = m.dir.path().join("big.csv");
    fs::write(&input, big_input(25)).unwrap(); // 50,000 rows, megabytes of output
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("csvnn"))
        .args(["predict", "--proba", "--data", "-", "--model"])
        .arg(&m.default)
        .stdin(fs::File::open(&input).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let done = watchdog(child.id(), 60);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first, "prediction,proba_No,proba_Yes\n");
    drop(stdout); // like `| head -1`
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    let _ = done.send(());
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(stderr, "");
}

#[test]
fn each_chunk_is_written_before_the_next_is_read() {
    let m = models();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("csvnn"))
        .args(["predict", "--chunk-rows", "5", "--data", "-", "--model"])
        .arg(&m.default)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let done = watchdog(child.id(), 60);
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdin
        .write_all(b"student,balance,income\nNo,100,2000\nNo,200,2000\nNo,300,2000\nNo,400,2000\nNo,500,2000\n")
        .unwrap();
    stdin.flush().unwrap();
    // The input stays open: these lines can only come from the flush after the chunk.
    let started = Instant::now();
    let mut lines = Vec::new();
    for _ in 0..6 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        lines.push(line);
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(lines[0], "prediction\n");
    assert!(
        lines[1..].iter().all(|l| l == "No\n" || l == "Yes\n"),
        "{lines:?}"
    );
    stdin.write_all(b"No,600,2000\n").unwrap();
    drop(stdin);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest.lines().count(), 1);
    assert!(child.wait().unwrap().success());
    let _ = done.send(());
}

// ------------------------------------------------------------------------ metric gates

#[test]
fn fail_under_exits_3_and_names_the_metrics_that_missed() {
    let m = models();
    let test = data("chile_vote.test.csv");
    let metrics = evaluate_json(&m.chile, &test);
    let accuracy = metrics["accuracy"].as_f64().unwrap();
    let macro_f1 = metrics["macro_f1"].as_f64().unwrap();
    let plain = stdout_of(
        csvnn()
            .args(["evaluate", "--format", "json", "--model"])
            .arg(&m.chile)
            .args(["--data", &test]),
    );

    // Missed: the report is still printed; stderr names each metric that missed.
    csvnn()
        .args(["evaluate", "--format", "json", "--model"])
        .arg(&m.chile)
        .args(["--data", &test])
        .args(["--fail-under", "accuracy=0.99,macro_f1=0.99,log_loss=0"])
        .assert()
        .code(3)
        .stdout(plain.clone())
        .stderr(format!(
            "csvnn: error: 2 metric gates missed: accuracy {accuracy} < 0.99 (--fail-under); macro_f1 {macro_f1} < 0.99 (--fail-under)\n"
        ));

    // Met: exit 0, same output, one info line.
    csvnn()
        .args(["evaluate", "--format", "json", "--model"])
        .arg(&m.chile)
        .args([
            "--data",
            &test,
            "--fail-under",
            "accuracy=0.3",
            "--fail-over",
            "log_loss=5",
        ])
        .assert()
        .success()
        .stdout(plain)
        .stderr("csvnn: metric gates met: accuracy >= 0.3, log_loss <= 5\n");

    // The threshold itself passes.
    csvnn()
        .args(["--quiet", "evaluate", "--model"])
        .arg(&m.chile)
        .args(["--data", &test])
        .arg(format!("--fail-under=accuracy={accuracy}"))
        .assert()
        .success()
        .stderr("");
}

#[test]
fn fail_over_gates_regression_metrics() {
    let m = models();
    let test = data("auto_mpg.test.csv");
    let rmse = evaluate_json(&m.mpg, &test)["rmse"].as_f64().unwrap();
    csvnn()
        .args(["evaluate", "--model"])
        .arg(&m.mpg)
        .args([
            "--data",
            &test,
            "--fail-over",
            "rmse=0.5",
            "--fail-under",
            "r2=-100",
        ])
        .assert()
        .code(3)
        .stderr(format!(
            "csvnn: error: 1 metric gate missed: rmse {rmse} > 0.5 (--fail-over)\n"
        ));
    csvnn()
        .args(["--quiet", "evaluate", "--model"])
        .arg(&m.mpg)
        .args(["--data", &test, "--fail-over", "rmse=100,mae=100"])
        .assert()
        .success();
}

#[test]
fn a_gate_on_an_unknown_metric_is_a_usage_error() {
    let m = models();
    let test = data("chile_vote.test.csv");
    csvnn()
        .args(["evaluate", "--model"])
        .arg(&m.chile)
        .args(["--data", &test, "--fail-under", "acc=0.9"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "unknown metric 'acc'; the metrics are: accuracy, balanced_accuracy, macro_f1, micro_f1, weighted_f1, log_loss, roc_auc, mcc (classification), rmse, mae, r2, explained_variance, max_error (regression)",
        ));
    csvnn()
        .args(["evaluate", "--model"])
        .arg(&m.chile)
        .args(["--data", &test, "--fail-under", "accuracy"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "expected KEY=VALUE, for example accuracy=0.9",
        ));
    csvnn()
        .args(["evaluate", "--model"])
        .arg(&m.chile)
        .args(["--data", &test, "--fail-under", "accuracy=high"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("'high' is not a number"));
    // A metric of the other task: refused before the data is read.
    csvnn()
        .args(["evaluate", "--model"])
        .arg(&m.chile)
        .args(["--data", "no-such-file.csv", "--fail-over", "rmse=1"])
        .assert()
        .code(2)
        .stdout("")
        .stderr("csvnn: error: --fail-over rmse: the model does classification, which has no 'rmse' metric; the metrics are: accuracy, balanced_accuracy, macro_f1, micro_f1, weighted_f1, log_loss, roc_auc, mcc\n");
}

// ----------------------------------------------------------------------------- inspect

#[test]
fn inspect_json_describes_the_model() {
    let m = models();
    let model: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&m.chile).unwrap()).unwrap();
    let info: serde_json::Value = serde_json::from_str(&stdout_of(
        csvnn()
            .args(["inspect", "--format", "json", "--model"])
            .arg(&m.chile),
    ))
    .unwrap();
    assert_eq!(info["task"], "classification");
    assert_eq!(info["target"], "vote");
    assert_eq!(info["classes"], serde_json::json!(["A", "N", "U", "Y"]));
    assert!(info.get("target_scaling").is_none());
    let inputs = info["inputs"].as_array().unwrap();
    let names: Vec<&str> = inputs.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "region",
            "population",
            "sex",
            "age",
            "education",
            "income",
            "statusquo"
        ]
    );
    assert_eq!(inputs[0]["type"], "categorical");
    assert_eq!(
        inputs[0]["categories"][0],
        serde_json::json!({"value": "C", "count": model["pipeline"]["features"][0]["counts"][0]})
    );
    assert_eq!(inputs[1]["type"], "numeric");
    assert_eq!(inputs[1]["mean"], model["pipeline"]["features"][1]["mean"]);
    let network_inputs: u64 = inputs
        .iter()
        .map(|i| i["network_inputs"].as_u64().unwrap())
        .sum();
    let arch = &info["architecture"];
    assert_eq!(arch["n_inputs"].as_u64().unwrap(), network_inputs);
    assert_eq!(arch["n_outputs"], 4);
    // Dense 14 -> 64, tanh (the default for a table of plain columns), dense 64 -> 4.
    assert_eq!(arch["params"], 14 * 64 + 64 + 64 * 4 + 4);
    let kinds: Vec<&str> = arch["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["dense", "activation", "dense"]);
    assert_eq!(arch["layers"][1]["detail"], "tanh");
    assert_eq!(info["training"], model["training"]);
    assert_eq!(
        info["history"]["epochs"],
        model["history"].as_array().unwrap().len()
    );
    assert_eq!(info["history"]["first"], model["history"][0]);
    assert_eq!(info["validation_metrics"], model["validation_metrics"]);
    let best = &info["history"]["best"];
    let min_val_loss = model["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["val_loss"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(best["val_loss"].as_f64().unwrap(), min_val_loss);

    let regression: serde_json::Value = serde_json::from_str(&stdout_of(
        csvnn()
            .args(["inspect", "--format", "json", "--model"])
            .arg(&m.mpg),
    ))
    .unwrap();
    assert_eq!(regression["task"], "regression");
    assert!(regression.get("classes").is_none());
    assert!(regression["target_scaling"]["std"].as_f64().unwrap() > 0.0);
    assert_eq!(regression["dropped"], serde_json::json!(["name"]));
}

#[test]
fn inspect_table_is_for_people() {
    let m = models();
    let text = stdout_of(csvnn().args(["inspect", "--model"]).arg(&m.chile));
    for expected in [
        "task:     classification (the target has the non-numeric value 'N')",
        "classes:  A, N, U, Y (4)",
        "input columns (7):",
        "  region      categorical  5 categories: C (",
        "architecture: 14 inputs -> 4 outputs, 1220 parameters",
        "dense       14 -> 64",
        "optimizer adam (beta1 0.9, beta2 0.999, eps 1e-8, lr 0.001, weight_decay 0)",
        "epochs 15, batch size 32, patience 10, seed 42",
        "history (15 epochs):",
        "validation metrics: loss ",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    csvnn()
        .args(["inspect", "--model", "no-such-model.json"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "csvnn: error: no-such-model.json: ",
        ));
}

// ------------------------------------------------------------------------------ report

/// What every report must be: one HTML file with inline SVG and nothing fetched.
fn check_self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(html.trim_end().ends_with("</html>"));
    for forbidden in [
        "<script",
        "<link",
        "<img",
        "<iframe",
        "src=",
        "href=",
        "url(",
        "@import",
        "@font-face",
    ] {
        assert!(!html.contains(forbidden), "the report contains {forbidden}");
    }
    // The only URL is the SVG namespace, which is a name and never fetched.
    let urls = html.matches("http").count();
    assert_eq!(
        urls,
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
}

fn report(model: &Path, data_file: Option<&str>, out: &Path) -> String {
    let mut cmd = csvnn();
    cmd.args(["report", "--model"])
        .arg(model)
        .arg("-o")
        .arg(out);
    if let Some(d) = data_file {
        cmd.args(["--data", d]);
    }
    cmd.assert()
        .success()
        .stdout("")
        .stderr(format!("csvnn: wrote the report to {}\n", out.display()));
    fs::read_to_string(out).unwrap()
}

#[test]
fn report_on_a_classifier_with_test_data() {
    let m = models();
    let out = m.dir.path().join("chile.html");
    let html = report(&m.chile, Some(&data("chile_vote.test.csv")), &out);
    check_self_contained(&html);
    // Loss, validation accuracy, confusion matrix, ROC.
    assert_eq!(html.matches("<svg").count(), 4);
    for expected in [
        "Loss per epoch",
        "Validation accuracy per epoch",
        "Confusion matrix",
        "ROC curves, one class vs the rest",
        "training loss",
        "validation loss",
        "true class",
        "predicted class",
        "Y vs rest (AUC ",
    ] {
        assert!(html.contains(expected), "missing {expected:?}");
    }
    let metrics = evaluate_json(&m.chile, &data("chile_vote.test.csv"));
    let accuracy = format!(
        "<tr><td>accuracy</td><td>{:.4}</td></tr>",
        metrics["accuracy"].as_f64().unwrap()
    );
    assert!(html.contains(&accuracy), "missing {accuracy}");
    // Each confusion-matrix count is drawn in its cell.
    let matrix = &metrics["confusion_matrix"]["matrix"];
    let n_cells = matrix.as_array().unwrap().len().pow(2);
    assert_eq!(n_cells, 16);
    let total: u64 = matrix
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()))
        .sum();
    assert_eq!(total, metrics["rows"].as_u64().unwrap());
}

#[test]
fn report_on_a_binary_classifier_draws_one_roc_curve() {
    let m = models();
    let out = m.dir.path().join("default.html");
    let html = report(&m.default, Some(&data("default.test.csv")), &out);
    check_self_contained(&html);
    assert!(html.contains("ROC curve (test rows)"));
    let auc = evaluate_json(&m.default, &data("default.test.csv"))["roc_auc"]
        .as_f64()
        .unwrap();
    assert!(html.contains(&format!("Yes vs No (AUC {auc:.3})")));
    assert!(!html.contains("vs rest"));
}

#[test]
fn report_on_a_regressor_and_without_test_data() {
    let m = models();
    let out = m.dir.path().join("mpg.html");
    let html = report(&m.mpg, Some(&data("auto_mpg.test.csv")), &out);
    check_self_contained(&html);
    assert_eq!(html.matches("<svg").count(), 3);
    assert!(html.contains("Predicted vs actual (test rows)"));
    assert!(html.contains("actual mpg"));
    assert!(html.contains("Validation RMSE per epoch"));
    assert!(!html.contains("Confusion matrix"));

    let out = m.dir.path().join("mpg-no-data.html");
    let html = report(&m.mpg, None, &out);
    check_self_contained(&html);
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(!html.contains("Test metrics"));
}

#[test]
fn a_failed_report_leaves_no_file() {
    let m = models();
    let out = m.dir.path().join("failed.html");
    csvnn()
        .args(["report", "--model"])
        .arg(&m.chile)
        .args(["--data", &data("auto_mpg.test.csv"), "-o"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("csvnn: error: "));
    assert!(!out.exists());
    csvnn()
        .args(["report", "--model"])
        .arg(&m.chile)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--output <FILE>"));
}

// ------------------------------------------------- completions, version, preprocess json

#[test]
fn completions_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout_of(csvnn().args(["completions", shell]));
        for word in [
            "csvnn",
            "predict",
            "inspect",
            "report",
            "fail-under",
            "chunk-rows",
        ] {
            assert!(script.contains(word), "{shell}: missing {word}");
        }
    }
    csvnn()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'tcsh'"));
}

#[test]
fn version_prints_the_crate_version() {
    csvnn()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("csvnn {}\n", env!("CARGO_PKG_VERSION")))
        .stderr("");
}

#[test]
fn preprocess_json_is_the_data_profile() {
    let text = stdout_of(csvnn().args([
        "--quiet",
        "preprocess",
        "--data",
        &data("chile_vote.train.csv"),
        "--target",
        "vote",
        "--format",
        "json",
    ]));
    let profile: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(profile["rows"], 2025);
    assert_eq!(profile["task"], "classification");
    assert_eq!(profile["target"], "vote");
    assert_eq!(
        profile["class_balance"],
        serde_json::json!([["A", 150], ["N", 711], ["U", 470], ["Y", 694]])
    );
    assert_eq!(profile["n_inputs"], 14);
    let columns = profile["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 8);
    assert_eq!(columns[0]["name"], "region");
    assert_eq!(columns[0]["type"], "categorical");
    assert_eq!(columns[0]["distinct"], 5);
    assert_eq!(columns[0]["top"][0], serde_json::json!(["SA", 722]));
    let income = columns.iter().find(|c| c["name"] == "income").unwrap();
    assert_eq!(income["type"], "numeric");
    assert_eq!(income["role"], "feature");
    assert!(income["missing"].as_u64().unwrap() > 0);
    let vote = columns.iter().find(|c| c["name"] == "vote").unwrap();
    assert_eq!(vote["role"], "target");
}
