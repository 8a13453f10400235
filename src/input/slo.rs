//! SLO files: one objective that the CI gate, `headroom slo report`,
//! `headroom slo rules` and `headroom plan` all read. TOML
//! (`slos/*.toml`), or OpenSLO v1 YAML read as it is written (`kind: SLO`
//! with an inline `indicator` or an `indicatorRef` to a `kind: SLI` in the
//! same file; a `ratioMetric` with Prometheus queries, or a `thresholdMetric`
//! judged by the objective's `op` and `value`; `Occurrences` or
//! `Timeslices` budgeting; a rolling or calendar `timeWindow`).
//!
//! ```toml
//! name = "checkout-availability"
//! service = "checkout"
//! objective = "99.9%"
//! window = "30d"                 # rolling; or "calendar month" (day, week, quarter, year)
//! budgeting = "occurrences"      # or "timeslices", with slice_target = "95%" and slice = "1m"
//!
//! [sli]                          # counters (selectors), or expressions with {{window}}
//! good = 'http_requests_total{job="checkout",code!~"5.."}'   # or bad = '…'
//! total = 'http_requests_total{job="checkout"}'
//! # latency = { metric = 'http_request_duration_seconds{job="checkout"}', threshold = "300ms" }
//! # threshold = { query = 'histogram_quantile(0.99, …)', op = "<=", value = 0.3 }  # slices
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::{Location, MessageFormatter, Spanned as YamlSpanned, UserMessageFormatter};
use toml::Spanned;

use crate::input::Error;
use crate::model::budget::{Budgeting, Calendar, Objective, Window};

/// A Prometheus query of events.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// A counter selector, `http_requests_total{code!~"5.."}`: summed
    /// `rate()` or `increase()` over a window.
    Counter(String),
    /// An expression of events per second over `{{window}}`.
    Rate(String),
}

impl Query {
    fn parse(text: &str) -> Result<Query, String> {
        let t = text.trim();
        if t.contains("{{window}}") || t.contains("{{.window}}") || t.contains("{{ .window }}") {
            return Ok(Query::Rate(t.to_string()));
        }
        if is_selector(t) {
            return Ok(Query::Counter(t.to_string()));
        }
        Err(format!(
            "expected a counter selector such as `http_requests_total{{code!~\"5..\"}}`, or an expression of events per second with `{{{{window}}}}` for its range; found `{t}`"
        ))
    }

    /// Events per second over `window` (a PromQL duration).
    pub fn rate(&self, window: &str) -> String {
        match self {
            Query::Counter(s) => format!("sum(rate({s}[{window}]))"),
            // Wrapped, with a newline before the closing paren: a `#
            // comment` at the expression's end ends there.
            Query::Rate(e) => format!(
                "({}\n)",
                e.replace("{{ .window }}", window)
                    .replace("{{.window}}", window)
                    .replace("{{window}}", window)
            ),
        }
    }

    /// Events in the `step` (a PromQL duration of `step_s` seconds) ending
    /// at each evaluation.
    pub fn increase(&self, step: &str, step_s: f64) -> String {
        match self {
            Query::Counter(s) => format!("sum(increase({s}[{step}]))"),
            Query::Rate(_) => format!("({}) * {step_s}", self.rate(step)),
        }
    }
}

/// `name{labels}` or `name`, nothing more.
fn is_selector(t: &str) -> bool {
    let name_end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(t.len());
    if name_end == 0 || t.as_bytes()[0].is_ascii_digit() {
        return false;
    }
    let rest = &t[name_end..];
    rest.is_empty()
        || (rest.starts_with('{')
            && rest.ends_with('}')
            && rest.matches('{').count() == 1
            && !rest.contains('\n'))
}

/// Good (or bad) and total events.
#[derive(Debug, Clone, PartialEq)]
pub struct Sli {
    pub good: Option<Query>,
    pub bad: Option<Query>,
    pub total: Query,
}

impl Sli {
    /// Bad events per second over `window`, as a share of all events.
    pub fn error_ratio(&self, window: &str) -> String {
        let total = self.total.rate(window);
        match (&self.bad, &self.good) {
            (Some(b), _) => format!("({}) / ({total})", b.rate(window)),
            (None, Some(g)) => format!("1 - (({}) / ({total}))", g.rate(window)),
            (None, None) => unreachable!("an SLI has good or bad events"),
        }
    }
}

