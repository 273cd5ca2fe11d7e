//! `csvnn export --format onnx` with raw inputs (the default): one graph input per CSV
//! column with its type, a `label` output next to the probabilities, `--inputs encoded`
//! byte for byte the earlier layout, and (where onnxruntime is installed) the graph scoring
//! raw CSV values as `csvnn predict` does, through scripts/score_onnx.py, the script
//! docs/cli.md shows. (All tabular sets: scripts/verify_onnx_raw.py.)

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use super::util::{csvnn, data, stdout_of};
use csvnn::onnx::proto::{ModelProto, ValueInfoProto, DOUBLE, FLOAT, STRING};
use predicates::prelude::*;
use prost::Message;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx_raw")
        .join(name)
}

fn export(model: &Path, out: &Path, extra: &[&str]) -> ModelProto {
    csvnn()
        .args(["--quiet", "export", "--format", "onnx", "--model"])
        .arg(model)
        .arg("-o")
        .arg(out)
        .args(extra)
        .assert()
        .success()
        .stdout("");
    ModelProto::decode(fs::read(out).unwrap().as_slice()).unwrap()
}

/// (name, element type, shape with `N` for the rows).
fn described(value: &ValueInfoProto) -> (String, i32, Vec<String>) {
    let tensor = value.r#type.as_ref().unwrap().tensor_type.as_ref().unwrap();
    let shape = tensor.shape.as_ref().unwrap().dim.iter();
    let shape = shape
        .map(|d| {
            d.dim_value
                .map_or_else(|| d.dim_param.clone().unwrap(), |v| v.to_string())
        })
        .collect();
    (value.name.clone(), tensor.elem_type, shape)
}

fn metadata<'a>(model: &'a ModelProto, key: &str) -> Option<&'a str> {
    let entry = model.metadata_props.iter().find(|e| e.key == key);
    entry.map(|e| e.value.as_str())
}

/// Every node reads a graph input, a constant or the output of an earlier node, and every
/// graph output is written.
fn assert_well_formed(model: &ModelProto) {
    let graph = model.graph.as_ref().unwrap();
    let mut defined: HashSet<&str> = graph.input.iter().map(|v| v.name.as_str()).collect();
    defined.extend(graph.initializer.iter().map(|t| t.name.as_str()));
    for node in &graph.node {
        for input in &node.input {
            assert!(
                defined.contains(input.as_str()),
                "{} reads {input}",
                node.name
            );
        }
        for output in &node.output {
            assert!(defined.insert(output), "{output} is defined twice");
        }
    }
    for output in &graph.output {
        assert!(defined.contains(output.name.as_str()), "{}", output.name);
    }
}

fn n(rows: &str) -> Vec<String> {
    vec![rows.to_string()]
}

#[test]
fn raw_inputs_are_one_per_column_with_their_types_and_a_label_output() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = export(
        &fixture("chile_vote.model.json"),
        &dir.path().join("m.onnx"),
        &[],
    );
    let graph = onnx.graph.as_ref().unwrap();
    let inputs: Vec<_> = graph.input.iter().map(described).collect();
    let one = vec!["N".to_string(), "1".to_string()];
    let expected = [
        ("region", STRING),
        ("population", DOUBLE),
        ("sex", STRING),
        ("age", DOUBLE),
        ("education", STRING),
        ("income", DOUBLE),
        ("statusquo", DOUBLE),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|&(name, t)| (name.to_string(), t, one.clone()))
        .collect();
    assert_eq!(inputs, expected);
    let outputs: Vec<_> = graph.output.iter().map(described).collect();
    let four = vec!["N".to_string(), "4".to_string()];
    assert_eq!(
        outputs,
        [
            ("probabilities".to_string(), FLOAT, four),
            ("label".to_string(), STRING, n("N")),
        ]
    );
    let domains: Vec<_> = onnx
        .opset_import
        .iter()
        .map(|o| (o.domain.as_str(), o.version))
        .collect();
    assert_eq!(domains, [("", 13), ("ai.onnx.ml", 2)]);
    let columns: serde_json::Value =
        serde_json::from_str(metadata(&onnx, "csvnn.columns").unwrap()).unwrap();
    assert_eq!(
        columns[0]["categories"],
        serde_json::json!(["C", "M", "N", "S", "SA"])
    );
    assert_eq!(columns[0]["na_values"][0], "NA");
    assert_eq!(metadata(&onnx, "csvnn.inputs"), None);
    assert_well_formed(&onnx);
}

