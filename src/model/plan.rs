//! The scaling plan: from forecast demand and measured per-instance capacity
//! to instances, cost and runway, per calendar month.
//!
//! Sizing per month and instance type: the month's peak demand (the chosen
//! forecast bound, by default the upper 95 % limit) over the SLO-safe
//! per-instance rate (measured capacity × utilisation target), rounded up,
//! plus k spares (N+k, [`queueing::n_plus_k`]), at least `min_instances`.
//! The runway is the first forecast step whose demand exceeds what the
//! current fleet serves with k instances down at the utilisation target;
//! with a lead time (procurement, rollout) the order must go out that much
//! earlier: `act_by`.
//!
//! Inorganic demand — a launch, a campaign, a migration — comes on top of
//! the organic forecast as [`Event`]s ([`apply_events`]).

use chrono::{DateTime, Datelike, FixedOffset};
use serde::{Deserialize, Serialize};

use super::cost::{best_commitment, cost_per_million, monthly_cost, CommitmentMix};
use super::regions::{Region, RegionNeed, Regions};
use super::sizing::{fleet_capacity, instances_for, Candidate, Sizing};

/// Version 2 added regions, events, orders with act-by dates, scenarios,
/// commitments and autoscaling; every version-1 key is still there.
pub const SCHEMA: &str = "headroom.plan/2";

/// One forecast step, in requests per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemandPoint {
    pub t: DateTime<FixedOffset>,
    /// Expected demand (volume: requests and cost per million).
    pub mean: f64,
    /// The bound sized for (peaks, upper prediction limit).
    pub bound: f64,
}

/// Demand the forecast cannot see: from `start` (to `end`, if given), it
/// adds a share of the organic demand or a rate, reached linearly over
/// `ramp_days`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub start: DateTime<FixedOffset>,
    pub end: Option<DateTime<FixedOffset>>,
    pub ramp_days: f64,
    pub add: EventAdd,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventAdd {
    /// A share of the organic demand (0.3: 30 % more).
    Share(f64),
    /// Requests per second.
    Rps(f64),
}

impl Event {
    /// How much of the event is in effect at `t`: 0 before its start and
    /// from its end, rising linearly to 1 over the ramp.
    pub fn weight(&self, t: DateTime<FixedOffset>) -> f64 {
        if t < self.start || self.end.is_some_and(|e| t >= e) {
            return 0.0;
        }
        let days = (t - self.start).num_seconds() as f64 / 86_400.0;
        if self.ramp_days > 0.0 {
            (days / self.ramp_days).min(1.0)
        } else {
            1.0
        }
    }
}

/// Adds the events to the forecast's expected demand and its bound. Shares
/// apply to the organic demand (two 10 % launches add 20 %, not 21 %).
pub fn apply_events(demand: &mut [DemandPoint], events: &[Event]) {
    for d in demand {
        let (mean, bound) = (d.mean, d.bound);
        for e in events {
            let w = e.weight(d.t);
            match e.add {
                EventAdd::Share(s) => {
                    d.mean += mean * s * w;
                    d.bound += bound * s * w;
                }
                EventAdd::Rps(r) => {
                    d.mean += r * w;
                    d.bound += r * w;
                }
            }
        }
    }
}

/// An event as `plan.json` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EventDoc {
    pub name: String,
    /// RFC 3339.
    pub start: String,
    pub end: Option<String>,
    pub ramp_days: f64,
    /// A share of the organic demand, or `null`.
    pub add_share: Option<f64>,
    /// Requests per second, or `null`.
    pub add_rps: Option<f64>,
}

