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
}
