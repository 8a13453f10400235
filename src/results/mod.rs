//! Every file headroom writes and reads back, in both directions: one serde
//! type per format (`Serialize + Deserialize`, the JSON on the wire
//! documented by its schema name), the interval logs, the per-second time
//! series, and [`ResultsDir`], which `report`, `compare` and `merge` read
//! results directories through.
//!
//! Reading is strict: a file that is present but lacks a field, or holds
//! the wrong type, is an error naming the file, the place and the field —
//! never a zero on a page.

pub mod compare;
pub mod experiment;
pub mod find;
pub mod hlog;
pub mod plan;
pub mod scenario;
pub mod slo;
pub mod stress;
pub mod summary;
pub mod sweep;
pub mod timeseries;
pub mod verdict;

use std::path::Path;

use anyhow::Context;

use crate::error::BadInput;

/// What headroom writes into a results directory: the files and folders
/// [`claim`] looks for, and removes with `--force`.
pub const WRITTEN: &[&str] = &[
    files::SUMMARY,
    files::SCENARIO,
    files::LATENCY_LOG,
    files::DETAIL_LOG,
    files::TIMESERIES_CSV,
    files::TIMESERIES_PARQUET,
    files::FIND,
    files::SWEEP,
    files::STRESS,
    files::PLAN,
    files::FORECAST,
    files::BACKTEST,
    files::SLO,
    files::COMPARE,
    files::HPA,
    files::REPORT,
    files::LATENCY_PNG,
    files::THROUGHPUT_PNG,
    files::SPECTRUM_PNG,
    files::FIND_PNG,
    files::USL_PNG,
    files::GOODPUT_PNG,
    files::OVERLOAD_LATENCY_PNG,
    files::FORECAST_PNG,
    files::COST_CURVE_PNG,
    files::MONTHLY_COST_PNG,
    files::REGIONS_PNG,
    files::SCENARIOS_PNG,
    files::BUDGET_PNG,
    files::SLI_PNG,
    files::STEPS,
    files::LEVELS,
    files::BASE,
    files::CANDIDATE,
];

/// Folders of [`WRITTEN`] that are headroom's only when they hold a run's
/// `summary.json` (a user's own `base/` is left alone, `--force` or not).
const RUN_FOLDERS: &[&str] = &[files::BASE, files::CANDIDATE];

/// Makes `dir` ready for a command's results. A directory holding results
/// already (any of [`WRITTEN`]) is refused unless `force`, which removes
/// them first — so that no file of an earlier run is left to be read or
/// rendered beside the new ones. A directory that is one of the command's
/// `inputs`, or would overwrite one, is always refused.
pub fn claim(dir: &Path, force: bool, inputs: &[&Path]) -> Result<(), BadInput> {
    if dir.exists() && !dir.is_dir() {
        return Err(BadInput(format!(
            "{} is a file, not a results directory: give --out a directory",
            dir.display()
        )));
    }
    // Results go into a directory of their own: never the root or a home
    // directory, where they would land among everything else (and
    // `--force` would remove files of those names there).
    let full = std::path::absolute(dir).map(|p| p.canonicalize().unwrap_or(p));
    if let Ok(full) = full {
        let home = std::env::var_os("HOME").and_then(|h| Path::new(&h).canonicalize().ok());
        let whose = if full.parent().is_none() {
            Some("the root directory")
        } else if home.is_some_and(|h| h == full) {
            Some("your home directory")
        } else {
            None
        };
        if let Some(whose) = whose {
            return Err(BadInput(format!(
                "{} is {whose}: give --out a directory of its own (reports/NAME)",
                dir.display()
            )));
        }
    }
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    for input in inputs {
        let overwritten = WRITTEN.iter().any(|w| same(&dir.join(w), input));
        if same(dir, input) || overwritten {
            return Err(BadInput(format!(
                "{} is one of this command's inputs: write the results elsewhere (--out)",
                input.display()
            )));
        }
    }
    let present: Vec<&str> = WRITTEN
        .iter()
        .copied()
        .filter(|w| {
            if RUN_FOLDERS.contains(w) {
                dir.join(w).join(files::SUMMARY).exists()
            } else {
                dir.join(w).exists()
            }
        })
        .collect();
    if present.is_empty() {
        // Not a results directory: only an empty one is taken (what
        // `--force` would remove among someone's files is not headroom's).
        let others = others_in(dir, inputs);
        if !others.is_empty() {
            return Err(BadInput(format!(
                "{} holds other files ({}) and no headroom results: give --out a new or empty directory",
                dir.display(),
                others.join(", ")
            )));
        }
    } else {
        if !force {
            return Err(BadInput(format!(
                "{} already holds results ({}): give another --out, or --force to replace them",
                dir.display(),
                present.join(", ")
            )));
        }
        for w in present {
            let path = dir.join(w);
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(|e| BadInput(format!("removing {}: {e}", path.display())))?;
        }
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| BadInput(format!("creating {}: {e}", dir.display())))?;
    // A directory that takes no file fails here, before any load.
    let probe = dir.join(".headroom-write-test");
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| BadInput(format!("cannot write into {}: {e}", dir.display())))
}

