//! Helpers every test module uses: the binary under test and the shipped datasets.

use std::path::Path;

use assert_cmd::Command;

/// The `csvnn` binary built for these tests.
pub fn csvnn() -> Command {
    Command::cargo_bin("csvnn").unwrap()
}

/// The path of a dataset shipped in `data/`.
pub fn data(name: &str) -> String {
    format!("{}/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The stdout of a command that must succeed.
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

/// `csvnn evaluate --format json` of a model on a file.
pub fn evaluate_json(model: &Path, data_file: &str) -> serde_json::Value {
    let text = stdout_of(
        csvnn()
            .args(["evaluate", "--format", "json", "--model"])
            .arg(model)
            .args(["--data", data_file]),
    );
    serde_json::from_str(&text).unwrap()
}
