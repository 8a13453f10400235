//! Named what-ifs (`[[scenario]]`): the same plan on another demand line —
//! growth faster or slower than forecast, all demand scaled, a launch
//! slipping, an event dropped or added — compared side by side.
//!
//! A scenario's demand is built from the organic forecast: its change from
//! the first step is multiplied by `growth` (d₀ + g·(d − d₀): 1.5 is
//! "growth ×1.5", seasonality included), the result by `scale`, and then
//! the plan's events go on top, each delayed, dropped or joined by the
//! scenario's own.

use serde::{Deserialize, Serialize};

use super::cost::CommitmentMix;
use super::plan::{apply_events, DemandPoint, Event, Plan};

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    /// Multiplies the forecast's change from its first step.
    pub growth: f64,
    /// Multiplies all organic demand.
    pub scale: f64,
    /// Event name → days later.
    pub delays: Vec<(String, f64)>,
    /// Events left out.
    pub drop: Vec<String>,
    /// Events only this scenario has.
    pub events: Vec<Event>,
}

impl Scenario {
    /// The plan itself.
    pub fn base() -> Scenario {
        Scenario {
            name: "base".into(),
            growth: 1.0,
            scale: 1.0,
            delays: Vec::new(),
            drop: Vec::new(),
            events: Vec::new(),
        }
    }

    /// What it changes, in words.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.growth != 1.0 {
            parts.push(format!("growth ×{}", self.growth));
        }
        if self.scale != 1.0 {
            parts.push(format!("demand ×{}", self.scale));
        }
        for (e, d) in &self.delays {
            parts.push(format!("{e} {d:.0} days later"));
        }
        for e in &self.drop {
            parts.push(format!("no {e}"));
        }
        for e in &self.events {
            parts.push(format!("+ {}", e.name));
        }
        if parts.is_empty() {
            "the forecast and the plan's events".into()
        } else {
            parts.join(", ")
        }
    }

    /// The scenario's demand: `organic` (the forecast, no events) changed
    /// as above, with `events` (the plan's) on top.
    pub fn demand(&self, organic: &[DemandPoint], events: &[Event]) -> Vec<DemandPoint> {
        let mut out = organic.to_vec();
        if let Some(first) = organic.first() {
            for d in &mut out {
                d.mean = self.scale * (first.mean + self.growth * (d.mean - first.mean)).max(0.0);
                d.bound =
                    self.scale * (first.bound + self.growth * (d.bound - first.bound)).max(0.0);
            }
        }
        let mut all: Vec<Event> = events
            .iter()
            .filter(|e| !self.drop.contains(&e.name))
            .cloned()
            .map(|mut e| {
                if let Some((_, days)) = self.delays.iter().find(|(n, _)| *n == e.name) {
                    let shift = chrono::Duration::seconds((days * 86_400.0).round() as i64);
                    e.start += shift;
                    e.end = e.end.map(|t| t + shift);
                }
                e
            })
            .collect();
        all.extend(self.events.iter().cloned());
        apply_events(&mut out, &all);
        out
    }
}

/// One scenario's plan in a line of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Outcome {
    pub name: String,
    pub description: String,
    /// The highest sized-for demand and its month.
    pub peak_rps: f64,
    pub peak_month: String,
    /// The type cheapest over the horizon, its instances at the peak and
    /// its total cost.
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    pub peak_instances: Option<u32>,
    pub total_cost: Option<f64>,
    /// All regions' instances at the peak month (`null` without regions).
    pub region_instances: Option<u32>,
    /// Total cost over the expected requests of the horizon.
    pub cost_per_million: Option<f64>,
    /// When the fleet as a whole runs out.
    pub runway_until: Option<String>,
    /// The earliest act-by date of any order (the fleet's or a region's).
    pub act_by: Option<String>,
    pub commitment_mix: Option<CommitmentMix>,
    /// The same per region, for this scenario's demand.
    #[serde(default)]
    pub region_commitments: Vec<super::plan::RegionCommitment>,
    /// The cheapest type's cost each month: (`YYYY-MM`, cost).
    pub monthly_cost: Vec<(String, f64)>,
}

