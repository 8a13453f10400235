//! `summary.json`: the versioned, documented result of one run
//! (schema `headroom.summary/1`, JSON Schema in `src/results/schemas/summary.schema.json`,
//! generated from these types and checked by `tests/report.rs`).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::metrics::Stats;
use crate::results::verdict::Attribution;
use crate::scenario::Arrivals;

pub const SCHEMA: &str = "headroom.summary/1";

/// The JSON Schema that every `summary.json` satisfies.
pub const JSON_SCHEMA: &str = include_str!("schemas/summary.schema.json");

/// Reads a `summary.json`.
pub fn read(path: &std::path::Path) -> Result<Summary, crate::error::BadInput> {
    super::read_json(path, "a headroom run summary (summary.json)")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LatencySummary {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl LatencySummary {
    /// Milliseconds from a microsecond histogram; `None` when it is empty.
    pub fn from_histogram(h: &Histogram<u64>) -> Option<LatencySummary> {
        if h.is_empty() {
            return None;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Some(LatencySummary {
            mean: h.mean() / 1000.0,
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Errors {
    pub total: u64,
    /// connect_refused, connect_timeout, connect_error, request_timeout,
    /// reset, truncated_head, truncated_body, protocol_error, h2_not_supported,
    /// http_<status>, dropped_no_connection, local_resources, tls_error …
    pub by_kind: BTreeMap<String, u64>,
    /// The first message of each kind that has one (what the HTTP client
    /// said), e.g. `protocol_error`: "invalid HTTP header parsed".
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub samples: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Requests {
    /// Requests with an outcome: ok + errors.
    pub total: u64,
    /// Requests put on the wire.
    pub sent: u64,
    pub ok: u64,
    pub errors: Errors,
}

impl Requests {
    pub fn from_stats(s: &Stats) -> Requests {
        Requests {
            total: s.completed(),
            sent: s.sent,
            ok: s.ok,
            errors: Errors {
                total: s.error_count(),
                by_kind: s.errors.iter().map(|(k, v)| (k.label(), *v)).collect(),
                samples: s
                    .samples
                    .iter()
                    .map(|(k, v)| (k.label(), v.clone()))
                    .collect(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PerRequest {
    pub name: String,
    pub method: String,
    pub path: String,
    pub requests: Requests,
    pub latency_ms: Option<LatencySummary>,
    pub service_time_ms: Option<LatencySummary>,
}

/// The load model a run used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoadKind {
    /// Arrivals at a rate.
    Open,
    /// A fixed number of virtual users.
    Closed,
}

impl LoadKind {
    /// The model of a plan's load, with its arrival process (open model).
    pub fn of(model: &crate::scenario::LoadModel) -> (LoadKind, Option<Arrivals>, Option<u32>) {
        match model {
            crate::scenario::LoadModel::Open { arrivals, .. } => {
                (LoadKind::Open, Some(*arrivals), None)
            }
            crate::scenario::LoadModel::Closed { concurrency, .. } => {
                (LoadKind::Closed, None, Some(*concurrency))
            }
        }
    }
}

/// Which threshold a verdict is about, written as its name: a latency
/// quantile's label (`p99`, `p999`, `max` …), `errors` or `min_rate`.
#[derive(Debug, Clone, PartialEq)]
pub enum SloName {
    /// A latency quantile: its label and the quantile it names.
    Latency { label: String, quantile: f64 },
    /// The error share.
    Errors,
    /// The minimum achieved rate.
    MinRate,
}

impl SloName {
    pub fn label(&self) -> &str {
        match self {
            SloName::Latency { label, .. } => label,
            SloName::Errors => "errors",
            SloName::MinRate => "min_rate",
        }
    }

    /// The inverse of [`label`](Self::label).
    pub fn parse(s: &str) -> Option<SloName> {
        match s {
            "errors" => Some(SloName::Errors),
            "min_rate" => Some(SloName::MinRate),
            label => {
                crate::scenario::parse_quantile_label(label).map(|quantile| SloName::Latency {
                    label: label.to_string(),
                    quantile,
                })
            }
        }
    }
}

impl schemars::JsonSchema for SloName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SloName".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A latency quantile's label (p50, p99, p999, max …), `errors` or `min_rate`."
        })
    }
}

impl Serialize for SloName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

impl<'de> Deserialize<'de> for SloName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SloName::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown SLO {s:?}: expected a latency quantile (p50, p99, max …), errors or min_rate"
            ))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SloVerdict {
    /// `p99`, `errors`, `min_rate`, …: which threshold, and so its unit.
    pub name: SloName,
    /// The request name a `[slo.requests.NAME]` threshold applies to;
    /// absent for thresholds on all requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// Milliseconds for latency, a share for errors, requests/s for min_rate.
    #[serde(deserialize_with = "null_as_nan")]
    #[schemars(with = "Option<f64>")]
    pub threshold: f64,
    /// `None` when nothing was measured.
    pub measured: Option<f64>,
    /// `None` when it cannot be judged (no samples).
    pub pass: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    pub schema: String,
    pub tool: Tool,
    pub scenario: String,
    pub target: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub model: LoadKind,
    /// `uniform` or `poisson` (open model).
    pub arrivals: Option<Arrivals>,
    /// Virtual users (closed model).
    pub concurrency: Option<u32>,
    pub threads: usize,
    /// Seconds of load (until the stop when interrupted).
    pub duration_s: f64,
    /// Scheduled arrivals per second (open model).
    pub target_rate: Option<f64>,
    /// Requests sent per second.
    pub achieved_rate: f64,
    /// Requests answered (ok or error) per second.
    pub throughput: f64,
    pub requests: Requests,
    /// Requests still unanswered when the run ended (abandoned).
    pub in_flight_at_end: u64,
    /// Arrivals that found every connection busy when due (open model),
    /// like k6's dropped_iterations: they waited for a connection, and
    /// those that waited past the request timeout were dropped.
    #[serde(default)]
    pub no_free_connection: u64,
    /// Virtual users (closed model) that never sent a request: no
    /// connection opened for them in the whole run (absent in older
    /// files).
    #[serde(default)]
    pub users_never_sent: u64,
    pub connections_opened: u64,
    pub latency_ms: Option<LatencySummary>,
    pub service_time_ms: Option<LatencySummary>,
    pub send_lag_ms: Option<LatencySummary>,
    /// Connection setup (TCP connect plus TLS handshake), per connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<LatencySummary>,
    pub per_request: Vec<PerRequest>,
    pub slo: Vec<SloVerdict>,
    /// What held the load back, if anything: `none`, `target_saturated`
    /// (the target held every connection and answered slowly: its
    /// backpressure, a failure of the target), `generator_cpu`,
    /// `connection_cap` or `local_resources` (the generator's own limits).
    #[serde(default)]
    pub attribution: Attribution,
    /// The generator's own limits decided the run: no verdict on the target.
    pub generator_limited: bool,
    /// How the generator fell behind its schedule, and whose limit that
    /// was, in words.
    pub generator_notes: Vec<String>,
    /// Errors that load does not explain (a 403 on every request, refused
    /// connections, failed TLS handshakes), in words: not a capacity limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_unusable: Option<String>,
    pub interrupted: bool,
    /// `--abort-on-fail`: the windowed criterion that ended the run early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted: Option<String>,
    /// Things a reader must know, e.g. certificates were not verified.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Set when this run is one segment of a larger run, or a merge of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<SegmentInfo>,
    /// The run's `[[fault]]`s: when each was in effect, what the service
    /// did during and after it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<super::experiment::FaultResult>,
    /// `[experiment]`: held, violated or aborted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<super::experiment::ExperimentResult>,
}

/// Which run a segment belongs to, for `headroom merge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SegmentInfo {
    pub run_id: String,
    /// This segment's index (0-based); absent in a merged summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    pub count: u32,
    /// The shared start time (`--start-at`), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<String>,
    /// A digest of the scenario as run (every setting but the segment), so
    /// that segments of different scenarios are never merged.
    pub plan_digest: String,
}

impl Summary {
    /// True when an SLO was judged and failed, or the target could not
    /// carry the offered load at all (it held every connection).
    pub fn slo_failed(&self) -> bool {
        self.aborted.is_some()
            || self.attribution == Attribution::TargetSaturated
            || self.slo.iter().any(|v| v.pass == Some(false))
    }
}

/// `threshold` is written as null when it cannot be known (NaN).
fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}
