//! Failure domains: demand split across regions, each sized to survive its
//! own failures — N+k (a task down for an update, one failing), the loss of
//! one of its zones, and, when the plan asks, the loss of a whole other
//! region whose traffic global load balancing shifts onto it.
//!
//! Per region r with peak Pᵣ (its weight's share of the global peak) and
//! an instance type serving c·u rps within the SLO (capacity × utilisation
//! target), N = ⌈Pᵣ / (c·u)⌉ and the region gets the largest of:
//!
//! * **N+k**: N plus its spares;
//! * **zone loss** (`zones = z ≥ 2`, instances spread evenly): the fewest n
//!   with n − ⌈n/z⌉ ≥ N, so losing the fullest zone leaves N;
//! * **region loss** (`survive = "region"`): when region j fails its
//!   traffic goes to the others in proportion to their weights, so r
//!   carries Pᵣ + Pⱼ·wᵣ/(W − wⱼ) = Pᵣ·W/(W − wⱼ); sized for the worst j.
//!
//! A zone or region loss is itself the failure survived, so no spares are
//! held back on top of it (the N+k of the book's example is for the
//! everyday failures of one region at full strength).

use serde::{Deserialize, Serialize};

use super::cost::{cost_per_million, monthly_cost};
use super::sizing::{instances_for, Candidate, Sizing};

/// A region (or any failure domain) serving a share of the demand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Region {
    pub name: String,
    /// Its part of the peak, relative to the other regions' weights (their
    /// peak rates, or shares).
    pub weight: f64,
    /// Spares in this region (default: the plan's N+k).
    pub redundancy: u32,
    /// Zones its instances are spread over; 2 or more: sized to lose one.
    #[serde(default = "one")]
    pub zones: u32,
    /// Instances of the fleet's type there now (for its orders).
    #[serde(default)]
    pub count: Option<u32>,
    /// Days from ordering to serving there (over the type's and the plan's).
    #[serde(default)]
    pub lead_time_days: Option<f64>,
}

fn one() -> u32 {
    1
}

/// The rule that set a region's count (`plan.json` spells them `N+k`,
/// `zone loss`, `region loss`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum SizedFor {
    /// N plus its spares (files from before the other rules: this).
    #[default]
    #[serde(rename = "N+k")]
    Spares,
    #[serde(rename = "zone loss")]
    ZoneLoss,
    #[serde(rename = "region loss")]
    RegionLoss,
}

/// One region in one month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RegionNeed {
    pub name: String,
    pub peak_rps: f64,
    pub redundancy: u32,
    #[serde(default = "one")]
    pub zones: u32,
    /// What it carries when the region whose loss hurts it most is down
    /// (`null` unless the plan survives a region's loss).
    #[serde(default)]
    pub loss_rps: Option<f64>,
    /// That region.
    #[serde(default)]
    pub worst_loss: Option<String>,
    /// The rule that set the count.
    #[serde(default)]
    pub sized_for: SizedFor,
    /// Its type: in a plan, the one cheapest over the whole horizon.
    #[serde(rename = "type")]
    pub type_name: String,
    pub instances: u32,
    pub monthly_cost: f64,
    /// Peak / (instances × capacity): load at the peak with every instance
    /// up; the plan's utilisation target is the most it may be.
    #[serde(default)]
    pub utilisation: f64,
    #[serde(default)]
    pub cost_per_million: Option<f64>,
}

impl RegionNeed {
    /// What set its count, in words: `N+2`, `the loss of one of 3 zones`,
    /// `the region loss`, with the rate it carries when its worst
    /// neighbour is lost.
    pub fn sized_for_text(&self) -> String {
        let why = match self.sized_for {
            SizedFor::Spares => format!("N+{}", self.redundancy),
            SizedFor::ZoneLoss => format!("the loss of one of {} zones", self.zones),
            SizedFor::RegionLoss => "the region loss".into(),
        };
        match (&self.worst_loss, self.loss_rps) {
            (Some(w), Some(x)) => {
                format!("{why} ({} rps with {w} lost)", crate::units::fmt_count(x))
            }
            _ => why,
        }
    }
}

