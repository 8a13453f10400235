//! The statistics behind a verdict.
//!
//! * Latency quantiles, mean latency and the achieved rate: a moving-block
//!   bootstrap over the runs' 1-second intervals (Künsch 1989). Each
//!   resample draws ⌈n/L⌉ blocks of L = round(n^⅓) consecutive seconds with
//!   replacement from each run, merges their histograms and computes the
//!   metric; the percentile interval of the relative change
//!   current/baseline − 1 over the resamples is the confidence interval.
//!   Blocks keep the second-to-second correlation (a queue that builds over
//!   several seconds) that resampling single seconds would wash out.
//! * Paired runs (`ab`: both versions in the same seconds): each resample
//!   draws one set of blocks and takes the same seconds from both, so a
//!   second the machine disturbed weighs on both sides of the ratio alike
//!   (the paired bootstrap; duet benchmarking, Bulej et al., ICPE 2020).
//! * Error share: the two-proportion z-test on whole-run counts, with a
//!   Wald interval for the difference in shares.
//!
//! Histograms are compacted first: every bucket value either run uses gets
//! one index, each second becomes a short list of (index, count), and a
//! resample is a dense count array — no histogram merges in the loop.

use std::collections::BTreeMap;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::results::compare::Metric;
use crate::results::hlog::Recorded;

/// Latency metrics computed from one set of histograms, in milliseconds.
pub const LATENCY_METRICS: [Metric; 4] = [Metric::P50, Metric::P90, Metric::P99, Metric::Mean];

/// Samples a quantile (or the mean, `None`) needs before it is compared:
/// the breaking-point search's rule, at least 20.
pub fn min_samples(quantile: Option<f64>) -> u64 {
    quantile.map_or(1, crate::metrics::min_samples).max(20)
}

/// A change between two runs with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    pub baseline: f64,
    pub current: f64,
    /// Relative (current/baseline − 1) or, for shares, the difference.
    pub change: f64,
    pub ci: (f64, f64),
}

impl Change {
    /// The interval excludes zero.
    pub fn significant(&self) -> bool {
        self.ci.0 > 0.0 || self.ci.1 < 0.0
    }
}

struct Compact {
    /// Each bucket's highest equivalent value (quantiles, as HdrHistogram
    /// reports them) and its median equivalent value (the mean, likewise).
    values_ms: Vec<f64>,
    mids_ms: Vec<f64>,
    base: Vec<Vec<(u32, u64)>>,
    cur: Vec<Vec<(u32, u64)>>,
}

fn compact(base: &[Recorded], cur: &[Recorded]) -> Compact {
    let mut index: BTreeMap<u64, u32> = BTreeMap::new();
    for h in base.iter().chain(cur) {
        for &(v, _) in h.buckets() {
            index.insert(v, 0);
        }
    }
    for (i, slot) in index.values_mut().enumerate() {
        *slot = i as u32;
    }
    let sparse = |hs: &[Recorded]| -> Vec<Vec<(u32, u64)>> {
        hs.iter()
            .map(|h| h.buckets().iter().map(|&(v, n)| (index[&v], n)).collect())
            .collect()
    };
    // The buckets' layout is the one every headroom histogram shares.
    let layout = crate::metrics::new_histogram();
    Compact {
        values_ms: index.keys().map(|&v| v as f64 / 1000.0).collect(),
        mids_ms: index
            .keys()
            .map(|&v| layout.median_equivalent(v) as f64 / 1000.0)
            .collect(),
        base: sparse(base),
        cur: sparse(cur),
    }
}

