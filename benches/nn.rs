//! Hot paths of a training step at the W1 (784-64-10, batch 32) and W1-wide
//! (784-256-128-10, batch 128) shapes: forward, backward, softmax cross-entropy, Adam, and
//! the whole step.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use csvnn::nn::{
    Activation, Adam, AdamConfig, FlushDenormals, Loss, MlpConfig, Network, Optimizer,
    SoftmaxCrossEntropy, Targets,
};

struct Shape {
    name: &'static str,
    hidden: &'static [usize],
    batch: usize,
}

const SHAPES: [Shape; 2] = [
    Shape {
        name: "w1",
        hidden: &[64],
        batch: 32,
    },
    Shape {
        name: "w1_wide",
        hidden: &[256, 128],
        batch: 128,
    },
];

fn setup(shape: &Shape) -> (Network, Array2<f32>, Vec<u32>, Array2<f32>) {
    let config = MlpConfig {
        n_inputs: 784,
        hidden: shape.hidden.to_vec(),
        n_outputs: 10,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    let network = Network::mlp(&config, 1);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let x = Array2::from_shape_fn((shape.batch, 784), |_| rng.gen_range(-1.0f32..1.0));
    let y: Vec<u32> = (0..shape.batch).map(|_| rng.gen_range(0..10)).collect();
    let grad = Array2::zeros((shape.batch, 10));
    (network, x, y, grad)
}

fn dense(c: &mut Criterion) {
    for shape in &SHAPES {
        let (mut network, x, y, mut grad) = setup(shape);
        let loss = SoftmaxCrossEntropy::default();
        c.bench_function(&format!("{}/forward", shape.name), |b| {
            b.iter(|| {
                black_box(network.forward(x.view(), true));
            })
        });
        let out = network.forward(x.view(), true);
        loss.loss_and_grad(out, Targets::Classes(&y), grad.view_mut());
        c.bench_function(&format!("{}/backward", shape.name), |b| {
            b.iter(|| network.backward(x.view(), grad.view()))
        });
        let logits = network.forward(x.view(), true).to_owned();
        c.bench_function(&format!("{}/softmax_cross_entropy", shape.name), |b| {
            b.iter(|| {
                black_box(loss.loss_and_grad(logits.view(), Targets::Classes(&y), grad.view_mut()))
            })
        });
        let mut adam = Adam::new(AdamConfig::default());
        c.bench_function(&format!("{}/adam_step", shape.name), |b| {
            b.iter(|| adam.step(&mut network))
        });
        // As the trainer does: repeated steps on one batch drive gradients into subnormals.
        let _flush = FlushDenormals::new();
        c.bench_function(&format!("{}/train_step", shape.name), |b| {
            b.iter(|| {
                let out = network.forward(x.view(), true);
                let l = loss.loss_and_grad(out, Targets::Classes(&y), grad.view_mut());
                network.backward(x.view(), grad.view());
                adam.step(&mut network);
                black_box(l)
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = dense
}
criterion_main!(benches);
