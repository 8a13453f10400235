//! Flows, templates and HTTP/2 against the embedded target, whose login
//! API and counters are the ground truth: every token it issued, every
//! `/api/` request it authorised or refused, the most requests it handled
//! at once. Rates here are tiny for the machine (≤ 200 flows/s on a target
//! with 1–2 ms service time), so every count is asserted exactly.
//! Load tests: this binary runs in the serial `load` test group.

mod common;
use common::{headroom, serial, text};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use headroom::embedded::{self, ServiceTime, TargetConfig, TargetHandle};
use headroom::load::{self, RunOutcome, StopFlag};
use headroom::metrics::{ErrorKind, Interval};
use headroom::results::summary::Summary;
use headroom::scenario::{BaseUrl, Plan};
use headroom::search::summary::RunFacts;

fn start(workers: u32, ms: u64, streams: Option<u32>) -> TargetHandle {
    let cfg = TargetConfig {
        workers,
        service_time: ServiceTime::Fixed {
            mean: Duration::from_millis(ms),
        },
        max_concurrent_streams: streams,
        ..TargetConfig::default()
    };
    embedded::spawn(cfg, SocketAddr::from(([127, 0, 0, 1], 0))).unwrap()
}

/// Parses `body` as a scenario in `dir` (data files are relative to it)
/// aimed at the target.
fn scenario(dir: &Path, t: &TargetHandle, body: &str) -> Plan {
    scenario_at(dir, &t.url(), body)
}

fn scenario_at(dir: &Path, url: &str, body: &str) -> Plan {
    let text = format!("[target]\nurl = \"{url}\"\n{body}");
    let path = dir.join("scenario.toml");
    std::fs::write(&path, &text).unwrap();
    headroom::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn run(plan: &Plan, t: &TargetHandle) -> RunOutcome {
    run_at(plan, &t.url())
}

fn run_at(plan: &Plan, url: &str) -> RunOutcome {
    let base = BaseUrl::parse(url).unwrap();
    load::run(plan, &base, &StopFlag::default(), &mut |_: &Interval| {}).unwrap()
}

/// The summary `headroom run` would write for this outcome.
fn summary(plan: &Plan, o: &RunOutcome) -> Summary {
    Summary::build(RunFacts::of(plan, String::new(), o), &plan.slo)
}

/// A minimal HTTP/1.1 server that keeps every request it reads (head and
/// body, as text) and answers each `200 {"ok":true}`: what was sent, seen
/// from the other end of the wire.
fn capture() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let keep = keep.clone();
            std::thread::spawn(move || {
                let mut w = conn.try_clone().unwrap();
                let mut r = BufReader::new(conn);
                loop {
                    let mut head = String::new();
                    let mut line = String::new();
                    let mut length = 0;
                    while r.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                        let lower = line.to_ascii_lowercase();
                        if let Some(v) = lower.strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        head.push_str(&line);
                        line.clear();
                    }
                    if head.is_empty() {
                        return;
                    }
                    let mut body = vec![0; length];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    head.push_str(&String::from_utf8_lossy(&body));
                    keep.lock().unwrap().push(head);
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}";
                    if w.write_all(ok).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, seen)
}

/// (sent, ok, errors of `kind`) for the request or step called `name`.
fn count(plan: &Plan, o: &RunOutcome, name: &str, kind: Option<ErrorKind>) -> (u64, u64, u64) {
    let i = plan
        .requests
        .iter()
        .position(|r| r.name == name)
        .unwrap_or_else(|| panic!("no step {name}"));
    let s = &o.totals[i];
    let e = kind.map_or(0, |k| s.errors.get(&k).copied().unwrap_or(0));
    (s.sent, s.ok, e)
}

fn users(dir: &Path, n: usize) {
    let mut csv = String::from("name,plan\n");
    for i in 0..n {
        csv.push_str(&format!(
            "user{i:03},{}\n",
            if i % 2 == 0 { "free" } else { "pro" }
        ));
    }
    std::fs::write(dir.join("users.csv"), csv).unwrap();
}

