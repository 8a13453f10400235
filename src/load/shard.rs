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
use super::pool::{H2Pool, Lease, Next};
use super::schedule::{Arrival, Schedule};
use super::StopFlag;
use crate::hash::splitmix64;
use crate::metrics::{ErrorKind, Held, IntervalSnapshot, Recorder};
use crate::scenario::flow::{Failure, Response};
use crate::scenario::template::Values;
use crate::scenario::{DataSource, FlowSpec, HttpVersion, Timeouts};

/// The pacer checks for a stop at least this often.
const STOP_POLL: Duration = Duration::from_millis(50);
/// Arrivals closer than this are released together on a grid this fine,
/// each within ±`RELEASE_AHEAD` of its own instant. The grid is a price:
/// every wake-up of an idle shard thread costs about 20 µs of CPU on the
/// VMs measured here (a `nanosleep` loop costs the same), so wake-ups, not
/// requests, set an open loop's CPU. A 1 ms grid sent every arrival up to
/// 1 ms late (at 20,000/s, half of a 0.3 ms service's reported latency was
/// headroom's batching); one wake-up per arrival (50 µs) doubled the CPU
/// per request. 300 µs keeps send lag p99 under 0.2 ms at 20,000/s for
/// 1.3× the CPU of a 1 ms grid (benches/vs_peers.sh, README).
pub(crate) const PACING_TICK: Duration = Duration::from_micros(300);
/// A wake-up releases every arrival due before the next half tick: an
/// arrival may leave up to this much early, and its latency then counts
/// from the send (never less than its service time), so the arrival
/// process is kept to within ±150 µs without reporting lateness that was
/// the grid's.
const RELEASE_AHEAD: Duration = Duration::from_micros(150);
/// Gaps between arrivals at least this long are waited for exactly.
const EXACT_WAIT_MIN: Duration = Duration::from_millis(2);

/// Arrivals a shard holds waiting for a connection, at the most (16 bytes
/// each: 16 MiB). Arrivals due beyond it found no connection and are
/// dropped at once, as those that waited longer than the request timeout
/// are when a connection frees: either way they count as
/// `dropped_no_connection`. Without a bound a rate no connection pool can
/// carry (`--rate 1e12`) queued arrivals until memory ran out.
const QUEUE_MAX: usize = 1 << 20;
/// Arrivals released in one go before the pacer yields (to its
/// connections, the per-second flush and a stop).
const RELEASE_BATCH: u64 = 4096;

/// How long an interrupted run waits for answers already on their way.
const INTERRUPT_GRACE: Duration = Duration::from_secs(2);

/// What every shard needs, shared read-only.
pub(super) struct Job {
    /// Each arm's target: one, or (a paired run) the two versions compared.
    pub addrs: Vec<SocketAddr>,
    /// Every request and flow step, by recorder index: arm k's request r
    /// at `k · names + r`.
    pub templates: Vec<Template>,
    /// Request names in one arm.
    pub names: usize,
    pub flows: Vec<FlowSpec>,
    /// Cumulative flow weights, for choosing a flow.
    pub cum_weights: Vec<u32>,
    pub data: Arc<Vec<DataSource>>,
    pub http: HttpVersion,
    /// HTTP/2: most requests in flight per connection.
    pub streams: usize,
    /// Connections this process may open (split over shards).
    pub max_connections: usize,
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
    /// https:// targets, by arm.
    pub tls: Vec<Option<super::tls::Tls>>,
}

impl Job {
    /// The arm arrival (or flow run) `index` goes to: at random, seeded,
    /// a function of the index alone (so any split into shards and
    /// segments sends the same arrival to the same version).
    pub fn arm_of(&self, index: u64) -> usize {
        match self.addrs.len() {
            0 | 1 => 0,
            n => {
                (splitmix64(self.seed ^ index.rotate_left(17) ^ 0x00ab_00ab_a4b1) % n as u64)
                    as usize
            }
        }
    }
}

