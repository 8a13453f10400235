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

/// nginx on two loopback ports: plain TLS, and TLS requiring a client
/// certificate from the test CA.
fn start(bin: &Path, dir: &Path) -> (Nginx, u16, u16) {
    let (tls, mtls) = (free_port(), free_port());
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
    access_log off;
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
    while std::net::TcpStream::connect(("127.0.0.1", mtls)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not start: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (n, tls, mtls)
}

/// Runs 50 requests at 100/s against `url` with a `[target.tls]` table.
fn run(dir: &Path, name: &str, url: &str, tls: &str) -> (Option<i32>, Value, String) {
    let scenario = dir.join(format!("{name}.toml"));
    std::fs::write(
        &scenario,
        format!("[target]\nurl = \"{url}\"\ntimeout = \"2s\"\n[target.tls]\n{tls}\n[load]\nrate = 100\nduration = \"500ms\"\n"),
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
    let (_nginx, tls, mtls) = start(&bin, dir.path());
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
    assert!(setup > 0.0);
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
