//! Which kernel `matmul` runs: the best this CPU has, unless the `CSVNN_GEMM` environment
//! variable (read once) or `set_gemm_kernel` asks for another.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

/// The environment variable that forces a kernel: `avx512`, `avx2` or `portable` (any
/// case); empty or `auto` means the best available. Read once, at the first product.
pub const GEMM_ENV: &str = "CSVNN_GEMM";

/// The matrix-product kernels, fastest first. Each gives the same bits for any thread
/// count; `Avx512` and `Avx2` also give the same bits as each other, and `Portable` may
/// differ from them in the last bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GemmKernel {
    /// The project's kernel for x86-64 CPUs with AVX-512F: blocks of 12 x 32, on the pool.
    Avx512,
    /// The project's kernel for x86-64 CPUs with AVX2 and FMA: blocks of 6 x 16, on the pool.
    Avx2,
    /// ndarray's `general_mat_mul` (matrixmultiply) on the calling thread, on any CPU; it
    /// allocates a packing buffer in every product.
    Portable,
}

impl GemmKernel {
    /// Every kernel, fastest first.
    pub const ALL: [GemmKernel; 3] = [GemmKernel::Avx512, GemmKernel::Avx2, GemmKernel::Portable];

    /// The name `CSVNN_GEMM` takes.
    pub fn name(self) -> &'static str {
        match self {
            GemmKernel::Avx512 => "avx512",
            GemmKernel::Avx2 => "avx2",
            GemmKernel::Portable => "portable",
        }
    }

    /// The kernel of this name (any case), if there is one.
    pub fn from_name(name: &str) -> Option<GemmKernel> {
        GemmKernel::ALL
            .into_iter()
            .find(|kernel| kernel.name().eq_ignore_ascii_case(name.trim()))
    }

    /// True when this CPU runs the kernel.
    pub fn is_available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            GemmKernel::Avx512 => is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            GemmKernel::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            GemmKernel::Portable => true,
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// True for the project's own kernels: their products allocate nothing once the
    /// per-thread scratch has grown, and they split over the installed pool.
    pub fn is_own(self) -> bool {
        self != GemmKernel::Portable
    }

    /// The fastest kernel this CPU runs.
    pub fn best() -> GemmKernel {
        GemmKernel::ALL
            .into_iter()
            .find(|kernel| kernel.is_available())
            .unwrap_or(GemmKernel::Portable)
    }

    /// `self` when this CPU runs it, the best kernel it runs otherwise.
    fn or_best(self) -> GemmKernel {
        if self.is_available() {
            self
        } else {
            GemmKernel::best()
        }
    }
}

/// The kernel chosen from `CSVNN_GEMM` and the CPU when the process first needed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GemmChoice {
    /// The kernel chosen.
    pub kernel: GemmKernel,
    /// The value of `CSVNN_GEMM` when it was set but could not be followed (not a kernel's
    /// name, or a kernel this CPU lacks): `kernel` is then the best available. A front end
    /// may warn about it; the library says nothing.
    pub ignored: Option<String>,
}

impl GemmChoice {
    /// The choice for a value of `CSVNN_GEMM` (None: not set).
    fn from_env_value(value: Option<&str>) -> GemmChoice {
        let best = GemmChoice {
            kernel: GemmKernel::best(),
            ignored: None,
        };
        let Some(value) =
            value.filter(|v| !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("auto"))
        else {
            return best;
        };
        match GemmKernel::from_name(value) {
            Some(kernel) if kernel.is_available() => GemmChoice {
                kernel,
                ignored: None,
            },
            _ => GemmChoice {
                ignored: Some(value.to_string()),
                ..best
            },
        }
    }
}

/// The choice made from `CSVNN_GEMM` and the CPU, read once.
pub fn gemm_choice() -> &'static GemmChoice {
    static CHOICE: OnceLock<GemmChoice> = OnceLock::new();
    CHOICE.get_or_init(|| {
        let value = std::env::var(GEMM_ENV).ok();
        GemmChoice::from_env_value(value.as_deref())
    })
}

/// 0: no kernel set by `set_gemm_kernel`; otherwise its index in `GemmKernel::ALL` + 1.
static SET: AtomicU8 = AtomicU8::new(0);

/// The kernel `matmul` runs now: the one `set_gemm_kernel` set last, else `gemm_choice()`'s.
pub fn gemm_kernel() -> GemmKernel {
    match SET.load(Ordering::Relaxed) {
        0 => gemm_choice().kernel,
        i => GemmKernel::ALL[usize::from(i) - 1],
    }
}

/// Make `matmul` run `kernel` from now on, in every thread, or the best available when this
/// CPU lacks it; returns the kernel now in use. For programs that pick the kernel
/// themselves rather than through `CSVNN_GEMM`, and for tests.
pub fn set_gemm_kernel(kernel: GemmKernel) -> GemmKernel {
    let kernel = kernel.or_best();
    let index = GemmKernel::ALL
        .iter()
        .position(|&k| k == kernel)
        .unwrap_or(2);
    SET.store(index as u8 + 1, Ordering::Relaxed);
    kernel
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_choose_or_fall_back() {
        let best = GemmKernel::best();
        for value in [None, Some(""), Some(" auto ")] {
            assert_eq!(
                GemmChoice::from_env_value(value),
                GemmChoice {
                    kernel: best,
                    ignored: None
                }
            );
        }
        let portable = GemmChoice::from_env_value(Some("Portable"));
        assert_eq!(portable.kernel, GemmKernel::Portable);
        assert_eq!(portable.ignored, None);
        let unknown = GemmChoice::from_env_value(Some("avx1024"));
        assert_eq!(unknown.kernel, best);
        assert_eq!(unknown.ignored.as_deref(), Some("avx1024"));
        for kernel in GemmKernel::ALL {
            let choice = GemmChoice::from_env_value(Some(kernel.name()));
            if kernel.is_available() {
                assert_eq!(choice.kernel, kernel);
            } else {
                assert_eq!(
                    (choice.kernel, choice.ignored.as_deref()),
                    (best, Some(kernel.name()))
                );
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for kernel in GemmKernel::ALL {
            assert_eq!(GemmKernel::from_name(kernel.name()), Some(kernel));
        }
        assert_eq!(GemmKernel::from_name("AVX2"), Some(GemmKernel::Avx2));
        assert_eq!(GemmKernel::from_name("neon"), None);
        assert!(GemmKernel::Portable.is_available());
        assert!(GemmKernel::best().is_available());
    }
}
