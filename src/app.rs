//! One function per subcommand: read input, wire the parts, write results,
//! and say which exit code the outcome deserves.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{DemoArgs, Dist, OutputArgs, RunArgs, TargetArgs};
use crate::exit;
use crate::load::{self, StopFlag};
use crate::metrics::hlog::HlogWriter;
use crate::metrics::summary::RunFacts;
use crate::metrics::{Interval, Summary};
use crate::report::{self, timeseries};
use crate::scenario::{self, BaseUrl, LoadModel, Overrides, Plan, TargetSpec};
use crate::target::{self, ServiceTime, Stall, TargetConfig};
use crate::units::{fmt_count, fmt_ms};

/// The demo scenario, also shipped as `scenarios/demo.toml`.
pub const DEMO_SCENARIO: &str = include_str!("../scenarios/demo.toml");

/// What a finished run left behind.
pub struct RunReport {
    pub summary: Summary,
    pub dir: PathBuf,
    pub exit_code: u8,
}

/// `headroom run`.
pub fn run(args: &RunArgs, stop: &StopFlag) -> anyhow::Result<u8> {
    let overrides = Overrides {
        url: args.url.clone(),
        rate: args.rate,
        concurrency: args.concurrency,
        duration: args.duration,
        requests: args.requests,
        threads: args.threads,
        connections: args.connections,
        timeout: args.timeout,
        poisson: args.poisson,
    };
    let plan = match &args.scenario {
        Some(path) => {
            let mut plan = scenario::load(path)?;
            plan.apply(&overrides)?;
            plan
        }
        None => Plan::from_flags(&overrides)?,
    };
    let report = execute(&plan, &args.output, stop)?;
    Ok(report.exit_code)
}

/// Runs a validated plan (starting the embedded target when it names it)
/// and writes every result file.
pub fn execute(plan: &Plan, output: &OutputArgs, stop: &StopFlag) -> anyhow::Result<RunReport> {
    let (_target, base) = match &plan.target {
        TargetSpec::Url(base) => (None, base.clone()),
        TargetSpec::Embedded(cfg) => {
            let handle = target::spawn(cfg.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
                .context("starting the embedded target")?;
            let base = BaseUrl::parse(&handle.url()).map_err(anyhow::Error::msg)?;
            (Some(handle), base)
        }
    };
    let dir = output
        .out
        .clone()
        .unwrap_or_else(|| default_dir(&plan.name));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let names: Vec<String> = plan.requests.iter().map(|r| r.name.clone()).collect();
    let mut hlog = HlogWriter::create(&dir.join("latency.hlog"), SystemTime::now(), &names)
        .with_context(|| format!("creating {}", dir.join("latency.hlog").display()))?;
    let progress = progress_bar(plan, output.quiet);
    let mut rows = Vec::new();
    let mut hlog_error = None;
    let mut observe = |iv: &Interval| {
        if let Err(e) = hlog.write(iv) {
            hlog_error.get_or_insert(e);
        }
        let row = timeseries::Row::from_interval(iv);
        if let Some(pb) = &progress {
            pb.set_position(iv.index + 1);
            pb.set_message(format!(
                "{} rps  p99 {}  errors {}",
                fmt_count(row.achieved_rate),
                row.p99_ms.map_or("-".into(), fmt_ms),
                row.errors
            ));
        }
        rows.push(row);
    };
    let outcome = load::run(plan, &base, stop, &mut observe)?;
    if let Some(pb) = &progress {
        pb.finish_and_clear();
    }
    let (model, arrivals, concurrency) = match &plan.load.model {
        LoadModel::Open { arrivals, .. } => (
            "open",
            Some(match arrivals {
                scenario::Arrivals::Uniform => "uniform",
                scenario::Arrivals::Poisson => "poisson",
            }),
            None,
        ),
        LoadModel::Closed { concurrency, .. } => ("closed", None, Some(*concurrency)),
    };
    let summary = Summary::build(
        RunFacts {
            scenario: &plan.name,
            target: base.to_string(),
            started_at: outcome.started_at,
            model,
            arrivals,
            concurrency,
            threads: outcome.threads,
            duration_s: outcome.duration.as_secs_f64(),
            scheduled: outcome.scheduled,
            totals: &outcome.totals,
            names: plan
                .requests
                .iter()
                .map(|r| (r.name.clone(), r.method.to_string(), r.path.clone()))
                .collect(),
            in_flight_at_end: outcome.in_flight_at_end,
            connections_opened: outcome.connections_opened,
            interrupted: outcome.interrupted,
        },
        &plan.slo,
    );
    report::json::write_summary(&dir.join("summary.json"), &summary)?;
    timeseries::write(&dir.join(output.format.file_name()), &rows, output.format)?;
    hlog.finish().context("writing latency.hlog")?;
    if let Some(e) = hlog_error {
        return Err(e).context("writing latency.hlog");
    }
    if !output.quiet {
        print!("{}", report::text::summary(&summary));
        println!("\n  results: {}", dir.display());
    }
    let exit_code = exit_code(&summary);
    Ok(RunReport {
        summary,
        dir,
        exit_code,
    })
}

/// The exit code a summary deserves (see `exit`).
pub fn exit_code(s: &Summary) -> u8 {
    let by_kind = &s.requests.errors.by_kind;
    let connect_failures: u64 = ["connect_refused", "connect_timeout", "connect_error"]
        .iter()
        .filter_map(|k| by_kind.get(*k))
        .sum();
    if s.requests.ok == 0 && connect_failures > 0 && connect_failures == s.requests.errors.total {
        exit::UNREACHABLE
    } else if s.interrupted || s.generator_limited {
        exit::INCONCLUSIVE
    } else if s.slo_failed() {
        exit::THRESHOLD_FAILED
    } else {
        exit::OK
    }
}

fn default_dir(name: &str) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    Path::new("results").join(format!("{name}-{stamp}"))
}

