//! Files people and programs read: `summary.json`, `timeseries.csv` (or
//! `.parquet`), the HdrHistogram log (written by `metrics::hlog`), the
//! plain-text summary printed after a run, and `report.html` with its PNG
//! charts.

pub mod charts;
pub mod json;
pub mod model;
pub mod page;
pub mod text;
pub mod timeseries;

/// The JSON Schema that every `summary.json` satisfies.
pub const SUMMARY_SCHEMA: &str = include_str!("summary.schema.json");
