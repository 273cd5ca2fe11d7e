//! CSV ingest of numeric rows (W1-like: integers 0-255) from a file: reading the cells,
//! and parsing every cell of a table already read to a number (throughput: of the file).

use std::io::Write;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use csvnn::data::{read_table, Cell, CsvOptions, NaValues};

const ROWS: usize = 2000;
const COLS: usize = 784;

fn numeric_csv() -> tempfile::NamedTempFile {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    let header: Vec<String> = (0..COLS).map(|i| format!("p{i}")).collect();
    let mut text = header.join(",") + "\n";
    for _ in 0..ROWS {
        let row: Vec<String> = (0..COLS)
            .map(|_| rng.gen_range(0..256u32).to_string())
            .collect();
        text += &row.join(",");
        text += "\n";
    }
    file.write_all(text.as_bytes()).expect("write");
    file
}

fn csv(c: &mut Criterion) {
    let file = numeric_csv();
    let path = file.path().to_str().expect("utf-8 path").to_string();
    let bytes = std::fs::metadata(&path).expect("metadata").len();
    let mut group = c.benchmark_group("csv_w1_2000_rows");
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("read_table", |b| {
        b.iter(|| black_box(read_table(&path, &CsvOptions::default()).expect("read")))
    });
    let na = NaValues::default();
    let table = read_table(&path, &CsvOptions::default()).expect("read");
    group.bench_function("read_cells", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            for column in &table.columns {
                let cells = column.cells(&na);
                for row in 0..column.len() {
                    if let Cell::Number(v) = cells.get(row) {
                        sum += v;
                    }
                }
            }
            black_box(sum)
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
    targets = csv
}
criterion_main!(benches);
