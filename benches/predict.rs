//! W3's hot path without the CSV: rows of a flights-like table (11 numeric columns with
//! missing cells, 5 categorical ones of 3 to 104 levels) through the fitted pipeline's
//! transform and the forward pass of a 64-unit MLP (one thread; `predict` adds parallel
//! chunks). Throughput in rows.

use std::io::Write;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use csvnn::data::{read_table, CsvOptions, NaValues};
use csvnn::nn::{Activation, MlpConfig, Network};
use csvnn::preprocess::{FitOptions, Pipeline, Task};

const ROWS: usize = 100_000;
const LEVELS: [usize; 5] = [16, 3, 104, 10, 4];

fn flights_like_csv() -> tempfile::NamedTempFile {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut text = String::new();
    let numeric: Vec<String> = (0..11).map(|i| format!("n{i}")).collect();
    let categorical: Vec<String> = (0..LEVELS.len()).map(|i| format!("c{i}")).collect();
    text += &[numeric.clone(), categorical.clone(), vec!["y".to_string()]]
        .concat()
        .join(",");
    text += "\n";
    for _ in 0..ROWS {
        let mut cells: Vec<String> = (0..11)
            .map(|_| {
                if rng.gen_bool(0.05) {
                    String::new()
                } else {
                    rng.gen_range(0..2400).to_string()
                }
            })
            .collect();
        cells.extend(LEVELS.iter().map(|&n| {
            if rng.gen_bool(0.05) {
                String::new()
            } else {
                format!("L{}", rng.gen_range(0..n))
            }
        }));
        cells.push(format!("{:.1}", rng.gen_range(-50.0..200.0f64)));
        text += &cells.join(",");
        text += "\n";
    }
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(text.as_bytes()).expect("write");
    file
}

fn predict(c: &mut Criterion) {
    let file = flights_like_csv();
    let path = file.path().to_str().expect("utf-8 path");
    let table = read_table(path, &CsvOptions::default()).expect("read");
    let rows: Vec<usize> = (0..table.n_rows()).collect();
    let options = FitOptions {
        target: "y".to_string(),
        drop: Vec::new(),
        categorical: Vec::new(),
        ordinal: Vec::new(),
        na_values: NaValues::default(),
        max_categories: csvnn::preprocess::DEFAULT_MAX_CATEGORIES,
        kinds: csvnn::preprocess::KindOptions::default(),
    };
    let (pipeline, _) = Pipeline::fit(&table, &rows, Task::Regression, &options).expect("fit");
    let config = MlpConfig {
        n_inputs: pipeline.n_inputs(),
        hidden: vec![64],
        n_outputs: 1,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    let mut network = Network::mlp(&config, 1).expect("a valid network");
    let mut group = c.benchmark_group("w3_100k_rows");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("transform", |b| {
        b.iter(|| black_box(pipeline.transform(&table, None).expect("transform")))
    });
    let x = pipeline.transform(&table, None).expect("transform").x;
    group.bench_function("forward", |b| {
        b.iter(|| black_box(network.predict(x.view(), 1024)))
    });
    group.bench_function("transform_and_forward", |b| {
        b.iter(|| {
            let x = pipeline.transform(&table, None).expect("transform").x;
            black_box(network.predict(x.view(), 1024))
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = predict
}
criterion_main!(benches);
