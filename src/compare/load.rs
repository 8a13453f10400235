//! A finished run as `compare` needs it: `summary.json`, the per-second
//! latency histograms of `latency.hlog` (all requests, and each request name
//! when the log is tagged), and the per-second achieved rate of the time
//! series.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;

use crate::exit::BadInput;
use crate::input::table::Table;
use crate::results::summary::Summary;

pub use crate::metrics::hlog::ALL;

pub struct RunData {
    pub dir: PathBuf,
    pub summary: Summary,
    /// Request name (or [`ALL`]) → one latency histogram (µs) per second.
    pub intervals: BTreeMap<String, Vec<Histogram<u64>>>,
    /// Request name (or [`ALL`]) → requests sent in each whole second: the
    /// counts of the send-lag histograms of `detail.hlog` (every sent
    /// request records its lag), or for all requests the time series when
    /// an older run has no detail log.
    pub rates: BTreeMap<String, Vec<f64>>,
}

/// Files a results directory holds that `compare` reads (and a saved
/// baseline keeps).
pub const FILES: &[&str] = &[
    "summary.json",
    "latency.hlog",
    "detail.hlog",
    "timeseries.csv",
    "timeseries.parquet",
];

/// Reads a results directory, or the directory of a `summary.json` path.
pub fn load(path: &Path) -> Result<RunData, BadInput> {
    let dir = if path.is_dir() {
        path.to_path_buf()
    } else if path.file_name().is_some_and(|n| n == "summary.json") {
        path.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        return Err(BadInput(format!(
            "{}: expected a results directory (with summary.json and latency.hlog) or a summary.json",
            path.display()
        )));
    };
    let summary_path = dir.join("summary.json");
    let summary =
        crate::results::summary::read(&summary_path).map_err(|e| BadInput(format!("{e:#}")))?;
    let hlog_path = dir.join("latency.hlog");
    let bytes =
        std::fs::read(&hlog_path).map_err(|e| BadInput(format!("{}: {e}", hlog_path.display())))?;
    let intervals = crate::metrics::hlog::read(&bytes)
        .map_err(|e| BadInput(format!("{}: {e}", hlog_path.display())))?;
    if !intervals.contains_key(ALL) {
        return Err(BadInput(format!(
            "{}: no untagged (all requests) histograms",
            hlog_path.display()
        )));
    }
    // Whole seconds of load only: the row after the last one holds the
    // stragglers answered after the schedule ended.
    let whole = summary.duration_s.floor() as usize;
    let mut rates: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    if let Ok(bytes) = std::fs::read(dir.join("detail.hlog")) {
        let detail = crate::metrics::hlog::read(&bytes)
            .map_err(|e| BadInput(format!("{}: {e}", dir.join("detail.hlog").display())))?;
        for (tag, ivs) in detail {
            let name = match tag.as_str() {
                "lag" => ALL.to_string(),
                t => match t.strip_prefix("lag.req=") {
                    Some(n) => n.to_string(),
                    None => continue,
                },
            };
            rates.insert(
                name,
                ivs.iter().take(whole).map(|h| h.len() as f64).collect(),
            );
        }
    }
    if !rates.contains_key(ALL) {
        let mut all = read_rates(&dir)?;
        all.truncate(whole);
        rates.insert(ALL.to_string(), all);
    }
    Ok(RunData {
        dir,
        summary,
        intervals,
        rates,
    })
}

fn read_rates(dir: &Path) -> Result<Vec<f64>, BadInput> {
    match crate::report::timeseries::find(dir) {
        Some(path) => Table::read(&path)?.numbers("achieved_rate"),
        None => Ok(Vec::new()),
    }
}

/// Copies the files `compare` reads from `run` into `dir` (a named
/// baseline), replacing what was there.
pub fn save(run: &Path, dir: &Path) -> std::io::Result<usize> {
    let src = if run.is_dir() {
        run
    } else {
        run.parent().unwrap_or(Path::new("."))
    };
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    let mut copied = 0;
    for f in FILES {
        if src.join(f).exists() {
            std::fs::copy(src.join(f), dir.join(f))?;
            copied += 1;
        }
    }
    Ok(copied)
}
