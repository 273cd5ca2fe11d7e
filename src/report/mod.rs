//! The HTML report about a model: one self-contained page with SVG charts drawn by
//! plotters: learning curves from the training history and, with test data, the metrics,
//! the confusion matrix as a heat map and the ROC curves (classification) or predicted
//! against actual values (regression). No scripts, fonts or other external resources: it
//! opens in a browser without a network.
//!
//! [`render`] builds the page as text; writing it is the caller's business. The charts
//! live one per file (`curves`, `confusion`, `roc`, `scatter`) over the shared primitives
//! of `svg` and the axis ticks of `ticks`.

mod confusion;
mod curves;
mod error;
mod page;
mod roc;
mod scatter;
mod svg;
mod ticks;

pub use error::DrawError;
pub use page::{render, TestData};
