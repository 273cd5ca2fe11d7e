//! `LineBlock`: a few lines of a plain CSV range held by their field ends, then typed
//! into the columns a column at a time. A line at a time writes one value to each of
//! hundreds of columns in turn, whose next values lie at the same offset within their
//! pages (each a page-aligned allocation): they compete for the same few cache sets
//! and miss on nearly every cell. A column at a time writes a block's values side by
//! side (a block's worth fills a cache line, stored past the cache). A line's small
//! integers are read as it is added, while its bytes are in cache (four at a time with
//! AVX2, `line_simd`): typing a column then reads values side by side, not bytes a line
//! apart. The cells, the columns and the first error in file order are those of a line
//! at a time.

use std::ops::Range;

use super::column::Column;
use super::records::push_field;
use super::small_values::{store_fence, Region, SmallValues, LINE_VALUES};
use super::value::{small_integer, small_integer_in_word};
use crate::error::{Error, Result};

/// Lines a block holds at most: their values of an f32 column fill a cache line.
pub(super) const BLOCK_LINES: usize = LINE_VALUES;

/// Lines waiting to be typed: where each lies in the reader's buffer, its line number,
/// and its field ends.
pub(super) struct LineBlock {
    width: usize,
    lines: Vec<(Range<usize>, u64)>,
    /// `width` field ends per held line (from the line's start); then, while a line is
    /// being added, its own.
    ends: Vec<usize>,
    /// `BLOCK_LINES` values per column, that of held line `r` of column `c` at
    /// `c * BLOCK_LINES + r`: the cell's value when it is a small integer and its column
    /// has held only such so far, else NaN. Read while the line's bytes are in cache:
    /// typing a column then reads a cache line of values, not bytes a line apart.
    values: Vec<f32>,
    /// The columns whose cells have all been small integers (read ahead into `values`),
    /// and how many they are (none: nothing to read ahead).
    small_columns: Vec<bool>,
    small_left: usize,
    /// Rows typed into every column so far: a block ends where they reach a multiple of
    /// `BLOCK_LINES`, so that a full block fills whole cache lines of each column.
    typed_rows: usize,
}

/// The columns a range's lines are typed into.
pub(super) struct Columns {
    /// Every column's cells, but those of a column still in `small`.
    pub(super) columns: Vec<Column>,
    /// The values of each column while all its cells are small integers (`None` from
    /// its first other cell on, its cells then in `columns`): pushed without looking
    /// into the larger `Column`.
    small: Vec<Option<SmallValues>>,
    /// A region had no room for its values (the file changed since its lines were
    /// counted): the range must be read otherwise.
    pub(super) overflowed: bool,
}

impl Columns {
    /// `width` empty columns.
    pub(super) fn new(width: usize) -> Self {
        Columns {
            columns: vec![Column::default(); width],
            small: (0..width)
                .map(|_| Some(SmallValues::Own(Vec::new())))
                .collect(),
            overflowed: false,
        }
    }

    /// Empty columns whose small integers go to `regions`, one per column.
    pub(super) fn in_regions(regions: Vec<Region>) -> Self {
        Columns {
            columns: vec![Column::default(); regions.len()],
            small: regions
                .into_iter()
                .map(|r| Some(SmallValues::Region(r)))
                .collect(),
            overflowed: false,
        }
    }

    /// Room for `rows` more cells in each column.
    pub(super) fn reserve(&mut self, rows: usize) {
        self.small
            .iter_mut()
            .flatten()
            .for_each(|c| c.reserve(rows));
    }

    /// The columns, each with all its cells, but for a column whose values are all in its
    /// region: a placeholder, and the number of values (`None` for the others).
    pub(super) fn finish(self) -> (Vec<Column>, Vec<Option<usize>>) {
        let mut in_region = vec![None; self.columns.len()];
        let mut columns = self.columns;
        let all = columns.iter_mut().zip(self.small).zip(&mut in_region);
        for ((column, small), in_region) in all {
            match small {
                Some(values @ SmallValues::Region(_)) => *in_region = Some(values.len()),
                Some(values) => *column = Column::from_small_integers(values.into_vec()),
                None => {}
            }
        }
        (columns, in_region)
    }
}

impl LineBlock {
    /// Where field `c` of held line `r` lies in the buffer.
    #[inline]
    fn field(&self, r: usize, c: usize) -> Range<usize> {
        let at = self.lines[r].0.start;
        let ends = &self.ends[r * self.width..(r + 1) * self.width];
        let start = if c == 0 { 0 } else { ends[c - 1] + 1 };
        at + start..at + ends[c]
    }

    /// An empty block for lines of `width` fields.
    pub(super) fn new(width: usize) -> Self {
        LineBlock {
            width,
            lines: Vec::with_capacity(BLOCK_LINES),
            ends: Vec::with_capacity(width * (BLOCK_LINES + 1)),
            values: vec![f32::NAN; width * BLOCK_LINES],
            small_columns: vec![true; width],
            small_left: width,
            typed_rows: 0,
        }
    }

