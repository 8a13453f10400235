//! What a hostile tester found (issue 16), each case as it was reported:
//! input that once crashed, grew without bound or was misreported. Load
//! tests: one at a time (a lock, and the nextest `load` group).

mod common;
use common::{headroom, serial, text};

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

/// Runs the binary and returns its exit code, its output and its peak
/// resident memory in MiB (from `wait4`, the child's own rusage).
fn measured(args: &[&str]) -> (Option<i32>, String, u64) {
    // Reaped by wait4 below, which std's Child cannot do with rusage.
    #[allow(clippy::zombie_processes)]
    let mut child = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr.take().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, err, usage.ru_maxrss as u64 / 1024)
}

fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn a_rate_no_generator_can_send_is_refused_before_any_load() {
    // Was: no output, SIGINT ignored, 24 GB, OOM-killed (exit 134).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let (code, err, _) = measured(&[
        "run",
        "--url",
        "embedded",
        "--rate",
        "1e12",
        "--duration",
        "1s",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("at most 10000000 requests/s"), "{err}");
    // And in a scenario file, located.
    let scenario = dir.path().join("fast.toml");
    std::fs::write(
        &scenario,
        "[target]\nurl = \"embedded\"\n[load]\nrate = 1e12\nduration = \"1s\"\n",
    )
    .unwrap();
    let o = headroom(&["run", scenario.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("fast.toml:4:8"), "{}", text(&o));
}

#[test]
fn arrivals_no_connection_can_take_are_dropped_in_bounded_memory() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    // Two million arrivals in a second for one connection: all but a few
    // thousand find no connection. The waiting queue holds at most 2^20
    // arrivals of 16 bytes (32 MiB with its doubling); unbounded, it held
    // all two million.
    let (code, err, rss) = measured(&[
        "run",
        "--url",
        "embedded",
        "--rate",
        "2e6",
        "--duration",
        "1s",
        "--connections",
        "1",
        "--threads",
        "1",
        "--timeout",
        "1s",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(3), "{err}");
    let s = summary(&out);
    let dropped = s["requests"]["errors"]["by_kind"]["dropped_no_connection"]
        .as_u64()
        .unwrap();
    let sent = s["requests"]["sent"].as_u64().unwrap();
    assert_eq!(s["requests"]["total"], 2_000_000, "{s}");
    assert_eq!(
        dropped + sent + s["in_flight_at_end"].as_u64().unwrap(),
        2_000_000,
        "{s}"
    );
    assert!(dropped > 900_000, "{s}");
    // A debug build idles at about 60 MiB; the queue adds at most 32.
    assert!(rss < 200, "peak RSS {rss} MiB");
}

