//! Scenario files: TOML in, a validated [`Plan`] out.
//!
//! Parsing happens once, in two steps (ripgrep's low/high args): serde fills
//! the plain structs of [`raw`], then [`validate`] checks every value and
//! builds the typed plan. Past this module nothing re-validates. Every error
//! names the file, line and column and says what was expected.

pub mod chaos;
mod check;
pub mod flow;
mod raw;
mod requests;
mod searches;
pub mod template;
mod validate;

use std::path::Path;
use std::time::Duration;

use http::{HeaderName, Method};

pub use crate::input::slo::LatencySlo;
pub use crate::input::url::BaseUrl;
pub use crate::input::Error;
pub use flow::{DataOrder, DataSource, Expect, Extraction, FlowSpec};
pub use searches::{parse_factor, Capacity, SearchSpec, StressSpec, SweepSpec};
pub use template::Text;
pub use validate::parse_quantile_label;

use crate::embedded::TargetConfig;

/// A validated scenario: what to send, where, how fast, and what counts as good.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub target: TargetSpec,
    /// Every request and every flow step, each with its own name (and its
    /// own measurements).
    pub requests: Vec<RequestSpec>,
    /// What an arrival (open model) or a virtual user's turn (closed model)
    /// runs, chosen by weight; a `[[request]]` is a flow of one step.
    pub flows: Vec<FlowSpec>,
    /// `[data.NAME]` files feeding `{{ NAME.COLUMN }}`.
    pub data: std::sync::Arc<Vec<DataSource>>,
    /// HTTP version: ALPN on https://, prior knowledge (h2c) on http://.
    pub http: HttpVersion,
    pub load: LoadSpec,
    pub timeouts: Timeouts,
    pub slo: Slo,
    pub search: SearchSpec,
    pub sweep: SweepSpec,
    pub stress: StressSpec,
    /// Seeds Poisson arrivals and request choice, so runs are repeatable.
    pub seed: u64,
    /// Certificates for https:// targets.
    pub tls: TlsSpec,
    /// Proxies, faults on the run's clock, and the experiment judged.
    pub chaos: chaos::Chaos,
}

#[derive(Debug, Clone)]
pub enum TargetSpec {
    /// An HTTP server at this base URL.
    Url(BaseUrl),
    /// The embedded synthetic service, started in-process.
    Embedded(TargetConfig),
}

/// `[target.tls]`: how to trust (or present) certificates on https://.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsSpec {
    /// PEM file of extra trusted roots (a private CA), beside the bundled
    /// Mozilla roots.
    pub ca_file: Option<std::path::PathBuf>,
    /// Accept any server certificate (self-signed staging). Warned about
    /// in every summary.
    pub insecure: bool,
    /// SNI and certificate name, when not the URL's host.
    pub server_name: Option<String>,
    /// mTLS: PEM certificate chain and private key presented to the server.
    pub client_cert: Option<std::path::PathBuf>,
    pub client_key: Option<std::path::PathBuf>,
}

/// `http = "auto" | "1.1" | "2"` in `[target]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub enum HttpVersion {
    /// https://: offer h2 and http/1.1 by ALPN, use what the server picks;
    /// http://: HTTP/1.1.
    #[default]
    Auto,
    Http1,
    /// https://: h2 by ALPN; http://: h2c with prior knowledge.
    Http2,
}

impl HttpVersion {
    pub fn parse(text: &str) -> Result<HttpVersion, String> {
        match text {
            "auto" => Ok(HttpVersion::Auto),
            "1.1" | "1" => Ok(HttpVersion::Http1),
            "2" => Ok(HttpVersion::Http2),
            other => Err(format!(
                "expected http = \"auto\", \"1.1\" or \"2\", found {other:?}"
            )),
        }
    }
}

/// One request (a `[[request]]`, or one step of a flow).
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// `NAME` for a request, `FLOW/STEP` for a flow step.
    pub name: String,
    pub method: Method,
    /// Path and query, starting with '/'.
    pub path: Text,
    pub headers: Vec<(HeaderName, Text)>,
    pub body: Text,
    pub weight: u32,
    pub expect: Expect,
    pub extract: Vec<Extraction>,
    /// Pause after this step's answer, before the flow's next step.
    pub think_time: Duration,
}

