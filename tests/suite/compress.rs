//! `csvnn compress --int8`: the compressed model is a normal model file (format 6 when a
//! small layer runs the f32 product, 5 otherwise) that every command reads, scores within
//! a hair of the f32 model, is a fraction of its size, and refuses damage with what is
//! wrong.

use std::fs;
use std::path::{Path, PathBuf};

use super::util::{csvnn, data, evaluate_json, stdout_of};
use csvnn::onnx::proto::{GraphProto, ModelProto, NodeProto};
use predicates::prelude::*;
use prost::Message;
use serde_json::Value;

fn train(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let model = dir.join(name);
    csvnn()
        .args(["--quiet", "train", "--seed", "3", "-o"])
        .arg(&model)
        .args(args)
        .assert()
        .success();
    model
}

fn compress(model: &Path, out: &Path) -> Value {
    let text = stdout_of(
        csvnn()
            .args(["compress", "--int8", "--format", "json", "--model"])
            .arg(model)
            .arg("-o")
            .arg(out),
    );
    serde_json::from_str(&text).unwrap()
}

/// `export --format onnx` of `model` into `onnx`, read back.
fn onnx_graph(model: &Path, onnx: &Path) -> GraphProto {
    csvnn()
        .args(["--quiet", "export", "--format", "onnx", "--model"])
        .arg(model)
        .arg("-o")
        .arg(onnx)
        .assert()
        .success();
    let proto = ModelProto::decode(fs::read(onnx).unwrap().as_slice()).unwrap();
    proto.graph.unwrap()
}

/// `inspect --format json` of `model`.
fn inspect_json(model: &Path) -> Value {
    serde_json::from_str(&stdout_of(
        csvnn()
            .args(["inspect", "--format", "json", "--model"])
            .arg(model),
    ))
    .unwrap()
}

/// The node of `graph` that gives `output`.
fn producer<'a>(graph: &'a GraphProto, output: &str) -> &'a NodeProto {
    graph
        .node
        .iter()
        .find(|n| n.output.iter().any(|o| o == output))
        .unwrap()
}

fn chile(dir: &Path) -> PathBuf {
    train(
        dir,
        "f32.json",
        &[
            "--data",
            &data("chile_vote.train.csv"),
            "--target",
            "vote",
            "--categorical",
            "region,sex,education",
            "--hidden",
            "64,64",
            "--epochs",
            "4",
        ],
    )
}

