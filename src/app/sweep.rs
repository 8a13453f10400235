//! `headroom sweep`: throughput by concurrency, and the USL fit.

use super::{plan_for, probe_for, set, write_report, Output};
use crate::cli::SweepArgs;
use crate::exit;
use crate::load::StopFlag;
use crate::results::write_json;
use crate::scenario::{Overrides, Plan};
use crate::search;
use crate::units::{fmt_count, fmt_ms};

/// `headroom sweep`.
pub fn sweep(args: &SweepArgs, stop: &StopFlag) -> anyhow::Result<exit::Code> {
    let concurrency = args.target.scenario.is_none().then_some(1);
    let mut plan = plan_for(
        &args.target,
        Overrides {
            concurrency,
            ..Overrides::default()
        },
    )?;
    if !args.levels.is_empty() {
        plan.sweep.levels = args.levels.clone();
    }
    set(&mut plan.sweep.max_concurrency, args.max_concurrency);
    set(&mut plan.sweep.step, args.step);
    set(&mut plan.sweep.warmup, args.warmup);
    plan.sweep
        .check()
        .map_err(|m| crate::error::BadInput(format!("sweep settings: {m}")))?;
    let result = run_sweep(&plan, &Output::from(&args.output), stop)?;
    Ok(exit::of_sweep(&result))
}

/// Runs the sweep for a validated plan and writes `sweep.json`.
pub fn run_sweep(
    plan: &Plan,
    output: &Output,
    stop: &StopFlag,
) -> anyhow::Result<crate::results::sweep::SweepResult> {
    let (_target, base, dir, mut probe) =
        probe_for(plan, output, stop, "sweep", crate::results::files::LEVELS)?;
    let quiet = output.quiet;
    if !quiet {
        println!("concurrency sweep of {base} …");
        println!(
            "  {:>6} {:>12} {:>9} {:>9}  verdict",
            "users", "throughput", "p50", "p99"
        );
    }
    let mut on_point = |p: &crate::results::sweep::Point| {
        if !quiet {
            let q = |k: &str| p.latency_ms.get(k).map_or("-".into(), |v| fmt_ms(*v));
            println!(
                "  {:>6} {:>10.1}/s {:>9} {:>9}  {:?}",
                p.concurrency,
                p.throughput,
                q("p50"),
                q("p99"),
                p.verdict
            );
        }
    };
    let result = search::sweep(
        &mut probe,
        &plan.sweep,
        &plan.slo,
        plan.search.breach_seconds,
        &mut on_point,
    )?;
    write_json(&dir.join(crate::results::files::SWEEP), &result)?;
    if !quiet {
        println!("\n  {}", result.stop_reason);
        match (&result.usl, &result.usl_error) {
            (Some(u), _) => {
                println!(
                    "  USL fit: σ = {:.4}, κ = {:.6}, λ = {:.2}/s per user (R² {:.4})",
                    u.sigma, u.kappa, u.lambda, u.r_squared
                );
                if let (Some(n), Some(x)) = (u.peak_concurrency, u.peak_throughput) {
                    println!("  peak: {:.1} users → {}/s", n, fmt_count(x));
                }
                for w in &u.warnings {
                    println!("  note: {w}");
                }
            }
            (None, Some(e)) => println!("  no USL fit: {e}"),
            _ => {}
        }
        println!("  results: {}", dir.display());
    }
    write_report(&dir, output);
    Ok(result)
}
