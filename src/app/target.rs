//! `headroom target`: the embedded service on a port of its own.

use crate::cli::{Dist, TargetArgs};
use crate::embedded::{self, rules, ServiceTime, TargetConfig};
use crate::exit;
use crate::load::StopFlag;
use crate::units::{fmt_count, fmt_ms};
use std::time::{Duration, Instant};

/// `headroom target`.
pub fn serve_target(args: &TargetArgs, stop: &StopFlag) -> anyhow::Result<exit::Code> {
    fn flag(name: &'static str) -> impl Fn(String) -> crate::error::BadInput {
        move |m| crate::error::BadInput(format!("{name}: {m}"))
    }
    let mean = rules::mean(args.mean).map_err(flag("--mean"))?;
    let service_time = match args.service {
        Dist::Fixed => ServiceTime::Fixed { mean },
        Dist::Exponential => ServiceTime::Exponential { mean },
        Dist::Lognormal => rules::lognormal(mean, args.sigma).map_err(flag("--sigma"))?,
    };
    let stall = match (args.stall_every, args.stall_pause) {
        (Some(every), Some(pause)) => {
            Some(rules::stall(every, pause).map_err(flag("--stall-every, --stall-pause"))?)
        }
        _ => None,
    };
    let contention = rules::contention(args.contention_sigma, args.contention_kappa)
        .map_err(flag("--contention-sigma, --contention-kappa"))?;
    let cfg = TargetConfig {
        workers: rules::at_least_one(args.workers, "workers").map_err(flag("--workers"))?,
        service_time,
        queue_limit: args.queue_limit.0,
        error_share: args.error_share,
        stall,
        contention: (contention.sigma > 0.0 || contention.kappa > 0.0).then_some(contention),
        max_concurrent_streams: args
            .max_concurrent_streams
            .map(|n| rules::at_least_one(n, "max_concurrent_streams"))
            .transpose()
            .map_err(flag("--max-concurrent-streams"))?,
        dependency: args
            .dependency
            .as_deref()
            .map(|u| rules::dependency(u, args.dependency_timeout, args.retries))
            .transpose()
            .map_err(flag("--dependency"))?,
        seed: 1,
    };
    // An address in use is the flag's fault: bad input (2), like the rest.
    let handle = embedded::spawn(cfg.clone(), args.listen)
        .map_err(|e| crate::error::BadInput(format!("--listen {}: {e}", args.listen)))?;
    println!(
        "embedded target on {}: {} workers, {} service time (mean {}) → capacity {} requests/s",
        handle.url(),
        cfg.workers,
        format!("{:?}", args.service).to_lowercase(),
        fmt_ms(args.mean.as_secs_f64() * 1000.0),
        fmt_count(cfg.capacity_rps())
    );
    if let Some(d) = &cfg.dependency {
        println!(
            "  each request first calls {} (timeout {}, retries: {}): capacity is workers / (service time + its time)",
            d.url,
            fmt_ms(d.timeout.as_secs_f64() * 1000.0),
            d.retries
        );
    }
    let started = Instant::now();
    while !stop.is_set() && args.run_for.is_none_or(|d| started.elapsed() < d) {
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(handle);
    Ok(exit::Code::Ok)
}
