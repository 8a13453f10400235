//! Against a real Prometheus (Debian's `prometheus` and `promtool`, started
//! by the test on a loopback port with a generated config and a temporary
//! data directory): it scrapes a `headroom run --metrics-listen` and sees
//! the run's own counts; and `headroom forecast --prometheus` reads back a
//! series backfilled with `promtool tsdb create-blocks-from openmetrics`,
//! with clear errors for an unreachable server, a bad query, an empty
//! result and several series. Skips loudly when prometheus is missing
//! (`.ci/run` installs it and sets HEADROOM_REQUIRE_PROMETHEUS=1).

mod common;
use common::{free_port, headroom, serial, text};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn which(bin: &str) -> Option<PathBuf> {
    let out = Command::new("which").arg(bin).output().ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Prometheus and promtool, or a loud skip (a failure in CI).
fn tools() -> Option<(PathBuf, PathBuf)> {
    match (which("prometheus"), which("promtool")) {
        (Some(p), Some(t)) => Some((p, t)),
        _ => {
            assert!(
                std::env::var_os("HEADROOM_REQUIRE_PROMETHEUS").is_none(),
                "HEADROOM_REQUIRE_PROMETHEUS is set but prometheus/promtool are not installed"
            );
            eprintln!("SKIPPED: prometheus is not installed (apt-get install prometheus); .ci/run installs it");
            None
        }
    }
}

/// GET over plain HTTP/1.0: (status, body).
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split(' ').nth(1)?.parse().ok()?;
    let body = buf.split_once("\r\n\r\n").map_or("", |b| b.1).to_string();
    Some((status, body))
}