/// The first few entries of `dir` that headroom did not write (hidden
/// ones aside: `.gitkeep`, a file manager's own), nor hold the command's
/// `inputs` (the demo's plan and `merge`'s segments live inside the
/// directory their results go to).
fn others_in(dir: &Path, inputs: &[&Path]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let inputs: Vec<std::path::PathBuf> = inputs
        .iter()
        .filter_map(|i| i.canonicalize().ok())
        .collect();
    let holds_input = |name: &std::ffi::OsStr| {
        dir.join(name)
            .canonicalize()
            .is_ok_and(|p| inputs.iter().any(|i| i.starts_with(&p)))
    };
    let mut others: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| !holds_input(&e.file_name()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !n.starts_with('.')
                && !n.ends_with(".part")
                && !WRITTEN.contains(&n.as_str())
                && n != files::FIND_DIR
        })
        .collect();
    others.sort();
    if others.len() > 3 {
        let more = others.len() - 3;
        others.truncate(3);
        others.push(format!("{more} more"));
    }
    others
}

/// Pretty JSON with a final newline, written whole or not at all (into a
/// `.part` file renamed over `path`): a process killed while writing never
/// leaves half a document.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    write_text(path, &(to_json(value)? + "\n"))
}

/// A text file written whole or not at all, like [`write_json`].
pub fn write_text(path: &Path, text: &str) -> anyhow::Result<()> {
    let part = path.with_extension("part");
    std::fs::write(&part, text)
        .and_then(|()| std::fs::rename(&part, path))
        .with_context(|| format!("writing {}", path.display()))
}

/// Pretty JSON whose numbers read as numbers: floats rounded to 15
/// significant digits, all an f64 holds for sure (`1.34944`, not
/// `1.349439999999999` from µs / 1000), and no `-0`.
pub fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        Tidy(serde_json::ser::PrettyFormatter::new()),
    );
    value.serialize(&mut ser)?;
    // serde_json writes UTF-8.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `PrettyFormatter` with [`tidy`] floats.
struct Tidy<'a>(serde_json::ser::PrettyFormatter<'a>);

/// `x` to 15 significant digits (decimal rounding), `-0` as `0`.
pub fn tidy(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return if x == 0.0 { 0.0 } else { x };
    }
    format!("{x:.14e}").parse().unwrap_or(x)
}

impl serde_json::ser::Formatter for Tidy<'_> {
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f64) -> std::io::Result<()> {
        self.0.write_f64(w, tidy(v))
    }
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Reads a result file into its type; `what` names it in errors ("a
/// headroom find result"). A file that does not parse is bad input located
/// by line and column (`find.json:1:2043: not a headroom find result:
/// invalid type …`); one that lacks a field its type writes is bad input
/// naming the field (`… missing field `sustainable_rps``) — an `Option`
/// field included, which serde alone would take as `None`.
pub fn read_json<T>(path: &Path, what: &str) -> Result<T, BadInput>
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadInput(format!("reading {}: {e}", path.display())))?;
    let located = |e: serde_json::Error| {
        let msg = e.to_string();
        let msg = msg.rfind(" at line ").map_or(msg.as_str(), |i| &msg[..i]);
        BadInput(format!(
            "{}:{}:{}: not {what}: {msg}",
            path.display(),
            e.line(),
            e.column()
        ))
    };
    let written: serde_json::Value = serde_json::from_str(&text).map_err(located)?;
    if let Some((theirs, ours)) = newer(&written) {
        return Err(BadInput(format!(
            "{}: written by a newer headroom ({theirs}; this one reads up to {ours}): read it with that version",
            path.display()
        )));
    }
    let value: T = serde_json::from_str(&text).map_err(located)?;
    let read =
        serde_json::to_value(&value).map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
    if let Some(field) = missing(&written, &read, String::new()) {
        return Err(BadInput(format!(
            "{}: not {what}: missing field `{field}`",
            path.display()
        )));
    }
    Ok(value)
}

