//! Faults under load (issue 19), each against its ground truth: the
//! toxic's own size (a latency of L, a timeout of T, a share p of
//! connections reset) and the point where `abort_if` must fire. Load
//! tests: one at a time (a lock, and the nextest `load` group).

mod common;
use common::{free_port, headroom, serial, text};

use std::path::Path;
use std::process::{Child, Command, Stdio};

use headroom::results::hlog::{self, Key, Kind};
use serde_json::Value;

/// One row of `timeseries.csv`, by column name.
struct Second(std::collections::HashMap<String, String>);

impl Second {
    fn n(&self, col: &str) -> f64 {
        self.0[col].parse().unwrap_or(f64::NAN)
    }
}

fn series(dir: &Path) -> Vec<Second> {
    let text = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            Second(
                head.iter()
                    .cloned()
                    .zip(l.split(',').map(String::from))
                    .collect(),
            )
        })
        .collect()
}

/// `summary.json`, checked against its JSON Schema (faults, experiment).
fn summary(dir: &Path) -> Value {
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let schema: Value = serde_json::from_str(headroom::results::summary::JSON_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&s).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    s
}

/// Runs `scenario` (TOML text) into a fresh directory; the exit code, the
/// output and the directory.
fn run(scenario: &str) -> (Option<i32>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(&file, scenario).unwrap();
    let out = dir.path().join("r");
    let o = headroom(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-report",
        "-q",
    ]);
    (o.status.code(), text(&o), dir)
}

/// A scenario's start: `rate` requests/s of `GET /` on one thread to the
/// loopback port for `secs` seconds (the `[load]` table left open).
fn plain(port: u16, rate: u32, secs: u32) -> String {
    format!(
        "[target]\nurl = \"http://127.0.0.1:{port}\"\n[[request]]\nname = \"home\"\npath = \"/\"\n\
         [load]\nmodel = \"open\"\nrate = {rate}\nduration = \"{secs}s\"\nthreads = 1\n"
    )
}

/// An embedded target of the test's own: 16 workers, 1 ms fixed.
fn fast_config() -> headroom::embedded::TargetConfig {
    headroom::embedded::TargetConfig {
        workers: 16,
        service_time: headroom::embedded::ServiceTime::Fixed {
            mean: std::time::Duration::from_millis(1),
        },
        ..Default::default()
    }
}

