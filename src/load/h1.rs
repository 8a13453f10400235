//! HTTP/1.1 on one connection, without a connection task: the request's
//! bytes (serialised once for a static request) are written, and the
//! response is read into a buffer the connection keeps and parsed with
//! `httparse` in the caller's own task. hyper's client spends a channel
//! send, a second task's wake-up and two header maps on every request;
//! this path spends none of them, which is most of the user-space CPU a
//! request costs (issue 17). HTTP/2 stays on hyper.
//!
//! Bodies: `Content-Length`, chunked (with trailers) and, for a response
//! with neither, until the server closes. No body for HEAD, 1xx, 204 and
//! 304. Informational (1xx) answers are skipped. Failures get the same
//! kinds hyper's did: bytes that are not HTTP or a head over 100 headers
//! or 64 KiB are `Protocol`, a connection that ends before the head is
//! `Reset`, one that ends inside the head `TruncatedHead` and inside the
//! body `TruncatedBody`.

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest};
use tokio::net::TcpStream;

use super::answer::{Answer, Failed};
use crate::metrics::ErrorKind;

/// Most headers a response head may carry (hyper's default).
const MAX_HEADERS: usize = 100;
/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Longest chunk-size line accepted (extensions included).
const MAX_CHUNK_LINE: usize = 4096;
/// Room made in the buffer before each read.
const READ_ROOM: usize = 16 * 1024;

/// A byte stream a connection runs on: TCP, TLS over TCP, or (tests and
/// fuzzing) an in-memory pipe.
pub trait Io: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Io for T {}

/// What a request wants from its answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reading {
    /// A HEAD request: the answer has no body whatever it says.
    pub head: bool,
    pub keep_body: bool,
    pub keep_headers: bool,
}

/// TCP, read with the readiness trick in [`Conn::fill`]; anything else
/// through its `AsyncRead`.
pub enum Stream {
    Tcp(TcpStream),
    Other(Box<dyn Io>),
}

/// What a connection's stream becomes: TCP itself, anything else boxed.
pub trait IntoStream: Io + Sized + 'static {
    fn into_stream(self) -> Stream {
        Stream::Other(Box::new(self))
    }
}
impl IntoStream for TcpStream {
    fn into_stream(self) -> Stream {
        Stream::Tcp(self)
    }
}
impl IntoStream for tokio_rustls::client::TlsStream<TcpStream> {}
impl IntoStream for tokio::io::DuplexStream {}

pub struct Conn {
    io: Stream,
    buf: BytesMut,
    /// Answers read on this connection.
    answered: u64,
    closed: bool,
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Length {
    None,
    Exactly(u64),
    Chunked,
    UntilClose,
}

struct Head {
    status: StatusCode,
    headers: HeaderMap,
    length: Length,
    /// The connection ends after this answer.
    close: bool,
}

fn failed(kind: ErrorKind, unprocessed: bool, said: String) -> Failed {
    Failed {
        kind,
        unprocessed,
        error: said.into(),
    }
}

fn protocol(said: impl Into<String>) -> Failed {
    failed(ErrorKind::Protocol, false, said.into())
}

fn io_kind(e: &std::io::Error) -> ErrorKind {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            ErrorKind::Reset
        }
        K::TimedOut => ErrorKind::RequestTimeout,
        _ => ErrorKind::Other,
    }
}

impl Conn {
    pub fn new(io: Stream) -> Conn {
        Conn {
            io,
            buf: BytesMut::with_capacity(READ_ROOM),
            answered: 0,
            closed: false,
        }
    }

