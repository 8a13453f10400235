//! The server loop: one thread, one current-thread tokio runtime, hyper's
//! HTTP/1.1 connection server, and a FIFO semaphore as the c workers.

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::{oneshot, Semaphore};

use super::config::{Sampler, TargetConfig};
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
                    let svc = hyper::service::service_fn(move |req| handle(state.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
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
    // Read the request body so the connection can be reused.
    let _ = req.into_body().collect().await;
    // After the thread was descheduled, requests and the workers' expired
    // timers wake in the same reactor turn: let the workers release their
    // permits first, so a request is judged against the service it would
    // have found on time (an ideal loss system), not against stale permits.
    tokio::task::yield_now().await;
    if st.workers.available_permits() == 0 && st.waiting.get() >= st.cfg.queue_limit {
        st.stats.rejected.fetch_add(1, Ordering::Relaxed);
        return Ok(respond(StatusCode::SERVICE_UNAVAILABLE, "queue full\n"));
    }
    st.waiting.set(st.waiting.get() + 1);
    let permit = st.workers.acquire().await;
    let held_from = Instant::now();
    st.waiting.set(st.waiting.get() - 1);
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
            Err(_) => return Ok(respond(StatusCode::INTERNAL_SERVER_ERROR, "timer\n")),
        },
    };
    let _ = timer.sleep_until_exact(Instant::now() + service).await;
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
    if fail {
        st.stats.errors.fetch_add(1, Ordering::Relaxed);
        return Ok(respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            "injected error\n",
        ));
    }
    Ok(respond(StatusCode::OK, "ok\n"))
}
