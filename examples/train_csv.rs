//! Train on a CSV through the library's entry point, save the model, load it back, score
//! it on the test split and predict a few rows: what `csvnn train`, `evaluate` and
//! `predict` do, from Rust. Uses the shipped `data/chile_vote.*.csv`.
//!
//! ```text
//! cargo run --release --example train_csv
//! ```

use csvnn::data::{read_table, CsvOptions};
use csvnn::evaluate::{score, Scored};
use csvnn::model::{Model, Predictions};
use csvnn::train::{fit, TrainSettings};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The defaults of `csvnn train`, with fewer epochs and two hidden layers.
    let settings = TrainSettings {
        epochs: 30,
        hidden: vec![32, 16],
        ..TrainSettings::new(format!("{DATA}chile_vote.train.csv"), "vote")
    };
    // `&mut ()` ignores progress and notices; implement `csvnn::train::Observer` to see them.
    let model = fit(&settings, &mut ())?;
    println!(
        "trained {} epochs; validation accuracy {:.4}",
        model.history.len(),
        model
            .validation_metrics
            .as_ref()
            .and_then(|m| m.accuracy)
            .unwrap_or(f64::NAN)
    );

    let dir = std::env::temp_dir().join(format!("csvnn-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("chile.model.json");
    model.save(&path)?;
    let model = Model::load(&path)?;
    std::fs::remove_dir_all(&dir)?;

    let test = read_table(
        &format!("{DATA}chile_vote.test.csv"),
        &CsvOptions::default(),
    )?;
    if let Scored::Classification { report, .. } = score(&model, &test, &mut ())? {
        println!(
            "test accuracy {:.4}, macro F1 {:.4}",
            report.accuracy, report.macro_f1
        );
    }

    let first: Vec<usize> = (0..5).collect();
    let x = model.pipeline.transform(&test, Some(&first))?.x;
    if let Predictions::Classes { classes, .. } = model.predict(x.view()) {
        let labels = model.pipeline.target_encoder.labels();
        let named: Vec<&str> = classes.iter().map(|&c| labels[c].as_str()).collect();
        println!("first rows predicted: {}", named.join(", "));
    }
    Ok(())
}
