//! https:// against Debian's nginx, configured by the test with
//! certificates made by rcgen: a private CA trusted through `ca_file`, an
//! untrusted one refused, `insecure = true` accepted with a warning, SNI
//! through `server_name`, and client certificates (mTLS). Skips loudly when
//! nginx is missing (`.ci/run` installs it and sets HEADROOM_REQUIRE_NGINX=1).
//! Load tests: this binary runs in the serial `load` group.

mod common;
use common::{free_port, headroom, serial, text};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::Value;

fn nginx() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .or_else(|| {
            assert!(
                std::env::var_os("HEADROOM_REQUIRE_NGINX").is_none(),
                "HEADROOM_REQUIRE_NGINX is set but nginx is not installed"
            );
            eprintln!("SKIPPED: nginx is not installed (apt-get install nginx-light); .ci/run installs it");
            None
        })
}

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Writes a CA, a server certificate for localhost/127.0.0.1 and a client
/// certificate, all PEM, into `dir`; a second, untrusted CA too.
fn certificates(dir: &Path) {
    let ca = |name: &str| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap()
    };
    let trusted = ca("headroom test CA");
    let other = ca("someone else's CA");
    let leaf = |names: Vec<String>, file: &str| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &trusted)
            .unwrap();
        std::fs::write(dir.join(format!("{file}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{file}.key")), key.serialize_pem()).unwrap();
    };
    leaf(vec!["localhost".into(), "127.0.0.1".into()], "server");
    leaf(vec!["load-generator".into()], "client");
    std::fs::write(dir.join("ca.pem"), trusted.pem()).unwrap();
    std::fs::write(dir.join("other-ca.pem"), other.pem()).unwrap();
}

/// nginx on loopback ports: TLS (HTTP/1.1 only), TLS requiring a client
/// certificate from the test CA, TLS with HTTP/2, and h2c (HTTP/2 without
/// TLS) allowing 8 streams per connection. Each request's port and
/// protocol go to `access.log`.
struct Ports {
    tls: u16,
    mtls: u16,
    h2: u16,
    h2c: u16,
}

