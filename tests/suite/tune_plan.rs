//! `csvnn tune` with each trial as its own job: plan -> run-trial (every K, any order)
//! -> collect -> ... ends with the model of the one-process study, byte for byte; results
//! that do not fit the plan are refused with messages naming the files and entries.

use std::path::{Path, PathBuf};

use super::tune::STUDY;
use super::util::{csvnn, data};
use serde_json::Value;

/// `csvnn --quiet tune ARGS`, which must succeed; its stdout.
fn tune_ok(args: &[&str]) -> String {
    let out = csvnn()
        .args(["--quiet", "tune"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `csvnn tune ARGS`, which must fail: its exit code and stderr.
fn tune_fails(args: &[&str]) -> (Option<i32>, String) {
    let out = csvnn().arg("tune").args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Write rung 0's plan of STUDY (with `extra` flags) to `dir/name`.
fn make_plan(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let plan = dir.join(name);
    let train = data("auto_mpg.train.csv");
    let mut args = vec!["--data", train.as_str()];
    args.extend(STUDY);
    args.extend(extra);
    args.extend(["--make-plan", "-o", s(&plan)]);
    tune_ok(&args);
    plan
}

/// Run every trial of `plan` (`reverse`: the last first), results named `prefix-K.json`.
fn run_trials(plan: &Path, prefix: &str, reverse: bool) -> Vec<PathBuf> {
    let n = read_json(plan)["trials"].as_array().unwrap().len();
    let mut order: Vec<usize> = (0..n).collect();
    if reverse {
        order.reverse();
    }
    let dir = plan.parent().unwrap();
    for k in order {
        let result = dir.join(format!("{prefix}-{k}.json"));
        let k = k.to_string();
        tune_ok(&["--plan", s(plan), "--run-trial", &k, "-o", s(&result)]);
    }
    (0..n)
        .map(|k| dir.join(format!("{prefix}-{k}.json")))
        .collect()
}

/// The whole route in `dir`: plan, trials, collect, until the model `model`; the
/// leaderboard the last collect printed (JSON, without seconds and paths).
fn route(dir: &Path, model: &Path, reverse: bool) -> Value {
    std::fs::create_dir_all(dir).unwrap();
    let mut plan = make_plan(dir, "plan-0.json", &[]);
    let first = read_json(&plan);
    assert_eq!(first["rung"], 0);
    assert_eq!(first["epochs"], 1);
    let trials: Vec<u64> = first["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trial"].as_u64().unwrap())
        .collect();
    assert_eq!(trials, vec![0, 1, 2, 3, 4, 5]);
    for rung in 0.. {
        let results = run_trials(&plan, &format!("result-{rung}"), reverse);
        let mut args = vec!["--format", "json", "--plan", s(&plan), "--collect"];
        args.extend(results.iter().map(|r| s(r)));
        if read_json(&plan)["last"] == true {
            args.extend(["-o", s(model)]);
            return without_seconds(serde_json::from_str(&tune_ok(&args)).unwrap());
        }
        let next = dir.join(format!("plan-{}.json", rung + 1));
        args.extend(["-o", s(&next)]);
        assert_eq!(tune_ok(&args), "");
        let later = read_json(&next);
        assert_eq!(later["rung"], rung + 1);
        assert_eq!(
            later["history"].as_array().unwrap().len(),
            if rung == 0 { 6 } else { 8 }
        );
        for t in later["trials"].as_array().unwrap() {
            assert_eq!(t["epochs_done"], read_json(&plan)["epochs"]);
        }
        plan = next;
    }
    unreachable!()
}

fn without_seconds(mut report: Value) -> Value {
    for row in report["leaderboard"].as_array_mut().unwrap() {
        row.as_object_mut().unwrap().remove("seconds").unwrap();
    }
    report.as_object_mut().unwrap().remove("model");
    report.as_object_mut().unwrap().remove("journal");
    report
}

#[test]
fn jobs_in_any_order_give_the_model_of_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.json");
    let mut args = vec!["--format", "json", "--data"];
    let train = data("auto_mpg.train.csv");
    args.push(&train);
    args.extend(STUDY);
    args.extend(["-o", s(&one)]);
    let board = without_seconds(serde_json::from_str(&tune_ok(&args)).unwrap());

    let forward = dir.path().join("forward/model.json");
    let reverse = dir.path().join("reverse/model.json");
    assert_eq!(route(&dir.path().join("forward"), &forward, false), board);
    assert_eq!(route(&dir.path().join("reverse"), &reverse, true), board);
    let bytes = std::fs::read(&one).unwrap();
    assert_eq!(std::fs::read(&forward).unwrap(), bytes);
    assert_eq!(std::fs::read(&reverse).unwrap(), bytes);
    assert_eq!(read_json(&one)["training"]["tuned"]["trials"], 6);
    // The journal beside the model is the one-process study's, but the seconds.
    let journal = |p: &Path| -> Vec<Value> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().map(|o| o.remove("seconds"));
                v
            })
            .collect()
    };
    assert_eq!(
        journal(&dir.path().join("forward/model.trials.jsonl")),
        journal(&dir.path().join("one.trials.jsonl"))
    );
}

