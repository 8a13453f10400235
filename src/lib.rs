//! headroom — load testing and capacity planning.
//!
//! # Layout
//!
//! * [`scenario`] — TOML scenario files → a validated [`scenario::Plan`];
//!   errors carry file, line and column ([`input::Error`]).
//! * [`load`] — the engine: arrival schedules, shard threads, HTTP/1.1 and
//!   HTTP/2 connections (and their pool), TLS. The only module that drives
//!   traffic.
//! * [`metrics`] — HdrHistogram recorders, per-second interval snapshots
//!   and their exact merge.
//! * [`search`] — judging what was measured: a run's summary (its SLOs,
//!   who limited the load), the breaking-point search, the concurrency
//!   sweep, the stress test past the breaking point, and the criteria that
//!   judge a step — all behind a `Probe`.
//! * [`embedded`] — the embedded synthetic service whose capacity is known in
//!   closed form (c workers / mean service time): demo, default target and
//!   test oracle.
//! * [`proxy`] — the fault-injecting TCP proxy (`headroom proxy`, and the
//!   proxies a run with `[[fault]]`s starts): toxics, proxied connections
//!   and Toxiproxy's HTTP API.
//! * [`input`] — files users bring: CSV/Parquet tables, demand history
//!   (resampled to a regular step), plan files and catalogs, Prometheus.
//! * [`model`] — pure math for capacity planning: USL, queueing, forecast,
//!   cost and the scaling plan.
//! * [`results`] — every file headroom writes and reads back, in both
//!   directions: `summary.json`, `find.json`, `sweep.json`, `stress.json`,
//!   `plan.json`, `forecast.json`, `backtest.json`, `compare.json`, the time
//!   series and the interval logs, and [`results::ResultsDir`] that reads a
//!   directory.
//! * [`report`] — what people read: `report.html` with its PNG charts, and
//!   the text printed in the terminal.
//! * [`compare`] — a run against a baseline: statistical verdicts per
//!   metric, Markdown and JUnit for CI.
//! * [`error`] — the errors every layer ends with, by kind (bad input, a
//!   server that did not answer).
//! * [`app`] — one function per subcommand wiring the parts together;
//!   [`cli`] holds the clap definitions; [`exit`] the exit codes and the
//!   one mapping from outcomes to them.
//!
//! The layers, bottom up — each imports only those before it, and no two
//! files of one module import each other in a circle
//! (`tests/architecture.rs`): `error`, `units`, `hash`, `timer` → `model`
//! → `input` → `metrics` → `embedded` → `proxy` → `scenario` → `load` →
//! `results` → `search` → `compare` → `report` → `exit` → `cli` → `app`.
//! `load` knows nothing of results or reports; `model` does no I/O.

pub mod app;
pub mod cli;
pub mod compare;
pub mod embedded;
pub mod error;
pub mod exit;
pub mod hash;
pub mod input;
pub mod load;
pub mod metrics;
pub mod model;
pub mod proxy;
pub mod report;
pub mod results;
pub mod scenario;
pub mod search;
pub mod timer;
pub mod units;

/// Assertions the unit tests share: a message is checked for the words
/// that matter, and a failure shows both the words and the message.
#[cfg(test)]
mod testing {
    #[track_caller]
    pub fn has(text: &str, part: &str) {
        assert!(text.contains(part), "{part:?} is not in {text:?}");
    }

    #[track_caller]
    pub fn starts(text: &str, head: &str) {
        assert!(
            text.starts_with(head),
            "{text:?} does not start with {head:?}"
        );
    }
}
