//! Baseline comparison for CI: is the current run slower than the baseline,
//! beyond the run-to-run noise?
//!
//! For every request name (and all requests together) p50, p90, p99 and mean
//! latency, the achieved rate and the error share are compared. A metric is
//! a **regression** when its change is significant (the confidence interval
//! excludes zero; see [`stats`]) *and* worse than its minimum effect (10 %
//! by default, 0.1 percentage points for the error share); an
//! **improvement** likewise in the other direction; otherwise **no
//! significant change**. It is **inconclusive** when either run has too few
//! samples for it. This is criterion's rule (significance plus a noise
//! threshold), applied to load-test intervals.
//!
//! Latency counts from each request's intended send, so the generator's own
//! lateness (send lag) adds to it. A second measured a stall of the
//! machine, not the service, when its send lag exceeds the steady lag (the
//! smaller of the two runs' median seconds) by more than the minimum effect
//! of the mean latency (the smaller median second) on average — or, where
//! p99 is compared and the second has at least 100 sends, of the p99
//! latency at p99: lateness that alone moves that second's mean, or its
//! tail, by the minimum effect — and by more than one pacing tick. It and the second after it are left out of
//! that run's latency and rate comparisons (the bootstrap's blocks then
//! join the seconds on either side), and named. Not in a run where
//! arrivals waited for a free connection: send lag includes that wait, and
//! a late second may be the service's backpressure. (Measured here, 6 s at
//! 2,000/s of a 10 ms service in a debug build: clean seconds lag
//! 0.10–0.13 ms on average, 0.7–1.0 ms at p99; two busy loops beside the
//! run 0.24–0.29 ms and 3.4–3.8 ms, which moved no latency metric but
//! passed p99's limit (3.6 ms) in three seconds: cautious; a 50 ms stop
//! 1.6 ms and 41 ms; 20 ms stops every 120 ms 1.4–2.3 ms and 20–22 ms, p50
//! +12 % and p99 +35 % when kept.)
//!
//! The whole comparison is inconclusive if either run was generator-limited
//! or interrupted (its latencies describe the generator, not the service),
//! or fewer than half of a run's seconds with sends (at least 2) were
//! quiet. A run generator-limited only by the stalls left out — the send
//! lag grew while connections were free, no arrival waited for a
//! connection, 98 % of the schedule was sent, no stretch left out is longer
//! than 3 seconds, and without them its send lag p99 is within 25 ms — is
//! compared on its quiet seconds. Otherwise the comparison is a
//! regression if any metric is, inconclusive if any metric is,
//! an improvement if any metric is, and no significant change else.

pub mod load;
pub mod render;
pub mod stats;

use std::collections::BTreeMap;

use crate::results::compare::{Comparison, Metric, MetricChange, RunInfo, Scope, Verdict, SCHEMA};
use crate::results::hlog::{Key, Recorded, Series};
use load::RunData;
use stats::Change;

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Confidence level of the intervals (default 0.95).
    pub confidence: f64,
    /// Minimum relative effect for latency and rate metrics (default 0.10).
    pub min_effect: f64,
    /// Minimum difference in error share (default 0.001).
    pub min_error_increase: f64,
    /// Per-metric minimum effects (`p99` → 0.15), over the defaults.
    pub per_metric: BTreeMap<Metric, f64>,
    pub resamples: usize,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            confidence: 0.95,
            min_effect: 0.10,
            min_error_increase: 0.001,
            per_metric: BTreeMap::new(),
            resamples: 2000,
            seed: 0x6865_6164,
        }
    }
}

impl Options {
    fn threshold(&self, metric: Metric) -> f64 {
        self.per_metric
            .get(&metric)
            .copied()
            .unwrap_or(if metric == Metric::Errors {
                self.min_error_increase
            } else {
                self.min_effect
            })
    }
}

/// Limits on a second's send lag beyond which it measured the machine:
/// the mean and the p99, ms.
#[derive(Debug, Clone, Copy)]
struct LagLimit {
    mean_ms: f64,
    p99_ms: f64,
}

