//! The load engine.
//!
//! One [`run`] drives a [`Plan`] against a base URL: the arrival
//! [`schedule`] (open model) or a fixed set of virtual users (closed model)
//! is split over shard threads, each with its own single-threaded runtime,
//! connections and recorder (no locks on the hot path). Once a second each
//! shard hands its interval snapshot to the calling thread, which merges
//! them exactly, passes each whole second to the caller and keeps totals.
//!
//! Latency is measured from the *intended* send time, so a server that
//! stalls shows up in the percentiles (no coordinated omission); service
//! time (from the actual send) and send lag are recorded beside it.

mod answer;
mod h1;
mod http;
#[doc(hidden)]
pub use http::answer_to;
mod pool;
pub mod schedule;
mod shard;
pub(crate) use shard::PACING_TICK;
pub mod tls;

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

pub use http::Template;
pub use schedule::{Arrival, Schedule};

use crate::metrics::{Aggregator, Interval, Stats};
use crate::scenario::{BaseUrl, LoadModel, Plan};
use shard::{Job, Msg, Part, Work};

/// Set to stop a run early (Ctrl-C); the run then writes what it measured.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot resolve {0}")]
    Resolve(String),
    /// (`cause`, not `source`: the message says it once.)
    #[error("target {addr} is unreachable: {cause}")]
    Unreachable {
        addr: SocketAddr,
        cause: std::io::Error,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("cannot start a shard thread: {0}")]
    Thread(std::io::Error),
    /// Shards that could not start or panicked: the run measured less.
    #[error("the run measured less than planned: {0}")]
    Shards(String),
}

/// What a run measured, beyond the per-second intervals.
#[derive(Debug)]
pub struct RunOutcome {
    pub totals: Vec<Stats>,
    /// Arrivals the schedule released (open model).
    pub scheduled: Option<u64>,
    /// Of them, those each target was sent ([`run_arms`]; else empty).
    pub scheduled_arms: Vec<u64>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Load time: the plan's duration, or until the stop when interrupted.
    pub duration: Duration,
    /// From the start until the last shard was done: the duration and the
    /// wait for answers after it.
    pub elapsed: Duration,
    pub interrupted: bool,
    pub threads: usize,
    pub connections_opened: u64,
    /// Virtual users (closed model) that never sent a request: no
    /// connection opened for them in the whole run.
    pub users_never_sent: u64,
    pub in_flight_at_end: u64,
    /// Arrivals that found every connection busy when due.
    pub no_free_connection: u64,
    /// Requests the connections could carry at once (all shards).
    pub lanes: u64,
    /// Shards that could not start or that panicked, in words: what was
    /// measured is less than the plan asked for (see [`RunOutcome::check`]).
    pub failures: Vec<String>,
}

impl RunOutcome {
    /// An error naming the shards that failed, if any did.
    pub fn check(&self) -> Result<(), RunError> {
        if self.failures.is_empty() {
            Ok(())
        } else {
            Err(RunError::Shards(self.failures.join("; ")))
        }
    }
}

/// Something to watch a run by (a progress bar, a test). It is called on
/// the collector thread, not the caller's (see [`run`]).
pub trait Observer: Send {
    /// Called for each whole second, in order.
    fn interval(&mut self, iv: &Interval);
    /// The run's clock: second 0 begins at `at` (its first arrival).
    /// Called once, before the first arrival is due.
    fn started(&mut self, _at: Instant) {}
}

impl<F: FnMut(&Interval) + Send> Observer for F {
    fn interval(&mut self, iv: &Interval) {
        self(iv)
    }
}

/// Resolves the target and checks that it accepts connections.
pub fn resolve(base: &BaseUrl, connect_timeout: Duration) -> Result<SocketAddr, RunError> {
    let addr = (base.host.as_str(), base.port)
        .to_socket_addrs()
        .map_err(|e| RunError::Resolve(format!("{}: {e}", base.authority)))?
        .next()
        .ok_or_else(|| RunError::Resolve(base.authority.to_string()))?;
    TcpStream::connect_timeout(&addr, connect_timeout)
        .map_err(|cause| RunError::Unreachable { addr, cause })?;
    Ok(addr)
}

