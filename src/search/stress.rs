//! Past the breaking point: what a service does when offered more than it
//! sustains, and how fast it comes back. One continuous run (the backlog
//! an overload leaves must carry into the recovery):
//!
//! 1. **baseline**: a safe rate (by default half the sustainable rate R)
//!    until the steady state shows;
//! 2. **overload**: a multiple of R (default 2 R) for `hold`;
//! 3. **recovery**: the baseline rate again, until the SLO has held for K
//!    consecutive seconds (or the bound runs out).
//!
//! Per second: *goodput* (answers that succeeded within the latency SLO's
//! loosest threshold), errors, refusals (503/429), whether the SLO held,
//! and who limited the load (`search::limits`), so that a generator limit
//! never passes for a collapse. The verdict:
//! * `graceful`: goodput stays at ≥ 90 % of R while overloaded, the excess
//!   is refused (503/429) rather than answered late or timed out, and the
//!   SLO comes back;
//! * `collapse`: goodput falls below half of R (queues make every answer
//!   too late, or everything fails);
//! * `degraded`: in between;
//! * `inconclusive`: the baseline itself missed the SLO, the generator
//!   could not drive the overload, or the run was interrupted.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::criteria::quantile_with_timeouts;
use super::probe::Probe;
use crate::metrics::{new_histogram, ErrorKind, Interval};
use crate::results::find::SloLine;
use crate::results::stress::{PhaseName, PhaseResult, Second, StressResult, StressVerdict, SCHEMA};
use crate::scenario::{Profile, Slo, Stage, StressSpec};
use crate::search::limits::{self, Evidence};
use crate::units::{fmt_count, fmt_ms};

/// Goodput at or above this share of R while overloaded is graceful …
pub const GRACEFUL_GOODPUT: f64 = 0.9;
/// … when at least this share of what was not good was refused (503/429).
pub const GRACEFUL_SHED: f64 = 0.9;
/// Goodput below this share of R while overloaded is a collapse.
pub const COLLAPSE_GOODPUT: f64 = 0.5;

/// The episode's timeline in whole seconds.
#[derive(Debug, Clone, Copy)]
struct Timeline {
    overload_at: u64,
    recovery_at: u64,
    end: u64,
}

impl Timeline {
    fn new(spec: &StressSpec) -> Timeline {
        let secs = |d: Duration| d.as_secs_f64().ceil().max(1.0) as u64;
        let overload_at = secs(spec.settle);
        let recovery_at = overload_at + secs(spec.hold);
        Timeline {
            overload_at,
            recovery_at,
            end: recovery_at + secs(spec.recovery),
        }
    }

    fn phase(&self, t: u64) -> PhaseName {
        if t < self.overload_at {
            PhaseName::Baseline
        } else if t < self.recovery_at {
            PhaseName::Overload
        } else {
            PhaseName::Recovery
        }
    }
}

/// Did every SLO hold in this second? Requests that timed out count as
/// slower than every answer; a second with arrivals due or requests
/// outstanding and nothing answered did not hold.
pub(super) fn within_slo(iv: &Interval, slo: &Slo) -> bool {
    let s = &iv.all;
    let completed = s.completed();
    if completed == 0 {
        return iv.scheduled == 0 && iv.load.in_flight == 0 && iv.load.queued == 0;
    }
    if s.ok == 0 {
        return false;
    }
    let timeouts = s
        .errors
        .get(&ErrorKind::RequestTimeout)
        .copied()
        .unwrap_or(0);
    let latency_ok = slo.latency.iter().all(|l| {
        quantile_with_timeouts(&s.latency, timeouts, l.quantile)
            .is_none_or(|v| v <= l.max.as_secs_f64() * 1000.0)
    });
    let errors_ok = slo
        .error_share
        .is_none_or(|max| s.error_count() as f64 / completed as f64 <= max);
    latency_ok && errors_ok
}

