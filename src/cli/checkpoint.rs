//! Training checkpoints (`train --checkpoint-dir DIR`, `train --resume DIR`): after every
//! epoch DIR/checkpoint.json is replaced atomically with the training settings, the fitted
//! pipeline and the whole `TrainState` (weights, optimizer moments, RNG, schedule and
//! early-stopping state, history), so a resumed run ends with the same model bytes as an
//! uninterrupted one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::train::TrainArgs;
use csvnn::atomic::write_atomically;
use csvnn::preprocess::Pipeline;
use csvnn::train::TrainState;
use csvnn::Error;

pub const CHECKPOINT_FORMAT: &str = "csvnn-checkpoint";
pub const CHECKPOINT_VERSION: u32 = 1;
pub const CHECKPOINT_FILE: &str = "checkpoint.json";

#[derive(Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    /// First, so that a reader can see the progress without parsing the whole file.
    pub epochs_done: usize,
    pub format: String,
    pub format_version: u32,
    pub args: TrainArgs,
    pub pipeline: Pipeline,
    /// Wall-clock seconds of each epoch so far (for --log; never in the model).
    pub seconds: Vec<f64>,
    pub state: TrainState,
}

/// The fields that say what kind of file this is.
#[derive(Deserialize)]
struct FileHeader {
    format: Option<String>,
    format_version: Option<u64>,
}

pub fn checkpoint_path(dir: &Path) -> PathBuf {
    dir.join(CHECKPOINT_FILE)
}

/// Serialize the checkpoint parts by reference, without cloning the state.
#[derive(Serialize)]
struct CheckpointRef<'a> {
    epochs_done: usize,
    format: &'static str,
    format_version: u32,
    args: &'a TrainArgs,
    pipeline: &'a Pipeline,
    seconds: &'a [f64],
    state: &'a TrainState,
}

pub fn write_checkpoint(
    dir: &Path,
    args: &TrainArgs,
    pipeline: &Pipeline,
    seconds: &[f64],
    state: &TrainState,
) -> Result<(), Error> {
    let shown = dir.display().to_string();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(&shown, e))?;
    let path = checkpoint_path(dir);
    let checkpoint = CheckpointRef {
        epochs_done: state.epochs_done,
        format: CHECKPOINT_FORMAT,
        format_version: CHECKPOINT_VERSION,
        args,
        pipeline,
        seconds,
        state,
    };
    write_atomically(&path, |out| {
        serde_json::to_writer(out, &checkpoint)
            .map_err(|e| Error::io(&path.display().to_string(), e.into()))
    })
}

pub fn read_checkpoint(dir: &Path) -> Result<Checkpoint, Error> {
    let path = checkpoint_path(dir);
    let shown = path.display().to_string();
    let text = std::fs::read(&path).map_err(|e| Error::io(&shown, e))?;
    let bad = |message: String| Error::ModelFile {
        path: shown.clone(),
        message,
    };
    let header: FileHeader = serde_json::from_slice(&text).map_err(|e| {
        bad(format!(
            "not a valid checkpoint: invalid JSON at line {} column {} ({e})",
            e.line(),
            e.column()
        ))
    })?;
    if header.format.as_deref() != Some(CHECKPOINT_FORMAT) {
        return Err(bad(format!(
            "not a csvnn checkpoint (expected \"format\": \"{CHECKPOINT_FORMAT}\")"
        )));
    }
    let version = header.format_version.unwrap_or(0);
    if version > CHECKPOINT_VERSION as u64 {
        return Err(bad(format!(
            "checkpoint format version {version} is newer than this csvnn reads ({CHECKPOINT_VERSION})"
        )));
    }
    // Straight from the bytes: the RNG state holds a u128, which serde_json::Value cannot.
    serde_json::from_slice(&text).map_err(|e| bad(format!("the checkpoint is damaged: {e}")))
}