#[test]
fn encoded_inputs_give_the_earlier_bytes() {
    // chile_vote.encoded.onnx: the export of chile_vote.model.json before raw inputs
    // existed (tests/fixtures/onnx_raw/make.sh).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.onnx");
    export(
        &fixture("chile_vote.model.json"),
        &out,
        &["--inputs", "encoded"],
    );
    assert!(fs::read(&out).unwrap() == fs::read(fixture("chile_vote.encoded.onnx")).unwrap());
}

#[test]
fn a_bad_inputs_value_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.onnx");
    csvnn()
        .args([
            "export", "--format", "onnx", "--inputs", "onehot", "--model",
        ])
        .arg(fixture("chile_vote.model.json"))
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid value 'onehot' for '--inputs <LAYOUT>'",
        ))
        .stderr(predicate::str::contains("[possible values: raw, encoded]"));
    assert!(!out.exists());
}

#[test]
fn a_regressor_outputs_only_its_value_and_the_export_says_what_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("mpg.json");
    csvnn()
        .args(["--quiet", "train", "--data", &data("auto_mpg.train.csv")])
        .args([
            "--target",
            "mpg",
            "--drop",
            "name",
            "--categorical",
            "origin",
        ])
        .args(["--epochs", "1", "--hidden", "4", "-o"])
        .arg(&model)
        .assert()
        .success();
    let out = dir.path().join("mpg.onnx");
    csvnn()
        .args(["export", "--format", "onnx", "--model"])
        .arg(&model)
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "6 double and 1 string inputs (one per column, described in the metadata 'csvnn.columns'), output 'prediction'",
        ));
    let onnx = ModelProto::decode(fs::read(&out).unwrap().as_slice()).unwrap();
    let outputs: Vec<_> = onnx
        .graph
        .as_ref()
        .unwrap()
        .output
        .iter()
        .map(described)
        .collect();
    assert_eq!(
        outputs,
        [(
            "prediction".to_string(),
            DOUBLE,
            vec!["N".to_string(), "1".to_string()]
        )]
    );
    assert_well_formed(&onnx);
}

/// A table whose feature columns are named as the graph's own values.
fn clashing_table(dir: &Path, third: &str) -> PathBuf {
    let path = dir.join("clash.csv");
    let mut text = format!("mean,slots,{third},y\n");
    for i in 0..40 {
        let kind = ["a", "b", "c"][i % 3];
        text.push_str(&format!("{},{},{kind},{}\n", i % 7, i % 5, i % 2));
    }
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn columns_named_as_graph_values_keep_their_names_but_not_as_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let train = |third: &str| {
        let model = dir.path().join(format!("{third}.json"));
        csvnn()
            .args(["--quiet", "train", "--data"])
            .arg(clashing_table(dir.path(), third))
            .args(["--target", "y", "--epochs", "1", "--categorical", "y", "-o"])
            .arg(&model)
            .assert()
            .success();
        model
    };
    let onnx = export(&train("features"), &dir.path().join("a.onnx"), &[]);
    let names: Vec<_> = onnx
        .graph
        .as_ref()
        .unwrap()
        .input
        .iter()
        .map(|v| v.name.clone())
        .collect();
    assert_eq!(names, ["mean", "slots", "features"]);
    assert_well_formed(&onnx);
    let out = dir.path().join("b.onnx");
    csvnn()
        .args(["export", "--format", "onnx", "--model"])
        .arg(train("label"))
        .arg("-o")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the column 'label' has the name of an output of the ONNX graph (probabilities, label)",
        ));
    assert!(!out.exists());
}

/// Why onnxruntime cannot run here, if it cannot (CI has none).
pub(super) fn onnxruntime_missing() -> Option<String> {
    let out = Process::new("python3")
        .args(["-c", "import onnxruntime, numpy"])
        .output();
    match out {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(String::from_utf8_lossy(&o.stderr).trim().to_string()),
        Err(e) => Some(e.to_string()),
    }
}

