//! The open-loop breaking-point search.
//!
//! 1. Exponential: start rate × growth until a step fails.
//! 2. Descent (only if the very first step failed): ÷ growth until one passes.
//! 3. Bisection between the last pass and the first fail until
//!    fail/pass − 1 ≤ precision.
//! 4. Confirmation: a longer step at the found rate (long enough to hold the
//!    samples every quantile needs). If it fails, the bracket moves down
//!    and bisection resumes (at most four confirmations).
//!
//! A step the generator could not drive for reasons of its own (CPU,
//! connection cap, local resources) ends the search as `generator_limited`
//! — never as a breaking point. A step the target could not serve fails,
//! whatever the generator did (`search::limits`). Errors that load does
//! not explain (a 403 on every request, refused connections at a rate
//! already served) end it at once as `target_unusable`.

use std::time::Duration;

use super::criteria::{self, Measure, Offered, Watch};
use super::probe::Probe;
use crate::metrics::min_samples;
use crate::results::find::{FindResult, Outcome, Phase, SloLine, Step, SCHEMA};
use crate::results::verdict::Verdict;
use crate::scenario::{SearchSpec, Slo};

struct Search<'a> {
    probe: &'a mut dyn Probe,
    spec: &'a SearchSpec,
    slo: &'a Slo,
    on_step: &'a mut dyn FnMut(&Step, &FindResult),
    steps: Vec<Step>,
    spent: Duration,
    interrupted: bool,
}

/// How a search ended: its outcome, the rate found (when found), the
/// lowest rate that failed, and why.
#[derive(Debug)]
struct Answer {
    outcome: Outcome,
    sustainable: Option<f64>,
    breaking: Option<f64>,
    reason: String,
}

/// A search that ends before its phases are through, carried through `?`
/// up to [`find`].
#[derive(Debug)]
struct End(Answer);

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.reason)
    }
}

impl std::error::Error for End {}

/// Ends the search with `outcome` (no sustainable rate).
fn end<T>(outcome: Outcome, breaking: Option<f64>, reason: impl Into<String>) -> anyhow::Result<T> {
    Err(End(Answer {
        outcome,
        sustainable: None,
        breaking,
        reason: reason.into(),
    })
    .into())
}

