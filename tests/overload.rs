//! Past the breaking point, against services whose answers are known:
//! the embedded target with a queue without bound (and with a short one
//! that sheds load), and Python servers that misbehave on purpose
//! (`tests/servers/misbehave.py`: a thread pool behind an unbounded queue,
//! a 403 on everything). Load tests: one at a time (a lock, and the
//! nextest `load` group). The Python tests skip loudly without python3
//! (`.ci/run` sets HEADROOM_REQUIRE_PYTHON=1).

mod common;
use common::{headroom, plan_from, python, quiet, serial, text};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::time::Duration;

use headroom::app::stress::run_stress;
use headroom::embedded::{self, ServiceTime, TargetConfig, TargetHandle};
use headroom::load::StopFlag;
use headroom::results::find::Outcome;
use headroom::results::stress::{PhaseName, StressResult, StressVerdict};
use headroom::results::verdict::Attribution;
use headroom::results::verdict::Verdict;
use headroom::scenario::{Overrides, Plan, SearchSpec, StressSpec};

fn plan(url: &str, slo: &[(&str, &str)]) -> Plan {
    let url = Some(url.to_string());
    plan_from(
        Overrides {
            url,
            ..Overrides::default()
        },
        slo,
    )
}

fn embedded(workers: u32, service_ms: u64, queue_limit: Option<u64>) -> TargetHandle {
    embedded::spawn(
        TargetConfig {
            workers,
            service_time: ServiceTime::Fixed {
                mean: Duration::from_millis(service_ms),
            },
            queue_limit,
            ..TargetConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .unwrap()
}

/// Requests/s the target really delivered: workers over its measured mean
/// hold (a busy machine wakes sleeping workers late, and the service the
/// generator met is that slower one).
fn measured_capacity(t: &TargetHandle) -> f64 {
    let served = t.stats.served.load(Ordering::Relaxed) as f64;
    let held_s = t.stats.held_micros.load(Ordering::Relaxed) as f64 / 1e6 / served;
    t.config.workers as f64 / held_s
}

#[test]
fn find_on_a_queue_without_bound_finds_its_capacity() {
    let _g = serial();
    // 6 workers × 10 ms, nothing refused: a D/D/6 queue of capacity
    // μ = 600 requests/s. Below μ nothing queues (p99 ≈ 10 ms); above it
    // the backlog grows by (λ − μ) a second, so a step of T seconds at
    // μ(1 + ε) ends with a wait of ε·T. With p99 ≤ 250 ms a step of 5 s
    // fails from ε ≈ 5 %, the 11 s confirmation from ε ≈ 2.2 %: the found
    // rate lies in [μ (1 − 3 %), μ (1 + 2.2 %)] (the bisection's precision
    // below). Asserted: within ±5 % of μ at the target's measured hold.
    // Above μ every step must fail as the target's (its answers wait for
    // workers: target_saturated, or on time with a generator that kept
    // up) — never generator_limited, which is what this used to end as.
    let t = embedded(6, 10, None);
    let dir = tempfile::tempdir().unwrap();
    let mut p = plan(&t.url(), &[("p99", "250ms"), ("errors", "1%")]);
    p.search = SearchSpec {
        start_rate: 100.0,
        step: Duration::from_secs(4),
        warmup: Duration::from_secs(1),
        confirm: Duration::from_secs(10),
        max_time: Duration::from_secs(150),
        ..SearchSpec::default()
    };
    let r = headroom::app::run_find(&p, &quiet(dir.path()), &StopFlag::default()).unwrap();
    for s in &r.steps {
        println!(
            "{:>7.1} rps: {:?} ({:?}) sent {:.1} service {:?} — {}",
            s.target_rate,
            s.verdict,
            s.attribution,
            s.achieved_rate,
            s.service_ms.get("p99"),
            s.reason
        );
    }
    let mu = measured_capacity(&t);
    println!(
        "found {:?} ({:?}), μ at the measured hold {mu:.1}",
        r.sustainable_rps, r.outcome
    );
    assert_eq!(r.outcome, Outcome::Found, "{}", r.reason);
    assert!(r
        .steps
        .iter()
        .all(|s| s.verdict != Verdict::GeneratorLimited && !s.attribution.is_generator()));
    let found = r.sustainable_rps.unwrap();
    assert!(
        (found / mu - 1.0).abs() <= 0.05,
        "found {found}, capacity {mu}"
    );
    // A step well above μ shows the evidence: arrivals waited for
    // connections the target held, and its answers took seconds.
    let over = r
        .steps
        .iter()
        .find(|s| s.target_rate >= 1.3 * mu)
        .expect("a step well above capacity");
    assert_eq!(over.verdict, Verdict::Fail);
    assert!(over.service_ms["p99"] > 250.0, "{:?}", over.service_ms);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("find.json")).unwrap())
            .unwrap();
    let step = &json["steps"][0];
    for key in [
        "attribution",
        "no_free_connection",
        "dropped",
        "in_flight_end",
        "send_lag_p99_ms",
        "service_ms",
    ] {
        assert!(!step[key].is_null(), "find.json steps lack {key}: {step}");
    }
}

