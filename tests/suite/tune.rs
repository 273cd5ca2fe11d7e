//! `csvnn tune`: reproducible studies (any run, any thread count, resumed or not), the
//! journal, usage errors, and the tuned model evaluating like any other.

use std::path::Path;
use std::time::{Duration, Instant};

use super::util::{csvnn, data, evaluate_json};
use serde_json::Value;

/// A small study on auto_mpg: 6 trials over rungs of 1, 3 and 9 epochs.
pub(super) const STUDY: [&str; 10] = [
    "--target",
    "mpg",
    "--trials",
    "6",
    "--min-epochs",
    "1",
    "--max-epochs",
    "9",
    "--seed",
    "7",
];

/// Run a study writing `model`; the JSON leaderboard without its seconds.
fn tune(model: &Path, extra: &[&str]) -> Value {
    let out = csvnn()
        .args(["--quiet", "tune", "--format", "json", "--data"])
        .arg(data("auto_mpg.train.csv"))
        .args(STUDY)
        .arg("-o")
        .arg(model)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut report: Value = serde_json::from_slice(&out.stdout).unwrap();
    for row in report["leaderboard"].as_array_mut().unwrap() {
        row.as_object_mut().unwrap().remove("seconds").unwrap();
    }
    report.as_object_mut().unwrap().remove("model");
    report.as_object_mut().unwrap().remove("journal");
    report
}

/// The journal's lines without their seconds.
fn journal_without_seconds(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let mut v: Value = serde_json::from_str(line).unwrap();
            v.as_object_mut().unwrap().remove("seconds");
            v
        })
        .collect()
}

#[test]
fn studies_are_identical_across_runs_and_thread_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.json"),
        dir.path().join("b.json"),
        dir.path().join("c.json"),
    );
    let first = tune(&a, &["--threads", "1"]);
    let again = tune(&b, &["--threads", "1"]);
    let two_threads = tune(&c, &["--threads", "2"]);
    assert_eq!(first, again);
    assert_eq!(first, two_threads);
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(bytes, std::fs::read(&b).unwrap());
    assert_eq!(bytes, std::fs::read(&c).unwrap());
    let journal = journal_without_seconds(&dir.path().join("a.trials.jsonl"));
    assert_eq!(
        journal,
        journal_without_seconds(&dir.path().join("c.trials.jsonl"))
    );

    // 6 trials at 1 epoch, the best 2 at 3, the best 1 at 9; the header first.
    let rungs: Vec<u64> = journal[1..]
        .iter()
        .map(|r| r["rung"].as_u64().unwrap())
        .collect();
    assert_eq!(rungs, vec![0, 0, 0, 0, 0, 0, 1, 1, 2]);
    let board = first["leaderboard"].as_array().unwrap();
    assert_eq!(board.len(), 6);
    assert_eq!(board[0]["rung"], 2);
    assert_eq!(board[0]["epochs"], 9);
    // The two promoted trials had the lowest losses of rung 0 (ties by index).
    let mut rung0: Vec<(f64, u64)> = journal[1..7]
        .iter()
        .map(|r| {
            (
                r["val_loss"].as_f64().unwrap_or(f64::INFINITY),
                r["trial"].as_u64().unwrap(),
            )
        })
        .collect();
    rung0.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
    let mut promoted: Vec<u64> = journal[7..9]
        .iter()
        .map(|r| r["trial"].as_u64().unwrap())
        .collect();
    promoted.sort_unstable();
    let mut expected = vec![rung0[0].1, rung0[1].1];
    expected.sort_unstable();
    assert_eq!(promoted, expected);

    // The model says it was tuned, by which trial, and evaluates like any other.
    let model: Value = serde_json::from_slice(&bytes).unwrap();
    let note = &model["training"]["tuned"];
    assert_eq!(note["trials"], 6);
    assert_eq!(note["best_trial"], board[0]["trial"]);
    assert_eq!(note["epochs"], 9);
    assert_eq!(note["validation"], "holdout 0.2");
    assert_eq!(model["training"]["epochs_run"], 9);
    assert_eq!(model["training"]["rows_train"], 313);
    let report = evaluate_json(&a, &data("auto_mpg.test.csv"));
    assert!(report["rmse"].as_f64().unwrap().is_finite(), "{report}");
}

