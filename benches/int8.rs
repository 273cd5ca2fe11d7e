//! f32 against int8 (`compress --int8`) prediction, one thread, on 1024-row batches
//! (predict's chunk): the forward pass of the default network on satellite's 36 inputs
//! (36-64-6), of `--hidden 256,256` (36-256-256-6) and of a 784-1024-512-10 MLP (1.33M
//! parameters, Fashion-MNIST size). Throughput in rows.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use csvnn::compress::quantize_network;
use csvnn::nn::{Activation, MlpConfig, Network};

const ROWS: usize = 1024;

fn bench_pair(c: &mut Criterion, name: &str, n_inputs: usize, hidden: Vec<usize>, n_out: usize) {
    let config = MlpConfig {
        n_inputs,
        hidden,
        n_outputs: n_out,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    let f32_net = Network::mlp(&config, 1).expect("a valid network");
    let (int8_net, _) = quantize_network(&f32_net).expect("quantized");
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let x = Array2::from_shape_fn((ROWS, n_inputs), |_| rng.gen_range(-1.0f32..1.0));
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(20);
    for (label, net) in [("f32", f32_net), ("int8", int8_net)] {
        let mut net = net;
        group.bench_function(label, |b| {
            b.iter(|| black_box(net.predict(x.view(), ROWS)));
        });
    }
    group.finish();
}

fn int8(c: &mut Criterion) {
    let _pool = csvnn::parallel::install(1);
    bench_pair(c, "mlp_36_64_6", 36, vec![64], 6);
    bench_pair(c, "mlp_36_256_256_6", 36, vec![256, 256], 6);
    bench_pair(c, "mlp_784_1024_512_10", 784, vec![1024, 512], 10);
}

criterion_group!(benches, int8);
criterion_main!(benches);
