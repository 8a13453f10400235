//! `headroom run`: one run of a scenario, its results written second by second.

use super::recording::{live_metrics, summarize, Recording};
use super::{default_dir, plan_for, start_target, write_report, Output};
use crate::cli::RunArgs;
use crate::exit;
use crate::load::{self, StopFlag};
use crate::metrics::Interval;
use crate::report;
use crate::results::summary::Summary;
use crate::results::write_json;
use crate::scenario::{self, Plan};
use crate::search;
use crate::search::faults as chaos;
use anyhow::Context;
use std::path::PathBuf;
use std::time::Instant;

/// What a finished run left behind.
pub struct RunReport {
    pub summary: Summary,
    pub dir: PathBuf,
    pub exit_code: exit::Code,
}

/// `headroom run`.
pub fn run(args: &RunArgs, stop: &StopFlag) -> anyhow::Result<exit::Code> {
    let mut plan = plan_for(&args.target, args.model.overrides())?;
    if let Some(seg) = args.segment {
        plan.load.segment = seg;
    }
    if let Some(t) = args.start_at {
        // Refused before a results directory is made.
        let at = std::time::SystemTime::from(t);
        scenario::start_delay(at).map_err(crate::error::BadInput)?;
        plan.load.start_at = Some(at);
    }
    let segment = (args.segment.is_some() || args.run_id.is_some()).then(|| {
        crate::results::summary::SegmentInfo {
            run_id: args.run_id.clone().unwrap_or_else(|| {
                let when = args
                    .start_at
                    .map_or_else(|| "now".to_string(), |t| t.to_rfc3339());
                format!("{}-{when}", plan.name)
            }),
            index: Some(plan.load.segment.index),
            count: plan.load.segment.count,
            start_at: args.start_at.map(|t| t.to_rfc3339()),
            plan_digest: plan_digest(&plan),
        }
    });
    if args.abort_on_fail && plan.slo.latency.is_empty() && plan.slo.error_share.is_none() {
        return Err(crate::error::BadInput(
            "--abort-on-fail needs a latency or error SLO ([slo] in the scenario or --slo)".into(),
        )
        .into());
    }
    let report = execute_segment(
        &plan,
        &Output::from(&args.output),
        stop,
        args.abort_on_fail,
        segment,
    )?;
    Ok(report.exit_code)
}

/// Runs a validated plan (starting the embedded target when it names it)
/// and writes every result file. With `abort_on_fail`, a windowed SLO
/// breach (a quantile above its threshold for `breach_seconds` in a row,
/// the error share over its sliding window) ends the run early.
pub fn execute(
    plan: &Plan,
    output: &Output,
    stop: &StopFlag,
    abort_on_fail: bool,
) -> anyhow::Result<RunReport> {
    execute_segment(plan, output, stop, abort_on_fail, None)
}

/// A digest of everything about a plan but its segment and start time
/// (FNV-1a 64 of its debug form): equal for the segments of one run.
pub fn plan_digest(plan: &Plan) -> String {
    let mut p = plan.clone();
    p.load.segment = scenario::Segment::default();
    p.load.start_at = None;
    let h = crate::hash::fnv1a64(format!("{p:?}").as_bytes());
    format!("{h:016x}")
}

pub(super) fn execute_segment(
    plan: &Plan,
    output: &Output,
    stop: &StopFlag,
    abort_on_fail: bool,
    segment: Option<crate::results::summary::SegmentInfo>,
) -> anyhow::Result<RunReport> {
    let run_for = plan.load.model.duration();
    if let Some(f) = plan.chaos.faults.iter().find(|f| f.at >= run_for) {
        return Err(crate::error::BadInput(format!(
            "fault {:?} starts at {} s, after the run's {} s of load",
            f.name,
            f.at.as_secs_f64(),
            run_for.as_secs_f64()
        ))
        .into());
    }
    let (started, base) = start_target(plan)?;
    let dir = output
        .out
        .clone()
        .unwrap_or_else(|| default_dir(&plan.name));
    crate::results::claim(&dir, output.force, &[])?;
    let (live, _server) = live_metrics(plan, output)?;
    write_json(
        &dir.join(crate::results::files::SCENARIO),
        &crate::results::scenario::ScenarioInfo::new(plan, &base.to_string()),
    )?;
    let driver = (!plan.chaos.faults.is_empty()).then(|| {
        chaos::Driver::new(
            &plan.chaos.faults,
            started.chaos.proxies.as_ref(),
            live.clone(),
        )
    });
    let mut rec = Recording::new(plan, &base, &dir, output, abort_on_fail, live)?;
    let outcome = load::run(
        plan,
        &base,
        stop,
        &mut Watching {
            rec: &mut rec,
            stop,
            driver: driver.as_ref(),
        },
    )?;
    let mut summary = summarize(plan, &base, &outcome);
    if let Some(why) = rec.aborted.take() {
        summary.interrupted = false;
        summary.aborted = Some(why);
    }
    if let Some(d) = driver {
        let applied = d.finish();
        let (faults, experiment) = search::experiment::judge(
            &applied,
            &rec.tallies,
            &plan.slo,
            plan.chaos.experiment.as_ref(),
            rec.blast.as_ref().and_then(|b| b.fired),
        );
        summary.warnings.extend(faults.iter().filter_map(|f| {
            Some(format!(
                "fault {:?} was not applied as planned: {}",
                f.applied.name,
                f.applied.error.as_ref()?
            ))
        }));
        summary.faults = faults;
        summary.experiment = experiment;
    }
    drop(started);
    summary.segment = segment;
    write_json(&dir.join(crate::results::files::SUMMARY), &summary)?;
    rec.finish(&dir, output.format)?;
    if !output.quiet {
        print!("{}", report::text::summary(&summary));
        println!("\n  results: {}", dir.display());
    } else if let Some(why) = report::text::verdict_line(&summary) {
        // Quiet, not silent: a failing CI step says why.
        eprintln!("{why}");
    }
    write_report(&dir, output);
    // A shard that failed: what was written is less than planned, and the
    // run says so with an error (exit 10) rather than a verdict.
    outcome
        .check()
        .with_context(|| format!("results so far in {}", dir.display()))?;
    let exit_code = exit::of_run(&summary);
    Ok(RunReport {
        summary,
        dir,
        exit_code,
    })
}

/// The run's observer: each second to the recording, and the run's clock
/// and the blast-radius guard to the fault driver.
pub(super) struct Watching<'a> {
    rec: &'a mut Recording,
    stop: &'a StopFlag,
    driver: Option<&'a chaos::Driver>,
}

impl load::Observer for Watching<'_> {
    fn started(&mut self, at: Instant) {
        if let Some(d) = self.driver {
            d.started(at);
        }
    }

    fn interval(&mut self, iv: &Interval) {
        if let Some(d) = self.driver {
            let t = iv.index as f64;
            let active = d.active_between(t, t + 1.0);
            self.rec.faults_now = active.len() as u32;
            let logged = d
                .events_between(t, t + 1.0)
                .iter()
                .try_for_each(|line| self.rec.hlog.comment(line))
                .and_then(|()| {
                    active
                        .iter()
                        .try_for_each(|name| self.rec.hlog.write_fault(iv, name))
                });
            if let Err(e) = logged {
                self.rec.write_error.get_or_insert(e.into());
            }
        }
        if self.rec.second(iv) {
            self.stop.stop();
        }
        if let (Some(d), Some(b)) = (self.driver, &mut self.rec.blast) {
            if b.just_fired {
                b.just_fired = false;
                d.abort();
            }
        }
    }
}