/// The seconds of `r` whose send lag passed a limit, each with the second
/// after it: the backlog a stall leaves drains, and the sends it held back
/// catch up, after the stall (a 200 ms stop's next second still sent 65 ms
/// late at its worst).
fn disturbed(lag: &[Recorded], limit: LagLimit) -> Vec<usize> {
    // A p99 of fewer than 100 sends is their maximum: one late send.
    let late = |i: usize| {
        lag[i].mean_ms().is_some_and(|l| l > limit.mean_ms)
            || (lag[i].len() >= 100 && lag[i].quantile_ms(0.99).is_some_and(|l| l > limit.p99_ms))
    };
    (0..lag.len())
        .filter(|&i| late(i) || (i > 0 && late(i - 1)))
        .collect()
}

/// The (lower) median over a run's seconds of their mean or p99 (send lag
/// or latency), ms.
fn median_second(seconds: &[Recorded], p99: bool) -> Option<f64> {
    let mut v: Vec<f64> = seconds
        .iter()
        .filter_map(|h| {
            if p99 {
                h.quantile_ms(0.99)
            } else {
                h.mean_ms()
            }
        })
        .collect();
    v.sort_by(f64::total_cmp);
    // The lower middle of an even count: of two seconds, the quieter.
    v.get(v.len().saturating_sub(1) / 2).copied()
}

/// Send lag p99 of `r` without the seconds in `out`, ms.
fn lag_p99_without(r: &RunData, out: &[usize]) -> Option<f64> {
    let mut buckets: Vec<(u64, u64)> = (0..r.lag.len())
        .filter(|i| !out.contains(i))
        .flat_map(|i| r.lag[i].buckets().iter().copied())
        .collect();
    buckets.sort_unstable();
    crate::results::hlog::quantile_ms(&buckets, 0.99)
}

/// Stretches of consecutive seconds a stall leaves out at the most: the
/// stalled second, the one after, and one more for a stall across a
/// second's end. Longer, the generator was short of CPU, not stalled.
const STALL_SECONDS_MAX: usize = 3;

/// A generator-limited run that fell behind only in the seconds `out`
/// (stalls of the machine): the send lag grew while connections were free,
/// no arrival waited for a connection, 98 % of the schedule was sent, no
/// stretch of seconds left out is longer than [`STALL_SECONDS_MAX`], and
/// without those seconds the send lag p99 is within the limit. Its other
/// seconds measured the service.
fn behind_only_in(r: &RunData, out: &[usize]) -> Option<f64> {
    use crate::metrics::limits::{ACHIEVED_SHARE_MIN, LAG_P99_LIMIT_MS};
    let s = &r.summary;
    let sent_enough = s
        .target_rate
        .is_none_or(|want| s.achieved_rate >= ACHIEVED_SHARE_MIN * want);
    let mut stretch = 0;
    let short = out.iter().enumerate().all(|(k, &i)| {
        stretch = if k > 0 && out[k - 1] + 1 == i {
            stretch + 1
        } else {
            1
        };
        stretch <= STALL_SECONDS_MAX
    });
    if out.is_empty()
        || !short
        || s.attribution != crate::results::verdict::Attribution::GeneratorCpu
        || s.no_free_connection > 0
        || !sent_enough
    {
        return None;
    }
    lag_p99_without(r, out).filter(|&l| l <= LAG_P99_LIMIT_MS)
}

/// `r`'s latency histograms and per-second rates without the seconds in
/// `out`.
fn quiet(r: &RunData, out: &[usize]) -> (Series, BTreeMap<Key, Vec<f64>>) {
    fn keep<T: Clone>(v: &[T], out: &[usize]) -> Vec<T> {
        v.iter()
            .enumerate()
            .filter(|(i, _)| !out.contains(i))
            .map(|(_, x)| x.clone())
            .collect()
    }
    let latency = Series {
        all: keep(&r.latency.all, out),
        by_request: r
            .latency
            .by_request
            .iter()
            .map(|(k, v)| (k.clone(), keep(v, out)))
            .collect(),
    };
    let rates = r
        .rates
        .iter()
        .map(|(k, v)| (k.clone(), keep(v, out)))
        .collect();
    (latency, rates)
}

fn info(r: &RunData) -> RunInfo {
    RunInfo {
        path: r.dir.display().to_string(),
        scenario: r.summary.scenario.clone(),
        started_at: r.summary.started_at.clone(),
        duration_s: r.summary.duration_s,
        requests: r.summary.requests.total,
        target_rate: r.summary.target_rate,
        left_out_s: Vec::new(),
    }
}

