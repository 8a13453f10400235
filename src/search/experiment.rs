//! Faults under load, judged: per fault, the requests during and after
//! it, how soon the SLO broke (time to detect) and how soon it held again
//! (recovery); for the experiment, whether the steady-state SLO held, and
//! the blast-radius guard (`abort_if`) that removes every fault at once.
//!
//! A quantile SLO over a span of seconds is judged exactly from counts:
//! `p99 ≤ 250 ms` holds iff at most 1 % of the requests took longer
//! (timeouts count as longer than every answer).

use crate::metrics::{ErrorKind, Interval};
pub use crate::results::experiment::Applied;
use crate::results::experiment::{ExperimentResult, FaultResult, Verdict, Window};
use crate::scenario::chaos::Experiment;
use crate::scenario::Slo;

/// One second of the run, as the experiment needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub t: u64,
    /// Answered OK, failed or timed out.
    pub completed: u64,
    pub ok: u64,
    pub errors: u64,
    pub timeouts: u64,
    /// Per latency SLO (in the SLO's order): OK answers slower than its bound.
    pub over: Vec<u64>,
    pub p99_ms: Option<f64>,
    /// Every SLO held in this second (see `search::stress::within_slo`).
    pub within_slo: bool,
}

impl Tally {
    pub fn of(iv: &Interval, slo: &Slo) -> Tally {
        let s = &iv.all;
        Tally {
            t: iv.index,
            completed: s.completed(),
            ok: s.ok,
            errors: s.error_count(),
            timeouts: s
                .errors
                .get(&ErrorKind::RequestTimeout)
                .copied()
                .unwrap_or(0),
            over: slo
                .latency
                .iter()
                .map(|l| {
                    let bound = l.max.as_micros() as u64;
                    s.ok - s.latency.count_between(0, bound).min(s.ok)
                })
                .collect(),
            p99_ms: (!s.latency.is_empty())
                .then(|| s.latency.value_at_quantile(0.99) as f64 / 1000.0),
            within_slo: super::stress::within_slo(iv, slo),
        }
    }

    /// Errors, and OK answers slower than the SLI's bound.
    pub fn bad(&self, tail: Option<usize>) -> u64 {
        self.errors + tail.map_or(0, |j| self.over.get(j).copied().unwrap_or(0))
    }
}

/// The SLI's latency bound: the latency SLO of the highest quantile.
pub fn tail(slo: &Slo) -> Option<usize> {
    slo.latency
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.quantile.total_cmp(&b.1.quantile))
        .map(|(j, _)| j)
}

/// The blast-radius guard: fires once the share of bad requests since the
/// first fault began passes `threshold`.
#[derive(Debug)]
pub struct AbortGuard {
    threshold: f64,
    tail: Option<usize>,
    requests: u64,
    bad: u64,
}

impl AbortGuard {
    pub fn new(threshold: f64, slo: &Slo) -> AbortGuard {
        AbortGuard {
            threshold,
            tail: tail(slo),
            requests: 0,
            bad: 0,
        }
    }

    /// Feeds a second that began at or after the first fault's start
    /// second; `Some(share)` when the guard fires.
    pub fn second(&mut self, s: &Tally) -> Option<f64> {
        self.requests += s.completed;
        self.bad += s.bad(self.tail);
        let share = self.bad as f64 / self.requests.max(1) as f64;
        (self.requests > 0 && share > self.threshold).then_some(share)
    }
}

/// Judges the faults of a run from its seconds: each fault's "after" (and
/// its recovery) ends where the next fault begins. `aborted`: when the guard
/// fired and the share it saw.
pub fn judge(
    applied: &[Applied],
    seconds: &[Tally],
    slo: &Slo,
    experiment: Option<&Experiment>,
    aborted: Option<(f64, f64)>,
) -> (Vec<FaultResult>, Option<ExperimentResult>) {
    let k = experiment.map_or(crate::scenario::chaos::DEFAULT_RECOVERY_WINDOWS, |e| {
        e.recovery_windows
    });
    let end = seconds.last().map_or(0, |s| s.t + 1);
    let faults: Vec<FaultResult> = applied
        .iter()
        .map(|a| {
            // "After" ends where the next fault begins.
            let stop = a.ended_s.unwrap_or(f64::MAX);
            let next = applied
                .iter()
                .filter_map(|o| o.started_s)
                .filter(|s| *s >= stop)
                .map(|s| (s + 0.5).floor() as u64)
                .min()
                .unwrap_or(end);
            fault(a, seconds, slo, k, next.min(end))
        })
        .collect();
    let experiment = experiment.map(|e| {
        let tail_ms = tail(slo).map(|j| slo.latency[j].max.as_secs_f64() * 1000.0);
        let (verdict, why) = verdict(&faults, aborted, e);
        ExperimentResult {
            hypothesis: "slo".into(),
            verdict,
            why,
            recovery_windows: e.recovery_windows,
            bad_over_ms: tail_ms,
            abort_if_bad_share: e.abort_if_bad,
            aborted_at_s: aborted.map(|a| a.0),
            aborted_bad_share: aborted.map(|a| a.1),
        }
    });
    (faults, experiment)
}

