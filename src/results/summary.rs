//! `summary.json`: the versioned, documented result of one run
//! (schema `headroom.summary/1`, JSON Schema in `src/results/summary.schema.json`).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::metrics::limits::{attribute, not_a_capacity_limit, Evidence, Tally};
use crate::metrics::{flow_starts, flows_sent, ErrorKind, Stats};
use crate::results::verdict::Attribution;
use crate::scenario::{Arrivals, Slo};

pub const SCHEMA: &str = "headroom.summary/1";

/// The JSON Schema that every `summary.json` satisfies.
pub const JSON_SCHEMA: &str = include_str!("summary.schema.json");

/// Reads a `summary.json`.
pub fn read(path: &std::path::Path) -> Result<Summary, crate::exit::BadInput> {
    super::read_json(path, "a headroom run summary (summary.json)")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requests {
    /// Requests with an outcome: ok + errors.
    pub total: u64,
    /// Requests put on the wire.
    pub sent: u64,
    pub ok: u64,
    pub errors: Errors,
}

impl Requests {
    fn from_stats(s: &Stats) -> Requests {
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerRequest {
    pub name: String,
    pub method: String,
    pub path: String,
    pub requests: Requests,
    pub latency_ms: Option<LatencySummary>,
    pub service_time_ms: Option<LatencySummary>,
}

/// The load model a run used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloVerdict {
    /// `p99`, `errors`, `min_rate`, …: which threshold, and so its unit.
    pub name: SloName,
    /// The request name a `[slo.requests.NAME]` threshold applies to;
    /// absent for thresholds on all requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// Milliseconds for latency, a share for errors, requests/s for min_rate.
    #[serde(deserialize_with = "null_as_nan")]
    pub threshold: f64,
    /// `None` when nothing was measured.
    pub measured: Option<f64>,
    /// `None` when it cannot be judged (no samples).
    pub pass: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// What a run measured, as the summary builder needs it.
pub struct RunFacts<'a> {
    pub scenario: &'a str,
    pub target: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub model: LoadKind,
    pub arrivals: Option<Arrivals>,
    pub concurrency: Option<u32>,
    pub threads: usize,
    pub duration_s: f64,
    /// From the start until the last answer was in (or given up on): the
    /// duration and the wait for answers after it.
    pub elapsed_s: f64,
    /// Arrivals the schedule released (open model).
    pub scheduled: Option<u64>,
    pub totals: &'a [Stats],
    pub names: Vec<(String, String, String)>,
    pub in_flight_at_end: u64,
    /// Arrivals that found every connection busy when due.
    pub no_free_connection: u64,
    /// Requests the connections could carry at once.
    pub lanes: u64,
    /// The request timeout (answers near it count as slow).
    pub timeout: std::time::Duration,
    pub connections_opened: u64,
    pub interrupted: bool,
}

impl Summary {
    pub fn build(f: RunFacts<'_>, slo: &Slo) -> Summary {
        let mut all = Stats::default();
        for t in f.totals {
            all.merge(t);
        }
        let d = f.duration_s.max(1e-9);
        let target_rate = f.scheduled.map(|n| n as f64 / d);
        // Arrivals start flows: the achieved rate counts first steps only.
        let starts = flow_starts(f.names.iter().map(|(n, _, _)| n.as_str()));
        let started = flows_sent(f.totals, &starts);
        let achieved_rate = started as f64 / d;
        let send_lag_ms = LatencySummary::from_histogram(&all.lag);
        let kind = |k| all.errors.get(&k).copied().unwrap_or(0);
        let limit = attribute(
            &Evidence {
                open_model: f.scheduled.is_some(),
                scheduled: f.scheduled.unwrap_or(0),
                sent: started + all.connect_failures(),
                no_free_connection: f.no_free_connection,
                dropped: kind(ErrorKind::DroppedNoConnection),
                local_errors: kind(ErrorKind::LocalResources),
                timeouts: kind(ErrorKind::ConnectTimeout) + kind(ErrorKind::RequestTimeout),
                lanes: f.lanes,
                lag: &all.lag,
                service: &all.service,
                timeout: f.timeout,
            },
            slo,
        );
        let mut notes = limit.behind.clone();
        if !notes.is_empty() {
            notes.push(limit.why.clone());
        }
        let (tallies, per_request): (Vec<Tally>, Vec<PerRequest>) = f
            .totals
            .iter()
            .zip(&f.names)
            .map(|(s, (name, method, path))| {
                let tally = Tally {
                    path: path.clone(),
                    completed: s.completed(),
                    errors: s.errors.clone(),
                };
                let per_request = PerRequest {
                    name: name.clone(),
                    method: method.clone(),
                    path: path.clone(),
                    requests: Requests::from_stats(s),
                    latency_ms: LatencySummary::from_histogram(&s.latency),
                    service_time_ms: LatencySummary::from_histogram(&s.service),
                };
                (tally, per_request)
            })
            .unzip();
        let target_unusable = not_a_capacity_limit(&tallies, target_rate, slo.error_share);
        Summary {
            schema: SCHEMA.into(),
            tool: Tool {
                name: "headroom".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            scenario: f.scenario.into(),
            target: f.target,
            started_at: f
                .started_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            model: f.model,
            arrivals: f.arrivals,
            concurrency: f.concurrency,
            threads: f.threads,
            duration_s: f.duration_s,
            target_rate,
            achieved_rate,
            // Answers, over the time it took to get them: a timeout is no
            // answer, and answers that came after the end took that long.
            throughput: all.answered() as f64 / f.elapsed_s.max(d),
            requests: Requests::from_stats(&all),
            in_flight_at_end: f.in_flight_at_end,
            no_free_connection: f.no_free_connection,
            connections_opened: f.connections_opened,
            latency_ms: LatencySummary::from_histogram(&all.latency),
            service_time_ms: LatencySummary::from_histogram(&all.service),
            send_lag_ms,
            connect_ms: LatencySummary::from_histogram(&all.connect),
            per_request,
            slo: judge(
                slo,
                &all,
                &f.totals
                    .iter()
                    .zip(&f.names)
                    .map(|(s, (n, _, _))| (n.as_str(), s))
                    .collect::<Vec<_>>(),
                achieved_rate,
                target_rate,
            ),
            attribution: limit.attribution,
            generator_limited: limit.attribution.is_generator(),
            generator_notes: notes,
            target_unusable,
            interrupted: f.interrupted,
            aborted: None,
            warnings: Vec::new(),
            segment: None,
            faults: Vec::new(),
            experiment: None,
        }
    }

    /// True when an SLO was judged and failed, or the target could not
    /// carry the offered load at all (it held every connection).
    pub fn slo_failed(&self) -> bool {
        self.aborted.is_some()
            || self.attribution == Attribution::TargetSaturated
            || self.slo.iter().any(|v| v.pass == Some(false))
    }
}

/// Judges every SLO on whole-run totals: global thresholds on all
/// requests, `[slo.requests.NAME]` on that name's own, the minimum rate on
/// the achieved (sent) rate.
pub fn judge(
    slo: &Slo,
    all: &Stats,
    per_request: &[(&str, &Stats)],
    achieved_rate: f64,
    target_rate: Option<f64>,
) -> Vec<SloVerdict> {
    let mut out = judge_stats(&slo.latency, slo.error_share, all, None);
    if let Some(min) = &slo.min_rate {
        let threshold = min.rps(target_rate);
        out.push(SloVerdict {
            name: SloName::MinRate,
            request: None,
            threshold: threshold.unwrap_or(f64::NAN),
            measured: Some(achieved_rate),
            pass: threshold.map(|t| achieved_rate >= t),
        });
    }
    for r in &slo.requests {
        if let Some((_, s)) = per_request.iter().find(|(n, _)| *n == r.name) {
            out.extend(judge_stats(&r.latency, r.error_share, s, Some(&r.name)));
        }
    }
    out
}

fn judge_stats(
    latency: &[crate::scenario::LatencySlo],
    error_share: Option<f64>,
    s: &Stats,
    request: Option<&str>,
) -> Vec<SloVerdict> {
    let mut out: Vec<SloVerdict> = latency
        .iter()
        .map(|l| {
            let threshold = l.max.as_secs_f64() * 1000.0;
            let measured = (!s.latency.is_empty())
                .then(|| s.latency.value_at_quantile(l.quantile) as f64 / 1000.0);
            SloVerdict {
                name: SloName::Latency {
                    label: l.label.clone(),
                    quantile: l.quantile,
                },
                request: request.map(str::to_string),
                threshold,
                measured,
                pass: measured.map(|m| m <= threshold),
            }
        })
        .collect();
    if let Some(max) = error_share {
        let total = s.completed();
        let measured = (total > 0).then(|| s.error_count() as f64 / total as f64);
        out.push(SloVerdict {
            name: SloName::Errors,
            request: request.map(str::to_string),
            threshold: max,
            measured,
            pass: measured.map(|m| m <= max),
        });
    }
    out
}

/// `threshold` is written as null when it cannot be known (NaN).
fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}
