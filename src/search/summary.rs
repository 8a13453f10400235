//! A run's `summary.json` from what it measured: the totals merged, the
//! SLOs judged on them, and what limited the load attributed.

use crate::metrics::{flow_starts, flows_sent, ErrorKind, Stats};
use crate::results::summary::{
    LatencySummary, LoadKind, PerRequest, Requests, SloName, SloVerdict, Summary, Tool, SCHEMA,
};
use crate::results::verdict::Attribution;
use crate::scenario::{Arrivals, Slo};
use crate::search::limits::{attribute, not_a_capacity_limit, Evidence, Tally};

/// What a run measured, as the summary builder needs it.
pub struct RunFacts<'a> {
    pub scenario: &'a str,
    pub target: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub model: LoadKind,
    pub arrivals: Option<Arrivals>,
    pub concurrency: Option<u32>,
    pub threads: usize,
    pub duration_s: f64,
    /// From the start until the last answer was in (or given up on): the
    /// duration and the wait for answers after it.
    pub elapsed_s: f64,
    /// Arrivals the schedule released (open model).
    pub scheduled: Option<u64>,
    pub totals: &'a [Stats],
    /// Each request's name, method and path, in the order of `totals`.
    pub names: Vec<Named>,
    pub in_flight_at_end: u64,
    /// Arrivals that found every connection busy when due.
    pub no_free_connection: u64,
    /// Requests the connections could carry at once.
    pub lanes: u64,
    /// The request timeout (answers near it count as slow).
    pub timeout: std::time::Duration,
    pub connections_opened: u64,
    /// Virtual users (closed model) that never sent a request.
    pub users_never_sent: u64,
    pub interrupted: bool,
}

impl<'a> RunFacts<'a> {
    /// What a run of `plan` against `target` measured, as its summary
    /// needs it.
    pub fn of(
        plan: &'a crate::scenario::Plan,
        target: String,
        o: &'a crate::load::RunOutcome,
    ) -> RunFacts<'a> {
        let (model, arrivals, concurrency) = LoadKind::of(&plan.load.model);
        RunFacts {
            scenario: &plan.name,
            target,
            started_at: o.started_at,
            model,
            arrivals,
            concurrency,
            threads: o.threads,
            duration_s: o.duration.as_secs_f64(),
            elapsed_s: o.elapsed.as_secs_f64(),
            scheduled: o.scheduled,
            totals: &o.totals,
            names: plan
                .requests
                .iter()
                .map(|r| Named {
                    name: r.name.clone(),
                    method: r.method.to_string(),
                    path: r.path.source.clone(),
                })
                .collect(),
            in_flight_at_end: o.in_flight_at_end,
            no_free_connection: o.no_free_connection,
            lanes: o.lanes,
            timeout: plan.timeouts.request,
            connections_opened: o.connections_opened,
            users_never_sent: o.users_never_sent,
            interrupted: o.interrupted,
        }
    }
}

/// A request as a summary names it.
#[derive(Debug, Clone)]
pub struct Named {
    pub name: String,
    pub method: String,
    /// The path as written (its template, if any).
    pub path: String,
}

