//! A finished run as `compare` needs it, read through `results`:
//! `summary.json`, the per-second latency histograms of `latency.hlog` (all
//! requests, and each request name when the log is tagged), and the
//! per-second sends of `detail.hlog` (or the time series).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::BadInput;
use crate::results::hlog::{Key, Recorded, Series};
use crate::results::summary::Summary;
use crate::results::{files, ResultsDir};

pub struct RunData {
    pub dir: PathBuf,
    pub summary: Summary,
    /// Latency, one histogram (µs) per second: all requests, and each
    /// request name when the log is tagged.
    pub latency: Series,
    /// Requests sent in each whole second, all requests and per name: the
    /// counts of the send-lag histograms of `detail.hlog` (every sent
    /// request records its lag), or for all requests the time series when
    /// an older run has no detail log.
    pub rates: BTreeMap<Key, Vec<f64>>,
    /// The generator's own send lag (µs), one histogram per second as
    /// `latency` has them (with the row after the last whole second, where
    /// sends a stall held past the end landed); empty without
    /// `detail.hlog`.
    pub lag: Vec<Recorded>,
    /// Service time (µs, from the actual send), as `latency` has it: what
    /// the generator's own lateness does not move. Empty without
    /// `detail.hlog`.
    pub service: Series,
}

/// Files a results directory holds that `compare` reads (and a saved
/// baseline keeps).
pub const FILES: &[&str] = &[
    files::SUMMARY,
    files::LATENCY_LOG,
    files::DETAIL_LOG,
    crate::results::files::TIMESERIES_CSV,
    crate::results::files::TIMESERIES_PARQUET,
];

/// Reads a results directory, or the directory of a `summary.json` path.
pub fn load(path: &Path) -> Result<RunData, BadInput> {
    if !path.is_dir() && path.file_name().is_none_or(|n| n != files::SUMMARY) {
        return Err(BadInput(format!(
            "{}: expected a results directory (with summary.json and latency.hlog) or a summary.json",
            path.display()
        )));
    }
    let dir = ResultsDir::open(path)?;
    let missing = |file: &str| {
        BadInput(format!(
            "{}: no {file}: it holds {}, not a run's results (compare takes two runs' directories)",
            dir.path().display(),
            dir.holds()
        ))
    };
    let summary = dir.summary()?.ok_or_else(|| missing(files::SUMMARY))?;
    let latency = dir
        .latency()?
        .ok_or_else(|| missing(files::LATENCY_LOG))?
        .latency;
    if latency.all.is_empty() {
        return Err(BadInput(format!(
            "{}: no untagged (all requests) histograms",
            dir.join(files::LATENCY_LOG).display()
        )));
    }
    // Whole seconds of load only: the row after the last one holds the
    // stragglers answered after the schedule ended.
    let whole = summary.duration_s.floor() as usize;
    let counts = |ivs: &Vec<Recorded>| -> Vec<f64> {
        ivs.iter().take(whole).map(|h| h.len() as f64).collect()
    };
    let mut rates: BTreeMap<Key, Vec<f64>> = BTreeMap::new();
    let mut lag_seconds = Vec::new();
    let mut service = Series::default();
    if let Some(detail) = dir.detail()? {
        service = detail.service.clone();
        let lag = &detail.lag;
        if !lag.all.is_empty() {
            rates.insert(Key::All, counts(&lag.all));
            lag_seconds = lag.all.clone();
        }
        for (name, ivs) in &lag.by_request {
            rates.insert(Key::Request(name.clone()), counts(ivs));
        }
    }
    if let std::collections::btree_map::Entry::Vacant(e) = rates.entry(Key::All) {
        let rows = dir.timeseries()?.unwrap_or_default();
        e.insert(rows.iter().take(whole).map(|r| r.achieved_rate).collect());
    }
    Ok(RunData {
        dir: dir.path().to_path_buf(),
        summary,
        latency,
        rates,
        lag: lag_seconds,
        service,
    })
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
