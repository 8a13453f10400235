//! Demand history: a timestamp column and a value column, resampled to a
//! regular step.
//!
//! Timestamps may be text (`2024-03-01T10:00:00+01:00`, `2024-03-01 10:00`,
//! `2024-03-01`, `2024-03` for months), Unix seconds or milliseconds, or a
//! Parquet datetime column. A timestamp without an offset is UTC. Buckets
//! (days, months) follow the wall clock of the first timestamp's offset, so
//! a history exported in local time keeps its local midnights.
//!
//! Resampling: values in one bucket are combined by [`Aggregate`] (sum for
//! counts, mean or max for rates); empty buckets inside the range are filled
//! by linear interpolation and counted in [`History::filled`].

use std::path::Path;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

use super::table::{Cells, Table};
use crate::error::BadInput;
use crate::model::forecast;

/// The regular step of a resampled history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Seconds(u64),
    /// Calendar months.
    Months(u32),
}

impl Step {
    /// Parses `1h`, `15m`, `1d`, `1w`, `1mo`, `month`, `hour`, `day`.
    pub fn parse(text: &str) -> Result<Step, String> {
        let t = text.trim();
        match t {
            "month" | "monthly" => return Ok(Step::Months(1)),
            "hour" | "hourly" => return Ok(Step::Seconds(3_600)),
            "day" | "daily" => return Ok(Step::Seconds(86_400)),
            "week" | "weekly" => return Ok(Step::Seconds(7 * 86_400)),
            _ => {}
        }
        if let Some(n) = t.strip_suffix("mo") {
            let n: u32 = n.trim().parse().map_err(|_| format!("bad step `{text}`"))?;
            if n == 0 {
                return Err("the step must be positive".into());
            }
            return Ok(Step::Months(n));
        }
        let d = crate::units::parse_duration(t)?;
        if d.as_secs() == 0 || d.subsec_nanos() != 0 {
            return Err(format!(
                "step `{text}` must be a whole number of seconds, at least 1s"
            ));
        }
        Ok(Step::Seconds(d.as_secs()))
    }

    /// Approximate length in seconds (a month is 30.436875 days).
    pub fn seconds(&self) -> f64 {
        match *self {
            Step::Seconds(s) => s as f64,
            Step::Months(m) => f64::from(m) * 30.436_875 * 86_400.0,
        }
    }

    /// Seasonal periods (in steps) worth modelling for `n` observations.
    pub fn seasonal_periods(&self, n: usize) -> Vec<usize> {
        match *self {
            Step::Months(1) => forecast::keep_periods(forecast::MONTHLY_PERIODS, n),
            Step::Months(3) => forecast::keep_periods([4], n),
            Step::Months(_) => Vec::new(),
            Step::Seconds(s) => forecast::seasonal_periods(s, n),
        }
    }

    /// Number of steps covering `horizon`: `24` (steps), `90d`, `6mo`, `1y`.
    pub fn steps_in(&self, horizon: &str) -> Result<usize, String> {
        let h = horizon.trim();
        if let Ok(n) = h.parse::<usize>() {
            return Ok(n);
        }
        let months = if let Some(n) = h.strip_suffix("mo") {
            n.trim().parse::<f64>().ok()
        } else if let Some(n) = h.strip_suffix('y') {
            n.trim().parse::<f64>().ok().map(|y| 12.0 * y)
        } else {
            None
        };
        let seconds = match months {
            Some(m) => m * 30.436_875 * 86_400.0,
            None => crate::units::parse_duration(h)
                .map_err(|e| format!("horizon: {e} (or a number of steps, `6mo`, `1y`)"))?
                .as_secs_f64(),
        };
        let steps = (seconds / self.seconds() - 1e-9).ceil();
        if steps < 1.0 {
            return Err(format!("horizon `{horizon}` is shorter than one step"));
        }
        Ok(steps as usize)
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Step::Months(m) => write!(f, "{m}mo"),
            Step::Seconds(s) => f.write_str(&crate::units::fmt_step(s)),
        }
    }
}

/// How values that fall into one step are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregate {
    /// Counts (requests per step).
    Sum,
    /// Rates (requests per second), averaged.
    Mean,
    /// Rates, the peak within the step (sizing for the peak).
    Max,
}

