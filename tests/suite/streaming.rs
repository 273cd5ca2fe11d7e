//! `train --streaming`: a working model that evaluate and predict accept, the same bytes
//! from two runs, a killed run resumed to the bytes of an uninterrupted one, and each
//! error and notice of the flags (stdin, a file changed between passes, a column kind
//! not supported yet, bad --shuffle-buffer values, the info line suggesting the flag).

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::util::{csvnn, data, evaluate_json, stdout_of};
use csvnn::train::{fit_stream, plan_stream, StreamSettings, TrainSettings};
use predicates::prelude::*;

fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stderr.clone()).unwrap()
}

/// `train --streaming` on default.train.csv with `extra` flags, to `out`.
fn train_streaming(out: &Path, extra: &[&str]) -> String {
    let assert = csvnn()
        .args([
            "train",
            "--data",
            &data("default.train.csv"),
            "--target",
            "default",
        ])
        .args(["--streaming", "-o"])
        .arg(out)
        .args(extra)
        .assert()
        .success();
    stderr_of(&assert)
}

#[test]
fn a_streamed_model_is_evaluated_and_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let stderr = train_streaming(&model, &["--epochs", "4"]);
    assert!(
        stderr.contains("csvnn: first pass: 7200 training rows, 800 validation rows held out"),
        "{stderr}"
    );
    let report = evaluate_json(&model, &data("default.test.csv"));
    // The majority class alone scores 0.967; the balance separates the rest.
    let accuracy = report["accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.967, "{accuracy}");
    assert!(report["roc_auc"].as_f64().unwrap() > 0.9, "{report}");
    let predictions = stdout_of(
        csvnn()
            .args(["predict", "--model"])
            .arg(&model)
            .args(["--data", &data("default.test.csv")]),
    );
    assert_eq!(predictions.lines().count(), 2001);
}

#[test]
fn a_streamed_regression_trains() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    csvnn()
        .args([
            "--quiet",
            "train",
            "--data",
            &data("auto_mpg.train.csv"),
            "--target",
            "mpg",
        ])
        .args(["--streaming", "--epochs", "30", "-o"])
        .arg(&model)
        .assert()
        .success();
    let report = evaluate_json(&model, &data("auto_mpg.test.csv"));
    assert!(report["r2"].as_f64().unwrap() > 0.5, "{report}");
}

#[test]
fn two_streamed_runs_write_the_same_bytes_and_the_buffer_matters() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_streaming(&d.join("a.json"), &["--epochs", "2", "--threads", "2"]);
    train_streaming(&d.join("b.json"), &["--epochs", "2", "--threads", "1"]);
    train_streaming(
        &d.join("c.json"),
        &["--epochs", "2", "--shuffle-buffer", "100"],
    );
    let a = fs::read(d.join("a.json")).unwrap();
    assert!(a == fs::read(d.join("b.json")).unwrap());
    assert!(a != fs::read(d.join("c.json")).unwrap());
}

#[test]
fn a_killed_streamed_run_resumes_to_the_uninterrupted_bytes() {
    // The checkpoint records --streaming and --shuffle-buffer: the resumed run is given
    // neither, and a default buffer (65,536 rows: a full shuffle of these 7,200) would
    // give other bytes.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ck = d.join("ck");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_csvnn"))
        .args(["--quiet", "train", "--data", &data("default.train.csv")])
        .args(["--target", "default", "--streaming", "--epochs", "500"])
        .args([
            "--shuffle-buffer",
            "100",
            "--patience",
            "0",
            "--checkpoint-dir",
        ])
        .arg(&ck)
        .arg("-o")
        .arg(d.join("never.json"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = ck.join("checkpoint.json");
    let start = Instant::now();
    while !checkpoint.exists() && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let saved: serde_json::Value = serde_json::from_slice(&fs::read(&checkpoint).unwrap()).unwrap();
    let done = saved["epochs_done"].as_u64().unwrap();
    assert!((1..500).contains(&done), "{done}");
    assert_eq!(
        saved["streaming"]["shuffle_buffer"], 100,
        "{}",
        saved["streaming"]
    );
    let epochs = (done + 2).to_string();

    let resumed = d.join("resumed.json");
    csvnn()
        .args(["train", "--epochs", &epochs, "--resume"])
        .arg(&ck)
        .arg("-o")
        .arg(&resumed)
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "csvnn: resuming after epoch {done}"
        )));
    let straight = d.join("straight.json");
    train_streaming(
        &straight,
        &[
            "--epochs",
            &epochs,
            "--patience",
            "0",
            "--shuffle-buffer",
            "100",
        ],
    );
    let other_buffer = d.join("other.json");
    train_streaming(&other_buffer, &["--epochs", &epochs, "--patience", "0"]);
    let resumed = fs::read(&resumed).unwrap();
    assert!(resumed == fs::read(&straight).unwrap());
    assert!(resumed != fs::read(&other_buffer).unwrap());
}

