//! Issue 14's data items: the task guess and its doubts, huge numbers (warned, printed
//! readably), the closest column name for a typo, and ordinal columns (`--ordinal`) from
//! the flag's parsing through training, inspection, profiling and ONNX export.

use std::fs;
use std::path::{Path, PathBuf};

use csvnn::onnx::proto::{ModelProto, TensorProto, DOUBLE};
use predicates::prelude::*;
use prost::Message;
use serde_json::Value;
use tempfile::TempDir;

use super::util::{csvnn, stdout_of};

/// A folder for the test's files; commands run in it, so messages name files as given.
struct Dir(TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    fn write(&self, name: &str, text: &str) {
        fs::write(self.path(name), text).unwrap();
    }

    /// `csvnn train` in this folder, quick settings, into m.json.
    fn train(&self, data: &str, target: &str) -> assert_cmd::Command {
        let mut cmd = csvnn();
        cmd.current_dir(self.0.path())
            .args(["train", "--data", data, "--target", target, "--epochs", "1"])
            .args(["-o", "m.json"]);
        cmd
    }
}

/// 15 people's heights and body weights: 13 distinct integer weights.
const BODY: &str = "height,weight\n168.3,61\n169.2,64\n169.5,64\n170.1,66\n171.4,70\n171.9,72\n172.8,75\n173.0,75\n173.7,78\n174.3,80\n175.2,83\n175.6,85\n176.7,88\n177.2,90\n178.6,95\n";

#[test]
fn integer_body_weights_are_a_regression_and_the_info_line_says_how_to_override() {
    let dir = Dir::new();
    dir.write("body.csv", BODY);
    dir.train("body.csv", "weight").assert().success().stderr(
        predicate::str::contains(
            "csvnn: task: regression (the target has 13 distinct integer values in 15 rows, too many for class labels (at most half the rows)); use --task classification to override\n",
        ),
    );
    // A task given is not second-guessed.
    dir.train("body.csv", "weight")
        .args(["--task", "classification", "--validation-split", "0"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "csvnn: task: classification (given by --task)\n",
        ))
        .stderr(predicate::str::contains("warning").not());
    // Words cannot be a regression's: no override is offered.
    dir.write(
        "words.csv",
        "x,y\n1,a\n2,b\n3,a\n4,b\n5,a\n6,b\n7,a\n8,b\n9,a\n10,b\n",
    );
    dir.train("words.csv", "y")
        .args(["--validation-split", "0"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "csvnn: task: classification (the target has the non-numeric value 'a')\n",
        ));
}

#[test]
fn degenerate_numeric_classes_suggest_a_regression_before_any_failure() {
    let dir = Dir::new();
    // 3 classes of 2 rows each: taken as classes, too few rows to split.
    dir.write("codes.csv", "x,y\n1,1\n2,1\n3,2\n4,2\n5,3\n6,3\n");
    dir.train("codes.csv", "y")
        .args(["--validation-split", "0.1"])
        .assert()
        .code(1)
        .stderr(
        "csvnn: task: classification (the target has 3 distinct integer values (at most 20)); use --task regression to override\n\
         csvnn: warning: codes.csv: the numeric target 'y' was taken as class labels: 3 classes in 6 rows; if it is a number to predict, use --task regression\n\
         csvnn: error: codes.csv: 6 rows with a target are too few for --validation-split 0.1; expected enough rows for both parts (or use --validation-split 0)\n",
    );
    // A class of one row, with the split turned off: trained, with the warning.
    dir.write(
        "one.csv",
        "x,y\n1,1\n2,1\n3,2\n4,2\n5,2\n6,3\n7,3\n8,3\n9,3\n10,1\n11,2\n12,4\n",
    );
    dir.train("one.csv", "y")
        .args(["--validation-split", "0"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "csvnn: warning: one.csv: the numeric target 'y' was taken as class labels: 4 classes in 12 rows, 1 of them with one row; if it is a number to predict, use --task regression\n",
        ));
}

#[test]
fn huge_numbers_are_warned_about_and_printed_readably() {
    let dir = Dir::new();
    dir.write(
        "huge.csv",
        "x,y\n1,1.5\n2,2.5\n3,3.5\n1e300,4.5\n-2e20,5.5\n",
    );
    dir.train("huge.csv", "y")
        .args(["--validation-split", "0"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "csvnn: warning: huge.csv: line 5: column 'x': 1e300 is beyond 1e15 in magnitude, most likely a mistake (2 such values in the training rows); it is used as it is, and standardising squashes the column's other values together\n",
        ));
    let text = stdout_of(csvnn().args(["inspect", "--model"]).arg(dir.path("m.json")));
    assert!(
        text.contains("  x       numeric      mean 2e299  std 4e299  missing -> 2e299\n"),
        "{text}"
    );
    assert!(text.lines().all(|l| l.len() < 200), "{text}");
    let profile = stdout_of(csvnn().current_dir(dir.path("")).args([
        "preprocess",
        "--data",
        "huge.csv",
        "--target",
        "y",
    ]));
    assert!(profile.contains("min -2e20 max 1e300\n"), "{profile}");
}

