//! Hot paths of a training step at the W1 (784-64-10, batch 32) and W1-wide
//! (784-256-128-10, batch 128) shapes: forward, backward, softmax cross-entropy, Adam, and
//! the whole step; and the matrix products of a W1-wide step alone, on one and two threads
//! (throughput in floating-point operations, 2·m·n·k per product). `CSVNN_GEMM=avx512|avx2|
//! portable` picks the products' kernel.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use csvnn::nn::{
    matmul, Activation, Adam, AdamConfig, CnnConfig, Conv2D, ConvSpec, EncoderBlock, Gru,
    ImageShape, Layer, Loss, Lstm, MaxPool2D, MlpConfig, Network, Optimizer, SeqShape,
    SoftmaxCrossEntropy, Targets,
};
use csvnn::parallel::{self, FlushDenormals};

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
    let network = Network::mlp(&config, 1).expect("a valid network");
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let x = Array2::from_shape_fn((shape.batch, 784), |_| rng.gen_range(-1.0f32..1.0));
    let y: Vec<u32> = (0..shape.batch).map(|_| rng.gen_range(0..10)).collect();
    let grad = Array2::zeros((shape.batch, 10));
    (network, x, y, grad)
}

/// Each case on one thread (`w1/...`) and on a pool of two (`w1/threads2/...`), as
/// `csvnn --threads 2 train` runs it.
fn dense(c: &mut Criterion) {
    for shape in &SHAPES {
        for n_threads in [1, 2] {
            let _pool = parallel::install(n_threads);
            let name = match n_threads {
                1 => shape.name.to_string(),
                n => format!("{}/threads{n}", shape.name),
            };
            let (mut network, x, y, mut grad) = setup(shape);
            let loss = SoftmaxCrossEntropy::default();
            c.bench_function(&format!("{name}/forward"), |b| {
                b.iter(|| {
                    black_box(network.forward(x.view(), true));
                })
            });
            let out = network.forward(x.view(), true);
            loss.loss_and_grad(out, Targets::Classes(&y), grad.view_mut());
            c.bench_function(&format!("{name}/backward"), |b| {
                b.iter(|| network.backward(x.view(), grad.view()))
            });
            let logits = network.forward(x.view(), true).to_owned();
            c.bench_function(&format!("{name}/softmax_cross_entropy"), |b| {
                b.iter(|| {
                    black_box(loss.loss_and_grad(
                        logits.view(),
                        Targets::Classes(&y),
                        grad.view_mut(),
                    ))
                })
            });
            let mut adam = Adam::new(AdamConfig::default());
            c.bench_function(&format!("{name}/adam_step"), |b| {
                b.iter(|| adam.step(&mut network))
            });
            // As the trainer does: repeated steps on one batch drive gradients into subnormals.
            let _flush = FlushDenormals::new();
            c.bench_function(&format!("{name}/train_step"), |b| {
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
}

/// How an operand of a product is stored.
#[derive(Clone, Copy)]
enum Layout {
    /// Row-major, as a layer's input or weights.
    Rows,
    /// The transpose of a row-major matrix, as xᵀ in dW = xᵀ·g or Wᵀ in dx = g·Wᵀ.
    Transposed,
}

fn operand(rows: usize, cols: usize, layout: Layout, rng: &mut ChaCha8Rng) -> Array2<f32> {
    let mut random = |r, c| Array2::from_shape_fn((r, c), |_| rng.gen_range(-1.0f32..1.0));
    match layout {
        Layout::Rows => random(rows, cols),
        Layout::Transposed => random(cols, rows).reversed_axes(),
    }
}

/// The seven products of a W1-wide training step (784-256-128-10, batch 128), each alone
/// and all in a row, on one thread and on a pool of two.
fn gemm(c: &mut Criterion) {
    use Layout::{Rows, Transposed};
    // (name, m, k, n, a's layout, b's layout)
    let products = [
        ("fwd1", 128, 784, 256, Rows, Rows),
        ("fwd2", 128, 256, 128, Rows, Rows),
        ("fwd3", 128, 128, 10, Rows, Rows),
        ("dw3", 128, 128, 10, Transposed, Rows),
        ("dx3", 128, 10, 128, Rows, Transposed),
        ("dw2", 256, 128, 128, Transposed, Rows),
        ("dx2", 128, 128, 256, Rows, Transposed),
        ("dw1", 784, 128, 256, Transposed, Rows),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let operands: Vec<_> = products
        .iter()
        .map(|&(_, m, k, n, la, lb)| {
            (
                operand(m, k, la, &mut rng),
                operand(k, n, lb, &mut rng),
                Array2::<f32>::zeros((m, n)),
            )
        })
        .collect();
    let step_flops: usize = products.iter().map(|&(_, m, k, n, ..)| 2 * m * n * k).sum();
    for n_threads in [1, 2] {
        let _pool = parallel::install(n_threads);
        let mut group = c.benchmark_group(format!("gemm_w1_wide/threads{n_threads}"));
        for (&(name, m, k, n, ..), (a, b, out)) in products.iter().zip(&operands) {
            let mut out = out.clone();
            group.throughput(Throughput::Elements((2 * m * n * k) as u64));
            group.bench_function(name, |bench| {
                bench.iter(|| matmul(a.view(), b.view(), 0.0, out.view_mut()))
            });
        }
        let mut outs: Vec<_> = operands.iter().map(|(_, _, o)| o.clone()).collect();
        group.throughput(Throughput::Elements(step_flops as u64));
        group.bench_function("step", |bench| {
            bench.iter(|| {
                for ((a, b, _), out) in operands.iter().zip(&mut outs) {
                    matmul(a.view(), b.view(), 0.0, out.view_mut());
                }
            })
        });
        group.finish();
    }
}

/// One transformer encoder block (batch 32, T=100, D=32, h=4, F=64), forward + backward
/// with the input gradient, on one and two threads; every row full (`full`) or of
/// T/2..=T valid steps (`mixed`). scripts/bench/attention_torch.py times PyTorch's.
fn encoder(c: &mut Criterion) {
    let (batch, steps, d_model) = (32, 100, 32);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut block = EncoderBlock::new(steps, d_model, 4, 64, &mut rng).expect("a valid block");
    for mixed in [false, true] {
        let mut x = Array2::from_shape_fn((batch, 1 + steps * d_model), |_| {
            rng.gen_range(-1.0f32..1.0)
        });
        for mut row in x.rows_mut() {
            row[0] = if mixed {
                rng.gen_range(steps / 2..=steps) as f32
            } else {
                steps as f32
            };
        }
        let grad = Array2::from_shape_fn(x.raw_dim(), |_| rng.gen_range(-1.0f32..1.0));
        for n_threads in [1, 2] {
            let _pool = parallel::install(n_threads);
            let lengths = if mixed { "mixed" } else { "full" };
            c.bench_function(
                &format!("encoder/{lengths}/threads{n_threads}/forward_backward"),
                |b| {
                    b.iter(|| {
                        block.forward(x.view(), true);
                        block.backward(x.view(), grad.view(), true);
                        black_box(block.grad_in()[[0, 1]])
                    })
                },
            );
        }
    }
}

/// A recurrent layer's forward and backward (no input gradient, as for a first layer) on a
/// batch of 32 full-length series of 100 steps x 6 channels, 64 hidden units, on one thread
/// and on a pool of two (`gru/...`, `gru/threads2/...`); scripts/bench/rnn_torch.py times
/// PyTorch on the same shapes.
fn recurrent(c: &mut Criterion) {
    let (batch, shape, hidden) = (32, SeqShape::new(100, 6), 64);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut x = Array2::from_shape_fn((batch, shape.width()), |_| rng.gen_range(-1.0f32..1.0));
    x.column_mut(0).fill(shape.steps as f32);
    let grad = Array2::from_shape_fn((batch, 1 + shape.steps * hidden), |_| {
        rng.gen_range(-1.0f32..1.0)
    });
    let mut layers: [(&str, Box<dyn Layer>); 2] = [
        ("gru", Box::new(Gru::new(shape, hidden, &mut rng))),
        ("lstm", Box::new(Lstm::new(shape, hidden, &mut rng))),
    ];
    for (name, layer) in &mut layers {
        for n_threads in [1, 2] {
            let _pool = parallel::install(n_threads);
            let name = match n_threads {
                1 => name.to_string(),
                n => format!("{name}/threads{n}"),
            };
            let _flush = FlushDenormals::new();
            c.bench_function(&format!("{name}/forward_backward"), |b| {
                b.iter(|| {
                    layer.forward(x.view(), true);
                    layer.backward(x.view(), grad.view(), false);
                })
            });
        }
    }
}

/// The CNN of `csvnn train --image-shape 28x28x1 --conv 32:3 --hidden 64` (batch 32): its
/// conv layer's forward and weight gradient (a first layer: no input gradient), a second
/// conv layer's (14x14x32 -> 64 filters, with the input gradient), the 2x2 max-pool, and
/// the whole network's forward + backward, on one thread and on a pool of two; and, for
/// the rate to compare with, a square product of 512 on one thread. Throughput in
/// floating-point operations (2 per multiply-add) where the work is a product.
/// scripts/bench/cnn_pair.sh times whole epochs against PyTorch.
fn cnn(c: &mut Criterion) {
    let batch = 32;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut random =
        |r: usize, c: usize| Array2::from_shape_fn((r, c), |_| rng.gen_range(-1.0f32..1.0));
    {
        let _pool = parallel::install(1);
        let (a, b, mut out) = (
            random(512, 512),
            random(512, 512),
            Array2::zeros((512, 512)),
        );
        let mut group = c.benchmark_group("cnn/gemm512");
        group.throughput(Throughput::Elements(2 * 512 * 512 * 512));
        group.bench_function("threads1", |bench| {
            bench.iter(|| matmul(a.view(), b.view(), 0.0, out.view_mut()))
        });
        group.finish();
    }
    // (name, image, filters, need the input gradient)
    let layers = [
        ("conv1", ImageShape::new(28, 28, 1), 32, false),
        ("conv2", ImageShape::new(14, 14, 32), 64, true),
    ];
    for (name, image, filters, grad_in) in layers {
        let patch = 9 * image.channels;
        let bias = random(1, filters).row(0).to_owned();
        let mut conv = Conv2D::new(image, 3, 1, 1, random(patch, filters), bias).expect("a conv");
        let x = random(batch, image.len());
        let g = random(batch, conv.output_shape().len());
        let madds = batch * image.height * image.width * patch * filters;
        for n_threads in [1, 2] {
            let _pool = parallel::install(n_threads);
            let mut group = c.benchmark_group(format!("cnn/{name}/threads{n_threads}"));
            group.throughput(Throughput::Elements(2 * madds as u64));
            group.bench_function("forward", |b| b.iter(|| conv.forward(x.view(), true)));
            group.throughput(Throughput::Elements(
                (2 * madds * if grad_in { 2 } else { 1 }) as u64,
            ));
            group.bench_function("backward", |b| {
                b.iter(|| conv.backward(x.view(), g.view(), grad_in))
            });
            group.finish();
        }
    }
    let image = ImageShape::new(28, 28, 32);
    let mut pool = MaxPool2D::new(image, 2).expect("a pool");
    let x = random(batch, image.len());
    let g = random(batch, pool.output_shape().len());
    c.bench_function("cnn/maxpool/forward", |b| {
        b.iter(|| pool.forward(x.view(), true))
    });
    c.bench_function("cnn/maxpool/backward", |b| {
        b.iter(|| pool.backward(x.view(), g.view(), true))
    });
    let config = CnnConfig {
        image: ImageShape::new(28, 28, 1),
        conv: vec![ConvSpec::same(32, 3)],
        hidden: vec![64],
        n_outputs: 10,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    let mut network = Network::cnn(&config, 1).expect("a valid CNN");
    let x = random(batch, 784);
    let grad = random(batch, 10);
    for n_threads in [1, 2] {
        let _pool = parallel::install(n_threads);
        let _flush = FlushDenormals::new();
        c.bench_function(
            &format!("cnn/network/threads{n_threads}/forward_backward"),
            |b| {
                b.iter(|| {
                    network.forward(x.view(), true);
                    network.backward(x.view(), grad.view());
                })
            },
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = dense, gemm, encoder, recurrent, cnn
}
criterion_main!(benches);
