//! The load engine against the embedded target, whose behaviour is known in
//! closed form. These tests put real load on a shared 2-core machine: they
//! run one at a time (a lock here, and a nextest test group), at rates far
//! below what the generator manages even in a debug build, and each bound
//! is derived in its comment rather than tuned.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use headroom::embedded::{self, ServiceTime, Stall, TargetConfig, TargetHandle};
use headroom::load::{self, StopFlag};
use headroom::metrics::Interval;
use headroom::results::summary::Summary;
use headroom::scenario::{BaseUrl, Overrides, Plan};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn start(cfg: TargetConfig) -> TargetHandle {
    embedded::spawn(cfg, SocketAddr::from(([127, 0, 0, 1], 0))).unwrap()
}

/// The mean time the target held a request (its workers' measured service).
fn held_ms(t: &TargetHandle) -> f64 {
    let served = t.stats.served.load(std::sync::atomic::Ordering::Relaxed);
    let micros = t
        .stats
        .held_micros
        .load(std::sync::atomic::Ordering::Relaxed);
    micros as f64 / served.max(1) as f64 / 1000.0
}

fn fixed(workers: u32, ms: u64) -> TargetConfig {
    TargetConfig {
        workers,
        service_time: ServiceTime::Fixed {
            mean: Duration::from_millis(ms),
        },
        ..TargetConfig::default()
    }
}

fn plan(url: &str, o: Overrides) -> Plan {
    Plan::from_flags(&Overrides {
        url: Some(url.into()),
        threads: Some(1),
        ..o
    })
    .unwrap()
}

/// Runs in-process; returns the summary and every interval's (sent, ok).
fn run(plan: &Plan, t: &TargetHandle) -> (Summary, Vec<(u64, u64)>) {
    let base = BaseUrl::parse(&t.url()).unwrap();
    let mut per_second = Vec::new();
    let mut observe = |iv: &Interval| per_second.push((iv.all.sent, iv.all.ok));
    let outcome = load::run(plan, &base, &StopFlag::default(), &mut observe).unwrap();
    let summary = Summary::build(
        headroom::search::summary::RunFacts::of(plan, t.url(), &outcome),
        &plan.slo,
    );
    (summary, per_second)
}

#[test]
fn fixed_service_time_shows_as_median_latency() {
    let _g = serial();
    // 50 rps × 10 ms = 0.5 busy workers of 8: no queueing, so latency is
    // the time the target held the request (its own measurement) plus a
    // cost the hold leaves out: reading the request, writing the answer,
    // and waking two idle threads (the target's, the client's). On this VM
    // that cost is 0.3–0.55 ms and moves from run to run (CI once: p50
    // 10.535 ms for a 10.015 ms hold), so it is measured in the same test:
    // the same load against a 50 µs service gives it once (0.35–0.39 ms
    // in 8 runs). With 10 ms the client idles through the service and
    // wakes from a deeper sleep, so up to twice that is allowed (p50 −
    // hold was 0.32–0.55 ms in those runs, 2 × overhead 0.70–0.77 ms).
    let measure = |service: Duration| {
        let t = start(TargetConfig {
            workers: 8,
            service_time: ServiceTime::Fixed { mean: service },
            ..TargetConfig::default()
        });
        let p = plan(
            &t.url(),
            Overrides {
                rate: Some(50.0),
                duration: Some(Duration::from_secs(4)),
                ..Default::default()
            },
        );
        let (s, _) = run(&p, &t);
        assert_eq!(s.requests.ok, 200);
        (s, held_ms(&t))
    };
    let (short, short_hold) = measure(Duration::from_micros(50));
    let (s, hold) = measure(Duration::from_millis(10));
    let l = s.latency_ms.unwrap();
    let overhead = short.latency_ms.unwrap().p50 - short_hold;
    println!(
        "fixed 10 ms: latency p50 {:.3} ms, service p50 {:.3} ms, lag p50 {:.3} ms, hold {hold:.3} ms, overhead {overhead:.3} ms",
        l.p50,
        s.service_time_ms.as_ref().unwrap().p50,
        s.send_lag_ms.as_ref().unwrap().p50
    );
    assert!(hold >= 10.0, "the target held requests {hold} ms");
    // Nothing answers faster than the target held it.
    assert!(l.p50 >= hold, "p50 {} ms below the hold {hold} ms", l.p50);
    // The overhead measured at 50 µs is a noisy yardstick: once (a full
    // run, 2026-12-04) it came out 0.098 ms, against 0.35–0.39 ms in the 8
    // runs above, while p50 − hold was 0.266 ms, inside the 0.32–0.55 ms
    // seen then. So the allowance is twice the measured overhead, but never
    // less than the largest p50 − hold seen on a quiet machine (0.55 ms):
    // an extra timer tick (1 ms) or a queued request still fails it.
    let allowance = (2.0 * overhead).max(0.55);
    assert!(
        l.p50 <= hold + allowance,
        "p50 {} ms, hold {hold} ms + allowance {allowance} ms (overhead {overhead} ms)",
        l.p50
    );
}

