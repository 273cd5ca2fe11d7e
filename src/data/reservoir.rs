//! A uniform random sample of a fixed number of rows of an input read once, in memory
//! bounded by the sample (reservoir sampling, Vitter's Algorithm R): the first `n` rows
//! fill the reservoir; row `i` (from 0) after them replaces slot `j`, drawn uniformly
//! from `0..=i`, when `j < n`. Every row ends up in the sample with probability
//! `n / rows`, whatever the input's order. One pass, so stdin and gzip work; the sample
//! depends only on the seed, `n` and the rows, and comes back in file order.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::stream::TableChunks;
use super::{Column, CsvOptions, RawTable};
use crate::error::{Error, Location, Result};

/// Rows read per chunk while sampling; memory is this plus the sample.
const CHUNK_ROWS: usize = 16_384;

/// The ChaCha stream of the reservoir's draws, apart from stream 0 that other users of
/// the same seed (explain's shuffles) draw from.
const RESERVOIR_STREAM: u64 = 1;

/// Algorithm R's decisions: which slot each offered item goes into.
#[derive(Debug, Clone)]
pub struct Reservoir {
    capacity: usize,
    seen: u64,
    rng: ChaCha8Rng,
}

impl Reservoir {
    /// A reservoir of `capacity` (at least 1) slots; `seed` fixes the draws.
    pub fn new(capacity: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(RESERVOIR_STREAM);
        Reservoir {
            capacity: capacity.max(1),
            seen: 0,
            rng,
        }
    }

    /// Offer the next item: the slot it takes (replacing what the slot held), or `None`
    /// when it is left out.
    pub fn offer(&mut self) -> Option<usize> {
        let i = self.seen;
        self.seen += 1;
        if i < self.capacity as u64 {
            return Some(i as usize);
        }
        let j = self.rng.gen_range(0..=i);
        (j < self.capacity as u64).then_some(j as usize)
    }

    /// Items offered so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }
}

/// A table of sampled rows and how many rows the input had.
#[derive(Debug, Clone)]
pub struct SampledTable {
    /// The sampled rows in file order, with their line numbers; the rows a
    /// `skip_bad_rows` read left out are all listed, sampled or not.
    pub table: RawTable,
    /// Data rows in the input (not counting the header or skipped rows).
    pub rows_read: u64,
}

/// One held row: its cells' text back to back, where each ends, and where it came from.
#[derive(Debug, Default)]
struct HeldRow {
    index: u64,
    line: u64,
    text: String,
    ends: Vec<usize>,
}

impl HeldRow {
    /// Hold row `row` of `chunk`, reusing this row's buffers.
    fn fill(&mut self, chunk: &RawTable, row: usize, index: u64) {
        self.index = index;
        self.line = chunk.lines[row];
        self.text.clear();
        self.ends.clear();
        for column in &chunk.columns {
            self.text.push_str(&column.text_at(row));
            self.ends.push(self.text.len());
        }
    }

    fn cell(&self, column: usize) -> &str {
        let start = if column == 0 {
            0
        } else {
            self.ends[column - 1]
        };
        &self.text[start..self.ends[column]]
    }
}

