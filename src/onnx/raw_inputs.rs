//! `add_raw_inputs`: the raw-column graph's inputs (one per CSV column, `raw_layout.rs`)
//! turned into the encoded slots of `input_layout`, in double precision, so that the slot
//! imputation and scaling of `inputs.rs` follow unchanged:
//! - a numeric value stays as it is; one whose standardised value is not a finite float
//!   (infinity, or a value too large) becomes NaN, as csvnn imputes it with a warning;
//! - a categorical string is looked up (`ai.onnx.ml` `LabelEncoder`) among the training
//!   categories and the missing markers (the empty string and the model's NA values, which
//!   take the impute category's position), an unseen value going to the "other" input when
//!   the column has one and nowhere (all zeros) otherwise; then one-hot (`Equal` against
//!   the positions);
//! - an ordinal string becomes its level's index, NaN for a missing marker or a value that
//!   is not a level;
//! - a date's Unix seconds become its encoded parts (`raw_date.rs`);
//! - series values and token ids pass as they are (NaN: padding, unused position).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::builder::{dims_type, int, string, strings, Builder};
use super::proto::{NodeProto, TensorProto, ValueInfoProto, DOUBLE, FLOAT, STRING};
use super::raw_date::add_date_parts;
use super::raw_layout::ColumnInput;
use crate::data::plain_number;
use crate::error::{Error, Result};
use crate::preprocess::{CategoricalColumn, Feature, OrdinalColumn, Pipeline, Slot};

/// The graph inputs for `columns` (see `raw_layout::column_inputs`).
pub(super) fn graph_inputs(columns: &[ColumnInput]) -> Vec<ValueInfoProto> {
    columns
        .iter()
        .map(|c| {
            let (elem_type, doc) = match c.elem_type {
                "string" => (
                    STRING,
                    "the cell's text, trimmed; missing: \"\" or an NA value",
                ),
                _ if c.kind == "text" => (DOUBLE, "token ids; NaN for an unused position"),
                _ if c.kind == "date" => {
                    (DOUBLE, "seconds since 1970-01-01T00:00:00Z; NaN = missing")
                }
                _ => (DOUBLE, "the value; NaN = missing"),
            };
            ValueInfoProto {
                name: c.name.clone(),
                r#type: dims_type(elem_type, &[None, Some(c.width as i64)]),
                doc_string: format!("{} column: {doc}", c.kind),
            }
        })
        .collect()
}

/// How a node reads the graph input of `column` while the graph is built: a name no
/// intermediate value has (`name_columns` gives the column's own name back).
fn column_ref(column: &str) -> String {
    format!("\0{column}")
}

/// Give the column inputs their names: first rename any intermediate value or constant
/// that has a column's name, then replace the placeholders of `column_ref`. A column
/// named as a graph output cannot be told from it: an error.
pub(super) fn name_columns(
    nodes: &mut [NodeProto],
    initializers: &mut [TensorProto],
    columns: &[ColumnInput],
    outputs: &[&str],
) -> Result<()> {
    let taken: HashSet<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    if let Some(output) = outputs.iter().find(|o| taken.contains(*o)) {
        return Err(Error::Config(format!(
            "the column '{output}' has the name of an output of the ONNX graph ({}); rename the column, or export the encoded inputs",
            outputs.join(", ")
        )));
    }
    let mut used: HashSet<String> = nodes
        .iter()
        .flat_map(|n| n.output.iter().cloned())
        .chain(initializers.iter().map(|t| t.name.clone()))
        .chain(taken.iter().map(|c| c.to_string()))
        .collect();
    let mut renamed: HashMap<String, String> = HashMap::new();
    for name in nodes
        .iter()
        .flat_map(|n| n.output.iter())
        .chain(initializers.iter().map(|t| &t.name))
    {
        if taken.contains(name.as_str()) {
            let fresh = (1..)
                .map(|k| format!("{name}_{k}"))
                .find(|f| !used.contains(f))
                .expect("an unused name");
            used.insert(fresh.clone());
            renamed.insert(name.clone(), fresh);
        }
    }
    let rename = |name: &mut String| {
        if let Some(column) = name.strip_prefix('\0') {
            *name = column.to_string();
        } else if let Some(fresh) = renamed.get(name.as_str()) {
            *name = fresh.clone();
        }
    };
    for node in nodes.iter_mut() {
        node.input.iter_mut().for_each(rename);
        node.output.iter_mut().for_each(rename);
    }
    initializers.iter_mut().for_each(|t| rename(&mut t.name));
    Ok(())
}