pub(super) enum Work {
    Open {
        schedule: Schedule,
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
    /// The shard could not start: the run measures less than it should.
    Failed(usize, String),
    Done {
        connections_opened: u64,
        in_flight: u64,
        /// Virtual users (closed model) that never sent a request.
        idle_users: u64,
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
    /// Shards in this process.
    of: usize,
    /// Emptied interval stats coming back from the collector.
    recycled: mpsc::Receiver<Vec<crate::metrics::Stats>>,
    rec: RefCell<Recorder>,
    queue: RefCell<VecDeque<Arrival>>,
    notify: Notify,
    idle: Cell<usize>,
    starting: Cell<usize>,
    live: Cell<usize>,
    pacing_done: Cell<bool>,
    in_flight: Cell<u64>,
    opened: Cell<u64>,
    budget: Cell<Option<u64>>,
    /// Flow runs this shard started (closed model).
    runs: Cell<u64>,
    /// Virtual users that ended without a request sent: no connection
    /// opened for them in the whole run.
    idle_users: Cell<u64>,
    /// Virtual users of this shard (closed model).
    users: u64,
    /// This shard's share of the connection limit.
    conn_cap: usize,
    /// HTTP/2 connections shared by this shard's lanes, by arm.
    pools: Vec<H2Pool>,
}

/// How a flow run ended.
enum Ended {
    /// Every step answered as expected, or a step failed (recorded).
    Done,
    /// No connection could be opened.
    NoConnection,
    /// A unique data source has no row left for this run.
    Exhausted,
}

/// Values a template renders for one flow run: its data rows, what it
/// extracted so far, and a random generator seeded by the run's index (so
/// a run renders the same whatever shard or segment plays it).
struct Vars<'a> {
    data: &'a [DataSource],
    rows: Vec<usize>,
    extracted: Vec<String>,
    index: u64,
    seed: u64,
    rng: Option<SmallRng>,
}

impl<'a> Vars<'a> {
    fn new(job: &'a Job, index: u64, slots: usize) -> Option<Vars<'a>> {
        let rows = job
            .data
            .iter()
            .enumerate()
            .map(|(i, d)| d.row_for(index, job.seed, i))
            .collect::<Option<Vec<_>>>()?;
        Some(Vars {
            data: &job.data,
            rows,
            extracted: vec![String::new(); slots],
            index,
            seed: job.seed,
            rng: None,
        })
    }

    fn rng(&mut self) -> &mut SmallRng {
        let (seed, index) = (self.seed, self.index);
        self.rng.get_or_insert_with(|| {
            SmallRng::seed_from_u64(splitmix64(seed ^ index ^ 0x005e_ed0f_f10e))
        })
    }
}

impl Values for Vars<'_> {
    fn data(&self, source: usize, column: usize) -> &str {
        &self.data[source].rows[self.rows[source]][column]
    }
    fn extracted(&self, slot: usize) -> &str {
        &self.extracted[slot]
    }
    fn counter(&self) -> u64 {
        self.index
    }
    fn random_u128(&mut self) -> u128 {
        self.rng().random()
    }
    fn random_int(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng().random_range(lo..=hi)
    }
}

impl Shard {
    /// The flow for run `index`: a function of the index alone, so any
    /// split into shards and segments runs the same flow for the same arrival.
    fn pick_for(&self, index: u64) -> usize {
        let w = &self.job.cum_weights;
        if w.len() == 1 {
            return 0;
        }
        let total = u64::from(*w.last().unwrap_or(&1)).max(1);
        let x = (splitmix64(self.job.seed ^ index) % total) as u32;
        w.partition_point(|&c| c <= x)
    }

    /// The first step of arrival `index`'s flow, by recorder index.
    fn first_step(&self, index: u64) -> usize {
        let arm = self.job.arm_of(index);
        self.job.flows[self.pick_for(index)].steps.start + arm * self.job.names
    }

    /// Arm `arm`'s requests share pooled HTTP/2 connections (not with
    /// keep-alive off).
    fn pooling(&self, arm: usize) -> bool {
        self.pools[arm].speaks_h2() && self.job.keep_alive
    }