/// [p50, p90, p99, mean] of dense counts; `None` where too few samples.
fn latency_metrics(counts: &[u64], values_ms: &[f64], mids_ms: &[f64]) -> [Option<f64>; 4] {
    let total: u64 = counts.iter().sum();
    let mut out = [None; 4];
    if total == 0 {
        return out;
    }
    let mut sum = 0.0;
    for (c, v) in counts.iter().zip(mids_ms) {
        sum += *c as f64 * v;
    }
    for (slot, metric) in out.iter_mut().zip(LATENCY_METRICS) {
        let q = metric.quantile();
        if total < min_samples(q) {
            continue;
        }
        *slot = match q {
            None => Some(sum / total as f64),
            Some(q) => {
                // HdrHistogram's rule: the first value whose cumulative
                // count reaches ⌈q·total⌉.
                let rank = ((q * total as f64).ceil() as u64).max(1);
                let mut seen = 0;
                counts
                    .iter()
                    .zip(values_ms)
                    .find(|(c, _)| {
                        seen += **c;
                        seen >= rank
                    })
                    .map(|(_, v)| *v)
            }
        };
    }
    out
}

fn block_len(n: usize) -> usize {
    ((n as f64).cbrt().round() as usize).clamp(1, n.max(1))
}

/// Indices of one moving-block resample of `n` seconds.
fn resample_indices(n: usize, rng: &mut SmallRng, out: &mut Vec<usize>) {
    out.clear();
    let l = block_len(n);
    while out.len() < n {
        let start = rng.random_range(0..=n - l);
        out.extend((start..start + l).take(n - out.len()));
    }
}

fn percentile_interval(mut draws: Vec<f64>, confidence: f64) -> (f64, f64) {
    draws.retain(|d| d.is_finite());
    if draws.is_empty() {
        return (f64::NEG_INFINITY, f64::INFINITY);
    }
    draws.sort_by(f64::total_cmp);
    let alpha = 1.0 - confidence;
    let at = |p: f64| {
        let i = (p * (draws.len() - 1) as f64).round() as usize;
        draws[i.min(draws.len() - 1)]
    };
    (at(alpha / 2.0), at(1.0 - alpha / 2.0))
}

/// How a comparison resamples: the bootstrap's settings, and whether the
/// two runs' seconds are pairs (the same seconds of one paired run).
#[derive(Debug, Clone, Copy)]
pub struct Resampling {
    pub resamples: usize,
    pub confidence: f64,
    pub seed: u64,
    pub paired: bool,
}

/// p50, p90, p99 and mean latency of two runs, each with the bootstrap
/// interval of its relative change. `None` for a metric with too few
/// samples in either run, or fewer than 2 seconds (or, paired, seconds
/// that do not pair up).
pub fn latency_changes(base: &[Recorded], cur: &[Recorded], r: Resampling) -> [Option<Change>; 4] {
    let Resampling {
        resamples,
        confidence,
        seed,
        paired,
    } = r;
    if base.len() < 2 || cur.len() < 2 || (paired && base.len() != cur.len()) {
        return [None; 4];
    }
    let c = compact(base, cur);
    let k = c.values_ms.len();
    let whole = |intervals: &[Vec<(u32, u64)>]| {
        let mut counts = vec![0u64; k];
        for iv in intervals {
            for &(i, n) in iv {
                counts[i as usize] += n;
            }
        }
        latency_metrics(&counts, &c.values_ms, &c.mids_ms)
    };
    let b0 = whole(&c.base);
    let c0 = whole(&c.cur);
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut draws: [Vec<f64>; 4] = Default::default();
    let mut idx = Vec::new();
    let mut counts_b = vec![0u64; k];
    let mut counts_c = vec![0u64; k];
    for _ in 0..resamples {
        if paired {
            resample_indices(c.base.len(), &mut rng, &mut idx);
        }
        for (counts, intervals) in [(&mut counts_b, &c.base), (&mut counts_c, &c.cur)] {
            counts.iter_mut().for_each(|x| *x = 0);
            if !paired {
                resample_indices(intervals.len(), &mut rng, &mut idx);
            }
            for &j in &idx {
                for &(i, n) in &intervals[j] {
                    counts[i as usize] += n;
                }
            }
        }
        let mb = latency_metrics(&counts_b, &c.values_ms, &c.mids_ms);
        let mc = latency_metrics(&counts_c, &c.values_ms, &c.mids_ms);
        for m in 0..4 {
            if let (Some(b), Some(x)) = (mb[m], mc[m]) {
                draws[m].push(x / b - 1.0);
            }
        }
    }
    let mut out = [None; 4];
    for m in 0..4 {
        if let (Some(b), Some(x)) = (b0[m], c0[m]) {
            out[m] = Some(Change {
                baseline: b,
                current: x,
                change: x / b - 1.0,
                ci: percentile_interval(std::mem::take(&mut draws[m]), confidence),
            });
        }
    }
    out
}

