//! The front of a training run: output paths checked before any work, negative flag
//! values, divergence that stays finite, `--resume` with the checkpoint's flags, and
//! `--monitor` (real files in `data/`).

use std::fs;
use std::path::Path;

use super::util::{csvnn, data};
use predicates::prelude::*;
use serde_json::Value;

/// `train` on chile_vote with `extra` flags, writing to `model`.
fn train_chile(model: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    csvnn()
        .args([
            "train",
            "--data",
            &data("chile_vote.train.csv"),
            "--target",
            "vote",
            "-o",
        ])
        .arg(model)
        .args(extra)
        .assert()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// The one error line a command printed (`csvnn: error: ...`).
fn error_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stderr.clone()).unwrap()
}

#[test]
fn every_output_is_checked_before_any_work_and_nothing_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("sub")).unwrap();
    fs::write(d.join("file"), "x").unwrap();
    let shown = |p: &str| d.join(p).display().to_string();
    let missing = format!(
        "csvnn: error: {}: the directory '{}' does not exist\n",
        shown("missing/m.json"),
        shown("missing")
    );
    let out = train_chile(&d.join("missing/m.json"), &[]).code(1);
    // Not a line about reading or training: the check came first.
    assert_eq!(error_of(&out), missing);
    let sub = format!("{}/", shown("sub"));
    let out = train_chile(Path::new(&sub), &[]).code(1);
    assert_eq!(
        error_of(&out),
        format!("csvnn: error: {sub}: is a directory; expected a file name\n")
    );
    let new_dir = format!("{}/", shown("new"));
    let out = train_chile(Path::new(&new_dir), &["--quiet"]).code(1);
    assert_eq!(
        error_of(&out),
        format!("csvnn: error: {new_dir}: ends with a slash, so names a directory; expected a file name\n")
    );
    let log = d.join("missing/log.csv");
    let out = train_chile(&d.join("m.json"), &["--log", log.to_str().unwrap()]).code(1);
    assert_eq!(
        error_of(&out),
        format!(
            "csvnn: error: {}: the directory '{}' does not exist\n",
            log.display(),
            shown("missing")
        )
    );
    for flag in ["--checkpoint-dir", "--resume"] {
        let out = train_chile(&d.join("m.json"), &[flag, &shown("file")]).code(1);
        assert_eq!(
            error_of(&out),
            format!(
                "csvnn: error: {}: is a file; expected a directory\n",
                shown("file")
            )
        );
    }
    let under_file = shown("file/ck");
    let out = train_chile(&d.join("m.json"), &["--checkpoint-dir", &under_file]).code(1);
    assert_eq!(
        error_of(&out),
        format!(
            "csvnn: error: {under_file}: '{}' is not a directory\n",
            shown("file")
        )
    );

    // The other subcommands that write: checked before the model or data is read (the
    // model named here does not exist).
    let no_model = shown("no-model.json");
    let test = data("chile_vote.test.csv");
    let commands: [Vec<&str>; 4] = [
        vec!["predict", "--model", &no_model, "--data", &test, "-o"],
        vec!["report", "--model", &no_model, "-o"],
        vec!["export", "--model", &no_model, "--format", "onnx", "-o"],
        vec!["preprocess", "--data", &test, "--target", "vote", "-o"],
    ];
    for args in commands {
        let out = csvnn()
            .args(&args)
            .arg(d.join("missing/out"))
            .assert()
            .code(1);
        assert_eq!(
            error_of(&out),
            format!(
                "csvnn: error: {}: the directory '{}' does not exist\n",
                shown("missing/out"),
                shown("missing")
            ),
            "{args:?}"
        );
        let out = csvnn().args(&args).arg(d.join("sub")).assert().code(1);
        assert_eq!(
            error_of(&out),
            format!(
                "csvnn: error: {}: is a directory; expected a file name\n",
                shown("sub")
            ),
            "{args:?}"
        );
    }
    let mut left: Vec<String> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["file", "sub"]);
    assert_eq!(fs::read_dir(d.join("sub")).unwrap().count(), 0);
}