#[test]
fn an_int8_classifier_scores_like_the_f32_one_and_every_command_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let f32_model = chile(dir.path());
    let int8_model = dir.path().join("int8.json");
    let summary = compress(&f32_model, &int8_model);
    let note = &summary["compression"]["int8"];
    assert_eq!(note["layers_int8"], 3);
    assert_eq!(note["layers_f32"], serde_json::json!([]));
    // 14 inputs and 4 outputs: the f32 product; 64 -> 64: int8.
    assert_eq!(note["products"], serde_json::json!(["f32", "int8", "f32"]));
    let (f32_bytes, int8_bytes) = (
        note["f32_weight_bytes"].as_f64().unwrap(),
        note["int8_weight_bytes"].as_f64().unwrap(),
    );
    assert!(int8_bytes <= 0.3 * f32_bytes, "{int8_bytes} vs {f32_bytes}");
    // 14-64-64-4: per layer n_in x n_out int8 bytes, a 1-byte code per output, a 4-byte base.
    let expected = (14 * 64 + 64 + 4) + (64 * 64 + 64 + 4) + (64 * 4 + 4 + 4);
    assert_eq!(int8_bytes, expected as f64);
    assert_eq!(f32_bytes, (4 * (14 * 64 + 64 * 64 + 64 * 4)) as f64);
    let written = fs::metadata(&int8_model).unwrap().len();
    assert_eq!(summary["output_bytes"].as_u64().unwrap(), written);
    assert!(written < fs::metadata(&f32_model).unwrap().len() / 3);

    let saved: Value = serde_json::from_str(&fs::read_to_string(&int8_model).unwrap()).unwrap();
    assert_eq!(saved["format_version"], 6);
    let first = &saved["network"]["layers"][0];
    assert_eq!(first["type"], "dense_int8");
    assert_eq!(first["product"], "f32");
    assert!(saved["network"]["layers"][2].get("product").is_none());
    assert_eq!(saved["network"]["layers"][4]["product"], "f32");
    assert!(first.get("scales").is_none(), "{first}");
    assert!(first["scale_base"].as_f64().unwrap() > 0.0);
    // 64 codes in base64: 88 characters.
    assert_eq!(first["scale_codes"].as_str().unwrap().len(), 88);
    let plain: Value = serde_json::from_str(&fs::read_to_string(&f32_model).unwrap()).unwrap();
    assert!(plain["format_version"].as_u64().unwrap() < 4);
    assert!(plain.get("compression").is_none());

    let test = data("chile_vote.test.csv");
    let (a, b) = (
        evaluate_json(&f32_model, &test),
        evaluate_json(&int8_model, &test),
    );
    let acc = |r: &Value| r["accuracy"].as_f64().unwrap();
    assert!(
        (acc(&a) - acc(&b)).abs() <= 0.01,
        "{} vs {}",
        acc(&a),
        acc(&b)
    );

    let inspect = stdout_of(csvnn().args(["inspect", "--model"]).arg(&int8_model));
    assert!(inspect.contains("size:     "), "{inspect}");
    assert!(
        inspect.contains("compressed: int8 weights in 3 layers"),
        "{inspect}"
    );
    for line in [
        "14 -> 64 (int8 weights, a 1-byte scale code per output; f32 product)",
        "64 -> 64 (int8 weights, a 1-byte scale code per output; int8 product)",
        "64 -> 4 (int8 weights, a 1-byte scale code per output; f32 product)",
        "; products: f32, int8, f32",
    ] {
        assert!(inspect.contains(line), "{line}: {inspect}");
    }
    assert!(
        inspect.contains(&format!("({} -> {expected} bytes)", f32_bytes)),
        "{inspect}"
    );
    let json = inspect_json(&int8_model);
    assert_eq!(json["compression"]["int8"]["layers_int8"], 3);
    let products: Vec<Value> = json["architecture"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["product"].clone())
        .collect();
    assert_eq!(
        Value::from(products),
        serde_json::json!(["f32", null, "int8", null, "f32"])
    );
    assert!(json["architecture"]["param_bytes"].as_u64().unwrap() > 0);

    let predict = |threads: &str| {
        stdout_of(
            csvnn()
                .args(["--threads", threads, "predict", "--proba", "--model"])
                .arg(&int8_model)
                .args(["--data", &test]),
        )
    };
    assert_eq!(predict("1"), predict("3"));
    let report = dir.path().join("report.html");
    csvnn()
        .args(["--quiet", "report", "--model"])
        .arg(&int8_model)
        .args(["--data", &test, "-o"])
        .arg(&report)
        .assert()
        .success();
    assert!(fs::read_to_string(&report).unwrap().contains("<svg"));
    csvnn()
        .args(["explain", "--repeats", "1", "--model"])
        .arg(&int8_model)
        .args(["--data", &test])
        .assert()
        .success()
        .stdout(predicate::str::contains("rank  column"));
}

#[test]
fn an_int8_regressor_keeps_its_r2() {
    let dir = tempfile::tempdir().unwrap();
    let f32_model = train(
        dir.path(),
        "mpg.json",
        &[
            "--data",
            &data("auto_mpg.train.csv"),
            "--target",
            "mpg",
            "--drop",
            "name",
            "--epochs",
            "30",
        ],
    );
    let int8_model = dir.path().join("mpg8.json");
    compress(&f32_model, &int8_model);
    let test = data("auto_mpg.test.csv");
    let r2 = |m: &Path| evaluate_json(m, &test)["r2"].as_f64().unwrap();
    let (a, b) = (r2(&f32_model), r2(&int8_model));
    assert!((a - b).abs() <= 0.01, "R² {a} vs {b}");
}

#[test]
fn compress_refuses_what_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let f32_model = chile(dir.path());
    let int8_model = dir.path().join("int8.json");
    compress(&f32_model, &int8_model);
    let out = dir.path().join("again.json");
    let fails = |model: &Path, message: &str| {
        csvnn()
            .args(["compress", "--int8", "--model"])
            .arg(model)
            .arg("-o")
            .arg(&out)
            .assert()
            .code(predicate::ne(0))
            .stderr(predicate::str::contains(message));
        assert!(!out.exists());
    };
    fails(&int8_model, "the model's weights are already int8");
    fails(&dir.path().join("missing.json"), "missing.json");
    let not_model = dir.path().join("notes.json");
    fs::write(&not_model, "{\"hello\": 1}").unwrap();
    fails(&not_model, "not a csvnn model");
    // Nothing asked: clap names the flags.
    csvnn()
        .args(["compress", "--model"])
        .arg(&f32_model)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--int8"));
}

