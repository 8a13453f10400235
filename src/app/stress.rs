//! `headroom stress`: the sustainable rate (given, from a find.json, or
//! searched for first), then baseline, overload and recovery in one run.

use crate::cli::StressArgs;
use crate::exit;
use crate::load::StopFlag;
use crate::results::find::Outcome;
use crate::results::stress::{Second, StressResult};
use crate::results::write_json;
use crate::scenario::{Capacity, Plan};
use crate::search::stress::{self, Setup};
use crate::units::{fmt_count, fmt_ms};

use super::{default_dir, open_plan, probe_for, run_find, set, write_report, Output};

/// `headroom stress`.
pub fn stress(args: &StressArgs, stop: &StopFlag) -> anyhow::Result<exit::Code> {
    let mut plan = open_plan(&args.target, args.poisson)?;
    let sp = &mut plan.stress;
    if let Some(r) = args.capacity {
        sp.capacity = Capacity::Given(r);
    }
    if let Some(f) = &args.find {
        sp.capacity = Capacity::FindFile(f.clone());
    }
    set(&mut sp.overload, args.overload);
    set(&mut sp.hold, args.hold);
    set(&mut sp.baseline, args.baseline);
    set(&mut sp.settle, args.settle);
    set(&mut sp.recovery, args.recovery);
    set(&mut sp.recovered, args.recovered);
    sp.check()
        .map_err(|e| crate::error::BadInput(format!("stress settings: {e}")))?;
    if plan.slo.latency.is_empty() && plan.slo.error_share.is_none() {
        return Err(crate::error::BadInput(
            "stress needs a latency or error SLO: [slo] in the scenario or --slo p99=250ms (repeatable)"
                .into(),
        )
        .into());
    }
    let dir = args
        .output
        .out
        .clone()
        .unwrap_or_else(|| default_dir(&format!("{}-stress", plan.name)));
    // Claimed once here: the search (into find/) and the episode then
    // write into a directory that is theirs.
    crate::results::claim(&dir, args.output.force, &[])?;
    let find_dir = dir.join(crate::results::files::FIND_DIR);
    if find_dir.exists() {
        crate::results::claim(&find_dir, args.output.force, &[])?;
    }
    let (r, from) = match &plan.stress.capacity {
        Capacity::Given(r) => (*r, "given".to_string()),
        Capacity::FindFile(path) => (
            crate::results::find::read_sustainable(path)?,
            path.display().to_string(),
        ),
        Capacity::Find => {
            plan.search
                .check()
                .map_err(|e| crate::error::BadInput(format!("search settings: {e}")))?;
            let out = Output {
                out: Some(find_dir),
                no_report: true,
                metrics_listen: None,
                force: true,
                ..Output::from(&args.output)
            };
            let found = run_find(&plan, &out, stop)?;
            match found.sustainable_rps {
                Some(r) if found.outcome == Outcome::Found => (r, "find".to_string()),
                _ => {
                    eprintln!(
                        "no stress test: the search found no sustainable rate ({})",
                        found.reason
                    );
                    return Ok(crate::exit::of_search(found.outcome));
                }
            }
        }
    };
    let output = Output {
        out: Some(dir),
        force: true,
        ..Output::from(&args.output)
    };
    let result = run_stress(&plan, &output, stop, r, from)?;
    Ok(crate::exit::of_stress(result.verdict))
}

/// Runs the stress episode for a validated plan against the sustainable
/// rate `r`, and writes `stress.json`, `latency.hlog` and the report.
pub fn run_stress(
    plan: &Plan,
    output: &Output,
    stop: &StopFlag,
    r: f64,
    capacity_from: String,
) -> anyhow::Result<StressResult> {
    let (_target, base, dir, mut probe) =
        probe_for(plan, output, stop, "stress", crate::results::files::STEPS)?;
    probe.profile_log = Some(dir.join(crate::results::files::LATENCY_LOG));
    let spec = &plan.stress;
    let quiet = output.quiet;
    if !quiet {
        println!(
            "stress test of {base}: sustainable {} requests/s ({capacity_from});\n  {} requests/s for {} s, {} requests/s for {} s, then the first until the SLO holds {} s in a row (at most {} s)",
            fmt_count(r),
            fmt_count(spec.baseline * r),
            spec.settle.as_secs(),
            fmt_count(spec.overload * r),
            spec.hold.as_secs(),
            spec.recovered,
            spec.recovery.as_secs()
        );
        println!(
            "  {:>4} {:<9} {:>8} {:>8} {:>8} {:>7} {:>9} {:>9} {:>9}  slo   limited by",
            "s", "phase", "offered", "sent", "good", "errors", "p99", "service", "in flight"
        );
    }
    let stress_json = dir.join(crate::results::files::STRESS);
    let mut on_second = |s: &Second, so_far: &StressResult| {
        // Every second on disk at once, in a file that says the episode
        // was interrupted until it ends (a write that fails here fails the
        // last one too, which reports it).
        let _ = write_json(&stress_json, so_far);
        if quiet {
            return;
        }
        let opt = |v: Option<f64>| v.map_or("-".into(), fmt_ms);
        println!(
            "  {:>4} {:<9} {:>8} {:>8} {:>8} {:>7} {:>9} {:>9} {:>9}  {:<5} {}",
            s.t,
            s.phase.label(),
            s.offered,
            s.sent,
            s.good,
            s.errors,
            opt(s.p99_ms),
            opt(s.service_p99_ms),
            s.in_flight + s.queued,
            if s.within_slo { "ok" } else { "MISS" },
            s.attribution.label()
        );
    };
    let setup = Setup {
        spec,
        slo: &plan.slo,
        sustainable: r,
        capacity_from,
        timeout: plan.timeouts.request,
    };
    let result = stress::stress(&mut probe, &setup, &mut on_second)?;
    write_json(&stress_json, &result)?;
    if !quiet {
        print!("{}", text(&result));
        println!("  results: {}", dir.display());
    }
    write_report(&dir, output);
    Ok(result)
}

/// The verdict and the phases, as the terminal shows them.
pub fn text(r: &StressResult) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "\n  {:<9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8}",
        "phase", "seconds", "offered", "goodput", "p99", "errors", "refused", "late"
    );
    for p in &r.phases {
        let _ = writeln!(
            o,
            "  {:<9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8}",
            p.name.label(),
            format!("{:.0}–{:.0}", p.start_s, p.end_s),
            fmt_count(p.offered_rps),
            fmt_count(p.goodput_rps),
            p.p99_ms.map_or("-".into(), fmt_ms),
            p.errors,
            p.refused,
            p.late
        );
    }
    let _ = writeln!(
        o,
        "\n  verdict: {} — {}",
        format!("{:?}", r.verdict).to_uppercase(),
        r.reason
    );
    let _ = writeln!(
        o,
        "  goodput while overloaded: {:.0} % of the sustainable rate; recovery: {}",
        100.0 * r.goodput_ratio,
        r.recovery_s
            .map_or("not within the bound".into(), |s| format!("{s:.0} s"))
    );
    let _ = writeln!(
        o,
        "  bad requests (errors and answers later than {}): {} ({:.2} % of the run)",
        r.good_latency_ms.map_or("the SLO".into(), fmt_ms),
        r.bad_requests,
        100.0 * r.bad_share
    );
    o
}
