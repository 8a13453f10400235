//! `compare.json` (schema `headroom.compare/2`): a run against a baseline,
//! metric by metric, with the verdicts. Version 2 made each warning
//! `{kind, message}`; version 1's plain strings read as kind `other`.

use serde::{Deserialize, Serialize};

pub const SCHEMA: &str = "headroom.compare/2";

/// What is compared, for all requests and for each request name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Ms,
    Rps,
    Share,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    All,
    Request,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
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
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// Two runs one after the other (a stored baseline).
    #[default]
    Separate,
    /// One run whose arrivals went to either version at random (`ab`):
    /// the same seconds of both are compared as pairs.
    Paired,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    pub warnings: Vec<Warning>,
    pub metrics: Vec<MetricChange>,
}

/// What a comparison warns of: the kind for a program (and a test) to
/// branch on, the message for a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(from = "WarningAsWritten")]
pub struct Warning {
    pub kind: WarningKind,
    pub message: String,
}

impl Warning {
    pub fn new(kind: WarningKind, message: impl Into<String>) -> Warning {
        Warning {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// The runs ran different scenarios.
    DifferentScenarios,
    /// Two separate runs against different targets.
    DifferentTargets,
    /// Two separate runs at different target rates.
    DifferentRates,
    /// Open against closed: their latencies measure different things (the
    /// comparison is inconclusive).
    DifferentModels,
    /// The generator sent late: judged on service time.
    GeneratorLate,
    /// Seconds the machine disturbed were left out.
    LeftOut,
    /// Too few quiet seconds to judge (inconclusive).
    TooFewQuiet,
    /// A generator-limited run is still judged (and why it may be).
    LimitedButJudged,
    /// A generator-limited run: its latencies describe the generator
    /// (inconclusive).
    GeneratorLimited,
    /// A run was interrupted (inconclusive).
    Interrupted,
    /// `ab` with the same URL twice: the gate's own noise.
    AaRun,
    /// A version-1 file's warning, a plain string.
    Other,
}

/// A warning as files hold it: `{kind, message}`, or a version-1 string.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
enum WarningAsWritten {
    Typed { kind: WarningKind, message: String },
    Text(String),
}

impl From<WarningAsWritten> for Warning {
    fn from(w: WarningAsWritten) -> Warning {
        match w {
            WarningAsWritten::Typed { kind, message } => Warning { kind, message },
            WarningAsWritten::Text(message) => Warning {
                kind: WarningKind::Other,
                message,
            },
        }
    }
}

impl Comparison {
    pub fn regressions(&self) -> impl Iterator<Item = &MetricChange> {
        self.metrics
            .iter()
            .filter(|m| m.verdict == Verdict::Regression)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_typed_and_version_1_strings_still_read() {
        let w: Vec<Warning> = serde_json::from_str(
            r#"["prose of a version-1 file", {"kind": "left_out", "message": "m"}]"#,
        )
        .unwrap();
        assert_eq!(
            w[0],
            Warning::new(WarningKind::Other, "prose of a version-1 file")
        );
        assert_eq!(w[1], Warning::new(WarningKind::LeftOut, "m"));
        assert_eq!(
            serde_json::to_value(&w[1]).unwrap(),
            serde_json::json!({"kind": "left_out", "message": "m"})
        );
        assert_eq!(w[1].to_string(), "m");
    }
}
