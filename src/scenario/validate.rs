//! Raw scenario → [`Plan`]: every value checked once, every error located.

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use super::check::{service_time, share, share_value, Ctx};
use super::raw;
use super::requests::{data, requests_and_flows};
use super::searches::Invalid;
use super::{
    check_model, Arrivals, BaseUrl, DataOrder, Error, HttpVersion, LatencySlo, LoadModel, LoadSpec,
    MinRate, Plan, Profile, RequestSlo, RequestSpec, SearchSpec, Slo, Stage, StressSpec, SweepSpec,
    TargetSpec, Timeouts,
};
use crate::embedded::{rules, TargetConfig};
use crate::units::parse_duration;
use toml::Spanned;

pub(super) fn plan(path: &Path, text: &str, raw: raw::Scenario) -> Result<Plan, Error> {
    let cx = Ctx { path, text };
    let name = match &raw.name {
        Some(n) if n.get_ref().trim().is_empty() => {
            return cx.err(n.span(), "name must not be empty")
        }
        Some(n) => n.get_ref().clone(),
        None => path
            .file_stem()
            .map_or("scenario".into(), |s| s.to_string_lossy().into_owned()),
    };
    let seed = raw.seed.unwrap_or(1);
    let (mut target, timeouts) = target(&cx, raw.target.get_ref(), seed)?;
    let tls = tls(&cx, raw.target.get_ref())?;
    let data = data(&cx, &raw.data)?;
    let (requests, flows) = requests_and_flows(&cx, &raw.requests, &raw.flows, &data)?;
    let mut load = load(&cx, &raw.load, matches!(target, TargetSpec::Embedded(_)))?;
    // A unique source gives each flow run its own row: no more runs than rows.
    if let Some(rows) = data
        .iter()
        .filter(|d| d.order == DataOrder::Unique)
        .map(|d| d.rows.len() as u64)
        .min()
    {
        load.max_requests = Some(load.max_requests.map_or(rows, |n| n.min(rows)));
    }
    let http = match &raw.target.get_ref().http {
        None => HttpVersion::Auto,
        Some(v) => HttpVersion::parse(v.get_ref()).or_else(|m| cx.err(v.span(), m))?,
    };
    let slo = match &raw.slo {
        Some(s) => slo(&cx, s, &requests, &load)?,
        None => Slo::default(),
    };
    let search = match &raw.search {
        Some(s) => search(&cx, s)?,
        None => SearchSpec::default(),
    };
    let sweep = match &raw.sweep {
        Some(s) => sweep(&cx, s)?,
        None => SweepSpec::default(),
    };
    let stress = match &raw.stress {
        Some(s) => stress(&cx, s)?,
        None => StressSpec::default(),
    };
    let chaos = super::chaos::chaos(&cx, &raw, &mut target, &slo, load.model.duration())?;
    Ok(Plan {
        name,
        target,
        requests,
        flows,
        data: std::sync::Arc::new(data),
        http,
        load,
        timeouts,
        slo,
        search,
        sweep,
        stress,
        seed,
        tls,
        chaos,
    })
}

/// `[target.tls]`: files relative to the scenario, checked to exist.
fn tls(cx: &Ctx, t: &raw::Target) -> Result<super::TlsSpec, Error> {
    let Some(raw) = &t.tls else {
        return Ok(super::TlsSpec::default());
    };
    let r = raw.get_ref();
    let dir = cx.path.parent().unwrap_or(Path::new("."));
    let file = |v: &Option<Spanned<String>>| -> Result<Option<std::path::PathBuf>, Error> {
        match v {
            None => Ok(None),
            Some(f) => {
                let p = dir.join(f.get_ref());
                if p.is_file() {
                    Ok(Some(p))
                } else {
                    cx.err(f.span(), format!("no such file: {}", p.display()))
                }
            }
        }
    };
    let spec = super::TlsSpec {
        ca_file: file(&r.ca_file)?,
        insecure: r.insecure.unwrap_or(false),
        server_name: r.server_name.clone(),
        client_cert: file(&r.client_cert)?,
        client_key: file(&r.client_key)?,
    };
    if spec.client_cert.is_some() != spec.client_key.is_some() {
        return cx.err(raw.span(), "mTLS needs both client_cert and client_key");
    }
    Ok(spec)
}