/// Runs `plan` against `base` and returns what it measured; each completed
/// second goes to `observer` first.
pub fn run(
    plan: &Plan,
    base: &BaseUrl,
    stop: &StopFlag,
    observer: &mut dyn Observer,
) -> Result<RunOutcome, RunError> {
    run_arms(plan, std::slice::from_ref(base), stop, observer)
}

/// Runs `plan` against several targets at once (a paired run: the two
/// versions compared): each arrival (or, closed, each flow run) goes to
/// one of them at random, and each lane holds a connection to each. The
/// stats of target k's request r are at `k · names + r` in every interval
/// and in the totals; each interval counts the arrivals scheduled for
/// each target (`scheduled_arms`).
pub fn run_arms(
    plan: &Plan,
    bases: &[BaseUrl],
    stop: &StopFlag,
    observer: &mut dyn Observer,
) -> Result<RunOutcome, RunError> {
    let (job, shards, users) = prepare(plan, bases, stop)?;
    observer.started(job.start);
    let started_at = chrono::Utc::now()
        + chrono::Duration::from_std(job.start.saturating_duration_since(Instant::now()))
            .unwrap_or_default();
    let (tx, rx) = mpsc::channel();
    let mut handles = Vec::new();
    let mut give_back = Vec::new();
    for index in 0..shards {
        let part = Part {
            index,
            of: shards,
            users: share(users, index, shards) as u32,
            budget: match plan.load.model {
                LoadModel::Closed { .. } => plan
                    .load
                    .max_requests
                    .map(|n| share(plan.load.segment.share(n), index, shards)),
                LoadModel::Open { .. } => None,
            },
        };
        let (job, tx) = (job.clone(), tx.clone());
        let (back_tx, back_rx) = mpsc::channel();
        give_back.push(back_tx);
        let h = std::thread::Builder::new()
            .name(format!("headroom-shard-{index}"))
            .spawn(move || shard::run(job, part, tx, back_rx))
            .map_err(RunError::Thread)?;
        handles.push(h);
    }
    drop(tx);
    let names = job.templates.len();
    // Merging, the observer's files and the live metrics run on their own
    // thread, below the shards' priority (SCHED_IDLE): on two cores that
    // second's work (a few milliseconds, all at once) delayed the shards'
    // sends at the start of every second, by 1–1.6 ms at 20,000/s. An
    // idle-priority thread gets a CPU only when no shard wants it; once the
    // shards are done, what it has not merged yet is handed back to this
    // thread, at its own priority.
    let mut c = Collected::new(shards, names);
    let done = AtomicBool::new(false);
    let handed = std::thread::scope(|s| {
        let (c, done, give_back, observer) = (&mut c, &done, &give_back, &mut *observer);
        let collector = std::thread::Builder::new()
            .name("headroom-collect".into())
            .spawn_scoped(s, move || {
                below_the_shards();
                c.receive(&rx, give_back, stop, observer, || {
                    done.load(Ordering::Relaxed)
                });
                rx
            });
        if collector.is_err() {
            // No thread to collect on: stop the shards rather than wait out
            // a run nobody records.
            stop.stop();
        }
        let failures = joined(handles);
        done.store(true, Ordering::Relaxed);
        collector.map(|h| (h.join(), failures))
    });
    let rx = match handed {
        Ok((Ok(rx), failures)) => {
            c.failures.extend(failures);
            rx
        }
        Ok((Err(panic), _)) => std::panic::resume_unwind(panic),
        Err(e) => return Err(RunError::Thread(e)),
    };
    c.receive(&rx, &give_back, stop, observer, || false);
    c.finish(observer);
    let finished = Instant::now();
    let interrupted = c.stopped_at.is_some_and(|t| t < job.start + job.duration);
    // The open model's window is its schedule's, however early the last
    // answer came (`--rate 10 --duration 1s` lasts 1 s, not until the
    // answer to the arrival at 0.9 s); a closed model ends with its users.
    let duration = match (c.stopped_at, &job.work) {
        (Some(t), _) if interrupted => t.saturating_duration_since(job.start),
        (_, Work::Open { .. }) => job.duration,
        _ => job
            .duration
            .min(finished.saturating_duration_since(job.start)),
    };
    Ok(RunOutcome {
        scheduled: matches!(plan.load.model, LoadModel::Open { .. }).then_some(c.agg.scheduled),
        scheduled_arms: std::mem::take(&mut c.agg.scheduled_arms),
        no_free_connection: c.agg.no_free_connection,
        totals: c.agg.totals,
        started_at,
        duration,
        elapsed: finished.saturating_duration_since(job.start).max(duration),
        interrupted,
        threads: shards,
        connections_opened: c.opened,
        users_never_sent: c.idle_users,
        in_flight_at_end: c.abandoned,
        lanes: c.lanes,
        failures: c.failures,
    })
}

