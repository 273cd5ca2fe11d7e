//! What scripts and people read: `predict`'s numbers (the shortest float that reads back,
//! kept cells in JSON with the type they were read as), usage errors with the
//! `csvnn: error:` prefix, `cv`'s table names and the report's axis labels.

use std::fs;

use super::util::{csvnn, data, stdout_of};

/// A small binary model of `default` (No, Yes) kept as a fixture by
/// `tests/fixtures/threshold/make_thresholds.py`.
pub fn default_model() -> String {
    format!(
        "{}/tests/fixtures/threshold/default_model.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Input for `default_model`: `id` and `note` are kept, not used; the last row's
/// probability of `Yes` is below 1e-9.
const KEPT: &str = "id,student,balance,income,note
007,No,0,40000,a
1e5,Yes,2650.5,20000,
-0.50,No,1200,35000,NA
+3,No,.5,1e4,\"x,y\"
12,No,-2500,40000,b
";

fn predict_kept(format: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("kept.csv");
    fs::write(&input, KEPT).unwrap();
    stdout_of(
        csvnn()
            .args(["--quiet", "predict", "--proba", "--format", format])
            .args(["--keep", "id,note,balance,income", "--model"])
            .arg(default_model())
            .arg("--data")
            .arg(&input),
    )
}

#[test]
fn jsonl_keeps_plain_numbers_as_numbers_and_prints_shortest_floats() {
    let expected = [
        r#"{"id":7,"note":"a","balance":0,"income":40000,"prediction":"No","proba_No":0.9997911662014596,"proba_Yes":2.088337985403232e-4}"#,
        r#"{"id":1e5,"note":"","balance":2650.5,"income":20000,"prediction":"Yes","proba_No":0.026284229052194574,"proba_Yes":0.9737157709478055}"#,
        r#"{"id":-0.50,"note":"NA","balance":1200,"income":35000,"prediction":"No","proba_No":0.9769711055029603,"proba_Yes":0.023028894497039685}"#,
        r#"{"id":3,"note":"x,y","balance":0.5,"income":1e4,"prediction":"No","proba_No":0.999964018479259,"proba_Yes":3.598152074105404e-5}"#,
        r#"{"id":12,"note":"b","balance":-2500,"income":40000,"prediction":"No","proba_No":0.9999999996406992,"proba_Yes":3.593007055311794e-10}"#,
    ];
    let out = predict_kept("jsonl");
    assert_eq!(out.lines().collect::<Vec<_>>(), expected);
    for line in out.lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            row["balance"].is_number() && row["note"].is_string(),
            "{line}"
        );
    }
}

#[test]
fn csv_keeps_cells_verbatim_and_prints_shortest_floats() {
    let expected = [
        "id,note,balance,income,prediction,proba_No,proba_Yes",
        "007,a,0,40000,No,0.9997911662014596,2.088337985403232e-4",
        "1e5,,2650.5,20000,Yes,0.026284229052194574,0.9737157709478055",
        "-0.50,NA,1200,35000,No,0.9769711055029603,0.023028894497039685",
        "+3,\"x,y\",.5,1e4,No,0.999964018479259,3.598152074105404e-5",
        "12,b,-2500,40000,No,0.9999999996406992,3.593007055311794e-10",
    ];
    assert_eq!(predict_kept("csv").lines().collect::<Vec<_>>(), expected);
}