impl Summary {
    pub fn build(f: RunFacts<'_>, slo: &Slo) -> Summary {
        let mut all = Stats::default();
        for t in f.totals {
            all.merge(t);
        }
        let d = f.duration_s.max(1e-9);
        let target_rate = f.scheduled.map(|n| n as f64 / d);
        // Arrivals start flows: the achieved rate counts first steps only.
        let starts = flow_starts(f.names.iter().map(|n| n.name.as_str()));
        let started = flows_sent(f.totals, &starts);
        let achieved_rate = started as f64 / d;
        let send_lag_ms = LatencySummary::from_histogram(&all.lag);
        let kind = |k| all.errors.get(&k).copied().unwrap_or(0);
        let limit = attribute(
            &Evidence {
                open_model: f.scheduled.is_some(),
                scheduled: f.scheduled.unwrap_or(0),
                sent: started + all.connect_failures(),
                no_free_connection: f.no_free_connection,
                dropped: kind(ErrorKind::DroppedNoConnection),
                local_errors: kind(ErrorKind::LocalResources),
                timeouts: kind(ErrorKind::ConnectTimeout) + kind(ErrorKind::RequestTimeout),
                lanes: f.lanes,
                lag: &all.lag,
                service: &all.service,
                timeout: f.timeout,
            },
            slo,
        );
        let mut notes = limit.behind.clone();
        if !notes.is_empty() {
            notes.push(limit.why.clone());
        }
        let attribution = users_never_sent(&f, &all, limit.attribution, &mut notes);
        let (tallies, per_request): (Vec<Tally>, Vec<PerRequest>) = f
            .totals
            .iter()
            .zip(&f.names)
            .map(|(s, n)| {
                let tally = Tally {
                    path: n.path.clone(),
                    completed: s.completed(),
                    errors: s.errors.clone(),
                };
                let per_request = PerRequest {
                    name: n.name.clone(),
                    method: n.method.clone(),
                    path: n.path.clone(),
                    requests: Requests::from_stats(s),
                    latency_ms: LatencySummary::from_histogram(&s.latency),
                    service_time_ms: LatencySummary::from_histogram(&s.service),
                };
                (tally, per_request)
            })
            .unzip();
        let target_unusable = not_a_capacity_limit(&tallies, target_rate, slo.error_share);
        Summary {
            schema: SCHEMA.into(),
            tool: Tool {
                name: "headroom".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            scenario: f.scenario.into(),
            target: f.target,
            started_at: f
                .started_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            model: f.model,
            arrivals: f.arrivals,
            concurrency: f.concurrency,
            threads: f.threads,
            duration_s: f.duration_s,
            target_rate,
            achieved_rate,
            // Answers, over the time it took to get them: a timeout is no
            // answer, and answers that came after the end took that long.
            throughput: all.answered() as f64 / f.elapsed_s.max(d),
            requests: Requests::from_stats(&all),
            in_flight_at_end: f.in_flight_at_end,
            no_free_connection: f.no_free_connection,
            connections_opened: f.connections_opened,
            latency_ms: LatencySummary::from_histogram(&all.latency),
            service_time_ms: LatencySummary::from_histogram(&all.service),
            send_lag_ms,
            connect_ms: LatencySummary::from_histogram(&all.connect),
            per_request,
            slo: judge(
                slo,
                &all,
                &f.totals
                    .iter()
                    .zip(&f.names)
                    .map(|(s, n)| (n.name.as_str(), s))
                    .collect::<Vec<_>>(),
                achieved_rate,
                target_rate,
            ),
            attribution,
            generator_limited: attribution.is_generator(),
            users_never_sent: f.users_never_sent,
            generator_notes: notes,
            target_unusable,
            interrupted: f.interrupted,
            aborted: None,
            warnings: Vec::new(),
            segment: None,
            faults: Vec::new(),
            experiment: None,
        }
    }
}

/// Judges every SLO on whole-run totals: global thresholds on all
/// requests, `[slo.requests.NAME]` on that name's own, the minimum rate on
/// the achieved (sent) rate.
pub fn judge(
    slo: &Slo,
    all: &Stats,
    per_request: &[(&str, &Stats)],
    achieved_rate: f64,
    target_rate: Option<f64>,
) -> Vec<SloVerdict> {
    let mut out = judge_stats(&slo.latency, slo.error_share, all, None);
    if let Some(min) = &slo.min_rate {
        let threshold = min.rps(target_rate);
        out.push(SloVerdict {
            name: SloName::MinRate,
            request: None,
            threshold: threshold.unwrap_or(f64::NAN),
            measured: Some(achieved_rate),
            pass: threshold.map(|t| achieved_rate >= t),
        });
    }
    for r in &slo.requests {
        if let Some((_, s)) = per_request.iter().find(|(n, _)| *n == r.name) {
            out.extend(judge_stats(&r.latency, r.error_share, s, Some(&r.name)));
        }
    }
    out
}

fn judge_stats(
    latency: &[crate::scenario::LatencySlo],
    error_share: Option<f64>,
    s: &Stats,
    request: Option<&str>,
) -> Vec<SloVerdict> {
    let mut out: Vec<SloVerdict> = latency
        .iter()
        .map(|l| {
            let threshold = l.max.as_secs_f64() * 1000.0;
            let measured = (!s.latency.is_empty())
                .then(|| s.latency.value_at_quantile(l.quantile) as f64 / 1000.0);
            SloVerdict {
                name: SloName::Latency {
                    label: l.label.clone(),
                    quantile: l.quantile,
                },
                request: request.map(str::to_string),
                threshold,
                measured,
                pass: measured.map(|m| m <= threshold),
            }
        })
        .collect();
    if let Some(max) = error_share {
        let total = s.completed();
        let measured = (total > 0).then(|| s.error_count() as f64 / total as f64);
        out.push(SloVerdict {
            name: SloName::Errors,
            request: request.map(str::to_string),
            threshold: max,
            measured,
            pass: measured.map(|m| m <= max),
        });
    }
    out
}

/// Users no connection opened for (19,000 against nginx: 3,537 of them
/// sent nothing, unremarked): the load was not what was asked. Named in
/// the notes; the run is connection-limited unless the target's own limit
/// already explains it (a full listen backlog is the target's doing).
fn users_never_sent(
    f: &RunFacts<'_>,
    all: &Stats,
    attribution: Attribution,
    notes: &mut Vec<String>,
) -> Attribution {
    if f.users_never_sent == 0 {
        return attribution;
    }
    notes.push(format!(
        "{} of {} users never sent a request: no connection opened for them in the run \
         (connect p50 {}); the concurrency was less than asked",
        f.users_never_sent,
        f.concurrency.map_or("the".into(), |c| c.to_string()),
        LatencySummary::from_histogram(&all.connect)
            .map_or("—".into(), |c| crate::units::fmt_ms(c.p50))
    ));
    if attribution == Attribution::None {
        Attribution::ConnectionCap
    } else {
        attribution
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 40 users, 35 of them never sending (no connection opened for them):
    /// the run is connection-limited and says so; without them, the same
    /// run is not limited at all.
    #[test]
    fn users_that_never_sent_limit_the_run_and_are_named() {
        let mut s = Stats {
            ok: 1000,
            sent: 1000,
            ..Stats::default()
        };
        s.latency.record_n(1_000, 1000).unwrap();
        s.service.record_n(900, 1000).unwrap();
        s.lag.record_n(10, 1000).unwrap();
        s.connect.record_n(1_000_000, 5).unwrap();
        let totals = [s];
        let facts = |never| RunFacts {
            scenario: "x",
            target: "http://127.0.0.1:1".into(),
            started_at: chrono::Utc::now(),
            model: LoadKind::Closed,
            arrivals: None,
            concurrency: Some(40),
            threads: 1,
            duration_s: 1.0,
            elapsed_s: 1.0,
            scheduled: None,
            totals: &totals,
            names: vec![Named {
                name: "default".into(),
                method: "GET".into(),
                path: "/".into(),
            }],
            in_flight_at_end: 0,
            no_free_connection: 0,
            lanes: 40,
            timeout: std::time::Duration::from_secs(1),
            connections_opened: 5,
            users_never_sent: never,
            interrupted: false,
        };
        let all_in = Summary::build(facts(0), &Slo::default());
        assert_eq!(all_in.attribution, Attribution::None);
        assert!(!all_in.generator_limited && all_in.generator_notes.is_empty());
        let short = Summary::build(facts(35), &Slo::default());
        assert_eq!(short.users_never_sent, 35);
        assert_eq!(short.attribution, Attribution::ConnectionCap);
        assert!(short.generator_limited);
        let note = &short.generator_notes[0];
        assert!(
            note.starts_with("35 of 40 users never sent a request") && note.contains("connect p50"),
            "{note}"
        );
    }
}