/// What the shards share: the plan made ready to send (templates, TLS,
/// flow weights, schedule or users), and when to start. Also how many
/// shards, and (closed model) how many users this process runs.
fn prepare(
    plan: &Plan,
    bases: &[BaseUrl],
    stop: &StopFlag,
) -> Result<(Arc<Job>, usize, u64), RunError> {
    let mut templates = bases
        .iter()
        .flat_map(|base| plan.requests.iter().map(|r| Template::new(r, base)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(RunError::BadRequest)?;
    if !plan.load.keep_alive {
        templates.iter_mut().for_each(Template::close_connection);
    }
    let tls = bases
        .iter()
        .map(|base| {
            base.is_https()
                .then(|| tls::client(&plan.tls, &base.host, plan.http))
                .transpose()
                .map_err(RunError::BadRequest)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let cum_weights = plan
        .flows
        .iter()
        .scan(0u32, |acc, r| {
            *acc = acc.saturating_add(r.weight);
            Some(*acc)
        })
        .collect();
    let (work, shards, users) = match &plan.load.model {
        LoadModel::Open { profile, arrivals } => {
            let schedule = Schedule::new(profile, *arrivals, plan.load.max_requests, plan.seed);
            let work = Work::Open {
                schedule,
                warm: plan.load.warm_connections,
            };
            (work, plan.load.threads.max(1), 0)
        }
        LoadModel::Closed {
            concurrency,
            think_time,
            ..
        } => {
            let users = plan.load.segment.share(u64::from(*concurrency));
            let shards = plan.load.threads.clamp(1, users.max(1) as usize);
            let work = Work::Closed {
                think_time: *think_time,
            };
            (work, shards, users)
        }
    };
    check_memory(templates.len(), shards, memory_budget())?;
    check_descriptors(plan, users, bases.len() as u64, open_file_limit())?;
    let addrs = bases
        .iter()
        .map(|base| resolve(base, plan.timeouts.connect))
        .collect::<Result<Vec<_>, _>>()?;
    let duration = match &work {
        Work::Open { schedule, .. } => schedule.window(),
        Work::Closed { .. } => plan.load.model.duration(),
    };
    let job = Job {
        addrs,
        names: plan.requests.len(),
        templates,
        flows: plan.flows.clone(),
        cum_weights,
        data: plan.data.clone(),
        http: plan.http,
        streams: plan.load.streams.max(1),
        max_connections: plan.load.max_connections,
        timeouts: plan.timeouts,
        work,
        start: Instant::now() + head_start(plan)?,
        duration,
        seed: plan.seed,
        stop: stop.clone(),
        segment: plan.load.segment,
        keep_alive: plan.load.keep_alive,
        tls,
    };
    Ok((Arc::new(job), shards, users))
}

/// Time before the first arrival: enough for every shard to be up (and,
/// when warming, connected); with --start-at, until the common moment.
fn head_start(plan: &Plan) -> Result<Duration, RunError> {
    let mut head = Duration::from_millis(20);
    if plan.load.warm_connections && matches!(plan.load.model, LoadModel::Open { .. }) {
        head += (Duration::from_micros(100) * plan.load.max_connections as u32)
            .min(Duration::from_secs(2));
    }
    if let Some(at) = plan.load.start_at {
        head = head.max(crate::scenario::start_delay(at).map_err(RunError::BadRequest)?);
    }
    Ok(head)
}

/// What the shards reported, merged.
struct Collected {
    agg: Aggregator,
    opened: u64,
    abandoned: u64,
    idle_users: u64,
    lanes: u64,
    failures: Vec<String>,
    stopped_at: Option<Instant>,
}

/// Refuses a run whose histograms could outgrow `budget` bytes. Each
/// request name keeps a second's stats (four histograms) in every shard,
/// one per shard on its way back for reuse, about four in the aggregator
/// (the second being merged, the pool, the run's totals) and one in the
/// summary a run rewrites each second: at most 2 × shards + 5 sets, each
/// histogram at most
/// [`HISTOGRAM_MAX_BYTES`](crate::metrics::HISTOGRAM_MAX_BYTES) — whatever
/// the rate or the run's length.
fn check_memory(names: usize, shards: usize, budget: Option<u64>) -> Result<(), RunError> {
    let need = names as u64 * (2 * shards as u64 + 5) * 4 * crate::metrics::HISTOGRAM_MAX_BYTES;
    match budget {
        Some(budget) if need > budget => Err(RunError::BadRequest(format!(
            "{names} request names over {shards} shard threads may need {} MiB for their \
             histograms, more than the {} MiB allowed (half this machine's memory): use fewer \
             request names or --threads",
            need >> 20,
            budget >> 20
        ))),
        _ => Ok(()),
    }
}

/// Refuses a run whose connections cannot all have a file descriptor: a
/// closed model's users each hold one (HTTP/1.1), as do an open model's
/// `connections` when given (all opened before the first arrival); the
/// embedded target, in this process, holds the other end of each. Short of
/// them, connects failed with EMFILE and the results could not be written.
fn check_descriptors(
    plan: &Plan,
    users: u64,
    arms: u64,
    limit: Option<u64>,
) -> Result<(), RunError> {
    // A lane holds a connection to each arm's target.
    let connections = arms
        * match plan.load.model {
            LoadModel::Closed { .. } => users,
            LoadModel::Open { .. } if plan.load.warm_connections => {
                plan.load.max_connections as u64
            }
            LoadModel::Open { .. } => 0,
        };
    if plan.http == crate::scenario::HttpVersion::Http2 {
        // Streams share connections: no fixed count to check.
        return Ok(());
    }
    let embedded = matches!(plan.target, crate::scenario::TargetSpec::Embedded(_));
    let need = connections * if embedded { 2 } else { 1 } + DESCRIPTOR_RESERVE;
    match limit {
        Some(limit) if need > limit => Err(RunError::BadRequest(format!(
            "{connections} connections need {need} file descriptors{}, more than this process \
             may open ({limit}, the hard limit of `ulimit -n`): raise the limit, use fewer \
             connections, or split the load into segments",
            if embedded {
                " (the embedded target holds the other ends)"
            } else {
                ""
            }
        ))),
        _ => Ok(()),
    }
}

/// Descriptors kept for everything but connections: results files, the
/// runtime, the embedded target's listener.
const DESCRIPTOR_RESERVE: u64 = 64;

/// The open-file limit (raised to the hard limit at start, see main).
fn open_file_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: reads this process's limit into plain data.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0).then_some(lim.rlim_cur)
}

/// Half of the memory this process may use: the smaller of the machine's
/// (`MemTotal`) and its cgroup's limit (`memory.max`); `None` where
/// neither can be read.
fn memory_budget() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    });
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let limit = match (total, cgroup) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    Some(limit / 2)
}