/// A value compared with a threshold at each slice: a slice is good when
/// `query op value` holds (`p99 latency <= 0.3`).
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// PromQL giving one series (e.g. a `histogram_quantile`).
    pub query: String,
    pub op: Op,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn parse(t: &str) -> Result<Op, String> {
        match t.trim() {
            "<" | "lt" => Ok(Op::Lt),
            "<=" | "lte" => Ok(Op::Le),
            ">" | "gt" => Ok(Op::Gt),
            ">=" | "gte" => Ok(Op::Ge),
            other => Err(format!(
                "expected an operator <, <=, > or >= (lt, lte, gt, gte), found {other:?}"
            )),
        }
    }

    pub fn promql(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    pub fn holds(self, x: f64, v: f64) -> bool {
        match self {
            Op::Lt => x < v,
            Op::Le => x <= v,
            Op::Gt => x > v,
            Op::Ge => x >= v,
        }
    }
}

/// What the SLO counts: good (or bad) among all events, or slices whose
/// value meets a threshold.
#[derive(Debug, Clone, PartialEq)]
pub enum Indicator {
    Ratio(Sli),
    Threshold(Threshold),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SloFile {
    pub path: PathBuf,
    pub name: String,
    pub service: String,
    pub description: String,
    pub objective: Objective,
    pub sli: Indicator,
    /// Timeslices: the slice length in seconds.
    pub slice_s: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlo {
    name: Option<String>,
    service: Option<String>,
    description: Option<String>,
    objective: Spanned<toml::Value>,
    window: Spanned<String>,
    budgeting: Option<Spanned<String>>,
    slice_target: Option<Spanned<toml::Value>>,
    slice: Option<Spanned<String>>,
    sli: Spanned<RawSli>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSli {
    good: Option<Spanned<String>>,
    bad: Option<Spanned<String>>,
    total: Option<Spanned<String>>,
    latency: Option<Spanned<RawLatency>>,
    threshold: Option<Spanned<RawThreshold>>,
}

/// `threshold = { query = '…', op = "<=", value = 0.3 }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThreshold {
    query: String,
    op: String,
    value: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLatency {
    /// A histogram's base name with its labels.
    metric: String,
    threshold: String,
    /// The bucket's `le` label as exported, when not the threshold in
    /// seconds written the shortest way (`0.3`).
    le: Option<String>,
}

impl SloFile {
    /// A latency threshold the SLI counts as good: the `le` of a histogram
    /// bucket selector (`…_bucket{le="0.3"}`), in seconds.
    pub fn latency_threshold_s(&self) -> Option<f64> {
        let Indicator::Ratio(Sli {
            good: Some(Query::Counter(sel)),
            ..
        }) = &self.sli
        else {
            return None;
        };
        let open = sel.find('{')?;
        if !sel[..open].ends_with("_bucket") {
            return None;
        }
        // The `le` matcher itself (not `role="…"`): `le="0.3"`, or the
        // first alternative of `le=~"1|1.0"`.
        let inner = &sel[open + 1..sel.len().checked_sub(1)?];
        let value = inner.split(',').find_map(|m| {
            let m = m.trim();
            m.strip_prefix("le=~\"")
                .or_else(|| m.strip_prefix("le=\""))
                .map(|v| v.trim_end_matches('"').split('|').next().unwrap_or(""))
        })?;
        value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
    }

    /// What a load test judged by this SLO must meet: a latency SLI's
    /// objective as that quantile within its threshold (99 % within 300 ms
    /// → p99 ≤ 300 ms), any other SLI's as the error share (99.9 % →
    /// errors ≤ 0.1 %).
    pub fn run_thresholds(&self) -> (Option<LatencySlo>, Option<f64>) {
        if let Indicator::Threshold(t) = &self.sli {
            // histogram_quantile(0.99, …) <= 0.3: p99 ≤ 300 ms.
            let q = t
                .query
                .trim()
                .strip_prefix("histogram_quantile(")
                .and_then(|r| r.split(',').next())
                .and_then(|q| q.trim().parse::<f64>().ok())
                .filter(|q| *q > 0.0 && *q <= 1.0 && matches!(t.op, Op::Le | Op::Lt));
            let max = std::time::Duration::try_from_secs_f64(t.value.max(0.0)).ok();
            return (
                q.zip(max).map(|(q, max)| LatencySlo {
                    label: quantile_label(q),
                    quantile: q,
                    max,
                }),
                None,
            );
        }
        let q = self.objective.target;
        match self.latency_threshold_s() {
            Some(s) => (
                Some(LatencySlo {
                    label: quantile_label(q),
                    quantile: q,
                    max: std::time::Duration::from_secs_f64(s),
                }),
                None,
            ),
            None => (None, Some(1.0 - q)),
        }
    }
}

/// A latency objective: the quantile within its maximum.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySlo {
    /// As written: "p99", "p999", "max".
    pub label: String,
    /// 0.99, 0.999, 1.0.
    pub quantile: f64,
    pub max: std::time::Duration,
}

/// `p99`, `p999`, `p9995`: how a scenario names the quantile `q`.
fn quantile_label(q: f64) -> String {
    let pct = format!("{:.6}", 100.0 * q);
    let pct = pct.trim_end_matches('0').trim_end_matches('.');
    format!("p{}", pct.replace('.', ""))
}

/// Reads an SLO file: OpenSLO YAML (`.yaml`, `.yml`) or TOML.
pub fn load(path: &Path) -> Result<SloFile, Error> {
    let text = std::fs::read_to_string(path).map_err(|io| Error::Read {
        path: path.to_path_buf(),
        io,
    })?;
    parse(path, &text)
}

/// An SLO file's text, read as `path`'s extension says: OpenSLO YAML
/// (`.yaml`, `.yml`) or TOML.
pub fn parse(path: &Path, text: &str) -> Result<SloFile, Error> {
    let yaml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    if yaml {
        OpenSlo { path, text }.read()
    } else {
        toml_slo(path, text)
    }
}

/// A share written `99.9%` or 0.999: above 0, and below 1 (an objective)
/// or up to 1 (`up_to_all`: a slice's target).
fn share(v: &toml::Value, up_to_all: bool) -> Result<f64, String> {
    let s = match v {
        toml::Value::String(s) => crate::units::parse_share(s)?,
        toml::Value::Float(f) => *f,
        toml::Value::Integer(i) => *i as f64,
        other => {
            return Err(format!(
                "expected a share like \"99.9%\", found {}",
                other.type_str()
            ))
        }
    };
    if !up_to_all && s > MAX_OBJECTIVE && s < 1.0 {
        return Err(too_tight(s));
    }
    match (s > 0.0 && s < 1.0) || (up_to_all && s == 1.0) {
        true => Ok(s),
        false if up_to_all => Err(format!(
            "expected a share above 0 and up to 100 %, found {s}"
        )),
        false => Err(format!(
            "expected a share between 0 and 100 % (not either), found {s}"
        )),
    }
}

/// The tightest objective read: six nines. Past it the error budget is
/// below one request in a million, which no sampled measurement resolves
/// (99.9999999999 % reported "100 % good" and "spent 78717939714.6 %").
const MAX_OBJECTIVE: f64 = 0.999_999;

fn too_tight(s: f64) -> String {
    format!(
        "an objective of {} % leaves an error budget of {:e} of all events: at most 99.9999 % (six nines) is read",
        s * 100.0,
        1.0 - s
    )
}

/// `30d`, `4w` (rolling); `calendar month`, `month` … (calendar).
fn window(text: &str) -> Result<Window, String> {
    let t = text.trim().to_ascii_lowercase();
    let cal = t.strip_prefix("calendar").map(str::trim).unwrap_or(&t);
    let calendar = match cal {
        "day" => Some(Calendar::Day),
        "week" => Some(Calendar::Week),
        "month" => Some(Calendar::Month),
        "quarter" => Some(Calendar::Quarter),
        "year" => Some(Calendar::Year),
        _ => None,
    };
    if let Some(c) = calendar {
        return Ok(Window::Calendar(c));
    }
    let s = crate::units::parse_duration(text)
        .map_err(|_| format!("expected a rolling window like \"30d\" or a calendar one like \"calendar month\", found {text:?}"))?
        .as_secs_f64();
    if s < 60.0 {
        return Err(format!("a window of {text} is too short for an SLO"));
    }
    Ok(Window::Rolling(s))
}

fn toml_slo(path: &Path, text: &str) -> Result<SloFile, Error> {
    let at = |span: Range<usize>, m: String| Error::at(path, text, Some(span), m);
    let raw: RawSlo = toml::from_str(text)
        .map_err(|e| Error::at(path, text, e.span(), e.message().trim_end().to_string()))?;
    let target = share(raw.objective.get_ref(), false).map_err(|m| at(raw.objective.span(), m))?;
    let win = window(raw.window.get_ref()).map_err(|m| at(raw.window.span(), m))?;
    let budgeting = match raw
        .budgeting
        .as_ref()
        .map(|b| (b.get_ref().to_ascii_lowercase(), b.span()))
    {
        None => Budgeting::Occurrences,
        Some((b, _)) if b == "occurrences" => Budgeting::Occurrences,
        Some((b, _))
            if b == "timeslices"
                && raw.slice_target.is_none()
                && raw.sli.get_ref().threshold.is_some() =>
        {
            // A threshold slice is good or bad as a whole.
            Budgeting::Timeslices { slice_target: 1.0 }
        }
        Some((b, span)) if b == "timeslices" => {
            let Some(st) = &raw.slice_target else {
                return Err(at(span, "timeslices budgeting needs slice_target = \"95%\" (a slice is good at that share of good events)".into()));
            };
            Budgeting::Timeslices {
                slice_target: share(st.get_ref(), true).map_err(|m| at(st.span(), m))?,
            }
        }
        Some((b, span)) => {
            return Err(at(
                span,
                format!("expected `occurrences` or `timeslices`, found `{b}`"),
            ))
        }
    };
    let slice_s = match &raw.slice {
        None => None,
        Some(s) => Some(
            crate::units::parse_duration(s.get_ref())
                .map_err(|m| at(s.span(), m))?
                .as_secs_f64(),
        ),
    };
    let r = raw.sli.get_ref();
    let q = |v: &Spanned<String>| Query::parse(v.get_ref()).map_err(|m| at(v.span(), m));
    let sli = match (&r.good, &r.bad, &r.total, &r.latency, &r.threshold) {
        (Some(g), None, Some(t), None, None) => Indicator::Ratio(Sli {
            good: Some(q(g)?),
            bad: None,
            total: q(t)?,
        }),
        (None, Some(b), Some(t), None, None) => Indicator::Ratio(Sli {
            good: None,
            bad: Some(q(b)?),
            total: q(t)?,
        }),
        (None, None, None, Some(l), None) => {
            Indicator::Ratio(latency(l.get_ref()).map_err(|m| at(l.span(), m))?)
        }
        (None, None, None, None, Some(t)) => {
            let v = t.get_ref();
            if !v.value.is_finite() || v.query.trim().is_empty() {
                return Err(at(t.span(), "a threshold needs a query and a finite value".into()));
            }
            Indicator::Threshold(Threshold {
                query: v.query.trim().to_string(),
                op: Op::parse(&v.op).map_err(|m| at(t.span(), m))?,
                value: v.value,
            })
        }
        _ => {
            return Err(at(
                raw.sli.span(),
                "[sli] takes `good` or `bad` with `total` (Prometheus counters), `latency = { metric, threshold }`, or `threshold = { query, op, value }`".into(),
            ))
        }
    };
    let name = raw.name.unwrap_or_else(|| stem(path));
    Ok(SloFile {
        path: path.to_path_buf(),
        service: raw.service.unwrap_or_else(|| name.clone()),
        name,
        description: raw.description.unwrap_or_default(),
        objective: Objective {
            target,
            window: win,
            budgeting,
        },
        sli,
        slice_s,
    })
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map_or("slo".into(), |s| s.to_string_lossy().into_owned())
}

/// A latency SLI: good events are the histogram's bucket at the threshold.
fn latency(l: &RawLatency) -> Result<Sli, String> {
    let secs = crate::units::parse_duration(&l.threshold)?.as_secs_f64();
    // Clients write a whole second as "1" (Go) or "1.0" (Python, and
    // Prometheus 3 stores it so): match either unless told which.
    let le = match &l.le {
        Some(le) => format!("le=\"{le}\""),
        None if secs.fract() == 0.0 => format!("le=~\"{secs}|{secs}.0\""),
        None => format!("le=\"{secs}\""),
    };
    let m = l.metric.trim();
    if !is_selector(m) {
        return Err(format!(
            "latency.metric: expected a histogram's name with its labels, found `{m}`"
        ));
    }
    let (name, labels) = match m.find('{') {
        Some(i) => (&m[..i], m[i + 1..m.len() - 1].trim()),
        None => (m, ""),
    };
    let with = |extra: &str| match (labels.is_empty(), extra.is_empty()) {
        (true, true) => String::new(),
        (true, false) => format!("{{{extra}}}"),
        (false, true) => format!("{{{labels}}}"),
        (false, false) => format!("{{{labels},{extra}}}"),
    };
    Ok(Sli {
        good: Some(Query::Counter(format!("{name}_bucket{}", with(&le)))),
        bad: None,
        total: Query::Counter(format!("{name}_count{}", with(""))),
    })
}

/// The parts of an OpenSLO document headroom reads; any other field, and
/// any other kind of document, is left alone.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    api_version: Option<YamlSpanned<String>>,
    kind: Option<YamlSpanned<String>>,
    #[serde(default)]
    metadata: Metadata,
    spec: Option<YamlSpanned<Spec>>,
}

#[derive(Deserialize, Default)]
struct Metadata {
    name: Option<String>,
}

/// The spec of a `kind: SLO` or a `kind: SLI` (one struct: a document's
/// kind is known only once it is read).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Spec {
    service: Option<String>,
    description: Option<String>,
    /// An SLO's: an inline SLI (its `metadata` and `spec`) …
    indicator: Option<YamlSpanned<Box<Doc>>>,
    /// … or the name of a `kind: SLI` in the same file.
    indicator_ref: Option<YamlSpanned<String>>,
    #[serde(default)]
    time_window: Vec<YamlSpanned<TimeWindow>>,
    budgeting_method: Option<YamlSpanned<String>>,
    #[serde(default)]
    objectives: Vec<YamlSpanned<RawObjective>>,
    /// An SLI's.
    ratio_metric: Option<YamlSpanned<RatioMetric>>,
    threshold_metric: Option<YamlSpanned<Metric>>,
}