#[test]
fn open_loop_achieves_its_target_rate() {
    let _g = serial();
    let t = start(fixed(16, 1));
    // Capacity 16 000 rps, driven at 500: 3 % of capacity.
    let p = plan(
        &t.url(),
        Overrides {
            rate: Some(500.0),
            duration: Some(Duration::from_secs(10)),
            ..Default::default()
        },
    );
    let (s, _) = run(&p, &t);
    println!(
        "target {:?} rps, achieved {:.2} rps, lag p99 {:?}",
        s.target_rate,
        s.achieved_rate,
        s.send_lag_ms.map(|l| l.p99)
    );
    assert_eq!(
        s.requests.sent, 5000,
        "the schedule holds exactly 500 × 10 arrivals"
    );
    assert!(
        (s.achieved_rate - 500.0).abs() <= 5.0,
        "achieved {}",
        s.achieved_rate
    );
    assert!(!s.generator_limited, "{:?}", s.generator_notes);
    assert_eq!(s.requests.errors.total, 0);
}

#[test]
fn closed_loop_saturates_at_workers_over_service_time() {
    let _g = serial();
    let t = start(fixed(4, 10));
    // 32 users ≫ 4 workers: the queue never empties, so throughput is
    // c / S = 4 / 10 ms = 400 rps, less the worker hand-off (tens of µs per
    // request, < 1 %). S is the hold the target measured (10.04–10.07 ms
    // here with 4 workers busy; CI once measured 387 rps, 3.3 % under a
    // nominal 400). Whole middle seconds only: the first holds the
    // start-up, the last the drain.
    let p = plan(
        &t.url(),
        Overrides {
            concurrency: Some(32),
            duration: Some(Duration::from_secs(6)),
            ..Default::default()
        },
    );
    let (_, per_second) = run(&p, &t);
    let middle = &per_second[1..5];
    let rate = middle.iter().map(|(_, ok)| *ok as f64).sum::<f64>() / middle.len() as f64;
    let hold = held_ms(&t);
    let expected = 4.0 / hold * 1000.0;
    println!(
        "closed loop, 32 users, 4 × 10 ms workers (held {hold:.3} ms): {rate:.1} rps per second {middle:?}"
    );
    assert!(
        (10.0..11.0).contains(&hold),
        "the target held requests {hold} ms"
    );
    assert!(
        (rate - expected).abs() <= 0.03 * expected,
        "throughput {rate} rps, expected {expected:.1} ± 3 %"
    );
}

#[test]
fn a_stall_shows_in_open_loop_percentiles_and_hides_in_closed_loop() {
    let _g = serial();
    let cfg = TargetConfig {
        stall: Some(Stall {
            every: Duration::from_secs(5),
            pause: Duration::from_secs(1),
        }),
        ..fixed(8, 5)
    };
    // Open loop, 200 rps for 10 s: arrivals during a 1 s pause (X) in every
    // 5 s (Y) wait for its end, so P(latency > h) = (X − h) / Y for h ≥ S,
    // and p99 = X − 0.01·Y = 950 ms. ±50 ms covers the 5 ms arrival grid,
    // the run's offset against the stall phase, and timer jitter.
    let t = start(cfg.clone());
    let p = plan(
        &t.url(),
        Overrides {
            rate: Some(200.0),
            duration: Some(Duration::from_secs(10)),
            ..Default::default()
        },
    );
    let (open, _) = run(&p, &t);
    drop(t);
    let ol = open.latency_ms.unwrap();
    // Closed loop, 4 users on the same target: while stalled, only the 4
    // requests in flight wait; the ~1 600 requests never sent are never
    // measured, so p99 shows only the 5 ms service time.
    let t = start(cfg);
    let p = plan(
        &t.url(),
        Overrides {
            concurrency: Some(4),
            duration: Some(Duration::from_secs(10)),
            ..Default::default()
        },
    );
    let (closed, _) = run(&p, &t);
    let cl = closed.latency_ms.unwrap();
    println!("stall 1 s every 5 s: open loop p50 {:.1} ms p99 {:.1} ms max {:.1} ms; closed loop p50 {:.1} ms p99 {:.1} ms max {:.1} ms",
        ol.p50, ol.p99, ol.max, cl.p50, cl.p99, cl.max);
    assert!(
        (ol.p99 - 950.0).abs() <= 50.0,
        "open-loop p99 {} ms, analytic 950 ms",
        ol.p99
    );
    assert!(ol.p50 < 20.0, "open-loop p50 {} ms", ol.p50);
    assert!(
        cl.p99 < 50.0,
        "closed-loop p99 {} ms hides the stall",
        cl.p99
    );
    assert!(cl.max > 900.0, "closed-loop max {} ms still saw it", cl.max);
}

