//! The x86-64 float control register (MXCSR): read and set it, and `FlushDenormals`.
//!
//! This is the one place that touches MXCSR. `FlushDenormals` makes this thread's float
//! unit treat subnormal numbers (below 1.2e-38 in f32) as zero, in inputs (DAZ) and results
//! (FTZ); the pool's workers copy the caller's register before each task (see `pool.rs`),
//! so a task computes the same bits on any thread.
//!
//! Training makes subnormals: Adam's second moment v = β2·v + (1-β2)·g² of a parameter
//! whose gradient has died away decays through the subnormal range, and each operation on
//! a subnormal takes a microcode assist worth about a hundred ordinary ones. On W2 the
//! epochs grew from 0.6 s to 1.1 s as they appeared. Values that small carry no information
//! at f32 precision; with the flags set the same inputs still give the same bits every run.
//! On other architectures everything here is a no-op.

/// Flush-to-zero (bit 15) and denormals-are-zero (bit 6).
#[cfg(target_arch = "x86_64")]
const FTZ_DAZ: u32 = 0x8040;

/// This thread's MXCSR (0 on other architectures).
#[allow(deprecated)] // _mm_getcsr: no stable replacement yet.
pub(crate) fn read_mxcsr() -> u32 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE (and so MXCSR) is part of every x86-64 CPU; reading it has no effect.
    unsafe {
        std::arch::x86_64::_mm_getcsr()
    }
    #[cfg(not(target_arch = "x86_64"))]
    0
}

/// Set this thread's MXCSR to `value`, a value read with `read_mxcsr` on this machine
/// (possibly with flush bits added); skipped when it already holds it.
#[allow(deprecated)] // _mm_setcsr: no stable replacement yet.
pub(crate) fn set_mxcsr(value: u32) {
    #[cfg(target_arch = "x86_64")]
    if read_mxcsr() != value {
        // SAFETY: the value was read from a thread's MXCSR on the same machine, at most with
        // the two flush bits added, so it is valid; it sets the rounding and flush modes of
        // that thread.
        unsafe { std::arch::x86_64::_mm_setcsr(value) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// While it lives, this thread's float unit flushes subnormal numbers to zero (FTZ and
/// DAZ); restores the previous flags when dropped. A no-op on other architectures.
pub struct FlushDenormals {
    saved: u32,
}

impl FlushDenormals {
    /// Set the flush flags on this thread, remembering the register's previous value.
    pub fn new() -> Self {
        let saved = read_mxcsr();
        #[cfg(target_arch = "x86_64")]
        set_mxcsr(saved | FTZ_DAZ);
        FlushDenormals { saved }
    }
}

impl Default for FlushDenormals {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FlushDenormals {
    fn drop(&mut self) {
        set_mxcsr(self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flush_sets_and_restores_the_register() {
        let before = read_mxcsr();
        {
            let _flush = FlushDenormals::new();
            #[cfg(target_arch = "x86_64")]
            assert_eq!(read_mxcsr() & FTZ_DAZ, FTZ_DAZ);
            // 1e-40 is subnormal in f32: flushed to zero.
            let tiny = std::hint::black_box(1e-20f32);
            #[cfg(target_arch = "x86_64")]
            assert_eq!(tiny * tiny, 0.0);
            let _ = tiny;
        }
        assert_eq!(read_mxcsr(), before);
    }
}
