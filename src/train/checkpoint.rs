//! Training checkpoints: after every epoch `DIR/checkpoint.json` is replaced atomically with
//! the settings, the fitted pipeline and the whole `TrainState` (weights, optimizer moments,
//! RNG, schedule and early-stopping state, history), so a resumed run ends with the same
//! model bytes as an uninterrupted one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::settings::TrainSettings;
use super::stream_source::StreamSettings;
use super::trainer::TrainState;
use crate::atomic::write_atomically;
use crate::error::{Error, Location, Result};
use crate::model_check::check_network;
use crate::preprocess::Pipeline;
use crate::versioned::{read_versioned, FileKind};

/// The `"format"` of a checkpoint file.
pub const CHECKPOINT_FORMAT: &str = "csvnn-checkpoint";
/// The newest checkpoint layout. Version 2 holds the library's `TrainSettings`; version 1
/// held the command line's arguments and is refused as damaged.
pub const CHECKPOINT_VERSION: u32 = 2;
/// The checkpoint's file name inside its directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";

/// How a checkpoint file is recognised and its problems worded.
const CHECKPOINT_KIND: FileKind = FileKind {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    invalid_json: "not a valid checkpoint: ",
    wrong_kind: |path| Error::ModelFile {
        path,
        message: "not a csvnn checkpoint (expected \"format\": \"csvnn-checkpoint\")".to_string(),
    },
    noun: "checkpoint",
    newer_advice: "",
    damaged: "the checkpoint is damaged: ",
};

/// A training run after some epochs.
#[derive(Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    /// First, so that a reader can see the progress without parsing the whole file.
    pub epochs_done: usize,
    /// `csvnn-checkpoint`.
    pub format: String,
    /// The layout's version.
    pub format_version: u32,
    /// The run's settings (a resumed run must have the same).
    pub settings: TrainSettings,
    /// The pipeline fitted for the run.
    pub pipeline: Pipeline,
    /// Wall-clock seconds of each epoch so far (for the epoch log; never in the model).
    pub seconds: Vec<f64>,
    /// How a streamed run reads its rows (they decide its batches); `None` for a run
    /// that read its table whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streaming: Option<StreamSettings>,
    /// Everything that changes during training.
    pub state: TrainState,
}

/// `Checkpoint` by reference, to write without cloning the state.
#[derive(Serialize)]
struct CheckpointRef<'a> {
    epochs_done: usize,
    format: &'static str,
    format_version: u32,
    settings: &'a TrainSettings,
    pipeline: &'a Pipeline,
    seconds: &'a [f64],
    #[serde(skip_serializing_if = "Option::is_none")]
    streaming: Option<&'a StreamSettings>,
    state: &'a TrainState,
}

/// The checkpoint file in `dir`.
pub fn checkpoint_path(dir: &Path) -> PathBuf {
    dir.join(CHECKPOINT_FILE)
}

/// Write the checkpoint of a run into `dir` (created if missing), atomically, without
/// copying the state; `streaming`: how a streamed run reads its rows.
pub fn write_checkpoint(
    dir: &Path,
    settings: &TrainSettings,
    pipeline: &Pipeline,
    seconds: &[f64],
    streaming: Option<&StreamSettings>,
    state: &TrainState,
) -> Result<()> {
    let shown = dir.display().to_string();
    std::fs::create_dir_all(dir).map_err(|e| Error::io(&shown, e))?;
    let path = checkpoint_path(dir);
    let checkpoint = CheckpointRef {
        epochs_done: state.epochs_done,
        format: CHECKPOINT_FORMAT,
        format_version: CHECKPOINT_VERSION,
        settings,
        pipeline,
        seconds,
        streaming,
        state,
    };
    write_atomically(&path, |out| {
        serde_json::to_writer(out, &checkpoint)
            .map_err(|e| Error::io(&path.display().to_string(), e.into()))
    })
}

/// Read the checkpoint in `dir`.
pub fn read_checkpoint(dir: &Path) -> Result<Checkpoint> {
    let path = checkpoint_path(dir);
    let checkpoint: Checkpoint = read_versioned(&path, &CHECKPOINT_KIND)?;
    // A hand-edited or damaged network would panic in training as in prediction.
    check_network(&checkpoint.state.network, &checkpoint.pipeline)
        .map_err(|p| Error::invalid_model(&path, p))?;
    Ok(checkpoint)
}

impl Checkpoint {
    /// The state and epoch times to continue from, when the run's freshly fitted
    /// `pipeline` equals the checkpointed one (else the data differ); `source` names the
    /// training file.
    pub fn resume(self, pipeline: &Pipeline, source: &str) -> Result<(TrainState, Vec<f64>)> {
        if &self.pipeline != pipeline {
            return Err(Error::data(
                Location::file(source),
                "the data differ from those of the checkpointed run (the fitted preprocessing is not the same); expected the same file",
            ));
        }
        Ok((self.state, self.seconds))
    }
}