const SHOP: &str = r#"
[[flow]]
name = "shop"
weight = 3
[[flow.step]]
name = "login"
method = "POST"
path = "/login"
body = '{"user":"{{ users.name }}"}'
extract = { token = { json = "/token" } }
[[flow.step]]
name = "whoami"
path = "/api/whoami?n={{ counter }}"
headers = { authorization = "Bearer {{ token }}" }
expect = { status = 200, json = { "/user" = "{{ users.name }}" } }
[[flow.step]]
name = "cart"
method = "POST"
path = "/api/cart/{{ random_int(1, 9) }}"
headers = { authorization = "Bearer {{ token }}", x-request-id = "{{ uuid }}" }
body = '{"plan":"{{ users.plan }}"}'
expect = { headers = { content-type = "json" }, body_contains = '"ok":true' }
"#;

#[test]
fn weighted_flows_log_in_extract_the_token_and_use_it() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    users(dir.path(), 7);
    let t = start(16, 1, None);
    let plan = scenario(
        dir.path(),
        &t,
        &format!(
            r#"
[load]
rate = 100
duration = "2s"
threads = 1
[data.users]
file = "users.csv"
{SHOP}
[[flow]]
name = "anon"
[[flow.step]]
name = "whoami"
path = "/api/whoami"
expect = {{ status = 401 }}
"#
        ),
    );
    let o = run(&plan, &t);
    let arrivals = o.scheduled.unwrap();
    assert_eq!(arrivals, 200);
    let login = count(&plan, &o, "shop/login", None);
    let whoami = count(&plan, &o, "shop/whoami", None);
    let cart = count(&plan, &o, "shop/cart", None);
    let anon = count(&plan, &o, "anon/whoami", None);
    // Every arrival ran one flow; each shop step answered as expected.
    assert_eq!(login.0 + anon.0, arrivals);
    assert_eq!((login.1, whoami.1, cart.1), (login.0, login.0, login.0));
    assert_eq!((whoami.0, cart.0), (login.0, login.0));
    assert_eq!(anon.1, anon.0, "401 was expected and counts as OK");
    // The target's own counts: one token per shop flow, two authorised API
    // calls per shop flow, one refusal per anonymous flow.
    let st = &t.stats;
    assert_eq!(st.logins.load(Ordering::Relaxed), login.1);
    assert_eq!(st.authorized.load(Ordering::Relaxed), 2 * login.1);
    assert_eq!(st.unauthorized.load(Ordering::Relaxed), anon.1);
    // Weights 3:1 → anon ~ Binomial(200, 1/4): mean 50, sd 6.1; ±5 sd.
    assert!((19..=81).contains(&anon.0), "anon flows {}", anon.0);
    // Flow starts, not requests, make the achieved rate: 200 flows in 2 s
    // against a target of 100/s, though 3·shop + anon requests were sent.
    assert_eq!(
        o.totals.iter().map(|s| s.sent).sum::<u64>(),
        3 * login.0 + anon.0
    );
    let s = summary(&plan, &o);
    assert_eq!(s.target_rate, Some(200.0 / s.duration_s));
    assert_eq!(s.achieved_rate, 200.0 / s.duration_s);
    assert!(!s.generator_limited, "{:?}", s.generator_notes);
}

