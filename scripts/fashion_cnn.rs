//! A small CNN against an MLP on Fashion-MNIST CSV files (scripts/fashion_mnist.py), with
//! the library used directly: the same Pipeline (per-pixel standardisation) feeds both.
//! A measurement, not an example: it needs the downloaded files (registered as the example
//! `fashion_cnn` in Cargo.toml, so it still builds with the crate).
//!
//! ```text
//! python3 scripts/fashion_mnist.py
//! cargo run --release --example fashion_cnn -- data/large/fashion_mnist/train.csv \
//!     data/large/fashion_mnist/test.csv [--mlp-epochs 20] [--cnn-epochs 5] \
//!     [--scale pipeline|255] [--save-cnn MODEL.json]
//! ```
//!
//! `--scale pipeline` (default) standardises each pixel column as `csvnn train` does;
//! `--scale 255` divides every pixel by 255 instead (one scale for the whole image).
//! `--save-cnn` writes the trained CNN as a csvnn model file (pipeline scaling only), which
//! `csvnn predict` and `csvnn export` read.
//!
//! Prints, for each model and epoch, the training seconds of that epoch (batches only,
//! not the evaluation), the cumulative seconds and the test accuracy after it. The test
//! rows are scored after each epoch only to report; nothing is chosen on them
//! (no early stopping).

use std::path::Path;
use std::time::Instant;

use csvnn::data::{read_table, CsvOptions};
use csvnn::model::{Model, TrainingRecord};
use csvnn::nn::{
    Activation, CnnConfig, ConvSpec, ImageShape, MlpConfig, Network, SoftmaxCrossEntropy,
};
use csvnn::preprocess::{EncodedTargets, Feature, FitOptions, Pipeline, Task};
use csvnn::train::{
    train, training_config, Dataset, Observer, OwnedTargets, TrainConfig, TrainSettings,
    TrainState, ValidationMetric,
};

/// Records the training time of each epoch (from its start to its last batch).
struct Timer {
    n_batches: usize,
    started: Option<Instant>,
    seconds: Vec<f64>,
}

impl Observer for Timer {
    fn epoch_started(&mut self, _epoch: usize, _n_epochs: usize, n_batches: usize) {
        self.n_batches = n_batches;
        self.started = Some(Instant::now());
    }

    fn batch_done(&mut self, batch: usize, _n_batches: usize, _running_loss: f64) {
        if batch == self.n_batches {
            if let Some(start) = self.started.take() {
                self.seconds.push(start.elapsed().as_secs_f64());
            }
        }
    }
}

fn dataset(pipeline: &Pipeline, path: &str) -> Result<Dataset, Box<dyn std::error::Error>> {
    let table = read_table(path, &CsvOptions::default())?;
    let rows: Vec<usize> = (0..table.n_rows()).collect();
    let x = pipeline.transform(&table, Some(&rows))?.x;
    let y = match pipeline.encode_targets(&table, &rows)? {
        EncodedTargets::Classes(c) => OwnedTargets::Classes(c),
        EncodedTargets::Values { .. } => return Err("expected class labels".into()),
    };
    Ok(Dataset { x, y })
}

fn run(
    name: &str,
    network: Network,
    epochs: usize,
    train_data: &Dataset,
    test: &Dataset,
) -> (TrainConfig, TrainState) {
    // The library's defaults (Adam at 0.001, batches of 32, seed 42), without early stopping.
    let config = training_config(&TrainSettings {
        epochs,
        patience: 0,
        ..TrainSettings::default()
    });
    let mut timer = Timer {
        n_batches: 0,
        started: None,
        seconds: Vec::new(),
    };
    let loss = SoftmaxCrossEntropy::default();
    let mut state = TrainState::new(network, &config);
    train(
        &mut state,
        &loss,
        train_data,
        Some(test),
        ValidationMetric::Accuracy,
        &config,
        &mut timer,
    )
    .expect("training runs");
    println!("{name}: {} parameters", state.network.n_params());
    let mut total = 0.0;
    for (record, seconds) in state.history.iter().zip(&timer.seconds) {
        total += seconds;
        println!(
            "{name} epoch {:>2}: {seconds:6.2} s (total {total:7.2} s)  train loss {:.4}  test accuracy {:.4}",
            record.epoch,
            record.train_loss,
            record.val_metric.unwrap_or(f64::NAN)
        );
    }
    (config, state)
}

