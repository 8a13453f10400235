//! A capacity plan's section: capacity per instance type, the months, and
//! the forecast, cost-curve and monthly-cost charts.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Canvas, Img};
use crate::model::plan::{Period, TypeNeed};
use crate::report::charts::{Chart, Line, Mark, Unit};
use crate::report::model::{act_by_lines, calibration_line, mix_line};
use crate::results::plan::{BacktestDoc, ForecastDoc, PlanDoc};
use crate::units::{fmt_count, fmt_money};

#[derive(Serialize)]
pub(super) struct Section {
    name: String,
    summary: String,
    fleet_type: String,
    capacity: Vec<BTreeMap<&'static str, String>>,
    months: Vec<BTreeMap<&'static str, String>>,
    charts: Vec<Img>,
    /// Orders and their act-by dates: the first thing on the section.
    act_by: Vec<String>,
    events: Vec<String>,
    /// Regions month by month: the header (region names) and rows.
    region_names: Vec<String>,
    regions: Vec<Vec<String>>,
    region_notes: Vec<String>,
    commitments: Vec<String>,
    scenarios: Vec<BTreeMap<&'static str, String>>,
    autoscaling: String,
    hpa: String,
}

/// Days since the epoch of an RFC 3339 time.
fn day(t: &str) -> Option<f64> {
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|d| d.timestamp() as f64 / 86_400.0)
}

/// `YYYY-MM-DD` of an RFC 3339 time.
fn date(t: &str) -> &str {
    &t[..10.min(t.len())]
}

pub(super) fn section(
    p: &PlanDoc,
    forecast: Option<&ForecastDoc>,
    canvas: &mut Canvas,
) -> anyhow::Result<Section> {
    let fleet_type = p.fleet.as_ref().map(|f| f.type_name.clone());
    let until = p.plan.runway.as_ref().and_then(|r| r.until.clone());
    cards(p, canvas);
    let capacity = p
        .capacity
        .iter()
        .map(|c| {
            BTreeMap::from([
                ("type", c.type_name.clone()),
                ("rps", fmt_count(c.capacity_rps)),
                ("source", c.source.clone()),
                ("hourly", fmt_money(c.hourly)),
            ])
        })
        .collect();
    let months = p
        .plan
        .periods
        .iter()
        .map(|m| month_row(m, fleet_type.as_deref()))
        .collect();
    let mut charts = Vec::new();
    if let Some(fc) = forecast {
        charts.push(canvas.img(&forecast_chart(Some(p), fc, canvas))?);
    }
    if p.plan.periods.iter().any(|m| !m.regions.is_empty()) {
        charts.push(canvas.img(&regions_chart(p, canvas))?);
    }
    if !p.scenarios.is_empty() {
        charts.push(canvas.img(&scenario_cost(p, canvas))?);
    }
    charts.push(canvas.img(&cost_curve(p, canvas))?);
    charts.push(canvas.img(&monthly_cost(p, canvas))?);
    let summary = summary(p, fleet_type.is_some(), until.as_deref());
    let (region_names, regions, region_notes) = regions_table(p);
    let mut commitments: Vec<String> = p
        .plan
        .commitment_mix
        .iter()
        .map(|m| format!("All regions' demand in one place: {}.", mix_line(m)))
        .collect();
    commitments.extend(
        p.plan
            .region_commitments
            .iter()
            .map(|r| format!("{}: {}.", r.region, mix_line(&r.mix))),
    );
    let (autoscaling, hpa) = autoscaling(p);
    Ok(Section {
        name: p.name.clone(),
        summary,
        fleet_type: fleet_type.unwrap_or_else(|| "fleet".into()),
        capacity,
        months,
        charts,
        act_by: act_by_lines(p),
        events: p
            .events
            .iter()
            .map(crate::report::model::event_line)
            .collect(),
        region_names,
        regions,
        region_notes,
        commitments,
        scenarios: p.scenarios.iter().map(scenario_row).collect(),
        autoscaling,
        hpa,
    })
}

