//! `headroom slo report` and `headroom slo rules`: budgets computed by hand
//! from small tables, the OpenSLO and TOML forms of one objective giving
//! one answer, located errors, and the rules checked and unit-tested by
//! Prometheus's own `promtool` (skipped loudly without it; `.ci/run`
//! installs it and sets HEADROOM_REQUIRE_PROMETHEUS=1).

mod common;
use common::{headroom, text};

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn json(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

/// An hourly table from 2026-01-01T00:00Z: `total` events an hour, `bad(i)`
/// of them bad in hour i.
fn table(dir: &Path, hours: usize, total: u64, bad: impl Fn(usize) -> u64) -> PathBuf {
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();
    let mut csv = String::from("time,good,total\n");
    for i in 0..hours {
        let t = t0 + chrono::Duration::hours(i as i64);
        csv += &format!("{},{},{total}\n", t.to_rfc3339(), total - bad(i));
    }
    let path = dir.join("events.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

fn slo_file(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

/// `headroom slo report SLO --csv TABLE` and `extra` flags.
fn report(slo: &Path, table: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "slo",
        "report",
        slo.to_str().unwrap(),
        "--csv",
        table.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    headroom(&args)
}

const TOML_7D: &str = r#"
name = "api"
service = "api"
objective = "99%"
window = "7d"
[sli]
good = 'req_total{code!~"5.."}'
total = 'req_total'
"#;

#[test]
fn a_budget_computed_by_hand_from_a_table() {
    // 8 days of 100 events an hour; 99 % over 7 rolling days; now is the
    // end of the table (2026-01-09T00:00). The window holds hours 24–191:
    // 16,800 events → 168 may fail. 60 bad in hour 30 and 12 an hour in
    // hours 188–191 (48); hour 10, all bad, falls outside. Spent 108/168.
    let dir = tempfile::tempdir().unwrap();
    let csv = table(dir.path(), 192, 100, |i| match i {
        10 => 100,
        30 => 60,
        188..=191 => 12,
        _ => 0,
    });
    let slo = slo_file(dir.path(), "api.toml", TOML_7D);
    let o = report(&slo, &csv, &["--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&o);
    let b = &v["budget"];
    assert_eq!(v["now"], "2026-01-09T00:00:00+00:00");
    assert_eq!(b["window_start"], "2026-01-02T00:00:00+00:00");
    assert_eq!(b["total"], 16_800.0);
    assert_eq!(b["bad"], 108.0);
    assert!((b["allowed"].as_f64().unwrap() - 168.0).abs() < 1e-9);
    assert!((b["consumed"].as_f64().unwrap() - 108.0 / 168.0).abs() < 1e-12);
    // Burn: the last hour 12 % bad against a 1 % budget → 12; the last
    // day 48 of 2,400 → 2; 3 days 48 of 7,200 → 0.667.
    let burn = |w: &str| {
        v["burn"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["lookback"] == w)
            .unwrap()["rate"]
            .as_f64()
    };
    assert_eq!(burn("5m"), None);
    assert!((burn("1h").unwrap() - 12.0).abs() < 1e-9);
    assert!((burn("1d").unwrap() - 2.0).abs() < 1e-9);
    assert!((burn("3d").unwrap() - 48.0 / 7200.0 / 0.01).abs() < 1e-9);
    // At the day's burn of 2, the 60/168 left lasts 60/168 × 7 d / 2 = 1.25 d.
    assert_eq!(v["exhaustion_lookback"], "1d");
    assert_eq!(v["exhausted_at"], "2026-01-10T06:00:00+00:00");
    // The incidents: hour 30 (60 bad) and hours 188–191 (48), largest first.
    let inc = v["incidents"].as_array().unwrap();
    assert_eq!(inc.len(), 2);
    assert_eq!(inc[0]["start"], "2026-01-02T06:00:00+00:00");
    assert_eq!(inc[0]["bad"], 60.0);
    assert_eq!(inc[1]["start"], "2026-01-08T20:00:00+00:00");
    assert_eq!(inc[1]["end"], "2026-01-09T00:00:00+00:00");
    // Firing now: scaled to 7 days the alert windows are 14m/1m10s,
    // 1h24m/7m, 5h36m/28m and 16h48m/1h24m; hourly steps say nothing under
    // an hour, so only the last pair can be judged: 48 bad of 1,600 in the
    // steps starting within 16h48m (burn 3) and 12 of 100 within 1h24m
    // (burn 12), both over its factor of 1.
    assert_eq!(
        v["firing"],
        serde_json::json!(["ticket 16h48m/1h24m at 1×"])
    );
    // The burn-down ends at what is left now.
    let down = v["burn_down"].as_array().unwrap();
    assert_eq!(down.len(), 7);
    assert!((down[6]["value"].as_f64().unwrap() - 60.0 / 168.0).abs() < 1e-12);
    assert_eq!(v["daily"].as_array().unwrap().len(), 7);

    // --out: slo.json as printed, and a report section with its charts.
    let out = dir.path().join("out");
    let o = report(&slo, &csv, &["--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("slo.json")).unwrap()).unwrap();
    assert_eq!(written, v);
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("Error budget: api") && page.contains("What burned most"));
    assert!(out.join("budget.png").exists() && out.join("sli.png").exists());

    // Spent: 200 more bad in hour 100 → 308 of 168; exit 1, said so.
    let csv = table(dir.path(), 192, 100, |i| match i {
        30 => 60,
        100 => 100,
        101 => 100,
        188..=191 => 12,
        _ => 0,
    });
    let o = report(&slo, &csv, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("BUDGET SPENT"), "{}", text(&o));
    // --now picks the moment: at 2026-01-05T00:00 only hour 30 was spent.
    let o = report(&slo, &csv, &["--now", "2026-01-05T00:00:00Z", "--json"]);
    let v = json(&o);
    assert_eq!(v["budget"]["bad"], 60.0);
    assert_eq!(v["budget"]["total"], 9600.0);
}

#[test]
fn openslo_and_toml_forms_of_one_objective_give_one_report() {
    let dir = tempfile::tempdir().unwrap();
    let csv = table(
        dir.path(),
        24 * 35,
        1000,
        |i| if i % 97 == 0 { 9 } else { 0 },
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("slos");
    let run = |file: &Path| {
        let o = report(file, &csv, &["--json"]);
        let mut v = json(&o);
        v.as_object_mut().unwrap().remove("source");
        v
    };
    let a = run(&root.join("checkout-availability.toml"));
    let b = run(&root.join("checkout-availability.openslo.yaml"));
    assert_eq!(a, b);
    assert_eq!(a["objective"], 0.999);
    // The rules too.
    let rules = |file: &Path| text(&headroom(&["slo", "rules", file.to_str().unwrap()]));
    let (ra, rb) = (
        rules(&root.join("checkout-availability.toml")),
        rules(&root.join("checkout-availability.openslo.yaml")),
    );
    // Only the first comment line (the file's name) differs.
    assert_eq!(
        ra.lines().skip(1).collect::<Vec<_>>(),
        rb.lines().skip(1).collect::<Vec<_>>()
    );
}

#[test]
fn bad_slo_files_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let csv = table(dir.path(), 48, 100, |_| 0);
    let cases: &[(&str, &str, &str)] = &[
        ("a.toml", &TOML_7D.replace("\"99%\"", "\"100%\""), "a.toml:4:"),
        ("b.toml", &TOML_7D.replace("\"7d\"", "\"a week\""), "expected a rolling window"),
        (
            "c.toml",
            &TOML_7D.replace("'req_total'", "'sum(req_total)'"),
            "expected a counter selector",
        ),
        (
            "d.yaml",
            "apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: x\nspec:\n  indicatorRef: missing\n",
            "no `kind: SLI` named `missing`",
        ),
        (
            "e.yaml",
            "apiVersion: openslo/v1\nkind: SLO\nspec:\n  indicator:\n    spec:\n      thresholdMetric:\n        metricSource: {}\n",
            "thresholdMetric",
        ),
        ("f.yaml", "apiVersion: [openslo\n", "f.yaml:"),
        // Issue 34: an objective no measurement resolves printed "100 %
        // good" and "spent 78717939714.6 %"; a window shorter than the
        // data's step reported "0 bad of 0 events, 100 % left".
        (
            "g.toml",
            &TOML_7D.replace("\"99%\"", "\"99.9999999999%\""),
            "six nines",
        ),
        (
            "h.toml",
            &TOML_7D.replace("\"7d\"", "\"5m\""),
            "shorter than the data's step",
        ),
    ];
    for (name, body, want) in cases {
        let file = slo_file(dir.path(), name, body);
        let o = report(&file, &csv, &[]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", text(&o));
        assert!(
            text(&o).contains(want) && text(&o).contains(name),
            "{name}: {}",
            text(&o)
        );
    }
    // A table with good > total names the row.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "time,good,total\n2026-01-01T00:00:00Z,5,4\n2026-01-01T01:00:00Z,1,1\n",
    )
    .unwrap();
    let slo = slo_file(dir.path(), "ok.toml", TOML_7D);
    let o = report(&slo, &bad, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("bad.csv:2"), "{}", text(&o));
}

/// A "billion laughs" file: nine levels of nine aliases, 9^9 = 387
/// million strings if expanded. Unbounded, `slo rules` grew to 22.5 GB
/// before the kernel killed it, and ignored SIGTERM (issue 34); now the
/// reader stops after 100,000 replayed events with a located error. The
/// child runs under a 4 GiB address-space limit, so a return of the bug
/// fails this test instead of exhausting the machine.
#[test]
fn a_yaml_alias_bomb_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut body =
        String::from("apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: bomb\n  labels:\n");
    body += "    l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    for i in 1..9 {
        let prev = vec![format!("*l{}", i - 1); 9].join(", ");
        body += &format!("    l{i}: &l{i} [{prev}]\n");
    }
    body += "spec:\n  service: checkout\n";
    let bomb = slo_file(dir.path(), "bomb.yaml", &body);
    let o = Command::new("sh")
        .args(["-c", "ulimit -v 4194304 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_headroom"))
        .args(["slo", "rules", bomb.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("bomb.yaml:"), "{}", text(&o));
}

fn promtool() -> Option<PathBuf> {
    let out = Command::new("which").arg("promtool").output().ok()?;
    if out.status.success() {
        return Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    assert!(
        std::env::var_os("HEADROOM_REQUIRE_PROMETHEUS").is_none(),
        "HEADROOM_REQUIRE_PROMETHEUS is set but promtool is not installed"
    );
    eprintln!(
        "SKIPPED: promtool is not installed (apt-get install prometheus); .ci/run installs it"
    );
    None
}

/// The alert promtool must see: the labels the rule and its series give.
fn alert(severity: &str, long: &str, short: &str, factor: &str, share: &str) -> String {
    format!(
        "          - exp_labels: {{severity: {severity}, slo: api, service: api, long_window: {long}, short_window: {short}}}\n            exp_annotations:\n              summary: \"api is burning its error budget at {factor}× or more ({share} % of it in {long})\"\n"
    )
}

/// Writes the SLO, its rules (`slo rules --out`), and checks them with
/// `promtool check rules`: its output.
fn checked_rules(tool: &Path, dir: &Path, slo: &str) -> String {
    let slo = slo_file(dir, "api.toml", slo);
    let rules = dir.join("rules.yaml");
    let o = headroom(&[
        "slo",
        "rules",
        slo.to_str().unwrap(),
        "--out",
        rules.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let check = Command::new(tool)
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));
    text(&check)
}

/// `promtool test rules` on the rules in `dir` with these test groups;
/// `expect` (the alerts due) empty means none may fire.
fn promtool_test(tool: &Path, dir: &Path, groups: &[String]) {
    let file = dir.join("tests.yaml");
    std::fs::write(
        &file,
        format!(
            "rule_files:\n  - rules.yaml\nevaluation_interval: 1m\ntests:\n{}",
            groups.concat()
        ),
    )
    .unwrap();
    let t = Command::new(tool)
        .args(["test", "rules"])
        .arg(&file)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(t.status.success(), "promtool test rules:\n{}", text(&t));
}

/// The `exp_alerts` of a test case: these alerts, or none.
fn expected(alerts: &[&String]) -> String {
    if alerts.is_empty() {
        "          []\n".to_string()
    } else {
        alerts.iter().map(|s| s.as_str()).collect()
    }
}

#[test]
fn rules_pass_promtool_and_fire_as_the_workbook_says() {
    let Some(tool) = promtool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let check = checked_rules(
        &tool,
        dir.path(),
        "name = \"api\"\nobjective = \"99.9%\"\nwindow = \"30d\"\n[sli]\ngood = 'req_total{code!~\"5..\"}'\ntotal = 'req_total'\n",
    );
    assert!(check.contains("SUCCESS: 14 rules found"), "{check}");
    // Four histories, 1,000 requests a minute, judged at 65 minutes:
    // 2 % errors (20× the budget's rate) fires all four alerts; 0.5 % (5×)
    // only the tickets (3× and 1×); 0.05 % (0.5×) none; 2 % that stopped
    // 10 minutes ago fires all but the 1h/5m page (its 5-minute window is
    // clean: the multi-window rule's reason to exist).
    let page1 = alert("page", "1h", "5m", "14.4", "2");
    let page2 = alert("page", "6h", "30m", "6", "5");
    let ticket1 = alert("ticket", "1d", "2h", "3", "10");
    let ticket2 = alert("ticket", "3d", "6h", "1", "10");
    let case = |errors: &str, expect: &[&String]| {
        format!(
            "  - interval: 1m\n    input_series:\n      - series: 'req_total{{code=\"200\"}}'\n        values: '0+980x120'\n      - series: 'req_total{{code=\"500\"}}'\n        values: '{errors}'\n    alert_rule_test:\n      - eval_time: 65m\n        alertname: ErrorBudgetBurn\n        exp_alerts:\n{}",
            expected(expect)
        )
    };
    promtool_test(
        &tool,
        dir.path(),
        &[
            case("0+20x120", &[&page1, &page2, &ticket1, &ticket2]),
            case("0+5x120", &[&ticket1, &ticket2]),
            case("0+0.5x120", &[]),
            case("0+20x55 1100+0x65", &[&page2, &ticket1, &ticket2]),
        ],
    );
}

#[test]
fn a_scenario_is_judged_by_the_slo_file_production_uses() {
    // One objective, two worlds: `[slo] file = …` turns a latency SLI
    // (99 % within 300 ms) into p99 ≤ 300 ms, and an availability SLI
    // (99.9 %) into errors ≤ 0.1 %.
    let dir = tempfile::tempdir().unwrap();
    let slos = Path::new(env!("CARGO_MANIFEST_DIR")).join("slos");
    let scenario = |slo: &str| {
        let path = dir.path().join("s.toml");
        std::fs::write(
            &path,
            format!(
                "target = {{ url = \"http://127.0.0.1:1\" }}\n[load]\nrate = 10\nduration = \"1s\"\n[slo]\nfile = {:?}\n",
                slos.join(slo).display().to_string()
            ),
        )
        .unwrap();
        headroom::scenario::load(&path)
    };
    let latency = scenario("checkout-latency.toml").unwrap().slo;
    assert_eq!(latency.latency.len(), 1);
    assert_eq!(latency.latency[0].label, "p99");
    assert_eq!(latency.latency[0].quantile, 0.99);
    assert_eq!(
        latency.latency[0].max,
        std::time::Duration::from_millis(300)
    );
    assert_eq!(latency.error_share, None);
    for file in [
        "checkout-availability.toml",
        "checkout-availability.openslo.yaml",
    ] {
        let a = scenario(file).unwrap().slo;
        assert!(a.latency.is_empty());
        assert!((a.error_share.unwrap() - 0.001).abs() < 1e-12, "{file}");
    }
    let e = scenario("no-such.toml").unwrap_err().to_string();
    assert!(e.contains("s.toml:6:") && e.contains("no-such.toml"), "{e}");
}

#[test]
fn experiments_are_priced_in_the_budget() {
    // The 7-day, 99 % table above (168 bad allowed, 108 spent): a stress
    // test's 2,374 bad answers would spend 2374/168 of the budget; a run
    // with no errors costs an availability SLO nothing, and a latency SLO
    // every answer slower than its threshold (all 4,061 at 1 µs, none at
    // an hour).
    let dir = tempfile::tempdir().unwrap();
    let csv = table(dir.path(), 192, 100, |i| match i {
        30 => 60,
        188..=191 => 12,
        _ => 0,
    });
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report");
    let price = |slo: &Path, dir: &str| {
        let o = report(
            slo,
            &csv,
            &[
                "--experiment",
                fixtures.join(dir).to_str().unwrap(),
                "--json",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        json(&o)["experiments"][0].clone()
    };
    let availability = slo_file(dir.path(), "a.toml", TOML_7D);
    let stress = price(&availability, "stress");
    let out = dir.path().join("priced");
    let o = report(
        &availability,
        &csv,
        &[
            "--experiment",
            fixtures.join("stress").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        page.contains("Experiments priced in this budget")
            && page.contains("2374 bad of 3298 requests"),
        "{page}"
    );
    assert_eq!(stress["bad"], 2374);
    assert!((stress["budget_share"].as_f64().unwrap() - 2374.0 / 168.0).abs() < 1e-9);
    assert!((stress["remaining_share"].as_f64().unwrap() - 2374.0 / 60.0).abs() < 1e-9);
    let run = price(&availability, "run");
    assert_eq!(
        (run["requests"].as_u64(), run["bad"].as_u64()),
        (Some(4061), Some(0))
    );
    let latency = |threshold: &str| {
        slo_file(
            dir.path(),
            "l.toml",
            &format!("objective = \"99%\"\nwindow = \"7d\"\n[sli]\nlatency = {{ metric = 'http_request_duration_seconds', threshold = {threshold:?} }}\n"),
        )
    };
    assert_eq!(price(&latency("1us"), "run")["bad"], 4061);
    assert_eq!(price(&latency("1h"), "run")["bad"], 0);
}

const THRESHOLD_TOML: &str = r#"
name = "p99"
service = "api"
objective = "99%"
window = "7d"
budgeting = "timeslices"
slice_target = "99.99%"
slice = "1h"
[sli]
threshold = { query = 'max(latency_p99_seconds)', op = "<=", value = 0.3 }
"#;

#[test]
fn threshold_slis_count_good_slices() {
    // Hourly p99 values for 8 days: 0.2 s, but 0.5 s in hours 30 and
    // 188–191 and no value in hour 50. The 7-day window (hours 24–191)
    // has 167 slices with a value, 5 bad; 1 % of its 168 slices may be:
    // 1.68. Spent 5 / 1.68.
    let dir = tempfile::tempdir().unwrap();
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();
    let mut csv = String::from("time,value\n");
    for i in 0..192 {
        let t = t0 + chrono::Duration::hours(i);
        let v = match i {
            30 | 188..=191 => "0.5",
            50 => "",
            _ => "0.2",
        };
        csv += &format!("{},{v}\n", t.to_rfc3339());
    }
    let table = dir.path().join("p99.csv");
    std::fs::write(&table, csv).unwrap();
    let slo = slo_file(dir.path(), "p99.toml", THRESHOLD_TOML);
    let o = report(&slo, &table, &["--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v = json(&o);
    let b = &v["budget"];
    assert_eq!(
        (
            b["total"].as_f64(),
            b["bad"].as_f64(),
            b["no_data"].as_u64()
        ),
        (Some(167.0), Some(5.0), Some(1))
    );
    assert!((b["allowed"].as_f64().unwrap() - 1.68).abs() < 1e-9);
    assert!((b["consumed"].as_f64().unwrap() - 5.0 / 1.68).abs() < 1e-9);
    // A scenario naming the OpenSLO threshold file is judged by p99 ≤ 300 ms.
    let scenario = dir.path().join("s.toml");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("slos/checkout-latency-p99.openslo.yaml");
    std::fs::write(
        &scenario,
        format!("target = {{ url = \"http://127.0.0.1:1\" }}\n[load]\nrate = 10\nduration = \"1s\"\n[slo]\nfile = {:?}\n", file.display().to_string()),
    )
    .unwrap();
    let plan = headroom::scenario::load(&scenario).unwrap();
    assert_eq!(plan.slo.latency[0].label, "p99");
    assert_eq!(
        plan.slo.latency[0].max,
        std::time::Duration::from_millis(300)
    );
    // Its rules: the share of bad minutes, by subquery.
    let rules = text(&headroom(&["slo", "rules", file.to_str().unwrap()]));
    for line in [
        "    interval: 1m",
        r#"        expr: "(histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job=\"checkout\"}[1m])))\n) <= bool 0.3""#,
        r#"        expr: "1 - avg_over_time(slo:slice_good{slo=\"checkout-latency-p99\"}[1h])""#,
    ] {
        assert!(rules.lines().any(|l| l == line), "{line}\n{rules}");
    }
}

#[test]
fn threshold_rules_pass_promtool_and_fire_on_bad_slices() {
    let Some(tool) = promtool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let check = checked_rules(
        &tool,
        dir.path(),
        "name = \"api\"\nobjective = \"99.9%\"\nwindow = \"30d\"\nbudgeting = \"timeslices\"\nslice_target = \"100%\"\n[sli]\nthreshold = { query = 'max(latency_p99_seconds)', op = \"<=\", value = 0.3 }\n",
    );
    // The slice record, 8 windows, the objective, the budget, 4 alerts.
    assert!(check.contains("SUCCESS: 15 rules found"), "{check}");
    // Every minute bad (p99 0.5 s > 0.3 s) for 70 minutes: all four
    // alerts; every minute good: none.
    let all = [
        alert("page", "1h", "5m", "14.4", "2"),
        alert("page", "6h", "30m", "6", "5"),
        alert("ticket", "1d", "2h", "3", "10"),
        alert("ticket", "3d", "6h", "1", "10"),
    ];
    let case = |value: &str, expect: &[&String]| {
        format!(
            "  - interval: 1m\n    input_series:\n      - series: 'latency_p99_seconds'\n        values: '{value}+0x80'\n    alert_rule_test:\n      - eval_time: 70m\n        alertname: ErrorBudgetBurn\n        exp_alerts:\n{}",
            expected(expect)
        )
    };
    promtool_test(
        &tool,
        dir.path(),
        &[
            case("0.5", &all.iter().collect::<Vec<_>>()),
            case("0.1", &[]),
        ],
    );
}

#[test]
fn a_calendar_month_of_data_is_reported_on_that_month() {
    // January 2026, hourly, 100 events an hour, 1 bad in every 10th hour;
    // 99 % per calendar month. The data ends on February's first instant:
    // the report is on January (744 h, 74,400 events, 744 allowed, 75
    // bad), not on an empty February.
    let dir = tempfile::tempdir().unwrap();
    let csv = table(dir.path(), 744, 100, |i| u64::from(i % 10 == 0));
    let slo = slo_file(
        dir.path(),
        "m.toml",
        "objective = \"99%\"\nwindow = \"calendar month\"\n[sli]\ngood = 'ok_total'\ntotal = 'all_total'\n",
    );
    let o = report(&slo, &csv, &["--json"]);
    let v = json(&o);
    let b = &v["budget"];
    assert_eq!(b["window_start"], "2026-01-01T00:00:00+00:00");
    assert_eq!(b["window_end"], "2026-02-01T00:00:00+00:00");
    assert_eq!(
        (b["total"].as_f64(), b["bad"].as_f64()),
        (Some(74_400.0), Some(75.0))
    );
    assert!((b["allowed"].as_f64().unwrap() - 744.0).abs() < 1e-9);
    // Burning at 0.1× (1 % of hours … 1 bad per 1,000), the month's budget
    // outlasts the month: no exhaustion date.
    assert_eq!(v["exhausted_at"], Value::Null);
    assert!(text(&report(&slo, &csv, &[])).contains("outlasts the window"));
}
