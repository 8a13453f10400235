//! The terminal tables of `headroom usl`, `forecast` and `plan` (their
//! files are `results::plan`).

use std::fmt::Write;

use crate::input::plan::Bound;
use crate::model::forecast::Calibration;
use crate::model::usl::UslFit;
use crate::results::plan::{BacktestDoc, ForecastDoc, PlanDoc};
use crate::results::sweep::UslReport;
use crate::units::{fmt_count, fmt_money};

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |v| format!("{v:.digits$}"))
}

pub fn usl_text(r: &UslReport, points: &[(f64, f64)], fit: &UslFit) -> String {
    let mut o = String::new();
    let ci = |c: Option<(f64, f64)>, d: usize| {
        c.map_or(String::new(), |(a, b)| {
            format!("  95 % CI [{a:.d$}, {b:.d$}]")
        })
    };
    let _ = writeln!(
        o,
        "Universal Scalability Law fit to {} points",
        points.len()
    );
    let _ = writeln!(
        o,
        "  σ (contention)  {:.6}  SE {}{}",
        r.sigma,
        opt(r.sigma_std_error, 6),
        ci(r.sigma_ci95, 6)
    );
    let _ = writeln!(
        o,
        "  κ (coherency)   {:.6e}  SE {}{}",
        r.kappa,
        r.kappa_std_error.map_or("—".into(), |v| format!("{v:.3e}")),
        ci(r.kappa_ci95, 6)
    );
    let _ = writeln!(
        o,
        "  λ (X at N = 1)  {:.4}  SE {}{}",
        r.lambda,
        opt(r.lambda_std_error, 4),
        ci(r.lambda_ci95, 4)
    );
    let _ = writeln!(o, "  R²              {:.4}", r.r_squared);
    match (r.peak_concurrency, r.peak_throughput) {
        (Some(n), Some(x)) => {
            let _ = writeln!(o, "  peak: N* = {n:.1}, X(N*) = {}/s", fmt_count(x));
        }
        _ => {
            let _ = writeln!(
                o,
                "  no peak: κ = 0, throughput rises towards the Amdahl roof"
            );
        }
    }
    if let Some(roof) = r.amdahl_roof {
        let _ = writeln!(o, "  Amdahl roof λ/σ = {}/s", fmt_count(roof));
    }
    let _ = writeln!(
        o,
        "\n  {:>8}  {:>12}  {:>12}  {:>7}",
        "N", "measured X", "fitted X", "resid"
    );
    // Many points: about 24 rows, evenly spaced, always the last.
    let every = points.len().div_ceil(24).max(1);
    for (i, &(n, x)) in points.iter().enumerate() {
        if i % every != 0 && i + 1 != points.len() {
            continue;
        }
        let f = fit.throughput_at(n);
        let _ = writeln!(
            o,
            "  {n:>8}  {x:>12.2}  {f:>12.2}  {:>6.1}%",
            100.0 * (x - f) / f
        );
    }
    if every > 1 {
        let _ = writeln!(
            o,
            "  (one point in {every} of {} shown; --json for the fit)",
            points.len()
        );
    }
    for w in &r.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    o
}

pub fn forecast_text(d: &ForecastDoc) -> String {
    let mut o = String::new();
    let first = d.history.first().map_or("", |p| p.t.as_str());
    let _ = writeln!(
        o,
        "{}: {} steps of {} from {first}{}",
        d.source,
        d.history.len(),
        d.step,
        if d.filled > 0 {
            format!(" ({} empty steps interpolated)", d.filled)
        } else {
            String::new()
        }
    );
    let _ = writeln!(o, "model: {}", d.model);
    if !d.why.is_empty() {
        let _ = writeln!(o, "why: {}", d.why);
    }
    if let Some(c) = &d.calibration {
        let _ = writeln!(o, "{}", calibration_line(c));
    }
    let _ = writeln!(
        o,
        "\n  {:<25}  {:>10}  {:>21}  {:>21}",
        "step starting", "mean", "80 % interval", "95 % interval"
    );
    // Long horizons: about 24 rows, evenly spaced, always the last.
    let every = d.points.len().div_ceil(24).max(1);
    for (i, p) in d.points.iter().enumerate() {
        if i % every != 0 && i + 1 != d.points.len() {
            continue;
        }
        let _ = writeln!(
            o,
            "  {:<25}  {:>10}  {:>10} – {:<8}  {:>10} – {:<8}",
            p.t,
            fmt_count(p.mean),
            fmt_count(p.lo80),
            fmt_count(p.hi80),
            fmt_count(p.lo95),
            fmt_count(p.hi95)
        );
    }
    if every > 1 {
        let _ = writeln!(
            o,
            "  (one step in {every} of {} shown; --json for all)",
            d.points.len()
        );
    }
    for w in &d.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    o
}

