//! A breaking-point search's section: every step, and the rate–latency
//! curve with the SLO and the answer marked.

use serde::Serialize;

use super::{opt_ms, Canvas, Img};
use crate::report::charts::{Chart, Line, Mark, Unit};
use crate::results::find::{FindResult, Step};
use crate::results::summary::SloName;
use crate::results::verdict::Verdict;
use crate::units::{fmt_count, fmt_ms};

#[derive(Serialize)]
struct StepRow {
    index: usize,
    phase: &'static str,
    target: String,
    achieved: String,
    quantiles: Vec<String>,
    errors: String,
    verdict: String,
    class: &'static str,
}

#[derive(Serialize)]
pub(super) struct Section {
    reason: String,
    quantiles: Vec<String>,
    steps: Vec<StepRow>,
    charts: Vec<Img>,
}

/// A verdict in words, and its class on the page.
pub(super) fn verdict_cell(v: Verdict) -> (String, &'static str) {
    let class = match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::GeneratorLimited | Verdict::TooFewSamples => "none",
    };
    (v.label().replace('_', " "), class)
}

pub(super) fn section(f: &FindResult, canvas: &mut Canvas) -> anyhow::Result<Section> {
    let slo: Vec<(&str, f64)> = f
        .slo
        .iter()
        .filter(|l| l.name != SloName::Errors)
        .map(|l| (l.name.label(), l.threshold))
        .collect();
    let mut quantiles: Vec<String> = slo.iter().map(|(n, _)| n.to_string()).collect();
    if quantiles.is_empty() {
        quantiles.push("p99".into());
    }
    let steps = f
        .steps
        .iter()
        .map(|s| {
            let (verdict, class) = verdict_cell(s.verdict);
            StepRow {
                index: s.index,
                phase: s.phase.label(),
                target: format!("{} rps", fmt_count(s.target_rate)),
                achieved: format!("{} rps", fmt_count(s.achieved_rate)),
                quantiles: quantiles
                    .iter()
                    .map(|q| opt_ms(s.quantiles_ms.get(q).copied()))
                    .collect(),
                errors: s
                    .error_share
                    .map_or("—".into(), |e| format!("{:.2} %", 100.0 * e)),
                verdict,
                class,
            }
        })
        .collect();
    let value = f.sustainable_rps.map_or_else(
        || f.outcome.label().replace('_', " "),
        |r| format!("{} rps", fmt_count(r)),
    );
    let note = f.breaking_rps.map_or(String::new(), |b| {
        format!("sustainable within the SLO; {} rps was not", fmt_count(b))
    });
    let tone = if f.sustainable_rps.is_some() {
        "good"
    } else {
        "warn"
    };
    canvas.card("breaking point".into(), value, note, tone);
    let chart = curve(f, &slo, &quantiles, canvas);
    Ok(Section {
        reason: f.reason.clone(),
        quantiles,
        steps,
        charts: vec![canvas.img(&chart)?],
    })
}

/// Each SLO quantile by target rate, passed and failed steps marked, the
/// SLO lines and the answer.
fn curve(
    f: &FindResult,
    slo: &[(&str, f64)],
    quantiles: &[String],
    canvas: &Canvas,
) -> Chart<'static> {
    let mut c = Chart::new(
        canvas.file(crate::results::files::FIND_PNG),
        "Rate–latency curve of the breaking-point search",
        ("target rate", Unit::Rps),
        ("latency of the step", Unit::Ms),
    );
    let at = |s: &Step, q: &str| s.quantiles_ms.get(q).map(|&v| (s.target_rate, v));
    for q in quantiles {
        let mut pts: Vec<(f64, f64)> = f.steps.iter().filter_map(|s| at(s, q)).collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        c.lines.push(Line {
            label: q.clone(),
            points: pts,
        });
    }
    let marker_q = quantiles.last().cloned().unwrap_or_default();
    for (label, want, filled) in [
        ("passed", Verdict::Pass, true),
        ("failed", Verdict::Fail, false),
    ] {
        let pts: Vec<(f64, f64)> = f
            .steps
            .iter()
            .filter(|s| s.verdict == want)
            .filter_map(|s| at(s, &marker_q))
            .collect();
        if !pts.is_empty() {
            c.markers
                .push((format!("{label} ({marker_q})"), pts, filled));
        }
    }
    c.h_marks = slo
        .iter()
        .map(|(n, t)| Mark {
            label: format!("SLO {n} ≤ {}", fmt_ms(*t)),
            at: *t,
        })
        .collect();
    if let Some(b) = f.breaking_rps {
        c.v_marks.push(Mark {
            label: format!("breaking point {} rps", fmt_count(b)),
            at: b,
        });
    }
    if let Some(s) = f.sustainable_rps {
        c.v_marks.push(Mark {
            label: format!("sustainable {} rps", fmt_count(s)),
            at: s,
        });
    }
    c
}
