//! The closed-loop concurrency sweep: X(N) at each level until throughput
//! falls or the SLO breaks, then the Universal Scalability Law fitted to
//! the points.

use std::collections::BTreeMap;

use serde::Serialize;

use super::criteria::{self, Verdict, Watch};
use super::probe::Probe;
use crate::metrics::limits::Attribution;
use crate::model::usl;
use crate::scenario::{Slo, SweepSpec};

pub const SCHEMA: &str = "headroom.sweep/1";

/// Throughput below this share of the best so far ends the sweep.
const FALL_SHARE: f64 = 0.9;

#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub concurrency: u32,
    /// Successful responses per second.
    pub throughput: f64,
    pub latency_ms: BTreeMap<String, f64>,
    pub error_share: Option<f64>,
    pub verdict: Verdict,
    pub reason: String,
    /// What held the load back, if anything (closed model: only the
    /// generator's own lag can).
    pub attribution: Attribution,
}

#[derive(Debug, Clone, Serialize)]
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

#[derive(Debug, Clone, Serialize)]
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

/// Runs the sweep. `on_point` sees each level as it finishes.
pub fn sweep(
    probe: &mut dyn Probe,
    spec: &SweepSpec,
    slo: &Slo,
    breach_seconds: u32,
    on_point: &mut dyn FnMut(&Point),
) -> anyhow::Result<SweepResult> {
    let mut points: Vec<Point> = Vec::new();
    let mut stop_reason = "all levels measured".to_string();
    let mut best: f64 = 0.0;
    let mut interrupted = false;
    let mut target_unusable = false;
    for n in spec.levels() {
        // The first level (or one below a level served) is load the
        // target should bear: errors load does not explain end the sweep.
        let served = points.iter().all(|p| p.verdict != Verdict::Fail);
        let mut watch = Watch::new(slo, breach_seconds, 5);
        if served {
            watch = watch.not_capacity(None);
        }
        let m = probe.closed(n, spec.warmup, spec.step, watch)?;
        interrupted |= m.interrupted;
        let judged = criteria::judge(&m, slo, false, served);
        let p = Point {
            concurrency: n,
            throughput: m.throughput(),
            latency_ms: criteria::quantiles(&m, slo),
            error_share: m.error_share(),
            verdict: judged.verdict,
            reason: judged.reason,
            attribution: judged.limit.attribution,
        };
        let verdict = p.verdict;
        on_point(&p);
        let x = p.throughput;
        points.push(p);
        if interrupted {
            stop_reason = "interrupted".into();
            break;
        }
        if let Some(why) = judged.not_capacity {
            stop_reason = why;
            target_unusable = true;
            break;
        }
        if verdict == Verdict::GeneratorLimited {
            stop_reason = format!("the generator could not drive {n} users");
            break;
        }
        if verdict == Verdict::Fail {
            stop_reason = format!("the SLO broke at {n} users");
            break;
        }
        if x < FALL_SHARE * best {
            stop_reason = format!("throughput fell to {x:.1}/s at {n} users (best {best:.1}/s)");
            break;
        }
        best = best.max(x);
    }
    let data: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.throughput > 0.0 && p.verdict != Verdict::GeneratorLimited)
        .map(|p| (p.concurrency as f64, p.throughput))
        .collect();
    let (usl, usl_error) = match usl::fit(&data) {
        Ok(f) => (Some(UslReport::from_fit(&f)), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(SweepResult {
        schema: SCHEMA.into(),
        points,
        stop_reason,
        usl,
        usl_error,
        interrupted,
        target_unusable,
    })
}
