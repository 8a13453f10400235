//! Plain serde structs that mirror the scenario file, with spans kept so
//! that validation errors can point at the text. Nothing here is checked
//! beyond TOML types; `super::validate` turns these into a `Plan`.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: Option<Spanned<String>>,
    pub seed: Option<u64>,
    pub target: Spanned<Target>,
    #[serde(default, rename = "request")]
    pub requests: Vec<Spanned<Request>>,
    #[serde(default, rename = "flow")]
    pub flows: Vec<Spanned<Flow>>,
    #[serde(default)]
    pub data: BTreeMap<String, Spanned<Data>>,
    pub load: Spanned<Load>,
    pub slo: Option<Spanned<BTreeMap<String, Spanned<toml::Value>>>>,
    pub search: Option<Spanned<Search>>,
    pub sweep: Option<Spanned<Sweep>>,
    pub stress: Option<Spanned<Stress>>,
    #[serde(default, rename = "proxy")]
    pub proxies: Vec<Spanned<Proxy>>,
    #[serde(default, rename = "fault")]
    pub faults: Vec<Spanned<Fault>>,
    pub experiment: Option<Spanned<Experiment>>,
}

/// `[[proxy]]`: a fault-injecting proxy this run starts in-process.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proxy {
    pub name: Spanned<String>,
    pub listen: Option<Spanned<String>>,
    pub upstream: Spanned<String>,
}

/// `[[fault]]`: a toxic on a proxy for a window of the run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub name: Spanned<String>,
    pub proxy: Spanned<String>,
    pub api: Option<Spanned<String>>,
    pub toxic: Spanned<BTreeMap<String, Spanned<toml::Value>>>,
    pub at: Spanned<String>,
    #[serde(rename = "for")]
    pub duration: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    pub hypothesis: Option<Spanned<String>>,
    pub recovery_windows: Option<Spanned<u32>>,
    pub abort_if: Option<Spanned<AbortIf>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbortIf {
    pub bad_requests: Spanned<toml::Value>,
}

/// `[target.embedded.dependency]`: what the embedded target calls for
/// each request — a URL, or an embedded service of its own behind the
/// in-process proxy `dependency`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    pub url: Option<Spanned<String>>,
    pub workers: Option<Spanned<u32>>,
    pub service_time: Option<Spanned<ServiceTime>>,
    pub timeout: Option<Spanned<String>>,
    pub retries: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stress {
    pub capacity: Option<Spanned<f64>>,
    pub find: Option<Spanned<String>>,
    pub overload: Option<Spanned<toml::Value>>,
    pub hold: Option<Spanned<String>>,
    pub baseline: Option<Spanned<toml::Value>>,
    pub settle: Option<Spanned<String>>,
    pub recovery: Option<Spanned<String>>,
    pub recovered: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    pub start_rate: Option<Spanned<f64>>,
    pub growth: Option<Spanned<f64>>,
    pub precision: Option<Spanned<toml::Value>>,
    pub step: Option<Spanned<String>>,
    pub warmup: Option<Spanned<String>>,
    pub confirm: Option<Spanned<String>>,
    pub max_rate: Option<Spanned<f64>>,
    pub max_time: Option<Spanned<String>>,
    pub breach_seconds: Option<Spanned<u32>>,
    pub error_window: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    pub levels: Option<Spanned<Vec<u32>>>,
    pub max_concurrency: Option<Spanned<u32>>,
    pub step: Option<Spanned<String>>,
    pub warmup: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub url: Spanned<String>,
    pub timeout: Option<Spanned<String>>,
    pub connect_timeout: Option<Spanned<String>>,
    pub http: Option<Spanned<String>>,
    pub embedded: Option<Spanned<Embedded>>,
    pub tls: Option<Spanned<Tls>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    pub ca_file: Option<Spanned<String>>,
    pub insecure: Option<bool>,
    pub server_name: Option<String>,
    pub client_cert: Option<Spanned<String>>,
    pub client_key: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Embedded {
    pub workers: Option<Spanned<u32>>,
    pub service_time: Option<Spanned<ServiceTime>>,
    /// A count, or "none" for a queue without bound.
    pub queue_limit: Option<Spanned<toml::Value>>,
    pub error_share: Option<Spanned<toml::Value>>,
    pub stall: Option<Spanned<Stall>>,
    pub contention: Option<Spanned<Contention>>,
    pub max_concurrent_streams: Option<Spanned<u32>>,
    pub dependency: Option<Spanned<Dependency>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contention {
    #[serde(default)]
    pub sigma: f64,
    #[serde(default)]
    pub kappa: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceTime {
    pub dist: Spanned<String>,
    pub mean: Spanned<String>,
    pub sigma: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stall {
    pub every: Spanned<String>,
    pub pause: Spanned<String>,
}

/// A `[[request]]`, or a step of a flow (`[[flow.step]]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub name: Option<Spanned<String>>,
    pub method: Option<Spanned<String>>,
    pub path: Option<Spanned<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<String>>,
    pub body: Option<Spanned<String>>,
    pub weight: Option<Spanned<u32>>,
    pub think_time: Option<Spanned<String>>,
    pub expect: Option<Spanned<Expect>>,
    #[serde(default)]
    pub extract: BTreeMap<String, Spanned<Extract>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    pub name: Spanned<String>,
    pub weight: Option<Spanned<u32>>,
    #[serde(default, rename = "step")]
    pub steps: Vec<Spanned<Request>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub status: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<String>>,
    pub body_contains: Option<Spanned<String>>,
    #[serde(default)]
    pub json: BTreeMap<String, Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extract {
    pub json: Option<Spanned<String>>,
    pub header: Option<Spanned<String>>,
    pub regex: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    pub file: Spanned<String>,
    pub order: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    pub model: Option<Spanned<String>>,
    pub arrivals: Option<Spanned<String>>,
    pub rate: Option<Spanned<f64>>,
    pub duration: Option<Spanned<String>>,
    pub requests: Option<Spanned<u64>>,
    pub stages: Option<Vec<Spanned<Stage>>>,
    pub concurrency: Option<Spanned<u32>>,
    pub think_time: Option<Spanned<String>>,
    pub threads: Option<Spanned<u32>>,
    pub connections: Option<Spanned<u32>>,
    pub keep_alive: Option<bool>,
    pub streams: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub kind: Spanned<String>,
    pub rate: Option<Spanned<f64>>,
    pub from: Option<Spanned<f64>>,
    pub to: Option<Spanned<f64>>,
    pub step: Option<Spanned<f64>>,
    pub duration: Option<Spanned<String>>,
    pub step_duration: Option<Spanned<String>>,
}
