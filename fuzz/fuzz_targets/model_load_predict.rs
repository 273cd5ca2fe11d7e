//! Bytes as a model file: load it (every check of `Model::load`), then predict a few
//! fixed rows built from the model's own feature names. Loading may fail with an error;
//! nothing may panic, abort or allocate without bound.

#![no_main]

use std::io::Cursor;

use csvnn::data::{read_table_from, CsvOptions};
use csvnn::model::Model;
use csvnn::preprocess::Feature;
use libfuzzer_sys::fuzz_target;

mod common;

/// A CSV field, quoted.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// A typical value of one of a feature's columns.
fn typical(feature: &Feature) -> String {
    match feature {
        Feature::Numeric(c) => c.mean.to_string(),
        Feature::Categorical(c) => quoted(c.categories.first().map_or("", String::as_str)),
        Feature::Date(_) => "2020-02-29T12:00:00Z".to_string(),
        Feature::Text(c) => quoted(&c.vocabulary.iter().take(3).cloned().collect::<Vec<_>>().join(" ")),
        _ => "1".to_string(),
    }
}

/// Four rows for the model's features (every column of a series): typical values, all
/// missing, text where numbers go (and unseen categories), and extreme numbers.
fn fixed_rows(model: &Model) -> String {
    let features = &model.pipeline.features;
    let mut names: Vec<String> = features
        .iter()
        .flat_map(|f| f.columns())
        .map(quoted)
        .collect();
    names.push(quoted(&model.pipeline.target));
    let mut csv = names.join(",") + "\n";
    let rows: [&dyn Fn(&Feature) -> String; 4] = [
        &typical,
        &|_| String::new(),
        &|_| "unseen".to_string(),
        &|_| "-1e308".to_string(),
    ];
    for row in rows {
        let mut cells: Vec<String> = features
            .iter()
            .flat_map(|f| vec![row(f); f.columns().len()])
            .collect();
        cells.push(String::new());
        csv += &(cells.join(",") + "\n");
    }
    csv
}

fuzz_target!(|bytes: &[u8]| {
    let path = common::scratch("model.json", bytes);
    let Ok(model) = Model::load(&path) else {
        return;
    };
    let options = CsvOptions {
        delimiter: Some(b','),
        skip_bad_rows: false,
        columns: None,
    };
    let rows = fixed_rows(&model);
    if let Ok(table) = read_table_from(Cursor::new(rows.into_bytes()), "rows.csv", &options) {
        common::predict_rows(&model, &table);
    }
});
