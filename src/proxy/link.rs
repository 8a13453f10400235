//! One proxied connection: two pumps, client → server (`upstream`) and
//! server → client (`downstream`), each applying the toxics of its
//! direction to the chunks it reads.
//!
//! A chunk is stamped when it is read and written once it is due (its
//! arrival plus the latency toxics' delay), in order: a latency toxic
//! delays data without limiting its rate, as Toxiproxy's does. Toxics can
//! be added and removed while the connection is open; whether one applies
//! to this connection (its toxicity) is decided once, when the connection
//! first sees it.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};

use super::toxic::{Effect, Stream, Toxic};
use super::ProxyStats;

/// Chunks read ahead of the one being delayed, per direction.
const QUEUE: usize = 64;
const CHUNK: usize = 32 * 1024;

/// How a connection ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Open,
    /// Closed (FIN) on both sides: `timeout`, `limit_data`, a write error.
    Closed,
    /// Reset (RST) on both sides: `reset_peer`, or one side reset.
    Reset,
}

pub(super) struct Watches {
    pub toxics: watch::Receiver<Arc<Vec<Toxic>>>,
    /// Set when the proxy is disabled or deleted: every connection drops.
    pub closed: watch::Receiver<bool>,
    pub stats: Arc<ProxyStats>,
}

