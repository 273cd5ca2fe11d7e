//! `cv` with each fold as its own job: `--fold K -o FILE` for every K (any order), then
//! `--collect FILE...` prints what the one-process `cv` prints, byte for byte, as a table
//! and as JSON; folds that do not make one run are refused with messages naming the files.

use std::path::{Path, PathBuf};

use super::util::{csvnn, data};

/// The run: chile_vote (a real survey; classification with categorical columns and
/// missing values), 3 folds, a few epochs.
fn run_flags() -> Vec<String> {
    [
        "--data",
        &data("chile_vote.train.csv"),
        "--target",
        "vote",
        "--folds",
        "3",
        "--epochs",
        "4",
        "--hidden",
        "16",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// `csvnn --quiet cv ARGS`, which must succeed: its stdout.
fn cv_ok(args: &[String]) -> Vec<u8> {
    let out = csvnn().args(["--quiet", "cv"]).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `csvnn cv ARGS`, which must fail: exit code and stderr.
fn cv_fails(args: &[&str]) -> (Option<i32>, String) {
    let out = csvnn().arg("cv").args(args).output().unwrap();
    assert!(out.stdout.is_empty());
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn with(base: &[String], extra: &[&str]) -> Vec<String> {
    base.iter()
        .cloned()
        .chain(extra.iter().map(|s| s.to_string()))
        .collect()
}

/// Run folds `order` of `flags` into `dir/prefix-K.json`; the files in fold order.
fn run_folds(dir: &Path, prefix: &str, flags: &[String], order: &[usize]) -> Vec<PathBuf> {
    for &k in order {
        let out = dir.join(format!("{prefix}-{k}.json"));
        let stdout = cv_ok(&with(
            flags,
            &["--fold", &k.to_string(), "-o", out.to_str().unwrap()],
        ));
        assert!(stdout.is_empty(), "a fold run prints nothing on stdout");
    }
    let mut files: Vec<PathBuf> = order
        .iter()
        .map(|k| dir.join(format!("{prefix}-{k}.json")))
        .collect();
    files.sort();
    files
}

fn collect_args(files: &[PathBuf], extra: &[&str]) -> Vec<String> {
    let mut args = vec!["--collect".to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn collected_folds_print_what_one_process_prints_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let flags = run_flags();
    let files = run_folds(dir.path(), "fold", &flags, &[2, 0, 1]);
    let fold: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[1]).unwrap()).unwrap();
    assert_eq!(fold["format"], "csvnn-cv-fold");
    assert_eq!(fold["format_version"], 1);
    assert_eq!(
        (fold["fold"].as_u64(), fold["folds"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(fold["metrics"][0]["name"], "accuracy");

    let table = cv_ok(&flags);
    assert!(String::from_utf8_lossy(&table).starts_with("3-fold cross-validation, 2025 rows"));
    assert_eq!(
        String::from_utf8_lossy(&cv_ok(&collect_args(&files, &[]))),
        String::from_utf8_lossy(&table)
    );
    let json = cv_ok(&with(&flags, &["--format", "json"]));
    assert_eq!(cv_ok(&collect_args(&files, &["--format", "json"])), json);
    // The files' order on the command line does not matter.
    let mut reversed = files.clone();
    reversed.reverse();
    assert_eq!(cv_ok(&collect_args(&reversed, &[])), table);
}

#[test]
fn folds_that_do_not_make_one_run_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let flags = run_flags();
    let files = run_folds(d, "a", &flags, &[0, 1, 2]);
    let shown: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let collect = |files: &[&str]| {
        let mut args = vec!["--collect"];
        args.extend(files);
        cv_fails(&args)
    };
    // A missing fold.
    assert_eq!(
        collect(&[&shown[0], &shown[2]]),
        (
            Some(2),
            "csvnn: error: no result for fold 1 of the run's 3 folds; run it and collect again\n"
                .to_string()
        )
    );
    // A fold twice.
    let copy = d.join("copy-1.json");
    std::fs::copy(&files[1], &copy).unwrap();
    let copy = copy.display().to_string();
    assert_eq!(
        collect(&[&shown[0], &shown[1], &copy, &shown[2]]).1,
        format!(
            "csvnn: error: {} and {copy} are both fold 1 of the run; expected each fold once\n",
            shown[1]
        )
    );
    // A fold of another run: another seed.
    let other = run_folds(d, "b", &with(&flags, &["--seed", "7"]), &[1]);
    let other = other[0].display().to_string();
    let fingerprint = |f: &str| {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        v["fingerprint"].as_str().unwrap().to_string()
    };
    assert_ne!(fingerprint(&other), fingerprint(&shown[0]));
    assert_eq!(
        collect(&[&shown[0], &other, &shown[2]]),
        (
            Some(2),
            format!(
                "csvnn: error: {other}: a fold of another run (fingerprint {}; {} has {}); expected the folds of one run: the same data, settings and number of folds\n",
                fingerprint(&other),
                shown[0],
                fingerprint(&shown[0])
            )
        )
    );
    // A file that is not a fold.
    let model_like = d.join("x.json");
    std::fs::write(&model_like, "{\"format\": \"csvnn-model\"}").unwrap();
    let model_like = model_like.display().to_string();
    assert_eq!(
        collect(&[&model_like]).1,
        format!(
            "csvnn: error: {model_like}: not a csvnn cv fold (expected \"format\": \"csvnn-cv-fold\")\n"
        )
    );
    // The run's flags belong to the --fold runs.
    assert_eq!(
        cv_fails(&["--collect", &shown[0], "--epochs", "3", "--folds", "3"]),
        (
            Some(2),
            "csvnn: error: --collect takes the run's flags from the folds' files; leave out --epochs, --folds (give them to each --fold run)\n".to_string()
        )
    );
}

#[test]
fn errors_of_the_fold_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.json");
    let out = out.to_str().unwrap();
    let train = data("chile_vote.train.csv");
    let base = ["--data", train.as_str(), "--target", "vote"];
    let args = |extra: &[&'static str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend(extra);
        a
    };
    let mut fold_args = args(&["--folds", "3", "--fold", "3", "-o"]);
    fold_args.push(out);
    assert_eq!(
        cv_fails(&fold_args),
        (
            Some(2),
            "csvnn: error: --fold 3 is out of range: with --folds 3, K goes from 0 to 2\n"
                .to_string()
        )
    );
    let (code, stderr) = cv_fails(&args(&["--fold", "0"]));
    assert_eq!(code, Some(2));
    assert!(
        stderr.starts_with(
            "csvnn: error: the following required arguments were not provided:\n  --output <FILE>"
        ),
        "{stderr}"
    );
    let mut output_only = args(&["-o"]);
    output_only.push(out);
    let (code, stderr) = cv_fails(&output_only);
    assert_eq!(code, Some(2));
    assert!(
        stderr.starts_with(
            "csvnn: error: the following required arguments were not provided:\n  --fold <K>"
        ),
        "{stderr}"
    );
    let (code, stderr) = cv_fails(&["--collect", out, "--data", &train]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.starts_with(
            "csvnn: error: the argument '--collect <FOLD>...' cannot be used with '--data <FILE>'"
        ),
        "{stderr}"
    );
    assert!(!Path::new(out).exists(), "no fold file after an error");
}