#[test]
fn a_starved_generator_says_so() {
    let _g = serial();
    let t = start(fixed(8, 50));
    // One connection, 50 ms per answer: at most 20 rps can leave, 100 are due.
    let p = plan(
        &t.url(),
        Overrides {
            rate: Some(100.0),
            duration: Some(Duration::from_secs(2)),
            connections: Some(1),
            timeout: Some(Duration::from_millis(500)),
            ..Default::default()
        },
    );
    let (s, _) = run(&p, &t);
    println!(
        "starved: achieved {:.1} of {:?}; {:?}",
        s.achieved_rate, s.target_rate, s.generator_notes
    );
    assert!(s.generator_limited);
    assert!(
        s.requests
            .errors
            .by_kind
            .get("dropped_no_connection")
            .copied()
            .unwrap_or(0)
            > 0
    );
    assert!(s.achieved_rate < 0.98 * 100.0);
}

#[test]
fn the_target_turns_away_what_its_queue_cannot_hold() {
    let _g = serial();
    // 2 workers × 20 ms = 100 rps capacity, no queue: an Erlang-B loss
    // system. At 300 rps at least 2/3 of requests must be refused.
    let t = start(TargetConfig {
        queue_limit: Some(0),
        ..fixed(2, 20)
    });
    let p = plan(
        &t.url(),
        Overrides {
            rate: Some(300.0),
            duration: Some(Duration::from_secs(2)),
            ..Default::default()
        },
    );
    let (s, _) = run(&p, &t);
    let rejected = s
        .requests
        .errors
        .by_kind
        .get("http_503")
        .copied()
        .unwrap_or(0);
    assert_eq!(
        rejected,
        t.stats.rejected.load(std::sync::atomic::Ordering::Relaxed)
    );
    let share = rejected as f64 / s.requests.total as f64;
    println!("loss system at 3× capacity: {share:.3} refused");
    assert!(share >= 0.6, "refused share {share}");
}

