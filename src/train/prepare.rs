//! `prepare`: the second stage of a fit. Split a pool of rows for validation, fit the
//! pipeline on the training rows (or take the given one), and encode both parts.

use ndarray::Array2;

use super::monitor::Monitor;
use super::notice::Notice;
use super::settings::TrainSettings;
use super::settings_error::SettingsError;
use super::source::{rows_with_target_noticed, Source};
use super::trainer::{Dataset, Observer, OwnedTargets};
use crate::data::{read_nonempty, shuffled_split, stratified_split, Cell, RawTable};
use crate::error::{Error, Location, Result};
use crate::nn::ImageShape;
use crate::preprocess::{
    target_index, EncodedTargets, Feature, FitOptions, NumericColumn, Pipeline, Task,
};

/// Data of one training run, ready for the loop.
#[derive(Debug)]
pub struct Prepared {
    /// The pipeline fitted on the training rows (or given).
    pub pipeline: Pipeline,
    /// The training rows, encoded.
    pub train_data: Dataset,
    /// The validation rows, encoded, when there is validation.
    pub validation: Option<Dataset>,
    /// The rows of the source table that `train_data` holds, in its order.
    pub train_rows: Vec<usize>,
}

/// Split `pool` (rows of `source.table`) for validation, fit or reuse the pipeline on its
/// training rows, and encode both parts. A validation file, when set, is read here.
pub fn prepare(
    settings: &TrainSettings,
    source: &Source,
    pool: &[usize],
    observer: &mut dyn Observer,
) -> Result<Prepared> {
    let table = &source.table;
    let validation_table = match settings.validation.as_deref() {
        Some(path) => {
            let vt = read_nonempty(path, &settings.data.csv_options())?;
            observer.notice(Notice::Read { table: &vt });
            Some(vt)
        }
        None => None,
    };
    let whole = keeps_whole(settings, pool.len());
    if whole {
        observer.notice(Notice::SmallTableWhole { rows: pool.len() });
    }
    let (train_rows, split_rows) = if whole {
        (pool.to_vec(), Vec::new())
    } else {
        split_validation(settings, source, pool)?
    };
    let pipeline = match &source.preprocessor {
        Some(p) => p.clone(),
        None => {
            let options = FitOptions {
                target: settings.target.clone(),
                drop: settings.drop.clone(),
                categorical: settings.categorical.clone(),
                ordinal: settings.ordinal.clone(),
                na_values: settings.data.na_values(),
                max_categories: settings.max_categories,
                kinds: settings.kinds.clone(),
            };
            let (pipeline, warnings) = Pipeline::fit(table, &train_rows, source.task, &options)?;
            for w in &warnings {
                observer.notice(Notice::PipelineWarning(w));
            }
            pipeline
        }
    };
    let pipeline = match settings.image_shape {
        Some(image) if source.preprocessor.is_none() => {
            share_pixel_scale(pipeline, image, table, &train_rows)?
        }
        _ => pipeline,
    };
    if pipeline.needs_sequence_encoder().is_none() && !settings.encoders.is_unset() {
        return Err(SettingsError::EncodersWithoutSequences.into());
    }
    if source.task == Task::Classification && pipeline.target_encoder.labels().len() < 2 {
        return Err(Error::data(
            Location::file(&table.source).column(&settings.target),
            format!(
                "the target has only one class ('{}') in the training rows; expected at least two",
                pipeline
                    .target_encoder
                    .labels()
                    .first()
                    .map_or("", |s| s.as_str())
            ),
        ));
    }
    let train_x = pipeline.transform(table, Some(&train_rows))?;
    let train_data = dataset(train_x.x, pipeline.encode_targets(table, &train_rows)?);
    let validation = match &validation_table {
        Some(vt) => {
            let vtarget = target_index(vt, &settings.target)?;
            let vrows = rows_with_target_noticed(vt, vtarget, &pipeline.na_values, true, observer);
            if vrows.is_empty() {
                return Err(Error::data(
                    Location::file(&vt.source).column(&settings.target),
                    "no row has a target value; expected at least one to validate on",
                ));
            }
            Some(encode(&pipeline, vt, &vrows, observer)?)
        }
        None if !split_rows.is_empty() => Some(encode(&pipeline, table, &split_rows, observer)?),
        None => None,
    };
    if settings.reduce_on_plateau && validation.is_none() {
        return Err(SettingsError::PlateauNeedsValidation.into());
    }
    Ok(Prepared {
        pipeline,
        train_data,
        validation,
        train_rows,
    })
}