/// Judges one metric's change for `key` (all requests or one name).
fn judge(
    key: &Key,
    metric: Metric,
    change: Option<Change>,
    threshold: f64,
    missing: &str,
) -> MetricChange {
    let (request, scope) = match key {
        Key::All => ("all".to_string(), Scope::All),
        Key::Request(n) => (n.clone(), Scope::Request),
    };
    let blank = MetricChange {
        request,
        scope,
        metric,
        unit: metric.unit(),
        baseline: None,
        current: None,
        change: None,
        ci: None,
        threshold,
        verdict: Verdict::Inconclusive,
        note: missing.into(),
    };
    let Some(c) = change else {
        return blank;
    };
    let worse = if metric.higher_is_worse() {
        c.change
    } else {
        -c.change
    };
    let verdict = if c.significant() && worse > threshold {
        Verdict::Regression
    } else if c.significant() && worse < -threshold {
        Verdict::Improvement
    } else {
        Verdict::NoSignificantChange
    };
    let note = match verdict {
        Verdict::NoSignificantChange if c.significant() => {
            "significant but within the minimum effect".to_string()
        }
        _ => String::new(),
    };
    MetricChange {
        baseline: Some(c.baseline),
        current: Some(c.current),
        change: Some(c.change),
        ci: Some(c.ci),
        verdict,
        note,
        ..blank
    }
}

fn model(m: crate::results::summary::LoadKind) -> &'static str {
    match m {
        crate::results::summary::LoadKind::Open => "open (a rate)",
        crate::results::summary::LoadKind::Closed => "closed (users)",
    }
}