#[test]
fn negative_numbers_are_values_that_get_the_range_message() {
    let train = data("chile_vote.train.csv");
    let model = "m.json";
    let cases: [(&[&str], &str); 13] = [
        (
            &["train", "--lr", "-1"],
            "'-1' for '--lr <LR>': expected a number greater than 0",
        ),
        (
            &["train", "--epochs", "-3"],
            "'-3' for '--epochs <EPOCHS>': expected a whole number of at least 1",
        ),
        (
            &["train", "--patience", "-1"],
            "'-1' for '--patience <PATIENCE>': expected a whole number of at least 0",
        ),
        (
            &["train", "--warmup-epochs", "-2"],
            "'-2' for '--warmup-epochs <WARMUP_EPOCHS>': expected a whole number of at least 0",
        ),
        (
            &["train", "--seed", "-7"],
            "'-7' for '--seed <SEED>': expected a whole number from 0 to 18446744073709551615",
        ),
        (
            &["train", "--min-delta", "-0.5"],
            "'-0.5' for '--min-delta <MIN_DELTA>': expected a number of at least 0",
        ),
        (
            &["train", "--dropout", "-0.1"],
            "'-0.1' for '--dropout <DROPOUT>': expected a number from 0 up to (not including) 1",
        ),
        (
            &["train", "--hidden", "-4"],
            "'-4' for '--hidden <N[,N...]>': '-4' is not a layer width",
        ),
        (
            &["train", "--threads", "-2"],
            "'-2' for '--threads <N>': expected a whole number of at least 1",
        ),
        (
            &["cv", "--folds", "-2"],
            "'-2' for '--folds <FOLDS>': expected a whole number of at least 2",
        ),
        (
            &["predict", "--model", model, "--chunk-rows", "-5"],
            "'-5' for '--chunk-rows <N>': expected a whole number of at least 1",
        ),
        (
            &["explain", "--model", model, "--repeats", "-1"],
            "'-1' for '--repeats <N>': expected a whole number of at least 1",
        ),
        (
            &["preprocess", "--max-categories", "-1"],
            "'-1' for '--max-categories <N>': expected a whole number of at least 2",
        ),
    ];
    for (args, expected) in cases {
        let mut cmd = csvnn();
        cmd.args(args).args(["--data", &train]);
        if matches!(args[0], "train" | "cv" | "preprocess") {
            cmd.args(["--target", "vote"]);
        }
        cmd.assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "error: invalid value {expected}"
            )));
    }
}

#[test]
fn a_diverging_finite_loss_stops_with_an_error_and_no_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let out = train_chile(&model, &["--lr", "1000", "--quiet"]).code(1);
    let stderr = error_of(&out);
    assert!(
        stderr.starts_with("csvnn: error: the training loss diverged: ")
            && stderr.contains(" at epoch 1, more than 10 times its starting level ")
            && stderr.ends_with("; try a lower --lr\n"),
        "{stderr}"
    );
    assert!(!model.exists());
    let out = csvnn()
        .args(["--quiet", "train", "--data", &data("auto_mpg.train.csv")])
        .args(["--target", "mpg", "--drop", "name", "--lr", "1000", "-o"])
        .arg(&model)
        .assert()
        .code(1);
    assert!(error_of(&out).contains("the training loss diverged: "));
    assert!(!model.exists());
}

#[test]
fn the_library_returns_divergence_as_a_typed_error() {
    let settings = csvnn::train::TrainSettings {
        lr: 1000.0,
        epochs: 3,
        ..csvnn::train::TrainSettings::new(data("chile_vote.train.csv"), "vote")
    };
    match csvnn::train::fit(&settings, &mut ()) {
        Err(csvnn::Error::LossDiverged {
            how,
            epoch,
            reference,
            ..
        }) => {
            assert_eq!(how, csvnn::train::Divergence::FarAboveStart);
            assert_eq!(epoch, 1);
            assert!(reference >= csvnn::train::LEAST_START);
        }
        other => panic!("expected LossDiverged, got {other:?}"),
    }
}

/// A 2-epoch run checkpointed in `dir`/ck; returns the checkpoint directory.
fn checkpointed_run(dir: &Path) -> std::path::PathBuf {
    let ck = dir.join("ck");
    train_chile(
        &dir.join("two.json"),
        &[
            "--quiet",
            "--epochs",
            "2",
            "--checkpoint-dir",
            ck.to_str().unwrap(),
        ],
    )
    .success();
    ck
}

#[test]
fn resume_alone_takes_the_flags_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ck = checkpointed_run(d);
    // The run had finished: resuming with no other flag gives the same model.
    csvnn()
        .args(["--quiet", "train", "--resume"])
        .arg(&ck)
        .arg("-o")
        .arg(d.join("again.json"))
        .assert()
        .success();
    assert_eq!(
        fs::read(d.join("again.json")).unwrap(),
        fs::read(d.join("two.json")).unwrap()
    );
    // --epochs extends it, to the model of an uninterrupted 4-epoch run.
    csvnn()
        .args(["train", "--epochs", "4", "--threads", "1", "--resume"])
        .arg(&ck)
        .arg("-o")
        .arg(d.join("four.json"))
        .assert()
        .success()
        .stderr(predicate::str::contains("csvnn: resuming after epoch 2"));
    train_chile(&d.join("straight.json"), &["--quiet", "--epochs", "4"]).success();
    assert_eq!(
        fs::read(d.join("four.json")).unwrap(),
        fs::read(d.join("straight.json")).unwrap()
    );
    // Fewer epochs than done is refused; flags that decide the model must match.
    let out = csvnn()
        .args(["train", "--epochs", "1", "--resume"])
        .arg(&ck)
        .arg("-o")
        .arg(d.join("x.json"))
        .assert()
        .code(2);
    assert_eq!(
        error_of(&out),
        "csvnn: error: --epochs 1 is fewer than the 4 epochs the checkpoint has done; expected at least 4\n"
    );
    let out = csvnn()
        .args(["train", "--target", "sex", "--dropout", "0.5", "--resume"])
        .arg(&ck)
        .arg("-o")
        .arg(d.join("x.json"))
        .assert()
        .code(2);
    assert_eq!(
        error_of(&out),
        "csvnn: error: --resume needs the flags of the checkpointed run; these differ: --dropout 0.5 (checkpoint: 0.0), --target \"sex\" (checkpoint: \"vote\")\n"
    );
    assert!(!d.join("x.json").exists());
}

