//! `Pipeline`: everything needed to turn the rows of a CSV file into network inputs and
//! targets, matched by column name. Fitted on training rows only, saved in the model.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::{CategoricalColumn, NumericColumn, TargetEncoder, Task};
use crate::data::{parse_cell, Cell, NaValues, RawTable};
use crate::error::{Error, Location, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Feature {
    Numeric(NumericColumn),
    Categorical(CategoricalColumn),
}

impl Feature {
    pub fn name(&self) -> &str {
        match self {
            Feature::Numeric(c) => &c.name,
            Feature::Categorical(c) => &c.name,
        }
    }

    /// Number of network inputs this column becomes.
    pub fn width(&self) -> usize {
        match self {
            Feature::Numeric(_) => 1,
            Feature::Categorical(c) => c.width(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    pub target: String,
    pub target_encoder: TargetEncoder,
    /// Feature columns in the order of the network's inputs.
    pub features: Vec<Feature>,
    /// Columns ignored by name (`--drop`, and columns with no value in training).
    pub dropped: Vec<String>,
    pub na_values: NaValues,
}

/// What `Pipeline::fit` needs besides the data.
#[derive(Debug, Clone, Default)]
pub struct FitOptions {
    pub target: String,
    pub drop: Vec<String>,
    pub categorical: Vec<String>,
    pub na_values: NaValues,
}

/// Network inputs for a set of rows, and what could not be encoded.
#[derive(Debug, Clone)]
pub struct Transformed {
    /// (n_rows, n_inputs)
    pub x: Array2<f32>,
    pub unknown_categories: Vec<UnknownCategories>,
}

/// Values of a categorical column not seen in training (encoded as all zeros).
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownCategories {
    pub column: String,
    pub count: usize,
    pub first_value: String,
    pub first_line: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EncodedTargets {
    /// Class indices into the encoder's labels.
    Classes(Vec<u32>),
    /// Values in the target's units and standardised for the network.
    Values {
        raw: Vec<f64>,
        standardised: Vec<f32>,
    },
}

/// Check that every named column exists, naming the flag that asked for it.
pub fn check_columns_exist(table: &RawTable, names: &[String], flag: &str) -> Result<()> {
    for name in names {
        if table.column_index(name).is_none() {
            return Err(Error::data(
                Location::file(&table.source),
                format!(
                    "{flag} names the column '{name}', which does not exist; the columns are: {}",
                    table.header_list()
                ),
            ));
        }
    }
    Ok(())
}

/// The index of the target column, or an error listing the columns that exist.
pub fn target_index(table: &RawTable, target: &str) -> Result<usize> {
    table.column_index(target).ok_or_else(|| {
        Error::data(
            Location::file(&table.source),
            format!(
                "the target column '{target}' was not found; the columns are: {}",
                table.header_list()
            ),
        )
    })
}

/// Rows whose target is present, and the lines of those whose target is missing.
pub fn rows_with_target(table: &RawTable, target: usize, na: &NaValues) -> (Vec<usize>, Vec<u64>) {
    let column = &table.columns[target];
    let mut kept = Vec::with_capacity(table.n_rows());
    let mut missing = Vec::new();
    for row in 0..table.n_rows() {
        if na.is_missing(column.get(row)) {
            missing.push(table.lines[row]);
        } else {
            kept.push(row);
        }
    }
    (kept, missing)
}

impl Pipeline {
    /// Fit every transform on `rows` of `table` (rows whose target is present).
    /// Returns the pipeline and warnings about what was repaired or dropped.
    pub fn fit(
        table: &RawTable,
        rows: &[usize],
        task: Task,
        options: &FitOptions,
    ) -> Result<(Pipeline, Vec<String>)> {
        let target = target_index(table, &options.target)?;
        check_columns_exist(table, &options.drop, "--drop")?;
        check_columns_exist(table, &options.categorical, "--categorical")?;
        let na = &options.na_values;
        let mut warnings = Vec::new();
        let mut features = Vec::new();
        let mut dropped = options.drop.clone();

        for (index, name) in table.headers.iter().enumerate() {
            if index == target || options.drop.contains(name) {
                continue;
            }
            let column = &table.columns[index];
            let forced_categorical = options.categorical.contains(name);
            let mut numbers = Vec::with_capacity(rows.len());
            let mut is_numeric = !forced_categorical;
            let mut present = 0usize;
            let mut non_finite = 0usize;
            for &row in rows {
                match parse_cell(column.get(row), na) {
                    Cell::Missing => {}
                    Cell::Number(v) => {
                        present += 1;
                        numbers.push(v);
                    }
                    Cell::NonFinite => {
                        present += 1;
                        non_finite += 1;
                    }
                    Cell::Text(_) => {
                        present += 1;
                        is_numeric = false;
                    }
                }
            }
            if present == 0 {
                warnings.push(format!(
                    "{}: column '{name}' has no value in the training rows; it is dropped",
                    table.source
                ));
                dropped.push(name.clone());
                continue;
            }
            if is_numeric {
                if non_finite > 0 {
                    warnings.push(format!(
                        "{}: column '{name}': {non_finite} infinite or out-of-range values are treated as missing",
                        table.source
                    ));
                }
                features.push(Feature::Numeric(NumericColumn::fit(name, &numbers)));
            } else {
                let values = rows
                    .iter()
                    .map(|&row| column.get(row))
                    .filter(|v| !na.is_missing(v));
                features.push(Feature::Categorical(CategoricalColumn::fit(name, values)));
            }
        }

        let target_values = rows.iter().map(|&row| table.columns[target].get(row));
        let target_encoder = match task {
            Task::Classification => TargetEncoder::fit_classes(target_values),
            Task::Regression => {
                let mut values = Vec::with_capacity(rows.len());
                for &row in rows {
                    values.push(parse_target_value(table, target, row)?);
                }
                TargetEncoder::fit_values(&values)
            }
        };

        let pipeline = Pipeline {
            target: options.target.clone(),
            target_encoder,
            features,
            dropped,
            na_values: na.clone(),
        };
        Ok((pipeline, warnings))
    }

    pub fn task(&self) -> Task {
        self.target_encoder.task()
    }

    /// Number of network inputs.
    pub fn n_inputs(&self) -> usize {
        self.features.iter().map(Feature::width).sum()
    }

    /// Input columns of `table` the pipeline does not use (neither feature, target nor dropped).
    pub fn unused_columns<'a>(&self, table: &'a RawTable) -> Vec<&'a str> {
        table
            .headers
            .iter()
            .filter(|h| {
                **h != self.target
                    && !self.dropped.contains(h)
                    && !self.features.iter().any(|f| f.name() == h.as_str())
            })
            .map(String::as_str)
            .collect()
    }

    /// Network inputs for `rows` of `table` (all rows when `None`), columns found by name.
    pub fn transform(&self, table: &RawTable, rows: Option<&[usize]>) -> Result<Transformed> {
        let all_rows: Vec<usize>;
        let rows = match rows {
            Some(rows) => rows,
            None => {
                all_rows = (0..table.n_rows()).collect();
                &all_rows
            }
        };
        let mut x = Array2::<f32>::zeros((rows.len(), self.n_inputs()));
        let mut unknown_categories = Vec::new();
        let mut offset = 0;
        for feature in &self.features {
            let index = table.column_index(feature.name()).ok_or_else(|| {
                Error::data(
                    Location::file(&table.source),
                    format!(
                        "the feature column '{}' is missing; the model needs it (the columns are: {})",
                        feature.name(),
                        table.header_list()
                    ),
                )
            })?;
            let column = &table.columns[index];
            match feature {
                Feature::Numeric(numeric) => {
                    for (i, &row) in rows.iter().enumerate() {
                        let value = match parse_cell(column.get(row), &self.na_values) {
                            Cell::Number(v) => Some(v),
                            Cell::Missing | Cell::NonFinite => None,
                            Cell::Text(text) => {
                                return Err(Error::data(
                                    table.location(row, index),
                                    format!("'{text}' is not a number; expected a number (the column is numeric in the model)"),
                                ))
                            }
                        };
                        x[[i, offset]] = numeric.transform(value);
                    }
                }
                Feature::Categorical(categorical) => {
                    let mut unknown: Option<UnknownCategories> = None;
                    for (i, &row) in rows.iter().enumerate() {
                        let cell = column.get(row);
                        let value = (!self.na_values.is_missing(cell)).then_some(cell);
                        match categorical.position(value) {
                            Some(position) => x[[i, offset + position]] = 1.0,
                            None => {
                                let entry = unknown.get_or_insert_with(|| UnknownCategories {
                                    column: categorical.name.clone(),
                                    count: 0,
                                    first_value: cell.to_string(),
                                    first_line: table.lines[row],
                                });
                                entry.count += 1;
                            }
                        }
                    }
                    unknown_categories.extend(unknown);
                }
            }
            offset += feature.width();
        }
        Ok(Transformed {
            x,
            unknown_categories,
        })
    }

    /// Targets of `rows` (whose target is present) for training or scoring.
    pub fn encode_targets(&self, table: &RawTable, rows: &[usize]) -> Result<EncodedTargets> {
        let target = target_index(table, &self.target)?;
        match &self.target_encoder {
            TargetEncoder::Classification { labels } => {
                let mut classes = Vec::with_capacity(rows.len());
                for &row in rows {
                    let label = table.columns[target].get(row);
                    let class = self.target_encoder.class_index(label).ok_or_else(|| {
                        Error::data(
                            table.location(row, target),
                            format!(
                                "the label '{label}' was not seen in training; the model knows: {}",
                                labels.join(", ")
                            ),
                        )
                    })?;
                    classes.push(class as u32);
                }
                Ok(EncodedTargets::Classes(classes))
            }
            TargetEncoder::Regression { mean, std } => {
                let mut raw = Vec::with_capacity(rows.len());
                for &row in rows {
                    raw.push(parse_target_value(table, target, row)?);
                }
                let standardised = raw.iter().map(|v| ((v - mean) / std) as f32).collect();
                Ok(EncodedTargets::Values { raw, standardised })
            }
        }
    }
}

fn parse_target_value(table: &RawTable, target: usize, row: usize) -> Result<f64> {
    let cell = table.columns[target].get(row);
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(Error::data(
            table.location(row, target),
            format!("'{cell}' is not a finite number; expected a number for a regression target"),
        )),
    }
}
