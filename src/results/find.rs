//! `find.json` (schema `headroom.find/1`): every step of a breaking-point
//! search and its answer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::verdict::{Attribution, Verdict};
use crate::scenario::Slo;

pub const SCHEMA: &str = "headroom.find/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Exponential,
    Descent,
    Bisection,
    Confirmation,
}

/// One measured step, as `find.json` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Step {
    pub index: usize,
    pub phase: Phase,
    pub target_rate: f64,
    pub achieved_rate: f64,
    pub throughput: f64,
    pub quantiles_ms: BTreeMap<String, f64>,
    pub error_share: Option<f64>,
    pub samples: u64,
    pub verdict: Verdict,
    pub reason: String,
    /// What held the load back, if anything (absent in files written before
    /// the attribution, as are the fields after it): `none`, `target_saturated`,
    /// `generator_cpu`, `connection_cap` or `local_resources`.
    #[serde(default)]
    pub attribution: Attribution,
    /// Arrivals that found every connection busy when due.
    #[serde(default)]
    pub no_free_connection: u64,
    /// Arrivals never sent: no free connection within the request timeout.
    #[serde(default)]
    pub dropped: u64,
    /// Requests sent and unanswered at the end of the step.
    #[serde(default)]
    pub in_flight_end: u64,
    /// Arrivals waiting for a connection at the end of the step.
    #[serde(default)]
    pub queued_end: u64,
    /// Evidence for the attribution: the send lag's p99 …
    #[serde(default)]
    pub send_lag_p99_ms: Option<f64>,
    /// … and the service time (from the actual send), by quantile.
    #[serde(default)]
    pub service_ms: BTreeMap<String, f64>,
    /// Set when a windowed criterion ended the step early.
    pub stop_reason: Option<String>,
    pub scored_s: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A confirmed sustainable rate and a breaking rate above it.
    Found,
    /// The generator could not drive a step: no verdict on the target.
    GeneratorLimited,
    /// Every rate up to `max_rate` met the SLO.
    NoBreakingPoint,
    /// Even the lowest rate tried failed.
    NoPassingRate,
    /// `max_time` ran out before a confirmed answer.
    TimeBudget,
    /// Four confirmations failed: the service's behaviour is unstable.
    Unconfirmed,
    Interrupted,
    /// Errors that load does not explain (a 403 on every request, refused
    /// connections at a rate already served): not a capacity limit.
    TargetUnusable,
}

impl Phase {
    /// The name `find.json` gives it.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Exponential => "exponential",
            Phase::Descent => "descent",
            Phase::Bisection => "bisection",
            Phase::Confirmation => "confirmation",
        }
    }
}

impl Outcome {
    /// The name `find.json` gives it.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Found => "found",
            Outcome::GeneratorLimited => "generator_limited",
            Outcome::NoBreakingPoint => "no_breaking_point",
            Outcome::NoPassingRate => "no_passing_rate",
            Outcome::TimeBudget => "time_budget",
            Outcome::Unconfirmed => "unconfirmed",
            Outcome::Interrupted => "interrupted",
            Outcome::TargetUnusable => "target_unusable",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SloLine {
    /// A latency quantile's label (`p99`) or `errors`.
    pub name: super::summary::SloName,
    /// Milliseconds for latency, a share for errors.
    pub threshold: f64,
}

impl SloLine {
    /// The SLO's latency and error thresholds, as results list them.
    pub fn of(slo: &Slo) -> Vec<SloLine> {
        let mut lines: Vec<SloLine> = slo
            .latency
            .iter()
            .map(|l| SloLine {
                name: super::summary::SloName::Latency {
                    label: l.label.clone(),
                    quantile: l.quantile,
                },
                threshold: l.max.as_secs_f64() * 1000.0,
            })
            .collect();
        if let Some(e) = slo.error_share {
            lines.push(SloLine {
                name: super::summary::SloName::Errors,
                threshold: e,
            });
        }
        lines
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FindResult {
    pub schema: String,
    pub outcome: Outcome,
    pub reason: String,
    /// Highest rate that passed its confirmation step.
    pub sustainable_rps: Option<f64>,
    /// Lowest rate that failed.
    pub breaking_rps: Option<f64>,
    /// Where p99 latency (or the first SLO quantile) bends upward most.
    pub knee_rps: Option<f64>,
    pub precision: f64,
    pub slo: Vec<SloLine>,
    /// Seconds of load the search used.
    pub load_time_s: f64,
    pub steps: Vec<Step>,
}

/// The sustainable rate a `find.json` found; when it found none, an error
/// that says the search's outcome and why.
pub fn read_sustainable(path: &std::path::Path) -> Result<f64, crate::error::BadInput> {
    let f: FindResult = super::read_json(path, "a headroom find result (find.json)")?;
    f.sustainable_rps.filter(|r| *r > 0.0).ok_or_else(|| {
        crate::error::BadInput(format!(
            "{}: the search found no sustainable rate (outcome {}: {})",
            path.display(),
            f.outcome.label(),
            f.reason
        ))
    })
}
