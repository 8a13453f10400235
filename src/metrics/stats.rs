//! The per-request-name counters and histograms of one interval, the
//! shard-local recorder that fills them, and the aggregator that merges
//! shards' snapshots into whole intervals.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::{micros, new_histogram, record};

/// Why a request failed. Errors are data: counted, never fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    ConnectRefused,
    ConnectTimeout,
    /// Any other failure to open a connection.
    Connect,
    RequestTimeout,
    /// The connection was reset or closed before the response's head.
    Reset,
    /// Part of the response's head arrived, then the connection ended
    /// (closed or reset) before the rest of it.
    TruncatedHead,
    /// The response's head arrived, then the connection ended before the
    /// body did (fewer bytes than its Content-Length, a chunked body cut).
    TruncatedBody,
    /// What came back was not HTTP: garbage bytes, a malformed status line
    /// or header, a head larger than the client accepts (too many headers).
    Protocol,
    /// `--http 2` to a server that answered in something other than HTTP/2
    /// (an HTTP/1.1-only server's reply to the h2c preface).
    H2NotSupported,
    /// A response with a 4xx or 5xx status.
    Http(u16),
    /// The TLS handshake failed (certificate not trusted, name mismatch,
    /// no client certificate …).
    Tls,
    /// The arrival waited longer than the request timeout for a free
    /// connection (all `connections` busy) and was never sent.
    DroppedNoConnection,
    /// This machine ran out of something a connection needs: file
    /// descriptors (EMFILE, ENFILE), local ports (EADDRNOTAVAIL) or
    /// socket buffers (ENOBUFS). The generator's limit, not the target's.
    LocalResources,
    /// A flow step's expectation (status, header, body, JSON) did not hold.
    Assert,
    /// A flow step's extraction found no value.
    Extract,
    /// A rendered template was not a valid path or header value.
    Render,
    Other,
}

impl ErrorKind {
    pub fn label(&self) -> String {
        match self {
            ErrorKind::ConnectRefused => "connect_refused".into(),
            ErrorKind::ConnectTimeout => "connect_timeout".into(),
            ErrorKind::Connect => "connect_error".into(),
            ErrorKind::RequestTimeout => "request_timeout".into(),
            ErrorKind::Reset => "reset".into(),
            ErrorKind::TruncatedHead => "truncated_head".into(),
            ErrorKind::TruncatedBody => "truncated_body".into(),
            ErrorKind::Protocol => "protocol_error".into(),
            ErrorKind::H2NotSupported => "h2_not_supported".into(),
            ErrorKind::Http(s) => format!("http_{s}"),
            ErrorKind::DroppedNoConnection => "dropped_no_connection".into(),
            ErrorKind::LocalResources => "local_resources".into(),
            ErrorKind::Tls => "tls_error".into(),
            ErrorKind::Assert => "assert_failed".into(),
            ErrorKind::Extract => "extract_failed".into(),
            ErrorKind::Render => "render_error".into(),
            ErrorKind::Other => "other".into(),
        }
    }

    /// The inverse of [`label`](Self::label).
    pub fn from_label(label: &str) -> ErrorKind {
        match label {
            "connect_refused" => ErrorKind::ConnectRefused,
            "connect_timeout" => ErrorKind::ConnectTimeout,
            "connect_error" => ErrorKind::Connect,
            "request_timeout" => ErrorKind::RequestTimeout,
            "reset" => ErrorKind::Reset,
            "truncated_head" => ErrorKind::TruncatedHead,
            "truncated_body" => ErrorKind::TruncatedBody,
            "protocol_error" => ErrorKind::Protocol,
            "h2_not_supported" => ErrorKind::H2NotSupported,
            "dropped_no_connection" => ErrorKind::DroppedNoConnection,
            "local_resources" => ErrorKind::LocalResources,
            "tls_error" => ErrorKind::Tls,
            "assert_failed" => ErrorKind::Assert,
            "extract_failed" => ErrorKind::Extract,
            "render_error" => ErrorKind::Render,
            l => l
                .strip_prefix("http_")
                .and_then(|s| s.parse().ok())
                .map_or(ErrorKind::Other, ErrorKind::Http),
        }
    }