#[test]
fn a_failed_step_ends_its_flow() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let t = start(8, 1, None);
    let plan = scenario(
        dir.path(),
        &t,
        r#"
[load]
rate = 50
duration = "1s"
threads = 1
[[flow]]
name = "noauth"
[[flow.step]]
name = "api"
path = "/api/items"
[[flow.step]]
name = "after"
path = "/"
[[flow]]
name = "badextract"
[[flow.step]]
name = "login"
method = "POST"
path = "/login"
extract = { token = { json = "/no/such/field" } }
[[flow.step]]
name = "after"
path = "/api/items"
headers = { authorization = "Bearer {{ token }}" }
[[flow]]
name = "badassert"
[[flow.step]]
name = "home"
path = "/"
expect = { body_contains = "not in the body" }
[[flow.step]]
name = "after"
path = "/"
"#,
    );
    let o = run(&plan, &t);
    let api = count(&plan, &o, "noauth/api", Some(ErrorKind::Http(401)));
    let login = count(&plan, &o, "badextract/login", Some(ErrorKind::Extract));
    let home = count(&plan, &o, "badassert/home", Some(ErrorKind::Assert));
    for (name, (sent, ok, failed)) in [("api", api), ("login", login), ("home", home)] {
        assert!(sent > 0, "{name} never ran");
        assert_eq!((ok, failed), (0, sent), "{name}");
    }
    assert_eq!(api.0 + login.0 + home.0, 50);
    for after in ["noauth/after", "badextract/after", "badassert/after"] {
        assert_eq!(count(&plan, &o, after, None).0, 0, "{after} was sent");
    }
}

#[test]
fn unique_rows_give_each_arrival_its_own_user_and_bound_the_run() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    users(dir.path(), 30);
    let t = start(16, 1, None);
    let plan = scenario(
        dir.path(),
        &t,
        &format!(
            r#"
[load]
rate = 100
duration = "2s"
threads = 2
[data.users]
file = "users.csv"
order = "unique"
{SHOP}
"#
        ),
    );
    let o = run(&plan, &t);
    // 200 arrivals scheduled by the profile; 30 rows: 30 flows, each a
    // distinct user whose token whoami confirms.
    assert_eq!(o.scheduled, Some(30));
    assert_eq!(count(&plan, &o, "shop/whoami", None), (30, 30, 0));
    assert_eq!(t.stats.logins.load(Ordering::Relaxed), 30);
    // Seen from the wire: 30 logins, one per row, none twice.
    let (url, seen) = capture();
    let plan = scenario_at(
        dir.path(),
        &url,
        "[load]\nrate = 100\nduration = \"2s\"\nthreads = 2\n[data.users]\nfile = \"users.csv\"\norder = \"unique\"\n\
         [[flow]]\nname = \"login\"\n[[flow.step]]\nmethod = \"POST\"\npath = \"/login\"\nbody = '{\"user\":\"{{ users.name }}\"}'\n",
    );
    run_at(&plan, &url);
    let users: std::collections::BTreeSet<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter_map(|r| {
            r.split_once("{\"user\":\"")?
                .1
                .split_once('"')
                .map(|u| u.0.to_string())
        })
        .collect();
    let want: std::collections::BTreeSet<String> = (0..30).map(|i| format!("user{i:03}")).collect();
    assert_eq!(seen.lock().unwrap().len(), 30);
    assert_eq!(users, want);
}

#[test]
fn h2c_shares_connections_and_respects_the_servers_stream_limit() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    // The server allows 4 streams per connection; 32 users on 1 connection.
    let t = start(64, 2, Some(4));
    let plan = scenario(
        dir.path(),
        &t,
        "http = \"2\"\n[load]\nmodel = \"closed\"\nconcurrency = 32\nduration = \"1500ms\"\nconnections = 1\nthreads = 1\n",
    );
    let o = run(&plan, &t);
    let s = &o.totals[0];
    println!(
        "h2c: {} ok on {} connection(s), server peak {} in progress",
        s.ok,
        o.connections_opened,
        t.stats.peak_active.load(Ordering::Relaxed)
    );
    assert_eq!(o.connections_opened, 1);
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert_eq!(t.stats.peak_active.load(Ordering::Relaxed), 4);
    // 4 streams at a time can serve at most 4 / hold per second: the
    // upper bound is the limit itself; below it, the client's round trips
    // (debug build, 2 cores) take their share, so the lower bound is loose.
    let most = 4.0 / held_s(&t) * o.duration.as_secs_f64();
    // The 32 requests in flight at the end are answered in the drain.
    assert!(
        (s.ok as f64) <= most * 1.02 + 32.0 && (s.ok as f64) >= most * 0.3,
        "{} ok, at most {most:.0} + 32",
        s.ok
    );

    // Our own limit: 4 streams per connection, 16 users → 4 connections.
    let t = start(64, 2, None);
    let plan = scenario(
        dir.path(),
        &t,
        "http = \"2\"\n[load]\nmodel = \"closed\"\nconcurrency = 16\nduration = \"1s\"\nstreams = 4\nthreads = 1\n",
    );
    let o = run(&plan, &t);
    assert_eq!(o.connections_opened, 4);
    assert!(o.totals[0].errors.is_empty(), "{:?}", o.totals[0].errors);
    assert_eq!(t.stats.peak_active.load(Ordering::Relaxed), 16);
}

