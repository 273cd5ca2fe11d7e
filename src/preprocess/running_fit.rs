//! `RunningFit`: a pipeline fitted from running statistics, one row at a time, for data
//! read as a stream. The column kinds come from a template pipeline (fitted in memory on
//! the first rows); the statistics come from every training row: Welford means and
//! variances for numeric and ordinal columns and a regression target, category counts
//! kept exactly up to a bound and as a Misra-Gries summary beyond it, the target's labels.

use std::collections::HashMap;

use super::categorical::CategoricalColumn;
use super::numeric::NumericColumn;
use super::ordinal::OrdinalColumn;
use super::pipeline::{Feature, Pipeline};
use super::target::TargetEncoder;
use super::target_values::parse_target_value;
use crate::data::{Cell, Cells, NaValues, RawTable};
use crate::error::{Error, Location, Result};

/// Running mean and population variance (Welford), and the largest magnitude.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Welford {
    n: u64,
    mean: f64,
    m2: f64,
    max_abs: f64,
}

impl Welford {
    /// Add one value.
    pub fn add(&mut self, v: f64) {
        self.n += 1;
        let delta = v - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (v - self.mean);
        self.max_abs = self.max_abs.max(v.abs());
    }

    /// Values added.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Mean and population std with `mean_and_std`'s rules: (0, 1) without values or
    /// when all are 0, std 1 for a constant column.
    pub fn mean_and_std(&self) -> (f64, f64) {
        if self.n == 0 || self.max_abs == 0.0 {
            return (0.0, 1.0);
        }
        let std = (self.m2 / self.n as f64).max(0.0).sqrt();
        let std = if std <= self.max_abs * 1e-12 {
            1.0
        } else {
            std
        };
        (self.mean, std)
    }
}

/// Distinct values and their counts in bounded memory: exact while at most `limit`
/// values are distinct; past that a Misra-Gries summary of `limit` counters, which keeps
/// every value more frequent than `rows / (limit + 1)` and undercounts by at most that.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryCounts {
    limit: usize,
    counts: HashMap<String, u64>,
    total: u64,
}

impl CategoryCounts {
    /// An empty summary of at most `limit` (at least 1) counters.
    pub fn new(limit: usize) -> Self {
        CategoryCounts {
            limit: limit.max(1),
            counts: HashMap::new(),
            total: 0,
        }
    }

    /// Count one value.
    pub fn add(&mut self, value: &str) {
        self.total += 1;
        if let Some(c) = self.counts.get_mut(value) {
            *c += 1;
        } else if self.counts.len() < self.limit {
            self.counts.insert(value.to_string(), 1);
        } else {
            // Misra-Gries: the new value and every counter lose one; at most
            // total / (limit + 1) such steps, so O(1) per value amortised.
            self.counts.retain(|_, c| {
                *c -= 1;
                *c > 0
            });
        }
    }

    /// The values kept with their counts, and the rows not accounted for by them (0
    /// while the counts are exact).
    pub fn entries(&self) -> (Vec<(String, u64)>, u64) {
        let entries: Vec<(String, u64)> =
            self.counts.iter().map(|(v, &c)| (v.clone(), c)).collect();
        let counted: u64 = entries.iter().map(|&(_, c)| c).sum();
        (entries, self.total - counted)
    }
}

/// The running statistics of one feature column.
#[derive(Debug, Clone)]
enum ColumnStats {
    Numeric {
        values: Welford,
        non_finite: u64,
    },
    Categorical(CategoryCounts),
    Ordinal {
        column: OrdinalColumn,
        indices: Welford,
    },
}

/// The target's running statistics.
#[derive(Debug, Clone)]
enum TargetStats {
    Labels(HashMap<String, u64>),
    Values(Welford),
}

/// Most distinct target labels a streamed classification fit keeps.
pub const MAX_STREAM_LABELS: usize = 100_000;

/// A pipeline fitted one row at a time (see the module docs).
#[derive(Debug, Clone)]
pub struct RunningFit {
    template: Pipeline,
    max_categories: usize,
    /// Per feature of the template: its table column and statistics.
    columns: Vec<(usize, ColumnStats)>,
    target: usize,
    target_stats: TargetStats,
    rows: u64,
}