fn fault(a: &Applied, seconds: &[Tally], slo: &Slo, k: u32, end: u64) -> FaultResult {
    let mut r = FaultResult {
        applied: a.clone(),
        during: Window::default(),
        after: Window::default(),
        time_to_detect_s: None,
        recovery_s: None,
    };
    let Some(start) = a.started_s else {
        return r;
    };
    let stop = a.ended_s.unwrap_or(end as f64).max(start);
    // Seconds more than half inside [start, stop) are "during".
    let first = (start + 0.5).floor().max(0.0) as u64;
    let after = ((stop + 0.5).floor().max(0.0) as u64).max(first);
    r.during = window(seconds, first, after, slo);
    r.after = window(seconds, after, end.max(after), slo);
    let recovered = seconds
        .iter()
        .filter(|s| s.t >= after && s.t < end)
        .scan(0u32, |run, s| {
            *run = if s.within_slo { *run + 1 } else { 0 };
            Some((s.t, *run))
        })
        .find(|(_, run)| *run >= k)
        .map(|(t, _)| t + 1 - u64::from(k));
    r.recovery_s = recovered.map(|t| (t as f64 - stop).max(0.0));
    r.time_to_detect_s = seconds
        .iter()
        .filter(|s| (s.t + 1) as f64 > start && s.t < recovered.unwrap_or(end))
        .find(|s| !s.within_slo)
        .map(|s| (s.t + 1) as f64 - start);
    r
}

fn window(seconds: &[Tally], from: u64, to: u64, slo: &Slo) -> Window {
    let span: Vec<&Tally> = seconds.iter().filter(|s| s.t >= from && s.t < to).collect();
    let sum = |f: &dyn Fn(&Tally) -> u64| span.iter().map(|s| f(s)).sum::<u64>();
    let (completed, ok, errors, timeouts) = (
        sum(&|s| s.completed),
        sum(&|s| s.ok),
        sum(&|s| s.errors),
        sum(&|s| s.timeouts),
    );
    let tail = tail(slo);
    let latency_held = slo.latency.iter().enumerate().all(|(j, l)| {
        let judged = ok + timeouts;
        let over = sum(&|s| s.over.get(j).copied().unwrap_or(0)) + timeouts;
        judged == 0 || over as f64 <= (1.0 - l.quantile) * judged as f64 + 1e-9
    });
    let errors_held = slo
        .error_share
        .is_none_or(|max| completed == 0 || errors as f64 <= max * completed as f64);
    // A second with nothing completed while requests were due did not hold.
    let stalled = span.iter().any(|s| s.completed == 0 && !s.within_slo);
    Window {
        from_s: from,
        to_s: to,
        requests: completed,
        bad: span.iter().map(|s| s.bad(tail)).sum(),
        errors,
        worst_p99_ms: span.iter().filter_map(|s| s.p99_ms).reduce(f64::max),
        worst_error_share: span
            .iter()
            .filter(|s| s.completed > 0)
            .map(|s| s.errors as f64 / s.completed as f64)
            .reduce(f64::max),
        slo_held: latency_held && errors_held && !stalled,
    }
}

