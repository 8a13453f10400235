//! `timeseries.csv` or `.parquet`: one row per second of the run, written
//! and read back with polars through [`Row`], its columns named once.

use std::fs::File;
use std::io::Write;
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
    /// `[[fault]]`s in effect at some time in this second.
    pub faults: u32,
    /// The generator's own lateness (actual send − intended send) at p99
    /// and at its worst in this second: where it is high, the generator,
    /// not the target, was late (absent from files written before them).
    pub lag_p99_ms: Option<f64>,
    pub lag_max_ms: Option<f64>,
}

impl Row {
    pub fn from_interval(iv: &Interval) -> Row {
        let h = &iv.all.latency;
        let q = |q: f64| (!h.is_empty()).then(|| h.value_at_quantile(q) as f64 / 1000.0);
        let lag = &iv.all.lag;
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
            faults: 0,
            lag_p99_ms: (!lag.is_empty()).then(|| lag.value_at_quantile(0.99) as f64 / 1000.0),
            lag_max_ms: (!lag.is_empty()).then(|| lag.max() as f64 / 1000.0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    /// `csv` or `parquet`, as the command line names them.
    pub fn parse(s: &str) -> Result<Format, String> {
        match s {
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            _ => Err(format!("expected csv or parquet, found {s:?}")),
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            Format::Csv => crate::results::files::TIMESERIES_CSV,
            Format::Parquet => crate::results::files::TIMESERIES_PARQUET,
        }
    }

    /// By the file's extension: Parquet for `.parquet`, CSV otherwise.
    pub fn of(path: &Path) -> Format {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
        {
            Format::Parquet
        } else {
            Format::Csv
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

/// The columns, in file order (`faults` is absent from files written
/// before it, and read as 0; the send-lag columns likewise, read as empty).
pub const COLUMNS: [&str; 12] = [
    "second",
    "target_rate",
    "achieved_rate",
    "ok",
    "errors",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "faults",
    "lag_p99_ms",
    "lag_max_ms",
];

/// Reads a time series back (CSV or Parquet, by its extension); a missing
/// column or a bad cell is an error naming the file, the line and the column.
pub fn read(path: &Path) -> Result<Vec<Row>, crate::error::BadInput> {
    use crate::input::table::Table;
    let t = if Format::of(path) == Format::Csv {
        // A series cut mid-row (its run killed while appending) ends at its
        // last whole row.
        let mut bytes = std::fs::read(path)
            .map_err(|e| crate::error::BadInput(format!("{}: {e}", path.display())))?;
        if let Some(i) = bytes.iter().rposition(|&b| b == b'\n') {
            bytes.truncate(i + 1);
        }
        Table::from_csv(path, bytes)?
    } else {
        Table::read_any(path)?
    };
    let [second, target, achieved, ok, errors, p50, p90, p99, max, faults, lag_p99, lag_max] =
        COLUMNS;
    let count = |name| -> Result<Vec<u64>, crate::error::BadInput> {
        Ok(t.numbers(name)?.into_iter().map(|v| v as u64).collect())
    };
    let faults = if t.columns().iter().any(|c| c == faults) {
        count(faults)?
    } else {
        vec![0; t.len()]
    };
    let lag = |name| -> Result<Vec<Option<f64>>, crate::error::BadInput> {
        if t.columns().iter().any(|c| c == name) {
            t.optional_numbers(name)
        } else {
            Ok(vec![None; t.len()])
        }
    };
    let (lag_p99, lag_max) = (lag(lag_p99)?, lag(lag_max)?);
    let (second, ok, errors) = (count(second)?, count(ok)?, count(errors)?);
    let (target, achieved) = (t.numbers(target)?, t.numbers(achieved)?);
    let (p50, p90, p99, max) = (
        t.optional_numbers(p50)?,
        t.optional_numbers(p90)?,
        t.optional_numbers(p99)?,
        t.optional_numbers(max)?,
    );
    Ok((0..t.len())
        .map(|i| Row {
            second: second[i],
            target_rate: target[i],
            achieved_rate: achieved[i],
            ok: ok[i],
            errors: errors[i],
            p50_ms: p50[i],
            p90_ms: p90[i],
            p99_ms: p99[i],
            max_ms: max[i],
            faults: faults[i] as u32,
            lag_p99_ms: lag_p99[i],
            lag_max_ms: lag_max[i],
        })
        .collect())
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
    let [second, target, achieved, ok, errors, p50, p90, p99, max, faults, lag_p99, lag_max] =
        COLUMNS;
    DataFrame::new(
        rows.len(),
        vec![
            col_u(second, |r| r.second),
            col_f(target, |r| r.target_rate),
            col_f(achieved, |r| r.achieved_rate),
            col_u(ok, |r| r.ok),
            col_u(errors, |r| r.errors),
            col_o(p50, |r| r.p50_ms),
            col_o(p90, |r| r.p90_ms),
            col_o(p99, |r| r.p99_ms),
            col_o(max, |r| r.max_ms),
            col_u(faults, |r| u64::from(r.faults)),
            col_o(lag_p99, |r| r.lag_p99_ms),
            col_o(lag_max, |r| r.lag_max_ms),
        ],
    )
}

/// `timeseries.csv` a row at a time while a run runs, each flushed, so
/// that a run killed mid-way keeps all its seconds but the last; the run's
/// end replaces it with the file [`write`] makes.
pub struct Appender {
    out: std::io::BufWriter<File>,
}

impl Appender {
    pub fn create(path: &Path) -> std::io::Result<Appender> {
        let mut out = std::io::BufWriter::new(File::create(path)?);
        writeln!(out, "{}", COLUMNS.join(","))?;
        out.flush()?;
        Ok(Appender { out })
    }

    /// Appends `row` in one write.
    pub fn push(&mut self, r: &Row) -> std::io::Result<()> {
        let o = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        writeln!(
            self.out,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            r.second,
            r.target_rate,
            r.achieved_rate,
            r.ok,
            r.errors,
            o(r.p50_ms),
            o(r.p90_ms),
            o(r.p99_ms),
            o(r.max_ms),
            r.faults,
            o(r.lag_p99_ms),
            o(r.lag_max_ms)
        )?;
        self.out.flush()
    }
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