    /// The connections' state at the end of an interval.
    fn load_state(&self, load: &mut crate::metrics::LoadState) {
        load.in_flight = self.in_flight.get();
        load.queued = self.queue.borrow().len() as u64;
        load.lanes = match self.job.work {
            Work::Open { .. } => self.lane_cap() as u64,
            Work::Closed { .. } => self.users,
        };
    }

    /// Most lanes (requests in flight at once) this shard runs.
    fn lane_cap(&self) -> usize {
        if self.pooling(0) {
            self.conn_cap.saturating_mul(self.job.streams)
        } else {
            self.conn_cap
        }
    }

    async fn open(&self, req: usize) -> Option<Sender> {
        let t = &self.job;
        let arm = req / t.names;
        match http::connect(
            t.addrs[arm],
            t.timeouts.connect,
            t.tls[arm].as_ref(),
            t.http,
        )
        .await
        {
            Ok((s, setup)) => {
                self.opened.set(self.opened.get() + 1);
                self.rec.borrow_mut().connected(req, setup);
                Some(s)
            }
            Err(kind) => {
                self.rec.borrow_mut().error(req, kind);
                None
            }
        }
    }

    /// A stream on a pooled HTTP/2 connection (see [`H2Pool::next`]),
    /// opening a connection when the pool says so.
    async fn lease(&self, req: usize) -> Option<Lease<'_>> {
        let pool = &self.pools[req / self.job.names];
        loop {
            match pool.next() {
                Next::Leased(l) => return Some(l),
                Next::Open(opening) => {
                    let opened = self.open(req).await;
                    drop(opening);
                    return match opened {
                        Some(s @ Sender::H2(..)) => pool.add(s),
                        Some(Sender::H1(_)) => {
                            // The server stopped offering h2: not poolable.
                            self.rec.borrow_mut().error(req, ErrorKind::Other);
                            None
                        }
                        None => None,
                    };
                }
                Next::Wait => pool.changed().await,
            }
        }
    }

    /// One step: a connection (the lane's own, or a pooled HTTP/2 one), the
    /// request rendered and sent, the answer checked and its values
    /// extracted, all recorded under the step's name.
    async fn step(
        &self,
        lane: &mut Option<Sender>,
        req: usize,
        due: Instant,
        vars: &mut Vars<'_>,
    ) -> Result<(), Ended> {
        let job = &self.job;
        let tpl = &job.templates[req];
        let arm = req / job.names;
        // Send lag runs to when a connection took the request, so that
        // connection setup (in `connect`) is not counted as the
        // generator's own lateness: that moment is read before a step may
        // wait for a connection, and is the send itself otherwise (one
        // clock read, not two, on a lane's open connection).
        let mut picked: Option<Instant> = None;
        let mut sent = None;
        // A request the server did not process (HTTP/2 REFUSED_STREAM, or
        // past the last stream of a GOAWAY, as nginx sends after
        // keepalive_requests) is sent again once, on another connection.
        let mut retried = false;
        let answer = loop {
            let mut lease = None;
            if self.pooling(arm) {
                picked.get_or_insert_with(Instant::now);
                lease = Some(self.lease(req).await.ok_or(Ended::NoConnection)?);
            } else if lane.as_ref().is_none_or(Sender::is_closed) {
                picked.get_or_insert_with(Instant::now);
                *lane = None;
                let s = self.open(req).await.ok_or(Ended::NoConnection)?;
                if s.is_h2() && job.keep_alive {
                    lease = self.pools[arm].add(s);
                } else {
                    *lane = Some(s);
                }
            }
            let sender = match (&mut lease, lane.as_mut()) {
                (Some(l), _) => &mut l.sender,
                (None, Some(s)) => s,
                (None, None) => return Err(Ended::NoConnection),
            };
            if sent.is_none() {
                let now = Instant::now();
                sent = Some(now);
                let picked = picked.unwrap_or(now);
                self.rec
                    .borrow_mut()
                    .sent(req, picked.saturating_duration_since(due));
            }
            let Some(request) = tpl.build(sender.is_h2(), vars) else {
                self.rec.borrow_mut().error(req, ErrorKind::Render);
                return Err(Ended::Done);
            };
            let result = {
                let _in_flight = Held::new(&self.in_flight);
                tokio::time::timeout(
                    job.timeouts.request,
                    http::exchange(sender, request, tpl.reading),
                )
                .await
            };
            if !job.keep_alive {
                // Dropping the sender closes the connection.
                *lane = None;
            }
            let kind = match result {
                Ok(Ok(a)) => break a,
                Ok(Err(super::answer::Failed {
                    unprocessed: true, ..
                })) if !retried => {
                    retried = true;
                    *lane = None;
                    if let Some(l) = &lease {
                        l.retire();
                    }
                    continue;
                }
                Ok(Err(f)) => {
                    self.rec.borrow_mut().error_said(req, f.kind, || f.said());
                    *lane = None;
                    return Err(Ended::Done);
                }
                Err(_) => ErrorKind::RequestTimeout,
            };
            self.rec.borrow_mut().error(req, kind);
            *lane = None;
            return Err(Ended::Done);
        };
        let done = Instant::now();
        let sent = sent.unwrap_or(done);
        let response = Response {
            status: answer.status,
            headers: &answer.headers,
            body: answer.body.as_deref().unwrap_or(&[]),
        };
        let mut json = None;
        if let Err(f) = tpl.expect.check(&response, vars, &mut json) {
            let kind = match f {
                Failure::Status(code) => ErrorKind::Http(code),
                Failure::Assert => ErrorKind::Assert,
                Failure::Extract => ErrorKind::Extract,
            };
            self.rec.borrow_mut().error(req, kind);
            return Err(Ended::Done);
        }
        for x in &tpl.extract {
            match x.apply(&response, &mut json) {
                Some(v) => vars.extracted[x.slot] = v,
                None => {
                    self.rec.borrow_mut().error(req, ErrorKind::Extract);
                    return Err(Ended::Done);
                }
            }
        }
        // From the intended time, or from the send when it left early
        // (released up to RELEASE_AHEAD before it was due).
        self.rec
            .borrow_mut()
            .ok(req, done - due.min(sent), done - sent, answer.bytes);
        Ok(())
    }

