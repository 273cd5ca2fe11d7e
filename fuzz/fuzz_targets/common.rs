//! What the fuzz targets share: a scratch file per process, and scoring rows as
//! `csvnn predict` does, down to looking up each predicted label.

use std::path::{Path, PathBuf};

use csvnn::data::RawTable;
use csvnn::model::{Model, Predictions};

/// Write `bytes` to this process's scratch file `name` (in /dev/shm when there is one, so
/// that a run does not wear a disk) and return its path.
pub fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let path = dir.join(format!("csvnn-fuzz-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).expect("the scratch file can be written");
    path
}

/// Encode and score every row of `table`; errors are fine, panics are what the fuzzer
/// looks for. Checks the shapes the CLI relies on when it writes the predictions.
pub fn predict_rows(model: &Model, table: &RawTable) {
    let Ok(transformed) = model.pipeline.transform(table, None) else {
        return;
    };
    let labels = model.pipeline.target_encoder.labels();
    match model.predict(transformed.x.view()) {
        Predictions::Classes { probs, classes } => {
            assert_eq!(probs.dim(), (table.n_rows(), labels.len()));
            assert_eq!(classes.len(), table.n_rows());
            for &class in &classes {
                std::hint::black_box(&labels[class]);
            }
        }
        Predictions::Values(values) => assert_eq!(values.len(), table.n_rows()),
    }
}