#[test]
fn requests_cancelled_in_the_targets_queue_leave_no_trace() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    // One worker (20 ms), room for 4 waiting. Over HTTP/2 every request
    // times out at 5 ms: the client resets the stream and hyper drops the
    // handler, many of them while queued.
    let cfg = TargetConfig {
        workers: 1,
        queue_limit: Some(4),
        service_time: ServiceTime::Fixed {
            mean: Duration::from_millis(20),
        },
        ..TargetConfig::default()
    };
    let t = embedded::spawn(cfg, SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
    let plan = scenario(
        dir.path(),
        &t,
        "http = \"2\"\ntimeout = \"5ms\"\n[load]\nmodel = \"closed\"\nconcurrency = 4\nduration = \"1s\"\nthreads = 1\n",
    );
    let o = run(&plan, &t);
    assert!(
        o.totals[0].errors.get(&ErrorKind::RequestTimeout).copied() > Some(20),
        "{:?}",
        o.totals[0].errors
    );
    // Then 2 users, at most 1 waiting: had the cancelled ones stayed
    // counted as waiting, these would be turned away with 503.
    let plan = scenario(
        dir.path(),
        &t,
        "[load]\nmodel = \"closed\"\nconcurrency = 2\nduration = \"1s\"\nthreads = 1\n",
    );
    let rejected = t.stats.rejected.load(Ordering::Relaxed);
    let o = run(&plan, &t);
    // One worker, 2 users: 1 / hold per second, nothing turned away.
    let most = o.duration.as_secs_f64() / held_s(&t);
    let ok = o.totals[0].ok as f64;
    // Plus the 2 in flight at the end, answered in the drain.
    assert!(
        ok <= most * 1.02 + 2.0 && ok >= most * 0.5,
        "{ok} ok, at most {most:.0} + 2"
    );
    assert!(o.totals[0].errors.is_empty(), "{:?}", o.totals[0].errors);
    assert_eq!(t.stats.rejected.load(Ordering::Relaxed), rejected);
}

/// The mean time the target held a request, in seconds.
fn held_s(t: &TargetHandle) -> f64 {
    let served = t.stats.served.load(Ordering::Relaxed).max(1);
    t.stats.held_micros.load(Ordering::Relaxed) as f64 / served as f64 / 1e6
}