    pub fn is_connect(&self) -> bool {
        matches!(
            self,
            ErrorKind::ConnectRefused | ErrorKind::ConnectTimeout | ErrorKind::Connect
        )
    }

    /// Failures that happened on this side: the request never reached the
    /// target (no free connection in time, no local resources).
    pub fn is_generator_side(&self) -> bool {
        matches!(
            self,
            ErrorKind::DroppedNoConnection | ErrorKind::LocalResources
        )
    }
}

/// What a new histogram covers without growing (2,048 µs at 3 digits).
const SMALL_US: u64 = 2048;

/// What happened to one request name in one interval (or a whole run).
#[derive(Debug, Clone)]
pub struct Stats {
    /// From the intended send time to the end of the response (CO-free).
    /// Successful responses only; failures are counted in `errors`.
    pub latency: Histogram<u64>,
    /// From the actual send to the end of the response.
    pub service: Histogram<u64>,
    /// Actual send time minus intended send time, for every request sent.
    pub lag: Histogram<u64>,
    /// Connection setup (TCP connect, and the TLS handshake on https://),
    /// once per connection opened, apart from request latency.
    pub connect: Histogram<u64>,
    pub sent: u64,
    pub ok: u64,
    pub errors: BTreeMap<ErrorKind, u64>,
    /// The first message of each kind of error that came with one.
    pub samples: BTreeMap<ErrorKind, String>,
    /// Response body bytes read.
    pub bytes: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            latency: new_histogram(),
            service: new_histogram(),
            lag: new_histogram(),
            connect: new_histogram(),
            sent: 0,
            ok: 0,
            errors: BTreeMap::new(),
            samples: BTreeMap::new(),
            bytes: 0,
        }
    }
}

impl Stats {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Requests the target answered: OK, with an error status, or with a
    /// response a flow's expectation rejected — not timeouts, resets or
    /// connections that never opened.
    pub fn answered(&self) -> u64 {
        let answers: u64 = self
            .errors
            .iter()
            .filter(|(k, _)| {
                matches!(
                    k,
                    ErrorKind::Http(_) | ErrorKind::Assert | ErrorKind::Extract
                )
            })
            .map(|(_, n)| n)
            .sum();
        self.ok + answers
    }

    /// Attempts the target turned away before a request could be sent:
    /// connections refused, timed out or failed (TLS included). They left
    /// on time; for the schedule they count as sent.
    pub fn connect_failures(&self) -> u64 {
        self.errors
            .iter()
            .filter(|(k, _)| k.is_connect() || **k == ErrorKind::Tls)
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests with an outcome: answered OK or failed in any way.
    pub fn completed(&self) -> u64 {
        self.ok + self.error_count()
    }

    /// Empties it for reuse, keeping its allocations.
    pub fn reset(&mut self) {
        for h in [
            &mut self.latency,
            &mut self.service,
            &mut self.lag,
            &mut self.connect,
        ] {
            // A histogram that grew for an outlier far beyond what this
            // second needed starts small again: reused stats would
            // otherwise all grow to the run's worst outliers (a one-hour
            // soak with 200 request names reached 651 MiB on a busy
            // machine).
            if h.high() > 4 * h.max().max(SMALL_US) {
                *h = new_histogram();
            } else if !h.is_empty() {
                // Most request names see nothing in most seconds: clearing
                // an empty histogram would still write every counter.
                h.reset();
            }
        }
        self.sent = 0;
        self.ok = 0;
        self.errors.clear();
        self.samples.clear();
        self.bytes = 0;
    }

    /// Adds `other` into `self` exactly (histograms merge without loss).
    pub fn merge(&mut self, other: &Stats) {
        // Same bounds on both sides: `add` cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        let _ = self.lag.add(&other.lag);
        let _ = self.connect.add(&other.connect);
        self.sent += other.sent;
        self.ok += other.ok;
        self.bytes += other.bytes;
        for (k, v) in &other.errors {
            *self.errors.entry(*k).or_default() += v;
        }
        for (k, v) in &other.samples {
            self.samples.entry(*k).or_insert_with(|| v.clone());
        }
    }
}

/// One shard's measurements for interval `index` (second `index` of the run).
#[derive(Debug)]
pub struct IntervalSnapshot {
    pub index: u64,
    /// Arrivals whose intended time fell in this interval.
    pub scheduled: u64,
    /// Of them, those each arm was sent (a paired run's two versions;
    /// empty with one target).
    pub scheduled_arms: Vec<u64>,
    pub load: LoadState,
    pub per_request: Vec<Stats>,
}

/// What the generator's connections were doing in one interval: the
/// evidence that tells a saturated target from a generator short of
/// connections or CPU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadState {
    /// Arrivals that, when due, found every connection (every stream, on
    /// HTTP/2) busy at the connection limit and had to wait for one.
    pub no_free_connection: u64,
    /// Requests sent and not yet answered at the end of the interval.
    pub in_flight: u64,
    /// Arrivals due and waiting for a connection at the end of the interval.
    pub queued: u64,
    /// Requests the connections could carry at once (connections × streams).
    pub lanes: u64,
}