/// Every document's schema, as this build writes it.
const SCHEMAS: &[&str] = &[
    summary::SCHEMA,
    find::SCHEMA,
    sweep::SCHEMA,
    stress::SCHEMA,
    slo::SCHEMA,
    compare::SCHEMA,
    plan::FORECAST_SCHEMA,
    plan::BACKTEST_SCHEMA,
    crate::model::plan::SCHEMA,
];

/// A document's schema when it is a later version than this build writes
/// (`headroom.summary/9` against `headroom.summary/1`): its fields may
/// mean what this build cannot know.
fn newer(written: &serde_json::Value) -> Option<(String, &'static str)> {
    let theirs = written.get("schema")?.as_str()?;
    let (kind, version) = theirs.rsplit_once('/')?;
    let ours = SCHEMAS
        .iter()
        .find(|o| o.rsplit_once('/').is_some_and(|(k, _)| k == kind))?;
    let number = |v: &str| v.parse::<u32>().ok();
    (number(version)? > number(ours.rsplit_once('/')?.1)?).then(|| (theirs.to_string(), *ours))
}

/// Fields added to a format after files were first written: files from
/// before them lack them, and read them as their default.
const ADDED_LATER: &[&str] = &[
    // summary.json
    "no_free_connection",
    "users_never_sent",
    "attribution",
    // stress.json phases and seconds
    "error_kinds",
    "answered",
    // find.json steps
    "dropped",
    "in_flight_end",
    "queued_end",
    "send_lag_p99_ms",
    "service_ms",
    // sweep.json
    "target_unusable",
    // forecast.json, plan.json
    "calibration",
    "forecast_calibration",
    "why",
    // plan.json: events, lead time
    "events",
    "lead_time_days",
    "act_by",
    // plan.json, headroom.plan/2: the capacity review
    "scenarios",
    "autoscaling",
    "orders",
    "commitment_mix",
    "region_commitments",
    "survive_region_loss",
    "zones",
    "loss_rps",
    "worst_loss",
    "sized_for",
];

/// The first field (as a path, `steps[3].error_share`) that reading back
/// produced but the file did not hold.
fn missing(written: &serde_json::Value, read: &serde_json::Value, at: String) -> Option<String> {
    use serde_json::Value;
    match (written, read) {
        (Value::Object(w), Value::Object(r)) => r.iter().find_map(|(k, rv)| {
            let here = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            match w.get(k) {
                None if ADDED_LATER.contains(&k.as_str()) => None,
                None => Some(here),
                Some(wv) => missing(wv, rv, here),
            }
        }),
        (Value::Array(w), Value::Array(r)) => w
            .iter()
            .zip(r)
            .enumerate()
            .find_map(|(i, (wv, rv))| missing(wv, rv, format!("{at}[{i}]"))),
        _ => None,
    }
}

