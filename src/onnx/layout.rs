//! `input_layout`: which CSV column (and category, date part, series step or token
//! position) each input of the exported graph holds.

use serde::Serialize;

use crate::model::Model;
use crate::preprocess::Feature;

/// One input of the exported graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputSlot {
    /// Position in the `input` tensor's second dimension.
    pub index: usize,
    /// The CSV column it comes from.
    pub column: String,
    /// "numeric" (the raw value; NaN for missing), "categorical" (one-hot), "ordinal"
    /// (the index of the value's level, from 0; NaN for missing or not a level), "date"
    /// (an encoded part, see `part`; NaN for missing), "series" (a raw value; NaN for a
    /// padding step) or "token_ids" (a token id; NaN for an unused position).
    pub kind: &'static str,
    /// The category this input stands for (categorical columns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// True for the last input of a categorical column capped by `max_categories`: 1 for
    /// every value that is not one of the column's `category` inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other: Option<bool>,
    /// The levels, lowest first: level i is the number i (ordinal columns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<String>>,
    /// What a missing value becomes: the training mean, or the impute category (empty for
    /// series and token ids, where NaN marks padding).
    pub impute: String,
    /// The encoded part of a date this input holds: `year`, `month_sin`, ... (date
    /// columns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<&'static str>,
    /// The step of the series, from 0 (series).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    /// The channel of the series, from 0 (series).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<usize>,
    /// The position among the cell's token ids, from 0 (text columns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
    /// The training mean the graph standardises with (series: the channel's), or that the
    /// caller standardises with (a date's `year`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// The training standard deviation that goes with `mean`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
}

impl InputSlot {
    /// A slot of `kind` for `column` at `index`, the optional fields unset.
    fn new(index: usize, column: &str, kind: &'static str, impute: String) -> Self {
        InputSlot {
            index,
            column: column.to_string(),
            kind,
            category: None,
            other: None,
            levels: None,
            impute,
            part: None,
            step: None,
            channel: None,
            position: None,
            mean: None,
            std: None,
        }
    }
}

/// The inputs of the exported graph, in order: one per numeric or ordinal column, per
/// category of a categorical column, per encoded part of a date, per raw column of a
/// series, per token position of a text column.
pub fn input_layout(model: &Model) -> Vec<InputSlot> {
    let mut slots = Vec::new();
    for feature in &model.pipeline.features {
        let at = slots.len();
        match feature {
            Feature::Numeric(n) => {
                slots.push(InputSlot::new(at, &n.name, "numeric", n.impute.to_string()));
            }
            Feature::Ordinal(o) => slots.push(InputSlot {
                levels: Some(o.levels.clone()),
                ..InputSlot::new(at, &o.name, "ordinal", o.impute.to_string())
            }),
            Feature::Categorical(c) => {
                for (i, category) in c.categories.iter().enumerate() {
                    slots.push(InputSlot {
                        category: Some(category.clone()),
                        ..InputSlot::new(at + i, &c.name, "categorical", c.impute.clone())
                    });
                }
                if c.other.is_some() {
                    let i = c.categories.len();
                    slots.push(InputSlot {
                        other: Some(true),
                        ..InputSlot::new(at + i, &c.name, "categorical", c.impute.clone())
                    });
                }
            }
            Feature::Date(d) => {
                for (i, (&part, impute)) in d.parts().iter().zip(&d.impute).enumerate() {
                    let year = i == 0;
                    slots.push(InputSlot {
                        part: Some(part),
                        mean: year.then_some(d.year_mean),
                        std: year.then_some(d.year_std),
                        ..InputSlot::new(at + i, &d.name, "date", impute.to_string())
                    });
                }
            }
            Feature::Sequence(s) => {
                let channels = s.shape.channels;
                for (i, column) in s.columns.iter().enumerate() {
                    let channel = i % channels;
                    slots.push(InputSlot {
                        step: Some(i / channels),
                        channel: Some(channel),
                        mean: Some(s.mean[channel]),
                        std: Some(s.std[channel]),
                        ..InputSlot::new(at + i, column, "series", String::new())
                    });
                }
            }
            Feature::Text(t) => {
                for i in 0..t.options.max_tokens {
                    slots.push(InputSlot {
                        position: Some(i),
                        ..InputSlot::new(at + i, &t.name, "token_ids", String::new())
                    });
                }
            }
        }
    }
    slots
}
