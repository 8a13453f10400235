//! The fuzz smoke: every input in `fuzz/corpus/` (seeds, and what
//! `cargo +nightly fuzz run TARGET` found and kept) through the same entry
//! points as the fuzz targets in `fuzz/fuzz_targets/`, on stable, in every
//! test run. A panic here is a crash a fuzzer found.

use std::path::Path;

use headroom::input::{history, table::Table};

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut all: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (p.display().to_string(), std::fs::read(&p).unwrap())
        })
        .collect();
    all.sort();
    assert!(!all.is_empty(), "{}: no inputs", dir.display());
    all
}

#[test]
fn scenario_inputs() {
    for (_, data) in corpus("scenario") {
        if let Ok(text) = std::str::from_utf8(&data) {
            let _ = headroom::scenario::parse(Path::new("fuzz.toml"), text);
        }
    }
}

#[test]
fn table_inputs() {
    for (_, data) in corpus("table") {
        if let Ok(t) = Table::from_csv(Path::new("fuzz.csv"), data) {
            let _ = history::from_table(&t, &history::Options::default());
        }
    }
}

#[test]
fn hlog_inputs() {
    for (_, data) in corpus("hlog") {
        let _ = headroom::results::hlog::read(&data);
    }
}

#[test]
fn response_inputs() {
    for (_, data) in corpus("response") {
        let _ = headroom::load::answer_to(&data, false);
        let _ = headroom::load::answer_to(&data, true);
    }
}

#[test]
fn slo_inputs() {
    for (_, data) in corpus("slo") {
        if let Ok(text) = std::str::from_utf8(&data) {
            let _ = headroom::input::slo::parse(Path::new("fuzz.yaml"), text);
            let _ = headroom::input::slo::parse(Path::new("fuzz.toml"), text);
        }
    }
}