/// The largest difference between scripts/score_onnx.py's output and `csvnn predict`'s
/// (labels must be equal), on `test`.
pub(super) fn score_against_predict(model: &Path, test: &Path, predict_args: &[&str]) -> f64 {
    let dir = model.parent().unwrap();
    let onnx = dir.join("scored.onnx");
    export(model, &onnx, &[]);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/score_onnx.py");
    let out = Process::new("python3")
        .arg(script)
        .arg(&onnx)
        .arg(test)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let onnx_rows = String::from_utf8(out.stdout).unwrap();
    let predicted = stdout_of(
        csvnn()
            .args(["--quiet", "predict", "--model"])
            .arg(model)
            .arg("--data")
            .arg(test)
            .args(predict_args),
    );
    let (ours, theirs): (Vec<&str>, Vec<&str>) =
        (onnx_rows.lines().collect(), predicted.lines().collect());
    assert_eq!(ours.len(), theirs.len());
    assert_eq!(ours[0], theirs[0], "the header");
    let mut worst = 0f64;
    for (a, b) in ours.iter().zip(&theirs).skip(1) {
        let (a, b): (Vec<&str>, Vec<&str>) = (a.split(',').collect(), b.split(',').collect());
        let numbers = usize::from(predict_args.contains(&"--proba"));
        assert_eq!(a[..numbers], b[..numbers], "the label");
        for (x, y) in a[numbers..].iter().zip(&b[numbers..]) {
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            worst = worst.max((x - y).abs());
        }
    }
    worst
}

#[test]
fn onnxruntime_scores_raw_csv_values_as_predict_does() {
    if let Some(why) = onnxruntime_missing() {
        eprintln!("skipped: onnxruntime cannot be imported ({why})");
        return;
    }
    // chile_vote: categorical columns with missing cells, numeric ones too.
    let test = PathBuf::from(data("chile_vote.test.csv"));
    let worst = score_against_predict(&fixture("chile_vote.model.json"), &test, &["--proba"]);
    assert!(worst <= 1e-5, "largest probability difference {worst}");

    // A date with times, an ordinal column with an unknown level, a numeric NA marker, an
    // unseen category.
    let dir = tempfile::tempdir().unwrap();
    let mut train = String::from("when,grade,x,kind,y\n");
    for i in 0..60 {
        let when = format!(
            "20{:02}-{:02}-{:02}T{:02}:{:02}:00",
            10 + i % 9,
            1 + i % 12,
            1 + i % 28,
            i % 24,
            i % 60
        );
        let grade = ["low", "mid", "high", ""][i % 4];
        let x = if i % 7 == 0 {
            "-999".to_string()
        } else {
            format!("{}.5", i % 11)
        };
        let kind = ["a", "b", "NA"][i % 3];
        train.push_str(&format!(
            "{when},{grade},{x},{kind},{}\n",
            (i * 7 % 10) as f64 / 3.0
        ));
    }
    let train_path = dir.path().join("train.csv");
    fs::write(&train_path, &train).unwrap();
    let test_path = dir.path().join("test.csv");
    let test_rows = "when,grade,x,kind,y\n2016-02-29T23:59:59,odd,-999,zz,1\n,high,,,2\n1999-12-31,low,3.25,b,0\n1970-01-01T00:00:00Z,mid,1e308,a,1\n";
    fs::write(&test_path, test_rows).unwrap();
    let model = dir.path().join("m.json");
    csvnn()
        .args(["--quiet", "train", "--data"])
        .arg(&train_path)
        .args([
            "--target",
            "y",
            "--epochs",
            "2",
            "--ordinal",
            "grade=low<mid<high",
        ])
        .args(["--date", "when", "--na-values", "NA,-999", "-o"])
        .arg(&model)
        .assert()
        .success();
    let worst = score_against_predict(&model, &test_path, &[]);
    let scale = 3.0;
    assert!(worst <= 1e-5 * scale, "largest value difference {worst}");
}

#[test]
fn the_docs_show_the_scoring_script_as_it_is() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let script = fs::read_to_string(root.join("scripts/score_onnx.py")).unwrap();
    let docs = fs::read_to_string(root.join("docs/cli.md")).unwrap();
    assert!(docs.contains(&format!("```python\n{script}```")));
}