impl Outcome {
    /// `6 × c7g.large (8 by region)`, or `—`.
    pub fn instances_text(&self) -> String {
        match (self.peak_instances, &self.type_name) {
            (Some(n), Some(t)) => format!(
                "{n} × {t}{}",
                self.region_instances
                    .map_or(String::new(), |r| format!(" ({r} by region)"))
            ),
            _ => "—".into(),
        }
    }

    pub fn of(s: &Scenario, p: &Plan) -> Outcome {
        let peak = p
            .periods
            .iter()
            .max_by(|a, b| a.peak_rps.total_cmp(&b.peak_rps));
        let ty = p.cheapest.as_ref().map(|c| c.type_name.clone());
        let of_type = |m: &super::plan::Period| {
            ty.as_ref()
                .and_then(|t| m.options.iter().find(|o| &o.type_name == t))
                .cloned()
        };
        // Each month is priced whole (730 h), so it is set against a whole
        // month of requests at its mean rate, as the monthly table does.
        let requests: f64 = p
            .periods
            .iter()
            .map(|m| m.mean_rps * super::cost::HOURS_PER_MONTH * 3600.0)
            .sum();
        let total = p.cheapest.as_ref().map(|c| c.total_cost);
        Outcome {
            name: s.name.clone(),
            description: s.describe(),
            peak_rps: peak.map_or(0.0, |m| m.peak_rps),
            peak_month: peak.map_or(String::new(), |m| m.month.clone()),
            peak_instances: peak.and_then(of_type).map(|o| o.instances),
            type_name: ty.clone(),
            total_cost: total,
            region_instances: peak
                .filter(|m| !m.regions.is_empty())
                .map(|m| m.regions.iter().map(|r| r.instances).sum()),
            cost_per_million: total.and_then(|t| super::cost::cost_per_million(t, requests)),
            runway_until: p.runway.as_ref().and_then(|r| r.until.clone()),
            act_by: p.orders.iter().find_map(|o| o.act_by.clone()),
            commitment_mix: p.commitment_mix.clone(),
            region_commitments: p.region_commitments.clone(),
            monthly_cost: p
                .periods
                .iter()
                .filter_map(|m| Some((m.month.clone(), of_type(m)?.monthly_cost)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::plan::EventAdd;

    fn t(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
        chrono::DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[test]
    fn growth_scale_delay_and_drop() {
        // A line from 100 rising 10 a day; a launch adding 50 rps on day 10.
        let start = t("2026-01-01T00:00:00Z");
        let day = |i: i64| start + chrono::Duration::days(i);
        let organic: Vec<DemandPoint> = (0..40)
            .map(|i| DemandPoint {
                t: day(i),
                mean: 100.0 + 10.0 * i as f64,
                bound: 120.0 + 10.0 * i as f64,
            })
            .collect();
        let launch = Event {
            name: "launch".into(),
            start: day(10),
            end: None,
            ramp_days: 0.0,
            add: EventAdd::Rps(50.0),
        };
        let events = [launch];
        let base = Scenario::base().demand(&organic, &events);
        assert_eq!(base[9].mean, 190.0);
        assert_eq!(base[10].mean, 250.0);
        // Growth ×1.5: 100 + 1.5·10·i; the launch unchanged.
        let fast = Scenario {
            name: "fast".into(),
            growth: 1.5,
            ..Scenario::base()
        };
        let d = fast.demand(&organic, &events);
        assert_eq!(d[20].mean, 100.0 + 1.5 * 200.0 + 50.0);
        assert_eq!(d[20].bound, 120.0 + 1.5 * 200.0 + 50.0);
        // The launch slips 14 days: nothing added on day 10, all on 24.
        let slip = Scenario {
            name: "slip".into(),
            delays: vec![("launch".into(), 14.0)],
            ..Scenario::base()
        };
        let d = slip.demand(&organic, &events);
        assert_eq!(d[23].mean, 330.0);
        assert_eq!(d[24].mean, 390.0);
        // Scale 0.5, no launch.
        let half = Scenario {
            name: "half".into(),
            scale: 0.5,
            drop: vec!["launch".into()],
            ..Scenario::base()
        };
        let d = half.demand(&organic, &events);
        assert_eq!(d[10].mean, 100.0);
        assert_eq!(half.describe(), "demand ×0.5, no launch");
    }
}