#[derive(Deserialize)]
struct RatioMetric {
    good: Option<Metric>,
    bad: Option<Metric>,
    total: Option<Metric>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metric {
    metric_source: Option<YamlSpanned<MetricSource>>,
}

#[derive(Deserialize)]
struct MetricSource {
    #[serde(rename = "type")]
    source: Option<String>,
    #[serde(default)]
    spec: SourceSpec,
}

#[derive(Deserialize, Default)]
struct SourceSpec {
    query: Option<YamlSpanned<String>>,
    promql: Option<YamlSpanned<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimeWindow {
    duration: Option<YamlSpanned<String>>,
    is_rolling: Option<bool>,
    calendar: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawObjective {
    op: Option<YamlSpanned<String>>,
    value: Option<f64>,
    target: Option<YamlSpanned<f64>>,
    time_slice_target: Option<f64>,
    time_slice_window: Option<YamlSpanned<String>>,
}

/// Alias expansion stops here: an OpenSLO file replays a few hundred events
/// at most, a "billion laughs" file billions (22.5 GB of memory before the
/// kernel killed headroom, when aliases were expanded unbounded).
const MAX_REPLAYED_EVENTS: usize = 100_000;

/// An OpenSLO file being read, for located errors.
struct OpenSlo<'a> {
    path: &'a Path,
    text: &'a str,
}

impl OpenSlo<'_> {
    fn at(&self, loc: Option<&Location>, message: impl Into<String>) -> Error {
        let span = loc.and_then(|l| {
            let s = l.span();
            let start = usize::try_from(s.byte_offset()?).ok()?;
            let len = s.byte_len().and_then(|n| usize::try_from(n).ok());
            Some(start..start + len.unwrap_or(1).max(1))
        });
        Error::at(self.path, self.text, span, message)
    }

