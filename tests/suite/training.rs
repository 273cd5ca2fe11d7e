//! The training loop from the command line: validation, early stopping, schedules,
//! regularisation, class weights, logs, checkpoints and resume (real files in `data/`).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::util::{csvnn, data};
use predicates::prelude::*;
use serde_json::Value;

fn train(dir: &Path, name: &str, args: &[&str]) -> (PathBuf, Value) {
    let model = dir.join(name);
    csvnn()
        .args(["--quiet", "train", "-o"])
        .arg(&model)
        .args(args)
        .assert()
        .success();
    let json = serde_json::from_slice(&fs::read(&model).unwrap()).unwrap();
    (model, json)
}

fn chile(extra: &[&'static str]) -> Vec<String> {
    let mut args = vec![
        "--data".to_string(),
        data("chile_vote.train.csv"),
        "--target".into(),
        "vote".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn lrs(model: &Value) -> Vec<f64> {
    model["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["lr"].as_f64().unwrap())
        .collect()
}

#[test]
fn every_epoch_reports_losses_metric_lr_and_time() {
    let dir = tempfile::tempdir().unwrap();
    csvnn()
        .args(["train", "--epochs", "2", "-o"])
        .arg(dir.path().join("m.json"))
        .args(chile(&[]))
        .assert()
        .success()
        .stderr(predicate::str::is_match(
            r"csvnn: epoch 2/2  train_loss \d+\.\d{6}  val_loss \d+\.\d{6}  val_accuracy \d\.\d{6}  lr 1\.000e-3  \d+\.\d{3}s\n",
        )
        .unwrap());
}

#[test]
fn validation_split_is_stratified_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    // default: 7734 "No" and 266 "Yes"; 10% of each class is 773 + 27 rows.
    let (_, model) = train(
        dir.path(),
        "m.json",
        &[
            "--data",
            &data("default.train.csv"),
            "--target",
            "default",
            "--epochs",
            "1",
        ],
    );
    assert_eq!(model["training"]["rows_validation"], 800);
    assert_eq!(model["training"]["rows_train"], 7200);
    assert!(model["history"][0]["val_metric"].as_f64().unwrap() > 0.9);
}

#[test]
fn min_delta_decides_what_counts_as_an_improvement() {
    let dir = tempfile::tempdir().unwrap();
    let args = chile(&["--epochs", "50", "--patience", "3", "--min-delta", "10"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, model) = train(dir.path(), "m.json", &args);
    assert_eq!(model["training"]["best_epoch"], 1);
    assert_eq!(model["training"]["epochs_run"], 4);
    assert_eq!(model["training"]["stopped_early"], true);
}

#[test]
fn learning_rate_schedules_are_applied_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&'static str]| {
        let args = chile(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        lrs(&train(dir.path(), name, &args).1)
    };
    let step = run(
        "step.json",
        &[
            "--epochs",
            "6",
            "--lr",
            "0.01",
            "--lr-schedule",
            "step",
            "--lr-step-size",
            "2",
            "--lr-gamma",
            "0.5",
            "--warmup-epochs",
            "2",
        ],
    );
    let expected = [0.005, 0.01, 0.01, 0.01, 0.005, 0.005];
    for (a, e) in step.iter().zip(expected) {
        assert!((a - e).abs() < 1e-9, "{step:?}");
    }
    let cosine = run(
        "cos.json",
        &["--epochs", "4", "--lr", "0.01", "--lr-schedule", "cosine"],
    );
    assert!(
        (cosine[2] - 0.005).abs() < 1e-9 && cosine[3] < cosine[2] && cosine[0] == 0.01f32 as f64,
        "{cosine:?}"
    );
    // A loss that never improves by 10 halves the rate every 2 epochs, down to the minimum.
    let plateau = run(
        "plateau.json",
        &[
            "--epochs",
            "8",
            "--patience",
            "0",
            "--lr",
            "0.01",
            "--reduce-on-plateau",
            "--plateau-patience",
            "2",
            "--plateau-factor",
            "0.5",
            "--min-delta",
            "10",
            "--min-lr",
            "0.002",
        ],
    );
    let expected = [0.01, 0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025, 0.002];
    for (a, e) in plateau.iter().zip(expected) {
        assert!((a - e).abs() < 1e-9, "{plateau:?}");
    }
}

#[test]
fn reduce_on_plateau_without_validation_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    csvnn()
        .args([
            "train",
            "--reduce-on-plateau",
            "--validation-split",
            "0",
            "-o",
        ])
        .arg(dir.path().join("m.json"))
        .args(chile(&[]))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--reduce-on-plateau needs validation data",
        ));
}