#[test]
fn a_resumed_study_ends_as_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.json");
    let board = tune(&whole, &[]);
    let bytes = std::fs::read(&whole).unwrap();
    let journal = std::fs::read_to_string(dir.path().join("whole.trials.jsonl")).unwrap();
    // Killed after 2 records (mid rung 0), after 7 (one promoted trial done at rung 1),
    // and mid-way through writing a line.
    for keep in [3, 8] {
        let resumed = dir.path().join(format!("r{keep}.json"));
        let mut cut: String = journal
            .lines()
            .take(keep)
            .map(|l| format!("{l}\n"))
            .collect();
        cut += "{\"trial\": 4, \"ru";
        std::fs::write(dir.path().join(format!("r{keep}.trials.jsonl")), cut).unwrap();
        assert_eq!(tune(&resumed, &["--resume"]), board, "kept {keep} lines");
        assert_eq!(std::fs::read(&resumed).unwrap(), bytes, "kept {keep} lines");
        let full =
            std::fs::read_to_string(dir.path().join(format!("r{keep}.trials.jsonl"))).unwrap();
        assert_eq!(full.lines().count(), journal.lines().count());
    }
    // Another study's journal is refused.
    let out = csvnn()
        .args(["--quiet", "tune", "--data"])
        .arg(data("auto_mpg.train.csv"))
        .args(["--target", "mpg", "--trials", "5", "--resume", "-o"])
        .arg(&whole)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "csvnn: error: {}: the journal is of a study with other flags or data; give the flags it was started with, or leave out --resume to start afresh\n",
            dir.path().join("whole.trials.jsonl").display()
        )
    );
}

/// The exit code and stderr of `csvnn tune` with `args`.
fn fails(args: &[&str]) -> (Option<i32>, String) {
    let out = csvnn()
        .args(["tune", "--data"])
        .arg(data("auto_mpg.train.csv"))
        .args(["--target", "mpg"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_spaces_and_flags_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.json");
    let model = model.to_str().unwrap();
    for (space, message) in [
        (
            r#"{"lr": {"min": 0, "max": 0.1}}"#,
            "`lr`: min 0 must be above 0 (the learning rate is drawn log-uniformly)",
        ),
        (r#"{"layers": {"min": 3, "max": 2}}"#, "`layers`: min 3 is above max 2"),
        (
            r#"{"dropout": {"min": 0.2, "max": 1.5}}"#,
            "`dropout`: expected 0 <= min <= max < 1, got min 0.2 and max 1.5",
        ),
        (
            r#"{"batch_size": [0, 32]}"#,
            "`batch_size`: 0 is not allowed; expected whole numbers of at least 1",
        ),
        (
            r#"{"optimizer": ["adagrad"]}"#,
            "`optimizer`: expected a list of adam, sgd",
        ),
        (
            r#"{"epochs": 3}"#,
            "unknown key `epochs`; expected some of lr, layers, widths, activation, dropout, weight_decay, batch_size, optimizer, encoder",
        ),
    ] {
        let path = dir.path().join("space.json");
        std::fs::write(&path, space).unwrap();
        let (code, stderr) = fails(&["--space", path.to_str().unwrap(), "-o", model]);
        assert_eq!(code, Some(2), "{stderr}");
        assert_eq!(stderr, format!("csvnn: error: {}: {message}\n", path.display()));
    }
    for (args, first_line) in [
        (
            vec!["--trials", "0"],
            "csvnn: error: invalid value '0' for '--trials <N>': expected a whole number of at least 1",
        ),
        (
            vec!["--time-budget", "90"],
            "csvnn: error: invalid value '90' for '--time-budget <DURATION>': expected a positive number of seconds, minutes or hours, such as 90s, 5m or 1h",
        ),
        (
            vec!["--folds", "1"],
            "csvnn: error: invalid value '1' for '--folds <K>': expected a whole number of at least 2",
        ),
        (
            vec!["--trials", "3", "--time-budget", "1m"],
            "csvnn: error: the argument '--trials <N>' cannot be used with '--time-budget <DURATION>'",
        ),
    ] {
        let mut args = args.clone();
        args.extend(["-o", model]);
        let (code, stderr) = fails(&args);
        assert_eq!(code, Some(2), "{stderr}");
        assert_eq!(stderr.lines().next(), Some(first_line), "{stderr}");
    }
    let (code, stderr) = fails(&["--min-epochs", "5", "--max-epochs", "3", "-o", model]);
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr,
        "csvnn: error: --max-epochs 3 is below --min-epochs 5\n"
    );
    assert!(!Path::new(model).exists());
}

#[test]
fn folds_and_a_time_budget_train_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("folds.json");
    let report = tune(&model, &["--folds", "3"]);
    assert_eq!(report["validation"], "3 folds");
    assert_eq!(report["trials"], 6);

    let model = dir.path().join("timed.json");
    let began = Instant::now();
    let out = csvnn()
        .args(["--quiet", "tune", "--data"])
        .arg(data("auto_mpg.train.csv"))
        .args([
            "--target",
            "mpg",
            "--time-budget",
            "3s",
            "--max-epochs",
            "9",
            "-o",
        ])
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A loaded machine slows the process start and the refit; the search itself stops
    // in time.
    assert!(
        began.elapsed() < Duration::from_secs(15),
        "{:?}",
        began.elapsed()
    );
    let saved: Value = serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
    assert!(saved["training"]["tuned"]["trials"].as_u64().unwrap() >= 1);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("trial rung"));
}