/// The file names of a results directory: each spelled here once, and
/// read from here by the writers, `--force`, the readers and the report.
pub mod files {
    /// A run's summary.
    pub const SUMMARY: &str = "summary.json";
    /// The scenario a run ran.
    pub const SCENARIO: &str = "scenario.json";
    /// Per-second latency histograms.
    pub const LATENCY_LOG: &str = "latency.hlog";
    /// Per-second service time, send lag and connect histograms.
    pub const DETAIL_LOG: &str = "detail.hlog";
    /// One row per second.
    pub const TIMESERIES_CSV: &str = "timeseries.csv";
    /// One row per second, as Parquet.
    pub const TIMESERIES_PARQUET: &str = "timeseries.parquet";
    /// A breaking-point search.
    pub const FIND: &str = "find.json";
    /// A concurrency sweep.
    pub const SWEEP: &str = "sweep.json";
    /// A stress test.
    pub const STRESS: &str = "stress.json";
    /// A capacity plan.
    pub const PLAN: &str = "plan.json";
    /// A demand forecast.
    pub const FORECAST: &str = "forecast.json";
    /// A forecast's backtest.
    pub const BACKTEST: &str = "backtest.json";
    /// An SLO's error budget.
    pub const SLO: &str = "slo.json";
    /// A comparison with a baseline.
    pub const COMPARE: &str = "compare.json";
    /// A HorizontalPodAutoscaler.
    pub const HPA: &str = "hpa.yaml";
    /// The page people read.
    pub const REPORT: &str = "report.html";
    pub const LATENCY_PNG: &str = "latency.png";
    pub const THROUGHPUT_PNG: &str = "throughput.png";
    pub const SPECTRUM_PNG: &str = "spectrum.png";
    pub const FIND_PNG: &str = "find.png";
    pub const USL_PNG: &str = "usl.png";
    pub const GOODPUT_PNG: &str = "overload-goodput.png";
    pub const OVERLOAD_LATENCY_PNG: &str = "overload-latency.png";
    pub const FORECAST_PNG: &str = "forecast.png";
    pub const COST_CURVE_PNG: &str = "cost-curve.png";
    pub const MONTHLY_COST_PNG: &str = "monthly-cost.png";
    pub const REGIONS_PNG: &str = "regions.png";
    pub const SCENARIOS_PNG: &str = "scenarios.png";
    pub const BUDGET_PNG: &str = "budget.png";
    pub const SLI_PNG: &str = "sli.png";
    /// Find's and stress's steps, each a run's results.
    pub const STEPS: &str = "steps";
    /// A sweep's levels, each a run's results.
    pub const LEVELS: &str = "levels";
    /// `ab`'s baseline arm (headroom's only when it holds a summary.json).
    pub const BASE: &str = "base";
    /// `ab`'s candidate arm (likewise).
    pub const CANDIDATE: &str = "candidate";
    /// `stress`: the search for its sustainable rate.
    pub const FIND_DIR: &str = "find";
}

/// A results directory — of a run, a search, a sweep, a stress test or a
/// plan — read through the types of its files. Each reader answers `None`
/// for a file that is not there, and an error naming the file (and the
/// field, line and column) for one that is there but not what it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultsDir {
    path: std::path::PathBuf,
}

impl ResultsDir {
    pub fn new(path: &Path) -> ResultsDir {
        ResultsDir {
            path: path.to_path_buf(),
        }
    }

    /// A directory, or the directory of a result file in it
    /// (`…/summary.json`).
    pub fn open(path: &Path) -> Result<ResultsDir, BadInput> {
        if path.is_dir() {
            return Ok(ResultsDir::new(path));
        }
        if path.is_file() {
            return Ok(ResultsDir::new(path.parent().unwrap_or(Path::new("."))));
        }
        Err(BadInput(format!(
            "{}: no such results directory or file",
            path.display()
        )))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, file: &str) -> std::path::PathBuf {
        self.path.join(file)
    }

    pub fn has(&self, file: &str) -> bool {
        self.join(file).is_file()
    }

    /// What the directory holds, in words, when it is not a run's results:
    /// `a find result (find.json)`, `nothing headroom wrote` …
    pub fn holds(&self) -> String {
        for (file, what) in [
            (
                crate::results::files::FIND,
                "a breaking-point search (find.json)",
            ),
            (
                crate::results::files::SWEEP,
                "a concurrency sweep (sweep.json)",
            ),
            (crate::results::files::STRESS, "a stress test (stress.json)"),
            (crate::results::files::PLAN, "a capacity plan (plan.json)"),
            (files::FORECAST, "a demand forecast (forecast.json)"),
            (files::SUMMARY, "a run (summary.json)"),
        ] {
            if self.has(file) {
                return what.into();
            }
        }
        if !self.path.exists() {
            return "nothing: it does not exist".into();
        }
        "nothing headroom wrote".into()
    }

    fn doc<T: serde::de::DeserializeOwned + serde::Serialize>(
        &self,
        file: &str,
        what: &str,
    ) -> Result<Option<T>, BadInput> {
        if !self.has(file) {
            return Ok(None);
        }
        read_json(&self.join(file), what).map(Some)
    }

    pub fn summary(&self) -> Result<Option<summary::Summary>, BadInput> {
        self.doc(files::SUMMARY, "a headroom run summary (summary.json)")
    }

    pub fn scenario(&self) -> Result<Option<scenario::ScenarioInfo>, BadInput> {
        self.doc(
            files::SCENARIO,
            "a headroom scenario record (scenario.json)",
        )
    }

    pub fn find(&self) -> Result<Option<find::FindResult>, BadInput> {
        self.doc(files::FIND, "a headroom find result (find.json)")
    }

    pub fn sweep(&self) -> Result<Option<sweep::SweepResult>, BadInput> {
        self.doc(files::SWEEP, "a headroom sweep result (sweep.json)")
    }