fn headroom(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cli_run_writes_results_that_match_their_schema() {
    let _g = serial();
    let t = start(fixed(8, 2));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let o = headroom(&[
        "run",
        "--url",
        &format!("{}/hello", t.url()),
        "--rate",
        "100",
        "--duration",
        "2s",
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = out_text(&o);
    let stdout = String::from_utf8_lossy(&text);
    assert_eq!(o.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("latency (intended)"), "{stdout}");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(headroom::results::summary::JSON_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&summary)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(summary["requests"]["ok"], 200);
    assert_eq!(summary["per_request"][0]["path"], "/hello");

    // The time series has a row per second, adding up to the summary.
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    let ok: u64 = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(ok, 200, "{csv}");

    // The interval log reads back with hdrhistogram's own reader and holds
    // every successful request.
    let log = std::fs::read(out.join("latency.hlog")).unwrap();
    let mut deser = hdrhistogram::serialization::Deserializer::new();
    let mut count = 0;
    for entry in hdrhistogram::serialization::interval_log::IntervalLogIterator::new(&log) {
        if let hdrhistogram::serialization::interval_log::LogEntry::Interval(h) = entry.unwrap() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(h.encoded_histogram())
                .unwrap();
            let hist: hdrhistogram::Histogram<u64> = deser.deserialize(&mut &bytes[..]).unwrap();
            count += hist.len();
        }
    }
    assert_eq!(count, 200);
}

#[test]
fn cli_parquet_time_series() {
    let _g = serial();
    let t = start(fixed(8, 2));
    let dir = tempfile::tempdir().unwrap();
    let o = headroom(&[
        "run",
        "--url",
        &t.url(),
        "--rate",
        "50",
        "--duration",
        "1s",
        "--format",
        "parquet",
        "--quiet",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let bytes = std::fs::read(dir.path().join("timeseries.parquet")).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    assert_eq!(&bytes[bytes.len() - 4..], b"PAR1");
}

#[test]
fn cli_exit_codes_tell_slo_failure_and_unreachable_targets() {
    let _g = serial();
    let t = start(fixed(8, 10));
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("slo.toml");
    std::fs::write(&scenario, format!(
        "target = {{ url = \"{}\" }}\n[load]\nrate = 50\nduration = \"1s\"\n[slo]\np99 = \"2ms\"\n", t.url()
    )).unwrap();
    let o = headroom(&[
        "run",
        scenario.to_str().unwrap(),
        "--quiet",
        "--out",
        dir.path().join("a").to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a 10 ms service cannot meet p99 ≤ 2 ms"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("a/summary.json")).unwrap())
            .unwrap();
    assert_eq!(s["slo"][0]["pass"], false);

    // A port nobody listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = headroom(&[
        "run",
        "--url",
        &format!("http://127.0.0.1:{port}/"),
        "--rate",
        "10",
        "--duration",
        "1s",
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("unreachable"), "{stderr}");
}

#[test]
fn cli_interrupt_keeps_what_was_measured() {
    let _g = serial();
    let t = start(fixed(8, 2));
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args([
            "run",
            "--url",
            &t.url(),
            "--rate",
            "100",
            "--duration",
            "60s",
            "--quiet",
            "--out",
            dir.path().to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(3),
        "an interrupted run is inconclusive"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(s["interrupted"], true);
    let ok = s["requests"]["ok"].as_u64().unwrap();
    let d = s["duration_s"].as_f64().unwrap();
    // About 2.5 s at 100 rps; the binary's start-up eats some of it.
    assert!((1.0..3.0).contains(&d), "duration {d}");
    assert!(ok as f64 >= 90.0 * d, "ok {ok} over {d} s");
    assert!(Path::new(&dir.path().join("latency.hlog")).exists());
}

fn out_text(o: &std::process::Output) -> Vec<u8> {
    let mut v = o.stdout.clone();
    v.extend_from_slice(&o.stderr);
    v
}

#[test]
fn demo_runs_end_to_end_and_its_search_and_sweep_match_theory() {
    let _g = serial();
    // The README's first command (with a shorter first run): a run, a
    // breaking-point search and a concurrency sweep against embedded
    // targets with closed-form answers.
    let dir = tempfile::tempdir().unwrap();
    let o = headroom(&[
        "demo",
        "--duration",
        "3s",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let text = out_text(&o);
    let stdout = String::from_utf8_lossy(&text);
    println!("{stdout}");
    // A host stall during the 3-second first run (send lag p99 27 ms, seen
    // once in a full suite run) makes that run generator limited and the
    // demo inconclusive (3), honestly; the parts checked below still hold.
    let stalled = o.status.code() == Some(3) && stdout.contains("GENERATOR LIMITED");
    assert!(o.status.code() == Some(0) || stalled, "{stdout}");
    assert!(stdout.contains("capacity 800 requests/s"), "{stdout}");
    assert!(stdout.contains("M/M/8 prediction"), "{stdout}");
    for f in [
        "run/summary.json",
        "run/timeseries.csv",
        "run/latency.hlog",
        "find/find.json",
        "sweep/sweep.json",
        "stress-graceful/stress.json",
        "stress-collapse/stress.json",
        "plan/plan.json",
        "plan/forecast.json",
        "report.html",
        "run-latency.png",
        "find.png",
        "sweep-usl.png",
        "stress-collapse-overload-goodput.png",
        "plan-forecast.png",
    ] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    // The plan sized the fleet type on the breaking point just found, and
    // the page that ends the demo is named.
    assert!(
        stdout.contains(&format!(
            "report: {}",
            dir.path().join("report.html").display()
        )),
        "{stdout}"
    );
    let json = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(f)).unwrap()).unwrap()
    };

    // Search: M/M/8, 10 ms mean exponential service, p90 ≤ 30 ms binds at
    // 666.6 requests/s (Erlang C response-time tail; p99 ≤ 100 ms binds
    // later, at 748). ±5 %: the bisection stops within 3 %; a 4 s step near
    // 670 rps has ~270 samples beyond p90, whose noise (±6 %, more with the
    // queue's autocorrelation) moves the crossing by ±6 % / (d ln P / d ln λ
    // ≈ 6.3) ≈ ±1 %.
    let truth =
        headroom::model::queueing::max_rate_for_response_quantile(8, 0.010, 0.90, 0.030).unwrap();
    assert!((truth - 666.6).abs() < 0.1, "{truth}");
    let find = json("find/find.json");
    assert_eq!(find["outcome"], "found", "{find:#}");
    let found = find["sustainable_rps"].as_f64().unwrap();
    let plan = json("plan/plan.json");
    let m6i = plan["capacity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "m6i.large")
        .unwrap();
    assert_eq!(m6i["capacity_rps"].as_f64(), Some(found), "{m6i}");
    assert!(
        (found / truth - 1.0).abs() <= 0.05,
        "found {found}, analytic {truth}"
    );
    assert!(
        find["load_time_s"].as_f64().unwrap() <= 90.0,
        "the search stays within 90 s of load"
    );

    // Stress at 2 × the rate just found, for 5 s. Shedding (16 may wait):
    // the 8 workers still answer their 800/s, each within about 16/8 × 10 ms
    // of queueing plus an exponential 10 ms (p99 46 ms) — under the 100 ms
    // threshold, so goodput ≈ 800/s ≈ 1.2 R; the rest is refused with 503.
    // Without a bound: the backlog (2R − 800/s) × 5 s ≈ 2,700 makes every
    // answer seconds late until it drains at 800/s − R/2: goodput ≈ 0.
    for (dir, verdict) in [
        ("stress-graceful", "graceful"),
        ("stress-collapse", "collapse"),
    ] {
        let s = json(&format!("{dir}/stress.json"));
        assert_eq!(s["verdict"], verdict, "{}", s["reason"]);
        assert_eq!(s["sustainable_rps"].as_f64(), Some(found));
    }

    // Sweep: the target stretches each 10 ms service by 1 + σ(n−1) + κn(n−1)
    // with σ = 0.05, κ = 0.002. The generator and loopback add a fixed
    // δ ≈ 0.3–0.5 ms to every request, which scales the fitted σ and κ by
    // 1/(1 + δ/10 ms) ≈ 0.95–0.97; per-level throughput noise over 2 s adds a
    // few % more. Tolerance: ±20 % on σ and κ, ±10 % on the peak.
    let sweep = json("sweep/sweep.json");
    let usl = &sweep["usl"];
    let (sigma, kappa) = (
        usl["sigma"].as_f64().unwrap(),
        usl["kappa"].as_f64().unwrap(),
    );
    let peak = usl["peak_concurrency"].as_f64().unwrap();
    println!(
        "sweep: σ {sigma:.4} (true 0.05), κ {kappa:.5} (true 0.002), N* {peak:.1} (true 21.8)"
    );
    assert!((sigma / 0.05 - 1.0).abs() <= 0.20, "σ {sigma}");
    assert!((kappa / 0.002 - 1.0).abs() <= 0.20, "κ {kappa}");
    assert!(
        (peak / (0.95f64 / 0.002).sqrt() - 1.0).abs() <= 0.10,
        "N* {peak}"
    );
}

#[test]
fn without_keep_alive_every_request_opens_its_own_connection() {
    let _g = serial();
    let t = start(fixed(8, 2));
    let mut p = plan(
        &t.url(),
        Overrides {
            rate: Some(100.0),
            duration: Some(Duration::from_secs(1)),
            no_keep_alive: true,
            ..Overrides::default()
        },
    );
    let (s, _) = run(&p, &t);
    assert_eq!(s.requests.ok, 100, "{:?}", s.requests);
    assert_eq!(s.connections_opened, 100);
    // With keep-alive (the default) a few connections carry them all.
    p.load.keep_alive = true;
    let (s, _) = run(&p, &t);
    assert_eq!(s.requests.ok, 100);
    assert!(s.connections_opened <= 10, "{}", s.connections_opened);
}