/// Mean of per-second values (the achieved rate), with the bootstrap
/// interval of the relative change.
pub fn mean_change(base: &[f64], cur: &[f64], r: Resampling) -> Option<Change> {
    let Resampling {
        resamples,
        confidence,
        seed,
        paired,
    } = r;
    if base.len() < 2 || cur.len() < 2 || (paired && base.len() != cur.len()) {
        return None;
    }
    let mean = |v: &[f64], idx: &[usize]| idx.iter().map(|&i| v[i]).sum::<f64>() / idx.len() as f64;
    let all = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (b0, c0) = (all(base), all(cur));
    if b0 <= 0.0 {
        return None;
    }
    let mut rng = SmallRng::seed_from_u64(seed);
    let (mut ib, mut ic) = (Vec::new(), Vec::new());
    let draws = (0..resamples)
        .map(|_| {
            resample_indices(base.len(), &mut rng, &mut ib);
            if paired {
                ic.clone_from(&ib);
            } else {
                resample_indices(cur.len(), &mut rng, &mut ic);
            }
            mean(cur, &ic) / mean(base, &ib) - 1.0
        })
        .collect();
    Some(Change {
        baseline: b0,
        current: c0,
        change: c0 / b0 - 1.0,
        ci: percentile_interval(draws, confidence),
    })
}