fn ms(h: &Histogram<u64>, q: f64) -> Option<f64> {
    (!h.is_empty()).then(|| h.value_at_quantile(q) as f64 / 1000.0)
}

/// A second of the run, judged.
fn second(
    iv: &Interval,
    started: u64,
    phase: PhaseName,
    slo: &Slo,
    good_us: Option<u64>,
    timeout: Duration,
) -> Second {
    let s = &iv.all;
    let kind = |k| s.errors.get(&k).copied().unwrap_or(0);
    let limit = limits::attribute(
        &Evidence {
            open_model: true,
            scheduled: iv.scheduled,
            sent: started + s.connect_failures(),
            no_free_connection: iv.load.no_free_connection,
            dropped: kind(ErrorKind::DroppedNoConnection),
            local_errors: kind(ErrorKind::LocalResources),
            timeouts: kind(ErrorKind::ConnectTimeout) + kind(ErrorKind::RequestTimeout),
            lanes: iv.load.lanes,
            lag: &s.lag,
            service: &s.service,
            timeout,
        },
        slo,
    );
    Second {
        t: iv.index,
        phase,
        offered: iv.scheduled,
        sent: started,
        ok: s.ok,
        good: good_us.map_or(s.ok, |us| s.latency.count_between(0, us)),
        errors: s.error_count(),
        refused: kind(ErrorKind::Http(503)) + kind(ErrorKind::Http(429)),
        p50_ms: ms(&s.latency, 0.5),
        p99_ms: ms(&s.latency, 0.99),
        service_p99_ms: ms(&s.service, 0.99),
        send_lag_p99_ms: ms(&s.lag, 0.99),
        no_free_connection: iv.load.no_free_connection,
        in_flight: iv.load.in_flight,
        queued: iv.load.queued,
        within_slo: within_slo(iv, slo),
        attribution: limit.attribution,
        answered: s.answered(),
    }
}

/// The start of the first run of `k` consecutive seconds within the SLO
/// in the recovery phase.
fn recovered_at(seconds: &[Second], k: u32) -> Option<u64> {
    let mut run = 0;
    for s in seconds.iter().filter(|s| s.phase == PhaseName::Recovery) {
        run = if s.within_slo { run + 1 } else { 0 };
        if run >= k {
            return Some(s.t + 1 - u64::from(k));
        }
    }
    None
}

/// What [`stress`] needs besides the probe.
pub struct Setup<'a> {
    pub spec: &'a StressSpec,
    pub slo: &'a Slo,
    /// R, requests/s.
    pub sustainable: f64,
    pub capacity_from: String,
    /// The request timeout (answers near it count as slow without a
    /// latency SLO).
    pub timeout: Duration,
}

/// Runs the episode and judges it. `on_second` sees each second as it
/// completes, with the episode so far judged as interrupted (what a file
/// written then holds, so that a killed process leaves every second).
pub fn stress(
    probe: &mut dyn Probe,
    setup: &Setup,
    on_second: &mut (dyn FnMut(&Second, &StressResult) + Send),
) -> anyhow::Result<StressResult> {
    let (spec, slo, r) = (setup.spec, setup.slo, setup.sustainable);
    let tl = Timeline::new(spec);
    let (low, high) = (spec.baseline * r, spec.overload * r);
    let secs = |n: u64| Duration::from_secs(n);
    let profile = Profile {
        stages: vec![
            Stage::Constant {
                rate: low,
                duration: secs(tl.overload_at),
            },
            Stage::Constant {
                rate: high,
                duration: secs(tl.recovery_at - tl.overload_at),
            },
            Stage::Constant {
                rate: low,
                duration: secs(tl.end - tl.recovery_at),
            },
        ],
    };
    let good_ms = slo
        .latency
        .iter()
        .map(|l| l.max.as_secs_f64() * 1000.0)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let good_us = good_ms.map(|v| (v * 1000.0).round() as u64);
    let mut seconds: Vec<Second> = Vec::new();
    let mut latency: Vec<Histogram<u64>> = (0..3).map(|_| new_histogram()).collect();
    let mut kinds: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); 3];
    let interrupted = probe.profile(profile, &mut |iv, started| {
        if iv.index >= tl.end {
            return false;
        }
        let phase = tl.phase(iv.index);
        let _ = latency[phase as usize].add(&iv.all.latency);
        for (k, n) in &iv.all.errors {
            *kinds[phase as usize].entry(k.label()).or_default() += n;
        }
        seconds.push(second(iv, started, phase, slo, good_us, setup.timeout));
        let so_far = judge(setup, tl, good_ms, &seconds, &latency, &kinds, true);
        on_second(&seconds[seconds.len() - 1], &so_far);
        recovered_at(&seconds, spec.recovered).is_some()
    })?;
    Ok(judge(
        setup,
        tl,
        good_ms,
        &seconds,
        &latency,
        &kinds,
        interrupted,
    ))
}

