//! `SmallValues`: where a range puts a column's values while its cells are all small
//! integers: its own vector (a file read as one range), or its region of a vector the
//! file's ranges share, each range's rows at the place the lines before it leave (the
//! ranges' lines counted first). Shared, the ranges' values need no appending: appending
//! copied half of them into memory touched for the first time, whose page faults were
//! most of its cost, and the appended range's own memory stayed with the allocator.

/// Values a cache line holds (a block of `LineBlock`).
pub(super) const LINE_VALUES: usize = 16;

/// A column's values so far in a range.
pub(super) enum SmallValues {
    Own(Vec<f32>),
    Region(Region),
}

/// Room for `cap` values at `start`, of which the first `len` are written; its vector
/// outlives it, and no other region overlaps it.
pub(super) struct Region {
    start: *mut f32,
    len: usize,
    cap: usize,
}

// SAFETY: a region is the only way to its part of the vector (see `Region::new`), so it
// may move to the thread that writes it.
unsafe impl Send for Region {}

impl Region {
    /// The room of `cap` values at `offset` in `values`' spare capacity.
    ///
    /// # Safety
    /// `offset + cap <= values.capacity()`; `values` is neither moved out of its
    /// allocation, read nor written while the region lives; no two live regions overlap.
    pub(super) unsafe fn new(values: &mut Vec<f32>, offset: usize, cap: usize) -> Region {
        debug_assert!(offset + cap <= values.capacity());
        Region {
            // SAFETY: within the allocation (the caller's promise).
            start: unsafe { values.as_mut_ptr().add(offset) },
            len: 0,
            cap,
        }
    }

    /// The values written.
    fn as_slice(&self) -> &[f32] {
        // SAFETY: the first `len` values of the region are written, and only it reaches them.
        unsafe { std::slice::from_raw_parts(self.start, self.len) }
    }
}

impl SmallValues {
    /// How many values it holds.
    pub(super) fn len(&self) -> usize {
        match self {
            SmallValues::Own(values) => values.len(),
            SmallValues::Region(region) => region.len,
        }
    }

    /// Room for `more` values without moving them (own values only).
    pub(super) fn reserve(&mut self, more: usize) {
        if let SmallValues::Own(values) = self {
            values.reserve(more);
        }
    }

    /// Append `more`; `false`, with nothing appended, when a region has no room for them
    /// (only when the file changed since its lines were counted).
    pub(super) fn extend_from_slice(&mut self, more: &[f32]) -> bool {
        match self {
            SmallValues::Own(values) => values.extend_from_slice(more),
            SmallValues::Region(region) => {
                if region.cap - region.len < more.len() {
                    return false;
                }
                // SAFETY: room for `more` after the `len` written, in this region only.
                unsafe {
                    let end = region.start.add(region.len);
                    std::ptr::copy_nonoverlapping(more.as_ptr(), end, more.len());
                }
                region.len += more.len();
            }
        }
        true
    }

    /// `extend_from_slice` of a cache line's worth of values: where they fill a whole
    /// cache line, stored past the cache. The columns' ends advance together at the same
    /// offsets within their pages, so that the cache holds few of them at once (their
    /// lines share cache sets): stored normally, each line is first read from memory and
    /// soon evicted.
    #[inline]
    pub(super) fn push_cache_line(&mut self, line: &[f32; LINE_VALUES]) -> bool {
        let end = match self {
            SmallValues::Own(values) => {
                values.reserve(LINE_VALUES);
                // SAFETY: `reserve` made room for the line after `len`.
                unsafe { values.as_mut_ptr().add(values.len()) }
            }
            SmallValues::Region(region) if region.cap - region.len >= LINE_VALUES => {
                // SAFETY: the region has room for the line after `len`.
                unsafe { region.start.add(region.len) }
            }
            SmallValues::Region(_) => return false,
        };
        #[cfg(target_arch = "x86_64")]
        if (end as usize).is_multiple_of(64) {
            use std::arch::x86_64::{_mm_loadu_ps, _mm_stream_ps};
            // SAFETY: SSE is part of x86_64; `end` is 64-byte aligned with room for the
            // 16 values (4 aligned stores of 4), counted as written below.
            unsafe {
                for k in 0..LINE_VALUES / 4 {
                    _mm_stream_ps(end.add(4 * k), _mm_loadu_ps(line.as_ptr().add(4 * k)));
                }
            }
            match self {
                // SAFETY: the values up to the new length are written.
                SmallValues::Own(values) => unsafe { values.set_len(values.len() + LINE_VALUES) },
                SmallValues::Region(region) => region.len += LINE_VALUES,
            }
            return true;
        }
        let _ = end;
        self.extend_from_slice(line)
    }

    /// The values as a vector of their own (a region's copied out of it).
    pub(super) fn into_vec(self) -> Vec<f32> {
        match self {
            SmallValues::Own(values) => values,
            SmallValues::Region(region) => region.as_slice().to_vec(),
        }
    }
}

/// After non-temporal stores (`push_cache_line`): the values reach memory before another
/// thread reads them.
pub(super) fn store_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of x86_64.
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_takes_values_up_to_its_room_and_no_more() {
        let mut shared = Vec::with_capacity(100);
        // SAFETY: 10 + 40 <= 100; the vector is untouched while the region lives.
        let mut values = SmallValues::Region(unsafe { Region::new(&mut shared, 10, 40) });
        let line: [f32; LINE_VALUES] = std::array::from_fn(|i| i as f32);
        assert!(values.push_cache_line(&line));
        assert!(values.push_cache_line(&line));
        assert!(!values.push_cache_line(&line), "32 + 16 > 40");
        assert!(values.extend_from_slice(&[7.0; 8]));
        assert!(!values.extend_from_slice(&[7.0]));
        assert_eq!(values.len(), 40);
        let copied = values.into_vec();
        assert_eq!(&copied[..16], &line);
        assert_eq!(&copied[16..32], &line);
        assert_eq!(&copied[32..], &[7.0; 8]);
    }

    #[test]
    fn own_values_grow() {
        let mut values = SmallValues::Own(Vec::new());
        let line = [3.0; LINE_VALUES];
        for _ in 0..5 {
            assert!(values.push_cache_line(&line));
            assert!(values.extend_from_slice(&[1.0, 2.0]));
        }
        assert_eq!(values.len(), 5 * (LINE_VALUES + 2));
        assert_eq!(values.into_vec()[LINE_VALUES..LINE_VALUES + 2], [1.0, 2.0]);
    }
}