impl LoadState {
    /// Adds another shard's state (counts and levels both add up).
    pub fn add(&mut self, o: &LoadState) {
        self.no_free_connection += o.no_free_connection;
        self.in_flight += o.in_flight;
        self.queued += o.queued;
        self.lanes += o.lanes;
    }
}

/// Shard-local recorder: plain fields, no locks, no atomics.
#[derive(Debug)]
pub struct Recorder {
    current: Vec<Stats>,
    scheduled: u64,
    scheduled_arms: Vec<u64>,
    no_free_connection: u64,
    index: u64,
}

impl Recorder {
    /// Stats for `request_names` names in each of `arms` arms (one target,
    /// or the two versions of a paired run), by index `arm · names + name`.
    pub fn new(request_names: usize, arms: usize) -> Recorder {
        Recorder {
            current: (0..request_names * arms.max(1))
                .map(|_| Stats::default())
                .collect(),
            scheduled: 0,
            scheduled_arms: if arms > 1 { vec![0; arms] } else { Vec::new() },
            no_free_connection: 0,
            index: 0,
        }
    }

    #[inline]
    pub fn scheduled(&mut self, n: u64) {
        self.scheduled += n;
    }

    /// One of the arrivals counted by [`scheduled`](Self::scheduled) goes
    /// to arm `arm`.
    #[inline]
    pub fn scheduled_arm(&mut self, arm: usize) {
        if let Some(n) = self.scheduled_arms.get_mut(arm) {
            *n += 1;
        }
    }

    /// `n` arrivals found every connection busy at the limit.
    #[inline]
    pub fn no_free_connection(&mut self, n: u64) {
        self.no_free_connection += n;
    }

    /// A request left at `lag` after its intended time.
    #[inline]
    pub fn sent(&mut self, req: usize, lag: Duration) {
        let s = &mut self.current[req];
        s.sent += 1;
        record(&mut s.lag, micros(lag));
    }

    #[inline]
    pub fn ok(&mut self, req: usize, latency: Duration, service: Duration, bytes: u64) {
        let s = &mut self.current[req];
        s.ok += 1;
        s.bytes += bytes;
        record(&mut s.latency, micros(latency));
        record(&mut s.service, micros(service));
    }

    /// A connection opened for request `req` took `setup`.
    #[inline]
    pub fn connected(&mut self, req: usize, setup: Duration) {
        record(&mut self.current[req].connect, micros(setup));
    }

    #[inline]
    pub fn error(&mut self, req: usize, kind: ErrorKind) {
        *self.current[req].errors.entry(kind).or_default() += 1;
    }

    /// An error with what the client said about it (formatted only for the
    /// first of its kind in a second).
    pub fn error_said(&mut self, req: usize, kind: ErrorKind, said: impl FnOnce() -> String) {
        let s = &mut self.current[req];
        *s.errors.entry(kind).or_default() += 1;
        s.samples.entry(kind).or_insert_with(said);
    }

