//! Judging one step: did every SLO hold, and if the generator fell behind
//! its schedule, whose doing was that (`search::limits`)?

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::metrics::{min_samples, ErrorKind, Interval, LoadState, Stats};
use crate::results::verdict::{Attribution, Verdict};
use crate::scenario::Slo;
use crate::search::limits::LAG_P99_LIMIT_MS;
use crate::search::limits::{self, Evidence, Limit, Tally};
use crate::units::fmt_ms;

/// What one step measured over its scored part (after the warm-up).
#[derive(Debug, Clone)]
pub struct Measure {
    /// What the step offered the target.
    pub offered: Offered,
    /// Arrivals due (open model).
    pub scheduled: u64,
    /// Flows started: what `scheduled` and the achieved rate count.
    pub started: u64,
    /// Every request name together: counts, errors by kind, histograms.
    pub all: Stats,
    /// The connections: arrivals that found none free (summed), the most
    /// requests they could carry, and what was in flight and queued at the
    /// end of the last scored second.
    pub load: LoadState,
    /// Outcomes per request name, with its path (for the words a target
    /// that is not usable at all gets).
    pub tallies: Vec<Tally>,
    /// The request timeout.
    pub timeout: Duration,
    /// Seconds scored.
    pub seconds: f64,
    /// Why the step ended early, if it did.
    pub stopped: Option<Stop>,
    pub interrupted: bool,
}

/// The load a step offers: a rate of arrivals (open model) or a number of
/// virtual users (closed model).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Offered {
    Rate(f64),
    Users(u32),
}

impl Offered {
    /// The rate, in the open model.
    pub fn rate(self) -> Option<f64> {
        match self {
            Offered::Rate(r) => Some(r),
            Offered::Users(_) => None,
        }
    }

    /// Requests/s or users, as one number (for names and live metrics).
    pub fn value(self) -> f64 {
        match self {
            Offered::Rate(r) => r,
            Offered::Users(n) => f64::from(n),
        }
    }
}

/// Why a step ended before its time.
#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    pub kind: StopKind,
    pub why: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopKind {
    /// A windowed SLO criterion (judged on the target's part when the
    /// generator was behind in that second).
    Slo,
    /// The send lag stayed beyond its bound while answers met the SLO.
    Generator,
    /// Errors that load does not explain.
    NotCapacity,
}

impl Measure {
    pub fn empty(offered: Offered) -> Measure {
        Measure {
            offered,
            scheduled: 0,
            started: 0,
            all: Stats::default(),
            load: LoadState::default(),
            tallies: Vec::new(),
            timeout: Duration::from_secs(10),
            seconds: 0.0,
            stopped: None,
            interrupted: false,
        }
    }

    /// Adds one scored second; `started` counts its flows started.
    pub fn add_second(&mut self, iv: &Interval, started: u64) {
        self.scheduled += iv.scheduled;
        self.started += started;
        self.all.merge(&iv.all);
        self.load.no_free_connection += iv.load.no_free_connection;
        self.load.lanes = self.load.lanes.max(iv.load.lanes);
        self.load.in_flight = iv.load.in_flight;
        self.load.queued = iv.load.queued;
        if self.tallies.len() < iv.per_request.len() {
            self.tallies
                .resize_with(iv.per_request.len(), Tally::default);
        }
        for (t, r) in self.tallies.iter_mut().zip(&iv.per_request) {
            t.completed += r.completed();
            for (k, n) in &r.errors {
                *t.errors.entry(*k).or_default() += n;
            }
        }
        self.seconds += 1.0;
    }

    fn kind(&self, k: ErrorKind) -> u64 {
        self.all.errors.get(&k).copied().unwrap_or(0)
    }

    /// Arrivals never sent: no free connection within the request timeout.
    pub fn dropped(&self) -> u64 {
        self.kind(ErrorKind::DroppedNoConnection)
    }

    /// Requests that timed out (counted slower than every answer).
    pub fn timeouts(&self) -> u64 {
        self.kind(ErrorKind::RequestTimeout)
    }

    pub fn error_share(&self) -> Option<f64> {
        let n = self.all.completed();
        (n > 0).then(|| self.all.error_count() as f64 / n as f64)
    }

    /// The error share of what reached the target: arrivals this side
    /// never sent (no free connection, no local resources) aside.
    pub fn target_error_share(&self) -> Option<f64> {
        let mine = self.dropped() + self.kind(ErrorKind::LocalResources);
        let n = self.all.completed().saturating_sub(mine);
        (n > 0).then(|| self.all.error_count().saturating_sub(mine) as f64 / n as f64)
    }

