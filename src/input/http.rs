//! One HTTP/1.1 call, on hyper, to a service headroom reads from or
//! drives: Prometheus's query API, a proxy's API (`headroom proxy`,
//! Toxiproxy).

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use crate::error::Unreachable;
use crate::input::url::BaseUrl;

/// How long a call may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub connect: Duration,
    /// For the answer, and again for its body.
    pub answer: Duration,
}

/// Sends `method path` to `base`, with `json` as the body if given: the
/// status and the body. `what` names the service in errors ("Prometheus").
pub async fn call(
    base: &BaseUrl,
    method: http::Method,
    path: &str,
    json: Option<String>,
    what: &str,
    limits: Limits,
) -> Result<(u16, Bytes), Unreachable> {
    let unreachable =
        |e: &dyn std::fmt::Display| Unreachable(format!("{what} at {}: {e}", base.authority));
    let stream = tokio::time::timeout(
        limits.connect,
        tokio::net::TcpStream::connect((base.host.as_str(), base.port)),
    )
    .await
    .map_err(|_| unreachable(&"connect timed out"))?
    .map_err(|e| unreachable(&e))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(&e))?;
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, base.authority.as_str());
    if json.is_some() {
        req = req.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    let req = req
        .body(Full::new(Bytes::from(json.unwrap_or_default())))
        .map_err(|e| unreachable(&e))?;
    let late = |_| unreachable(&format!("no answer within {} s", limits.answer.as_secs()));
    let resp = tokio::time::timeout(limits.answer, sender.send_request(req))
        .await
        .map_err(late)?
        .map_err(|e| unreachable(&e))?;
    let status = resp.status().as_u16();
    let body = tokio::time::timeout(limits.answer, resp.into_body().collect())
        .await
        .map_err(late)?
        .map_err(|e| unreachable(&e))?
        .to_bytes();
    Ok((status, body))
}
