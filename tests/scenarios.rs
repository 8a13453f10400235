//! Scenario files: every file in scenarios/ parses, and malformed ones are
//! refused with file, line, column, what was expected, and exit code 2.

use std::path::Path;
use std::process::Command;

use headroom::scenario::{self, Error, LoadModel, TargetSpec};

#[test]
fn every_scenario_in_the_repo_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let plan = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(!plan.requests.is_empty(), "{}", path.display());
            assert!(plan.load.model.duration().as_secs_f64() > 0.0);
            seen += 1;
        }
    }
    assert!(seen >= 4, "expected the example scenarios, found {seen}");
}

#[test]
fn the_demo_scenario_is_the_one_demo_runs() {
    let on_disk =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/demo.toml"))
            .unwrap();
    assert_eq!(on_disk, headroom::app::DEMO_SCENARIO);
    let plan = scenario::parse(Path::new("demo.toml"), &on_disk).unwrap();
    assert!(matches!(plan.target, TargetSpec::Embedded(_)));
    assert!(matches!(plan.load.model, LoadModel::Open { .. }));
}

/// (file text, line, column, part of the message)
const BAD: &[(&str, usize, usize, &str)] = &[
    // Not TOML at all.
    ("target = { url = \"http://127.0.0.1:1\" \n", 1, 38, "expected"),
    // A field that does not exist.
    ("target = { url = \"http://127.0.0.1:1\" }\n[load]\nrate = 10\nduraton = \"1s\"\n", 4, 1, "unknown field `duraton`"),
    // Wrong type.
    ("target = { url = \"http://127.0.0.1:1\" }\n[load]\nrate = \"fast\"\nduration = \"1s\"\n", 3, 8, "invalid type"),
    // Missing section.
    ("target = { url = \"http://127.0.0.1:1\" }\n", 1, 1, "missing field `load`"),
    // Duration without a unit.
    ("target = { url = \"http://127.0.0.1:1\" }\n[load]\nrate = 10\nduration = \"10\"\n", 4, 12, "needs a unit"),
    // Negative rate.
    ("target = { url = \"http://127.0.0.1:1\" }\n[load]\nrate = -5.0\nduration = \"1s\"\n", 3, 8, "expected a rate"),
    // Unknown model.
    ("target = { url = \"http://127.0.0.1:1\" }\n[load]\nmodel = \"half-open\"\n", 3, 9, "expected model = \"open\" or \"closed\""),
    // Closed model without concurrency.
    ("target = { url = \"http://127.0.0.1:1\" }\n[load]\nmodel = \"closed\"\nduration = \"1s\"\n", 2, 1, "needs concurrency"),
    // Bad URL.
    ("target = { url = \"ftp://example\" }\n[load]\nrate = 1\nduration = \"1s\"\n", 1, 18, "http:// or https://"),
    // Unknown stage kind.
    ("target = { url = \"http://127.0.0.1:1\" }\n[load]\nstages = [{ kind = \"spike\", rate = 1, duration = \"1s\" }]\n", 3, 20, "unknown stage kind"),
    // A path without a leading slash.
    ("target = { url = \"http://127.0.0.1:1\" }\n[[request]]\npath = \"index.html\"\n[load]\nrate = 1\nduration = \"1s\"\n", 3, 8, "starting with '/'"),
    // An SLO that is not a quantile.
    ("target = { url = \"http://127.0.0.1:1\" }\n[load]\nrate = 1\nduration = \"1s\"\n[slo]\nmedian = \"5ms\"\n", 6, 10, "unknown SLO"),
    // An error share over 100 %.
    ("target = { url = \"http://127.0.0.1:1\" }\n[load]\nrate = 1\nduration = \"1s\"\n[slo]\nerrors = \"150%\"\n", 6, 10, "between 0 and 1"),
    // Embedded target with zero workers.
    ("target = { url = \"embedded\", embedded = { workers = 0 } }\n[load]\nrate = 1\nduration = \"1s\"\n", 1, 53, "at least 1"),
    // A stall longer than its period.
    ("[target]\nurl = \"embedded\"\n[target.embedded]\nstall = { every = \"1s\", pause = \"2s\" }\n[load]\nrate = 1\nduration = \"1s\"\n", 4, 9, "shorter than its period"),
    // A search that would never grow.
    (
        "target = { url = \"http://127.0.0.1:1\" }\n[load]\nrate = 1\nduration = \"1s\"\n[search]\ngrowth = 1.0\n",
        6,
        10,
        "growth must be > 1",
    ),
    // Sweep levels out of order.
    (
        "target = { url = \"http://127.0.0.1:1\" }\n[load]\nrate = 1\nduration = \"1s\"\n[sweep]\nlevels = [1, 4, 2]\n",
        6,
        10,
        "levels must be increasing",
    ),
];

#[test]
fn malformed_scenarios_are_located_in_process() {
    for (text, line, column, needle) in BAD {
        let err = scenario::parse(Path::new("bad.toml"), text).expect_err(text);
        let Error::Invalid {
            line: l,
            column: c,
            message,
            ..
        } = &err
        else {
            panic!("{text}: not a located error: {err}");
        };
        assert_eq!((*l, *c), (*line, *column), "{text}\n{err}");
        assert!(
            message.contains(needle),
            "{text}\nmessage: {message}\nwanted: {needle}"
        );
    }
}

#[test]
fn malformed_scenarios_exit_2_with_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (text, line, column, needle)) in BAD.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_headroom"))
            .arg("run")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}\n{stderr}");
        let location = format!("{}:{line}:{column}: ", path.display());
        assert!(
            stderr.contains(&location),
            "wanted {location} in:\n{stderr}"
        );
        assert!(stderr.contains(needle), "wanted {needle:?} in:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn bad_flags_and_missing_files_exit_2() {
    for args in [
        vec!["run"],
        vec!["run", "--url", "http://127.0.0.1:1/"],
        vec![
            "run",
            "--url",
            "http://127.0.0.1:1/",
            "--rate",
            "10",
            "--concurrency",
            "2",
        ],
        vec![
            "run",
            "--url",
            "http://127.0.0.1:1/",
            "--rate",
            "10",
            "--duration",
            "ten",
        ],
        vec!["run", "/nonexistent/scenario.toml"],
        vec!["target", "--workers", "0", "--for", "1s"],
        vec![
            "target",
            "--service",
            "lognormal",
            "--sigma",
            "0",
            "--for",
            "1s",
        ],
        vec!["target", "--contention-sigma", "-1", "--for", "1s"],
        vec![
            "find", "--url", "embedded", "--slo", "p99=1s", "--step", "0s",
        ],
        vec![
            "find", "--url", "embedded", "--slo", "p99=1s", "--growth", "1",
        ],
        vec!["find", "--url", "embedded"],
        vec!["find", "--url", "embedded", "--slo", "p99"],
        vec!["sweep", "--url", "embedded", "--step", "0s"],
        vec!["sweep", "--url", "embedded", "--levels", "4,2"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_headroom"))
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
