//! `report.html` and its PNG charts, rendered from the committed result
//! files in `tests/fixtures/report/` (a demo run, search, sweep, stress
//! test and plan):
//! the page's structure (insta snapshot, volatile values masked), the PNGs
//! (decode, size, not blank), secrets redacted, and — with Debian's chromium
//! — the page as a browser shows it.

mod common;
use common::serial;

use std::path::{Path, PathBuf};
use std::process::Command;

const CHARTS: [&str; 11] = [
    "run-latency.png",
    "run-throughput.png",
    "run-spectrum.png",
    "find.png",
    "sweep-usl.png",
    "stress-overload-goodput.png",
    "stress-overload-latency.png",
    "plan-forecast.png",
    "plan-cost-curve.png",
    "plan-monthly-cost.png",
    // Listed last: the page itself.
    "report.html",
];

/// A fresh copy of the fixture results, rendered.
fn rendered() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report");
    for part in ["run", "find", "sweep", "stress", "plan"] {
        let to = dir.path().join(part);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(src.join(part)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["report", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = dir.path().join("report.html");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        page.to_str().unwrap()
    );
    (dir, page)
}

/// The page with what changes from run to run masked: embedded images,
/// the generation time and the host.
fn masked(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find("data:image/png;base64,") {
        out.push_str(&rest[..i]);
        out.push_str("data:image/png;base64,[PNG]");
        let tail = &rest[i..];
        rest = &tail[tail.find('"').unwrap_or(tail.len())..];
    }
    out.push_str(rest);
    let mut lines: Vec<String> = out.lines().map(str::to_string).collect();
    for l in &mut lines {
        if let Some(i) = l.find("report generated ") {
            let end = l[i..].find('<').map_or(l.len(), |j| i + j);
            l.replace_range(i..end, "report generated [TIME]");
        }
        const HOST: &str = " · host ";
        if let Some(i) = l.find(HOST) {
            let from = i + HOST.len();
            let end = l[from..].find(' ').map_or(l.len(), |j| from + j);
            l.replace_range(i..end, " · host [HOST]");
        }
        if l.contains("<dt>host</dt>") {
            *l = "    <dt>host</dt><dd>[HOST]</dd>".into();
        }
    }
    lines.join("\n")
}

#[test]
fn the_page_has_every_section_and_matches_its_snapshot() {
    let _g = serial();
    let (_dir, page) = rendered();
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: no scripts, nothing fetched.
    assert!(
        !html.contains("<script"),
        "the page must read without JavaScript"
    );
    for attr in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(attr), "the page fetches something: {attr}");
    }
    // Verdict first: the cards come before the first section.
    let cards = html.find("class=\"cards\"").unwrap();
    assert!(cards < html.find("<h2>").unwrap());
    for card in [
        "SLO met",
        "breaking point",
        "runway",
        "monthly cost",
        "scalability peak",
        "overload · stress",
    ] {
        assert!(html.contains(card), "no {card:?} card");
    }
    assert!(html.contains("<h2>Overload and recovery: <span class=\"fail\">collapse</span></h2>"));
    for h in [
        "Run: demo",
        "Breaking point",
        "Scalability (USL)",
        "Capacity plan: checkout-api",
    ] {
        assert!(html.contains(&format!("<h2>{h}</h2>")), "no section {h:?}");
    }
    // Every chart is embedded, and also written beside the page.
    assert_eq!(
        html.matches("data:image/png;base64,").count(),
        CHARTS.len() - 1
    );
    insta::assert_snapshot!(masked(&html));
}