#[test]
fn resume_without_a_checkpoint_yet_starts_the_run_there() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ck = d.join("fresh");
    let out = train_chile(
        &d.join("m.json"),
        &["--epochs", "2", "--resume", ck.to_str().unwrap()],
    )
    .success();
    assert!(error_of(&out).contains(&format!(
        "csvnn: no checkpoint in {} yet; starting the run\n",
        ck.display()
    )));
    assert_eq!(json(&ck.join("checkpoint.json"))["epochs_done"], 2);
    train_chile(&d.join("plain.json"), &["--quiet", "--epochs", "2"]).success();
    assert_eq!(
        fs::read(d.join("m.json")).unwrap(),
        fs::read(d.join("plain.json")).unwrap()
    );
    // Without the data and target there is nothing to start.
    let out = csvnn()
        .args(["train", "--resume"])
        .arg(d.join("empty"))
        .arg("-o")
        .arg(d.join("x.json"))
        .assert()
        .code(2);
    assert_eq!(
        error_of(&out),
        format!(
            "csvnn: error: {}: no checkpoint yet, so this starts a new run, which needs --data and --target\n",
            d.join("empty/checkpoint.json").display()
        )
    );
    // Without --resume, --data and --target stay required.
    csvnn()
        .args(["train", "-o", "x.json"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--data <FILE>")
                .and(predicate::str::contains("--target <COL>")),
        );
}

#[test]
fn monitor_picks_the_best_epoch_by_the_metric_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let log = dir.path().join("log.csv");
    let out = train_chile(
        &model,
        &[
            "--monitor",
            "macro_f1",
            "--epochs",
            "12",
            "--patience",
            "3",
            "--log",
            log.to_str().unwrap(),
        ],
    )
    .success();
    let m = json(&model);
    assert_eq!(m["training"]["config"]["monitor"], "macro_f1");
    // A model whose kept epoch a metric chose is a version-2 file.
    assert_eq!(m["format_version"], 2);
    let history = m["history"].as_array().unwrap();
    let f1: Vec<f64> = history
        .iter()
        .map(|h| h["monitored"].as_f64().unwrap())
        .collect();
    // The best epoch is the first with the highest macro F1.
    let best = f1.iter().cloned().fold(f64::MIN, f64::max);
    let best_epoch = f1.iter().position(|&v| v == best).unwrap() + 1;
    assert_eq!(m["training"]["best_epoch"], best_epoch);
    assert!(error_of(&out).contains(&format!(
        "kept the weights of epoch {best_epoch} (highest validation macro_f1)"
    )));
    // The epoch lines show the monitored value beside the loss and accuracy.
    let last_line = format!("val_macro_f1 {:.6}  lr", f1[f1.len() - 1]);
    assert!(error_of(&out).contains(&last_line), "{}", error_of(&out));
    let text = fs::read_to_string(&log).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "epoch,train_loss,val_loss,val_metric,lr,seconds,monitored"
    );
    assert!(lines.next().unwrap().ends_with(&format!(",{}", f1[0])));

    // inspect names the monitor and shows the kept epoch as the best one.
    let shown = csvnn()
        .arg("inspect")
        .arg("--model")
        .arg(&model)
        .output()
        .unwrap();
    let shown = String::from_utf8(shown.stdout).unwrap();
    assert!(
        shown.contains("patience 3 (monitor macro_f1), seed"),
        "{shown}"
    );
    let best_row = format!("  {:<6}  {best_epoch:>6}  ", "best");
    assert!(shown.contains(&best_row), "{shown}");

    // Without validation rows a monitor does nothing, and the run says so.
    let out = train_chile(
        &dir.path().join("nv.json"),
        &[
            "--monitor",
            "macro_f1",
            "--epochs",
            "2",
            "--validation-split",
            "0",
        ],
    )
    .success();
    assert!(error_of(&out).contains(
        "csvnn: warning: --monitor macro_f1 has no effect without validation rows (--validation-split 0 and no --validation); every epoch runs and the last one's weights are kept\n"
    ));

    // The default monitor, the loss, leaves no trace in the file.
    train_chile(&model, &["--quiet", "--epochs", "2"]).success();
    let m = json(&model);
    assert!(m["training"]["config"].get("monitor").is_none());
    assert!(m["history"][0].get("monitored").is_none());
}