#[test]
fn results_that_do_not_fit_the_plan_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let plan = make_plan(dir.path(), "plan.json", &[]);
    let p = s(&plan);
    let results = run_trials(&plan, "r", false);
    let r: Vec<&str> = results.iter().map(|r| s(r)).collect();
    let out = s(&dir.path().join("out.json")).to_string();
    let collect = |files: &[&str]| {
        let mut args = vec!["--plan", p, "--collect"];
        args.extend(files);
        args.extend(["-o", &out]);
        tune_fails(&args)
    };
    let usage = |got: (Option<i32>, String), expected: String| {
        assert_eq!(got, (Some(2), format!("csvnn: error: {expected}\n")));
    };

    usage(
        tune_fails(&["--plan", p, "--run-trial", "6", "-o", &out]),
        format!(
            "--run-trial 6 is out of range: {p} lists 6 trials (rung 0), so K goes from 0 to 5"
        ),
    );
    usage(
        collect(&[r[0], r[1], r[3], r[4]]),
        "no result for entries 2, 5 of the plan (it lists 6 trials, rung 0); run them and collect again".into(),
    );
    usage(
        collect(&[r[0], r[1], r[2], r[3], r[4]]),
        "no result for entry 5 of the plan (it lists 6 trials, rung 0); run it and collect again"
            .into(),
    );
    let copy = dir.path().join("copy.json");
    std::fs::copy(&results[3], &copy).unwrap();
    usage(
        collect(&[r[0], r[1], r[2], r[3], r[4], r[5], s(&copy)]),
        format!(
            "{} and {} are both the result of entry 3 (trial 3)",
            r[3],
            s(&copy)
        ),
    );
    // Trial 0 of the same study scored on folds: another plan.
    let other_plan = make_plan(dir.path(), "other.json", &["--folds", "3"]);
    let other = dir.path().join("other-0.json");
    tune_ok(&[
        "--plan",
        s(&other_plan),
        "--run-trial",
        "0",
        "-o",
        s(&other),
    ]);
    let (theirs, ours) = (
        read_json(&other)["plan"].clone(),
        read_json(&results[0])["plan"].clone(),
    );
    assert_ne!(theirs, ours);
    usage(
        collect(&[s(&other), r[1], r[2], r[3], r[4], r[5]]),
        format!(
            "{}: the result of another plan (fingerprint {}; this plan's is {})",
            s(&other),
            theirs.as_str().unwrap(),
            ours.as_str().unwrap()
        ),
    );
    assert!(!Path::new(&out).exists());

    // The route's flags: --run-trial needs a plan, and a plan is for --trials only.
    let train = data("auto_mpg.train.csv");
    let (code, stderr) = tune_fails(&[
        "--data",
        &train,
        "--target",
        "mpg",
        "--run-trial",
        "0",
        "-o",
        &out,
    ]);
    assert_eq!(
        (code, stderr),
        (
            Some(2),
            "csvnn: error: --run-trial needs --plan PLAN: the plan whose trial to train (written by --make-plan or --collect)\n".to_string()
        )
    );
    let (code, stderr) = tune_fails(&[
        "--data",
        &train,
        "--target",
        "mpg",
        "--make-plan",
        "--time-budget",
        "1m",
        "-o",
        &out,
    ]);
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr.lines().next(),
        Some("csvnn: error: the argument '--make-plan' cannot be used with '--time-budget <DURATION>'")
    );
    let (code, stderr) =
        tune_fails(&["--plan", p, "--trials", "3", "--run-trial", "0", "-o", &out]);
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr.lines().next(),
        Some("csvnn: error: the argument '--plan <FILE>' cannot be used with '--trials <N>'")
    );
    // The plan holds the columns and the task too.
    for (flag, value, shown) in [
        ("--drop", "name", "--drop <COL[,COL...]>"),
        ("--task", "regression", "--task <TASK>"),
        ("--text", "name", "--text <COL[,COL...]>"),
    ] {
        let (code, stderr) =
            tune_fails(&["--plan", p, flag, value, "--run-trial", "0", "-o", &out]);
        assert_eq!(code, Some(2), "{stderr}");
        assert_eq!(
            stderr.lines().next().map(str::to_string),
            Some(format!(
                "csvnn: error: the argument '--plan <FILE>' cannot be used with '{shown}'"
            ))
        );
    }
}