impl RequestSpec {
    pub fn get(name: &str, path: &str) -> RequestSpec {
        RequestSpec {
            name: name.to_string(),
            method: Method::GET,
            path: Text::literal(path),
            headers: Vec::new(),
            body: Text::literal(""),
            weight: 1,
            expect: Expect::default(),
            extract: Vec::new(),
            think_time: Duration::ZERO,
        }
    }
}

/// One single-step flow per request, with the request's weight.
pub fn flows_of(requests: &[RequestSpec]) -> Vec<FlowSpec> {
    requests
        .iter()
        .enumerate()
        .map(|(i, r)| FlowSpec {
            name: r.name.clone(),
            weight: r.weight,
            steps: i..i + 1,
            slots: 0,
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub model: LoadModel,
    /// Shard threads, each with its own runtime, connections and histograms.
    pub threads: usize,
    /// Most connections open at once (open model; the closed model uses one
    /// per virtual user).
    pub max_connections: usize,
    /// Open all `max_connections` before the first arrival (set when the
    /// user gives `connections`, as wrk and oha do with -c); otherwise
    /// connections open as arrivals need them.
    pub warm_connections: bool,
    /// Stop after this many requests, whatever the clock says.
    pub max_requests: Option<u64>,
    /// Which part of the schedule this process plays (`--segment i/N`).
    pub segment: Segment,
    /// Wall-clock start shared by all segments (`--start-at`); `None`:
    /// start now.
    pub start_at: Option<std::time::SystemTime>,
    /// Reuse connections (HTTP/1.1 keep-alive, the default); `false` opens
    /// a new connection for every request and sends `Connection: close`.
    pub keep_alive: bool,
    /// HTTP/2: most requests in flight on one connection (the server's
    /// SETTINGS_MAX_CONCURRENT_STREAMS is respected as well).
    pub streams: usize,
}

/// How long to wait for a `--start-at` moment; refused when it is more than
/// half a second past (segments that start late would not line up).
pub fn start_delay(at: std::time::SystemTime) -> Result<Duration, String> {
    match at.duration_since(std::time::SystemTime::now()) {
        Ok(wait) => Ok(wait),
        Err(late) if late.duration() > Duration::from_millis(500) => Err(format!(
            "--start-at is {:.1} s in the past",
            late.duration().as_secs_f64()
        )),
        Err(_) => Ok(Duration::ZERO),
    }
}

/// Connections a run may open when the scenario does not say.
pub const DEFAULT_CONNECTIONS: usize = 1024;

impl LoadSpec {
    /// `model` with every other setting at its default (threads: one per
    /// core, less one for an embedded target).
    pub fn new(model: LoadModel, embedded: bool) -> LoadSpec {
        LoadSpec {
            model,
            threads: default_threads(embedded),
            max_connections: DEFAULT_CONNECTIONS,
            warm_connections: false,
            max_requests: None,
            segment: Segment::default(),
            start_at: None,
            keep_alive: true,
            streams: DEFAULT_STREAMS,
        }
    }
}

/// Segment `index` of `count` equal parts of a run: open model, every
/// `count`-th arrival from `index` (so the segments together play the exact
/// global schedule); closed model, an even share of the virtual users and
/// of the request budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub index: u32,
    pub count: u32,
}

impl Default for Segment {
    fn default() -> Self {
        Segment { index: 0, count: 1 }
    }
}

impl Segment {
    /// Parses `i/N` with 0 ≤ i < N.
    pub fn parse(text: &str) -> Result<Segment, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("expected i/N such as 0/4, found {text:?}"))?;
        let parse = |v: &str| {
            v.trim()
                .parse::<u32>()
                .map_err(|_| format!("expected i/N such as 0/4, found {text:?}"))
        };
        let (index, count) = (parse(i)?, parse(n)?);
        if count == 0 || index >= count {
            return Err(format!("segment {index}/{count}: need 0 ≤ i < N"));
        }
        Ok(Segment { index, count })
    }

    pub fn is_whole(&self) -> bool {
        self.count == 1
    }

    /// This segment's share of `n` (users, requests).
    pub fn share(&self, n: u64) -> u64 {
        even_share(n, u64::from(self.index), u64::from(self.count))
    }
}

