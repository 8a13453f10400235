//! `report.html`: one self-contained page (charts embedded as data URIs, no
//! scripts, no network) rendered with minijinja from the result files
//! alone, plus each chart as a PNG beside it.
//!
//! A directory holding `summary.json` (run), `find.json`, `sweep.json` or
//! `plan.json` gets a section for each; its immediate subdirectories are
//! searched too, so `reports/demo/` (run/, find/, sweep/, plan/) becomes one
//! page.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use super::charts::{self, Chart, Line, Mark, Unit};
use crate::metrics::hlog::ALL;
use crate::results::summary::{LatencySummary, Summary};
use crate::units::{fmt_count, fmt_money, fmt_ms};

const TEMPLATE: &str = include_str!("report.html");

#[derive(Serialize)]
struct Img {
    title: String,
    file: String,
    src: String,
    width: u32,
    height: u32,
}

#[derive(Serialize)]
struct Card {
    label: String,
    value: String,
    note: String,
    /// good, bad, warn or empty.
    tone: &'static str,
}

#[derive(Serialize, Default)]
struct RunSection {
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
    scenario_info: Option<Value>,
}

#[derive(Serialize)]
struct FindStep {
    index: usize,
    phase: String,
    target: String,
    achieved: String,
    quantiles: Vec<String>,
    errors: String,
    verdict: String,
    class: &'static str,
}

#[derive(Serialize)]
struct FindSection {
    reason: String,
    quantiles: Vec<String>,
    steps: Vec<FindStep>,
    charts: Vec<Img>,
}

#[derive(Serialize)]
struct SweepSection {
    summary: String,
    points: Vec<BTreeMap<&'static str, String>>,
    charts: Vec<Img>,
}

#[derive(Serialize)]
struct StressSection {
    summary: String,
    verdict: String,
    class: &'static str,
    phases: Vec<BTreeMap<&'static str, String>>,
    charts: Vec<Img>,
}

#[derive(Serialize)]
struct PlanSection {
    name: String,
    summary: String,
    fleet_type: String,
    capacity: Vec<BTreeMap<&'static str, String>>,
    months: Vec<BTreeMap<&'static str, String>>,
    charts: Vec<Img>,
}

#[derive(Serialize)]
struct Context_ {
    title: String,
    tool_version: String,
    host: String,
    generated_at: String,
    cards: Vec<Card>,
    runs: Vec<RunSection>,
    finds: Vec<FindSection>,
    sweeps: Vec<SweepSection>,
    stresses: Vec<StressSection>,
    plans: Vec<PlanSection>,
}

/// What was found to report on.
#[derive(Default)]
struct Found {
    runs: Vec<PathBuf>,
    finds: Vec<PathBuf>,
    sweeps: Vec<PathBuf>,
    stresses: Vec<PathBuf>,
    plans: Vec<PathBuf>,
}

fn discover(dir: &Path) -> Found {
    let mut found = Found::default();
    let mut dirs = vec![dir.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut subs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        subs.sort();
        dirs.extend(subs);
    }
    for d in dirs {
        if d.join("summary.json").exists() {
            found.runs.push(d.clone());
        }
        if d.join("find.json").exists() {
            found.finds.push(d.clone());
        }
        if d.join("sweep.json").exists() {
            found.sweeps.push(d.clone());
        }
        if d.join("stress.json").exists() {
            found.stresses.push(d.clone());
        }
        if d.join("plan.json").exists() {
            found.plans.push(d.clone());
        }
    }
    found
}