impl EventDoc {
    pub fn of(e: &Event) -> EventDoc {
        let (add_share, add_rps) = match e.add {
            EventAdd::Share(s) => (Some(s), None),
            EventAdd::Rps(r) => (None, Some(r)),
        };
        EventDoc {
            name: e.name.clone(),
            start: e.start.to_rfc3339(),
            end: e.end.map(|t| t.to_rfc3339()),
            ramp_days: e.ramp_days,
            add_share,
            add_rps,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Fleet {
    #[serde(rename = "type")]
    pub type_name: String,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TypeNeed {
    #[serde(rename = "type")]
    pub type_name: String,
    pub instances: u32,
    pub monthly_cost: f64,
    /// Peak demand / (instances × capacity): load at the peak with every
    /// instance up.
    pub utilisation: f64,
    pub cost_per_million: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Period {
    /// `YYYY-MM`.
    pub month: String,
    /// Highest sized-for demand in the month (rps).
    pub peak_rps: f64,
    pub mean_rps: f64,
    /// Expected requests in the forecast part of the month.
    pub requests: f64,
    /// Every candidate type, cheapest first.
    pub options: Vec<TypeNeed>,
    /// Instances of the current fleet's type needed (when a fleet is given).
    pub fleet_needed: Option<u32>,
    /// Per `[[region]]`, its share of the month's peak sized on its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<RegionNeed>,
    /// More instances of the fleet's type needed this month, and when to
    /// order them: for the fleet, and for each region with a `count`.
    #[serde(default)]
    pub orders: Vec<Order>,
}

/// Instances to add, the first moment they are needed, and the last day
/// to order them given the type's lead time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Order {
    /// The region ordering (`null`: the fleet as a whole).
    #[serde(default)]
    pub region: Option<String>,
    #[serde(rename = "type")]
    pub type_name: String,
    /// Instances to add to what is in place by then.
    pub add: u32,
    /// Instances in place after it.
    pub instances: u32,
    /// First forecast step that needs them (RFC 3339).
    pub need_by: String,
    /// `need_by` less the lead time (`null` without one).
    pub act_by: Option<String>,
    pub lead_time_days: Option<f64>,
    /// `act_by` is before the forecast's first step: already late.
    #[serde(default)]
    pub overdue: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Runway {
    /// Rate the current fleet serves with k instances down at the target
    /// utilisation.
    pub fleet_capacity_rps: f64,
    /// First forecast step whose sized-for demand exceeds it; `None` when the
    /// fleet lasts the whole horizon.
    pub until: Option<String>,
    /// Days from the start of the forecast to `until`.
    pub days: Option<f64>,
    pub demand_at_until_rps: Option<f64>,
    /// `until` less the lead time: the last day to order more capacity
    /// (`None` without a lead time or a shortfall).
    #[serde(default)]
    pub act_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CurvePoint {
    pub demand_rps: f64,
    pub instances: u32,
    pub monthly_cost: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CostCurve {
    #[serde(rename = "type")]
    pub type_name: String,
    pub points: Vec<CurvePoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Cheapest {
    #[serde(rename = "type")]
    pub type_name: String,
    /// Sum of monthly costs over the horizon.
    pub total_cost: f64,
    /// Instances in the last month.
    pub final_instances: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Plan {
    pub periods: Vec<Period>,
    pub runway: Option<Runway>,
    /// The type with the lowest total cost over the horizon.
    pub cheapest: Option<Cheapest>,
    pub cost_curves: Vec<CostCurve>,
    /// Orders over the horizon (fleet type), earliest first.
    #[serde(default)]
    pub orders: Vec<Order>,
    /// Commitment vs on demand for the cheapest type's monthly counts.
    #[serde(default)]
    pub commitment_mix: Option<CommitmentMix>,
    /// The same per region, for the type each region runs at its peak.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub region_commitments: Vec<RegionCommitment>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RegionCommitment {
    pub region: String,
    #[serde(flatten)]
    pub mix: CommitmentMix,
}

/// Builds the plan. `step_seconds` is the forecast step (for request
/// volume); `curve_points` the resolution of each cost curve.
pub fn plan(
    demand: &[DemandPoint],
    step_seconds: f64,
    candidates: &[Candidate],
    sizing: &Sizing,
    fleet: Option<&Fleet>,
    regions: &[Region],
) -> Plan {
    let mut periods = months(demand, step_seconds, candidates, sizing, fleet);
    let all = Regions::new(regions, sizing);
    size_regions(&mut periods, &all, candidates);
    let runway = fleet.and_then(|f| {
        let c = candidates.iter().find(|c| c.instance.name == f.type_name)?;
        let capacity = fleet_capacity(f.count, c.capacity_rps, sizing);
        let first = demand.first()?;
        let short = demand.iter().find(|d| d.bound > capacity);
        Some(Runway {
            fleet_capacity_rps: capacity,
            until: short.map(|d| d.t.to_rfc3339()),
            days: short.map(|d| (d.t - first.t).num_seconds() as f64 / 86_400.0),
            demand_at_until_rps: short.map(|d| d.bound),
            act_by: short
                .zip(sizing.lead_time_for(c))
                .map(|(d, lead)| days_before(d.t, lead)),
        })
    });
    let orders = orders(demand, candidates, sizing, fleet, regions, &all);
    for o in &orders {
        if let Some(p) = periods.iter_mut().find(|p| o.need_by.starts_with(&p.month)) {
            p.orders.push(o.clone());
        }
    }
    let cheapest = candidates
        .iter()
        .filter_map(|c| {
            let mut total = 0.0;
            let mut last = None;
            for p in &periods {
                let o = p.options.iter().find(|o| o.type_name == c.instance.name)?;
                total += o.monthly_cost;
                last = Some(o.instances);
            }
            Some(Cheapest {
                type_name: c.instance.name.clone(),
                total_cost: total,
                final_instances: last?,
            })
        })
        .min_by(|a, b| a.total_cost.total_cmp(&b.total_cost));
    let max_peak = periods.iter().map(|p| p.peak_rps).fold(0.0, f64::max);
    let cost_curves = candidates
        .iter()
        .map(|c| CostCurve {
            type_name: c.instance.name.clone(),
            points: cost_curve(c, sizing, 1.5 * max_peak, 60),
        })
        .collect();
    let commitment_mix = cheapest.as_ref().and_then(|ch| {
        let c = candidates
            .iter()
            .find(|c| c.instance.name == ch.type_name)?;
        let counts: Vec<u32> = periods
            .iter()
            .filter_map(|p| p.options.iter().find(|o| o.type_name == ch.type_name))
            .map(|o| o.instances)
            .collect();
        best_commitment(&counts, &c.instance)
    });
    let region_commitments = region_commitments(&periods, candidates);
    Plan {
        periods,
        runway,
        cheapest,
        cost_curves,
        orders,
        commitment_mix,
        region_commitments,
    }
}

/// The plan's months: peak and mean demand, and what each type needs for it.
fn months(
    demand: &[DemandPoint],
    step_seconds: f64,
    candidates: &[Candidate],
    sizing: &Sizing,
    fleet: Option<&Fleet>,
) -> Vec<Period> {
    let mut periods: Vec<Period> = Vec::new();
    // Steps of each month (a month seen again later, as no forecast's
    // timeline does, counts apart).
    let mut steps: Vec<usize> = Vec::new();
    for d in demand {
        let month = format!("{:04}-{:02}", d.t.year(), d.t.month());
        if periods.last().is_none_or(|p| p.month != month) {
            steps.push(0);
            periods.push(Period {
                month,
                peak_rps: 0.0,
                mean_rps: 0.0,
                requests: 0.0,
                options: Vec::new(),
                fleet_needed: None,
                regions: Vec::new(),
                orders: Vec::new(),
            });
        }
        let p = periods.last_mut().expect("pushed above");
        *steps.last_mut().expect("pushed above") += 1;
        p.peak_rps = p.peak_rps.max(d.bound);
        p.requests += d.mean.max(0.0) * step_seconds;
    }
    for (p, steps) in periods.iter_mut().zip(steps) {
        p.mean_rps = p.requests / (steps as f64 * step_seconds);
        // Cost per million on a whole month of this demand.
        let month_requests = p.mean_rps * super::cost::HOURS_PER_MONTH * 3600.0;
        p.options = candidates
            .iter()
            .filter_map(|c| {
                let n = instances_for(p.peak_rps, c.capacity_rps, sizing)?;
                let cost = monthly_cost(n, c.hourly);
                Some(TypeNeed {
                    type_name: c.instance.name.clone(),
                    instances: n,
                    monthly_cost: cost,
                    utilisation: p.peak_rps / (f64::from(n) * c.capacity_rps),
                    cost_per_million: cost_per_million(cost, month_requests),
                })
            })
            .collect();
        p.options
            .sort_by(|a, b| a.monthly_cost.total_cmp(&b.monthly_cost));
        p.fleet_needed = fleet.and_then(|f| {
            p.options
                .iter()
                .find(|o| o.type_name == f.type_name)
                .map(|o| o.instances)
        });
    }
    periods
}

/// Each region's needs month by month, of one type for the whole horizon:
/// the one whose months cost least in all (a region does not switch types
/// month by month).
fn size_regions(periods: &mut [Period], all: &Regions, candidates: &[Candidate]) {
    let month_requests = |p: &Period| p.mean_rps * super::cost::HOURS_PER_MONTH * 3600.0;
    let needs: Vec<Vec<Option<RegionNeed>>> = (0..all.count())
        .map(|i| {
            let best = candidates
                .iter()
                .filter_map(|c| {
                    let total = periods
                        .iter()
                        .map(|p| {
                            let (n, _) = all.instances(i, p.peak_rps, c)?;
                            Some(monthly_cost(n, c.hourly))
                        })
                        .sum::<Option<f64>>()?;
                    Some((c, total))
                })
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let Some((c, _)) = best else {
                return Vec::new();
            };
            periods
                .iter()
                .map(|p| all.need(i, p.peak_rps, month_requests(p), std::slice::from_ref(c)))
                .collect()
        })
        .collect();
    for region in needs {
        for (p, need) in periods.iter_mut().zip(region) {
            p.regions.extend(need);
        }
    }
}

/// Orders of the fleet's type over the horizon, the earliest first: the
/// fleet's, or each region's with a count of its own.
fn orders(
    demand: &[DemandPoint],
    candidates: &[Candidate],
    sizing: &Sizing,
    fleet: Option<&Fleet>,
    regions: &[Region],
    all: &Regions,
) -> Vec<Order> {
    let mut orders = Vec::new();
    if let Some((f, c)) = fleet.and_then(|f| {
        Some((
            f,
            candidates.iter().find(|c| c.instance.name == f.type_name)?,
        ))
    }) {
        // Regions with their own counts order for themselves (by every
        // rule of theirs); the fleet as a whole orders only without them.
        if !regions.iter().any(|r| r.count.is_some()) {
            let need =
                |d: &DemandPoint| instances_for(d.bound, c.capacity_rps, sizing).unwrap_or(0);
            orders = order_steps(demand, need, f.count, None, c, sizing.lead_time_for(c));
        }
        for (i, r) in regions.iter().enumerate() {
            let Some(count) = r.count else { continue };
            // The region's count for the fleet's type at each step, by
            // every rule (N+k, zones, a lost region).
            let need = |d: &DemandPoint| all.instances(i, d.bound, c).map_or(0, |(n, _)| n);
            let lead = r.lead_time_days.or(sizing.lead_time_for(c));
            orders.extend(order_steps(demand, need, count, Some(&r.name), c, lead));
        }
        orders.sort_by(|a, b| {
            (a.act_by.as_ref().unwrap_or(&a.need_by), &a.need_by)
                .cmp(&(b.act_by.as_ref().unwrap_or(&b.need_by), &b.need_by))
        });
    }
    orders
}

/// `t` less `days` (a lead time), RFC 3339.
fn days_before(t: DateTime<FixedOffset>, days: f64) -> String {
    (t - chrono::Duration::seconds((days * 86_400.0).round() as i64)).to_rfc3339()
}

/// Orders of type `c` over the horizon: a month needing more than is in
/// place (`count`, then each earlier order) orders the month's most,
/// needed from its first step over.
fn order_steps(
    demand: &[DemandPoint],
    need: impl Fn(&DemandPoint) -> u32,
    count: u32,
    region: Option<&str>,
    c: &Candidate,
    lead: Option<f64>,
) -> Vec<Order> {
    let mut in_place = count;
    let mut out: Vec<Order> = Vec::new();
    let month = |d: &DemandPoint| (d.t.year(), d.t.month());
    let mut i = 0;
    while i < demand.len() {
        let m = month(&demand[i]);
        let end = demand[i..]
            .iter()
            .position(|d| month(d) != m)
            .map_or(demand.len(), |k| i + k);
        let most = demand[i..end].iter().map(&need).max().unwrap_or(0);
        if most > in_place {
            let first = demand[i..end]
                .iter()
                .find(|d| need(d) > in_place)
                .expect("most > in_place");
            let act_by =
                lead.map(|l| first.t - chrono::Duration::seconds((l * 86_400.0).round() as i64));
            out.push(Order {
                region: region.map(str::to_string),
                type_name: c.instance.name.clone(),
                add: most - in_place,
                instances: most,
                need_by: first.t.to_rfc3339(),
                act_by: act_by.map(|a| a.to_rfc3339()),
                lead_time_days: lead,
                overdue: act_by.is_some_and(|a| a < demand[0].t),
            });
            in_place = most;
        }
        i = end;
    }
    out
}

/// Per region, the commitment mix of its type, with its count each month.
fn region_commitments(periods: &[Period], candidates: &[Candidate]) -> Vec<RegionCommitment> {
    let Some(first) = periods.first() else {
        return Vec::new();
    };
    first
        .regions
        .iter()
        .enumerate()
        .filter_map(|(i, need)| {
            let c = candidates
                .iter()
                .find(|c| c.instance.name == need.type_name)?;
            let counts: Vec<u32> = periods
                .iter()
                .filter_map(|p| p.regions.get(i).map(|r| r.instances))
                .collect();
            Some(RegionCommitment {
                region: need.name.clone(),
                mix: best_commitment(&counts, &c.instance)?,
            })
        })
        .collect()
}

/// Monthly cost against demand from 0 to `max_rps` in `n` steps: a
/// staircase, one stair per instance.
pub fn cost_curve(c: &Candidate, sizing: &Sizing, max_rps: f64, n: usize) -> Vec<CurvePoint> {
    (0..=n)
        .filter_map(|i| {
            let demand = max_rps * i as f64 / n as f64;
            let instances = instances_for(demand, c.capacity_rps, sizing)?;
            Some(CurvePoint {
                demand_rps: demand,
                instances,
                monthly_cost: monthly_cost(instances, c.hourly),
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::cost::InstanceType;

    fn t(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    pub(crate) fn candidate(name: &str, capacity: f64, hourly: f64) -> Candidate {
        Candidate {
            instance: InstanceType {
                name: name.into(),
                vcpu: 2.0,
                memory_gib: 4.0,
                hourly,
                discounts: Default::default(),
                lead_time_days: None,
            },
            hourly,
            capacity_rps: capacity,
            capacity_source: "test".into(),
        }
    }

    #[test]
    fn google_sre_book_n_plus_2() {
        // SRE book ch. 2: ~100 QPS per task, peak 3,470 QPS → 35 tasks, N+2 → 37.
        let s = Sizing {
            utilisation: 1.0,
            redundancy: 2,
            min_instances: 1,
            lead_time_days: None,
            survive_region_loss: false,
        };
        assert_eq!(instances_for(3470.0, 100.0, &s), Some(37));
        // At a 70 % utilisation target the same peak needs ⌈3470/70⌉ + 2 = 52.
        let s70 = Sizing {
            utilisation: 0.7,
            ..s
        };
        assert_eq!(instances_for(3470.0, 100.0, &s70), Some(52));
        // Never fewer than the minimum.
        let min3 = Sizing {
            min_instances: 3,
            redundancy: 0,
            ..s
        };
        assert_eq!(instances_for(10.0, 100.0, &min3), Some(3));
    }

    #[test]
    fn months_runway_and_cheapest_type() {
        // Daily steps from 2025-01-30 to 2025-03-02, demand rising 10 rps a day from 100.
        let start = t("2025-01-30T00:00:00Z");
        let demand: Vec<DemandPoint> = (0..32)
            .map(|i| DemandPoint {
                t: start + chrono::Duration::days(i),
                mean: 100.0 + 10.0 * i as f64,
                bound: 120.0 + 10.0 * i as f64,
            })
            .collect();
        let sizing = Sizing {
            utilisation: 0.5,
            redundancy: 1,
            min_instances: 2,
            lead_time_days: None,
            survive_region_loss: false,
        };
        let mut small = candidate("small", 100.0, 0.1); // usable 50 rps, $73/month
        small.instance.lead_time_days = Some(20.0); // the catalog's, over the plan's none
        let big = candidate("big", 400.0, 0.5); // usable 200 rps, $365/month
        let fleet = Fleet {
            type_name: "small".into(),
            count: 6,
        };
        let plan = plan(&demand, 86_400.0, &[small, big], &sizing, Some(&fleet), &[]);
        let months: Vec<&str> = plan.periods.iter().map(|p| p.month.as_str()).collect();
        assert_eq!(months, ["2025-01", "2025-02", "2025-03"]);
        // February's peak is the 2025-02-28 bound: 120 + 10·29 = 410 rps.
        let feb = &plan.periods[1];
        assert_eq!(feb.peak_rps, 410.0);
        // small: ⌈410/50⌉ + 1 = 10 → $730; big: ⌈410/200⌉ + 1 = 4 → $1,460.
        assert_eq!(feb.options[0].type_name, "small");
        assert_eq!(feb.options[0].instances, 10);
        assert!((feb.options[0].monthly_cost - 730.0).abs() < 1e-9);
        assert_eq!(feb.options[1].instances, 4);
        assert_eq!(feb.fleet_needed, Some(10));
        // Fleet: (6 − 1) × 100 × 0.5 = 250 rps; bound 120 + 10 i > 250 first at i = 14.
        let r = plan.runway.unwrap();
        assert_eq!(r.fleet_capacity_rps, 250.0);
        assert_eq!(r.days, Some(14.0));
        assert_eq!(r.until.as_deref(), Some("2025-02-13T00:00:00+00:00"));
        // One order: February's most, 10, from the first day needing 7
        // (bound 260 > 6 − 1 instances × 50), 20 days' lead before it.
        assert_eq!(
            plan.orders,
            [Order {
                region: None,
                type_name: "small".into(),
                add: 4,
                instances: 10,
                need_by: "2025-02-13T00:00:00+00:00".into(),
                act_by: Some("2025-01-24T00:00:00+00:00".into()),
                lead_time_days: Some(20.0),
                // The forecast starts on 2025-01-30: six days late already.
                overdue: true,
            }]
        );
        assert_eq!(plan.periods[1].orders, plan.orders);
        assert_eq!(r.act_by.as_deref(), Some("2025-01-24T00:00:00+00:00"));
        assert_eq!(plan.cheapest.unwrap().type_name, "small");
        // Requests in January: two days at 100 and 110 rps.
        assert!((plan.periods[0].requests - 210.0 * 86_400.0).abs() < 1e-6);
        // The cost curve is a non-decreasing staircase.
        let curve = &plan.cost_curves[0].points;
        assert!(curve
            .windows(2)
            .all(|w| w[0].monthly_cost <= w[1].monthly_cost));
        assert_eq!(curve[0].instances, 2);
    }

    #[test]
    fn a_launch_that_takes_demand_over_capacity_ends_the_runway_on_its_date() {
        // Flat 100 rps, daily; a fleet serving 120 rps; a launch on
        // 2025-03-10 adding 30 %, ordering taking 30 days.
        let start = t("2025-03-01T00:00:00Z");
        let mut demand: Vec<DemandPoint> = (0..20)
            .map(|i| DemandPoint {
                t: start + chrono::Duration::days(i),
                mean: 100.0,
                bound: 100.0,
            })
            .collect();
        let launch = Event {
            name: "launch".into(),
            start: t("2025-03-10T00:00:00Z"),
            end: None,
            ramp_days: 0.0,
            add: EventAdd::Share(0.3),
        };
        apply_events(&mut demand, std::slice::from_ref(&launch));
        assert_eq!(demand[8].bound, 100.0);
        assert!((demand[9].bound - 130.0).abs() < 1e-9);
        let sizing = Sizing {
            utilisation: 1.0,
            redundancy: 0,
            min_instances: 1,
            lead_time_days: Some(30.0),
            survive_region_loss: false,
        };
        let fleet = Fleet {
            type_name: "a".into(),
            count: 12,
        };
        let p = plan(
            &demand,
            86_400.0,
            &[candidate("a", 10.0, 1.0)],
            &sizing,
            Some(&fleet),
            &[],
        );
        let r = p.runway.unwrap();
        assert_eq!(r.until.as_deref(), Some("2025-03-10T00:00:00+00:00"));
        assert_eq!(r.act_by.as_deref(), Some("2025-02-08T00:00:00+00:00"));
    }

    #[test]
    fn regions_with_a_fleet_order_on_their_own_lead_times() {
        // Two equal regions, each able to take the other's traffic: each
        // needs ⌈D/10⌉ of a 10-rps type. 20 rps for 5 days, then 40: each
        // region's 2 must become 4 on day 5. us orders 10 days ahead (its
        // own lead time), eu 5 (the plan's); the fleet of 4 as a whole
        // needs 4 at 40 rps and has them.
        let start = t("2025-06-01T00:00:00Z");
        let demand: Vec<DemandPoint> = (0..10)
            .map(|i| DemandPoint {
                t: start + chrono::Duration::days(i),
                mean: 0.0,
                bound: if i < 5 { 20.0 } else { 40.0 },
            })
            .collect();
        let sizing = Sizing {
            utilisation: 1.0,
            redundancy: 0,
            min_instances: 1,
            lead_time_days: Some(5.0),
            survive_region_loss: true,
        };
        let region = |name: &str, lead: Option<f64>| Region {
            name: name.into(),
            weight: 1.0,
            redundancy: 0,
            zones: 1,
            count: Some(2),
            lead_time_days: lead,
        };
        let fleet = Fleet {
            type_name: "a".into(),
            count: 4,
        };
        let p = plan(
            &demand,
            86_400.0,
            &[candidate("a", 10.0, 1.0)],
            &sizing,
            Some(&fleet),
            &[region("us", Some(10.0)), region("eu", None)],
        );
        let got: Vec<String> = p
            .orders
            .iter()
            .map(|o| {
                format!(
                    "{:?} +{} → {} need {} act {}",
                    o.region,
                    o.add,
                    o.instances,
                    &o.need_by[..10],
                    &o.act_by.as_deref().unwrap_or("-")[..10]
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "Some(\"us\") +2 → 4 need 2025-06-06 act 2025-05-27",
                "Some(\"eu\") +2 → 4 need 2025-06-06 act 2025-06-01",
            ]
        );
        assert_eq!(p.periods[0].orders.len(), 2);
        // us's act-by (05-27) is before the forecast starts (06-01): late.
        assert!(p.orders[0].overdue && !p.orders[1].overdue);
    }

    #[test]
    fn events_ramp_in_end_and_add_to_the_organic_demand() {
        let start = t("2025-01-01T00:00:00Z");
        let day = |i: i64| start + chrono::Duration::days(i);
        let migration = Event {
            name: "migration".into(),
            start: day(10),
            end: Some(day(30)),
            ramp_days: 10.0,
            add: EventAdd::Rps(50.0),
        };
        let campaign = Event {
            name: "campaign".into(),
            start: day(20),
            end: Some(day(25)),
            ramp_days: 0.0,
            add: EventAdd::Share(0.1),
        };
        let mut demand: Vec<DemandPoint> = (0..35)
            .map(|i| DemandPoint {
                t: day(i),
                mean: 200.0,
                bound: 250.0,
            })
            .collect();
        apply_events(&mut demand, &[migration, campaign]);
        // Halfway up the ramp: +25 rps; fully in: +50; the campaign's 10 %
        // is of the organic 200/250, not of the migration.
        assert_eq!(demand[15].mean, 225.0);
        assert_eq!(demand[20].mean, 200.0 + 50.0 + 20.0);
        assert_eq!(demand[20].bound, 250.0 + 50.0 + 25.0);
        assert_eq!(demand[25].mean, 250.0);
        assert_eq!(demand[30].mean, 200.0);
        assert_eq!(demand[9].bound, 250.0);
    }

    #[test]
    fn a_fleet_that_lasts_has_no_runway_date() {
        let demand = vec![DemandPoint {
            t: t("2025-01-01T00:00:00Z"),
            mean: 10.0,
            bound: 20.0,
        }];
        let sizing = Sizing {
            utilisation: 1.0,
            redundancy: 0,
            min_instances: 1,
            lead_time_days: None,
            survive_region_loss: false,
        };
        let fleet = Fleet {
            type_name: "a".into(),
            count: 1,
        };
        let p = plan(
            &demand,
            3600.0,
            &[candidate("a", 100.0, 1.0)],
            &sizing,
            Some(&fleet),
            &[],
        );
        assert_eq!(p.runway.unwrap().until, None);
    }
}
