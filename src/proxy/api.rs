//! Toxiproxy 2's HTTP control API, so its clients (Go, Python, Node, Ruby,
//! the `toxiproxy-cli`) drive `headroom proxy` unchanged:
//!
//! | route | answer |
//! |---|---|
//! | `GET /proxies` | `{NAME: proxy, …}` |
//! | `POST /proxies` `{name, listen, upstream, enabled}` | `201` proxy |
//! | `POST /populate` `[proxy, …]` | `201` `{"proxies": [proxy, …]}` |
//! | `GET`, `POST`/`PATCH`, `DELETE /proxies/NAME` | proxy, proxy, `204` |
//! | `GET`, `POST /proxies/NAME/toxics` | `[toxic, …]`, toxic |
//! | `GET`, `POST`/`PATCH`, `DELETE /proxies/NAME/toxics/TOXIC` | toxic, toxic, `204` |
//! | `POST /reset` | `204`: every proxy enabled, every toxic removed |
//! | `GET /version` | `{"version": …}` |
//!
//! Errors are `{"error": MESSAGE, "status": CODE}` with 400 (bad JSON or
//! values), 404 (no such proxy or toxic) and 409 (the name is taken, or
//! the address is in use).

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;

use super::toxic::ToxicSpec;
use super::{Proxies, ProxyError, ProxySpec};

/// The Toxiproxy API version this one follows.
pub const VERSION: &str = "2.12.0";

/// Request bodies larger than this are refused.
const BODY_LIMIT: usize = 1 << 20;

/// Serves the API on `listener` until the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener, proxies: Proxies) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let proxies = proxies.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let proxies = proxies.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&proxies, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

async fn handle(proxies: &Proxies, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return error(&ProxyError::BadRequest(format!("reading the body: {e}"))),
    };
    match route(proxies, &parts.method, parts.uri.path(), &body) {
        Ok((status, v)) => json(status, v),
        Err(e) => error(&e),
    }
}

/// One API call: the status and JSON it answers (`None`: no body).
pub fn route(
    proxies: &Proxies,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<(StatusCode, Option<Value>), ProxyError> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let ok = |v: Value| Ok((StatusCode::OK, Some(v)));
    let update = |m: &Method| *m == Method::POST || *m == Method::PATCH;
    match (method, segments.as_slice()) {
        (&Method::GET, ["version"]) => ok(serde_json::json!({ "version": VERSION })),
        (&Method::POST, ["reset"]) => {
            proxies.reset()?;
            Ok((StatusCode::NO_CONTENT, None))
        }
        (&Method::GET, ["proxies"]) => {
            let map: serde_json::Map<String, Value> = proxies
                .list()
                .into_iter()
                .map(|p| (p.name.clone(), to_value(&p)))
                .collect();
            ok(Value::Object(map))
        }
        (&Method::POST, ["proxies"]) => {
            let p = proxies.create(parse(body)?)?;
            Ok((StatusCode::CREATED, Some(to_value(&p))))
        }
        (&Method::POST, ["populate"]) => {
            let specs: Vec<ProxySpec> = parse(body)?;
            let made = populate(proxies, specs)?;
            Ok((
                StatusCode::CREATED,
                Some(
                    serde_json::json!({ "proxies": made.iter().map(to_value).collect::<Vec<_>>() }),
                ),
            ))
        }
        (&Method::GET, ["proxies", name]) => ok(to_value(&proxies.get(name)?)),
        (m, ["proxies", name]) if update(m) => ok(to_value(&proxies.update(name, parse(body)?)?)),
        (&Method::DELETE, ["proxies", name]) => {
            proxies.delete(name)?;
            Ok((StatusCode::NO_CONTENT, None))
        }
        (&Method::GET, ["proxies", name, "toxics"]) => ok(Value::Array(
            proxies.toxics(name)?.iter().map(|t| t.to_json()).collect(),
        )),
        (&Method::POST, ["proxies", name, "toxics"]) => ok(proxies
            .add_toxic(name, parse::<ToxicSpec>(body)?)?
            .to_json()),
        (&Method::GET, ["proxies", name, "toxics", toxic]) => {
            ok(proxies.toxic(name, toxic)?.to_json())
        }
        (m, ["proxies", name, "toxics", toxic]) if update(m) => {
            ok(proxies.update_toxic(name, toxic, parse(body)?)?.to_json())
        }
        (&Method::DELETE, ["proxies", name, "toxics", toxic]) => {
            proxies.remove_toxic(name, toxic)?;
            Ok((StatusCode::NO_CONTENT, None))
        }
        _ => Err(ProxyError::NotFound(format!("no route {method} {path}"))),
    }
}

/// Creates the proxies not there yet, and re-creates those whose address
/// or upstream changed; those already there as given are kept. Answers
/// every proxy of the list.
fn populate(proxies: &Proxies, specs: Vec<ProxySpec>) -> Result<Vec<super::ProxyView>, ProxyError> {
    let mut out = Vec::new();
    for spec in specs {
        let name = spec.name.clone().unwrap_or_default();
        if let Ok(old) = proxies.get(&name) {
            let same_upstream = spec.upstream.as_ref().is_none_or(|u| *u == old.upstream);
            let same_listen = spec.listen.as_ref().is_none_or(|l| *l == old.listen);
            if same_upstream && same_listen {
                out.push(old);
                continue;
            }
            proxies.delete(&name)?;
        }
        out.push(proxies.create(spec)?);
    }
    Ok(out)
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ProxyError> {
    serde_json::from_slice(body)
        .map_err(|e| ProxyError::BadRequest(format!("bad request body: {e}")))
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn json(status: StatusCode, v: Option<Value>) -> Response<Full<Bytes>> {
    let body = v.map(|v| Bytes::from(v.to_string())).unwrap_or_default();
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

fn error(e: &ProxyError) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(
        status,
        Some(serde_json::json!({ "error": e.to_string(), "status": e.status() })),
    )
}

/// The address a `--api` flag or `api =` names.
pub fn addr(s: &str) -> Result<SocketAddr, String> {
    s.parse()
        .map_err(|_| format!("expected HOST:PORT like 127.0.0.1:8474, found {s:?}"))
}
