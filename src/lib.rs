//! headroom — load testing and capacity planning.
//!
//! # Layout
//!
//! * [`scenario`] — TOML scenario files → a validated [`scenario::Plan`];
//!   errors carry file, line and column.
//! * [`load`] — the engine: arrival schedules, shard threads, HTTP client
//!   connections. The only module that drives traffic.
//! * [`metrics`] — HdrHistogram recorders, per-second interval snapshots,
//!   merging, summaries and the HdrHistogram interval log.
//! * [`target`] — the embedded synthetic service whose capacity is known in
//!   closed form (c workers / mean service time): demo, default target and
//!   test oracle.
//! * [`input`] — files users bring to the models: CSV/Parquet tables,
//!   demand history (resampled to a regular step), plan files and catalogs.
//! * [`model`] — pure math for capacity planning: USL, queueing, forecast,
//!   cost and the scaling plan.
//! * [`report`] — files people and programs read: `summary.json`,
//!   `timeseries.csv|parquet`, the text summary.
//! * [`compare`] — a run against a baseline: statistical verdicts per
//!   metric, Markdown and JUnit for CI.
//! * [`app`] — one function per subcommand wiring the parts together;
//!   [`cli`] holds the clap definitions.
//!
//! Data flows one way: `scenario → load → metrics → report`, and
//! `input → model → report`. `load` knows
//! nothing of reports; `model` does no I/O.

pub mod app;
pub mod cli;
pub mod compare;
pub mod exit;
pub mod hash;
pub mod input;
pub mod load;
pub mod metrics;
pub mod model;
pub mod report;
pub mod results;
pub mod scenario;
pub mod search;
pub mod target;
pub mod timer;
pub mod units;
