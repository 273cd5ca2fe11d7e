//! `for_each_part` and `SharedMut`: a range of work split over the installed pool's threads.

use std::marker::PhantomData;
use std::ops::Range;

use super::installed::current;

/// Call `f` on consecutive ranges that cover `0..len`, one per thread of the current
/// thread's pool (fewer when a range would be shorter than `min_part`), or on all of it on
/// this thread when no pool is installed.
///
/// Range i usually runs on thread i (the caller claims first), step after step: a thread
/// then finds its range's memory in its own cache.
pub(crate) fn for_each_part(len: usize, min_part: usize, f: &(dyn Fn(Range<usize>) + Sync)) {
    let pool = current();
    let n_parts = match &pool {
        Some(pool) => pool.n_threads().min(len / min_part.max(1)).max(1),
        None => 1,
    };
    let range = |part: usize| len * part / n_parts..len * (part + 1) / n_parts;
    match pool {
        Some(pool) if n_parts > 1 => pool.run(n_parts, &|part| f(range(part))),
        _ => f(0..len),
    }
}

/// A slice that tasks running at the same time write in disjoint ranges.
pub(crate) struct SharedMut<'a, T = f32> {
    ptr: *mut T,
    len: usize,
    _slice: PhantomData<&'a mut [T]>,
}

impl<T> Clone for SharedMut<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SharedMut<'_, T> {}

// SAFETY: `SharedMut` hands out only the ranges its users ask for; `range`'s contract makes
// them disjoint across threads, so sharing the pointer is as safe as `split_at_mut`.
unsafe impl<T: Send> Send for SharedMut<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SharedMut<'_, T> {}

impl<'a, T> SharedMut<'a, T> {
    /// All of `slice`, to be written by range.
    pub(crate) fn new(slice: &'a mut [T]) -> Self {
        SharedMut {
            ptr: slice.as_mut_ptr(),
            len: slice.len(),
            _slice: PhantomData,
        }
    }

    /// The elements in `range`.
    ///
    /// # Safety
    /// No other live reference (from another `range` call included) overlaps `range`.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn range(&self, range: Range<usize>) -> &'a mut [T] {
        assert!(
            range.start <= range.end && range.end <= self.len,
            "range in bounds"
        );
        // SAFETY: in bounds (checked) and not aliased (the caller's contract).
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.len()) }
    }

    /// Rows `rows` of a row-major matrix of `width` values a row.
    ///
    /// # Safety
    /// As `range`: no other live reference overlaps these rows.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn rows(&self, rows: Range<usize>, width: usize) -> &'a mut [T] {
        // SAFETY: the caller's contract.
        unsafe { self.range(rows.start * width..rows.end * width) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::install;
    use std::sync::Mutex;

    #[test]
    fn parts_cover_the_range_once() {
        for n_threads in [1, 2, 3] {
            let _pool = install(n_threads);
            for (len, min_part) in [(0, 1), (1, 1), (10, 1), (10, 4), (1000, 7)] {
                let seen = Mutex::new(Vec::new());
                for_each_part(len, min_part, &|range| seen.lock().unwrap().push(range));
                let mut seen = seen.into_inner().unwrap();
                seen.sort_by_key(|r| r.start);
                let ends: Vec<_> = seen.iter().map(|r| r.end).collect();
                let starts: Vec<_> = seen.iter().skip(1).map(|r| r.start).collect();
                assert_eq!(seen[0].start, 0);
                assert_eq!(*ends.last().unwrap(), len);
                assert_eq!(starts, ends[..ends.len() - 1]);
                assert!(seen.len() <= n_threads);
            }
        }
    }

    #[test]
    fn shared_mut_is_written_in_disjoint_ranges() {
        let _pool = install(2);
        let mut out = vec![0.0f32; 100];
        let shared = SharedMut::new(&mut out);
        for_each_part(100, 1, &|range| {
            // SAFETY: the parts do not overlap.
            let part = unsafe { shared.range(range.clone()) };
            for (value, i) in part.iter_mut().zip(range) {
                *value = i as f32;
            }
        });
        assert!(out.iter().enumerate().all(|(i, &v)| v == i as f32));
    }
}