/// What the calibrated intervals covered on the history's own backtest:
/// how far to trust the bound a plan is sized for.
pub fn calibration_line(c: &Calibration) -> String {
    format!(
        "intervals calibrated on the history's own backtest ({} errors at {} origins): \
         they covered {:.0} % (80 % interval) and {:.0} % (95 % interval) of errors \
         they were not calibrated on",
        c.errors,
        c.origins,
        100.0 * c.coverage80,
        100.0 * c.coverage95
    )
}

/// `forecast --backtest`: accuracy by steps ahead.
pub fn backtest_text(d: &BacktestDoc) -> String {
    let b = &d.backtest;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "backtest: refitted at {} origins on the history before each, {} steps of {} ahead scored",
        b.origins, b.horizon, d.step
    );
    let _ = writeln!(o, "model at the latest origin: {}", b.model);
    let _ = writeln!(o, "why: {}", b.why);
    let _ = writeln!(
        o,
        "\n  {:<14}  {:>6}  {:>6}  {:>7}  {:>12}  {:>12}",
        "steps ahead", "points", "MASE", "sMAPE", "80 % covered", "95 % covered"
    );
    for a in b.buckets.iter().chain(std::iter::once(&b.overall)) {
        let steps = if std::ptr::eq(a, &b.overall) {
            "all".to_string()
        } else if a.first_step == a.last_step {
            a.first_step.to_string()
        } else {
            format!("{}–{}", a.first_step, a.last_step)
        };
        let _ = writeln!(
            o,
            "  {:<14}  {:>6}  {:>6}  {:>6.1}%  {:>11.0}%  {:>11.0}%",
            steps,
            a.points,
            opt(a.mase, 2),
            a.smape,
            100.0 * a.coverage80,
            100.0 * a.coverage95
        );
    }
    let _ = writeln!(
        o,
        "  (MASE below 1: better than repeating the last {} on the history itself)",
        if b.season > 1 {
            format!("season of {} steps", b.season)
        } else {
            "value".into()
        }
    );
    o
}

pub fn plan_text(d: &PlanDoc) -> String {
    let mut o = String::new();
    let p = &d.plan;
    let _ = writeln!(
        o,
        "plan `{}`: {} ahead in steps of {}, sized for the {} forecast ({})",
        d.name,
        d.horizon,
        d.step,
        match d.bound {
            Bound::Mean => "mean",
            Bound::Hi80 => "upper 80 %",
            Bound::Hi95 => "upper 95 %",
        },
        d.forecast_model
    );
    if let Some(c) = &d.forecast_calibration {
        let _ = writeln!(o, "{}", calibration_line(c));
    }
    // What must happen by when comes first.
    for line in act_by_lines(d) {
        let _ = writeln!(o, "{line}");
    }
    let _ = writeln!(
        o,
        "sizing: ≤ {:.0} % of measured capacity per instance, N+{}, at least {}{}; prices {}{}",
        100.0 * d.sizing.utilisation,
        d.sizing.redundancy,
        d.sizing.min_instances,
        if d.sizing.survive_region_loss {
            ", each region able to take a lost region's share"
        } else {
            ""
        },
        d.currency,
        d.commitment
            .as_ref()
            .map_or(" on demand".into(), |c| format!(" with a {c} commitment"))
    );
    for e in &d.events {
        let _ = writeln!(o, "  event {}", event_line(e));
    }
    for c in &d.capacity {
        let _ = writeln!(
            o,
            "  {:<14} {:>8} rps per instance ({}), {}/h",
            c.type_name,
            fmt_count(c.capacity_rps),
            c.source,
            fmt_money(c.hourly)
        );
    }
    months_text(&mut o, d);
    regions_text(&mut o, d);
    slo_and_runway_text(&mut o, d);
    if let Some(c) = &p.cheapest {
        let _ = writeln!(
            o,
            "cheapest over the horizon: {} ({} in total, {} instances in the last month)",
            c.type_name,
            fmt_money(c.total_cost),
            c.final_instances
        );
    }
    if let Some(m) = &p.commitment_mix {
        let _ = writeln!(o, "buying it: {}", mix_line(m));
    }
    for r in &p.region_commitments {
        let _ = writeln!(o, "  {:<18} {}", r.region, mix_line(&r.mix));
    }
    scenarios_text(&mut o, d);
    autoscaling_text(&mut o, d);
    o
}

