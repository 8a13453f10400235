//! `headroom usl`, `forecast` and `plan` from files, as a user runs them.
//! Reference values: tests/fixtures/README.md (sources cited there).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn headroom(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn usl_on_the_cisco_table_matches_the_published_fit() {
    // B. Schwartz, Practical Scalability Analysis with the USL: σ 0.02671591,
    // κ 7.690945e-4, λ 995.6486, N* 35.574.
    let v = json(&headroom(&[
        "usl",
        "tests/fixtures/cisco_schwartz.csv",
        "--json",
    ]));
    assert!(rel(v["sigma"].as_f64().unwrap(), 0.02671591) < 1e-4, "{v}");
    assert!(rel(v["kappa"].as_f64().unwrap(), 7.690945e-4) < 1e-4);
    assert!(rel(v["lambda"].as_f64().unwrap(), 995.6486) < 1e-4);
    assert!(rel(v["peak_concurrency"].as_f64().unwrap(), 35.574) < 1e-4);
    assert!(v["sigma_std_error"].as_f64().unwrap() > 0.0);
    // X(N*) = λN* / (1 + σ(N* − 1) + κN*(N* − 1)) with the published fit.
    assert!(
        rel(v["peak_throughput"].as_f64().unwrap(), 12_342.85) < 1e-4,
        "{v}"
    );
}

#[test]
fn usl_reads_a_sweep_json_and_warns_on_few_points() {
    let dir = tempfile::tempdir().unwrap();
    // Five exact points of σ 0.05, κ 0.002, λ 100.
    // A sweep.json as `headroom sweep` writes it (read through its type:
    // a partial document is refused, see the report tests).
    use headroom::results::sweep::{Point, SweepResult, SCHEMA};
    use headroom::results::verdict::{Attribution, Verdict};
    let x = |n: f64| 100.0 * n / (1.0 + 0.05 * (n - 1.0) + 0.002 * n * (n - 1.0));
    let sweep = SweepResult {
        schema: SCHEMA.into(),
        points: [1, 4, 8, 16, 32]
            .iter()
            .map(|&n| Point {
                concurrency: n,
                throughput: x(f64::from(n)),
                latency_ms: Default::default(),
                error_share: Some(0.0),
                verdict: Verdict::Pass,
                reason: "every SLO held".into(),
                attribution: Attribution::None,
            })
            .collect(),
        stop_reason: "all levels measured".into(),
        usl: None,
        usl_error: None,
        interrupted: false,
        target_unusable: false,
    };
    let path = dir.path().join("sweep.json");
    std::fs::write(&path, serde_json::to_string(&sweep).unwrap()).unwrap();
    let v = json(&headroom(&["usl", path.to_str().unwrap(), "--json"]));
    assert!(rel(v["sigma"].as_f64().unwrap(), 0.05) < 1e-6, "{v}");
    assert!(rel(v["kappa"].as_f64().unwrap(), 0.002) < 1e-6);
    let warnings = v["warnings"].to_string();
    assert!(warnings.contains("only 5 points"), "{warnings}");
}

#[test]
fn usl_bad_cell_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(
        &path,
        "concurrency,throughput\n1,100\n2,190\n4,abc\n8,600\n",
    )
    .unwrap();
    let out = headroom(&["usl", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("bad.csv:4") && e.contains("expected a number, found `abc`"),
        "{e}"
    );
    // A file that is no table says so.
    let out = headroom(&["usl", "models/plan.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("plan.toml:2: not a CSV table"),
        "{}",
        stderr(&out)
    );
    // Columns that cannot be told apart are named.
    std::fs::write(&path, "a,b\n1,2\n").unwrap();
    let out = headroom(&["usl", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--concurrency-column"),
        "{}",
        stderr(&out)
    );
}

fn air_passengers() -> Vec<(String, f64)> {
    std::fs::read_to_string("tests/fixtures/forecast/AirPassengers.csv")
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let (m, v) = l.split_once(',').unwrap();
            (m.to_string(), v.trim().parse().unwrap())
        })
        .collect()
}

