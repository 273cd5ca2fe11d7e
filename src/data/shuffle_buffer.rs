//! `ShuffleBuffer`: a seeded, bounded shuffle of a stream of encoded rows. The buffer
//! fills to its capacity; then every row offered replaces a uniformly drawn slot, whose
//! row leaves; at the end the rows still held leave in a seeded random order. Memory is
//! the capacity times the row width; the order depends only on the seed, the capacity
//! and the rows offered. `offer_rows` takes a chunk at a time: it draws the chunk's
//! slots first (the same draws, in the same order) so that it can fetch the rows they
//! name ahead of the copies; the held rows (16 MB by default) miss the cache otherwise.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Encoded rows: `width` inputs and one target each (a class index or a standardised
/// value, as `f32`), in a flat buffer reused from chunk to chunk.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// Inputs per row.
    pub width: usize,
    /// `len() * width` inputs, row after row.
    pub x: Vec<f32>,
    /// One target per row.
    pub y: Vec<f32>,
}

impl Rows {
    /// No rows of `width` inputs.
    pub fn new(width: usize) -> Self {
        Rows {
            width,
            x: Vec::new(),
            y: Vec::new(),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// No rows held.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// Drop every row, keeping the allocation.
    pub fn clear(&mut self) {
        self.x.clear();
        self.y.clear();
    }

    /// Append one row.
    pub fn push(&mut self, x: &[f32], y: f32) {
        debug_assert_eq!(x.len(), self.width);
        self.x.extend_from_slice(x);
        self.y.push(y);
    }

    /// The inputs of row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * self.width..(i + 1) * self.width]
    }
}

/// A seeded shuffle buffer of at most `capacity` rows (see the module docs).
#[derive(Debug)]
pub struct ShuffleBuffer {
    capacity: usize,
    held: Rows,
    rng: ChaCha8Rng,
    order: Vec<usize>,
}

/// Rows drawn ahead of the one being copied, for the prefetch.
const AHEAD: usize = 8;

/// Ask the cache for the row at `row` (a hint: no effect on the result).
#[inline(always)]
fn prefetch(row: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for line in (0..row.len()).step_by(16) {
        // SAFETY: a prefetch reads nothing the program sees and cannot fault; the
        // address is inside `row`.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(row.as_ptr().add(line) as *const i8);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

impl ShuffleBuffer {
    /// An empty buffer of `capacity` (at least 1) rows of `width` inputs; `seed` fixes
    /// the order.
    pub fn new(capacity: usize, width: usize, seed: u64) -> Self {
        ShuffleBuffer {
            capacity: capacity.max(1),
            held: Rows::new(width),
            rng: ChaCha8Rng::seed_from_u64(seed),
            order: Vec::new(),
        }
    }

    /// Offer a row: while the buffer is filling it is kept; afterwards it takes the place
    /// of a random held row, which is appended to `out`.
    pub fn offer(&mut self, x: &[f32], y: f32, out: &mut Rows) {
        if self.held.len() < self.capacity {
            self.held.push(x, y);
            return;
        }
        let slot = self.rng.gen_range(0..self.capacity);
        let width = self.held.width;
        out.push(self.held.row(slot), self.held.y[slot]);
        self.held.x[slot * width..(slot + 1) * width].copy_from_slice(x);
        self.held.y[slot] = y;
    }

    /// Offer the rows of `x` (row after row, `width` inputs each) with targets `y` in
    /// turn, as `offer` does, until `out` holds `limit` rows; returns how many rows were
    /// taken (all of them unless `out` filled up).
    pub fn offer_rows(&mut self, x: &[f32], y: &[f32], out: &mut Rows, limit: usize) -> usize {
        let width = self.held.width;
        debug_assert_eq!(x.len(), y.len() * width);
        let fill = (self.capacity - self.held.len()).min(y.len());
        self.held.x.extend_from_slice(&x[..fill * width]);
        self.held.y.extend_from_slice(&y[..fill]);
        let swaps = (y.len() - fill).min(limit.saturating_sub(out.len()));
        self.order.clear();
        for _ in 0..swaps {
            self.order.push(self.rng.gen_range(0..self.capacity));
        }
        out.x.reserve(swaps * width);
        out.y.reserve(swaps);
        for (k, &slot) in self.order.iter().enumerate() {
            if let Some(&next) = self.order.get(k + AHEAD) {
                prefetch(self.held.row(next));
            }
            let row = fill + k;
            let held = &mut self.held.x[slot * width..(slot + 1) * width];
            out.x.extend_from_slice(held);
            held.copy_from_slice(&x[row * width..(row + 1) * width]);
            out.y
                .push(std::mem::replace(&mut self.held.y[slot], y[row]));
        }
        fill + swaps
    }

    /// Append every held row to `out` in a random order and empty the buffer.
    pub fn drain_into(&mut self, out: &mut Rows) {
        self.order.clear();
        self.order.extend(0..self.held.len());
        self.order.shuffle(&mut self.rng);
        for &i in &self.order {
            out.push(self.held.row(i), self.held.y[i]);
        }
        self.held.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shuffled(n: usize, capacity: usize, seed: u64) -> Vec<f32> {
        let mut buffer = ShuffleBuffer::new(capacity, 1, seed);
        let mut out = Rows::new(1);
        for i in 0..n {
            buffer.offer(&[i as f32], i as f32, &mut out);
        }
        buffer.drain_into(&mut out);
        assert_eq!(out.x, out.y);
        out.y
    }

    #[test]
    fn offering_a_chunk_at_a_time_is_offering_each_row() {
        let (width, n) = (3, 5000);
        let x: Vec<f32> = (0..n * width).map(|v| v as f32).collect();
        let y: Vec<f32> = (0..n).map(|v| v as f32).collect();
        let mut one = ShuffleBuffer::new(700, width, 9);
        let mut expected = Rows::new(width);
        for i in 0..n {
            one.offer(&x[i * width..(i + 1) * width], y[i], &mut expected);
        }
        one.drain_into(&mut expected);
        // Chunks of uneven sizes, and pieces of 64 rows handed on as they fill.
        let mut many = ShuffleBuffer::new(700, width, 9);
        let (mut got, mut piece, mut start) = (Rows::new(width), Rows::new(width), 0);
        for size in [1, 699, 2, 333, 1000, 7].iter().cycle() {
            let end = (start + size).min(n);
            let mut at = start;
            while at < end {
                at += many.offer_rows(&x[at * width..end * width], &y[at..end], &mut piece, 64);
                if piece.len() == 64 {
                    got.x.extend_from_slice(&piece.x);
                    got.y.extend_from_slice(&piece.y);
                    piece.clear();
                }
            }
            start = end;
            if start == n {
                break;
            }
        }
        many.drain_into(&mut piece);
        got.x.extend_from_slice(&piece.x);
        got.y.extend_from_slice(&piece.y);
        assert_eq!(got, expected);
    }

    #[test]
    fn every_row_leaves_once() {
        let mut rows = shuffled(1000, 64, 7);
        assert_ne!(rows, (0..1000).map(|i| i as f32).collect::<Vec<_>>());
        rows.sort_by(f32::total_cmp);
        assert_eq!(rows, (0..1000).map(|i| i as f32).collect::<Vec<_>>());
    }

    #[test]
    fn the_order_depends_on_the_seed_alone() {
        assert_eq!(shuffled(500, 32, 1), shuffled(500, 32, 1));
        assert_ne!(shuffled(500, 32, 1), shuffled(500, 32, 2));
    }

    #[test]
    fn a_buffer_larger_than_the_stream_is_a_full_shuffle() {
        let rows = shuffled(100, 1000, 3);
        assert_eq!(rows.len(), 100);
        // Rows move far: the first ten out are not the first ten in.
        assert!(rows[..10].iter().any(|&r| r >= 10.0));
    }

    #[test]
    fn a_row_moves_at_most_as_far_back_as_the_buffer_allows_forward() {
        // A row cannot leave before it arrives: position >= index - capacity.
        let rows = shuffled(2000, 16, 5);
        for (position, &row) in rows.iter().enumerate() {
            assert!(position + 16 >= row as usize, "{row} at {position}");
        }
    }
}