fn judge(
    setup: &Setup,
    tl: Timeline,
    good_ms: Option<f64>,
    seconds: &[Second],
    latency: &[Histogram<u64>],
    kinds: &[BTreeMap<String, u64>],
    interrupted: bool,
) -> StressResult {
    let (spec, r) = (setup.spec, setup.sustainable);
    let phases: Vec<PhaseResult> = [
        PhaseName::Baseline,
        PhaseName::Overload,
        PhaseName::Recovery,
    ]
    .into_iter()
    .filter_map(|name| {
        let ss: Vec<&Second> = seconds.iter().filter(|s| s.phase == name).collect();
        let n = ss.len() as f64;
        let first = ss.first()?.t;
        let sum = |f: fn(&Second) -> u64| ss.iter().map(|s| f(s)).sum::<u64>();
        Some(PhaseResult {
            name,
            start_s: first as f64,
            end_s: first as f64 + n,
            offered_rps: sum(|s| s.offered) as f64 / n,
            sent_rps: sum(|s| s.sent) as f64 / n,
            goodput_rps: sum(|s| s.good) as f64 / n,
            p99_ms: ms(&latency[name as usize], 0.99),
            errors: sum(|s| s.errors),
            refused: sum(|s| s.refused),
            late: sum(|s| s.ok - s.good),
            no_free_connection: sum(|s| s.no_free_connection),
            generator_limited_s: ss.iter().filter(|s| s.attribution.is_generator()).count() as u64,
            error_kinds: kinds[name as usize].clone(),
        })
    })
    .collect();
    let phase = |name| phases.iter().find(|p| p.name == name);
    let overload = phase(PhaseName::Overload);
    let goodput_ratio = overload.map_or(0.0, |p| p.goodput_rps / r);
    let shed_share = overload.map_or(0.0, |p| {
        let bad = p.errors + p.late;
        if bad == 0 {
            1.0
        } else {
            p.refused as f64 / bad as f64
        }
    });
    let recovery_s = recovered_at(seconds, spec.recovered).map(|t| (t - tl.recovery_at) as f64);
    // The steady state: the last K seconds before the overload (or all of
    // the baseline, if shorter) within the SLO.
    let base: Vec<&Second> = seconds
        .iter()
        .filter(|s| s.phase == PhaseName::Baseline)
        .collect();
    let k = (spec.recovered as usize).min(base.len());
    let baseline_ok = !base.is_empty() && base[base.len() - k..].iter().all(|s| s.within_slo);
    let answered: u64 = seconds.iter().map(|s| s.ok + s.errors).sum();
    let bad_requests: u64 = seconds.iter().map(|s| s.errors + s.ok - s.good).sum();
    let (verdict, reason) = verdict(
        setup,
        stopped_answering(seconds),
        overload,
        goodput_ratio,
        shed_share,
        recovery_s,
        baseline_ok,
        interrupted,
    );
    StressResult {
        schema: SCHEMA.into(),
        sustainable_rps: r,
        capacity_from: setup.capacity_from.clone(),
        baseline_rps: spec.baseline * r,
        overload_rps: spec.overload * r,
        slo: SloLine::of(setup.slo),
        good_latency_ms: good_ms,
        goodput_ratio,
        shed_share,
        verdict,
        reason,
        recovery_s,
        recovered: spec.recovered,
        recovery_bound_s: (tl.end - tl.recovery_at) as f64,
        bad_requests,
        bad_share: bad_requests as f64 / answered.max(1) as f64,
        baseline_ok,
        interrupted,
        phases,
        seconds: seconds.to_vec(),
    }
}