impl RunningFit {
    /// Statistics for the features of `template` (numeric, categorical and ordinal
    /// only), read from tables with `headers`. Categorical columns count exactly up to
    /// `category_limit` distinct values.
    pub fn new(
        template: &Pipeline,
        headers: &[String],
        max_categories: usize,
        category_limit: usize,
    ) -> Result<Self> {
        let index = |name: &str| {
            headers.iter().position(|h| h == name).ok_or_else(|| {
                Error::config(format!("the column '{name}' is missing from the stream"))
            })
        };
        let mut columns = Vec::new();
        for feature in &template.features {
            let stats = match feature {
                Feature::Numeric(_) => ColumnStats::Numeric {
                    values: Welford::default(),
                    non_finite: 0,
                },
                Feature::Categorical(_) => {
                    ColumnStats::Categorical(CategoryCounts::new(category_limit))
                }
                Feature::Ordinal(o) => ColumnStats::Ordinal {
                    column: OrdinalColumn {
                        counts: vec![0; o.levels.len()],
                        ..o.clone()
                    },
                    indices: Welford::default(),
                },
                other => {
                    return Err(Error::config(format!(
                        "the column '{}' is a {} column, which streaming does not support yet; expected numeric, categorical or ordinal columns",
                        other.name(),
                        other.kind()
                    )))
                }
            };
            columns.push((index(feature.name())?, stats));
        }
        let target_stats = match template.target_encoder {
            TargetEncoder::Classification { .. } => TargetStats::Labels(HashMap::new()),
            TargetEncoder::Regression { .. } => TargetStats::Values(Welford::default()),
        };
        Ok(RunningFit {
            template: template.clone(),
            max_categories,
            columns,
            target: index(&template.target)?,
            target_stats,
            rows: 0,
        })
    }

    /// Training rows added so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Add `row` of `table` (a training row with a target). A numeric column's cell that
    /// is not a number is an error: the first rows typed the column.
    pub fn add_row(&mut self, table: &RawTable, row: usize) -> Result<()> {
        self.add_rows(table, &[row])
    }

    /// Add `rows` of `table` in turn, as `add_row` does; each column's cells are looked
    /// at once per call, not once per row.
    pub fn add_rows(&mut self, table: &RawTable, rows: &[usize]) -> Result<()> {
        let RunningFit {
            template,
            columns,
            target,
            target_stats,
            rows: count,
            ..
        } = self;
        let na: &NaValues = &template.na_values;
        let cells: Vec<Option<Cells>> = columns
            .iter()
            .map(|(index, stats)| {
                matches!(stats, ColumnStats::Numeric { .. })
                    .then(|| table.columns[*index].cells(na))
            })
            .collect();
        for &row in rows {
            for ((index, stats), cells) in columns.iter_mut().zip(&cells) {
                let column = &table.columns[*index];
                match stats {
                    ColumnStats::Numeric { values, non_finite } => {
                        let cells = cells.as_ref().expect("cells of each numeric column");
                        match cells.get(row) {
                            Cell::Missing => {}
                            Cell::Number(v) => values.add(v),
                            Cell::NonFinite => *non_finite += 1,
                            Cell::Text(text) => {
                                return Err(Error::data(
                                    table.location(row, *index),
                                    format!("'{text}' is not a number, but the column held only numbers in the first rows, which decide a column's kind when the data are streamed; expected a number, or the column declared categorical"),
                                ))
                            }
                        }
                    }
                    ColumnStats::Categorical(counts) => {
                        let text = column.text_at(row);
                        if !na.is_missing(&text) {
                            counts.add(&text);
                        }
                    }
                    ColumnStats::Ordinal { column: o, indices } => {
                        let text = column.text_at(row);
                        if let Some(i) = o.index(&text) {
                            o.counts[i] += 1;
                            indices.add(i as f64);
                        }
                    }
                }
            }
            match target_stats {
                TargetStats::Labels(labels) => {
                    let label = table.columns[*target].text_at(row);
                    if let Some(c) = labels.get_mut(label.as_ref()) {
                        *c += 1;
                    } else if labels.len() < MAX_STREAM_LABELS {
                        labels.insert(label.into_owned(), 1);
                    } else {
                        return Err(Error::data(
                            table.location(row, *target),
                            format!("the target has more than {MAX_STREAM_LABELS} distinct labels; expected a classification target with fewer classes"),
                        ));
                    }
                }
                TargetStats::Values(values) => values.add(parse_target_value(table, *target, row)?),
            }
            *count += 1;
        }
        Ok(())
    }

    /// Rows per class label (empty for regression).
    pub fn label_counts(&self) -> Vec<(String, u64)> {
        match &self.target_stats {
            TargetStats::Labels(labels) => labels.iter().map(|(l, &c)| (l.clone(), c)).collect(),
            TargetStats::Values(_) => Vec::new(),
        }
    }