#[test]
fn damaged_int8_layers_are_refused_with_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let f32_model = chile(dir.path());
    let int8_model = dir.path().join("int8.json");
    compress(&f32_model, &int8_model);
    let saved: Value = serde_json::from_str(&fs::read_to_string(&int8_model).unwrap()).unwrap();
    let cases: [(&str, Value, &str); 7] = [
        (
            "product",
            "f16".into(),
            "dense_int8 layer: the product is \"f16\"; expected \"int8\" (inputs quantized per row) or \"f32\" (weights dequantized to f32 on load)",
        ),
        (
            "product",
            serde_json::json!(1),
            "dense_int8 layer: the product is 1; expected \"int8\"",
        ),
        (
            "weights",
            "not base64!".into(),
            "dense_int8 layer: the weights are not base64 text",
        ),
        (
            "weights",
            "AAAA".into(),
            "the int8 weights have 3 values; expected n_in x n_out",
        ),
        (
            "scale_codes",
            "AAAA".into(),
            "there are 3 scale codes; expected one per output, 64",
        ),
        (
            "bias",
            serde_json::json!([0.0]),
            "bias has 1 values, expected n_out = 64",
        ),
        (
            "scale_base",
            serde_json::json!(0.0),
            "the scale base is 0; expected a finite number above 0",
        ),
    ];
    for (key, value, message) in cases {
        let mut broken = saved.clone();
        broken["network"]["layers"][2][key] = value;
        let path = dir.path().join("broken.json");
        fs::write(&path, broken.to_string()).unwrap();
        csvnn()
            .args(["inspect", "--model"])
            .arg(&path)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(message));
    }
    // The format-4 form, f32 scales, with a zero among them.
    let mut zero = saved.clone();
    let layer = zero["network"]["layers"][2].as_object_mut().unwrap();
    layer.remove("scale_base");
    layer.remove("scale_codes");
    let mut scales = vec![Value::from(0.01); 64];
    scales[4] = 0.into();
    layer.insert("scales".into(), scales.into());
    let path = dir.path().join("zero.json");
    fs::write(&path, zero.to_string()).unwrap();
    csvnn()
        .args(["inspect", "--model"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "scale 5 is 0; expected a finite number above 0",
        ));
}

#[test]
fn an_int8_model_exports_as_matmulinteger_on_int8_weights() {
    let dir = tempfile::tempdir().unwrap();
    let int8_model = dir.path().join("int8.json");
    compress(&chile(dir.path()), &int8_model);
    let graph = onnx_graph(&int8_model, &dir.path().join("int8.onnx"));
    let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
    // The 64 -> 64 layer quantizes its inputs; the small first and last layers dequantize
    // their int8 weights and multiply in float (not `DequantizeLinear`, which
    // onnxruntime turns into a product with int8 inputs).
    let count = |name: &str| ops.iter().filter(|&&op| op == name).count();
    assert_eq!(count("MatMulInteger"), 1, "{ops:?}");
    assert_eq!(count("MatMul"), 2, "{ops:?}");
    // Their weights: the int8 initializer cast to float (then times the scales).
    let casts_of_weights = graph
        .node
        .iter()
        .filter(|n| n.op_type == "Cast" && n.input[0].ends_with("_weights_int8"))
        .count();
    assert_eq!(casts_of_weights, 2, "{ops:?}");
    assert_eq!(count("DequantizeLinear"), 0, "{ops:?}");
    assert!(!ops.contains(&"Gemm"), "{ops:?}");
    let weights = graph
        .initializer
        .iter()
        .find(|t| t.name.ends_with("_weights_int8") && t.dims == [64, 64])
        .expect("the hidden layer's int8 weights");
    assert_eq!((weights.data_type, weights.raw_data.len()), (3, 64 * 64));
}

/// The saved model of the fixture `tests/fixtures/NAME` (model.json) as JSON and its
/// `inspect` text, after checking that `predict --proba` of its rows.csv gives its
/// predictions.csv byte for byte with 1 and 3 threads.
fn fixture_predicts_as_saved(name: &str) -> (Value, String) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let model = fixture.join("model.json");
    let saved: Value = serde_json::from_str(&fs::read_to_string(&model).unwrap()).unwrap();
    for threads in ["1", "3"] {
        let predicted = stdout_of(
            csvnn()
                .args([
                    "--quiet",
                    "--threads",
                    threads,
                    "predict",
                    "--proba",
                    "--model",
                ])
                .arg(&model)
                .arg("--data")
                .arg(fixture.join("rows.csv")),
        );
        assert_eq!(
            predicted,
            fs::read_to_string(fixture.join("predictions.csv")).unwrap()
        );
    }
    let inspect = stdout_of(csvnn().args(["inspect", "--model"]).arg(&model));
    (saved, inspect)
}

