//! `csvnn train --teacher`: a small student trained on a bigger model's softened
//! probabilities; the teacher reads the rows through its own pipeline, the student records
//! it, a resumed run equals an uninterrupted one, and each bad teacher is named.

use std::fs;
use std::path::{Path, PathBuf};

use super::util::{csvnn, data, evaluate_json};
use predicates::prelude::*;
use serde_json::Value;

fn chile() -> String {
    data("chile_vote.train.csv")
}

/// Train on `file` with `args`, quietly, into `dir/name`.
fn train(dir: &Path, name: &str, file: &str, args: &[&str]) -> PathBuf {
    let model = dir.join(name);
    csvnn()
        .args(["--quiet", "train", "-o"])
        .arg(&model)
        .args(["--data", file])
        .args(args)
        .assert()
        .success();
    model
}

fn teacher(dir: &Path) -> PathBuf {
    // Its own pipeline: it leaves out `region`, which the students use.
    train(
        dir,
        "teacher.json",
        &chile(),
        &[
            "--target", "vote", "--hidden", "64", "--epochs", "10", "--drop", "region",
        ],
    )
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_distilled_student_records_its_teacher_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let big = teacher(d);
    let big_str = big.to_str().unwrap();
    let base = [
        "--target",
        "vote",
        "--hidden",
        "8",
        "--epochs",
        "4",
        "--patience",
        "0",
    ];
    let mut distilled = base.to_vec();
    distilled.extend_from_slice(&["--teacher", big_str, "--distill-temperature", "3"]);
    let student = train(d, "student.json", &chile(), &distilled);
    let plain = train(d, "plain.json", &chile(), &base);

    let file = read(&student);
    assert_eq!(
        file["training"]["distilled"],
        serde_json::json!({"teacher": "teacher.json", "temperature": 3.0, "weight": 0.5})
    );
    assert!(read(&plain)["training"].get("distilled").is_none());
    assert_ne!(fs::read(&student).unwrap(), fs::read(&plain).unwrap());
    // The validation loss stays the labels' cross-entropy: it is comparable with the
    // plain run's, while the training loss is the distillation loss.
    let val = file["validation_metrics"]["loss"].as_f64().unwrap();
    assert!(val > 0.5 && val < 1.5, "{val}");
    let accuracy = evaluate_json(&student, &data("chile_vote.test.csv"))["accuracy"]
        .as_f64()
        .unwrap();
    assert!(accuracy > 0.5, "{accuracy}");

    // Interrupted after 2 epochs and resumed to 4: the same bytes.
    let ck = d.join("ck");
    let mut first = distilled.clone();
    first[5] = "2";
    first.extend_from_slice(&["--checkpoint-dir", ck.to_str().unwrap()]);
    train(d, "two.json", &chile(), &first);
    csvnn()
        .args(["--quiet", "train", "--epochs", "4", "--resume"])
        .arg(&ck)
        .arg("-o")
        .arg(d.join("resumed.json"))
        .assert()
        .success();
    assert!(fs::read(d.join("resumed.json")).unwrap() == fs::read(&student).unwrap());
}

#[test]
fn a_regression_student_learns_from_its_teacher() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mpg = data("auto_mpg.train.csv");
    let args = ["--target", "mpg", "--drop", "name", "--epochs", "100"];
    let big = train(
        d,
        "big.json",
        &mpg,
        &[&args[..], &["--hidden", "64"]].concat(),
    );
    let mut student_args = args.to_vec();
    student_args.extend_from_slice(&[
        "--hidden",
        "4",
        "--teacher",
        big.to_str().unwrap(),
        "--distill-weight",
        "1",
    ]);
    let student = train(d, "student.json", &mpg, &student_args);
    assert_eq!(read(&student)["training"]["distilled"]["weight"], 1.0);
    let r2 = evaluate_json(&student, &data("auto_mpg.test.csv"))["r2"]
        .as_f64()
        .unwrap();
    assert!(r2 > 0.7, "{r2}");
}

#[test]
fn bad_teachers_and_distillation_flags_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("student.json");
    let student = |teacher: &Path| {
        let mut cmd = csvnn();
        cmd.args(["--quiet", "train", "-o"])
            .arg(&out)
            .args([
                "--data",
                &chile(),
                "--target",
                "vote",
                "--epochs",
                "1",
                "--teacher",
            ])
            .arg(teacher);
        cmd
    };
    let missing = d.join("missing.json");
    student(&missing).assert().failure().stderr(format!(
        "csvnn: error: {}: No such file or directory (os error 2)\n",
        missing.display()
    ));
    let not_model = d.join("other.json");
    fs::write(&not_model, "{\"a\": 1}").unwrap();
    student(&not_model).assert().failure().stderr(format!(
        "csvnn: error: {}: not a csvnn model (expected a JSON object with \"format\": \"csvnn-model\")\n",
        not_model.display()
    ));
    let regression = train(
        d,
        "mpg.json",
        &data("auto_mpg.train.csv"),
        &["--target", "mpg", "--drop", "name", "--epochs", "1"],
    );
    student(&regression).assert().failure().stderr(format!(
        "csvnn: error: {}: the teacher does regression but this run does classification\n",
        regression.display()
    ));
    // A teacher that never saw the class A.
    let text = fs::read_to_string(chile()).unwrap();
    let three: String = text
        .lines()
        .filter(|l| !l.ends_with(",A"))
        .map(|l| format!("{l}\n"))
        .collect();
    let three_csv = d.join("three.csv");
    fs::write(&three_csv, three).unwrap();
    let three_classes = train(
        d,
        "three.json",
        three_csv.to_str().unwrap(),
        &["--target", "vote", "--epochs", "1"],
    );
    student(&three_classes).assert().failure().stderr(format!(
        "csvnn: error: {}: the teacher's classes (N, U, Y) differ from the training rows' (A, N, U, Y)\n",
        three_classes.display()
    ));
    // A teacher that reads a column the data lacks.
    let extra: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l},extra\n")
            } else {
                format!("{l},{}\n", i % 7)
            }
        })
        .collect();
    let extra_csv = d.join("extra.csv");
    fs::write(&extra_csv, extra).unwrap();
    let wider = train(
        d,
        "wider.json",
        extra_csv.to_str().unwrap(),
        &["--target", "vote", "--epochs", "1"],
    );
    student(&wider).assert().failure().stderr(format!(
        "csvnn: error: {}: the feature column 'extra' is missing; the model needs it; the columns are: region, population, sex, age, education, income, statusquo, vote\n",
        chile()
    ));
    let big = teacher(d);
    student(&big)
        .args(["--distill-temperature", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: invalid value '0' for '--distill-temperature <T>': expected a number greater than 0",
        ));
    student(&big)
        .args(["--distill-weight", "1.5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: invalid value '1.5' for '--distill-weight <A>': expected a number from 0 to 1",
        ));
    csvnn()
        .args(["train", "-o"])
        .arg(&out)
        .args([
            "--data",
            &chile(),
            "--target",
            "vote",
            "--distill-weight",
            "0.5",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--teacher <BIG.json>"));
    assert!(!out.exists());
}
