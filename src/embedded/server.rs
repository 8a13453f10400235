//! The server loop: one thread, one current-thread tokio runtime, hyper's
//! HTTP/1.1 and HTTP/2 (h2c, prior knowledge) connection server, and a FIFO
//! semaphore as the c workers.
//!
//! Routes, all after the same service time:
//! * `POST /login` with `{"user": "NAME"}` → `{"token": "…", "user": "NAME"}`;
//! * `/api/whoami` → `{"user": "NAME"}`, other `/api/…` → `{"ok": true, …}`,
//!   both with `Authorization: Bearer TOKEN` only (else `401`);
//! * anything else → `ok`.
//!
//! Tokens are stateless (the user, base64url, and a keyed hash of it), so
//! a long run keeps no per-login memory.

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::{oneshot, Semaphore};

use super::config::{Sampler, TargetConfig};
use crate::metrics::Held;
use crate::timer::PreciseTimer;

/// Counters the target keeps about itself (the tests' second opinion).
#[derive(Debug, Default)]
pub struct TargetStats {
    /// Answered after service (2xx and injected 500s).
    pub served: AtomicU64,
    /// Turned away with 503 because the queue was full.
    pub rejected: AtomicU64,
    /// Injected 500s (included in `served`).
    pub errors: AtomicU64,
    /// Microseconds workers were held, summed over served requests: the
    /// measured mean holding time is `held_micros / served` (a busy machine
    /// wakes sleeping workers late, and the analytic capacity follows).
    pub held_micros: AtomicU64,
    /// Tokens issued by `POST /login`.
    pub logins: AtomicU64,
    /// `/api/…` requests with a valid token, and without one (401).
    pub authorized: AtomicU64,
    pub unauthorized: AtomicU64,
    /// Most requests being handled at once (HTTP/2 stream limits).
    pub peak_active: AtomicU64,
    /// Dependency calls made (retries included), and the requests answered
    /// 504 (it timed out) or 502 (it failed otherwise) after the retries.
    pub dependency_calls: AtomicU64,
    pub dependency_timeouts: AtomicU64,
    pub dependency_failures: AtomicU64,
}

/// A running embedded target. Dropping it stops the server.
pub struct TargetHandle {
    pub addr: SocketAddr,
    pub config: TargetConfig,
    pub stats: Arc<TargetStats>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TargetHandle {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TargetHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Binds `addr` (use port 0 for any free port) and serves on a thread of its own.
pub fn spawn(config: TargetConfig, addr: SocketAddr) -> io::Result<TargetHandle> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let stats = Arc::new(TargetStats::default());
    let (tx, rx) = oneshot::channel();
    let (cfg, st) = (config.clone(), stats.clone());
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("headroom-target".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                serve(listener, cfg, st, rx).await;
            });
        })?;
    ready_rx
        .recv()
        .map_err(|_| io::Error::other("target thread exited early"))??;
    Ok(TargetHandle {
        addr,
        config,
        stats,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

struct State {
    cfg: TargetConfig,
    stats: Arc<TargetStats>,
    workers: Semaphore,
    waiting: Cell<u64>,
    sampler: Sampler,
    rng: RefCell<SmallRng>,
    timers: RefCell<Vec<PreciseTimer>>,
    start: Instant,
    active: Cell<u64>,
    dependency: Option<DependencyClient>,
}

/// Runs hyper's per-stream HTTP/2 tasks on this thread's LocalSet.
#[derive(Clone, Copy)]
struct LocalExec;

impl<F> hyper::rt::Executor<F> for LocalExec
where
    F: std::future::Future + 'static,
{
    fn execute(&self, fut: F) {
        tokio::task::spawn_local(fut);
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    cfg: TargetConfig,
    stats: Arc<TargetStats>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let state = Rc::new(State {
        workers: Semaphore::new(cfg.workers as usize),
        waiting: Cell::new(0),
        sampler: cfg.service_time.sampler(),
        rng: RefCell::new(SmallRng::seed_from_u64(cfg.seed)),
        timers: RefCell::new(Vec::new()),
        start: Instant::now(),
        active: Cell::new(0),
        dependency: cfg.dependency.as_ref().and_then(DependencyClient::new),
        cfg,
        stats,
    });
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                tokio::task::spawn_local(async move {
                    let streams = state.cfg.max_concurrent_streams;
                    let svc = hyper::service::service_fn(move |req| handle(state.clone(), req));
                    let mut b = hyper_util::server::conn::auto::Builder::new(LocalExec);
                    if let Some(n) = streams {
                        b.http2().max_concurrent_streams(n);
                    }
                    let _ = b.serve_connection(TokioIo::new(stream), svc).await;
                });
            }
        }
    }
}