    fn read(&self) -> Result<SloFile, Error> {
        let options = serde_saphyr::options! {
            with_snippet: false,
            alias_limits: serde_saphyr::alias_limits! {
                max_total_replayed_events: MAX_REPLAYED_EVENTS,
            },
        };
        let docs: Vec<Doc> =
            serde_saphyr::from_multiple_with_options(self.text, options).map_err(|e| {
                let message = UserMessageFormatter.format_message(&e).into_owned();
                self.at(e.location().as_ref(), message)
            })?;
        let is = |d: &Doc, kind: &str| d.kind.as_ref().is_some_and(|k| k.value == kind);
        let slo = docs
            .iter()
            .find(|d| is(d, "SLO"))
            .ok_or_else(|| self.at(None, "no `kind: SLO` document in this file"))?;
        let kind_at = slo.kind.as_ref().map(|k| &k.referenced);
        let version = slo.api_version.as_ref();
        if version.map(|v| v.value.as_str()) != Some("openslo/v1") {
            return Err(self.at(
                version.map(|v| &v.referenced).or(kind_at),
                format!(
                    "expected `apiVersion: openslo/v1`, found {:?}",
                    version.map_or("nothing", |v| v.value.as_str())
                ),
            ));
        }
        let spec = slo
            .spec
            .as_ref()
            .ok_or_else(|| self.at(kind_at, "the SLO needs a `spec`"))?;
        let spec_at = Some(&spec.referenced);
        let spec = &spec.value;
        let name = slo.metadata.name.clone().unwrap_or_else(|| stem(self.path));
        // The indicator: inline, or a `kind: SLI` of that name in the file.
        let indicator: &Doc = match (&spec.indicator, &spec.indicator_ref) {
            (Some(i), _) => &i.value,
            (None, Some(r)) => docs
                .iter()
                .find(|d| is(d, "SLI") && d.metadata.name.as_deref() == Some(r.value.as_str()))
                .ok_or_else(|| {
                    self.at(
                        Some(&r.referenced),
                        format!("no `kind: SLI` named `{}` in this file", r.value),
                    )
                })?,
            (None, None) => {
                return Err(self.at(spec_at, "the SLO needs `indicator` or `indicatorRef`"))
            }
        };
        let objective = spec.objectives.first();
        let sli = self.indicator(indicator, objective, spec_at)?;
        let win = self.window(spec, spec_at)?;
        if spec.objectives.len() > 1 {
            eprintln!(
                "warning: {}: only the first of the SLO's objectives is read",
                self.path.display()
            );
        }
        let need = "the SLO needs objectives: [{ target: 0.999 }]";
        let objective = objective.ok_or_else(|| self.at(spec_at, need))?;
        let target = objective
            .value
            .target
            .as_ref()
            .ok_or_else(|| self.at(Some(&objective.referenced), need))?;
        if !(target.value > 0.0 && target.value < 1.0) {
            return Err(self.at(
                Some(&target.referenced),
                format!("target {}: expected a share between 0 and 1", target.value),
            ));
        }
        if target.value > MAX_OBJECTIVE {
            return Err(self.at(Some(&target.referenced), too_tight(target.value)));
        }
        let (budgeting, slice_s) = self.budgeting(spec, objective, &sli)?;
        Ok(SloFile {
            path: self.path.to_path_buf(),
            service: spec.service.clone().unwrap_or_else(|| name.clone()),
            name,
            description: spec.description.clone().unwrap_or_default(),
            objective: Objective {
                target: target.value,
                window: win,
                budgeting,
            },
            sli,
            slice_s,
        })
    }

