//! `headroom proxy`: the fault-injecting proxy and its Toxiproxy API.

use crate::cli::ProxyArgs;
use crate::exit;
use crate::load::StopFlag;
use std::time::{Duration, Instant};

pub fn serve_proxy(args: &ProxyArgs, stop: &StopFlag) -> anyhow::Result<exit::Code> {
    let server = crate::proxy::Server::start(Some(args.api))
        .map_err(|e| crate::error::BadInput(format!("--api {}: {e}", args.api)))?;
    for spec in &args.proxies {
        let p = server.proxies.create(spec.clone()).map_err(|e| {
            crate::error::BadInput(format!(
                "--proxy {}: {e}",
                spec.name.as_deref().unwrap_or("")
            ))
        })?;
        println!("proxy {}: {} → {}", p.name, p.listen, p.upstream);
    }
    if let Some(api) = server.api {
        println!("proxy API (Toxiproxy's) on http://{api}");
    }
    let started = Instant::now();
    while !stop.is_set() && args.run_for.is_none_or(|d| started.elapsed() < d) {
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(exit::Code::Ok)
}
