//! `compare.json` (schema `headroom.compare/1`): a run against a baseline,
//! metric by metric, with the verdicts.

use serde::{Deserialize, Serialize};

pub const SCHEMA: &str = "headroom.compare/1";

/// What is compared, for all requests and for each request name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    P50,
    P90,
    P99,
    Mean,
    /// The achieved (sent) rate.
    Rate,
    /// The error share.
    Errors,
}

impl Metric {
    /// Every metric, in the order results list them.
    pub const ALL: [Metric; 6] = [
        Metric::P50,
        Metric::P90,
        Metric::P99,
        Metric::Mean,
        Metric::Rate,
        Metric::Errors,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P90 => "p90",
            Metric::P99 => "p99",
            Metric::Mean => "mean",
            Metric::Rate => "rate",
            Metric::Errors => "errors",
        }
    }

    /// The inverse of [`label`](Self::label).
    pub fn parse(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.label() == s)
    }

    /// The latency quantile it is, if it is one.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Metric::P50 => Some(0.5),
            Metric::P90 => Some(0.9),
            Metric::P99 => Some(0.99),
            _ => None,
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::Rate => Unit::Rps,
            Metric::Errors => Unit::Share,
            _ => Unit::Ms,
        }
    }

    /// Latency and errors get worse as they rise; the rate as it falls.
    pub fn higher_is_worse(self) -> bool {
        self != Metric::Rate
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Ms,
    Rps,
    Share,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Regression,
    Improvement,
    NoSignificantChange,
    Inconclusive,
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Regression => "regression",
            Verdict::Improvement => "improvement",
            Verdict::NoSignificantChange => "no significant change",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// Whether a metric covers all requests or one request name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    All,
    Request,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricChange {
    /// A request name, or `all` for all requests (then `scope` is `all`:
    /// a request may itself be named `all`).
    pub request: String,
    pub scope: Scope,
    pub metric: Metric,
    pub unit: Unit,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    /// Relative change (latency, rate) or difference in share (errors).
    pub change: Option<f64>,
    /// Confidence interval of `change`.
    pub ci: Option<(f64, f64)>,
    /// Minimum effect that counts (relative, or share difference).
    pub threshold: f64,
    pub verdict: Verdict,
    /// Why, in words, when not obvious (too few samples …).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub path: String,
    pub scenario: String,
    pub started_at: String,
    pub duration_s: f64,
    pub requests: u64,
    pub target_rate: Option<f64>,
    /// Seconds (from the start, 0-based) left out of the latency and rate
    /// comparisons: the generator itself sent late in them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out_s: Vec<usize>,
}

/// What the latency metrics (p50, p90, p99, mean) were computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// From each request's intended send (the default).
    #[default]
    Latency,
    /// From the actual send: chosen when the generator itself sent late,
    /// since its lateness does not move service time.
    ServiceTime,
}

impl Measure {
    pub fn label(self) -> &'static str {
        match self {
            Measure::Latency => "latency",
            Measure::ServiceTime => "service time",
        }
    }
}

/// How the two runs were paired, if they were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// Two runs one after the other (a stored baseline).
    #[default]
    Separate,
    /// One run whose arrivals went to either version at random (`ab`):
    /// the same seconds of both are compared as pairs.
    Paired,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub schema: String,
    pub verdict: Verdict,
    /// What the latency metrics were computed from (absent in older files:
    /// latency).
    #[serde(default)]
    pub judged_on: Measure,
    #[serde(default)]
    pub design: Design,
    pub baseline: RunInfo,
    pub current: RunInfo,
    pub confidence: f64,
    pub method: String,
    pub warnings: Vec<String>,
    pub metrics: Vec<MetricChange>,
}

impl Comparison {
    pub fn regressions(&self) -> impl Iterator<Item = &MetricChange> {
        self.metrics
            .iter()
            .filter(|m| m.verdict == Verdict::Regression)
    }
}
