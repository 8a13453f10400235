//! Error budgets: what an SLO allows, what history spent, how fast it is
//! burning, when it runs out, and the alert windows that page on it.
//!
//! * **Occurrences** budgeting: the budget is (1 − objective) of the
//!   window's events; bad events spend it.
//! * **Timeslices** budgeting: the window is cut into slices (the data's
//!   step); a slice is bad when its good share is under the slice target;
//!   the budget is (1 − objective) of the window's slices. A slice without
//!   data is neither good nor bad (it is counted and reported).
//! * **Rolling** windows end now; **calendar** windows (day, week, month,
//!   quarter, year, UTC) started at the period's start, and a timeslice
//!   budget covers the whole period.
//! * **Burn rate** over a lookback w: the bad share over (now − w, now]
//!   divided by 1 − objective (1 spends the budget in exactly one window).
//! * **Alert windows** (multi-window, multi-burn-rate; the SRE workbook,
//!   ch. 5, table 5-8, for 30 days: page on 2 % of the budget in 1 h or 5 %
//!   in 6 h, ticket on 10 % in 1 d or in 3 d, each with a short window of
//!   1/12 of the long one). For another window W the long and short
//!   windows scale by W / 30 d, so the burn factors (share × W / long: 14.4,
//!   6, 3, 1) and the shares of the budget stay the workbook's.

use chrono::{DateTime, Datelike, Duration, FixedOffset, TimeZone, Utc};
use serde::{Deserialize, Serialize};

const DAY: f64 = 86_400.0;