/// Renders `dir/report.html` (and the PNGs beside it) from the result files
/// in `dir` and its subdirectories. Returns the page's path.
pub fn render(dir: &Path) -> anyhow::Result<PathBuf> {
    let found = discover(dir);
    if found.runs.is_empty()
        && found.finds.is_empty()
        && found.sweeps.is_empty()
        && found.stresses.is_empty()
        && found.plans.is_empty()
    {
        return Err(crate::exit::BadInput(format!(
            "{}: no summary.json, find.json, sweep.json, stress.json or plan.json here or one level down",
            dir.display()
        ))
        .into());
    }
    let mut cx = Context_ {
        title: String::new(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        host: crate::results::scenario::hostname(),
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        cards: Vec::new(),
        runs: Vec::new(),
        finds: Vec::new(),
        sweeps: Vec::new(),
        stresses: Vec::new(),
        plans: Vec::new(),
    };
    let many = found.runs.len()
        + found.finds.len()
        + found.sweeps.len()
        + found.stresses.len()
        + found.plans.len()
        > 1;
    // Charts of a subdirectory's part are prefixed with its name
    // (run-latency.png), unless the name says it already (find.png).
    let prefix = |d: &Path, name: &str| -> String {
        let sub = d
            .file_name()
            .map_or(String::new(), |s| s.to_string_lossy().into_owned());
        if many && d != dir && !name.starts_with(&format!("{sub}.")) {
            format!("{sub}-{name}")
        } else {
            name.to_string()
        }
    };
    for d in &found.runs {
        let r = run_section(d, dir, &|n| prefix(d, n), &mut cx.cards)?;
        if cx.title.is_empty() {
            cx.title = r.scenario.clone();
        }
        cx.runs.push(r);
    }
    for d in &found.finds {
        cx.finds
            .push(find_section(d, dir, &|n| prefix(d, n), &mut cx.cards)?);
    }
    for d in &found.sweeps {
        cx.sweeps
            .push(sweep_section(d, dir, &|n| prefix(d, n), &mut cx.cards)?);
    }
    for d in &found.stresses {
        cx.stresses
            .push(stress_section(d, dir, &|n| prefix(d, n), &mut cx.cards)?);
    }
    for d in &found.plans {
        let p = plan_section(d, dir, &|n| prefix(d, n), &mut cx.cards)?;
        if cx.title.is_empty() {
            cx.title = format!("Capacity plan: {}", p.name);
        }
        cx.plans.push(p);
    }
    if cx.title.is_empty() {
        cx.title = "headroom report".into();
    }
    let html = render_html(&cx)?;
    let path = dir.join("report.html");
    std::fs::write(&path, html).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn render_html(cx: &Context_) -> anyhow::Result<String> {
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE)?;
    Ok(env
        .get_template("report.html")?
        .render(minijinja::value::Serde(cx))?)
}

fn img(chart: &Chart, out: &Path) -> anyhow::Result<Img> {
    let bytes = chart.draw(out)?;
    Ok(Img {
        title: chart.title.to_string(),
        file: chart.file.clone(),
        src: format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
        width: charts::WIDTH,
        height: charts::HEIGHT,
    })
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or("—".into(), fmt_ms)
}

fn lat_row(
    name: &str,
    requests: u64,
    ok: u64,
    errors: u64,
    l: Option<&LatencySummary>,
) -> BTreeMap<&'static str, String> {
    let mut m = BTreeMap::new();
    m.insert("name", name.to_string());
    m.insert("requests", requests.to_string());
    m.insert("ok", ok.to_string());
    m.insert("errors", errors.to_string());
    m.insert("mean", opt_ms(l.map(|l| l.mean)));
    m.insert("p50", opt_ms(l.map(|l| l.p50)));
    m.insert("p90", opt_ms(l.map(|l| l.p90)));
    m.insert("p99", opt_ms(l.map(|l| l.p99)));
    m.insert("p999", opt_ms(l.map(|l| l.p999)));
    m.insert("max", opt_ms(l.map(|l| l.max)));
    m
}