fn target(cx: &Ctx, t: &raw::Target, seed: u64) -> Result<(TargetSpec, Timeouts), Error> {
    let mut timeouts = Timeouts::default();
    if let Some(v) = &t.timeout {
        timeouts.request = cx.positive_duration(v, "timeout")?;
    }
    if let Some(v) = &t.connect_timeout {
        timeouts.connect = cx.positive_duration(v, "connect_timeout")?;
    }
    let url = t.url.get_ref();
    if url == "embedded" {
        let cfg = match &t.embedded {
            Some(e) => embedded(cx, e.get_ref(), seed)?,
            None => TargetConfig {
                seed,
                ..TargetConfig::default()
            },
        };
        return Ok((TargetSpec::Embedded(cfg), timeouts));
    }
    if let Some(e) = &t.embedded {
        return cx.err(
            e.span(),
            "[target.embedded] applies only with url = \"embedded\"",
        );
    }
    let base = BaseUrl::parse(url).or_else(|m| cx.err(t.url.span(), m))?;
    Ok((TargetSpec::Url(base), timeouts))
}

fn embedded(cx: &Ctx, e: &raw::Embedded, seed: u64) -> Result<TargetConfig, Error> {
    let mut cfg = TargetConfig {
        seed,
        ..TargetConfig::default()
    };
    if let Some(w) = &e.workers {
        cfg.workers =
            rules::at_least_one(*w.get_ref(), "workers").or_else(|m| cx.err(w.span(), m))?;
    }
    if let Some(q) = &e.queue_limit {
        cfg.queue_limit = match q.get_ref() {
            toml::Value::Integer(n) if *n >= 0 => Some(*n as u64),
            toml::Value::String(s) if s == "none" => None,
            _ => {
                return cx.err(
                    q.span(),
                    "queue_limit: expected a count ≥ 0, or \"none\" for a queue without bound",
                )
            }
        };
    }
    if let Some(v) = &e.error_share {
        cfg.error_share = share(cx, v)?;
    }
    if let Some(st) = &e.service_time {
        cfg.service_time = service_time(cx, st.get_ref())?;
    }
    if let Some(s) = &e.stall {
        let every = cx.duration(&s.get_ref().every)?;
        let pause = cx.duration(&s.get_ref().pause)?;
        cfg.stall = Some(rules::stall(every, pause).or_else(|m| cx.err(s.span(), m))?);
    }
    if let Some(c) = &e.contention {
        let v = c.get_ref();
        cfg.contention =
            Some(rules::contention(v.sigma, v.kappa).or_else(|m| cx.err(c.span(), m))?);
    }
    if let Some(n) = &e.max_concurrent_streams {
        let n = rules::at_least_one(*n.get_ref(), "max_concurrent_streams")
            .or_else(|m| cx.err(n.span(), m))?;
        cfg.max_concurrent_streams = Some(n);
    }
    Ok(cfg)
}