impl Aggregate {
    /// `sum`, `mean` or `max`.
    pub fn parse(s: &str) -> Result<Aggregate, String> {
        match s {
            "sum" => Ok(Aggregate::Sum),
            "mean" => Ok(Aggregate::Mean),
            "max" => Ok(Aggregate::Max),
            _ => Err(format!("expected sum, mean or max, found {s:?}")),
        }
    }
}

/// A regular series: `values[i]` belongs to the step starting at `time(i)`.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub start: DateTime<FixedOffset>,
    pub step: Step,
    pub values: Vec<f64>,
    /// Empty steps filled by interpolation.
    pub filled: usize,
    /// Rows read from the file.
    pub rows: usize,
    /// Rows whose timestamp an earlier row already had (combined by the
    /// aggregate like any rows in one step, but worth a word: an export
    /// that repeats itself).
    pub duplicates: usize,
}

impl History {
    pub fn time(&self, i: usize) -> DateTime<FixedOffset> {
        advance(self.start, self.step, i as i64)
    }

    /// The steps covering `horizon` (see [`Step::steps_in`]), at most ten
    /// times the history's own length: further out is extrapolation (and
    /// `1000000d` of hourly steps took 3.5 GB).
    pub fn horizon(&self, horizon: &str) -> Result<usize, String> {
        let steps = self.step.steps_in(horizon)?;
        let max = 10 * self.values.len();
        if steps > max {
            return Err(format!(
                "`{horizon}` is {steps} steps of {}, more than ten times the history's {} \
                 (at most {max}): a forecast that far ahead is a guess",
                self.step,
                self.values.len()
            ));
        }
        Ok(steps)
    }

    pub fn end(&self) -> DateTime<FixedOffset> {
        self.time(self.values.len())
    }
}

/// Which columns to use and how to resample; `None` means detect.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub time_column: Option<String>,
    pub value_column: Option<String>,
    pub step: Option<Step>,
    pub aggregate: Option<Aggregate>,
}

pub(crate) const TIME_NAMES: &[&str] = &[
    "timestamp",
    "time",
    "ts",
    "date",
    "datetime",
    "month",
    "day",
    "hour",
];
const VALUE_NAMES: &[&str] = &[
    "value",
    "requests",
    "rps",
    "rate",
    "count",
    "demand",
    "throughput",
    "qps",
    "passengers",
];

/// Reads a CSV or Parquet history and resamples it.
pub fn load(path: &Path, opts: &Options) -> Result<History, BadInput> {
    from_table(&Table::read(path)?, opts)
}

/// A history from a table already read (its columns picked by `opts`).
pub fn from_table(table: &Table, opts: &Options) -> Result<History, BadInput> {
    let path = table.path();
    let time = table.pick(
        opts.time_column.as_deref(),
        "timestamps",
        "--time-column",
        TIME_NAMES,
    )?;
    let value = match opts.value_column.as_deref() {
        Some(v) => table.pick(Some(v), "values", "--value-column", VALUE_NAMES)?,
        None => match table.pick(None, "values", "--value-column", VALUE_NAMES) {
            Ok(v) => v,
            // Two columns: the other one is the value.
            Err(e) => match table.columns().as_slice() {
                [a, b] => if *a == time { b } else { a }.clone(),
                _ => return Err(e),
            },
        },
    };
    let values = table.numbers(&value)?;
    let instants = instants(table, &time)?;
    let points: Vec<(DateTime<FixedOffset>, f64)> = instants.into_iter().zip(values).collect();
    resample(
        &points,
        opts.step,
        opts.aggregate.unwrap_or(Aggregate::Mean),
    )
    .map_err(|e| BadInput(format!("{}: {e}", path.display())))
}