/// An int8 model written before the 1-byte scale codes (format 4, one f32 scale per
/// output; tests/fixtures/int8_v4/make.sh) still loads and predicts byte for byte what
/// it did then.
#[test]
fn a_format_4_int8_model_with_f32_scales_predicts_as_before() {
    let (saved, inspect) = fixture_predicts_as_saved("int8_v4");
    assert_eq!(saved["format_version"], 4);
    assert!(saved["network"]["layers"][0]["scales"].is_array());
    assert!(
        inspect.contains("14 -> 12 (int8 weights, an f32 scale per output; int8 product)"),
        "{inspect}"
    );
    assert!(inspect.contains("(864 -> 280 bytes)"), "{inspect}");
}

/// An int8 model written before the f32 product of small layers (format 5, every layer
/// the int8 product, no `product` field; tests/fixtures/int8_v5/make.sh) still loads and
/// predicts byte for byte what it did then.
#[test]
fn a_format_5_int8_model_predicts_as_before_with_the_int8_product() {
    let (saved, inspect) = fixture_predicts_as_saved("int8_v5");
    assert_eq!(saved["format_version"], 5);
    assert!(saved["network"]["layers"][0].get("product").is_none());
    assert!(
        inspect.contains("14 -> 12 (int8 weights, a 1-byte scale code per output; int8 product)"),
        "{inspect}"
    );
    assert!(!inspect.contains("products:"), "{inspect}");
}

/// chile_vote 14-256-256-4: the small first and last layers run the f32 product, the
/// 256 x 256 one int8. `predict` gives byte for byte what a model with f32 dense layers
/// holding the dequantized weights in their place gives, with 1 or 3 threads, and the
/// accuracy stays within 0.5 points of the f32 model's.
#[test]
fn small_layers_predict_as_dense_layers_on_their_dequantized_weights() {
    use csvnn::model::Model;
    use csvnn::nn::{AnyLayer, Int8Product};
    let dir = tempfile::tempdir().unwrap();
    let f32_model = train(
        dir.path(),
        "wide.json",
        &[
            "--data",
            &data("chile_vote.train.csv"),
            "--target",
            "vote",
            "--categorical",
            "region,sex,education",
            "--hidden",
            "256,256",
            "--epochs",
            "4",
        ],
    );
    let int8_model = dir.path().join("wide8.json");
    let summary = compress(&f32_model, &int8_model);
    assert_eq!(
        summary["compression"]["int8"]["products"],
        serde_json::json!(["f32", "int8", "f32"])
    );
    let table = stdout_of(
        csvnn()
            .args(["compress", "--int8", "--model"])
            .arg(&f32_model)
            .arg("-o")
            .arg(dir.path().join("again8.json")),
    );
    assert!(
        table.contains("products: f32, int8, f32 (f32: the int8 weights dequantized on load, for conv, GRU and LSTM layers and dense layers with fewer than 32 inputs or 8 outputs)\n"),
        "{table}"
    );

    let mut reference = Model::load(&int8_model).unwrap();
    assert_eq!(reference.format_version, 6);
    let mut replaced = 0;
    for layer in &mut reference.network.layers {
        if let AnyLayer::DenseInt8(d) = layer {
            if d.product() == Int8Product::F32 {
                *layer = AnyLayer::Dense(d.dequantized_dense());
                replaced += 1;
            }
        }
    }
    assert_eq!(replaced, 2);
    reference.refresh_format_version();
    let reference_path = dir.path().join("dequantized.json");
    reference.save(&reference_path).unwrap();
    let test = data("chile_vote.test.csv");
    let predict = |model: &Path, threads: &str| {
        stdout_of(
            csvnn()
                .args([
                    "--quiet",
                    "--threads",
                    threads,
                    "predict",
                    "--proba",
                    "--model",
                ])
                .arg(model)
                .args(["--data", &test]),
        )
    };
    let int8 = predict(&int8_model, "1");
    assert_eq!(int8, predict(&reference_path, "1"));
    assert_eq!(int8, predict(&int8_model, "3"));
    assert_ne!(int8, predict(&f32_model, "1"), "the weights are quantized");

    let acc = |m: &Path| evaluate_json(m, &test)["accuracy"].as_f64().unwrap();
    let (a, b) = (acc(&f32_model), acc(&int8_model));
    assert!((a - b).abs() <= 0.005, "accuracy {a} vs {b}");
}

