//! Bytes as a training CSV: read it, take the last column as the target, choose the task,
//! fit the pipeline on the rows with a target, then encode those rows' inputs and
//! targets (what `csvnn train` does before the network). Errors are fine; panics are not.

#![no_main]

use std::io::Cursor;

use csvnn::data::{read_table_from, CsvOptions, NaValues};
use csvnn::preprocess::{choose_task, rows_with_target, FitOptions, Pipeline, TaskChoice};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(table) = read_table_from(Cursor::new(bytes), "fuzz.csv", &CsvOptions::default()) else {
        return;
    };
    let Some(target) = table.headers.len().checked_sub(1) else {
        return;
    };
    let (rows, _missing) = rows_with_target(&table, target, &NaValues::default());
    let Ok((task, _reason)) = choose_task(TaskChoice::Auto, &table, target, &rows) else {
        return;
    };
    let options = FitOptions {
        target: table.headers[target].clone(),
        // Small, so that folding the rarest categories into one input is exercised.
        max_categories: 3,
        ..FitOptions::default()
    };
    let Ok((pipeline, _warnings)) = Pipeline::fit(&table, &rows, task, &options) else {
        return;
    };
    if let Ok(transformed) = pipeline.transform(&table, Some(&rows)) {
        assert_eq!(transformed.x.dim(), (rows.len(), pipeline.n_inputs()));
    }
    let _ = pipeline.encode_targets(&table, &rows);
});