impl Search<'_> {
    /// The search so far, as `find.json` holds it until the search ends:
    /// a process killed mid-search leaves every judged step in a valid
    /// file that says it was interrupted.
    fn so_far(&self) -> FindResult {
        FindResult {
            schema: SCHEMA.into(),
            outcome: Outcome::Interrupted,
            reason: format!(
                "the search ended after step {}, before its phases were through (the process stopped)",
                self.steps.len()
            ),
            sustainable_rps: None,
            breaking_rps: None,
            knee_rps: knee(&self.steps, &knee_label(self.slo)),
            precision: self.spec.precision,
            slo: SloLine::of(self.slo),
            load_time_s: self.spent.as_secs_f64(),
            steps: self.steps.clone(),
        }
    }

    fn can_afford(&self, scored: Duration) -> bool {
        self.spent + self.spec.warmup + scored <= self.spec.max_time
    }

    /// A rate the target should bear: the first one tried, one in the
    /// descent below it, or one at or below a rate it served.
    fn served(&self, rate: f64, phase: Phase) -> bool {
        let best = self
            .steps
            .iter()
            .filter(|s| matches!(s.verdict, Verdict::Pass | Verdict::TooFewSamples))
            .map(|s| s.target_rate)
            .fold(f64::NAN, f64::max);
        self.steps.is_empty() || phase == Phase::Descent || rate <= best * (1.0 + 1e-9)
    }

    /// Measures one step. Errors that load does not explain end the
    /// search (an [`Early`] error).
    fn step(&mut self, rate: f64, phase: Phase, scored: Duration) -> anyhow::Result<Verdict> {
        let served = self.served(rate, phase);
        let mut watch = Watch::new(self.slo, self.spec.breach_seconds, self.spec.error_window);
        if phase == Phase::Confirmation {
            watch = watch.generator_only();
        }
        if served {
            watch = watch.not_capacity(Some(rate));
        }
        let m: Measure = self
            .probe
            .step(Offered::Rate(rate), self.spec.warmup, scored, watch)?;
        self.spent += self.spec.warmup + Duration::from_secs_f64(m.seconds);
        self.interrupted |= m.interrupted;
        let judged = criteria::judge(&m, self.slo, served);
        let verdict = judged.verdict;
        let step = Step {
            index: self.steps.len() + 1,
            phase,
            target_rate: rate,
            achieved_rate: m.achieved_rate(),
            throughput: m.throughput(),
            quantiles_ms: criteria::quantiles(&m, self.slo),
            error_share: m.error_share(),
            samples: m.all.ok,
            verdict,
            reason: judged.reason,
            attribution: judged.limit.attribution,
            no_free_connection: m.load.no_free_connection,
            dropped: m.dropped(),
            in_flight_end: m.load.in_flight,
            queued_end: m.load.queued,
            send_lag_p99_ms: m.lag_p99_ms(),
            service_ms: criteria::quantiles_of(&m.all.service, self.slo),
            stop_reason: m.stopped.as_ref().map(|s| s.why.clone()),
            scored_s: m.seconds,
        };
        self.steps.push(step);
        let so_far = self.so_far();
        (self.on_step)(&so_far.steps[so_far.steps.len() - 1], &so_far);
        if let Some(why) = judged.not_capacity {
            // No breaking point: what failed was not capacity.
            return end(Outcome::TargetUnusable, None, why);
        }
        Ok(verdict)
    }

    /// Measures one step: true when it passed (or was too short to show a
    /// failure), false when it failed. A generator that could not drive
    /// the step ends the search: no verdict on the target.
    fn passes(&mut self, rate: f64, phase: Phase, scored: Duration) -> anyhow::Result<bool> {
        match self.step(rate, phase, scored)? {
            Verdict::Pass | Verdict::TooFewSamples => Ok(true),
            Verdict::Fail => Ok(false),
            Verdict::GeneratorLimited => {
                let why = self.steps.last().map_or("", |st| st.reason.as_str());
                end(
                    Outcome::GeneratorLimited,
                    None,
                    format!("the generator could not drive {rate:.1} requests/s: {why}"),
                )
            }
        }
    }

    /// Ends the search when interrupted, or when the time left cannot pay
    /// for a step of `scored` seconds (`what`: where the search was).
    fn budget(&self, scored: Duration, breaking: Option<f64>, what: &str) -> anyhow::Result<()> {
        if self.interrupted {
            return end(Outcome::Interrupted, breaking, "interrupted");
        }
        if !self.can_afford(scored) {
            return end(
                Outcome::TimeBudget,
                breaking,
                format!("max_time ran out {what}"),
            );
        }
        Ok(())
    }

    /// The exponential phase: the start rate × growth until a step fails.
    /// Returns the last rate that passed (none when the first failed) and
    /// the one that failed.
    fn exponential(&mut self) -> anyhow::Result<(Option<f64>, f64)> {
        let spec = self.spec;
        let (mut passed, mut rate) = (None, spec.start_rate.min(spec.max_rate));
        loop {
            self.budget(spec.step, None, "in the exponential phase")?;
            if !self.passes(rate, Phase::Exponential, spec.step)? {
                return Ok((passed, rate));
            }
            // A step too short to judge a quantile still did not fail: it
            // bounds the search from below until confirmation.
            passed = Some(rate);
            if rate >= spec.max_rate {
                return end(
                    Outcome::NoBreakingPoint,
                    None,
                    format!("every rate up to max_rate {:.1} met the SLO", spec.max_rate),
                );
            }
            rate = (rate * spec.growth).min(spec.max_rate);
        }
    }

    /// The descent, when the very first step failed: ÷ growth until a step
    /// passes. Returns the bracket (pass, fail).
    fn descend(&mut self, mut failed: f64) -> anyhow::Result<(f64, f64)> {
        let spec = self.spec;
        loop {
            let r = failed / spec.growth;
            if r < spec.start_rate / 1000.0 || !self.can_afford(spec.step) || self.interrupted {
                return end(
                    Outcome::NoPassingRate,
                    Some(failed),
                    format!("even {failed:.2} requests/s failed"),
                );
            }
            if self.passes(r, Phase::Descent, spec.step)? {
                return Ok((r, failed));
            }
            failed = r;
            if let Some(why) = self.errors_hold_without_load() {
                return end(Outcome::TargetUnusable, None, why);
            }
        }
    }

    /// Bisection until fail/pass − 1 is within the precision, then a
    /// confirmation step at the passing end, long enough for every
    /// quantile's samples. A failed confirmation moves the bracket down
    /// (the best pass below it, or a step down) and bisection resumes —
    /// four confirmations at most.
    fn bisect_and_confirm(&mut self, mut lo: f64, mut hi: f64) -> anyhow::Result<Answer> {
        let spec = self.spec;
        let needed = self
            .slo
            .latency
            .iter()
            .map(|l| min_samples(l.quantile))
            .max()
            .unwrap_or(1);
        let mut passes: Vec<f64> = self
            .steps
            .iter()
            .filter(|st| st.verdict == Verdict::Pass)
            .map(|st| st.target_rate)
            .collect();
        for _attempt in 0..4 {
            while hi / lo - 1.0 > spec.precision {
                self.budget(
                    spec.step,
                    Some(hi),
                    &format!("bisecting [{lo:.1}, {hi:.1}]"),
                )?;
                let mid = 0.5 * (lo + hi);
                if self.passes(mid, Phase::Bisection, spec.step)? {
                    lo = mid;
                    passes.push(mid);
                } else {
                    hi = mid;
                }
            }
            let scored = spec.confirm.max(Duration::from_secs_f64(
                (1.2 * needed as f64 / lo).min(3600.0),
            ));
            if !self.can_afford(scored) {
                return end(
                    Outcome::TimeBudget,
                    Some(hi),
                    format!("max_time ran out before confirming {lo:.1} requests/s"),
                );
            }
            if self.passes(lo, Phase::Confirmation, scored)? {
                return Ok(Answer {
                    outcome: Outcome::Found,
                    sustainable: Some(lo),
                    breaking: Some(hi),
                    reason: format!(
                        "{lo:.1} requests/s met the SLO (confirmed over {:.0} s); {hi:.1} did not",
                        scored.as_secs_f64()
                    ),
                });
            }
            hi = lo;
            passes.retain(|&p| p < hi);
            lo = passes.iter().copied().fold(f64::NAN, f64::max);
            if lo.is_nan() {
                lo = hi / spec.growth;
            }
        }
        end(
            Outcome::Unconfirmed,
            Some(hi),
            "four confirmation steps failed: the service is not stable near its limit",
        )
    }

    /// In the descent, errors that do not fall as the rate does are not a
    /// capacity limit either: more than 5 % of requests failing at the
    /// first failed rate, and still at least half that share at a quarter
    /// of it, over 20 requests or more. An overload's errors vanish at a
    /// quarter of the load; a broken endpoint's stay.
    fn errors_hold_without_load(&self) -> Option<String> {
        let fails: Vec<&Step> = self
            .steps
            .iter()
            .filter(|s| s.verdict == Verdict::Fail)
            .collect();
        let (first, last) = (fails.first()?, fails.last()?);
        let (e0, e1) = (first.error_share?, last.error_share?);
        let quarter = last.target_rate
            <= first.target_rate / (self.spec.growth * self.spec.growth) * (1.0 + 1e-9);
        // Latency samples are the successes: completed = samples / (1 − e).
        let completed = last.samples as f64 / (1.0 - e1).max(1e-9);
        (quarter && e0 > 0.05 && e1 >= 0.5 * e0 && completed >= 20.0).then(|| {
            format!(
                "errors do not fall with the load ({:.1} % at {:.1} requests/s, {:.1} % at {:.2}): not a capacity limit — check the target's logs",
                100.0 * e0,
                first.target_rate,
                100.0 * e1,
                last.target_rate
            )
        })
    }
}