/// Serves one accepted client until both directions end.
pub(super) async fn serve(client: TcpStream, upstream: &str, w: Watches) {
    let server = match TcpStream::connect(upstream).await {
        Ok(s) => s,
        Err(_) => {
            w.stats.upstream_failures.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let (end, _) = watch::channel(End::Open);
    let up = Pump::new(Stream::Upstream, &w, &end).run(&mut cr, &mut sw);
    let down = Pump::new(Stream::Downstream, &w, &end).run(&mut sr, &mut cw);
    tokio::join!(up, down);
    if *end.borrow() == End::Reset {
        w.stats.resets.fetch_add(1, Ordering::Relaxed);
        // Reunited, not dropped as halves: a dropped write half sends FIN.
        // SO_LINGER 0: the close sends RST instead.
        for (r, w) in [(cr, cw), (sr, sw)] {
            if let Ok(s) = r.reunite(w) {
                let _ = s.set_zero_linger();
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    applies: bool,
    armed: Option<Instant>,
}

struct Pump<'a> {
    stream: Stream,
    toxics: watch::Receiver<Arc<Vec<Toxic>>>,
    closed: watch::Receiver<bool>,
    end: &'a watch::Sender<End>,
    stats: &'a ProxyStats,
    rng: SmallRng,
    /// Per toxic name: whether it applies here, and when a `timeout` or
    /// `reset_peer` started counting down.
    seen: HashMap<String, Seen>,
    /// The toxics of this direction that apply to this connection.
    active: Vec<Toxic>,
    /// When a `reset_peer` that took data and was removed before its
    /// countdown ended resets the connection: as in Toxiproxy, whose
    /// reset waits out its timeout once data came, removed or not.
    doomed: Option<Instant>,
    passed: u64,
}

impl<'a> Pump<'a> {
    fn new(stream: Stream, w: &'a Watches, end: &'a watch::Sender<End>) -> Pump<'a> {
        Pump {
            stream,
            toxics: w.toxics.clone(),
            closed: w.closed.clone(),
            end,
            stats: &w.stats,
            rng: SmallRng::from_rng(&mut rand::rng()),
            seen: HashMap::new(),
            active: Vec::new(),
            doomed: None,
            passed: 0,
        }
    }

    /// Takes the current toxics: a new one is rolled for (toxicity); a
    /// removed one is forgotten, so adding it again rolls anew. A `timeout`
    /// counts down from when it applies; removing one that applied closes
    /// the connection (its data was lost), as Toxiproxy does.
    fn refresh(&mut self) -> Result<(), End> {
        let now = Instant::now();
        let all = self.toxics.borrow_and_update().clone();
        let mine: Vec<&Toxic> = all.iter().filter(|t| t.stream == self.stream).collect();
        let lost_timeout = self.active.iter().any(|t| {
            matches!(t.effect, Effect::Timeout { .. }) && !mine.iter().any(|m| m.name == t.name)
        });
        for t in &self.active {
            if let Effect::ResetPeer { timeout } = t.effect {
                let armed = self.seen.get(&t.name).and_then(|s| s.armed);
                if let Some(at) = armed.filter(|_| !mine.iter().any(|m| m.name == t.name)) {
                    let at = at + timeout;
                    self.doomed = Some(self.doomed.map_or(at, |d| d.min(at)));
                }
            }
        }
        self.seen
            .retain(|name, _| mine.iter().any(|t| &t.name == name));
        self.active.clear();
        for t in mine {
            let rng = &mut self.rng;
            let seen = *self.seen.entry(t.name.clone()).or_insert_with(|| Seen {
                applies: rng.random::<f64>() < t.toxicity,
                armed: matches!(t.effect, Effect::Timeout { .. }).then_some(now),
            });
            if seen.applies {
                self.active.push((*t).clone());
            }
        }
        if lost_timeout {
            return Err(End::Closed);
        }
        Ok(())
    }

    /// Data arrived (or the end of it): a `timeout` starts counting anew,
    /// a `reset_peer` starts counting.
    fn arm(&mut self) {
        let now = Instant::now();
        for t in &self.active {
            if let Some(seen) = self.seen.get_mut(&t.name) {
                match t.effect {
                    Effect::Timeout { .. } => seen.armed = Some(now),
                    Effect::ResetPeer { .. } => {
                        seen.armed.get_or_insert(now);
                    }
                    _ => {}
                }
            }
        }
    }

    /// The earliest instant a `timeout` or `reset_peer` ends the connection.
    fn deadline(&self) -> Option<(Instant, End)> {
        let doomed = self.doomed.map(|at| (at, End::Reset));
        self.active
            .iter()
            .filter_map(|t| {
                let armed = self.seen.get(&t.name)?.armed?;
                match t.effect {
                    Effect::ResetPeer { timeout } => Some((armed + timeout, End::Reset)),
                    Effect::Timeout { timeout } if !timeout.is_zero() => {
                        Some((armed + timeout, End::Closed))
                    }
                    _ => None,
                }
            })
            .chain(doomed)
            .min_by_key(|(at, _)| *at)
    }

    /// While a `timeout` or `reset_peer` applies, data is dropped.
    fn black_hole(&self) -> bool {
        self.doomed.is_some()
            || self
                .active
                .iter()
                .any(|t| matches!(t.effect, Effect::Timeout { .. } | Effect::ResetPeer { .. }))
    }

    fn delay(&mut self) -> Duration {
        let mut total = Duration::ZERO;
        for t in &self.active {
            if let Effect::Latency { latency, jitter } = t.effect {
                let j = jitter.as_secs_f64();
                let d = latency.as_secs_f64()
                    + if j > 0.0 {
                        self.rng.random_range(-j..j)
                    } else {
                        0.0
                    };
                total += Duration::from_secs_f64(d.max(0.0));
            }
        }
        total
    }

    fn finish(&self, how: End) {
        self.end.send_if_modified(|e| {
            let first = *e == End::Open;
            if first {
                *e = how;
            }
            first
        });
    }

    async fn run(mut self, rd: &mut OwnedReadHalf, wr: &mut OwnedWriteHalf) {
        let mut ended = self.end.subscribe();
        let mut closed = self.closed.clone();
        let mut queue: VecDeque<(Instant, Bytes)> = VecDeque::new();
        let mut buf = vec![0u8; CHUNK];
        let mut eof = false;
        if let Err(how) = self.refresh() {
            self.finish(how);
            return;
        }
        loop {
            if *ended.borrow_and_update() != End::Open || *closed.borrow() {
                return;
            }
            // At the end of the data, unless a reset or timeout is counting
            // down: then that decides how the connection ends.
            if eof && queue.is_empty() && self.deadline().is_none() {
                let slow_close = self.active.iter().find_map(|t| match t.effect {
                    Effect::SlowClose { delay } => Some(delay),
                    _ => None,
                });
                if let Some(d) = slow_close {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = ended.changed() => return,
                        _ = closed.changed() => return,
                    }
                }
                let _ = wr.shutdown().await;
                return;
            }
            // A chunk that is due goes at once: through the timer wheel it
            // would wait for its next millisecond tick, on every hop.
            if queue.front().is_some_and(|c| c.0 <= Instant::now()) {
                let Some((_, chunk)) = queue.pop_front() else {
                    continue;
                };
                let delivered = tokio::select! {
                    r = self.deliver(wr, chunk) => r,
                    _ = ended.changed() => return,
                    _ = closed.changed() => return,
                };
                match delivered {
                    Ok(true) => continue,
                    Ok(false) => self.finish(End::Closed),
                    Err(_) => self.finish(End::Reset),
                }
                return;
            }
            let due = queue.front().map(|c| c.0);
            let deadline = self.deadline();
            tokio::select! {
                biased;
                _ = ended.changed() => return,
                _ = closed.changed() => return,
                _ = self.toxics.changed() => {
                    if let Err(how) = self.refresh() {
                        self.finish(how);
                        return;
                    }
                }
                _ = sleep_until(deadline.map_or_else(Instant::now, |d| d.0)), if deadline.is_some() => {
                    self.finish(deadline.map_or(End::Closed, |d| d.1));
                    return;
                }
                _ = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {}
                r = read_chunk(rd, &mut buf), if !eof && queue.len() < QUEUE => match r {
                    Ok(None) => {
                        eof = true;
                        self.arm();
                    }
                    Ok(Some(chunk)) => {
                        self.arm();
                        if !self.black_hole() {
                            let due = Instant::now() + self.delay();
                            queue.push_back((due, chunk));
                        }
                    }
                    Err(_) => {
                        self.finish(End::Reset);
                        return;
                    }
                },
            }
        }
    }

    /// Writes one chunk as `bandwidth`, `slicer` and `limit_data` allow.
    /// `Ok(false)`: the data limit was reached and the connection closes.
    async fn deliver(&mut self, wr: &mut OwnedWriteHalf, mut chunk: Bytes) -> io::Result<bool> {
        let mut rate = None;
        let mut slicer = None;
        let mut limit = None;
        for t in &self.active {
            match t.effect {
                Effect::Bandwidth { bytes_per_sec } => rate = Some(bytes_per_sec),
                Effect::Slicer {
                    average,
                    variation,
                    delay,
                } => slicer = Some((average, variation, delay)),
                Effect::LimitData { bytes } => limit = Some(bytes),
                _ => {}
            }
        }
        let mut open = true;
        if let Some(limit) = limit {
            let left = limit.saturating_sub(self.passed);
            if chunk.len() as u64 >= left {
                chunk.truncate(left as usize);
                open = false;
            }
        }
        while !chunk.is_empty() {
            let mut size = chunk.len();
            let mut pause = Duration::ZERO;
            if let Some((average, variation, delay)) = slicer {
                let v = variation.min(average.saturating_sub(1));
                let s = if v > 0 {
                    self.rng.random_range(average - v..=average + v)
                } else {
                    average
                };
                size = size.min(s.max(1) as usize);
                pause = delay;
            }
            if let Some(rate) = rate.filter(|r| *r > 0) {
                // Pieces of at most a tenth of a second's worth (a rate of
                // zero is no limit, as in Toxiproxy).
                size = size.min((rate / 10).max(1) as usize);
                pause = pause.max(Duration::from_secs_f64(size as f64 / rate as f64));
            }
            let piece = chunk.split_to(size);
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            wr.write_all(&piece).await?;
            self.passed += piece.len() as u64;
            self.stats
                .bytes
                .fetch_add(piece.len() as u64, Ordering::Relaxed);
        }
        Ok(open)
    }
}

/// The next chunk the socket has, `None` at its end: read into the pump's
/// own buffer and copied out at its size (a fresh 32 KiB per read held
/// every small queued chunk's whole allocation).
async fn read_chunk(rd: &mut OwnedReadHalf, buf: &mut [u8]) -> io::Result<Option<Bytes>> {
    let n = rd.read(buf).await?;
    Ok((n > 0).then(|| Bytes::copy_from_slice(&buf[..n])))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `reset_peer` that took data and is removed before its countdown
    /// ends still resets the connection: its data was dropped, and a
    /// connection left open would leave the client waiting for an answer
    /// to a request that never arrived (a request timeout, once in a few
    /// runs of a fault window's end on a busy machine).
    #[tokio::test]
    async fn a_reset_peer_removed_after_it_took_data_still_resets() {
        let reset = Toxic {
            name: "resets".into(),
            stream: Stream::Upstream,
            toxicity: 1.0,
            effect: Effect::ResetPeer {
                timeout: Duration::from_millis(50),
            },
        };
        let (set, toxics) = watch::channel(Arc::new(vec![reset.clone()]));
        let (_close, closed) = watch::channel(false);
        let w = Watches {
            toxics,
            closed,
            stats: Arc::default(),
        };
        let (end, _) = watch::channel(End::Open);
        let mut pump = Pump::new(Stream::Upstream, &w, &end);
        pump.refresh().unwrap();
        assert!(pump.deadline().is_none(), "no data yet, no countdown");
        pump.arm();
        let (at, how) = pump.deadline().unwrap();
        assert_eq!(how, End::Reset);
        set.send_replace(Arc::new(Vec::new()));
        pump.refresh().unwrap();
        assert_eq!(pump.deadline(), Some((at, End::Reset)));
        assert!(pump.black_hole(), "what follows is dropped as well");

        // Removed before any data came: the connection goes on untouched.
        set.send_replace(Arc::new(vec![reset]));
        let mut pump = Pump::new(Stream::Upstream, &w, &end);
        pump.refresh().unwrap();
        set.send_replace(Arc::new(Vec::new()));
        pump.refresh().unwrap();
        pump.arm();
        assert!(pump.deadline().is_none() && !pump.black_hole());
    }
}