fn fast_target() -> headroom::embedded::TargetHandle {
    headroom::embedded::spawn(fast_config(), "127.0.0.1:0".parse().unwrap()).unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The embedded target (2 ms fixed service time) calling an embedded
/// dependency (1 ms) through the run's proxy `dependency`; 50 requests/s
/// (the target is 50 × 3 ms / 16 ≈ 1 % busy, so nothing queues).
fn scenario(extra: &str) -> String {
    format!(
        r#"
name = "chaos-test"
[target]
url = "embedded"
timeout = "2s"
[target.embedded]
workers = 16
service_time = {{ dist = "fixed", mean = "2ms" }}
queue_limit = "none"
[target.embedded.dependency]
service_time = {{ dist = "fixed", mean = "1ms" }}
timeout = "100ms"
[load]
model = "open"
rate = 50
duration = "12s"
threads = 1
[slo]
p99 = "500ms"
errors = "1%"
{extra}
"#
    )
}

#[test]
fn a_latency_toxic_on_the_dependency_adds_its_latency_to_the_targets() {
    let _s = serial();
    // L = 40 ms on the dependency's answers from 4 s to 8 s.
    let (code, out, dir) = run(&scenario(
        r#"
[[request]]
name = "home"
path = "/"
[[fault]]
name = "slow dependency"
proxy = "dependency"
toxic = { type = "latency", latency = "40ms" }
at = "4s"
for = "4s"
[experiment]
recovery_windows = 2
"#,
    ));
    let dir = dir.path().join("r");
    assert_eq!(code, Some(0), "{out}");
    let rows = series(&dir);
    let p50 =
        |from: usize, to: usize| median(rows[from..to].iter().map(|r| r.n("p50_ms")).collect());
    // Whole seconds before, during (second 4 starts when the toxic is on,
    // up to a millisecond late) and after.
    let (before, during, after) = (p50(1, 4), p50(5, 8), p50(9, 12));
    let added = during - before;
    // The toxic holds each chunk at least L after it arrived; tokio's timer
    // wheel wakes up to 1 ms late, and a scheduling delay on a busy core
    // adds to a median second by second: at most 3 ms more at the median.
    assert!(
        (39.5..=44.0).contains(&added),
        "p50 {before:.2} ms before, {during:.2} ms during: +{added:.2} ms, expected +40 ms"
    );
    assert!(
        (after - before).abs() <= 1.5,
        "p50 {before:.2} ms before, {after:.2} ms after the toxic was removed"
    );
    for (i, r) in rows.iter().enumerate().take(12) {
        // In effect at some time in the second: 4.00x to 8.00x s.
        let expected = u32::from((4..=8).contains(&i));
        assert_eq!(r.n("faults") as u32, expected, "second {i}: faults column");
    }
    // The interval log tags each second the fault was in effect in.
    let log = std::fs::read_to_string(dir.join("latency.hlog")).unwrap();
    let tagged: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("Tag=fault=slow%20dependency,"))
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(
        tagged,
        ["4.000", "5.000", "6.000", "7.000", "8.000"],
        "{log}"
    );
    let s = summary(&dir);
    let f = &s["faults"][0];
    let started = f["started_s"].as_f64().unwrap();
    let ended = f["ended_s"].as_f64().unwrap();
    assert!((4.0..4.05).contains(&started), "{f}");
    assert!((8.0..8.05).contains(&ended), "{f}");
    assert_eq!(f["time_to_detect_s"], Value::Null, "{f}");
    assert_eq!(f["recovery_s"], 0.0, "{f}");
    assert_eq!(f["during"]["bad"], 0, "{f}");
    assert_eq!(s["experiment"]["verdict"], "held", "{}", s["experiment"]);
}

#[test]
fn a_black_hole_with_a_dependency_timeout_answers_504_after_the_timeout() {
    let _s = serial();
    // T = 100 ms. "plain" counts the 504s; "timed" accepts them, so that
    // their latency is measured.
    let (code, out, dir) = run(&scenario(
        r#"
[[request]]
name = "plain"
path = "/"
[[request]]
name = "timed"
path = "/t"
expect = { status = [200, 504] }
[[fault]]
name = "dependency down"
proxy = "dependency"
toxic = { type = "timeout", timeout = 0 }
at = "4s"
for = "4s"
[experiment]
recovery_windows = 2
"#,
    ));
    let dir = dir.path().join("r");
    // The SLO's 1 % of errors fails: the experiment is violated, exit 1.
    assert_eq!(code, Some(1), "{out}");
    let s = summary(&dir);
    assert_eq!(
        s["experiment"]["verdict"], "violated",
        "{}",
        s["experiment"]
    );
    let f = &s["faults"][0];
    // Every "plain" failure is a 504, but for the calls pending when the
    // toxic went: Toxiproxy's timeout closes its connections on removal
    // (502). At most 50/s × 100 ms of them.
    let plain = &s["per_request"][0]["requests"];
    let errors = plain["errors"]["total"].as_u64().unwrap();
    let kinds = &plain["errors"]["by_kind"];
    let (e504, e502) = (
        kinds["http_504"].as_u64(),
        kinds["http_502"].as_u64().unwrap_or(0),
    );
    assert_eq!(e504.unwrap_or(0) + e502, errors, "{plain}");
    assert!(e502 <= 5, "{plain}");
    assert!(
        errors > 0 && f["during"]["errors"].as_u64() >= Some(errors / 2),
        "{f}"
    );
    // Detected when the first second of the window closed.
    let detect = f["time_to_detect_s"].as_f64().unwrap();
    assert!((0.9..=1.0).contains(&detect), "{f}");
    // Nothing queued (16 workers, 50/s of 100 ms each = 5 busy). The calls
    // pending when the toxic went were closed (502) in second 8, so the
    // SLO held again from second 9 at the latest.
    let recovery = f["recovery_s"].as_f64().unwrap();
    assert!(recovery <= 1.0, "{f}");
    // "timed": each answer of the window's whole seconds took the timeout
    // plus the target's own 2 ms (tokio's timer is never early), and at
    // most a scheduling delay more; and only "timed" requests succeeded.
    let log = hlog::read_file_only(&dir.join("latency.hlog"), |k, key| {
        k == Kind::Latency && *key == Key::Request("timed".into())
    })
    .unwrap();
    let timed = log.latency.request("timed", 2).unwrap();
    let rows = series(&dir);
    for t in 5..8 {
        let b = timed[t].buckets();
        let (min, max) = (b[0].0 as f64 / 1000.0, b[b.len() - 1].0 as f64 / 1000.0);
        assert!(
            min >= 101.5 && max <= 150.0,
            "second {t}: latency {min:.1}–{max:.1} ms, expected 102 ms and a little"
        );
        assert_eq!(
            rows[t].n("ok") as u64,
            timed[t].len(),
            "second {t}: a plain request succeeded"
        );
    }
}