/// Part `index` of `n` split into `of` parts as even as possible (the
/// first `n mod of` parts get one more).
pub fn even_share(n: u64, index: u64, of: u64) -> u64 {
    n / of + u64::from(index < n % of)
}

#[derive(Debug, Clone)]
pub enum LoadModel {
    /// Arrivals on a schedule, whatever the responses do.
    Open {
        profile: Profile,
        arrivals: Arrivals,
    },
    /// A fixed number of virtual users, each sending its next request when
    /// the last one has been answered (plus think time).
    Closed {
        concurrency: u32,
        think_time: Duration,
        duration: Duration,
    },
}

impl LoadModel {
    pub fn duration(&self) -> Duration {
        match self {
            LoadModel::Open { profile, .. } => profile.duration(),
            LoadModel::Closed { duration, .. } => *duration,
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Arrivals {
    /// Evenly spaced by the profile's rate.
    Uniform,
    /// A Poisson process with the profile's rate.
    Poisson,
}

impl Arrivals {
    /// `uniform` or `poisson`, as scenarios and results write it.
    pub fn label(self) -> &'static str {
        match self {
            Arrivals::Uniform => "uniform",
            Arrivals::Poisson => "poisson",
        }
    }
}

/// The arrival rate over time: stages played one after another.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stage {
    Constant {
        rate: f64,
        duration: Duration,
    },
    /// Linear from `from` to `to` requests/s.
    Ramp {
        from: f64,
        to: f64,
        duration: Duration,
    },
}

impl Stage {
    pub fn duration(&self) -> Duration {
        match *self {
            Stage::Constant { duration, .. } | Stage::Ramp { duration, .. } => duration,
        }
    }
}

impl Profile {
    pub fn constant(rate: f64, duration: Duration) -> Profile {
        Profile {
            stages: vec![Stage::Constant { rate, duration }],
        }
    }
    pub fn duration(&self) -> Duration {
        self.stages.iter().map(Stage::duration).sum()
    }
    /// Requests the whole profile schedules (the integral of the rate).
    pub fn total_arrivals(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| match *s {
                Stage::Constant { rate, duration } => rate * duration.as_secs_f64(),
                Stage::Ramp { from, to, duration } => (from + to) / 2.0 * duration.as_secs_f64(),
            })
            .sum()
    }
    /// Mean rate over the profile.
    pub fn mean_rate(&self) -> f64 {
        let d = self.duration().as_secs_f64();
        if d > 0.0 {
            self.total_arrivals() / d
        } else {
            0.0
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub request: Duration,
    pub connect: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            request: Duration::from_secs(10),
            connect: Duration::from_secs(3),
        }
    }
}

/// Service-level objectives judged on a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Slo {
    pub latency: Vec<LatencySlo>,
    /// Largest acceptable share of failed requests (0..=1).
    pub error_share: Option<f64>,
    /// Lowest acceptable achieved (sent) rate.
    pub min_rate: Option<MinRate>,
    /// Thresholds for one request name each (`[slo.requests.NAME]`).
    pub requests: Vec<RequestSlo>,
}

impl Slo {
    /// p99 ≤ `max`, and the error share ≤ `errors` when given: the SLO a
    /// quick `--slo p99=… --slo errors=…` makes.
    pub fn p99(max: Duration, errors: Option<f64>) -> Slo {
        Slo {
            latency: vec![LatencySlo {
                label: "p99".into(),
                quantile: 0.99,
                max,
            }],
            error_share: errors,
            ..Slo::default()
        }
    }
}

/// `min_rate = 480` (requests/s) or `min_rate = "98%"` (of the target rate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MinRate {
    Rps(f64),
    ShareOfTarget(f64),
}

impl MinRate {
    /// The threshold in requests/s; `None` for a share without a target rate.
    pub fn rps(&self, target_rate: Option<f64>) -> Option<f64> {
        match *self {
            MinRate::Rps(r) => Some(r),
            MinRate::ShareOfTarget(s) => target_rate.map(|t| s * t),
        }
    }

