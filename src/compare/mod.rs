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
//! **What the generator's lateness cannot move.** Latency counts from each
//! request's intended send, so the generator's own lateness (send lag)
//! adds to it. A second's send lag is past its limit when it exceeds the
//! steady lag (the smaller of the two runs' median seconds) by more than
//! the minimum effect of the mean latency (the smaller median second) on
//! average — or, where p99 is compared and the second has at least 100
//! sends, of the p99 latency at p99 — and by more than one pacing tick.
//! * Where some second passed it and no arrival in either run waited for a
//!   free connection, latency − service time is the generator's lateness
//!   alone: both runs are **judged on service time** (from the actual
//!   send, recorded for every request in `detail.hlog`). A second is then
//!   left out only when its send lag passed the limit and the generator
//!   stalled through too much of it: more
//!   than half the tail of the highest quantile compared (0.5 % of its
//!   sends where p99 is compared, else 5 %, and at least 3) left later
//!   than the minimum effect of the median service time (and one pacing
//!   tick) over the steady lag. A stall delays the answers in flight
//!   (read late) and sends a burst after it; a few sends late by a hiccup
//!   cannot move the judged quantiles, a stop through a third of every
//!   second can. (Measured on this 2-core VM: the generator's hiccups of
//!   0.5–3 ms, which a timer-only program sees as often, had left out 8 of
//!   10 seconds of a clear +21 % change.)
//! * Otherwise (a run where arrivals waited for a connection: a late
//!   second may be the service's backpressure; or an older run without
//!   service times) latency is judged, and a second past the limit is left
//!   out with the second after it (the backlog drains).
//!
//! Left-out seconds are named in a warning and in `left_out_s`.
//!
//! The whole comparison is inconclusive if either run was interrupted or
//! generator-limited (its latencies describe the generator, not the
//! service), or fewer than half of a run's seconds with sends (at least 2)
//! were quiet. A generator-limited run is still compared when judged on
//! service time with no arrival waiting for a connection and 98 % of its
//! schedule sent; or, judged on latency, when it fell behind only in the
//! stalls left out (the send lag grew while connections were free, no
//! arrival waited for a connection, 98 % of the schedule was sent, no
//! stretch left out is longer than 3 seconds, and without them its send
//! lag p99 is within 25 ms). Otherwise the comparison is a regression if
//! any metric is, inconclusive if any metric is, an improvement if any
//! metric is, and no significant change else.
//!
//! **Paired runs** (`ab`: one schedule whose arrivals go to either
//! version at random) are judged the same way, with each resample taking
//! the same seconds from both arms, so noise that hits a second hits both.

pub mod load;
pub mod render;
pub mod stats;

use std::collections::BTreeMap;

use crate::results::compare::{
    Comparison, Design, Measure, Metric, MetricChange, RunInfo, Scope, Verdict, Warning,
    WarningKind, SCHEMA,
};
use crate::results::hlog::{Key, Recorded, Series};
use crate::results::summary::Summary;
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
    (0..lag.len())
        .filter(|&i| past_limit(lag, limit, i) || (i > 0 && past_limit(lag, limit, i - 1)))
        .collect()
}

