//! The targets of rows as the network trains on them: class indices, or values
//! standardised with the fitted mean and standard deviation.

use super::columns::target_index;
use super::pipeline::Pipeline;
use super::target::TargetEncoder;
use crate::data::{looks_like_localized_number, RawTable};
use crate::error::{Error, Result};

/// The targets of a set of rows.
#[derive(Debug, Clone, PartialEq)]
pub enum EncodedTargets {
    /// Class indices into the encoder's labels.
    Classes(Vec<u32>),
    /// Values in the target's units and standardised for the network.
    Values {
        /// The values as the file has them.
        raw: Vec<f64>,
        /// The values standardised with the fitted mean and standard deviation.
        standardised: Vec<f32>,
    },
}

impl Pipeline {
    /// Targets of `rows` (whose target is present) for training or scoring.
    pub fn encode_targets(&self, table: &RawTable, rows: &[usize]) -> Result<EncodedTargets> {
        let target = target_index(table, &self.target)?;
        match &self.target_encoder {
            TargetEncoder::Classification { labels } => {
                let mut classes = Vec::with_capacity(rows.len());
                for &row in rows {
                    let label = table.columns[target].text_at(row);
                    let class = self.target_encoder.class_index(&label).ok_or_else(|| {
                        Error::data(
                            table.location(row, target),
                            format!(
                                "the label '{label}' was not seen in training; the model knows: {}",
                                labels.join(", ")
                            ),
                        )
                    })?;
                    classes.push(class as u32);
                }
                Ok(EncodedTargets::Classes(classes))
            }
            TargetEncoder::Regression { mean, std } => {
                let mut raw = Vec::with_capacity(rows.len());
                for &row in rows {
                    raw.push(parse_target_value(table, target, row)?);
                }
                let standardised = raw.iter().map(|v| ((v - mean) / std) as f32).collect();
                Ok(EncodedTargets::Values { raw, standardised })
            }
        }
    }
}

/// The end of the message for a target value written with a decimal comma.
pub(crate) const LOCALIZED_TARGET: &str = "looks like a number with a decimal comma or thousands separators, which csvnn does not guess at; expected a plain number like 1234.5 in the target";

/// The target value of `row`: a finite number, or an error naming the cell.
pub(crate) fn parse_target_value(table: &RawTable, target: usize, row: usize) -> Result<f64> {
    let column = &table.columns[target];
    if let Some(value) = column.stored_number(row) {
        return Ok(value);
    }
    let cell = column.text_at(row);
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ if looks_like_localized_number(&cell) => Err(Error::data(
            table.location(row, target),
            format!("'{cell}' {LOCALIZED_TARGET}"),
        )),
        _ => Err(Error::data(
            table.location(row, target),
            format!("'{cell}' is not a finite number; expected a number for a regression target"),
        )),
    }
}