/// R = 200 rps: 100 rps for 5 s, 400 rps for 4 s, then 100 rps until the
/// SLO holds 3 s in a row (at most 30 s).
fn stress_spec() -> StressSpec {
    StressSpec {
        capacity: headroom::scenario::Capacity::Given(200.0),
        hold: Duration::from_secs(4),
        settle: Duration::from_secs(5),
        recovery: Duration::from_secs(30),
        recovered: 3,
        ..StressSpec::default()
    }
}

fn stress(t: &TargetHandle, dir: &std::path::Path) -> StressResult {
    let mut p = plan(&t.url(), &[("p99", "100ms"), ("errors", "1%")]);
    p.stress = stress_spec();
    let r = run_stress(&p, &quiet(dir), &StopFlag::default(), 200.0, "given".into()).unwrap();
    for s in &r.seconds {
        println!(
            "{:>3} {:?} offered {} good {} errors {} p99 {:?} in flight {} {} {:?}",
            s.t,
            s.phase,
            s.offered,
            s.good,
            s.errors,
            s.p99_ms,
            s.in_flight,
            s.within_slo,
            s.attribution
        );
    }
    println!("{:?}: {}", r.verdict, r.reason);
    r
}

#[test]
fn a_service_that_sheds_load_degrades_gracefully() {
    let _g = serial();
    // 4 workers × 20 ms (μ ≈ 200/s) and 4 places in the queue: at 400/s
    // the service still answers μ a second, each within 20 ms of queueing
    // + 20 ms of service (< 100 ms), and refuses the rest with 503 at
    // once. The queue of 4 drains in 4 / (μ − 100) = 40 ms, so only the
    // first recovery second can see a refusal.
    let t = embedded(4, 20, Some(4));
    let dir = tempfile::tempdir().unwrap();
    let r = stress(&t, dir.path());
    let mu = measured_capacity(&t);
    assert_eq!(r.verdict, StressVerdict::Graceful, "{}", r.reason);
    let overload = r
        .phases
        .iter()
        .find(|p| p.name == PhaseName::Overload)
        .unwrap();
    // Goodput is the service's capacity; per second it is a count of
    // μ ≈ 200 answers whose second boundaries fall ±1 answer: ±5 %.
    assert!(
        (overload.goodput_rps / mu - 1.0).abs() <= 0.05,
        "goodput {} at capacity {mu}",
        overload.goodput_rps
    );
    assert!(r.shed_share >= 0.99, "{}", r.shed_share);
    assert!(r.recovery_s.is_some_and(|s| s <= 1.0), "{:?}", r.recovery_s);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("stress.json")).unwrap())
            .unwrap();
    assert_eq!(json["schema"], "headroom.stress/1");
    for key in [
        "sustainable_rps",
        "overload_rps",
        "goodput_ratio",
        "verdict",
        "recovery_s",
        "bad_requests",
    ] {
        assert!(!json[key].is_null(), "stress.json lacks {key}");
    }
    for key in [
        "name",
        "start_s",
        "end_s",
        "offered_rps",
        "goodput_rps",
        "p99_ms",
        "errors",
    ] {
        assert!(!json["phases"][1][key].is_null(), "phases lack {key}");
    }
    assert!(dir.path().join("latency.hlog").metadata().unwrap().len() > 0);
}

