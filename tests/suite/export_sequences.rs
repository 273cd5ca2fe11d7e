//! `csvnn export --format onnx` of models with series, text and date columns: the opset,
//! the recurrent nodes and their weights in ONNX's gate order, the input slots of each
//! kind, the text vocabulary in the metadata. (Numerical agreement with onnxruntime:
//! scripts/verify_onnx.py.)

use std::fs;
use std::path::{Path, PathBuf};

use super::util::csvnn;
use csvnn::onnx::proto::{ModelProto, NodeProto, TensorProto, FLOAT};
use prost::Message;
use serde_json::Value;

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/sequences/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// `train` with `args` (one epoch) into `dir`/m.json.
fn train(dir: &Path, args: &[&str]) -> PathBuf {
    let model = dir.join("m.json");
    csvnn()
        .args(["--quiet", "train", "--epochs", "1", "-o"])
        .arg(&model)
        .args(args)
        .assert()
        .success();
    model
}

fn series_model(dir: &Path, encoder: &[&str]) -> PathBuf {
    let jv = fixture("jv.csv");
    let mut args = vec![
        "--data",
        &jv,
        "--target",
        "label",
        "--sequence-shape",
        "25x12",
    ];
    args.extend_from_slice(encoder);
    train(dir, &args)
}

fn text_model(dir: &Path, extra: &[&str]) -> PathBuf {
    let tw = fixture("tw.csv");
    let mut args = vec!["--data", &tw, "--target", "source", "--max-tokens", "20"];
    args.extend_from_slice(extra);
    train(dir, &args)
}

fn export(model: &Path) -> ModelProto {
    let out = model.with_extension("onnx");
    csvnn()
        .args([
            "--quiet", "export", "--format", "onnx", "--inputs", "encoded",
        ])
        .arg("--model")
        .arg(model)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    ModelProto::decode(fs::read(out).unwrap().as_slice()).unwrap()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn metadata(model: &ModelProto, key: &str) -> Option<Value> {
    let entry = model.metadata_props.iter().find(|e| e.key == key)?;
    Some(serde_json::from_str(&entry.value).unwrap())
}

fn layout(model: &ModelProto) -> Vec<Value> {
    metadata(model, "csvnn.inputs")
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn nodes<'a>(model: &'a ModelProto, op: &str) -> Vec<&'a NodeProto> {
    let graph = model.graph.as_ref().unwrap();
    graph.node.iter().filter(|n| n.op_type == op).collect()
}

fn int_attribute(node: &NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == name)?.i
}

fn initializer<'a>(model: &'a ModelProto, name: &str) -> &'a TensorProto {
    let graph = model.graph.as_ref().unwrap();
    graph.initializer.iter().find(|t| t.name == name).unwrap()
}

