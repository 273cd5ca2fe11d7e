//! Export of a model as a standard ONNX graph (IR version 7, opset 13, or 17 when the
//! network has transformer encoder blocks), encoded with prost from hand-written structs
//! for the few ONNX messages it needs (field numbers as in onnx/onnx.proto).
//!
//! With [`Inputs::Raw`] (the default) the graph has one input per CSV column the model
//! reads, named as the column, one row per CSV row ([`column_inputs`], also in the
//! metadata `csvnn.columns`):
//! - a numeric or series column: double (N, 1), the value; NaN is missing (and so is a
//!   value equal to a numeric NA marker such as `-999`, or one whose standardised value
//!   overflows a float, as csvnn reads them);
//! - a categorical or ordinal column: string (N, 1), the cell's trimmed text; the empty
//!   string and the model's NA values (`na_values` in `csvnn.columns`) are missing;
//! - a date column: double (N, 1), Unix seconds (since 1970-01-01T00:00:00Z; a date
//!   without a time is its midnight); NaN is missing;
//! - a text column: double (N, max_tokens), the token ids as below.
//!
//! The graph turns them into the slots of the encoded layout (`raw_inputs.rs`) and goes
//! on as below; a classifier's graph also outputs `label`: string (N), the label of the
//! largest logit. The `ai.onnx.ml` operator set (version 2) is imported for
//! `LabelEncoder`.
//!
//! With [`Inputs::Encoded`] the graph has one input, `input`: float (N, n_inputs), one row
//! per CSV row, laid out as [`input_layout`] lists it, in the model's column order:
//! - a numeric column is one input holding the raw value in the column's own units; NaN
//!   means missing and is replaced by the training mean, as csvnn does; the graph then
//!   standardises it with the training mean and standard deviation;
//! - a categorical column is one input per category of its training vocabulary (byte
//!   order), 1 for the row's category and 0 elsewhere (all 0 for a value not seen in
//!   training; a missing value is the one-hot of the column's impute category);
//! - an ordinal column is one input holding the index of the value's level, from 0 (its
//!   levels are in the layout); NaN means missing or not a level, and is replaced by the
//!   training mean of the indices; the graph standardises it as a numeric column;
//! - a date column is one input per encoded part (`year` standardised, then sine/cosine
//!   pairs), as csvnn computes them; NaN means missing and takes each part's training mean;
//! - a series is one input per raw column, the value in its own units, NaN for the padding
//!   steps at the end of a shorter series; the graph counts the valid steps (those whose
//!   channel 0 is a number) and standardises per channel, padding becoming 0;
//! - a text column is `max_tokens` inputs: the cell's token ids (the caller tokenises, with
//!   the vocabulary and rules in the metadata `csvnn.text.<column>`), NaN for the unused
//!   positions; the length is the number of ids, at least 1 (an empty cell is id 0).
//!
//! The imputation and standardisation run in double precision, as in csvnn, and their
//! result is rounded to float for the network (float throughout). Sequence blocks travel
//! as int64 lengths (N) and float values (N, T, C) (`sequence.rs`); embeddings are Gathers,
//! GRU and LSTM layers ONNX's `GRU` (`linear_before_reset = 1`) and `LSTM` nodes with
//! `sequence_lens`, pooling masks the padding steps.
//!
//! The one output is `probabilities`: float (N, n_classes), Softmax over the network's
//! logits in the model's label order (classification), or `prediction`: double (N, 1), the
//! value in the target's units (regression; the network's standardised output times the
//! target's std plus its mean, in double precision as csvnn does). Dropout is the identity
//! and is left out. Conv and max-pool layers, which csvnn runs on images stored row-major
//! H x W x C, become a Reshape to (N, H, W, C) and a Transpose to ONNX's (N, C, H, W)
//! before them, and the reverse before the next dense layer. The layout, the labels, the
//! task and each text column's vocabulary are also stored in the file's metadata
//! (`csvnn.inputs`, `csvnn.labels`, `csvnn.task`, `csvnn.text.<column>`).

mod builder;
mod encoder_block;
mod graph;
mod inputs;
mod int8;
mod layers;
mod layout;
pub mod proto;
mod raw_date;
mod raw_inputs;
mod raw_layout;
mod recurrent;
mod sequence;

use std::path::Path;

use prost::Message;

use crate::atomic::write_atomically;
use crate::error::{Error, Result};
use crate::model::Model;

pub use graph::to_proto;
pub use layout::{input_layout, InputSlot};
pub use proto::{IR_VERSION, OPSET, OPSET_ENCODER, OPSET_ML};
pub use raw_layout::{column_inputs, ColumnInput, DATE_UNIT};

/// How the exported graph takes its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Inputs {
    /// One input per CSV column, as the file holds it (`column_inputs`); the graph
    /// imputes, scales and one-hot encodes, and also outputs the label.
    #[default]
    Raw,
    /// One float input `input` of encoded slots (`input_layout`): the layout before
    /// raw inputs existed.
    Encoded,
}

/// Write the model as an ONNX file with `inputs`, atomically.
pub fn export(model: &Model, path: &Path, inputs: Inputs) -> Result<()> {
    let bytes = to_proto(model, inputs)?.encode_to_vec();
    write_atomically(path, |out| {
        out.write_all(&bytes)
            .map_err(|e| Error::io(&path.display().to_string(), e))
    })
}

#[cfg(test)]
mod tests {
    use super::builder::ints;
    use super::proto::*;
    use prost::Message;

    #[test]
    fn messages_use_the_onnx_field_numbers() {
        // OperatorSetIdProto { domain: "", version: 13 }: field 2, varint 13.
        let op = OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        };
        assert_eq!(op.encode_to_vec(), [0x10, 13]);
        // AttributeProto ints = [1, 2] unpacked (as onnx.proto2 declares): field 8, varints.
        let a = ints("p", &[1, 2]);
        assert_eq!(
            a.encode_to_vec(),
            [0x0a, 1, b'p', 0x40, 1, 0x40, 2, 0xa0, 0x01, 7]
        );
        let d = Dimension {
            dim_value: None,
            dim_param: Some("N".into()),
        };
        assert_eq!(d.encode_to_vec(), [0x12, 1, b'N']);
    }
}