fn run_section(
    d: &Path,
    out: &Path,
    name: &dyn Fn(&str) -> String,
    cards: &mut Vec<Card>,
) -> anyhow::Result<RunSection> {
    let s: Summary = crate::results::summary::read(&d.join("summary.json"))?;
    let mut r = RunSection {
        scenario: s.scenario.clone(),
        target: s.target.clone(),
        started_at: s.started_at.clone(),
        tool_version: s.tool.version.clone(),
        ..RunSection::default()
    };
    r.load = match (s.target_rate, s.concurrency) {
        (Some(t), _) => format!(
            "open model, {} arrivals at {} rps for {:.1} s (achieved {} rps)",
            s.arrivals.as_deref().unwrap_or("uniform"),
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
    };
    r.notes = s.target_unusable.iter().cloned().collect();
    r.notes.extend(s.generator_notes.iter().cloned());
    r.notes.extend(s.warnings.iter().cloned());
    if s.interrupted {
        r.notes
            .push("The run was interrupted; these are the results up to the stop.".into());
    }
    if let Some(a) = &s.aborted {
        r.notes
            .push(format!("Aborted early (--abort-on-fail): {a}"));
    }
    let mut slo_lines = Vec::new();
    for v in &s.slo {
        let (op, th, me) = match v.name.as_str() {
            "errors" => (
                "≤",
                format!("{:.2} %", 100.0 * v.threshold),
                v.measured.map(|m| format!("{:.2} %", 100.0 * m)),
            ),
            "min_rate" => (
                "≥",
                format!("{} rps", fmt_count(v.threshold)),
                v.measured.map(|m| format!("{} rps", fmt_count(m))),
            ),
            _ => {
                if v.request.is_none() {
                    slo_lines.push(Mark {
                        label: format!("SLO {} ≤ {}", v.name, fmt_ms(v.threshold)),
                        at: v.threshold,
                    });
                }
                ("≤", fmt_ms(v.threshold), v.measured.map(fmt_ms))
            }
        };
        let (verdict, class) = match v.pass {
            Some(true) => ("met", "pass"),
            Some(false) => ("FAILED", "fail"),
            None => ("no data", "none"),
        };
        let mut row = BTreeMap::new();
        row.insert(
            "name",
            match &v.request {
                Some(q) => format!("{q}: {}", v.name),
                None => v.name.clone(),
            },
        );
        row.insert("op", op.to_string());
        row.insert("threshold", th);
        row.insert("measured", me.unwrap_or_else(|| "—".into()));
        row.insert("verdict", verdict.to_string());
        row.insert("class", class.to_string());
        r.slo.push(row);
    }
    let rq = &s.requests;
    r.percentiles.push(lat_row(
        ALL,
        rq.total,
        rq.ok,
        rq.errors.total,
        s.latency_ms.as_ref(),
    ));
    if s.per_request.len() > 1 {
        for p in &s.per_request {
            r.percentiles.push(lat_row(
                &p.name,
                p.requests.total,
                p.requests.ok,
                p.requests.errors.total,
                p.latency_ms.as_ref(),
            ));
        }
    }
    r.errors = rq
        .errors
        .by_kind
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    r.scenario_info = read_json(&d.join("scenario.json")).ok();

    // Headline: the SLO verdict.
    let failed = s.slo_failed();
    let (value, tone) = if s.target_unusable.is_some() {
        ("target unusable", "bad")
    } else if s.generator_limited || s.interrupted {
        ("inconclusive", "warn")
    } else if s.slo.is_empty() {
        ("no SLO set", "")
    } else if failed {
        ("SLO failed", "bad")
    } else {
        ("SLO met", "good")
    };
    cards.push(Card {
        label: format!("run · {}", s.scenario),
        value: value.into(),
        note: s.latency_ms.as_ref().map_or(String::new(), |l| {
            format!(
                "p99 {} at {} rps",
                fmt_ms(l.p99),
                fmt_count(s.achieved_rate)
            )
        }),
        tone,
    });

    // Charts from the time series and the interval log.
    let rows = time_series(d)?;
    if !rows.is_empty() {
        let col = |i: usize| -> Vec<(f64, f64)> {
            rows.iter()
                .filter_map(|r| r[i].map(|v| (r[0].unwrap_or(0.0), v)))
                .collect()
        };
        let mut c = Chart::new(
            name("latency.png"),
            "Latency over time",
            ("time since start (s)", Unit::Seconds),
            ("latency per second", Unit::Ms),
        );
        for (label, i) in [("p50", 5), ("p90", 6), ("p99", 7), ("max", 8)] {
            c.lines.push(Line {
                label: label.into(),
                points: col(i),
            });
        }
        c.h_marks = slo_lines
            .iter()
            .map(|m| Mark {
                label: m.label.clone(),
                at: m.at,
            })
            .collect();
        r.charts.push(img(&c, out)?);
        let mut c = Chart::new(
            name("throughput.png"),
            "Throughput and errors over time",
            ("time since start (s)", Unit::Seconds),
            ("requests per second", Unit::Count),
        );
        if s.target_rate.is_some() {
            c.lines.push(Line {
                label: "target".into(),
                points: col(1),
            });
        }
        c.lines.push(Line {
            label: "achieved (sent)".into(),
            points: col(2),
        });
        c.lines.push(Line {
            label: "errors".into(),
            points: col(4),
        });
        r.charts.push(img(&c, out)?);
    }
    if let Ok(bytes) = std::fs::read(d.join("latency.hlog")) {
        if let Ok(ivs) = crate::metrics::hlog::read(&bytes) {
            if let Some(all) = ivs.get(ALL) {
                let mut merged = crate::metrics::new_histogram();
                for h in all {
                    merged.add(h).map_err(|e| anyhow::anyhow!("{e:?}"))?;
                }
                if !merged.is_empty() {
                    let points: Vec<(f64, f64)> = (0..=100)
                        .map(|k| {
                            let q = 1.0 - 10f64.powf(-5.0 * k as f64 / 100.0);
                            let q = if k == 0 { 0.0 } else { q };
                            (
                                charts::spectrum_x(q),
                                merged.value_at_quantile(q) as f64 / 1000.0,
                            )
                        })
                        .collect();
                    let mut c = Chart::new(
                        name("spectrum.png"),
                        "Latency by percentile (whole run)",
                        ("percentile", Unit::Percentile),
                        ("latency", Unit::Ms),
                    );
                    c.lines.push(Line {
                        label: "latency at percentile".into(),
                        points,
                    });
                    c.h_marks = slo_lines;
                    r.charts.push(img(&c, out)?);
                }
            }
        }
    }
    Ok(r)
}

/// Rows of the per-second time series: second, target, achieved, ok,
/// errors, p50, p90, p99, max.
fn time_series(d: &Path) -> anyhow::Result<Vec<Vec<Option<f64>>>> {
    if let Some(path) = super::timeseries::find(d) {
        let t = crate::input::table::Table::read(&path)?;
        let cols = [
            "second",
            "target_rate",
            "achieved_rate",
            "ok",
            "errors",
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "max_ms",
        ];
        let mut data = Vec::new();
        for c in cols {
            let cells: Vec<Option<f64>> = match t.cells(c)? {
                crate::input::table::Cells::Number(v) => v,
                crate::input::table::Cells::Text(v) => v
                    .into_iter()
                    .map(|x| x.and_then(|s| s.trim().parse().ok()))
                    .collect(),
                crate::input::table::Cells::Instant(..) => vec![None; t.len()],
            };
            data.push(cells);
        }
        return Ok((0..t.len())
            .map(|i| data.iter().map(|c| c[i]).collect())
            .collect());
    }
    Ok(Vec::new())
}

fn f(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn find_section(
    d: &Path,
    out: &Path,
    name: &dyn Fn(&str) -> String,
    cards: &mut Vec<Card>,
) -> anyhow::Result<FindSection> {
    let j = read_json(&d.join("find.json"))?;
    let slo: Vec<(String, f64)> = j["slo"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["name"] != "errors")
        .filter_map(|l| Some((l["name"].as_str()?.to_string(), f(&l["threshold"])?)))
        .collect();
    let mut quantiles: Vec<String> = slo.iter().map(|(n, _)| n.clone()).collect();
    if quantiles.is_empty() {
        quantiles.push("p99".into());
    }
    let steps_v: Vec<&Value> = j["steps"].as_array().into_iter().flatten().collect();
    let steps = steps_v
        .iter()
        .map(|s| {
            let verdict = s["verdict"].as_str().unwrap_or("").to_string();
            FindStep {
                index: s["index"].as_u64().unwrap_or(0) as usize,
                phase: s["phase"].as_str().unwrap_or("").into(),
                target: format!("{} rps", fmt_count(f(&s["target_rate"]).unwrap_or(0.0))),
                achieved: format!("{} rps", fmt_count(f(&s["achieved_rate"]).unwrap_or(0.0))),
                quantiles: quantiles
                    .iter()
                    .map(|q| opt_ms(f(&s["quantiles_ms"][q])))
                    .collect(),
                errors: f(&s["error_share"])
                    .map_or("—".into(), |e| format!("{:.2} %", 100.0 * e)),
                class: match verdict.as_str() {
                    "pass" => "pass",
                    "fail" => "fail",
                    _ => "none",
                },
                verdict: verdict.replace('_', " "),
            }
        })
        .collect();
    let sustainable = f(&j["sustainable_rps"]);
    let breaking = f(&j["breaking_rps"]);
    cards.push(Card {
        label: "breaking point".into(),
        value: sustainable.map_or_else(
            || j["outcome"].as_str().unwrap_or("—").replace('_', " "),
            |r| format!("{} rps", fmt_count(r)),
        ),
        note: breaking.map_or(String::new(), |b| {
            format!("sustainable within the SLO; {} rps was not", fmt_count(b))
        }),
        tone: if sustainable.is_some() {
            "good"
        } else {
            "warn"
        },
    });
    let mut c = Chart::new(
        name("find.png"),
        "Rate–latency curve of the breaking-point search",
        ("target rate", Unit::Rps),
        ("latency of the step", Unit::Ms),
    );
    for q in &quantiles {
        let mut pts: Vec<(f64, f64)> = steps_v
            .iter()
            .filter_map(|s| Some((f(&s["target_rate"])?, f(&s["quantiles_ms"][q])?)))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        c.lines.push(Line {
            label: q.clone(),
            points: pts,
        });
    }
    let marker_q = quantiles.last().cloned().unwrap_or_default();
    for (label, want, filled) in [("passed", "pass", true), ("failed", "fail", false)] {
        let pts: Vec<(f64, f64)> = steps_v
            .iter()
            .filter(|s| s["verdict"] == want)
            .filter_map(|s| Some((f(&s["target_rate"])?, f(&s["quantiles_ms"][&marker_q])?)))
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
    if let Some(b) = breaking {
        c.v_marks.push(Mark {
            label: format!("breaking point {} rps", fmt_count(b)),
            at: b,
        });
    }
    if let Some(s) = sustainable {
        c.v_marks.push(Mark {
            label: format!("sustainable {} rps", fmt_count(s)),
            at: s,
        });
    }
    Ok(FindSection {
        reason: j["reason"].as_str().unwrap_or("").into(),
        quantiles,
        steps,
        charts: vec![img(&c, out)?],
    })
}

fn usl_x(n: f64, sigma: f64, kappa: f64, lambda: f64) -> f64 {
    crate::model::usl::Usl::new(sigma, kappa, lambda).throughput_at(n)
}

fn sweep_section(
    d: &Path,
    out: &Path,
    name: &dyn Fn(&str) -> String,
    cards: &mut Vec<Card>,
) -> anyhow::Result<SweepSection> {
    let j = read_json(&d.join("sweep.json"))?;
    let u = &j["usl"];
    let params = (f(&u["sigma"]), f(&u["kappa"]), f(&u["lambda"]));
    let pts: Vec<(f64, f64)> = j["points"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((f(&p["concurrency"])?, f(&p["throughput"])?)))
        .collect();
    let points = j["points"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let n = f(&p["concurrency"]).unwrap_or(0.0);
            let mut m = BTreeMap::new();
            m.insert("n", format!("{n:.0}"));
            m.insert(
                "x",
                format!("{}/s", fmt_count(f(&p["throughput"]).unwrap_or(0.0))),
            );
            m.insert(
                "fit",
                match params {
                    (Some(s), Some(k), Some(l)) => format!("{}/s", fmt_count(usl_x(n, s, k, l))),
                    _ => "—".into(),
                },
            );
            m.insert("p50", opt_ms(f(&p["latency_ms"]["p50"])));
            m.insert("p99", opt_ms(f(&p["latency_ms"]["p99"])));
            m.insert(
                "verdict",
                p["verdict"].as_str().unwrap_or("").replace('_', " "),
            );
            m
        })
        .collect();
    let summary = match params {
        (Some(s), Some(k), Some(l)) => {
            let peak = match (f(&u["peak_concurrency"]), f(&u["peak_throughput"])) {
                (Some(n), Some(x)) => format!("peak {} at {n:.1} users", format_rate(x)),
                _ => "no peak: κ = 0".into(),
            };
            cards.push(Card {
                label: "scalability peak".into(),
                value: f(&u["peak_concurrency"]).map_or("none".into(), |n| format!("{n:.0} users")),
                note: format!("σ {s:.4}, κ {k:.5}; {peak}"),
                tone: "",
            });
            format!(
                "USL fit: σ = {s:.4} (contention), κ = {k:.6} (coherency), λ = {l:.2}/s per user, R² {:.4}; {peak}.",
                f(&u["r_squared"]).unwrap_or(f64::NAN)
            )
        }
        _ => format!(
            "No USL fit: {}",
            j["usl_error"].as_str().unwrap_or("too few points")
        ),
    };
    let mut c = Chart::new(
        name("usl.png"),
        "Throughput by concurrency with the USL fit",
        ("concurrent users (N)", Unit::Count),
        ("throughput X(N)", Unit::Rps),
    );
    c.markers.push(("measured".into(), pts.clone(), true));
    if let (Some(s), Some(k), Some(l)) = params {
        let max_n = pts.iter().map(|p| p.0).fold(1.0, f64::max);
        c.lines.push(Line {
            label: "USL fit".into(),
            points: (0..=200)
                .map(|i| {
                    let n = 1.0 + (max_n - 1.0) * i as f64 / 200.0;
                    (n, usl_x(n, s, k, l))
                })
                .collect(),
        });
        if let Some(n) = f(&u["peak_concurrency"]).filter(|n| *n <= 1.5 * max_n) {
            c.v_marks.push(Mark {
                label: format!("peak N* = {n:.1}"),
                at: n,
            });
        }
    }
    Ok(SweepSection {
        summary,
        points,
        charts: vec![img(&c, out)?],
    })
}

fn stress_section(
    d: &Path,
    out: &Path,
    name: &dyn Fn(&str) -> String,
    cards: &mut Vec<Card>,
) -> anyhow::Result<StressSection> {
    use crate::results::stress::{PhaseName, StressResult, StressVerdict};
    let r: StressResult = crate::results::read_json(
        &d.join("stress.json"),
        "a headroom stress result (stress.json)",
    )?;
    let phase_name = |p: PhaseName| match p {
        PhaseName::Baseline => "baseline",
        PhaseName::Overload => "overload",
        PhaseName::Recovery => "recovery",
    };
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
    let dir_name = d
        .file_name()
        .map_or(String::new(), |s| s.to_string_lossy().into_owned());
    cards.push(Card {
        label: format!("overload · {dir_name}"),
        value: verdict.into(),
        note: format!(
            "goodput {:.0} % of {} rps at {:.1}×; {recovery}",
            100.0 * r.goodput_ratio,
            fmt_count(r.sustainable_rps),
            r.overload_rps / r.sustainable_rps
        ),
        tone,
    });
    let phases = r
        .phases
        .iter()
        .map(|p| {
            let mut m = BTreeMap::new();
            m.insert("name", phase_name(p.name).to_string());
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
    let spans: Vec<charts::Span> = r
        .phases
        .iter()
        .filter(|p| p.name != PhaseName::Baseline)
        .map(|p| (phase_name(p.name).to_string(), p.start_s, p.end_s))
        .collect();
    let series = |f: &dyn Fn(&crate::results::stress::Second) -> Option<f64>| -> Vec<(f64, f64)> {
        r.seconds
            .iter()
            .filter_map(|s| Some((s.t as f64 + 0.5, f(s)?)))
            .collect()
    };
    let mut load = Chart::new(
        name("overload-goodput.png"),
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
        name("overload-latency.png"),
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
        .filter(|l| l.name != "errors")
        .map(|l| Mark {
            label: format!("SLO {} ≤ {}", l.name, fmt_ms(l.threshold)),
            at: l.threshold,
        })
        .collect();
    Ok(StressSection {
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
        charts: vec![img(&load, out)?, img(&lat, out)?],
    })
}

fn format_rate(x: f64) -> String {
    format!("{}/s", fmt_count(x))
}

/// Days since the epoch of an RFC 3339 time.
fn day(t: &str) -> Option<f64> {
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|d| d.timestamp() as f64 / 86_400.0)
}

fn plan_section(
    d: &Path,
    out: &Path,
    name: &dyn Fn(&str) -> String,
    cards: &mut Vec<Card>,
) -> anyhow::Result<PlanSection> {
    let j = read_json(&d.join("plan.json"))?;
    let forecast = read_json(&d.join("forecast.json")).ok();
    let plan_name = j["name"].as_str().unwrap_or("plan").to_string();
    let fleet_type = j["fleet"]["type"].as_str().map(str::to_string);
    let runway = &j["runway"];
    let until = runway["until"].as_str().map(str::to_string);
    if let Some(ft) = &fleet_type {
        cards.push(Card {
            label: "runway".into(),
            value: until.as_deref().map_or("whole horizon".into(), |u| {
                format!("until {}", &u[..10.min(u.len())])
            }),
            note: format!(
                "{} × {ft} serve {} rps (N+k, at the utilisation target)",
                j["fleet"]["count"],
                fmt_count(f(&runway["fleet_capacity_rps"]).unwrap_or(0.0))
            ),
            tone: if until.is_some() { "warn" } else { "good" },
        });
    }
    let periods: Vec<&Value> = j["periods"].as_array().into_iter().flatten().collect();
    if let Some(first) = periods.first() {
        let best = &first["options"][0];
        let last_best = &periods[periods.len() - 1]["options"][0];
        cards.push(Card {
            label: "monthly cost".into(),
            value: format!("{}/mo", fmt_money(f(&best["monthly_cost"]).unwrap_or(0.0))),
            note: format!(
                "{} × {} in {}; {} × {} = {}/mo by {}",
                best["instances"],
                best["type"].as_str().unwrap_or(""),
                first["month"].as_str().unwrap_or(""),
                last_best["instances"],
                last_best["type"].as_str().unwrap_or(""),
                fmt_money(f(&last_best["monthly_cost"]).unwrap_or(0.0)),
                periods[periods.len() - 1]["month"].as_str().unwrap_or("")
            ),
            tone: "",
        });
    }
    let capacity = j["capacity"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let mut m = BTreeMap::new();
            m.insert("type", c["type"].as_str().unwrap_or("").to_string());
            m.insert("rps", fmt_count(f(&c["capacity_rps"]).unwrap_or(0.0)));
            m.insert("source", c["source"].as_str().unwrap_or("").to_string());
            m.insert("hourly", fmt_money(f(&c["hourly"]).unwrap_or(0.0)));
            m
        })
        .collect();
    let months = periods
        .iter()
        .map(|p| {
            let opt = |o: &Value| {
                format!(
                    "{} × {} = {}/mo ({:.0} % at peak)",
                    o["instances"],
                    o["type"].as_str().unwrap_or(""),
                    fmt_money(f(&o["monthly_cost"]).unwrap_or(0.0)),
                    100.0 * f(&o["utilisation"]).unwrap_or(0.0)
                )
            };
            let options: Vec<&Value> = p["options"].as_array().into_iter().flatten().collect();
            let mut m = BTreeMap::new();
            m.insert("month", p["month"].as_str().unwrap_or("").to_string());
            m.insert(
                "peak",
                format!("{} rps", fmt_count(f(&p["peak_rps"]).unwrap_or(0.0))),
            );
            m.insert(
                "mean",
                format!("{} rps", fmt_count(f(&p["mean_rps"]).unwrap_or(0.0))),
            );
            m.insert(
                "fleet",
                fleet_type
                    .as_ref()
                    .and_then(|t| options.iter().find(|o| o["type"] == t.as_str()))
                    .map_or("—".into(), |o| opt(o)),
            );
            m.insert("cheapest", options.first().map_or("—".into(), |o| opt(o)));
            m.insert(
                "per_million",
                options
                    .first()
                    .and_then(|o| f(&o["cost_per_million"]))
                    .map_or("—".into(), |c| format!("${c:.4}")),
            );
            m
        })
        .collect();
    let mut charts_out = Vec::new();
    if let Some(fc) = &forecast {
        let hist: Vec<(f64, f64)> = fc["history"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| Some((day(p["t"].as_str()?)?, f(&p["value"])?)))
            .collect();
        let pts: Vec<&Value> = fc["points"].as_array().into_iter().flatten().collect();
        let get = |k: &str| -> Vec<(f64, f64)> {
            pts.iter()
                .filter_map(|p| Some((day(p["t"].as_str()?)?, f(&p[k])?)))
                .collect()
        };
        let band = |lo: &str, hi: &str| -> Vec<(f64, f64, f64)> {
            pts.iter()
                .filter_map(|p| Some((day(p["t"].as_str()?)?, f(&p[lo])?, f(&p[hi])?)))
                .collect()
        };
        let mut c = Chart::new(
            name("forecast.png"),
            "Demand: history, forecast and the current fleet",
            ("date", Unit::Date),
            ("requests per second", Unit::Rps),
        );
        c.bands.push(("95 % interval".into(), band("lo95", "hi95")));
        c.bands.push(("80 % interval".into(), band("lo80", "hi80")));
        c.lines.push(Line {
            label: format!("history ({})", fc["step"].as_str().unwrap_or("")),
            points: hist,
        });
        c.lines.push(Line {
            label: "forecast".into(),
            points: get("mean"),
        });
        if let Some(cap) = f(&runway["fleet_capacity_rps"]) {
            c.h_marks.push(Mark {
                label: format!("current fleet {} rps", fmt_count(cap)),
                at: cap,
            });
        }
        if let Some(t) = until.as_deref().and_then(day) {
            c.v_marks.push(Mark {
                label: format!("runway ends {}", &until.as_deref().unwrap_or("")[..10]),
                at: t,
            });
        }
        charts_out.push(img(&c, out)?);
    }
    let mut c = Chart::new(
        name("cost-curve.png"),
        "Monthly cost by peak demand, per instance type",
        ("peak demand", Unit::Rps),
        ("cost per month", Unit::Money),
    );
    c.steps = true;
    for curve in j["cost_curves"].as_array().into_iter().flatten() {
        c.lines.push(Line {
            label: curve["type"].as_str().unwrap_or("").into(),
            points: curve["points"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| Some((f(&p["demand_rps"])?, f(&p["monthly_cost"])?)))
                .collect(),
        });
    }
    charts_out.push(img(&c, out)?);
    let mut c = Chart::new(
        name("monthly-cost.png"),
        "Monthly cost per instance type",
        ("month", Unit::Month),
        ("cost per month", Unit::Money),
    );
    let mut by_type: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for p in &periods {
        let Some(t) = p["month"]
            .as_str()
            .and_then(|m| day(&format!("{m}-01T00:00:00Z")))
        else {
            continue;
        };
        for o in p["options"].as_array().into_iter().flatten() {
            if let (Some(ty), Some(cost)) = (o["type"].as_str(), f(&o["monthly_cost"])) {
                by_type.entry(ty.to_string()).or_default().push((t, cost));
            }
        }
    }
    c.steps = true;
    for (ty, mut pts) in by_type {
        // The last month's stair gets its width too.
        if let Some(&(t, cost)) = pts.last() {
            pts.push((t + 30.44, cost));
        }
        c.lines.push(Line {
            label: ty,
            points: pts,
        });
    }
    charts_out.push(img(&c, out)?);
    let cheapest = &j["cheapest"];
    let summary = format!(
        "{} ahead, sized for the {} forecast bound ({}), at most {:.0} % of measured capacity per instance, N+{}. {}{}",
        j["horizon"].as_str().unwrap_or(""),
        j["bound"].as_str().unwrap_or(""),
        j["forecast_model"].as_str().unwrap_or(""),
        100.0 * f(&j["sizing"]["utilisation"]).unwrap_or(0.0),
        j["sizing"]["redundancy"],
        match &until {
            Some(u) => format!("The current fleet runs out on {}. ", &u[..10.min(u.len())]),
            None if fleet_type.is_some() => "The current fleet lasts the whole horizon. ".into(),
            None => String::new(),
        },
        cheapest["type"].as_str().map_or(String::new(), |t| format!(
            "Cheapest over the horizon: {t} ({} in total).",
            fmt_money(f(&cheapest["total_cost"]).unwrap_or(0.0))
        ))
    );
    Ok(PlanSection {
        name: plan_name,
        summary,
        fleet_type: fleet_type.unwrap_or_else(|| "fleet".into()),
        capacity,
        months,
        charts: charts_out,
    })
}
