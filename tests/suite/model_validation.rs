//! A model file is input too (issue 14): models trained here, then edited by hand the way
//! a fuzzing campaign found them, must be refused when they load, with exit code 1 and one
//! line naming the file, what was found and what was expected, never a panic or an
//! unbounded allocation. The first three are the campaign's crashes.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::{json, Value};
use tempfile::TempDir;

use super::conv_cli::write_bars;
use super::util::{csvnn, data};

/// A model trained once by the binary, as JSON: a 4-16-2 classifier on `default` (inputs:
/// the two one-hot `student` values, `balance`, `income`).
fn classifier() -> Value {
    static MODEL: OnceLock<Value> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let train = data("default.train.csv");
            train_model(&["--data", &train, "--target", "default", "--hidden", "16"])
        })
        .clone()
}

/// A small CNN trained once by the binary: a 6x6x1 image, conv 4 filters 3x3 (padding
/// 1), ReLU, 2x2 max-pool, dense 36 -> 8, ReLU, dense 8 -> 2.
fn cnn() -> Value {
    static MODEL: OnceLock<Value> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let dir = TempDir::new().unwrap();
            let bars = dir.path().join("bars.csv");
            write_bars(&bars, 60, 1);
            let bars = bars.to_str().unwrap();
            train_model(&[
                "--data",
                bars,
                "--target",
                "label",
                "--image-shape",
                "6x6x1",
                "--conv",
                "4:3",
                "--hidden",
                "8",
            ])
        })
        .clone()
}

/// A series model trained once by the binary: japanesevowels (the fixture's 25 steps of 12
/// channels, `t000_c0` ... `t024_c11`), a GRU of 2 units, no hidden layer.
fn series() -> Value {
    static MODEL: OnceLock<Value> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let vowels = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/sequences/jv.csv"
            );
            train_model(&[
                "--data",
                vowels,
                "--target",
                "label",
                "--sequence-shape",
                "25x12",
                "--rnn",
                "gru:2",
                "--hidden",
                "none",
            ])
        })
        .clone()
}

/// Train for one epoch with `args` and read the model written.
fn train_model(args: &[&str]) -> Value {
    let dir = TempDir::new().unwrap();
    let model = dir.path().join("m.json");
    csvnn()
        .args([
            "--quiet",
            "train",
            "--epochs",
            "1",
            "--validation-split",
            "0",
        ])
        .args(args)
        .arg("-o")
        .arg(&model)
        .assert()
        .success();
    serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap()
}

/// `model` written as `bad.json` in a fresh folder (kept alive by the returned guard).
fn write_model(model: &Value) -> TempDir {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("bad.json"), model.to_string()).unwrap();
    dir
}

/// `csvnn predict --model bad.json` on the `default` test rows, in `dir`.
fn predict(dir: &Path) -> assert_cmd::assert::Assert {
    csvnn()
        .current_dir(dir)
        .args(["predict", "--model", "bad.json", "--data"])
        .arg(data("default.test.csv"))
        .assert()
}

/// `predict` with the edited `model` exits 1 with exactly
/// `csvnn: error: bad.json: invalid model: {problem}` and writes nothing.
fn assert_refused(model: &Value, problem: &str) {
    let dir = write_model(model);
    predict(dir.path()).code(1).stdout("").stderr(format!(
        "csvnn: error: bad.json: invalid model: {problem}\n"
    ));
}

/// A conv layer of 2x1x1 images, 1x1 kernel, two filters (4 values out) and `padding`.
fn conv_2x1(padding: usize) -> Value {
    json!({
        "type": "conv2d",
        "input": {"height": 2, "width": 1, "channels": 1},
        "filters": 2, "kernel": 1, "stride": 1, "padding": padding,
        "weights": [0.5, -0.5], "bias": [0.0, 0.0],
    })
}

#[test]
fn a_conv_layer_after_the_last_dense_layer_is_refused() {
    let mut model = classifier();
    layers(&mut model).push(conv_2x1(0));
    assert_refused(
        &model,
        "the network gives 4 outputs; expected 2, one per class label",
    );
}

#[test]
fn a_conv_padding_beyond_the_limit_is_refused() {
    let mut model = cnn();
    assert_eq!(layers(&mut model)[0]["type"], "conv2d");
    layers(&mut model)[0]["padding"] = json!(100_000);
    assert_refused(
        &model,
        "layer 1 (conv2d): padding 100000 is above the limit of 1024",
    );
    // After the last dense layer, as the campaign's file had it.
    let mut model = classifier();
    layers(&mut model).push(conv_2x1(100_000));
    assert_refused(
        &model,
        "layer 4 (conv2d): padding 100000 is above the limit of 1024",
    );
}