fn load(cx: &Ctx, l: &Spanned<raw::Load>, embedded: bool) -> Result<LoadSpec, Error> {
    let span = l.span();
    let l = l.get_ref();
    let model = l.model.as_ref().map_or("open", |m| m.get_ref().as_str());
    let duration = l
        .duration
        .as_ref()
        .map(|d| cx.positive_duration(d, "duration"))
        .transpose()?;
    let max_requests = match &l.requests {
        Some(n) if *n.get_ref() == 0 => return cx.err(n.span(), "requests must be at least 1"),
        Some(n) => Some(*n.get_ref()),
        None => None,
    };
    let model = match model {
        "open" => {
            for (field, name) in [
                (&l.concurrency.as_ref().map(|c| c.span()), "concurrency"),
                (&l.think_time.as_ref().map(|c| c.span()), "think_time"),
            ] {
                if let Some(s) = field {
                    return cx.err(s.clone(), format!("{name} applies to model = \"closed\"; the open model takes rate or stages"));
                }
            }
            let arrivals = match &l.arrivals {
                None => Arrivals::Uniform,
                Some(a) => match a.get_ref().as_str() {
                    "uniform" => Arrivals::Uniform,
                    "poisson" => Arrivals::Poisson,
                    other => {
                        return cx.err(
                            a.span(),
                            format!(
                                "expected arrivals = \"uniform\" or \"poisson\", found {other:?}"
                            ),
                        )
                    }
                },
            };
            let profile = profile(cx, l, duration, max_requests, span.clone())?;
            LoadModel::Open { profile, arrivals }
        }
        "closed" => {
            let concurrency = match &l.concurrency {
                Some(c) if *c.get_ref() == 0 => {
                    return cx.err(c.span(), "concurrency must be at least 1")
                }
                Some(c) => *c.get_ref(),
                None => return cx.err(span, "model = \"closed\" needs concurrency = N"),
            };
            for (s, name) in [
                (l.rate.as_ref().map(|r| r.span()), "rate"),
                (
                    l.stages.as_ref().and_then(|s| s.first()).map(|s| s.span()),
                    "stages",
                ),
                (l.arrivals.as_ref().map(|a| a.span()), "arrivals"),
            ] {
                if let Some(s) = s {
                    return cx.err(s, format!("{name} applies to model = \"open\"; the closed model takes concurrency"));
                }
            }
            let think_time = l
                .think_time
                .as_ref()
                .map(|t| cx.duration(t))
                .transpose()?
                .unwrap_or(Duration::ZERO);
            let duration = match (duration, max_requests) {
                (Some(d), _) => d,
                // Bounded by count; the clock still stops it after an hour.
                (None, Some(_)) => Duration::from_secs(3600),
                (None, None) => {
                    return cx.err(
                        span,
                        "the closed model needs duration = \"…\" or requests = N",
                    )
                }
            };
            LoadModel::Closed {
                concurrency,
                think_time,
                duration,
            }
        }
        other => {
            let s = l.model.as_ref().map(|m| m.span()).unwrap_or(span);
            return cx.err(
                s,
                format!("expected model = \"open\" or \"closed\", found {other:?}"),
            );
        }
    };
    check_model(&model).or_else(|m| cx.err(span_of_load(l), m))?;
    let mut out = LoadSpec::new(model, embedded);
    let at_least_one = |v: &Option<Spanned<u32>>, what: &str| match v {
        Some(n) if *n.get_ref() == 0 => cx.err(n.span(), format!("{what} must be at least 1")),
        Some(n) => Ok(Some(*n.get_ref() as usize)),
        None => Ok(None),
    };
    if let Some(t) = at_least_one(&l.threads, "threads")? {
        out.threads = t;
    }
    if let Some(c) = at_least_one(&l.connections, "connections")? {
        out.max_connections = c;
        out.warm_connections = true;
    }
    if let Some(s) = at_least_one(&l.streams, "streams")? {
        out.streams = s;
    }
    out.max_requests = max_requests;
    out.keep_alive = l.keep_alive.unwrap_or(true);
    Ok(out)
}

fn span_of_load(l: &raw::Load) -> std::ops::Range<usize> {
    l.rate
        .as_ref()
        .map(|r| r.span())
        .or_else(|| l.duration.as_ref().map(|d| d.span()))
        .or_else(|| l.stages.as_ref().and_then(|s| s.first()).map(|s| s.span()))
        .unwrap_or(0..0)
}

fn profile(
    cx: &Ctx,
    l: &raw::Load,
    duration: Option<Duration>,
    max_requests: Option<u64>,
    span: std::ops::Range<usize>,
) -> Result<Profile, Error> {
    match (&l.rate, &l.stages) {
        (Some(r), Some(s)) => {
            let at = s.first().map_or(r.span(), |s| s.span());
            cx.err(at, "give either rate (constant) or stages, not both")
        }
        (Some(r), None) => {
            let rate = cx.rate(r)?;
            let duration = match (duration, max_requests) {
                (Some(d), _) => d,
                (None, Some(n)) if rate > 0.0 => Duration::from_secs_f64(n as f64 / rate),
                _ => {
                    return cx.err(
                        r.span(),
                        "a constant rate needs duration = \"…\" (or requests = N)",
                    )
                }
            };
            Ok(Profile::constant(rate, duration))
        }
        (None, Some(stages)) => {
            if let Some(d) = &l.duration {
                return cx.err(
                    d.span(),
                    "with stages, each stage has its own duration; remove this one",
                );
            }
            if stages.is_empty() {
                return cx.err(span, "stages is empty");
            }
            let mut out = Vec::new();
            for s in stages {
                stage(cx, s, &mut out)?;
            }
            Ok(Profile { stages: out })
        }
        (None, None) => cx.err(
            span,
            "the open model needs rate = R (with duration) or stages = [ … ]",
        ),
    }
}

