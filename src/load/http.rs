//! The client side of one connection: connect (HTTP/1.1 or HTTP/2), send a
//! request built from a template, read the response, classify failures.

use std::error::Error as _;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::answer::{Answer, Failed};
use super::h1;
use crate::metrics::ErrorKind;
use crate::scenario::template::Values;
use crate::scenario::{BaseUrl, Expect, Extraction, HttpVersion, RequestSpec, Text};

/// One connection's request handle. HTTP/2 handles are cheap clones that
/// share the connection (one stream per request).
pub enum Sender {
    /// HTTP/1.1 without hyper: see [`super::h1`].
    H1(h1::Conn),
    /// With what ended the connection, when its task saw it first: a
    /// request sent after that learns only that the task is gone.
    H2(
        http2::SendRequest<Full<Bytes>>,
        std::rc::Rc<std::cell::Cell<Option<ErrorKind>>>,
    ),
}

impl Sender {
    pub fn is_closed(&self) -> bool {
        match self {
            Sender::H1(s) => s.is_closed(),
            Sender::H2(s, _) => s.is_closed(),
        }
    }
    pub fn is_h2(&self) -> bool {
        matches!(self, Sender::H2(..))
    }
    /// Another handle on the same HTTP/2 connection.
    pub fn share(&self) -> Option<Sender> {
        match self {
            Sender::H1(_) => None,
            Sender::H2(s, ended) => Some(Sender::H2(s.clone(), ended.clone())),
        }
    }
}

/// A request ready for its connection: HTTP/1.1 bytes, or an HTTP/2 request.
pub enum Outgoing {
    H1(Bytes),
    H2(Box<Request<Full<Bytes>>>),
}

/// A request or flow step prepared once. Static parts (the usual case) are
/// built ahead — a static request's HTTP/1.1 bytes whole; templated parts
/// are rendered per send. No `Debug`: it holds rendered environment values.
#[derive(Clone)]
pub struct Template {
    pub name: String,
    method: Method,
    /// Origin-form (HTTP/1.1) and absolute-form (HTTP/2) URIs of a static path.
    uris: Option<(Uri, Uri)>,
    path: Text,
    /// Base path, and scheme://authority + base path, for rendered paths.
    prefix: String,
    abs_prefix: String,
    /// Static headers: with Host for HTTP/1.1; HTTP/2 carries :authority.
    headers_h1: HeaderMap,
    headers_h2: HeaderMap,
    dyn_headers: Vec<(http::HeaderName, Text)>,
    body: Option<Bytes>,
    body_text: Text,
    /// A static request's HTTP/1.1 bytes.
    h1: Option<Bytes>,
    /// What the answer is read for.
    pub reading: h1::Reading,
    pub expect: Expect,
    pub extract: Vec<Extraction>,
    pub think: Duration,
}

impl Template {
    /// Asks the server to close the connection after the answer (HTTP/1.1).
    pub fn close_connection(&mut self) {
        self.headers_h1.insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
        self.h1 = self.static_h1();
    }

    /// The whole HTTP/1.1 request, when nothing in it is rendered.
    fn static_h1(&self) -> Option<Bytes> {
        let (origin, _) = self.uris.as_ref()?;
        let body = self.body.as_ref()?;
        if !self.dyn_headers.is_empty() {
            return None;
        }
        Some(h1::serialised(
            &self.method,
            &origin.to_string(),
            &self.headers_h1,
            &[],
            body,
        ))
    }