fn start(bin: &Path, dir: &Path) -> (Nginx, Ports) {
    let (tls, mtls, h2, h2c) = (free_port(), free_port(), free_port(), free_port());
    let d = dir.display();
    let conf = format!(
        r#"
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format proto '$server_port $server_protocol';
    access_log {d}/access.log proto;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    ssl_certificate {d}/server.pem;
    ssl_certificate_key {d}/server.key;
    server {{
        listen 127.0.0.1:{tls} ssl;
        location / {{ return 200 "ok\n"; }}
    }}
    server {{
        listen 127.0.0.1:{mtls} ssl;
        ssl_client_certificate {d}/ca.pem;
        ssl_verify_client on;
        location / {{ return 200 "ok\n"; }}
    }}
    server {{
        listen 127.0.0.1:{h2} ssl http2;
        location / {{ return 200 "ok\n"; }}
    }}
    server {{
        listen 127.0.0.1:{h2c} http2;
        http2_max_concurrent_streams 8;
        location / {{ return 200 "ok\n"; }}
    }}
}}
"#
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(bin)
        .args(["-p", &d.to_string(), "-c", &format!("{d}/nginx.conf")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let n = Nginx(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", h2c)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not start: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (n, Ports { tls, mtls, h2, h2c })
}

/// Requests nginx logged since `from` lines, by "PORT PROTOCOL".
fn logged(dir: &Path, from: &mut usize) -> std::collections::BTreeMap<String, usize> {
    let log = std::fs::read_to_string(dir.join("access.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let mut out = std::collections::BTreeMap::new();
    for l in &lines[(*from).min(lines.len())..] {
        *out.entry(l.to_string()).or_default() += 1;
    }
    *from = lines.len();
    out
}

/// Runs 50 requests at 100/s against `url` with a `[target.tls]` table.
fn run(dir: &Path, name: &str, url: &str, tls: &str) -> (Option<i32>, Value, String) {
    run_with(
        dir,
        name,
        url,
        &format!("[target.tls]\n{tls}"),
        "rate = 100\nduration = \"500ms\"",
    )
}

/// Runs `load` against `url` with extra `[target]` lines; returns the exit
/// code, the summary (null without one) and what headroom printed.
fn run_with(
    dir: &Path,
    name: &str,
    url: &str,
    target: &str,
    load: &str,
) -> (Option<i32>, Value, String) {
    let scenario = dir.join(format!("{name}.toml"));
    std::fs::write(
        &scenario,
        format!("[target]\nurl = \"{url}\"\ntimeout = \"2s\"\n{target}\n[load]\n{load}\n"),
    )
    .unwrap();
    let out = dir.join(name);
    let o = headroom(&[
        "run",
        scenario.to_str().unwrap(),
        "--quiet",
        "--no-report",
        "--out",
        out.to_str().unwrap(),
    ]);
    let s = std::fs::read_to_string(out.join("summary.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    (o.status.code(), s, text(&o))
}

#[test]
fn https_with_a_private_ca_insecure_sni_and_client_certificates() {
    let _g = serial();
    let Some(bin) = nginx() else { return };
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let (_nginx, Ports { tls, mtls, .. }) = start(&bin, dir.path());
    let d = dir.path();
    let url = format!("https://127.0.0.1:{tls}");

    // Trusted through ca_file: every request answered; the handshake is
    // measured apart from request latency.
    let (code, s, t) = run(d, "trusted", &url, "ca_file = \"ca.pem\"");
    assert_eq!(code, Some(0), "{t}");
    assert_eq!(s["requests"]["ok"], 50, "{}", s["requests"]);
    let setup = s["connect_ms"]["p50"].as_f64().unwrap();
    println!(
        "TLS connect p50 {setup:.2} ms, request latency p50 {}",
        s["latency_ms"]["p50"]
    );
    // TCP connect plus a TLS 1.3 handshake (ECDSA P-256 signature, X25519)
    // on loopback: well above 0.1 ms, far below 50 ms.
    assert!((0.1..50.0).contains(&setup), "connect p50 {setup} ms");
    assert!(s.get("warnings").is_none());

    // SNI and certificate name through server_name (the URL has an IP).
    let (code, s, t) = run(
        d,
        "sni",
        &url,
        "ca_file = \"ca.pem\"\nserver_name = \"localhost\"",
    );
    assert_eq!(
        (code, &s["requests"]["ok"]),
        (Some(0), &Value::from(50)),
        "{t}"
    );

    // Another CA: every handshake refused, counted as tls_error.
    let (code, s, t) = run(d, "untrusted", &url, "ca_file = \"other-ca.pem\"");
    assert_eq!(s["requests"]["ok"], 0, "{t}");
    assert_eq!(
        s["requests"]["errors"]["by_kind"]["tls_error"],
        s["requests"]["errors"]["total"]
    );
    assert_ne!(code, Some(0));

    // insecure = true: accepted, and the summary says so.
    let (code, s, t) = run(d, "insecure", &url, "insecure = true");
    assert_eq!(code, Some(0), "{t}");
    assert_eq!(s["requests"]["ok"], 50);
    assert!(
        s["warnings"][0].as_str().unwrap().contains("not verified"),
        "{}",
        s["warnings"]
    );

    // mTLS: with the client certificate every request is answered; without
    // it nginx answers 400.
    let murl = format!("https://127.0.0.1:{mtls}");
    let (code, s, t) = run(
        d,
        "mtls",
        &murl,
        "ca_file = \"ca.pem\"\nclient_cert = \"client.pem\"\nclient_key = \"client.key\"",
    );
    assert_eq!(code, Some(0), "{t}");
    assert_eq!(s["requests"]["ok"], 50);
    let (_, s, t) = run(d, "no-client-cert", &murl, "ca_file = \"ca.pem\"");
    assert_eq!(s["requests"]["ok"], 0, "{t}");
    assert_eq!(
        s["requests"]["errors"]["by_kind"]["http_400"], 50,
        "{}",
        s["requests"]
    );

    // A missing file is bad input, located.
    let (code, _, t) = run(d, "missing", &url, "ca_file = \"nope.pem\"");
    assert_eq!(code, Some(2), "{t}");
    assert!(
        t.contains("missing.toml:") && t.contains("no such file"),
        "{t}"
    );
}

#[test]
fn http2_by_alpn_h2c_by_prior_knowledge_and_stream_limits() {
    let _g = serial();
    let Some(bin) = nginx() else { return };
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let (_nginx, p) = start(&bin, dir.path());
    let d = dir.path();
    let mut seen = 0;
    let tls = "ca_file = \"ca.pem\"";

    // https://, http = "auto": ALPN picks h2 where nginx offers it …
    let h2 = format!("https://127.0.0.1:{}", p.h2);
    let (code, s, t) = run(d, "alpn-h2", &h2, tls);
    assert_eq!(
        (code, &s["requests"]["ok"]),
        (Some(0), &Value::from(50)),
        "{t}"
    );
    let want = |port: u16, proto: &str, n: usize| {
        std::collections::BTreeMap::from([(format!("{port} {proto}"), n)])
    };
    assert_eq!(logged(d, &mut seen), want(p.h2, "HTTP/2.0", 50));
    // … and HTTP/1.1 where it does not.
    let h1 = format!("https://127.0.0.1:{}", p.tls);
    let (code, _, t) = run(d, "alpn-h1", &h1, tls);
    assert_eq!(code, Some(0), "{t}");
    assert_eq!(logged(d, &mut seen), want(p.tls, "HTTP/1.1", 50));
    // http = "1.1" keeps HTTP/1.1 even where h2 is offered.
    let (code, _, t) = run_with(
        d,
        "forced-h1",
        &h2,
        &format!("http = \"1.1\"\n[target.tls]\n{tls}"),
        "rate = 100\nduration = \"500ms\"",
    );
    assert_eq!(code, Some(0), "{t}");
    assert_eq!(logged(d, &mut seen), want(p.h2, "HTTP/1.1", 50));

    // h2c: 32 users on one connection that nginx limits to 8 streams.
    // Opening more than 8 would have nginx refuse streams; none fails.
    // nginx ends an HTTP/2 connection with GOAWAY after 1000 requests
    // (keepalive_requests): the requests it did not process are sent again
    // on a new connection, so 2000 requests take 2 connections, and nginx
    // logs each request exactly once.
    let h2c = format!("http://127.0.0.1:{}", p.h2c);
    let (code, s, _) = run_with(
        d,
        "h2c",
        &h2c,
        "http = \"2\"",
        "model = \"closed\"\nconcurrency = 32\nrequests = 2000\nconnections = 1\nthreads = 1",
    );
    assert_eq!(code, Some(0), "{s}");
    assert_eq!(s["requests"]["ok"], 2000, "{}", s["requests"]);
    assert_eq!(s["connections_opened"], 2);
    assert_eq!(logged(d, &mut seen), want(p.h2c, "HTTP/2.0", 2000));
}