/// Encode validation rows, telling the observer about unseen categories and bad numbers.
fn encode(
    pipeline: &Pipeline,
    table: &RawTable,
    rows: &[usize],
    observer: &mut dyn Observer,
) -> Result<Dataset> {
    let transformed = pipeline.transform(table, Some(rows))?;
    for notice in Notice::findings(&table.source, &transformed) {
        observer.notice(notice);
    }
    Ok(dataset(
        transformed.x,
        pipeline.encode_targets(table, rows)?,
    ))
}

/// Below this many training rows, the default validation split is not made
/// (`TrainSettings::whole_small_tables`).
pub const SMALL_TABLE_ROWS: usize = 500;

/// Whether a table of `rows` trains whole (see `TrainSettings::whole_small_tables`).
fn keeps_whole(settings: &TrainSettings, rows: usize) -> bool {
    settings.whole_small_tables
        && rows < SMALL_TABLE_ROWS
        && settings.validation.is_none()
        && settings.validation_split > 0.0
        && !settings.reduce_on_plateau
        && settings.monitor == Monitor::Loss
}

/// Split `pool` into training and validation rows: a random split, stratified by class
/// for classification; none with a validation file or a split of 0.
fn split_validation(
    settings: &TrainSettings,
    source: &Source,
    pool: &[usize],
) -> Result<(Vec<usize>, Vec<usize>)> {
    if settings.validation.is_some() || settings.validation_split == 0.0 {
        return Ok((pool.to_vec(), Vec::new()));
    }
    let (a, b) = match source.task {
        Task::Classification => stratified_split(
            &source.label_groups(pool),
            settings.validation_split,
            settings.seed,
        ),
        Task::Regression => shuffled_split(pool.len(), settings.validation_split, settings.seed),
    };
    if a.is_empty() || b.is_empty() {
        return Err(SettingsError::TooFewRowsForSplit {
            file: source.table.source.clone(),
            rows: pool.len(),
            fraction: settings.validation_split,
        }
        .into());
    }
    let pick = |idx: Vec<usize>| idx.into_iter().map(|i| pool[i]).collect::<Vec<_>>();
    Ok((pick(a), pick(b)))
}

/// Encoded rows and their targets as the loop's `Dataset`.
pub(crate) fn dataset(x: Array2<f32>, targets: EncodedTargets) -> Dataset {
    let y = match targets {
        EncodedTargets::Classes(c) => OwnedTargets::Classes(c),
        EncodedTargets::Values { standardised, .. } => {
            let n = standardised.len();
            OwnedTargets::Values(Array2::from_shape_vec((n, 1), standardised).expect("n values"))
        }
    };
    Dataset { x, y }
}

/// Give every pixel column the mean and std of all pixels of the training rows: per-pixel
/// scaling would blow up rarely-lit border pixels, and a convolution shares its weights
/// across pixels.
fn share_pixel_scale(
    mut pipeline: Pipeline,
    image: ImageShape,
    table: &RawTable,
    rows: &[usize],
) -> Result<Pipeline> {
    let n_features = pipeline.features.len();
    let numeric: Vec<&mut NumericColumn> = pipeline
        .features
        .iter_mut()
        .filter_map(|f| match f {
            Feature::Numeric(n) => Some(n),
            _ => None,
        })
        .collect();
    if numeric.len() != image.len() || n_features != image.len() {
        return Err(SettingsError::ImageShapeMismatch {
            file: table.source.clone(),
            image,
            n_features,
            n_numeric: numeric.len(),
        }
        .into());
    }
    // Every pixel of every training row, missing ones at their column's imputed value.
    let (mut sum, mut sum_sq, mut count) = (0.0f64, 0.0f64, 0usize);
    for n in &numeric {
        let Some(column) = table.column(&n.name) else {
            continue; // the pipeline was fitted on this table, so every column is there
        };
        let cells = column.cells(&pipeline.na_values);
        for &row in rows {
            let v = match cells.get(row) {
                Cell::Number(v) => v,
                _ => n.impute,
            };
            sum += v;
            sum_sq += v * v;
            count += 1;
        }
    }
    let mean = sum / count.max(1) as f64;
    let std = (sum_sq / count.max(1) as f64 - mean * mean).max(0.0).sqrt();
    let std = if std > 0.0 { std } else { 1.0 };
    for n in numeric {
        n.mean = mean;
        n.std = std;
    }
    Ok(pipeline)
}
