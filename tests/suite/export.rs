//! `csvnn export --format onnx`: the file decodes as an ONNX ModelProto with the documented
//! input layout, the model's weights, and the expected output; errors leave no file.
//! (Numerical agreement with onnxruntime: scripts/verify_onnx.py.)

use std::fs;
use std::path::{Path, PathBuf};

use super::util::{csvnn, data};
use csvnn::onnx::proto::{ModelProto, TensorProto, DOUBLE, FLOAT};
use predicates::prelude::*;
use prost::Message;
use serde_json::Value;

fn train(dir: &Path, args: &[&str]) -> PathBuf {
    let model = dir.join("model.json");
    csvnn()
        .args(["--quiet", "train", "-o"])
        .arg(&model)
        .args(args)
        .assert()
        .success();
    model
}

fn export(model: &Path, out: &Path) -> ModelProto {
    csvnn()
        .args([
            "--quiet", "export", "--format", "onnx", "--inputs", "encoded",
        ])
        .arg("--model")
        .arg(model)
        .arg("-o")
        .arg(out)
        .assert()
        .success()
        .stdout("");
    ModelProto::decode(fs::read(out).unwrap().as_slice()).unwrap()
}

fn floats(t: &TensorProto) -> Vec<f32> {
    assert_eq!(t.data_type, FLOAT);
    t.raw_data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

fn dims(model: &ModelProto, input: bool) -> (String, i32, Vec<String>) {
    let graph = model.graph.as_ref().unwrap();
    let value = if input {
        &graph.input[0]
    } else {
        &graph.output[0]
    };
    let tensor = value.r#type.as_ref().unwrap().tensor_type.as_ref().unwrap();
    let shape = tensor
        .shape
        .as_ref()
        .unwrap()
        .dim
        .iter()
        .map(|d| match (&d.dim_value, &d.dim_param) {
            (Some(v), _) => v.to_string(),
            (None, Some(p)) => p.clone(),
            _ => panic!("a dimension without value"),
        })
        .collect();
    (value.name.clone(), tensor.elem_type, shape)
}

fn metadata(model: &ModelProto, key: &str) -> String {
    model
        .metadata_props
        .iter()
        .find(|e| e.key == key)
        .unwrap()
        .value
        .clone()
}

#[test]
fn a_classifier_exports_its_layout_weights_and_softmax() {
    let dir = tempfile::tempdir().unwrap();
    let model_path = train(
        dir.path(),
        &[
            "--data",
            &data("chile_vote.train.csv"),
            "--target",
            "vote",
            "--categorical",
            "region,sex,education",
            "--hidden",
            "8",
            "--epochs",
            "3",
        ],
    );
    let onnx = export(&model_path, &dir.path().join("chile.onnx"));
    assert_eq!((onnx.ir_version, onnx.opset_import[0].version), (7, 13));
    let model: Value = serde_json::from_str(&fs::read_to_string(&model_path).unwrap()).unwrap();

    // Inputs: the model's columns in order, categorical ones one-hot over the vocabulary.
    let layout: Value = serde_json::from_str(&metadata(&onnx, "csvnn.inputs")).unwrap();
    let layout = layout.as_array().unwrap();
    let mut expected = Vec::new();
    for feature in model["pipeline"]["features"].as_array().unwrap() {
        let name = feature["name"].as_str().unwrap();
        match feature["kind"].as_str().unwrap() {
            "numeric" => expected.push((name.to_string(), None)),
            _ => {
                for c in feature["categories"].as_array().unwrap() {
                    expected.push((name.to_string(), Some(c.as_str().unwrap().to_string())));
                }
            }
        }
    }
    let got: Vec<(String, Option<String>)> = layout
        .iter()
        .map(|s| {
            (
                s["column"].as_str().unwrap().to_string(),
                s["category"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(got, expected);
    assert!(got.iter().any(|(c, cat)| c == "region" && cat.is_some()));
    let n = layout.len().to_string();
    assert_eq!(
        dims(&onnx, true),
        ("input".into(), FLOAT, vec!["N".into(), n])
    );
    assert_eq!(
        dims(&onnx, false),
        ("probabilities".into(), FLOAT, vec!["N".into(), "4".into()])
    );
    assert_eq!(metadata(&onnx, "csvnn.labels"), r#"["A","N","U","Y"]"#);

    let graph = onnx.graph.unwrap();
    let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(
        ops,
        ["Cast", "IsNaN", "Where", "Sub", "Div", "Cast", "Gemm", "Tanh", "Gemm", "Softmax"]
    );
    // The weights are the model's, bit for bit.
    let layer0 = &model["network"]["layers"][0];
    let weights = graph
        .initializer
        .iter()
        .find(|t| t.name == "layer0_weights")
        .unwrap();
    assert_eq!(weights.dims, [layout.len() as i64, 8]);
    let from_model: Vec<f32> = layer0["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(floats(weights), from_model);
}

#[test]
fn a_regressor_outputs_the_value_in_target_units_as_double() {
    let dir = tempfile::tempdir().unwrap();
    let model_path = train(
        dir.path(),
        &[
            "--data",
            &data("auto_mpg.train.csv"),
            "--target",
            "mpg",
            "--drop",
            "name",
            "--epochs",
            "2",
        ],
    );
    let onnx = export(&model_path, &dir.path().join("mpg.onnx"));
    assert_eq!(
        dims(&onnx, false),
        ("prediction".into(), DOUBLE, vec!["N".into(), "1".into()])
    );
    assert_eq!(metadata(&onnx, "csvnn.task"), "regression");
    let ops: Vec<String> = onnx
        .graph
        .unwrap()
        .node
        .into_iter()
        .map(|n| n.op_type)
        .collect();
    assert_eq!(ops[ops.len() - 3..], ["Cast", "Mul", "Add"]);
}

#[test]
fn errors_are_one_line_and_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    fs::write(&bad, "{\"format\": \"something else\"}").unwrap();
    let out = dir.path().join("out.onnx");
    csvnn()
        .args(["export", "--format", "onnx", "--model"])
        .arg(&bad)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("csvnn: error: "))
        .stderr(predicate::str::contains("bad.json"))
        .stderr(predicate::function(|s: &str| s.lines().count() == 1));
    assert!(!out.exists());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    csvnn()
        .args(["export", "--format", "tflite", "--model"])
        .arg(&bad)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2);
}

/// A column capped by --max-categories has a last "other" input: the layout lists it, so
/// the graph's input is as wide as the network's first layer.
#[test]
fn a_capped_categorical_column_lists_its_other_input() {
    let dir = tempfile::tempdir().unwrap();
    let model_path = train(
        dir.path(),
        &[
            "--data",
            &data("chile_vote.train.csv"),
            "--target",
            "vote",
            "--categorical",
            "region,sex,education",
            "--max-categories",
            "3",
            "--epochs",
            "1",
        ],
    );
    let onnx = export(&model_path, &dir.path().join("capped.onnx"));
    let layout: Value = serde_json::from_str(&metadata(&onnx, "csvnn.inputs")).unwrap();
    let region: Vec<&Value> = layout
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["column"] == "region")
        .collect();
    assert_eq!(region.len(), 3);
    assert_eq!(region[2]["other"], true);
    assert!(region[2].get("category").is_none());
    assert!(region[..2]
        .iter()
        .all(|s| s["category"].is_string() && s.get("other").is_none()));
    let (_, _, shape) = dims(&onnx, true);
    assert_eq!(shape[1], layout.as_array().unwrap().len().to_string());
    let model: Value = serde_json::from_str(&fs::read_to_string(&model_path).unwrap()).unwrap();
    let first = &model["network"]["layers"][0];
    assert_eq!(
        first["n_in"].as_u64().map(|n| n as usize),
        Some(layout.as_array().unwrap().len())
    );
}