#[test]
fn a_result_file_missing_a_field_is_named_not_shown_as_nothing() {
    let _g = serial();
    // A hand-edited find.json without `sustainable_rps`: the page must not
    // claim there was no sustainable rate; `report` names file and field.
    let (dir, _) = rendered();
    let find = dir.path().join("find/find.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&find).unwrap()).unwrap();
    doc.as_object_mut().unwrap().remove("sustainable_rps");
    std::fs::write(&find, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["report", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("find/find.json:"), "{err}");
    assert!(err.contains("missing field `sustainable_rps`"), "{err}");
    // A field of the wrong type is located too.
    doc["sustainable_rps"] = serde_json::json!("fast");
    std::fs::write(&find, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["report", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("invalid type: string \"fast\", expected f64"),
        "{err}"
    );
}

/// Decodes a PNG: (width, height, RGB(A) bytes).
fn decode(path: &Path) -> (u32, u32, Vec<u8>, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf, info.color_type.samples())
}

#[test]
fn every_chart_is_a_readable_non_blank_png() {
    let _g = serial();
    let (dir, _) = rendered();
    for name in &CHARTS[..CHARTS.len() - 1] {
        let path = dir.path().join(name);
        let (w, h, px, samples) = decode(&path);
        assert_eq!((w, h), (1000, 480), "{name}");
        // Luminance variance: a blank (or single-colour) image has none;
        // a chart of thin lines on white has some hundreds.
        let lum: Vec<f64> = px
            .chunks(samples)
            .map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64)
            .collect();
        let mean = lum.iter().sum::<f64>() / lum.len() as f64;
        let var = lum.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / lum.len() as f64;
        let dark = lum.iter().filter(|&&l| l < 128.0).count() as f64 / lum.len() as f64;
        println!(
            "{name}: luminance variance {var:.0}, dark pixels {:.1} %",
            100.0 * dark
        );
        assert!(var > 100.0, "{name} looks blank (variance {var})");
        // Text, axes and lines: at least 0.5 % of the pixels are dark.
        assert!(dark > 0.005, "{name}: {:.2} % dark pixels", 100.0 * dark);
    }
}

#[test]
fn secrets_in_headers_never_reach_results_or_reports() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("secret.toml");
    std::fs::write(
        &scenario,
        r#"
name = "secret"
[target]
url = "embedded"
[target.embedded]
workers = 4
service_time = { dist = "fixed", mean = "1ms" }
[[request]]
name = "api"
path = "/api"
headers = { Authorization = "Bearer s3cret-t0ken", Cookie = "session=abc123xyz", X-Api-Key = "k3y-v4lue", Accept = "application/json" }
[load]
rate = 50
duration = "1s"
"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // minijinja escapes "/" in HTML: the Accept header shows as written.
    assert!(
        html.contains("accept: application&#x2f;json"),
        "non-secret headers are shown"
    );
    assert!(html.contains("[redacted]"));
    for f in std::fs::read_dir(&out).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in ["s3cret-t0ken", "abc123xyz", "k3y-v4lue"] {
            assert!(!text.contains(secret), "{secret} leaked");
        }
    }
}

/// Debian's chromium, if installed. `.ci/run` installs it and sets
/// HEADROOM_REQUIRE_BROWSER=1, so CI never skips this.
fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|b| {
            let out = Command::new("which").arg(b).output().ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        })
}

fn headless(browser: &Path, profile: &Path, extra: &[&str], page: &Path) -> std::process::Output {
    let url = format!("file://{}", page.display());
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-background-networking".into(),
        "--no-first-run".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(url);
    Command::new(browser).args(&args).output().unwrap()
}

#[test]
fn a_headless_browser_shows_the_page_with_every_image() {
    let _g = serial();
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("HEADROOM_REQUIRE_BROWSER").is_none(),
            "HEADROOM_REQUIRE_BROWSER is set but no chromium was found"
        );
        eprintln!(
            "SKIPPED: no chromium on this machine (apt-get install chromium); .ci/run installs it"
        );
        return;
    };
    let (dir, page) = rendered();
    // 1. Every embedded image decoded: a copy of the page with a probe
    //    that writes the count into the title (the report itself has no
    //    script), read back from the DOM.
    let probe = dir.path().join("probe.html");
    let html = std::fs::read_to_string(&page).unwrap().replace(
        "</body>",
        "<script>window.addEventListener('load', () => { const i = [...document.images]; \
         document.title = 'images ' + i.filter(x => x.complete && x.naturalWidth > 0).length + '/' + i.length; });</script></body>",
    );
    std::fs::write(&probe, html).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let o = headless(
        &browser,
        profile.path(),
        &["--virtual-time-budget=5000", "--dump-dom"],
        &probe,
    );
    let dom = String::from_utf8_lossy(&o.stdout);
    let n = CHARTS.len() - 1;
    assert!(
        dom.contains(&format!("<title>images {n}/{n}</title>")),
        "not every image loaded: {}",
        dom.lines()
            .find(|l| l.contains("<title>"))
            .unwrap_or("(no title)")
    );
    // 2. The page itself renders to a screenshot that is not blank.
    let shot = dir.path().join("shot.png");
    let profile = tempfile::tempdir().unwrap();
    let o = headless(
        &browser,
        profile.path(),
        &[
            "--hide-scrollbars",
            "--window-size=1200,2400",
            &format!("--screenshot={}", shot.display()),
        ],
        &page,
    );
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (w, h, px, samples) = decode(&shot);
    assert_eq!((w, h), (1200, 2400));
    let distinct: std::collections::HashSet<&[u8]> = px.chunks(samples).collect();
    assert!(
        distinct.len() > 50,
        "screenshot looks blank: {} colours",
        distinct.len()
    );
}