    /// The server said it closes the connection, or it failed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Sends `request` (a whole HTTP/1.1 request) and reads its answer.
    pub async fn exchange(&mut self, request: &[u8], want: Reading) -> Result<Answer, Failed> {
        // Whatever ends this early leaves the connection unusable.
        self.closed = true;
        // A connection that answered before and now gives no byte back was
        // closed by the server while idle (a keep-alive timeout): the
        // request was not processed and may go again on a new connection.
        let reused = self.answered > 0;
        // (A flush is free on TCP; TLS may hold the last record until it.)
        let written = match &mut self.io {
            Stream::Tcp(t) => t.write_all(request).await,
            Stream::Other(io) => match io.write_all(request).await {
                Ok(()) => io.flush().await,
                Err(e) => Err(e),
            },
        };
        if let Err(e) = written {
            let kind = io_kind(&e);
            return Err(failed(
                kind,
                reused && kind == ErrorKind::Reset,
                format!("error writing the request: {e}"),
            ));
        }
        let head = loop {
            let head = self.read_head(reused, want.keep_headers).await?;
            // 1xx answers (100 Continue, 103 Early Hints) precede the real one.
            if !head.status.is_informational() || head.status == StatusCode::SWITCHING_PROTOCOLS {
                break head;
            }
        };
        let length = if want.head
            || head.status.is_informational()
            || head.status == StatusCode::NO_CONTENT
            || head.status == StatusCode::NOT_MODIFIED
        {
            Length::None
        } else {
            head.length
        };
        let mut body = want.keep_body.then(BytesMut::new);
        let bytes = match length {
            Length::None => 0,
            Length::Exactly(n) => self.read_exactly(n, &mut body).await?,
            Length::Chunked => self.read_chunked(&mut body).await?,
            Length::UntilClose => self.read_to_close(&mut body).await?,
        };
        self.answered += 1;
        self.closed = head.close
            || length == Length::UntilClose
            || head.status == StatusCode::SWITCHING_PROTOCOLS;
        Ok(Answer {
            status: head.status,
            headers: head.headers,
            bytes,
            body: body.map(BytesMut::freeze),
        })
    }