/// Error shares of two runs: the difference with its Wald interval;
/// significance by the pooled two-proportion z-test. `None` without
/// requests in either run.
pub fn share_change(
    base_errors: u64,
    base_total: u64,
    cur_errors: u64,
    cur_total: u64,
    confidence: f64,
) -> Option<Change> {
    if base_total == 0 || cur_total == 0 {
        return None;
    }
    let (n1, n2) = (base_total as f64, cur_total as f64);
    let (p1, p2) = (base_errors as f64 / n1, cur_errors as f64 / n2);
    let z = Normal::standard().inverse_cdf(1.0 - (1.0 - confidence) / 2.0);
    let diff = p2 - p1;
    let pooled = (base_errors + cur_errors) as f64 / (n1 + n2);
    let se_pooled = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let significant = se_pooled > 0.0 && (diff / se_pooled).abs() > z;
    let half = z * (p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2).sqrt();
    // Report the interval; when the pooled test does not reject, widen it to
    // include zero so that `significant()` agrees with the test.
    let (mut lo, mut hi) = (diff - half, diff + half);
    if !significant {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    } else if lo <= 0.0 && hi >= 0.0 {
        // The Wald interval can straddle zero where the pooled test rejects.
        if diff > 0.0 {
            lo = f64::MIN_POSITIVE;
        } else {
            hi = -f64::MIN_POSITIVE;
        }
    }
    Some(Change {
        baseline: p1,
        current: p2,
        change: diff,
        ci: (lo, hi),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(resamples: usize, seed: u64) -> Resampling {
        Resampling {
            resamples,
            confidence: 0.95,
            seed,
            paired: false,
        }
    }
    use hdrhistogram::Histogram;

    /// `seconds` histograms of `per_second` log-normal latencies (µs) with
    /// median `median_ms`.
    fn run(seconds: usize, per_second: usize, median_ms: f64, seed: u64) -> Vec<Recorded> {
        let mut rng = SmallRng::seed_from_u64(seed);
        let normal = statrs::distribution::Normal::standard();
        (0..seconds)
            .map(|_| {
                let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
                for _ in 0..per_second {
                    let u: f64 = rng.random_range(1e-12..1.0);
                    let z = normal.inverse_cdf(u);
                    h.record((median_ms * 1000.0 * (0.5 * z).exp()) as u64)
                        .unwrap();
                }
                Recorded::of(&h)
            })
            .collect()
    }

    #[test]
    fn whole_run_quantiles_match_hdrhistogram() {
        let r = run(10, 500, 10.0, 1);
        let mut all = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for h in &r {
            h.add_to(&mut all).unwrap();
        }
        let ch = latency_changes(&r, &r, rs(10, 1));
        for (metric, c) in LATENCY_METRICS.iter().zip(ch) {
            let (q, c) = (metric.quantile(), c.unwrap());
            let want = match q {
                Some(q) => all.value_at_quantile(q) as f64 / 1000.0,
                None => all.mean() / 1000.0,
            };
            assert!(
                (c.baseline - want).abs() < 1e-6 * want.max(1.0) + 1e-3,
                "{q:?}: {} vs {want}",
                c.baseline
            );
            assert_eq!(c.change, 0.0);
        }
    }

    #[test]
    fn same_distribution_is_mostly_not_significant_and_a_shift_is() {
        // 40 pairs of independent runs from one distribution: the 95 %
        // interval of p50's change should exclude zero in about 5 % of
        // them; allow up to 6 of 40 (P(X ≥ 7) < 1 % for X ~ Bin(40, 0.05)).
        let mut false_alarms = 0;
        for i in 0..40 {
            let a = run(20, 200, 10.0, 1000 + i);
            let b = run(20, 200, 10.0, 2000 + i);
            let c = latency_changes(&a, &b, rs(200, i))[0].unwrap();
            false_alarms += usize::from(c.significant());
        }
        assert!(false_alarms <= 6, "{false_alarms} of 40");
        // +20 % is found, with the interval around it.
        let a = run(20, 200, 10.0, 7);
        let b = run(20, 200, 12.0, 8);
        for c in latency_changes(&a, &b, rs(400, 3)).iter().flatten() {
            assert!(
                c.significant() && c.ci.0 > 0.05 && (c.change - 0.2).abs() < 0.08,
                "{c:?}"
            );
        }
    }

    #[test]
    fn quantiles_without_enough_samples_are_not_compared() {
        // 2 × 40 samples: p50 and mean yes, p90 (needs 100) and p99 not.
        let a = run(2, 40, 10.0, 1);
        let c = latency_changes(&a, &a, rs(10, 1));
        assert!(c[0].is_some() && c[3].is_some());
        assert!(c[1].is_none() && c[2].is_none());
    }

    #[test]
    fn error_shares_by_the_two_proportion_test() {
        // 1 % vs 2 % of 10,000: z ≈ 5.8, significant.
        let c = share_change(100, 10_000, 200, 10_000, 0.95).unwrap();
        assert!(c.significant() && (c.change - 0.01).abs() < 1e-12);
        // 1 % vs 1.2 % of 1,000: z ≈ 0.43, not.
        let c = share_change(10, 1_000, 12, 1_000, 0.95).unwrap();
        assert!(!c.significant());
        // None at all: no change.
        let c = share_change(0, 500, 0, 500, 0.95).unwrap();
        assert!(!c.significant() && c.change == 0.0);
    }

    #[test]
    fn rates_by_bootstrap() {
        let a: Vec<f64> = (0..30).map(|i| 1000.0 + (i % 3) as f64).collect();
        let b: Vec<f64> = (0..30).map(|i| 800.0 + (i % 3) as f64).collect();
        let c = mean_change(&a, &b, rs(500, 1)).unwrap();
        assert!(c.significant() && (c.change + 0.2).abs() < 0.01, "{c:?}");
    }
}
