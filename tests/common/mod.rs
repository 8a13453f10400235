//! Helpers shared by the integration tests that drive the binary.
#![allow(dead_code)]

use std::process::{Child, Command, Output};
use std::sync::{Mutex, MutexGuard};

/// `cargo test` runs a binary's tests on parallel threads; tests that put
/// load on the machine must not overlap (nextest runs them in one group).
static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs the headroom binary to completion.
pub fn headroom(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(args)
        .output()
        .unwrap()
}

/// Everything the binary printed.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A one-thread plan from flags (`url` and the rest in `o`) with the SLO
/// flags `slo` (name, value) applied.
pub fn plan_from(
    o: headroom::scenario::Overrides,
    slo: &[(&str, &str)],
) -> headroom::scenario::Plan {
    let mut p = headroom::scenario::Plan::from_flags(&headroom::scenario::Overrides {
        rate: o.rate.or(Some(1.0)),
        threads: o.threads.or(Some(1)),
        ..o
    })
    .unwrap();
    let flags: Vec<(String, String)> = slo
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    p.slo.apply_flags(&flags).unwrap();
    p
}

/// Output options for in-process runs: into `dir`, quietly, no report.
pub fn quiet(dir: &std::path::Path) -> headroom::app::Output {
    headroom::app::Output::quiet_to(dir)
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A misbehaving Python server (tests/servers/misbehave.py), killed on drop.
pub struct Py {
    pub child: Child,
    pub port: u16,
}

impl Drop for Py {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `misbehave.py ARGS`; `None` (said loudly) without python3,
/// unless `.ci/run` requires it.
pub fn python(args: &[&str]) -> Option<Py> {
    python_server("misbehave.py", args)
}

/// Starts `tests/servers/SCRIPT ARGS` (a server that prints its port
/// first), likewise.
pub fn python_server(script: &str, args: &[&str]) -> Option<Py> {
    use std::io::BufRead;
    let script = format!("{}/tests/servers/{script}", env!("CARGO_MANIFEST_DIR"));
    let child = Command::new("python3")
        .arg(script)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var_os("HEADROOM_REQUIRE_PYTHON").is_none(),
                "HEADROOM_REQUIRE_PYTHON is set but python3 does not start: {e}"
            );
            eprintln!("SKIPPED: python3 is not installed; .ci/run requires it");
            return None;
        }
    };
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("the server prints its port");
    Some(Py { child, port })
}
