//! `input_layout`: which CSV column (and category) each input of the exported graph holds.

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
    /// "numeric" (the raw value; NaN for missing), "categorical" (one-hot) or "ordinal"
    /// (the index of the value's level, from 0; NaN for missing or not a level).
    pub kind: &'static str,
    /// The category this input stands for (categorical columns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The levels, lowest first: level i is the number i (ordinal columns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<String>>,
    /// What a missing value becomes: the training mean, or the impute category.
    pub impute: String,
}

/// The inputs of the exported graph, one per network input, in order.
pub fn input_layout(model: &Model) -> Vec<InputSlot> {
    let mut slots = Vec::new();
    for feature in &model.pipeline.features {
        match feature {
            Feature::Numeric(n) => slots.push(InputSlot {
                index: slots.len(),
                column: n.name.clone(),
                kind: "numeric",
                category: None,
                levels: None,
                impute: n.impute.to_string(),
            }),
            Feature::Ordinal(o) => slots.push(InputSlot {
                index: slots.len(),
                column: o.name.clone(),
                kind: "ordinal",
                category: None,
                levels: Some(o.levels.clone()),
                impute: o.impute.to_string(),
            }),
            Feature::Categorical(c) => {
                for category in &c.categories {
                    slots.push(InputSlot {
                        index: slots.len(),
                        column: c.name.clone(),
                        kind: "categorical",
                        category: Some(category.clone()),
                        levels: None,
                        impute: c.impute.clone(),
                    });
                }
            }
            // Not exported (`to_proto` refuses them); one slot per input keeps the count.
            other => {
                for _ in 0..other.width() {
                    slots.push(InputSlot {
                        index: slots.len(),
                        column: other.name().to_string(),
                        kind: other.kind(),
                        category: None,
                        levels: None,
                        impute: String::new(),
                    });
                }
            }
        }
    }
    slots
}