/// A file of format 6 names the reader's limit to an older csvnn; this one refuses a
/// `product` it does not know with the file and what it expected.
#[test]
fn a_bad_product_is_refused_with_the_file_and_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let int8_model = dir.path().join("int8.json");
    compress(&chile(dir.path()), &int8_model);
    let mut saved: Value = serde_json::from_str(&fs::read_to_string(&int8_model).unwrap()).unwrap();
    saved["network"]["layers"][0]["product"] = "fp16".into();
    let path = dir.path().join("bad_product.json");
    fs::write(&path, saved.to_string()).unwrap();
    let out = csvnn()
        .args(["predict", "--model"])
        .arg(&path)
        .args(["--data", &data("chile_vote.test.csv")])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!(
            "csvnn: error: {}: the model file is damaged: dense_int8 layer: the product is \"fp16\"; expected \"int8\" (inputs quantized per row) or \"f32\" (weights dequantized to f32 on load)",
            path.display()
        )),
        "{stderr}"
    );
}

/// A small CNN compressed: its conv layer holds int8 weights (one scale code per filter,
/// no f32 weights in the file) and runs the f32 product on them dequantized, so it
/// predicts the bits of the model with an f32 conv layer holding those weights; no layer
/// is left f32, and the file is smaller.
#[test]
fn a_cnn_s_conv_weights_are_int8_and_predict_as_their_dequantized_f32_ones() {
    use csvnn::model::Model;
    use csvnn::nn::{AnyLayer, Conv2D};
    let dir = tempfile::tempdir().unwrap();
    let (train_csv, test_csv) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    super::conv_cli::write_bars(&train_csv, 200, 1);
    super::conv_cli::write_bars(&test_csv, 60, 2);
    let f32_model = train(
        dir.path(),
        "cnn.json",
        &[
            "--data",
            train_csv.to_str().unwrap(),
            "--target",
            "label",
            "--image-shape",
            "6x6x1",
            "--conv",
            "4:3",
            "--hidden",
            "8",
            "--epochs",
            "3",
        ],
    );
    let int8_model = dir.path().join("cnn8.json");
    let summary = compress(&f32_model, &int8_model);
    let note = &summary["compression"]["int8"];
    assert_eq!(note["layers_f32"], serde_json::json!([]), "{note}");
    assert_eq!(note["products"][0], "f32", "{note}");
    let saved: Value = serde_json::from_str(&fs::read_to_string(&int8_model).unwrap()).unwrap();
    assert_eq!(saved["format_version"], 6);
    let conv = &saved["network"]["layers"][0];
    assert_eq!(conv["type"], "conv2d");
    assert!(conv.get("weights").is_none() && conv["int8_weights"].is_object());

    let inspect = stdout_of(csvnn().args(["inspect", "--model"]).arg(&int8_model));
    assert!(
        inspect.contains("int8 weights, a 1-byte scale code per filter; f32 product"),
        "{inspect}"
    );
    assert!(!inspect.contains("kept f32"), "{inspect}");
    let json = inspect_json(&int8_model);
    assert_eq!(json["architecture"]["layers"][0]["product"], "f32");

    // The same model with an f32 conv layer holding the dequantized weights.
    let mut reference = Model::load(&int8_model).unwrap();
    let AnyLayer::Conv2D(c) = &reference.network.layers[0] else {
        panic!("the first layer is the conv layer");
    };
    assert!(c.int8_weights().is_some());
    let plain = Conv2D::new(
        c.input_shape(),
        c.kernel(),
        c.stride(),
        c.padding(),
        c.weights().clone(),
        c.bias().clone(),
    )
    .unwrap();
    reference.network.layers[0] = AnyLayer::Conv2D(plain);
    let reference_path = dir.path().join("dequantized.json");
    reference.save(&reference_path).unwrap();
    let test = test_csv.to_str().unwrap();
    let predict = |model: &Path| {
        stdout_of(
            csvnn()
                .args(["--quiet", "predict", "--proba", "--model"])
                .arg(model)
                .args(["--data", test]),
        )
    };
    let int8 = predict(&int8_model);
    assert_eq!(int8, predict(&reference_path));
    let size = |p: &Path| fs::metadata(p).unwrap().len();
    assert!(size(&int8_model) < size(&f32_model));
    assert!(size(&int8_model) < size(&reference_path));

    // ONNX: the int8 filters (c_out, c_in, k, k) cast to float, times the per-filter
    // scales (c_out, 1, 1, 1), feed the Conv.
    let graph = onnx_graph(&int8_model, &dir.path().join("cnn8.onnx"));
    let AnyLayer::Conv2D(c) = &Model::load(&int8_model).unwrap().network.layers[0] else {
        panic!("the first layer is the conv layer");
    };
    let m = c.int8_weights().unwrap();
    let filters = graph
        .initializer
        .iter()
        .find(|t| t.name.ends_with("_weights_int8") && t.dims == [4, 1, 3, 3])
        .expect("the conv layer's int8 filters");
    assert_eq!(filters.data_type, 3);
    let oihw: Vec<u8> = (0..4)
        .flat_map(|co| (0..9).map(move |kk| m.values()[kk * 4 + co] as u8))
        .collect();
    assert_eq!(filters.raw_data, oihw);
    let scales = graph
        .initializer
        .iter()
        .find(|t| t.dims == [4, 1, 1, 1])
        .expect("the per-filter scales");
    let conv = graph.node.iter().find(|n| n.op_type == "Conv").unwrap();
    let mul = producer(&graph, &conv.input[1]);
    assert_eq!(mul.op_type, "Mul");
    assert_eq!(mul.input[1], scales.name);
    let cast = producer(&graph, &mul.input[0]);
    assert_eq!(
        (cast.op_type.as_str(), &cast.input[0]),
        ("Cast", &filters.name)
    );
}