fn squared_weights(model: &Value) -> f64 {
    model["network"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["type"] == "dense")
        .flat_map(|l| {
            l["weights"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_f64().unwrap().powi(2))
        })
        .sum()
}

#[test]
fn weight_decay_shrinks_weights_and_dropout_is_off_at_prediction() {
    let dir = tempfile::tempdir().unwrap();
    let base = chile(&["--epochs", "20", "--lr", "0.01"]);
    let base: Vec<&str> = base.iter().map(String::as_str).collect();
    let (_, plain) = train(dir.path(), "plain.json", &base);
    let mut decayed_args = base.clone();
    decayed_args.extend(["--weight-decay", "0.1"]);
    let (_, decayed) = train(dir.path(), "decayed.json", &decayed_args);
    assert!(squared_weights(&decayed) < 0.8 * squared_weights(&plain));
    for optimizer in ["adam", "sgd"] {
        let mut args = base.clone();
        args.extend(["--weight-decay", "0.05", "--optimizer", optimizer]);
        let (_, m) = train(dir.path(), "opt.json", &args);
        assert_eq!(m["training"]["config"]["optimizer"]["weight_decay"], 0.05);
        assert_eq!(m["training"]["config"]["optimizer"]["name"], optimizer);
    }

    let mut dropout_args = base.clone();
    dropout_args.extend(["--dropout", "0.5", "--hidden", "32,16"]);
    let (model, json) = train(dir.path(), "dropout.json", &dropout_args);
    let kinds: Vec<&str> = json["network"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "dense",
            "activation",
            "dropout",
            "dense",
            "activation",
            "dropout",
            "dense"
        ]
    );
    let predict = || {
        csvnn()
            .args(["predict", "--proba", "--model"])
            .arg(&model)
            .args(["--data", &data("chile_vote.test.csv")])
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(predict(), predict(), "no dropout at prediction");
}

fn minority_recall_and_macro_f1(model: &Path) -> (f64, f64) {
    let out = csvnn()
        .args(["evaluate", "--format", "json", "--model"])
        .arg(model)
        .args(["--data", &data("default.test.csv")])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        report["per_class"]["Yes"]["recall"].as_f64().unwrap(),
        report["macro_f1"].as_f64().unwrap(),
    )
}

#[test]
fn balanced_class_weights_raise_minority_recall() {
    let dir = tempfile::tempdir().unwrap();
    let base = [
        "--data",
        &data("default.train.csv"),
        "--target",
        "default",
        "--epochs",
        "10",
        "--validation-split",
        "0",
    ];
    let (plain, _) = train(dir.path(), "plain.json", &base);
    let mut weighted_args = base.to_vec();
    weighted_args.extend(["--class-weight", "balanced"]);
    let (weighted, json) = train(dir.path(), "weighted.json", &weighted_args);
    let (recall_plain, _) = minority_recall_and_macro_f1(&plain);
    let (recall_weighted, _) = minority_recall_and_macro_f1(&weighted);
    assert!(
        recall_weighted > recall_plain + 0.2,
        "{recall_plain} -> {recall_weighted}"
    );
    let weights = &json["training"]["class_weights"];
    assert_eq!(weights[0]["label"], "No");
    assert!(
        (weights[1]["weight"].as_f64().unwrap() - 8000.0 / (2.0 * 266.0)).abs() < 1e-3,
        "{weights}"
    );

    let mut given = base.to_vec();
    given.extend(["--class-weight", "Yes=5"]);
    let (_, json) = train(dir.path(), "given.json", &given);
    assert_eq!(json["training"]["class_weights"][1]["weight"], 5.0);
    let mut unknown = base.to_vec();
    unknown.extend(["--class-weight", "Maybe=5", "-o", "x.json"]);
    csvnn().arg("train").args(&unknown).assert().code(1).stderr(predicate::str::contains(
        "--class-weight names the label 'Maybe', which is not a class of the target; the classes are: No, Yes",
    ));
}

#[test]
fn a_class_weight_label_may_start_with_a_minus_sign() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("signs.csv");
    let rows: String = (0..40)
        .map(|i| format!("{},{}\n", i, if i % 4 == 0 { 1 } else { -1 }))
        .collect();
    fs::write(&file, format!("x,y\n{rows}")).unwrap();
    let args = [
        "--data",
        file.to_str().unwrap(),
        "--target",
        "y",
        "--task",
        "classification",
        "--epochs",
        "1",
        "--class-weight",
        "-1=2",
    ];
    let (_, json) = train(dir.path(), "m.json", &args);
    let weights = &json["training"]["class_weights"];
    assert_eq!(weights[0]["label"], "-1", "{weights}");
    assert_eq!(weights[0]["weight"], 2.0, "{weights}");
    assert_eq!(weights[1]["weight"], 1.0, "{weights}");
}

