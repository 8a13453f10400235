//! One instance type's SLO-safe capacity and how many instances a demand
//! needs: N+k at the utilisation target, at least a minimum.

use serde::{Deserialize, Serialize};

use super::cost::InstanceType;
use super::queueing::n_plus_k;

/// An instance type with the rate one instance sustains within the SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub instance: InstanceType,
    /// Price per hour after the commitment discount.
    pub hourly: f64,
    /// Highest rate one instance sustains within the SLO (rps).
    pub capacity_rps: f64,
    /// Where the capacity came from (a number, a find result, a queue model).
    pub capacity_source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sizing {
    /// Share of measured capacity an instance may run at (0 < u ≤ 1).
    pub utilisation: f64,
    /// Spare instances (N+k).
    pub redundancy: u32,
    pub min_instances: u32,
    /// Days from ordering capacity to serving with it (`None`: not given);
    /// a catalog type's own lead time wins.
    #[serde(default)]
    pub lead_time_days: Option<f64>,
    /// Size each region to carry its share of any other region's traffic
    /// when that region is lost (`[sizing] survive = "region"`).
    #[serde(default)]
    pub survive_region_loss: bool,
}

impl Sizing {
    /// The lead time for a type: its own (catalog), else the plan's.
    pub fn lead_time_for(&self, c: &Candidate) -> Option<f64> {
        c.instance.lead_time_days.or(self.lead_time_days)
    }
}

/// Instances of one type for a demand: N+k at the SLO-safe rate, at least
/// `min_instances`. `None` when the type has no usable capacity.
pub fn instances_for(demand_rps: f64, capacity_rps: f64, sizing: &Sizing) -> Option<u32> {
    let usable = capacity_rps * sizing.utilisation;
    n_plus_k(demand_rps.max(0.0), usable, sizing.redundancy).map(|n| n.max(sizing.min_instances))
}

/// Rate a fleet of `count` serves with `redundancy` instances down, at the
/// utilisation target.
pub fn fleet_capacity(count: u32, capacity_rps: f64, sizing: &Sizing) -> f64 {
    f64::from(count.saturating_sub(sizing.redundancy)) * capacity_rps * sizing.utilisation
}