fn floats(t: &TensorProto) -> Vec<f32> {
    assert_eq!(t.data_type, FLOAT);
    t.raw_data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

fn f32s(v: &Value) -> Vec<f32> {
    let values = v.as_array().unwrap();
    values.iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn input_width(model: &ModelProto) -> i64 {
    let input = &model.graph.as_ref().unwrap().input[0];
    let tensor = input.r#type.as_ref().unwrap().tensor_type.as_ref().unwrap();
    tensor.shape.as_ref().unwrap().dim[1].dim_value.unwrap()
}

/// The first encoder's recurrent layer `k` of a model file.
fn encoder_layer(model: &Path, k: usize) -> Value {
    json(model)["network"]["layers"][0]["branches"][0]["encoder"]["layers"][k].clone()
}

/// ONNX's W (1, G·H, C) holds gate `onnx_gate` in rows `onnx_gate·H..`; csvnn's
/// `weights_ih` (C, G·H) row-major holds gate `ours` in columns `ours·H..`.
fn assert_gate_moved(w: &[f32], ours: &[f32], c: usize, h: usize, gates: usize, map: &[usize]) {
    for (onnx_gate, &our_gate) in map.iter().enumerate() {
        for unit in 0..h {
            for ch in 0..c {
                let onnx = w[(onnx_gate * h + unit) * c + ch];
                let csvnn = ours[ch * gates * h + our_gate * h + unit];
                assert_eq!(onnx, csvnn, "gate {onnx_gate}, unit {unit}, channel {ch}");
            }
        }
    }
}

#[test]
fn a_gru_series_model_exports_at_opset_13_with_series_slots() {
    let dir = tempfile::tempdir().unwrap();
    let model = series_model(dir.path(), &["--rnn", "gru:8"]);
    let onnx = export(&model);
    assert_eq!(onnx.opset_import[0].version, 13);

    let gru = nodes(&onnx, "GRU");
    assert_eq!(gru.len(), 1);
    assert_eq!(int_attribute(gru[0], "linear_before_reset"), Some(1));
    assert_eq!(int_attribute(gru[0], "hidden_size"), Some(8));
    // X, W, R, B, sequence_lens.
    assert_eq!(gru[0].input.len(), 5);
    // W: csvnn's r, z, n blocks as ONNX's z, r, h.
    let w = initializer(&onnx, "layer0_block1_layer0_W");
    assert_eq!(w.dims, [1, 24, 12]);
    let layer = encoder_layer(&model, 0);
    assert_gate_moved(
        &floats(w),
        &f32s(&layer["weights_ih"]),
        12,
        8,
        3,
        &[1, 0, 2],
    );
    let b = floats(initializer(&onnx, "layer0_block1_layer0_B"));
    let (bias_ih, bias_hh) = (f32s(&layer["bias_ih"]), f32s(&layer["bias_hh"]));
    assert_eq!(b[..8], bias_ih[8..16]); // Wb_z = b_iz
    assert_eq!(b[24 + 16..], bias_hh[16..]); // Rb_h = b_hn

    // One slot per raw column, the channel's statistics beside it.
    let slots = layout(&onnx);
    assert_eq!((slots.len(), input_width(&onnx)), (300, 300));
    let features = &json(&model)["pipeline"]["features"][0];
    for (i, slot) in slots.iter().enumerate() {
        assert_eq!(slot["index"], i);
        assert_eq!(slot["kind"], "series");
        assert_eq!(slot["column"], format!("t{:03}_c{}", i / 12, i % 12));
        assert_eq!(
            (&slot["step"], &slot["channel"]),
            (&(i / 12).into(), &(i % 12).into())
        );
        assert_eq!(slot["mean"], features["mean"][i % 12], "{slot}");
        assert_eq!(slot["std"], features["std"][i % 12], "{slot}");
        assert!(slot.get("part").is_none() && slot.get("position").is_none());
    }
    assert!(metadata(&onnx, "csvnn.text.text").is_none());
}

#[test]
fn an_lstm_series_model_exports_its_gates_in_onnx_order() {
    let dir = tempfile::tempdir().unwrap();
    let model = series_model(dir.path(), &["--rnn", "lstm:6,lstm:4", "--pool", "max"]);
    let onnx = export(&model);
    assert_eq!(onnx.opset_import[0].version, 13);
    let lstm = nodes(&onnx, "LSTM");
    assert_eq!(lstm.len(), 2);
    assert_eq!(int_attribute(lstm[0], "hidden_size"), Some(6));
    assert_eq!(int_attribute(lstm[1], "hidden_size"), Some(4));
    assert_eq!(int_attribute(lstm[0], "linear_before_reset"), None);
    assert!(nodes(&onnx, "GRU").is_empty());
    // csvnn's i, f, g, o as ONNX's i, o, f, c.
    let w = initializer(&onnx, "layer0_block1_layer1_W");
    assert_eq!(w.dims, [1, 16, 6]);
    let ours = f32s(&encoder_layer(&model, 1)["weights_ih"]);
    assert_gate_moved(&floats(w), &ours, 6, 4, 4, &[0, 3, 1, 2]);
    // Max pooling over the valid steps.
    assert_eq!(nodes(&onnx, "ReduceMax").len(), 1);
}

#[test]
fn a_text_bag_model_carries_its_vocabulary_and_token_slots() {
    let dir = tempfile::tempdir().unwrap();
    let model = text_model(dir.path(), &["--drop", "created_at", "--ngrams", "2"]);
    let onnx = export(&model);
    assert_eq!(onnx.opset_import[0].version, 13);
    let features = json(&model)["pipeline"]["features"].clone();
    let text = features
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "text")
        .unwrap()
        .clone();
    let meta = metadata(&onnx, "csvnn.text.text").unwrap();
    assert_eq!(meta["vocabulary"], text["vocabulary"]);
    assert!(meta["vocabulary"].as_array().unwrap().len() > 10, "{meta}");
    assert_eq!(meta["max_tokens"], 20);
    assert_eq!(meta["ngrams"], 2);
    assert_eq!(meta["ngram_buckets"], text["options"]["ngram_buckets"]);
    assert!(meta["ngram_hash"].as_str().unwrap().contains("FNV-1a"));
    assert!(meta["tokenizer"].as_str().unwrap().contains("lowercase"));

    // [text: 20 token slots | retweet_count | favorite_count]: the numeric slots as before.
    let slots = layout(&onnx);
    assert_eq!((slots.len(), input_width(&onnx)), (22, 22));
    for (i, slot) in slots[..20].iter().enumerate() {
        assert_eq!(
            (&slot["kind"], &slot["column"]),
            (&"token_ids".into(), &"text".into())
        );
        assert_eq!(slot["position"], i);
    }
    let numeric = &slots[20];
    assert_eq!(numeric["column"], "retweet_count");
    let mut keys: Vec<&str> = numeric
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["column", "impute", "index", "kind"]);
    // The bag: the table gathered, the mean over the valid steps.
    let table = initializer(&onnx, "layer0_block1_layer0_table");
    let vocab = 1 + text["vocabulary"].as_array().unwrap().len() as i64;
    assert_eq!(
        table.dims,
        [vocab + meta["ngram_buckets"].as_i64().unwrap(), 64]
    );
    assert!(nodes(&onnx, "Gather").len() >= 3);
    assert!(nodes(&onnx, "GRU").is_empty());
    assert_eq!(nodes(&onnx, "Softmax").len(), 1);
}