/// A calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Calendar {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    /// The last so many seconds.
    Rolling(f64),
    Calendar(Calendar),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Budgeting {
    Occurrences,
    /// A slice is good when good / total ≥ `slice_target`.
    Timeslices {
        slice_target: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Objective {
    /// 0.999 for 99.9 %.
    pub target: f64,
    pub window: Window,
    pub budgeting: Budgeting,
}

/// Good and total events in the step starting at `t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub t: DateTime<FixedOffset>,
    pub good: f64,
    pub total: f64,
}

impl Step {
    fn bad(&self) -> f64 {
        (self.total - self.good).max(0.0)
    }
}

/// The start (and, for a calendar window, the end) of the window holding
/// `now`.
pub fn window_bounds(w: Window, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let midnight = |y: i32, m: u32, d: u32| {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
            .single()
            .expect("a valid date")
    };
    match w {
        Window::Rolling(s) => (now - secs(s), now),
        Window::Calendar(c) => {
            let (y, m) = (now.year(), now.month());
            let start = match c {
                Calendar::Day => midnight(y, m, now.day()),
                Calendar::Week => {
                    midnight(y, m, now.day())
                        - Duration::days(i64::from(now.weekday().num_days_from_monday()))
                }
                Calendar::Month => midnight(y, m, 1),
                Calendar::Quarter => midnight(y, (m - 1) / 3 * 3 + 1, 1),
                Calendar::Year => midnight(y, 1, 1),
            };
            let months = |n: u32| {
                let k = start.month0() + n;
                midnight(start.year() + (k / 12) as i32, k % 12 + 1, 1)
            };
            let end = match c {
                Calendar::Day => start + Duration::days(1),
                Calendar::Week => start + Duration::days(7),
                Calendar::Month => months(1),
                Calendar::Quarter => months(3),
                Calendar::Year => months(12),
            };
            (start, end)
        }
    }
}

fn secs(s: f64) -> Duration {
    Duration::milliseconds((s * 1e3).round() as i64)
}

/// A window's nominal length: a calendar month as 30 days, a quarter 91,
/// a year 365. Alert windows scale with it, so rules (and what a report
/// says would fire) do not change with the month they are made in.
pub fn nominal_seconds(w: Window) -> f64 {
    match w {
        Window::Rolling(s) => s,
        Window::Calendar(c) => {
            DAY * match c {
                Calendar::Day => 1.0,
                Calendar::Week => 7.0,
                Calendar::Month => 30.0,
                Calendar::Quarter => 91.0,
                Calendar::Year => 365.0,
            }
        }
    }
}

/// The window's length in seconds (a calendar window: the current period's).
pub fn window_seconds(w: Window, now: DateTime<Utc>) -> f64 {
    let (a, b) = window_bounds(w, now);
    (b - a).num_milliseconds() as f64 / 1e3
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Budget {
    /// RFC 3339.
    pub window_start: String,
    pub window_end: String,
    /// Events (occurrences) or slices (timeslices) in the window so far.
    pub total: f64,
    pub bad: f64,
    /// Slices of the window with no data (timeslices), or steps with no
    /// events (occurrences).
    pub no_data: usize,
    /// What the SLO allows in the window: bad events or bad slices.
    pub allowed: f64,
    /// Spent share of the budget (may pass 1).
    pub consumed: f64,
    /// 1 − consumed.
    pub remaining: f64,
    /// Good share over the window (events or slices with data).
    pub sli: Option<f64>,
}

/// The budget of the window holding `now`, from steps of `step_s` seconds.
pub fn budget(o: &Objective, steps: &[Step], step_s: f64, now: DateTime<Utc>) -> Budget {
    let (start, end) = window_bounds(o.window, now);
    let inside: Vec<&Step> = steps.iter().filter(|s| s.t >= start && s.t < now).collect();
    let (total, bad, no_data, allowed, sli) = match o.budgeting {
        Budgeting::Occurrences => {
            let total: f64 = inside.iter().map(|s| s.total).sum();
            let bad: f64 = inside.iter().map(|s| s.bad()).sum();
            // Steps the window should hold but the data lacks, or empty.
            let expected = ((now - start).num_milliseconds() as f64 / 1e3 / step_s).round();
            let with_events = inside.iter().filter(|s| s.total > 0.0).count();
            let no_data = (expected as usize).saturating_sub(with_events);
            let sli = (total > 0.0).then(|| 1.0 - bad / total);
            (total, bad, no_data, (1.0 - o.target) * total, sli)
        }
        Budgeting::Timeslices { slice_target } => {
            let with_data: Vec<&&Step> = inside.iter().filter(|s| s.total > 0.0).collect();
            let bad = with_data
                .iter()
                .filter(|s| s.good / s.total < slice_target - 1e-9)
                .count() as f64;
            let so_far = ((now - start).num_milliseconds() as f64 / 1e3 / step_s).round();
            // A calendar budget covers the whole period; a rolling one, the window.
            let slices = ((end - start).num_milliseconds() as f64 / 1e3 / step_s).round();
            let no_data = (so_far as usize).saturating_sub(with_data.len());
            let n = with_data.len() as f64;
            let sli = (n > 0.0).then(|| 1.0 - bad / n);
            (n, bad, no_data, (1.0 - o.target) * slices, sli)
        }
    };
    let consumed = if allowed > 0.0 {
        bad / allowed
    } else if bad > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    Budget {
        window_start: start.to_rfc3339(),
        window_end: end.to_rfc3339(),
        total,
        bad,
        no_data,
        allowed,
        consumed,
        remaining: 1.0 - consumed,
        sli,
    }
}

/// The standard lookbacks burn rates are reported over.
pub const LOOKBACKS: [(&str, f64); 7] = [
    ("5m", 300.0),
    ("30m", 1800.0),
    ("1h", 3600.0),
    ("2h", 7200.0),
    ("6h", 21_600.0),
    ("1d", DAY),
    ("3d", 3.0 * DAY),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Burn {
    pub lookback: String,
    /// `null` when the data's step is longer than the lookback, or the
    /// lookback holds no events.
    pub rate: Option<f64>,
}

/// Burn rate over (now − `lookback_s`, now].
pub fn burn_rate(
    o: &Objective,
    steps: &[Step],
    step_s: f64,
    now: DateTime<Utc>,
    lookback_s: f64,
) -> Option<f64> {
    if step_s > lookback_s + 1e-9 {
        return None;
    }
    let from = now - secs(lookback_s);
    let inside = steps.iter().filter(|s| s.t >= from && s.t < now);
    let bad_share = match o.budgeting {
        Budgeting::Occurrences => {
            let (bad, total) = inside.fold((0.0, 0.0), |(b, t), s| (b + s.bad(), t + s.total));
            (total > 0.0).then(|| bad / total)?
        }
        Budgeting::Timeslices { slice_target } => {
            let (bad, n) = inside
                .filter(|s| s.total > 0.0)
                .fold((0.0, 0.0), |(b, n), s| {
                    (
                        b + f64::from(u8::from(s.good / s.total < slice_target - 1e-9)),
                        n + 1.0,
                    )
                });
            (n > 0.0).then(|| bad / n)?
        }
    };
    Some(bad_share / (1.0 - o.target))
}

pub fn burn_rates(o: &Objective, steps: &[Step], step_s: f64, now: DateTime<Utc>) -> Vec<Burn> {
    LOOKBACKS
        .iter()
        .map(|(name, s)| Burn {
            lookback: (*name).into(),
            rate: burn_rate(o, steps, step_s, now, *s),
        })
        .collect()
}

/// When the remaining budget is spent at burn rate `burn`: a burn of 1
/// spends a whole budget in one window. `None` when nothing burns, and
/// `now` when the budget is already spent.
pub fn exhausted_at(
    remaining: f64,
    burn: f64,
    window_s: f64,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if remaining <= 0.0 {
        return Some(now);
    }
    let s = remaining * window_s / burn;
    // Nothing burning, or so slowly it would outlast any horizon.
    (burn > 0.0 && s <= crate::units::MAX_DURATION_S).then(|| now + secs(s))
}

/// A stretch of steps each burning faster than 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Incident {
    pub start: String,
    /// End of its last step.
    pub end: String,
    /// Bad events (occurrences) or bad slices (timeslices).
    pub bad: f64,
    /// Its share of the window's budget.
    pub budget_share: f64,
    /// Its highest step burn rate.
    pub peak_burn: f64,
}

/// The `n` stretches that spent most of the budget `allowed`, largest first.
pub fn incidents(
    o: &Objective,
    steps: &[Step],
    step_s: f64,
    allowed: f64,
    n: usize,
) -> Vec<Incident> {
    let burn = |s: &Step| match o.budgeting {
        _ if s.total <= 0.0 => 0.0,
        Budgeting::Occurrences => s.bad() / s.total / (1.0 - o.target),
        Budgeting::Timeslices { slice_target } => {
            f64::from(u8::from(s.good / s.total < slice_target - 1e-9)) / (1.0 - o.target)
        }
    };
    let spent = |s: &Step| match o.budgeting {
        Budgeting::Occurrences => s.bad(),
        Budgeting::Timeslices { .. } => f64::from(u8::from(burn(s) > 0.0)),
    };
    // Runs of adjacent burning steps: (first, last, bad, peak burn). A gap
    // in the data ends a run.
    let mut runs: Vec<(DateTime<FixedOffset>, DateTime<FixedOffset>, f64, f64)> = Vec::new();
    let mut open = false;
    for s in steps {
        let b = burn(s);
        if b <= 1.0 {
            open = false;
            continue;
        }
        match runs.last_mut() {
            Some(run) if open && (s.t - run.1).num_milliseconds() as f64 <= step_s * 1e3 + 1.0 => {
                run.1 = s.t;
                run.2 += spent(s);
                run.3 = run.3.max(b);
            }
            _ => runs.push((s.t, s.t, spent(s), b)),
        }
        open = true;
    }
    let mut out: Vec<Incident> = runs
        .into_iter()
        .map(|(a, b, bad, peak)| Incident {
            start: a.to_rfc3339(),
            end: (b + secs(step_s)).to_rfc3339(),
            bad,
            budget_share: if allowed > 0.0 {
                bad / allowed
            } else {
                f64::INFINITY
            },
            peak_burn: peak,
        })
        .collect();
    out.sort_by(|a, b| b.bad.total_cmp(&a.bad));
    out.truncate(n);
    out
}

/// Who an alert wakes: someone now, or a ticket for working hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Page,
    Ticket,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One multi-window, multi-burn-rate alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AlertWindow {
    pub severity: Severity,
    pub long_s: f64,
    pub short_s: f64,
    /// Burn factor: the alert fires when both windows' bad share passes
    /// factor × (1 − objective).
    pub factor: f64,
    /// Share of the budget spent in `long_s` at that factor.
    pub budget_share: f64,
}

/// Why an alert window is left out for `target`, if it is: one that fires
/// below the budget's own rate (a short SLO window, its windows held at
/// 1h/5m), or one that can never fire (factor × (1 − target) ≥ 1).
pub fn alert_left_out(a: &AlertWindow, target: f64) -> Option<String> {
    if a.factor < 1.0 - 1e-9 {
        Some(format!(
            "its {:.2}× would fire below the budget's own rate",
            a.factor
        ))
    } else if a.factor * (1.0 - target) >= 1.0 {
        Some(format!(
            "{:.2}× the allowed error share is more than every request failing",
            a.factor
        ))
    } else {
        None
    }
}

/// The workbook's four alerts for a window of `window_s` seconds.
pub fn alert_windows(window_s: f64) -> Vec<AlertWindow> {
    let scale = window_s / (30.0 * DAY);
    [
        (Severity::Page, 3600.0, 0.02),
        (Severity::Page, 6.0 * 3600.0, 0.05),
        (Severity::Ticket, DAY, 0.10),
        (Severity::Ticket, 3.0 * DAY, 0.10),
    ]
    .into_iter()
    .map(|(severity, long, share)| {
        // Whole seconds (PromQL ranges are written in them), and never
        // under 1h/5m: a shorter window holds too few scrapes for rate().
        let long_s = (long * scale).round().max(3600.0);
        let short_s = (long_s / 12.0).round();
        AlertWindow {
            severity,
            long_s,
            short_s,
            factor: share * window_s / long_s,
            budget_share: share,
        }
    })
    .collect()
}

/// The good share of each UTC day.
pub fn daily_sli(o: &Objective, steps: &[Step]) -> Vec<(String, Option<f64>)> {
    let mut out: Vec<(String, f64, f64)> = Vec::new();
    for s in steps {
        let day = s.t.with_timezone(&Utc).format("%Y-%m-%d").to_string();
        let (good, total) = match o.budgeting {
            Budgeting::Occurrences => (s.good, s.total),
            Budgeting::Timeslices { slice_target } if s.total > 0.0 => (
                f64::from(u8::from(s.good / s.total >= slice_target - 1e-9)),
                1.0,
            ),
            Budgeting::Timeslices { .. } => (0.0, 0.0),
        };
        match out.last_mut() {
            Some((d, g, t)) if *d == day => {
                *g += good;
                *t += total;
            }
            _ => out.push((day, good, total)),
        }
    }
    out.into_iter()
        .map(|(d, g, t)| (d, (t > 0.0).then(|| g / t)))
        .collect()
}

/// Seconds as a PromQL duration: `1h`, `5m`, `4m40s`, `2d`.
pub fn promql_duration(s: f64) -> String {
    let mut left = s.round() as u64;
    if left == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, n) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if left >= n {
            out += &format!("{}{unit}", left / n);
            left %= n;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Hourly steps from `from`, `n` of them, each with `total` events and
    /// `bad(i)` of them bad.
    fn hourly(from: &str, n: i64, total: f64, bad: impl Fn(i64) -> f64) -> Vec<Step> {
        let t0 = DateTime::parse_from_rfc3339(from).unwrap();
        (0..n)
            .map(|i| Step {
                t: t0 + Duration::hours(i),
                good: total - bad(i),
                total,
            })
            .collect()
    }

    fn occurrences(target: f64, window: Window) -> Objective {
        Objective {
            target,
            window,
            budgeting: Budgeting::Occurrences,
        }
    }

    #[test]
    fn a_rolling_window_counts_its_own_events_only() {
        // 99.9 % over 7 days; 1,000 events an hour for 10 days; 50 bad in
        // each of the last 3 days' first hours and 500 bad 9 days ago
        // (outside). Window: 168 h × 1,000 = 168,000 events → 168 allowed;
        // 150 bad → 89.3 % spent.
        let steps = hourly("2026-01-01T00:00:00Z", 240, 1000.0, |i| match i {
            24 => 500.0,
            168 | 192 | 216 => 50.0,
            _ => 0.0,
        });
        let o = occurrences(0.999, Window::Rolling(7.0 * DAY));
        let b = budget(&o, &steps, 3600.0, at("2026-01-11T00:00:00Z"));
        assert_eq!(b.window_start, "2026-01-04T00:00:00+00:00");
        assert_eq!(b.total, 168_000.0);
        assert_eq!(b.bad, 150.0);
        assert!((b.allowed - 168.0).abs() < 1e-9);
        assert!((b.consumed - 150.0 / 168.0).abs() < 1e-12);
        assert_eq!(b.no_data, 0);
        assert!((b.sli.unwrap() - (1.0 - 150.0 / 168_000.0)).abs() < 1e-15);
    }

    #[test]
    fn a_calendar_month_starts_on_the_first_and_missing_hours_are_counted() {
        // 99 % per calendar month, now 2026-03-03T00:00 UTC: the window is
        // March 1–2 (48 h) of a March that ends on April 1. Hours 10–19 of
        // March 1 are missing: 38 hours of 100 events, 2 bad an hour.
        let steps: Vec<Step> = hourly("2026-02-27T00:00:00Z", 96, 100.0, |_| 2.0)
            .into_iter()
            .filter(|s| {
                let h = s.t.with_timezone(&Utc);
                !(h.day() == 1 && h.month() == 3 && (10..20).contains(&h.hour()))
            })
            .collect();
        use chrono::Timelike;
        let o = occurrences(0.99, Window::Calendar(Calendar::Month));
        let b = budget(&o, &steps, 3600.0, at("2026-03-03T00:00:00Z"));
        assert_eq!(b.window_start, "2026-03-01T00:00:00+00:00");
        assert_eq!(b.window_end, "2026-04-01T00:00:00+00:00");
        assert_eq!(b.total, 3800.0);
        assert_eq!(b.bad, 76.0);
        assert_eq!(b.no_data, 10);
        // 1 % of 3,800 = 38 allowed; 76 bad: twice the budget.
        assert!((b.consumed - 2.0).abs() < 1e-12 && (b.remaining + 1.0).abs() < 1e-12);
        // The same history as a rolling 2-day window: the same 48 hours.
        let r = budget(
            &occurrences(0.99, Window::Rolling(2.0 * DAY)),
            &steps,
            3600.0,
            at("2026-03-03T00:00:00Z"),
        );
        assert_eq!((r.total, r.bad), (b.total, b.bad));
        // Quarter and week bounds.
        let (q0, q1) = window_bounds(
            Window::Calendar(Calendar::Quarter),
            at("2026-05-17T12:00:00Z"),
        );
        assert_eq!(
            (q0, q1),
            (at("2026-04-01T00:00:00Z"), at("2026-07-01T00:00:00Z"))
        );
        let (w0, _) = window_bounds(Window::Calendar(Calendar::Week), at("2026-03-05T12:00:00Z"));
        assert_eq!(w0, at("2026-03-02T00:00:00Z")); // a Monday
        let (y0, y1) = window_bounds(
            Window::Calendar(Calendar::Month),
            at("2026-12-31T23:00:00Z"),
        );
        assert_eq!(
            (y0, y1),
            (at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))
        );
    }

    #[test]
    fn timeslices_count_bad_slices_against_the_whole_period() {
        // 99 % of 1-hour slices good, a slice good at ≥ 95 % good events;
        // calendar day: 24 slices → 0.24 allowed. Now 06:00: slices 0–5,
        // slice 2 has 90 % good (bad), slice 4 has no data.
        let steps: Vec<Step> = hourly("2026-01-01T00:00:00Z", 6, 100.0, |i| {
            if i == 2 {
                10.0
            } else {
                1.0
            }
        })
        .into_iter()
        .map(|mut s| {
            if s.t.format("%H").to_string() == "04" {
                s.good = 0.0;
                s.total = 0.0;
            }
            s
        })
        .collect();
        let o = Objective {
            target: 0.99,
            window: Window::Calendar(Calendar::Day),
            budgeting: Budgeting::Timeslices { slice_target: 0.95 },
        };
        let b = budget(&o, &steps, 3600.0, at("2026-01-01T06:00:00Z"));
        assert_eq!((b.total, b.bad, b.no_data), (5.0, 1.0, 1));
        assert!((b.allowed - 0.24).abs() < 1e-12);
        assert!((b.consumed - 1.0 / 0.24).abs() < 1e-12);
        assert_eq!(b.sli, Some(0.8));
    }

    #[test]
    fn burn_rates_exhaustion_and_incidents() {
        // 99.9 %, 30 days rolling. 1,000 events an hour, none bad except
        // 20 an hour in the last 6 hours (burn 20) and a 3-hour stretch of
        // 5 an hour two days earlier (burn 5).
        let steps = hourly("2026-01-01T00:00:00Z", 24 * 10, 1000.0, |i| match i {
            234..=239 => 20.0,
            180..=182 => 5.0,
            _ => 0.0,
        });
        let o = occurrences(0.999, Window::Rolling(30.0 * DAY));
        let now = at("2026-01-11T00:00:00Z");
        let rates = burn_rates(&o, &steps, 3600.0, now);
        let rate = |w: &str| rates.iter().find(|b| b.lookback == w).unwrap().rate;
        assert_eq!(rate("5m"), None); // hourly data cannot say
        assert!((rate("1h").unwrap() - 20.0).abs() < 1e-9);
        assert!((rate("6h").unwrap() - 20.0).abs() < 1e-9);
        // 1 d: 120 bad of 24,000 = 0.5 % → 5.
        assert!((rate("1d").unwrap() - 5.0).abs() < 1e-9);
        // 3 d: 135 of 72,000 → 1.875.
        assert!((rate("3d").unwrap() - 1.875).abs() < 1e-9);
        // Budget: 240,000 events → 240 allowed; 135 bad → 43.75 % left.
        let b = budget(&o, &steps, 3600.0, now);
        assert!((b.remaining - (1.0 - 135.0 / 240.0)).abs() < 1e-12);
        // At the last day's burn of 5: 0.4375 × 30 d / 5 = 2.625 days.
        let when = exhausted_at(b.remaining, 5.0, 30.0 * DAY, now).unwrap();
        assert_eq!(when, now + Duration::minutes((2.625 * 1440.0) as i64));
        assert_eq!(exhausted_at(-0.1, 5.0, 30.0 * DAY, now), Some(now));
        assert_eq!(exhausted_at(0.5, 0.0, 30.0 * DAY, now), None);
        assert_eq!(exhausted_at(0.5, 1e-15, 30.0 * DAY, now), None);
        let inc = incidents(&o, &steps, 3600.0, b.allowed, 5);
        assert_eq!(inc.len(), 2);
        assert_eq!(inc[0].start, "2026-01-10T18:00:00+00:00");
        assert_eq!(inc[0].end, "2026-01-11T00:00:00+00:00");
        assert_eq!(inc[0].bad, 120.0);
        assert!((inc[0].budget_share - 0.5).abs() < 1e-12);
        assert!((inc[0].peak_burn - 20.0).abs() < 1e-9);
        assert_eq!(inc[1].start, "2026-01-08T12:00:00+00:00");
        assert_eq!(inc[1].bad, 15.0);
        let days = daily_sli(&o, &steps);
        assert_eq!(days.len(), 10);
        assert_eq!(
            days[9],
            ("2026-01-10".to_string(), Some(1.0 - 120.0 / 24_000.0))
        );
    }

    #[test]
    fn alert_windows_are_the_workbooks_for_30_days_and_scale_with_the_window() {
        // SRE workbook, ch. 5, table 5-8 (30-day window).
        let w = alert_windows(30.0 * DAY);
        let got: Vec<(&str, String, String, f64)> = w
            .iter()
            .map(|a| {
                (
                    a.severity.label(),
                    promql_duration(a.long_s),
                    promql_duration(a.short_s),
                    (a.factor * 1e6).round() / 1e6,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("page", "1h".into(), "5m".into(), 14.4),
                ("page", "6h".into(), "30m".into(), 6.0),
                ("ticket", "1d".into(), "2h".into(), 3.0),
                ("ticket", "3d".into(), "6h".into(), 1.0),
            ]
        );
        // 28 days: every window × 28/30 and the same burn factors, but the
        // fast page held at 1h/5m (56m it would be): 2 % of 672 h in 1 h.
        let w28 = alert_windows(28.0 * DAY);
        let span = |a: &AlertWindow| {
            format!(
                "{}/{}",
                promql_duration(a.long_s),
                promql_duration(a.short_s)
            )
        };
        assert_eq!(span(&w28[0]), "1h/5m");
        assert!((w28[0].factor - 13.44).abs() < 1e-9);
        assert_eq!(span(&w28[1]), "5h36m/28m");
        assert_eq!(promql_duration(w28[3].long_s), "2d19h12m");
        for (a, b) in w28.iter().zip(&w).skip(1) {
            assert!((a.factor - b.factor).abs() < 1e-9, "{a:?}");
        }
        // 7 days: 1h/5m at 3.36×, 1h24m/7m at 6×.
        let w7 = alert_windows(7.0 * DAY);
        assert!((w7[0].factor - 3.36).abs() < 1e-9);
        assert_eq!(span(&w7[1]), "1h24m/7m");
        // A calendar day: the pages would fire below 1×, left out.
        let d1 = alert_windows(DAY);
        assert!(alert_left_out(&d1[0], 0.999).is_some());
        assert_eq!(alert_left_out(&w[0], 0.999), None);
        // At 90 %, 14.4 × 10 % is more than all: that page can never fire.
        assert!(alert_left_out(&w[0], 0.90)
            .unwrap()
            .contains("every request failing"));
        assert_eq!(alert_left_out(&w[1], 0.90), None);
    }
}