/// The second from which the target answered nothing to the end (two
/// seconds at least): every request after it failed, refused, reset or
/// timed out. A target that died.
fn stopped_answering(seconds: &[Second]) -> Option<&Second> {
    let from = seconds
        .iter()
        .rposition(|s| s.answered > 0 || s.errors == 0)
        .map_or(0, |i| i + 1);
    (seconds.len().saturating_sub(from) >= 2).then(|| &seconds[from])
}

#[allow(clippy::too_many_arguments)]
fn verdict(
    setup: &Setup,
    stopped: Option<&Second>,
    overload: Option<&PhaseResult>,
    goodput_ratio: f64,
    shed_share: f64,
    recovery_s: Option<f64>,
    baseline_ok: bool,
    interrupted: bool,
) -> (StressVerdict, String) {
    let (spec, r) = (setup.spec, setup.sustainable);
    use StressVerdict::*;
    if interrupted {
        return (Inconclusive, "interrupted".into());
    }
    if let Some(s) = stopped {
        let how = format!(
            "the target stopped answering at {} s, in the {} phase, and did not answer again: every request after failed (the phases' error_kinds say how)",
            s.t,
            s.phase.label()
        );
        return match s.phase {
            PhaseName::Baseline => (
                Inconclusive,
                format!("{how}; no verdict on an overload it never met"),
            ),
            PhaseName::Overload | PhaseName::Recovery => {
                (Collapse, format!("{how}: it did not survive the overload"))
            }
        };
    }
    let Some(o) = overload else {
        return (Inconclusive, "the run ended before the overload".into());
    };
    if !baseline_ok {
        return (
            Inconclusive,
            format!(
                "the baseline ({} requests/s) did not meet the SLO before the overload: the sustainable rate {} is more than the target sustains now",
                fmt_count(spec.baseline * r),
                fmt_count(r)
            ),
        );
    }
    let seconds = (o.end_s - o.start_s).max(1.0);
    if o.generator_limited_s as f64 > 0.5 * seconds {
        return (
            Inconclusive,
            format!(
                "the generator's own limits decided {} of the {} overload seconds: no verdict on the target",
                o.generator_limited_s, seconds
            ),
        );
    }
    let goodput = format!(
        "goodput {} requests/s while offered {} ({:.0} % of the sustainable {})",
        fmt_count(o.goodput_rps),
        fmt_count(o.offered_rps),
        100.0 * goodput_ratio,
        fmt_count(r)
    );
    let recovery = match recovery_s {
        Some(s) => format!("the SLO held again {s:.0} s after the overload"),
        None => format!(
            "the SLO did not hold for {} s in a row within {} s after the overload",
            spec.recovered,
            spec.recovery.as_secs()
        ),
    };
    let shed = format!(
        "{:.0} % of the excess refused with 503/429, {} answers late or failed otherwise",
        100.0 * shed_share,
        (o.errors + o.late).saturating_sub(o.refused)
    );
    if goodput_ratio >= GRACEFUL_GOODPUT && shed_share >= GRACEFUL_SHED && recovery_s.is_some() {
        (Graceful, format!("{goodput}; {shed}; {recovery}"))
    } else if goodput_ratio < COLLAPSE_GOODPUT {
        let why = if o.late > o.errors {
            format!(
                "answers came too late (p99 {})",
                o.p99_ms.map_or("—".into(), fmt_ms)
            )
        } else {
            "most requests failed".into()
        };
        (Collapse, format!("{goodput}: {why}; {recovery}"))
    } else {
        (Degraded, format!("{goodput}; {shed}; {recovery}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{micros, LoadState, Stats};

    /// A fluid model of a service with capacity `mu` requests/s and a
    /// `service` time, queueing up to `queue` requests (None: without
    /// bound) and refusing the rest with 503 at once; FIFO, so a
    /// request's latency is the backlog it finds ÷ mu plus the service.
    struct Fluid {
        mu: f64,
        service_ms: f64,
        queue: Option<f64>,
        /// The generator can send at most this many requests/s.
        generator_max: f64,
        /// From this second on nothing answers: every connection refused.
        dies_at: Option<u64>,
    }

    impl Fluid {
        /// A service of capacity `mu`/s and `service_ms` per request, with
        /// an unbounded queue and a generator that keeps up.
        fn new(mu: f64, service_ms: f64) -> Fluid {
            Fluid {
                mu,
                service_ms,
                queue: None,
                generator_max: 1e9,
                dies_at: None,
            }
        }
    }

    impl Probe for Fluid {
        fn profile(
            &mut self,
            profile: Profile,
            on_second: &mut (dyn FnMut(&Interval, u64) -> bool + Send),
        ) -> anyhow::Result<bool> {
            let mut backlog = 0.0;
            let mut t = 0;
            for stage in &profile.stages {
                let Stage::Constant { rate, duration } = *stage else {
                    unreachable!()
                };
                for _ in 0..duration.as_secs() {
                    let sent = rate.min(self.generator_max);
                    // 100 slices a second.
                    let mut s = Stats::default();
                    let mut refused = 0.0;
                    for _ in 0..100 {
                        let arrive = sent / 100.0;
                        let room = self.queue.map_or(f64::INFINITY, |q| q - backlog);
                        let admitted = arrive.min(room.max(0.0));
                        refused += arrive - admitted;
                        let wait_ms = backlog / self.mu * 1000.0;
                        let latency = micros(Duration::from_secs_f64(
                            (wait_ms + self.service_ms) / 1000.0,
                        ));
                        let n = admitted.round() as u64;
                        if n > 0 {
                            s.latency.record_n(latency, n).unwrap();
                            s.service.record_n(latency, n).unwrap();
                            s.ok += n;
                        }
                        backlog = (backlog + admitted - self.mu / 100.0).max(0.0);
                    }
                    s.lag.record_n(100, (sent as u64).max(1)).unwrap();
                    if rate > self.generator_max {
                        s.lag.record_n(90_000, sent as u64).unwrap();
                    }
                    s.sent = sent as u64;
                    s.errors
                        .insert(ErrorKind::Http(503), refused.round() as u64);
                    if self.dies_at.is_some_and(|d| t >= d) {
                        s = Stats::default();
                        s.sent = sent as u64;
                        s.errors.insert(ErrorKind::ConnectRefused, sent as u64);
                    }
                    let iv = Interval {
                        index: t,
                        scheduled: rate as u64,
                        scheduled_arms: Vec::new(),
                        load: LoadState {
                            lanes: 1024,
                            ..LoadState::default()
                        },
                        per_request: vec![s.clone()],
                        all: s,
                    };
                    t += 1;
                    if on_second(&iv, sent as u64) {
                        return Ok(false);
                    }
                }
            }
            Ok(false)
        }
    }

    fn slo() -> Slo {
        Slo::p99(Duration::from_millis(100), Some(0.01))
    }

    /// 2 × R for 4 s between 5 s and up to 30 s at R/2.
    fn spec() -> StressSpec {
        StressSpec {
            capacity: crate::scenario::Capacity::Given(200.0),
            hold: Duration::from_secs(4),
            settle: Duration::from_secs(5),
            recovery: Duration::from_secs(30),
            recovered: 3,
            ..StressSpec::default()
        }
    }

    fn run(f: &mut Fluid, spec: &StressSpec) -> StressResult {
        let slo = slo();
        let setup = Setup {
            spec,
            slo: &slo,
            sustainable: 200.0,
            capacity_from: "given".into(),
            timeout: Duration::from_secs(10),
        };
        stress(f, &setup, &mut |_, _| {}).unwrap()
    }

    /// A target killed mid-episode was "degraded, goodput 97 % of the
    /// sustainable" (issue 34): the goodput measured before it died.
    #[test]
    fn a_target_that_dies_collapsed_or_gives_no_verdict_and_says_when() {
        for (dies, phase, verdict) in [
            (7, "overload", StressVerdict::Collapse),
            (11, "recovery", StressVerdict::Collapse),
            (2, "baseline", StressVerdict::Inconclusive),
        ] {
            let mut f = Fluid {
                dies_at: Some(dies),
                ..Fluid::new(200.0, 20.0)
            };
            let r = run(&mut f, &spec());
            assert_eq!(r.verdict, verdict, "{}", r.reason);
            crate::testing::has(
                &r.reason,
                &format!("stopped answering at {dies} s, in the {phase} phase"),
            );
            let last = r.phases.last().unwrap();
            assert!(
                last.error_kinds
                    .get("connect_refused")
                    .copied()
                    .unwrap_or(0)
                    > 0,
                "{:?}",
                last.error_kinds
            );
        }
    }

    #[test]
    fn shedding_load_is_graceful_and_recovers_at_once() {
        let mut f = Fluid {
            queue: Some(4.0),
            ..Fluid::new(200.0, 20.0)
        };
        let r = run(&mut f, &spec());
        assert_eq!(r.verdict, StressVerdict::Graceful, "{}", r.reason);
        assert!((r.goodput_ratio - 1.0).abs() < 0.02, "{}", r.goodput_ratio);
        assert!(r.shed_share > 0.99);
        assert_eq!(r.recovery_s, Some(0.0));
        // Baseline 5 s, overload 4 s, recovery until 3 good seconds.
        assert_eq!(r.seconds.len(), 12);
        assert_eq!(r.phases.len(), 3);
        assert_eq!(r.phases[1].offered_rps, 400.0);
        assert_eq!((r.phases[1].start_s, r.phases[1].end_s), (5.0, 9.0));
    }

    #[test]
    fn an_unbounded_queue_collapses_and_drains_in_the_analytic_time() {
        let mut f = Fluid::new(200.0, 20.0);
        let r = run(&mut f, &spec());
        assert_eq!(r.verdict, StressVerdict::Collapse, "{}", r.reason);
        assert!(r.goodput_ratio < 0.1, "{}", r.goodput_ratio);
        // Backlog (400 − 200) × 4 s = 800, drained at 200 − 100 = 100/s.
        assert_eq!(r.recovery_s, Some(8.0), "{:?}", r.seconds);
        assert!(r.bad_requests > 1500, "{}", r.bad_requests);
    }

    #[test]
    fn a_generator_that_cannot_drive_the_overload_gets_no_verdict() {
        let mut f = Fluid {
            generator_max: 250.0,
            ..Fluid::new(1000.0, 5.0)
        };
        let r = run(&mut f, &spec());
        assert_eq!(r.verdict, StressVerdict::Inconclusive, "{}", r.reason);
        crate::testing::has(&r.reason, "generator");
        assert_eq!(
            crate::exit::of_stress(r.verdict),
            crate::exit::Code::Inconclusive
        );
    }

    #[test]
    fn a_baseline_that_misses_the_slo_gets_no_verdict() {
        // R claimed 200, but the service carries 90: even the baseline queues.
        let mut f = Fluid::new(90.0, 20.0);
        let r = run(&mut f, &spec());
        assert!(!r.baseline_ok);
        assert_eq!(r.verdict, StressVerdict::Inconclusive, "{}", r.reason);
    }
}