    pub fn achieved_rate(&self) -> f64 {
        self.per_second(self.started)
    }

    pub fn throughput(&self) -> f64 {
        self.per_second(self.all.ok)
    }

    fn per_second(&self, n: u64) -> f64 {
        if self.seconds > 0.0 {
            n as f64 / self.seconds
        } else {
            0.0
        }
    }

    pub fn lag_p99_ms(&self) -> Option<f64> {
        let lag = &self.all.lag;
        (!lag.is_empty()).then(|| lag.value_at_quantile(0.99) as f64 / 1000.0)
    }

    /// The generator's side of the step, for the attribution.
    pub fn evidence(&self) -> Evidence<'_> {
        Evidence {
            open_model: self.offered.rate().is_some(),
            scheduled: self.scheduled,
            sent: self.started + self.all.connect_failures(),
            no_free_connection: self.load.no_free_connection,
            dropped: self.dropped(),
            local_errors: self.kind(ErrorKind::LocalResources),
            timeouts: self.kind(ErrorKind::ConnectTimeout) + self.kind(ErrorKind::RequestTimeout),
            lanes: self.load.lanes,
            lag: &self.all.lag,
            service: &self.all.service,
            timeout: self.timeout,
        }
    }
}

/// The q-quantile of latency in ms, counting requests that timed out as
/// slower than every answer: infinite when the timeouts alone pass the
/// quantile. `None` without data.
pub fn quantile_with_timeouts(h: &Histogram<u64>, timeouts: u64, q: f64) -> Option<f64> {
    let ok = h.len();
    let n = ok + timeouts;
    if n == 0 {
        return None;
    }
    let rank = q * n as f64;
    if ok == 0 || rank > ok as f64 + 1e-9 {
        return Some(f64::INFINITY);
    }
    Some(h.value_at_quantile((rank / ok as f64).min(1.0)) as f64 / 1000.0)
}

/// A step's verdict, the words for it, and whose limit it was.
#[derive(Debug, Clone)]
pub struct Judged {
    pub verdict: Verdict,
    pub reason: String,
    pub limit: Limit,
    /// Set when errors that load does not explain failed the step.
    pub not_capacity: Option<String>,
}

/// Judges a step (rules in `search::limits`):
/// 1. errors that load does not explain fail it, and say so;
/// 2. what the target did fails it whatever the generator did: a windowed
///    SLO breach, its own errors over the error SLO, a service time that
///    alone breaks a latency SLO, every connection held with slow answers;
/// 3. a generator that fell behind for reasons of its own makes the step
///    inconclusive;
/// 4. otherwise latency from the intended send time (timed-out requests
///    counted slower than every answer) and errors decide.
///
/// `served`: the target should bear this load (the first step, or a rate
/// at or below one it served), so errors load does not explain are looked for.
pub fn judge(m: &Measure, slo: &Slo, served: bool) -> Judged {
    let limit = limits::attribute(&m.evidence(), slo);
    let judged = |verdict, reason: String, limit: Limit| Judged {
        verdict,
        reason,
        limit,
        not_capacity: None,
    };
    let not_capacity = match &m.stopped {
        Some(Stop {
            kind: StopKind::NotCapacity,
            why,
        }) => Some(why.clone()),
        _ if served => limits::not_a_capacity_limit(&m.tallies, m.offered.rate(), slo.error_share),
        _ => None,
    };
    if let Some(why) = not_capacity {
        return Judged {
            verdict: Verdict::Fail,
            reason: why.clone(),
            limit,
            not_capacity: Some(why),
        };
    }
    if let Some(Stop {
        kind: StopKind::Slo,
        why,
    }) = &m.stopped
    {
        return judged(Verdict::Fail, why.clone(), limit);
    }
    if let (Some(max), Some(share)) = (slo.error_share, m.target_error_share()) {
        if share > max {
            return judged(
                Verdict::Fail,
                format!("errors {:.2} % > {:.2} %", share * 100.0, max * 100.0),
                limit,
            );
        }
    }
    if !limit.behind.is_empty() {
        if let Some(breach) = limits::service_breach(slo, &m.all.service) {
            let why = format!("{breach} ({}; {})", limit.behind.join("; "), limit.why);
            return judged(Verdict::Fail, why, limit);
        }
        if limit.attribution == Attribution::TargetSaturated {
            let why = format!("{}; {}", limit.behind.join("; "), limit.why);
            return judged(Verdict::Fail, why, limit);
        }
        let why = format!("{}: {}", limit.behind.join("; "), limit.why);
        return judged(Verdict::GeneratorLimited, why, limit);
    }
    let mut short = Vec::new();
    for l in &slo.latency {
        let limit_ms = l.max.as_secs_f64() * 1000.0;
        // Too few samples cannot show a quantile holds, but an estimate
        // already over the limit is a failure (with few samples the
        // empirical tail quantile runs low, not high).
        match quantile_with_timeouts(&m.all.latency, m.timeouts(), l.quantile) {
            Some(v) if v.is_infinite() => {
                let why = format!(
                    "{} beyond the request timeout ({} of {} requests timed out)",
                    l.label,
                    m.timeouts(),
                    m.all.ok + m.timeouts()
                );
                return judged(Verdict::Fail, why, limit);
            }
            Some(v) if v > limit_ms => {
                let why = format!(
                    "{} {} > {} ({} samples)",
                    l.label,
                    fmt_ms(v),
                    fmt_ms(limit_ms),
                    m.all.ok
                );
                return judged(Verdict::Fail, why, limit);
            }
            _ => {}
        }
        if m.all.ok < min_samples(l.quantile) {
            short.push(format!(
                "{} needs {} samples, has {}",
                l.label,
                min_samples(l.quantile),
                m.all.ok
            ));
        }
    }
    if m.all.completed() == 0 {
        return judged(Verdict::TooFewSamples, "no request completed".into(), limit);
    }
    if !short.is_empty() {
        let why = format!("step too short: {}", short.join("; "));
        return judged(Verdict::TooFewSamples, why, limit);
    }
    judged(Verdict::Pass, "every SLO held".into(), limit)
}

