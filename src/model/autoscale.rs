//! Elasticity: the autoscaler's target utilisation and replica bounds for
//! a service that scales itself, from the measured per-instance capacity,
//! the plan's utilisation ceiling, the steepest ramp of demand and the
//! scale-up delay.
//!
//! An autoscaler holding n instances at target u* serves D = n·c·u*. New
//! instances arrive τ (the scale-up delay: metrics, decision, start,
//! warm-up) after demand starts to rise, and meanwhile demand grows at
//! relative rate g. The instances in place must carry it within the SLO:
//! D·(1 + g·τ) ≤ n·c·u, hence
//!
//! ```text
//! u* = u / (1 + g·τ)
//! ```
//!
//! with u the plan's utilisation ceiling. g is the steepest relative rise
//! between forecast steps, (dᵢ₊₁ − dᵢ)/(dᵢ·Δt), demand taken as linear
//! within a step, or a ramp given in the plan when the forecast's step is
//! too coarse to see it (daily peaks do not show a morning ramp).

use serde::{Deserialize, Serialize};

use super::plan::DemandPoint;
use super::sizing::{Candidate, Sizing};

/// `[autoscaling]` in a plan file.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Seconds from demand rising to a new instance serving.
    pub scale_up_delay_s: f64,
    /// A relative ramp per second the service must ride (`None`: the
    /// forecast's steepest).
    pub ramp_per_s: Option<f64>,
    /// The per-pod rate metric the autoscaler reads.
    pub metric: String,
    /// CPU utilisation of an instance at its measured capacity (0–1), to
    /// add a CPU target; `None`: no CPU metric.
    pub cpu_at_capacity: Option<f64>,
    /// The Deployment's name.
    pub deployment: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Recommendation {
    #[serde(rename = "type")]
    pub type_name: String,
    pub capacity_rps: f64,
    /// The relative ramp sized for, per hour (0.3: 30 % an hour), and
    /// where it came from (`forecast` with the step it starts at, or
    /// `given`).
    pub ramp_per_hour: f64,
    pub ramp_source: String,
    pub scale_up_delay_s: f64,
    /// Share of measured capacity to hold each instance at.
    pub target_utilisation: f64,
    /// The same as requests per second per instance.
    pub target_rps: f64,
    /// CPU utilisation target (%), when the CPU at capacity is known.
    pub target_cpu_percent: Option<u32>,
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// Lowest expected and highest sized-for demand over the horizon.
    pub trough_rps: f64,
    pub peak_rps: f64,
}