/// japanesevowels (tests/fixtures/sequences: 68 training and 37 test rows of
/// ../shared/data's 25 steps x 12 channels).
fn vowels() -> (String, String) {
    let fixture = |name: &str| {
        format!(
            "{}/tests/fixtures/sequences/{name}",
            env!("CARGO_MANIFEST_DIR")
        )
    };
    (fixture("jv.csv"), fixture("jvt.csv"))
}

/// An f32 model of `vowels` with the recurrent encoder `rnn`, trained for `epochs`.
fn vowels_model(dir: &Path, rnn: &str, epochs: &str) -> PathBuf {
    let (train_csv, _) = vowels();
    let args = ["--data", &train_csv, "--target", "label"];
    let encoder = [
        "--sequence-shape",
        "25x12",
        "--rnn",
        rnn,
        "--epochs",
        epochs,
    ];
    train(dir, "f32.json", &[&args[..], &encoder[..]].concat())
}

/// Series models with a GRU or an LSTM encoder compressed: the recurrent layer holds int8
/// weights (both matrices, one scale code per gate unit, no f32 weights in the file) and
/// runs the f32 forward pass on them dequantized, so the model predicts the bits of one
/// whose recurrent layer is f32 holding those weights; no layer is left f32; inspect
/// shows it; it cannot be fine-tuned; its ONNX graph holds the int8 weights and scores as
/// `predict` does.
#[test]
fn recurrent_weights_are_int8_and_predict_as_their_dequantized_f32_ones() {
    use csvnn::model::Model;
    use csvnn::nn::{AnyLayer, Branches};
    let (train_csv, test_csv) = vowels();
    for (kind, rnn, gates) in [("gru", "gru:16", 3), ("lstm", "lstm:16", 4)] {
        let dir = tempfile::tempdir().unwrap();
        let f32_model = vowels_model(dir.path(), rnn, "3");
        let int8_model = dir.path().join("int8.json");
        let summary = compress(&f32_model, &int8_model);
        let note = &summary["compression"]["int8"];
        assert_eq!(note["layers_f32"], serde_json::json!([]), "{kind}: {note}");
        // The recurrent layer, then the head 16 -> 64 (f32 product) and 64 -> 9 (int8).
        assert_eq!(note["layers_int8"], 3, "{kind}: {note}");
        assert_eq!(note["products"], serde_json::json!(["f32", "f32", "int8"]));
        // Recurrent: (12 + 16) x G·16 weights, a code per column and a base per matrix.
        let gh = gates * 16;
        let int8_bytes = (12 * gh + gh + 4) + (16 * gh + gh + 4) + (16 * 64 + 68) + (64 * 9 + 13);
        let f32_bytes = 4 * (28 * gh + 16 * 64 + 64 * 9);
        assert_eq!(note["int8_weight_bytes"], int8_bytes, "{kind}");
        assert_eq!(note["f32_weight_bytes"], f32_bytes, "{kind}");
        assert!(int8_bytes as f64 <= 0.3 * f32_bytes as f64, "{kind}");

        let saved: Value = serde_json::from_str(&fs::read_to_string(&int8_model).unwrap()).unwrap();
        assert_eq!(saved["format_version"], 6);
        let encoder = &saved["network"]["layers"][0]["branches"][0]["encoder"]["layers"];
        let layer = &encoder[0];
        assert_eq!(layer["type"], kind);
        assert!(layer.get("weights_ih").is_none() && layer.get("weights_hh").is_none());
        assert!(layer["int8_weights_ih"]["weights"].is_string(), "{layer}");
        assert!(
            layer["int8_weights_hh"]["scale_codes"].is_string(),
            "{layer}"
        );

        let inspect = stdout_of(csvnn().args(["inspect", "--model"]).arg(&int8_model));
        let detail =
            "25x12 -> 25x16 (int8 weights, a 1-byte scale code per gate unit; f32 product)";
        assert!(
            inspect
                .lines()
                .any(|l| l.contains(&format!(" {kind} ")) && l.contains(detail)),
            "{inspect}"
        );
        assert!(!inspect.contains("kept f32"), "{inspect}");
        let json = inspect_json(&int8_model);
        let summary = &json["architecture"]["layers"][0]["encoders"][0][0];
        assert_eq!(summary["type"], kind);
        assert_eq!(summary["product"], "f32");
        // Every parameter counted as stored, the int8 layers' too: the nonzero ones are
        // those the architecture's sparsity leaves.
        let params = json["architecture"]["params"].as_f64().unwrap();
        let zeros = (json["architecture"]["sparsity"].as_f64().unwrap() * params).round();
        let nonzero = json["compression"]["nonzero_params"].as_f64().unwrap();
        assert!(zeros > 0.0, "{json}");
        assert_eq!(nonzero, params - zeros, "{json}");

        // The same model with an f32 recurrent layer holding the dequantized weights.
        let mut reference = Model::load(&int8_model).unwrap();
        let AnyLayer::Branches(b) = &reference.network.layers[0] else {
            panic!("the first layer is the branches layer");
        };
        let mut branches = b.branches().to_vec();
        let plain = match &branches[0].encoder.layers[0] {
            AnyLayer::Gru(g) => {
                let (ih, hh) = g.int8_weights().expect("int8 weights");
                assert_eq!((ih.n_in(), ih.n_out(), hh.n_in()), (12, gh, 16));
                AnyLayer::Gru(g.dequantized())
            }
            AnyLayer::Lstm(l) => {
                let (ih, hh) = l.int8_weights().expect("int8 weights");
                assert_eq!((ih.n_in(), ih.n_out(), hh.n_in()), (12, gh, 16));
                AnyLayer::Lstm(l.dequantized())
            }
            other => panic!("{kind}: the encoder starts with {}", other.kind()),
        };
        branches[0].encoder.layers[0] = plain;
        reference.network.layers[0] =
            AnyLayer::Branches(Branches::new(b.n_inputs(), branches).unwrap());
        let reference_path = dir.path().join("dequantized.json");
        reference.save(&reference_path).unwrap();
        let predict = |model: &Path, threads: &str| {
            stdout_of(
                csvnn()
                    .args(["--quiet", "--threads", threads, "predict", "--proba"])
                    .arg("--model")
                    .arg(model)
                    .args(["--data", &test_csv]),
            )
        };
        let int8 = predict(&int8_model, "1");
        assert_eq!(int8, predict(&reference_path, "1"), "{kind}");
        assert_eq!(int8, predict(&int8_model, "3"), "{kind}");
        let size = |p: &Path| fs::metadata(p).unwrap().len();
        assert!(size(&int8_model) * 3 < size(&f32_model), "{kind}");
        let (a, b) = (
            evaluate_json(&f32_model, &test_csv),
            evaluate_json(&int8_model, &test_csv),
        );
        let acc = |r: &Value| r["accuracy"].as_f64().unwrap();
        // 37 rows: at most one row's class changes.
        assert!((acc(&a) - acc(&b)).abs() <= 1.0 / 37.0 + 1e-9, "{a} {b}");

        // Inference only: pruning (which fine-tunes) is refused.
        csvnn()
            .args(["compress", "--prune", "0.5", "--model"])
            .arg(&int8_model)
            .args(["--data", &train_csv, "-o"])
            .arg(dir.path().join("pruned.json"))
            .assert()
            .code(2)
            .stderr("csvnn: error: the model's weights are already int8, which cannot be fine-tuned; expected an f32 model (prune first, then quantize: --prune with --int8 does both in that order)\n");

        // ONNX: W and R are int8 initializers in ONNX's gate order, cast to float and
        // times the scale of each row, feeding the GRU or LSTM node.
        let graph = onnx_graph(&int8_model, &dir.path().join("int8.onnx"));
        let model = Model::load(&int8_model).unwrap();
        let AnyLayer::Branches(b) = &model.network.layers[0] else {
            panic!("the first layer is the branches layer");
        };
        let q = match &b.branches()[0].encoder.layers[0] {
            AnyLayer::Gru(g) => g.onnx_int8_parameters(),
            AnyLayer::Lstm(l) => l.onnx_int8_parameters(),
            _ => None,
        }
        .expect("int8 parameters");
        let op = kind.to_uppercase();
        let node = graph.node.iter().find(|n| n.op_type == op).unwrap();
        let initializer = |name: &str| graph.initializer.iter().find(|t| t.name == name).unwrap();
        for (input, weights, scales) in [
            (&node.input[1], &q.weight_ih, &q.scales_ih),
            (&node.input[2], &q.weight_hh, &q.scales_hh),
        ] {
            let mul = producer(&graph, input);
            assert_eq!(mul.op_type, "Mul");
            let cast = producer(&graph, &mul.input[0]);
            assert_eq!(cast.op_type, "Cast");
            let w = initializer(&cast.input[0]);
            assert_eq!(w.data_type, 3, "int8");
            assert_eq!(w.dims, [1, gh as i64, weights.ncols() as i64]);
            let raw: Vec<u8> = weights.iter().map(|&v| v as u8).collect();
            assert_eq!(w.raw_data, raw);
            let s = initializer(&mul.input[1]);
            assert_eq!(s.dims, [1, gh as i64, 1]);
            let floats: Vec<u8> = scales.iter().flat_map(|v| v.to_le_bytes()).collect();
            assert_eq!(s.raw_data, floats);
        }
        assert!(
            !graph
                .initializer
                .iter()
                .any(|t| t.dims == [1, gh as i64, 12] && t.data_type == 1),
            "{kind}: no f32 W"
        );
        if let Some(why) = super::export_raw::onnxruntime_missing() {
            eprintln!("onnxruntime skipped: {why}");
            continue;
        }
        let worst = super::export_raw::score_against_predict(
            &int8_model,
            Path::new(&test_csv),
            &["--proba"],
        );
        assert!(
            worst <= 1e-5,
            "{kind}: largest probability difference {worst}"
        );
    }
}

