//! `headroom demo`: every job once, against the embedded service.

use super::find::run_find;
use super::run::execute;
use super::sweep::run_sweep;
use super::{model, stress, Output};
use crate::cli::DemoArgs;
use crate::embedded::TargetConfig;
use crate::exit;
use crate::load::StopFlag;
use crate::report;
use crate::scenario::{self, LoadModel, Overrides, TargetSpec};
use crate::units::{fmt_count, fmt_ms};
use anyhow::Context;
use std::path::Path;
use std::time::Duration;

/// The demo scenario, also shipped as `scenarios/demo.toml`.
pub const DEMO_SCENARIO: &str = include_str!("../../scenarios/demo.toml");

/// The demo's plan inputs, also shipped in `models/`.
pub(super) const DEMO_PLAN: &str = include_str!("../../models/plan.toml");

pub(super) const DEMO_CATALOG: &str = include_str!("../../models/catalog.toml");

pub(super) const DEMO_DEMAND: &str = include_str!("../../models/demand-hourly.csv");

/// The line of `models/plan.toml` the demo replaces with its own
/// `find.json`.
pub(super) const DEMO_PLAN_QUEUE: &str =
    r#"queue = { workers = 8, service_time = "10ms", quantile = 0.99, within = "100ms" }"#;

/// The sweep part of the demo, also shipped as `scenarios/sweep-demo.toml`.
pub const SWEEP_DEMO_SCENARIO: &str = include_str!("../../scenarios/sweep-demo.toml");

/// `headroom demo`: a run, a breaking-point search, an overload with its
/// recovery (on a service that sheds load and one that queues without
/// bound) and a concurrency sweep against embedded targets whose answers
/// are known in closed form, each printed beside what headroom measured;
/// then a capacity plan.
pub fn demo(args: &DemoArgs, stop: &StopFlag) -> anyhow::Result<exit::Code> {
    let mut plan = scenario::parse(Path::new("scenarios/demo.toml"), DEMO_SCENARIO)?;
    if let Some(d) = args.duration {
        plan.apply(&Overrides {
            duration: Some(d),
            ..Overrides::default()
        })?;
    }
    let TargetSpec::Embedded(cfg) = plan.target.clone() else {
        anyhow::bail!("the demo scenario must use the embedded target");
    };
    let LoadModel::Open { profile, .. } = &plan.load.model else {
        anyhow::bail!("the demo scenario must be open-loop");
    };
    let rate = profile.mean_rate();
    let mean_s = cfg.service_time.mean().as_secs_f64();
    println!(
        "headroom demo: embedded target with {} workers and a {} mean exponential service time → capacity {} requests/s",
        cfg.workers,
        fmt_ms(mean_s * 1000.0),
        fmt_count(cfg.capacity_rps())
    );
    println!(
        "1. open-loop run at {} requests/s for {:.0} s\n",
        fmt_count(rate),
        plan.load.model.duration().as_secs_f64()
    );
    let report = execute(&plan, &out(args, "run"), stop, false)?;
    if let (Ok(q), Some(l)) = (
        crate::model::queueing::MmcQueue::new(rate, mean_s, cfg.workers),
        &report.summary.latency_ms,
    ) {
        println!(
            "\n  M/M/{} prediction (Erlang C) at {} rps: mean latency {} — measured {}",
            cfg.workers,
            fmt_count(rate),
            fmt_ms(q.mean_response_s() * 1000.0),
            fmt_ms(l.mean)
        );
    }
    if stop.is_set() {
        return Ok(report.exit_code);
    }

    println!("\n2. breaking-point search\n");
    let found = run_find(&plan, &out(args, "find"), stop)?;
    let truth = plan
        .slo
        .latency
        .iter()
        .filter_map(|l| {
            crate::model::queueing::max_rate_for_response_quantile(
                cfg.workers,
                mean_s,
                l.quantile,
                l.max.as_secs_f64(),
            )
        })
        .fold(f64::INFINITY, f64::min);
    if let (Some(found), true) = (found.sustainable_rps, truth.is_finite()) {
        println!(
            "\n  found {} requests/s sustainable; M/M/{} analytic answer for {}: {} requests/s ({:+.1} %)",
            fmt_count(found),
            cfg.workers,
            plan.slo.latency.iter().map(|l| format!("{} ≤ {}", l.label, fmt_ms(l.max.as_secs_f64() * 1000.0))).collect::<Vec<_>>().join(", "),
            fmt_count(truth),
            100.0 * (found / truth - 1.0)
        );
    }
    if stop.is_set() {
        return Ok(crate::exit::of_search(found.outcome));
    }

    // Past the breaking point: the same service, once shedding what it
    // cannot queue and once queueing without bound.
    let r = found.sustainable_rps.unwrap_or(if truth.is_finite() {
        truth
    } else {
        0.8 * cfg.capacity_rps()
    });
    println!(
        "\n3. past the breaking point: {} requests/s (2 × sustainable) for 5 s on two versions of the same service\n",
        fmt_count(2.0 * r)
    );
    if let Some(code) = overload(args, &plan, &cfg, r, stop)? {
        return Ok(code);
    }

    println!("\n4. concurrency sweep and USL fit\n");
    let sweep_plan = scenario::parse(Path::new("scenarios/sweep-demo.toml"), SWEEP_DEMO_SCENARIO)?;
    let swept = run_sweep(&sweep_plan, &out(args, "sweep"), stop)?;
    if let (
        TargetSpec::Embedded(TargetConfig {
            contention: Some(c),
            ..
        }),
        Some(u),
    ) = (&sweep_plan.target, &swept.usl)
    {
        println!(
            "\n  the target was built with σ = {}, κ = {}; the fit found σ = {:.4}, κ = {:.5}",
            c.sigma, c.kappa, u.sigma, u.kappa
        );
    }
    if stop.is_set() {
        return Ok(exit::Code::Inconclusive);
    }

    capacity_plan(args, found.sustainable_rps.is_some())?;
    let page = report::page::render(&args.out)?;
    println!("\nall results under {}", args.out.display());
    println!("report: {}", page.display());
    Ok(report.exit_code.and(crate::exit::of_search(found.outcome)))
}