#[test]
fn forecast_from_a_file_beats_r_ets_on_held_out_airpassengers() {
    // Train on 1949–1958 from a CSV, forecast 24 months, score on 1959–1960.
    // R 4.2.2 forecast 8.20 ets() → ETS(M,Ad,M): MASE 2.212249, sMAPE
    // 14.483275 (tests/fixtures/forecast/holdout.R, COMPUTED).
    let all = air_passengers();
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    let mut text = String::from("month,passengers\n");
    for (m, v) in &all[..120] {
        text.push_str(&format!("{m},{v}\n"));
    }
    std::fs::write(&train, text).unwrap();
    let v = json(&headroom(&[
        "forecast",
        train.to_str().unwrap(),
        "--horizon",
        "24mo",
        "--json",
    ]));
    assert_eq!(v["schema"], "headroom.forecast/1");
    assert_eq!(v["step"], "1mo");
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 24);
    assert!(points[0]["t"].as_str().unwrap().starts_with("1959-01-01"));
    let mean: Vec<f64> = points.iter().map(|p| p["mean"].as_f64().unwrap()).collect();
    let actual: Vec<f64> = all[120..].iter().map(|(_, v)| *v).collect();
    let train_v: Vec<f64> = all[..120].iter().map(|(_, v)| *v).collect();
    let scale = train_v
        .windows(13)
        .map(|w| (w[12] - w[0]).abs())
        .sum::<f64>()
        / 108.0;
    let mae = actual
        .iter()
        .zip(&mean)
        .map(|(a, p)| (a - p).abs())
        .sum::<f64>()
        / 24.0;
    let mase = mae / scale;
    let smape = actual
        .iter()
        .zip(&mean)
        .map(|(a, p)| 200.0 * (a - p).abs() / (a.abs() + p.abs()))
        .sum::<f64>()
        / 24.0;
    println!("holdout via CLI: MASE {mase:.4} (R 2.2122), sMAPE {smape:.3} (R 14.483)");
    assert!(mase <= 2.212249 && smape <= 14.483275);
}

