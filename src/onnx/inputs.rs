//! `add_inputs`: the graph's `input` (N, n_slots), laid out by `input_layout` (or the same
//! slots made from the raw columns), turned into the network's input row (N, n_inputs) as
//! csvnn's pipeline writes it.
//!
//! Every slot is imputed and standardised in double precision, then rounded to float: a
//! numeric or ordinal NaN takes the training mean, a date's NaN each part's training
//! mean; a series' NaN (a padding step) takes the channel's mean, so that it standardises
//! to exactly 0; a token slot's NaN becomes id 0. A sequence block also needs its length
//! column L: a series' L counts the steps whose channel 0 is a number, a text column's the
//! ids given (at least 1: an empty cell is one out-of-vocabulary id). The L columns are
//! appended, and one Gather puts every column where the network reads it.

use super::builder::{int, Builder};
use super::proto::{DOUBLE, FLOAT};
use crate::preprocess::{Feature, Pipeline};

/// Per slot: the value NaN becomes, and the mean and std it is standardised with.
#[derive(Default)]
struct Scaling {
    impute: Vec<f64>,
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl Scaling {
    fn push(&mut self, impute: f64, mean: f64, std: f64) {
        self.impute.push(impute);
        self.mean.push(mean);
        self.std.push(std);
    }
}

fn scaling(pipeline: &Pipeline) -> Scaling {
    let mut s = Scaling::default();
    for feature in &pipeline.features {
        match feature {
            Feature::Numeric(n) => s.push(n.impute, n.mean, n.std),
            // The caller gives the level's index; it is imputed and standardised as a
            // number is.
            Feature::Ordinal(o) => s.push(o.impute, o.mean, o.std),
            Feature::Categorical(c) => (0..c.width()).for_each(|_| s.push(0.0, 0.0, 1.0)),
            // The caller gives the encoded parts (the year standardised).
            Feature::Date(d) => d.impute.iter().for_each(|&v| s.push(v, 0.0, 1.0)),
            Feature::Sequence(q) => {
                for i in 0..q.columns.len() {
                    let c = i % q.shape.channels;
                    s.push(q.mean[c], q.mean[c], q.std[c]);
                }
            }
            Feature::Text(t) => (0..t.options.max_tokens).for_each(|_| s.push(0.0, 0.0, 1.0)),
        }
    }
    s
}

/// The slots the network's row is made from.
pub(super) enum Slots<'a> {
    /// The graph input `input`, float (N, n_slots): the encoded layout.
    Input,
    /// A value already double (N, n_slots): the raw-column graph's (`raw_inputs.rs`).
    Double(&'a str),
}

/// Add the nodes from the slots to `features`, the network's input row; returns its name.
pub(super) fn add_inputs(b: &mut Builder, pipeline: &Pipeline, slots: Slots) -> String {
    let s = scaling(pipeline);
    let n_slots = s.impute.len();
    let has_blocks = pipeline
        .features
        .iter()
        .any(|f| matches!(f, Feature::Sequence(_) | Feature::Text(_)));
    // In double precision, as csvnn computes them, then rounded to float as csvnn does.
    let impute = b.doubles("impute", &s.impute);
    let mean = b.doubles("mean", &s.mean);
    let std = b.doubles("std", &s.std);
    let input = match slots {
        Slots::Input => b.node("Cast", &["input"], vec![int("to", DOUBLE as i64)], None),
        Slots::Double(name) => name.to_string(),
    };
    let is_nan = b.node("IsNaN", &[&input], vec![], None);
    let filled = b.node("Where", &[&is_nan, &impute, &input], vec![], None);
    let centred = b.node("Sub", &[&filled, &mean], vec![], None);
    let scaled = b.node("Div", &[&centred, &std], vec![], None);
    let to_float = vec![int("to", FLOAT as i64)];
    if !has_blocks {
        return b.node("Cast", &[&scaled], to_float, Some("features"));
    }
    let scaled = b.node("Cast", &[&scaled], to_float, None);

    // The network's columns as indices into [scaled slots | L columns].
    let mut order: Vec<i64> = Vec::with_capacity(n_slots + 1);
    let mut pieces = vec![scaled];
    let mut at = 0usize;
    for feature in &pipeline.features {
        let width = match feature {
            Feature::Sequence(q) => q.columns.len(),
            Feature::Text(t) => t.options.max_tokens,
            other => other.width(),
        };
        let length = match feature {
            Feature::Sequence(q) => {
                let first = (0..q.shape.steps).map(|t| at + t * q.shape.channels);
                Some(count_present(b, &is_nan, first, false))
            }
            Feature::Text(_) => Some(count_present(b, &is_nan, at..at + width, true)),
            _ => None,
        };
        if let Some(length) = length {
            order.push((n_slots + pieces.len() - 1) as i64);
            pieces.push(length);
        }
        order.extend((at..at + width).map(|i| i as i64));
        at += width;
    }
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let all = b.node("Concat", &pieces, vec![int("axis", 1)], None);
    let order = b.int64s("feature_order", &order);
    b.node(
        "Gather",
        &[&all, &order],
        vec![int("axis", 1)],
        Some("features"),
    )
}

/// float (N, 1): how many of the slots `columns` are not NaN (at least 1 if asked).
fn count_present(
    b: &mut Builder,
    is_nan: &str,
    columns: impl Iterator<Item = usize>,
    at_least_one: bool,
) -> String {
    let columns: Vec<i64> = columns.map(|c| c as i64).collect();
    let columns = b.const_int64s(&columns);
    let nan = b.node("Gather", &[is_nan, &columns], vec![int("axis", 1)], None);
    let present = b.node("Not", &[&nan], vec![], None);
    let present = b.node("Cast", &[&present], vec![int("to", FLOAT as i64)], None);
    let axis = b.const_int64s(&[1]);
    let count = b.node(
        "ReduceSum",
        &[&present, &axis],
        vec![int("keepdims", 1)],
        None,
    );
    if at_least_one {
        let one = b.const_float(1.0);
        b.node("Max", &[&count, &one], vec![], None)
    } else {
        count
    }
}