/// The windowed criteria that end a step early, fed one second at a time:
/// * a latency quantile above its threshold for K seconds in a row —
///   judged on the service time in a second when the send lag was beyond
///   its bound (the target's part; the wait for a connection is not), and
///   neither counting nor resetting in seconds too thin for the quantile;
/// * the error share of what reached the target above its threshold over a
///   sliding window;
/// * the send lag beyond its bound for K seconds in a row while answers
///   met the SLO (the generator's own limit);
/// * errors that load does not explain two seconds in a row (warm-up
///   seconds included: a target that answers 403 is known at once).
#[derive(Debug)]
pub struct Watch {
    slo: Slo,
    breach_seconds: u32,
    error_window: usize,
    runs: Vec<u32>,
    lag_run: u32,
    window: VecDeque<(u64, u64)>,
    /// False: only the generator criterion can end the step (confirmation
    /// steps are judged whole: a look at a noisy window every second would
    /// fail a rate that meets the SLO far more often than one look at all
    /// of it).
    slo_windows: bool,
    /// Paths of the request names, for the words of a stop.
    paths: Vec<String>,
    /// Look for errors load does not explain (see [`Watch::not_capacity`]).
    served: bool,
    rate: Option<f64>,
    not_capacity_run: u32,
}

impl Watch {
    pub fn new(slo: &Slo, breach_seconds: u32, error_window: u32) -> Watch {
        Watch {
            slo: slo.clone(),
            breach_seconds: breach_seconds.max(1),
            error_window: error_window.max(1) as usize,
            runs: vec![0; slo.latency.len()],
            lag_run: 0,
            window: VecDeque::new(),
            slo_windows: true,
            paths: Vec::new(),
            served: false,
            rate: None,
            not_capacity_run: 0,
        }
    }

    /// Only the generator criterion; the SLOs are judged on the whole step.
    pub fn generator_only(mut self) -> Watch {
        self.slo_windows = false;
        self
    }

    /// Also stop on errors that load does not explain: for load the target
    /// should bear (the first rate tried, or one at or below a rate it
    /// served), `rate` requests/s or (closed model) `None`.
    pub fn not_capacity(mut self, rate: Option<f64>) -> Watch {
        self.served = true;
        self.rate = rate;
        self
    }

    /// The requests' paths, by recorder index (the engine probe knows them).
    pub fn with_paths(mut self, paths: Vec<String>) -> Watch {
        self.paths = paths;
        self
    }