#[test]
fn a_queue_without_bound_collapses_and_drains_in_the_analytic_time() {
    let _g = serial();
    // The same service without a queue limit. The overload admits
    // B = (λ₁ − μ) H requests beyond capacity (≈ 800 < the 1024
    // connections, so all of it waits at the target); at λ₀ = 100/s it
    // drains at μ − λ₀. FIFO, so a request arriving t after the overload
    // waits Q(t)/μ with Q(t) = B − (μ − λ₀) t: the last answer slower than
    // L = 100 ms arrives at t* = (B − μ (L − S)) / (μ − λ₀) and completes
    // at t* + L. Recovery is the first whole second after that:
    // ⌈t* + L⌉, ±1 s as t* + L may fall either side of a second's edge.
    // Goodput while overloaded: only the first μ (L − S) / (λ₁ − μ) = 0.08 s
    // of arrivals are on time: ≈ 32 of 1600 → 4 % of R.
    let t = embedded(4, 20, None);
    let dir = tempfile::tempdir().unwrap();
    let r = stress(&t, dir.path());
    let mu = measured_capacity(&t);
    let (l1, l0, h, l, s) = (400.0, 100.0, 4.0, 0.100, 4.0 / mu);
    let backlog = (l1 - mu) * h;
    let t_star = (backlog - mu * (l - s)) / (mu - l0);
    let expect = (t_star + l).ceil();
    println!("μ {mu:.1}, backlog {backlog:.0}, t* {t_star:.2} s → recovery {expect} s");
    assert_eq!(r.verdict, StressVerdict::Collapse, "{}", r.reason);
    assert!(r.goodput_ratio < 0.1, "{}", r.goodput_ratio);
    let rec = r.recovery_s.expect("recovered within the bound");
    assert!(
        (rec - expect).abs() <= 1.0,
        "recovery {rec} s, analytic {expect} s"
    );
    assert!(
        r.bad_requests as f64 >= 0.95 * l1 * h,
        "bad requests {}",
        r.bad_requests
    );
    // The generator kept up: the collapse is the target's, not a limit.
    assert!(r.seconds.iter().all(|s| !s.attribution.is_generator()));
}