#[test]
fn a_text_model_with_a_date_lists_the_date_parts() {
    let dir = tempfile::tempdir().unwrap();
    let model = text_model(
        dir.path(),
        &["--text-encoder", "gru", "--embedding-dim", "8"],
    );
    let onnx = export(&model);
    assert_eq!(nodes(&onnx, "GRU").len(), 1);
    let slots = layout(&onnx);
    let date: Vec<&Value> = slots.iter().filter(|s| s["kind"] == "date").collect();
    let parts: Vec<&str> = date.iter().map(|s| s["part"].as_str().unwrap()).collect();
    assert_eq!(
        parts,
        [
            "year",
            "month_sin",
            "month_cos",
            "weekday_sin",
            "weekday_cos",
            "yearday_sin",
            "yearday_cos",
            "hour_sin",
            "hour_cos"
        ]
    );
    assert!(date.iter().all(|s| s["column"] == "created_at"));
    let feature = json(&model)["pipeline"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "created_at")
        .unwrap()
        .clone();
    assert_eq!(date[0]["mean"], feature["year_mean"]);
    assert_eq!(date[0]["std"], feature["year_std"]);
    assert!(date[1].get("mean").is_none());
    assert_eq!(slots.len(), 20 + 9 + 2);
}

#[test]
fn an_attention_model_exports_at_opset_17_with_layer_normalization() {
    let dir = tempfile::tempdir().unwrap();
    let model = series_model(dir.path(), &["--attention", "2:16"]);
    let onnx = export(&model);
    assert_eq!(onnx.opset_import[0].version, 17);
    assert_eq!(nodes(&onnx, "LayerNormalization").len(), 2);
}
