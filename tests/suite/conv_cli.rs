//! `train --image-shape --conv`: a small CNN from the command line on generated images.

use std::fs;
use std::path::Path;

use super::util::csvnn;
use predicates::prelude::*;
use rand::{Rng, SeedableRng};
use serde_json::Value;

/// 6x6 grey images of a bright vertical or horizontal bar at a random place, with noise.
pub fn write_bars(path: &Path, n: usize, seed: u64) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut text: String = (0..36).map(|i| format!("p{i},")).collect::<String>() + "label\n";
    for _ in 0..n {
        let vertical = rng.gen::<bool>();
        let at = rng.gen_range(0..6);
        for y in 0..6 {
            for x in 0..6 {
                let on = if vertical { x == at } else { y == at };
                let value = if on { 200 } else { 0 } + rng.gen_range(0..40);
                text += &format!("{value},");
            }
        }
        text += if vertical {
            "vertical\n"
        } else {
            "horizontal\n"
        };
    }
    fs::write(path, text).unwrap();
}

#[test]
fn a_small_cnn_trains_predicts_and_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test, model) = (
        dir.path().join("train.csv"),
        dir.path().join("test.csv"),
        dir.path().join("m.json"),
    );
    write_bars(&train, 400, 1);
    write_bars(&test, 100, 2);
    csvnn()
        .args([
            "train",
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
            "--data",
        ])
        .arg(&train)
        .arg("-o")
        .arg(&model)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "training a 6x6x1-conv4:3-8-2 network",
        ));
    let json: Value = serde_json::from_slice(&fs::read(&model).unwrap()).unwrap();
    let kinds: Vec<&str> = json["network"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "conv2d",
            "max_pool2d",
            "activation",
            "dense",
            "activation",
            "dense"
        ]
    );
    // Pixels share one scale: every pixel column has the same mean and std.
    let features = json["pipeline"]["features"].as_array().unwrap();
    assert!(features
        .iter()
        .all(|f| f["mean"] == features[0]["mean"] && f["std"] == features[0]["std"]));

    let out = csvnn()
        .args(["evaluate", "--format", "json", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&test)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["accuracy"].as_f64().unwrap() > 0.9, "{report}");
    let predictions = csvnn()
        .args(["predict", "--model"])
        .arg(&model)
        .arg("--data")
        .arg(&test)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(predictions.stdout)
            .unwrap()
            .lines()
            .count(),
        101
    );
}

#[test]
fn conv_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    write_bars(&train, 20, 3);
    let out = dir.path().join("m.json");
    csvnn()
        .args(["train", "--target", "label", "--conv", "4:3", "--data"])
        .arg(&train)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--image-shape"));
    csvnn()
        .args(["train", "--target", "label", "--image-shape", "5x5x1", "--conv", "4:3", "--data"])
        .arg(&train)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--image-shape 5x5x1 needs 25 numeric feature columns (the pixels); the data has 36 feature columns, 36 of them numeric",
        ));
    csvnn()
        .args([
            "train",
            "--target",
            "label",
            "--image-shape",
            "6x6",
            "--conv",
            "4:x",
            "--data",
        ])
        .arg(&train)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("'4:x' is not FILTERS:KERNEL"));
    csvnn()
        .args(["train", "--target", "label", "--image-shape", "6x6x1", "--conv", "4:3,4:3,4:3", "--data"])
        .arg(&train)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "csvnn: error: --conv 4:3,4:3,4:3 does not fit --image-shape 6x6x1: conv layer 3: max-pool layer: a 2x2 window does not fit a 1x1x4 image",
        ));
    assert!(!out.exists());
}