pub(crate) fn instants(table: &Table, name: &str) -> Result<Vec<DateTime<FixedOffset>>, BadInput> {
    let bad = |i: usize, what: &str| {
        BadInput(format!(
            "{}: column `{name}`: {what}, found `{}`",
            table.at(i),
            table.text_at(name, i)
        ))
    };
    let expected = "expected a timestamp (2024-03-01T10:00:00Z, 2024-03-01 10:00, \
                    2024-03-01, 2024-03 or Unix seconds)";
    match table.cells(name)? {
        Cells::Text(cells) => {
            let parsed = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    c.as_deref()
                        .and_then(parse_timestamp)
                        .ok_or_else(|| bad(i, expected))
                })
                .collect::<Result<Vec<_>, _>>()?;
            // Rows with a zone beside rows without (read as UTC): hours
            // apart that look alike, accepted without a word before.
            let zoned = |c: &Option<String>| c.as_deref().is_some_and(has_zone);
            if let (Some(with), Some(without)) = (
                cells.iter().position(zoned),
                cells.iter().position(|c| !zoned(c)),
            ) {
                return Err(bad(
                    without,
                    &format!(
                        "a timestamp without a zone (read as UTC) among timestamps with one \
                         ({}: `{}`): give every row a zone, or none",
                        table.at(with),
                        table.text_at(name, with)
                    ),
                ));
            }
            Ok(parsed)
        }
        Cells::Number(cells) => cells
            .iter()
            .enumerate()
            .map(|(i, c)| c.and_then(from_epoch).ok_or_else(|| bad(i, expected)))
            .collect(),
        Cells::Instant(cells, tz) => {
            let offset = tz.as_deref().and_then(fixed_offset).unwrap_or(utc());
            cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    c.and_then(|s| offset.timestamp_opt(s, 0).single())
                        .ok_or_else(|| bad(i, expected))
                })
                .collect()
        }
    }
}

fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).expect("zero offset")
}

/// `UTC`, `+01:00` style zone names; named zones (Europe/Berlin) are taken
/// as UTC since their offset varies over the year.
fn fixed_offset(tz: &str) -> Option<FixedOffset> {
    if tz.eq_ignore_ascii_case("utc") || tz == "Z" {
        return Some(utc());
    }
    DateTime::parse_from_str(&format!("2000-01-01 00:00 {tz}"), "%Y-%m-%d %H:%M %:z")
        .ok()
        .map(|d| *d.offset())
}

fn from_epoch(v: f64) -> Option<DateTime<FixedOffset>> {
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    // Past 1e11 seconds is the year 5138: those are milliseconds.
    let secs = if v > 1e11 { v / 1000.0 } else { v };
    utc().timestamp_opt(secs.floor() as i64, 0).single()
}

/// Whether a timestamp says its zone (an offset or `Z`), or needs none
/// (Unix seconds).
fn has_zone(text: &str) -> bool {
    let t = text.trim();
    DateTime::parse_from_rfc3339(t).is_ok()
        || [
            "%Y-%m-%d %H:%M:%S%:z",
            "%Y-%m-%d %H:%M:%S%z",
            "%Y-%m-%dT%H:%M:%S%z",
        ]
        .iter()
        .any(|f| DateTime::parse_from_str(t, f).is_ok())
        || t.parse::<f64>().is_ok()
}

/// Parses one timestamp as written in a CSV cell.
pub fn parse_timestamp(text: &str) -> Option<DateTime<FixedOffset>> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d);
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%:z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(t, f) {
            return Some(d);
        }
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Some(utc().from_utc_datetime(&d));
        }
    }
    if let Ok(v) = t.parse::<f64>() {
        return from_epoch(v);
    }
    let date = NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&format!("{t}-01"), "%Y-%m-%d"))
        .ok()?;
    Some(utc().from_utc_datetime(&date.and_hms_opt(0, 0, 0)?))
}

