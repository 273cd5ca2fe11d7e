//! One reader for the versioned JSON files csvnn writes (models, checkpoints, preprocessors):
//! each names its kind in `"format"` and its layout in `"format_version"`; a file of another
//! kind, or of a newer version than this build reads, is refused before the rest is parsed.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{Error, Result};

/// A kind of versioned file and how its problems are worded.
pub(crate) struct FileKind {
    /// The `"format"` value, e.g. `csvnn-model`.
    pub format: &'static str,
    /// The newest `"format_version"` this build reads.
    pub version: u32,
    /// Before "invalid JSON at line L column C (...)", e.g. "not a valid model file: ".
    pub invalid_json: &'static str,
    /// The error for a file of another kind, given the path as shown.
    pub wrong_kind: fn(String) -> Error,
    /// The noun before "format version N is newer...", e.g. "model".
    pub noun: &'static str,
    /// After "... newer than this csvnn reads (V)", e.g. "; upgrade csvnn".
    pub newer_advice: &'static str,
    /// Before the serde message of a file whose fields do not parse.
    pub damaged: &'static str,
}

/// The fields that say what kind of file this is, of any JSON type (a wrong type means
/// another kind of file, not a broken one).
#[derive(Deserialize)]
struct FileHeader {
    format: Option<serde_json::Value>,
    format_version: Option<serde_json::Value>,
}

/// Read `path` as a file of `kind`. Parsed straight from the bytes (not through
/// `serde_json::Value`, which cannot hold the u128 of an RNG state).
pub(crate) fn read_versioned<T: DeserializeOwned>(path: &Path, kind: &FileKind) -> Result<T> {
    let shown = path.display().to_string();
    let text = std::fs::read(path).map_err(|e| Error::io(&shown, e))?;
    let bad = |message: String| Error::ModelFile {
        path: shown.clone(),
        message,
    };
    let invalid = |e: serde_json::Error| {
        bad(format!(
            "{}invalid JSON at line {} column {} ({e})",
            kind.invalid_json,
            e.line(),
            e.column()
        ))
    };
    // Valid JSON that is not an object is another kind of file.
    if text.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(&text) {
                Ok(_) => (kind.wrong_kind)(shown.clone()),
                Err(e) => invalid(e),
            },
        );
    }
    let header: FileHeader = serde_json::from_slice(&text).map_err(invalid)?;
    if header.format.as_ref().and_then(|f| f.as_str()) != Some(kind.format) {
        return Err((kind.wrong_kind)(shown.clone()));
    }
    let version = header.format_version.and_then(|v| v.as_u64()).unwrap_or(0);
    if version > u64::from(kind.version) {
        return Err(bad(format!(
            "{} format version {version} is newer than this csvnn reads ({}){}",
            kind.noun, kind.version, kind.newer_advice
        )));
    }
    serde_json::from_slice(&text).map_err(|e| bad(format!("{}{e}", kind.damaged)))
}
