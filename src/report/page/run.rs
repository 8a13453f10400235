//! A run's section: its thresholds, latency by request, errors, and the
//! charts of its time series and interval log.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{opt_ms, Canvas, Img};
use crate::report::charts::{self, Chart, Line, Mark, Unit};
use crate::report::text::slo_cells;
use crate::results::hlog::Log;
use crate::results::scenario::ScenarioInfo;
use crate::results::summary::{LatencySummary, SloName, Summary};
use crate::results::timeseries::Row;
use crate::results::ResultsDir;
use crate::units::{fmt_count, fmt_ms};

#[derive(Serialize, Default)]
pub(super) struct Section {
    scenario: String,
    target: String,
    started_at: String,
    tool_version: String,
    load: String,
    notes: Vec<String>,
    slo: Vec<BTreeMap<&'static str, String>>,
    percentiles: Vec<BTreeMap<&'static str, String>>,
    errors: Vec<(String, u64)>,
    charts: Vec<Img>,
    scenario_info: Option<ScenarioInfo>,
}

pub(super) fn section(
    s: &Summary,
    dir: &ResultsDir,
    latency: Option<&Log>,
    canvas: &mut Canvas,
) -> anyhow::Result<Section> {
    let mut r = Section {
        scenario: s.scenario.clone(),
        target: s.target.clone(),
        started_at: s.started_at.clone(),
        tool_version: s.tool.version.clone(),
        load: load(s),
        notes: notes(s),
        slo: slo_rows(s),
        percentiles: percentile_rows(s),
        errors: s
            .requests
            .errors
            .by_kind
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
        scenario_info: dir.scenario()?,
        ..Section::default()
    };
    headline(s, canvas);
    let slo_lines: Vec<Mark> = s
        .slo
        .iter()
        .filter(|v| v.request.is_none() && matches!(v.name, SloName::Latency { .. }))
        .map(|v| Mark {
            label: format!("SLO {} ≤ {}", v.name.label(), fmt_ms(v.threshold)),
            at: v.threshold,
        })
        .collect();
    if let Some(rows) = dir.timeseries()?.filter(|rows| !rows.is_empty()) {
        let mut latency = latency_chart(&rows, &slo_lines, canvas);
        latency.spans = fault_spans(s);
        r.charts.push(canvas.img(&latency)?);
        let mut throughput = throughput_chart(s, &rows, canvas);
        throughput.spans = fault_spans(s);
        r.charts.push(canvas.img(&throughput)?);
    }
    if let Some(c) = latency.and_then(|l| spectrum_chart(l, slo_lines, canvas)) {
        r.charts.push(canvas.img(&c)?);
    }
    Ok(r)
}

fn load(s: &Summary) -> String {
    match (s.target_rate, s.concurrency) {
        (Some(t), _) => format!(
            "open model, {} arrivals at {} rps for {:.1} s (achieved {} rps)",
            s.arrivals.map_or("uniform", |a| a.label()),
            fmt_count(t),
            s.duration_s,
            fmt_count(s.achieved_rate)
        ),
        (None, Some(c)) => format!(
            "closed model, {c} users for {:.1} s ({} rps)",
            s.duration_s,
            fmt_count(s.achieved_rate)
        ),
        _ => String::new(),
    }
}

fn notes(s: &Summary) -> Vec<String> {
    let mut notes: Vec<String> = s.target_unusable.iter().cloned().collect();
    notes.extend(s.generator_notes.iter().cloned());
    notes.extend(s.warnings.iter().cloned());
    if s.interrupted {
        notes.push("The run was interrupted; these are the results up to the stop.".into());
    }
    if let Some(a) = &s.aborted {
        notes.push(format!("Aborted early (--abort-on-fail): {a}"));
    }
    notes.extend(crate::report::text::fault_lines(s));
    notes
}

/// Each fault's time in effect, shaded on the charts over time.
fn fault_spans(s: &Summary) -> Vec<charts::Span> {
    s.faults
        .iter()
        .map(|f| &f.applied)
        .filter_map(|f| Some((format!("fault: {}", f.name), f.started_s?, f.ended_s?)))
        .collect()
}

fn slo_rows(s: &Summary) -> Vec<BTreeMap<&'static str, String>> {
    s.slo
        .iter()
        .map(|v| {
            let (op, threshold, measured) = slo_cells(v);
            let (verdict, class) = match v.pass {
                Some(true) => ("met", "pass"),
                Some(false) => ("FAILED", "fail"),
                None => ("no data", "none"),
            };
            let name = match &v.request {
                Some(q) => format!("{q}: {}", v.name.label()),
                None => v.name.label().to_string(),
            };
            BTreeMap::from([
                ("name", name),
                ("op", op.to_string()),
                ("threshold", threshold),
                ("measured", measured.unwrap_or_else(|| "—".into())),
                ("verdict", verdict.to_string()),
                ("class", class.to_string()),
            ])
        })
        .collect()
}