#[test]
fn reset_peer_with_toxicity_p_resets_that_share_of_connections_in_its_window() {
    let _s = serial();
    // The load → a proxy of the run → an embedded target of this test; a
    // new connection per request, so each is rolled for once.
    let target = fast_target();
    let port = free_port();
    let (code, out, dir) = run(&format!(
        r#"{}keep_alive = false
[[proxy]]
name = "front"
listen = "127.0.0.1:{port}"
upstream = "{}"
[[fault]]
name = "resets"
proxy = "front"
toxic = {{ type = "reset_peer", stream = "upstream", toxicity = 0.3 }}
at = "3s"
for = "5s"
"#,
        plain(port, 100, 10),
        target.addr
    ));
    let dir = dir.path().join("r");
    assert_eq!(code, Some(0), "{out}");
    let rows = series(&dir);
    // A shard closes a second when it next wakes, a scheduling delay after
    // the second's edge: what ended in that delay counts in the second
    // before. At 100/s a delay of 20 ms (a stall on a busy 2-core machine)
    // holds 2 arrivals, so second 2 may carry up to 2 of the window's
    // resets; no other second outside it any.
    let outside: f64 = rows
        .iter()
        .enumerate()
        .filter(|(t, _)| !(2..=8).contains(t))
        .map(|(_, r)| r.n("errors"))
        .sum();
    let per_second: Vec<(f64, f64)> = rows.iter().map(|r| (r.n("ok"), r.n("errors"))).collect();
    assert_eq!(
        outside, 0.0,
        "errors outside the fault's window; (ok, errors) by second {per_second:?}\n{out}"
    );
    assert!(
        rows[2].n("errors") <= 2.0,
        "{} errors in the second before the window\n{out}",
        rows[2].n("errors")
    );
    let window: Vec<&Second> = rows[3..8].iter().collect();
    let n: f64 = window.iter().map(|r| r.n("ok") + r.n("errors")).sum();
    let errors: f64 = rows[2..=8].iter().map(|r| r.n("errors")).sum();
    // Binomial(n, 0.3): 4.5 standard deviations (a false alarm once in
    // 150,000 runs), and 2 for arrivals within a scheduling delay of the
    // edges.
    let (mean, sd) = (0.3 * n, (n * 0.3 * 0.7).sqrt());
    assert!(
        (errors - mean).abs() <= 4.5 * sd + 2.0,
        "{errors} of {n} requests failed, expected {mean:.0} ± {:.0}\n{out}",
        4.5 * sd
    );
    let s = summary(&dir);
    let kinds = &s["requests"]["errors"]["by_kind"];
    assert_eq!(kinds["reset"].as_f64(), Some(errors), "{kinds}");
    // Without an [experiment], no verdict.
    assert_eq!(s["experiment"], Value::Null);
}