    pub fn new(spec: &RequestSpec, base: &BaseUrl) -> Result<Template, String> {
        let prefix = base.base_path.clone();
        let mut headers_h2 = HeaderMap::new();
        let mut dyn_headers = Vec::new();
        for (k, v) in &spec.headers {
            if v.is_static() {
                let value = HeaderValue::from_str(&v.render_static(false))
                    .map_err(|e| format!("request {:?}: header {k}: {e}", spec.name))?;
                headers_h2.append(k.clone(), value);
            } else {
                dyn_headers.push((k.clone(), v.clone()));
            }
        }
        // Host from the URL unless the scenario sets one. HTTP/2 carries
        // it as :authority (RFC 9113 §8.3.1), so a static Host the
        // scenario sets becomes the absolute URI's authority.
        let mut headers_h1 = headers_h2.clone();
        let host_templated = dyn_headers.iter().any(|(k, _)| k == http::header::HOST);
        if !headers_h1.contains_key(http::header::HOST) && !host_templated {
            let host = HeaderValue::from_str(base.authority.as_str())
                .map_err(|e| format!("bad host {}: {e}", base.authority))?;
            headers_h1.insert(http::header::HOST, host);
        }
        let authority = match headers_h2.remove(http::header::HOST) {
            Some(h) => h
                .to_str()
                .map_err(|e| format!("request {:?}: host header: {e}", spec.name))?
                .to_string(),
            None => base.authority.to_string(),
        };
        let abs_prefix = format!("{}://{authority}{}", base.scheme, base.base_path);
        let uris = if spec.path.is_static() {
            let p = spec.path.render_static(true);
            let bad = |e: http::uri::InvalidUri| {
                format!(
                    "request {:?}: bad path {:?}: {e}",
                    spec.name, spec.path.source
                )
            };
            Some((
                format!("{prefix}{p}").parse().map_err(bad)?,
                format!("{abs_prefix}{p}").parse().map_err(bad)?,
            ))
        } else {
            None
        };
        let keep_body = spec.expect.needs_body() || spec.extract.iter().any(Extraction::needs_body);
        let keep_headers =
            !spec.expect.headers.is_empty() || spec.extract.iter().any(|x| !x.needs_body());
        let mut t = Template {
            name: spec.name.clone(),
            method: spec.method.clone(),
            uris,
            path: spec.path.clone(),
            prefix,
            abs_prefix,
            headers_h1,
            headers_h2,
            dyn_headers,
            body: spec
                .body
                .is_static()
                .then(|| Bytes::from(spec.body.render_static(false))),
            body_text: spec.body.clone(),
            h1: None,
            reading: h1::Reading {
                head: spec.method == Method::HEAD,
                keep_body,
                keep_headers,
            },
            expect: spec.expect.clone(),
            extract: spec.extract.clone(),
            think: spec.think_time,
        };
        t.h1 = t.static_h1();
        Ok(t)
    }

    /// The request to send on an HTTP/1.1 or HTTP/2 connection; `None`
    /// when a rendered value cannot be sent (not a URI, not a header value).
    pub fn build(&self, h2: bool, values: &mut dyn Values) -> Option<Outgoing> {
        if h2 {
            return self.build_h2(values).map(|r| Outgoing::H2(Box::new(r)));
        }
        if let Some(b) = &self.h1 {
            return Some(Outgoing::H1(b.clone()));
        }
        let body = self.body(values);
        let target = match &self.uris {
            Some((origin, _)) => origin.to_string(),
            None => {
                let mut s = String::with_capacity(64);
                s.push_str(&self.prefix);
                self.path.render_into(&mut s, values, true);
                // A path hyper would not have sent is a render error still.
                s.parse::<Uri>().ok()?;
                s
            }
        };
        let mut extra = Vec::with_capacity(self.dyn_headers.len());
        for (k, t) in &self.dyn_headers {
            let v = HeaderValue::try_from(t.render(values, false)).ok()?;
            extra.push((k.clone(), v));
        }
        Some(Outgoing::H1(h1::serialised(
            &self.method,
            &target,
            &self.headers_h1,
            &extra,
            &body,
        )))
    }

    fn body(&self, values: &mut dyn Values) -> Bytes {
        match &self.body {
            Some(b) => b.clone(),
            None => Bytes::from(self.body_text.render(values, false)),
        }
    }

    fn build_h2(&self, values: &mut dyn Values) -> Option<Request<Full<Bytes>>> {
        let mut req = Request::new(Full::new(self.body(values)));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = match &self.uris {
            Some((_, absolute)) => absolute.clone(),
            None => {
                let mut s = String::with_capacity(64);
                s.push_str(&self.abs_prefix);
                self.path.render_into(&mut s, values, true);
                Uri::from_maybe_shared(Bytes::from(s)).ok()?
            }
        };
        let headers = req.headers_mut();
        *headers = self.headers_h2.clone();
        for (k, t) in &self.dyn_headers {
            let v = HeaderValue::try_from(t.render(values, false)).ok()?;
            if k == http::header::HOST {
                headers.insert(k.clone(), v);
            } else {
                headers.append(k.clone(), v);
            }
        }
        Some(req)
    }
}

