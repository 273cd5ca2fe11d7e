//! Bytes as the CSV input of a streaming prediction (`csvnn predict`'s path: chunks of
//! rows read, encoded and scored one after another) with a fixed small model trained once
//! on an embedded table. Reading may fail with an error; nothing may panic.

#![no_main]

use std::sync::OnceLock;

use csvnn::data::{read_table_from, CsvOptions, TableChunks};
use csvnn::model::Model;
use csvnn::train::{fit_table, TrainSettings};
use libfuzzer_sys::fuzz_target;

mod common;

/// The training table: a numeric, a categorical and a sparse column, a class target.
const TRAIN_CSV: &str = "\
age,colour,score,label
31,red,0.5,yes
42,blue,,no
25,green,1.5,yes
57,red,2.5,no
38,blue,0.25,yes
49,green,,no
";

/// The model every input is scored with, trained on first use.
fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let table = read_table_from(TRAIN_CSV.as_bytes(), "train.csv", &CsvOptions::default())
            .expect("the embedded table reads");
        let settings = TrainSettings {
            hidden: vec![4],
            epochs: 2,
            validation_split: 0.0,
            ..TrainSettings::new("train.csv", "label")
        };
        fit_table(table, &settings, &mut ()).expect("the embedded model trains")
    })
}

fuzz_target!(|bytes: &[u8]| {
    let model = model();
    let path = common::scratch("input.csv", bytes);
    let Ok(mut chunks) = TableChunks::open(path.to_str().unwrap(), &CsvOptions::default(), 3)
    else {
        return;
    };
    while let Ok(Some(table)) = chunks.next_chunk() {
        common::predict_rows(model, &table);
    }
});