/// Second `i`'s send lag passed a limit.
fn past_limit(lag: &[Recorded], limit: LagLimit, i: usize) -> bool {
    // A p99 of fewer than 100 sends is their maximum: one late send.
    lag[i].mean_ms().is_some_and(|l| l > limit.mean_ms)
        || (lag[i].len() >= 100 && lag[i].quantile_ms(0.99).is_some_and(|l| l > limit.p99_ms))
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
    use crate::search::limits::{ACHIEVED_SHARE_MIN, LAG_P99_LIMIT_MS};
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

/// `r`'s latency (or service-time) histograms and per-second rates without
/// the seconds in `out`.
fn quiet(r: &RunData, out: &[usize], measure: Measure) -> (Series, BTreeMap<Key, Vec<f64>>) {
    fn keep<T: Clone>(v: &[T], out: &[usize]) -> Vec<T> {
        v.iter()
            .enumerate()
            .filter(|(i, _)| !out.contains(i))
            .map(|(_, x)| x.clone())
            .collect()
    }
    let series = match measure {
        Measure::Latency => &r.latency,
        Measure::ServiceTime => &r.service,
    };
    let latency = Series {
        all: keep(&series.all, out),
        by_request: series
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

/// Compares `current` against `baseline`: two runs, one after the other.
pub fn compare(baseline: &RunData, current: &RunData, opts: &Options) -> Comparison {
    judge_runs(baseline, current, opts, Design::Separate)
}

/// Compares the two arms of one paired run (`ab`): the same seconds of
/// both are taken together in every resample.
pub fn compare_paired(baseline: &RunData, current: &RunData, opts: &Options) -> Comparison {
    judge_runs(baseline, current, opts, Design::Paired)
}

/// Warnings about what differs between the runs besides the service; true
/// when the two cannot be compared at all (different load models). The
/// arms of a paired run differ in target by design, and in rate by the
/// random split of one schedule.
fn differences(bs: &Summary, cs: &Summary, design: Design, warnings: &mut Vec<Warning>) -> bool {
    let mut warn = |kind, message: String| warnings.push(Warning::new(kind, message));
    if bs.scenario != cs.scenario {
        warn(
            WarningKind::DifferentScenarios,
            format!(
                "different scenarios: `{}` vs `{}`",
                bs.scenario, cs.scenario
            ),
        );
    }
    if bs.target != cs.target && design == Design::Separate {
        warn(
            WarningKind::DifferentTargets,
            format!("different targets: {} vs {}", bs.target, cs.target),
        );
    }
    if let (Some(a), Some(b), Design::Separate) = (bs.target_rate, cs.target_rate, design) {
        if (a - b).abs() > 0.01 * a {
            warn(
                WarningKind::DifferentRates,
                format!("different target rates: {a:.1} vs {b:.1} requests/s"),
            );
        }
    }
    // An open-model latency counts the wait for a connection, a closed
    // model's does not: the two measure different things.
    if bs.model != cs.model {
        warn(
            WarningKind::DifferentModels,
            format!(
                "different load models: {} vs {} (their latencies measure different things)",
                model(bs.model),
                model(cs.model)
            ),
        );
        return true;
    }
    false
}

/// The smallest of `f` over both runs (infinite when neither has it).
fn least(runs: [&RunData; 2], f: impl Fn(&RunData) -> Option<f64>) -> f64 {
    runs.into_iter().filter_map(f).fold(f64::INFINITY, f64::min)
}

/// The send-lag limits past which a second measured the machine (see the
/// module's documentation).
fn lag_limit(runs: [&RunData; 2], opts: &Options) -> LagLimit {
    // The latency the limits scale with: each run's median second (a
    // stall inflates the whole run's p99 and mean, not its median second).
    let latency = |p99: bool| least(runs, |r| median_second(&r.latency.all, p99));
    // Lateness over the steady lag by more than `margin`, and by more than
    // one pacing tick (lateness the send grid adds by design: a 0.07 ms
    // nginx page's 10 % is 7 µs, under the jitter of a quiet second's
    // mean lag, 30–60 µs); none when the margin is zero — a minimum effect
    // of 0 — or unknown.
    let over = |steady: f64, margin: f64| {
        if margin > 0.0 && (steady + margin).is_finite() {
            steady + margin.max(tick_ms())
        } else {
            f64::INFINITY
        }
    };
    LagLimit {
        mean_ms: over(
            least(runs, |r| median_second(&r.lag, false)),
            opts.threshold(Metric::Mean) * latency(false),
        ),
        p99_ms: if p99_compared(runs) {
            over(
                least(runs, |r| median_second(&r.lag, true)),
                opts.threshold(Metric::P99) * latency(true),
            )
        } else {
            f64::INFINITY
        },
    }
}

/// One pacing tick, ms: the lateness the send grid adds by design.
fn tick_ms() -> f64 {
    crate::load::PACING_TICK.as_secs_f64() * 1000.0
}

/// p99 is compared at all: both runs have the samples for it.
fn p99_compared(runs: [&RunData; 2]) -> bool {
    runs.iter().all(|r| {
        r.latency.all.iter().map(Recorded::len).sum::<u64>()
            >= stats::min_samples(Metric::P99.quantile())
    })
}

/// Seconds of `r` in which the generator stalled through too much of the
/// second for its service time to be judged: the share of its sends that
/// left more than `late_ms` late (an estimate of the share of the second
/// the generator was stopped; the answers in flight then were read late,
/// and the sends held back went out in a burst after it) is over half the
/// tail of the highest quantile compared (0.5 % where p99 is, else 5 %),
/// and at least 3 sends. A few sends late by a hiccup of a millisecond or
/// two stay judged; 30 ms stops every 100 ms (30 % of the second) do not.
fn service_disturbed(lag: &[Recorded], late_ms: f64, p99: bool) -> Vec<usize> {
    let share_max = if p99 { 0.005 } else { 0.05 };
    let late_us = (late_ms * 1000.0) as u64;
    (0..lag.len())
        .filter(|&i| {
            let h = &lag[i];
            let late: u64 = h
                .buckets()
                .iter()
                .filter(|&&(v, _)| v > late_us)
                .map(|&(_, n)| n)
                .sum();
            late >= 3 && late as f64 > share_max * h.len() as f64
        })
        .collect()
}

/// The seconds left out of a service-time comparison: those the generator
/// stalled through for too long ([`service_disturbed`]) whose send lag
/// also passed the latency limit. Lateness that could not move latency by
/// the minimum effect cannot move service time, which it reaches only
/// through answers read late. (Without the second condition, sends 0.5 ms
/// late all through a busy runner's seconds, a debug build's, left out 5
/// of 6.)
fn service_left_out(lag: &[Recorded], late_ms: f64, p99: bool, limit: LagLimit) -> Vec<usize> {
    service_disturbed(lag, late_ms, p99)
        .into_iter()
        .filter(|&i| past_limit(lag, limit, i))
        .collect()
}

/// What the latency metrics are judged on, and the seconds of each run
/// left out, with the warnings that say so; true when a run is too
/// disturbed to judge.
struct Chosen {
    measure: Measure,
    left_out: [Vec<usize>; 2],
    unsound: bool,
}

/// Leaves out the seconds the machine, not the service, was measured in.
/// Where the generator sent late and no arrival waited for a connection
/// (so latency − service time is the generator's own lateness), the
/// runs are judged on service time, and only the seconds whose service
/// time a stall disturbed are left out; otherwise on latency, without
/// the seconds whose send lag passed its limit.
fn choose(
    runs: [&RunData; 2],
    opts: &Options,
    design: Design,
    warnings: &mut Vec<Warning>,
) -> Chosen {
    let limit = lag_limit(runs, opts);
    // Send lag includes the wait for a free connection: when arrivals
    // waited for one, a late second may be the service's backpressure,
    // and nothing is left out.
    let late = runs.map(|r| {
        if r.summary.no_free_connection > 0 {
            Vec::new()
        } else {
            disturbed(&r.lag, limit)
        }
    });
    let by_service = late.iter().any(|l| !l.is_empty())
        && runs.iter().all(|r| {
            r.summary.no_free_connection == 0
                && !r.service.all.is_empty()
                && r.service.all.len() >= r.latency.all.len().min(r.lag.len())
        });
    let measure = if by_service {
        Measure::ServiceTime
    } else {
        Measure::Latency
    };
    let p99 = p99_compared(runs);
    let steady = least(runs, |r| median_second(&r.lag, false));
    let mut chosen = Chosen {
        measure,
        left_out: [Vec::new(), Vec::new()],
        unsound: false,
    };
    for (k, (which, r)) in ["baseline", "current"].into_iter().zip(runs).enumerate() {
        let worst =
            |f: fn(&Recorded) -> Option<f64>| r.lag.iter().filter_map(f).fold(0.0, f64::max);
        let out = if by_service {
            // Lateness that could move a median answer by the minimum
            // effect, and more than one pacing tick.
            let median = least(runs, |r| median_second(&r.service.all, false));
            let late_ms = steady + (opts.threshold(Metric::P50) * median).max(tick_ms());
            if !late[k].is_empty() {
                warnings.push(Warning::new(WarningKind::GeneratorLate, format!(
                    "the generator itself sent late in {} of the {which} run's seconds (send lag up to {} at its worst): judged on service time, from the actual send, which its lateness does not move",
                    late[k].len(),
                    crate::units::fmt_ms(worst(Recorded::max_ms)),
                )));
            }
            service_left_out(&r.lag, late_ms, p99, limit)
        } else {
            late[k].clone()
        };
        if out.is_empty() {
            continue;
        }
        let seconds = r.lag.iter().filter(|h| !h.is_empty()).count();
        let out_of_seconds = out
            .iter()
            .filter(|&&i| r.lag.get(i).is_some_and(|h| !h.is_empty()))
            .count();
        let why = if by_service {
            format!(
                "the generator stalled through more than {} of the second (its sends that left late), too long for the service time to be judged",
                if p99 { "0.5 %" } else { "5 %" }
            )
        } else {
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
            format!(
                "the generator itself sent late (a second's send lag {}): the machine stalled, not the service",
                late.join("; ")
            )
        };
        let quiet_seconds = seconds.saturating_sub(out_of_seconds);
        if quiet_seconds < seconds.div_ceil(2).max(2) {
            chosen.unsound = true;
            warnings.push(Warning::new(WarningKind::TooFewQuiet, format!(
                "only {quiet_seconds} of {seconds} seconds of the {which} run were quiet: in the others {why}; run it again on a quieter machine"
            )));
        } else {
            // The row after the schedule (answers, no sends) is named as such.
            let mut list: Vec<String> = out
                .iter()
                .filter(|&&i| r.lag.get(i).is_some_and(|h| !h.is_empty()))
                .map(|i| format!("{i} s"))
                .collect();
            if out_of_seconds < out.len() {
                list.push("the answers after the schedule".into());
            }
            warnings.push(Warning::new(WarningKind::LeftOut, format!(
                "left out {out_of_seconds} of {seconds} seconds of the {which} run (those starting at {}) from {} and rate: {why}",
                list.join(", "),
                measure.label()
            )));
        }
        chosen.left_out[k] = out;
    }
    if design == Design::Paired {
        // Pairs stay pairs: a second left out of one arm goes from both.
        let mut both: Vec<usize> = chosen.left_out.concat();
        both.sort_unstable();
        both.dedup();
        chosen.left_out = [both.clone(), both];
    }
    chosen
}

/// Whether a generator-limited run may still be judged: judged on service
/// time, it may when no arrival waited for a connection and 98 % of its
/// schedule was sent (what the service did is in its service time);
/// judged on latency, when it fell behind only in the seconds left out.
fn still_judged(which: &str, r: &RunData, out: &[usize], measure: Measure) -> Option<Warning> {
    use crate::search::limits::ACHIEVED_SHARE_MIN;
    let s = &r.summary;
    let notes = s.generator_notes.join("; ");
    match measure {
        Measure::ServiceTime => {
            let sent_enough = s
                .target_rate
                .is_none_or(|want| s.achieved_rate >= ACHIEVED_SHARE_MIN * want);
            (s.no_free_connection == 0 && sent_enough).then(|| {
                Warning::new(WarningKind::LimitedButJudged, format!(
                    "the {which} run fell behind its schedule ({notes}), with connections free and 98 % sent: its service times are judged"
                ))
            })
        }
        Measure::Latency => behind_only_in(r, out).map(|p99| {
            Warning::new(WarningKind::LimitedButJudged, format!(
                "the {which} run fell behind its schedule only in the seconds left out ({notes}; {} without them)",
                crate::units::fmt_ms(p99)
            ))
        }),
    }
}

/// Compares two runs: apart, or as the arms of one paired run.
fn judge_runs(baseline: &RunData, current: &RunData, opts: &Options, design: Design) -> Comparison {
    let mut warnings = Vec::new();
    let (bs, cs) = (&baseline.summary, &current.summary);
    let mut unsound = differences(bs, cs, design, &mut warnings);
    let chosen = choose([baseline, current], opts, design, &mut warnings);
    unsound |= chosen.unsound;
    for ((which, r), out) in [("baseline", baseline), ("current", current)]
        .into_iter()
        .zip(&chosen.left_out)
    {
        let s = &r.summary;
        if s.generator_limited {
            match still_judged(which, r, out, chosen.measure) {
                Some(why) => warnings.push(why),
                None => {
                    unsound = true;
                    warnings.push(Warning::new(WarningKind::GeneratorLimited, format!(
                        "the {which} run was generator-limited ({}): its latencies describe the generator",
                        s.generator_notes.join("; ")
                    )));
                }
            }
        }
        if s.interrupted {
            unsound = true;
            warnings.push(Warning::new(
                WarningKind::Interrupted,
                format!("the {which} run was interrupted"),
            ));
        }
    }
    let metrics = changes(baseline, current, &chosen, opts, design);
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
    let [b_out, c_out] = chosen.left_out;
    let paired = match design {
        Design::Paired if split_rates(baseline, current, design) => {
            "; paired: the same seconds of both versions in every resample; the rate is not \
             compared (each version's is its share of one random split of the schedule)"
        }
        Design::Paired => "; paired: the same seconds of both versions in every resample",
        Design::Separate => "",
    };
    Comparison {
        schema: SCHEMA.into(),
        verdict,
        judged_on: chosen.measure,
        design,
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
            "moving-block bootstrap over 1-second intervals ({} resamples) for {} and rate{paired}; \
             two-proportion z-test for error share; a change counts when its {:.0} % interval \
             excludes zero and it exceeds the minimum effect",
            opts.resamples,
            chosen.measure.label(),
            opts.confidence * 100.0
        ),
        warnings,
        metrics,
    }
}

/// The arms of a paired open-model run: each version's sent rate is its
/// share of one random split of the schedule, not something it did (a
/// 3 s run at 100/s split 52.7 against 47.3 requests/s, a "regression"
/// of −10 % in rate), so the rate is not judged. In a closed model it is
/// what each version's users got through, and is.
fn split_rates(baseline: &RunData, current: &RunData, design: Design) -> bool {
    use crate::results::summary::LoadKind;
    design == Design::Paired
        && baseline.summary.model == LoadKind::Open
        && current.summary.model == LoadKind::Open
}

/// Every metric's change, for all requests and each name both runs have.
fn changes(
    baseline: &RunData,
    current: &RunData,
    chosen: &Chosen,
    opts: &Options,
    design: Design,
) -> Vec<MetricChange> {
    let (b_latency, b_rates) = quiet(baseline, &chosen.left_out[0], chosen.measure);
    let (c_latency, c_rates) = quiet(current, &chosen.left_out[1], chosen.measure);
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
        let resampling = stats::Resampling {
            resamples: opts.resamples,
            confidence: opts.confidence,
            seed: opts.seed.wrapping_add(i as u64),
            paired: design == Design::Paired,
        };
        let (mut b, mut c) = (
            b_latency.get(key).cloned().unwrap_or_default(),
            c_latency.get(key).cloned().unwrap_or_default(),
        );
        if design == Design::Paired {
            // The arms of one run have the same seconds (an arm's last
            // row may be missing where it had no answers after the end).
            let n = b.len().min(c.len());
            b.truncate(n);
            c.truncate(n);
        }
        let changes = stats::latency_changes(&b, &c, resampling);
        for (metric, c) in stats::LATENCY_METRICS.into_iter().zip(changes) {
            let missing = format!(
                "fewer than {} latency samples in a run",
                stats::min_samples(metric.quantile())
            );
            metrics.push(judge(key, metric, c, opts.threshold(metric), &missing));
        }
        if !split_rates(baseline, current, design) {
            let (b_sent, c_sent) = (
                b_rates.get(key).unwrap_or(&empty),
                c_rates.get(key).unwrap_or(&empty),
            );
            let rate = stats::mean_change(b_sent, c_sent, resampling);
            // Say which: no counts at all, or too few whole seconds of
            // them (a 1-s run has one; an interval needs two).
            let missing = if b_sent.is_empty() || c_sent.is_empty() {
                "no per-second send counts (detail.hlog or the time series) in a run".to_string()
            } else {
                format!(
                    "a run has {} whole second(s) of sends; the rate's interval needs 2 or more",
                    b_sent.len().min(c_sent.len())
                )
            };
            metrics.push(judge(
                key,
                Metric::Rate,
                rate,
                opts.threshold(Metric::Rate),
                &missing,
            ));
        }
        let counts = |s: &Summary| match key {
            Key::All => Some((s.requests.errors.total, s.requests.total)),
            Key::Request(name) => s
                .per_request
                .iter()
                .find(|p| &p.name == name)
                .map(|p| (p.requests.errors.total, p.requests.total)),
        };
        let errors = match (counts(&baseline.summary), counts(&current.summary)) {
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
    metrics
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

    #[test]
    fn service_time_leaves_out_a_stall_but_not_a_busy_runners_small_lateness() {
        // The 10 ms service of tests/gate.rs: mean 10.2 ms, p99 28.3 ms;
        // the minimum effect of its median, 10 %: sends later than about
        // 1 ms disturb service time.
        let quiet: Vec<Recorded> = (0..6).map(|_| second(0, 0.0)).collect();
        let steady = |p99| median_second(&quiet, p99).unwrap();
        let limit = LagLimit {
            mean_ms: steady(false) + 0.1 * 10.2,
            p99_ms: steady(true) + 0.1 * 28.3,
        };
        let late_ms = steady(false) + 0.1 * 10.0;
        assert!(service_left_out(&quiet, late_ms, true, limit).is_empty());
        // A busy runner (a debug build on CI): 1 % of each second's sends
        // up to 4 ms late. Past the service-time share (0.5 %), but not
        // past the latency limit: nothing is left out.
        let busy: Vec<Recorded> = (0..6).map(|_| second(20, 2.0)).collect();
        assert_eq!(service_disturbed(&busy, late_ms, true).len(), 6);
        assert!(service_left_out(&busy, late_ms, true, limit).is_empty());
        // An 80 ms stop at 2,000/s: 160 sends, 40 ms late on average. Its
        // second is left out (the one after it only from latency).
        let mut stalled = busy.clone();
        stalled[3] = second(160, 40.0);
        assert_eq!(service_left_out(&stalled, late_ms, true, limit), [3]);
    }
}