#[test]
fn memory_grows_with_request_names_by_what_they_record() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut toml = String::from(
        "[target]\nurl = \"embedded\"\n[load]\nrate = 20\nduration = \"3s\"\nthreads = 2\n",
    );
    for i in 0..200 {
        toml.push_str(&format!("[[request]]\nname = \"r{i}\"\npath = \"/r{i}\"\n"));
    }
    let scenario = dir.path().join("names.toml");
    std::fs::write(&scenario, toml).unwrap();
    let out = dir.path().join("r");
    let (code, err, rss) = measured(&[
        "run",
        scenario.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(summary(&out)["generator_limited"], false);
    // Histograms that grow to what they record: the embedded target
    // answers within 2 ms, so each holds 2,048 counters (16 KiB), four per
    // request name and second, in 2 × 2 + 5 places: 200 × 9 × 64 KiB =
    // 113 MiB beside the ≈ 60 MiB a debug build starts with. Sized for an
    // hour each, 200 names took 716 MiB.
    assert!(rss < 320, "peak RSS {rss} MiB");
}

#[test]
fn the_run_lasts_its_configured_window() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    for (rate, requests, want_rate, want_s) in [
        ("10", None, 10.0, 1.0),
        ("20", None, 20.0, 1.0),
        ("1", Some("1"), 1.0, 1.0),
    ] {
        let out = dir.path().join(format!("r{rate}"));
        let mut args = vec![
            "run",
            "--url",
            "embedded",
            "--rate",
            rate,
            "--duration",
            "1s",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        if let Some(n) = requests {
            args.extend(["--requests", n]);
        }
        let o = headroom(&args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let s = summary(&out);
        // Was 10.99 over 0.91 s, 20.85, and 1.5.
        assert_eq!(s["target_rate"].as_f64(), Some(want_rate), "{s}");
        assert_eq!(s["duration_s"].as_f64(), Some(want_s), "{s}");
    }
}

#[test]
fn counts_and_timeouts_of_zero_are_refused() {
    for args in [
        ["--requests", "0"],
        ["--threads", "0"],
        ["--connections", "0"],
        ["--timeout", "0s"],
        ["--duration", "0s"],
    ] {
        let mut all = vec!["run", "--url", "embedded", "--rate", "10"];
        all.extend(args);
        let o = headroom(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(args[0]), "{args:?}: {}", text(&o));
    }
}

#[test]
fn a_results_directory_is_never_overwritten_unless_told_to() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--url",
            "embedded",
            "--rate",
            "20",
            "--duration",
            "1s",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        headroom(&args)
    };
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let first = std::fs::read(out.join("summary.json")).unwrap();
    // Files an earlier command of another kind left (the issue: a stale
    // find.json and parquet series rendered beside the new run).
    std::fs::write(out.join("find.json"), "{}").unwrap();
    std::fs::write(out.join("timeseries.parquet"), "stale").unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();

    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("already holds results (summary.json, scenario.json, latency.hlog"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("--force"), "{}", text(&o));
    assert_eq!(std::fs::read(out.join("summary.json")).unwrap(), first);

    let o = run(&["--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_ne!(std::fs::read(out.join("summary.json")).unwrap(), first);
    assert!(!out.join("find.json").exists());
    assert!(!out.join("timeseries.parquet").exists());
    // What headroom did not write stays.
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );

    // A file where a directory should be.
    let file = dir.path().join("afile");
    std::fs::write(&file, "x").unwrap();
    let o = headroom(&[
        "run",
        "--url",
        "embedded",
        "--rate",
        "10",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("is a file, not a results directory"),
        "{}",
        text(&o)
    );

    // The root or a home directory: refused before any load (was: the
    // results written into /, exit 0).
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    for (out, whose) in [
        ("/", "the root directory"),
        (home.to_str().unwrap(), "your home directory"),
    ] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_headroom"))
            .args([
                "run",
                "--url",
                "embedded",
                "--rate",
                "10",
                "--duration",
                "1s",
                "--out",
                out,
            ])
            .env("HOME", &home)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(whose), "{}", text(&o));
        assert!(!Path::new(out).join("summary.json").exists());
    }

    // Someone's directory that holds no results: refused, --force or not
    // (what --force removes there would be among their files).
    let theirs = dir.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::write(theirs.join("checkout.toml"), "mine").unwrap();
    std::fs::write(theirs.join(".gitkeep"), "").unwrap();
    for force in [false, true] {
        let o = run_into(&theirs, if force { &["--force"] } else { &[] });
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            text(&o).contains("holds other files (checkout.toml) and no headroom results"),
            "{}",
            text(&o)
        );
        assert!(!theirs.join("summary.json").exists());
    }
    // Hidden files alone (a .gitkeep) leave it an empty directory.
    std::fs::remove_file(theirs.join("checkout.toml")).unwrap();
    let o = run_into(&theirs, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

fn run_into(out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "run",
        "--url",
        "embedded",
        "--rate",
        "10",
        "--duration",
        "1s",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    headroom(&args)
}

#[test]
fn a_killed_run_keeps_every_second_but_the_last() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let mut child = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args([
            "run",
            "--url",
            "embedded",
            "--rate",
            "50",
            "--duration",
            "30s",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    // Until three whole seconds are on disk (or ten have passed).
    let seconds_on_disk =
        || std::fs::read_to_string(out.join("timeseries.csv")).map_or(0, |t| t.lines().count() - 1);
    let t0 = std::time::Instant::now();
    while seconds_on_disk() < 3 && t0.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL: no handler runs.
    child.wait().unwrap();
    let kept = seconds_on_disk();
    assert!(kept >= 3, "{kept} seconds in timeseries.csv");

    // Was: both logs 0 bytes, no summary.
    let s = summary(&out);
    assert_eq!(s["interrupted"], true, "{s}");
    assert!(
        s["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("cut short: this summary covers the first"),
        "{s}"
    );
    let n = s["duration_s"].as_f64().unwrap() as u64;
    assert!(
        n >= 3 && s["requests"]["ok"].as_u64().unwrap() >= 100,
        "{s}"
    );
    for log in ["latency.hlog", "detail.hlog"] {
        assert!(std::fs::metadata(out.join(log)).unwrap().len() > 0, "{log}");
    }
    // The readers take it: the report renders it, compare calls it what it is.
    let o = headroom(&["report", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("cut short"), "the page says so");
    let o = headroom(&["compare", out.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("interrupted"), "{}", text(&o));

    // A log whose last line was cut mid-way reads up to it.
    let log = out.join("latency.hlog");
    let bytes = std::fs::read(&log).unwrap();
    std::fs::write(&log, &bytes[..bytes.len() - 10]).unwrap();
    let series = out.join("timeseries.csv");
    let t = std::fs::read(&series).unwrap();
    std::fs::write(&series, &t[..t.len() - 3]).unwrap();
    let o = headroom(&["report", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn throughput_counts_answers_not_timeouts() {
    let _g = serial();
    // A server that accepts and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let t0 = std::time::Instant::now();
        while t0.elapsed() < std::time::Duration::from_secs(8) {
            match listener.accept() {
                Ok((c, _)) => conns.push(c),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let o = headroom(&[
        "run",
        "--url",
        &url,
        "--rate",
        "20",
        "--duration",
        "1s",
        "--timeout",
        "500ms",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    let s = summary(&out);
    assert_eq!(s["requests"]["ok"], 0, "{}", text(&o));
    assert_eq!(
        s["requests"]["errors"]["by_kind"]["request_timeout"], 20,
        "{s}"
    );
    // Was 20 requests/s.
    assert_eq!(s["throughput"].as_f64(), Some(0.0), "{s}");
    drop(held);
}

#[test]
fn compare_across_load_models_is_inconclusive() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("open"), dir.path().join("closed"));
    for (out, load) in [(&a, ["--rate", "50"]), (&b, ["--concurrency", "4"])] {
        let mut args = vec!["run", "--url", "embedded", "--duration", "1s", "--quiet"];
        args.extend(load);
        args.extend(["--out", out.to_str().unwrap()]);
        let o = headroom(&args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    // Was: REGRESSION +127590 %, no warning.
    let o = headroom(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("different load models: open (a rate) vs closed (users)"),
        "{}",
        text(&o)
    );
}

#[test]
fn the_open_file_limit_is_raised_to_the_hard_limit() {
    let _g = serial();
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: reads this process's limit into plain data.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    if lim.rlim_max < 1024 {
        eprintln!("skipped: hard open-file limit {} < 1024", lim.rlim_max);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    // 200 users and the embedded target's 200 accepted connections, under
    // a soft limit of 64 descriptors.
    let o = Command::new("sh")
        .args([
            "-c",
            "ulimit -Sn 64 && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_headroom"),
            "run",
            "--url",
            "embedded",
            "--concurrency",
            "200",
            "--duration",
            "1s",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s = summary(&out);
    assert_eq!(s["requests"]["errors"]["total"], 0, "{s}");

    // More users than descriptors, even at the hard limit: refused before
    // any load (was: EMFILE on connect, then on writing summary.json).
    let o = Command::new("sh")
        .args([
            "-c",
            "ulimit -n 1024 && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_headroom"),
            "run",
            "--url",
            "embedded",
            "--concurrency",
            "2000",
            "--duration",
            "1s",
            "--quiet",
            "--out",
            dir.path().join("many").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("2000 connections need 4064 file descriptors (the embedded target holds the other ends), more than this process may open (1024"),
        "{}",
        text(&o)
    );
}

/// A server that answers every request with `reply`, then closes the
/// connection; it stops accepting after `secs` seconds.
fn serve_raw(reply: Vec<u8>, secs: u64) -> (String, std::thread::JoinHandle<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let h = std::thread::spawn(move || {
        let t0 = std::time::Instant::now();
        while t0.elapsed() < std::time::Duration::from_secs(secs) {
            let Ok((mut c, _)) = listener.accept() else {
                std::thread::sleep(std::time::Duration::from_millis(2));
                continue;
            };
            let _ = c.set_nonblocking(false);
            let _ = c.set_read_timeout(Some(std::time::Duration::from_secs(1)));
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = c.write_all(&reply);
        }
    });
    (url, h)
}

#[test]
fn a_kept_alive_connection_the_server_closed_while_idle_is_retried() {
    let _g = serial();
    // One answer per connection, which the server then closes, as a server
    // with a short keep-alive timeout does; the next arrival is 200 ms
    // later, on the connection the client still thinks is open.
    let (url, server) = serve_raw(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        3,
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let o = headroom(&[
        "run",
        "--url",
        &url,
        "--rate",
        "5",
        "--duration",
        "1s",
        "--connections",
        "1",
        "--timeout",
        "1s",
        "--quiet",
        "--no-report",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s = summary(&out);
    // Every arrival answered, none an error: each one after the first found
    // its connection closed unprocessed and went again on a new one.
    assert_eq!(s["requests"]["ok"], 5, "{}", s["requests"]);
    assert_eq!(s["requests"]["errors"]["total"], 0, "{}", s["requests"]);
    assert_eq!(s["connections_opened"], 5);
    server.join().unwrap();
}

#[test]
fn broken_answers_are_named_with_what_the_client_said() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..120 {
        many.extend_from_slice(format!("X-Header-{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    let http11_only = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    // Not HTTP, or not the HTTP asked for: not a capacity limit (exit 4).
    // A body cut short may be load: without an SLO, exit 0.
    // (what, the reply, extra flags, the error kind, the exit code)
    type Case<'a> = (&'a str, Vec<u8>, &'a [&'a str], &'a str, i32);
    let cases: [Case; 5] = [
        (
            "garbage",
            b"\x00\x01\x02 not http at all\r\n\r\n".to_vec(),
            &[],
            "protocol_error",
            4,
        ),
        ("120 headers", many, &[], "protocol_error", 4),
        (
            "FIN mid-head",
            b"HTTP/1.1 200 OK\r\nContent-".to_vec(),
            &[],
            "truncated_head",
            0,
        ),
        (
            "short body",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789".to_vec(),
            &[],
            "truncated_body",
            0,
        ),
        (
            "h2 to 1.1",
            http11_only.to_vec(),
            &["--http", "2"],
            "h2_not_supported",
            4,
        ),
    ];
    for (name, reply, extra, want, code) in cases {
        let (url, server) = serve_raw(reply, 4);
        let out = dir.path().join(name.replace(' ', "-"));
        let mut args = vec![
            "run",
            "--url",
            &url,
            "--rate",
            "10",
            "--duration",
            "1s",
            "--timeout",
            "1s",
            "--quiet",
            "--no-report",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let o = headroom(&args);
        assert_eq!(o.status.code(), Some(code), "{name}: {}", text(&o));
        let s = summary(&out);
        let errors = &s["requests"]["errors"];
        // Was: `other` for the first two and the last, `reset` for the third.
        assert!(
            errors["by_kind"][want].as_u64().unwrap_or(0) >= 5,
            "{name}: {errors}"
        );
        assert!(errors["by_kind"].get("other").is_none(), "{name}: {errors}");
        let said = errors["samples"][want].as_str().unwrap_or("");
        assert!(!said.is_empty(), "{name}: {errors}");
        server.join().unwrap();
    }
}

#[test]
fn every_documented_exit_code_is_what_its_failure_gives() {
    let _g = serial();
    // One table, in --help (and the README).
    let help = text(&headroom(&["--help"]));
    for line in [
        "0   ok:",
        "1   failed:",
        "2   bad input:",
        "3   inconclusive:",
        "4   target unreachable",
        "5   find: no breaking point",
        "10  something failed inside headroom",
    ] {
        assert!(help.contains(line), "{line:?} not in --help:\n{help}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let unreachable = format!("http://127.0.0.1:{}/", common::free_port());
    let cases: Vec<(i32, Vec<String>)> = vec![
        (
            0,
            vec![
                "run",
                "--url",
                "embedded",
                "--rate",
                "20",
                "--duration",
                "1s",
            ]
            .into_iter()
            .map(String::from)
            .chain(["--out".into(), out("ok")])
            .collect(),
        ),
        // The embedded target's median is about 7 ms.
        (
            1,
            vec![
                "run",
                "--url",
                "embedded",
                "--rate",
                "20",
                "--duration",
                "1s",
                "--slo",
                "p50=1ms",
            ]
            .into_iter()
            .map(String::from)
            .chain(["--out".into(), out("failed")])
            .collect(),
        ),
        (
            2,
            vec!["run", "--url", "embedded", "--rate", "-5"]
                .into_iter()
                .map(String::from)
                .collect(),
        ),
        // One connection for 2,000 arrivals a second at 10 ms each.
        (
            3,
            vec![
                "run",
                "--url",
                "embedded",
                "--rate",
                "2000",
                "--duration",
                "1s",
                "--connections",
                "1",
            ]
            .into_iter()
            .map(String::from)
            .chain(["--out".into(), out("limited")])
            .collect(),
        ),
        (
            4,
            vec![
                "run".to_string(),
                "--url".into(),
                unreachable,
                "--rate".into(),
                "20".into(),
                "--duration".into(),
                "1s".into(),
                "--out".into(),
                out("unreachable"),
            ],
        ),
        (
            5,
            vec![
                "find",
                "--url",
                "embedded",
                "--slo",
                "p99=5s",
                "--start-rate",
                "10",
                "--max-rate",
                "20",
                "--step",
                "1s",
                "--warmup",
                "0s",
                "--confirm",
                "1s",
            ]
            .into_iter()
            .map(String::from)
            .chain(["--out".into(), out("notbroken")])
            .collect(),
        ),
    ];
    for (code, args) in cases {
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.extend(["--quiet", "--no-report"]);
        let o = headroom(&args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", text(&o));
    }
    // 10 is for headroom's own failures (a disk that fills mid-run, a
    // shard that panics): no input reaches it. An --out it cannot write
    // is bad input, found before any load.
    let o = headroom(&[
        "run",
        "--url",
        "embedded",
        "--rate",
        "20",
        "--out",
        "/proc/headroom",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn completions_and_the_manual_page_are_generated_from_the_cli() {
    for shell in ["bash", "zsh", "fish"] {
        let o = headroom(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", text(&o));
        let script = String::from_utf8_lossy(&o.stdout);
        assert!(
            script.contains("headroom") && script.contains("max-rate"),
            "{shell}"
        );
    }
    let o = headroom(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = headroom(&["man"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let page = String::from_utf8_lossy(&o.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH headroom"),
        "{page}"
    );
    assert!(
        page.contains("Exit codes"),
        "the exit-code table is in the page"
    );
}

#[test]
fn messages_say_what_is_wrong_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let fails = |args: &[&str], code: i32, want: &str| {
        let o = headroom(args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains(want),
            "{args:?}: want {want:?} in {}",
            text(&o)
        );
    };
    // Was: `invalid format`.
    fails(
        &["run", "--url", "127.0.0.1:8080/", "--rate", "1"],
        2,
        "did you mean \"http://127.0.0.1:8080/\"",
    );
    // Was: `expected f64`.
    let scenario = dir.path().join("s.toml");
    std::fs::write(
        &scenario,
        "[target]\nurl = \"embedded\"\n[load]\nrate = \"fast\"\nduration = \"1s\"\n",
    )
    .unwrap();
    fails(
        &["run", scenario.to_str().unwrap()],
        2,
        "expected a number (rate is a number of requests per second)",
    );
    // Was: the same words for a missing and an empty directory.
    fails(&["report", "/nonexistent/results"], 2, "no such directory");
    fails(
        &["report", dir.path().to_str().unwrap()],
        2,
        "no summary.json, find.json",
    );
    // Was: "No such file … summary.json".
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/report");
    fails(
        &[
            "compare",
            &format!("{fixtures}/run"),
            &format!("{fixtures}/find"),
        ],
        2,
        "it holds a breaking-point search (find.json), not a run's results",
    );
    // Quiet, not silent: a failing run says why on stderr (was: nothing).
    let (url, server) = serve_raw(
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_vec(),
        3,
    );
    let out = dir.path().join("r");
    let o = headroom(&[
        "run",
        "--url",
        &url,
        "--rate",
        "10",
        "--duration",
        "1s",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("target unusable: every request to / answered 403 Forbidden"),
        "{err}"
    );
    server.join().unwrap();
}

/// A signal stops the commands that only compute and read (forecast, plan,
/// slo, usl, compare, report, merge, k8s): their Ctrl-C handler set a flag
/// only the load loops read, so `plan` with 10,000 regions and `forecast`
/// of a long history ran on through SIGTERM until `kill -9` (issue 34).
/// Here `forecast` waits on a Prometheus that accepted the connection and
/// never answers (its own timeout is 60 s); SIGTERM after 1 s must end it
/// with exit 3 (interrupted) within seconds.
#[test]
fn a_signal_stops_a_command_that_only_computes() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        // Accept and hold, never answer; ends when the test process does.
        let mut open = Vec::new();
        for c in listener.incoming().take(4) {
            open.push(c);
        }
        std::thread::sleep(std::time::Duration::from_secs(120));
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args([
            "forecast",
            "--prometheus",
            &url,
            "--query",
            "demand",
            "--range",
            "1d",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert!(
        child.try_wait().unwrap().is_none(),
        "forecast ended before the signal"
    );
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("forecast still running 15 s after SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("interrupted"), "{}", text(&o));
    drop(held);
}

/// `kill -9` 3-4 s into `find` left only the first step's interval log,
/// into `stress` only `latency.hlog` (issue 34). Now the result document
/// is rewritten (whole, then renamed) after every step and every second:
/// a killed search keeps each judged step in a file that says it was
/// interrupted, and the report renders it.
#[test]
fn a_killed_search_keeps_every_judged_step() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let killed = |args: &[&str], out: &Path, file: &str, part: &str, want: usize| -> Value {
        let mut child = Command::new(env!("CARGO_BIN_EXE_headroom"))
            .args(args)
            .args(["--quiet", "--no-report", "--out", out.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let on_disk = || -> Option<Value> {
            let v: Value =
                serde_json::from_str(&std::fs::read_to_string(out.join(file)).ok()?).ok()?;
            (v[part].as_array()?.len() >= want).then_some(v)
        };
        let t0 = std::time::Instant::now();
        while on_disk().is_none() && t0.elapsed() < std::time::Duration::from_secs(30) {
            assert!(
                child.try_wait().unwrap().is_none(),
                "{args:?} ended before the kill"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        child.kill().unwrap(); // SIGKILL: no handler runs.
        child.wait().unwrap();
        on_disk().unwrap_or_else(|| panic!("{args:?}: no {file} with {want} {part} after 30 s"))
    };
    let find = dir.path().join("find");
    let f = killed(
        &[
            "find",
            "--url",
            "embedded",
            "--slo",
            "p99=5s",
            "--start-rate",
            "20",
            "--max-rate",
            "100000",
            "--step",
            "1s",
            "--warmup",
            "0s",
        ],
        &find,
        "find.json",
        "steps",
        2,
    );
    assert_eq!(f["outcome"], "interrupted", "{f}");
    assert!(f["sustainable_rps"].is_null(), "{f}");
    let stress = dir.path().join("stress");
    let s = killed(
        &[
            "stress",
            "--url",
            "embedded",
            "--slo",
            "p99=5s",
            "--capacity",
            "50",
            "--settle",
            "5s",
            "--hold",
            "30s",
        ],
        &stress,
        "stress.json",
        "seconds",
        3,
    );
    assert_eq!(s["interrupted"], true, "{s}");
    assert_eq!(s["verdict"], "inconclusive", "{s}");
    for out in [&find, &stress] {
        let o = headroom(&["report", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
}