    /// Flow run `index`: its steps in order on its arm's lane (of
    /// `lanes`, one per arm), each after the last one's answer and think
    /// time, stopping at the first failed step (a user who cannot log in
    /// does not check out). The first step's latency counts from `due`, the
    /// arrival's intended time.
    async fn run_flow(&self, lanes: &mut [Option<Sender>], index: u64, due: Instant) -> Ended {
        let flow = &self.job.flows[self.pick_for(index)];
        let arm = self.job.arm_of(index);
        let lane = &mut lanes[arm];
        let Some(mut vars) = Vars::new(&self.job, index, flow.slots) else {
            return Ended::Exhausted;
        };
        let shift = arm * self.job.names;
        let steps = flow.steps.start + shift..flow.steps.end + shift;
        let mut due = due;
        for req in steps.clone() {
            if let Err(end) = self.step(lane, req, due, &mut vars).await {
                return end;
            }
            let think = self.job.templates[req].think;
            if req + 1 < steps.end {
                if self.job.stop.is_set() {
                    break;
                }
                // Due at answer + think time: a late wake-up counts in the
                // next step's latency and send lag, not left out.
                let next = Instant::now() + think;
                if !think.is_zero() {
                    tokio::time::sleep_until(next.into()).await;
                }
                due = next;
            }
        }
        Ended::Done
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
        Err(e) => {
            let _ = tx.send(Msg::Failed(part.index, format!("no runtime: {e}")));
            return;
        }
    };
    let names = job.names;
    let sh = Rc::new(Shard {
        index: part.index,
        of: part.of,
        recycled,
        rec: RefCell::new(Recorder::new(names, job.addrs.len())),
        queue: RefCell::new(VecDeque::new()),
        notify: Notify::new(),
        idle: Cell::new(0),
        starting: Cell::new(0),
        live: Cell::new(0),
        pacing_done: Cell::new(false),
        in_flight: Cell::new(0),
        opened: Cell::new(0),
        budget: Cell::new(part.budget),
        runs: Cell::new(0),
        idle_users: Cell::new(0),
        users: u64::from(part.users),
        conn_cap: job.max_connections.div_ceil(part.of).max(1),
        pools: (0..job.addrs.len())
            .map(|_| {
                H2Pool::new(
                    job.streams,
                    job.max_connections.div_ceil(part.of).max(1),
                    job.http == HttpVersion::Http2,
                )
            })
            .collect(),
        job,
    });
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let flusher = tokio::task::spawn_local(flush_every_second(sh.clone(), tx.clone()));
        match &sh.job.work {
            Work::Open { schedule, warm } => {
                if *warm {
                    warm_up(&sh, sh.conn_cap).await;
                }
                pace(&sh, schedule, part.index, part.of).await;
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
    let mut last = sh.rec.borrow_mut().take();
    sh.load_state(&mut last.load);
    let _ = tx.send(Msg::Interval(part.index, last));
    let abandoned = sh.in_flight.get() + sh.queue.borrow().len() as u64;
    let _ = tx.send(Msg::Done {
        idle_users: sh.idle_users.get(),
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
        let mut snap = sh.rec.borrow_mut().take_into(reuse);
        sh.load_state(&mut snap.load);
        if tx.send(Msg::Interval(sh.index, snap)).is_err() {
            return;
        }
        k += 1;
    }
}

/// Open model: release arrivals when due and keep enough connections busy.
async fn pace(sh: &Rc<Shard>, schedule: &Schedule, index: usize, of: usize) {
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
    // A second past the profile's end, arrivals still unreleased are left.
    let end = sh.job.start + sh.job.duration + Duration::from_secs(1);
    while let Some(next) = arrivals.peek().copied() {
        if sh.job.stop.is_set() {
            break;
        }
        let due = sh.job.start + next.at;
        let now = Instant::now();
        if due > now + RELEASE_AHEAD {
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
                // Dense arrivals: wake on the grid and release every
                // arrival due by the next half tick, rather than wake once
                // per arrival. Latency still counts from each arrival's
                // intended time (or its earlier send); the lateness the
                // grid adds (< 150 µs) is recorded as send lag.
                let since = (due - sh.job.start).as_nanos();
                let tick = PACING_TICK.as_nanos();
                let grid =
                    sh.job.start + Duration::from_nanos((since.div_ceil(tick) * tick) as u64);
                let _ = timer.sleep_until(grid).await;
            }
            continue;
        }
        if now > end {
            // The CPU fell so far behind that the run is over: what is left
            // was never sent (the summary says the generator fell short).
            break;
        }
        // Release every arrival that is due (batching costs no accuracy:
        // latency is measured from the intended time), in batches.
        let (mut released, mut dropped) = (0, 0);
        let horizon = now + RELEASE_AHEAD;
        while let Some(a) = arrivals.next_if(|a| sh.job.start + a.at <= horizon) {
            let mut queue = sh.queue.borrow_mut();
            if queue.len() < QUEUE_MAX {
                queue.push_back(a);
            } else {
                let first = sh.first_step(a.index);
                sh.rec
                    .borrow_mut()
                    .error(first, ErrorKind::DroppedNoConnection);
                dropped += 1;
            }
            if sh.job.addrs.len() > 1 {
                sh.rec.borrow_mut().scheduled_arm(sh.job.arm_of(a.index));
            }
            released += 1;
            if released == RELEASE_BATCH {
                break;
            }
        }
        let pending = sh.queue.borrow().len();
        let spare = sh.idle.get() + sh.starting.get();
        let room = sh.lane_cap().saturating_sub(sh.live.get());
        // The queue is served in order: of what no idle, starting or new
        // connection will take at once, the newest arrivals (just released)
        // found every connection busy at the limit.
        let waiting = pending.saturating_sub(spare + room) as u64;
        {
            let mut rec = sh.rec.borrow_mut();
            rec.scheduled(released);
            rec.no_free_connection(waiting.min(released - dropped) + dropped);
        }
        for _ in 0..pending.saturating_sub(spare).min(room) {
            sh.live.set(sh.live.get() + 1);
            sh.starting.set(sh.starting.get() + 1);
            tokio::task::spawn_local(connection(sh.clone(), Vec::new()));
        }
        for _ in 0..released.min(sh.idle.get() as u64) {
            sh.notify.notify_one();
        }
        if released == RELEASE_BATCH {
            tokio::task::yield_now().await;
        }
    }
    sh.pacing_done.set(true);
    sh.notify.notify_waiters();
}

/// Opens `n` connections before the first arrival, so that the pool (and
/// the memory it holds) is at its full size from the start.
/// Opens `n` lanes before the first arrival (a connection to each arm's
/// target in every lane), so that the pool (and the memory it holds) is at
/// its full size from the start.
async fn warm_up(sh: &Rc<Shard>, n: usize) {
    let arms = sh.job.addrs.len();
    let mut opened = Vec::with_capacity(n * arms);
    for i in 0..n * arms {
        let arm = i % arms;
        let (addr, timeout, version) = (sh.job.addrs[arm], sh.job.timeouts.connect, sh.job.http);
        let tls = sh.job.tls[arm].clone();
        opened.push(tokio::task::spawn_local(async move {
            http::connect(addr, timeout, tls.as_ref(), version)
                .await
                .ok()
                .map(|(s, _)| s)
        }));
    }
    let mut lanes = Vec::with_capacity(arms);
    for (i, handle) in opened.into_iter().enumerate() {
        let mut sender = handle.await.ok().flatten();
        if sender.is_some() {
            sh.opened.set(sh.opened.get() + 1);
        }
        if let Some(s) = sender.take_if(|s| s.is_h2() && sh.job.keep_alive) {
            // Pooled for every lane; this lease is given back at once.
            drop(sh.pools[i % arms].add(s));
        }
        lanes.push(sender);
        if lanes.len() == arms {
            sh.live.set(sh.live.get() + 1);
            sh.starting.set(sh.starting.get() + 1);
            tokio::task::spawn_local(connection(sh.clone(), std::mem::take(&mut lanes)));
        }
    }
}

/// Open model: one lane (a connection to each arm's target, opened when
/// first needed) taking due arrivals in order.
async fn connection(sh: Rc<Shard>, lanes: Vec<Option<Sender>>) {
    let mut lanes = lanes;
    lanes.resize_with(sh.job.addrs.len(), || None);
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
        let due = sh.job.start + a.at;
        if due.elapsed() > sh.job.timeouts.request {
            let first = sh.first_step(a.index);
            sh.rec
                .borrow_mut()
                .error(first, ErrorKind::DroppedNoConnection);
            continue;
        }
        sh.run_flow(&mut lanes, a.index, due).await;
    }
    sh.live.set(sh.live.get() - 1);
}

/// Closed model: send, wait for the answer, think, repeat.
async fn virtual_user(sh: Rc<Shard>, think: Duration) {
    let end = sh.job.start + sh.job.duration;
    let mut lanes: Vec<Option<Sender>> = (0..sh.job.addrs.len()).map(|_| None).collect();
    // A run through (or data that ran out): the user got its turn.
    let mut had_a_turn = false;
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
        // Run c of shard k of S in segment i of N: i + N·(k + S·c), unique
        // over the whole run (and dense when the shards keep pace).
        let c = sh.runs.get();
        sh.runs.set(c + 1);
        let seg = sh.job.segment;
        let index =
            u64::from(seg.index) + u64::from(seg.count) * (sh.index as u64 + sh.of as u64 * c);
        match sh.run_flow(&mut lanes, index, now).await {
            // Failed to connect: do not spin.
            Ended::NoConnection => tokio::time::sleep(Duration::from_millis(10)).await,
            Ended::Exhausted => {
                had_a_turn = true;
                break;
            }
            Ended::Done => had_a_turn = true,
        }
        if !think.is_zero() {
            tokio::time::sleep(think).await;
        }
    }
    if !had_a_turn {
        sh.idle_users.set(sh.idle_users.get() + 1);
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