    /// A Prometheus metric source's query.
    fn source(
        &self,
        metric: &Metric,
        what: &str,
        at: &Location,
    ) -> Result<YamlSpanned<String>, Error> {
        let src = metric
            .metric_source
            .as_ref()
            .ok_or_else(|| self.at(Some(at), format!("{what} needs a metricSource")))?;
        if let Some(t) = &src.value.source {
            if !t.eq_ignore_ascii_case("prometheus") {
                return Err(self.at(
                    Some(&src.referenced),
                    format!("{what}: metric source `{t}`: only Prometheus is read"),
                ));
            }
        }
        let spec = &src.value.spec;
        spec.query
            .clone()
            .or_else(|| spec.promql.clone())
            .ok_or_else(|| {
                self.at(
                    Some(&src.referenced),
                    format!("{what}'s metricSource needs spec.query (a Prometheus query)"),
                )
            })
    }

    fn indicator(
        &self,
        sli: &Doc,
        objective: Option<&YamlSpanned<RawObjective>>,
        spec_at: Option<&Location>,
    ) -> Result<Indicator, Error> {
        let spec = sli.spec.as_ref();
        let sli_at = spec.map(|s| &s.referenced).or(spec_at);
        let ratio = spec.and_then(|s| s.value.ratio_metric.as_ref());
        let threshold = spec.and_then(|s| s.value.threshold_metric.as_ref());
        if let Some(r) = ratio {
            let query = |part: &Option<Metric>, name: &str| -> Result<Option<Query>, Error> {
                let Some(m) = part else { return Ok(None) };
                let q = self.source(m, &format!("ratioMetric.{name}"), &r.referenced)?;
                Query::parse(&q.value)
                    .map(Some)
                    .map_err(|m| self.at(Some(&q.referenced), m))
            };
            let total = query(&r.value.total, "total")?
                .ok_or_else(|| self.at(Some(&r.referenced), "the ratioMetric needs `total`"))?;
            let (good, bad) = (query(&r.value.good, "good")?, query(&r.value.bad, "bad")?);
            if good.is_some() == bad.is_some() {
                return Err(self.at(
                    Some(&r.referenced),
                    "the ratioMetric needs one of `good` or `bad`",
                ));
            }
            return Ok(Indicator::Ratio(Sli { good, bad, total }));
        }
        let Some(t) = threshold else {
            return Err(self.at(
                sli_at,
                "the indicator needs a `ratioMetric` or a `thresholdMetric`",
            ));
        };
        let query = self.source(&t.value, "thresholdMetric", &t.referenced)?;
        let need = "a thresholdMetric SLO needs objectives: [{ op, value, target }]";
        let o = objective.ok_or_else(|| self.at(spec_at, need))?;
        let op = o
            .value
            .op
            .as_ref()
            .ok_or_else(|| self.at(Some(&o.referenced), need))?;
        let op = Op::parse(&op.value).map_err(|m| self.at(Some(&op.referenced), m))?;
        let value = o.value.value.filter(|v| v.is_finite()).ok_or_else(|| {
            self.at(
                Some(&o.referenced),
                format!("{need}, the value a finite number"),
            )
        })?;
        Ok(Indicator::Threshold(Threshold {
            query: query.value,
            op,
            value,
        }))
    }