fn stage(cx: &Ctx, s: &Spanned<raw::Stage>, out: &mut Vec<Stage>) -> Result<(), Error> {
    let span = s.span();
    let s = s.get_ref();
    let need_f = |v: &Option<Spanned<f64>>, name: &str| -> Result<f64, Error> {
        match v {
            Some(v) => cx.rate(v),
            None => cx.err(
                span.clone(),
                format!("this {} stage needs {name}", s.kind.get_ref()),
            ),
        }
    };
    let need_d = |v: &Option<Spanned<String>>, name: &str| -> Result<Duration, Error> {
        match v {
            Some(v) => cx.positive_duration(v, name),
            None => cx.err(
                span.clone(),
                format!("this {} stage needs {name} = \"…\"", s.kind.get_ref()),
            ),
        }
    };
    match s.kind.get_ref().as_str() {
        "constant" => out.push(Stage::Constant {
            rate: need_f(&s.rate, "rate")?,
            duration: need_d(&s.duration, "duration")?,
        }),
        "ramp" => out.push(Stage::Ramp {
            from: need_f(&s.from, "from")?,
            to: need_f(&s.to, "to")?,
            duration: need_d(&s.duration, "duration")?,
        }),
        "steps" => {
            let from = need_f(&s.from, "from")?;
            let to = need_f(&s.to, "to")?;
            let step = need_f(&s.step, "step")?;
            let each = need_d(&s.step_duration, "step_duration")?;
            if step <= 0.0 {
                return cx.err(
                    s.step.as_ref().map_or(span.clone(), |v| v.span()),
                    "step must be > 0",
                );
            }
            let n = ((to - from).abs() / step).floor() as usize + 1;
            if n > 10_000 {
                return cx.err(
                    span,
                    format!("these steps make {n} stages; use a larger step"),
                );
            }
            let sign = if to >= from { 1.0 } else { -1.0 };
            for i in 0..n {
                out.push(Stage::Constant {
                    rate: from + sign * step * i as f64,
                    duration: each,
                });
            }
        }
        other => {
            return cx.err(
                s.kind.span(),
                format!(
                    "unknown stage kind {other:?}: expected \"constant\", \"ramp\" or \"steps\""
                ),
            )
        }
    }
    Ok(())
}

/// A rule of the search settings broken in the file: the error points at
/// the key's value, or at the table when the key was left to its default.
fn located(cx: &Ctx, table: Range<usize>, at: Option<Range<usize>>, e: Invalid) -> Error {
    Error::at(cx.path, cx.text, Some(at.unwrap_or(table)), e.message)
}

fn search(cx: &Ctx, raw: &Spanned<raw::Search>) -> Result<SearchSpec, Error> {
    let s = raw.get_ref();
    let mut out = SearchSpec::default();
    let set = |slot: &mut f64, v: &Option<Spanned<f64>>| {
        if let Some(v) = v {
            *slot = *v.get_ref();
        }
    };
    set(&mut out.start_rate, &s.start_rate);
    set(&mut out.growth, &s.growth);
    set(&mut out.max_rate, &s.max_rate);
    if let Some(v) = &s.precision {
        out.precision = share(cx, v)?;
    }
    for (v, slot) in [
        (&s.step, &mut out.step),
        (&s.warmup, &mut out.warmup),
        (&s.confirm, &mut out.confirm),
        (&s.max_time, &mut out.max_time),
    ] {
        if let Some(v) = v {
            *slot = cx.duration(v)?;
        }
    }
    for (v, slot) in [
        (&s.breach_seconds, &mut out.breach_seconds),
        (&s.error_window, &mut out.error_window),
    ] {
        if let Some(v) = v {
            *slot = *v.get_ref();
        }
    }
    out.check().map_err(|e| {
        let at = match e.key {
            "start_rate" => s.start_rate.as_ref().map(Spanned::span),
            "growth" => s.growth.as_ref().map(Spanned::span),
            "max_rate" => s.max_rate.as_ref().map(Spanned::span),
            "precision" => s.precision.as_ref().map(Spanned::span),
            "step" => s.step.as_ref().map(Spanned::span),
            "confirm" => s.confirm.as_ref().map(Spanned::span),
            "max_time" => s.max_time.as_ref().map(Spanned::span),
            "breach_seconds" => s.breach_seconds.as_ref().map(Spanned::span),
            "error_window" => s.error_window.as_ref().map(Spanned::span),
            _ => None,
        };
        located(cx, raw.span(), at, e)
    })?;
    Ok(out)
}

