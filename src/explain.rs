//! Permutation importance of each input column of a model: how much the main metric
//! (accuracy for classification, R² for regression) drops when the column's values are
//! shuffled across the rows, over several seeded shuffles.
//!
//! A column is permuted as a whole, at the level of its raw cells: every network input it
//! becomes (one, or one per category of a one-hot column) moves together. The pipeline
//! transforms each cell on its own, so permuting the rows of a column's block of encoded
//! inputs is the same as permuting its cells before the transform; that is what is done,
//! so the table is transformed once.

use ndarray::{s, Array2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::RawTable;
use crate::error::{Error, Location, Result, Setting};
use crate::metrics::{accuracy, r2};
use crate::model::{Model, Predictions};
use crate::preprocess::{target_index, EncodedTargets, UnknownCategories};
use crate::train::{rows_with_target_noticed, Observer};

/// Settings of a permutation-importance run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExplainConfig {
    /// Shuffles per column (at least 1).
    pub repeats: usize,
    /// Seed of the one RNG all shuffles are drawn from.
    pub seed: u64,
    /// The sample the rows were drawn as, recorded in the result; `None` for a whole
    /// input.
    pub sample: Option<RowSample>,
}

/// The rows an importance was computed on, when they were drawn as a sample of the
/// input (`data::sample_table`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowSample {
    /// The sample size asked for.
    pub requested: usize,
    /// Rows in the sample: the size asked for, or every row of a smaller input.
    pub rows: u64,
    /// Data rows in the input.
    pub of_rows: u64,
    /// The seed of the sample's draws.
    pub seed: u64,
}

/// The importance of one input column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnImportance {
    /// The column's name.
    pub column: String,
    /// "numeric", "categorical" or "ordinal".
    pub kind: String,
    /// Mean over the repeats of (baseline score - score with the column shuffled).
    pub mean_drop: f64,
    /// Population standard deviation of the drops.
    pub std_drop: f64,
    /// The drop of each repeat.
    pub drops: Vec<f64>,
}

/// Permutation importance of every feature column, most important first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    /// "accuracy" (classification) or "r2" (regression).
    pub metric: String,
    /// The metric on the rows as they are.
    pub baseline: f64,
    /// Rows scored (those with a target value).
    pub rows: usize,
    /// Shuffles per column.
    pub repeats: usize,
    /// The seed the shuffles were drawn with.
    pub seed: u64,
    /// The sample the rows were drawn as; `None` (null) when they are the whole input.
    #[serde(default)]
    pub sample: Option<RowSample>,
    /// Sorted by mean drop, largest first (ties by column order in the model).
    pub columns: Vec<ColumnImportance>,
}

/// What was scored, besides the importance: categories not seen in training.
pub struct Explained {
    /// The importance of every feature column.
    pub importance: Importance,
    /// Values of categorical columns that the model did not see in training.
    pub unknown_categories: Vec<UnknownCategories>,
}

/// The model's main metric on network inputs `x` against `targets`.
fn score(model: &Model, x: &Array2<f32>, targets: &EncodedTargets) -> f64 {
    match (model.predict(x.view()), targets) {
        (Predictions::Classes { classes, .. }, EncodedTargets::Classes(truth)) => {
            let truth: Vec<usize> = truth.iter().map(|&c| c as usize).collect();
            accuracy(&truth, &classes)
        }
        (Predictions::Values(values), EncodedTargets::Values { raw, .. }) => r2(raw, &values),
        _ => unreachable!("predictions and targets come from one encoder"),
    }
}