/// The steepest relative rise between consecutive steps of the sized-for
/// series, per second, and the step it starts at.
pub fn steepest_ramp(demand: &[DemandPoint], step_seconds: f64) -> Option<(f64, String)> {
    demand
        .windows(2)
        .filter(|w| w[0].bound > 0.0)
        .map(|w| {
            let g = (w[1].bound - w[0].bound) / (w[0].bound * step_seconds);
            (g, w[0].t.to_rfc3339())
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(g, t)| (g.max(0.0), t))
}

/// The recommendation for type `c` under `sizing` (ceiling u, N+k, the
/// minimum) over the plan's demand.
pub fn recommend(
    policy: &Policy,
    demand: &[DemandPoint],
    step_seconds: f64,
    c: &Candidate,
    sizing: &Sizing,
) -> Option<Recommendation> {
    let forecast = steepest_ramp(demand, step_seconds);
    let (g, source) = match (policy.ramp_per_s, &forecast) {
        (Some(given), Some((f, t))) if *f > given => (*f, format!("forecast, from {t}")),
        (Some(given), _) => (given, "given".to_string()),
        (None, Some((f, t))) => (*f, format!("forecast, from {t}")),
        (None, None) => (0.0, "none (one forecast step)".to_string()),
    };
    let target = sizing.utilisation / (1.0 + g * policy.scale_up_delay_s);
    let per_instance = c.capacity_rps * target;
    if per_instance.is_nan() || per_instance <= 0.0 {
        return None;
    }
    let trough = demand.iter().map(|d| d.mean).fold(f64::INFINITY, f64::min);
    let peak = demand.iter().map(|d| d.bound).fold(0.0, f64::max);
    if !trough.is_finite() {
        return None;
    }
    // Counts past a million are no plan: held there, not overflowed.
    let replicas = |rps: f64| {
        ((rps / per_instance - 1e-9).ceil().clamp(0.0, 1e6) as u32)
            .saturating_add(sizing.redundancy)
    };
    let min_replicas = replicas(trough).max(sizing.min_instances).max(1);
    let max_replicas = replicas(peak).max(min_replicas);
    let target_cpu_percent = policy
        .cpu_at_capacity
        .map(|cpu| (100.0 * cpu * target).floor().max(1.0) as u32);
    Some(Recommendation {
        type_name: c.instance.name.clone(),
        capacity_rps: c.capacity_rps,
        ramp_per_hour: g * 3600.0,
        ramp_source: source,
        scale_up_delay_s: policy.scale_up_delay_s,
        target_utilisation: target,
        target_rps: per_instance,
        target_cpu_percent,
        min_replicas,
        max_replicas,
        trough_rps: trough,
        peak_rps: peak,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::plan::tests::candidate;

    #[test]
    fn the_target_leaves_room_for_one_scale_up_delay_of_a_linear_ramp() {
        // Hourly steps of D(t) = 1,000 + 0.1·t rps (360 rps an hour): the
        // steepest relative rise is at the start, 0.1/1000 per second.
        // τ = 300 s, ceiling u = 0.8: u* = 0.8 / (1 + 1e-4·300) = 0.8/1.03.
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();
        let demand: Vec<DemandPoint> = (0..48)
            .map(|i| {
                let d = 1000.0 + 0.1 * 3600.0 * i as f64;
                DemandPoint {
                    t: t0 + chrono::Duration::hours(i),
                    mean: d,
                    bound: d,
                }
            })
            .collect();
        let sizing = Sizing {
            utilisation: 0.8,
            redundancy: 1,
            min_instances: 2,
            lead_time_days: None,
            survive_region_loss: false,
        };
        let policy = Policy {
            scale_up_delay_s: 300.0,
            ramp_per_s: None,
            metric: "http_requests_per_second".into(),
            cpu_at_capacity: Some(0.9),
            deployment: "api".into(),
        };
        let c = candidate("pod", 100.0, 0.1);
        let r = recommend(&policy, &demand, 3600.0, &c, &sizing).unwrap();
        assert!((r.ramp_per_hour - 0.36).abs() < 1e-12);
        assert!((r.target_utilisation - 0.8 / 1.03).abs() < 1e-12);
        assert!((r.target_rps - 80.0 / 1.03).abs() < 1e-9);
        // Closed form: at any D ≥ 1,000 on the ramp, the pods holding D at
        // u* carry D + 0.1·τ at no more than the ceiling u.
        for d in demand.iter().map(|d| d.bound) {
            let pods = d / r.target_rps;
            assert!(d + 0.1 * 300.0 <= pods * 100.0 * 0.8 + 1e-9, "{d}");
        }
        // And the rule is tight at the start: a 1 % higher target fails there.
        let pods = 1000.0 / (r.target_rps * 1.01);
        assert!(1000.0 + 30.0 > pods * 80.0);
        // Replicas: ⌈1000/77.67⌉ + 1 = 14; peak 1000 + 47·360 = 17,920 → 231 + 1.
        assert_eq!(r.min_replicas, 14);
        assert_eq!(r.max_replicas, 232);
        // CPU: 90 % at capacity × 0.7767 → 69 %.
        assert_eq!(r.target_cpu_percent, Some(69));
        let hpa = crate::report::hpa::manifest(&policy, &r);
        for line in [
            "kind: HorizontalPodAutoscaler",
            "  minReplicas: 14",
            "  maxReplicas: 232",
            "        name: \"http_requests_per_second\"",
            "        averageValue: \"77\"",
            "        averageUtilization: 69",
        ] {
            assert!(hpa.contains(line), "{line}\n{hpa}");
        }
        // A given ramp steeper than the forecast's wins: 36 %/h → 72 %/h.
        let steeper = Policy {
            ramp_per_s: Some(0.72 / 3600.0),
            ..policy
        };
        let r2 = recommend(&steeper, &demand, 3600.0, &c, &sizing).unwrap();
        assert_eq!(r2.ramp_source, "given");
        assert!((r2.target_utilisation - 0.8 / 1.06).abs() < 1e-12);
        assert_eq!(crate::report::hpa::quantity(7.5), "7500m");
        assert_eq!(crate::report::hpa::quantity(0.0001), "1m");
    }
}
