//! Which int8 kernel runs: the best this CPU has, unless the `CSVNN_INT8` environment
//! variable (read once) asks for another. Every kernel gives the same bits: the integer
//! products are exact.

use std::sync::OnceLock;

/// The environment variable that forces an int8 kernel: `vnni`, `avx2` or `portable` (any
/// case); empty or `auto` means the best available; a name this CPU cannot run is ignored.
pub const INT8_ENV: &str = "CSVNN_INT8";

/// The int8 product kernels, fastest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Int8Kernel {
    /// AVX-512 VNNI (`vpdpbusd`, 64 products per instruction), on x86-64 CPUs with
    /// AVX-512F, BW and VNNI.
    Vnni,
    /// AVX2: bytes widened to 16 bits, `vpmaddwd` (no saturation).
    Avx2,
    /// Plain i32 loops, on any CPU.
    Portable,
}

impl Int8Kernel {
    /// Every kernel, fastest first.
    pub const ALL: [Int8Kernel; 3] = [Int8Kernel::Vnni, Int8Kernel::Avx2, Int8Kernel::Portable];

    /// The name `CSVNN_INT8` takes.
    pub fn name(self) -> &'static str {
        match self {
            Int8Kernel::Vnni => "vnni",
            Int8Kernel::Avx2 => "avx2",
            Int8Kernel::Portable => "portable",
        }
    }

    /// True when this CPU runs the kernel.
    pub fn is_available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Int8Kernel::Vnni => {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(target_arch = "x86_64")]
            Int8Kernel::Avx2 => is_x86_feature_detected!("avx2"),
            Int8Kernel::Portable => true,
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The fastest kernel this CPU runs.
    pub fn best() -> Int8Kernel {
        Int8Kernel::ALL
            .into_iter()
            .find(|k| k.is_available())
            .unwrap_or(Int8Kernel::Portable)
    }

    /// The kernel for a value of `CSVNN_INT8` (None: not set).
    fn from_env_value(value: Option<&str>) -> Int8Kernel {
        value
            .and_then(|v| {
                Int8Kernel::ALL
                    .into_iter()
                    .find(|k| k.name().eq_ignore_ascii_case(v.trim()))
            })
            .filter(|k| k.is_available())
            .unwrap_or_else(Int8Kernel::best)
    }
}

/// The kernel int8 layers use, chosen once from `CSVNN_INT8` and the CPU.
pub fn int8_kernel() -> Int8Kernel {
    static CHOICE: OnceLock<Int8Kernel> = OnceLock::new();
    *CHOICE.get_or_init(|| Int8Kernel::from_env_value(std::env::var(INT8_ENV).ok().as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_picks_an_available_kernel_or_the_best() {
        assert_eq!(
            Int8Kernel::from_env_value(Some(" PORTABLE ")),
            Int8Kernel::Portable
        );
        assert_eq!(Int8Kernel::from_env_value(None), Int8Kernel::best());
        assert_eq!(Int8Kernel::from_env_value(Some("auto")), Int8Kernel::best());
        assert_eq!(Int8Kernel::from_env_value(Some("sse9")), Int8Kernel::best());
    }
}