    /// Ends the current interval and hands out what it measured.
    pub fn take(&mut self) -> IntervalSnapshot {
        let fresh = (0..self.current.len()).map(|_| Stats::default()).collect();
        self.take_into(fresh)
    }

    /// Like [`take`](Self::take), continuing into `fresh` (emptied stats
    /// handed back by the aggregator), so that a long run allocates no
    /// histograms after its first seconds.
    pub fn take_into(&mut self, mut fresh: Vec<Stats>) -> IntervalSnapshot {
        fresh.resize_with(self.current.len(), Stats::default);
        let snap = IntervalSnapshot {
            index: self.index,
            scheduled: std::mem::take(&mut self.scheduled),
            scheduled_arms: self.scheduled_arms.iter_mut().map(std::mem::take).collect(),
            load: LoadState {
                no_free_connection: std::mem::take(&mut self.no_free_connection),
                ..LoadState::default()
            },
            per_request: std::mem::replace(&mut self.current, fresh),
        };
        self.index += 1;
        snap
    }
}

/// One whole second of the run, all shards merged.
#[derive(Debug)]
pub struct Interval {
    pub index: u64,
    pub scheduled: u64,
    /// Arrivals scheduled for each arm (a paired run; else empty).
    pub scheduled_arms: Vec<u64>,
    /// The connections' state, all shards together.
    pub load: LoadState,
    pub per_request: Vec<Stats>,
    /// All request names together.
    pub all: Stats,
}

/// One interval some shard has not reported yet.
#[derive(Debug, Default)]
struct Pending {
    shards: usize,
    scheduled: u64,
    scheduled_arms: Vec<u64>,
    load: LoadState,
    stats: Vec<Stats>,
}

/// Merges shards' snapshots into whole intervals, in order, and keeps the
/// run's totals. Holds only intervals some shard has not reported yet.
#[derive(Debug)]
pub struct Aggregator {
    shards: usize,
    names: usize,
    pending: BTreeMap<u64, Pending>,
    next: u64,
    /// Whole-run totals per request name.
    pub totals: Vec<Stats>,
    pub scheduled: u64,
    /// Arrivals scheduled for each arm, whole run (a paired run).
    pub scheduled_arms: Vec<u64>,
    /// Arrivals that found no free connection, whole run.
    pub no_free_connection: u64,
    /// Emptied stats from finished intervals, reused for new ones.
    pool: Vec<Stats>,
}

impl Aggregator {
    pub fn new(shards: usize, names: usize) -> Aggregator {
        Aggregator {
            shards,
            names,
            pending: BTreeMap::new(),
            next: 0,
            totals: (0..names).map(|_| Stats::default()).collect(),
            scheduled: 0,
            scheduled_arms: Vec::new(),
            no_free_connection: 0,
            pool: Vec::new(),
        }
    }

    fn fresh(&mut self) -> Stats {
        self.pool.pop().unwrap_or_default()
    }

    /// Takes a finished interval back for reuse (after the observer).
    pub fn recycle(&mut self, iv: Interval) {
        for mut s in iv.per_request.into_iter().chain(std::iter::once(iv.all)) {
            s.reset();
            self.pool.push(s);
        }
    }

    /// Adds a snapshot; returns the intervals that are now complete.
    pub fn add(&mut self, snap: &IntervalSnapshot) -> Vec<Interval> {
        if !self.pending.contains_key(&snap.index) {
            let stats = (0..self.names).map(|_| self.fresh()).collect();
            self.pending.insert(
                snap.index,
                Pending {
                    stats,
                    ..Pending::default()
                },
            );
        }
        if let Some(entry) = self.pending.get_mut(&snap.index) {
            entry.shards += 1;
            entry.scheduled += snap.scheduled;
            if entry.scheduled_arms.len() < snap.scheduled_arms.len() {
                entry.scheduled_arms.resize(snap.scheduled_arms.len(), 0);
            }
            for (a, n) in entry.scheduled_arms.iter_mut().zip(&snap.scheduled_arms) {
                *a += n;
            }
            entry.load.add(&snap.load);
            for (acc, s) in entry.stats.iter_mut().zip(&snap.per_request) {
                acc.merge(s);
            }
        }
        let mut done = Vec::new();
        while self
            .pending
            .get(&self.next)
            .is_some_and(|e| e.shards >= self.shards)
        {
            done.push(self.complete(self.next));
        }
        done
    }