#[test]
fn resuming_refuses_reading_flags_that_differ_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (streamed, whole) = (d.join("streamed"), d.join("whole"));
    for (ck, extra) in [
        (&streamed, &["--streaming", "--shuffle-buffer", "100"][..]),
        (&whole, &[][..]),
    ] {
        csvnn()
            .args(["--quiet", "train", "--data", &data("default.train.csv")])
            .args(["--target", "default", "--epochs", "1", "--checkpoint-dir"])
            .arg(ck)
            .arg("-o")
            .arg(d.join("m.json"))
            .args(extra)
            .assert()
            .success();
    }
    let saved: serde_json::Value =
        serde_json::from_slice(&fs::read(whole.join("checkpoint.json")).unwrap()).unwrap();
    assert!(saved.get("streaming").is_none(), "{saved}");
    for (ck, extra, message) in [
        (
            &streamed,
            &["--streaming", "--shuffle-buffer", "50"][..],
            "--shuffle-buffer 50 (checkpoint: 100)",
        ),
        (
            &whole,
            &["--streaming"][..],
            "--streaming true (checkpoint: false)",
        ),
    ] {
        let assert = csvnn()
            .args(["train", "--epochs", "2", "--resume"])
            .arg(ck)
            .arg("-o")
            .arg(d.join("r.json"))
            .args(extra)
            .assert()
            .code(2);
        assert_eq!(
            stderr_of(&assert),
            format!("csvnn: error: --resume needs the flags of the checkpointed run; these differ: {message}\n")
        );
    }
    // The same buffer given again is no conflict.
    csvnn()
        .args(["--quiet", "train", "--epochs", "2", "--streaming"])
        .args(["--shuffle-buffer", "100", "--resume"])
        .arg(&streamed)
        .arg("-o")
        .arg(d.join("r.json"))
        .assert()
        .success();
}

#[test]
fn streaming_refuses_stdin() {
    let text = fs::read(data("default.train.csv")).unwrap();
    let assert = csvnn()
        .args([
            "train",
            "--data",
            "-",
            "--target",
            "default",
            "--streaming",
            "-o",
            "m.json",
        ])
        .write_stdin(text)
        .assert()
        .code(2);
    assert_eq!(
        stderr_of(&assert),
        "csvnn: error: a streamed run reads its data once per epoch, so it cannot read stdin; expected a file (save the input to one first)\n"
    );
}

#[test]
fn a_date_column_is_not_streamed_yet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dates.csv");
    fs::write(
        &path,
        "d,x,y\n2020-01-01,1,a\n2020-01-02,2,b\n2020-01-03,3,a\n2020-01-04,4,b\n",
    )
    .unwrap();
    let assert = csvnn()
        .args([
            "--quiet",
            "train",
            "--data",
            path.to_str().unwrap(),
            "--target",
            "y",
        ])
        .args(["--streaming", "--validation-split", "0", "-o"])
        .arg(dir.path().join("m.json"))
        .assert()
        .code(2);
    assert_eq!(
        stderr_of(&assert),
        "csvnn: error: the column 'd' is a date column, which streaming does not support yet; expected numeric, categorical or ordinal columns\n"
    );
}