fn progress_bar(plan: &Plan, quiet: bool) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let secs = plan.load.model.duration().as_secs_f64().ceil() as u64;
    let pb = ProgressBar::new(secs);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {pos:>4}/{len}s [{bar:30}] {msg}") {
        pb.set_style(style.progress_chars("=> "));
    }
    Some(pb)
}

/// `headroom target`.
pub fn serve_target(args: &TargetArgs, stop: &StopFlag) -> anyhow::Result<u8> {
    if args.workers == 0 {
        return Err(exit::BadInput("--workers must be at least 1".into()).into());
    }
    if args.mean.is_zero() {
        return Err(exit::BadInput("--mean must be longer than zero".into()).into());
    }
    let service_time = match args.service {
        Dist::Fixed => ServiceTime::Fixed { mean: args.mean },
        Dist::Exponential => ServiceTime::Exponential { mean: args.mean },
        Dist::Lognormal => ServiceTime::LogNormal {
            mean: args.mean,
            sigma: args.sigma,
        },
    };
    let stall = match (args.stall_every, args.stall_pause) {
        (Some(every), Some(pause)) if pause < every && !pause.is_zero() => {
            Some(Stall { every, pause })
        }
        (Some(_), Some(_)) => {
            return Err(
                exit::BadInput("--stall-pause must be shorter than --stall-every".into()).into(),
            )
        }
        _ => None,
    };
    let cfg = TargetConfig {
        workers: args.workers,
        service_time,
        queue_limit: args.queue_limit,
        error_share: args.error_share,
        stall,
        seed: 1,
    };
    let handle = target::spawn(cfg.clone(), args.listen)
        .with_context(|| format!("listening on {}", args.listen))?;
    println!(
        "embedded target on {}: {} workers, {} service time (mean {}) → capacity {} requests/s",
        handle.url(),
        cfg.workers,
        format!("{:?}", args.service).to_lowercase(),
        fmt_ms(args.mean.as_secs_f64() * 1000.0),
        fmt_count(cfg.capacity_rps())
    );
    let started = Instant::now();
    while !stop.is_set() && args.run_for.is_none_or(|d| started.elapsed() < d) {
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(handle);
    Ok(exit::OK)
}

/// `headroom demo`.
pub fn demo(args: &DemoArgs, stop: &StopFlag) -> anyhow::Result<u8> {
    let mut plan = scenario::parse(Path::new("scenarios/demo.toml"), DEMO_SCENARIO)?;
    if let Some(d) = args.duration {
        plan.apply(&Overrides {
            duration: Some(d),
            ..Overrides::default()
        })?;
    }
    let TargetSpec::Embedded(cfg) = &plan.target else {
        anyhow::bail!("the demo scenario must use the embedded target");
    };
    let rate = plan.load.model.duration().as_secs_f64();
    let rate = match &plan.load.model {
        LoadModel::Open { profile, .. } => profile.mean_rate(),
        LoadModel::Closed { .. } => rate,
    };
    println!(
        "headroom demo: embedded target with {} workers and a {} mean service time → capacity {} requests/s",
        cfg.workers,
        fmt_ms(cfg.service_time.mean().as_secs_f64() * 1000.0),
        fmt_count(cfg.capacity_rps())
    );
    let predicted = crate::model::queueing::MmcQueue::new(
        rate,
        cfg.service_time.mean().as_secs_f64(),
        cfg.workers,
    )
    .ok()
    .filter(|q| q.is_stable());
    println!(
        "driving it open-loop at {} requests/s for {:.0} s …\n",
        fmt_count(rate),
        plan.load.model.duration().as_secs_f64()
    );
    let output = OutputArgs {
        out: Some(args.out.clone()),
        format: timeseries::Format::Csv,
        quiet: args.quiet,
    };
    let report = execute(&plan, &output, stop)?;
    if let (Some(q), Some(l), ServiceTime::Exponential { .. }) =
        (predicted, &report.summary.latency_ms, cfg.service_time)
    {
        println!(
            "\n  M/M/{} prediction (Erlang C) at {} rps: mean latency {} — measured {}",
            cfg.workers,
            fmt_count(rate),
            fmt_ms(q.mean_response_s() * 1000.0),
            fmt_ms(l.mean)
        );
    }
    Ok(report.exit_code)
}
