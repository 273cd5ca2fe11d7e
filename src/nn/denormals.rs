//! `FlushDenormals`: while it lives, this thread's x86-64 float unit treats subnormal
//! numbers (below 1.2e-38 in f32) as zero, in inputs (DAZ) and results (FTZ).
//!
//! Training makes them: Adam's second moment v = β2·v + (1-β2)·g² of a parameter whose
//! gradient has died away decays through the subnormal range, and each operation on a
//! subnormal takes a microcode assist worth about a hundred ordinary ones. On W2 the epochs
//! grew from 0.6 s to 1.1 s as they appeared. Values that small carry no information at
//! f32 precision; with the flags set the same inputs still give the same bits every run.

/// Restores the previous flags when dropped. A no-op on other architectures.
pub struct FlushDenormals {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
}

#[cfg(target_arch = "x86_64")]
const FTZ_DAZ: u32 = 0x8040;

impl FlushDenormals {
    #[allow(deprecated)] // _mm_getcsr/_mm_setcsr: no stable replacement yet.
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
            // SAFETY: SSE (and so MXCSR) is part of every x86-64 CPU; only the two flush
            // bits change and the guard restores the register.
            let saved = unsafe { _mm_getcsr() };
            unsafe { _mm_setcsr(saved | FTZ_DAZ) };
            FlushDenormals { saved }
        }
        #[cfg(not(target_arch = "x86_64"))]
        FlushDenormals {}
    }
}

impl Default for FlushDenormals {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FlushDenormals {
    #[allow(deprecated)]
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: restores the value read in `new`.
        unsafe {
            std::arch::x86_64::_mm_setcsr(self.saved)
        };
    }
}