/// `[stress]`: where the sustainable rate comes from, and the episode.
fn stress(cx: &Ctx, raw: &Spanned<raw::Stress>) -> Result<StressSpec, Error> {
    let s = raw.get_ref();
    let mut out = StressSpec::default();
    match (&s.capacity, &s.find) {
        (Some(_), Some(f)) => return cx.err(f.span(), "give capacity or find, not both"),
        (Some(c), None) => out.capacity = super::Capacity::Given(*c.get_ref()),
        (None, Some(f)) => {
            let p = cx.path.parent().unwrap_or(Path::new(".")).join(f.get_ref());
            if !p.is_file() {
                return cx.err(f.span(), format!("no such file: {}", p.display()));
            }
            out.capacity = super::Capacity::FindFile(p);
        }
        (None, None) => {}
    }
    if let Some(v) = &s.overload {
        out.overload = match v.get_ref() {
            toml::Value::String(t) => super::parse_factor(t).or_else(|m| cx.err(v.span(), m))?,
            toml::Value::Float(f) => *f,
            toml::Value::Integer(i) => *i as f64,
            other => {
                return cx.err(
                    v.span(),
                    format!(
                        "expected a factor such as \"2x\" or 2, found {}",
                        other.type_str()
                    ),
                )
            }
        };
    }
    if let Some(v) = &s.baseline {
        out.baseline = share(cx, v)?;
    }
    for (v, slot) in [
        (&s.hold, &mut out.hold),
        (&s.settle, &mut out.settle),
        (&s.recovery, &mut out.recovery),
    ] {
        if let Some(v) = v {
            *slot = cx.duration(v)?;
        }
    }
    if let Some(v) = &s.recovered {
        out.recovered = *v.get_ref();
    }
    out.check().map_err(|e| {
        let at = match e.key {
            "capacity" => s.capacity.as_ref().map(Spanned::span),
            "overload" => s.overload.as_ref().map(Spanned::span),
            "baseline" => s.baseline.as_ref().map(Spanned::span),
            "hold" => s.hold.as_ref().map(Spanned::span),
            "settle" => s.settle.as_ref().map(Spanned::span),
            "recovery" => s.recovery.as_ref().map(Spanned::span),
            "recovered" => s.recovered.as_ref().map(Spanned::span),
            _ => None,
        };
        located(cx, raw.span(), at, e)
    })?;
    Ok(out)
}

fn sweep(cx: &Ctx, raw: &Spanned<raw::Sweep>) -> Result<SweepSpec, Error> {
    let s = raw.get_ref();
    let mut out = SweepSpec::default();
    if let Some(v) = &s.levels {
        out.levels = v.get_ref().clone();
    }
    if let Some(v) = &s.max_concurrency {
        out.max_concurrency = *v.get_ref();
    }
    if let Some(v) = &s.step {
        out.step = cx.duration(v)?;
    }
    if let Some(v) = &s.warmup {
        out.warmup = cx.duration(v)?;
    }
    out.check().map_err(|e| {
        let at = match e.key {
            "levels" => s.levels.as_ref().map(Spanned::span),
            "max_concurrency" => s.max_concurrency.as_ref().map(Spanned::span),
            "step" => s.step.as_ref().map(Spanned::span),
            _ => None,
        };
        located(cx, raw.span(), at, e)
    })?;
    Ok(out)
}

/// "p99" → 0.99, "p999" → 0.999, "p50" → 0.5, "p99.9" → 0.999, "max" → 1.0.
pub fn parse_quantile_label(label: &str) -> Option<f64> {
    if label == "max" {
        return Some(1.0);
    }
    let digits = label.strip_prefix('p')?;
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    // Read the digits as a decimal fraction directly ("999" → 0.999), so
    // that p999 is exactly 0.999 and not 99.9 / 100.
    // Beyond two digits only tail quantiles make sense (p995, p999, p9999);
    // "p100" would otherwise read as p10.
    if !digits.contains('.') && digits.len() > 2 && !digits.starts_with('9') {
        return None;
    }
    let (int, frac) = digits.split_once('.').unwrap_or((
        &digits[..digits.len().min(2)],
        &digits[digits.len().min(2)..],
    ));
    if int.is_empty()
        || int.len() > 2
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let q: f64 = format!("0.{int:0>2}{frac}").parse().ok()?;
    (q > 0.0 && q < 1.0).then_some(q)
}