/// The fewest instances spread over `zones` zones that still leave `n`
/// when the fullest zone is lost.
pub fn zone_survivors(n: u32, zones: u32) -> u32 {
    if zones < 2 || n == 0 {
        return n;
    }
    // n + ⌈n/(z−1)⌉ is the answer; the loop proves it on the spot.
    let mut total = n + n.div_ceil(zones - 1);
    while total > n && total - 1 - (total - 1).div_ceil(zones) >= n {
        total -= 1;
    }
    total
}

/// The regions of a plan with what every sizing of them shares: the sum
/// of their weights and the region whose loss would hurt each most. Built
/// once, it sizes one region in constant time (over all regions at once
/// it was quadratic: 1,000 regions took 17.6 s, 10,000 did not finish).
pub struct Regions<'a> {
    regions: &'a [Region],
    sizing: &'a Sizing,
    total: f64,
    /// The heaviest region (the last of equals) and the heaviest other
    /// than it: the worst loss for every other region, and for it.
    heaviest: [Option<usize>; 2],
}

impl<'a> Regions<'a> {
    pub fn new(regions: &'a [Region], sizing: &'a Sizing) -> Regions<'a> {
        let total = regions.iter().map(|r| r.weight).sum();
        let last_max = |skip: Option<usize>| {
            regions
                .iter()
                .enumerate()
                .filter(|&(j, _)| Some(j) != skip)
                .max_by(|a, b| a.1.weight.total_cmp(&b.1.weight))
                .map(|(j, _)| j)
        };
        let first = last_max(None);
        Regions {
            regions,
            sizing,
            total,
            heaviest: [first, first.and_then(|f| last_max(Some(f)))],
        }
    }

    /// How many regions.
    pub fn count(&self) -> usize {
        self.regions.len()
    }

    /// Region `i`'s share of `peak_rps`, and, when the plan survives a
    /// region's loss, what it carries with its worst neighbour lost: when
    /// region j fails r carries Pᵣ + P·wⱼ/W·wᵣ/(W − wⱼ), which grows with
    /// wⱼ, so the worst is the heaviest other region.
    fn shares(&self, i: usize, peak_rps: f64) -> (f64, Option<(f64, &'a Region)>) {
        let r = &self.regions[i];
        // peak × w / Σw in this order: a region's own rate comes back exactly.
        let peak = peak_rps * r.weight / self.total;
        let worst = match self.heaviest {
            [Some(h), other] if h == i => other,
            [h, _] => h,
        };
        let loss = worst.filter(|_| self.sizing.survive_region_loss).map(|j| {
            let o = &self.regions[j];
            (
                peak + peak_rps * o.weight / self.total * r.weight / (self.total - o.weight),
                o,
            )
        });
        (peak, loss)
    }

    /// Instances of `c` region `i` needs at `peak_rps` (the global peak),
    /// and the rule that set the count.
    pub fn instances(&self, i: usize, peak_rps: f64, c: &Candidate) -> Option<(u32, SizedFor)> {
        let (peak, loss) = self.shares(i, peak_rps);
        self.sized(i, peak, loss.map(|(x, _)| x), c)
    }

    fn sized(
        &self,
        i: usize,
        peak: f64,
        loss: Option<f64>,
        c: &Candidate,
    ) -> Option<(u32, SizedFor)> {
        let (r, sizing) = (&self.regions[i], self.sizing);
        let here = Sizing {
            redundancy: r.redundancy,
            ..*sizing
        };
        let usable = c.capacity_rps * sizing.utilisation;
        let own = instances_for(peak, c.capacity_rps, &here)?;
        let bare = instances_for(
            peak,
            c.capacity_rps,
            &Sizing {
                redundancy: 0,
                min_instances: 0,
                ..*sizing
            },
        )?;
        let zone = zone_survivors(bare, r.zones);
        let shifted = loss.map(|x| (x / usable - 1e-9).ceil().max(0.0) as u32);
        let (mut n, mut why) = (own, SizedFor::Spares);
        if zone > n {
            (n, why) = (zone, SizedFor::ZoneLoss);
        }
        if let Some(s) = shifted.filter(|&s| s > n) {
            (n, why) = (s, SizedFor::RegionLoss);
        }
        Some((n, why))
    }

    /// Region `i` at `peak_rps` (the global peak), sized with the candidate
    /// that costs least for it. `month_requests`: the requests of a whole
    /// month at the mean rate, shared by weight (for cost per million).
    pub fn need(
        &self,
        i: usize,
        peak_rps: f64,
        month_requests: f64,
        candidates: &[Candidate],
    ) -> Option<RegionNeed> {
        if self.total <= 0.0 {
            return None;
        }
        let r = &self.regions[i];
        let (peak, loss) = self.shares(i, peak_rps);
        let (c, n, why) = candidates
            .iter()
            .filter_map(|c| {
                let (n, why) = self.sized(i, peak, loss.map(|(x, _)| x), c)?;
                Some((c, n, why))
            })
            .min_by(|a, b| {
                monthly_cost(a.1, a.0.hourly).total_cmp(&monthly_cost(b.1, b.0.hourly))
            })?;
        let cost = monthly_cost(n, c.hourly);
        Some(RegionNeed {
            name: r.name.clone(),
            peak_rps: peak,
            redundancy: r.redundancy,
            zones: r.zones,
            loss_rps: loss.map(|(x, _)| x),
            worst_loss: loss.map(|(_, o)| o.name.clone()),
            sized_for: why,
            type_name: c.instance.name.clone(),
            instances: n,
            monthly_cost: cost,
            utilisation: peak / (f64::from(n) * c.capacity_rps),
            cost_per_million: cost_per_million(cost, month_requests * r.weight / self.total),
        })
    }
}