    /// Parses `480` or `98%`.
    pub fn parse(text: &str) -> Result<MinRate, String> {
        let t = text.trim();
        if t.ends_with('%') {
            return crate::units::parse_share(t).map(MinRate::ShareOfTarget);
        }
        match t.parse::<f64>() {
            Ok(r) if r.is_finite() && r >= 0.0 => Ok(MinRate::Rps(r)),
            _ => Err(format!(
                "expected requests/s like 480 or a share of the target rate like \"98%\", found {text:?}"
            )),
        }
    }
}

/// Thresholds judged on one request name's own measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSlo {
    pub name: String,
    pub latency: Vec<LatencySlo>,
    pub error_share: Option<f64>,
}

impl Slo {
    /// Sets SLOs from `--slo NAME=VALUE` flags (p99=250ms, errors=1%),
    /// replacing any of the same name.
    pub fn apply_flags(&mut self, flags: &[(String, String)]) -> Result<(), Error> {
        for (name, value) in flags {
            // The keys a scenario's [slo] takes, no others (an alias
            // `rate` was taken here and refused in a file).
            if name == "min_rate" {
                self.min_rate = Some(
                    MinRate::parse(value)
                        .map_err(|e| Error::Flags(format!("--slo {name}: {e}")))?,
                );
                continue;
            }
            if name == "errors" {
                self.error_share = Some(
                    crate::units::parse_share(value)
                        .map_err(|e| Error::Flags(format!("--slo errors: {e}")))?,
                );
                continue;
            }
            let quantile = parse_quantile_label(name).ok_or_else(|| {
                Error::Flags(format!(
                    "--slo {name}: expected a latency quantile (p50, p99, p999, max), errors or min_rate"
                ))
            })?;
            let max = crate::units::parse_duration(value)
                .map_err(|e| Error::Flags(format!("--slo {name}: {e}")))?;
            self.latency.retain(|l| l.label != *name);
            self.latency.push(LatencySlo {
                label: name.clone(),
                quantile,
                max,
            });
        }
        self.latency
            .sort_by(|a, b| a.quantile.total_cmp(&b.quantile));
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.latency.is_empty()
            && self.error_share.is_none()
            && self.min_rate.is_none()
            && self.requests.is_empty()
    }
}

/// Values given on the command line that replace (or, without a file, make
/// up) a scenario.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub url: Option<String>,
    pub rate: Option<f64>,
    pub concurrency: Option<u32>,
    pub duration: Option<Duration>,
    pub requests: Option<u64>,
    pub threads: Option<usize>,
    pub connections: Option<usize>,
    pub timeout: Option<Duration>,
    pub poisson: bool,
    /// `--no-keep-alive`: a new connection per request.
    pub no_keep_alive: bool,
    /// `--http`: the HTTP version.
    pub http: Option<HttpVersion>,
}

/// Reads and validates a scenario file.
pub fn load(path: &Path) -> Result<Plan, Error> {
    let text = std::fs::read_to_string(path).map_err(|io| Error::Read {
        path: path.to_path_buf(),
        io,
    })?;
    parse(path, &text)
}

/// Validates scenario text; `path` is used in error messages.
pub fn parse(path: &Path, text: &str) -> Result<Plan, Error> {
    let raw: raw::Scenario = toml::from_str(text).map_err(|e| {
        let message = plain_types(e.message().trim_end(), key_at(text, e.span()));
        Error::at(path, text, e.span(), message)
    })?;
    validate::plan(path, text, raw)
}

/// The key on the line of `span` (`rate` in `rate = "fast"`).
fn key_at(text: &str, span: Option<std::ops::Range<usize>>) -> Option<&str> {
    let at = span?.start.min(text.len());
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[start..];
    let line = &line[..line.find('\n').unwrap_or(line.len())];
    let key = line.split_once('=')?.0.trim();
    (!key.is_empty() && !key.starts_with('[')).then_some(key)
}

/// serde's type names in words a scenario's author reads (`expected f64`
/// is `expected a number`), with what the key means where known.
fn plain_types(message: &str, key: Option<&str>) -> String {
    let meaning = match key {
        Some("rate" | "from" | "to" | "start_rate" | "max_rate") => {
            Some("a number of requests per second")
        }
        Some("concurrency" | "threads" | "connections" | "streams" | "requests" | "workers") => {
            Some("a whole number")
        }
        _ => None,
    };
    let mut m = message.to_string();
    for (rust, words) in [
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected u64", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected u16", "expected a whole number"),
        ("expected usize", "expected a whole number"),
        ("expected i64", "expected an integer"),
        ("expected i32", "expected an integer"),
    ] {
        m = m.replace(rust, words);
    }
    match (meaning, key) {
        (Some(meaning), Some(key)) if m.starts_with("invalid type") => {
            format!("{m} ({key} is {meaning})")
        }
        _ => m,
    }
}

