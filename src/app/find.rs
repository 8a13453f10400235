//! `headroom find`: the breaking point.

use super::{open_plan, probe_for, set, write_report, Output};
use crate::cli::FindArgs;
use crate::exit;
use crate::load::StopFlag;
use crate::results::write_json;
use crate::scenario::Plan;
use crate::search;
use crate::units::{fmt_count, fmt_ms};

/// `headroom find`.
pub fn find(args: &FindArgs, stop: &StopFlag) -> anyhow::Result<exit::Code> {
    let mut plan = open_plan(&args.target, args.poisson)?;
    let sp = &mut plan.search;
    set(&mut sp.start_rate, args.start_rate);
    set(&mut sp.max_rate, args.max_rate);
    set(&mut sp.growth, args.growth);
    set(&mut sp.precision, args.precision);
    set(&mut sp.step, args.step);
    set(&mut sp.warmup, args.warmup);
    set(&mut sp.confirm, args.confirm);
    set(&mut sp.max_time, args.max_time);
    sp.check()
        .map_err(|e| crate::error::BadInput(format!("search settings: {e}")))?;
    if plan.slo.is_empty() {
        return Err(crate::error::BadInput(
            "find needs an SLO: [slo] in the scenario or --slo p99=250ms (repeatable)".into(),
        )
        .into());
    }
    let result = run_find(&plan, &Output::from(&args.output), stop)?;
    Ok(crate::exit::of_search(result.outcome))
}

/// Runs the search for a validated plan and writes `find.json` and the step logs.
pub fn run_find(
    plan: &Plan,
    output: &Output,
    stop: &StopFlag,
) -> anyhow::Result<crate::results::find::FindResult> {
    let (_target, base, dir, mut probe) =
        probe_for(plan, output, stop, "find", crate::results::files::STEPS)?;
    let quiet = output.quiet;
    if !quiet {
        println!("searching for the breaking point of {base} …");
        println!(
            "  {:>3} {:<13} {:>10} {:>10} {:>9} {:>9} {:>8}  verdict",
            "#", "phase", "target/s", "sent/s", "p50", "p99", "errors"
        );
    }
    let find_json = dir.join(crate::results::files::FIND);
    let mut on_step = |s: &crate::results::find::Step,
                       so_far: &crate::results::find::FindResult| {
        // Every judged step on disk at once, in a file that says the search
        // was interrupted until it ends (a write that fails here fails the
        // last one too, which reports it).
        let _ = write_json(&find_json, so_far);
        if quiet {
            return;
        }
        let q = |k: &str| s.quantiles_ms.get(k).map_or("-".into(), |v| fmt_ms(*v));
        println!(
            "  {:>3} {:<13} {:>10.1} {:>10.1} {:>9} {:>9} {:>7.2}%  {:?}: {}",
            s.index,
            format!("{:?}", s.phase).to_lowercase(),
            s.target_rate,
            s.achieved_rate,
            q("p50"),
            q("p99"),
            s.error_share.unwrap_or(0.0) * 100.0,
            s.verdict,
            s.reason
        );
    };
    let result = search::find(&mut probe, &plan.search, &plan.slo, &mut on_step)?;
    write_json(&find_json, &result)?;
    if !quiet {
        let label = result.outcome.label();
        if result.reason == label {
            println!("\n  outcome: {label}");
        } else {
            println!("\n  outcome: {label} — {}", result.reason);
        }
        if let Some(r) = result.sustainable_rps {
            println!("  sustainable: {} requests/s", fmt_count(r));
        }
        if let Some(r) = result.breaking_rps {
            println!("  breaking:    {} requests/s", fmt_count(r));
        }
        if let Some(k) = result.knee_rps {
            println!("  knee of the latency curve: {} requests/s", fmt_count(k));
        }
        println!(
            "  {} steps, {:.0} s of load; results: {}",
            result.steps.len(),
            result.load_time_s,
            dir.display()
        );
    }
    write_report(&dir, output);
    Ok(result)
}
