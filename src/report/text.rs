//! The plain-text summary printed after a run (wrk2-style percentiles).

use std::fmt::Write;

use crate::results::summary::{LatencySummary, SloName, SloVerdict, Summary};
use crate::units::{fmt_count, fmt_ms};

pub fn summary(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{} → {}", s.scenario, s.target);
    let load = match (&s.target_rate, s.concurrency) {
        (Some(t), _) => format!(
            "open model, {} arrivals: target {} rps, sent {} rps",
            s.arrivals.map_or("uniform", |a| a.label()),
            fmt_count(*t),
            fmt_count(s.achieved_rate)
        ),
        (None, Some(c)) => format!(
            "closed model, {c} users: sent {} rps",
            fmt_count(s.achieved_rate)
        ),
        _ => String::new(),
    };
    let _ = writeln!(
        o,
        "  {load}, throughput {} rps over {:.1} s (threads: {}, connections opened: {})",
        fmt_count(s.throughput),
        s.duration_s,
        s.threads,
        s.connections_opened
    );
    let r = &s.requests;
    let _ = writeln!(
        o,
        "  requests: {} ok, {} errors of {} completed",
        r.ok, r.errors.total, r.total
    );
    for (k, v) in &r.errors.by_kind {
        let _ = writeln!(o, "    {k:<24} {v}");
    }
    if s.in_flight_at_end > 0 {
        let _ = writeln!(o, "  unanswered at the end: {}", s.in_flight_at_end);
    }
    if s.no_free_connection > 0 {
        let _ = writeln!(
            o,
            "  arrivals that found no free connection: {}",
            s.no_free_connection
        );
    }
    if s.users_never_sent > 0 {
        let _ = writeln!(
            o,
            "  users that never sent a request (no connection opened): {}",
            s.users_never_sent
        );
    }
    let _ = writeln!(
        o,
        "\n  {:<22} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "", "mean", "p50", "p90", "p99", "p99.9", "max"
    );
    for (label, l) in [
        ("latency (intended)", &s.latency_ms),
        ("service time", &s.service_time_ms),
        ("send lag", &s.send_lag_ms),
        ("connection setup", &s.connect_ms),
    ] {
        if label == "connection setup" && l.is_none() {
            continue;
        }
        let _ = writeln!(o, "  {}", row(label, l.as_ref()));
    }
    for w in &s.warnings {
        let _ = writeln!(o, "  warning: {w}");
    }
    per_request_and_slo(&mut o, s);
    faults(&mut o, s);
    if let Some(why) = &s.target_unusable {
        let _ = writeln!(o, "\n  TARGET UNUSABLE — {why}");
    }
    if s.generator_limited {
        let _ = writeln!(
            o,
            "\n  GENERATOR LIMITED — these numbers describe the generator, not only the target:"
        );
        for n in &s.generator_notes {
            let _ = writeln!(o, "    {n}");
        }
    } else if s.attribution == crate::results::verdict::Attribution::TargetSaturated {
        let _ = writeln!(
            o,
            "\n  TARGET SATURATED — it could not carry the offered load:"
        );
        for n in &s.generator_notes {
            let _ = writeln!(o, "    {n}");
        }
    }
    if s.interrupted {
        let _ = writeln!(
            o,
            "\n  INTERRUPTED — results cover the first {:.1} s.",
            s.duration_s
        );
    }
    o
}

/// Latency per request name (when there are several), and each SLO line
/// with its verdict.
fn per_request_and_slo(o: &mut String, s: &Summary) {
    if s.per_request.len() > 1 {
        let _ = writeln!(o, "\n  per request (latency):");
        let labels: Vec<String> = s
            .per_request
            .iter()
            .map(|p| {
                format!(
                    "{} ({} ok, {} err)",
                    p.name, p.requests.ok, p.requests.errors.total
                )
            })
            .collect();
        let w = labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
            .max(22);
        for (p, label) in s.per_request.iter().zip(&labels) {
            let _ = writeln!(o, "  {}", row_w(label, w, p.latency_ms.as_ref()));
        }
    }
    if !s.slo.is_empty() {
        let _ = writeln!(o, "\n  SLO:");
        for v in &s.slo {
            let (op, th, me) = slo_cells(v);
            let verdict = match v.pass {
                Some(true) => "pass",
                Some(false) => "FAIL",
                None => "no data",
            };
            let name = match &v.request {
                Some(r) => format!("{r}: {}", v.name.label()),
                None => v.name.label().to_string(),
            };
            let _ = writeln!(
                o,
                "    {name:<8} {op} {th:<10} measured {:<12} {verdict}",
                me.unwrap_or_else(|| "-".into())
            );
        }
        if let Some(why) = &s.aborted {
            let _ = writeln!(o, "    aborted early: {why}");
        }
    }
}

