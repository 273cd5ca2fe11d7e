//! f32 against int8 (`compress --int8`) prediction, one thread, on 1024-row batches
//! (predict's chunk): the forward pass of the default network (one hidden layer of 64,
//! tanh) at the widths of every tabular set of ../shared/data (n_in and n_out as their
//! pipelines give them), of `--hidden 256,256` (36-256-256-6, ReLU) and of a
//! 784-1024-512-10 ReLU MLP (1.33M parameters, Fashion-MNIST size). Throughput in rows.
//! `int8` is the network `compress --int8` makes (small layers on the f32 product,
//! `compress::product_for`); `int8_all` every layer on the int8 product, to see where the
//! rule's thresholds stand.
//! `cargo bench --bench int8 -- NAME` runs one group (e.g. `satellite`).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use csvnn::compress::quantize_network;
use csvnn::nn::{Activation, AnyLayer, Int8Product, MlpConfig, Network};

const ROWS: usize = 1024;

/// The default network's widths on each tabular set: (name, inputs, outputs).
const SETS: [(&str, usize, usize); 8] = [
    ("default", 4, 2),
    ("nass_cds", 21, 2),
    ("chile_vote", 14, 4),
    ("satellite", 36, 6),
    ("auto_mpg", 9, 1),
    ("ames", 310, 1),
    ("loans", 115, 1),
    ("flights", 175, 1),
];

fn bench_pair(
    c: &mut Criterion,
    name: &str,
    n_inputs: usize,
    hidden: Vec<usize>,
    n_out: usize,
    activation: Activation,
) {
    let config = MlpConfig {
        n_inputs,
        hidden,
        n_outputs: n_out,
        activation,
        dropout: 0.0,
    };
    let f32_net = Network::mlp(&config, 1).expect("a valid network");
    let (int8_net, _) = quantize_network(&f32_net).expect("quantized");
    let mut int8_all = int8_net.clone();
    for layer in &mut int8_all.layers {
        if let AnyLayer::DenseInt8(d) = layer {
            *layer = AnyLayer::DenseInt8(d.clone().with_product(Int8Product::Int8));
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let x = Array2::from_shape_fn((ROWS, n_inputs), |_| rng.gen_range(-1.0f32..1.0));
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(20);
    for (label, net) in [("f32", f32_net), ("int8", int8_net), ("int8_all", int8_all)] {
        let mut net = net;
        group.bench_function(label, |b| {
            b.iter(|| black_box(net.predict(x.view(), ROWS)));
        });
    }
    group.finish();
}

fn int8(c: &mut Criterion) {
    let _pool = csvnn::parallel::install(1);
    for (set, n_in, n_out) in SETS {
        let name = format!("{set}_{n_in}_64_{n_out}");
        bench_pair(c, &name, n_in, vec![64], n_out, Activation::Tanh);
    }
    bench_pair(
        c,
        "mlp_36_256_256_6",
        36,
        vec![256, 256],
        6,
        Activation::Relu,
    );
    bench_pair(
        c,
        "mlp_784_1024_512_10",
        784,
        vec![1024, 512],
        10,
        Activation::Relu,
    );
}

criterion_group!(benches, int8);
criterion_main!(benches);
