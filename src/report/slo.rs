//! An SLO's budget in the terminal, and its Prometheus rules.

use std::fmt::Write as _;

use crate::input::slo::{Indicator, SloFile};
use crate::model::budget::{self, promql_duration, AlertWindow, Budgeting, Window};
use crate::results::slo::SloDoc;
use crate::units::fmt_count;

/// `page 1h/5m at 14.4×`.
pub fn alert_label(a: &AlertWindow) -> String {
    format!(
        "{} {}/{} at {}×",
        a.severity,
        promql_duration(a.long_s),
        promql_duration(a.short_s),
        trim(a.factor)
    )
}

/// A number without float noise: 14.4, 6, 0.001.
fn trim(v: f64) -> String {
    let s = format!("{:.9}", v);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub fn window_text(w: &Window) -> String {
    match w {
        Window::Rolling(s) => format!("{} rolling", promql_duration(*s)),
        Window::Calendar(c) => format!("calendar {c:?}").to_lowercase(),
    }
}

fn pct(v: f64) -> String {
    let p = 100.0 * v;
    if p.abs() >= 10.0 {
        format!("{p:.1} %")
    } else {
        format!("{p:.2} %")
    }
}

pub fn report_text(d: &SloDoc) -> String {
    let mut o = String::new();
    let b = &d.budget;
    let unit = match d.budgeting {
        Budgeting::Occurrences => "events",
        Budgeting::Timeslices { .. } => "slices",
    };
    let _ = writeln!(
        o,
        "SLO `{}` ({}): {} good over {}, {}; {} in steps of {}",
        d.name,
        d.service,
        trim(100.0 * d.objective) + " %",
        window_text(&d.window),
        match d.budgeting {
            Budgeting::Occurrences => "budget in events".to_string(),
            Budgeting::Timeslices { slice_target } => format!(
                "budget in slices (a slice is good at ≥ {})",
                pct(slice_target)
            ),
        },
        d.source,
        promql_duration(d.step_s)
    );
    let _ = writeln!(
        o,
        "window {} → {} (now {}): SLI {}; {} bad of {} {unit}; allowed {}; spent {}, {} left{}",
        &b.window_start[..16.min(b.window_start.len())],
        &b.window_end[..16.min(b.window_end.len())],
        &d.now[..16.min(d.now.len())],
        b.sli.map_or("—".into(), |s| format!("{:.4} %", 100.0 * s)),
        fmt_count(b.bad),
        fmt_count(b.total),
        fmt_count(b.allowed),
        pct(b.consumed),
        pct(b.remaining.max(0.0)),
        if b.no_data > 0 {
            format!("; {} steps without data", b.no_data)
        } else {
            String::new()
        }
    );
    let _ = write!(o, "burn rate:");
    for x in &d.burn {
        let _ = write!(
            o,
            "  {} {}",
            x.lookback,
            x.rate.map_or("—".into(), |r| format!("{r:.2}"))
        );
    }
    let _ = writeln!(o);
    match (&d.exhausted_at, d.exhaustion_burn) {
        _ if b.remaining <= 0.0 => {
            let _ = writeln!(
                o,
                "BUDGET SPENT: {} of it, with the window running to {}",
                pct(b.consumed),
                &b.window_end[..16.min(b.window_end.len())]
            );
        }
        (Some(t), Some(r)) => {
            let _ = writeln!(
                o,
                "at the last {}'s burn of {r:.2}, the budget runs out on {}",
                d.exhaustion_lookback,
                &t[..16.min(t.len())]
            );
        }
        (None, Some(r)) if r > 0.0 => {
            let _ = writeln!(
                o,
                "at the last {}'s burn of {r:.2}, the budget outlasts the window",
                d.exhaustion_lookback
            );
        }
        _ => {
            let _ = writeln!(o, "nothing is burning the budget");
        }
    }
    if !d.firing.is_empty() {
        let _ = writeln!(o, "alerts that would fire now: {}", d.firing.join("; "));
    }
    for e in &d.experiments {
        let _ = writeln!(
            o,
            "experiment {}: {} bad of {} requests would spend {} of this window's budget{}",
            e.dir,
            fmt_count(e.bad as f64),
            fmt_count(e.requests as f64),
            pct(e.budget_share),
            e.remaining_share
                .map_or(" (none is left)".into(), |r| format!(
                    ", {} of what is left",
                    pct(r)
                ))
        );
    }
    if !d.incidents.is_empty() {
        let _ = writeln!(o, "stretches that burned most:");
        for i in &d.incidents {
            let _ = writeln!(
                o,
                "  {} → {}  {} bad, {} of the budget, peak burn {:.1}",
                &i.start[..16.min(i.start.len())],
                &i.end[..16.min(i.end.len())],
                fmt_count(i.bad),
                pct(i.budget_share),
                i.peak_burn
            );
        }
    }
    let _ = writeln!(o, "SLI per day:");
    for day in &d.daily {
        let _ = writeln!(
            o,
            "  {}  {}",
            day.day,
            day.value
                .map_or("no data".into(), |v| format!("{:.4} %", 100.0 * v))
        );
    }
    o
}

/// A YAML double-quoted string.
fn quoted(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t");
    format!("\"{escaped}\"")
}

/// A PromQL label matcher value.
fn matcher(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Prometheus recording and alerting rules for the SLO: the error ratio
/// over every window the alerts use (and the SLO's own rolling window),
/// and the four multi-window, multi-burn-rate alerts.
pub fn rules(s: &SloFile) -> String {
    let window_s = budget::nominal_seconds(s.objective.window);
    let alerts = budget::alert_windows(window_s);
    let mut windows: Vec<f64> = alerts.iter().flat_map(|a| [a.short_s, a.long_s]).collect();
    if let Window::Rolling(w) = s.objective.window {
        windows.push(w);
    }
    windows.sort_by(f64::total_cmp);
    windows.dedup();
    let error = 1.0 - s.objective.target;
    // A threshold SLI is judged slice by slice: its subqueries step by the
    // slice (default 1m).
    let slice = promql_duration(s.slice_s.unwrap_or(60.0));
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# headroom slo rules {}: {} good over {} ({} budget: {} of them may be bad)",
        s.path.display(),
        trim(100.0 * s.objective.target) + " %",
        window_text(&s.objective.window),
        match (&s.sli, s.objective.budgeting) {
            (Indicator::Threshold(_), _) => "slices meeting the threshold",
            (_, Budgeting::Occurrences) => "occurrences",
            (_, Budgeting::Timeslices { .. }) => "timeslices; the alerts watch events",
        },
        trim(error)
    );
    let _ = writeln!(y, "# Alerts: the SRE workbook's multi-window, multi-burn-rate pairs (ch. 5), windows scaled by {} / 30d.", window_text(&s.objective.window));
    let _ = writeln!(y, "groups:");
    let _ = writeln!(
        y,
        "  - name: {}",
        quoted(&format!("slo:{}:recordings", s.name))
    );
    if let Indicator::Threshold(_) = s.sli {
        // Each evaluation records one slice: the group runs once a slice.
        let _ = writeln!(y, "    interval: {slice}");
    }
    let _ = writeln!(y, "    rules:");
    let labels = |y: &mut String| {
        let _ = writeln!(y, "        labels:");
        let _ = writeln!(y, "          slo: {}", quoted(&s.name));
        let _ = writeln!(y, "          service: {}", quoted(&s.service));
    };
    // A threshold SLI: whether each slice was good (1) or bad (0), recorded
    // first, then averaged over each window.
    if let Indicator::Threshold(t) = &s.sli {
        let _ = writeln!(y, "      - record: slo:slice_good");
        let _ = writeln!(
            y,
            "        expr: {}",
            // The newline ends a `# comment` the query may close with.
            quoted(&format!(
                "({}\n) {} bool {}",
                t.query,
                t.op.promql(),
                t.value
            ))
        );
        labels(&mut y);
    }
    for w in &windows {
        let d = promql_duration(*w);
        let expr = match &s.sli {
            Indicator::Ratio(r) => r.error_ratio(&d),
            Indicator::Threshold(_) => format!(
                "1 - avg_over_time(slo:slice_good{{slo={}}}[{d}])",
                matcher(&s.name)
            ),
        };
        let _ = writeln!(y, "      - record: slo:sli_error:ratio_rate{d}");
        let _ = writeln!(y, "        expr: {}", quoted(&expr));
        labels(&mut y);
    }
    let _ = writeln!(y, "      - record: slo:objective:ratio");
    let _ = writeln!(y, "        expr: vector({})", trim(s.objective.target));
    labels(&mut y);
    if let Window::Rolling(w) = s.objective.window {
        let d = promql_duration(w);
        let _ = writeln!(y, "      - record: slo:error_budget:remaining");
        let _ = writeln!(
            y,
            "        expr: {}",
            quoted(&format!(
                "1 - slo:sli_error:ratio_rate{d}{{slo={}}} / {}",
                matcher(&s.name),
                trim(error)
            ))
        );
        labels(&mut y);
    }
    let _ = writeln!(y, "  - name: {}", quoted(&format!("slo:{}:alerts", s.name)));
    let _ = writeln!(y, "    rules:");
    for a in &alerts {
        if let Some(why) = budget::alert_left_out(a, s.objective.target) {
            let _ = writeln!(y, "      # left out: {}: {why}", alert_label(a));
            continue;
        }
        let (long, short) = (promql_duration(a.long_s), promql_duration(a.short_s));
        let threshold = format!("({} * {})", trim(a.factor), trim(error));
        let sel = format!("{{slo={}}}", matcher(&s.name));
        let _ = writeln!(y, "      - alert: ErrorBudgetBurn");
        let _ = writeln!(
            y,
            "        expr: {}",
            quoted(&format!(
                "slo:sli_error:ratio_rate{long}{sel} > {threshold} and slo:sli_error:ratio_rate{short}{sel} > {threshold}"
            ))
        );
        let _ = writeln!(y, "        labels:");
        let _ = writeln!(y, "          severity: {}", a.severity);
        let _ = writeln!(y, "          slo: {}", quoted(&s.name));
        let _ = writeln!(y, "          long_window: {long}");
        let _ = writeln!(y, "          short_window: {short}");
        let _ = writeln!(y, "        annotations:");
        let _ = writeln!(
            y,
            "          summary: {}",
            quoted(&format!(
                "{} is burning its error budget at {}× or more ({} of it in {long})",
                s.name,
                trim(a.factor),
                trim(100.0 * a.budget_share) + " %"
            ))
        );
    }
    y
}