#[test]
fn a_mistyped_column_name_gets_the_closest_one() {
    let dir = Dir::new();
    let rows: String = (0..20)
        .map(|i| format!("{i},{},{}\n", 2 * i, i % 2))
        .collect();
    dir.write("t.csv", &format!("age,fare,survived\n{rows}"));
    dir.train("t.csv", "survivd").assert().code(1).stderr(
        "csvnn: error: t.csv: the target column 'survivd' was not found (did you mean 'survived'?); the columns are: age, fare, survived\n",
    );
    dir.train("t.csv", "survived")
        .args(["--drop", "agee"])
        .assert()
        .code(1)
        .stderr(predicate::str::ends_with(
            "csvnn: error: t.csv: --drop names the column 'agee', which does not exist (did you mean 'age'?); the columns are: age, fare, survived\n",
        ));
    // Nothing close: no guess.
    dir.train("t.csv", "price").assert().code(1).stderr(
        "csvnn: error: t.csv: the target column 'price' was not found; the columns are: age, fare, survived\n",
    );
}

/// Diamonds-like rows: cut is ordinal, price the target.
fn gems(dir: &Dir) {
    let cuts = ["Fair", "Good", "Very Good", "Ideal"];
    let mut text = String::from("carat,cut,price\n");
    for i in 0..40 {
        let cut = if i == 7 { "" } else { cuts[i % 4] };
        text += &format!("{}.{},{cut},{}\n", i % 3, i % 10, 300 + 40 * i);
    }
    dir.write("gems.csv", &text);
    dir.write("odd.csv", "carat,cut,price\n1.5,Superb,900\n0.5,Good,500\n");
}

const CUT: &str = "cut=Fair<Good<Very Good<Ideal";

#[test]
fn malformed_ordinal_flags_are_usage_errors() {
    let dir = Dir::new();
    gems(&dir);
    for (value, message) in [
        ("cut", "'cut' has no '='; expected COL=LEVEL<LEVEL..., e.g. 'cut=Fair<Good<Very Good<Ideal'"),
        ("cut=Fair<<Ideal", "level 2 of column 'cut' is empty (a '<' at an end or two in a row); expected LEVEL<LEVEL..., e.g. 'cut=Fair<Good<Very Good<Ideal'"),
        ("cut=Fair<Good<Fair", "the level 'Fair' of column 'cut' is given twice; expected each level once"),
        ("cut=Fair", "column 'cut' has the one level 'Fair'; expected at least two, lowest first, separated by '<'"),
    ] {
        dir.train("gems.csv", "price")
            .args(["--ordinal", value])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "invalid value '{value}' for '--ordinal <COL=LOW<...<HIGH>': {message}\n"
            )));
    }
    let last_line = |cmd: &mut assert_cmd::Command, code: i32, line: &str| {
        cmd.assert()
            .code(code)
            .stderr(predicate::str::ends_with(format!("csvnn: error: {line}\n")));
    };
    last_line(
        dir.train("gems.csv", "price").args(["--ordinal", CUT, "--categorical", "cut"]),
        2,
        "--ordinal names the column 'cut', which --categorical names too; give it to only one of them",
    );
    last_line(
        dir.train("gems.csv", "price")
            .args(["--ordinal", CUT, "--ordinal", "cut=a<b"]),
        2,
        "--ordinal names the column 'cut' twice",
    );
    last_line(
        dir.train("gems.csv", "price").args(["--ordinal", "cutt=a<b"]),
        1,
        "gems.csv: --ordinal names the column 'cutt', which does not exist (did you mean 'cut'?); the columns are: carat, cut, price",
    );
    assert!(!dir.path("m.json").exists());
}

