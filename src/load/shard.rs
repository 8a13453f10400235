//! One shard: a thread with its own single-threaded tokio runtime, its own
//! connections and its own recorder. Nothing here is shared with other
//! shards; interval snapshots leave through a channel once a second.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::Notify;

use super::http::{self, Sender, Template};
use super::schedule::{Arrival, Schedule};
use super::StopFlag;
use crate::metrics::{ErrorKind, IntervalSnapshot, Recorder};
use crate::scenario::Timeouts;

/// The pacer checks for a stop at least this often.
const STOP_POLL: Duration = Duration::from_millis(50);
/// Arrivals closer than this are released in batches on a grid this fine.
const PACING_TICK: Duration = Duration::from_millis(1);
/// Gaps between arrivals at least this long are waited for exactly.
const EXACT_WAIT_MIN: Duration = Duration::from_millis(2);

/// How long an interrupted run waits for answers already on their way.
const INTERRUPT_GRACE: Duration = Duration::from_secs(2);

/// What every shard needs, shared read-only.
pub(super) struct Job {
    pub addr: SocketAddr,
    pub templates: Vec<Template>,
    /// Cumulative weights, for choosing a template.
    pub cum_weights: Vec<u32>,
    pub timeouts: Timeouts,
    pub work: Work,
    pub start: Instant,
    pub duration: Duration,
    pub seed: u64,
    pub stop: StopFlag,
    /// The part of the global schedule this process plays.
    pub segment: crate::scenario::Segment,
    /// False: a new connection for every request.
    pub keep_alive: bool,
    /// https:// targets.
    pub tls: Option<super::tls::Tls>,
}

pub(super) enum Work {
    Open {
        schedule: Schedule,
        max_connections: usize,
        /// Open every connection before the first arrival.
        warm: bool,
    },
    Closed {
        think_time: Duration,
    },
}

pub(super) enum Msg {
    /// A shard's second, by shard index.
    Interval(usize, IntervalSnapshot),
    Done {
        connections_opened: u64,
        in_flight: u64,
    },
}

/// This shard's part: index and count of shards, and (closed model) its
/// virtual users and request budget.
pub(super) struct Part {
    pub index: usize,
    pub of: usize,
    pub users: u32,
    pub budget: Option<u64>,
}

struct Shard {
    job: Arc<Job>,
    index: usize,
    /// Emptied interval stats coming back from the collector.
    recycled: mpsc::Receiver<Vec<crate::metrics::Stats>>,
    rec: RefCell<Recorder>,
    rng: RefCell<SmallRng>,
    queue: RefCell<VecDeque<Arrival>>,
    notify: Notify,
    idle: Cell<usize>,
    starting: Cell<usize>,
    live: Cell<usize>,
    pacing_done: Cell<bool>,
    in_flight: Cell<u64>,
    opened: Cell<u64>,
    budget: Cell<Option<u64>>,
}

impl Shard {
    fn pick(&self) -> usize {
        let w = &self.job.cum_weights;
        if w.len() == 1 {
            return 0;
        }
        let total = *w.last().unwrap_or(&1);
        let x = self.rng.borrow_mut().random_range(0..total);
        w.partition_point(|&c| c <= x)
    }

    /// The request for arrival `index` of the global schedule: a function
    /// of the index alone, so any split into shards and segments sends the
    /// same request for the same arrival.
    fn pick_for(&self, index: u64) -> usize {
        let w = &self.job.cum_weights;
        if w.len() == 1 {
            return 0;
        }
        let total = u64::from(*w.last().unwrap_or(&1)).max(1);
        let x = (splitmix64(self.job.seed ^ index) % total) as u32;
        w.partition_point(|&c| c <= x)
    }

    /// One request on `sender` (connecting first if needed), recorded.
    /// Returns false when no connection could be opened.
    async fn request(&self, sender: &mut Option<Sender>, req: usize, due: Instant) -> bool {
        let t = &self.job.timeouts;
        if sender.as_ref().is_none_or(|s| s.is_closed()) {
            *sender = None;
            match http::connect(self.job.addr, t.connect, self.job.tls.as_ref()).await {
                Ok((s, setup)) => {
                    self.opened.set(self.opened.get() + 1);
                    self.rec.borrow_mut().connected(req, setup);
                    *sender = Some(s);
                }
                Err(kind) => {
                    self.rec.borrow_mut().error(req, kind);
                    return false;
                }
            }
        }
        let Some(s) = sender.as_mut() else {
            return false;
        };
        let sent = Instant::now();
        self.rec
            .borrow_mut()
            .sent(req, sent.saturating_duration_since(due));
        self.in_flight.set(self.in_flight.get() + 1);
        let result = tokio::time::timeout(
            t.request,
            http::exchange(s, self.job.templates[req].build()),
        )
        .await;
        self.in_flight.set(self.in_flight.get() - 1);
        let done = Instant::now();
        if !self.job.keep_alive {
            // Dropping the sender closes the connection.
            *sender = None;
        }
        let mut rec = self.rec.borrow_mut();
        match result {
            Ok(Ok((status, bytes))) if status.as_u16() < 400 => {
                rec.ok(req, done.saturating_duration_since(due), done - sent, bytes)
            }
            Ok(Ok((status, _))) => rec.error(req, ErrorKind::Http(status.as_u16())),
            Ok(Err(kind)) => {
                rec.error(req, kind);
                *sender = None;
            }
            Err(_) => {
                rec.error(req, ErrorKind::RequestTimeout);
                *sender = None;
            }
        }
        true
    }
}