#[test]
fn log_file_has_one_row_per_epoch_and_the_model_no_times() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.csv");
    let args = chile(&["--epochs", "3", "--log"]);
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.push(log.to_str().unwrap());
    let (model, _) = train(dir.path(), "m.json", &args);
    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "epoch,train_loss,val_loss,val_metric,lr,seconds");
    assert_eq!(lines.len(), 4);
    assert!(lines[3].starts_with("3,"));
    assert!(!fs::read_to_string(model).unwrap().contains("seconds"));
}

/// The `epochs_done` at the head of a checkpoint file (written first on purpose).
fn checkpoint_epoch(dir: &Path) -> Option<u64> {
    let mut head = [0u8; 64];
    let mut file = fs::File::open(dir.join("checkpoint.json")).ok()?;
    let n = file.read(&mut head).ok()?;
    let text = std::str::from_utf8(&head[..n]).ok()?;
    let rest = text.strip_prefix("{\"epochs_done\":")?;
    rest.split(',').next()?.parse().ok()
}

#[test]
// The child is always killed and waited for; clippy cannot see past the unwraps.
#[allow(clippy::zombie_processes)]
fn a_run_killed_after_an_epoch_and_resumed_gives_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("ckpt");
    let resumed = dir.path().join("resumed.json");
    let settings = chile(&[
        "--hidden",
        "256,256",
        "--epochs",
        "40",
        "--batch-size",
        "16",
        "--seed",
        "3",
        "--dropout",
        "0.2",
        "--patience",
        "50",
        "--reduce-on-plateau",
        "--plateau-patience",
        "2",
        "--lr-schedule",
        "cosine",
    ]);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("csvnn"))
        .args(["--quiet", "train", "-o"])
        .arg(&resumed)
        .args(&settings)
        .arg("--checkpoint-dir")
        .arg(&checkpoints)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let (killed_after, still_running) = loop {
        let epoch = checkpoint_epoch(&checkpoints).filter(|&e| e >= 3);
        if epoch.is_some() || start.elapsed() > Duration::from_secs(120) {
            let still_running = child.try_wait().unwrap().is_none();
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            break (epoch.expect("no checkpoint appeared"), still_running);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(still_running, "training finished before it could be killed");
    assert!(killed_after < 40);
    assert!(!resumed.exists(), "a killed run leaves no model");

    csvnn()
        .args(["--quiet", "train", "-o"])
        .arg(&resumed)
        .args(&settings)
        .arg("--resume")
        .arg(&checkpoints)
        .assert()
        .success();
    let uninterrupted = dir.path().join("uninterrupted.json");
    csvnn()
        .args(["--quiet", "train", "-o"])
        .arg(&uninterrupted)
        .args(&settings)
        .assert()
        .success();
    assert_eq!(
        fs::read(&resumed).unwrap(),
        fs::read(&uninterrupted).unwrap()
    );
    assert_eq!(checkpoint_epoch(&checkpoints), Some(40));
}

#[test]
fn resume_refuses_other_settings() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("ckpt");
    let base = chile(&["--epochs", "2"]);
    csvnn()
        .args(["--quiet", "train", "-o"])
        .arg(dir.path().join("m.json"))
        .args(&base)
        .arg("--checkpoint-dir")
        .arg(&checkpoints)
        .assert()
        .success();
    csvnn()
        .args(["train", "-o"])
        .arg(dir.path().join("m.json"))
        .args(&base)
        .args(["--lr", "0.1", "--resume"])
        .arg(&checkpoints)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--resume needs the flags of the checkpointed run; these differ: --lr 0.1 (checkpoint: 0.001)"));
}

/// The matrix products of training split their work over `--threads` threads; the model
/// must come out the same to the byte. The layers are wide enough (128 x 64 x 64 per
/// product at batch 64) that the products do run split, on CPUs where they can.
#[test]
fn the_model_file_does_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let models: Vec<Vec<u8>> = ["1", "2", "3"]
        .iter()
        .map(|threads| {
            let model = dir.path().join(format!("threads{threads}.json"));
            csvnn()
                .args(["--quiet", "--threads", threads, "train", "-o"])
                .arg(&model)
                // 64 x 512 x 256 products: large enough to be split over the threads.
                .args(chile(&[
                    "--hidden",
                    "512,256",
                    "--batch-size",
                    "64",
                    "--epochs",
                    "3",
                ]))
                .assert()
                .success();
            fs::read(&model).unwrap()
        })
        .collect();
    assert!(models[0] == models[1], "--threads 1 and 2 differ");
    assert!(models[0] == models[2], "--threads 1 and 3 differ");
}