/// Permutation importance of each feature column of `model` on the rows of `table` whose
/// target is present (the others are told to `observer`, as `evaluate` tells them). Shuffles are drawn from one RNG seeded with `config.seed`,
/// column by column in model order, so a seed gives the same result on any machine.
pub fn permutation_importance(
    model: &Model,
    table: &RawTable,
    config: &ExplainConfig,
    observer: &mut dyn Observer,
) -> Result<Explained> {
    if config.repeats == 0 {
        return Err(Error::BadSetting {
            setting: Setting::Repeats,
            problem: "must be at least 1".to_string(),
        });
    }
    let pipeline = &model.pipeline;
    let target = target_index(table, &pipeline.target)?;
    let rows = &rows_with_target_noticed(table, target, &pipeline.na_values, false, observer);
    if rows.len() < 2 {
        return Err(Error::data(
            Location::file(&table.source),
            format!(
                "{} row(s) with a target value; expected at least 2 to shuffle",
                rows.len()
            ),
        ));
    }
    let transformed = pipeline.transform(table, Some(rows))?;
    let targets = pipeline.encode_targets(table, rows)?;
    let x = transformed.x;
    let baseline = score(model, &x, &targets);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut shuffled = x.clone();
    let mut columns = Vec::with_capacity(pipeline.features.len());
    let mut offset = 0;
    for feature in &pipeline.features {
        let block = offset..offset + feature.width();
        let original = x.slice(s![.., block.clone()]);
        let mut drops = Vec::with_capacity(config.repeats);
        for _ in 0..config.repeats {
            order.shuffle(&mut rng);
            for (mut dst, &from) in shuffled
                .slice_mut(s![.., block.clone()])
                .axis_iter_mut(Axis(0))
                .zip(&order)
            {
                dst.assign(&original.row(from));
            }
            drops.push(baseline - score(model, &shuffled, &targets));
        }
        shuffled.slice_mut(s![.., block]).assign(&original);
        offset += feature.width();
        let mean = drops.iter().sum::<f64>() / drops.len() as f64;
        let var = drops.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / drops.len() as f64;
        columns.push(ColumnImportance {
            column: feature.name().to_string(),
            kind: feature.kind().to_string(),
            mean_drop: mean,
            std_drop: var.sqrt(),
            drops,
        });
    }
    // Stable: equal drops keep the model's column order.
    columns.sort_by(|a, b| b.mean_drop.total_cmp(&a.mean_drop));
    Ok(Explained {
        importance: Importance {
            metric: match targets {
                EncodedTargets::Classes(_) => "accuracy",
                EncodedTargets::Values { .. } => "r2",
            }
            .to_string(),
            baseline,
            rows: rows.len(),
            repeats: config.repeats,
            seed: config.seed,
            sample: config.sample,
            columns,
        },
        unknown_categories: transformed.unknown_categories,
    })
}

impl Importance {
    /// A fixed-width table for people.
    pub fn to_table(&self) -> String {
        use std::fmt::Write as _;
        let metric = match self.metric.as_str() {
            "r2" => "R²",
            other => other,
        };
        let mut out = format!(
            "permutation importance: drop in {metric} when a column is shuffled\n\
             baseline {metric} {:.4} on {} rows; {} repeats, seed {}\n\n",
            self.baseline, self.rows, self.repeats, self.seed
        );
        if let Some(sample) = &self.sample {
            out.pop();
            if sample.rows < sample.of_rows {
                let _ = writeln!(
                    out,
                    "computed on a uniform sample of {} of {} rows, sample seed {}\n",
                    sample.rows, sample.of_rows, sample.seed
                );
            } else {
                let _ = writeln!(
                    out,
                    "computed on all {} rows (a sample of {} was asked for)\n",
                    sample.of_rows, sample.requested
                );
            }
        }
        let width = self
            .columns
            .iter()
            .map(|c| c.column.chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        let _ = writeln!(
            out,
            "{:>4}  {:<width$}  {:<11}  {:>9}  {:>8}",
            "rank", "column", "kind", "mean_drop", "std"
        );
        for (rank, c) in self.columns.iter().enumerate() {
            let _ = writeln!(
                out,
                "{:>4}  {:<width$}  {:<11}  {:>9.4}  {:>8.4}",
                rank + 1,
                c.column,
                c.kind,
                c.mean_drop,
                c.std_drop
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{read_table, CsvOptions};
    use crate::preprocess::{FitOptions, Pipeline, Task};

    fn chile() -> RawTable {
        let path = format!("{}/data/chile_vote.test.csv", env!("CARGO_MANIFEST_DIR"));
        read_table(&path, &CsvOptions::default()).unwrap()
    }

    #[test]
    fn permuting_encoded_blocks_equals_permuting_raw_cells() {
        let table = chile();
        let rows: Vec<usize> = (0..table.n_rows()).collect();
        let options = FitOptions {
            target: "vote".into(),
            ..FitOptions::default()
        };
        let (pipeline, _) = Pipeline::fit(&table, &rows, Task::Classification, &options).unwrap();
        let x = pipeline.transform(&table, None).unwrap().x;
        let mut order = rows.clone();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(3));
        // Permute the raw cells of the categorical column 'education'.
        let column = table.column_index("education").unwrap();
        let mut permuted = table.clone();
        permuted.columns[column] = table.columns[column].gather(&order);
        let x_raw = pipeline.transform(&permuted, None).unwrap().x;
        // Permute its block of one-hot inputs instead.
        let mut offset = 0;
        let mut x_block = x.clone();
        for feature in &pipeline.features {
            if feature.name() == "education" {
                for (i, &from) in order.iter().enumerate() {
                    let src = x.slice(s![from, offset..offset + feature.width()]);
                    x_block
                        .slice_mut(s![i, offset..offset + feature.width()])
                        .assign(&src);
                }
                assert!(feature.width() > 1);
            }
            offset += feature.width();
        }
        assert_eq!(x_raw, x_block);
        assert_ne!(x_raw, x);
    }
}