/// Each region's share of `peak_rps` (the global peak), sized with the
/// candidate that costs least for it (a region none fits is left out).
pub fn regional(
    peak_rps: f64,
    month_requests: f64,
    regions: &[Region],
    candidates: &[Candidate],
    sizing: &Sizing,
) -> Vec<RegionNeed> {
    let all = Regions::new(regions, sizing);
    (0..regions.len())
        .filter_map(|i| all.need(i, peak_rps, month_requests, candidates))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::plan::tests::candidate;

    fn sizing(k: u32, survive: bool) -> Sizing {
        Sizing {
            utilisation: 1.0,
            redundancy: k,
            min_instances: 1,
            lead_time_days: None,
            survive_region_loss: survive,
        }
    }

    fn region(name: &str, qps: f64, k: u32) -> Region {
        Region {
            name: name.into(),
            weight: qps,
            redundancy: k,
            zones: 1,
            count: None,
            lead_time_days: None,
        }
    }

    /// SRE book ch. 2: 1,430 QPS North America, 290 South America, 1,400
    /// Europe and Africa, 350 Asia and Australia; 100 QPS a task.
    fn book() -> [Region; 4] {
        [
            region("USA", 1430.0, 2),
            region("South America", 290.0, 1),
            region("Europe", 1400.0, 2),
            region("Asia", 350.0, 2),
        ]
    }

    fn counts(need: &[RegionNeed]) -> Vec<(&str, u32, SizedFor)> {
        need.iter()
            .map(|r| (r.name.as_str(), r.instances, r.sized_for))
            .collect()
    }

    #[test]
    fn the_sre_books_regions_each_get_their_own_spares() {
        // N+2 per region, but N+1 in South America: 17, 4, 16 and 6 tasks.
        let need = regional(
            3470.0,
            0.0,
            &book(),
            &[candidate("task", 100.0, 1.0)],
            &sizing(2, false),
        );
        assert_eq!(
            counts(&need),
            [
                ("USA", 17, SizedFor::Spares),
                ("South America", 4, SizedFor::Spares),
                ("Europe", 16, SizedFor::Spares),
                ("Asia", 6, SizedFor::Spares)
            ]
        );
        assert_eq!(need[2].peak_rps, 1400.0);
        assert_eq!(need[0].loss_rps, None);
    }

    #[test]
    fn losing_a_region_shifts_its_traffic_by_weight() {
        // By hand, W = 3,470; each region's worst loss is the largest other
        // region, its carried rate Pᵣ·W/(W − wⱼ):
        //   USA   1430·3470/(3470−1400) = 2,397.1 → 24 (> 17)
        //   S.Am.  290·3470/(3470−1430) =   493.3 →  5 (> 4)
        //   Eur.  1400·3470/(3470−1430) = 2,381.4 → 24 (> 16)
        //   Asia   350·3470/(3470−1430) =   595.3 →  6 (= N+2: stays N+k)
        let need = regional(
            3470.0,
            0.0,
            &book(),
            &[candidate("task", 100.0, 1.0)],
            &sizing(2, true),
        );
        assert_eq!(
            counts(&need),
            [
                ("USA", 24, SizedFor::RegionLoss),
                ("South America", 5, SizedFor::RegionLoss),
                ("Europe", 24, SizedFor::RegionLoss),
                ("Asia", 6, SizedFor::Spares)
            ]
        );
        assert_eq!(need[0].worst_loss.as_deref(), Some("Europe"));
        assert_eq!(need[1].worst_loss.as_deref(), Some("USA"));
        assert!((need[0].loss_rps.unwrap() - 1430.0 * 3470.0 / 2070.0).abs() < 1e-9);
        // The survivors of any one loss carry the whole peak.
        for lost in 0..4 {
            let carried: f64 = (0..4)
                .filter(|&r| r != lost)
                .map(|r| need[r].instances as f64 * 100.0)
                .sum();
            assert!(carried >= 3470.0, "losing {lost}: {carried}");
        }
    }

    #[test]
    fn losing_a_zone_leaves_enough() {
        // 1,000 rps at 100 a task: N = 10. Three zones: 15 (5 a zone, 10
        // left); two zones: 20; N+2 alone would be 12.
        assert_eq!(zone_survivors(10, 3), 15);
        assert_eq!(zone_survivors(10, 2), 20);
        assert_eq!(zone_survivors(11, 3), 17); // 6+6+5: lose 6, 11 left
        assert_eq!(zone_survivors(10, 1), 10);
        for n in 1..60 {
            for z in 2..6 {
                let t = zone_survivors(n, z);
                assert!(t - t.div_ceil(z) >= n, "{n} {z}");
                assert!(t - 1 - (t - 1).div_ceil(z) < n, "{n} {z} not the fewest");
            }
        }
        let mut r = region("eu", 1000.0, 2);
        r.zones = 3;
        let need = regional(
            1000.0,
            0.0,
            &[r],
            &[candidate("task", 100.0, 1.0)],
            &sizing(2, false),
        );
        assert_eq!(counts(&need), [("eu", 15, SizedFor::ZoneLoss)]);
        assert!((need[0].utilisation - 1000.0 / 1500.0).abs() < 1e-12);
    }

    #[test]
    fn the_worst_loss_is_the_heaviest_other_region_as_a_search_of_all_finds() {
        // Against the search over every other region it replaced (the
        // last of equal losses, as max_by picks): weights with ties, the
        // heaviest first, last and in the middle.
        let sets: [&[f64]; 5] = [
            &[1430.0, 290.0, 1400.0, 350.0],
            &[5.0, 5.0, 1.0],
            &[1.0, 7.0, 7.0, 2.0, 7.0],
            &[3.0, 1.0, 2.0, 9.0],
            &[4.0, 4.0],
        ];
        for weights in sets {
            let regions: Vec<Region> = weights
                .iter()
                .enumerate()
                .map(|(i, &w)| region(&format!("r{i}"), w, 1))
                .collect();
            let total: f64 = weights.iter().sum();
            let peak = 1000.0;
            let need = regional(
                peak,
                0.0,
                &regions,
                &[candidate("task", 10.0, 1.0)],
                &sizing(1, true),
            );
            for (i, n) in need.iter().enumerate() {
                let own = peak * weights[i] / total;
                let (x, j) = (0..weights.len())
                    .filter(|&j| j != i)
                    .map(|j| {
                        let x = own + peak * weights[j] / total * weights[i] / (total - weights[j]);
                        (x, j)
                    })
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .unwrap();
                assert_eq!(n.loss_rps, Some(x), "{weights:?} region {i}");
                assert_eq!(
                    n.worst_loss,
                    Some(format!("r{j}")),
                    "{weights:?} region {i}"
                );
            }
        }
    }
}
