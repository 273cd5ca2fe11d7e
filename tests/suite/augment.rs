//! `train --augment`: noise and mixup on chile_vote, image transforms on generated bar
//! images, token dropout on tweets; the same bytes on one or two threads, a resumed run
//! equal to an uninterrupted one, the augmentation noted in the model, and the errors of
//! bad specs.

use std::ffi::OsStr;
use std::fs;
use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

use super::conv_cli::write_bars;
use super::util::{csvnn, data, evaluate_json};

fn tweets() -> String {
    format!(
        "{}/tests/fixtures/sequences/tw.csv",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// `csvnn --threads N train -o model args`, which must succeed; the model's bytes.
fn train<S: AsRef<OsStr>>(threads: &str, model: &Path, args: &[S]) -> Vec<u8> {
    csvnn()
        .args(["--quiet", "--threads", threads, "train", "-o"])
        .arg(model)
        .args(args)
        .assert()
        .success();
    fs::read(model).unwrap()
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// Four epochs on chile_vote, then `extra`.
fn chile(extra: &[&str]) -> Vec<String> {
    let path = data("chile_vote.train.csv");
    [
        "--data", &path, "--target", "vote", "--epochs", "4", "--seed", "3",
    ]
    .iter()
    .chain(extra)
    .map(|a| a.to_string())
    .collect()
}

#[test]
fn noise_and_mixup_train_the_same_bytes_on_one_or_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plain = train("1", &d.join("plain.json"), &chile(&[]));
    assert!(json(&plain)["training"]["config"].get("augment").is_none());
    for spec in ["noise:0.05", "mixup:0.2", "noise:0.1,mixup:0.4"] {
        let one = train("1", &d.join("one.json"), &chile(&["--augment", spec]));
        let two = train("2", &d.join("two.json"), &chile(&["--augment", spec]));
        assert!(
            one == two,
            "{spec}: the models differ between 1 and 2 threads"
        );
        assert!(one != plain, "{spec}: the augmentation changed nothing");
        let model = json(&one);
        assert_eq!(model["training"]["config"]["augment"], spec);
        let accuracy = evaluate_json(&d.join("one.json"), &data("chile_vote.test.csv"))["accuracy"]
            .as_f64()
            .unwrap();
        assert!(accuracy > 0.55, "{spec}: accuracy {accuracy}");
    }
}

#[test]
fn image_transforms_train_a_cnn_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (bars, test) = (d.join("bars.csv"), d.join("test.csv"));
    write_bars(&bars, 300, 1);
    write_bars(&test, 100, 2);
    let args = [
        "--data",
        bars.to_str().unwrap(),
        "--target",
        "label",
        "--image-shape",
        "6x6x1",
        "--conv",
        "4:3",
        "--hidden",
        "8",
        "--epochs",
        "15",
        "--augment",
        "shift:1,rotate:10,flip",
    ];
    let one = train("1", &d.join("one.json"), &args);
    let two = train("2", &d.join("two.json"), &args);
    assert!(one == two, "the models differ between 1 and 2 threads");
    assert_eq!(
        json(&one)["training"]["config"]["augment"],
        "shift:1,rotate:10,flip"
    );
    let plain = train("1", &d.join("plain.json"), &args[..12]);
    assert!(one != plain);
    // Bars stay bars under these transforms: the model still tells them apart.
    let accuracy = evaluate_json(&d.join("one.json"), test.to_str().unwrap())["accuracy"]
        .as_f64()
        .unwrap();
    assert!(accuracy > 0.9, "accuracy {accuracy}");
}

#[test]
fn token_dropout_trains_a_text_model_and_a_resumed_run_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tw = tweets();
    let args = |epochs: &'static str| {
        vec![
            "--data",
            tw.as_str(),
            "--target",
            "source",
            "--drop",
            "created_at",
            "--augment",
            "token-dropout:0.2",
            "--epochs",
            epochs,
        ]
    };
    let ck = d.join("ck");
    let mut first = args("2");
    first.extend_from_slice(&["--checkpoint-dir", ck.to_str().unwrap()]);
    train("1", &d.join("two.json"), &first);
    csvnn()
        .args(["--quiet", "train", "--epochs", "4", "--resume"])
        .arg(&ck)
        .arg("-o")
        .arg(d.join("resumed.json"))
        .assert()
        .success();
    let straight = train("2", &d.join("straight.json"), &args("4"));
    assert!(fs::read(d.join("resumed.json")).unwrap() == straight);
    let mut plain = args("4");
    plain.drain(6..8);
    assert!(train("1", &d.join("plain.json"), &plain) != straight);
}

/// `csvnn train args` fails with exit code 2 and this stderr.
fn refused<S: AsRef<OsStr>>(args: &[S], stderr: &str) {
    let dir = tempfile::tempdir().unwrap();
    csvnn()
        .arg("train")
        .arg("-o")
        .arg(dir.path().join("m.json"))
        .args(args)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(stderr));
}

#[test]
fn bad_specs_are_usage_errors_naming_the_valid_ones() {
    refused(
        &chile(&["--augment", "blur:1"]),
        "error: invalid value 'blur:1' for '--augment <SPEC>': unknown augmentation 'blur'; expected one of: shift:N, rotate:DEG, flip, noise:SIGMA, mixup:ALPHA, token-dropout:P",
    );
    refused(
        &chile(&["--augment", "noise"]),
        "error: invalid value 'noise' for '--augment <SPEC>': 'noise' needs a value; expected noise:SIGMA",
    );
    refused(
        &chile(&["--augment", "mixup:0.2,flip:1"]),
        "'flip:1': flip takes no value",
    );
    refused(
        &chile(&["--augment", "token-dropout:1.5"]),
        "'token-dropout:1.5' is out of range; expected token-dropout:P with P greater than 0 and less than 1",
    );
    refused(
        &chile(&["--augment", "noise:0.1,shift:2"]),
        "csvnn: error: --augment shift needs --image-shape\n",
    );
    refused(
        &chile(&["--augment", "token-dropout:0.1"]),
        "csvnn: error: --augment token-dropout needs a text column; the table has none\n",
    );
    let tw = tweets();
    refused(
        &[
            "--data",
            &tw,
            "--target",
            "source",
            "--drop",
            "created_at",
            "--augment",
            "mixup:0.2",
        ],
        "csvnn: error: --augment mixup cannot mix text columns or series; the table has one\n",
    );
}