#[test]
fn shuffle_buffer_values_are_checked() {
    for (args, message) in [
        (
            &["--streaming", "--shuffle-buffer", "0"][..],
            "csvnn: error: invalid value '0' for '--shuffle-buffer <N>': expected a whole number of at least 1",
        ),
        (
            &["--streaming", "--shuffle-buffer", "x"][..],
            "csvnn: error: invalid value 'x' for '--shuffle-buffer <N>': expected a whole number of at least 1",
        ),
        (
            &["--shuffle-buffer", "10"][..],
            "csvnn: error: the following required arguments were not provided:\n  --streaming",
        ),
    ] {
        let assert = csvnn()
            .args(["train", "--data", &data("default.train.csv"), "--target", "default"])
            .args(["-o", "m.json"])
            .args(args)
            .assert()
            .code(2);
        let stderr = stderr_of(&assert);
        assert!(stderr.starts_with(message), "{stderr}");
    }
}

#[test]
fn a_file_too_big_for_memory_suggests_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let path = data("default.train.csv");
    let size = fs::metadata(&path).unwrap().len() as f64;
    let assert = csvnn()
        .env("CSVNN_AVAILABLE_MEMORY", "1000")
        .args([
            "train", "--data", &path, "--target", "default", "--epochs", "1", "-o",
        ])
        .arg(dir.path().join("m.json"))
        .assert()
        .success();
    let line = format!(
        "csvnn: {path} looks too big to read whole (about {:.1} GB needed, 0.0 GB available); --streaming reads it in chunks with bounded memory\n",
        size * csvnn::data::MEMORY_PER_FILE_BYTE / 1e9
    );
    assert!(
        stderr_of(&assert).starts_with(&line),
        "{}",
        stderr_of(&assert)
    );
    // With enough memory, no line.
    let assert = csvnn()
        .env("CSVNN_AVAILABLE_MEMORY", "100000000000")
        .args([
            "train", "--data", &path, "--target", "default", "--epochs", "1", "-o",
        ])
        .arg(dir.path().join("m.json"))
        .assert()
        .success();
    assert!(!stderr_of(&assert).contains("--streaming"));
}

#[test]
fn a_file_that_changes_between_passes_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    fs::copy(data("default.train.csv"), &path).unwrap();
    let path = path.to_str().unwrap();
    let mut settings = TrainSettings::new(path, "default");
    settings.epochs = 2;
    let plan = plan_stream(&settings, &StreamSettings::default(), &mut ()).unwrap();
    assert_eq!((plan.rows_train, plan.rows_validation), (7200, 800));
    let mut text = fs::read_to_string(path).unwrap();
    text.push_str("No,No,100.0,20000.0\n");
    fs::write(path, text).unwrap();
    let error = fit_stream(&settings, &plan, None, &mut ()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{path}: the file changed since the first pass (its size or modification time differs); a streamed run reads it once per epoch, so it must stay as it was")
    );
}

#[test]
fn streamed_evaluate_prints_the_report_of_whole_evaluate() {
    let dir = tempfile::tempdir().unwrap();
    for (train, test, target) in [
        ("default.train.csv", "default.test.csv", "default"),
        ("auto_mpg.train.csv", "auto_mpg.test.csv", "mpg"),
    ] {
        let model = dir.path().join(format!("{target}.json"));
        csvnn()
            .args([
                "--quiet",
                "train",
                "--data",
                &data(train),
                "--target",
                target,
            ])
            .args(["--epochs", "2", "-o"])
            .arg(&model)
            .assert()
            .success();
        let run = |extra: &[&str]| {
            stdout_of(
                csvnn()
                    .args(["--quiet", "evaluate", "--format", "json", "--model"])
                    .arg(&model)
                    .args(["--data", &data(test)])
                    .args(extra),
            )
        };
        assert_eq!(run(&["--streaming"]), run(&[]));
        // One pass: stdin streams too.
        let piped = stdout_of(
            csvnn()
                .args([
                    "--quiet",
                    "evaluate",
                    "--format",
                    "json",
                    "--streaming",
                    "--model",
                ])
                .arg(&model)
                .args(["--data", "-"])
                .write_stdin(fs::read(data(test)).unwrap()),
        );
        assert_eq!(piped, run(&[]));
    }
}
