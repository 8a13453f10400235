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
    // request name and second, in 2 × 2 + 4 places: 200 × 8 × 64 KiB =
    // 100 MiB beside the ≈ 60 MiB a debug build starts with. Sized for an
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
