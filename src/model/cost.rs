//! Instance prices and what capacity costs.
//!
//! Monthly figures use 730 hours (8,760 h / 12), the convention of cloud
//! price lists, so a month's cost does not depend on its length.

use std::collections::BTreeMap;

/// Hours in the average month.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// One entry of the instance catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceType {
    pub name: String,
    pub vcpu: f64,
    pub memory_gib: f64,
    /// On-demand price per hour.
    pub hourly: f64,
    /// Commitment name (`1y`, `3y`, `spot` …) → share off the on-demand price.
    pub discounts: BTreeMap<String, f64>,
    /// Days from ordering this type to serving with it.
    pub lead_time_days: Option<f64>,
}

impl InstanceType {
    /// Price per hour under a commitment (`None`: on demand). `None` when
    /// the catalog has no such commitment for this type.
    pub fn hourly_price(&self, commitment: Option<&str>) -> Option<f64> {
        match commitment {
            None => Some(self.hourly),
            Some(c) => self.discounts.get(c).map(|d| self.hourly * (1.0 - d)),
        }
    }
}

/// Cost of `instances` for a month at `hourly` each.
pub fn monthly_cost(instances: u32, hourly: f64) -> f64 {
    f64::from(instances) * hourly * HOURS_PER_MONTH
}

/// Cost per million requests, given a month's cost and its request count.
/// `None` when there are no requests.
pub fn cost_per_million(monthly_cost: f64, requests: f64) -> Option<f64> {
    (requests > 0.0).then(|| monthly_cost / (requests / 1e6))
}

/// The cheapest way to buy a series of monthly instance counts: some
/// instances committed for the whole horizon at a discount, the rest on
/// demand month by month.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct CommitmentMix {
    #[serde(rename = "type")]
    pub type_name: String,
    /// The discount taken (`null`: all on demand is cheapest).
    pub commitment: Option<String>,
    /// Instances committed (the steady base).
    pub committed: u32,
    /// The fewest and most instances of any month.
    pub base_instances: u32,
    pub peak_instances: u32,
    /// Over the horizon: the mix, all on demand, and all committed at the
    /// peak count (the cheapest discount's price).
    pub total_cost: f64,
    pub on_demand_cost: f64,
    pub all_committed_cost: f64,
    /// Commitments left out: their term (`3y`) outlasts the horizon, so
    /// the horizon alone cannot say whether they pay.
    #[serde(default)]
    pub longer_than_horizon: Vec<String>,
}

/// A commitment's term in months from its name (`1y`, `3y`, `6mo`);
/// `None` for a name that is not a term (`spot`).
pub fn term_months(name: &str) -> Option<f64> {
    let n = name.trim();
    let (num, per) = if let Some(v) = n.strip_suffix("mo") {
        (v, 1.0)
    } else if let Some(v) = n.strip_suffix('y') {
        (v, 12.0)
    } else {
        return None;
    };
    num.trim().parse::<f64>().ok().map(|v| v * per)
}

