//! The preprocessor file: a fitted `Pipeline` saved on its own (`csvnn-preprocessor`), to
//! train several models on exactly the same inputs.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::pipeline::{Feature, Pipeline};
use crate::atomic::write_atomically;
use crate::error::{Error, Result};
use crate::versioned::{read_versioned, FileKind};

/// The `"format"` of a preprocessor file.
pub const PREPROCESSOR_FORMAT: &str = "csvnn-preprocessor";
/// The newest preprocessor file layout this csvnn reads; it writes the oldest that holds
/// the pipeline (`Pipeline::format_version`).
pub const PREPROCESSOR_VERSION: u32 = 3;

/// How a preprocessor file is recognised and its problems worded.
const PREPROCESSOR_FILE: FileKind = FileKind {
    format: PREPROCESSOR_FORMAT,
    version: PREPROCESSOR_VERSION,
    invalid_json: "",
    wrong_kind: |path| Error::NotAPreprocessor { path },
    noun: "preprocessor",
    newer_advice: "",
    damaged: "the file is damaged: ",
};

/// The file's layout.
#[derive(Debug, Serialize, Deserialize)]
struct PreprocessorFile<P> {
    format: String,
    format_version: u32,
    pipeline: P,
}

/// Write `pipeline` to `path` (pretty JSON, atomically).
pub fn save_preprocessor(path: &Path, pipeline: &Pipeline) -> Result<()> {
    let file = PreprocessorFile {
        format: PREPROCESSOR_FORMAT.to_string(),
        format_version: pipeline.format_version(),
        pipeline,
    };
    write_atomically(path, |out| {
        serde_json::to_writer_pretty(&mut *out, &file)
            .map_err(|e| Error::io(&path.display().to_string(), e.into()))
    })
}

/// Read a pipeline saved by `save_preprocessor`, refusing other files, newer versions and
/// series that do not match their shape (`SequenceColumn::shape_problem`).
pub fn load_preprocessor(path: &Path) -> Result<Pipeline> {
    let file: PreprocessorFile<Pipeline> = read_versioned(path, &PREPROCESSOR_FILE)?;
    for feature in &file.pipeline.features {
        if let Feature::Sequence(series) = feature {
            if let Some((found, expected)) = series.shape_problem() {
                return Err(Error::ModelFile {
                    path: path.display().to_string(),
                    message: format!(
                        "invalid preprocessor: the series '{}' has {found}; expected {expected}",
                        series.name
                    ),
                });
            }
        }
    }
    Ok(file.pipeline)
}
