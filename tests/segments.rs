//! Beyond one machine: `run --segment i/N` in N processes against one local
//! server reproduces a single-process run of the same schedule, `merge`
//! combines the segments exactly and refuses what does not belong
//! together, and `k8s` writes manifests that parse and carry the Indexed
//! Job's fields. Load tests: this binary runs in the serial `load` group.

mod common;
use common::{headroom, serial, text};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use headroom::embedded::{self, ServiceTime, TargetConfig};
use serde_json::Value;

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// All latencies of a results directory in one histogram (µs).
fn all_latencies(dirs: &[PathBuf]) -> hdrhistogram::Histogram<u64> {
    let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
    for d in dirs {
        let log = headroom::results::hlog::read_file(&d.join("latency.hlog")).unwrap();
        for iv in &log.latency.all {
            iv.add_to(&mut h).unwrap();
        }
    }
    h
}

fn scenario(dir: &Path, url: &str) -> PathBuf {
    let path = dir.join("seg.toml");
    std::fs::write(
        &path,
        format!(
            r#"
name = "segmented"
[target]
url = "{url}"
[[request]]
name = "home"
path = "/"
weight = 2
[[request]]
name = "search"
path = "/search"
[load]
rate = 600
duration = "4s"
threads = 1
[slo]
p99 = "200ms"
min_rate = "98%"
"#
        ),
    )
    .unwrap();
    path
}

fn run_segments(s: &Path, dir: &Path, run_id: &str, n: u32) -> Vec<PathBuf> {
    let start = chrono::Utc::now() + chrono::Duration::seconds(3);
    let start = start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let children: Vec<(PathBuf, std::process::Child)> = (0..n)
        .map(|i| {
            let out = dir.join(format!("{run_id}-seg{i}"));
            let child = Command::new(env!("CARGO_BIN_EXE_headroom"))
                .args([
                    "run",
                    s.to_str().unwrap(),
                    "--segment",
                    &format!("{i}/{n}"),
                    "--start-at",
                    &start,
                    "--run-id",
                    run_id,
                    "--quiet",
                    "--no-report",
                    "--out",
                    out.to_str().unwrap(),
                ])
                .spawn()
                .unwrap();
            (out, child)
        })
        .collect();
    children
        .into_iter()
        .map(|(out, child)| {
            let o = child.wait_with_output().unwrap();
            assert_eq!(o.status.code(), Some(0), "{}", text(&o));
            out
        })
        .collect()
}

