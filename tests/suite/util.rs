//! Helpers every test module uses: the binary under test and the shipped datasets.

use assert_cmd::Command;

/// The `csvnn` binary built for these tests.
pub fn csvnn() -> Command {
    Command::cargo_bin("csvnn").unwrap()
}

/// The path of a dataset shipped in `data/`.
pub fn data(name: &str) -> String {
    format!("{}/data/{name}", env!("CARGO_MANIFEST_DIR"))
}
