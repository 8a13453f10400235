//! `report.html`: one self-contained page (charts embedded as data URIs, no
//! scripts, no network) rendered with minijinja from the result files
//! alone, plus each chart as a PNG beside it.
//!
//! A directory holding `summary.json` (run), `find.json`, `sweep.json`,
//! `stress.json`, `plan.json`, `slo.json` or `compare.json` gets a section
//! for each; its immediate
//! subdirectories are searched too, so `reports/demo/` (run/, find/,
//! sweep/, plan/ …) becomes one page. Every file is read through its type
//! (`results`): a file that lacks a field stops the report with the file
//! and the field named, never a zero on the page.

mod budget;
mod compare;
mod find;
mod plan;
mod run;
mod stress;
mod sweep;

use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine as _;
use serde::Serialize;

use super::charts::{self, Chart};
use crate::results::ResultsDir;
use crate::units::fmt_ms;

const TEMPLATE: &str = include_str!("../report.html");

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

/// What the template renders.
#[derive(Serialize)]
struct Page {
    title: String,
    tool_version: String,
    host: String,
    generated_at: String,
    cards: Vec<Card>,
    runs: Vec<run::Section>,
    finds: Vec<find::Section>,
    sweeps: Vec<sweep::Section>,
    stresses: Vec<stress::Section>,
    plans: Vec<plan::Section>,
    forecasts: Vec<plan::ForecastSection>,
    slos: Vec<budget::Section>,
    comparisons: Vec<compare::Section>,
}

/// Where a section draws its charts, and the headline cards it adds to.
struct Canvas<'a> {
    out: &'a Path,
    /// Charts of a subdirectory's part are prefixed with its name
    /// (run-latency.png), unless the name says it already (find.png).
    prefix: Option<String>,
    cards: &'a mut Vec<Card>,
}

impl Canvas<'_> {
    fn file(&self, name: &str) -> String {
        match &self.prefix {
            Some(sub) if !name.starts_with(&format!("{sub}.")) => format!("{sub}-{name}"),
            _ => name.to_string(),
        }
    }

    fn card(&mut self, label: String, value: String, note: String, tone: &'static str) {
        self.cards.push(Card {
            label,
            value,
            note,
            tone,
        });
    }

    /// Draws a chart beside the page and embeds it.
    fn img(&self, chart: &Chart) -> anyhow::Result<Img> {
        let bytes = chart.draw(self.out)?;
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
}

/// Renders `dir/report.html` (and the PNGs beside it) from the result files
/// in `dir` and its subdirectories. Returns the page's path.
pub fn render(dir: &Path) -> anyhow::Result<PathBuf> {
    if !dir.is_dir() {
        return Err(crate::error::BadInput(format!(
            "{}: no such directory (give a results directory, such as reports/demo)",
            dir.display()
        ))
        .into());
    }
    let root = ResultsDir::new(dir);
    let parts = root.with_subdirectories();
    let reportable = |d: &ResultsDir| {
        [
            crate::results::files::SUMMARY,
            crate::results::files::FIND,
            crate::results::files::SWEEP,
            crate::results::files::STRESS,
            crate::results::files::PLAN,
            crate::results::files::SLO,
            crate::results::files::COMPARE,
        ]
        .iter()
        .filter(|f| d.has(f))
        .count()
            // A plan's forecast is part of the plan's section.
            + usize::from(
                d.has(crate::results::files::FORECAST) && !d.has(crate::results::files::PLAN),
            )
    };
    let count: usize = parts.iter().map(reportable).sum();
    if count == 0 {
        return Err(crate::error::BadInput(format!(
            "{}: no summary.json, find.json, sweep.json, stress.json, plan.json, forecast.json, slo.json or compare.json here or one level down",
            dir.display()
        ))
        .into());
    }
    let mut page = Page {
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
        forecasts: Vec::new(),
        slos: Vec::new(),
        comparisons: Vec::new(),
    };
    // Sections by kind (runs, searches, sweeps, stress tests, plans), each
    // kind in directory order.
    for part in &parts {
        let mut canvas = canvas(dir, part, count > 1, &mut page.cards);
        if let Some(s) = part.summary()? {
            let latency = part.latency_of_all()?;
            let r = run::section(&s, part, latency.as_ref(), &mut canvas)?;
            if page.title.is_empty() {
                page.title = s.scenario.clone();
            }
            page.runs.push(r);
        }
    }
    for part in &parts {
        let mut canvas = canvas(dir, part, count > 1, &mut page.cards);
        if let Some(f) = part.find()? {
            page.finds.push(find::section(&f, &mut canvas)?);
        }
    }
    for part in &parts {
        let mut canvas = canvas(dir, part, count > 1, &mut page.cards);
        if let Some(s) = part.sweep()? {
            page.sweeps.push(sweep::section(&s, &mut canvas)?);
        }
    }
    for part in &parts {
        let mut canvas = canvas(dir, part, count > 1, &mut page.cards);
        if let Some(s) = part.stress()? {
            let name = part
                .path()
                .file_name()
                .map_or(String::new(), |s| s.to_string_lossy().into_owned());
            page.stresses.push(stress::section(&s, &name, &mut canvas)?);
        }
    }
    for part in &parts {
        let mut canvas = canvas(dir, part, count > 1, &mut page.cards);
        if let Some(p) = part.plan()? {
            let forecast = part.forecast()?;
            let section = plan::section(&p, forecast.as_ref(), &mut canvas)?;
            if page.title.is_empty() {
                page.title = format!("Capacity plan: {}", p.name);
            }
            page.plans.push(section);
        } else if let Some(fc) = part.forecast()? {
            // A forecast on its own (`forecast --out`).
            let section = plan::forecast_section(&fc, part.backtest()?.as_ref(), &mut canvas)?;
            if page.title.is_empty() {
                page.title = format!("Demand forecast: {}", fc.source);
            }
            page.forecasts.push(section);
        }
    }
    for part in &parts {
        let mut canvas = canvas(dir, part, count > 1, &mut page.cards);
        if let Some(s) = part.slo()? {
            if page.title.is_empty() {
                page.title = format!("Error budget: {}", s.name);
            }
            page.slos.push(budget::section(&s, &mut canvas)?);
        }
    }
    for part in &parts {
        let mut canvas = canvas(dir, part, count > 1, &mut page.cards);
        if let Some(c) = part.comparison()? {
            page.comparisons.push(compare::section(&c, &mut canvas));
        }
    }
    if page.title.is_empty() {
        page.title = "headroom report".into();
    }
    let html = render_html(&page)?;
    let path = dir.join(crate::results::files::REPORT);
    std::fs::write(&path, html).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn canvas<'a>(
    out: &'a Path,
    part: &ResultsDir,
    many: bool,
    cards: &'a mut Vec<Card>,
) -> Canvas<'a> {
    let prefix = (many && part.path() != out).then(|| {
        part.path()
            .file_name()
            .map_or(String::new(), |s| s.to_string_lossy().into_owned())
    });
    Canvas { out, prefix, cards }
}

fn render_html(page: &Page) -> anyhow::Result<String> {
    let mut env = minijinja::Environment::new();
    // The name's .html turns on minijinja's HTML escaping.
    env.add_template("page.html", TEMPLATE)?;
    Ok(env
        .get_template("page.html")?
        .render(minijinja::value::Serde(page))?)
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or("—".into(), fmt_ms)
}

fn format_rate(x: f64) -> String {
    format!("{}/s", crate::units::fmt_count(x))
}
