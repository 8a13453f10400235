//! Plain serde structs that mirror the scenario file, with spans kept so
//! that validation errors can point at the text. Nothing here is checked
//! beyond TOML types; `super::validate` turns these into a `Plan`.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: Option<S<String>>,
    pub seed: Option<u64>,
    pub target: S<Target>,
    #[serde(default, rename = "request")]
    pub requests: Vec<S<Request>>,
    #[serde(default, rename = "flow")]
    pub flows: Vec<S<Flow>>,
    #[serde(default)]
    pub data: BTreeMap<String, S<Data>>,
    pub load: S<Load>,
    pub slo: Option<S<BTreeMap<String, S<toml::Value>>>>,
    pub search: Option<S<Search>>,
    pub sweep: Option<S<Sweep>>,
    pub stress: Option<S<Stress>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stress {
    pub capacity: Option<S<f64>>,
    pub find: Option<S<String>>,
    pub overload: Option<S<toml::Value>>,
    pub hold: Option<S<String>>,
    pub baseline: Option<S<toml::Value>>,
    pub settle: Option<S<String>>,
    pub recovery: Option<S<String>>,
    pub recovered: Option<S<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    pub start_rate: Option<S<f64>>,
    pub growth: Option<S<f64>>,
    pub precision: Option<S<toml::Value>>,
    pub step: Option<S<String>>,
    pub warmup: Option<S<String>>,
    pub confirm: Option<S<String>>,
    pub max_rate: Option<S<f64>>,
    pub max_time: Option<S<String>>,
    pub breach_seconds: Option<S<u32>>,
    pub error_window: Option<S<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    pub levels: Option<S<Vec<u32>>>,
    pub max_concurrency: Option<S<u32>>,
    pub step: Option<S<String>>,
    pub warmup: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub url: S<String>,
    pub timeout: Option<S<String>>,
    pub connect_timeout: Option<S<String>>,
    pub http: Option<S<String>>,
    pub embedded: Option<S<Embedded>>,
    pub tls: Option<S<Tls>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    pub ca_file: Option<S<String>>,
    pub insecure: Option<bool>,
    pub server_name: Option<String>,
    pub client_cert: Option<S<String>>,
    pub client_key: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Embedded {
    pub workers: Option<S<u32>>,
    pub service_time: Option<S<ServiceTime>>,
    /// A count, or "none" for a queue without bound.
    pub queue_limit: Option<S<toml::Value>>,
    pub error_share: Option<S<toml::Value>>,
    pub stall: Option<S<Stall>>,
    pub contention: Option<S<Contention>>,
    pub max_concurrent_streams: Option<S<u32>>,
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
    pub dist: S<String>,
    pub mean: S<String>,
    pub sigma: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stall {
    pub every: S<String>,
    pub pause: S<String>,
}

/// A `[[request]]`, or a step of a flow (`[[flow.step]]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub name: Option<S<String>>,
    pub method: Option<S<String>>,
    pub path: Option<S<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, S<String>>,
    pub body: Option<S<String>>,
    pub weight: Option<S<u32>>,
    pub think_time: Option<S<String>>,
    pub expect: Option<S<Expect>>,
    #[serde(default)]
    pub extract: BTreeMap<String, S<Extract>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    pub name: S<String>,
    pub weight: Option<S<u32>>,
    #[serde(default, rename = "step")]
    pub steps: Vec<S<Request>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub status: Option<S<toml::Value>>,
    #[serde(default)]
    pub headers: BTreeMap<String, S<String>>,
    pub body_contains: Option<S<String>>,
    #[serde(default)]
    pub json: BTreeMap<String, S<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extract {
    pub json: Option<S<String>>,
    pub header: Option<S<String>>,
    pub regex: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    pub file: S<String>,
    pub order: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    pub model: Option<S<String>>,
    pub arrivals: Option<S<String>>,
    pub rate: Option<S<f64>>,
    pub duration: Option<S<String>>,
    pub requests: Option<S<u64>>,
    pub stages: Option<Vec<S<Stage>>>,
    pub concurrency: Option<S<u32>>,
    pub think_time: Option<S<String>>,
    pub threads: Option<S<u32>>,
    pub connections: Option<S<u32>>,
    pub keep_alive: Option<bool>,
    pub streams: Option<S<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub kind: S<String>,
    pub rate: Option<S<f64>>,
    pub from: Option<S<f64>>,
    pub to: Option<S<f64>>,
    pub step: Option<S<f64>>,
    pub duration: Option<S<String>>,
    pub step_duration: Option<S<String>>,
}