    /// Feeds one second (`scored`: after the warm-up); returns why the step
    /// should stop, if it should.
    pub fn second(&mut self, iv: &Interval, scored: bool) -> Option<Stop> {
        if let Some(why) = self.not_capacity_second(iv) {
            return Some(Stop {
                kind: StopKind::NotCapacity,
                why,
            });
        }
        if !scored {
            return None;
        }
        let s = &iv.all;
        let lag = (!s.lag.is_empty()).then(|| s.lag.value_at_quantile(0.99) as f64 / 1000.0);
        let behind = lag.is_some_and(|l| l > LAG_P99_LIMIT_MS);
        if self.slo_windows {
            if let Some(why) = self.slo_second(s, behind) {
                return Some(Stop {
                    kind: StopKind::Slo,
                    why,
                });
            }
        }
        if behind && limits::service_breach(&self.slo, &s.service).is_none() {
            self.lag_run += 1;
            if self.lag_run >= self.breach_seconds {
                return Some(Stop {
                    kind: StopKind::Generator,
                    why: format!(
                        "generator: send lag p99 above {LAG_P99_LIMIT_MS} ms for {} s",
                        self.lag_run
                    ),
                });
            }
        } else {
            self.lag_run = 0;
        }
        None
    }

    fn not_capacity_second(&mut self, iv: &Interval) -> Option<String> {
        if !self.served {
            return None;
        }
        let tallies: Vec<Tally> = iv
            .per_request
            .iter()
            .enumerate()
            .map(|(i, r)| Tally {
                path: self.paths.get(i).cloned().unwrap_or_default(),
                completed: r.completed(),
                errors: r.errors.clone(),
            })
            .collect();
        match limits::not_a_capacity_limit(&tallies, self.rate, self.slo.error_share) {
            Some(why) => {
                self.not_capacity_run += 1;
                (self.not_capacity_run >= 2).then_some(why)
            }
            None => {
                self.not_capacity_run = 0;
                None
            }
        }
    }

    fn slo_second(&mut self, s: &Stats, behind: bool) -> Option<String> {
        let timeouts = s
            .errors
            .get(&ErrorKind::RequestTimeout)
            .copied()
            .unwrap_or(0);
        for (l, run) in self.slo.latency.iter().zip(self.runs.iter_mut()) {
            // A second judges a quantile only with ten samples beyond it.
            if s.ok + timeouts < min_samples(l.quantile) / 10 {
                continue;
            }
            let (h, what) = if behind {
                (&s.service, "service time ")
            } else {
                (&s.latency, "")
            };
            let Some(v) = quantile_with_timeouts(h, timeouts, l.quantile) else {
                continue;
            };
            let limit = l.max.as_secs_f64() * 1000.0;
            if v > limit {
                *run += 1;
                if *run >= self.breach_seconds {
                    let last = if v.is_finite() {
                        fmt_ms(v)
                    } else {
                        "beyond the request timeout".into()
                    };
                    return Some(format!(
                        "{what}{} above {} for {} s in a row (last {last})",
                        l.label,
                        fmt_ms(limit),
                        *run
                    ));
                }
            } else {
                *run = 0;
            }
        }
        if let Some(max) = self.slo.error_share {
            let mine: u64 = s
                .errors
                .iter()
                .filter(|(k, _)| k.is_generator_side())
                .map(|(_, n)| n)
                .sum();
            self.window.push_back((
                s.completed().saturating_sub(mine),
                s.error_count().saturating_sub(mine),
            ));
            if self.window.len() > self.error_window {
                self.window.pop_front();
            }
            let (n, e) = self
                .window
                .iter()
                .fold((0, 0), |(n, e), (a, b)| (n + a, e + b));
            if self.window.len() == self.error_window && n > 0 && e as f64 / n as f64 > max {
                return Some(format!(
                    "errors {:.2} % > {:.2} % over {} s",
                    100.0 * e as f64 / n as f64,
                    max * 100.0,
                    self.error_window
                ));
            }
        }
        None
    }
}

/// Latency quantiles of a step for the result, labelled as in the SLO
/// plus p50/p90/p99.
pub fn quantiles(m: &Measure, slo: &Slo) -> BTreeMap<String, f64> {
    quantiles_of(&m.all.latency, slo)
}