/// Runs the search. `on_step` sees each step as it finishes, with the
/// search so far (outcome `interrupted`: what a file written then holds).
pub fn find(
    probe: &mut dyn Probe,
    spec: &SearchSpec,
    slo: &Slo,
    on_step: &mut dyn FnMut(&Step, &FindResult),
) -> anyhow::Result<FindResult> {
    let mut s = Search {
        probe,
        spec,
        slo,
        on_step,
        steps: Vec::new(),
        spent: Duration::ZERO,
        interrupted: false,
    };
    let searched = (|| {
        let (lo, hi) = match s.exponential()? {
            (Some(lo), hi) => (lo, hi),
            (None, hi) => s.descend(hi)?,
        };
        s.bisect_and_confirm(lo, hi)
    })();
    let answer = match searched {
        Ok(a) => a,
        Err(e) => match e.downcast::<End>() {
            Ok(End(a)) => a,
            Err(e) => return Err(e),
        },
    };
    let outcome = if s.interrupted {
        Outcome::Interrupted
    } else {
        answer.outcome
    };
    Ok(FindResult {
        schema: SCHEMA.into(),
        outcome,
        reason: answer.reason,
        sustainable_rps: answer.sustainable.filter(|_| outcome == Outcome::Found),
        breaking_rps: answer.breaking,
        knee_rps: knee(&s.steps, &knee_label(slo)),
        precision: spec.precision,
        slo: SloLine::of(slo),
        load_time_s: s.spent.as_secs_f64(),
        steps: s.steps,
    })
}