/// Every result document's JSON Schema, generated from the types that
/// write it: (file stem in `src/results/schemas/`, schema).
fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    use headroom::results as r;
    fn of(s: schemars::Schema) -> serde_json::Value {
        serde_json::to_value(s).unwrap()
    }
    vec![
        ("summary", of(schemars::schema_for!(r::summary::Summary))),
        (
            "scenario",
            of(schemars::schema_for!(r::scenario::ScenarioInfo)),
        ),
        ("find", of(schemars::schema_for!(r::find::FindResult))),
        ("sweep", of(schemars::schema_for!(r::sweep::SweepResult))),
        ("stress", of(schemars::schema_for!(r::stress::StressResult))),
        ("plan", of(schemars::schema_for!(r::plan::PlanDoc))),
        ("forecast", of(schemars::schema_for!(r::plan::ForecastDoc))),
        ("backtest", of(schemars::schema_for!(r::plan::BacktestDoc))),
        ("slo", of(schemars::schema_for!(r::slo::SloDoc))),
        ("compare", of(schemars::schema_for!(r::compare::Comparison))),
    ]
}

/// The checked-in schemas are the types' own (a type that changed without
/// its schema fails here; `HEADROOM_UPDATE_SCHEMAS=1` rewrites them), and
/// documents headroom wrote — the committed fixtures, and a backtest, an
/// SLO report and a comparison made here — pass them.
#[test]
fn every_result_document_matches_its_checked_in_json_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("src/results/schemas");
    let update = std::env::var_os("HEADROOM_UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    let mut validators = std::collections::BTreeMap::new();
    for (name, schema) in schemas() {
        let path = dir.join(format!("{name}.schema.json"));
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
        validators.insert(name, jsonschema::validator_for(&schema).unwrap());
    }
    assert!(
        stale.is_empty(),
        "schemas out of date with their types (HEADROOM_UPDATE_SCHEMAS=1 cargo test --test report every_result_document): {stale:?}"
    );
    let check = |name: &str, doc: &serde_json::Value, from: &str| {
        let errors: Vec<String> = validators[name]
            .iter_errors(doc)
            .map(|e| format!("{}: {e}", e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{from} against {name}.schema.json: {errors:#?}"
        );
    };
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let fixtures = root.join("tests/fixtures/report");
    for (name, file) in [
        ("summary", "run/summary.json"),
        ("scenario", "run/scenario.json"),
        ("find", "find/find.json"),
        ("sweep", "sweep/sweep.json"),
        ("stress", "stress/stress.json"),
        ("plan", "plan/plan.json"),
        ("forecast", "plan/forecast.json"),
    ] {
        check(name, &read(&fixtures.join(file)), file);
    }
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_headroom"))
            .args(args)
            .current_dir(root)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let backtest = tmp.path().join("backtest");
    run(&[
        "forecast",
        "models/demand-hourly.csv",
        "--backtest",
        "--horizon",
        "7d",
        "--out",
        backtest.to_str().unwrap(),
    ]);
    check(
        "forecast",
        &read(&backtest.join("forecast.json")),
        "forecast --backtest",
    );
    check(
        "backtest",
        &read(&backtest.join("backtest.json")),
        "forecast --backtest",
    );
    let slo = tmp.path().join("slo");
    run(&[
        "slo",
        "report",
        "slos/checkout-availability.toml",
        "--csv",
        "slos/checkout-events.csv",
        "--out",
        slo.to_str().unwrap(),
    ]);
    check("slo", &read(&slo.join("slo.json")), "slo report");
    let compare = tmp.path().join("compare.json");
    let run_dir = fixtures.join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args([
            "compare",
            run_dir.to_str().unwrap(),
            run_dir.to_str().unwrap(),
            "--json",
            compare.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    check("compare", &read(&compare), "compare");
}
