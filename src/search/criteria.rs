//! Judging one step: did every SLO hold, and did the generator keep up?

use std::collections::{BTreeMap, VecDeque};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::metrics::summary::{ACHIEVED_SHARE_MIN, LAG_P99_LIMIT_MS};
use crate::metrics::{new_histogram, ErrorKind, Stats};
use crate::scenario::Slo;

/// What one step measured over its scored part (after the warm-up).
#[derive(Debug, Clone)]
pub struct Measure {
    /// Requests per second asked for (open model) or virtual users (closed).
    pub level: f64,
    pub scheduled: u64,
    pub sent: u64,
    pub ok: u64,
    pub errors: u64,
    /// Arrivals that never found a free connection.
    pub dropped: u64,
    /// Successful responses' latency, µs.
    pub latency: Histogram<u64>,
    /// Send lag, µs.
    pub lag: Histogram<u64>,
    /// Seconds scored.
    pub seconds: f64,
    /// Why the step ended early, if it did.
    pub stopped: Option<String>,
    pub interrupted: bool,
}

impl Measure {
    pub fn empty(level: f64) -> Measure {
        Measure {
            level,
            scheduled: 0,
            sent: 0,
            ok: 0,
            errors: 0,
            dropped: 0,
            latency: new_histogram(),
            lag: new_histogram(),
            seconds: 0.0,
            stopped: None,
            interrupted: false,
        }
    }

    /// Adds one second's measurements (all request names together);
    /// `started` counts the flows sent (first steps), which `sent` and the
    /// achieved rate count, as `scheduled` counts arrivals.
    pub fn add_second(&mut self, scheduled: u64, started: u64, s: &Stats) {
        self.scheduled += scheduled;
        self.sent += started;
        self.ok += s.ok;
        self.errors += s.error_count();
        self.dropped += s
            .errors
            .get(&ErrorKind::DroppedNoConnection)
            .copied()
            .unwrap_or(0);
        let _ = self.latency.add(&s.latency);
        let _ = self.lag.add(&s.lag);
        self.seconds += 1.0;
    }

    pub fn completed(&self) -> u64 {
        self.ok + self.errors
    }

    pub fn error_share(&self) -> Option<f64> {
        let n = self.completed();
        (n > 0).then(|| self.errors as f64 / n as f64)
    }

