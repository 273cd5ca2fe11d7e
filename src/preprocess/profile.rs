//! The data profile printed by `csvnn preprocess`: per column its type, missing count,
//! distinct values, and mean/std or top categories; the target's class balance.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::{Feature, Pipeline, TargetEncoder};
use crate::data::{Cell, RawTable};
use crate::number_text::{fixed_or_exponent, readable};

#[derive(Debug, Clone, Serialize)]
/// One column in the profile of `preprocess`.
pub struct ColumnProfile {
    /// The column's name.
    pub name: String,
    /// "feature", "target" or "dropped".
    pub role: &'static str,
    /// "numeric", "categorical", "ordinal", "date", "text" or "sequence" (for the target:
    /// the task's kind of values).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Missing cells.
    pub missing: usize,
    /// Distinct present values.
    pub distinct: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The mean of a numeric column.
    pub mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The standard deviation of a numeric column.
    pub std: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The smallest value of a numeric column.
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The largest value of a numeric column.
    pub max: Option<f64>,
    /// The most frequent values with their counts (categorical columns).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub top: Vec<(String, usize)>,
    /// What a date, text or series column became (its range and inputs, its vocabulary,
    /// its shape).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
/// The profile of a table: its rows, task and columns.
pub struct TableProfile {
    /// The file, as shown in messages.
    pub file: String,
    /// Rows read.
    pub rows: usize,
    /// `classification` or `regression`.
    pub task: String,
    /// The target column's name.
    pub target: String,
    /// Class label -> training rows, in label order (classification).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub class_balance: Vec<(String, usize)>,
    /// Network inputs the pipeline makes.
    pub n_inputs: usize,
    /// Every column, in file order.
    pub columns: Vec<ColumnProfile>,
}

const TOP_N: usize = 5;

/// Profile every column of `table` as `pipeline` (fitted on it) sees it.
pub fn profile_table(table: &RawTable, pipeline: &Pipeline) -> TableProfile {
    let na = &pipeline.na_values;
    let mut columns = Vec::new();
    let mut class_balance = Vec::new();
    let features: HashMap<&str, &Feature> = pipeline
        .features
        .iter()
        .flat_map(|f| f.columns().into_iter().map(move |c| (c, f)))
        .collect();
    for (index, name) in table.headers.iter().enumerate() {
        let column = &table.columns[index];
        let feature = features.get(name.as_str()).copied();
        let is_target = *name == pipeline.target;
        let role = if is_target {
            "target"
        } else if feature.is_some() {
            "feature"
        } else {
            "dropped"
        };
        let numeric = match feature {
            Some(Feature::Numeric(_) | Feature::Sequence(_)) => true,
            Some(_) => false,
            None => {
                is_target && matches!(pipeline.target_encoder, TargetEncoder::Regression { .. })
            }
        };
        // Distinct cells: by text, and for numbers by value.
        let mut counts: HashMap<Cow<str>, usize> = HashMap::new();
        let mut distinct_numbers = HashSet::new();
        let mut numbers = Vec::new();
        let mut missing = 0;
        let cells = column.cells(na);
        for row in 0..column.len() {
            match cells.get(row) {
                Cell::Missing => missing += 1,
                Cell::Number(v) if numeric => {
                    numbers.push(v);
                    distinct_numbers.insert(v.to_bits());
                }
                _ => *counts.entry(column.text_at(row)).or_default() += 1,
            }
        }
        let mut top: Vec<(String, usize)> =
            counts.iter().map(|(k, &v)| (k.to_string(), v)).collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let (mean, std) = super::numeric::mean_and_std(&numbers);
        if is_target {
            if let TargetEncoder::Classification { labels } = &pipeline.target_encoder {
                class_balance = labels
                    .iter()
                    .map(|l| (l.clone(), counts.get(l.as_str()).copied().unwrap_or(0)))
                    .collect();
            }
        }
        let has_numbers = numeric && !numbers.is_empty();
        // A series is told once, at its first column; its other columns show their stats.
        let detail = feature
            .filter(|f| !matches!(f, Feature::Sequence(s) if s.columns[0] != *name))
            .and_then(feature_detail);
        columns.push(ColumnProfile {
            name: name.clone(),
            role,
            kind: match feature {
                Some(
                    f @ (Feature::Ordinal(_)
                    | Feature::Date(_)
                    | Feature::Sequence(_)
                    | Feature::Text(_)),
                ) => f.kind(),
                _ if numeric => "numeric",
                _ => "categorical",
            },
            missing,
            distinct: counts.len() + distinct_numbers.len(),
            mean: has_numbers.then_some(mean),
            std: has_numbers.then_some(if numbers.windows(2).all(|w| w[0] == w[1]) {
                0.0
            } else {
                std
            }),
            min: has_numbers.then(|| numbers.iter().copied().fold(f64::INFINITY, f64::min)),
            max: has_numbers.then(|| numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
            top: if numeric || detail.is_some() {
                Vec::new()
            } else {
                top.into_iter().take(TOP_N).collect()
            },
            detail,
        });
    }
    TableProfile {
        file: table.source.clone(),
        rows: table.n_rows(),
        task: pipeline.task().to_string(),
        target: pipeline.target.clone(),
        class_balance,
        n_inputs: pipeline.n_inputs(),
        columns,
    }
}

/// What a date, text or series column became, in words; `None` for other kinds.
fn feature_detail(feature: &Feature) -> Option<String> {
    match feature {
        Feature::Date(d) => Some(format!(
            "{} .. {}; inputs: {}",
            d.min,
            d.max,
            d.parts().join(" ")
        )),
        Feature::Text(t) => Some(format!(
            "vocabulary {} words (min count {}), {} token ids, at most {} tokens{}",
            t.vocab_size(),
            t.options.min_count,
            t.n_ids(),
            t.options.max_tokens,
            if t.options.ngrams > 1 {
                format!(
                    " with {}-grams in {} buckets",
                    t.options.ngrams, t.options.ngram_buckets
                )
            } else {
                String::new()
            }
        )),
        Feature::Sequence(s) => Some(format!(
            "series of {} steps x {} channels",
            s.shape.steps, s.shape.channels
        )),
        _ => None,
    }
}

impl TableProfile {
    /// A table for people.
    pub fn to_table(&self) -> String {
        let mut out = format!(
            "{}: {} rows, target '{}' ({}), {} network inputs\n\n",
            self.file, self.rows, self.target, self.task, self.n_inputs
        );
        let width = self
            .columns
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(6)
            .max(6);
        out += &format!(
            "{:<width$}  {:<8}  {:<11}  {:>7}  {:>8}  summary\n",
            "column", "role", "type", "missing", "distinct"
        );
        for c in &self.columns {
            let summary = match (c.mean, c.std) {
                _ if c.detail.is_some() => c.detail.clone().unwrap_or_default(),
                (Some(mean), Some(std)) => format!(
                    "mean {} std {} min {} max {}",
                    fixed_or_exponent(mean, 4),
                    fixed_or_exponent(std, 4),
                    readable(c.min.unwrap_or(f64::NAN)),
                    readable(c.max.unwrap_or(f64::NAN))
                ),
                _ => c
                    .top
                    .iter()
                    .map(|(v, n)| format!("{v} ({n})"))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            out += &format!(
                "{:<width$}  {:<8}  {:<11}  {:>7}  {:>8}  {summary}\n",
                c.name, c.role, c.kind, c.missing, c.distinct
            );
        }
        if !self.class_balance.is_empty() {
            out += "\nclass balance:\n";
            for (label, n) in &self.class_balance {
                let share = 100.0 * *n as f64 / self.rows.max(1) as f64;
                out += &format!("  {label}: {n} ({share:.1}%)\n");
            }
        }
        out
    }
}
