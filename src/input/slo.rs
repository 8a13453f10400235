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
use toml::Spanned;
use yaml_rust2::{Yaml, YamlLoader};

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
    let yaml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    if yaml {
        openslo(path, &text)
    } else {
        toml_slo(path, &text)
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

/// The byte offset of `key:` reached by walking `keys` in order through
/// the text: where a YAML field is, for a located error.
fn locate(text: &str, keys: &[&str]) -> Option<Range<usize>> {
    let mut from = 0;
    let mut found = None;
    for k in keys {
        let pat = format!("{k}:");
        let i = text[from..].find(&pat)? + from;
        found = Some(i..i + k.len());
        from = i + pat.len();
    }
    found
}

fn openslo(path: &Path, text: &str) -> Result<SloFile, Error> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| {
        let m = e.marker();
        let offset = text
            .lines()
            .take(m.line().saturating_sub(1))
            .map(|l| l.len() + 1)
            .sum::<usize>()
            + m.col();
        Error::at(
            path,
            text,
            Some(offset..offset + 1),
            format!("not YAML: {}", e.info()),
        )
    })?;
    let bad = |keys: &[&str], m: String| Error::at(path, text, locate(text, keys), m);
    let kind = |d: &Yaml| d["kind"].as_str().map(str::to_string);
    let slo = docs
        .iter()
        .find(|d| kind(d).as_deref() == Some("SLO"))
        .ok_or_else(|| bad(&["kind"], "no `kind: SLO` document in this file".into()))?;
    if slo["apiVersion"].as_str() != Some("openslo/v1") {
        return Err(bad(
            &["apiVersion"],
            format!(
                "expected `apiVersion: openslo/v1`, found {:?}",
                slo["apiVersion"].as_str().unwrap_or("nothing")
            ),
        ));
    }
    let spec = &slo["spec"];
    let name = slo["metadata"]["name"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| stem(path));
    // The indicator: inline, or a `kind: SLI` of that name in the file.
    let indicator = match (&spec["indicator"], spec["indicatorRef"].as_str()) {
        (i, _) if !i.is_badvalue() => i.clone(),
        (_, Some(r)) => docs
            .iter()
            .find(|d| {
                kind(d).as_deref() == Some("SLI") && d["metadata"]["name"].as_str() == Some(r)
            })
            .cloned()
            .ok_or_else(|| {
                bad(
                    &["indicatorRef"],
                    format!("no `kind: SLI` named `{r}` in this file"),
                )
            })?,
        _ => {
            return Err(bad(
                &["spec"],
                "the SLO needs `indicator` or `indicatorRef`".into(),
            ))
        }
    };
    let ratio = &indicator["spec"]["ratioMetric"];
    let threshold = &indicator["spec"]["thresholdMetric"];
    let objective = &spec["objectives"][0];
    let source = |src: &Yaml, keys: &[&str]| -> Result<String, Error> {
        if let Some(t) = src["type"].as_str() {
            if !t.eq_ignore_ascii_case("prometheus") {
                return Err(bad(
                    keys,
                    format!("metric source `{t}`: only Prometheus is read"),
                ));
            }
        }
        src["spec"]["query"]
            .as_str()
            .or_else(|| src["spec"]["promql"].as_str())
            .map(str::to_string)
            .ok_or_else(|| bad(keys, "the metric source needs spec.query".into()))
    };
    let sli = if !ratio.is_badvalue() {
        let query = |part: &str| -> Result<Option<Query>, Error> {
            let src = &ratio[part]["metricSource"];
            if src.is_badvalue() {
                return Ok(None);
            }
            let q = source(src, &[part, "metricSource"])?;
            Query::parse(&q)
                .map(Some)
                .map_err(|m| bad(&[part, "query"], m))
        };
        let total = query("total")?
            .ok_or_else(|| bad(&["ratioMetric"], "the ratioMetric needs `total`".into()))?;
        let (good, badq) = (query("good")?, query("bad")?);
        if good.is_some() == badq.is_some() {
            return Err(bad(
                &["ratioMetric"],
                "the ratioMetric needs one of `good` or `bad`".into(),
            ));
        }
        Indicator::Ratio(Sli {
            good,
            bad: badq,
            total,
        })
    } else if !threshold.is_badvalue() {
        let query = source(&threshold["metricSource"], &["thresholdMetric"])?;
        let op = objective["op"]
            .as_str()
            .ok_or_else(|| {
                bad(
                    &["objectives"],
                    "a thresholdMetric SLO needs objectives: [{ op, value, target }]".into(),
                )
            })
            .and_then(|o| Op::parse(o).map_err(|m| bad(&["objectives", "op"], m)))?;
        let value = objective["value"]
            .as_f64()
            .or_else(|| objective["value"].as_i64().map(|i| i as f64))
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                bad(
                    &["objectives"],
                    "a thresholdMetric SLO needs objectives: [{ op, value, target }], the value a finite number".into(),
                )
            })?;
        Indicator::Threshold(Threshold { query, op, value })
    } else {
        return Err(bad(
            &["indicator", "spec"],
            "the indicator needs a `ratioMetric` or a `thresholdMetric`".into(),
        ));
    };
    let tw = &spec["timeWindow"][0];
    let duration = tw["duration"].as_str().ok_or_else(|| {
        bad(
            &["timeWindow"],
            "the SLO needs timeWindow: [{ duration, isRolling }]".into(),
        )
    })?;
    let rolling = tw["isRolling"]
        .as_bool()
        .unwrap_or(tw["calendar"].is_badvalue());
    let win = if rolling {
        window(duration).map_err(|m| bad(&["timeWindow", "duration"], m))?
    } else {
        // OpenSLO calendar durations: 1d, 1w, 1M, 1Q, 1Y.
        Window::Calendar(match duration.trim() {
            "1d" | "1D" => Calendar::Day,
            "1w" | "1W" => Calendar::Week,
            "1M" => Calendar::Month,
            "1Q" => Calendar::Quarter,
            "1Y" | "1y" => Calendar::Year,
            other => {
                return Err(bad(
                    &["timeWindow", "duration"],
                    format!("a calendar window of `{other}`: expected 1d, 1w, 1M, 1Q or 1Y"),
                ))
            }
        })
    };
    if spec["objectives"].as_vec().is_some_and(|v| v.len() > 1) {
        eprintln!(
            "warning: {}: only the first of the SLO's objectives is read",
            path.display()
        );
    }
    let target = objective["target"]
        .as_f64()
        .or_else(|| objective["target"].as_i64().map(|i| i as f64))
        .ok_or_else(|| {
            bad(
                &["objectives"],
                "the SLO needs objectives: [{ target: 0.999 }]".into(),
            )
        })?;
    if !(target > 0.0 && target < 1.0) {
        return Err(bad(
            &["objectives", "target"],
            format!("target {target}: expected a share between 0 and 1"),
        ));
    }
    let method = spec["budgetingMethod"].as_str().unwrap_or("Occurrences");
    let (budgeting, slice_s) = match method {
        "Occurrences" => (Budgeting::Occurrences, None),
        "Timeslices" => {
            let st = objective["timeSliceTarget"]
                .as_f64()
                .or_else(|| objective["timeSliceTarget"].as_i64().map(|i| i as f64));
            // A threshold slice is good or bad as a whole: no target needed.
            let st = match (st, &sli) {
                (Some(t), _) if t > 0.0 && t <= 1.0 => t,
                (None, Indicator::Threshold(_)) => 1.0,
                _ => {
                    return Err(bad(
                        &["objectives"],
                        "Timeslices budgeting needs a timeSliceTarget in (0, 1]".into(),
                    ))
                }
            };
            let w = objective["timeSliceWindow"]
                .as_str()
                .map(|w| crate::units::parse_duration(w).map(|d| d.as_secs_f64()))
                .transpose()
                .map_err(|m| bad(&["timeSliceWindow"], m))?;
            (Budgeting::Timeslices { slice_target: st }, w)
        }
        other => {
            return Err(bad(
                &["budgetingMethod"],
                format!("budgetingMethod `{other}`: expected Occurrences or Timeslices"),
            ))
        }
    };
    Ok(SloFile {
        path: path.to_path_buf(),
        service: spec["service"]
            .as_str()
            .map_or_else(|| name.clone(), str::to_string),
        name,
        description: spec["description"].as_str().unwrap_or_default().to_string(),
        objective: Objective {
            target,
            window: win,
            budgeting,
        },
        sli,
        slice_s,
    })
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