/// The section's opening sentence: horizon, bound, sizing, runway, cheapest.
fn summary(p: &PlanDoc, has_fleet: bool, until: Option<&str>) -> String {
    let summary = format!(
        "{} ahead, sized for the {} forecast bound ({}), at most {:.0} % of measured capacity per instance, N+{}. {}{}",
        p.horizon,
        p.bound.label(),
        p.forecast_model,
        100.0 * p.sizing.utilisation,
        p.sizing.redundancy,
        match until {
            Some(u) => format!("The current fleet runs out on {}. ", date(u)),
            None if has_fleet => "The current fleet lasts the whole horizon. ".into(),
            None => String::new(),
        },
        p.plan.cheapest.as_ref().map_or(String::new(), |c| format!(
            "Cheapest over the horizon: {} ({} in total).",
            c.type_name,
            fmt_money(c.total_cost)
        ))
    );
    match &p.forecast_calibration {
        Some(c) => format!("{summary} The forecast's {}.", calibration_line(c)),
        None => summary,
    }
}

/// The autoscaling policy in words, and its HPA.
fn autoscaling(p: &PlanDoc) -> (String, String) {
    match &p.autoscaling {
        Some(auto) => (
            format!(
                "Hold each {} at {:.1} % of its measured {} rps ({} rps): the {:.0} % ceiling less room for demand to grow {:.1} % an hour ({}) during a {:.0} s scale-up delay. {}–{} replicas for {}–{} rps.",
                auto.recommendation.type_name,
                100.0 * auto.recommendation.target_utilisation,
                fmt_count(auto.recommendation.capacity_rps),
                fmt_count(auto.recommendation.target_rps),
                100.0 * p.sizing.utilisation,
                100.0 * auto.recommendation.ramp_per_hour,
                auto.recommendation.ramp_source,
                auto.recommendation.scale_up_delay_s,
                auto.recommendation.min_replicas,
                auto.recommendation.max_replicas,
                fmt_count(auto.recommendation.trough_rps),
                fmt_count(auto.recommendation.peak_rps)
            ),
            auto.hpa.clone(),
        ),
        None => (String::new(), String::new()),
    }
}

/// One what-if scenario's row.
fn scenario_row(s: &crate::model::whatif::Outcome) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("name", s.name.clone()),
        ("what", s.description.clone()),
        (
            "peak",
            format!("{} rps ({})", fmt_count(s.peak_rps), s.peak_month),
        ),
        ("instances", s.instances_text()),
        ("total", s.total_cost.map_or("—".into(), fmt_money)),
        (
            "per_million",
            s.cost_per_million
                .map_or("—".into(), |c| format!("${c:.4}")),
        ),
        (
            "runway",
            s.runway_until
                .as_deref()
                .map_or("whole horizon".into(), |u| date(u).to_string()),
        ),
        (
            "act_by",
            s.act_by
                .as_deref()
                .map_or("—".into(), |a| date(a).to_string()),
        ),
        (
            "commit",
            s.commitment_mix
                .as_ref()
                .map_or("—".into(), |m| match &m.commitment {
                    Some(c) => {
                        format!("{} on {c}: {}", m.committed, fmt_money(m.total_cost))
                    }
                    None => "on demand".into(),
                }),
        ),
    ])
}

