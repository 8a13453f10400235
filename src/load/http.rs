//! The client side of one connection: connect, send a request built from a
//! template, read and drop the response body, classify failures.

use std::error::Error as _;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::metrics::ErrorKind;
use crate::scenario::{BaseUrl, RequestSpec};

pub type Sender = SendRequest<Full<Bytes>>;

/// A request prepared once; each send clones cheap handles (Bytes, Uri).
#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Template {
    /// Asks the server to close the connection after the answer.
    pub fn close_connection(&mut self) {
        self.headers.insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }

    pub fn new(spec: &RequestSpec, base: &BaseUrl) -> Result<Template, String> {
        let uri: Uri = format!("{}{}", base.base_path, spec.path)
            .parse()
            .map_err(|e| format!("request {:?}: bad path {:?}: {e}", spec.name, spec.path))?;
        let mut headers = HeaderMap::new();
        let host = HeaderValue::from_str(base.authority.as_str())
            .map_err(|e| format!("bad host {}: {e}", base.authority))?;
        headers.insert(http::header::HOST, host);
        for (k, v) in &spec.headers {
            headers.append(k.clone(), v.clone());
        }
        Ok(Template {
            name: spec.name.clone(),
            method: spec.method.clone(),
            uri,
            headers,
            body: spec.body.clone(),
        })
    }

    pub fn build(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = self.headers.clone();
        req
    }
}

/// Opens a keep-alive HTTP/1.1 connection (over TLS when `tls` is given);
/// its driver runs as a local task. Returns the sender and how long the
/// TCP connect and TLS handshake took.
pub async fn connect(
    addr: SocketAddr,
    timeout: Duration,
    tls: Option<&super::tls::Tls>,
) -> Result<(Sender, Duration), ErrorKind> {
    let started = std::time::Instant::now();
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Err(_) => return Err(ErrorKind::ConnectTimeout),
        Ok(Err(e)) => return Err(classify_connect(&e)),
        Ok(Ok(s)) => s,
    };
    let _ = stream.set_nodelay(true);
    let sender = match tls {
        None => {
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|_| ErrorKind::Connect)?;
            tokio::task::spawn_local(async move {
                let _ = conn.await;
            });
            sender
        }
        Some(t) => {
            let left = timeout.saturating_sub(started.elapsed());
            let stream =
                match tokio::time::timeout(left, t.connector.connect(t.name.clone(), stream)).await
                {
                    Err(_) => return Err(ErrorKind::ConnectTimeout),
                    Ok(Err(_)) => return Err(ErrorKind::Tls),
                    Ok(Ok(s)) => s,
                };
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|_| ErrorKind::Tls)?;
            tokio::task::spawn_local(async move {
                let _ = conn.await;
            });
            sender
        }
    };
    Ok((sender, started.elapsed()))
}

/// Sends one request; returns the status and body bytes read.
pub async fn exchange(
    sender: &mut Sender,
    req: Request<Full<Bytes>>,
) -> Result<(StatusCode, u64), ErrorKind> {
    sender.ready().await.map_err(|e| classify(&e))?;
    let resp = sender.send_request(req).await.map_err(|e| classify(&e))?;
    let status = resp.status();
    let mut body = resp.into_body();
    let mut bytes = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| classify(&e))?;
        if let Some(d) = frame.data_ref() {
            bytes += d.len() as u64;
        }
    }
    Ok((status, bytes))
}

pub fn classify_connect(e: &io::Error) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ErrorKind::ConnectRefused,
        io::ErrorKind::TimedOut => ErrorKind::ConnectTimeout,
        _ => ErrorKind::Connect,
    }
}

fn classify(e: &hyper::Error) -> ErrorKind {
    let mut src = e.source();
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            return match io.kind() {
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof => ErrorKind::Reset,
                io::ErrorKind::TimedOut => ErrorKind::RequestTimeout,
                _ => ErrorKind::Other,
            };
        }
        src = s.source();
    }
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        ErrorKind::Reset
    } else {
        ErrorKind::Other
    }
}