/// A damaged int8 GRU or LSTM block is refused on load with the file, the layer, the
/// field and what was expected.
#[test]
fn damaged_int8_recurrent_layers_are_refused_with_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let f32_model = vowels_model(dir.path(), "lstm:8", "1");
    let int8_model = dir.path().join("int8.json");
    compress(&f32_model, &int8_model);
    let saved: Value = serde_json::from_str(&fs::read_to_string(&int8_model).unwrap()).unwrap();
    let cases: [(&str, &str, Value, &str); 5] = [
        (
            "int8_weights_ih",
            "weights",
            "not base64!".into(),
            "lstm layer: `int8_weights_ih`: the weights are not base64 text",
        ),
        (
            "int8_weights_hh",
            "weights",
            "AAAA".into(),
            "lstm layer: `int8_weights_hh`: the int8 weights have 3 values; expected n_in x n_out = 8 x 32",
        ),
        (
            "int8_weights_ih",
            "scale_codes",
            "AAAA".into(),
            "lstm layer: `int8_weights_ih`: there are 3 scale codes; expected one per output, 32",
        ),
        (
            "int8_weights_hh",
            "scale_codes",
            "#".into(),
            "lstm layer: `int8_weights_hh`: the scale codes are not base64 text",
        ),
        (
            "int8_weights_ih",
            "scale_base",
            serde_json::json!(0.0),
            "lstm layer: `int8_weights_ih`: the scale base is 0; expected a finite number above 0",
        ),
    ];
    let path = dir.path().join("broken.json");
    let refused = |broken: &Value, message: &str| {
        fs::write(&path, broken.to_string()).unwrap();
        let stderr = String::from_utf8(
            csvnn()
                .args(["inspect", "--model"])
                .arg(&path)
                .assert()
                .code(1)
                .get_output()
                .stderr
                .clone(),
        )
        .unwrap();
        let prefix = format!(
            "csvnn: error: {}: the model file is damaged: {message} at line 1 column ",
            path.display()
        );
        assert!(stderr.starts_with(&prefix), "{stderr}");
    };
    for (field, key, value, message) in cases {
        let mut broken = saved.clone();
        broken["network"]["layers"][0]["branches"][0]["encoder"]["layers"][0][field][key] = value;
        refused(&broken, message);
    }
    // Both forms, or neither.
    let mut both = saved.clone();
    both["network"]["layers"][0]["branches"][0]["encoder"]["layers"][0]["weights_ih"] =
        vec![0.0; 12 * 32].into();
    let either = "lstm layer: expected either `weights_ih` and `weights_hh` (f32) or `int8_weights_ih` and `int8_weights_hh`";
    refused(&both, either);
    let mut half = saved.clone();
    half["network"]["layers"][0]["branches"][0]["encoder"]["layers"][0]
        .as_object_mut()
        .unwrap()
        .remove("int8_weights_hh");
    refused(&half, either);
}
