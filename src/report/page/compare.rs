//! A comparison's section (`compare.json`, as `ab` writes it beside its two
//! arms): the verdict, how it was judged, each metric with its interval,
//! and the warnings.

use serde::Serialize;

use super::Canvas;
use crate::compare::render;
use crate::results::compare::{Comparison, Design, Verdict};

#[derive(Serialize)]
pub(super) struct Section {
    verdict: &'static str,
    class: &'static str,
    how: String,
    rows: Vec<[String; 7]>,
    warnings: Vec<String>,
}

pub(super) fn section(c: &Comparison, canvas: &mut Canvas) -> Section {
    let (class, tone) = match c.verdict {
        Verdict::Regression => ("fail", "bad"),
        Verdict::Inconclusive => ("", "warn"),
        Verdict::Improvement | Verdict::NoSignificantChange => ("pass", "good"),
    };
    let design = match c.design {
        Design::Paired => "paired run (one schedule, arrivals to either version at random)",
        Design::Separate => "two runs",
    };
    canvas.card(
        "comparison".into(),
        c.verdict.label().into(),
        format!("{design}, judged on {}", c.judged_on.label()),
        tone,
    );
    Section {
        verdict: c.verdict.label(),
        class,
        how: format!(
            "{} vs {}: a {design}, judged on {}. {}.",
            c.baseline.path,
            c.current.path,
            c.judged_on.label(),
            c.method
        ),
        rows: c.metrics.iter().map(render::row).collect(),
        warnings: c.warnings.iter().map(|w| w.message.clone()).collect(),
    }
}