    /// Completes every interval still pending (at the end of a run).
    pub fn finish(&mut self) -> Vec<Interval> {
        let mut done = Vec::new();
        while let Some((&index, _)) = self.pending.first_key_value() {
            self.next = index;
            done.push(self.complete(index));
        }
        done
    }

    fn complete(&mut self, index: u64) -> Interval {
        let p = self.pending.remove(&index).unwrap_or_default();
        let mut all = self.fresh();
        for (t, s) in self.totals.iter_mut().zip(&p.stats) {
            t.merge(s);
            all.merge(s);
        }
        self.scheduled += p.scheduled;
        if self.scheduled_arms.len() < p.scheduled_arms.len() {
            self.scheduled_arms.resize(p.scheduled_arms.len(), 0);
        }
        for (a, n) in self.scheduled_arms.iter_mut().zip(&p.scheduled_arms) {
            *a += n;
        }
        self.no_free_connection += p.load.no_free_connection;
        self.next = index + 1;
        Interval {
            index,
            scheduled: p.scheduled,
            scheduled_arms: p.scheduled_arms,
            load: p.load,
            per_request: p.stats,
            all,
        }
    }

    /// All request names together, whole run.
    pub fn total(&self) -> Stats {
        let mut all = Stats::default();
        for t in &self.totals {
            all.merge(t);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reused_stats_shrink_back_after_an_outlier() {
        let mut s = Stats::default();
        s.latency.record(1_000_000).unwrap(); // one 1-second outlier
        let grown = s.latency.high();
        // The second after it needed little: the histogram starts small.
        s.reset();
        s.latency.record(500).unwrap();
        s.reset();
        assert!(
            s.latency.high() < 4 * 2048,
            "{} (was {grown})",
            s.latency.high()
        );
        // A second that needed the size keeps it (no churn).
        s.latency.record(1_000_000).unwrap();
        s.reset();
        s.latency.record(900_000).unwrap();
        let kept = s.latency.high();
        s.reset();
        assert_eq!(s.latency.high(), kept);
        assert!(s.latency.is_empty());
    }

    #[test]
    fn aggregator_merges_shards_exactly_and_in_order() {
        let mut shards: Vec<Recorder> = (0..2).map(|_| Recorder::new(1, 1)).collect();
        let mut agg = Aggregator::new(2, 1);
        for (i, r) in shards.iter_mut().enumerate() {
            r.scheduled(10);
            for v in 1..=10u64 {
                r.sent(0, Duration::from_micros(5));
                r.ok(
                    0,
                    Duration::from_millis(v * (i as u64 + 1)),
                    Duration::from_millis(v),
                    3,
                );
            }
            r.error(0, ErrorKind::Http(503));
        }
        let s0 = shards[0].take();
        let s1 = shards[1].take();
        let s1b = shards[1].take();
        assert!(
            agg.add(&s1b).is_empty(),
            "interval 1 cannot complete before 0"
        );
        assert!(agg.add(&s0).is_empty());
        let done = agg.add(&s1);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].index, 0);
        assert_eq!(done[0].all.ok, 20);
        assert_eq!(done[0].all.errors[&ErrorKind::Http(503)], 2);
        assert_eq!(done[0].scheduled, 20);
        assert_eq!(done[0].all.latency.len(), 20);
        assert_eq!(
            done[0].all.latency.max(),
            done[0].all.latency.highest_equivalent(20_000)
        );
        let rest = agg.finish();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].index, 1);
        assert_eq!(agg.total().sent, 20);
    }
}
