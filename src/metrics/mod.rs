//! Measurements: HdrHistogram recorders, per-second interval snapshots and
//! their exact merge, summaries, and the HdrHistogram interval log.
//!
//! All latencies are recorded in microseconds (1 µs … 1 h, 3 significant
//! digits). Percentiles come from histograms, never from stored samples, so
//! memory does not grow with the length of a run.

pub mod hlog;
pub mod limits;
pub mod live;
mod stats;
pub mod summary;

pub use stats::{Aggregator, ErrorKind, Interval, IntervalSnapshot, LoadState, Recorder, Stats};
pub use summary::{LatencySummary, Summary};

use hdrhistogram::Histogram;
use std::time::Duration;

/// Highest trackable value: one hour, in microseconds.
pub const HIGHEST_US: u64 = 3_600_000_000;

/// A histogram with headroom's bounds and precision.
pub fn new_histogram() -> Histogram<u64> {
    // Bounds are constants that hdrhistogram accepts; this cannot fail.
    Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("valid histogram bounds")
}

/// Microseconds, saturating at the histogram's upper bound.
pub fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, HIGHEST_US)
}
