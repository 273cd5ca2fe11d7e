//! The same parallel work on csvnn's `ThreadPool` and on rayon, on 1 and 2 threads, in
//! interleaved rounds; prints the medians over the rounds as a markdown table.
//!
//! (a) `step`: the eight matrix products of a training step at batch 32, 300-512-256-10 (as
//! tests/allocations.rs trains). The products `matmul` would split (1M multiply-adds and a
//! sum over 32 terms or more) are split into one task per thread, by rows or by columns as
//! `nn/gemm.rs` decides, and each task calls `matmul` on its part with no pool installed
//! (one thread); the others run whole on the caller. `pool` runs the tasks with
//! `ThreadPool::run`, `rayon` with `par_iter` inside the rayon pool (the whole step runs in
//! `install`, as a rayon-based trainer would). `crate` is the library's own path for
//! reference: `parallel::install(n)` and plain `matmul`.
//!
//! (b) `transform`: `Pipeline::transform` of 10,000 rows of a flights-like table (11
//! numeric columns with missing cells, 5 categorical). `scoped` splits the rows into one
//! part per thread and transforms each on a `std::thread::scope` thread (the caller takes
//! the first), `rayon` does the same split with `par_iter`; both then copy the parts into
//! one matrix (on one thread there is one part, used as it is). `crate` is the library's
//! path: `parallel::install(n)` and one `transform` (scoped threads inside).
//!
//! Run: `cargo bench --bench rayon_vs_pool` (`ROUNDS=15` for more rounds; default 11).
//! Results are checked to be bit-identical across mechanisms before timing.

use std::hint::black_box;
use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use csvnn::data::{read_table, CsvOptions, NaValues, RawTable};
use csvnn::nn::matmul;
use csvnn::parallel::{self, ThreadPool};
use csvnn::preprocess::{FitOptions, Pipeline, Task};

const THREADS: [usize; 2] = [1, 2];
/// Steps per timing of (a), calls per timing of (b).
const STEPS: usize = 100;
const TRANSFORMS: usize = 10;
const ROWS: usize = 10_000;
/// As `nn/gemm.rs`: products below this many multiply-adds run on one thread.
const PARALLEL_MIN: usize = 1_000_000;

#[derive(Clone, Copy)]
enum Layout {
    Rows,
    Transposed,
}

fn operand(rows: usize, cols: usize, layout: Layout, rng: &mut ChaCha8Rng) -> Array2<f32> {
    let mut random = |r, c| Array2::from_shape_fn((r, c), |_| rng.gen_range(-1.0f32..1.0));
    match layout {
        Layout::Rows => random(rows, cols),
        Layout::Transposed => random(cols, rows).reversed_axes(),
    }
}

/// A product's operands and output.
struct Product {
    a: Array2<f32>,
    b: Array2<f32>,
    c: Array2<f32>,
}

/// The products of a training step at batch 32, 300-512-256-10 (the input layer's dx is
/// not computed): (m, k, n, a's layout, b's layout).
fn step_products() -> Vec<Product> {
    use Layout::{Rows, Transposed};
    let shapes = [
        (32, 300, 512, Rows, Rows),       // forward 1
        (32, 512, 256, Rows, Rows),       // forward 2
        (32, 256, 10, Rows, Rows),        // forward 3
        (256, 32, 10, Transposed, Rows),  // dW3 = xᵀ·g
        (32, 10, 256, Rows, Transposed),  // dx3 = g·Wᵀ
        (512, 32, 256, Transposed, Rows), // dW2
        (32, 256, 512, Rows, Transposed), // dx2
        (300, 32, 512, Transposed, Rows), // dW1
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    shapes
        .iter()
        .map(|&(m, k, n, la, lb)| Product {
            a: operand(m, k, la, &mut rng),
            b: operand(k, n, lb, &mut rng),
            c: Array2::zeros((m, n)),
        })
        .collect()
}

/// One task of a product: its operands and its part of the output.
type ProductTask<'a> = (
    ArrayView2<'a, f32>,
    ArrayView2<'a, f32>,
    Mutex<ArrayViewMut2<'a, f32>>,
);

/// One product cut into tasks.
struct Split<'a> {
    tasks: Vec<ProductTask<'a>>,
}