#[test]
fn three_segments_merge_into_the_single_run() {
    let _g = serial();
    // One server for everyone: 64 workers × 5 ms = 12,800 requests/s.
    let t = embedded::spawn(
        TargetConfig {
            workers: 64,
            service_time: ServiceTime::Fixed {
                mean: Duration::from_millis(5),
            },
            ..TargetConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), &t.url());
    let single = dir.path().join("single");
    let o = headroom(&[
        "run",
        s.to_str().unwrap(),
        "--quiet",
        "--no-report",
        "--out",
        single.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let segs = run_segments(&s, dir.path(), "r1", 3);
    let merged = dir.path().join("merged");
    let o = headroom(&[
        "merge",
        segs[0].to_str().unwrap(),
        segs[1].to_str().unwrap(),
        segs[2].to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let m = json(&merged.join("summary.json"));
    let one = json(&single.join("summary.json"));
    // Uniform arrivals at 600/s for 4 s: exactly 2,400, split by name the
    // same way (the request is a function of the arrival's index).
    assert_eq!(one["requests"]["total"], 2400);
    assert_eq!(m["requests"]["total"], one["requests"]["total"]);
    for i in 0..2 {
        assert_eq!(m["per_request"][i]["name"], one["per_request"][i]["name"]);
        assert_eq!(
            m["per_request"][i]["requests"]["total"], one["per_request"][i]["requests"]["total"],
            "{}",
            m["per_request"][i]["name"]
        );
    }
    let seg_totals: u64 = segs
        .iter()
        .map(|d| {
            json(&d.join("summary.json"))["requests"]["total"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert_eq!(seg_totals, 2400);
    // Merged percentiles are those of one histogram holding every value.
    let all = all_latencies(&segs);
    assert_eq!(all.len(), m["requests"]["ok"].as_u64().unwrap());
    for (q, key) in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99"), (0.999, "p999")] {
        let want = all.value_at_quantile(q) as f64 / 1000.0;
        assert_eq!(m["latency_ms"][key].as_f64().unwrap(), want, "{key}");
    }
    // The merged log holds the same values.
    assert_eq!(
        all_latencies(std::slice::from_ref(&merged)).len(),
        all.len()
    );
    // Achieved rate within 1 % of the single run's; the SLOs (p99 and the
    // minimum rate as a share of the whole run's target) judged merged.
    let (a, b) = (
        m["achieved_rate"].as_f64().unwrap(),
        one["achieved_rate"].as_f64().unwrap(),
    );
    println!("achieved: merged {a:.1}/s, single {b:.1}/s");
    assert!((a / b - 1.0).abs() <= 0.01, "merged {a} vs single {b}");
    assert!(
        (m["target_rate"].as_f64().unwrap() - 600.0).abs() < 6.0,
        "{}",
        m["target_rate"]
    );
    let min_rate = m["slo"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "min_rate")
        .unwrap();
    assert!(
        (min_rate["threshold"].as_f64().unwrap() - 588.0).abs() < 6.0,
        "{min_rate}"
    );
    assert_eq!(m["segment"]["count"], 3);
    assert!(m["segment"].get("index").is_none());
    assert!(merged.join("report.html").exists() && merged.join("timeseries.csv").exists());
    // The merged directory is a normal results directory: compare reads it
    // (its verdict is not asserted: three generator processes beside the
    // server on two cores are not the single run's conditions).
    let o = headroom(&[
        "compare",
        single.to_str().unwrap(),
        merged.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let c: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    assert_eq!(c["schema"], "headroom.compare/2", "{}", text(&o));
    assert!(matches!(o.status.code(), Some(0 | 1 | 3)), "{}", text(&o));
    let rates = c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["metric"] == "rate")
        .count();
    assert_eq!(rates, 3, "all, home and search");

    // A segment's error messages survive the merge (they were dropped).
    let failing = copy(&segs[1], &dir.path().join("failing"), |v| {
        let e = &mut v["per_request"][0]["requests"]["errors"];
        e["total"] = 1.into();
        e["by_kind"] = serde_json::json!({ "reset": 1 });
        e["samples"] = serde_json::json!({ "reset": "connection reset by peer" });
    });
    let with_errors = dir.path().join("merged-errors");
    let o = headroom(&[
        "merge",
        segs[0].to_str().unwrap(),
        failing.to_str().unwrap(),
        segs[2].to_str().unwrap(),
        "--out",
        with_errors.to_str().unwrap(),
        "--quiet",
        "--no-report",
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o));
    let v = json(&with_errors.join("summary.json"));
    for errors in [
        &v["requests"]["errors"],
        &v["per_request"][0]["requests"]["errors"],
    ] {
        assert_eq!(
            errors["samples"]["reset"], "connection reset by peer",
            "{errors}"
        );
    }

    // Refusals, each naming what is wrong.
    let refuse = |dirs: &[&Path], want: &str| {
        let mut args = vec!["merge"];
        args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
        let out = dir.path().join("refused");
        args.extend(["--out", out.to_str().unwrap(), "--quiet"]);
        let o = headroom(&args);
        assert_eq!(o.status.code(), Some(2), "{want}: {}", text(&o));
        assert!(text(&o).contains(want), "{want}: {}", text(&o));
    };
    refuse(&[&segs[0], &segs[1]], "missing segment 2 of 3");
    // Into one of its own segments: refused, --force or not (it once
    // overwrote segment 0 with the merged run, exit 0).
    let before = std::fs::read(segs[0].join("summary.json")).unwrap();
    for force in [false, true] {
        let mut args = vec!["merge"];
        args.extend(segs.iter().map(|d| d.to_str().unwrap()));
        args.extend(["--out", segs[0].to_str().unwrap(), "--quiet"]);
        if force {
            args.push("--force");
        }
        let o = headroom(&args);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            text(&o).contains("one of this command's inputs"),
            "{}",
            text(&o)
        );
    }
    assert_eq!(std::fs::read(segs[0].join("summary.json")).unwrap(), before);
    // Into the last merge's directory: refused without --force.
    let mut again = vec!["merge"];
    again.extend(segs.iter().map(|d| d.to_str().unwrap()));
    again.extend(["--out", merged.to_str().unwrap(), "--quiet", "--no-report"]);
    let o = headroom(&again);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("already holds results"), "{}", text(&o));
    again.push("--force");
    let o = headroom(&again);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        !merged.join("report.html").exists(),
        "the old report is gone"
    );
    refuse(
        &[&segs[0], &segs[0], &segs[1]],
        "segment 0/3 is given twice",
    );
    refuse(&[&segs[0], &segs[1], &single], "not a segment");
    // Another run's segment.
    let other = run_segments(&s, dir.path(), "r2", 3);
    refuse(
        &[&segs[0], &segs[1], &other[2]],
        "segments of different runs",
    );
    // Same run id, another scenario (its digest differs).
    let changed = copy(&segs[2], &dir.path().join("changed"), |v| {
        v["segment"]["plan_digest"] = "0000000000000000".into();
    });
    refuse(&[&segs[0], &segs[1], &changed], "ran different scenarios");
    // A segment that started 2 s late.
    let late = copy(&segs[2], &dir.path().join("late"), |v| {
        let t = chrono::DateTime::parse_from_rfc3339(v["started_at"].as_str().unwrap()).unwrap();
        v["started_at"] = (t + chrono::Duration::seconds(2)).to_rfc3339().into();
    });
    refuse(
        &[&segs[0], &segs[1], &late],
        "started 2.000 s after segment",
    );
}

/// A copy of a results directory with its summary edited.
fn copy(src: &Path, to: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
    let mut v = json(&to.join("summary.json"));
    edit(&mut v);
    std::fs::write(to.join("summary.json"), v.to_string()).unwrap();
    to.to_path_buf()
}

#[test]
fn k8s_manifests_parse_and_carry_the_indexed_job() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(dir.path(), "http://checkout.shop.svc:8080");
    let out = dir.path().join("k8s.yaml");
    let o = headroom(&[
        "k8s",
        s.to_str().unwrap(),
        "--workers",
        "4",
        "--image",
        "registry.example/headroom:1.0",
        "--namespace",
        "load",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let yaml = std::fs::read_to_string(&out).unwrap();
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ConfigMap", "PersistentVolumeClaim", "Job", "Job"]);
    let cm = &docs[0];
    assert!(cm["data"]["scenario.toml"]
        .as_str()
        .unwrap()
        .contains("rate = 600"));
    let job = &docs[2]["spec"];
    assert_eq!(job["completionMode"].as_str(), Some("Indexed"));
    assert_eq!(job["completions"].as_i64(), Some(4));
    assert_eq!(job["parallelism"].as_i64(), Some(4));
    let c = &job["template"]["spec"]["containers"][0];
    assert_eq!(c["image"].as_str(), Some("registry.example/headroom:1.0"));
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let after = |flag: &str| args[args.iter().position(|a| *a == flag).unwrap() + 1];
    assert_eq!(after("--segment"), "$(JOB_COMPLETION_INDEX)/4");
    assert!(chrono::DateTime::parse_from_rfc3339(after("--start-at")).is_ok());
    assert_eq!(
        c["env"][0]["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
        Some("metadata.annotations['batch.kubernetes.io/job-completion-index']")
    );
    assert_eq!(c["resources"]["requests"]["cpu"].as_str(), Some("2"));
    let merge = docs[3]["spec"]["template"]["spec"]["containers"][0]["args"][0]
        .as_str()
        .unwrap();
    assert!(
        merge.contains("-ge 4 ]") && merge.contains("; headroom merge /results/"),
        "{merge}"
    );
    // The manifests, start time masked.
    let start = after("--start-at").to_string();
    let stamp = chrono::DateTime::parse_from_rfc3339(&start)
        .unwrap()
        .format("%Y%m%dt%H%M%Sz")
        .to_string();
    insta::assert_snapshot!(yaml.replace(&start, "[START]").replace(&stamp, "[STAMP]"));
    // A scenario against the embedded target makes no sense on a cluster.
    std::fs::write(
        &s,
        "[target]\nurl = \"embedded\"\n[load]\nrate = 10\nduration = \"1s\"\n",
    )
    .unwrap();
    let o = headroom(&["k8s", s.to_str().unwrap(), "--workers", "2"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
