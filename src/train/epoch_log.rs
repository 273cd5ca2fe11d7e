//! The epoch log: one CSV row per epoch (epoch, train_loss, val_loss, val_metric, lr,
//! seconds, and `monitored` when a metric other than the loss is monitored), rewritten
//! atomically after each epoch so it is whole at any moment.

use std::path::Path;

use super::trainer::EpochRecord;
use crate::atomic::write_atomically;
use crate::error::{Error, Result};

/// Write the log of `history` with each epoch's wall-clock `seconds` to `path`.
pub fn write_epoch_log(path: &Path, history: &[EpochRecord], seconds: &[f64]) -> Result<()> {
    let monitored = history.iter().any(|r| r.monitored.is_some());
    let mut text = String::from("epoch,train_loss,val_loss,val_metric,lr,seconds");
    text += if monitored { ",monitored\n" } else { "\n" };
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for (record, seconds) in history.iter().zip(seconds) {
        text += &format!(
            "{},{},{},{},{},{seconds}",
            record.epoch,
            record.train_loss,
            opt(record.val_loss),
            opt(record.val_metric),
            record.lr
        );
        if monitored {
            text += &format!(",{}", opt(record.monitored));
        }
        text.push('\n');
    }
    write_atomically(path, |out| {
        out.write_all(text.as_bytes())
            .map_err(|e| Error::io(&path.display().to_string(), e))
    })
}
