//! A stress test's section: the phases, goodput and latency second by
//! second with the phases shaded, and the verdict.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{format_rate, opt_ms, Canvas, Img};
use crate::report::charts::{Chart, Line, Mark, Span, Unit};
use crate::results::stress::{PhaseName, Second, StressResult, StressVerdict};
use crate::results::summary::SloName;
use crate::units::{fmt_count, fmt_ms};

#[derive(Serialize)]
pub(super) struct Section {
    summary: String,
    verdict: String,
    class: &'static str,
    phases: Vec<BTreeMap<&'static str, String>>,
    charts: Vec<Img>,
}

pub(super) fn section(
    r: &StressResult,
    dir_name: &str,
    canvas: &mut Canvas,
) -> anyhow::Result<Section> {
    let (verdict, class, tone) = match r.verdict {
        StressVerdict::Graceful => ("graceful", "pass", "good"),
        StressVerdict::Degraded => ("degraded", "fail", "warn"),
        StressVerdict::Collapse => ("collapse", "fail", "bad"),
        StressVerdict::Inconclusive => ("inconclusive", "none", "warn"),
    };
    let recovery = r
        .recovery_s
        .map_or("no recovery within the bound".into(), |s| {
            format!("recovered in {s:.0} s")
        });
    canvas.card(
        format!("overload · {dir_name}"),
        verdict.into(),
        format!(
            "goodput {:.0} % of {} rps at {:.1}×; {recovery}",
            100.0 * r.goodput_ratio,
            fmt_count(r.sustainable_rps),
            r.overload_rps / r.sustainable_rps
        ),
        tone,
    );
    let phases = r
        .phases
        .iter()
        .map(|p| {
            let mut m = BTreeMap::new();
            m.insert("name", p.name.label().to_string());
            m.insert("span", format!("{:.0}–{:.0} s", p.start_s, p.end_s));
            m.insert("offered", format_rate(p.offered_rps));
            m.insert("goodput", format_rate(p.goodput_rps));
            m.insert("p99", opt_ms(p.p99_ms));
            m.insert("errors", p.errors.to_string());
            m.insert("refused", p.refused.to_string());
            m.insert("late", p.late.to_string());
            m
        })
        .collect();
    let charts = charts(r, canvas)?;
    Ok(Section {
        summary: format!(
            "{}. Sustainable rate {} rps ({}); baseline {} rps, overload {} rps. Bad requests (errors and answers later than {}): {} ({:.2} % of the run).",
            r.reason,
            fmt_count(r.sustainable_rps),
            r.capacity_from,
            fmt_count(r.baseline_rps),
            fmt_count(r.overload_rps),
            r.good_latency_ms.map_or("the SLO".into(), fmt_ms),
            r.bad_requests,
            100.0 * r.bad_share
        ),
        verdict: verdict.into(),
        class,
        phases,
        charts,
    })
}

/// Offered load and goodput, and latency, second by second, with the
/// phases shaded and the recovery marked.
fn charts(r: &StressResult, canvas: &mut Canvas) -> anyhow::Result<Vec<Img>> {
    let spans: Vec<Span> = r
        .phases
        .iter()
        .filter(|p| p.name != PhaseName::Baseline)
        .map(|p| (p.name.label().to_string(), p.start_s, p.end_s))
        .collect();
    let series = |f: &dyn Fn(&Second) -> Option<f64>| -> Vec<(f64, f64)> {
        r.seconds
            .iter()
            .filter_map(|s| Some((s.t as f64 + 0.5, f(s)?)))
            .collect()
    };
    let mut load = Chart::new(
        canvas.file(crate::results::files::GOODPUT_PNG),
        "Offered load and goodput, second by second",
        ("seconds into the run", Unit::Seconds),
        ("requests per second", Unit::Rps),
    );
    load.spans = spans.clone();
    for (label, points) in [
        ("offered", series(&|s| Some(s.offered as f64))),
        (
            "goodput (ok within the SLO)",
            series(&|s| Some(s.good as f64)),
        ),
        ("errors", series(&|s| Some(s.errors as f64))),
    ] {
        load.lines.push(Line {
            label: label.into(),
            points,
        });
    }
    load.h_marks.push(Mark {
        label: format!("sustainable {} rps", fmt_count(r.sustainable_rps)),
        at: r.sustainable_rps,
    });
    let mut lat = Chart::new(
        canvas.file(crate::results::files::OVERLOAD_LATENCY_PNG),
        "Latency from the intended send time, second by second",
        ("seconds into the run", Unit::Seconds),
        ("latency", Unit::Ms),
    );
    lat.spans = spans;
    let recovered = r.recovery_s.and_then(|s| {
        let end = r
            .phases
            .iter()
            .find(|p| p.name == PhaseName::Overload)?
            .end_s;
        Some(Mark {
            label: format!("SLO holds again ({s:.0} s after the overload)"),
            at: end + s,
        })
    });
    load.v_marks.extend(recovered.as_ref().map(|m| Mark {
        label: m.label.clone(),
        at: m.at,
    }));
    lat.v_marks.extend(recovered);
    for (label, points) in [
        ("p50", series(&|s| s.p50_ms)),
        ("p99", series(&|s| s.p99_ms)),
    ] {
        lat.lines.push(Line {
            label: label.into(),
            points,
        });
    }
    lat.h_marks = r
        .slo
        .iter()
        .filter(|l| l.name != SloName::Errors)
        .map(|l| Mark {
            label: format!("SLO {} ≤ {}", l.name.label(), fmt_ms(l.threshold)),
            at: l.threshold,
        })
        .collect();
    Ok(vec![canvas.img(&load)?, canvas.img(&lat)?])
}