#[test]
fn abort_if_removes_every_fault_at_the_predicted_second() {
    let _s = serial();
    // Every dependency call reset from 3 s: every request answered 502, so
    // the bad share since the first fault is ~100 % when second 3 closes —
    // past 5 %: the faults go at 4 s, the 10-second one never begins.
    let (code, out, dir) = run(&scenario(
        r#"
[[request]]
name = "home"
path = "/"
[[fault]]
name = "resets"
proxy = "dependency"
toxic = { type = "reset_peer" }
at = "3s"
for = "6s"
[[fault]]
name = "later"
proxy = "dependency"
toxic = { type = "latency", latency = "10ms" }
at = "10s"
[experiment]
abort_if = { bad_requests = "5%" }
"#,
    ));
    let dir = dir.path().join("r");
    assert_eq!(code, Some(1), "{out}");
    let s = summary(&dir);
    let x = &s["experiment"];
    assert_eq!(x["verdict"], "aborted", "{x}");
    assert_eq!(x["aborted_at_s"], 4.0, "{x}");
    let f = &s["faults"];
    assert_eq!(f[0]["removed_by_abort"], true, "{f}");
    assert_eq!(f[1]["removed_by_abort"], true, "{f}");
    assert_eq!(f[1]["started_s"], Value::Null, "{f}");
    let ended = f[0]["ended_s"].as_f64().unwrap();
    // Removed once second 3 was merged and judged: well within second 4.
    assert!((4.0..4.5).contains(&ended), "{f}");
    let rows = series(&dir);
    // Second 4 fails only until the removal (50/s, and one in flight).
    let late = (50.0 * (ended - 4.0)).ceil() + 1.0;
    assert!(
        rows[4].n("errors") <= late,
        "second 4: {} errors",
        rows[4].n("errors")
    );
    for (t, r) in rows.iter().enumerate().skip(5) {
        assert_eq!(r.n("errors"), 0.0, "second {t} after the abort");
    }
}