/// HTTP/2 streams per connection unless `[load] streams` says otherwise
/// (nginx's default limit is 128; h2load and oha default to one).
pub const DEFAULT_STREAMS: usize = 100;

/// Default shard threads: every core, less one when the embedded target
/// runs in the same process.
pub fn default_threads(embedded: bool) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if embedded {
        cores.saturating_sub(1).max(1)
    } else {
        cores
    }
}

impl Plan {
    /// A plan made from flags alone: `headroom run --url … --rate …`.
    pub fn from_flags(o: &Overrides) -> Result<Plan, Error> {
        o.check()?;
        let url = o
            .url
            .as_deref()
            .ok_or_else(|| Error::Flags("give a scenario file or --url".into()))?;
        let (target, path) = if url == "embedded" {
            (
                TargetSpec::Embedded(TargetConfig::default()),
                "/".to_string(),
            )
        } else {
            let base = BaseUrl::parse(url).map_err(|e| Error::Flags(format!("--url: {e}")))?;
            let uri: http::Uri = url
                .parse()
                .map_err(|e| Error::Flags(format!("--url {url:?}: {e}")))?;
            let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
            let base = BaseUrl {
                base_path: String::new(),
                ..base
            };
            (TargetSpec::Url(base), path)
        };
        let duration = o.duration.unwrap_or(Duration::from_secs(10));
        let model = match (o.rate, o.concurrency) {
            (Some(_), Some(_)) => {
                return Err(Error::Flags(
                    "give --rate (open model) or --concurrency (closed model), not both".into(),
                ))
            }
            (None, Some(c)) => LoadModel::Closed {
                concurrency: c,
                think_time: Duration::ZERO,
                duration,
            },
            (Some(r), None) => LoadModel::Open {
                profile: Profile::constant(r, duration),
                arrivals: if o.poisson {
                    Arrivals::Poisson
                } else {
                    Arrivals::Uniform
                },
            },
            (None, None) => {
                return Err(Error::Flags(
                    "give --rate R (open model) or --concurrency C (closed model)".into(),
                ))
            }
        };
        let embedded = matches!(target, TargetSpec::Embedded(_));
        let requests = vec![RequestSpec::get("default", &path)];
        let mut plan = Plan {
            name: "run".into(),
            target,
            flows: flows_of(&requests),
            requests,
            data: Default::default(),
            http: HttpVersion::Auto,
            load: LoadSpec::new(model, embedded),
            timeouts: Timeouts::default(),
            slo: Slo::default(),
            search: SearchSpec::default(),
            stress: StressSpec::default(),
            sweep: SweepSpec::default(),
            seed: 1,
            tls: TlsSpec::default(),
            chaos: chaos::Chaos::default(),
        };
        plan.apply(&Overrides {
            url: None,
            rate: None,
            concurrency: None,
            duration: None,
            ..o.clone()
        })?;
        Ok(plan)
    }

