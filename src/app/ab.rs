//! `headroom ab`: a paired A/B run. Both versions are up at once (the
//! usual CI set-up: the main branch's build and the pull request's); one
//! schedule's arrivals go to either at random, so every stall of the
//! machine and every noisy neighbour hits both alike, and the verdict
//! comes from the same seconds of both (`compare::compare_paired`).
//!
//! Each arm's results are a run's own (`DIR/base/`, `DIR/candidate/`:
//! summary, time series, interval logs, report), and the comparison is
//! `DIR/compare.json`, as `compare` writes it.

use std::path::Path;

use anyhow::Context;

use super::compare::{emit_comparison, verdict_options};
use super::recording::{summarize, Recording};
use super::{default_dir, plan_for, write_report, Output};
use crate::cli::{AbArgs, TargetOpts};
use crate::exit;
use crate::load::{self, Observer, RunOutcome, StopFlag};
use crate::metrics::{Interval, Stats};
use crate::results::compare::{Warning, WarningKind};
use crate::results::write_json;
use crate::scenario::{Plan, TargetSpec};

/// The arms, in the order the engine numbers them.
const ARMS: [&str; 2] = [
    crate::results::files::BASE,
    crate::results::files::CANDIDATE,
];

/// `headroom ab`.
pub fn ab(args: &AbArgs, stop: &StopFlag) -> anyhow::Result<exit::Code> {
    let (scenario, urls) = targets(args)?;
    if args.output.metrics_listen.is_some() {
        return Err(crate::error::BadInput(
            "ab serves no live metrics (--metrics-listen is for run, find, sweep and stress)"
                .into(),
        )
        .into());
    }
    // Each URL read as `run` reads it (a quick run's path is its request's
    // path; a scenario's URL is the base its paths go under).
    let plans = urls
        .iter()
        .map(|u| {
            let target = TargetOpts {
                scenario: scenario.clone(),
                url: Some(u.clone()),
                slo: Vec::new(),
                threads: args.threads,
                connections: args.connections,
                timeout: args.timeout,
                no_keep_alive: false,
                http: args.http,
            };
            plan_for(&target, args.model.overrides())
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let bases = plans
        .iter()
        .zip(&urls)
        .map(|(p, u)| match &p.target {
            TargetSpec::Url(base) => Ok(base.clone()),
            TargetSpec::Embedded(_) => Err(crate::error::BadInput(format!(
                "{u}: ab compares two running services: give both their URLs (the embedded target is for run)"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let paths =
        |p: &Plan| -> Vec<String> { p.requests.iter().map(|r| r.path.source.clone()).collect() };
    if paths(&plans[0]) != paths(&plans[1]) {
        return Err(crate::error::BadInput(format!(
            "{} and {} differ in path: ab sends the same requests to both versions (give the same path, or a scenario with --base and --candidate)",
            urls[0], urls[1]
        ))
        .into());
    }
    let plan = plans.into_iter().next().expect("two plans");
    if !plan.chaos.faults.is_empty() || !plan.chaos.proxies.is_empty() {
        return Err(crate::error::BadInput(
            "ab compares two versions under the same load: a scenario's proxies and faults are for `run`".into(),
        )
        .into());
    }
    let opts = verdict_options(&args.verdict)?;
    let output = Output::from(&args.output);
    let dir = output
        .out
        .clone()
        .unwrap_or_else(|| default_dir(&format!("{}-ab", plan.name)));
    crate::results::claim(&dir, output.force, &[])?;
    let mut recs = Vec::new();
    for (k, arm) in ARMS.iter().enumerate() {
        let arm_dir = dir.join(arm);
        std::fs::create_dir_all(&arm_dir)
            .with_context(|| format!("creating {}", arm_dir.display()))?;
        // One progress bar (the base's) for the run.
        let out = Output {
            quiet: output.quiet || k > 0,
            ..output.clone()
        };
        recs.push(Recording::new(
            &plan, &bases[k], &arm_dir, &out, false, None,
        )?);
    }
    let names = plan.requests.len();
    let outcome = load::run_arms(
        &plan,
        &bases,
        stop,
        &mut Split {
            recs: &mut recs,
            names,
        },
    )?;
    for (k, rec) in recs.into_iter().enumerate() {
        let arm_dir = dir.join(ARMS[k]);
        let summary = summarize(&plan, &bases[k], &arm_outcome(&outcome, k, names));
        write_json(&arm_dir.join(crate::results::files::SUMMARY), &summary)?;
        rec.finish(&arm_dir, output.format)?;
    }
    outcome
        .check()
        .with_context(|| format!("results so far in {}", dir.display()))?;
    let runs = ARMS
        .iter()
        .map(|arm| crate::compare::load::load(&dir.join(arm)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut c = crate::compare::compare_paired(&runs[0], &runs[1], &opts);
    if urls[0] == urls[1] {
        c.warnings.insert(
            0,
            Warning::new(
                WarningKind::AaRun,
                "the same URL for both versions: an A/A run, which measures the gate's own noise",
            ),
        );
    }
    write_json(&dir.join(crate::results::files::COMPARE), &c)?;
    emit_comparison(&c, args.print, &args.verdict)?;
    // One page: both versions' runs and the comparison.
    write_report(&dir, &output);
    if !output.quiet {
        println!("\n  results: {}", dir.display());
    }
    Ok(exit::of_comparison(&c))
}

/// (the scenario, if any; the base and candidate URLs) from the
/// positional arguments and --base/--candidate.
fn targets(args: &AbArgs) -> anyhow::Result<(Option<std::path::PathBuf>, [String; 2])> {
    let usage = "ab takes BASE_URL CANDIDATE_URL, or SCENARIO --base URL --candidate URL";
    match (args.targets.as_slice(), &args.base, &args.candidate) {
        ([b, c], None, None) => Ok((None, [b.clone(), c.clone()])),
        ([scenario], Some(b), Some(c)) => {
            if !Path::new(scenario).is_file() {
                return Err(crate::error::BadInput(format!(
                    "{scenario}: no such scenario file ({usage})"
                ))
                .into());
            }
            Ok((Some(scenario.into()), [b.clone(), c.clone()]))
        }
        _ => Err(crate::error::BadInput(usage.into()).into()),
    }
}

/// Each second of the paired run to each arm's recording, as that arm's
/// own second.
struct Split<'a> {
    recs: &'a mut [Recording],
    names: usize,
}

impl Observer for Split<'_> {
    fn interval(&mut self, iv: &Interval) {
        for (k, rec) in self.recs.iter_mut().enumerate() {
            // Without --abort-on-fail, a recording never asks to stop.
            rec.second(&arm_interval(iv, k, self.names));
        }
    }
}

/// Arm `k`'s part of a paired run's second: its request names' stats and
/// its scheduled arrivals. The connections' state is the run's (a lane
/// holds a connection to each version).
fn arm_interval(iv: &Interval, k: usize, names: usize) -> Interval {
    let per_request: Vec<Stats> = iv.per_request[k * names..(k + 1) * names].to_vec();
    let mut all = Stats::default();
    for s in &per_request {
        all.merge(s);
    }
    Interval {
        index: iv.index,
        scheduled: iv.scheduled_arms.get(k).copied().unwrap_or(0),
        scheduled_arms: Vec::new(),
        load: iv.load,
        per_request,
        all,
    }
}

/// Arm `k`'s part of a paired run's outcome.
fn arm_outcome(o: &RunOutcome, k: usize, names: usize) -> RunOutcome {
    RunOutcome {
        totals: o.totals[k * names..(k + 1) * names].to_vec(),
        scheduled: o
            .scheduled
            .map(|_| o.scheduled_arms.get(k).copied().unwrap_or(0)),
        scheduled_arms: Vec::new(),
        started_at: o.started_at,
        duration: o.duration,
        elapsed: o.elapsed,
        interrupted: o.interrupted,
        threads: o.threads,
        connections_opened: o.connections_opened,
        users_never_sent: o.users_never_sent,
        in_flight_at_end: o.in_flight_at_end,
        no_free_connection: o.no_free_connection,
        lanes: o.lanes,
        failures: o.failures.clone(),
    }
}
