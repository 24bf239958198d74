//! What the in-process benchmarks (`filter`, `tui`) measure with: percentiles of sorted
//! times and the process's resident memory.

use std::time::Duration;

/// The `p` percentile (0 to 1) of `sorted`, which must not be empty.
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// This process's resident set (`VmRSS`), in KiB; 0 where /proc does not say.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
