//! csvnn trains small neural networks on CSV tables. This crate is the library under the
//! `csvnn` command: everything the command does, it does through these modules.
//!
//! Train on a CSV file, save the model, load it back and score it on a test split:
//!
//! ```
//! use csvnn::data::{read_table, CsvOptions};
//! use csvnn::evaluate::{score, Scored};
//! use csvnn::model::Model;
//! use csvnn::train::{fit, TrainSettings};
//!
//! # fn main() -> Result<(), csvnn::Error> {
//! let data = concat!(env!("CARGO_MANIFEST_DIR"), "/data/");
//! // The defaults of `csvnn train`, with fewer epochs.
//! let settings = TrainSettings {
//!     epochs: 5,
//!     ..TrainSettings::new(format!("{data}chile_vote.train.csv"), "vote")
//! };
//! // `&mut ()` ignores progress and notices; implement `train::Observer` to see them.
//! let model = fit(&settings, &mut ())?;
//! assert_eq!(model.history.len(), 5);
//!
//! let dir = std::env::temp_dir().join(format!("csvnn-doctest-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).map_err(|e| csvnn::Error::io("temp dir", e))?;
//! let path = dir.join("model.json");
//! model.save(&path)?;
//! let model = Model::load(&path)?;
//!
//! let test = read_table(&format!("{data}chile_vote.test.csv"), &CsvOptions::default())?;
//! let Scored::Classification { report, .. } = score(&model, &test, &mut ())? else {
//!     unreachable!("vote is a class label")
//! };
//! assert!(report.accuracy > 0.5);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```
//!
//! The modules, from the data up:
//! - [`data`]: reading CSV (gzip, delimiters, missing values, bad rows) into typed columns;
//!   splits; streaming in chunks.
//! - [`preprocess`]: the fitted [`preprocess::Pipeline`] that turns raw cells into network
//!   inputs by column name, and the target encoding; the preprocessor file.
//! - [`nn`]: layers, losses, optimizers, initialisation and the matrix-product kernels.
//! - [`train`]: [`train::TrainSettings`] and [`train::fit`], the stages of a fit, the loop,
//!   cross-validation, checkpoints.
//! - [`model`]: the single-file model that carries everything needed to predict.
//! - [`evaluate`], [`metrics`], [`inspect`], [`explain`], [`onnx`]: what is done with a model.
//!
//! The library never prints and never exits: progress and notices reach the caller through
//! [`train::Observer`], failures through the one [`Error`] type.

#![warn(missing_docs)]

pub mod atomic;
pub mod compress;
pub mod data;
pub mod error;
pub mod evaluate;
pub mod explain;
pub mod inspect;
pub mod metrics;
pub mod model;
pub mod model_check;
pub mod nn;
pub mod number_text;
pub mod onnx;
pub mod parallel;
pub mod preprocess;
pub mod report;
pub(crate) mod rng_state;
pub mod scoring;
pub mod serve;
pub mod train;
pub mod tune;
mod versioned;

pub use error::{Error, Location, Result};
