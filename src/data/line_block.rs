//! `LineBlock`: a few lines of a plain CSV range held by their field ends, then typed
//! into the columns a column at a time. A line at a time writes one value to each of
//! hundreds of columns in turn, whose next values lie at the same offset within their
//! pages (each a page-aligned allocation): they compete for the same few cache sets
//! and miss on nearly every cell. A column at a time writes a block's values side by
//! side. The cells, the columns and the first error in file order are those of a line
//! at a time.

use std::ops::Range;

use super::column::Column;
use super::records::push_field;
use super::value::{small_integer, small_integer_in_word};
use crate::error::{Error, Result};

/// Lines a block holds: their values of an f32 column fill a cache line.
pub(super) const BLOCK_LINES: usize = 16;

/// Lines waiting to be typed: where each lies in the reader's buffer, its line number,
/// and its field ends.
pub(super) struct LineBlock {
    width: usize,
    lines: Vec<(Range<usize>, u64)>,
    /// `width` field ends per held line (from the line's start); then, while a line is
    /// being added, its own.
    ends: Vec<usize>,
}

/// The columns a range's lines are typed into.
pub(super) struct Columns {
    /// Every column's cells, but those of a column still in `small`.
    pub(super) columns: Vec<Column>,
    /// The values of each column while all its cells are small integers (`None` from
    /// its first other cell on, its cells then in `columns`): pushed without looking
    /// into the larger `Column`.
    pub(super) small: Vec<Option<Vec<f32>>>,
}

impl Columns {
    /// `width` empty columns.
    pub(super) fn new(width: usize) -> Self {
        Columns {
            columns: vec![Column::default(); width],
            small: vec![Some(Vec::new()); width],
        }
    }

    /// Room for `rows` more cells in each column.
    pub(super) fn reserve(&mut self, rows: usize) {
        self.small
            .iter_mut()
            .flatten()
            .for_each(|c| c.reserve(rows));
    }

    /// The columns, each with all its cells.
    pub(super) fn finish(mut self) -> Vec<Column> {
        for (column, small) in self.columns.iter_mut().zip(&mut self.small) {
            if let Some(values) = small.take() {
                *column = Column::from_small_integers(values);
            }
        }
        self.columns
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
        }
    }

    /// The field ends of `line` after those held (`super::parallel_read::field_ends`);
    /// its number of fields. `keep` or `drop_fields` follows.
    pub(super) fn add_fields(&mut self, line: &[u8], delimiter: u8) -> usize {
        let held = self.lines.len() * self.width;
        self.ends.truncate(held);
        super::parallel_read::append_field_ends(line, delimiter, &mut self.ends);
        self.ends.len() - held
    }

    /// Hold the line just added, at `at` in the buffer; `true` when the block is full.
    pub(super) fn keep(&mut self, at: Range<usize>, line: u64) -> bool {
        self.lines.push((at, line));
        self.lines.len() == BLOCK_LINES
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
        let all = columns.columns.iter_mut().zip(&mut columns.small);
        for (c, ((column, small), header)) in all.zip(headers).enumerate() {
            let lines = first_error.as_ref().map_or(self.lines.len(), |(r, _)| *r);
            let mut first = 0;
            if let Some(values) = small {
                // What `try_push_number` stores for a small integer in a column that only
                // holds such: the value, from the eight bytes at its start where the
                // buffer has them (the bytes after it are masked); stored together.
                let mut typed = [0.0f32; BLOCK_LINES];
                while first < lines {
                    let field = self.field(first, c);
                    let value = buf
                        .get(field.start..field.start + 8)
                        .and_then(|word| {
                            let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
                            small_integer_in_word(word, field.len())
                        })
                        .or_else(|| small_integer(&buf[field]));
                    let Some(value) = value else { break };
                    typed[first] = value;
                    first += 1;
                }
                values.extend_from_slice(&typed[..first]);
                if first == lines {
                    continue;
                }
                // Another cell: the column takes it and the rest as any column does.
                *column = Column::from_small_integers(std::mem::take(values));
                *small = None;
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
        self.lines.clear();
        self.ends.clear();
        match first_error {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }
}