    /// Applies command-line values over the file's.
    pub fn apply(&mut self, o: &Overrides) -> Result<(), Error> {
        if let Some(url) = &o.url {
            if url == "embedded" {
                if !matches!(self.target, TargetSpec::Embedded(_)) {
                    self.target = TargetSpec::Embedded(TargetConfig::default());
                }
            } else {
                let base = BaseUrl::parse(url).map_err(|e| Error::Flags(format!("--url: {e}")))?;
                self.target = TargetSpec::Url(base);
            }
        }
        let duration = o.duration.unwrap_or_else(|| self.load.model.duration());
        o.check()?;
        if o.rate.is_some() && o.concurrency.is_some() {
            return Err(Error::Flags(
                "give --rate or --concurrency, not both".into(),
            ));
        }
        if let Some(rate) = o.rate {
            let arrivals = match &self.load.model {
                LoadModel::Open { arrivals, .. } => *arrivals,
                LoadModel::Closed { .. } => Arrivals::Uniform,
            };
            self.load.model = LoadModel::Open {
                profile: Profile::constant(rate, duration),
                arrivals,
            };
        } else if let Some(c) = o.concurrency {
            let think_time = match &self.load.model {
                LoadModel::Closed { think_time, .. } => *think_time,
                LoadModel::Open { .. } => Duration::ZERO,
            };
            self.load.model = LoadModel::Closed {
                concurrency: c,
                think_time,
                duration,
            };
        } else if let Some(d) = o.duration {
            match &mut self.load.model {
                LoadModel::Open { profile, .. } => {
                    if let [Stage::Constant { duration, .. }] = profile.stages.as_mut_slice() {
                        *duration = d;
                    } else {
                        return Err(Error::Flags(
                            "--duration applies to a constant-rate profile; this scenario has stages (give --rate too)".into(),
                        ));
                    }
                }
                LoadModel::Closed { duration, .. } => *duration = d,
            }
        }
        if o.poisson {
            if let LoadModel::Open { arrivals, .. } = &mut self.load.model {
                *arrivals = Arrivals::Poisson;
            }
        }
        if let Some(n) = o.requests {
            self.load.max_requests = Some(n);
        }
        if let Some(t) = o.threads {
            self.load.threads = t;
        }
        if let Some(c) = o.connections {
            self.load.max_connections = c;
            self.load.warm_connections = true;
        }
        if let Some(t) = o.timeout {
            self.timeouts.request = t;
        }
        if o.no_keep_alive {
            self.load.keep_alive = false;
        }
        if let Some(v) = o.http {
            self.http = v;
        }
        check_model(&self.load.model).map_err(Error::Flags)
    }
}

impl Overrides {
    /// Counts and times of zero mean nothing a run can do.
    fn check(&self) -> Result<(), Error> {
        let o = self;
        for (flag, zero) in [
            ("--requests", o.requests == Some(0)),
            ("--threads", o.threads == Some(0)),
            ("--connections", o.connections == Some(0)),
            ("--concurrency", o.concurrency == Some(0)),
        ] {
            if zero {
                return Err(Error::Flags(format!("{flag} must be at least 1")));
            }
        }
        if o.timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::Flags(
                "--timeout must be longer than zero (every request would time out)".into(),
            ));
        }
        if o.duration.is_some_and(|d| d.is_zero()) {
            return Err(Error::Flags("--duration must be longer than zero".into()));
        }
        Ok(())
    }
}

/// The highest rate one headroom process is asked to schedule. The fastest
/// HTTP generators send about a million requests/s from a whole machine;
/// ten times that is a typo (`1e12`), not a test — and each arrival costs
/// CPU to schedule even when no connection can take it.
pub const MAX_RATE: f64 = 1e7;

/// A rate is finite, ≥ 0 and at most [`MAX_RATE`].
pub fn check_rate(r: f64) -> Result<(), String> {
    if !(r.is_finite() && r >= 0.0) {
        return Err(format!("expected a rate ≥ 0 requests/s, found {r}"));
    }
    if r > MAX_RATE {
        return Err(format!(
            "a rate of {r} requests/s is beyond what one generator can send (at most {MAX_RATE:.0} requests/s)"
        ));
    }
    Ok(())
}

/// Checks that hold however the model was made (file or flags).
fn check_model(model: &LoadModel) -> Result<(), String> {
    match model {
        LoadModel::Open { profile, .. } => {
            for s in &profile.stages {
                let (a, b) = match *s {
                    Stage::Constant { rate, .. } => (rate, rate),
                    Stage::Ramp { from, to, .. } => (from, to),
                };
                for r in [a, b] {
                    check_rate(r)?;
                }
            }
            if profile.duration().is_zero() {
                return Err("the load profile lasts no time: give a duration".into());
            }
            if profile.total_arrivals() < 1.0 {
                return Err("the load profile schedules no request (rate × duration < 1)".into());
            }
        }
        LoadModel::Closed {
            concurrency,
            duration,
            ..
        } => {
            if *concurrency == 0 {
                return Err("concurrency must be at least 1".into());
            }
            if duration.is_zero() {
                return Err("a closed-model run needs a duration".into());
            }
        }
    }
    Ok(())
}
