//! Nothing a user types makes headroom panic or exit with a code the table
//! does not list (issue 16): command lines drawn from a vocabulary of
//! commands, flags and hostile values (negative, zero, huge, NaN, empty,
//! not UTF-8-looking, wrong files), each run to its end or stopped with
//! SIGINT after a few seconds. The cases are drawn from a fixed seed: the
//! same ones every run, so that CI never fails on a new draw.

mod common;
use common::serial;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Per command: its positional slots and flags, each with values that are
/// right, borderline and wrong; `F` stands for a fixture path.
type Grammar = &'static [(
    &'static str,
    &'static [&'static [&'static str]],
    &'static [(&'static str, &'static [&'static str])],
)];

const URLS: &[&str] = &[
    "embedded",
    "http://127.0.0.1:1/",
    "127.0.0.1:8080/",
    "http://[::1",
    "ftp://x",
    "",
];
const RATES: &[&str] = &["20", "50", "0", "-1", "1e12", "NaN", "abc", "0.5"];
const DURATIONS: &[&str] = &["1s", "500ms", "0s", "-5s", "99999999999d", "abc", ""];
const COUNTS: &[&str] = &["1", "4", "0", "-1", "100000", "x"];
const SLOS: &[&str] = &[
    "p99=100ms",
    "p50=1ms",
    "errors=1%",
    "p99=",
    "errors=200%",
    "p101=1s",
    "x",
];
const FILES: &[&str] = &[
    "F/tests/fixtures/cisco_schwartz.csv",
    "F/tests/fixtures/raytracer.csv",
    "F/models/plan.toml",
    "F/scenarios/overload.toml",
    "F/Cargo.toml",
    "F/README.md",
    "/dev/null",
    "/nonexistent",
    "",
];
/// `C/` stands for a copy of `tests/fixtures/report` (a `report` writes
/// into the directory it renders: never into the source tree).
const DIRS: &[&str] = &[
    "C/run",
    "C/find",
    "C/plan",
    "C",
    "/nonexistent",
    "/dev/null",
];

const GRAMMAR: Grammar = &[
    (
        "run",
        &[],
        &[
            ("--url", URLS),
            ("--rate", RATES),
            ("--concurrency", COUNTS),
            ("--duration", DURATIONS),
            ("--requests", COUNTS),
            ("--threads", COUNTS),
            ("--connections", COUNTS),
            ("--timeout", DURATIONS),
            ("--slo", SLOS),
            ("--http", &["1.1", "2", "auto", "3"]),
            ("--format", &["csv", "parquet", "xml"]),
            ("--segment", &["0/2", "1/1", "3/2", "0/0", "x"]),
        ],
    ),
    (
        "find",
        &[],
        &[
            ("--url", URLS),
            ("--slo", SLOS),
            ("--start-rate", RATES),
            ("--max-rate", RATES),
            ("--growth", &["2", "1", "0.5", "NaN"]),
            ("--precision", &["5%", "0%", "200%", "x"]),
            ("--step", DURATIONS),
            ("--warmup", DURATIONS),
            ("--max-time", DURATIONS),
        ],
    ),
    (
        "sweep",
        &[],
        &[
            ("--url", URLS),
            ("--levels", &["1,2,4", "0", "4,2,1", "x", ""]),
            ("--max-concurrency", COUNTS),
            ("--step", DURATIONS),
        ],
    ),
    (
        "stress",
        &[],
        &[
            ("--url", URLS),
            ("--slo", SLOS),
            ("--capacity", RATES),
            ("--overload", &["2x", "1", "0.5", "x"]),
            ("--hold", DURATIONS),
            ("--settle", DURATIONS),
            ("--recovery", DURATIONS),
        ],
    ),
    (
        "compare",
        &[DIRS, DIRS],
        &[("--threshold", &["10%", "p99=5%", "-1%", "x"])],
    ),
    ("report", &[DIRS], &[]),
    (
        "merge",
        &[DIRS, DIRS],
        &[("--out", &["merged", "", "/dev/null"])],
    ),
    (
        "usl",
        &[FILES],
        &[("--concurrency-column", &["N", "x", ""]), ("--json", &[])],
    ),
    (
        "forecast",
        &[FILES],
        &[
            ("--horizon", &["30d", "0d", "1000000d", "6mo", "x"]),
            ("--step", &["1d", "1h", "0s", "x"]),
            ("--aggregate", &["sum", "mean", "max", "x"]),
        ],
    ),
    (
        "plan",
        &[FILES],
        &[("--out", &["out", "", "/dev/null"]), ("--json", &[])],
    ),
    (
        "k8s",
        &[FILES],
        &[("--workers", COUNTS), ("--start-delay", COUNTS)],
    ),
];

