//! `sweep.json` (schema `headroom.sweep/1`): the concurrency levels
//! measured and the Universal Scalability Law fitted to them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::verdict::{Attribution, Verdict};

pub const SCHEMA: &str = "headroom.sweep/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Point {
    pub concurrency: u32,
    /// Successful responses per second.
    pub throughput: f64,
    pub latency_ms: BTreeMap<String, f64>,
    pub error_share: Option<f64>,
    pub verdict: Verdict,
    pub reason: String,
    /// What held the load back, if anything (closed model: only the
    /// generator's own lag can). Absent in files before it existed.
    #[serde(default)]
    pub attribution: Attribution,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UslReport {
    pub sigma: f64,
    pub kappa: f64,
    pub lambda: f64,
    pub sigma_std_error: Option<f64>,
    pub kappa_std_error: Option<f64>,
    pub lambda_std_error: Option<f64>,
    /// N* = sqrt((1 − σ)/κ); null when κ = 0 (no retrograde region).
    pub peak_concurrency: Option<f64>,
    pub peak_throughput: Option<f64>,
    /// Amdahl roof λ/σ: the throughput limit without coherency cost.
    pub amdahl_roof: Option<f64>,
    /// 95 % confidence intervals (null on a bound or without spare points).
    pub sigma_ci95: Option<(f64, f64)>,
    pub kappa_ci95: Option<(f64, f64)>,
    pub lambda_ci95: Option<(f64, f64)>,
    pub points_fitted: usize,
    pub r_squared: f64,
    pub warnings: Vec<String>,
}

impl UslReport {
    pub fn from_fit(f: &crate::model::usl::UslFit) -> UslReport {
        UslReport {
            sigma: f.sigma.value,
            kappa: f.kappa.value,
            lambda: f.lambda.value,
            sigma_std_error: f.sigma.std_error,
            kappa_std_error: f.kappa.std_error,
            lambda_std_error: f.lambda.std_error,
            peak_concurrency: f.peak_concurrency(),
            peak_throughput: f.peak_throughput(),
            amdahl_roof: f.amdahl_roof(),
            sigma_ci95: f.sigma.ci95,
            kappa_ci95: f.kappa.ci95,
            lambda_ci95: f.lambda.ci95,
            points_fitted: f.n_points,
            r_squared: f.r_squared,
            warnings: f.warnings.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SweepResult {
    pub schema: String,
    pub points: Vec<Point>,
    pub stop_reason: String,
    pub usl: Option<UslReport>,
    /// Why no USL fit is given, when it is not.
    pub usl_error: Option<String>,
    pub interrupted: bool,
    /// Errors that load does not explain ended the sweep at its first
    /// level: the target is not usable as configured.
    #[serde(default)]
    pub target_unusable: bool,
}