/// Resamples points (in any order) to a regular step; the step is detected
/// from the median spacing when not given (28–31 days: calendar months).
pub fn resample(
    points: &[(DateTime<FixedOffset>, f64)],
    step: Option<Step>,
    agg: Aggregate,
) -> Result<History, String> {
    if points.len() < 2 {
        return Err(format!(
            "need at least 2 timestamped values, found {}",
            points.len()
        ));
    }
    let mut sorted = points.to_vec();
    sorted.sort_by_key(|(t, _)| *t);
    let duplicates = sorted.windows(2).filter(|w| w[0].0 == w[1].0).count();
    let offset = *sorted[0].0.offset();
    let step = match step {
        Some(s) => s,
        None => detect_step(&sorted)?,
    };
    let index = |t: &DateTime<FixedOffset>| bucket(&t.with_timezone(&offset), step);
    let first = index(&sorted[0].0);
    let last = index(&sorted[sorted.len() - 1].0);
    let n = (last - first + 1) as usize;
    if n > 50_000_000 {
        return Err(format!(
            "resampling to {step} gives {n} steps; choose a coarser --step"
        ));
    }
    let mut acc: Vec<(f64, u32)> = vec![(0.0, 0); n];
    for (t, v) in &sorted {
        let slot = &mut acc[(index(t) - first) as usize];
        slot.0 = match (agg, slot.1) {
            (_, 0) => *v,
            (Aggregate::Max, _) => slot.0.max(*v),
            _ => slot.0 + v,
        };
        slot.1 += 1;
    }
    let mut values: Vec<Option<f64>> = acc
        .iter()
        .map(|&(s, c)| match (agg, c) {
            (_, 0) => None,
            (Aggregate::Mean, c) => Some(s / f64::from(c)),
            _ => Some(s),
        })
        .collect();
    let filled = interpolate(&mut values);
    let start = start_of(first, step, offset);
    Ok(History {
        start,
        step,
        values: values.into_iter().map(|v| v.unwrap_or(0.0)).collect(),
        filled,
        rows: points.len(),
        duplicates,
    })
}

fn detect_step(sorted: &[(DateTime<FixedOffset>, f64)]) -> Result<Step, String> {
    let mut gaps: Vec<i64> = sorted
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).num_seconds())
        .filter(|&g| g > 0)
        .collect();
    if gaps.is_empty() {
        return Err("all timestamps are equal; cannot tell the step".into());
    }
    gaps.sort_unstable();
    let median = gaps[gaps.len() / 2];
    const DAY: i64 = 86_400;
    Ok(if (28 * DAY..=31 * DAY).contains(&median) {
        Step::Months(1)
    } else if (89 * DAY..=92 * DAY).contains(&median) {
        Step::Months(3)
    } else {
        Step::Seconds(median as u64)
    })
}

/// Bucket number of a local time: steps since the epoch, or months since
/// year 0.
fn bucket(t: &DateTime<FixedOffset>, step: Step) -> i64 {
    match step {
        Step::Seconds(s) => {
            let local = t.naive_local().and_utc().timestamp();
            local.div_euclid(s as i64)
        }
        Step::Months(m) => {
            (i64::from(t.year()) * 12 + i64::from(t.month0())).div_euclid(i64::from(m))
        }
    }
}

fn start_of(bucket: i64, step: Step, offset: FixedOffset) -> DateTime<FixedOffset> {
    match step {
        Step::Seconds(s) => {
            let local = bucket * s as i64;
            let naive = DateTime::<Utc>::from_timestamp(local, 0)
                .unwrap_or_default()
                .naive_utc();
            offset
                .from_local_datetime(&naive)
                .single()
                .unwrap_or_else(|| offset.from_utc_datetime(&naive))
        }
        Step::Months(m) => {
            let months = bucket * i64::from(m);
            let date = NaiveDate::from_ymd_opt(
                months.div_euclid(12) as i32,
                months.rem_euclid(12) as u32 + 1,
                1,
            )
            .unwrap_or_default();
            offset
                .from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
                .single()
                .unwrap_or_else(|| {
                    offset.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
                })
        }
    }
}

/// `t` moved by `k` steps.
pub fn advance(t: DateTime<FixedOffset>, step: Step, k: i64) -> DateTime<FixedOffset> {
    match step {
        Step::Seconds(s) => t + chrono::Duration::seconds(s as i64 * k),
        Step::Months(m) => {
            let months = i64::from(m) * k;
            if months >= 0 {
                t.checked_add_months(chrono::Months::new(months as u32))
            } else {
                t.checked_sub_months(chrono::Months::new((-months) as u32))
            }
            .unwrap_or(t)
        }
    }
}