/// Cut each product as `nn/gemm.rs` would for `n_threads` threads.
fn split(products: &mut [Product], n_threads: usize) -> Vec<Split<'_>> {
    products
        .iter_mut()
        .map(|p| {
            let (m, k, n) = (p.a.nrows(), p.a.ncols(), p.b.ncols());
            let parallel = n_threads > 1 && m * n * k >= PARALLEL_MIN && k >= 32;
            let mut c = p.c.view_mut();
            if !parallel {
                return Split {
                    tasks: vec![(p.a.view(), p.b.view(), Mutex::new(c))],
                };
            }
            let a_direct = m == 1 || p.a.strides()[0] == 1;
            let b_direct = n == 1 || p.b.strides()[1] == 1;
            let rows_cost = if b_direct { 0 } else { k * n };
            let cols_cost = if a_direct { 0 } else { m * k };
            let split_rows = (rows_cost <= cols_cost && m >= 4 * n_threads) || n < 16 * n_threads;
            let mut tasks = Vec::new();
            for t in 0..n_threads {
                let (i0, i1, j0, j1) = if split_rows {
                    (m * t / n_threads, m * (t + 1) / n_threads, 0, n)
                } else {
                    let vectors = n.div_ceil(16);
                    let j0 = (vectors * t / n_threads * 16).min(n);
                    let j1 = (vectors * (t + 1) / n_threads * 16).min(n);
                    (0, m, j0, j1)
                };
                // Take this task's part off the front of what is left of c.
                let (part, rest) = if split_rows {
                    c.split_at(Axis(0), i1 - i0)
                } else {
                    c.split_at(Axis(1), j1 - j0)
                };
                c = rest;
                tasks.push((
                    p.a.slice(s![i0..i1, ..]),
                    p.b.slice(s![.., j0..j1]),
                    Mutex::new(part),
                ));
            }
            Split { tasks }
        })
        .collect()
}

fn run_task(task: &ProductTask) {
    let mut c = task.2.lock().expect("no task panicked");
    matmul(task.0, task.1, 0.0, c.view_mut());
}

fn step_on_pool(pool: &ThreadPool, splits: &[Split]) {
    for split in splits {
        match split.tasks.len() {
            1 => run_task(&split.tasks[0]),
            n => pool.run(n, &|t| run_task(&split.tasks[t])),
        }
    }
}

fn step_on_rayon(splits: &[Split]) {
    for split in splits {
        match split.tasks.len() {
            1 => run_task(&split.tasks[0]),
            _ => split.tasks.par_iter().with_min_len(1).for_each(run_task),
        }
    }
}

fn step_in_crate(products: &mut [Product]) {
    for p in products {
        matmul(p.a.view(), p.b.view(), 0.0, p.c.view_mut());
    }
}

fn outputs(products: &[Product]) -> Vec<Array2<f32>> {
    products.iter().map(|p| p.c.clone()).collect()
}

fn flights_like_table() -> (tempfile::NamedTempFile, RawTable) {
    const LEVELS: [usize; 5] = [16, 3, 104, 10, 4];
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut text = String::new();
    let numeric: Vec<String> = (0..11).map(|i| format!("n{i}")).collect();
    let categorical: Vec<String> = (0..LEVELS.len()).map(|i| format!("c{i}")).collect();
    text += &[numeric, categorical, vec!["y".to_string()]]
        .concat()
        .join(",");
    text += "\n";
    for _ in 0..ROWS {
        let mut cells: Vec<String> = (0..11)
            .map(|_| match rng.gen_bool(0.05) {
                true => String::new(),
                false => rng.gen_range(0..2400).to_string(),
            })
            .collect();
        cells.extend(LEVELS.iter().map(|&n| match rng.gen_bool(0.05) {
            true => String::new(),
            false => format!("L{}", rng.gen_range(0..n)),
        }));
        cells.push(format!("{:.1}", rng.gen_range(-50.0..200.0f64)));
        text += &cells.join(",");
        text += "\n";
    }
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(text.as_bytes()).expect("write");
    let table = read_table(
        file.path().to_str().expect("utf-8 path"),
        &CsvOptions::default(),
    )
    .expect("read");
    (file, table)
}

/// The parts' matrices stacked in order (one part is returned as it is).
fn stack(mut parts: Vec<Array2<f32>>) -> Array2<f32> {
    if parts.len() == 1 {
        return parts.pop().expect("one part");
    }
    let views: Vec<_> = parts.iter().map(|x| x.view()).collect();
    ndarray::concatenate(Axis(0), &views).expect("same widths")
}

fn row_parts(n_threads: usize) -> Vec<Vec<usize>> {
    (0..n_threads)
        .map(|t| (ROWS * t / n_threads..ROWS * (t + 1) / n_threads).collect())
        .collect()
}

fn transform_scoped(pipeline: &Pipeline, table: &RawTable, parts: &[Vec<usize>]) -> Array2<f32> {
    let part = |rows: &Vec<usize>| pipeline.transform(table, Some(rows)).expect("transform").x;
    let xs = std::thread::scope(|scope| {
        let handles: Vec<_> = parts[1..]
            .iter()
            .map(|rows| scope.spawn(move || part(rows)))
            .collect();
        let mut xs = vec![part(&parts[0])];
        xs.extend(handles.into_iter().map(|h| h.join().expect("no panic")));
        xs
    });
    stack(xs)
}