#[test]
fn an_ordinal_column_is_one_standardised_input_with_its_levels_in_the_model() {
    let dir = Dir::new();
    gems(&dir);
    dir.train("gems.csv", "price")
        .args(["--ordinal", "cut=Fair<Good<Ideal", "--validation-split", "0"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "csvnn: warning: gems.csv: line 4: column 'cut': 'Very Good' is not one of the levels given (Fair < Good < Ideal); 10 such values in the training rows are treated as missing\n",
        ));
    dir.train("gems.csv", "price")
        .args(["--ordinal", CUT, "--validation-split", "0"])
        .assert()
        .success()
        .stderr(predicate::str::contains("warning").not());
    let model: Value =
        serde_json::from_str(&fs::read_to_string(dir.path("m.json")).unwrap()).unwrap();
    let cut = &model["pipeline"]["features"][1];
    assert_eq!(cut["kind"], "ordinal");
    assert_eq!(
        cut["levels"],
        serde_json::json!(["Fair", "Good", "Very Good", "Ideal"])
    );
    assert_eq!(cut["counts"], serde_json::json!([10, 10, 10, 9]));
    assert_eq!(model["network"]["n_inputs"], 2);
    // Ordinal columns need format version 2 (a version-1 reader would not know them).
    assert_eq!(model["format_version"], 2);

    let text = stdout_of(csvnn().args(["inspect", "--model"]).arg(dir.path("m.json")));
    assert!(
        text.contains("  cut     ordinal      4 levels: Fair (10) < Good (10) < Very Good (10) < Ideal (9)  mean 1.4615  std 1.1058  missing -> 1.4615\n"),
        "{text}"
    );
    // A value that is not a level is scored as missing, with a warning.
    csvnn()
        .current_dir(dir.path(""))
        .args(["predict", "--model", "m.json", "--data", "odd.csv"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "csvnn: warning: odd.csv: column 'cut': 1 value(s) not seen in training (first 'Superb' on line 2); encoded as missing\n",
        ));
    // cv and preprocess take the flag too.
    let profile = stdout_of(csvnn().current_dir(dir.path("")).args([
        "preprocess",
        "--data",
        "gems.csv",
        "--target",
        "price",
        "--ordinal",
        CUT,
    ]));
    assert!(
        profile.contains("cut     feature   ordinal            1         4"),
        "{profile}"
    );
    csvnn()
        .current_dir(dir.path(""))
        .args([
            "--quiet",
            "cv",
            "--data",
            "gems.csv",
            "--target",
            "price",
            "--ordinal",
            CUT,
        ])
        .args(["--folds", "2", "--epochs", "1"])
        .assert()
        .success();
    // A preprocessor file with an ordinal column is version 2; one without stays 1.
    for (extra, version) in [(Some(CUT), 2), (None, 1)] {
        let mut cmd = csvnn();
        cmd.current_dir(dir.path(""))
            .args(["preprocess", "--data", "gems.csv", "--target", "price"])
            .args(["-o", "prep.json"]);
        if let Some(levels) = extra {
            cmd.args(["--ordinal", levels]);
        }
        cmd.assert().success();
        let prep: Value =
            serde_json::from_str(&fs::read_to_string(dir.path("prep.json")).unwrap()).unwrap();
        assert_eq!(prep["format_version"], version, "{extra:?}");
    }
}

fn doubles(t: &TensorProto) -> Vec<f64> {
    assert_eq!(t.data_type, DOUBLE);
    t.raw_data
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn onnx_export_takes_an_ordinal_column_as_its_level_index() {
    let dir = Dir::new();
    gems(&dir);
    dir.train("gems.csv", "price")
        .args(["--ordinal", CUT, "--validation-split", "0"])
        .assert()
        .success();
    let onnx_path: &Path = &dir.path("m.onnx");
    csvnn()
        .current_dir(dir.path(""))
        .args([
            "--quiet", "export", "--format", "onnx", "--inputs", "encoded", "--model", "m.json",
            "-o", "m.onnx",
        ])
        .assert()
        .success();
    let onnx = ModelProto::decode(fs::read(onnx_path).unwrap().as_slice()).unwrap();
    let layout = &onnx
        .metadata_props
        .iter()
        .find(|e| e.key == "csvnn.inputs")
        .unwrap()
        .value;
    let layout: Value = serde_json::from_str(layout).unwrap();
    assert_eq!(layout[1]["kind"], "ordinal");
    assert_eq!(
        layout[1]["levels"],
        serde_json::json!(["Fair", "Good", "Very Good", "Ideal"])
    );
    // The graph imputes and standardises the index with the model's statistics.
    let model: Value =
        serde_json::from_str(&fs::read_to_string(dir.path("m.json")).unwrap()).unwrap();
    let cut = &model["pipeline"]["features"][1];
    let graph = onnx.graph.unwrap();
    let init = |name: &str| doubles(graph.initializer.iter().find(|t| t.name == name).unwrap());
    assert_eq!(init("impute")[1], cut["impute"].as_f64().unwrap());
    assert_eq!(init("mean")[1], cut["mean"].as_f64().unwrap());
    assert_eq!(init("std")[1], cut["std"].as_f64().unwrap());
}