/// The month by month table: peak and mean demand, the fleet's type, the
/// cheapest, cost per million requests, what to order by when.
fn months_text(o: &mut String, d: &PlanDoc) {
    let p = &d.plan;
    let fleet_type = d.fleet.as_ref().map(|f| f.type_name.as_str());
    let _ = writeln!(
        o,
        "\n  {:<8} {:>10} {:>10}  {:<28} {:<30} {:>9}  act by",
        "month",
        "peak rps",
        "mean rps",
        fleet_type.map_or("—".into(), |t| format!("{t} (fleet type)")),
        "cheapest",
        "$/M req"
    );
    for m in &p.periods {
        let fleet = fleet_type
            .and_then(|t| m.options.iter().find(|o| o.type_name == t))
            .map_or("—".into(), |o| {
                format!(
                    "{} = {}/mo ({:.0} %)",
                    o.instances,
                    fmt_money(o.monthly_cost),
                    100.0 * o.utilisation
                )
            });
        let best = m.options.first();
        let _ = writeln!(
            o,
            "  {:<8} {:>10} {:>10}  {:<28} {:<30} {:>9}  {}",
            m.month,
            fmt_count(m.peak_rps),
            fmt_count(m.mean_rps),
            fleet,
            best.map_or("—".into(), |b| format!(
                "{} × {} = {}/mo",
                b.instances,
                b.type_name,
                fmt_money(b.monthly_cost)
            )),
            best.and_then(|b| b.cost_per_million)
                .map_or("—".into(), |c| format!("{c:.4}")),
            month_act_by(m)
        );
    }
}

/// The SLO's budget against the forecast, and the fleet's runway.
fn slo_and_runway_text(o: &mut String, d: &PlanDoc) {
    let p = &d.plan;
    if let Some(s) = &d.slo {
        let _ = writeln!(
            o,
            "\nSLO `{}` ({:.3} % over {}): {}; a window allows about {} bad requests at the forecast's mean demand",
            s.name,
            100.0 * s.objective,
            s.window,
            match (s.fleet_slo_rps, &s.burns_from, s.demand_at_burn_rps) {
                (Some(cap), Some(t), Some(x)) => format!(
                    "demand passes the fleet's SLO-safe {} rps on {} ({} rps): the budget burns from then",
                    fmt_count(cap),
                    day(t),
                    fmt_count(x)
                ),
                (Some(cap), _, _) => format!(
                    "demand stays within the fleet's SLO-safe {} rps over the horizon",
                    fmt_count(cap)
                ),
                _ => "no [fleet] to judge".into(),
            },
            fmt_count(s.allowed_per_window)
        );
    }
    if let (Some(r), Some(f)) = (&p.runway, &d.fleet) {
        let _ = writeln!(
            o,
            "\nrunway: {} × {} serve {} rps with {} down at ≤ {:.0} %: {}",
            f.count,
            f.type_name,
            fmt_count(r.fleet_capacity_rps),
            d.sizing.redundancy,
            100.0 * d.sizing.utilisation,
            match (&r.until, r.days, r.demand_at_until_rps) {
                (Some(u), Some(days), Some(x)) => format!(
                    "enough until {} ({days:.0} days), when demand reaches {} rps{}",
                    &u[..10.min(u.len())],
                    fmt_count(x),
                    r.act_by.as_deref().map_or(String::new(), |a| format!(
                        "; with a lead time of {:.0} days, act by {}",
                        d.sizing.lead_time_days.unwrap_or(0.0),
                        &a[..10.min(a.len())]
                    ))
                ),
                _ => "enough for the whole horizon".into(),
            }
        );
    }
}