#[test]
fn a_classifier_without_labels_is_refused() {
    let mut model = classifier();
    model["pipeline"]["target_encoder"]["labels"] = json!([]);
    let last = layers(&mut model).last_mut().unwrap();
    last["n_out"] = json!(0);
    last["weights"] = json!([]);
    last["bias"] = json!([]);
    assert_refused(
        &model,
        "the classification target has 0 labels; expected at least 2",
    );
}

#[test]
fn a_dense_layer_of_the_wrong_width_is_refused() {
    let mut model = classifier();
    let last = &mut layers(&mut model)[2];
    last["n_in"] = json!(15);
    last["weights"] = json!(vec![0.1; 15 * 2]);
    assert_refused(&model, "layer 3 (dense): takes 15 inputs but receives 16");
}

#[test]
fn image_layers_must_chain() {
    // Padding within the limit gives a 2004x2004x4 image that the pool does not take.
    let mut model = cnn();
    layers(&mut model)[0]["padding"] = json!(1000);
    assert_refused(
        &model,
        "layer 2 (max_pool2d): takes 6x6x4 images (144 values) but receives 16064064",
    );
}

#[test]
fn a_layer_too_wide_to_run_is_refused() {
    let mut model = cnn();
    layers(&mut model)[0]["padding"] = json!(1024);
    layers(&mut model)[0]["kernel"] = json!(1);
    layers(&mut model)[0]["weights"] = json!([0.5, 0.5, 0.5, 0.5]);
    assert_refused(
        &model,
        "layer 1 (conv2d): gives 16875664 values per row; expected at most 16777216",
    );
}

#[test]
fn a_wrong_weight_count_is_refused_with_its_place_in_the_file() {
    let mut model = classifier();
    let dense = &mut layers(&mut model)[0];
    dense["weights"].as_array_mut().unwrap().pop();
    // serde names the character after the layer's object (1-based).
    let text = model.to_string();
    let layer = model["network"]["layers"][0].to_string();
    let after = text.find(&layer).unwrap() + layer.len() + 1;
    let dir = write_model(&model);
    predict(dir.path()).code(1).stdout("").stderr(format!(
        "csvnn: error: bad.json: the model file is damaged: dense layer: weights do not have n_in x n_out = 4 x 16 values at line 1 column {after}\n"
    ));

    let mut model = cnn();
    let conv = &mut layers(&mut model)[0];
    conv["weights"].as_array_mut().unwrap().push(json!(0.5));
    let text = model.to_string();
    let layer = model["network"]["layers"][0].to_string();
    let after = text.find(&layer).unwrap() + layer.len() + 1;
    let dir = write_model(&model);
    predict(dir.path()).code(1).stdout("").stderr(format!(
        "csvnn: error: bad.json: the model file is damaged: conv layer: weights do not have kernel * kernel * c_in x filters = 9 x 4 values at line 1 column {after}\n"
    ));
}

#[test]
fn the_output_width_must_be_the_label_count_or_one() {
    let mut model = classifier();
    model["pipeline"]["target_encoder"]["labels"] = json!(["No", "Yes", "Maybe"]);
    assert_refused(
        &model,
        "the network gives 2 outputs; expected 3, one per class label",
    );

    let mut model = classifier();
    model["task"] = json!("regression");
    model["pipeline"]["target_encoder"] = json!({"task": "regression", "mean": 0.0, "std": 1.0});
    assert_refused(
        &model,
        "the network gives 2 outputs; expected 1 (regression)",
    );

    let mut model = classifier();
    model["task"] = json!("regression");
    assert_refused(
        &model,
        "the model's task is regression but its target is encoded for classification; expected the same",
    );
}

#[test]
fn the_input_width_must_be_the_pipelines() {
    let mut model = classifier();
    model["pipeline"]["features"].as_array_mut().unwrap().pop();
    model["pipeline"]["dropped"] = json!(["income"]);
    assert_refused(
        &model,
        "the network takes 4 inputs; expected 3, the inputs the pipeline encodes its feature columns into",
    );
}

#[test]
fn every_command_that_reads_a_model_refuses_it() {
    let mut model = classifier();
    layers(&mut model).push(conv_2x1(0));
    let dir = write_model(&model);
    let message = "csvnn: error: bad.json: invalid model: the network gives 4 outputs; expected 2, one per class label\n";
    for command in [
        vec![
            "evaluate",
            "--model",
            "bad.json",
            "--data",
            &data("default.test.csv"),
        ],
        vec!["inspect", "--model", "bad.json"],
    ] {
        csvnn()
            .current_dir(dir.path())
            .args(&command)
            .assert()
            .code(1)
            .stdout("")
            .stderr(message);
    }
}