#[test]
fn a_monitor_that_does_not_fit_the_task_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let out = train_chile(&model, &["--quiet", "--monitor", "rmse"]).code(2);
    assert_eq!(
        error_of(&out),
        "csvnn: error: --monitor rmse does not fit a classification task; expected one of: loss, accuracy, balanced_accuracy, macro_f1\n"
    );
    let out = csvnn()
        .args([
            "--quiet",
            "cv",
            "--data",
            &data("auto_mpg.train.csv"),
            "--target",
            "mpg",
        ])
        .args(["--drop", "name", "--monitor", "accuracy"])
        .assert()
        .code(2);
    assert_eq!(
        error_of(&out),
        "csvnn: error: --monitor accuracy does not fit a regression task; expected one of: loss, rmse, mae, r2\n"
    );
    assert!(!model.exists());
    // A fitting one runs in cross-validation too.
    csvnn()
        .args([
            "--quiet",
            "cv",
            "--data",
            &data("auto_mpg.train.csv"),
            "--target",
            "mpg",
        ])
        .args([
            "--drop",
            "name",
            "--monitor",
            "r2",
            "--folds",
            "2",
            "--epochs",
            "3",
        ])
        .assert()
        .success();
}

#[test]
fn a_directory_that_takes_no_new_files_is_refused_before_any_work() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    fs::create_dir(&locked).unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
    let model = locked.join("m.json");
    // Root writes anywhere: run csvnn as the unprivileged user `nobody` when root.
    let mut cmd = if running_as_root() {
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(assert_cmd::cargo::cargo_bin("csvnn"));
        cmd
    } else {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("csvnn"))
    };
    cmd.args([
        "train",
        "--data",
        &data("chile_vote.train.csv"),
        "--target",
        "vote",
        "-o",
    ])
    .arg(&model);
    let out = assert_cmd::assert::OutputAssertExt::assert(&mut cmd).code(1);
    assert_eq!(
        error_of(&out),
        format!(
            "csvnn: error: {}: cannot write in the directory '{}': Permission denied (os error 13)\n",
            model.display(),
            locked.display()
        )
    );
    assert_eq!(fs::read_dir(&locked).unwrap().count(), 0);
}

/// Whether the tests run as root (who may write in any directory).
fn running_as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

#[test]
fn a_checkpoint_whose_network_does_not_fit_together_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ck = checkpointed_run(d);
    let file = ck.join("checkpoint.json");
    let mut checkpoint = json(&file);
    let first = &mut checkpoint["state"]["network"]["layers"][0];
    let n_in = first["n_in"].as_u64().unwrap();
    let n_out = first["n_out"].as_u64().unwrap();
    first["n_in"] = (n_in + 1).into();
    first["weights"] = vec![0.1; ((n_in + 1) * n_out) as usize].into();
    fs::write(&file, checkpoint.to_string()).unwrap();
    let out = csvnn()
        .args(["train", "--resume"])
        .arg(&ck)
        .arg("-o")
        .arg(d.join("x.json"))
        .assert()
        .code(1);
    assert_eq!(
        error_of(&out),
        format!(
            "csvnn: error: {}: invalid model: layer 1 (dense): takes {} inputs but receives {n_in}\n",
            file.display(),
            n_in + 1
        )
    );
    assert!(!d.join("x.json").exists());
}

#[cfg(unix)]
#[test]
fn devices_and_pipes_are_written_in_place_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    train_chile(&model, &["--quiet", "--epochs", "1"]).success();
    // As root, a rename over /dev/null would replace the device with a regular file.
    train_chile(Path::new("/dev/null"), &["--quiet", "--epochs", "1"])
        .success()
        .stderr("");
    assert!(fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    // A named pipe gets the predictions as a reader reads them.
    let fifo = dir.path().join("predictions.fifo");
    let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
    };
    csvnn()
        .args(["--quiet", "predict", "--model"])
        .arg(&model)
        .args(["--data", &data("chile_vote.test.csv"), "-o"])
        .arg(&fifo)
        .assert()
        .success()
        .stderr("");
    let text = reader.join().unwrap();
    assert!(text.starts_with("prediction\n"), "{}", &text[..40]);
    assert!(fifo.exists(), "the pipe is still a pipe");
    assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
}