/// Runs one command line in `dir` (default outputs land there), stopped
/// with SIGINT after 3 s; its exit code, or `None` for a signal.
fn run(args: &[String], dir: &std::path::Path) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut interrupted = false;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            return (status.code(), err);
        }
        if !interrupted && start.elapsed() > Duration::from_secs(3) {
            // SAFETY: signals our own child.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
            interrupted = true;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("{args:?} did not stop within 30 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_command_line_ends_with_a_documented_exit_code() {
    let _g = serial();
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("fixtures");
    let src = std::path::Path::new(root).join("tests/fixtures/report");
    for part in ["run", "find", "sweep", "stress", "plan"] {
        std::fs::create_dir_all(copy.join(part)).unwrap();
        for e in std::fs::read_dir(src.join(part)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), copy.join(part).join(e.file_name())).unwrap();
        }
    }
    let copy = copy.to_str().unwrap().to_string();
    let fill = move |v: &str| {
        if v == "C" || v.starts_with("C/") {
            v.replacen('C', &copy, 1)
        } else {
            v.replacen("F/", &format!("{root}/"), 1)
        }
    };
    // A command, a value for each positional slot, and each flag with a
    // probability of one in four and one of its values.
    let line = proptest::sample::select(GRAMMAR).prop_flat_map(move |(cmd, slots, flags)| {
        let slots: Vec<_> = slots
            .iter()
            .map(|pool| proptest::sample::select(*pool))
            .collect();
        let flags: Vec<_> = flags
            .iter()
            .map(|&(flag, pool)| {
                let value = if pool.is_empty() {
                    Just(None).boxed()
                } else {
                    proptest::sample::select(pool).prop_map(Some).boxed()
                };
                (proptest::bool::weighted(0.25), value)
                    .prop_map(move |(on, v)| on.then_some((flag, v)))
            })
            .collect();
        (Just(cmd), slots, flags)
    });
    let config = Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let case = std::cell::Cell::new(0);
    let codes = std::cell::RefCell::new(std::collections::BTreeMap::<i32, u32>::new());
    runner
        .run(&line, |(cmd, slots, flags)| {
            let n = case.get();
            case.set(n + 1);
            // Each line its own working directory: no line finds another's
            // results where it writes its own.
            let cwd = dir.path().join(n.to_string());
            std::fs::create_dir_all(&cwd).unwrap();
            let mut args = vec![cmd.to_string()];
            args.extend(slots.iter().map(|v| fill(v)));
            for (flag, value) in flags.into_iter().flatten() {
                args.push(flag.to_string());
                args.extend(value.map(&fill));
            }
            if matches!(cmd, "run" | "find" | "sweep" | "stress" | "merge") {
                args.extend(["--quiet".into(), "--no-report".into()]);
            }
            let (code, err) = run(&args, &cwd);
            *codes.borrow_mut().entry(code.unwrap_or(-1)).or_default() += 1;
            prop_assert!(
                matches!(code, Some(0..=5)),
                "{args:?} exited {code:?}: {err}"
            );
            prop_assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
            Ok(())
        })
        .unwrap();
    println!("exit codes drawn: {:?}", codes.borrow());
}
