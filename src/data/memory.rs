//! Whether a file looks too big to read whole: the estimated peak of a run that reads it
//! whole, compared with the memory the system says is available.
//!
//! Reading alone takes about 15 bytes a cell, some 1.8 times the CSV's size (a 514 MB
//! file of 2,000,000 x 31 cells peaks at 916 MB). A whole in-memory `train` peaks higher:
//! 3.6 times the file on the 1.01 GB file of scripts/gen_stream_csv.py (3,650,732 kB peak
//! RSS, docs/streaming.md "Measurements"), as it holds the encoded inputs beside the
//! table. The estimate uses the run's peak, so the hint comes before memory runs out.

/// Bytes of memory per byte of CSV at the peak of an in-memory run (measured, see the
/// module docs).
pub const MEMORY_PER_FILE_BYTE: f64 = 3.6;

/// The environment variable that overrides the available memory, in bytes (for tests
/// and for machines whose `/proc/meminfo` says too much, as in some containers).
pub const AVAILABLE_MEMORY_VAR: &str = "CSVNN_AVAILABLE_MEMORY";

/// What reading a file whole would take, when it looks like more than there is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryShortfall {
    /// The estimated peak memory of reading the file whole, in bytes.
    pub needed: u64,
    /// The memory available, in bytes.
    pub available: u64,
}

/// Available memory in bytes: `CSVNN_AVAILABLE_MEMORY`, else `MemAvailable` of
/// `/proc/meminfo`; `None` when neither is known.
pub fn available_memory() -> Option<u64> {
    if let Ok(value) = std::env::var(AVAILABLE_MEMORY_VAR) {
        return value.trim().parse().ok();
    }
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    available_from_meminfo(&info)
}

/// `MemAvailable` of a `/proc/meminfo` text, in bytes.
fn available_from_meminfo(info: &str) -> Option<u64> {
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The shortfall of reading `path` whole, when its estimate exceeds the available
/// memory; `None` when it fits, or for stdin or a file whose size is unknown.
pub fn memory_shortfall(path: &str) -> Option<MemoryShortfall> {
    if path == "-" {
        return None;
    }
    let size = std::fs::metadata(path).ok()?.len();
    let needed = (size as f64 * MEMORY_PER_FILE_BYTE) as u64;
    let available = available_memory()?;
    (needed > available).then_some(MemoryShortfall { needed, available })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mem_available() {
        let info = "MemTotal:       16384000 kB\nMemFree:  100 kB\nMemAvailable:    8000000 kB\n";
        assert_eq!(available_from_meminfo(info), Some(8_000_000 * 1024));
        assert_eq!(available_from_meminfo("MemTotal: 1 kB\n"), None);
    }
}
