//! `slo.json` (schema `headroom.slo/1`): an SLO's error budget over
//! history, as `headroom slo report` computes it.

use serde::{Deserialize, Serialize};

use crate::model::budget::{Budget, Budgeting, Burn, Incident, Window};

pub const SCHEMA: &str = "headroom.slo/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SloDoc {
    pub schema: String,
    pub name: String,
    pub service: String,
    /// 0.999 for 99.9 %.
    pub objective: f64,
    pub window: Window,
    pub budgeting: Budgeting,
    /// Where the events came from: a table, or a Prometheus URL.
    pub source: String,
    /// Seconds per step of the data.
    pub step_s: f64,
    /// The moment the report is for (RFC 3339).
    pub now: String,
    pub budget: Budget,
    /// Burn rates over 5m … 3d (1: the budget lasts exactly one window).
    pub burn: Vec<Burn>,
    /// When the remaining budget runs out at the burn rate of `exhaustion_lookback`.
    pub exhaustion_lookback: String,
    pub exhaustion_burn: Option<f64>,
    pub exhausted_at: Option<String>,
    /// The stretches that spent most of the budget, largest first.
    pub incidents: Vec<Incident>,
    /// Good share per UTC day (`null`: no events that day).
    pub daily: Vec<Day>,
    /// Budget left at the end of each day of the window (the burn-down).
    pub burn_down: Vec<Day>,
    /// The alerts of `headroom slo rules` that would fire now.
    pub firing: Vec<String>,
    /// What experiments' bad requests would cost this budget.
    #[serde(default)]
    pub experiments: Vec<ExperimentCost>,
}

/// A load test, fault experiment or stress test priced in this budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExperimentCost {
    /// Its results directory.
    pub dir: String,
    /// Requests it made with an outcome, and the bad ones by this SLO
    /// (errors; for a latency SLO also answers slower than its threshold).
    pub requests: u64,
    pub bad: u64,
    /// Shares of the window's budget and of what is left of it.
    pub budget_share: f64,
    pub remaining_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub value: Option<f64>,
}