/// Where the demo's part `sub` writes: quietly, replacing its own last
/// results (a fixed place); one page for the whole demo comes at the end.
fn out(args: &DemoArgs, sub: &str) -> Output {
    Output {
        quiet: args.quiet,
        force: true,
        ..Output::quiet_to(&args.out.join(sub))
    }
}

/// Past the breaking point: the same service at 2 × `r`, once shedding
/// what it cannot queue and once queueing without bound. `Some` when
/// stopped.
fn overload(
    args: &DemoArgs,
    plan: &scenario::Plan,
    cfg: &TargetConfig,
    r: f64,
    stop: &StopFlag,
) -> anyhow::Result<Option<exit::Code>> {
    let mut stress_plan = plan.clone();
    stress_plan.stress = scenario::StressSpec {
        capacity: scenario::Capacity::Given(r),
        overload: 2.0,
        hold: Duration::from_secs(5),
        baseline: 0.5,
        settle: Duration::from_secs(5),
        recovery: Duration::from_secs(30),
        recovered: 3,
    };
    let mut verdicts = Vec::new();
    for (sub, queue, what) in [
        (
            "stress-graceful",
            Some(16),
            "sheds load: 16 requests may wait, the rest get 503 at once",
        ),
        ("stress-collapse", None, "queues without bound"),
    ] {
        let mut p = stress_plan.clone();
        p.target = TargetSpec::Embedded(TargetConfig {
            queue_limit: queue,
            ..cfg.clone()
        });
        println!("  a service that {what}:");
        let s = stress::run_stress(&p, &out(args, sub), stop, r, "find".into())?;
        verdicts.push((what, s));
        if stop.is_set() {
            return Ok(Some(exit::Code::Inconclusive));
        }
        println!();
    }
    for (what, s) in &verdicts {
        println!(
            "  {what}: {:?}, goodput {:.0} % of sustainable while overloaded, SLO back {}",
            s.verdict,
            100.0 * s.goodput_ratio,
            s.recovery_s
                .map_or("— not within the bound".into(), |v| format!(
                    "{v:.0} s after"
                ))
        );
    }
    Ok(None)
}

/// A plan of 12 months of demand on the capacity just measured (on the
/// search's `find.json` when it found a rate).
fn capacity_plan(args: &DemoArgs, found_rate: bool) -> anyhow::Result<()> {
    println!("\n5. capacity plan: 12 months of demand on the capacity just measured\n");
    let plan_dir = args.out.join("plan");
    let input = plan_dir.join("input");
    std::fs::create_dir_all(&input).with_context(|| format!("creating {}", input.display()))?;
    let mut plan_toml = DEMO_PLAN.to_string();
    if found_rate {
        let find_json =
            std::path::absolute(args.out.join("find").join(crate::results::files::FIND))?;
        plan_toml = plan_toml.replace(
            DEMO_PLAN_QUEUE,
            &format!("find = {:?}", find_json.display().to_string()),
        );
    }
    for (name, text) in [
        ("plan.toml", plan_toml.as_str()),
        ("catalog.toml", DEMO_CATALOG),
        ("demand-hourly.csv", DEMO_DEMAND),
    ] {
        std::fs::write(input.join(name), text)
            .with_context(|| format!("writing {}", input.join(name).display()))?;
    }
    model::plan_from(&input.join("plan.toml"), Some(plan_dir), false, true, true)?;
    Ok(())
}