/// Fills inner gaps linearly; returns how many were filled. The ends are
/// never empty (they hold the first and last points).
fn interpolate(values: &mut [Option<f64>]) -> usize {
    let mut filled = 0;
    let mut last: Option<(usize, f64)> = None;
    for i in 0..values.len() {
        if let Some(v) = values[i] {
            if let Some((j, u)) = last {
                for (k, slot) in values.iter_mut().enumerate().take(i).skip(j + 1) {
                    let w = (k - j) as f64 / (i - j) as f64;
                    *slot = Some(u + w * (v - u));
                    filled += 1;
                }
            }
            last = Some((i, v));
        }
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> DateTime<FixedOffset> {
        parse_timestamp(s).unwrap()
    }

    #[test]
    fn timestamps_in_the_forms_people_export() {
        let want = ts("2024-03-01T09:00:00Z");
        assert_eq!(ts("2024-03-01T10:00:00+01:00"), want);
        assert_eq!(ts("2024-03-01 10:00:00+01:00"), want);
        assert_eq!(ts("2024-03-01 09:00"), want);
        assert_eq!(ts("2024-03-01T09:00:00.000"), want);
        assert_eq!(ts("1709283600"), want);
        assert_eq!(ts("1709283600000"), want);
        assert_eq!(ts("2024-03"), ts("2024-03-01"));
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn monthly_data_is_detected_and_kept_on_calendar_months() {
        let pts: Vec<_> = (1..=12)
            .map(|m| (ts(&format!("2024-{m:02}")), f64::from(m)))
            .collect();
        let h = resample(&pts, None, Aggregate::Mean).unwrap();
        assert_eq!(h.step, Step::Months(1));
        assert_eq!(h.values.len(), 12);
        assert_eq!(h.time(11), ts("2024-12-01"));
        assert_eq!(h.end(), ts("2025-01-01"));
    }

    #[test]
    fn irregular_points_are_bucketed_and_gaps_interpolated() {
        // Three points in hour 0, none in hour 1, one in hour 2.
        let pts = vec![
            (ts("2024-01-01T00:05:00Z"), 1.0),
            (ts("2024-01-01T00:35:00Z"), 3.0),
            (ts("2024-01-01T00:50:00Z"), 8.0),
            (ts("2024-01-01T02:10:00Z"), 10.0),
        ];
        let sum = resample(&pts, Some(Step::Seconds(3600)), Aggregate::Sum).unwrap();
        assert_eq!(sum.values, vec![12.0, 11.0, 10.0]);
        assert_eq!(sum.filled, 1);
        assert_eq!(sum.start, ts("2024-01-01T00:00:00Z"));
        let mean = resample(&pts, Some(Step::Seconds(3600)), Aggregate::Mean).unwrap();
        assert_eq!(mean.values, vec![4.0, 7.0, 10.0]);
        let max = resample(&pts, Some(Step::Seconds(3600)), Aggregate::Max).unwrap();
        assert_eq!(max.values, vec![8.0, 9.0, 10.0]);
    }

    #[test]
    fn days_follow_the_local_midnight_of_the_data() {
        // 23:30 and 00:30 local (+02:00) fall on different local days.
        let pts = vec![
            (ts("2024-06-01T23:30:00+02:00"), 1.0),
            (ts("2024-06-02T00:30:00+02:00"), 2.0),
        ];
        let h = resample(&pts, Some(Step::Seconds(86_400)), Aggregate::Sum).unwrap();
        assert_eq!(h.values, vec![1.0, 2.0]);
        assert_eq!(h.start, ts("2024-06-01T00:00:00+02:00"));
    }

    #[test]
    fn steps_and_horizons() {
        assert_eq!(Step::parse("1h"), Ok(Step::Seconds(3600)));
        assert_eq!(Step::parse("1mo"), Ok(Step::Months(1)));
        assert!(Step::parse("0mo").is_err());
        assert_eq!(Step::Seconds(3600).steps_in("90d"), Ok(2160));
        assert_eq!(Step::Months(1).steps_in("24mo"), Ok(24));
        assert_eq!(Step::Months(1).steps_in("1y"), Ok(12));
        assert_eq!(Step::Months(1).steps_in("90d"), Ok(3));
        assert_eq!(Step::Seconds(86_400).steps_in("14"), Ok(14));
        assert_eq!(Step::Seconds(86_400).steps_in("1h"), Ok(1));
        assert!(Step::Seconds(86_400).steps_in("0s").is_err());
    }
}
