//! A concurrency sweep's section: throughput by users, measured and fitted
//! by the Universal Scalability Law.

use std::collections::BTreeMap;

use serde::Serialize;

use super::find::verdict_cell;
use super::{format_rate, opt_ms, Canvas, Img};
use crate::model::usl::Usl;
use crate::report::charts::{Chart, Line, Mark, Unit};
use crate::results::sweep::{SweepResult, UslReport};

#[derive(Serialize)]
pub(super) struct Section {
    summary: String,
    points: Vec<BTreeMap<&'static str, String>>,
    charts: Vec<Img>,
}

pub(super) fn section(sw: &SweepResult, canvas: &mut Canvas) -> anyhow::Result<Section> {
    let fit = sw
        .usl
        .as_ref()
        .map(|u| (u, Usl::new(u.sigma, u.kappa, u.lambda)));
    let points = sw
        .points
        .iter()
        .map(|p| {
            let n = f64::from(p.concurrency);
            BTreeMap::from([
                ("n", p.concurrency.to_string()),
                ("x", format_rate(p.throughput)),
                (
                    "fit",
                    fit.as_ref()
                        .map_or("—".into(), |(_, usl)| format_rate(usl.throughput_at(n))),
                ),
                ("p50", opt_ms(p.latency_ms.get("p50").copied())),
                ("p99", opt_ms(p.latency_ms.get("p99").copied())),
                ("verdict", verdict_cell(p.verdict).0),
            ])
        })
        .collect();
    let summary = match &fit {
        Some((u, _)) => {
            let peak = peak(u);
            canvas.card(
                "scalability peak".into(),
                u.peak_concurrency
                    .map_or("none".into(), |n| format!("{n:.0} users")),
                format!("σ {:.4}, κ {:.5}; {peak}", u.sigma, u.kappa),
                "",
            );
            format!(
                "USL fit: σ = {:.4} (contention), κ = {:.6} (coherency), λ = {:.2}/s per user, R² {:.4}; {peak}.",
                u.sigma, u.kappa, u.lambda, u.r_squared
            )
        }
        None => format!(
            "No USL fit: {}",
            sw.usl_error.as_deref().unwrap_or("too few points")
        ),
    };
    let mut c = Chart::new(
        canvas.file(crate::results::files::USL_PNG),
        "Throughput by concurrency with the USL fit",
        ("concurrent users (N)", Unit::Count),
        ("throughput X(N)", Unit::Rps),
    );
    let measured: Vec<(f64, f64)> = sw
        .points
        .iter()
        .map(|p| (f64::from(p.concurrency), p.throughput))
        .collect();
    let max_n = measured.iter().map(|p| p.0).fold(1.0, f64::max);
    c.markers.push(("measured".into(), measured, true));
    if let Some((u, usl)) = &fit {
        c.lines.push(Line {
            label: "USL fit".into(),
            points: (0..=200)
                .map(|i| {
                    let n = 1.0 + (max_n - 1.0) * i as f64 / 200.0;
                    (n, usl.throughput_at(n))
                })
                .collect(),
        });
        if let Some(n) = u.peak_concurrency.filter(|n| *n <= 1.5 * max_n) {
            c.v_marks.push(Mark {
                label: format!("peak N* = {n:.1}"),
                at: n,
            });
        }
    }
    Ok(Section {
        summary,
        points,
        charts: vec![canvas.img(&c)?],
    })
}

fn peak(u: &UslReport) -> String {
    match (u.peak_concurrency, u.peak_throughput) {
        (Some(n), Some(x)) => format!("peak {} at {n:.1} users", format_rate(x)),
        _ => "no peak: κ = 0".into(),
    }
}