/// Why a run did not end with exit 0, in one line (what `--quiet` still
/// prints, to stderr); `None` for a run that did.
pub fn verdict_line(s: &Summary) -> Option<String> {
    if let Some(why) = &s.target_unusable {
        return Some(format!("target unusable: {why}"));
    }
    if s.requests.ok == 0 && s.requests.errors.total > 0 {
        let kinds: Vec<String> = s
            .requests
            .errors
            .by_kind
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        return Some(format!("no request succeeded: {}", kinds.join(", ")));
    }
    if s.interrupted {
        return Some(format!("interrupted after {:.1} s", s.duration_s));
    }
    if s.generator_limited || s.attribution == crate::results::verdict::Attribution::TargetSaturated
    {
        let label = if s.generator_limited {
            "generator limited"
        } else {
            "target saturated"
        };
        return Some(format!("{label}: {}", s.generator_notes.join("; ")));
    }
    if let Some(e) = s
        .experiment
        .as_ref()
        .filter(|e| e.verdict != crate::results::experiment::Verdict::Held)
    {
        return Some(format!("experiment {}: {}", e.verdict.label(), e.why));
    }
    let failed: Vec<String> = s
        .slo
        .iter()
        .filter(|v| v.pass == Some(false))
        .map(|v| {
            let (cmp, limit, measured) = slo_cells(v);
            let on = v
                .request
                .as_deref()
                .map_or(String::new(), |r| format!(" ({r})"));
            format!(
                "{}{on} {} {cmp} {limit}",
                v.name.label(),
                measured.unwrap_or_else(|| "—".into())
            )
        })
        .collect();
    (!failed.is_empty()).then(|| format!("SLO failed: {}", failed.join(", ")))
}

/// A threshold's comparison, limit and measured value, in its unit.
pub fn slo_cells(v: &SloVerdict) -> (&'static str, String, Option<String>) {
    match v.name {
        SloName::Errors => (
            "≤",
            format!("{:.2} %", v.threshold * 100.0),
            v.measured.map(|m| format!("{:.2} %", m * 100.0)),
        ),
        SloName::MinRate => (
            "≥",
            format!("{} rps", fmt_count(v.threshold)),
            v.measured.map(|m| format!("{} rps", fmt_count(m))),
        ),
        SloName::Latency { .. } => ("≤", fmt_ms(v.threshold), v.measured.map(fmt_ms)),
    }
}

fn row(label: &str, l: Option<&LatencySummary>) -> String {
    row_w(label, 22, l)
}

fn row_w(label: &str, w: usize, l: Option<&LatencySummary>) -> String {
    match l {
        Some(l) => format!(
            "{label:<w$} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            fmt_ms(l.mean),
            fmt_ms(l.p50),
            fmt_ms(l.p90),
            fmt_ms(l.p99),
            fmt_ms(l.p999),
            fmt_ms(l.max)
        ),
        None => format!("{label:<w$} {:>10}", "no samples"),
    }
}

/// The faults of a run and the experiment's verdict, for the terminal.
fn faults(o: &mut String, s: &Summary) {
    if s.faults.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n  faults (seconds on the run's clock):");
    for line in fault_lines(s) {
        let _ = writeln!(o, "    {line}");
    }
}

/// Each fault in two sentences, then the experiment's verdict: the
/// terminal's lines and the report's notes.
pub fn fault_lines(s: &Summary) -> Vec<String> {
    let secs = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1} s"));
    let share = |w: &crate::results::experiment::Window| {
        if w.requests == 0 {
            "-".to_string()
        } else {
            format!("{:.1} %", 100.0 * w.bad as f64 / w.requests as f64)
        }
    };
    let mut lines = Vec::new();
    for f in &s.faults {
        let a = &f.applied;
        let mut head = format!(
            "{}: {} on {} from {} to {}",
            a.name,
            a.toxic.effect.kind(),
            a.proxy,
            secs(a.started_s),
            secs(a.ended_s)
        );
        if a.removed_by_abort {
            head.push_str(" (removed by abort_if)");
        }
        if let Some(e) = &a.error {
            head.push_str(&format!(" — error: {e}"));
        }
        lines.push(head);
        lines.push(format!(
            "  during: {} requests, {} bad ({}), worst p99 {}; after: {} requests, {} bad ({}); time to detect {}, recovery {}",
            f.during.requests,
            f.during.bad,
            share(&f.during),
            f.during
                .worst_p99_ms
                .map_or("-".to_string(), crate::units::fmt_ms),
            f.after.requests,
            f.after.bad,
            share(&f.after),
            f.time_to_detect_s
                .map_or("- (the SLO held)".to_string(), |v| format!("{v:.1} s")),
            f.recovery_s
                .map_or("- (not within the run)".to_string(), |v| format!("{v:.1} s"))
        ));
    }
    if let Some(e) = &s.experiment {
        lines.push(format!(
            "experiment: hypothesis {} {} — {}",
            e.hypothesis,
            e.verdict.label().to_uppercase(),
            e.why
        ));
    }
    lines
}