#[test]
fn column_and_task_flags_reach_every_trial_and_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("columns.json");
    let out = csvnn()
        .args(["--quiet", "tune", "--data"])
        .arg(data("auto_mpg.train.csv"))
        .args(["--target", "cylinders", "--task", "classification"])
        .args(["--drop", "name", "--categorical", "origin,year"])
        .args([
            "--trials",
            "2",
            "--min-epochs",
            "1",
            "--max-epochs",
            "3",
            "-o",
        ])
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inspect = csvnn()
        .args(["inspect", "--format", "json", "--model"])
        .arg(&model)
        .output()
        .unwrap();
    let inspect: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(inspect["task"], "classification");
    assert_eq!(inspect["dropped"], serde_json::json!(["name"]));
    let kind_of = |name: &str| {
        inspect["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["type"].as_str().unwrap().to_string())
    };
    assert_eq!(kind_of("origin").as_deref(), Some("categorical"));
    assert_eq!(kind_of("year").as_deref(), Some("categorical"));
    assert_eq!(kind_of("weight").as_deref(), Some("numeric"));
    assert_eq!(kind_of("name"), None);

    // A column that does not exist is the error `train` gives, before any trial runs.
    let (code, stderr) = fails(
        &["--drop", "nmae", "--trials", "2", "-o"]
            .into_iter()
            .chain([dir.path().join("bad.json").to_str().unwrap()])
            .collect::<Vec<_>>(),
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("nmae"), "{stderr}");
    assert!(!dir.path().join("bad.json").exists());
}

#[test]
fn a_series_table_searches_the_encoders_and_the_model_has_the_best_ones() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("series.json");
    let jv = format!(
        "{}/tests/fixtures/sequences/jv.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = csvnn()
        .args(["--quiet", "tune", "--format", "json", "--data", &jv])
        .args(["--target", "label", "--sequence-shape", "25x12"])
        .args(["--trials", "6", "--min-epochs", "1", "--max-epochs", "2"])
        .args(["--seed", "1", "-o"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = report["leaderboard"].as_array().unwrap();
    // Every trial drew an encoder; the six drew more than one kind.
    let drawn: std::collections::BTreeSet<String> = rows
        .iter()
        .map(|r| r["settings"]["encoders"].to_string())
        .collect();
    assert!(rows.iter().all(|r| r["settings"].get("encoders").is_some()));
    assert!(drawn.len() > 1, "{drawn:?}");
    assert!(
        rows.iter()
            .any(|r| r["summary"].as_str().unwrap().contains(" encoder=")),
        "{rows:?}"
    );
    // The saved model has the best trial's encoder.
    let best = &rows[0]["settings"]["encoders"];
    let text = std::fs::read_to_string(&model).unwrap();
    assert_eq!(
        text.contains(r#""type":"gru""#),
        best.get("rnn").is_some(),
        "{best}"
    );
    assert_eq!(
        text.contains(r#""type":"transformer_encoder""#),
        best.get("attention").is_some() || best.as_object().unwrap().is_empty(),
        "{best}"
    );
}
