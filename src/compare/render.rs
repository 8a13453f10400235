//! A comparison as a terminal table, Markdown for a pull-request comment,
//! and JUnit XML for CI systems (one test case per metric).

use std::fmt::Write;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::results::compare::{Comparison, MetricChange, Scope, Unit, Verdict};
use crate::units::{fmt_count, fmt_ms};

fn value(m: &MetricChange, v: Option<f64>) -> String {
    match (v, m.unit) {
        (None, _) => "—".into(),
        (Some(v), Unit::Ms) => fmt_ms(v),
        (Some(v), Unit::Rps) => format!("{} rps", fmt_count(v)),
        (Some(v), Unit::Share) => format!("{:.2} %", 100.0 * v),
    }
}

fn change(m: &MetricChange) -> String {
    let Some(c) = m.change else {
        return "—".into();
    };
    let pct = |x: f64| format!("{:+.1} %", 100.0 * x);
    // Shares change by percentage points.
    let pp = |x: f64| format!("{:+.2} pp", 100.0 * x);
    let f = if m.unit == Unit::Share { pp } else { pct };
    match m.ci {
        Some((lo, hi)) if lo.is_finite() && hi.is_finite() => {
            format!("{} [{}, {}]", f(c), f(lo), f(hi))
        }
        _ => f(c),
    }
}

fn threshold(m: &MetricChange) -> String {
    if m.unit == Unit::Share {
        format!("+{:.2} pp", 100.0 * m.threshold)
    } else {
        format!("{:.0} %", 100.0 * m.threshold)
    }
}

/// The request column: `all` for all requests; a request that is itself
/// named `all` is quoted.
fn request(m: &MetricChange) -> String {
    match m.scope {
        Scope::All => "all".into(),
        Scope::Request if m.request == "all" => "\"all\"".into(),
        Scope::Request => m.request.clone(),
    }
}

/// request, metric, baseline, current, change [CI], minimum effect, verdict.
fn cells(m: &MetricChange, markdown: bool) -> [String; 7] {
    let verdict = match m.verdict {
        Verdict::Regression if markdown => "**regression**".to_string(),
        v => v.label().to_string(),
    };
    let note = if m.note.is_empty() {
        String::new()
    } else {
        format!(" ({})", m.note)
    };
    [
        request(m),
        m.metric.to_string(),
        value(m, m.baseline),
        value(m, m.current),
        change(m),
        threshold(m),
        verdict + &note,
    ]
}

/// A metric's cells as the terminal shows them (the report's table).
pub fn row(m: &MetricChange) -> [String; 7] {
    cells(m, false)
}

fn headline(c: &Comparison) -> String {
    let n = c.regressions().count();
    match c.verdict {
        Verdict::Regression => format!(
            "REGRESSION: {n} metric{} worse beyond the minimum effect",
            if n == 1 { "" } else { "s" }
        ),
        Verdict::Improvement => "improvement, no regression".into(),
        Verdict::NoSignificantChange => "no significant change".into(),
        Verdict::Inconclusive => "inconclusive: cannot tell".into(),
    }
}

pub fn text(c: &Comparison) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "baseline: {} ({})",
        c.baseline.path, c.baseline.started_at
    );
    let _ = writeln!(o, "current:  {} ({})", c.current.path, c.current.started_at);
    let _ = writeln!(
        o,
        "\n  {:<12} {:<7} {:>11} {:>11}  {:<32} {:>9}  verdict",
        "request",
        "metric",
        "baseline",
        "current",
        format!("change [{:.0} % CI]", c.confidence * 100.0),
        "min"
    );
    for m in &c.metrics {
        let [r, n, b, x, ch, th, v] = cells(m, false);
        let _ = writeln!(o, "  {r:<12} {n:<7} {b:>11} {x:>11}  {ch:<32} {th:>9}  {v}");
    }
    for w in &c.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    let _ = writeln!(o, "\n{}", headline(c));
    o
}

pub fn markdown(c: &Comparison) -> String {
    let mut o = String::new();
    let icon = match c.verdict {
        Verdict::Regression => "🔴",
        Verdict::Improvement => "🟢",
        Verdict::NoSignificantChange => "⚪",
        Verdict::Inconclusive => "🟡",
    };
    let _ = writeln!(o, "### headroom compare: {icon} {}\n", headline(c));
    let _ = writeln!(
        o,
        "Baseline `{}` ({}), current `{}` ({}).\n",
        c.baseline.path, c.baseline.started_at, c.current.path, c.current.started_at
    );
    let _ = writeln!(
        o,
        "| request | metric | baseline | current | change [{:.0} % CI] | min effect | verdict |",
        c.confidence * 100.0
    );
    let _ = writeln!(o, "|---|---|---:|---:|---|---:|---|");
    for m in &c.metrics {
        let _ = writeln!(o, "| {} |", cells(m, true).join(" | "));
    }
    if !c.warnings.is_empty() {
        let _ = writeln!(o);
        for w in &c.warnings {
            let _ = writeln!(o, "> ⚠️ {w}");
        }
    }
    let _ = writeln!(o, "\n<sub>{}</sub>", c.method);
    o
}

/// JUnit XML: one suite, one test case per metric; a regression is a
/// failure, an inconclusive metric is skipped.
pub fn junit(c: &Comparison) -> Result<String, quick_junit::SerializeError> {
    let mut suite = TestSuite::new("headroom compare");
    for m in &c.metrics {
        let status = match m.verdict {
            Verdict::Regression => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!(
                    "{} {}: {} → {} ({}), beyond the minimum effect {}",
                    m.request,
                    m.metric,
                    value(m, m.baseline),
                    value(m, m.current),
                    change(m),
                    threshold(m)
                ));
                s.set_type("regression");
                s
            }
            Verdict::Inconclusive => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(format!("inconclusive: {}", m.note));
                s
            }
            _ => TestCaseStatus::success(),
        };
        let mut case = TestCase::new(format!("{} {}", request(m), m.metric), status);
        case.set_classname(format!("headroom.compare.{}", m.request));
        case.set_system_out(format!(
            "baseline {}, current {}, change {}, verdict {}",
            value(m, m.baseline),
            value(m, m.current),
            change(m),
            m.verdict.label()
        ));
        suite.add_test_case(case);
    }
    let mut report = Report::new("headroom");
    report.add_test_suite(suite);
    report.to_string()
}