/// Opens a connection (over TLS when `tls` is given) and its HTTP/1.1 or
/// HTTP/2 session, whose driver runs as a local task. HTTP/2 is used when
/// ALPN picks h2, or on cleartext when `version` is 2 (h2c with prior
/// knowledge). Returns the sender and how long TCP connect, TLS handshake
/// and (HTTP/2) the preface took.
pub async fn connect(
    addr: SocketAddr,
    timeout: Duration,
    tls: Option<&super::tls::Tls>,
    version: HttpVersion,
) -> Result<(Sender, Duration), ErrorKind> {
    let started = std::time::Instant::now();
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Err(_) => return Err(ErrorKind::ConnectTimeout),
        Ok(Err(e)) => return Err(classify_connect(&e)),
        Ok(Ok(s)) => s,
    };
    let _ = stream.set_nodelay(true);
    let sender = match tls {
        None => session(stream, version == HttpVersion::Http2, ErrorKind::Connect).await?,
        Some(t) => {
            let left = timeout.saturating_sub(started.elapsed());
            let stream =
                match tokio::time::timeout(left, t.connector.connect(t.name.clone(), stream)).await
                {
                    Err(_) => return Err(ErrorKind::ConnectTimeout),
                    Ok(Err(_)) => return Err(ErrorKind::Tls),
                    Ok(Ok(s)) => s,
                };
            let h2 = match stream.get_ref().1.alpn_protocol() {
                Some(p) => p == b"h2",
                None => version == HttpVersion::Http2,
            };
            session(stream, h2, ErrorKind::Tls).await?
        }
    };
    Ok((sender, started.elapsed()))
}

async fn session<T>(io: T, h2: bool, fail: ErrorKind) -> Result<Sender, ErrorKind>
where
    T: h1::IntoStream + Send,
{
    if h2 {
        // One stream until the server's SETTINGS say how many it allows:
        // opening more first would have them refused (REFUSED_STREAM).
        let (sender, conn) = http2::Builder::new(TokioExecutor::new())
            .initial_max_send_streams(1)
            .handshake(TokioIo::new(io))
            .await
            .map_err(|_| fail)?;
        let ended = std::rc::Rc::new(std::cell::Cell::new(None));
        let seen = ended.clone();
        tokio::task::spawn_local(async move {
            if let Err(e) = conn.await {
                seen.set(Some(classify(&e)));
            }
        });
        Ok(Sender::H2(sender, ended))
    } else {
        Ok(Sender::H1(h1::Conn::new(io.into_stream())))
    }
}

impl From<hyper::Error> for Failed {
    fn from(e: hyper::Error) -> Failed {
        Failed {
            kind: classify(&e),
            unprocessed: unprocessed(&e),
            error: Box::new(e),
        }
    }
}

/// Never sent (canceled in hyper's queue), refused by the server
/// (REFUSED_STREAM), or above the last stream a GOAWAY said it handles.
fn unprocessed(e: &hyper::Error) -> bool {
    // Canceled: the connection closed with the request still queued;
    // DispatchGone (a user error): the connection task had already ended.
    if e.is_canceled() || (e.is_user() && e.to_string().contains("dispatch task")) {
        return true;
    }
    let mut src = e.source();
    while let Some(s) = src {
        if let Some(h) = s.downcast_ref::<h2::Error>() {
            return h.reason() == Some(h2::Reason::REFUSED_STREAM)
                || (h.is_go_away() && h.is_remote() && h.reason() == Some(h2::Reason::NO_ERROR));
        }
        src = s.source();
    }
    false
}

/// Sends one request and reads the whole response.
pub async fn exchange(
    sender: &mut Sender,
    req: Outgoing,
    reading: h1::Reading,
) -> Result<Answer, Failed> {
    let resp = match (sender, req) {
        (Sender::H1(c), Outgoing::H1(bytes)) => return c.exchange(&bytes, reading).await,
        (Sender::H2(s, ended), Outgoing::H2(req)) => {
            let req = *req;
            // The connection's own error names it better than "dispatch
            // task gone" (an HTTP/1.1 server's reply to the preface).
            let named = |e: hyper::Error| {
                let mut f = Failed::from(e);
                if let Some(kind) = ended.get().filter(|_| f.kind == ErrorKind::Other) {
                    f.kind = kind;
                }
                f
            };
            s.ready().await.map_err(named)?;
            s.send_request(req).await.map_err(named)?
        }
        // `Template::build` is asked for the connection's own version.
        _ => {
            return Err(Failed {
                kind: ErrorKind::Other,
                unprocessed: false,
                error: "a request built for another HTTP version".into(),
            })
        }
    };
    let keep_body = reading.keep_body;
    let (parts, mut body) = resp.into_parts();
    let mut bytes = 0u64;
    // A body that arrives in one frame (the usual small answer) is kept
    // without a copy; only a body in several frames is joined.
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Failed {
            kind: match classify(&e) {
                ErrorKind::Reset => ErrorKind::TruncatedBody,
                k => k,
            },
            unprocessed: false,
            error: Box::new(e),
        })?;
        if let Ok(d) = frame.into_data() {
            bytes += d.len() as u64;
            if !keep_body {
                continue;
            }
            match (&mut joined, first.take()) {
                (Some(j), _) => j.extend_from_slice(&d),
                (None, None) => first = Some(d),
                (None, Some(f)) => {
                    let mut j = BytesMut::with_capacity(f.len() + d.len());
                    j.extend_from_slice(&f);
                    j.extend_from_slice(&d);
                    joined = Some(j);
                }
            }
        }
    }
    let kept = match joined {
        Some(j) => Some(j.freeze()),
        None if keep_body => Some(first.unwrap_or_default()),
        None => None,
    };
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        bytes,
        body: kept,
    })
}