/// Add the nodes from the column inputs to the slots of `input_layout`, double
/// (N, n_slots); returns its name.
pub(super) fn add_raw_inputs(b: &mut Builder, pipeline: &Pipeline) -> String {
    let na = &pipeline.na_values.0;
    let sentinels: Vec<f64> = na.iter().filter_map(|t| plain_number(t)).collect();
    let mut pieces: Vec<String> = Vec::new();
    for feature in &pipeline.features {
        match feature {
            Feature::Numeric(n) => {
                let value = mask_sentinels(b, &column_ref(&n.name), &sentinels);
                let centred = b.with_const("Sub", &value, n.mean);
                let scaled = b.with_const("Div", &centred, n.std);
                let encoded = b.node("Cast", &[&scaled], vec![int("to", FLOAT as i64)], None);
                let bad = b.node("IsInf", &[&encoded], vec![], None);
                let nan = b.const_doubles(&[f64::NAN]);
                pieces.push(b.node("Where", &[&bad, &nan, &value], vec![], None));
            }
            Feature::Categorical(c) => pieces.push(one_hot(b, c, na)),
            Feature::Ordinal(o) => pieces.push(level_index(b, o, na)),
            Feature::Date(d) => pieces.push(add_date_parts(b, d, &column_ref(&d.name))),
            Feature::Sequence(s) => {
                for column in &s.columns {
                    pieces.push(mask_sentinels(b, &column_ref(column), &sentinels));
                }
            }
            Feature::Text(t) => pieces.push(column_ref(&t.name)),
        }
    }
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    b.node("Concat", &pieces, vec![int("axis", 1)], Some("slots"))
}

/// `value` with NaN where it equals a numeric missing marker (`--na-values -999`), as
/// csvnn reads such a cell as missing; `value` itself when there is none.
fn mask_sentinels(b: &mut Builder, value: &str, sentinels: &[f64]) -> String {
    let mut value = value.to_string();
    for &s in sentinels {
        let marker = b.const_doubles(&[s]);
        let hit = b.node("Equal", &[&value, &marker], vec![], None);
        let nan = b.const_doubles(&[f64::NAN]);
        value = b.node("Where", &[&hit, &nan, &value], vec![], None);
    }
    value
}

/// int64 (N, 1): `LabelEncoder` from the strings of `column` by `keys`, `default` for
/// any other string.
fn encode_strings(
    b: &mut Builder,
    column: &str,
    keys: &BTreeMap<&str, i64>,
    default: i64,
) -> String {
    b.ml_node(
        "LabelEncoder",
        &[column],
        vec![
            strings("keys_strings", keys.keys().copied()),
            super::builder::ints("values_int64s", &keys.values().copied().collect::<Vec<_>>()),
            int("default_int64", default),
        ],
        None,
    )
}

/// double (N, width): the one-hot inputs of a categorical column.
fn one_hot(b: &mut Builder, c: &CategoricalColumn, na: &[String]) -> String {
    let position = |slot: Slot| match slot {
        Slot::Known(p) | Slot::Other(p) => p as i64,
        Slot::Unknown => -1,
    };
    let mut keys: BTreeMap<&str, i64> = c
        .categories
        .iter()
        .enumerate()
        .map(|(i, v)| (v.as_str(), i as i64))
        .collect();
    // A missing marker is missing before it is looked up, as csvnn checks.
    let missing = position(c.slot(None));
    for marker in std::iter::once("").chain(na.iter().map(String::as_str)) {
        keys.insert(marker, missing);
    }
    let unseen = if c.other.is_some() {
        c.categories.len() as i64
    } else {
        -1
    };
    let index = encode_strings(b, &column_ref(&c.name), &keys, unseen);
    let positions: Vec<i64> = (0..c.width() as i64).collect();
    let positions = b.const_int64s(&positions);
    let hot = b.node("Equal", &[&index, &positions], vec![], None);
    b.node("Cast", &[&hot], vec![int("to", DOUBLE as i64)], None)
}

/// double (N, 1): an ordinal column's level index, NaN for missing or not a level.
fn level_index(b: &mut Builder, o: &OrdinalColumn, na: &[String]) -> String {
    let mut keys: BTreeMap<&str, i64> = o
        .levels
        .iter()
        .enumerate()
        .map(|(i, v)| (v.as_str(), i as i64))
        .collect();
    for marker in std::iter::once("").chain(na.iter().map(String::as_str)) {
        keys.insert(marker, -1);
    }
    let index = encode_strings(b, &column_ref(&o.name), &keys, -1);
    let index = b.node("Cast", &[&index], vec![int("to", DOUBLE as i64)], None);
    let zero = b.const_doubles(&[0.0]);
    let absent = b.node("Less", &[&index, &zero], vec![], None);
    let nan = b.const_doubles(&[f64::NAN]);
    b.node("Where", &[&absent, &nan, &index], vec![], None)
}

/// Add the `label` output's node: the label of the largest of `logits` (the first on a
/// tie, as csvnn's argmax), a string (N).
pub(super) fn add_label(b: &mut Builder, logits: &str, labels: &[String]) -> String {
    let best = b.node(
        "ArgMax",
        &[logits],
        vec![int("axis", 1), int("keepdims", 0)],
        None,
    );
    let indices: Vec<i64> = (0..labels.len() as i64).collect();
    b.ml_node(
        "LabelEncoder",
        &[&best],
        vec![
            super::builder::ints("keys_int64s", &indices),
            strings("values_strings", labels.iter().map(String::as_str)),
            string("default_string", ""),
        ],
        Some("label"),
    )
}
