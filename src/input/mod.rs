//! Files users bring to the models: tables of measurements and demand
//! history (CSV or Parquet, read with polars, or a Prometheus range query). Turns them into the plain
//! vectors `model` works on, with errors that name the file, line and
//! column.

mod error;
pub mod history;
pub mod http;
pub mod plan;
pub mod prometheus;
pub mod slo;
pub mod table;
pub mod url;

pub use error::Error;