/// The autoscaling policy and its HPA.
fn autoscaling_text(o: &mut String, d: &PlanDoc) {
    if let Some(auto) = &d.autoscaling {
        let a = &auto.recommendation;
        let _ = writeln!(
            o,
            "\nautoscaling ({}): hold each instance at {:.1} % of its measured {} rps = {} rps \
             (the {:.0} % ceiling less room for a {:.1} %/h ramp, {}, over a {:.0} s scale-up delay); \
             {}–{} replicas\n",
            a.type_name,
            100.0 * a.target_utilisation,
            fmt_count(a.capacity_rps),
            fmt_count(a.target_rps),
            100.0 * d.sizing.utilisation,
            100.0 * a.ramp_per_hour,
            a.ramp_source,
            a.scale_up_delay_s,
            a.min_replicas,
            a.max_replicas
        );
        for line in auto.hpa.lines() {
            let _ = writeln!(o, "    {line}");
        }
    }
}

/// The month's orders by their act-by dates: `2027-02-08 +1 us-east`.
pub fn month_act_by(m: &crate::model::plan::Period) -> String {
    if m.orders.is_empty() {
        return "—".into();
    }
    m.orders
        .iter()
        .map(|o| {
            format!(
                "{} +{}{}",
                o.act_by.as_deref().map_or("(no lead time)", day),
                o.add,
                o.region
                    .as_deref()
                    .map_or(String::new(), |r| format!(" {r}"))
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `YYYY-MM-DD` of an RFC 3339 time.
fn day(t: &str) -> &str {
    &t[..10.min(t.len())]
}

/// The dates a review opens with: each order's act-by, and the runway.
pub fn act_by_lines(d: &PlanDoc) -> Vec<String> {
    let mut out = Vec::new();
    for order in &d.plan.orders {
        let what = format!(
            "{} more {}{} ({} in all), needed from {}",
            order.add,
            order.type_name,
            order
                .region
                .as_deref()
                .map_or(String::new(), |r| format!(" in {r}")),
            order.instances,
            day(&order.need_by)
        );
        out.push(match (&order.act_by, order.lead_time_days) {
            (Some(a), Some(l)) if order.overdue => format!(
                "ACT NOW: order {what}; with {l:.0} days' lead time it was due by {}",
                day(a)
            ),
            (Some(a), Some(l)) => {
                format!("ACT BY {}: order {what} ({l:.0} days' lead time)", day(a))
            }
            _ => format!("ORDER {what} (give a lead_time for the date to order by)"),
        });
    }
    out
}

pub fn event_line(e: &crate::model::plan::EventDoc) -> String {
    format!(
        "{}: {} from {}{}{}",
        e.name,
        match (e.add_share, e.add_rps) {
            (Some(s), _) => format!("{:+.0} %", 100.0 * s),
            (_, Some(r)) => format!("{:+} rps", fmt_count(r)),
            _ => "—".into(),
        },
        day(&e.start),
        if e.ramp_days > 0.0 {
            format!(", ramping over {:.0} days", e.ramp_days)
        } else {
            String::new()
        },
        e.end
            .as_deref()
            .map_or(String::new(), |t| format!(", until {}", day(t)))
    )
}

/// Committed and on-demand instances, and what they save.
pub fn mix_line(m: &crate::model::cost::CommitmentMix) -> String {
    let mut line = match &m.commitment {
        Some(c) if m.committed >= m.peak_instances => format!(
            "all {} × {} on a {c} commitment: {} over the horizon, against {} on demand ({:.0} % less)",
            m.committed,
            m.type_name,
            fmt_money(m.total_cost),
            fmt_money(m.on_demand_cost),
            100.0 * (1.0 - m.total_cost / m.on_demand_cost),
        ),
        Some(c) => format!(
            "{} × {} on a {c} commitment and up to {} more on demand in the peak months: {} over the horizon, against {} all on demand ({:.0} % less) and {} committing the peak",
            m.committed,
            m.type_name,
            m.peak_instances - m.committed,
            fmt_money(m.total_cost),
            fmt_money(m.on_demand_cost),
            100.0 * (1.0 - m.total_cost / m.on_demand_cost),
            fmt_money(m.all_committed_cost)
        ),
        None => format!(
            "{} all on demand: {} ({}–{} instances); no commitment pays",
            m.type_name,
            fmt_money(m.on_demand_cost),
            m.base_instances,
            m.peak_instances
        ),
    };
    if !m.longer_than_horizon.is_empty() {
        line += &format!(
            " ({} left out: a term longer than the horizon)",
            m.longer_than_horizon.join(", ")
        );
    }
    line
}

/// Each region month by month: instances and the utilisation at its peak
/// against the target.
fn regions_text(o: &mut String, d: &PlanDoc) {
    // Every month has the regions, or none does.
    let periods = &d.plan.periods;
    let Some(first) = periods.first().filter(|m| !m.regions.is_empty()) else {
        return;
    };
    let _ = writeln!(
        o,
        "\nregions: instances (utilisation at the peak; the target is ≤ {:.0} %){}",
        100.0 * d.sizing.utilisation,
        if d.sizing.survive_region_loss {
            ", each sized to take its share of a lost region"
        } else {
            ""
        }
    );
    let _ = write!(o, "  {:<8}", "month");
    for r in &first.regions {
        let _ = write!(o, " {:>18}", r.name);
    }
    let _ = writeln!(o, " {:>8}", "all");
    for m in periods {
        let _ = write!(o, "  {:<8}", m.month);
        for r in &m.regions {
            let _ = write!(
                o,
                " {:>18}",
                format!("{} ({:.0} %)", r.instances, 100.0 * r.utilisation)
            );
        }
        let _ = writeln!(
            o,
            " {:>8}",
            m.regions.iter().map(|r| r.instances).sum::<u32>()
        );
    }
    if let Some(m) = periods
        .iter()
        .max_by(|a, b| a.peak_rps.total_cmp(&b.peak_rps))
    {
        let _ = writeln!(o, "  at the peak ({}):", m.month);
        for r in &m.regions {
            let _ = writeln!(
                o,
                "  {:<18} {:>8} rps  {} × {} = {}/mo, sized for {}",
                r.name,
                fmt_count(r.peak_rps),
                r.instances,
                r.type_name,
                fmt_money(r.monthly_cost),
                r.sized_for_text()
            );
        }
        let total: u32 = m.regions.iter().map(|r| r.instances).sum();
        let one = m.options.first().map_or(0, |o| o.instances);
        let _ = writeln!(
            o,
            "  {total} instances in all, against {one} in one place: the price of serving each region where it is"
        );
    }
}

/// The scenarios side by side.
fn scenarios_text(o: &mut String, d: &PlanDoc) {
    if d.scenarios.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\n  {:<24} {:>10} {:>30} {:>12} {:>9} {:>11} {:>11}  what changes",
        "scenario", "peak rps", "instances at the peak", "total", "$/M req", "runway", "act by",
    );
    for s in &d.scenarios {
        let _ = writeln!(
            o,
            "  {:<24} {:>10} {:>30} {:>12} {:>9} {:>11} {:>11}  {}",
            s.name,
            fmt_count(s.peak_rps),
            s.instances_text(),
            s.total_cost.map_or("—".into(), fmt_money),
            s.cost_per_million.map_or("—".into(), |c| format!("{c:.4}")),
            s.runway_until
                .as_deref()
                .map_or(if d.fleet.is_some() { "horizon" } else { "—" }, day),
            s.act_by.as_deref().map_or("—", day),
            s.description
        );
    }
}