fn slo(
    cx: &Ctx,
    s: &Spanned<std::collections::BTreeMap<String, Spanned<toml::Value>>>,
    requests: &[RequestSpec],
    load: &LoadSpec,
) -> Result<Slo, Error> {
    let mut out = Slo::default();
    for (key, v) in s.get_ref() {
        match key.as_str() {
            "file" => {
                // The SLO file production uses: its objective judges the run.
                let toml::Value::String(f) = v.get_ref() else {
                    return cx.err(
                        v.span(),
                        "expected the path of an SLO file (slos/NAME.toml)",
                    );
                };
                let path = cx.path.parent().unwrap_or(Path::new(".")).join(f);
                let file = crate::input::slo::load(&path)
                    .or_else(|e| cx.err(v.span(), format!("in the SLO file this names: {e}")))?;
                let (latency, errors) = file.run_thresholds();
                if let Some(l) = latency {
                    out.latency.push(l);
                }
                if let Some(e) = errors {
                    out.error_share = Some(e);
                }
            }
            "min_rate" => {
                let r = match v.get_ref() {
                    toml::Value::String(t) => MinRate::parse(t),
                    toml::Value::Float(f) => MinRate::parse(&f.to_string()),
                    toml::Value::Integer(i) => MinRate::parse(&i.to_string()),
                    other => Err(format!(
                        "expected requests/s like 480 or a share like \"98%\", found {}",
                        other.type_str()
                    )),
                }
                .or_else(|m| cx.err(v.span(), m))?;
                if matches!(r, MinRate::ShareOfTarget(_))
                    && matches!(load.model, LoadModel::Closed { .. })
                {
                    return cx.err(
                        v.span(),
                        "a closed model has no target rate: give min_rate in requests/s",
                    );
                }
                out.min_rate = Some(r);
            }
            "requests" => {
                let toml::Value::Table(t) = v.get_ref() else {
                    return cx.err(v.span(), "expected [slo.requests.NAME] tables");
                };
                for (name, tv) in t {
                    if !requests.iter().any(|r| &r.name == name) {
                        let known: Vec<&str> = requests.iter().map(|r| r.name.as_str()).collect();
                        return cx.err(
                            v.span(),
                            format!(
                                "slo.requests.{name}: no request is named {name:?} (requests: {})",
                                known.join(", ")
                            ),
                        );
                    }
                    let toml::Value::Table(inner) = tv else {
                        return cx.err(v.span(), format!("slo.requests.{name}: expected a table"));
                    };
                    let mut r = RequestSlo {
                        name: name.clone(),
                        latency: Vec::new(),
                        error_share: None,
                    };
                    for (k, val) in inner {
                        let at = |m: String| {
                            Error::at(
                                cx.path,
                                cx.text,
                                Some(v.span()),
                                format!("slo.requests.{name}.{k}: {m}"),
                            )
                        };
                        match threshold(k, val).map_err(at)? {
                            Threshold::Errors(e) => r.error_share = Some(e),
                            Threshold::Latency(l) => r.latency.push(l),
                        }
                    }
                    r.latency.sort_by(|a, b| a.quantile.total_cmp(&b.quantile));
                    out.requests.push(r);
                }
            }
            _ => match threshold(key, v.get_ref()).or_else(|m| cx.err(v.span(), m))? {
                Threshold::Errors(e) => out.error_share = Some(e),
                Threshold::Latency(l) => out.latency.push(l),
            },
        }
    }
    out.latency
        .sort_by(|a, b| a.quantile.total_cmp(&b.quantile));
    Ok(out)
}

/// A threshold that holds for all requests or for one: a latency quantile
/// or the error share.
enum Threshold {
    Latency(LatencySlo),
    Errors(f64),
}

/// One rule for `[slo]` and `[slo.requests.NAME]` alike.
fn threshold(key: &str, v: &toml::Value) -> Result<Threshold, String> {
    if key == "errors" {
        return share_value(v).map(Threshold::Errors);
    }
    latency_slo(key, v).map(Threshold::Latency)
}