    pub fn achieved_rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.sent as f64 / self.seconds
        } else {
            0.0
        }
    }

    pub fn throughput(&self) -> f64 {
        if self.seconds > 0.0 {
            self.ok as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Quantile of latency in ms; `None` without samples.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        (!self.latency.is_empty()).then(|| self.latency.value_at_quantile(q) as f64 / 1000.0)
    }

    pub fn lag_p99_ms(&self) -> Option<f64> {
        (!self.lag.is_empty()).then(|| self.lag.value_at_quantile(0.99) as f64 / 1000.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// The generator could not follow the schedule: no verdict on the target.
    GeneratorLimited,
    /// Too few samples to judge a quantile; not a failure.
    TooFewSamples,
}

/// Samples needed to judge quantile q: ten beyond it (1 000 for p99).
pub fn min_samples(q: f64) -> u64 {
    if q >= 1.0 {
        1
    } else {
        (10.0 / (1.0 - q)).ceil() as u64
    }
}

/// Judges a step. The generator is checked first: a step it could not
/// drive says nothing about the target.
pub fn judge(m: &Measure, slo: &Slo, open_model: bool) -> (Verdict, String) {
    if open_model {
        if m.dropped > 0 {
            return (
                Verdict::GeneratorLimited,
                format!("{} arrivals found no free connection", m.dropped),
            );
        }
        if m.scheduled > 0 && (m.sent as f64) < ACHIEVED_SHARE_MIN * m.scheduled as f64 {
            return (
                Verdict::GeneratorLimited,
                format!(
                    "sent {} of {} scheduled ({:.1} %)",
                    m.sent,
                    m.scheduled,
                    100.0 * m.sent as f64 / m.scheduled as f64
                ),
            );
        }
        if let Some(lag) = m.lag_p99_ms().filter(|&l| l > LAG_P99_LIMIT_MS) {
            return (
                Verdict::GeneratorLimited,
                format!("send lag p99 {lag:.1} ms > {LAG_P99_LIMIT_MS} ms"),
            );
        }
    }
    if let Some(reason) = &m.stopped {
        return (Verdict::Fail, reason.clone());
    }
    if let (Some(max), Some(share)) = (slo.error_share, m.error_share()) {
        if share > max {
            return (
                Verdict::Fail,
                format!("errors {:.2} % > {:.2} %", share * 100.0, max * 100.0),
            );
        }
    }
    let mut short = Vec::new();
    for l in &slo.latency {
        let limit = l.max.as_secs_f64() * 1000.0;
        // Too few samples cannot show a quantile holds, but an estimate
        // already over the limit is a failure (with few samples the
        // empirical tail quantile runs low, not high).
        if let Some(v) = m.quantile_ms(l.quantile).filter(|&v| v > limit) {
            return (
                Verdict::Fail,
                format!("{} {v:.1} ms > {limit:.1} ms ({} samples)", l.label, m.ok),
            );
        }
        if m.ok < min_samples(l.quantile) {
            short.push(format!(
                "{} needs {} samples, has {}",
                l.label,
                min_samples(l.quantile),
                m.ok
            ));
        }
    }
    if m.completed() == 0 {
        return (Verdict::TooFewSamples, "no request completed".into());
    }
    if !short.is_empty() {
        return (
            Verdict::TooFewSamples,
            format!("step too short: {}", short.join("; ")),
        );
    }
    (Verdict::Pass, "every SLO held".into())
}

/// The windowed criteria that end a failing step early, fed one second at a
/// time: a latency quantile above its threshold for K seconds in a row
/// (seconds with too few samples for that quantile neither count nor
/// reset), the error share above its threshold over a sliding window, or
/// the send lag beyond its bound for K seconds in a row.
#[derive(Debug)]
pub struct Watch {
    slo: Slo,
    breach_seconds: u32,
    error_window: usize,
    runs: Vec<u32>,
    lag_run: u32,
    window: VecDeque<(u64, u64)>,
    /// False: only the generator's lag can end the step (confirmation
    /// steps are judged whole: a look at a noisy window every second would
    /// fail a rate that meets the SLO far more often than one look at all
    /// of it).
    slo_windows: bool,
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
        }
    }

    /// Only the generator criterion; the SLOs are judged on the whole step.
    pub fn generator_only(mut self) -> Watch {
        self.slo_windows = false;
        self
    }

    /// Feeds one second; returns why the step should stop, if it should.
    pub fn second(&mut self, s: &Stats) -> Option<String> {
        if self.slo_windows {
            if let Some(why) = self.slo_second(s) {
                return Some(why);
            }
        }
        let lag = (!s.lag.is_empty()).then(|| s.lag.value_at_quantile(0.99) as f64 / 1000.0);
        if lag.is_some_and(|l| l > LAG_P99_LIMIT_MS) {
            self.lag_run += 1;
            if self.lag_run >= self.breach_seconds {
                return Some(format!(
                    "generator: send lag p99 above {LAG_P99_LIMIT_MS} ms for {} s",
                    self.lag_run
                ));
            }
        } else {
            self.lag_run = 0;
        }
        None
    }

    fn slo_second(&mut self, s: &Stats) -> Option<String> {
        for (l, run) in self.slo.latency.iter().zip(self.runs.iter_mut()) {
            // A second judges a quantile only with ten samples beyond it.
            if s.ok < min_samples(l.quantile) / 10 || s.latency.is_empty() {
                continue;
            }
            let v = s.latency.value_at_quantile(l.quantile) as f64 / 1000.0;
            let limit = l.max.as_secs_f64() * 1000.0;
            if v > limit {
                *run += 1;
                if *run >= self.breach_seconds {
                    return Some(format!(
                        "{} above {limit:.1} ms for {} s in a row (last {v:.1} ms)",
                        l.label, *run
                    ));
                }
            } else {
                *run = 0;
            }
        }
        if let Some(max) = self.slo.error_share {
            self.window.push_back((s.completed(), s.error_count()));
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

/// Quantiles of a step for the result, labelled as in the SLO plus p50/p99.
pub fn quantiles(m: &Measure, slo: &Slo) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut labels: Vec<(String, f64)> = vec![
        ("p50".into(), 0.5),
        ("p90".into(), 0.9),
        ("p99".into(), 0.99),
    ];
    labels.extend(slo.latency.iter().map(|l| (l.label.clone(), l.quantile)));
    for (label, q) in labels {
        if let Some(v) = m.quantile_ms(q) {
            out.insert(label, v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::micros;
    use crate::scenario::LatencySlo;
    use std::time::Duration;

    fn slo() -> Slo {
        Slo {
            latency: vec![LatencySlo {
                label: "p99".into(),
                quantile: 0.99,
                max: Duration::from_millis(50),
            }],
            error_share: Some(0.01),
            ..Slo::default()
        }
    }

    fn second(ok: u64, latency_ms: u64, errors: u64) -> Stats {
        let mut s = Stats::default();
        for _ in 0..ok {
            s.sent += 1;
            s.ok += 1;
            s.latency
                .record(micros(Duration::from_millis(latency_ms)))
                .unwrap();
            s.lag.record(10).unwrap();
        }
        s.errors.insert(ErrorKind::Http(503), errors);
        s
    }

    #[test]
    fn a_persistent_breach_stops_a_step_and_a_blip_does_not() {
        let mut w = Watch::new(&slo(), 3, 5);
        assert!(w.second(&second(200, 80, 0)).is_none());
        assert!(
            w.second(&second(200, 10, 0)).is_none(),
            "a good second resets the run"
        );
        assert!(w.second(&second(200, 80, 0)).is_none());
        assert!(w.second(&second(200, 80, 0)).is_none());
        let why = w
            .second(&second(200, 80, 0))
            .expect("third second in a row");
        assert!(why.contains("p99 above 50.0 ms for 3 s"), "{why}");
        // Seconds too thin to judge p99 (< 100 samples) neither count nor reset.
        let mut w = Watch::new(&slo(), 2, 5);
        assert!(w.second(&second(200, 80, 0)).is_none());
        assert!(w.second(&second(20, 10, 0)).is_none());
        assert!(w.second(&second(200, 80, 0)).is_some());
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
        assert!(w.second(&second(100, 1, 5)).is_none());
        assert!(w.second(&second(100, 1, 5)).is_none());
        assert!(w.second(&second(100, 1, 5)).unwrap().contains("over 3 s"));
    }

    #[test]
    fn judging_checks_the_generator_first_then_every_slo() {
        let mut m = Measure::empty(100.0);
        for _ in 0..10 {
            m.add_second(200, 200, &second(200, 10, 0));
        }
        assert_eq!(judge(&m, &slo(), true).0, Verdict::Pass);
        let mut slow = m.clone();
        slow.latency
            .record(micros(Duration::from_millis(90)))
            .unwrap();
        for _ in 0..100 {
            slow.latency
                .record(micros(Duration::from_millis(90)))
                .unwrap();
        }
        assert_eq!(judge(&slow, &slo(), true).0, Verdict::Fail);
        let mut starved = slow.clone();
        starved.dropped = 3;
        assert_eq!(judge(&starved, &slo(), true).0, Verdict::GeneratorLimited);
        let mut short = Measure::empty(10.0);
        short.add_second(20, 20, &second(20, 10, 0));
        let (v, why) = judge(&short, &slo(), true);
        assert_eq!(v, Verdict::TooFewSamples);
        assert!(why.contains("p99 needs 1000 samples, has 20"), "{why}");
    }
}