struct Prometheus {
    child: Child,
    port: u16,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(bin: &Path, dir: &Path, config: &str) -> Prometheus {
    let port = free_port();
    let cfg = dir.join("prometheus.yml");
    std::fs::write(&cfg, config).unwrap();
    let child = Command::new(bin)
        .args([
            &format!("--config.file={}", cfg.display()),
            &format!("--storage.tsdb.path={}", dir.join("data").display()),
            "--storage.tsdb.retention.time=90d",
            &format!("--web.listen-address=127.0.0.1:{port}"),
            "--log.level=warn",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Prometheus { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if get(port, "/-/ready").is_some_and(|(s, _)| s == 200) {
            return p;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("prometheus did not become ready on port {port}");
}

/// One instant-query value.
fn instant(port: u16, query: &str) -> Option<f64> {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("query", query)
        .finish();
    let (_, body) = get(port, &format!("/api/v1/query?{q}"))?;
    let v: Value = serde_json::from_str(&body).ok()?;
    v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

#[test]
fn prometheus_scrapes_a_run_and_sees_its_own_counts() {
    let _g = serial();
    let Some((bin, _)) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let metrics = free_port();
    let _prom = start(
        &bin,
        dir.path(),
        &format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: headroom\n    static_configs:\n      - targets: ['127.0.0.1:{metrics}']\n"
        ),
    );
    // Prometheus hands new targets to its scrape loop up to 5 s after it is
    // ready (its discovery and scrape managers batch updates every 5 s): a
    // 9-second run started at once was, once, never scraped. Its `up`
    // series exists from the first scrape attempt, down or not.
    let deadline = Instant::now() + Duration::from_secs(30);
    while instant(_prom.port, "up{job=\"headroom\"}").is_none() {
        assert!(
            Instant::now() < deadline,
            "prometheus never tried to scrape"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = dir.path().join("run");
    let o = headroom(&[
        "run",
        "--url",
        "embedded",
        "--rate",
        "200",
        "--duration",
        "5s",
        "--slo",
        "p99=250ms",
        "--metrics-listen",
        &format!("127.0.0.1:{metrics}"),
        "--metrics-linger",
        "4s",
        "--quiet",
        "--no-report",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let port = _prom.port;
    let total = instant(port, "sum(headroom_requests_total)");
    let sent = instant(port, "sum(headroom_requests_sent_total)");
    let in_hist = instant(port, "sum(headroom_latency_seconds_count)");
    println!(
        "prometheus saw total {total:?}, sent {sent:?}, latencies {in_hist:?}; summary: {}",
        s["requests"]
    );
    assert_eq!(total, s["requests"]["total"].as_f64());
    assert_eq!(sent, s["requests"]["sent"].as_f64());
    assert_eq!(in_hist, s["requests"]["ok"].as_f64());
    // The SLO threshold is a bucket boundary.
    let le = instant(port, r#"sum(headroom_latency_seconds_bucket{le="0.25"})"#);
    assert_eq!(
        le,
        s["requests"]["ok"].as_f64(),
        "every answer within 250 ms"
    );
}

/// Hourly `demand` samples for `days` days ending two hours ago, on hour
/// boundaries, as OpenMetrics; returns (text, [(unix time, value)]).
fn synthetic(days: i64, series: &[&str]) -> (String, Vec<(i64, f64)>) {
    let now = chrono::Utc::now().timestamp();
    let end = now - now % 3600 - 2 * 3600;
    let start = end - days * 86_400;
    let mut text = String::from("# TYPE demand gauge\n");
    let mut values = Vec::new();
    let mut t = start;
    while t <= end {
        let h = ((t / 3600) % 24) as f64;
        let v = 300.0
            + 150.0 * (std::f64::consts::TAU * (h - 8.0) / 24.0).sin()
            + (t - start) as f64 / 86_400.0;
        let v = (v * 10.0).round() / 10.0;
        for job in series {
            text.push_str(&format!("demand{{job=\"{job}\"}} {v} {t}\n"));
        }
        values.push((t, v));
        t += 3600;
    }
    text.push_str("# EOF\n");
    (text, values)
}

fn backfilled(days: i64, series: &[&str]) -> (tempfile::TempDir, Prometheus, Vec<(i64, f64)>) {
    let (om, values) = synthetic(days, series);
    let (dir, prom) = backfill(&om);
    (dir, prom, values)
}

/// A Prometheus serving the OpenMetrics text `om`, backfilled with promtool.
fn backfill(om: &str) -> (tempfile::TempDir, Prometheus) {
    let (bin, tool) = tools().expect("checked by the caller");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("history.om");
    std::fs::write(&file, om).unwrap();
    let o = Command::new(tool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&file)
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(o.status.success(), "promtool: {}", text(&o));
    let prom = start(
        &bin,
        dir.path(),
        "global:\n  scrape_interval: 1h\nscrape_configs: []\n",
    );
    (dir, prom)
}

#[test]
fn slo_report_reads_backfilled_counters_to_the_budget_a_table_of_the_same_events_gives() {
    let _g = serial();
    if tools().is_none() {
        return;
    }
    // 48 hours of request counters sampled every minute, from an hour
    // boundary three days ago: hour h serves 900 + 10·(h mod 24) good
    // requests a minute, and bad ones at 10 a minute in hours 30–32 and 8
    // a minute in hour 40. `increase(…[1h])` at each hour's end then counts
    // exactly that hour (60 × its rate), so the table below holds the
    // same events the report reads back.
    let now = chrono::Utc::now().timestamp();
    let t0 = now - now % 3600 - 3 * 86_400;
    let good = |h: i64| 900.0 + 10.0 * (h % 24) as f64;
    let bad = |h: i64| match h {
        30..=32 => 10.0,
        40 => 8.0,
        _ => 0.0,
    };
    let mut om = String::from("# TYPE req counter\n");
    let (mut g, mut b) = (0.0, 0.0);
    for m in 0..=48 * 60 {
        let t = t0 + 60 * m;
        om += &format!("req_total{{code=\"200\"}} {g} {t}\nreq_total{{code=\"500\"}} {b} {t}\n");
        g += good(m / 60);
        b += bad(m / 60);
    }
    om += "# EOF\n";
    let (dir, prom) = backfill(&om);
    let mut csv = String::from("time,good,total\n");
    for h in 0..48 {
        let t = chrono::DateTime::from_timestamp(t0 + 3600 * h, 0).unwrap();
        csv += &format!(
            "{},{},{}\n",
            t.to_rfc3339(),
            60.0 * good(h),
            60.0 * (good(h) + bad(h))
        );
    }
    let table = dir.path().join("events.csv");
    std::fs::write(&table, csv).unwrap();
    let slo = dir.path().join("slo.toml");
    std::fs::write(
        &slo,
        "name = \"api\"\nobjective = \"99.5%\"\nwindow = \"1d\"\n[sli]\ngood = 'req_total{code!~\"5..\"}'\ntotal = 'req_total'\n",
    )
    .unwrap();
    let at = chrono::DateTime::from_timestamp(t0 + 48 * 3600, 0)
        .unwrap()
        .to_rfc3339();
    let report = |source: &[&str]| {
        let mut args = vec![
            "slo",
            "report",
            slo.to_str().unwrap(),
            "--now",
            &at,
            "--json",
        ];
        args.extend_from_slice(source);
        let o = headroom(&args);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    let url = format!("http://127.0.0.1:{}", prom.port);
    let from_prom = report(&["--prometheus", &url, "--step", "1h", "--range", "47h"]);
    let from_table = report(&["--csv", table.to_str().unwrap()]);
    let num = |v: &Value, path: &[&str]| {
        path.iter()
            .fold(v, |v, k| &v[*k])
            .as_f64()
            .unwrap_or(f64::NAN)
    };
    for path in [
        &["budget", "total"][..],
        &["budget", "bad"],
        &["budget", "allowed"],
        &["budget", "consumed"],
    ] {
        let (a, b) = (num(&from_prom, path), num(&from_table, path));
        assert!(
            (a - b).abs() <= 1e-9 * b.abs().max(1.0),
            "{path:?}: Prometheus {a}, table {b}"
        );
    }
    // By hand: the window (the last day, hours 24–47) holds 3 × 60 × 10 +
    // 60 × 8 = 2,280 bad events.
    assert_eq!(num(&from_table, &["budget", "bad"]), 2280.0);
    for (a, b) in from_prom["burn"]
        .as_array()
        .unwrap()
        .iter()
        .zip(from_table["burn"].as_array().unwrap())
    {
        match (a["rate"].as_f64(), b["rate"].as_f64()) {
            (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{a} {b}"),
            (x, y) => assert_eq!(x, y, "{a} {b}"),
        }
    }
    let starts = |v: &Value| -> Vec<String> {
        v["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["start"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(starts(&from_prom), starts(&from_table));
    assert_eq!(starts(&from_table).len(), 2);
}

#[test]
fn forecast_reads_a_backfilled_series_back_from_prometheus() {
    let _g = serial();
    if tools().is_none() {
        return;
    }
    let (_dir, prom, values) = backfilled(10, &["web"]);
    let url = format!("http://127.0.0.1:{}", prom.port);
    let o = headroom(&[
        "forecast",
        "--prometheus",
        &url,
        "--query",
        "demand",
        "--range",
        "10d",
        "--step",
        "1h",
        "--horizon",
        "1d",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let history: Vec<(i64, f64)> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let t = chrono::DateTime::parse_from_rfc3339(p["t"].as_str().unwrap()).unwrap();
            (t.timestamp(), p["value"].as_f64().unwrap())
        })
        .collect();
    // The same series back: every hour the query range covers, exactly.
    let want: Vec<(i64, f64)> = values
        .iter()
        .copied()
        .filter(|(t, _)| *t >= history[0].0)
        .collect();
    assert!(history.len() >= 239, "{} hours", history.len());
    assert_eq!(history, want[..history.len()]);
    assert_eq!(v["points"].as_array().unwrap().len(), 24);
    assert!(
        v["model"].as_str().unwrap().contains("MSTL[24]"),
        "{}",
        v["model"]
    );

    // A plan file can name the same source.
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/catalog.toml");
    let plan = _dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "catalog = {:?}\nhorizon = \"7d\"\n[demand]\nprometheus = {url:?}\nquery = \"demand\"\nrange = \"10d\"\nstep = \"1h\"\n\
             [fleet]\ntype = \"m6i.large\"\ncount = 3\n[capacity.\"m6i.large\"]\nrps = 300\n",
            catalog.display().to_string()
        ),
    )
    .unwrap();
    let out = _dir.path().join("plan");
    let o = headroom(&[
        "plan",
        plan.to_str().unwrap(),
        "--json",
        "--out",
        out.to_str().unwrap(),
        "--no-report",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let p: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(!p["periods"].as_array().unwrap().is_empty());
    assert!(
        p["forecast_model"].as_str().unwrap().contains("MSTL[24]"),
        "{}",
        p["forecast_model"]
    );

    // Errors that say what is wrong.
    let fail = |args: &[&str], code: i32, want: &str| {
        let mut a = vec!["forecast", "--prometheus"];
        a.extend_from_slice(args);
        let o = headroom(&a);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(want), "{args:?}: {}", text(&o));
    };
    fail(
        &[&url, "--query", "sum(", "--range", "1d"],
        2,
        "Prometheus refused the query",
    );
    fail(
        &[&url, "--query", "no_such_metric", "--range", "1d"],
        2,
        "returned no data",
    );
    let closed = format!("http://127.0.0.1:{}", free_port());
    fail(
        &[&closed, "--query", "demand", "--range", "1d"],
        4,
        "unreachable",
    );
    drop(prom);
    let (_dir2, prom2, _) = backfilled(2, &["a", "b"]);
    let url2 = format!("http://127.0.0.1:{}", prom2.port);
    fail(
        &[&url2, "--query", "demand", "--range", "1d"],
        2,
        "returned 2 series",
    );
    fail(
        &[&url2, "--query", "demand", "--range", "1d"],
        2,
        "sum(demand)",
    );
}