/// The same quantiles of any histogram (µs), in ms.
pub fn quantiles_of(h: &Histogram<u64>, slo: &Slo) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut labels: Vec<(String, f64)> = vec![
        ("p50".into(), 0.5),
        ("p90".into(), 0.9),
        ("p99".into(), 0.99),
    ];
    labels.extend(slo.latency.iter().map(|l| (l.label.clone(), l.quantile)));
    if h.is_empty() {
        return out;
    }
    for (label, q) in labels {
        out.insert(label, h.value_at_quantile(q) as f64 / 1000.0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{micros, new_histogram, LoadState};

    fn slo() -> Slo {
        Slo::p99(Duration::from_millis(50), Some(0.01))
    }

    /// One second: `ok` answers at `latency_ms` (service time the same,
    /// send lag 10 µs) and `errors` 503s.
    fn second(ok: u64, latency_ms: u64, errors: u64) -> Interval {
        let mut s = Stats::default();
        let us = micros(Duration::from_millis(latency_ms));
        s.sent = ok + errors;
        s.ok = ok;
        s.latency.record_n(us, ok.max(1)).unwrap();
        s.service.record_n(us, ok.max(1)).unwrap();
        s.lag.record_n(10, ok.max(1)).unwrap();
        if ok == 0 {
            s.latency.reset();
            s.service.reset();
        }
        s.errors.insert(ErrorKind::Http(503), errors);
        Interval {
            index: 0,
            scheduled: ok + errors,
            scheduled_arms: Vec::new(),
            load: LoadState::default(),
            per_request: vec![s.clone()],
            all: s,
        }
    }

    /// A second the generator was behind in: answers waited `lag_ms` for
    /// a connection, then took `service_ms`.
    fn behind(ok: u64, lag_ms: u64, service_ms: u64) -> Interval {
        let mut iv = second(ok, lag_ms + service_ms, 0);
        iv.all.service.reset();
        iv.all
            .service
            .record_n(micros(Duration::from_millis(service_ms)), ok)
            .unwrap();
        iv.all.lag.reset();
        iv.all
            .lag
            .record_n(micros(Duration::from_millis(lag_ms)), ok)
            .unwrap();
        iv
    }

    #[test]
    fn a_persistent_breach_stops_a_step_and_a_blip_does_not() {
        let mut w = Watch::new(&slo(), 3, 5);
        assert!(w.second(&second(200, 80, 0), true).is_none());
        assert!(
            w.second(&second(200, 10, 0), true).is_none(),
            "a good second resets the run"
        );
        assert!(w.second(&second(200, 80, 0), true).is_none());
        assert!(w.second(&second(200, 80, 0), true).is_none());
        let stop = w
            .second(&second(200, 80, 0), true)
            .expect("third second in a row");
        assert_eq!(stop.kind, StopKind::Slo);
        crate::testing::has(&stop.why, "p99 above 50.0 ms for 3 s");
        // Seconds too thin to judge p99 (< 100 samples) neither count nor reset.
        let mut w = Watch::new(&slo(), 2, 5);
        assert!(w.second(&second(200, 80, 0), true).is_none());
        assert!(w.second(&second(20, 10, 0), true).is_none());
        assert!(w.second(&second(200, 80, 0), true).is_some());
        // Warm-up seconds are not judged.
        let mut w = Watch::new(&slo(), 1, 5);
        assert!(w.second(&second(200, 80, 0), false).is_none());
    }

    #[test]
    fn seconds_behind_schedule_are_judged_on_the_targets_part() {
        // Answers in 10 ms after 300 ms waiting for a connection: the wait
        // is not the target's; the lag, if it lasts, is the generator's.
        let mut w = Watch::new(&slo(), 3, 5);
        assert!(w.second(&behind(200, 300, 10), true).is_none());
        assert!(w.second(&behind(200, 300, 10), true).is_none());
        let stop = w.second(&behind(200, 300, 10), true).unwrap();
        assert_eq!(stop.kind, StopKind::Generator, "{}", stop.why);
        // Answers in 1.2 s after the same wait: the target broke the SLO.
        let mut w = Watch::new(&slo(), 3, 5);
        w.second(&behind(200, 300, 1200), true);
        w.second(&behind(200, 300, 1200), true);
        let stop = w.second(&behind(200, 300, 1200), true).unwrap();
        assert_eq!(stop.kind, StopKind::Slo);
        crate::testing::starts(&stop.why, "service time p99 above 50.0 ms");
    }

    #[test]
    fn errors_stop_a_step_over_a_full_window() {
        let mut w = Watch::new(
            &Slo {
                latency: vec![],
                error_share: Some(0.01),
                ..Slo::default()
            },
            3,
            3,
        );
        assert!(w.second(&second(100, 1, 5), true).is_none());
        assert!(w.second(&second(100, 1, 5), true).is_none());
        let stop = w.second(&second(100, 1, 5), true).unwrap();
        crate::testing::has(&stop.why, "over 3 s");
    }

    #[test]
    fn unexplained_errors_stop_a_step_in_two_seconds_even_in_the_warm_up() {
        let forbidden = || {
            let mut iv = second(0, 1, 0);
            iv.per_request[0].errors.clear();
            iv.per_request[0].errors.insert(ErrorKind::Http(403), 50);
            iv.all = iv.per_request[0].clone();
            iv
        };
        let mut w = Watch::new(&slo(), 3, 3)
            .with_paths(vec!["/x".into()])
            .not_capacity(Some(50.0));
        assert!(w.second(&forbidden(), false).is_none());
        let stop = w.second(&forbidden(), false).unwrap();
        assert_eq!(stop.kind, StopKind::NotCapacity);
        crate::testing::starts(
            &stop.why,
            "every request to /x answered 403 Forbidden at 50 requests/s",
        );
        // Above a rate the target served, a 403 may be how it sheds load.
        let mut w = Watch::new(&slo(), 3, 3).with_paths(vec!["/x".into()]);
        assert!(w.second(&forbidden(), false).is_none());
        assert!(w.second(&forbidden(), false).is_none());
    }

    fn measure(seconds: &[Interval]) -> Measure {
        let mut m = Measure::empty(Offered::Rate(200.0));
        for iv in seconds {
            m.add_second(iv, iv.all.sent);
        }
        m
    }

    #[test]
    fn judging_puts_the_target_first_and_the_generator_only_where_it_decides() {
        let ok: Vec<Interval> = (0..10).map(|_| second(200, 10, 0)).collect();
        let m = measure(&ok);
        let j = judge(&m, &slo(), true);
        assert_eq!(
            (j.verdict, j.limit.attribution),
            (Verdict::Pass, Attribution::None)
        );
        let mut slow = m.clone();
        slow.all
            .latency
            .record_n(micros(Duration::from_millis(90)), 101)
            .unwrap();
        assert_eq!(judge(&slow, &slo(), true).verdict, Verdict::Fail);
        // Arrivals dropped while answers came in 10 ms: the connection cap.
        let mut starved = slow.clone();
        starved.all.errors.insert(ErrorKind::DroppedNoConnection, 3);
        let j = judge(&starved, &slo(), true);
        assert_eq!(j.verdict, Verdict::GeneratorLimited, "{}", j.reason);
        assert_eq!(j.limit.attribution, Attribution::ConnectionCap);
        // Every connection held and answers taking 1.2 s: the target failed.
        let mut held = measure(&(0..10).map(|_| behind(100, 800, 1200)).collect::<Vec<_>>());
        held.scheduled = 2000;
        held.load.no_free_connection = 900;
        let j = judge(&held, &slo(), true);
        assert_eq!(j.verdict, Verdict::Fail, "{}", j.reason);
        assert_eq!(j.limit.attribution, Attribution::TargetSaturated);
        crate::testing::starts(&j.reason, "service time p99 1.20 s > 50.0 ms");
        // Too few samples to show p99 holds.
        let short = measure(&[second(20, 10, 0)]);
        let j = judge(&short, &slo(), true);
        assert_eq!(j.verdict, Verdict::TooFewSamples);
        crate::testing::has(&j.reason, "p99 needs 1000 samples, has 20");
    }

    #[test]
    fn timed_out_requests_count_as_slower_than_every_answer() {
        let mut m = measure(&(0..10).map(|_| second(200, 10, 0)).collect::<Vec<_>>());
        let no_errors = Slo {
            error_share: None,
            ..slo()
        };
        m.all.errors.insert(ErrorKind::RequestTimeout, 30);
        let j = judge(&m, &no_errors, true);
        assert_eq!(j.verdict, Verdict::Fail);
        crate::testing::has(&j.reason, "beyond the request timeout (30 of 2030");
        let mut h = new_histogram();
        h.record_n(1000, 99).unwrap();
        h.record(5000).unwrap();
        // Values come back as the histogram's bucket (3 significant digits).
        let near = |v: Option<f64>, want: f64| v.is_some_and(|v| (v / want - 1.0).abs() < 1e-3);
        assert!(near(quantile_with_timeouts(&h, 0, 0.99), 1.0));
        assert!(near(quantile_with_timeouts(&h, 1, 0.99), 5.0));
        assert_eq!(quantile_with_timeouts(&h, 2, 0.99), Some(f64::INFINITY));
        assert_eq!(quantile_with_timeouts(&new_histogram(), 0, 0.99), None);
    }
}