/// Compares `current` against `baseline`.
pub fn compare(baseline: &RunData, current: &RunData, opts: &Options) -> Comparison {
    let mut warnings = Vec::new();
    let (bs, cs) = (&baseline.summary, &current.summary);
    if bs.scenario != cs.scenario {
        warnings.push(format!(
            "different scenarios: `{}` vs `{}`",
            bs.scenario, cs.scenario
        ));
    }
    if bs.target != cs.target {
        warnings.push(format!("different targets: {} vs {}", bs.target, cs.target));
    }
    if let (Some(a), Some(b)) = (bs.target_rate, cs.target_rate) {
        if (a - b).abs() > 0.01 * a {
            warnings.push(format!(
                "different target rates: {a:.1} vs {b:.1} requests/s"
            ));
        }
    }
    let mut unsound = false;
    // An open-model latency counts the wait for a connection, a closed
    // model's does not: the two measure different things.
    if bs.model != cs.model {
        unsound = true;
        warnings.push(format!(
            "different load models: {} vs {} (their latencies measure different things)",
            model(bs.model),
            model(cs.model)
        ));
    }
    // Seconds in which the machine, not the service, was measured.
    let least = |f: &dyn Fn(&RunData) -> Option<f64>| {
        [baseline, current]
            .into_iter()
            .filter_map(f)
            .fold(f64::INFINITY, f64::min)
    };
    // The latency the limits scale with: each run's median second (a
    // stall inflates the whole run's p99 and mean, not its median second).
    let latency = |p99: bool| least(&|r: &RunData| median_second(&r.latency.all, p99));
    // Lateness over the steady lag by more than `margin`, and by more than
    // one pacing tick (lateness the send grid adds by design: a 0.07 ms
    // nginx page's 10 % is 7 µs, under the jitter of a quiet second's
    // mean lag, 30–60 µs); none when the margin is zero — a minimum effect
    // of 0 — or unknown.
    let tick_ms = crate::load::PACING_TICK.as_secs_f64() * 1000.0;
    let over = |steady: f64, margin: f64| {
        if margin > 0.0 && (steady + margin).is_finite() {
            steady + margin.max(tick_ms)
        } else {
            f64::INFINITY
        }
    };
    // p99's rule only where p99 is compared at all.
    let p99_compared = [baseline, current].iter().all(|r| {
        r.latency.all.iter().map(Recorded::len).sum::<u64>()
            >= stats::min_samples(Metric::P99.quantile())
    });
    let limit = LagLimit {
        mean_ms: over(
            least(&|r| median_second(&r.lag, false)),
            opts.threshold(Metric::Mean) * latency(false),
        ),
        p99_ms: if p99_compared {
            over(
                least(&|r| median_second(&r.lag, true)),
                opts.threshold(Metric::P99) * latency(true),
            )
        } else {
            f64::INFINITY
        },
    };
    let mut left_out = [Vec::new(), Vec::new()];
    for (slot, (which, r)) in left_out
        .iter_mut()
        .zip([("baseline", baseline), ("current", current)])
    {
        // Send lag includes the wait for a free connection: when arrivals
        // waited for one, a late second may be the service's backpressure,
        // and nothing is left out.
        if r.summary.no_free_connection > 0 {
            continue;
        }
        let out = disturbed(&r.lag, limit);
        if out.is_empty() {
            continue;
        }
        // Seconds with sends (not the rows of answers after the schedule).
        let seconds = r.lag.iter().filter(|h| !h.is_empty()).count();
        let out_of_seconds = out.iter().filter(|&&i| !r.lag[i].is_empty()).count();
        let worst =
            |f: fn(&Recorded) -> Option<f64>| r.lag.iter().filter_map(f).fold(0.0, f64::max);
        let mut late = Vec::new();
        if limit.mean_ms.is_finite() {
            late.push(format!(
                "up to {} on average, limit {}",
                crate::units::fmt_ms(worst(Recorded::mean_ms)),
                crate::units::fmt_ms(limit.mean_ms)
            ));
        }
        if limit.p99_ms.is_finite() {
            late.push(format!(
                "{} at p99, limit {}",
                crate::units::fmt_ms(worst(|h| h.quantile_ms(0.99))),
                crate::units::fmt_ms(limit.p99_ms)
            ));
        }
        let why = format!(
            "the generator itself sent late (a second's send lag {}): the machine stalled, not the service",
            late.join("; ")
        );
        let quiet_seconds = seconds.saturating_sub(out_of_seconds);
        if quiet_seconds < seconds.div_ceil(2).max(2) {
            unsound = true;
            warnings.push(format!(
                "only {quiet_seconds} of {seconds} seconds of the {which} run were quiet: in the others {why}; run it again on a quieter machine"
            ));
        } else {
            // The row after the schedule (answers, no sends) is named as such.
            let mut list: Vec<String> = out
                .iter()
                .filter(|&&i| !r.lag[i].is_empty())
                .map(|i| format!("{i} s"))
                .collect();
            if out_of_seconds < out.len() {
                list.push("the answers after the schedule".into());
            }
            warnings.push(format!(
                "left out {out_of_seconds} of {seconds} seconds of the {which} run (those starting at {}) from latency and rate: {why}",
                list.join(", ")
            ));
        }
        *slot = out;
    }
    for ((which, r), out) in [("baseline", baseline), ("current", current)]
        .into_iter()
        .zip(&left_out)
    {
        let s = &r.summary;
        if s.generator_limited {
            if let Some(p99) = behind_only_in(r, out) {
                warnings.push(format!(
                    "the {which} run fell behind its schedule only in the seconds left out ({}; {} without them)",
                    s.generator_notes.join("; "),
                    crate::units::fmt_ms(p99)
                ));
            } else {
                unsound = true;
                warnings.push(format!(
                    "the {which} run was generator-limited ({}): its latencies describe the generator",
                    s.generator_notes.join("; ")
                ));
            }
        }
        if s.interrupted {
            unsound = true;
            warnings.push(format!("the {which} run was interrupted"));
        }
    }
    let (b_latency, b_rates) = quiet(baseline, &left_out[0]);
    let (c_latency, c_rates) = quiet(current, &left_out[1]);
    let mut metrics = Vec::new();
    // All requests first, then each name both runs have.
    let mut keys = vec![Key::All];
    keys.extend(
        baseline
            .latency
            .by_request
            .keys()
            .filter(|k| current.latency.by_request.contains_key(*k))
            .map(|k| Key::Request(k.clone())),
    );
    let empty = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let seed = opts.seed.wrapping_add(i as u64);
        let series = |s: &Series| s.get(key).cloned().unwrap_or_default();
        let changes = stats::latency_changes(
            &series(&b_latency),
            &series(&c_latency),
            opts.resamples,
            opts.confidence,
            seed,
        );
        for (metric, c) in stats::LATENCY_METRICS.into_iter().zip(changes) {
            let missing = format!(
                "fewer than {} latency samples in a run",
                stats::min_samples(metric.quantile())
            );
            metrics.push(judge(key, metric, c, opts.threshold(metric), &missing));
        }
        let rate = stats::mean_change(
            b_rates.get(key).unwrap_or(&empty),
            c_rates.get(key).unwrap_or(&empty),
            opts.resamples,
            opts.confidence,
            seed,
        );
        metrics.push(judge(
            key,
            Metric::Rate,
            rate,
            opts.threshold(Metric::Rate),
            "no per-second send counts (detail.hlog or the time series) in a run",
        ));
        let counts = |s: &crate::results::summary::Summary| match key {
            Key::All => Some((s.requests.errors.total, s.requests.total)),
            Key::Request(name) => s
                .per_request
                .iter()
                .find(|p| &p.name == name)
                .map(|p| (p.requests.errors.total, p.requests.total)),
        };
        let errors = match (counts(bs), counts(cs)) {
            (Some((e1, n1)), Some((e2, n2))) => {
                stats::share_change(e1, n1, e2, n2, opts.confidence)
            }
            _ => None,
        };
        metrics.push(judge(
            key,
            Metric::Errors,
            errors,
            opts.threshold(Metric::Errors),
            "no completed requests in a run",
        ));
    }
    let any = |v: Verdict| metrics.iter().any(|m| m.verdict == v);
    let verdict = if unsound {
        Verdict::Inconclusive
    } else if any(Verdict::Regression) {
        Verdict::Regression
    } else if any(Verdict::Inconclusive) {
        Verdict::Inconclusive
    } else if any(Verdict::Improvement) {
        Verdict::Improvement
    } else {
        Verdict::NoSignificantChange
    };
    let [b_out, c_out] = left_out;
    Comparison {
        schema: SCHEMA.into(),
        verdict,
        baseline: RunInfo {
            left_out_s: b_out,
            ..info(baseline)
        },
        current: RunInfo {
            left_out_s: c_out,
            ..info(current)
        },
        confidence: opts.confidence,
        method: format!(
            "moving-block bootstrap over 1-second intervals ({} resamples) for latency and rate; \
             two-proportion z-test for error share; a change counts when its {:.0} % interval \
             excludes zero and it exceeds the minimum effect",
            opts.resamples,
            opts.confidence * 100.0
        ),
        warnings,
        metrics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::Histogram;

    /// A second of 2,000 sends: `late` of them `stall_ms` late on average
    /// (spread evenly from 0 to twice that), the rest 0.1 ms late.
    fn second(late: u64, stall_ms: f64) -> Recorded {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        h.record_n(100, 2000 - late).unwrap();
        for i in 0..late {
            h.record((2.0 * stall_ms * 1000.0 * (i as f64 + 0.5) / late as f64) as u64)
                .unwrap();
        }
        Recorded::of(&h)
    }

    #[test]
    fn a_stall_and_the_second_after_it_are_left_out() {
        // The 10 ms service of tests/gate.rs: mean 10.2 ms, p99 28.3 ms.
        let quiet: Vec<Recorded> = (0..6).map(|_| second(0, 0.0)).collect();
        let steady = |p99| median_second(&quiet, p99).unwrap();
        let limit = LagLimit {
            mean_ms: steady(false) + 0.1 * 10.2,
            p99_ms: steady(true) + 0.1 * 28.3,
        };
        assert!((steady(false) - 0.1).abs() < 0.001 && (steady(true) - 0.1).abs() < 0.001);
        assert!(disturbed(&quiet, limit).is_empty());
        // A 50 ms stop at 2,000/s: 100 sends, 25 ms late on average.
        let mut stalled = quiet.clone();
        stalled[2] = second(100, 25.0);
        assert_eq!(disturbed(&stalled, limit), [2, 3]);
        // In the last second: only it.
        stalled[2] = second(0, 0.0);
        stalled[5] = second(100, 25.0);
        assert_eq!(disturbed(&stalled, limit), [5]);
        // 2 % of sends up to 2 ms late (a busy neighbour): within both
        // limits.
        let busy: Vec<Recorded> = (0..6).map(|_| second(40, 1.0)).collect();
        assert!(disturbed(&busy, limit).is_empty());
        // A 20 ms stop: 40 sends, 10 ms late on average — a mean of
        // 0.3 ms, under its limit, but p99 about 10 ms, past its limit.
        let mut short = quiet.clone();
        short[1] = second(40, 10.0);
        assert_eq!(disturbed(&short, limit), [1, 2]);
    }
}
