//! `column_inputs`: the inputs of the raw-column graph, one per CSV column the model reads,
//! with their element type and what marks a missing value.

use serde::Serialize;

use crate::model::Model;
use crate::preprocess::Feature;

/// What a date input holds: Unix time.
pub const DATE_UNIT: &str = "seconds since 1970-01-01T00:00:00Z";

/// One input of the raw-column graph: a CSV column, shape (N, width).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnInput {
    /// The graph input's name: the CSV column's.
    pub name: String,
    /// The column's kind in the model: "numeric", "categorical", "ordinal", "date",
    /// "series" (a column of the series) or "text" (its token ids).
    pub kind: &'static str,
    /// The element type: "double" or "string".
    pub elem_type: &'static str,
    /// The second dimension: 1, or a text column's `max_tokens`.
    pub width: usize,
    /// The strings read as missing besides the empty string (string inputs; a double
    /// input's missing value is NaN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub na_values: Option<Vec<String>>,
    /// The training vocabulary in byte order (categorical columns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// The levels, lowest first (ordinal columns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<String>>,
    /// What the number means (date columns: `DATE_UNIT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<&'static str>,
}

impl ColumnInput {
    fn double(name: &str, kind: &'static str, width: usize) -> Self {
        ColumnInput {
            name: name.to_string(),
            kind,
            elem_type: "double",
            width,
            na_values: None,
            categories: None,
            levels: None,
            unit: None,
        }
    }
}

/// The raw-column graph's inputs, in the order of the model's features (a series' columns
/// in its order).
pub fn column_inputs(model: &Model) -> Vec<ColumnInput> {
    let pipeline = &model.pipeline;
    let na = || Some(pipeline.na_values.0.clone());
    let mut inputs = Vec::new();
    for feature in &pipeline.features {
        match feature {
            Feature::Numeric(n) => inputs.push(ColumnInput::double(&n.name, "numeric", 1)),
            Feature::Categorical(c) => inputs.push(ColumnInput {
                elem_type: "string",
                na_values: na(),
                categories: Some(c.categories.clone()),
                ..ColumnInput::double(&c.name, "categorical", 1)
            }),
            Feature::Ordinal(o) => inputs.push(ColumnInput {
                elem_type: "string",
                na_values: na(),
                levels: Some(o.levels.clone()),
                ..ColumnInput::double(&o.name, "ordinal", 1)
            }),
            Feature::Date(d) => inputs.push(ColumnInput {
                unit: Some(DATE_UNIT),
                ..ColumnInput::double(&d.name, "date", 1)
            }),
            Feature::Sequence(s) => inputs.extend(
                s.columns
                    .iter()
                    .map(|c| ColumnInput::double(c, "series", 1)),
            ),
            Feature::Text(t) => {
                inputs.push(ColumnInput::double(&t.name, "text", t.options.max_tokens))
            }
        }
    }
    inputs
}