    fn window(&self, spec: &Spec, spec_at: Option<&Location>) -> Result<Window, Error> {
        let need = "the SLO needs timeWindow: [{ duration, isRolling }]";
        let tw = spec
            .time_window
            .first()
            .ok_or_else(|| self.at(spec_at, need))?;
        let duration = tw
            .value
            .duration
            .as_ref()
            .ok_or_else(|| self.at(Some(&tw.referenced), need))?;
        let at = Some(&duration.referenced);
        if tw.value.is_rolling.unwrap_or(tw.value.calendar.is_none()) {
            return window(&duration.value).map_err(|m| self.at(at, m));
        }
        // OpenSLO calendar durations: 1d, 1w, 1M, 1Q, 1Y.
        Ok(Window::Calendar(match duration.value.trim() {
            "1d" | "1D" => Calendar::Day,
            "1w" | "1W" => Calendar::Week,
            "1M" => Calendar::Month,
            "1Q" => Calendar::Quarter,
            "1Y" | "1y" => Calendar::Year,
            other => {
                return Err(self.at(
                    at,
                    format!("a calendar window of `{other}`: expected 1d, 1w, 1M, 1Q or 1Y"),
                ))
            }
        }))
    }

    fn budgeting(
        &self,
        spec: &Spec,
        objective: &YamlSpanned<RawObjective>,
        sli: &Indicator,
    ) -> Result<(Budgeting, Option<f64>), Error> {
        let method = spec.budgeting_method.as_ref();
        match method.map_or("Occurrences", |m| m.value.as_str()) {
            "Occurrences" => Ok((Budgeting::Occurrences, None)),
            "Timeslices" => {
                let o = &objective.value;
                // A threshold slice is good or bad as a whole: no target needed.
                let slice_target = match (o.time_slice_target, sli) {
                    (Some(t), _) if t > 0.0 && t <= 1.0 => t,
                    (None, Indicator::Threshold(_)) => 1.0,
                    _ => {
                        return Err(self.at(
                            Some(&objective.referenced),
                            "Timeslices budgeting needs a timeSliceTarget in (0, 1]",
                        ))
                    }
                };
                let slice_s = match &o.time_slice_window {
                    None => None,
                    Some(w) => Some(
                        crate::units::parse_duration(&w.value)
                            .map_err(|m| self.at(Some(&w.referenced), m))?
                            .as_secs_f64(),
                    ),
                };
                Ok((Budgeting::Timeslices { slice_target }, slice_s))
            }
            other => Err(self.at(
                method.map(|m| &m.referenced),
                format!("budgetingMethod `{other}`: expected Occurrences or Timeslices"),
            )),
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_selectors_or_window_templates() {
        let c = Query::parse(r#"http_requests_total{code!~"5.."}"#).unwrap();
        assert_eq!(
            c.rate("5m"),
            r#"sum(rate(http_requests_total{code!~"5.."}[5m]))"#
        );
        assert_eq!(
            c.increase("1h", 3600.0),
            r#"sum(increase(http_requests_total{code!~"5.."}[1h]))"#
        );
        let r = Query::parse("sum(rate(x_total[{{.window}}]))").unwrap();
        assert_eq!(r.rate("30m"), "(sum(rate(x_total[30m]))\n)");
        assert_eq!(
            r.increase("1h", 3600.0),
            "((sum(rate(x_total[1h]))\n)) * 3600"
        );
        assert!(Query::parse("sum(x_total)").is_err());
        assert!(Query::parse("x{a=\"1\"} + y").is_err());
        let l = latency(&RawLatency {
            metric: r#"http_request_duration_seconds{job="api"}"#.into(),
            threshold: "300ms".into(),
            le: None,
        })
        .unwrap();
        assert_eq!(
            l.good.unwrap().rate("5m"),
            r#"sum(rate(http_request_duration_seconds_bucket{job="api",le="0.3"}[5m]))"#
        );
        assert_eq!(
            l.total.rate("5m"),
            r#"sum(rate(http_request_duration_seconds_count{job="api"}[5m]))"#
        );
        // A whole second matches "1" and "1.0"; `role="…"` is not `le`.
        let one = latency(&RawLatency {
            metric: r#"h{role="api"}"#.into(),
            threshold: "1s".into(),
            le: None,
        })
        .unwrap();
        let good = one.good.clone().unwrap().rate("5m");
        assert_eq!(good, r#"sum(rate(h_bucket{role="api",le=~"1|1.0"}[5m]))"#);
        let file = |sli: Sli| SloFile {
            path: "x.toml".into(),
            name: "x".into(),
            service: "x".into(),
            description: String::new(),
            objective: Objective {
                target: 0.99,
                window: Window::Rolling(86_400.0),
                budgeting: Budgeting::Occurrences,
            },
            sli: Indicator::Ratio(sli),
            slice_s: None,
        };
        assert_eq!(file(one).latency_threshold_s(), Some(1.0));
        let odd = Sli {
            good: Some(Query::Counter(r#"h_bucket{scale="2",le="+Inf"}"#.into())),
            bad: None,
            total: Query::Counter("h_count".into()),
        };
        assert_eq!(file(odd).latency_threshold_s(), None);
        assert_eq!(
            window("calendar month"),
            Ok(Window::Calendar(Calendar::Month))
        );
        assert_eq!(window("28d"), Ok(Window::Rolling(28.0 * 86_400.0)));
        assert!(window("1s").is_err());
    }
}
