//! A run's faults and its experiment, as `summary.json` holds them
//! (`faults`, `experiment`). Times are seconds on the run's own clock: 0
//! is its first scheduled arrival, second `t` of the time series covers
//! `[t, t + 1)`.

use serde::{Deserialize, Serialize};

/// A fault as it was applied (the run's clock, seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Applied {
    pub name: String,
    pub proxy: String,
    /// The remote proxy's API, when not a proxy of this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// The toxic, as Toxiproxy's API shows it.
    pub toxic: crate::proxy::toxic::Toxic,
    pub planned_start_s: f64,
    /// `null`: until the run's end.
    pub planned_end_s: Option<f64>,
    /// When the proxy had it (`null`: never, see `error`).
    pub started_s: Option<f64>,
    /// When it was removed (the run's end if it lasted that long).
    pub ended_s: Option<f64>,
    /// `abort_if` removed it early (or before it began).
    pub removed_by_abort: bool,
    /// Applying or removing it failed, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One `[[fault]]`: when it was in effect and what the service did.
/// (Unknown fields are not refused here: serde cannot with `flatten`.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FaultResult {
    /// The fault as it was applied …
    #[serde(flatten)]
    pub applied: Applied,
    /// … and judged: the seconds it was in effect (more than half of each).
    pub during: Window,
    /// The seconds from its end to the next fault's start, or the run's end.
    pub after: Window,
    /// From its start to the end of the first second that broke the SLO
    /// (`null`: none did).
    pub time_to_detect_s: Option<f64>,
    /// From its end until the SLO held for `recovery_windows` seconds in a
    /// row (`null`: not within the run).
    pub recovery_s: Option<f64>,
}

/// Requests in a span of whole seconds, judged against the SLO.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub from_s: u64,
    /// Exclusive.
    pub to_s: u64,
    /// Completed: answered, failed or timed out.
    pub requests: u64,
    /// Errors, and answers slower than the SLI's threshold.
    pub bad: u64,
    pub errors: u64,
    pub worst_p99_ms: Option<f64>,
    pub worst_error_share: Option<f64>,
    /// Every SLO held over the window's requests taken together.
    pub slo_held: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The SLO held during and after every fault, and recovered in time.
    Held,
    Violated,
    /// `abort_if` fired: the faults were removed to protect the service.
    Aborted,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Held => "held",
            Verdict::Violated => "violated",
            Verdict::Aborted => "aborted",
        }
    }
}

/// `[experiment]`: the hypothesis, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExperimentResult {
    pub hypothesis: String,
    pub verdict: Verdict,
    /// Why, in words.
    pub why: String,
    pub recovery_windows: u32,
    /// The SLI's latency threshold (the highest quantile's bound): slower
    /// answers count as bad requests.
    pub bad_over_ms: Option<f64>,
    pub abort_if_bad_share: Option<f64>,
    /// When `abort_if` fired, and the share of bad requests since the
    /// first fault began that it saw.
    pub aborted_at_s: Option<f64>,
    pub aborted_bad_share: Option<f64>,
}