fn latency_slo(key: &str, v: &toml::Value) -> Result<LatencySlo, String> {
    let quantile = parse_quantile_label(key).ok_or_else(|| {
        format!(
            "unknown SLO {key:?}: expected a latency quantile (p50, p99, p999, max), errors, min_rate or requests"
        )
    })?;
    let max = match v {
        toml::Value::String(d) => parse_duration(d)?,
        other => {
            return Err(format!(
                "expected a duration like \"250ms\", found {}",
                other.type_str()
            ))
        }
    };
    Ok(LatencySlo {
        label: key.to_string(),
        quantile,
        max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse;

    fn p(text: &str) -> Result<Plan, Error> {
        parse(Path::new("t.toml"), text)
    }

    #[test]
    fn an_error_threshold_of_zero_is_accepted_everywhere() {
        // Regression: `[slo] errors = 0` parsed, `[slo.requests.x] errors = 0`
        // did not (the second copy of the rule lacked the integer arm).
        let text = "target = { url = \"http://127.0.0.1:1\" }\n[[request]]\nname = \"x\"\npath = \"/\"\n[load]\nrate = 10\nduration = \"1s\"\n[slo]\nerrors = 0\n[slo.requests.x]\nerrors = 0\n";
        let plan = p(text).unwrap();
        assert_eq!(plan.slo.error_share, Some(0.0));
        assert_eq!(plan.slo.requests[0].error_share, Some(0.0));
    }

    #[test]
    fn stress_settings_are_checked_where_they_are_written() {
        let base = "target = { url = \"http://127.0.0.1:1\" }\n[load]\nrate = 10\nduration = \"1s\"\n[stress]\n";
        let plan = p(&format!(
            "{base}capacity = 300\noverload = \"1.5x\"\nhold = \"20s\"\nbaseline = \"40%\"\n"
        ))
        .unwrap();
        assert_eq!(plan.stress.capacity, super::super::Capacity::Given(300.0));
        assert_eq!(plan.stress.overload, 1.5);
        assert_eq!(plan.stress.hold, Duration::from_secs(20));
        assert_eq!(plan.stress.baseline, 0.4);
        for (bad, line, want) in [
            ("overload = \"0.5x\"\n", 6, "overload must be more than 1×"),
            ("overload = \"lots\"\n", 6, "expected a factor"),
            ("baseline = \"120%\"\n", 6, ""),
            ("hold = \"500ms\"\n", 6, "hold must be at least 1 s"),
            ("recovered = 0\n", 6, "recovered must be at least 1"),
            (
                "capacity = 10\nfind = \"x.json\"\n",
                7,
                "capacity or find, not both",
            ),
            ("find = \"nope.json\"\n", 6, "no such file"),
            ("warmup = \"1s\"\n", 6, "unknown field"),
        ] {
            let e = p(&format!("{base}{bad}")).unwrap_err().to_string();
            assert!(e.contains(&format!("t.toml:{line}:")), "{bad}: {e}");
            assert!(e.contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn quantile_labels() {
        assert_eq!(parse_quantile_label("p99"), Some(0.99));
        assert_eq!(parse_quantile_label("p999"), Some(0.999));
        assert_eq!(parse_quantile_label("p50"), Some(0.5));
        assert_eq!(parse_quantile_label("p9999"), Some(0.9999));
        assert_eq!(parse_quantile_label("p99.9"), Some(0.999));
        assert_eq!(parse_quantile_label("max"), Some(1.0));
        assert_eq!(parse_quantile_label("p"), None);
        assert_eq!(parse_quantile_label("q99"), None);
        assert_eq!(parse_quantile_label("p100"), None);
    }

    #[test]
    fn steps_expand_to_constant_stages() {
        let plan = p(r#"
            target = { url = "http://127.0.0.1:1" }
            [load]
            stages = [{ kind = "steps", from = 100, to = 300, step = 100, step_duration = "2s" },
                      { kind = "ramp", from = 300, to = 0, duration = "3s" }]
        "#)
        .unwrap();
        let LoadModel::Open { profile, .. } = plan.load.model else {
            panic!("open")
        };
        assert_eq!(profile.stages.len(), 4);
        assert_eq!(profile.duration(), Duration::from_secs(9));
        assert!((profile.total_arrivals() - (200.0 + 400.0 + 600.0 + 450.0)).abs() < 1e-9);
    }

    #[test]
    fn errors_point_at_the_value() {
        let e = p("target = { url = \"http://127.0.0.1:1\" }\n[load]\nrate = 10\nduration = \"10 parsecs\"\n").unwrap_err();
        let Error::Invalid {
            line,
            column,
            message,
            ..
        } = e
        else {
            panic!("{e}")
        };
        assert_eq!((line, column), (4, 12));
        crate::testing::has(&message, "unknown duration unit");
    }
}