fn transform_rayon(pipeline: &Pipeline, table: &RawTable, parts: &[Vec<usize>]) -> Array2<f32> {
    let xs = parts
        .par_iter()
        .with_min_len(1)
        .map(|rows| pipeline.transform(table, Some(rows)).expect("transform").x)
        .collect();
    stack(xs)
}

/// Seconds per call of `f`, timed over `calls` calls after one warm-up call.
fn per_call(calls: usize, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    for _ in 0..calls {
        f();
    }
    start.elapsed().as_secs_f64() / calls as f64
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    (values[(n - 1) / 2] + values[n / 2]) / 2.0
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(11);
    let rayon_pools: Vec<_> = THREADS
        .iter()
        .map(|&n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .expect("rayon pool")
        })
        .collect();
    let pools: Vec<_> = THREADS.iter().map(|&n| ThreadPool::new(n)).collect();

    // (a) The step's products; the three mechanisms give the same bits.
    let mut products = step_products();
    step_in_crate(&mut products);
    let reference = outputs(&products);
    for (i, &n) in THREADS.iter().enumerate() {
        step_on_pool(&pools[i], &split(&mut products, n));
        assert!(outputs(&products) == reference, "pool, {n} threads");
        rayon_pools[i].install(|| step_on_rayon(&split(&mut products, n)));
        assert!(outputs(&products) == reference, "rayon, {n} threads");
    }
    // (b) The transform: the same matrix every way.
    let (_file, table) = flights_like_table();
    let all: Vec<usize> = (0..ROWS).collect();
    let options = FitOptions {
        target: "y".to_string(),
        drop: Vec::new(),
        categorical: Vec::new(),
        ordinal: Vec::new(),
        na_values: NaValues::default(),
        max_categories: csvnn::preprocess::DEFAULT_MAX_CATEGORIES,
        kinds: csvnn::preprocess::KindOptions::default(),
    };
    let (pipeline, _) = Pipeline::fit(&table, &all, Task::Regression, &options).expect("fit");
    let expected = pipeline.transform(&table, None).expect("transform").x;
    for (i, &n) in THREADS.iter().enumerate() {
        let parts = row_parts(n);
        assert!(transform_scoped(&pipeline, &table, &parts) == expected);
        assert!(rayon_pools[i].install(|| transform_rayon(&pipeline, &table, &parts)) == expected);
    }

    // samples[case][threads][arm]: seconds per call, one per round.
    let arms = ["crate", "own", "rayon"];
    let mut samples = vec![vec![vec![Vec::new(); arms.len()]; THREADS.len()]; 2];
    for round in 0..rounds {
        for (i, &n) in THREADS.iter().enumerate() {
            // Rotate the arms' order from round to round.
            for turn in 0..arms.len() {
                let arm = (turn + round) % arms.len();
                let step = match arm {
                    0 => {
                        let _pool = parallel::install(n);
                        per_call(STEPS, || step_in_crate(&mut products))
                    }
                    1 => {
                        let splits = split(&mut products, n);
                        per_call(STEPS, || step_on_pool(&pools[i], &splits))
                    }
                    _ => {
                        let splits = split(&mut products, n);
                        rayon_pools[i].install(|| per_call(STEPS, || step_on_rayon(&splits)))
                    }
                };
                samples[0][i][arm].push(step);
                let parts = row_parts(n);
                let transform = match arm {
                    0 => {
                        let _pool = parallel::install(n);
                        per_call(TRANSFORMS, || {
                            black_box(pipeline.transform(&table, None).expect("transform"));
                        })
                    }
                    1 => per_call(TRANSFORMS, || {
                        black_box(transform_scoped(&pipeline, &table, &parts));
                    }),
                    _ => rayon_pools[i].install(|| {
                        per_call(TRANSFORMS, || {
                            black_box(transform_rayon(&pipeline, &table, &parts));
                        })
                    }),
                };
                samples[1][i][arm].push(transform);
            }
        }
    }

    println!("{rounds} rounds; medians; ratio = rayon / own (above 1: rayon slower)\n");
    println!("| job | threads | crate | own (pool / scoped) | rayon | ratio |");
    println!("|---|---|---|---|---|---|");
    for (case, name) in ["step products (µs)", "transform 10k rows (ms)"]
        .iter()
        .enumerate()
    {
        let unit = if case == 0 { 1e6 } else { 1e3 };
        for (i, &n) in THREADS.iter().enumerate() {
            let m: Vec<f64> = (0..arms.len())
                .map(|arm| median(&mut samples[case][i][arm].clone()) * unit)
                .collect();
            println!(
                "| {name} | {n} | {:.1} | {:.1} | {:.1} | {:.2} |",
                m[0],
                m[1],
                m[2],
                m[2] / m[1]
            );
        }
    }
}
