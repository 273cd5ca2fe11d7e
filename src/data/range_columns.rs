//! The columns of a file read in several byte ranges (`parallel_read`): a vector per
//! column that every range writes its small integers into at its own place (found by
//! counting the lines of each range first), and the joining of the ranges' columns in
//! file order once they are read.

use std::ops::Range;

use super::column::Column;
use super::read_at::{read_some, ReadAt};
use super::small_values::Region;
use crate::error::Result;

/// Bytes a thread counts lines in at a time.
const COUNT_CHUNK: usize = 1 << 20;

/// Per column, a vector with room for the whole file's lines, each range's at its offset.
pub(super) struct SharedColumns {
    buffers: Vec<Vec<f32>>,
    /// Where each range's rows start, and how many lines it holds.
    places: Vec<(usize, usize)>,
}

impl SharedColumns {
    /// Count the lines of each of `ranges` (one thread each) and make room for them in
    /// `width` columns; `None` when a range holds a quote or a carriage return (the file
    /// is then the csv reader's). A range that ends before the file's end ends after a
    /// line end, so its lines are its line ends; one that ends at the file's end may end
    /// in a line without one.
    pub(super) fn new(
        source: &(impl ReadAt + ?Sized),
        ranges: &[Range<u64>],
        width: usize,
        name: &str,
    ) -> Result<Option<SharedColumns>> {
        let counts: Vec<Result<Option<usize>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = ranges
                .iter()
                .map(|range| scope.spawn(move || count_line_ends(source, range, name)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let file_end = ranges.last().map_or(0, |r| r.end);
        let mut places = Vec::with_capacity(ranges.len());
        let mut offset = 0;
        for (range, count) in ranges.iter().zip(counts) {
            let Some(count) = count? else {
                return Ok(None);
            };
            let lines = count + usize::from(range.end == file_end);
            places.push((offset, lines));
            offset += lines;
        }
        let buffers = (0..width).map(|_| Vec::with_capacity(offset)).collect();
        Ok(Some(SharedColumns { buffers, places }))
    }

    /// For each range, one region per column: its place in every column's vector.
    ///
    /// # Safety
    /// The vectors are not read, written or dropped while the regions live (`join` takes
    /// them after).
    pub(super) unsafe fn regions(&mut self) -> Vec<Vec<Region>> {
        let places = &self.places;
        places
            .iter()
            .map(|&(offset, lines)| {
                self.buffers
                    .iter_mut()
                    // SAFETY: the places tile the capacity without overlapping; the
                    // caller keeps the vectors untouched meanwhile.
                    .map(|buffer| unsafe { Region::new(buffer, offset, lines) })
                    .collect()
            })
            .collect()
    }
}

/// The line ends in `range` of `source`; `None` at a quote or a carriage return.
fn count_line_ends(
    source: &(impl ReadAt + ?Sized),
    range: &Range<u64>,
    name: &str,
) -> Result<Option<usize>> {
    let mut buf = vec![0u8; COUNT_CHUNK.min((range.end - range.start) as usize)];
    let (mut at, mut count) = (range.start, 0);
    while at < range.end {
        let want = buf.len().min((range.end - at) as usize);
        let n = read_some(source, &mut buf[..want], at, name)?;
        if n == 0 {
            break;
        }
        if memchr::memchr2(b'"', b'\r', &buf[..n]).is_some() {
            return Ok(None);
        }
        count += memchr::memchr_iter(b'\n', &buf[..n]).count();
        at += n as u64;
    }
    Ok(Some(count))
}

/// One range's columns: each column's cells, or for a column whose values stayed in its
/// region of `SharedColumns`, their number.
pub(super) type RangeColumns = (Vec<Column>, Vec<Option<usize>>);

/// The columns of the whole file from its ranges' (in file order), on all installed
/// threads a share of the columns each: a column that every range left in its region is
/// its shared vector (later ranges moved up when an earlier one had blank or skipped
/// lines); the others are appended range by range.
pub(super) fn join(ranges: Vec<RangeColumns>, shared: Option<SharedColumns>) -> Vec<Column> {
    let width = ranges.first().map_or(0, |(columns, _)| columns.len());
    let (mut buffers, places) = match shared {
        Some(shared) => (shared.buffers, shared.places),
        None => (vec![Vec::new(); width], Vec::new()),
    };
    // Per column: its vector, and each range's piece.
    let mut pieces: Vec<(Vec<f32>, Vec<Piece>)> = buffers
        .drain(..)
        .map(|buffer| (buffer, Vec::with_capacity(ranges.len())))
        .collect();
    for (k, (columns, in_region)) in ranges.into_iter().enumerate() {
        for ((column, rows), (_, pieces)) in columns.into_iter().zip(in_region).zip(&mut pieces) {
            pieces.push(match rows {
                Some(rows) => Piece::Region(places[k].0, rows),
                None => Piece::Column(column),
            });
        }
    }
    let mut columns = vec![Column::default(); width];
    let threads = crate::parallel::current_threads().clamp(1, width.max(1));
    if threads == 1 || pieces.iter().all(|(_, p)| p.len() < 2) {
        join_share(&mut columns, &mut pieces);
        return columns;
    }
    let share = width.div_ceil(threads);
    std::thread::scope(|scope| {
        let mut shares = columns.chunks_mut(share).zip(pieces.chunks_mut(share));
        let here = shares.next();
        for (columns, pieces) in shares {
            scope.spawn(move || join_share(columns, pieces));
        }
        if let Some((columns, pieces)) = here {
            join_share(columns, pieces);
        }
    });
    columns
}

/// A range's part of a column.
enum Piece {
    /// This many values at this offset of the column's shared vector.
    Region(usize, usize),
    Column(Column),
}

fn join_share(columns: &mut [Column], pieces: &mut [(Vec<f32>, Vec<Piece>)]) {
    for (column, (buffer, pieces)) in columns.iter_mut().zip(pieces) {
        *column = join_column(std::mem::take(buffer), std::mem::take(pieces));
    }
}

/// One column from its pieces in file order; `buffer` holds the regions' values.
fn join_column(mut buffer: Vec<f32>, pieces: Vec<Piece>) -> Column {
    if pieces.iter().all(|p| matches!(p, Piece::Region(..))) && !pieces.is_empty() {
        let mut end = 0;
        for piece in &pieces {
            let Piece::Region(offset, rows) = *piece else {
                unreachable!("all regions")
            };
            // SAFETY: the region's `rows` values at `offset` are written (by its range,
            // whose thread has ended) and lie within the capacity; `end <= offset`, so
            // moving them down keeps every written value before `end`.
            unsafe {
                let base = buffer.as_mut_ptr();
                std::ptr::copy(base.add(offset), base.add(end), rows);
            }
            end += rows;
        }
        // SAFETY: the first `end` values are written (just above).
        unsafe { buffer.set_len(end) };
        return Column::from_small_integers(buffer);
    }
    let mut joined: Option<Column> = None;
    for piece in pieces {
        let next = match piece {
            Piece::Column(column) => column,
            // SAFETY: as above, the region's values are written.
            Piece::Region(offset, rows) => Column::from_small_integers(unsafe {
                std::slice::from_raw_parts(buffer.as_ptr().add(offset), rows).to_vec()
            }),
        };
        match &mut joined {
            None => joined = Some(next),
            // Files of at most 4 GiB: no column's text can pass the limit.
            Some(column) => assert!(column.try_append(next), "a file under 4 GiB fits a column"),
        }
    }
    let mut column = joined.unwrap_or_default();
    column.shrink_to_fit();
    column
}