pub(super) fn run(
    job: Arc<Job>,
    part: Part,
    tx: mpsc::Sender<Msg>,
    recycled: mpsc::Receiver<Vec<crate::metrics::Stats>>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(_) => return,
    };
    let names = job.templates.len();
    let sh = Rc::new(Shard {
        index: part.index,
        recycled,
        rec: RefCell::new(Recorder::new(names)),
        rng: RefCell::new(SmallRng::seed_from_u64(
            job.seed ^ (part.index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        )),
        queue: RefCell::new(VecDeque::new()),
        notify: Notify::new(),
        idle: Cell::new(0),
        starting: Cell::new(0),
        live: Cell::new(0),
        pacing_done: Cell::new(false),
        in_flight: Cell::new(0),
        opened: Cell::new(0),
        budget: Cell::new(part.budget),
        job,
    });
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let flusher = tokio::task::spawn_local(flush_every_second(sh.clone(), tx.clone()));
        match &sh.job.work {
            Work::Open {
                schedule,
                max_connections,
                warm,
            } => {
                let per_shard = max_connections.div_ceil(part.of).max(1);
                if *warm {
                    warm_up(&sh, per_shard).await;
                }
                pace(&sh, schedule, part.index, part.of, per_shard).await;
            }
            Work::Closed { think_time } => {
                for _ in 0..part.users {
                    sh.live.set(sh.live.get() + 1);
                    tokio::task::spawn_local(virtual_user(sh.clone(), *think_time));
                }
            }
        }
        drain(&sh).await;
        flusher.abort();
    });
    let last = sh.rec.borrow_mut().take();
    let _ = tx.send(Msg::Interval(part.index, last));
    let abandoned = sh.in_flight.get() + sh.queue.borrow().len() as u64;
    let _ = tx.send(Msg::Done {
        connections_opened: sh.opened.get(),
        in_flight: abandoned,
    });
}

async fn flush_every_second(sh: Rc<Shard>, tx: mpsc::Sender<Msg>) {
    let mut k = 1u32;
    loop {
        let at = sh.job.start + Duration::from_secs(k.into());
        tokio::time::sleep_until(at.into()).await;
        let reuse = sh.recycled.try_recv().unwrap_or_default();
        let snap = sh.rec.borrow_mut().take_into(reuse);
        if tx.send(Msg::Interval(sh.index, snap)).is_err() {
            return;
        }
        k += 1;
    }
}

/// Open model: release arrivals when due and keep enough connections busy.
async fn pace(sh: &Rc<Shard>, schedule: &Schedule, index: usize, of: usize, max_conns: usize) {
    let Ok(mut timer) = crate::timer::PreciseTimer::new() else {
        sh.pacing_done.set(true);
        return;
    };
    // Shard k of S in segment i of N: arrivals i + N·k, i + N·(k + S), …
    let seg = sh.job.segment;
    let (n, of) = (u64::from(seg.count), of as u64);
    let mut arrivals = schedule
        .part(u64::from(seg.index) + n * index as u64, n * of)
        .peekable();
    while let Some(next) = arrivals.peek().copied() {
        if sh.job.stop.is_set() {
            break;
        }
        let due = sh.job.start + next.at;
        let now = Instant::now();
        if due > now {
            let wait = due - now;
            if wait > STOP_POLL {
                // Wake sooner to notice a stop.
                let _ = timer.sleep_until(now + STOP_POLL).await;
            } else if wait >= EXACT_WAIT_MIN {
                // A long gap (low rate per shard): spend up to 0.3 ms of CPU
                // so the send leaves on time rather than an idle CPU's wake
                // latency (0.1–0.2 ms on a VM) late.
                let _ = timer.sleep_until_exact(due).await;
            } else if wait >= PACING_TICK {
                let _ = timer.sleep_until(due).await;
            } else {
                // Dense arrivals: wake on a 1 ms grid and release every
                // arrival then due, rather than once per arrival (each wake
                // costs a context switch). Latency still counts from each
                // arrival's intended time; the lag this adds (< 1 ms) is
                // recorded as send lag.
                let since = (due - sh.job.start).as_nanos();
                let tick = PACING_TICK.as_nanos();
                let grid =
                    sh.job.start + Duration::from_nanos((since.div_ceil(tick) * tick) as u64);
                let _ = timer.sleep_until(grid).await;
            }
            continue;
        }
        // Release every arrival that is due (batching costs no accuracy:
        // latency is measured from the intended time).
        let mut released = 0;
        while let Some(a) = arrivals.next_if(|a| sh.job.start + a.at <= now) {
            sh.queue.borrow_mut().push_back(a);
            released += 1;
        }
        sh.rec.borrow_mut().scheduled(released);
        let pending = sh.queue.borrow().len();
        let spare = sh.idle.get() + sh.starting.get();
        let room = max_conns.saturating_sub(sh.live.get());
        for _ in 0..pending.saturating_sub(spare).min(room) {
            sh.live.set(sh.live.get() + 1);
            sh.starting.set(sh.starting.get() + 1);
            tokio::task::spawn_local(connection(sh.clone(), None));
        }
        for _ in 0..released.min(sh.idle.get() as u64) {
            sh.notify.notify_one();
        }
    }
    sh.pacing_done.set(true);
    sh.notify.notify_waiters();
}