fn lat_row(
    name: &str,
    requests: u64,
    ok: u64,
    errors: u64,
    l: Option<&LatencySummary>,
) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("name", name.to_string()),
        ("requests", requests.to_string()),
        ("ok", ok.to_string()),
        ("errors", errors.to_string()),
        ("mean", opt_ms(l.map(|l| l.mean))),
        ("p50", opt_ms(l.map(|l| l.p50))),
        ("p90", opt_ms(l.map(|l| l.p90))),
        ("p99", opt_ms(l.map(|l| l.p99))),
        ("p999", opt_ms(l.map(|l| l.p999))),
        ("max", opt_ms(l.map(|l| l.max))),
    ])
}

/// All requests first, then each name when there are several.
fn percentile_rows(s: &Summary) -> Vec<BTreeMap<&'static str, String>> {
    let rq = &s.requests;
    let mut rows = vec![lat_row(
        "all",
        rq.total,
        rq.ok,
        rq.errors.total,
        s.latency_ms.as_ref(),
    )];
    if s.per_request.len() > 1 {
        rows.extend(s.per_request.iter().map(|p| {
            lat_row(
                &p.name,
                p.requests.total,
                p.requests.ok,
                p.requests.errors.total,
                p.latency_ms.as_ref(),
            )
        }));
    }
    rows
}

/// The SLO verdict, as the run's card.
fn headline(s: &Summary, canvas: &mut Canvas) {
    use crate::results::experiment::Verdict;
    let (value, tone) = if s.target_unusable.is_some() {
        ("target unusable", "bad")
    } else if let Some(e) = &s.experiment {
        match e.verdict {
            Verdict::Held => ("hypothesis held", "good"),
            Verdict::Violated => ("hypothesis violated", "bad"),
            Verdict::Aborted => ("experiment aborted", "bad"),
        }
    } else if s.generator_limited || s.interrupted {
        ("inconclusive", "warn")
    } else if s.slo.is_empty() {
        ("no SLO set", "")
    } else if s.slo_failed() {
        ("SLO failed", "bad")
    } else {
        ("SLO met", "good")
    };
    let note = s.latency_ms.as_ref().map_or(String::new(), |l| {
        format!(
            "p99 {} at {} rps",
            fmt_ms(l.p99),
            fmt_count(s.achieved_rate)
        )
    });
    canvas.card(format!("run · {}", s.scenario), value.into(), note, tone);
}

/// One column of the time series.
type Column = fn(&Row) -> Option<f64>;

fn series(rows: &[Row], f: Column) -> Vec<(f64, f64)> {
    rows.iter()
        .filter_map(|r| f(r).map(|v| (r.second as f64, v)))
        .collect()
}

fn latency_chart(rows: &[Row], slo_lines: &[Mark], canvas: &Canvas) -> Chart<'static> {
    let mut c = Chart::new(
        canvas.file(crate::results::files::LATENCY_PNG),
        "Latency over time",
        ("time since start (s)", Unit::Seconds),
        ("latency per second", Unit::Ms),
    );
    let columns: [(&str, Column); 4] = [
        ("p50", |r| r.p50_ms),
        ("p90", |r| r.p90_ms),
        ("p99", |r| r.p99_ms),
        ("max", |r| r.max_ms),
    ];
    for (label, f) in columns {
        c.lines.push(Line {
            label: label.into(),
            points: series(rows, f),
        });
    }
    c.h_marks = slo_lines
        .iter()
        .map(|m| Mark {
            label: m.label.clone(),
            at: m.at,
        })
        .collect();
    c
}

fn throughput_chart(s: &Summary, rows: &[Row], canvas: &Canvas) -> Chart<'static> {
    let mut c = Chart::new(
        canvas.file(crate::results::files::THROUGHPUT_PNG),
        "Throughput and errors over time",
        ("time since start (s)", Unit::Seconds),
        ("requests per second", Unit::Count),
    );
    if s.target_rate.is_some() {
        c.lines.push(Line {
            label: "target".into(),
            points: series(rows, |r| Some(r.target_rate)),
        });
    }
    c.lines.push(Line {
        label: "achieved (sent)".into(),
        points: series(rows, |r| Some(r.achieved_rate)),
    });
    c.lines.push(Line {
        label: "errors".into(),
        points: series(rows, |r| Some(r.errors as f64)),
    });
    c
}

/// Latency by percentile over the whole run, from the interval log.
fn spectrum_chart(log: &Log, slo_lines: Vec<Mark>, canvas: &Canvas) -> Option<Chart<'static>> {
    let mut merged = crate::metrics::new_histogram();
    for h in &log.latency.all {
        h.add_to(&mut merged).ok()?;
    }
    if merged.is_empty() {
        return None;
    }
    let points: Vec<(f64, f64)> = (0..=100)
        .map(|k| {
            let q = if k == 0 {
                0.0
            } else {
                1.0 - 10f64.powf(-5.0 * k as f64 / 100.0)
            };
            (
                charts::spectrum_x(q),
                merged.value_at_quantile(q) as f64 / 1000.0,
            )
        })
        .collect();
    let mut c = Chart::new(
        canvas.file(crate::results::files::SPECTRUM_PNG),
        "Latency by percentile (whole run)",
        ("percentile", Unit::Percentile),
        ("latency", Unit::Ms),
    );
    c.lines.push(Line {
        label: "latency at percentile".into(),
        points,
    });
    c.h_marks = slo_lines;
    Some(c)
}