/// Regions month by month: instances and utilisation at the peak.
fn regions_table(p: &PlanDoc) -> (Vec<String>, Vec<Vec<String>>, Vec<String>) {
    // Every month has the regions, or none does.
    let periods = &p.plan.periods;
    let Some(first) = periods.first().filter(|m| !m.regions.is_empty()) else {
        return (Vec::new(), Vec::new(), Vec::new());
    };
    let names = first.regions.iter().map(|r| r.name.clone()).collect();
    let rows = periods
        .iter()
        .map(|m| {
            std::iter::once(m.month.clone())
                .chain(m.regions.iter().map(|r| {
                    format!(
                        "{} × {} ({:.0} %)",
                        r.instances,
                        r.type_name,
                        100.0 * r.utilisation
                    )
                }))
                .chain(std::iter::once(
                    m.regions
                        .iter()
                        .map(|r| r.instances)
                        .sum::<u32>()
                        .to_string(),
                ))
                .collect()
        })
        .collect();
    let notes = periods
        .iter()
        .max_by(|a, b| a.peak_rps.total_cmp(&b.peak_rps))
        .map(|m| {
            m.regions
                .iter()
                .map(|r| {
                    format!(
                        "{} at the peak ({}): {} rps, sized for {}; {}/mo{}.",
                        r.name,
                        m.month,
                        fmt_count(r.peak_rps),
                        r.sized_for_text(),
                        fmt_money(r.monthly_cost),
                        r.cost_per_million
                            .map_or(String::new(), |c| format!(", ${c:.4} per million requests"))
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (names, rows, notes)
}

/// Month start, in days since the epoch.
fn month_day(month: &str) -> Option<f64> {
    day(&format!("{month}-01T00:00:00Z"))
}

/// Each region's peak demand and the rate its instances serve at the
/// utilisation target, month by month, with the events marked.
fn regions_chart(p: &PlanDoc, canvas: &Canvas) -> Chart<'static> {
    let mut c = Chart::new(
        canvas.file(crate::results::files::REGIONS_PNG),
        "Demand and capacity per region (capacity: every instance at the utilisation target)",
        ("date", Unit::Date),
        ("requests per second", Unit::Rps),
    );
    c.steps = true;
    c.paired = true;
    let capacity_of = |t: &str| {
        p.capacity
            .iter()
            .find(|c| c.type_name == t)
            .map_or(0.0, |c| c.capacity_rps)
    };
    let mut demand: BTreeMap<(usize, String), Vec<(f64, f64)>> = BTreeMap::new();
    let mut serve: BTreeMap<(usize, String), Vec<(f64, f64)>> = BTreeMap::new();
    for m in &p.plan.periods {
        let Some(t) = month_day(&m.month) else {
            continue;
        };
        for (i, r) in m.regions.iter().enumerate() {
            demand
                .entry((i, r.name.clone()))
                .or_default()
                .push((t, r.peak_rps));
            serve.entry((i, r.name.clone())).or_default().push((
                t,
                f64::from(r.instances) * capacity_of(&r.type_name) * p.sizing.utilisation,
            ));
        }
    }
    for (key, mut pts) in demand {
        let mut cap = serve.remove(&key).unwrap_or_default();
        for v in [&mut pts, &mut cap] {
            if let Some(&(t, y)) = v.last() {
                v.push((t + 30.44, y));
            }
        }
        c.lines.push(Line {
            label: format!("{} peak demand", key.1),
            points: pts,
        });
        c.lines.push(Line {
            label: format!("{} capacity", key.1),
            points: cap,
        });
    }
    for e in &p.events {
        if let Some(t) = day(&e.start) {
            c.v_marks.push(Mark {
                label: format!("{} {}", e.name, date(&e.start)),
                at: t,
            });
        }
    }
    c
}

/// Monthly cost of each scenario's cheapest type.
fn scenario_cost(p: &PlanDoc, canvas: &Canvas) -> Chart<'static> {
    let mut c = Chart::new(
        canvas.file(crate::results::files::SCENARIOS_PNG),
        "Monthly cost per scenario (each scenario's cheapest type)",
        ("date", Unit::Date),
        ("cost per month", Unit::Money),
    );
    c.steps = true;
    c.layered = true;
    for s in &p.scenarios {
        let mut pts: Vec<(f64, f64)> = s
            .monthly_cost
            .iter()
            .filter_map(|(m, cost)| Some((month_day(m)?, *cost)))
            .collect();
        if let Some(&(t, v)) = pts.last() {
            pts.push((t + 30.44, v));
        }
        c.lines.push(Line {
            label: s.name.clone(),
            points: pts,
        });
    }
    c
}

/// The runway and the cost of the first and last month.
fn cards(p: &PlanDoc, canvas: &mut Canvas) {
    if let Some(o) = p.plan.orders.iter().find(|o| o.act_by.is_some()) {
        canvas.card(
            "act by".into(),
            date(o.act_by.as_deref().unwrap_or_default()).to_string(),
            format!(
                "order {} more {} for {}",
                o.add,
                o.type_name,
                date(&o.need_by)
            ),
            "warn",
        );
    }
    if let (Some(f), Some(r)) = (&p.fleet, &p.plan.runway) {
        canvas.card(
            "runway".into(),
            r.until
                .as_deref()
                .map_or("whole horizon".into(), |u| format!("until {}", date(u))),
            format!(
                "{} × {} serve {} rps (N+k, at the utilisation target){}",
                f.count,
                f.type_name,
                fmt_count(r.fleet_capacity_rps),
                r.act_by
                    .as_deref()
                    .map_or(String::new(), |a| format!("; act by {}", date(a)))
            ),
            if r.until.is_some() { "warn" } else { "good" },
        );
    }
    let periods = &p.plan.periods;
    let best = |m: &Period| m.options.first().cloned();
    if let (Some(first), Some(last)) = (periods.first(), periods.last()) {
        if let (Some(b), Some(l)) = (best(first), best(last)) {
            canvas.card(
                "monthly cost".into(),
                format!("{}/mo", fmt_money(b.monthly_cost)),
                format!(
                    "{} × {} in {}; {} × {} = {}/mo by {}",
                    b.instances,
                    b.type_name,
                    first.month,
                    l.instances,
                    l.type_name,
                    fmt_money(l.monthly_cost),
                    last.month
                ),
                "",
            );
        }
    }
}

fn month_row(m: &Period, fleet_type: Option<&str>) -> BTreeMap<&'static str, String> {
    let option = |o: &TypeNeed| {
        format!(
            "{} × {} = {}/mo ({:.0} % at peak)",
            o.instances,
            o.type_name,
            fmt_money(o.monthly_cost),
            100.0 * o.utilisation
        )
    };
    let fleet = fleet_type
        .and_then(|t| m.options.iter().find(|o| o.type_name == t))
        .map_or("—".into(), option);
    BTreeMap::from([
        ("month", m.month.clone()),
        ("peak", format!("{} rps", fmt_count(m.peak_rps))),
        ("mean", format!("{} rps", fmt_count(m.mean_rps))),
        ("fleet", fleet),
        ("act_by", crate::report::model::month_act_by(m)),
        ("cheapest", m.options.first().map_or("—".into(), option)),
        (
            "per_million",
            m.options
                .first()
                .and_then(|o| o.cost_per_million)
                .map_or("—".into(), |c| format!("${c:.4}")),
        ),
    ])
}

#[derive(Serialize)]
pub(super) struct ForecastSection {
    summary: String,
    backtest_summary: String,
    backtest: Vec<BTreeMap<&'static str, String>>,
    charts: Vec<Img>,
}

/// A forecast written on its own (`forecast --out`), with its backtest
/// when there is one.
pub(super) fn forecast_section(
    fc: &ForecastDoc,
    bt: Option<&BacktestDoc>,
    canvas: &mut Canvas,
) -> anyhow::Result<ForecastSection> {
    let mut summary = format!(
        "{} steps of {} from {}, {} steps ahead. Model: {}.",
        fc.history.len(),
        fc.step,
        fc.source,
        fc.points.len(),
        fc.model
    );
    if !fc.why.is_empty() {
        summary += &format!(" Why: {}.", fc.why);
    }
    if let Some(c) = &fc.calibration {
        summary += &format!(" The {}.", calibration_line(c));
    }
    let (backtest_summary, backtest) = match bt {
        Some(d) => {
            let b = &d.backtest;
            let rows = b
                .buckets
                .iter()
                .map(|a| (false, a))
                .chain(std::iter::once((true, &b.overall)))
                .map(|(all, a)| {
                    let steps = match (all, a.first_step == a.last_step) {
                        (true, _) => "all".to_string(),
                        (false, true) => a.first_step.to_string(),
                        (false, false) => format!("{}–{}", a.first_step, a.last_step),
                    };
                    BTreeMap::from([
                        ("steps", steps),
                        ("points", a.points.to_string()),
                        ("mase", a.mase.map_or("—".into(), |m| format!("{m:.2}"))),
                        ("smape", format!("{:.1} %", a.smape)),
                        ("cov80", format!("{:.0} %", 100.0 * a.coverage80)),
                        ("cov95", format!("{:.0} %", 100.0 * a.coverage95)),
                    ])
                })
                .collect();
            let text = format!(
                "Backtest: the forecast refitted at {} origins, each on the history before it, \
                 and scored on the {} steps after it (MASE below 1 beats the seasonal naive \
                 forecast's error on the history itself). Model at the latest origin: {}.",
                b.origins, b.horizon, b.model
            );
            (text, rows)
        }
        None => (String::new(), Vec::new()),
    };
    let charts = vec![canvas.img(&forecast_chart(None, fc, canvas))?];
    Ok(ForecastSection {
        summary,
        backtest_summary,
        backtest,
        charts,
    })
}

fn forecast_chart(p: Option<&PlanDoc>, fc: &ForecastDoc, canvas: &Canvas) -> Chart<'static> {
    let mut c = Chart::new(
        canvas.file(crate::results::files::FORECAST_PNG),
        match p {
            Some(_) => "Demand: history, forecast and the current fleet",
            None => "Demand: history and forecast",
        },
        ("date", Unit::Date),
        ("requests per second", Unit::Rps),
    );
    let band = |lo: fn(&crate::results::plan::ForecastPoint) -> f64,
                hi: fn(&crate::results::plan::ForecastPoint) -> f64| {
        fc.points
            .iter()
            .filter_map(|q| Some((day(&q.t)?, lo(q), hi(q))))
            .collect()
    };
    c.bands
        .push(("95 % interval".into(), band(|q| q.lo95, |q| q.hi95)));
    c.bands
        .push(("80 % interval".into(), band(|q| q.lo80, |q| q.hi80)));
    c.lines.push(Line {
        label: format!("history ({})", fc.step),
        points: fc
            .history
            .iter()
            .filter_map(|h| Some((day(&h.t)?, h.value)))
            .collect(),
    });
    c.lines.push(Line {
        label: "forecast".into(),
        points: fc
            .points
            .iter()
            .filter_map(|q| Some((day(&q.t)?, q.mean)))
            .collect(),
    });
    if let Some(r) = p.and_then(|p| p.plan.runway.as_ref()) {
        c.h_marks.push(Mark {
            label: format!("current fleet {} rps", fmt_count(r.fleet_capacity_rps)),
            at: r.fleet_capacity_rps,
        });
        if let Some((u, t)) = r.until.as_deref().and_then(|u| Some((u, day(u)?))) {
            c.v_marks.push(Mark {
                label: format!("runway ends {}", date(u)),
                at: t,
            });
        }
    }
    c
}

fn cost_curve(p: &PlanDoc, canvas: &Canvas) -> Chart<'static> {
    let mut c = Chart::new(
        canvas.file(crate::results::files::COST_CURVE_PNG),
        "Monthly cost by peak demand, per instance type",
        ("peak demand", Unit::Rps),
        ("cost per month", Unit::Money),
    );
    c.steps = true;
    for curve in &p.plan.cost_curves {
        c.lines.push(Line {
            label: curve.type_name.clone(),
            points: curve
                .points
                .iter()
                .map(|q| (q.demand_rps, q.monthly_cost))
                .collect(),
        });
    }
    c
}

fn monthly_cost(p: &PlanDoc, canvas: &Canvas) -> Chart<'static> {
    let mut c = Chart::new(
        canvas.file(crate::results::files::MONTHLY_COST_PNG),
        "Monthly cost per instance type",
        ("month", Unit::Month),
        ("cost per month", Unit::Money),
    );
    let mut by_type: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for m in &p.plan.periods {
        let Some(t) = day(&format!("{}-01T00:00:00Z", m.month)) else {
            continue;
        };
        for o in &m.options {
            by_type
                .entry(o.type_name.clone())
                .or_default()
                .push((t, o.monthly_cost));
        }
    }
    c.steps = true;
    for (ty, mut pts) in by_type {
        // The last month's stair gets its width too.
        if let Some(&(t, cost)) = pts.last() {
            pts.push((t + 30.44, cost));
        }
        c.lines.push(Line {
            label: ty,
            points: pts,
        });
    }
    c
}