/// Opens `n` connections before the first arrival, so that the pool (and
/// the memory it holds) is at its full size from the start.
async fn warm_up(sh: &Rc<Shard>, n: usize) {
    let mut opened = Vec::with_capacity(n);
    for _ in 0..n {
        let addr = sh.job.addr;
        let timeout = sh.job.timeouts.connect;
        let tls = sh.job.tls.clone();
        opened.push(tokio::task::spawn_local(async move {
            http::connect(addr, timeout, tls.as_ref())
                .await
                .ok()
                .map(|(s, _)| s)
        }));
    }
    for handle in opened {
        let sender = handle.await.ok().flatten();
        if sender.is_some() {
            sh.opened.set(sh.opened.get() + 1);
        }
        sh.live.set(sh.live.get() + 1);
        sh.starting.set(sh.starting.get() + 1);
        tokio::task::spawn_local(connection(sh.clone(), sender));
    }
}

/// Open model: one connection taking due arrivals in order.
async fn connection(sh: Rc<Shard>, sender: Option<Sender>) {
    let mut sender = sender;
    let mut starting = true;
    loop {
        let popped = sh.queue.borrow_mut().pop_front();
        if std::mem::take(&mut starting) {
            sh.starting.set(sh.starting.get() - 1);
        }
        let Some(a) = popped else {
            if sh.pacing_done.get() || sh.job.stop.is_set() {
                break;
            }
            sh.idle.set(sh.idle.get() + 1);
            sh.notify.notified().await;
            sh.idle.set(sh.idle.get() - 1);
            continue;
        };
        let req = sh.pick_for(a.index);
        let due = sh.job.start + a.at;
        if due.elapsed() > sh.job.timeouts.request {
            sh.rec
                .borrow_mut()
                .error(req, ErrorKind::DroppedNoConnection);
            continue;
        }
        sh.request(&mut sender, req, due).await;
    }
    sh.live.set(sh.live.get() - 1);
}

/// Closed model: send, wait for the answer, think, repeat.
async fn virtual_user(sh: Rc<Shard>, think: Duration) {
    let end = sh.job.start + sh.job.duration;
    let mut sender = None;
    loop {
        let now = Instant::now();
        if now >= end || sh.job.stop.is_set() {
            break;
        }
        if let Some(b) = sh.budget.get() {
            if b == 0 {
                break;
            }
            sh.budget.set(Some(b - 1));
        }
        let req = sh.pick();
        if !sh.request(&mut sender, req, now).await {
            // Failed to connect: do not spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if !think.is_zero() {
            tokio::time::sleep(think).await;
        }
    }
    sh.live.set(sh.live.get() - 1);
}

/// Waits for connections to finish their work: until every answer is in,
/// the request timeout has passed since the last arrival, or shortly after
/// an interrupt.
async fn drain(sh: &Rc<Shard>) {
    let job = &sh.job;
    let mut deadline = job.start + job.duration + job.timeouts.request + Duration::from_millis(100);
    let mut stopping = false;
    while sh.live.get() > 0 && Instant::now() < deadline {
        if job.stop.is_set() && !stopping {
            stopping = true;
            sh.notify.notify_waiters();
            deadline = deadline.min(Instant::now() + INTERRUPT_GRACE.min(job.timeouts.request));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a well-mixed hash of one integer.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