fn respond(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    r
}

async fn handle(
    st: Rc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let _active = Held::new(&st.active);
    st.stats
        .peak_active
        .fetch_max(st.active.get(), Ordering::Relaxed);
    Ok(serve_one(&st, req).await)
}

async fn serve_one(st: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    // Read the request body so the connection can be reused.
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    // After the thread was descheduled, requests and the workers' expired
    // timers wake in the same reactor turn: let the workers release their
    // permits first, so a request is judged against the service it would
    // have found on time (an ideal loss system), not against stale permits.
    tokio::task::yield_now().await;
    let full = st.cfg.queue_limit.is_some_and(|q| st.waiting.get() >= q);
    if st.workers.available_permits() == 0 && full {
        st.stats.rejected.fetch_add(1, Ordering::Relaxed);
        return respond(StatusCode::SERVICE_UNAVAILABLE, "queue full\n");
    }
    let waiting = Held::new(&st.waiting);
    let permit = st.workers.acquire().await;
    let held_from = Instant::now();
    drop(waiting);
    let (service, fail) = {
        let mut rng = st.rng.borrow_mut();
        let mut s = st.sampler.sample(&mut *rng);
        if let Some(c) = st.cfg.contention {
            let in_service = st.cfg.workers - st.workers.available_permits() as u32;
            s = s.mul_f64(c.factor(in_service));
        }
        (
            s,
            st.cfg.error_share > 0.0 && rng.random_bool(st.cfg.error_share),
        )
    };
    let popped = st.timers.borrow_mut().pop();
    let mut timer = match popped {
        Some(t) => t,
        None => match PreciseTimer::new() {
            Ok(t) => t,
            Err(_) => return respond(StatusCode::INTERNAL_SERVER_ERROR, "timer\n"),
        },
    };
    let _ = timer.sleep_until_exact(Instant::now() + service).await;
    let called = match &st.dependency {
        Some(d) => d.call(&st.stats).await,
        None => Ok(()),
    };
    drop(permit);
    st.stats
        .held_micros
        .fetch_add(held_from.elapsed().as_micros() as u64, Ordering::Relaxed);
    if let Some(stall) = st.cfg.stall {
        let since = st.start.elapsed();
        let release = stall.release_at(since);
        if release > since {
            let _ = timer.sleep_until(st.start + release).await;
        }
    }
    st.timers.borrow_mut().push(timer);
    st.stats.served.fetch_add(1, Ordering::Relaxed);
    match called {
        Err(Failure::Timeout) => {
            st.stats.dependency_timeouts.fetch_add(1, Ordering::Relaxed);
            return respond(StatusCode::GATEWAY_TIMEOUT, "dependency timed out\n");
        }
        Err(Failure::Failed) => {
            st.stats.dependency_failures.fetch_add(1, Ordering::Relaxed);
            return respond(StatusCode::BAD_GATEWAY, "dependency failed\n");
        }
        Ok(()) => {}
    }
    if fail {
        st.stats.errors.fetch_add(1, Ordering::Relaxed);
        return respond(StatusCode::INTERNAL_SERVER_ERROR, "injected error\n");
    }
    route(st, &parts, &body)
}

/// The answer for a served request: the login API, or plain `ok`.
fn route(st: &State, parts: &http::request::Parts, body: &[u8]) -> Response<Full<Bytes>> {
    let path = parts.uri.path();
    if path == "/login" && parts.method == http::Method::POST {
        let user = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("user").and_then(|u| u.as_str()).map(str::to_string))
            .unwrap_or_else(|| "anonymous".into());
        st.stats.logins.fetch_add(1, Ordering::Relaxed);
        let token = token_for(st.cfg.seed, &user);
        return json(
            StatusCode::OK,
            &serde_json::json!({ "token": token, "user": user }),
        );
    }
    if let Some(rest) = path.strip_prefix("/api/") {
        let user = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|t| user_of(st.cfg.seed, t));
        let Some(user) = user else {
            st.stats.unauthorized.fetch_add(1, Ordering::Relaxed);
            return json(
                StatusCode::UNAUTHORIZED,
                &serde_json::json!({ "error": "a valid bearer token is required (POST /login)" }),
            );
        };
        st.stats.authorized.fetch_add(1, Ordering::Relaxed);
        return if rest == "whoami" {
            json(StatusCode::OK, &serde_json::json!({ "user": user }))
        } else {
            json(
                StatusCode::OK,
                &serde_json::json!({ "ok": true, "user": user, "path": path }),
            )
        };
    }
    respond(StatusCode::OK, "ok\n")
}