#[test]
fn trained_models_still_load_and_predict() {
    let dir = write_model(&classifier());
    let out = predict(dir.path()).success().get_output().stdout.clone();
    let out = String::from_utf8(out).unwrap();
    let test_rows = std::fs::read_to_string(data("default.test.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(out.lines().count(), test_rows + 1);
    assert!(out.lines().skip(1).all(|l| l == "No" || l == "Yes"));

    let dir = write_model(&cnn());
    write_bars(&dir.path().join("bars.csv"), 5, 2);
    let out = csvnn()
        .current_dir(dir.path())
        .args(["predict", "--model", "bad.json", "--data", "bars.csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 6);
}

/// The layers of a model's network.
fn layers(model: &mut Value) -> &mut Vec<Value> {
    model["network"]["layers"].as_array_mut().unwrap()
}

/// The campaign of 2026-11-30 (docs/fuzzing.md) found a series with one column fewer than
/// its shape (35 for 3 x 12): prediction indexed past its columns and panicked. A series'
/// shape, columns and per-channel statistics are now checked when the model loads.
#[test]
fn a_series_must_have_its_shapes_columns_and_statistics() {
    let edited = |edit: &dyn Fn(&mut Value)| {
        let mut model = series();
        let feature = &mut model["pipeline"]["features"][0];
        assert_eq!(feature["kind"], "sequence", "{feature}");
        edit(feature);
        model
    };
    let name = "the series 't000_c0..t024_c11' has";
    assert_refused(
        &edited(&|f| {
            f["columns"].as_array_mut().unwrap().pop();
        }),
        &format!("{name} 299 columns; expected 300, 25 steps of 12 channels"),
    );
    assert_refused(
        &edited(&|f| f["shape"]["steps"] = json!(1u64 << 62)),
        &format!("{name} 300 columns; expected 55340232221128654848, 4611686018427387904 steps of 12 channels"),
    );
    assert_refused(
        &edited(&|f| f["shape"]["channels"] = json!(0)),
        &format!("{name} 25 steps of 0 channels; expected at least 1 of each"),
    );
    assert_refused(
        &edited(&|f| {
            f["mean"].as_array_mut().unwrap().pop();
        }),
        &format!("{name} 11 means; expected 12, one per channel"),
    );
    assert_refused(
        &edited(&|f| f["std"].as_array_mut().unwrap().push(json!(1.0))),
        &format!("{name} 13 standard deviations; expected 12, one per channel"),
    );
    // Unedited, it loads and predicts.
    let dir = write_model(&series());
    let test = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sequences/jvt.csv"
    );
    csvnn()
        .current_dir(dir.path())
        .args(["predict", "--model", "bad.json", "--data", test])
        .assert()
        .success();
}

/// The campaign's first crash itself, minimised by libFuzzer (`-minimize_crash=1`, 30 s):
/// an int8 series model whose series has 1 column and 3 means for 3 steps of 12 channels.
#[test]
fn the_campaigns_minimised_crash_is_refused() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fuzz");
    let message = "csvnn: error: series_columns.json: invalid model: the series 't000_c0..t002_c11' has 1 column; expected 36, 3 steps of 12 channels\n";
    let vowels = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sequences/jvt.csv"
    );
    for command in [
        &[
            "predict",
            "--model",
            "series_columns.json",
            "--data",
            vowels,
        ][..],
        &["inspect", "--model", "series_columns.json"],
    ] {
        csvnn()
            .current_dir(fixtures)
            .args(command)
            .assert()
            .code(1)
            .stdout("")
            .stderr(message);
    }
}

/// A preprocessor file holds the same series, checked the same way when it loads: one
/// with a column fewer than its shape made `train --preprocessor` panic.
#[test]
fn a_preprocessor_files_series_must_match_its_shape_too() {
    let dir = TempDir::new().unwrap();
    let vowels = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sequences/jv.csv"
    );
    let data = ["--data", vowels, "--target", "label"];
    csvnn()
        .current_dir(dir.path())
        .args([
            "--quiet",
            "preprocess",
            "--sequence-shape",
            "25x12",
            "-o",
            "prep.json",
        ])
        .args(data)
        .assert()
        .success();
    let prep = dir.path().join("prep.json");
    let mut file: Value = serde_json::from_str(&std::fs::read_to_string(&prep).unwrap()).unwrap();
    let series = &mut file["pipeline"]["features"][0];
    assert_eq!(series["kind"], "sequence", "{series}");
    series["columns"].as_array_mut().unwrap().pop();
    std::fs::write(&prep, file.to_string()).unwrap();
    csvnn()
        .current_dir(dir.path())
        .args(["--quiet", "train", "--preprocessor", "prep.json", "--epochs", "1"])
        .args(["--rnn", "gru:2", "--hidden", "none", "-o", "m.json"])
        .args(data)
        .assert()
        .code(1)
        .stdout("")
        .stderr("csvnn: error: prep.json: invalid preprocessor: the series 't000_c0..t024_c11' has 299 columns; expected 300, 25 steps of 12 channels\n");
    assert!(!dir.path().join("m.json").exists());
}