/// The pool server's own count: (served, seconds workers were held).
fn pool_stats(port: u16) -> (f64, f64) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    let last = body.lines().last().unwrap().to_string();
    let mut it = last.split_whitespace().map(|v| v.parse::<f64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

#[test]
fn find_on_a_python_thread_pool_is_the_targets_verdict() {
    let _g = serial();
    // A server we did not write: Python's ThreadingHTTPServer, a thread
    // per connection, 4 of them served at once for 20 ms, the rest waiting
    // without bound. Past its capacity every step must fail in terms of
    // the target; the found rate is its capacity at its own measured hold
    // within the same ±5 % as the embedded target's (derivation there).
    let Some(py) = python(&["pool", "4", "0.020"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut p = plan(
        &format!("http://127.0.0.1:{}", py.port),
        &[("p99", "250ms"), ("errors", "1%")],
    );
    p.search = SearchSpec {
        start_rate: 150.0,
        step: Duration::from_secs(4),
        warmup: Duration::from_secs(1),
        confirm: Duration::from_secs(10),
        max_time: Duration::from_secs(120),
        ..SearchSpec::default()
    };
    let r = headroom::app::run_find(&p, &quiet(dir.path()), &StopFlag::default()).unwrap();
    for s in &r.steps {
        println!(
            "{:>7.1} rps: {:?} ({:?}) service p99 {:?} — {}",
            s.target_rate,
            s.verdict,
            s.attribution,
            s.service_ms.get("p99"),
            s.reason
        );
    }
    let (served, held) = pool_stats(py.port);
    let mu = 4.0 / (held / served);
    println!(
        "found {:?}, μ at the measured hold {mu:.1}",
        r.sustainable_rps
    );
    assert_eq!(r.outcome, Outcome::Found, "{}", r.reason);
    // The target decided every step: none is left to the generator. (A
    // step may still note a send-lag spike on a busy machine — one did,
    // at 201.6 rps beside an hour-long soak — and fail on the service
    // time it measured, as the issue asks.)
    for s in &r.steps {
        assert_ne!(s.verdict, Verdict::GeneratorLimited, "{}", s.reason);
        if s.attribution.is_generator() {
            assert!(
                s.verdict == Verdict::Fail && s.reason.starts_with("service time"),
                "{}",
                s.reason
            );
        }
    }
    let ratio = r.sustainable_rps.unwrap() / mu;
    assert!((0.95..=1.05).contains(&ratio), "found {ratio} × capacity");
}

#[test]
fn a_target_that_forbids_everything_is_no_capacity_limit() {
    let _g = serial();
    // 403 on every request: find must stop at its first step (a warm-up
    // second and two seconds of 403s), name the status and the path, and
    // exit 4 — not descend to a fraction of a request per second.
    let Some(py) = python(&["forbidden"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}/private", py.port);
    let started = std::time::Instant::now();
    let o = headroom(&[
        "find",
        "--url",
        &url,
        "--slo",
        "p99=100ms",
        "--slo",
        "errors=1%",
        "--out",
        dir.path().to_str().unwrap(),
        "--no-report",
    ]);
    let out = text(&o);
    println!("{out}");
    assert_eq!(o.status.code(), Some(4), "{out}");
    assert!(
        out.contains("every request to /private answered 403 Forbidden at 50 requests/s: not a capacity limit"),
        "{out}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("find.json")).unwrap())
            .unwrap();
    assert_eq!(json["outcome"], "target_unusable");
    assert_eq!(json["steps"].as_array().unwrap().len(), 1);
    let load = json["load_time_s"].as_f64().unwrap();
    assert!(load <= 10.0, "{load} s of load");
    assert!(started.elapsed() < Duration::from_secs(30));
    // `run` says the same in its summary, with the same exit code.
    let o = headroom(&[
        "run",
        "--url",
        &url,
        "--rate",
        "20",
        "--duration",
        "1s",
        "--out",
        dir.path().join("run").to_str().unwrap(),
        "--no-report",
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let s: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("run/summary.json")).unwrap(),
    )
    .unwrap();
    assert!(
        s["target_unusable"]
            .as_str()
            .unwrap()
            .starts_with("every request to /private answered 403 Forbidden"),
        "{s}"
    );
    assert_eq!(s["attribution"], Attribution::None.label());
}

#[test]
fn errors_at_every_rate_end_the_descent_as_no_capacity_limit() {
    let _g = serial();
    // 500 on 30 % of requests (at random) whatever the load: find once
    // descended to 0.2 requests/s and called that the breaking point. At a
    // quarter of the first failed rate the errors are still there: exit 4
    // after three steps.
    let Some(_py) = python(&["failing", "30"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}/", _py.port);
    let o = headroom(&[
        "find",
        "--url",
        &url,
        "--slo",
        "p99=100ms",
        "--slo",
        "errors=1%",
        "--out",
        dir.path().to_str().unwrap(),
        "--no-report",
    ]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(4), "{out}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("find.json")).unwrap())
            .unwrap();
    assert_eq!(json["outcome"], "target_unusable");
    assert!(
        json["reason"]
            .as_str()
            .unwrap()
            .starts_with("errors do not fall with the load"),
        "{json}"
    );
    // 50, 25, 12.5: 30 % of 37 requests at 12.5/s is 11 ± 2.8; the rule
    // needs at least half of the first step's share (≈ 15 %, ≈ 5.6), which
    // a binomial draw misses about one time in 40 — then 6.25/s (18
    // requests) checks again, and again lower down.
    let steps = json["steps"].as_array().unwrap().len();
    assert!((3..=5).contains(&steps), "{steps} steps: {out}");
}

#[test]
fn a_full_listen_backlog_is_the_targets_doing() {
    let _g = serial();
    // Was "GENERATOR LIMITED ... short of CPU": arrivals waited on
    // connections that never opened.
    let Some(py) = python(&["deaf"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}/", py.port);
    let o = headroom(&[
        "run",
        "--url",
        &url,
        "--rate",
        "50",
        "--duration",
        "2s",
        "--timeout",
        "1s",
        "--quiet",
        "--no-report",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(s["attribution"], "target_saturated", "{s}");
    assert_eq!(s["generator_limited"], false, "{s}");
    assert!(
        s["generator_notes"]
            .to_string()
            .contains("the target answered nothing"),
        "{s}"
    );
}

/// A closed model with users for whom no connection opens (19,000 users
/// against nginx: 3,537 never sent a request, and the run said nothing,
/// exit 0; issue 34). Here a server accepts 5 connections and then closes
/// its listener. Which of 40 users got a connection first depends on the
/// kernel (a handshake it completed before the close is a connection that
/// opened, and its request then fails: that user sent one); in 12 of 14
/// runs here most did not. Whatever the split, the users no connection
/// opened for are exactly the ones counted, and when there are any the run
/// is connection-limited and names them (the rule itself is
/// `search::summary`'s unit test).
#[test]
fn users_that_never_got_a_connection_are_counted_and_limit_the_run() {
    let _g = serial();
    let Some(py) = python(&["few", "5"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}/", py.port);
    let o = headroom(&[
        "run",
        "--url",
        &url,
        "--concurrency",
        "40",
        "--duration",
        "3s",
        "--timeout",
        "1s",
        "--quiet",
        "--no-report",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    let never = s["users_never_sent"].as_u64().unwrap();
    let opened = s["connections_opened"].as_u64().unwrap();
    assert_eq!(never, 40 - opened, "{s}");
    if never > 0 {
        assert_eq!(s["generator_limited"], true, "{s}");
        assert_eq!(s["attribution"], "connection_cap", "{s}");
        assert!(
            s["generator_notes"]
                .to_string()
                .contains(&format!("{never} of 40 users never sent a request")),
            "{s}"
        );
        assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    } else {
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
}