pub fn classify_connect(e: &io::Error) -> ErrorKind {
    // EMFILE, ENFILE, EADDRNOTAVAIL, ENOBUFS: this machine's limits.
    if matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::EADDRNOTAVAIL | libc::ENOBUFS)
    ) {
        return ErrorKind::LocalResources;
    }
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ErrorKind::ConnectRefused,
        io::ErrorKind::TimedOut => ErrorKind::ConnectTimeout,
        _ => ErrorKind::Connect,
    }
}

fn classify(e: &hyper::Error) -> ErrorKind {
    if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
        return ErrorKind::Protocol;
    }
    let mut src = e.source();
    while let Some(s) = src {
        if let Some(h) = s.downcast_ref::<h2::Error>() {
            // "HTTP/1.1 400" read as a frame header: a frame 4.7 MB long.
            match h.reason() {
                Some(h2::Reason::FRAME_SIZE_ERROR) if !h.is_remote() => {
                    return ErrorKind::H2NotSupported
                }
                Some(h2::Reason::PROTOCOL_ERROR | h2::Reason::FRAME_SIZE_ERROR) => {
                    return ErrorKind::Protocol
                }
                _ => {}
            }
        }
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

/// What a server's `reply` does to the response path: one GET over an
/// in-memory connection (HTTP/2 with prior knowledge when `h2`) whose server
/// sends `reply` and closes. The bytes read, or the kind of error. The
/// `response` fuzz target calls it; whatever the bytes, it must not panic
/// and must end within its 1-second timeout.
#[doc(hidden)]
pub fn answer_to(reply: &[u8], h2: bool) -> Result<u64, ErrorKind> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|_| ErrorKind::Other)?;
    let reply = reply.to_vec();
    tokio::task::LocalSet::new().block_on(&rt, async move {
        let client = replying(reply);
        let mut sender = session(client, h2, ErrorKind::Connect).await?;
        let req = if h2 {
            let r = Request::get("http://fuzz/")
                .body(Full::new(Bytes::new()))
                .map_err(|_| ErrorKind::Other)?;
            Outgoing::H2(Box::new(r))
        } else {
            Outgoing::H1(Bytes::from_static(b"GET / HTTP/1.1\r\nhost: fuzz\r\n\r\n"))
        };
        let reading = h1::Reading {
            head: false,
            keep_body: true,
            keep_headers: true,
        };
        match tokio::time::timeout(Duration::from_secs(1), exchange(&mut sender, req, reading))
            .await
        {
            Ok(Ok(a)) => Ok(a.bytes),
            Ok(Err(f)) => Err(f.kind),
            Err(_) => Err(ErrorKind::RequestTimeout),
        }
    })
}

/// One end of an in-memory connection whose server answers what the client
/// sends first (its request, or the h2 preface) with `reply`, and closes.
/// Must be called inside a tokio runtime.
pub(super) fn replying(reply: Vec<u8>) -> tokio::io::DuplexStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (client, mut server) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let mut first = [0u8; 4096];
        let _ = server.read(&mut first).await;
        let _ = server.write_all(&reply).await;
        let _ = server.shutdown().await;
        let mut sink = Vec::new();
        let _ = server.read_to_end(&mut sink).await;
    });
    client
}

#[cfg(test)]
mod tests {
    use super::answer_to;
    use crate::metrics::ErrorKind;

    #[test]
    fn each_broken_answer_has_its_kind() {
        assert_eq!(
            answer_to(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false),
            Ok(2)
        );
        assert_eq!(
            answer_to(b"\x00\x01 not http\r\n\r\n", false),
            Err(ErrorKind::Protocol)
        );
        assert_eq!(
            answer_to(
                b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",
                false
            ),
            Err(ErrorKind::TruncatedBody)
        );
        assert_eq!(answer_to(b"", false), Err(ErrorKind::Reset));
        assert_eq!(
            answer_to(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
                true
            ),
            Err(ErrorKind::H2NotSupported)
        );
    }
}
