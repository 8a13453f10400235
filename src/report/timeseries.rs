//! The per-second time series: one row per second of the run, written as
//! CSV (default) or Parquet with polars.

use std::fs::File;
use std::path::Path;

use anyhow::Context;
use polars::prelude::*;

use crate::metrics::Interval;

/// One second of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub second: u64,
    /// Arrivals scheduled in this second (open model).
    pub target_rate: f64,
    /// Requests sent in this second.
    pub achieved_rate: f64,
    pub ok: u64,
    pub errors: u64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

impl Row {
    pub fn from_interval(iv: &Interval) -> Row {
        let h = &iv.all.latency;
        let q = |q: f64| (!h.is_empty()).then(|| h.value_at_quantile(q) as f64 / 1000.0);
        Row {
            second: iv.index,
            target_rate: iv.scheduled as f64,
            achieved_rate: iv.all.sent as f64,
            ok: iv.all.ok,
            errors: iv.all.error_count(),
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p99_ms: q(0.99),
            max_ms: (!h.is_empty()).then(|| h.max() as f64 / 1000.0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Csv => "timeseries.csv",
            Format::Parquet => "timeseries.parquet",
        }
    }
}

/// The time series a results directory holds, CSV or Parquet.
pub fn find(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    [Format::Csv, Format::Parquet]
        .iter()
        .map(|f| dir.join(f.file_name()))
        .find(|p| p.exists())
}

pub fn frame(rows: &[Row]) -> PolarsResult<DataFrame> {
    let col_u = |name: &str, f: fn(&Row) -> u64| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
    };
    let col_f = |name: &str, f: fn(&Row) -> f64| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
    };
    let col_o = |name: &str, f: fn(&Row) -> Option<f64>| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
    };
    DataFrame::new(
        rows.len(),
        vec![
            col_u("second", |r| r.second),
            col_f("target_rate", |r| r.target_rate),
            col_f("achieved_rate", |r| r.achieved_rate),
            col_u("ok", |r| r.ok),
            col_u("errors", |r| r.errors),
            col_o("p50_ms", |r| r.p50_ms),
            col_o("p90_ms", |r| r.p90_ms),
            col_o("p99_ms", |r| r.p99_ms),
            col_o("max_ms", |r| r.max_ms),
        ],
    )
}

pub fn write(path: &Path, rows: &[Row], format: Format) -> anyhow::Result<()> {
    let mut df = frame(rows)?;
    let mut file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    match format {
        Format::Csv => CsvWriter::new(&mut file)
            .include_header(true)
            .finish(&mut df)?,
        Format::Parquet => {
            ParquetWriter::new(&mut file).finish(&mut df)?;
        }
    }
    Ok(())
}
