//! `headroom slo report` and `headroom slo rules`: one SLO file, its error
//! budget over history, and the Prometheus rules that watch it.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};

use crate::cli::{SloAction, SloArgs, SloReportArgs, SloRulesArgs};
use crate::error::BadInput;
use crate::exit;
use crate::input::history::{instants, parse_timestamp, TIME_NAMES};
use crate::input::slo::{self, Indicator, SloFile};
use crate::input::table::Table;
use crate::model::budget::{self, Step};
use crate::report::slo as out;
use crate::results::slo::{Day, ExperimentCost, SloDoc, SCHEMA};

/// `headroom slo`.
pub fn slo(args: &SloArgs) -> anyhow::Result<exit::Code> {
    match &args.action {
        SloAction::Report(a) => report(a),
        SloAction::Rules(a) => rules(a),
    }
}

fn rules(args: &SloRulesArgs) -> anyhow::Result<exit::Code> {
    let s = slo::load(&args.file)?;
    let text = out::rules(&s);
    match &args.out {
        Some(path) => {
            crate::results::write_text(path, &text)?;
            eprintln!("rules: {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(exit::Code::Ok)
}

fn report(args: &SloReportArgs) -> anyhow::Result<exit::Code> {
    let s = slo::load(&args.file)?;
    let now_flag = match &args.now {
        Some(t) => Some(
            parse_timestamp(t)
                .ok_or_else(|| BadInput(format!("--now: expected an RFC 3339 time, found {t:?}")))?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    if let Some(st) = args.step.filter(|d| d.as_secs_f64() < 1.0) {
        return Err(BadInput(format!(
            "--step {st:?}: a step shorter than 1 s says nothing"
        ))
        .into());
    }
    let (source, steps, step_s, data_end) = match (&args.csv, &args.prometheus) {
        (Some(path), _) => {
            let (steps, step_s) = table_steps(&s, path, args.step.map(|d| d.as_secs_f64()))?;
            let end = steps.last().map(|l| l.t.with_timezone(&Utc) + secs(step_s));
            (path.display().to_string(), steps, step_s, end)
        }
        (None, Some(url)) => {
            let step_s = args
                .step
                .map(|d| d.as_secs_f64())
                .or(s.slice_s)
                .unwrap_or(3600.0)
                .max(1.0);
            // The model's now is the last evaluation (on a multiple of the
            // step, where `fetch` puts it), so every window holds whole steps.
            let s_i = step_s as i64;
            let now = now_flag.unwrap_or_else(Utc::now);
            let now =
                DateTime::from_timestamp(now.timestamp().div_euclid(s_i) * s_i, 0).unwrap_or(now);
            let range = args.range.map_or_else(
                || budget::window_seconds(s.objective.window, now) + 3.0 * 86_400.0,
                |r| r.as_secs_f64(),
            );
            let steps = prometheus_steps(&s, url, step_s, range, now)?;
            (url.clone(), steps, step_s, Some(now))
        }
        (None, None) => return Err(BadInput("give --csv FILE or --prometheus URL".into()).into()),
    };
    let Some(mut now) = now_flag.or(data_end) else {
        return Err(BadInput(format!("{source}: no events to report on")).into());
    };
    // Data that ends on a calendar period's boundary is a report on the
    // period it completes, not on the empty one it opens.
    if now_flag.is_none() && matches!(s.objective.window, budget::Window::Calendar(_)) {
        let (start, _) = budget::window_bounds(s.objective.window, now);
        if start == now {
            now -= Duration::milliseconds(1);
        }
    }
    // A window shorter than the data's step holds no step: its report
    // would be "0 bad of 0 events, 100 % left" whatever the data said.
    if let budget::Window::Rolling(window_s) = s.objective.window {
        if window_s < step_s {
            return Err(BadInput(format!(
            "{}: the SLO's window ({}) is shorter than the data's step ({}): give data at a finer step, or a longer window",
            args.file.display(),
            crate::units::fmt_step(window_s.round() as u64),
            crate::units::fmt_step(step_s.round() as u64)
        ))
        .into());
        }
    }
    let mut doc = compute(&s, &source, &steps, step_s, now);
    for dir in &args.experiments {
        doc.experiments.push(experiment_cost(&s, dir, &doc)?);
    }
    let written = match &args.files.out {
        Some(dir) => {
            let inputs: Vec<&Path> = [Some(args.file.as_path()), args.csv.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            crate::results::claim(dir, args.files.force, &inputs)?;
            crate::results::write_json(&dir.join(crate::results::files::SLO), &doc)?;
            Some((dir, super::render_report(dir, args.files.no_report)))
        }
        None => None,
    };
    if args.json {
        println!("{}", crate::results::to_json(&doc)?);
    } else {
        print!("{}", out::report_text(&doc));
        if let Some((dir, report)) = written {
            println!("\nresults: {}", dir.display());
            if let Some(p) = report {
                println!("report: {}", p.display());
            }
        }
    }
    Ok(exit::of_budget(&doc.budget))
}

fn secs(s: f64) -> Duration {
    Duration::milliseconds((s * 1e3).round() as i64)
}

/// The report of `steps` at `now`.
pub fn compute(
    s: &SloFile,
    source: &str,
    steps: &[Step],
    step_s: f64,
    now: DateTime<Utc>,
) -> SloDoc {
    let o = &s.objective;
    let b = budget::budget(o, steps, step_s, now);
    let burn = budget::burn_rates(o, steps, step_s, now);
    // The day's burn, else the longest lookback the data can say.
    let (lookback, rate) = burn
        .iter()
        .rev()
        .skip(1)
        .find_map(|x| Some((x.lookback.clone(), x.rate?)))
        .map_or(("1d".to_string(), None), |(l, r)| (l, Some(r)));
    let window_s = budget::window_seconds(o.window, now);
    // Only within the window's reach: past a calendar period's end the
    // budget starts afresh, and a rolling budget spent no faster than it
    // refills lasts.
    let (_, window_end) = budget::window_bounds(o.window, now);
    let reach = match o.window {
        budget::Window::Rolling(_) => now + secs(window_s),
        budget::Window::Calendar(_) => window_end,
    };
    let exhausted_at = rate
        .and_then(|r| budget::exhausted_at(b.remaining, r, window_s, now))
        .filter(|t| *t <= reach)
        .map(|t| t.to_rfc3339());
    let (start, _) = budget::window_bounds(o.window, now);
    let in_window: Vec<Step> = steps
        .iter()
        .filter(|x| x.t >= start && x.t.with_timezone(&Utc) < now)
        .copied()
        .collect();
    let incidents = budget::incidents(o, &in_window, step_s, b.allowed, 5);
    let daily = budget::daily_sli(o, &in_window)
        .into_iter()
        .map(|(day, value)| Day { day, value })
        .collect();
    // The budget left at the end of each day of the window (the last: now).
    let mut burn_down = Vec::new();
    let mut t = start + Duration::days(1);
    while t < now + Duration::days(1) {
        let at = t.min(now);
        let left = budget::budget(o, steps, step_s, at).remaining;
        burn_down.push(Day {
            day: (at - Duration::seconds(1)).format("%Y-%m-%d").to_string(),
            value: Some(left),
        });
        t += Duration::days(1);
    }
    let firing = budget::alert_windows(budget::nominal_seconds(o.window))
        .iter()
        .filter(|a| budget::alert_left_out(a, o.target).is_none())
        .filter(|a| {
            let over =
                |w: f64| budget::burn_rate(o, steps, step_s, now, w).is_some_and(|r| r > a.factor);
            over(a.long_s) && over(a.short_s)
        })
        .map(out::alert_label)
        .collect();
    SloDoc {
        schema: SCHEMA.into(),
        name: s.name.clone(),
        service: s.service.clone(),
        objective: o.target,
        window: o.window,
        budgeting: o.budgeting,
        source: source.to_string(),
        step_s,
        now: now.to_rfc3339(),
        budget: b,
        burn,
        exhaustion_lookback: lookback,
        exhaustion_burn: rate,
        exhausted_at,
        incidents,
        daily,
        burn_down,
        firing,
        experiments: Vec::new(),
    }
}

/// What the bad requests of the run (or stress test) in `dir` would cost
/// the budget of `doc`: for an occurrences budget their count against
/// the bad events allowed; a timeslices budget is not priced by requests.
fn experiment_cost(s: &SloFile, dir: &Path, doc: &SloDoc) -> anyhow::Result<ExperimentCost> {
    if matches!(s.sli, Indicator::Threshold(_))
        || matches!(s.objective.budgeting, budget::Budgeting::Timeslices { .. })
    {
        return Err(BadInput(format!(
            "{}: this SLO's budget is in slices, not requests: an experiment is priced by an occurrences budget",
            s.path.display()
        ))
        .into());
    }
    let results = crate::results::ResultsDir::new(dir);
    let (requests, bad) = if let Some(st) = results.stress()? {
        // Its own count: errors and answers later than its SLO, and the
        // share they were of every answer.
        let answers = if st.bad_share > 0.0 {
            (st.bad_requests as f64 / st.bad_share).round() as u64
        } else {
            0
        };
        (answers, st.bad_requests)
    } else if let Some(sum) = results.summary()? {
        let slow = match s.latency_threshold_s() {
            Some(limit) => {
                let limit_us = (limit * 1e6) as u64;
                results.latency_of_all()?.map_or(0, |log| {
                    log.latency
                        .all
                        .iter()
                        .flat_map(|r| r.buckets().iter())
                        .filter(|(v, _)| *v > limit_us)
                        .map(|(_, n)| n)
                        .sum()
                })
            }
            None => 0,
        };
        (sum.requests.total, sum.requests.errors.total + slow)
    } else {
        return Err(BadInput(format!(
            "{}: no summary.json or stress.json to price",
            dir.display()
        ))
        .into());
    };
    let allowed = doc.budget.allowed;
    let left = allowed - doc.budget.bad;
    Ok(ExperimentCost {
        dir: dir.display().to_string(),
        requests,
        bad,
        budget_share: if allowed > 0.0 {
            bad as f64 / allowed
        } else {
            f64::INFINITY
        },
        remaining_share: (left > 0.0).then(|| bad as f64 / left),
    })
}

/// Steps from a table: a time column, `good` or `bad`, and `total`; for a
/// threshold SLI, a time column and a `value` column (one slice a row).
fn table_steps(s: &SloFile, path: &Path, step: Option<f64>) -> Result<(Vec<Step>, f64), BadInput> {
    let table = Table::read(path)?;
    let time = table.pick(None, "timestamps", "a column named time", TIME_NAMES)?;
    if let Indicator::Threshold(th) = &s.sli {
        let value = table.pick(
            None,
            "values",
            "a column named value",
            &["value", "v", "p99", "latency"],
        )?;
        let times = instants(&table, &time)?;
        let values = table.optional_numbers(&value)?;
        if let Some(i) = times.windows(2).position(|w| w[1] <= w[0]) {
            return Err(BadInput(format!(
                "{}: timestamps must rise row by row",
                table.at(i + 1)
            )));
        }
        // An empty or non-finite value (a quantile of a quiet minute is
        // NaN) is a slice without data, as from Prometheus.
        let steps: Vec<Step> = times
            .iter()
            .zip(values)
            .filter_map(|(t, v)| {
                let v = v.filter(|v| v.is_finite())?;
                Some(Step {
                    t: *t,
                    good: f64::from(u8::from(th.op.holds(v, th.value))),
                    total: 1.0,
                })
            })
            .collect();
        let step = step.unwrap_or_else(|| median_gap(&steps));
        if step.is_nan() {
            return Err(BadInput(format!(
                "{}: two rows or more are needed to tell the step (or give --step)",
                path.display()
            )));
        }
        return Ok((steps, step));
    }
    let total = table.pick(
        None,
        "total events",
        "a column named total",
        &["total", "requests", "count"],
    )?;
    let good = table.pick(
        None,
        "good events",
        "a column named good",
        &["good", "ok", "success"],
    );
    let bad = table.pick(
        None,
        "bad events",
        "a column named bad",
        &["bad", "errors", "failed"],
    );
    let totals = table.numbers(&total)?;
    let goods: Vec<f64> = match (good, bad) {
        (Ok(g), _) => table.numbers(&g)?,
        (Err(_), Ok(b)) => table
            .numbers(&b)?
            .iter()
            .zip(&totals)
            .map(|(b, t)| t - b)
            .collect(),
        (Err(e), Err(_)) => {
            return Err(BadInput(format!(
                "{}; or a column of bad events (bad, errors, failed)",
                e.0
            )))
        }
    };
    let times = instants(&table, &time)?;
    let mut steps: Vec<Step> = Vec::with_capacity(times.len());
    for (i, ((t, g), n)) in times.iter().zip(&goods).zip(&totals).enumerate() {
        if !(n.is_finite() && g.is_finite() && *n >= 0.0 && *g >= 0.0 && g <= n) {
            return Err(BadInput(format!(
                "{}: expected 0 ≤ good ≤ total, found good {g}, total {n}",
                table.at(i)
            )));
        }
        if steps.last().is_some_and(|l| l.t >= *t) {
            return Err(BadInput(format!(
                "{}: timestamps must rise row by row",
                table.at(i)
            )));
        }
        steps.push(Step {
            t: *t,
            good: *g,
            total: *n,
        });
    }
    let step = match step {
        Some(s) => s,
        None => median_gap(&steps),
    };
    if step.is_nan() {
        return Err(BadInput(format!(
            "{}: two rows or more are needed to tell the step (or give --step)",
            path.display()
        )));
    }
    Ok((steps, step))
}

/// The median time between rows (NaN with fewer than two).
fn median_gap(steps: &[Step]) -> f64 {
    let mut gaps: Vec<f64> = steps
        .windows(2)
        .map(|w| (w[1].t - w[0].t).num_milliseconds() as f64 / 1e3)
        .collect();
    gaps.sort_by(f64::total_cmp);
    gaps.get(gaps.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Steps from Prometheus: events in each step (t − step, t], as the step
/// starting at t − step.
fn prometheus_steps(
    s: &SloFile,
    url: &str,
    step_s: f64,
    range_s: f64,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Step>> {
    let step = budget::promql_duration(step_s);
    let source = |query: String| crate::input::prometheus::Source {
        url: url.to_string(),
        query,
        range: std::time::Duration::from_secs_f64(range_s),
        step: std::time::Duration::from_secs_f64(step_s),
        end: Some(now),
    };
    let get = |query: String| crate::input::prometheus::fetch(&source(query));
    let back = secs(step_s);
    let sli = match &s.sli {
        Indicator::Ratio(r) => r,
        Indicator::Threshold(th) => {
            // One slice per step: good when its value meets the threshold.
            return Ok(get(th.query.clone())?
                .iter()
                .filter(|(_, v)| v.is_finite())
                .map(|(t, v)| Step {
                    t: *t - back,
                    good: f64::from(u8::from(th.op.holds(*v, th.value))),
                    total: 1.0,
                })
                .collect());
        }
    };
    let fetch = |q: &crate::input::slo::Query| get(q.increase(&step, step_s));
    let total = fetch(&sli.total)?;
    let (part, is_good) = match (&sli.good, &sli.bad) {
        (Some(g), _) => (fetch(g)?, true),
        // A service without errors may have no error series at all.
        (None, Some(b)) => (
            crate::input::prometheus::fetch_or_none(&source(b.increase(&step, step_s)))?,
            false,
        ),
        (None, None) => unreachable!("an SLI has good or bad events"),
    };
    let by_t: std::collections::BTreeMap<i64, f64> =
        part.iter().map(|(t, v)| (t.timestamp(), *v)).collect();
    // No bad series at a step: no bad events (error counters often appear
    // with the first error). No good series: no data for that step.
    Ok(total
        .iter()
        .filter(|(_, n)| n.is_finite() && *n >= 0.0)
        .filter_map(|(t, n)| {
            let p = match (by_t.get(&t.timestamp()), is_good) {
                (Some(p), _) => p.max(0.0).min(*n),
                (None, true) => return None,
                (None, false) => 0.0,
            };
            Some(Step {
                t: *t - back,
                good: if is_good { p } else { n - p },
                total: *n,
            })
        })
        .collect())
}