/// A uniform sample of at most `rows` (at least 1) data rows of `path` (`-` for stdin,
/// gzip or Parquet as `read_table` reads them), drawn in one pass with `seed`. All rows
/// when the input has no more. An input without data rows is an error, as for
/// `read_nonempty`.
pub fn sample_table(
    path: &str,
    options: &CsvOptions,
    rows: usize,
    seed: u64,
) -> Result<SampledTable> {
    let mut chunks = TableChunks::open(path, options, CHUNK_ROWS)?;
    let mut table = chunks.empty_table();
    let mut reservoir = Reservoir::new(rows, seed);
    let mut held: Vec<HeldRow> = Vec::new();
    let mut kinds: Option<Vec<Column>> = None;
    while let Some(chunk) = chunks.next_chunk()? {
        // Keep each column's storage (text or numbers) as the reader chose it.
        kinds.get_or_insert_with(|| chunk.columns.iter().map(|c| c.gather(&[])).collect());
        table.skipped.extend_from_slice(&chunk.skipped);
        for row in 0..chunk.n_rows() {
            let index = reservoir.seen();
            match reservoir.offer() {
                Some(slot) if slot == held.len() => {
                    let mut new = HeldRow::default();
                    new.fill(&chunk, row, index);
                    held.push(new);
                }
                Some(slot) => held[slot].fill(&chunk, row, index),
                None => {}
            }
        }
    }
    if held.is_empty() {
        return Err(Error::data(
            Location::file(chunks.source()),
            if options.columns.is_some() {
                "the file has no data rows; expected at least one row"
            } else {
                "the file has a header but no data rows; expected at least one row"
            },
        ));
    }
    held.sort_unstable_by_key(|r| r.index);
    table.columns = kinds.unwrap_or_default();
    for (c, column) in table.columns.iter_mut().enumerate() {
        for row in &held {
            if !column.try_push(row.cell(c)) {
                return Err(Error::data(
                    Location::file(&table.source).column(&table.headers[c]),
                    "the sampled column holds more than 4 GiB of text; expected a smaller sample",
                ));
            }
        }
        column.shrink_to_fit();
    }
    table.lines = held.iter().map(|r| r.line).collect();
    Ok(SampledTable {
        table,
        rows_read: reservoir.seen(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::read_table;

    #[test]
    fn every_item_is_kept_with_the_same_probability() {
        // 20 items into 5 slots, 20,000 times: each item is kept 1/4 of the time.
        let (items, slots, trials) = (20, 5, 20_000);
        let mut kept = vec![0u32; items];
        for trial in 0..trials {
            let mut reservoir = Reservoir::new(slots, trial);
            let mut held = vec![usize::MAX; slots];
            for item in 0..items {
                if let Some(slot) = reservoir.offer() {
                    held[slot] = item;
                }
            }
            for item in held {
                kept[item] += 1;
            }
        }
        // Binomial(20000, 0.25): sd 61; 5 sd is 306.
        for (item, &k) in kept.iter().enumerate() {
            assert!((k as i64 - 5000).abs() < 306, "item {item} kept {k} times");
        }
    }

    fn numbered(dir: &std::path::Path, rows: usize) -> String {
        let path = dir.join("t.csv");
        let mut text = String::from("id,name,x\n");
        for i in 0..rows {
            text += &format!("{i},n{},{}.50\n", i % 7, i * 3);
        }
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    #[test]
    fn a_sample_holds_rows_of_the_file_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = numbered(dir.path(), 40_000);
        let options = CsvOptions::default();
        let whole = read_table(&path, &options).unwrap();
        let sample = sample_table(&path, &options, 100, 9).unwrap();
        assert_eq!(sample.rows_read, 40_000);
        let t = &sample.table;
        assert_eq!(t.n_rows(), 100);
        assert_eq!(t.headers, whole.headers);
        let ids: Vec<usize> = t.columns[0].texts().map(|s| s.parse().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "file order");
        // Rows from past the first chunk are drawn too.
        assert!(ids.iter().any(|&i| i >= CHUNK_ROWS), "{ids:?}");
        for (r, &id) in ids.iter().enumerate() {
            assert_eq!(t.lines[r], id as u64 + 2);
            for c in 0..3 {
                assert_eq!(t.columns[c].text_at(r), whole.columns[c].text_at(id));
            }
        }
        assert_eq!(
            t.columns[2].stores_numbers(),
            whole.columns[2].stores_numbers()
        );
        // The same seed draws the same rows; another seed other rows.
        let again = sample_table(&path, &options, 100, 9).unwrap();
        assert_eq!(again.table.lines, t.lines);
        let other = sample_table(&path, &options, 100, 10).unwrap();
        assert_ne!(other.table.lines, t.lines);
    }

    #[test]
    fn a_sample_larger_than_the_file_is_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = numbered(dir.path(), 30);
        let sample = sample_table(&path, &CsvOptions::default(), 1000, 1).unwrap();
        assert_eq!(sample.rows_read, 30);
        assert_eq!(sample.table.lines, (2..32).collect::<Vec<u64>>());
        std::fs::write(&path, "a,b\n").unwrap();
        let err = sample_table(&path, &CsvOptions::default(), 10, 1).unwrap_err();
        assert!(err.to_string().contains("no data rows"), "{err}");
    }
}