#[test]
fn environment_secrets_are_sent_but_never_written() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let secret = "s3cr3t-value-8d1f";
    let (url, seen) = capture();
    std::fs::write(
        d.join("env.toml"),
        r#"
[target]
url = "URL"
[load]
rate = 50
duration = "1s"
[[flow]]
name = "api"
[[flow.step]]
name = "call"
path = "/x?key={{ env.HEADROOM_TEST_SECRET }}"
headers = { x-api-key = "{{ env.HEADROOM_TEST_SECRET }}" }
body = "token={{ env.HEADROOM_TEST_SECRET }}"
"#
        .replace("URL", &url),
    )
    .unwrap();
    let out = d.join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["run", d.join("env.toml").to_str().unwrap(), "--out"])
        .arg(&out)
        .env("HEADROOM_TEST_SECRET", secret)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains(secret));
    // Sent: in the path, the header and the body of all 50 requests.
    let sent = seen.lock().unwrap().clone();
    assert_eq!(sent.len(), 50);
    for r in &sent {
        assert!(
            r.starts_with(&format!("GET /x?key={secret} HTTP/1.1\r\n")),
            "{r}"
        );
        assert!(r.contains(&format!("\r\nx-api-key: {secret}\r\n")), "{r}");
        assert!(r.ends_with(&format!("\r\ntoken={secret}")), "{r}");
    }
    let mut files = 0;
    for e in std::fs::read_dir(&out).unwrap() {
        let path = e.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(path).unwrap();
        files += 1;
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret was written"
        );
    }
    assert!(files >= 4, "{files} files");
    let scenario = std::fs::read_to_string(out.join("scenario.json")).unwrap();
    assert!(
        scenario.contains("{{ env.HEADROOM_TEST_SECRET }}"),
        "{scenario}"
    );

    // Unset: refused before any load, pointing at the name.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["run", d.join("env.toml").to_str().unwrap(), "--no-report"])
        .env_remove("HEADROOM_TEST_SECRET")
        .output()
        .unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("env.toml:11:") && t.contains("HEADROOM_TEST_SECRET is not set"),
        "{t}"
    );
}

#[test]
fn template_and_flow_mistakes_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    users(d, 3);
    std::fs::write(d.join("ragged.csv"), "name,plan\nann,pro\nbob,free,extra\n").unwrap();
    let cases = [
        // An extracted value used before the step that extracts it.
        (
            "[[flow]]\nname = \"f\"\n[[flow.step]]\npath = \"/a/{{ token }}\"\n[[flow.step]]\npath = \"/login\"\nextract = { token = { json = \"/token\" } }\n",
            // The name's column, not the space before it (issue 16).
            "9:15",
            "unknown name \"token\"",
        ),
        (
            "[data.users]\nfile = \"users.csv\"\n[[flow]]\nname = \"f\"\n[[flow.step]]\npath = \"/{{ users.age }}\"\n",
            "11:",
            "has no column \"age\"",
        ),
        (
            "[data.users]\nfile = \"nope.csv\"\n",
            "7:8",
            "nope.csv",
        ),
        // A row with a field too many: the data file's own line.
        (
            "[data.users]\nfile = \"ragged.csv\"\n",
            "7:8",
            "ragged.csv:3: not a CSV table: expected 2 fields as in the header line, found 3",
        ),
        (
            "[[flow]]\nname = \"f\"\n[[flow.step]]\npath = \"/\"\nexpect = { status = \"2yy\" }\n",
            "10:",
            "expected a status",
        ),
        (
            "[[flow]]\nname = \"f\"\n[[flow.step]]\npath = \"/\"\nextract = { x = { regex = \"(unclosed\" } }\n",
            "10:",
            "not a valid regular expression",
        ),
        (
            "[[request]]\npath = \"/\"\nextract = { x = { json = \"/a\" } }\n",
            "8:",
            "extract applies to flow steps",
        ),
        // Escapes and multibyte text before the mistake: located, no panic.
        (
            "[[request]]\npath = \"/\"\nbody = \"\\\"日本{{ nope }}\"\n",
            "8:",
            "unknown name \"nope\"",
        ),
    ];
    for (i, (body, at, msg)) in cases.iter().enumerate() {
        let path = d.join(format!("bad{i}.toml"));
        std::fs::write(
            &path,
            format!("[target]\nurl = \"embedded\"\n[load]\nrate = 1\nduration = \"1s\"\n{body}"),
        )
        .unwrap();
        let o = headroom(&["run", path.to_str().unwrap(), "--no-report"]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{t}");
        assert!(
            t.contains(&format!("bad{i}.toml:{at}")) && t.contains(msg),
            "case {i}: {t}"
        );
    }
}