    /// The field ends of the line at `at` in `buf` after those held
    /// (`super::parallel_read::field_ends`), and its small integers when it has `width`
    /// fields; its number of fields. `keep` may follow.
    pub(super) fn add_fields(&mut self, buf: &[u8], at: Range<usize>, delimiter: u8) -> usize {
        #[cfg(target_arch = "x86_64")]
        if super::line_simd::available() {
            // SAFETY: the CPU has AVX2.
            return unsafe { self.add_fields_avx2(buf, at, delimiter) };
        }
        let held = self.lines.len() * self.width;
        self.ends.truncate(held);
        super::parallel_read::append_field_ends(&buf[at.clone()], delimiter, &mut self.ends);
        let fields = self.ends.len() - held;
        if fields == self.width && self.small_left > 0 {
            self.read_small_integers(buf, at.start, held, false);
        }
        fields
    }

    /// `add_fields` with AVX2: four fields read at a time where 8 bytes follow the line.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn add_fields_avx2(&mut self, buf: &[u8], at: Range<usize>, delimiter: u8) -> usize {
        let held = self.lines.len() * self.width;
        self.ends.truncate(held);
        let line = &buf[at.clone()];
        // SAFETY: the caller checked for AVX2.
        unsafe { super::line_simd::append_field_ends(line, delimiter, &mut self.ends) };
        let fields = self.ends.len() - held;
        if fields == self.width && self.small_left > 0 {
            if at.end + 8 <= buf.len() {
                let (ends, row) = (&self.ends[held..], self.lines.len());
                // SAFETY: AVX2, and 8 bytes after the line (so after every field's start).
                let all_read = unsafe {
                    let values = &mut self.values[row..];
                    super::line_simd::small_integers(buf, at.start, ends, values, BLOCK_LINES)
                };
                if !all_read {
                    // What the vector reading leaves (signs), as `small_integer_at` reads it.
                    self.read_small_integers(buf, at.start, held, true);
                }
            } else {
                self.read_small_integers(buf, at.start, held, false);
            }
        }
        fields
    }

    /// The small integers of the line at `line_start` whose field ends follow `held`
    /// into `values`, for the columns that still hold only such (`only_nan`: the cells
    /// whose value is still NaN).
    #[inline(always)]
    fn read_small_integers(&mut self, buf: &[u8], line_start: usize, held: usize, only_nan: bool) {
        let row = self.lines.len();
        let values = self.values[row..].iter_mut().step_by(BLOCK_LINES);
        let values = values.zip(&self.small_columns);
        let mut start = line_start;
        for ((value, &small), &end) in values.zip(&self.ends[held..]) {
            let end = line_start + end;
            if small && (!only_nan || value.is_nan()) {
                *value = small_integer_at(buf, start..end).unwrap_or(f32::NAN);
            }
            start = end + 1;
        }
    }

    /// Hold the line just added, at `at` in the buffer; `true` when the block is full.
    pub(super) fn keep(&mut self, at: Range<usize>, line: u64) -> bool {
        self.lines.push((at, line));
        self.lines.len() == BLOCK_LINES - self.typed_rows % BLOCK_LINES
    }

    /// Type the held lines' cells (in `buf`) into `columns`, then forget them. The error
    /// is the first in file order (the earliest line, the first column in it): each
    /// column stops at its first error, and the next columns only type the lines
    /// before it.
    pub(super) fn flush(
        &mut self,
        buf: &[u8],
        columns: &mut Columns,
        name: &str,
        headers: &[String],
    ) -> Result<()> {
        let mut first_error: Option<(usize, Error)> = None;
        let mut overflowed = false;
        let all = columns.columns.iter_mut().zip(&mut columns.small);
        for (c, ((column, small), header)) in all.zip(headers).enumerate() {
            let lines = first_error.as_ref().map_or(self.lines.len(), |(r, _)| *r);
            let mut first = 0;
            if let Some(values) = small {
                // The small integers read ahead, up to the column's first other cell.
                let block = &self.values[c * BLOCK_LINES..(c + 1) * BLOCK_LINES];
                first = block[..lines]
                    .iter()
                    .position(|v| v.is_nan())
                    .unwrap_or(lines);
                overflowed |= !match block.try_into() {
                    Ok(line) if first == BLOCK_LINES => values.push_cache_line(line),
                    _ => values.extend_from_slice(&block[..first]),
                };
                if first == lines {
                    continue;
                }
                // Another cell: the column takes it and the rest as any column does.
                let values = small.take().expect("a column of small integers");
                *column = Column::from_small_integers(values.into_vec());
                self.small_columns[c] = false;
                self.small_left -= 1;
            }
            for r in first..lines {
                let field = &buf[self.field(r, c)];
                let line = self.lines[r].1;
                if let Err(e) = push_field(column, field, name, header, || line) {
                    first_error = Some((r, e));
                    break;
                }
            }
        }
        store_fence();
        columns.overflowed |= overflowed;
        self.typed_rows += self.lines.len();
        self.lines.clear();
        self.ends.clear();
        match first_error {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }
}

/// What `try_push_number` stores for the field at `field` in `buf` when it is a small
/// integer in a column that only holds such: read from the eight bytes at its start where
/// the buffer has them (the bytes after it are masked).
#[inline(always)]
fn small_integer_at(buf: &[u8], field: Range<usize>) -> Option<f32> {
    buf.get(field.start..field.start + 8)
        .and_then(|word| {
            let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            small_integer_in_word(word, field.len())
        })
        .or_else(|| small_integer(&buf[field]))
}