/// Commits the count that costs least: an instance committed at discount d
/// costs (1 − d)·h every month, on demand h only in the months that need
/// it, so committing a c-th instance pays when more than 1 − d of the
/// months need c or more. Searched exactly over every count and discount.
/// `counts` is one per month of the horizon; a commitment whose term is
/// longer than that is left out and named.
pub fn best_commitment(counts: &[u32], t: &InstanceType) -> Option<CommitmentMix> {
    if t.discounts.is_empty() {
        return None;
    }
    let (&base, &peak) = (counts.iter().min()?, counts.iter().max()?);
    let month = |n: u32, hourly: f64| monthly_cost(n, hourly);
    let on_demand: f64 = counts.iter().map(|&n| month(n, t.hourly)).sum();
    let mut best = (on_demand, None, 0);
    let mut all_committed = on_demand;
    let mut longer = Vec::new();
    for (name, d) in &t.discounts {
        // Only terms (1y, 6mo) are commitments; `spot` and the like are not.
        let Some(term) = term_months(name) else {
            continue;
        };
        if term > counts.len() as f64 {
            longer.push(name.clone());
            continue;
        }
        let committed = t.hourly * (1.0 - d);
        all_committed = all_committed.min(counts.len() as f64 * month(peak, committed));
        for c in 1..=peak {
            let cost: f64 = counts
                .iter()
                .map(|&n| month(c, committed) + month(n.saturating_sub(c), t.hourly))
                .sum();
            if cost < best.0 - 1e-9 {
                best = (cost, Some(name.clone()), c);
            }
        }
    }
    Some(CommitmentMix {
        type_name: t.name.clone(),
        commitment: best.1,
        committed: best.2,
        base_instances: base,
        peak_instances: peak,
        total_cost: best.0,
        on_demand_cost: on_demand,
        all_committed_cost: all_committed,
        longer_than_horizon: longer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_with_commitments() {
        let t = InstanceType {
            name: "m".into(),
            vcpu: 2.0,
            memory_gib: 8.0,
            hourly: 0.1,
            discounts: [("1y".to_string(), 0.4)].into(),
            lead_time_days: None,
        };
        assert_eq!(t.hourly_price(None), Some(0.1));
        assert!((t.hourly_price(Some("1y")).unwrap() - 0.06).abs() < 1e-12);
        assert_eq!(t.hourly_price(Some("3y")), None);
        // 10 instances × $0.10 × 730 h = $730.
        assert!((monthly_cost(10, 0.1) - 730.0).abs() < 1e-9);
        // $730 for 2.628 billion requests (1,000 rps all month) → $0.2778 per million.
        let per_m = cost_per_million(730.0, 1000.0 * 730.0 * 3600.0).unwrap();
        assert!((per_m - 730.0 / 2628.0).abs() < 1e-12);
        assert_eq!(cost_per_million(730.0, 0.0), None);
    }

    #[test]
    fn commit_the_base_buy_the_peaks_on_demand() {
        // $1/h, 40 % off for a commitment; 12 months: 10 instances in 9
        // of them, 16 in 3. The 11th–16th instance is needed in 3/12 =
        // 25 % of months < 60 %: on demand. The first 10: every month.
        let t = InstanceType {
            name: "m".into(),
            vcpu: 2.0,
            memory_gib: 8.0,
            hourly: 1.0,
            discounts: [("1y".to_string(), 0.4)].into(),
            lead_time_days: None,
        };
        let counts: Vec<u32> = (0..12).map(|m| if m >= 9 { 16 } else { 10 }).collect();
        let mix = best_commitment(&counts, &t).unwrap();
        assert_eq!(mix.commitment.as_deref(), Some("1y"));
        assert_eq!(mix.committed, 10);
        // 12 × 10 × 0.6 × 730 + 3 × 6 × 730 = 52,560 + 13,140.
        assert!(
            (mix.total_cost - 65_700.0).abs() < 1e-6,
            "{}",
            mix.total_cost
        );
        assert!((mix.on_demand_cost - (9.0 * 10.0 + 3.0 * 16.0) * 730.0).abs() < 1e-6);
        assert!((mix.all_committed_cost - 12.0 * 16.0 * 0.6 * 730.0).abs() < 1e-6);
        // At 20 % off, committing pays for an instance needed in more than
        // 80 % of months: the first 10 (12 of 12), not the 11th (3 of 12).
        let t20 = InstanceType {
            discounts: [("1y".to_string(), 0.2)].into(),
            ..t.clone()
        };
        assert_eq!(best_commitment(&counts, &t20).unwrap().committed, 10);
        // Spiky: 1 instance but 8 in one month of 12 → commit 1.
        let spiky: Vec<u32> = (0..12).map(|m| if m == 5 { 8 } else { 1 }).collect();
        assert_eq!(best_commitment(&spiky, &t).unwrap().committed, 1);
        assert_eq!(best_commitment(&[], &t), None);
        // A 3-year term on a 12-month horizon is left out, named.
        let t3 = InstanceType {
            discounts: [("1y".to_string(), 0.4), ("3y".to_string(), 0.6)].into(),
            ..t.clone()
        };
        let mix = best_commitment(&counts, &t3).unwrap();
        assert_eq!(mix.commitment.as_deref(), Some("1y"));
        assert_eq!(mix.longer_than_horizon, ["3y"]);
        assert_eq!(term_months("6mo"), Some(6.0));
        assert_eq!(term_months("spot"), None);
        // A spot price is not a commitment: never in the mix.
        let spot = InstanceType {
            discounts: [("spot".to_string(), 0.7)].into(),
            ..t.clone()
        };
        assert_eq!(best_commitment(&counts, &spot).unwrap().commitment, None);
    }
}
