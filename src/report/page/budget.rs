//! An SLO's section: the budget left, burn rates, what burned most, and
//! the burn-down and daily SLI charts.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Canvas, Img};
use crate::report::charts::{Chart, Line, Mark, Unit};
use crate::report::slo::window_text;
use crate::results::slo::SloDoc;
use crate::units::fmt_count;

#[derive(Serialize)]
pub(super) struct Section {
    name: String,
    verdict: String,
    class: &'static str,
    summary: String,
    burn: Vec<BTreeMap<&'static str, String>>,
    incidents: Vec<BTreeMap<&'static str, String>>,
    /// What experiments would cost the budget, one sentence each.
    experiments: Vec<String>,
    charts: Vec<Img>,
}

/// Days since the epoch of `YYYY-MM-DD`, at noon.
fn day(d: &str) -> Option<f64> {
    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_hms_opt(12, 0, 0).expect("noon").and_utc().timestamp() as f64 / 86_400.0)
}

fn short(t: &str) -> String {
    t[..16.min(t.len())].replace('T', " ")
}

pub(super) fn section(s: &SloDoc, canvas: &mut Canvas) -> anyhow::Result<Section> {
    let b = &s.budget;
    let spent = b.remaining <= 0.0;
    canvas.card(
        "error budget left".into(),
        format!("{:.1} %", 100.0 * b.remaining.max(0.0)),
        format!(
            "{}: {} bad of {} allowed{}",
            s.name,
            fmt_count(b.bad),
            fmt_count(b.allowed),
            s.exhausted_at
                .as_deref()
                .filter(|_| !spent)
                .map_or(String::new(), |t| format!(
                    "; runs out {} at the current burn",
                    &t[..10.min(t.len())]
                ))
        ),
        if spent {
            "bad"
        } else if b.remaining < 0.25 {
            "warn"
        } else {
            "good"
        },
    );
    let summary = summary(s, spent);
    let burn = s
        .burn
        .iter()
        .map(|x| {
            BTreeMap::from([
                ("lookback", x.lookback.clone()),
                ("rate", x.rate.map_or("—".into(), |r| format!("{r:.2}"))),
            ])
        })
        .collect();
    let incidents = s
        .incidents
        .iter()
        .map(|i| {
            BTreeMap::from([
                ("start", short(&i.start)),
                ("end", short(&i.end)),
                ("bad", fmt_count(i.bad)),
                ("share", format!("{:.1} %", 100.0 * i.budget_share)),
                ("peak", format!("{:.1}", i.peak_burn)),
            ])
        })
        .collect();
    let charts = charts(s, canvas)?;
    Ok(Section {
        name: s.name.clone(),
        verdict: if spent {
            "spent".into()
        } else {
            format!("{:.1} % left", 100.0 * b.remaining)
        },
        class: if spent { "fail" } else { "pass" },
        summary,
        burn,
        incidents,
        experiments: s
            .experiments
            .iter()
            .map(|e| {
                format!(
                    "{}: {} bad of {} requests would spend {:.1} % of this window's budget{}.",
                    e.dir,
                    fmt_count(e.bad as f64),
                    fmt_count(e.requests as f64),
                    100.0 * e.budget_share,
                    e.remaining_share
                        .map_or(" (none is left)".into(), |r| format!(
                            ", {:.1} % of what is left",
                            100.0 * r
                        ))
                )
            })
            .collect(),
        charts,
    })
}

/// The section's sentence: objective, window, SLI, budget spent, when it
/// runs out, what would fire.
fn summary(s: &SloDoc, spent: bool) -> String {
    let b = &s.budget;
    format!(
        "{} ({}): {:.3} % good over {} from {}. Window {} to {} (now {}): SLI {}; {:.1} % of the budget spent. {}{}",
        s.name,
        s.service,
        100.0 * s.objective,
        window_text(&s.window),
        s.source,
        short(&b.window_start),
        short(&b.window_end),
        short(&s.now),
        b.sli.map_or("—".into(), |v| format!("{:.4} %", 100.0 * v)),
        100.0 * b.consumed,
        match (&s.exhausted_at, s.exhaustion_burn) {
            _ if spent => "The budget is spent.".to_string(),
            (Some(t), Some(r)) => format!(
                "At the last {}'s burn rate of {r:.2} it runs out on {}.",
                s.exhaustion_lookback,
                short(t)
            ),
            (None, Some(r)) if r > 0.0 => format!(
                "At the last {}'s burn rate of {r:.2} it outlasts the window.",
                s.exhaustion_lookback
            ),
            _ => "Nothing is burning it.".into(),
        },
        if s.firing.is_empty() {
            String::new()
        } else {
            format!(" Alerts that would fire now: {}.", s.firing.join("; "))
        }
    )
}

/// The burn-down and the daily SLI against the objective.
fn charts(s: &SloDoc, canvas: &mut Canvas) -> anyhow::Result<Vec<Img>> {
    let mut down = Chart::new(
        canvas.file(crate::results::files::BUDGET_PNG),
        "Error budget left, day by day",
        ("date", Unit::Date),
        ("budget left", Unit::Share),
    );
    down.y_from_data = true;
    down.lines.push(Line {
        label: "budget left".into(),
        points: s
            .burn_down
            .iter()
            .filter_map(|d| Some((day(&d.day)?, d.value?)))
            .collect(),
    });
    down.h_marks.push(Mark {
        label: "spent".into(),
        at: 0.0,
    });
    let mut daily = Chart::new(
        canvas.file(crate::results::files::SLI_PNG),
        "Good share per day against the objective",
        ("date", Unit::Date),
        ("good share", Unit::Share),
    );
    daily.y_from_data = true;
    daily.lines.push(Line {
        label: "SLI".into(),
        points: s
            .daily
            .iter()
            .filter_map(|d| Some((day(&d.day)?, d.value?)))
            .collect(),
    });
    daily.h_marks.push(Mark {
        label: format!("objective {:.3} %", 100.0 * s.objective),
        at: s.objective,
    });
    Ok(vec![canvas.img(&down)?, canvas.img(&daily)?])
}
