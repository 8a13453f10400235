//! The plan's autoscaling recommendation as a Kubernetes
//! HorizontalPodAutoscaler manifest (`hpa.yaml`).

use crate::model::autoscale::{Policy, Recommendation};

/// The HorizontalPodAutoscaler (autoscaling/v2) holding each pod at the
/// recommendation's target.
pub fn manifest(policy: &Policy, r: &Recommendation) -> String {
    let mut y = format!(
        "# headroom plan: {:.0} rps per pod within the SLO ({}); ramp {:.1} %/h, scale-up delay {:.0} s\n\
         # -> hold each pod at {:.1} % of that ({:.0} rps); {}..{} replicas for {:.0}..{:.0} rps\n\
         apiVersion: autoscaling/v2\n\
         kind: HorizontalPodAutoscaler\n\
         metadata:\n  name: {name}\n\
         spec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: {name}\n\
         \x20 minReplicas: {}\n  maxReplicas: {}\n  metrics:\n\
         \x20 - type: Pods\n    pods:\n      metric:\n        name: {}\n      target:\n        type: AverageValue\n        averageValue: \"{}\"\n",
        r.capacity_rps,
        r.type_name,
        100.0 * r.ramp_per_hour,
        r.scale_up_delay_s,
        100.0 * r.target_utilisation,
        r.target_rps,
        r.min_replicas,
        r.max_replicas,
        r.trough_rps,
        r.peak_rps,
        r.min_replicas,
        r.max_replicas,
        quoted(&policy.metric),
        quantity(r.target_rps),
        name = quoted(&policy.deployment),
    );
    if let Some(cpu) = r.target_cpu_percent {
        y += &format!(
            "  - type: Resource\n    resource:\n      name: cpu\n      target:\n        type: Utilization\n        averageUtilization: {cpu}\n"
        );
    }
    y
}

/// A Kubernetes quantity no larger than `v`: whole units, or milli-units
/// below 10.
pub fn quantity(v: f64) -> String {
    if v >= 10.0 {
        format!("{}", v.floor() as u64)
    } else {
        // At least 1m: a zero target is not one.
        format!("{}m", ((v * 1000.0).floor() as u64).max(1))
    }
}

/// A YAML double-quoted string.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