impl Collected {
    fn new(shards: usize, names: usize) -> Collected {
        Collected {
            agg: Aggregator::new(shards, names),
            opened: 0,
            abandoned: 0,
            idle_users: 0,
            lanes: 0,
            failures: Vec::new(),
            stopped_at: None,
        }
    }

    /// Merges the shards' seconds as they arrive (each whole second to the
    /// observer, its histograms handed back emptied) until every shard is
    /// done, or until `hand_over` says to leave the rest to another thread.
    fn receive(
        &mut self,
        rx: &mpsc::Receiver<Msg>,
        give_back: &[mpsc::Sender<Vec<Stats>>],
        stop: &StopFlag,
        observer: &mut dyn Observer,
        hand_over: impl Fn() -> bool,
    ) {
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Msg::Interval(shard, mut snap)) => {
                    for iv in self.agg.add(&snap) {
                        self.lanes = iv.load.lanes.max(self.lanes);
                        observer.interval(&iv);
                        self.agg.recycle(iv);
                    }
                    // No allocation per second in a long run.
                    snap.per_request.iter_mut().for_each(Stats::reset);
                    let _ = give_back[shard].send(snap.per_request);
                }
                Ok(Msg::Done {
                    connections_opened,
                    in_flight,
                    idle_users,
                }) => {
                    self.opened += connections_opened;
                    self.abandoned += in_flight;
                    self.idle_users += idle_users;
                }
                Ok(Msg::Failed(shard, why)) => self.failures.push(format!("shard {shard}: {why}")),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
            if self.stopped_at.is_none() && stop.is_set() {
                self.stopped_at = Some(Instant::now());
            }
            if hand_over() {
                return;
            }
        }
    }

    /// Completes the seconds some shard never reported (an interrupted run).
    fn finish(&mut self, observer: &mut dyn Observer) {
        for iv in self.agg.finish() {
            self.lanes = iv.load.lanes.max(self.lanes);
            observer.interval(&iv);
        }
    }
}

