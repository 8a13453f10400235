//! Breaking points against the embedded target, whose answers are known in
//! closed form. Real load: serial (a lock, and the nextest `load` group).
//! The latency-SLO search and the USL sweep are checked by the demo test in
//! tests/engine.rs, which runs them end to end.

mod common;
use common::{plan_from, quiet, serial};

use std::net::SocketAddr;
use std::time::Duration;

use headroom::embedded::{self, ServiceTime, TargetConfig};
use headroom::load::StopFlag;
use headroom::model::queueing::erlang_b;
use headroom::results::find::Outcome;
use headroom::scenario::{Overrides, Plan, SearchSpec};

fn plan(url: &str, slo: &[(&str, &str)], poisson: bool, connections: Option<usize>) -> Plan {
    let o = Overrides {
        url: Some(url.into()),
        poisson,
        connections,
        ..Overrides::default()
    };
    let mut p = plan_from(o, slo);
    p.search = SearchSpec {
        start_rate: 100.0,
        step: Duration::from_secs(4),
        warmup: Duration::from_secs(1),
        confirm: Duration::from_secs(8),
        max_time: Duration::from_secs(120),
        ..SearchSpec::default()
    };
    p
}

/// Highest arrival rate with Erlang B blocking ≤ `share` (c servers, mean service s).
fn erlang_b_rate(servers: u32, service_s: f64, share: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, servers as f64 * 4.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if erlang_b(servers, mid) > share {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    lo / service_s
}

#[test]
fn find_meets_erlang_b_on_an_error_share_slo() {
    let _g = serial();
    // 16 workers × 10 ms and no queue: an M/G/16/16 loss system. With
    // Poisson arrivals the refused share is Erlang B (insensitive to the
    // service-time distribution): B(16, A) ≤ 1 % up to A = 8.875 Erlang,
    // i.e. 887.5 requests/s. Tolerance ±5 %: the bisection stops within 3 %,
    // and a 4 s step near 890 rps refuses ~36 requests, whose Poisson noise
    // (±17 %) moves the crossing by ±17 % / (d ln B / d ln λ ≈ 7.2) ≈ ±2.4 %.
    let t = embedded::spawn(
        TargetConfig {
            workers: 16,
            service_time: ServiceTime::Fixed {
                mean: Duration::from_millis(10),
            },
            queue_limit: Some(0),
            ..TargetConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .unwrap();
    let truth = erlang_b_rate(16, 0.010, 0.01);
    assert!((truth - 887.5).abs() < 0.5, "{truth}");
    let dir = tempfile::tempdir().unwrap();
    let p = plan(&t.url(), &[("errors", "1%")], true, None);
    let r = headroom::app::run_find(&p, &quiet(dir.path()), &StopFlag::default()).unwrap();
    for s in &r.steps {
        println!(
            "{:>7.1} rps: {:?} errors {:.3} % {} {:?}",
            s.target_rate,
            s.verdict,
            s.error_share.unwrap_or(0.0) * 100.0,
            s.reason,
            s.stop_reason
        );
    }
    let found = r.sustainable_rps.unwrap_or(f64::NAN);
    // Erlang B depends on the service distribution only through its mean
    // (insensitivity), so the oracle is the formula at the mean holding
    // time the target measured: on a busy machine late wake-ups stretch the
    // nominal 10 ms, and the system under test really is that slower one.
    let served = t.stats.served.load(std::sync::atomic::Ordering::Relaxed) as f64;
    let held_s = t
        .stats
        .held_micros
        .load(std::sync::atomic::Ordering::Relaxed) as f64
        / 1e6
        / served;
    let measured = erlang_b_rate(16, held_s, 0.01);
    println!(
        "error-share SLO: found {found:.1} rps (breaking {:?}), Erlang B {truth:.1} at 10 ms, {measured:.1} at the measured mean hold {:.3} ms; {} steps, {:.0} s",
        r.breaking_rps,
        held_s * 1e3,
        r.steps.len(),
        r.load_time_s
    );
    assert_eq!(r.outcome, Outcome::Found, "{}", r.reason);
    // Above: the bisection's 3 % precision plus the error share's sampling
    // noise (≈ 35 errors per step near 1 %). Below, also CPU contention: a
    // descheduled generator or target makes arrivals and releases burstier
    // than Poisson, which only adds blocking. With both cores saturated by
    // two busy loops the search found 787.5 rps (−10 % of 873 at the measured
    // hold); the same value failed one CI run at ±5 %.
    let ratio = found / measured;
    assert!(
        (0.85..=1.05).contains(&ratio),
        "found {found}, analytic {measured} at the measured hold {held_s} s ({truth} at 10 ms)"
    );
    assert!(
        r.load_time_s <= 90.0,
        "search took {} s of load",
        r.load_time_s
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("find.json")).unwrap())
            .unwrap();
    assert_eq!(json["outcome"], "found");
    assert_eq!(json["steps"].as_array().unwrap().len(), r.steps.len());
    assert!(
        dir.path().join("steps").read_dir().unwrap().count() == r.steps.len(),
        "one interval log per step"
    );
}

#[test]
fn a_starved_generator_is_never_a_breaking_point() {
    let _g = serial();
    // 32 workers × 20 ms = 1 600 rps of capacity, but only 2 connections:
    // at most 2 / 20 ms = 100 requests/s can be in flight. The search must
    // say the generator could not drive the load — not that the target broke.
    let t = embedded::spawn(
        TargetConfig {
            workers: 32,
            service_time: ServiceTime::Fixed {
                mean: Duration::from_millis(20),
            },
            ..TargetConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut p = plan(
        &t.url(),
        &[("p99", "200ms"), ("errors", "1%")],
        false,
        Some(2),
    );
    p.search.start_rate = 25.0;
    p.timeouts.request = Duration::from_secs(1);
    let r = headroom::app::run_find(&p, &quiet(dir.path()), &StopFlag::default()).unwrap();
    for s in &r.steps {
        println!(
            "{:>7.1} rps: {:?} {} {:?}",
            s.target_rate, s.verdict, s.reason, s.stop_reason
        );
    }
    assert_eq!(r.outcome, Outcome::GeneratorLimited, "{}", r.reason);
    assert_eq!(r.sustainable_rps, None);
    assert_eq!(r.breaking_rps, None);
    assert_eq!(
        headroom::exit::of_search(r.outcome),
        headroom::exit::Code::Inconclusive
    );
}