#[test]
fn usage_errors_carry_the_prefix_and_keep_clap_usage_and_tips() {
    csvnn()
        .args(["predict", "--prob"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            "csvnn: error: unexpected argument '--prob' found\n\n  tip: a similar argument exists: '--proba'\n\n\
             Usage: csvnn predict --model <MODEL> --data <FILE> --proba\n\n\
             For more information, try '--help'.\n",
        );
    csvnn()
        .args(["train", "--epochs", "x"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            "csvnn: error: invalid value 'x' for '--epochs <EPOCHS>': expected a whole number of at least 1\n\n\
             For more information, try '--help'.\n",
        );
}

#[test]
fn help_and_version_are_clap_own_on_stdout_with_exit_0() {
    csvnn()
        .arg("--version")
        .assert()
        .code(0)
        .stderr("")
        .stdout(format!("csvnn {}\n", env!("CARGO_PKG_VERSION")));
    let help = stdout_of(csvnn().args(["evaluate", "--help"]));
    assert!(
        help.starts_with(
            "Score a saved model on a CSV file that has the target column\n\n\
             Usage: csvnn evaluate [OPTIONS] --model <MODEL> --data <FILE>\n"
        ),
        "{help}"
    );
    // No subcommand: clap's help on stderr and exit 2, as before.
    let out = csvnn().assert().code(2).stdout("").get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("Train small neural networks"),
        "{stderr}"
    );
    assert!(!stderr.contains("csvnn: error"), "{stderr}");
}

/// The metric names of a table: the text before the first run of two spaces.
fn names(lines: &[&str]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.split("  ").next().unwrap().trim().to_string())
        .collect()
}

#[test]
fn cv_table_names_metrics_as_evaluate_does() {
    let cv = stdout_of(
        csvnn()
            .args(["--quiet", "cv", "--folds", "2", "--epochs", "1"])
            .args(["--data", &data("default.train.csv"), "--target", "default"]),
    );
    let cv_lines: Vec<&str> = cv.lines().skip(3).collect();
    let evaluate = stdout_of(
        csvnn()
            .args(["evaluate", "--model"])
            .arg(default_model())
            .args(["--data", &data("default.test.csv")]),
    );
    let evaluate_lines: Vec<&str> = evaluate.lines().skip(1).take(8).collect();
    assert_eq!(names(&cv_lines), names(&evaluate_lines));
    assert_eq!(
        names(&cv_lines),
        [
            "accuracy",
            "balanced accuracy",
            "macro F1",
            "micro F1",
            "weighted F1",
            "log loss",
            "ROC AUC",
            "MCC"
        ]
    );
}

/// The text of every `<text>` element of the chart whose caption is `caption`.
fn chart_texts(html: &str, caption: &str) -> Vec<String> {
    let start = html.find(caption).expect("the chart is in the report");
    let end = html[start..].find("</svg>").unwrap() + start;
    html[start..end]
        .split("<text")
        .skip(1)
        .map(|t| {
            let body = &t[t.find('>').unwrap() + 1..];
            body[..body.find("</text>").unwrap()].trim().to_string()
        })
        .collect()
}

#[test]
fn report_axes_have_round_labels_without_needless_decimals() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("mpg.json");
    csvnn()
        .args(["--quiet", "train", "--data", &data("auto_mpg.train.csv")])
        .args(["--target", "mpg", "--drop", "name", "--epochs", "5", "-o"])
        .arg(&model)
        .assert()
        .success();
    let html_path = dir.path().join("report.html");
    csvnn()
        .args(["--quiet", "report", "--model"])
        .arg(&model)
        .args(["--data", &data("auto_mpg.test.csv"), "-o"])
        .arg(&html_path)
        .assert()
        .success();
    let html = fs::read_to_string(&html_path).unwrap();
    let ticks: Vec<String> = chart_texts(&html, "Predicted vs actual")
        .into_iter()
        .filter(|t| t.parse::<f64>().is_ok())
        .collect();
    // Both axes show the same range: the same whole-number labels, 5 mpg apart.
    let half = ticks.len() / 2;
    assert!(half >= 4, "{ticks:?}");
    assert_eq!(ticks[..half], ticks[half..]);
    let values: Vec<f64> = ticks[..half].iter().map(|t| t.parse().unwrap()).collect();
    for (text, pair) in ticks.iter().zip(values.windows(2)) {
        assert!(!text.contains('.'), "{ticks:?}");
        assert_eq!(pair[1] - pair[0], 5.0, "{ticks:?}");
    }
}