#[test]
fn forecast_reads_parquet_with_a_datetime_column() {
    use polars::prelude::*;
    // 8 weeks hourly with a daily cycle, as a Parquet datetime (ms, UTC).
    let n = 24 * 56;
    let t: Vec<i64> = (0..n)
        .map(|i| 1_767_225_600_000 + i as i64 * 3_600_000)
        .collect();
    let v: Vec<f64> = (0..n)
        .map(|i| 100.0 + 50.0 * (std::f64::consts::TAU * (i % 24) as f64 / 24.0).sin())
        .collect();
    let mut df = df!("ts" => t, "rps" => v).unwrap();
    df.apply("ts", |c| {
        c.cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
            .unwrap()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.parquet");
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    let v = json(&headroom(&[
        "forecast",
        path.to_str().unwrap(),
        "--horizon",
        "1d",
        "--json",
    ]));
    assert_eq!(v["step"], "1h");
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 24);
    // 2026-01-01T00:00Z + 56 days.
    assert!(points[0]["t"]
        .as_str()
        .unwrap()
        .starts_with("2026-02-26T00:00:00"));
    // The daily cycle is forecast: hour 6 near 150, hour 18 near 50.
    let at = |h: usize| points[h]["mean"].as_f64().unwrap();
    assert!(
        (at(6) - 150.0).abs() < 5.0 && (at(18) - 50.0).abs() < 5.0,
        "{} {}",
        at(6),
        at(18)
    );
}

#[test]
fn forecast_bad_timestamp_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.csv");
    std::fs::write(
        &path,
        "time,value\n2024-01-01,1\n2024-01-02,2\nlast tuesday,3\n",
    )
    .unwrap();
    let out = headroom(&["forecast", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("h.csv:4") && e.contains("`last tuesday`"), "{e}");
    // A row without a zone among rows with one was read as UTC, silently.
    std::fs::write(
        &path,
        "time,value\n2024-01-01T00:00:00+05:00,1\n2024-01-01T01:00:00+05:00,2\n2024-01-01 02:00,3\n",
    )
    .unwrap();
    let out = headroom(&["forecast", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("h.csv:4") && e.contains("without a zone"), "{e}");
}

/// 100,000 one-minute steps ran past a minute and ignored SIGTERM (issue
/// 34): a history longer than the model fits is refused at once, naming the
/// step that would fit.
#[test]
fn a_history_too_long_for_the_model_is_refused_with_a_step_that_fits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("minutes.csv");
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();
    let mut csv = String::from("time,value\n");
    for i in 0..100_000i64 {
        let t = t0 + chrono::Duration::minutes(i);
        csv += &format!("{},{}\n", t.to_rfc3339(), 100 + i % 60);
    }
    std::fs::write(&path, csv).unwrap();
    let out = headroom(&["forecast", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(
        e.contains("100000 steps of history") && e.contains("--step 5m"),
        "{e}"
    );
    // At the step it names, it forecasts.
    let out = headroom(&[
        "forecast",
        path.to_str().unwrap(),
        "--step",
        "5m",
        "--horizon",
        "1d",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Values past what its arithmetic holds (1e308 printed 300-digit means).
    let mut csv = String::from("time,value\n");
    for i in 0..48i64 {
        csv += &format!("{},1e308\n", (t0 + chrono::Duration::hours(i)).to_rfc3339());
    }
    std::fs::write(&path, csv).unwrap();
    let out = headroom(&["forecast", path.to_str().unwrap(), "--horizon", "1d"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("beyond 1e15"), "{}", stderr(&out));
}

#[test]
fn backtest_is_the_forecast_refitted_at_each_origin() {
    // `--backtest` on all 144 months, 24 ahead: origins 12 months apart
    // (half the window) from 1959 back, while 2/5 of the history is left.
    let all = air_passengers();
    let dir = tempfile::tempdir().unwrap();
    let csv = |name: &str, rows: &[(String, f64)]| {
        let path = dir.path().join(name);
        let mut text = String::from("month,passengers\n");
        for (m, v) in rows {
            text.push_str(&format!("{m},{v}\n"));
        }
        std::fs::write(&path, text).unwrap();
        path
    };
    let whole = csv("all.csv", &all);
    let out = dir.path().join("out");
    let v = json(&headroom(&[
        "forecast",
        whole.to_str().unwrap(),
        "--horizon",
        "24mo",
        "--backtest",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]));
    let b = &v["backtest"];
    assert_eq!(b["schema"], "headroom.backtest/1");
    assert_eq!(
        (b["origins"].as_u64(), b["horizon"].as_u64()),
        (Some(6), Some(24))
    );
    // The model chosen at the latest origin, and why.
    let model = b["model"].as_str().unwrap();
    assert!(
        model.starts_with("MSTL[12] + AutoETS trend, log scale"),
        "{b}"
    );
    assert!(
        b["why"].as_str().unwrap().contains("seasons of [12] steps"),
        "{b}"
    );
    // The same scores from `forecast` run on the history before each origin.
    let (mut scaled, mut in80, mut in95) = (Vec::new(), 0, 0);
    for k in 0..6 {
        let cut = 120 - 12 * k;
        let train = csv(&format!("train{k}.csv"), &all[..cut]);
        let f = json(&headroom(&[
            "forecast",
            train.to_str().unwrap(),
            "--horizon",
            "24mo",
            "--json",
        ]));
        let y: Vec<f64> = all.iter().map(|(_, v)| *v).collect();
        let scale = y[..cut]
            .windows(13)
            .map(|w| (w[12] - w[0]).abs())
            .sum::<f64>()
            / (cut - 12) as f64;
        for (j, p) in f["points"].as_array().unwrap().iter().enumerate() {
            let (a, at) = (y[cut + j], |k: &str| p[k].as_f64().unwrap());
            scaled.push((a - at("mean")).abs() / scale);
            in80 += usize::from(at("lo80") <= a && a <= at("hi80"));
            in95 += usize::from(at("lo95") <= a && a <= at("hi95"));
        }
    }
    let overall = &b["overall"];
    let mase = scaled.iter().sum::<f64>() / scaled.len() as f64;
    assert_eq!(overall["points"].as_u64(), Some(144));
    assert!(
        rel(overall["mase"].as_f64().unwrap(), mase) < 1e-6,
        "{overall} vs MASE {mase}"
    );
    assert!((overall["coverage80"].as_f64().unwrap() - in80 as f64 / 144.0).abs() < 1e-9);
    assert!((overall["coverage95"].as_f64().unwrap() - in95 as f64 / 144.0).abs() < 1e-9);
    // The calibration's own claim travels with the forecast.
    let c = &v["forecast"]["calibration"];
    assert_eq!(
        (c["origins"].as_u64(), c["errors"].as_u64()),
        (Some(12), Some(216))
    );
    // The files, and the page that shows them.
    for f in [
        "forecast.json",
        "backtest.json",
        "report.html",
        "forecast.png",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("Demand forecast") && page.contains("95 % interval covered"));
}

#[test]
fn plan_sizes_each_month_and_finds_the_runway() {
    let dir = tempfile::tempdir().unwrap();
    let out = headroom(&[
        "plan",
        "models/plan.toml",
        "--json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let v = json(&out);
    assert_eq!(v["schema"], "headroom.plan/2");
    assert!(dir.path().join("plan.json").exists() && dir.path().join("forecast.json").exists());
    let periods = v["periods"].as_array().unwrap();
    assert!(periods.len() >= 12, "{}", periods.len());
    // Every month: the fleet type's count is N+1 at 70 % of its capacity.
    let cap = v["capacity"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "m6i.large")
        .unwrap()["capacity_rps"]
        .as_f64()
        .unwrap();
    // M/M/8 at 10 ms with p99 ≤ 100 ms: between Erlang C's p99 *wait*
    // bound and the 800 rps of raw capacity.
    assert!(cap > 600.0 && cap < 800.0, "{cap}");
    for p in periods {
        let peak = p["peak_rps"].as_f64().unwrap();
        let want = ((peak / (0.7 * cap)).ceil() as u64 + 1).max(2);
        assert_eq!(p["fleet_needed"].as_u64(), Some(want), "{p}");
        // Options are sorted cheapest first.
        let costs: Vec<f64> = p["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["monthly_cost"].as_f64().unwrap())
            .collect();
        assert!(costs.windows(2).all(|w| w[0] <= w[1]));
    }
    // The runway date is the first forecast day above (3 − 1) × cap × 0.7.
    let runway = &v["runway"];
    let fleet_cap = runway["fleet_capacity_rps"].as_f64().unwrap();
    assert!(rel(fleet_cap, 2.0 * cap * 0.7) < 1e-12);
    let forecast: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("forecast.json")).unwrap())
            .unwrap();
    let first_short = forecast["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["hi95"].as_f64().unwrap() > fleet_cap)
        .map(|p| p["t"].as_str().unwrap().to_string());
    assert_eq!(runway["until"].as_str().map(str::to_string), first_short);
    assert!(v["cheapest"]["type"].is_string());
    assert!(!v["cost_curves"].as_array().unwrap().is_empty());
}

#[test]
fn a_launch_on_a_flat_history_ends_the_runway_on_its_date_and_act_by_is_a_lead_time_earlier() {
    // 60 days of a flat 100 rps; a fleet of 12 × 10 rps (no spares, at
    // 100 %) serves 120; a launch on 2026-03-20 adds 30 % → 130.
    let dir = tempfile::tempdir().unwrap();
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut csv = String::from("timestamp,rps\n");
    let day0 = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    for i in 0..60 {
        csv += &format!("{}T00:00:00Z,100\n", day0 + chrono::Duration::days(i));
    }
    std::fs::write(dir.path().join("flat.csv"), csv).unwrap();
    let plan = format!(
        r#"
catalog = {:?}
slo = {:?}
horizon = "60d"
bound = "mean"
[demand]
history = "flat.csv"
step = "1d"
[sizing]
utilisation = 1.0
redundancy = 0
lead_time = "30d"
[fleet]
type = "m6i.large"
count = 12
[capacity."m6i.large"]
rps = 10
[[event]]
name = "launch"
start = "2026-03-20"
add = "30%"
"#,
        models.join("catalog.toml"),
        models.join("../slos/checkout-availability.toml")
    );
    std::fs::write(dir.path().join("plan.toml"), plan).unwrap();
    let out = headroom(&[
        "plan",
        dir.path().join("plan.toml").to_str().unwrap(),
        "--json",
    ]);
    let v = json(&out);
    let r = &v["runway"];
    assert_eq!(r["fleet_capacity_rps"], 120.0, "{r}");
    assert_eq!(r["until"], "2026-03-20T00:00:00+00:00", "{r}");
    assert_eq!(r["act_by"], "2026-02-18T00:00:00+00:00", "{r}");
    assert_eq!(v["events"][0]["add_share"], 0.3);
    // With the SLO file: 12 × 10 rps is also the fleet's SLO-safe rate
    // (every instance up), so the budget starts to burn on the launch day;
    // a 30-day window at the horizon's mean demand (18 days at 100 rps,
    // 42 at 130: 121) allows 0.1 % × 121 × 2,592,000 s = 313,632 bad requests.
    let slo = &v["slo"];
    assert_eq!(slo["fleet_slo_rps"], 120.0, "{slo}");
    assert_eq!(slo["burns_from"], "2026-03-20T00:00:00+00:00");
    let allowed = slo["allowed_per_window"].as_f64().unwrap();
    assert!((allowed - 313_632.0).abs() < 1e-6 * 313_632.0, "{allowed}");
    assert_eq!(v["sizing"]["lead_time_days"], 30.0);
}

#[test]
fn the_sre_books_shakespeare_example_comes_out_as_the_book_says() {
    // Site Reliability Engineering (O'Reilly 2016), ch. 2: 3,470 QPS at
    // ~100 QPS a task → 35 tasks, 37 with N+2; per region N+2 gives 17
    // (USA), 16 (Europe), 6 (Asia), and N+1 in South America gives 4.
    let out = headroom(&["plan", "models/sre-book-shakespeare.toml", "--json"]);
    let v = json(&out);
    let month = &v["periods"][0];
    assert_eq!(month["peak_rps"], 3470.0);
    assert_eq!(month["options"][0]["instances"], 37, "{month}");
    let regions: Vec<(String, u64)> = month["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["instances"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = [
        ("USA", 17),
        ("South America", 4),
        ("Europe", 16),
        ("Asia", 6),
    ];
    assert_eq!(
        regions,
        want.map(|(n, k)| (n.to_string(), k)).to_vec(),
        "{month}"
    );
}

/// 10,000 `[[region]]`s surviving a region's loss: sizing every region
/// searched every other region for its worst loss, inside a loop over the
/// regions, so 1,000 regions took 17.6 s and 10,000 ran past 600 s and
/// ignored SIGTERM (issue 34). Now one pass: well under a second in a
/// release build. Not a speed assertion: the deadline is minutes, there
/// only so that a return of the quadratic fails instead of hanging.
#[test]
fn ten_thousand_regions_are_sized_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut toml = format!(
        "name = \"many\"\ncatalog = {:?}\nhorizon = \"28d\"\nbound = \"mean\"\n\
         [demand]\nforecast = {:?}\n[sizing]\nutilisation = 1.0\nredundancy = 1\nsurvive = \"region\"\n\
         [capacity.task]\nrps = 100\n",
        models.join("sre-book-catalog.toml"),
        models.join("sre-book-shakespeare-forecast.json"),
    );
    let weight = |i: usize| 1 + (i * 7919) % 97;
    for i in 0..10_000 {
        toml += &format!("[[region]]\nname = \"r{i}\"\nweight = {}\n", weight(i));
    }
    let plan = dir.path().join("plan.toml");
    std::fs::write(&plan, toml).unwrap();
    // Into a file: 4 MB of JSON would fill a pipe nobody reads while the
    // test waits.
    let json_path = dir.path().join("plan.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["plan", plan.to_str().unwrap(), "--json"])
        .stdout(std::fs::File::create(&json_path).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("plan with 10,000 regions still running after 300 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(child.wait().unwrap().success());
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let month = &v["periods"][0];
    let regions = month["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 10_000);
    // Every region's worst loss is the heaviest other one: weight 97, the
    // last of them for all but itself.
    let heaviest: Vec<usize> = (0..10_000).filter(|&i| weight(i) == 97).collect();
    let (last, before) = (heaviest[heaviest.len() - 1], heaviest[heaviest.len() - 2]);
    for (i, r) in regions.iter().enumerate() {
        let worst = if i == last { before } else { last };
        assert_eq!(r["worst_loss"], format!("r{worst}"), "{r}");
    }
}

#[test]
fn the_capacity_review_in_one_command() {
    // models/review.toml: events, three regions surviving a region's loss,
    // lead times, three scenarios and autoscaling.
    let dir = tempfile::tempdir().unwrap();
    let out = headroom(&[
        "plan",
        "models/review.toml",
        "--json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let v = json(&out);
    assert_eq!(v["schema"], "headroom.plan/2");
    let cap = |t: &str| {
        v["capacity"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == t)
            .unwrap()["capacity_rps"]
            .as_f64()
            .unwrap()
    };
    let u = v["sizing"]["utilisation"].as_f64().unwrap();
    // Orders: the regions' counts (2, 2, 2 of the fleet's type) run short
    // before the fleet of 6 does. Each act_by is its need_by less the lead
    // time (ap-south's own 60 days, else the plan's 30), each order adds
    // to what its region had, and the earliest act-by comes first.
    assert_eq!(v["runway"]["until"], Value::Null, "{}", v["runway"]);
    let orders = v["orders"].as_array().unwrap();
    assert!(!orders.is_empty(), "{v}");
    let t = |s: &Value| chrono::DateTime::parse_from_rfc3339(s.as_str().unwrap()).unwrap();
    let mut had =
        std::collections::BTreeMap::from([("us-east", 2), ("eu-west", 2), ("ap-south", 2)]);
    for (i, o) in orders.iter().enumerate() {
        let region = o["region"]
            .as_str()
            .expect("every order here is a region's");
        let lead = if region == "ap-south" { 60 } else { 30 };
        assert_eq!(
            t(&o["need_by"]) - t(&o["act_by"]),
            chrono::Duration::days(lead),
            "{o}"
        );
        let before = had[region];
        assert_eq!(
            o["instances"].as_u64().unwrap(),
            before + o["add"].as_u64().unwrap(),
            "{o}"
        );
        had.insert(region, o["instances"].as_u64().unwrap());
        assert_eq!(o["overdue"], false);
        // And in the month that needs it (the monthly table's act-by column).
        let month = &o["need_by"].as_str().unwrap()[..7];
        let period = v["periods"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["month"] == month)
            .unwrap();
        assert!(period["orders"].as_array().unwrap().contains(o), "{period}");
        if i > 0 {
            assert!(t(&orders[i - 1]["act_by"]) <= t(&o["act_by"]));
        }
    }
    // Regions: every month, losing any one region leaves the others able
    // to carry its traffic by weight at the utilisation target, each
    // region carries its own peak with a zone lost, and utilisation at the
    // peak is within the target.
    let weights = [("us-east", 0.55), ("eu-west", 0.30), ("ap-south", 0.15)];
    let zones = [3u64, 3, 2];
    for m in v["periods"].as_array().unwrap() {
        let peak = m["peak_rps"].as_f64().unwrap();
        let regions = m["regions"].as_array().unwrap();
        let serves: Vec<(f64, u64)> = regions
            .iter()
            .map(|r| {
                let c = cap(r["type"].as_str().unwrap()) * u;
                (c, r["instances"].as_u64().unwrap())
            })
            .collect();
        for (i, r) in regions.iter().enumerate() {
            assert_eq!(r["name"], weights[i].0);
            let own = peak * weights[i].1;
            assert!((r["peak_rps"].as_f64().unwrap() - own).abs() < 1e-6 * own);
            let (c, n) = serves[i];
            let z = zones[i];
            let fullest = n.div_ceil(z);
            assert!(
                (n - fullest) as f64 * c >= own - 1e-6,
                "{} zone loss: {r}",
                m["month"]
            );
            assert!(r["utilisation"].as_f64().unwrap() <= u + 1e-12, "{r}");
            for (j, lost) in weights.iter().enumerate().filter(|&(j, _)| j != i) {
                let carried = own + peak * lost.1 * weights[i].1 / (1.0 - lost.1);
                assert!(
                    n as f64 * c >= carried - 1e-6,
                    "{} losing {}: {r}",
                    m["month"],
                    lost.0
                );
                let _ = j;
            }
        }
    }
    assert_eq!(v["region_commitments"].as_array().unwrap().len(), 3);
    assert!(
        v["commitment_mix"]["total_cost"].as_f64().unwrap()
            <= v["commitment_mix"]["on_demand_cost"].as_f64().unwrap()
    );
    // Scenarios: base first and equal to the plan; the migration's 150 rps
    // is fully in at the peak; the slipped launch runs out later.
    let s = v["scenarios"].as_array().unwrap();
    let names: Vec<&str> = s.iter().map(|x| x["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "base",
            "launch slips a quarter",
            "growth ×1.5",
            "no migration"
        ]
    );
    assert_eq!(s[0]["runway_until"], v["runway"]["until"]);
    assert_eq!(s[0]["act_by"], orders[0]["act_by"]);
    assert_eq!(s[0]["total_cost"], v["cheapest"]["total_cost"]);
    let peak = |x: &Value| x["peak_rps"].as_f64().unwrap();
    assert!(
        (peak(&s[0]) - peak(&s[3]) - 150.0).abs() < 1e-6,
        "{} {}",
        peak(&s[0]),
        peak(&s[3])
    );
    assert!(peak(&s[2]) > peak(&s[0]));
    assert!(t(&s[1]["act_by"]) > t(&s[0]["act_by"]));
    // Commitments per scenario and per region.
    for x in s {
        assert_eq!(x["region_commitments"].as_array().unwrap().len(), 3, "{x}");
    }
    assert_eq!(s[0]["region_commitments"], v["region_commitments"]);
    // Autoscaling: 70 % / (1 + 0.4/3600 · 180) on the fleet's type, and the
    // HPA written beside plan.json parses as YAML with those numbers.
    let a = &v["autoscaling"];
    assert_eq!(a["type"], "m6i.large");
    assert!(
        (a["target_utilisation"].as_f64().unwrap() - 0.7 / 1.02).abs() < 1e-12,
        "{a}"
    );
    let hpa = std::fs::read_to_string(dir.path().join("hpa.yaml")).unwrap();
    assert_eq!(hpa, a["hpa"].as_str().unwrap());
    let doc: serde_json::Value = serde_saphyr::from_str(&hpa).unwrap();
    assert_eq!(doc["kind"].as_str(), Some("HorizontalPodAutoscaler"));
    assert_eq!(
        doc["spec"]["minReplicas"].as_i64(),
        a["min_replicas"].as_i64()
    );
    assert_eq!(
        doc["spec"]["maxReplicas"].as_i64(),
        a["max_replicas"].as_i64()
    );
    let target = doc["spec"]["metrics"][0]["pods"]["target"]["averageValue"]
        .as_str()
        .unwrap();
    assert_eq!(
        target.parse::<f64>().unwrap(),
        a["target_rps"].as_f64().unwrap().floor()
    );
    // The report puts the act-by dates first and shows every part.
    let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    let first_act = page.find("ACT BY").expect("act-by dates on the page");
    assert!(first_act < page.find("Scenarios").unwrap());
    for part in [
        "Regions: instances",
        "Scenarios",
        "Commitments and on demand",
        "Autoscaling",
        "regions.png",
        "scenarios.png",
    ] {
        assert!(page.contains(part), "{part}");
    }
}

#[test]
fn plan_errors_point_at_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let text = std::fs::read_to_string(models.join("plan.toml"))
        .unwrap()
        .replace(
            "catalog = \"catalog.toml\"",
            &format!("catalog = {:?}", models.join("catalog.toml")),
        )
        .replace(
            "history = \"demand-hourly.csv\"",
            &format!("history = {:?}", models.join("demand-hourly.csv")),
        );
    let cases = [
        (
            "type = \"m6i.large\"\ncount = 3",
            "type = \"m7.huge\"\ncount = 3",
            "has no [capacity",
        ),
        (
            "utilisation = 0.7",
            "utilisation = 1.5",
            "utilisation must be in (0, 1]",
        ),
        ("horizon = \"12mo\"", "horizon = \"soon\"", "horizon"),
        (
            "commitment = \"1y\"",
            "commitment = \"5y\"",
            "no instance type in the catalog has a `5y` discount",
        ),
        (
            "redundancy = 1",
            "redundancy = 1\nspare = 2",
            "unknown field `spare`",
        ),
        (
            "redundancy = 1",
            "redundancy = 1\nlead_time = \"a month\"",
            "expected a duration",
        ),
        (
            "[fleet]",
            "[[event]]\nname = \"launch\"\nstart = \"next spring\"\nadd = \"30%\"\n[fleet]",
            "expected a date like 2027-03-01",
        ),
        (
            "[fleet]",
            "[[event]]\nname = \"launch\"\nstart = \"2027-03-01\"\n[fleet]",
            "a share of the demand (add = \"30%\") or a rate (rps = 200)",
        ),
        (
            "[fleet]",
            "[[scenario]]\nname = \"late\"\ndelay = { launch = \"91d\" }\n[fleet]",
            "no [[event]] is named `launch`",
        ),
        (
            "[fleet]",
            "[[scenario]]\nname = \"base\"\n[fleet]",
            "`base` is the plan itself",
        ),
        // Numbers whose results no file could hold (issue 34: growth = 1e308
        // wrote a plan.json headroom could not read back).
        (
            "[fleet]",
            "[[scenario]]\nname = \"boom\"\ngrowth = 1e308\n[fleet]",
            "growth must be a number from 0 to 1000",
        ),
        ("rps = 600", "rps = 1e-300", "rps must be from 0.001"),
        (
            "redundancy = 1",
            "redundancy = 1\nsurvive = \"region\"",
            "needs two or more [[region]]",
        ),
        (
            "redundancy = 1",
            "redundancy = 1\nsurvive = \"zone\"",
            "expected `region` or `none`",
        ),
        (
            "[fleet]",
            "[autoscaling]\nscale_up_delay = \"3m\"\nramp = \"40%\"\n[fleet]",
            "expected a ramp like \"40%/1h\"",
        ),
        (
            "[fleet]",
            "[[region]]\nname = \"eu\"\nweight = 1\nzones = 0\n[fleet]",
            "zones must be at least 1",
        ),
        (
            "[fleet]\ntype = \"m6i.large\"\ncount = 3",
            "[[region]]\nname = \"eu\"\nweight = 1\ncount = 2",
            "a region's `count` is of the fleet's type",
        ),
        (
            "[fleet]\ntype = \"m6i.large\"\ncount = 3",
            "[[region]]\nname = \"eu\"\nweight = 1\ncount = 2\n[fleet]\ntype = \"m6i.large\"\ncount = 3",
            "the regions' counts add up to 2",
        ),
        (
            "[fleet]",
            "[[region]]\nname = \"a\"\nweight = \"55%\"\n[[region]]\nname = \"b\"\nweight = 1430\n[fleet]",
            "all shares",
        ),
        (
            "[fleet]",
            "[[event]]\nname = \"launch\"\nstart = \"2027-03-01\"\nadd = 30\n[fleet]",
            "write \"30%\"",
        ),
        (
            "[fleet]",
            "[[event]]\nname = \"x\"\nstart = \"2027-03-01\"\nrps = 1\n[[event]]\nname = \"x\"\nstart = \"2027-04-01\"\nrps = 2\n[fleet]",
            "another [[event]] has this name",
        ),
        (
            "[fleet]",
            "[[region]]\nname = \"eu\"\nweight = 1\nlead_time = \"60d\"\n[fleet]",
            "give it a `count`",
        ),
        (
            "[fleet]",
            "[autoscaling]\nscale_up_delay = \"3m\"\ncpu_at_capacity = 0.0\n[fleet]",
            "cpu_at_capacity must be more than 0",
        ),
    ];
    for (from, to, want) in cases {
        assert!(text.contains(from), "{from}");
        let path = dir.path().join("p.toml");
        std::fs::write(&path, text.replace(from, to)).unwrap();
        let out = headroom(&["plan", path.to_str().unwrap()]);
        let e = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{to}: {e}");
        assert!(e.contains(want) && e.contains("p.toml:"), "{to}: {e}");
    }
}

#[test]
fn forecasts_say_what_they_smoothed_over_and_stay_within_reason() {
    let dir = tempfile::tempdir().unwrap();
    // Demand falling 12 a day from 270 to nothing (zeros: no log scale,
    // so the trend runs on below zero), one day exported twice.
    let path = dir.path().join("falling.csv");
    let mut text = String::from("time,value\n");
    for d in 0..28 {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(d);
        let v = 270u64.saturating_sub(12 * d);
        text.push_str(&format!("{day},{v}\n"));
        if d == 5 {
            text.push_str(&format!("{day},{v}\n"));
        }
    }
    std::fs::write(&path, text).unwrap();
    let o = headroom(&[
        "forecast",
        path.to_str().unwrap(),
        "--horizon",
        "60d",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let warnings = v["warnings"].to_string();
    // Was: silently averaged, and negative demand forecast.
    assert!(
        warnings.contains("1 rows repeat an earlier row's timestamp"),
        "{warnings}"
    );
    assert!(
        warnings.contains("falls below zero from 2026-"),
        "{warnings}"
    );
    for p in v["points"].as_array().unwrap() {
        for k in ["mean", "lo80", "hi80", "lo95", "hi95"] {
            assert!(p[k].as_f64().unwrap() >= 0.0, "{p}");
        }
    }
    // Was: 1,000,000 days forecast (3.5 GB, to the year 3509).
    let o = headroom(&["forecast", path.to_str().unwrap(), "--horizon", "36000d"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is 36000 steps of 1d, more than ten times the history's 28"),
        "{}",
        stderr(&o)
    );
}
