//! `Pipeline`: everything needed to turn the rows of a CSV file into network inputs and
//! targets, matched by column name. Fitted on training rows only (`fit.rs`), saved in the
//! model; `transform.rs` makes the inputs, `target_values.rs` the targets.

use serde::{Deserialize, Serialize};

use std::collections::HashSet;

use super::categorical::CategoricalColumn;
use super::date::DateColumn;
use super::kinds::KindOptions;
use super::numeric::NumericColumn;
use super::ordinal::{OrdinalColumn, OrdinalLevels};
use super::series::SequenceColumn;
use super::target::{TargetEncoder, Task};
use super::text::TextColumn;
use crate::data::{NaValues, RawTable};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
/// A feature column's fitted transform.
pub enum Feature {
    /// A numeric column: imputed and standardised, one input.
    Numeric(NumericColumn),
    /// A categorical column: one-hot encoded.
    Categorical(CategoricalColumn),
    /// An ordered categorical column: its level's index, imputed and standardised, one
    /// input.
    Ordinal(OrdinalColumn),
    /// A date column: the year standardised, then sine/cosine pairs of its cycles.
    Date(DateColumn),
    /// Every feature column as one series: a sequence block `[L, T x C values]`.
    Sequence(SequenceColumn),
    /// A text column: token ids as a one-channel sequence block `[L, ids...]`.
    Text(TextColumn),
}

impl Feature {
    /// The column's name.
    pub fn name(&self) -> &str {
        match self {
            Feature::Numeric(c) => &c.name,
            Feature::Categorical(c) => &c.name,
            Feature::Ordinal(c) => &c.name,
            Feature::Date(c) => &c.name,
            Feature::Sequence(c) => &c.name,
            Feature::Text(c) => &c.name,
        }
    }

    /// The table columns it reads: its one column, or a series' columns.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Feature::Sequence(c) => c.columns.iter().map(String::as_str).collect(),
            other => vec![other.name()],
        }
    }

    /// Number of network inputs this column becomes.
    pub fn width(&self) -> usize {
        match self {
            Feature::Numeric(_) | Feature::Ordinal(_) => 1,
            Feature::Categorical(c) => c.width(),
            Feature::Date(c) => c.width(),
            Feature::Sequence(c) => c.width(),
            Feature::Text(c) => c.width(),
        }
    }

    /// The kind's name, as files and reports write it: `numeric`, `categorical`,
    /// `ordinal`, `date`, `sequence`, `text`.
    pub fn kind(&self) -> &'static str {
        match self {
            Feature::Numeric(_) => "numeric",
            Feature::Categorical(_) => "categorical",
            Feature::Ordinal(_) => "ordinal",
            Feature::Date(_) => "date",
            Feature::Sequence(_) => "sequence",
            Feature::Text(_) => "text",
        }
    }

    /// A kind that format version 2 did not know (date, text, series).
    fn is_new_in_v3(&self) -> bool {
        matches!(
            self,
            Feature::Date(_) | Feature::Sequence(_) | Feature::Text(_)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// The fitted preprocessing of a model: features, target encoder, dropped columns.
pub struct Pipeline {
    /// The target column's name.
    pub target: String,
    /// How target values become network outputs, and back.
    pub target_encoder: TargetEncoder,
    /// Feature columns in the order of the network's inputs.
    pub features: Vec<Feature>,
    /// Columns ignored by name (`FitOptions::drop`, and columns with no value in training).
    pub dropped: Vec<String>,
    /// The tokens read as missing values.
    pub na_values: NaValues,
}

/// What `Pipeline::fit` needs besides the data.
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// The target column's name.
    pub target: String,
    /// Columns to leave out (default: none).
    pub drop: Vec<String>,
    /// Columns to treat as categories whatever their values (default: none).
    pub categorical: Vec<String>,
    /// Columns of ordered categories, encoded as their level's index (default: none).
    pub ordinal: Vec<OrdinalLevels>,
    /// The tokens read as missing values (default: `NaValues::default()`).
    pub na_values: NaValues,
    /// Most one-hot inputs per categorical column; the rarest values beyond share one
    /// (default: `DEFAULT_MAX_CATEGORIES`).
    pub max_categories: usize,
    /// Date, text and series columns, and the tokenizer (default: none declared).
    pub kinds: KindOptions,
}

/// The default of `FitOptions::max_categories`.
pub const DEFAULT_MAX_CATEGORIES: usize = 1000;

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            target: String::new(),
            drop: Vec::new(),
            categorical: Vec::new(),
            ordinal: Vec::new(),
            na_values: NaValues::default(),
            max_categories: DEFAULT_MAX_CATEGORIES,
            kinds: KindOptions::default(),
        }
    }
}

impl Pipeline {
    /// The oldest file format version that holds this pipeline: 3 once a column is a
    /// date, text or series, 2 once one is ordinal (a reader of an older version does not
    /// know that feature kind), else 1. Files are written with it, so a csvnn that predates
    /// a feature refuses only the files that use it, with its "upgrade csvnn" message.
    pub fn format_version(&self) -> u32 {
        if self.features.iter().any(Feature::is_new_in_v3) {
            3
        } else if self
            .features
            .iter()
            .any(|f| matches!(f, Feature::Ordinal(_)))
        {
            2
        } else {
            1
        }
    }

    /// Classification or regression, as the target encoder says.
    pub fn task(&self) -> Task {
        self.target_encoder.task()
    }

    /// A feature that the dense networks cannot take (text, a series): they need a
    /// sequence encoder first.
    pub fn needs_sequence_encoder(&self) -> Option<&Feature> {
        self.features
            .iter()
            .find(|f| matches!(f, Feature::Sequence(_) | Feature::Text(_)))
    }

    /// Each feature with the input where its block starts, in input order (for the
    /// network builder: a text block's ids start at `start + 1`, after its length).
    pub fn blocks(&self) -> Vec<(usize, &Feature)> {
        let mut start = 0;
        self.features
            .iter()
            .map(|f| {
                let block = (start, f);
                start += f.width();
                block
            })
            .collect()
    }

    /// Number of network inputs.
    pub fn n_inputs(&self) -> usize {
        self.features.iter().map(Feature::width).sum()
    }

    /// Input columns of `table` the pipeline does not use (neither feature, target nor dropped).
    pub fn unused_columns<'a>(&self, table: &'a RawTable) -> Vec<&'a str> {
        let used: HashSet<&str> = self
            .features
            .iter()
            .flat_map(Feature::columns)
            .chain(self.dropped.iter().map(String::as_str))
            .chain(std::iter::once(self.target.as_str()))
            .collect();
        table
            .headers
            .iter()
            .filter(|h| !used.contains(h.as_str()))
            .map(String::as_str)
            .collect()
    }
}