    /// Reads more bytes into the buffer; `Ok(false)` at the end of the stream.
    ///
    /// On TCP a read that did not fill the room it had drained the socket,
    /// so its readiness is cleared at once: the next read waits for the
    /// reactor instead of first making a `read` that fails with EAGAIN —
    /// one system call less per request. (Safe on a shard's
    /// current-thread runtime: the reactor cannot run between the read and
    /// the clearing, and data that comes after the read raises a new event.)
    async fn fill(&mut self) -> Result<bool, std::io::Error> {
        if self.buf.capacity() - self.buf.len() < READ_ROOM / 4 {
            self.buf.reserve(READ_ROOM);
        }
        let t = match &mut self.io {
            Stream::Tcp(t) => t,
            Stream::Other(io) => return Ok(io.read_buf(&mut self.buf).await? > 0),
        };
        loop {
            t.readable().await?;
            let room = self.buf.capacity() - self.buf.len();
            match t.try_read_buf(&mut self.buf) {
                Ok(n) => {
                    if n > 0 && n < room {
                        let _ = t.try_io(Interest::READABLE, || {
                            Err::<(), _>(std::io::ErrorKind::WouldBlock.into())
                        });
                    }
                    return Ok(n > 0);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }

    async fn read_head(&mut self, reused: bool, keep_headers: bool) -> Result<Head, Failed> {
        let mut first = true;
        loop {
            if !self.buf.is_empty() {
                if let Some((n, head)) = parse_head(&self.buf, keep_headers)? {
                    self.buf.advance(n);
                    return Ok(head);
                }
                if self.buf.len() > MAX_HEAD {
                    return Err(protocol(format!(
                        "response head larger than {} KiB",
                        MAX_HEAD / 1024
                    )));
                }
            }
            // Nothing of the answer yet: a reused connection the server
            // had closed. Something: the answer was cut.
            let nothing = first && self.buf.is_empty();
            first = false;
            match self.fill().await {
                Ok(true) => {}
                Ok(false) if nothing => {
                    let said = "connection closed before a response";
                    return Err(failed(ErrorKind::Reset, reused, said.into()));
                }
                Ok(false) => {
                    let said = "connection closed in the middle of the response head";
                    return Err(failed(ErrorKind::TruncatedHead, false, said.into()));
                }
                Err(e) => {
                    let kind = match io_kind(&e) {
                        ErrorKind::Reset if !nothing => ErrorKind::TruncatedHead,
                        k => k,
                    };
                    return Err(failed(
                        kind,
                        nothing && reused && kind == ErrorKind::Reset,
                        format!("error reading the response: {e}"),
                    ));
                }
            }
        }
    }

    /// Takes up to `n` bytes of body from the buffer.
    fn take(&mut self, n: u64, body: &mut Option<BytesMut>) -> u64 {
        let k = (self.buf.len() as u64).min(n) as usize;
        match body {
            // Without a copy when the body comes in one read.
            Some(b) if b.is_empty() => *b = self.buf.split_to(k),
            Some(b) => {
                b.extend_from_slice(&self.buf[..k]);
                self.buf.advance(k);
            }
            // Advancing a buffer no one else holds frees nothing and
            // allocates nothing: the space is reused once it is empty.
            None => self.buf.advance(k),
        }
        k as u64
    }

    /// More body bytes, or `TruncatedBody` naming what came.
    async fn more_body(&mut self, what: impl FnOnce() -> String) -> Result<(), Failed> {
        match self.fill().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(failed(
                ErrorKind::TruncatedBody,
                false,
                format!("connection closed {}", what()),
            )),
            Err(e) => Err(failed(
                match io_kind(&e) {
                    ErrorKind::Reset => ErrorKind::TruncatedBody,
                    k => k,
                },
                false,
                format!("error reading the body: {e}"),
            )),
        }
    }

    async fn read_exactly(&mut self, n: u64, body: &mut Option<BytesMut>) -> Result<u64, Failed> {
        let mut got = self.take(n, body);
        while got < n {
            self.more_body(|| format!("after {got} of {n} body bytes"))
                .await?;
            got += self.take(n - got, body);
        }
        Ok(n)
    }

    async fn read_to_close(&mut self, body: &mut Option<BytesMut>) -> Result<u64, Failed> {
        let mut got = self.take(u64::MAX, body);
        loop {
            match self.fill().await {
                Ok(true) => got += self.take(u64::MAX, body),
                Ok(false) => return Ok(got),
                Err(e) => {
                    return Err(failed(
                        ErrorKind::TruncatedBody,
                        false,
                        format!("error reading the body: {e}"),
                    ))
                }
            }
        }
    }

    async fn read_chunked(&mut self, body: &mut Option<BytesMut>) -> Result<u64, Failed> {
        let mut total = 0u64;
        loop {
            let size = loop {
                match httparse::parse_chunk_size(&self.buf) {
                    Ok(httparse::Status::Complete((n, size))) => {
                        self.buf.advance(n);
                        break size;
                    }
                    Ok(httparse::Status::Partial) if self.buf.len() <= MAX_CHUNK_LINE => {
                        self.more_body(|| {
                            format!("before a chunk's size, after {total} body bytes")
                        })
                        .await?
                    }
                    _ => return Err(protocol("invalid chunk size line in a chunked body")),
                }
            };
            if size == 0 {
                return self.skip_trailers(total).await;
            }
            let mut left = size;
            while left > 0 {
                if self.buf.is_empty() {
                    self.more_body(|| format!("inside a chunk, after {total} body bytes"))
                        .await?;
                }
                let k = self.take(left, body);
                left -= k;
                total += k;
            }
            while self.buf.len() < 2 {
                self.more_body(|| format!("after a chunk, {total} body bytes in"))
                    .await?;
            }
            if &self.buf[..2] != b"\r\n" {
                return Err(protocol("a chunk not followed by CRLF"));
            }
            self.buf.advance(2);
        }
    }

    /// After the last chunk: trailer fields, then an empty line.
    async fn skip_trailers(&mut self, total: u64) -> Result<u64, Failed> {
        loop {
            match memchr::memmem::find(&self.buf, b"\r\n") {
                Some(0) => {
                    self.buf.advance(2);
                    return Ok(total);
                }
                Some(i) => self.buf.advance(i + 2),
                None if self.buf.len() > MAX_HEAD => {
                    return Err(protocol("trailer section too large"));
                }
                None => {
                    self.more_body(|| format!("in the trailers, after {total} body bytes"))
                        .await?
                }
            }
        }
    }
}

/// The response head at the start of `buf`, and its length; `None` while
/// it is incomplete. Its header map only when `keep_headers`.
fn parse_head(buf: &[u8], keep_headers: bool) -> Result<Option<(usize, Head)>, Failed> {
    // Uninitialised slots: no 3.2 KB of zeroes per parse.
    let mut slots = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
    let mut r = httparse::Response::new(&mut []);
    let n = match httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut r, buf, &mut slots)
    {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(protocol(format!(
                "response head with more than {MAX_HEADERS} headers"
            )))
        }
        Err(e) => return Err(protocol(format!("invalid HTTP response: {e}"))),
    };
    let code = r.code.unwrap_or(0);
    let status = StatusCode::from_u16(code)
        .map_err(|_| protocol(format!("invalid HTTP response: status {code}")))?;
    let mut content_length = None::<u64>;
    // The last transfer coding, when there is one.
    let mut coding: Option<bool> = None;
    let (mut close, mut keep_alive) = (false, false);
    let mut headers = HeaderMap::new();
    for h in r.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .map(str::trim)
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| protocol("invalid Content-Length in the response"))?;
            if content_length.is_some_and(|l| l != n) {
                return Err(protocol("conflicting Content-Length headers"));
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked when it is the last coding (RFC 9112 §6.3).
            let last = h.value.rsplit(|&b| b == b',').next().unwrap_or_default();
            coding = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        }
        if keep_headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| protocol(format!("invalid header name {name:?}")))?;
            let value = HeaderValue::from_bytes(h.value)
                .map_err(|_| protocol(format!("invalid value of header {name}")))?;
            headers.append(name, value);
        }
    }
    let length = match (coding, content_length) {
        (Some(true), _) => Length::Chunked,
        // Another coding last: the body runs to the close.
        (Some(false), _) | (None, None) => Length::UntilClose,
        (None, Some(n)) => Length::Exactly(n),
    };
    // HTTP/1.0 closes unless asked to keep the connection.
    let http10 = r.version == Some(0);
    Ok(Some((
        n,
        Head {
            status,
            headers,
            length,
            close: close || (http10 && !keep_alive),
        },
    )))
}

