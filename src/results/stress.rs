//! `stress.json` (schema `headroom.stress/1`): a stress test's phases,
//! seconds and verdict.

use serde::{Deserialize, Serialize};

use super::find::SloLine;
use super::verdict::Attribution;

pub const SCHEMA: &str = "headroom.stress/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhaseName {
    Baseline,
    Overload,
    Recovery,
}

impl PhaseName {
    pub fn label(self) -> &'static str {
        match self {
            PhaseName::Baseline => "baseline",
            PhaseName::Overload => "overload",
            PhaseName::Recovery => "recovery",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StressVerdict {
    Graceful,
    Degraded,
    Collapse,
    Inconclusive,
}

/// One second of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Second {
    /// Seconds from the start of the run.
    pub t: u64,
    pub phase: PhaseName,
    /// Arrivals due.
    pub offered: u64,
    /// Arrivals sent (flows started).
    pub sent: u64,
    pub ok: u64,
    /// Answers that succeeded within the latency threshold.
    pub good: u64,
    pub errors: u64,
    /// 503 and 429 answers: load refused.
    pub refused: u64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub service_p99_ms: Option<f64>,
    pub send_lag_p99_ms: Option<f64>,
    pub no_free_connection: u64,
    /// Requests sent and unanswered at the end of the second.
    pub in_flight: u64,
    /// Arrivals waiting for a connection at the end of the second.
    pub queued: u64,
    /// Every SLO held in this second.
    pub within_slo: bool,
    /// Requests the target answered, with any status (not timeouts,
    /// resets or connections refused; absent in older files).
    #[serde(default)]
    pub answered: u64,
    pub attribution: Attribution,
}

/// One phase, all its seconds together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PhaseResult {
    pub name: PhaseName,
    pub start_s: f64,
    pub end_s: f64,
    /// Arrivals due per second.
    pub offered_rps: f64,
    pub sent_rps: f64,
    /// Good answers per second.
    pub goodput_rps: f64,
    pub p99_ms: Option<f64>,
    pub errors: u64,
    pub refused: u64,
    /// Successful answers later than the latency threshold.
    pub late: u64,
    pub no_free_connection: u64,
    /// Seconds the generator's own limits decided.
    pub generator_limited_s: u64,
    /// Its errors by kind (`connect_refused`, `reset`, `http_503`, …;
    /// absent in older files).
    #[serde(default)]
    pub error_kinds: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StressResult {
    pub schema: String,
    /// R: the sustainable rate the episode is measured against.
    pub sustainable_rps: f64,
    /// Where R came from: "given", "find" or a find.json path.
    pub capacity_from: String,
    pub baseline_rps: f64,
    pub overload_rps: f64,
    pub slo: Vec<SloLine>,
    /// An answer counts as good at or below this latency (the loosest
    /// latency SLO threshold); null: every success counts.
    pub good_latency_ms: Option<f64>,
    /// Goodput while overloaded ÷ R.
    pub goodput_ratio: f64,
    /// Of what was not good while overloaded, the share refused (503/429).
    pub shed_share: f64,
    pub verdict: StressVerdict,
    pub reason: String,
    /// Seconds from the end of the overload to the first of `recovered`
    /// consecutive seconds within the SLO; null if that never came within
    /// `recovery_bound_s`.
    pub recovery_s: Option<f64>,
    pub recovered: u32,
    pub recovery_bound_s: f64,
    /// Errors and late answers over the whole run: the error budget the
    /// episode spent …
    pub bad_requests: u64,
    /// … as a share of every answer in the run.
    pub bad_share: f64,
    /// The baseline met the SLO before the overload.
    pub baseline_ok: bool,
    pub interrupted: bool,
    pub phases: Vec<PhaseResult>,
    pub seconds: Vec<Second>,
}
