//! The closed-loop concurrency sweep: X(N) at each level until throughput
//! falls or the SLO breaks, then the Universal Scalability Law fitted to
//! the points.

use super::criteria::{self, Offered, Watch};
use super::probe::Probe;
use crate::model::usl;
use crate::results::sweep::{Point, SweepResult, UslReport, SCHEMA};
use crate::results::verdict::Verdict;
use crate::scenario::{Slo, SweepSpec};

/// Throughput below this share of the best so far ends the sweep.
const FALL_SHARE: f64 = 0.9;

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
        let m = probe.step(Offered::Users(n), spec.warmup, spec.step, watch)?;
        interrupted |= m.interrupted;
        let judged = criteria::judge(&m, slo, served);
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