/// Puts the calling thread below every normal thread (SCHED_IDLE): it runs
/// when a CPU has nothing else to do, and a shard that wakes takes the CPU
/// from it at once. Measured at 2,000/s against nginx (10 s runs, four
/// each): sends more than 0.4 ms late at a second's start in 0 seconds,
/// against 1–3 at nice 19 and 2–8 at the same priority. Where the policy
/// cannot be set, the thread keeps its priority.
fn below_the_shards() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sets this thread's own policy (0: the calling thread) from
    // plain data; any error leaves it unchanged.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
}

/// Waits for the shard threads; one that panicked is a failure in words.
fn joined(handles: Vec<std::thread::JoinHandle<()>>) -> Vec<String> {
    handles
        .into_iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let panic = h.join().err()?;
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            Some(format!("shard {i} panicked: {why}"))
        })
        .collect()
}

/// Shard `index`'s part of `n` split over `of` shards, as even as possible.
fn share(n: u64, index: usize, of: usize) -> u64 {
    crate::scenario::even_share(n, index as u64, of as u64)
}

#[cfg(test)]
mod tests {
    use super::{check_memory, joined, share};

    #[test]
    fn a_shard_that_panics_is_named_not_lost() {
        let ok = std::thread::spawn(|| {});
        let bad = std::thread::Builder::new()
            .name("headroom-shard-1".into())
            .spawn(|| panic!("boom"))
            .unwrap();
        assert_eq!(joined(vec![ok, bad]), ["shard 1 panicked: boom"]);
    }

    #[test]
    fn a_run_whose_histograms_could_outgrow_memory_is_refused_with_the_numbers() {
        // The 4,000 request names aborted a 24 GiB machine's run.
        let half = 12 << 30;
        let e = check_memory(4000, 2, Some(half)).unwrap_err().to_string();
        assert!(
            e.starts_with("4000 request names over 2 shard threads may need 25875 MiB")
                && e.contains("12288 MiB allowed"),
            "{e}"
        );
        // 200 names (the soak benchmark's) need 1,294 MiB at the worst.
        assert!(check_memory(200, 2, Some(1300 << 20)).is_ok());
        assert!(check_memory(4000, 2, None).is_ok());
    }

    #[test]
    fn shares_add_up() {
        for n in [0, 1, 7, 100] {
            for of in 1..5 {
                assert_eq!((0..of).map(|i| share(n, i, of)).sum::<u64>(), n);
            }
        }
    }
}
