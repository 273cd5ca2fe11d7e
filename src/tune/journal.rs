//! The study's journal: a JSON-lines file whose first line describes the study and each
//! further line one finished trial-rung, so that an interrupted study can continue where
//! it stopped. Lines are appended as trial-rungs finish; a torn last line is ignored.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::space::TrialSettings;
use crate::error::{Error, Result};

/// One trial trained up to one rung.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// The trial's index, from 0, in the order trials are drawn.
    pub trial: usize,
    /// The rung, from 0.
    pub rung: usize,
    /// The trial's settings.
    pub settings: TrialSettings,
    /// Epochs trained in all (the rung's epochs).
    pub epochs: usize,
    /// Validation loss after the last epoch (the mean over the folds with folds);
    /// `None` when training failed.
    pub val_loss: Option<f64>,
    /// Validation accuracy or RMSE, like `val_loss`.
    pub val_metric: Option<f64>,
    /// Why training failed (a diverging loss), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// Wall-clock seconds this rung took (the one value that differs between runs).
    pub seconds: f64,
}

/// The journal's first line: what must match for `--resume` to continue a study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalHeader {
    /// Always `"csvnn-tune-journal"`.
    pub format: String,
    /// The study's description (`TuneSettings::fingerprint`).
    pub study: serde_json::Value,
}

/// The `format` of a journal's header line.
pub const JOURNAL_FORMAT: &str = "csvnn-tune-journal";

/// The journal of a study writing the model `output`: `model.json` -> `model.trials.jsonl`.
pub fn journal_path(output: &Path) -> PathBuf {
    let stem = output
        .file_stem()
        .map_or_else(|| "model".to_string(), |s| s.to_string_lossy().into_owned());
    output.with_file_name(format!("{stem}.trials.jsonl"))
}

/// Start a journal at `path` (replacing any file there) with its header and `records`.
pub fn write_journal(
    path: &Path,
    study: &serde_json::Value,
    records: &[TrialRecord],
) -> Result<()> {
    let shown = path.display().to_string();
    let header = JournalHeader {
        format: JOURNAL_FORMAT.to_string(),
        study: study.clone(),
    };
    let mut text = to_line(&header, &shown)?;
    for r in records {
        text += &to_line(r, &shown)?;
    }
    crate::atomic::write_atomically(path, |out| {
        out.write_all(text.as_bytes())
            .map_err(|e| Error::io(&shown, e))
    })
}

/// Append one record to the journal at `path`, flushed to the file before returning.
pub fn append_record(path: &Path, record: &TrialRecord) -> Result<()> {
    let shown = path.display().to_string();
    let line = to_line(record, &shown)?;
    let mut file = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| Error::io(&shown, e))?;
    file.write_all(line.as_bytes())
        .and_then(|_| file.sync_data())
        .map_err(|e| Error::io(&shown, e))
}

fn to_line<T: Serialize>(value: &T, shown: &str) -> Result<String> {
    let mut line = serde_json::to_string(value).map_err(|e| Error::io(shown, e.into()))?;
    line.push('\n');
    Ok(line)
}

/// Read a journal: its study description and records. A last line without its line
/// break (the study was killed while writing it) is left out; any other line that is not
/// a record is an error naming the line.
pub fn read_journal(path: &Path) -> Result<(serde_json::Value, Vec<TrialRecord>)> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(&shown, e))?;
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    let bad = |line: usize, what: &str| {
        Error::data(
            crate::error::Location::file(&shown).line(line as u64),
            format!("not a line of a tune journal ({what})"),
        )
    };
    let mut lines = complete.lines().enumerate();
    let header: JournalHeader = match lines.next() {
        Some((_, line)) => serde_json::from_str(line).map_err(|e| bad(1, &e.to_string()))?,
        None => {
            return Err(Error::data(
                crate::error::Location::file(&shown),
                "the journal is empty; expected its header line",
            ))
        }
    };
    if header.format != JOURNAL_FORMAT {
        return Err(bad(1, "expected \"format\": \"csvnn-tune-journal\""));
    }
    let records = lines
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| serde_json::from_str(line).map_err(|e| bad(i + 1, &e.to_string())))
        .collect::<Result<Vec<TrialRecord>>>()?;
    Ok((header.study, records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Activation;
    use crate::train::OptimizerChoice;

    #[test]
    fn records_round_trip_and_a_torn_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = journal_path(&dir.path().join("m.json"));
        assert_eq!(path.file_name().unwrap(), "m.trials.jsonl");
        let record = TrialRecord {
            trial: 2,
            rung: 1,
            settings: TrialSettings {
                optimizer: OptimizerChoice::Adam,
                lr: 0.003_137,
                hidden: vec![64, 32],
                activation: Activation::Tanh,
                dropout: 0.123,
                weight_decay: 1.7e-5,
                batch_size: 64,
                encoders: None,
            },
            epochs: 9,
            val_loss: Some(0.123_456_789_012_345),
            val_metric: Some(0.9),
            failed: None,
            seconds: 1.5,
        };
        let study = serde_json::json!({"seed": 1});
        write_journal(&path, &study, std::slice::from_ref(&record)).unwrap();
        append_record(&path, &record).unwrap();
        let mut text = std::fs::read_to_string(&path).unwrap();
        text += "{\"trial\": 3, \"ru";
        std::fs::write(&path, text).unwrap();
        let (read_study, records) = read_journal(&path).unwrap();
        assert_eq!(read_study, study);
        assert_eq!(records, vec![record.clone(), record]);
    }
}
