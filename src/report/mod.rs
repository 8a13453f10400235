//! Files people and programs read: `summary.json`, `timeseries.csv` (or
//! `.parquet`), the HdrHistogram log (written by `metrics::hlog`) and the
//! plain-text summary printed after a run.

pub mod json;
pub mod model;
pub mod text;
pub mod timeseries;

/// The JSON Schema that every `summary.json` satisfies.
pub const SUMMARY_SCHEMA: &str = include_str!("summary.schema.json");