/// Pixels divided by 255 instead of the pipeline's per-column standardisation.
fn scale_255(data: &mut Dataset, pipeline: &Pipeline) {
    for (j, feature) in pipeline.features.iter().enumerate() {
        if let Feature::Numeric(n) = feature {
            data.x
                .column_mut(j)
                .mapv_inplace(|z| ((z as f64 * n.std + n.mean) / 255.0) as f32);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: fashion_cnn TRAIN.csv TEST.csv [--mlp-epochs N] [--cnn-epochs N] \
                 [--scale pipeline|255] [--save-cnn MODEL.json]";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (train_path, test_path) = match args.as_slice() {
        [a, b, ..] => (a.clone(), b.clone()),
        _ => return Err(usage.into()),
    };
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let mlp_epochs: usize = flag("--mlp-epochs").map_or(Ok(20), |s| s.parse())?;
    let cnn_epochs: usize = flag("--cnn-epochs").map_or(Ok(5), |s| s.parse())?;
    let scale_by_255 = match flag("--scale").as_deref() {
        None | Some("pipeline") => false,
        Some("255") => true,
        _ => return Err(usage.into()),
    };
    let save_cnn = flag("--save-cnn");
    if scale_by_255 && save_cnn.is_some() {
        return Err("--save-cnn needs --scale pipeline (the model file holds the pipeline)".into());
    }

    let table = read_table(&train_path, &CsvOptions::default())?;
    let rows: Vec<usize> = (0..table.n_rows()).collect();
    let options = FitOptions {
        target: "label".to_string(),
        ..FitOptions::default()
    };
    let (pipeline, _) = Pipeline::fit(&table, &rows, Task::Classification, &options)?;
    drop(table);
    let mut train_data = dataset(&pipeline, &train_path)?;
    let mut test = dataset(&pipeline, &test_path)?;
    if scale_by_255 {
        scale_255(&mut train_data, &pipeline);
        scale_255(&mut test, &pipeline);
    }
    let n_classes = pipeline.target_encoder.n_outputs();
    println!(
        "{} training rows, {} test rows, {} inputs, {n_classes} classes",
        train_data.n_rows(),
        test.n_rows(),
        pipeline.n_inputs()
    );

    let mlp = Network::mlp(
        &MlpConfig {
            n_inputs: pipeline.n_inputs(),
            hidden: vec![128],
            n_outputs: n_classes,
            activation: Activation::Relu,
            dropout: 0.0,
        },
        42,
    )?;
    run("mlp 784-128-10", mlp, mlp_epochs, &train_data, &test);

    let cnn = Network::cnn(
        &CnnConfig {
            image: ImageShape::new(28, 28, 1),
            conv: vec![ConvSpec::same(16, 3), ConvSpec::same(32, 3)],
            hidden: vec![64],
            n_outputs: n_classes,
            activation: Activation::Relu,
            dropout: 0.0,
        },
        42,
    )?;
    let (config, state) = run("cnn 16:3,32:3-64-10", cnn, cnn_epochs, &train_data, &test);
    if let Some(path) = save_cnn {
        let record = TrainingRecord {
            task_reason: "example fashion_cnn".to_string(),
            hidden: vec![64],
            activation: Activation::Relu,
            loss: "cross_entropy".to_string(),
            dropout: 0.0,
            validation_split: 0.0,
            rows_train: train_data.n_rows(),
            rows_validation: 0,
            class_weights: None,
            config,
            epochs_run: state.history.len(),
            best_epoch: None,
            stopped_early: false,
            tuned: None,
            distilled: None,
        };
        Model::new(pipeline, state.network, record, state.history, None).save(Path::new(&path))?;
        println!("wrote {path}");
    }
    Ok(())
}