/// How a dependency call failed, after its retries.
enum Failure {
    Timeout,
    Failed,
}

/// Calls the dependency over kept-alive HTTP/1.1 connections (one per
/// request in flight, reused). A connection whose call timed out is
/// dropped, as a client library would drop it.
struct DependencyClient {
    authority: String,
    path: http::Uri,
    host: http::HeaderValue,
    timeout: std::time::Duration,
    retries: u32,
    idle: RefCell<Vec<hyper::client::conn::http1::SendRequest<http_body_util::Empty<Bytes>>>>,
}

impl DependencyClient {
    /// `None` if the URL is not one (validation has said so already).
    fn new(d: &super::config::Dependency) -> Option<DependencyClient> {
        let uri: http::Uri = d.url.parse().ok()?;
        let authority = uri.authority()?.clone();
        let port = authority.port_u16().unwrap_or(80);
        Some(DependencyClient {
            authority: format!("{}:{port}", authority.host()),
            path: uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .parse()
                .ok()?,
            host: http::HeaderValue::from_str(authority.as_str()).ok()?,
            timeout: d.timeout,
            retries: d.retries,
            idle: RefCell::new(Vec::new()),
        })
    }

    async fn call(&self, stats: &TargetStats) -> Result<(), Failure> {
        let mut failure = Failure::Failed;
        for _ in 0..=self.retries {
            stats.dependency_calls.fetch_add(1, Ordering::Relaxed);
            match tokio::time::timeout(self.timeout, self.once()).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(())) => failure = Failure::Failed,
                Err(_) => failure = Failure::Timeout,
            }
        }
        Err(failure)
    }

    async fn once(&self) -> Result<(), ()> {
        let mut sender = loop {
            let pooled = self.idle.borrow_mut().pop();
            match pooled {
                Some(mut s) => {
                    if s.ready().await.is_ok() {
                        break s;
                    }
                }
                None => break self.connect().await?,
            }
        };
        let req = Request::get(self.path.clone())
            .header(http::header::HOST, self.host.clone())
            .body(http_body_util::Empty::new())
            .map_err(drop)?;
        let resp = sender.send_request(req).await.map_err(drop)?;
        let ok = resp.status().is_success();
        resp.into_body().collect().await.map_err(drop)?;
        self.idle.borrow_mut().push(sender);
        if ok {
            Ok(())
        } else {
            Err(())
        }
    }

    async fn connect(
        &self,
    ) -> Result<hyper::client::conn::http1::SendRequest<http_body_util::Empty<Bytes>>, ()> {
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(drop)?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(drop)?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }
}

fn json(status: StatusCode, v: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// `USER.MAC`: the user (base64url) and a keyed hash of it.
fn token_for(seed: u64, user: &str) -> String {
    format!("{}.{:016x}", URL_SAFE_NO_PAD.encode(user), mac(seed, user))
}

fn mac(seed: u64, user: &str) -> u64 {
    crate::hash::splitmix64(crate::hash::fnv1a64(user.as_bytes()) ^ seed ^ 0x7068_6561_6472_6f6f)
}

/// The user a token was issued to, if it is one of ours.
fn user_of(seed: u64, token: &str) -> Option<String> {
    let (user, m) = token.split_once('.')?;
    let user = String::from_utf8(URL_SAFE_NO_PAD.decode(user).ok()?).ok()?;
    (u64::from_str_radix(m, 16).ok()? == mac(seed, &user)).then_some(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_and_forgeries_do_not() {
        let t = token_for(7, "alice");
        assert_eq!(user_of(7, &t).as_deref(), Some("alice"));
        assert_eq!(user_of(8, &t), None, "another target's token");
        let forged = token_for(7, "bob").replace(
            &URL_SAFE_NO_PAD.encode("bob"),
            &URL_SAFE_NO_PAD.encode("alice"),
        );
        assert_eq!(user_of(7, &forged), None);
        assert_eq!(user_of(7, "nonsense"), None);
        assert_eq!(user_of(7, "zz.00"), None);
    }
}
