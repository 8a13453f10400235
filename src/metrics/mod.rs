//! Measurements: HdrHistogram recorders, per-second interval snapshots and
//! their exact merge. Who limited the load is judged in `search::limits`;
//! the files they end up in are `results`' business.
//!
//! All latencies are recorded in microseconds (1 µs … 1 h, 3 significant
//! digits). Percentiles come from histograms, never from stored samples, so
//! memory does not grow with the length of a run.

pub mod live;
mod stats;

pub use stats::{Aggregator, ErrorKind, Interval, IntervalSnapshot, LoadState, Recorder, Stats};

use hdrhistogram::Histogram;
use std::time::Duration;

/// Highest trackable value: one hour, in microseconds.
pub const HIGHEST_US: u64 = 3_600_000_000;

/// A histogram with headroom's precision that grows to the largest value
/// recorded (up to [`HIGHEST_US`], see [`record`]). Sized for an hour from
/// the start it held 23,552 counters (184 KiB); a request name's
/// per-second stats hold four, in every shard and every second in flight,
/// which made memory grow by megabytes per request name. Latencies under
/// 100 ms need 8,192 counters, a send lag under 2 ms 2,048.
pub fn new_histogram() -> Histogram<u64> {
    // Bounds are constants that hdrhistogram accepts; this cannot fail.
    let mut h = Histogram::new_with_bounds(1, 2, 3).expect("valid histogram bounds");
    h.auto(true);
    h
}

/// Bytes a histogram of [`new_histogram`] holds at its largest (values up
/// to an hour): what a memory bound must assume.
pub const HISTOGRAM_MAX_BYTES: u64 = 23_552 * 8;

/// Records `us` microseconds, clamped to [`HIGHEST_US`].
#[inline]
pub fn record(h: &mut Histogram<u64>, us: u64) {
    // Growing to at most an hour in microseconds always fits: no error.
    let _ = h.record(us.min(HIGHEST_US));
}

/// Counts one in a cell while alive: a request in flight (or in service)
/// however it ends — answered, failed, or its future dropped when a client
/// resets an HTTP/2 stream or a run ends. A guard, not a decrement after
/// an `.await`, keeps such counts right.
pub struct Held<'a>(&'a std::cell::Cell<u64>);

impl<'a> Held<'a> {
    pub fn new(c: &'a std::cell::Cell<u64>) -> Held<'a> {
        c.set(c.get() + 1);
        Held(c)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// Samples needed to judge quantile q: ten beyond it (1 000 for p99).
pub fn min_samples(q: f64) -> u64 {
    if q >= 1.0 {
        1
    } else {
        (10.0 / (1.0 - q)).ceil() as u64
    }
}

/// Microseconds, saturating at the histogram's upper bound.
pub fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, HIGHEST_US)
}

/// Which names start a flow: a request (`NAME`), or the first step of each
/// flow (`FLOW/STEP`, steps in order).
pub fn flow_starts<'a>(names: impl Iterator<Item = &'a str>) -> Vec<bool> {
    let mut seen = std::collections::HashSet::new();
    names
        .map(|n| match n.split_once('/') {
            None => true,
            Some((flow, _)) => seen.insert(flow.to_string()),
        })
        .collect()
}

/// Flows sent: the sends of the names that start a flow.
pub fn flows_sent(per_name: &[Stats], starts: &[bool]) -> u64 {
    per_name
        .iter()
        .zip(starts)
        .filter(|(_, first)| **first)
        .map(|(s, _)| s.sent)
        .sum()
}