    /// The fitted pipeline; columns without any value are dropped. `source` names the
    /// file in errors.
    pub fn finish(&self, source: &str) -> Result<Pipeline> {
        let mut features = Vec::new();
        let mut dropped = self.template.dropped.clone();
        for (feature, (_, stats)) in self.template.features.iter().zip(&self.columns) {
            let name = feature.name();
            let fitted = match stats {
                ColumnStats::Numeric { values, .. } if values.count() > 0 => {
                    let (mean, std) = values.mean_and_std();
                    Some(Feature::Numeric(NumericColumn {
                        name: name.to_string(),
                        impute: mean,
                        mean,
                        std,
                    }))
                }
                ColumnStats::Categorical(counts) => {
                    let (entries, uncounted) = counts.entries();
                    (!entries.is_empty()).then(|| {
                        Feature::Categorical(CategoricalColumn::from_counts(
                            name,
                            entries,
                            self.max_categories,
                            uncounted,
                        ))
                    })
                }
                ColumnStats::Ordinal { column, indices } if indices.count() > 0 => {
                    let (mean, std) = indices.mean_and_std();
                    Some(Feature::Ordinal(OrdinalColumn {
                        impute: mean,
                        mean,
                        std,
                        ..column.clone()
                    }))
                }
                _ => None,
            };
            match fitted {
                Some(f) => features.push(f),
                None => dropped.push(name.to_string()),
            }
        }
        let target_encoder = match &self.target_stats {
            TargetStats::Labels(labels) => {
                TargetEncoder::fit_classes(labels.keys().map(String::as_str))
            }
            TargetStats::Values(values) => {
                let (mean, std) = values.mean_and_std();
                TargetEncoder::Regression { mean, std }
            }
        };
        if self.rows == 0 {
            return Err(Error::data(
                Location::file(source),
                "no training row has a target value; expected at least one",
            ));
        }
        Ok(Pipeline {
            target: self.template.target.clone(),
            target_encoder,
            features,
            dropped,
            na_values: self.template.na_values.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::numeric::mean_and_std;

    #[test]
    fn welford_matches_the_two_pass_mean_and_std() {
        let values = [3.5, -1.0, 7.25, 0.0, 2.0, 1e6, -3e5];
        let mut w = Welford::default();
        values.iter().for_each(|&v| w.add(v));
        let (m, s) = w.mean_and_std();
        let (m2, s2) = mean_and_std(&values);
        assert!((m - m2).abs() < 1e-9 * m2.abs().max(1.0), "{m} {m2}");
        assert!((s - s2).abs() < 1e-9 * s2, "{s} {s2}");
        let mut constant = Welford::default();
        (0..5).for_each(|_| constant.add(7.0));
        assert_eq!(constant.mean_and_std(), (7.0, 1.0));
        assert_eq!(Welford::default().mean_and_std(), (0.0, 1.0));
    }

    #[test]
    fn counts_are_exact_below_the_limit() {
        let mut counts = CategoryCounts::new(10);
        for v in ["a", "b", "a", "c", "a"] {
            counts.add(v);
        }
        let (mut entries, uncounted) = counts.entries();
        entries.sort();
        assert_eq!(entries, [("a".into(), 3), ("b".into(), 1), ("c".into(), 1)]);
        assert_eq!(uncounted, 0);
    }

    #[test]
    fn misra_gries_keeps_the_heavy_hitters_past_the_limit() {
        let mut counts = CategoryCounts::new(4);
        // "hot" is a third of 3000 rows; the rest are all distinct.
        for i in 0..3000 {
            if i % 3 == 0 {
                counts.add("hot");
            } else {
                counts.add(&format!("v{i}"));
            }
        }
        let (entries, uncounted) = counts.entries();
        assert!(entries.len() <= 4);
        let hot = entries.iter().find(|(v, _)| v == "hot").expect("kept").1;
        // Undercounted by at most 3000 / 5.
        assert!((400..=1000).contains(&hot), "{hot}");
        let kept: u64 = entries.iter().map(|e| e.1).sum();
        assert_eq!(kept + uncounted, 3000);
        let column = CategoricalColumn::from_counts("c", entries, 1000, uncounted);
        assert!(column.other.is_some());
        assert!(column.categories.contains(&"hot".to_string()));
    }

    #[test]
    fn from_counts_without_loss_equals_fit() {
        let values = ["a", "a", "a", "b", "b", "c", "d", "e", "e"];
        for max in [3, 5, 1000] {
            let fitted = CategoricalColumn::fit("c", values.into_iter(), max);
            let mut counts = CategoryCounts::new(100);
            values.iter().for_each(|v| counts.add(v));
            let (entries, uncounted) = counts.entries();
            assert_eq!(
                CategoricalColumn::from_counts("c", entries, max, uncounted),
                fitted
            );
        }
    }
}