    pub fn stress(&self) -> Result<Option<stress::StressResult>, BadInput> {
        self.doc(files::STRESS, "a headroom stress result (stress.json)")
    }

    pub fn plan(&self) -> Result<Option<plan::PlanDoc>, BadInput> {
        self.doc(files::PLAN, "a headroom plan (plan.json)")
    }

    pub fn forecast(&self) -> Result<Option<plan::ForecastDoc>, BadInput> {
        self.doc(files::FORECAST, "a headroom forecast (forecast.json)")
    }

    pub fn slo(&self) -> Result<Option<slo::SloDoc>, BadInput> {
        self.doc(files::SLO, "a headroom SLO report (slo.json)")
    }

    pub fn comparison(&self) -> Result<Option<compare::Comparison>, BadInput> {
        self.doc(files::COMPARE, "a headroom comparison (compare.json)")
    }

    pub fn backtest(&self) -> Result<Option<plan::BacktestDoc>, BadInput> {
        self.doc(
            files::BACKTEST,
            "a headroom forecast backtest (backtest.json)",
        )
    }

    /// `latency.hlog`.
    pub fn latency(&self) -> Result<Option<hlog::Log>, BadInput> {
        self.log(files::LATENCY_LOG, |_, _| true)
    }

    /// `latency.hlog`'s all-requests series alone, second by second: what
    /// the report draws, without the per-name series beside it.
    pub fn latency_of_all(&self) -> Result<Option<hlog::Log>, BadInput> {
        self.log(files::LATENCY_LOG, |kind, key| {
            kind == hlog::Kind::Latency && *key == hlog::Key::All
        })
    }

    /// `detail.hlog` (service time and send lag).
    pub fn detail(&self) -> Result<Option<hlog::Log>, BadInput> {
        self.log(files::DETAIL_LOG, |_, _| true)
    }

    fn log(
        &self,
        file: &str,
        want: impl Fn(hlog::Kind, &hlog::Key) -> bool,
    ) -> Result<Option<hlog::Log>, BadInput> {
        if !self.has(file) {
            return Ok(None);
        }
        hlog::read_file_only(&self.join(file), want).map(Some)
    }

    /// `timeseries.csv` or `timeseries.parquet`.
    pub fn timeseries(&self) -> Result<Option<Vec<timeseries::Row>>, BadInput> {
        match timeseries::find(&self.path) {
            Some(p) => timeseries::read(&p).map(Some),
            None => Ok(None),
        }
    }

    /// This directory and its immediate subdirectories, in name order
    /// (`reports/demo` holds run/, find/, sweep/ …).
    pub fn with_subdirectories(&self) -> Vec<ResultsDir> {
        let mut dirs = vec![self.clone()];
        if let Ok(entries) = std::fs::read_dir(&self.path) {
            let mut subs: Vec<std::path::PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect();
            subs.sort();
            dirs.extend(subs.iter().map(|p| ResultsDir::new(p)));
        }
        dirs
    }
}

#[cfg(test)]
mod tests {
    use super::{newer, tidy, to_json};

    #[test]
    fn a_document_of_a_newer_schema_is_told_apart() {
        let doc = |s: &str| serde_json::json!({ "schema": s });
        assert_eq!(
            newer(&doc("headroom.summary/9")),
            Some(("headroom.summary/9".into(), super::summary::SCHEMA))
        );
        assert_eq!(newer(&doc(super::summary::SCHEMA)), None);
        assert_eq!(newer(&doc("headroom.plan/1")), None);
        assert_eq!(newer(&doc("someone.else/9")), None);
        assert_eq!(newer(&serde_json::json!({})), None);
    }

    #[test]
    fn json_numbers_lose_float_noise_and_negative_zero() {
        // 1349.44 µs / 1000, as the summaries compute it.
        let noisy = 1.349439999999999;
        assert_eq!(tidy(noisy), 1.34944);
        assert_eq!(tidy(-0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(tidy(0.1 + 0.2), 0.3);
        // What an f64 holds for sure survives.
        for x in [1.0 / 3.0, 123_456_789.012_345, 6.02e23, 1e-300] {
            assert!((tidy(x) - x).abs() <= 1e-14 * x.abs(), "{x}");
        }
        let text = to_json(&serde_json::json!({"b": noisy, "a": [-0.0, 2.5]})).unwrap();
        assert_eq!(
            text,
            "{\n  \"a\": [\n    0.0,\n    2.5\n  ],\n  \"b\": 1.34944\n}"
        );
    }
}
