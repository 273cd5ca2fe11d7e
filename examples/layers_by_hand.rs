//! A network built by hand from layers, a loss and an optimizer, trained with a loop that
//! reads top to bottom: the smallest read of the library. It predicts credit-card default
//! (`data/default.*.csv`, 8,000 training rows) from student status, balance and income.
//!
//! ```text
//! cargo run --release --example layers_by_hand
//! ```

use csvnn::data::{read_table, CsvOptions};
use csvnn::nn::{
    Activation, ActivationLayer, Adam, AdamConfig, AnyLayer, Dense, Init, Loss, Network, Optimizer,
    SoftmaxCrossEntropy, Targets,
};
use csvnn::preprocess::{EncodedTargets, FitOptions, Pipeline, Task};
use ndarray::{Array1, Array2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/");

/// Inputs (n_rows, n_inputs) and class indices (n_rows,) of a file, through `pipeline`.
fn encode(
    pipeline: &Pipeline,
    path: &str,
) -> Result<(Array2<f32>, Vec<u32>), Box<dyn std::error::Error>> {
    let table = read_table(path, &CsvOptions::default())?;
    let rows: Vec<usize> = (0..table.n_rows()).collect();
    let x = pipeline.transform(&table, Some(&rows))?.x;
    match pipeline.encode_targets(&table, &rows)? {
        EncodedTargets::Classes(y) => Ok((x, y)),
        EncodedTargets::Values { .. } => Err("expected class labels".into()),
    }
}

/// A dense layer of `n_in` -> `n_out` with He-initialised weights and zero bias.
fn dense(n_in: usize, n_out: usize, rng: &mut ChaCha8Rng) -> AnyLayer {
    AnyLayer::Dense(Dense::new(
        Init::HeNormal.weights(n_in, n_out, rng),
        Array1::zeros(n_out),
    ))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Preprocessing fitted on the training rows: standardised numbers, one-hot categories.
    let train_path = format!("{DATA}default.train.csv");
    let table = read_table(&train_path, &CsvOptions::default())?;
    let rows: Vec<usize> = (0..table.n_rows()).collect();
    let options = FitOptions {
        target: "default".to_string(),
        ..FitOptions::default()
    };
    let (pipeline, _warnings) = Pipeline::fit(&table, &rows, Task::Classification, &options)?;
    let (x, y) = encode(&pipeline, &train_path)?;
    let (x_test, y_test) = encode(&pipeline, &format!("{DATA}default.test.csv"))?;
    let (n_inputs, n_classes) = (pipeline.n_inputs(), pipeline.target_encoder.n_outputs());

    // n_inputs -> 16 -> ReLU -> n_classes logits.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut network = Network {
        n_inputs,
        layers: vec![
            dense(n_inputs, 16, &mut rng),
            AnyLayer::Activation(ActivationLayer::new(Activation::Relu)),
            dense(16, n_classes, &mut rng),
        ],
    };
    let loss = SoftmaxCrossEntropy::default();
    let mut optimizer = Adam::new(AdamConfig {
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
    });

    let batch_size = 64;
    let mut order: Vec<usize> = (0..x.nrows()).collect();
    for epoch in 1..=5 {
        order.shuffle(&mut rng);
        let mut total = 0.0;
        for batch in order.chunks(batch_size) {
            let xb = x.select(Axis(0), batch); // (batch, n_inputs)
            let yb: Vec<u32> = batch.iter().map(|&i| y[i]).collect();
            let logits = network.forward(xb.view(), true); // (batch, n_classes)
            let mut grad = Array2::zeros(logits.raw_dim()); // d loss / d logits
            total += loss.loss_and_grad(logits, Targets::Classes(&yb), grad.view_mut())
                * batch.len() as f64;
            network.backward(xb.view(), grad.view());
            optimizer.step(&mut network);
        }
        let logits = network.predict(x_test.view(), 1024);
        let correct = logits
            .axis_iter(Axis(0))
            .zip(&y_test)
            .filter(|(row, &label)| csvnn::train::argmax(*row) == label as usize)
            .count();
        println!(
            "epoch {epoch}: training loss {:.4}, test accuracy {:.4}",
            total / x.nrows() as f64,
            correct as f64 / y_test.len() as f64
        );
    }
    Ok(())
}