/// Writes an HTTP/1.1 request: request line, `headers` (Host among them),
/// the rendered `extra` headers, a Content-Length when there is a body
/// (or the method carries one) and none was given, and the body.
pub fn serialised(
    method: &http::Method,
    target: &str,
    headers: &HeaderMap,
    extra: &[(HeaderName, HeaderValue)],
    body: &[u8],
) -> Bytes {
    let mut out = Vec::with_capacity(64 + target.len() + body.len());
    let out = &mut out;
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let mut framed = false;
    let mut put = |out: &mut Vec<u8>, name: &HeaderName, value: &HeaderValue| {
        framed |= name == http::header::CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING;
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    };
    // A templated Host replaces the URL's.
    let host_given = extra.iter().any(|(k, _)| k == http::header::HOST);
    for (name, value) in headers {
        if !(host_given && name == http::header::HOST) {
            put(out, name, value);
        }
    }
    for (name, value) in extra {
        put(out, name, value);
    }
    let carries_body = matches!(
        *method,
        http::Method::POST | http::Method::PUT | http::Method::PATCH
    );
    if !framed && (!body.is_empty() || carries_body) {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Bytes::from(std::mem::take(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(reply: &[u8], want: Reading) -> Result<(Answer, bool), ErrorKind> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let client = super::super::http::replying(reply.to_vec());
            let mut c = Conn::new(Stream::Other(Box::new(client)));
            let a = c
                .exchange(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n", want)
                .await
                .map_err(|f| f.kind)?;
            Ok((a, c.is_closed()))
        })
    }

    const KEEP: Reading = Reading {
        head: false,
        keep_body: true,
        keep_headers: true,
    };

    #[test]
    fn bodies_by_length_chunks_and_close() {
        let (a, closed) = answer(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello",
            KEEP,
        )
        .unwrap();
        assert_eq!((a.status.as_u16(), a.bytes, closed), (200, 5, false));
        assert_eq!(a.body.as_deref(), Some(&b"hello"[..]));
        assert_eq!(a.headers["x-a"], "1");

        let (a, closed) = answer(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n",
            KEEP,
        )
        .unwrap();
        assert_eq!((a.bytes, closed), (5, false));
        assert_eq!(a.body.as_deref(), Some(&b"abcde"[..]));

        let (a, closed) = answer(b"HTTP/1.0 200 OK\r\n\r\nuntil the end", KEEP).unwrap();
        assert_eq!((a.bytes, closed), (13, true));

        // 100 Continue first; 204 and HEAD have no body.
        let (a, _) = answer(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n",
            KEEP,
        )
        .unwrap();
        assert_eq!((a.status.as_u16(), a.bytes), (204, 0));
        let head = Reading { head: true, ..KEEP };
        let (a, _) = answer(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", head).unwrap();
        assert_eq!(a.bytes, 0);

        let (a, closed) = answer(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
            Reading::default(),
        )
        .unwrap();
        assert_eq!((a.bytes, a.body, closed), (2, None, true));
        assert!(a.headers.is_empty());
    }

    #[test]
    fn broken_answers_have_their_kinds() {
        let kind = |reply: &[u8]| answer(reply, KEEP).err();
        assert_eq!(kind(b""), Some(ErrorKind::Reset));
        assert_eq!(
            kind(b"HTTP/1.1 200 OK\r\nContent-"),
            Some(ErrorKind::TruncatedHead)
        );
        assert_eq!(kind(b"\x00\x01 garbage\r\n\r\n"), Some(ErrorKind::Protocol));
        assert_eq!(
            kind(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort"),
            Some(ErrorKind::TruncatedBody)
        );
        assert_eq!(
            kind(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
            Some(ErrorKind::Protocol)
        );
        assert_eq!(
            kind(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
            Some(ErrorKind::Protocol)
        );
        assert_eq!(
            kind(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            Some(ErrorKind::Protocol)
        );
        assert_eq!(
            kind(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"),
            Some(ErrorKind::TruncatedBody)
        );
        let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(kind(&many), Some(ErrorKind::Protocol));
    }

    #[test]
    fn requests_are_framed_as_hyper_framed_them() {
        let mut h = HeaderMap::new();
        h.insert(http::header::HOST, HeaderValue::from_static("a:1"));
        let get = serialised(&http::Method::GET, "/x?y=1", &h, &[], b"");
        assert_eq!(&get[..], b"GET /x?y=1 HTTP/1.1\r\nhost: a:1\r\n\r\n");
        let post = serialised(&http::Method::POST, "/", &h, &[], b"");
        assert!(post.ends_with(b"content-length: 0\r\n\r\n"));
        let host = [(http::header::HOST, HeaderValue::from_static("b"))];
        let put = serialised(&http::Method::PUT, "/", &h, &host, b"{}");
        assert_eq!(
            &put[..],
            b"PUT / HTTP/1.1\r\nhost: b\r\ncontent-length: 2\r\n\r\n{}"
        );
    }
}