fn verdict(
    faults: &[FaultResult],
    aborted: Option<(f64, f64)>,
    e: &Experiment,
) -> (Verdict, String) {
    if let Some((at, share)) = aborted {
        return (
            Verdict::Aborted,
            format!(
                "abort_if fired at {at:.1} s: {:.1} % of requests since the first fault were bad (limit {:.1} %); every fault was removed",
                share * 100.0,
                e.abort_if_bad.unwrap_or(0.0) * 100.0
            ),
        );
    }
    let mut broken = Vec::new();
    for f in faults {
        let name = &f.applied.name;
        if let Some(err) = &f.applied.error {
            broken.push(format!("{name}: not applied ({err})"));
        } else if !f.during.slo_held {
            broken.push(format!("{name}: the SLO failed during it"));
        } else if !f.after.slo_held {
            broken.push(format!("{name}: the SLO failed after it"));
        } else if f.recovery_s.is_none() {
            broken.push(format!(
                "{name}: the SLO did not hold {} seconds in a row after it before the run ended",
                e.recovery_windows
            ));
        }
    }
    if broken.is_empty() {
        (
            Verdict::Held,
            format!(
                "the SLO held during and after every fault ({})",
                faults.len()
            ),
        )
    } else {
        (Verdict::Violated, broken.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn slo() -> Slo {
        Slo::p99(Duration::from_millis(100), Some(0.01))
    }

    /// `n` seconds of 100 requests; `bad(t)` of them errors.
    fn seconds(n: u64, bad: impl Fn(u64) -> u64) -> Vec<Tally> {
        (0..n)
            .map(|t| {
                let e = bad(t);
                Tally {
                    t,
                    completed: 100,
                    ok: 100 - e,
                    errors: e,
                    timeouts: 0,
                    over: vec![0],
                    p99_ms: Some(5.0),
                    within_slo: e <= 1,
                }
            })
            .collect()
    }

    fn applied(start: f64, end: f64) -> Applied {
        Applied {
            name: "db".into(),
            proxy: "dependency".into(),
            api: None,
            toxic: crate::proxy::toxic::Toxic::new(
                serde_json::from_value(serde_json::json!({"type": "latency"})).unwrap(),
            )
            .unwrap(),
            planned_start_s: start.round(),
            planned_end_s: Some(end.round()),
            started_s: Some(start),
            ended_s: Some(end),
            removed_by_abort: false,
            error: None,
        }
    }

    #[test]
    fn detection_and_recovery_are_counted_from_the_faults_own_times() {
        // Errors in seconds 10..14 (the fault 10–13, draining to 14).
        let s = seconds(30, |t| if (10..14).contains(&t) { 20 } else { 0 });
        let e = Experiment {
            recovery_windows: 5,
            abort_if_bad: None,
        };
        let (f, x) = judge(&[applied(10.002, 13.001)], &s, &slo(), Some(&e), None);
        let f = &f[0];
        assert_eq!((f.during.from_s, f.during.to_s), (10, 13));
        assert_eq!(f.during.requests, 300);
        assert_eq!(f.during.bad, 60);
        assert!(!f.during.slo_held);
        assert_eq!((f.after.from_s, f.after.to_s), (13, 30));
        // Detected when second 10 closed; recovered from second 14 on.
        assert!((f.time_to_detect_s.unwrap() - 0.998).abs() < 1e-9);
        assert!((f.recovery_s.unwrap() - 0.999).abs() < 1e-9);
        let x = x.unwrap();
        assert_eq!(x.verdict, Verdict::Violated, "{}", x.why);
    }

    #[test]
    fn a_fault_the_service_absorbs_holds() {
        let s = seconds(20, |_| 0);
        let e = Experiment {
            recovery_windows: 3,
            abort_if_bad: None,
        };
        let (f, x) = judge(&[applied(5.0, 10.0)], &s, &slo(), Some(&e), None);
        assert_eq!(f[0].time_to_detect_s, None);
        assert_eq!(f[0].recovery_s, Some(0.0));
        assert_eq!(x.unwrap().verdict, Verdict::Held);
        // Too short a tail to see the recovery: not held.
        let short = seconds(12, |_| 0);
        let (f, x) = judge(&[applied(5.0, 10.0)], &short, &slo(), Some(&e), None);
        assert_eq!(f[0].recovery_s, None);
        assert_eq!(x.unwrap().verdict, Verdict::Violated);
    }

    #[test]
    fn after_a_fault_ends_where_the_next_begins() {
        let s = seconds(30, |t| if (12..14).contains(&t) { 50 } else { 0 });
        let (f, _) = judge(
            &[applied(2.0, 5.0), applied(12.0, 14.0)],
            &s,
            &slo(),
            None,
            None,
        );
        assert_eq!((f[0].after.from_s, f[0].after.to_s), (5, 12));
        assert!(f[0].after.slo_held, "the second fault's errors are its own");
        assert_eq!(f[0].time_to_detect_s, None);
        assert_eq!((f[1].after.from_s, f[1].after.to_s), (14, 30));
        assert_eq!(f[1].during.errors, 100);
    }

    #[test]
    fn a_quantile_slo_over_a_window_is_judged_from_counts() {
        // p99 ≤ 100 ms: 1 % over holds, 2 % does not.
        let mut s = seconds(2, |_| 0);
        s[0].over = vec![1];
        s[1].over = vec![1];
        assert!(window(&s, 0, 2, &slo()).slo_held);
        s[1].over = vec![3];
        assert!(!window(&s, 0, 2, &slo()).slo_held);
    }

    #[test]
    fn the_guard_fires_past_its_share_since_the_first_fault() {
        let mut g = AbortGuard::new(0.05, &slo());
        let s = seconds(3, |t| [2, 4, 30][t as usize]);
        assert_eq!(g.second(&s[0]), None); // 2 %
        assert_eq!(g.second(&s[1]), None); // 3 %
        let share = g.second(&s[2]).unwrap(); // 12 %
        assert!((share - 0.12).abs() < 1e-9);
    }
}