#[test]
fn a_fault_through_a_remote_proxy_api_takes_effect_on_the_runs_clock() {
    let _s = serial();
    let target = fast_target();
    let (api, port, dead) = (free_port(), free_port(), free_port());
    let _proxy = Killed(
        Command::new(env!("CARGO_BIN_EXE_headroom"))
            .args([
                "proxy",
                "--api",
                &format!("127.0.0.1:{api}"),
                "--proxy",
                &format!(
                    "name=front,listen=127.0.0.1:{port},upstream={}",
                    target.addr
                ),
                "--for",
                "60s",
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(api);
    // 30 ms from 2 s to 4 s through the API; a second fault's API is not
    // there: the run goes on, and says so.
    let (code, out, dir) = run(&format!(
        r#"{}[[fault]]
name = "remote latency"
proxy = "front"
api = "http://127.0.0.1:{api}"
toxic = {{ type = "latency", latency = "30ms" }}
at = "2s"
for = "2s"
[[fault]]
name = "nowhere"
proxy = "front"
api = "http://127.0.0.1:{dead}"
toxic = {{ type = "latency", latency = "30ms" }}
at = "5s"
"#,
        plain(port, 50, 6)
    ));
    let dir = dir.path().join("r");
    assert_eq!(code, Some(0), "{out}");
    let rows = series(&dir);
    let p50 = |t: usize| rows[t].n("p50_ms");
    let base = median(vec![p50(0), p50(1), p50(4), p50(5)]);
    for t in [2, 3] {
        let added = p50(t) - base;
        assert!(
            (29.5..=34.0).contains(&added),
            "second {t}: +{added:.2} ms, expected +30 ms"
        );
    }
    let s = summary(&dir);
    let f = &s["faults"];
    let started = f[0]["started_s"].as_f64().unwrap();
    // One HTTP call to the API: a few milliseconds.
    assert!((2.0..2.1).contains(&started), "{f}");
    assert_eq!(f[1]["started_s"], Value::Null, "{f}");
    assert!(
        f[1]["error"].as_str().unwrap().contains(&dead.to_string()),
        "{f}"
    );
    assert!(
        s["warnings"][0].as_str().unwrap().contains("nowhere"),
        "{}",
        s["warnings"]
    );
}

/// Waits until something listens on the loopback port (at most 5 s).
fn wait_for(port: u16) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("nothing listens on port {port}");
}

/// Python with toxiproxy-python importable (`.ci/run` installs it into
/// target/pydeps), or None when it is not and it is not required.
fn toxiproxy_client() -> Option<Command> {
    let deps = concat!(env!("CARGO_MANIFEST_DIR"), "/target/pydeps");
    let check = Command::new("python3")
        .args(["-c", "import toxiproxy"])
        .env("PYTHONPATH", deps)
        .status();
    if !check.is_ok_and(|s| s.success()) {
        assert!(
            std::env::var_os("HEADROOM_REQUIRE_TOXIPROXY_CLIENT").is_none(),
            "toxiproxy-python is not importable from {deps}"
        );
        eprintln!("skipped: toxiproxy-python is not in {deps} (.ci/run installs it)");
        return None;
    }
    let mut c = Command::new("python3");
    c.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/toxiproxy_client.py"
    ))
    .env("PYTHONPATH", deps);
    Some(c)
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_real_toxiproxy_client_drives_headroom_proxy_and_the_latency_is_measured() {
    let _s = serial();
    let Some(_) = toxiproxy_client() else { return };
    let target = fast_target();
    let api = free_port();
    let _proxy = Killed(
        Command::new(env!("CARGO_BIN_EXE_headroom"))
            .args([
                "proxy",
                "--api",
                &format!("127.0.0.1:{api}"),
                "--for",
                "120s",
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let step = |name: &str| -> Value {
        for _ in 0..50 {
            let o = toxiproxy_client()
                .unwrap()
                .args([&api.to_string(), &target.addr.to_string(), name])
                .output()
                .unwrap();
            if o.status.success() {
                return serde_json::from_slice(&o.stdout).unwrap();
            }
            let err = String::from_utf8_lossy(&o.stderr);
            // The proxy may still be starting.
            assert!(err.contains("not accept"), "{name}: {err}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("{name}: the API never answered");
    };
    let made = step("create");
    let listen = made["listen"].as_str().unwrap().to_string();
    assert!(!listen.ends_with(":0"), "the real port, not 0: {made}");
    assert_eq!(made["enabled"], true);
    assert!(
        made["version"].as_str().unwrap().contains("version"),
        "{made}"
    );
    let seen = step("inspect");
    assert_eq!(seen["proxies"], serde_json::json!(["web"]));
    assert_eq!(seen["type"], "latency");
    assert_eq!(seen["stream"], "downstream");
    assert_eq!(seen["attributes"]["latency"], 100);
    let p50 = |tag: &str| -> f64 {
        let out = tempfile::tempdir().unwrap();
        let o = headroom(&[
            "run",
            "--url",
            &format!("http://{listen}/"),
            "--rate",
            "20",
            "--duration",
            "3s",
            "--out",
            out.path().join(tag).to_str().unwrap(),
            "--no-report",
            "-q",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        summary(&out.path().join(tag))["latency_ms"]["p50"]
            .as_f64()
            .unwrap()
    };
    let slow = p50("slow");
    // 100 ms held on each answer, the 1 ms service, the timer's 1 ms.
    assert!(
        (100.0..110.0).contains(&slow),
        "p50 {slow} ms through a 100 ms toxic"
    );
    let healed = step("heal");
    assert_eq!(healed["toxics"], serde_json::json!([]));
    assert_eq!(
        (healed["down"].clone(), healed["up"].clone()),
        (false.into(), true.into())
    );
    let fast = p50("fast");
    assert!(fast < 20.0, "p50 {fast} ms once the toxic was destroyed");
    assert_eq!(step("destroy")["proxies"], serde_json::json!([]));
}

/// An upstream that sends `n` bytes to each connection, then closes.
fn sender(n: usize) -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            std::thread::spawn(move || {
                use std::io::Write;
                let _ = s.write_all(&vec![b'x'; n]);
            });
        }
    });
    addr
}

/// Reads a connection to its end: the bytes, the sizes of the reads, and
/// the time from the first byte to the last and to the end.
fn drain(addr: &str) -> (usize, Vec<usize>, f64, f64) {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let (mut sizes, mut first, mut last) = (Vec::new(), None, None);
    loop {
        let n = s.read(&mut buf).unwrap();
        let now = std::time::Instant::now();
        if n == 0 {
            let first = first.unwrap_or(now);
            let last: std::time::Instant = last.unwrap_or(now);
            let total = sizes.iter().sum();
            return (
                total,
                sizes,
                (last - first).as_secs_f64(),
                (now - first).as_secs_f64(),
            );
        }
        first.get_or_insert(now);
        last = Some(now);
        sizes.push(n);
    }
}

#[test]
fn bandwidth_slicer_limit_data_and_slow_close_shape_the_bytes_as_toxiproxy_says() {
    let _s = serial();
    let server = headroom::proxy::Server::start(None).unwrap();
    let proxy = |name: &str, n: usize, toxic: Value| -> String {
        let p = server
            .proxies
            .create(headroom::proxy::ProxySpec {
                name: Some(name.into()),
                listen: None,
                upstream: Some(sender(n).to_string()),
                enabled: None,
            })
            .unwrap();
        server
            .proxies
            .add_toxic(name, serde_json::from_value(toxic).unwrap())
            .unwrap();
        p.listen
    };
    // bandwidth 100 KB/s: 50,000 bytes take 0.5 s (10,000 at a time, each
    // after its 0.1 s).
    let at = proxy(
        "bw",
        50_000,
        serde_json::json!({"type": "bandwidth", "attributes": {"rate": 100}}),
    );
    let (n, _, _, took) = drain(&at);
    assert_eq!(n, 50_000);
    assert!(
        (0.38..0.75).contains(&took),
        "50 kB at 100 KB/s took {took:.3} s"
    );
    // limit_data: the first 1,000 bytes of 5,000, then the end.
    let at = proxy(
        "limit",
        5_000,
        serde_json::json!({"type": "limit_data", "attributes": {"bytes": 1000}}),
    );
    assert_eq!(drain(&at).0, 1_000);
    // slicer: 100-byte slices 20 ms apart. A reader descheduled for 20 ms
    // would see two at once, so half of them seen apart is the evidence.
    let at = proxy(
        "slices",
        1_000,
        serde_json::json!({"type": "slicer", "attributes": {"average_size": 100, "delay": 20000}}),
    );
    let (n, sizes, spread, _) = drain(&at);
    assert_eq!(n, 1_000);
    assert!(
        sizes.iter().filter(|s| **s <= 100).count() >= 5,
        "{sizes:?}"
    );
    assert!(
        spread >= 0.9 * 0.180,
        "10 slices 20 ms apart arrived within {spread:.4} s"
    );
    // slow_close: the end comes 300 ms after the data.
    let at = proxy(
        "close",
        10,
        serde_json::json!({"type": "slow_close", "attributes": {"delay": 300}}),
    );
    let (n, _, _, took) = drain(&at);
    assert_eq!(n, 10);
    assert!(
        (0.3..0.6).contains(&took),
        "the close came {took:.3} s after the data"
    );
    let stats = server.proxies.stats("limit").unwrap();
    assert_eq!(
        stats.bytes.load(std::sync::atomic::Ordering::Relaxed),
        1_000,
        "bytes delivered through the limit"
    );
}

#[test]
fn retries_multiply_the_calls_a_failing_dependency_gets() {
    let _s = serial();
    // A dependency we did not write: Python's http.server answering 403.
    let Some(py) = common::python(&["forbidden"]) else {
        return;
    };
    let target = headroom::embedded::spawn(
        headroom::embedded::TargetConfig {
            dependency: Some(
                headroom::embedded::rules::dependency(
                    &format!("http://127.0.0.1:{}/", py.port),
                    std::time::Duration::from_secs(1),
                    2,
                )
                .unwrap(),
            ),
            ..fast_config()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap();
    for _ in 0..10 {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(target.addr).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 502"), "{answer}");
    }
    let st = &target.stats;
    let n = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    // 1 + 2 retries each: three times the load on the dependency.
    assert_eq!(n(&st.dependency_calls), 30);
    assert_eq!(n(&st.dependency_failures), 10);
    assert_eq!(n(&st.dependency_timeouts), 0);
}