/// The quantile the knee is found on: the SLO's first, or p99.
fn knee_label(slo: &Slo) -> String {
    slo.latency
        .first()
        .map_or("p99".to_string(), |l| l.label.clone())
}

/// The knee of the rate–latency curve: the measured point farthest below
/// the chord from the lowest to the highest rate (on normalised axes).
pub fn knee(steps: &[Step], label: &str) -> Option<f64> {
    let mut pts: Vec<(f64, f64)> = steps
        .iter()
        .filter(|s| matches!(s.verdict, Verdict::Pass | Verdict::Fail))
        .filter_map(|s| s.quantiles_ms.get(label).map(|&q| (s.achieved_rate, q)))
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    pts.dedup_by(|a, b| (a.0 - b.0).abs() < 1e-9);
    if pts.len() < 3 {
        return None;
    }
    let (x0, y0) = pts[0];
    let (x1, y1) = pts[pts.len() - 1];
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    pts.iter()
        .map(|&(x, y)| {
            let (xn, yn) = ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0));
            (x, xn - yn)
        })
        .filter(|&(_, d)| d > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(x, _)| x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{micros, new_histogram, ErrorKind};
    use crate::results::verdict::Attribution;
    use crate::search::limits::Tally;
    use std::collections::BTreeMap;

    /// A service that meets p99 ≤ 100 ms below `capacity` and misses it
    /// above; the generator tops out at `generator_max`. Its answers may
    /// be `status` errors, a `share` of them whatever the rate; it may
    /// queue without bound instead (every connection held above capacity).
    struct Model {
        capacity: f64,
        generator_max: f64,
        calls: Vec<f64>,
        errors: Option<(u16, f64)>,
        unbounded: bool,
    }

    fn model(capacity: f64, generator_max: f64) -> Model {
        Model {
            capacity,
            generator_max,
            calls: vec![],
            errors: None,
            unbounded: false,
        }
    }

    impl Probe for Model {
        fn step(
            &mut self,
            offered: Offered,
            _w: Duration,
            scored: Duration,
            _watch: Watch,
        ) -> anyhow::Result<Measure> {
            let Offered::Rate(rate) = offered else {
                anyhow::bail!("a search offers rates")
            };
            self.calls.push(rate);
            let secs = scored.as_secs_f64();
            let n = (rate * secs) as u64;
            let mut m = Measure::empty(Offered::Rate(rate));
            let sent = if rate > self.generator_max {
                (self.generator_max * secs) as u64
            } else {
                n
            };
            m.scheduled = n;
            m.started = sent;
            m.all.ok = sent;
            m.seconds = secs;
            let lat = if rate <= self.capacity { 20 } else { 400 };
            let mut h = new_histogram();
            h.record_n(micros(Duration::from_millis(lat)), sent.max(1))
                .unwrap();
            m.all.latency = h.clone();
            m.all.service = h;
            m.all.lag.record(50).unwrap();
            if self.unbounded && rate > self.capacity {
                // Connections all held: only `capacity` leave per second,
                // the rest wait for a connection, answers take seconds.
                let served = (self.capacity * secs) as u64;
                m.started = served;
                m.all.ok = served;
                m.load.no_free_connection = n - served;
                m.all.lag.record_n(800_000, served).unwrap();
                m.all.service.reset();
                m.all.service.record_n(1_250_000, served).unwrap();
                m.all.latency.reset();
                m.all.latency.record_n(2_000_000, served).unwrap();
            }
            if let Some((status, share)) = self.errors {
                let bad = (m.all.ok as f64 * share) as u64;
                m.all.ok -= bad;
                m.all.errors.insert(ErrorKind::Http(status), bad);
                m.tallies = vec![Tally {
                    path: "/x".into(),
                    completed: m.all.ok + bad,
                    errors: [(ErrorKind::Http(status), bad)].into(),
                }];
            }
            Ok(m)
        }
    }

    fn slo() -> Slo {
        Slo::p99(Duration::from_millis(100), None)
    }

    fn spec() -> SearchSpec {
        SearchSpec {
            start_rate: 100.0,
            max_time: Duration::from_secs(100_000),
            ..SearchSpec::default()
        }
    }

    #[test]
    fn finds_the_capacity_within_the_precision() {
        let mut m = model(1234.0, 1e9);
        let r = find(&mut m, &spec(), &slo(), &mut |_, _| {}).unwrap();
        assert_eq!(r.outcome, Outcome::Found, "{}", r.reason);
        let (lo, hi) = (r.sustainable_rps.unwrap(), r.breaking_rps.unwrap());
        assert!(lo <= 1234.0 && hi > 1234.0, "[{lo}, {hi}]");
        assert!(hi / lo - 1.0 <= 0.03);
        // Exponential 100 … 1600, then bisection of [800, 1600].
        assert_eq!(&m.calls[..5], &[100.0, 200.0, 400.0, 800.0, 1600.0]);
        assert_eq!(r.steps.last().unwrap().phase, Phase::Confirmation);
        assert_eq!(r.steps.len(), m.calls.len());
    }

    #[test]
    fn each_step_comes_with_the_search_so_far_marked_interrupted() {
        let mut m = model(1234.0, 1e9);
        let mut seen = Vec::new();
        let r = find(&mut m, &spec(), &slo(), &mut |step, so_far| {
            assert_eq!(so_far.outcome, Outcome::Interrupted);
            assert_eq!(so_far.steps.len(), step.index);
            assert_eq!(so_far.steps.last(), Some(step));
            assert_eq!(so_far.sustainable_rps, None);
            seen.push(so_far.clone());
        })
        .unwrap();
        assert_eq!(seen.len(), r.steps.len());
        // The last file written during the search holds every step the
        // finished one does.
        assert_eq!(seen.last().unwrap().steps, r.steps);
        assert_eq!(r.outcome, Outcome::Found);
    }

    #[test]
    fn a_generator_that_cannot_keep_up_is_never_a_breaking_point() {
        let mut m = model(5000.0, 700.0);
        let r = find(&mut m, &spec(), &slo(), &mut |_, _| {}).unwrap();
        assert_eq!(r.outcome, Outcome::GeneratorLimited);
        assert_eq!(r.sustainable_rps, None);
        assert_eq!(r.breaking_rps, None);
        crate::testing::has(&r.reason, "800.0");
    }

    #[test]
    fn a_first_failing_step_descends() {
        let mut m = model(30.0, 1e9);
        let r = find(&mut m, &spec(), &slo(), &mut |_, _| {}).unwrap();
        assert_eq!(r.outcome, Outcome::Found, "{}", r.reason);
        assert!(r.sustainable_rps.unwrap() <= 30.0 && r.breaking_rps.unwrap() > 30.0);
        assert_eq!(r.steps[1].phase, Phase::Descent);
    }

    #[test]
    fn no_breaking_point_up_to_max_rate() {
        let mut m = model(1e9, 1e9);
        let r = find(
            &mut m,
            &SearchSpec {
                max_rate: 1000.0,
                ..spec()
            },
            &slo(),
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(r.outcome, Outcome::NoBreakingPoint);
        assert_eq!(*m.calls.last().unwrap(), 1000.0);
        assert_eq!(
            crate::exit::of_search(r.outcome),
            crate::exit::Code::NotBroken
        );
    }

    #[test]
    fn the_time_budget_holds() {
        let mut m = model(1234.0, 1e9);
        let s = SearchSpec {
            max_time: Duration::from_secs(20),
            ..spec()
        };
        let r = find(&mut m, &s, &slo(), &mut |_, _| {}).unwrap();
        assert_eq!(r.outcome, Outcome::TimeBudget);
        assert!(r.load_time_s <= 20.0);
    }

    #[test]
    fn a_target_that_queues_without_bound_fails_where_it_saturates() {
        // Every connection held above capacity, answers in 1.25 s: the
        // step fails (target_saturated); it is never generator_limited.
        let mut m = Model {
            unbounded: true,
            ..model(1234.0, 1e9)
        };
        let r = find(&mut m, &spec(), &slo(), &mut |_, _| {}).unwrap();
        assert_eq!(r.outcome, Outcome::Found, "{}", r.reason);
        assert!(r.sustainable_rps.unwrap() <= 1234.0 && r.breaking_rps.unwrap() > 1234.0);
        let over: Vec<&Step> = r.steps.iter().filter(|s| s.target_rate > 1234.0).collect();
        assert!(!over.is_empty());
        for s in over {
            assert_eq!(s.verdict, Verdict::Fail, "{}", s.reason);
            assert_eq!(s.attribution, Attribution::TargetSaturated);
            assert!(s.no_free_connection > 0);
            assert!((s.service_ms["p99"] / 1250.0 - 1.0).abs() < 1e-3);
        }
    }

    #[test]
    fn a_forbidden_target_ends_the_search_at_the_first_step() {
        let mut m = Model {
            errors: Some((403, 1.0)),
            ..model(1234.0, 1e9)
        };
        let r = find(&mut m, &spec(), &slo(), &mut |_, _| {}).unwrap();
        assert_eq!(r.outcome, Outcome::TargetUnusable, "{}", r.reason);
        assert_eq!(m.calls, [100.0]);
        assert_eq!(
            crate::exit::of_search(r.outcome),
            crate::exit::Code::Unreachable
        );
        crate::testing::starts(
            &r.reason,
            "every request to /x answered 403 Forbidden at 100 requests/s",
        );
    }

    #[test]
    fn errors_that_do_not_fall_with_the_rate_are_no_capacity_limit() {
        // 500 on 60 % of requests at any rate: two halvings of the rate
        // show it, not a descent to a thousandth of the start.
        let mut m = Model {
            errors: Some((500, 0.6)),
            ..model(1234.0, 1e9)
        };
        let errors = Slo {
            error_share: Some(0.01),
            ..slo()
        };
        let r = find(&mut m, &spec(), &errors, &mut |_, _| {}).unwrap();
        assert_eq!(r.outcome, Outcome::TargetUnusable, "{}", r.reason);
        assert_eq!(m.calls, [100.0, 50.0, 25.0]);
        crate::testing::starts(&r.reason, "errors do not fall with the load");
        // 30 % (the case: it descended to 0.2 requests/s).
        let mut m = Model {
            errors: Some((500, 0.3)),
            ..model(1234.0, 1e9)
        };
        let r = find(&mut m, &spec(), &errors, &mut |_, _| {}).unwrap();
        assert_eq!(r.outcome, Outcome::TargetUnusable, "{}", r.reason);
        assert_eq!(m.calls, [100.0, 50.0, 25.0]);
    }

    #[test]
    fn the_knee_is_where_latency_turns_up() {
        let step = |rate: f64, p99: f64| Step {
            index: 0,
            phase: Phase::Exponential,
            target_rate: rate,
            achieved_rate: rate,
            throughput: rate,
            quantiles_ms: [("p99".to_string(), p99)].into(),
            error_share: None,
            samples: 1000,
            verdict: Verdict::Pass,
            reason: String::new(),
            attribution: Attribution::None,
            no_free_connection: 0,
            dropped: 0,
            in_flight_end: 0,
            queued_end: 0,
            send_lag_p99_ms: None,
            service_ms: BTreeMap::new(),
            stop_reason: None,
            scored_s: 1.0,
        };
        let steps: Vec<Step> = [
            (100.0, 10.0),
            (200.0, 10.5),
            (400.0, 11.0),
            (600.0, 14.0),
            (700.0, 40.0),
            (800.0, 200.0),
        ]
        .iter()
        .map(|&(r, p)| step(r, p))
        .collect();
        // Farthest below the chord from (100, 10) to (800, 200): the last
        // rate before the steepest rise.
        assert_eq!(knee(&steps, "p99"), Some(700.0));
    }
}
