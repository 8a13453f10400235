//! The HTTP/2 connections a shard's lanes share: each carries up to
//! `streams` requests before another is opened, up to the shard's
//! connection cap. A request holds a [`Lease`] on its connection's stream
//! for as long as it is in flight; dropping the lease gives the stream back,
//! whatever path the request took (answered, failed, timed out, cancelled).

use std::cell::{Cell, RefCell};

use tokio::sync::Notify;

use super::http::Sender;

struct Pooled {
    id: u64,
    sender: Sender,
    in_flight: usize,
}

pub(super) struct H2Pool {
    /// Requests a connection carries before another is opened.
    streams: usize,
    /// Connections this shard may open.
    cap: usize,
    conns: RefCell<Vec<Pooled>>,
    /// Connections being opened right now.
    connecting: Cell<usize>,
    /// Lanes waiting for a connection being opened.
    waiters: Cell<usize>,
    changed: Notify,
    next_id: Cell<u64>,
    /// The server speaks HTTP/2 (known from the start with `http = "2"`,
    /// or once ALPN picked it).
    speaks_h2: Cell<bool>,
}

/// A request's stream on a pooled connection.
pub(super) struct Lease<'a> {
    pool: &'a H2Pool,
    id: u64,
    pub sender: Sender,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(p) = self
            .pool
            .conns
            .borrow_mut()
            .iter_mut()
            .find(|p| p.id == self.id)
        {
            p.in_flight = p.in_flight.saturating_sub(1);
        }
    }
}

impl Lease<'_> {
    /// The server refused work on this connection (GOAWAY, REFUSED_STREAM):
    /// no more requests go to it.
    pub fn retire(&self) {
        self.pool.conns.borrow_mut().retain(|p| p.id != self.id);
    }
}

/// What a lane should do to get a stream.
pub(super) enum Next<'a> {
    /// A stream is free on this connection.
    Leased(Lease<'a>),
    /// Open a connection (holding the guard while connecting), then
    /// [`H2Pool::add`] it.
    Open(Opening<'a>),
    /// Wait for [`H2Pool::changed`] and ask again.
    Wait,
}

/// Counts a connection being opened while alive.
pub(super) struct Opening<'a>(&'a H2Pool);

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        self.0.connecting.set(self.0.connecting.get() - 1);
        self.0.changed.notify_waiters();
    }
}

impl H2Pool {
    pub fn new(streams: usize, cap: usize, speaks_h2: bool) -> H2Pool {
        H2Pool {
            streams: streams.max(1),
            cap: cap.max(1),
            conns: RefCell::new(Vec::new()),
            connecting: Cell::new(0),
            waiters: Cell::new(0),
            changed: Notify::new(),
            next_id: Cell::new(0),
            speaks_h2: Cell::new(speaks_h2),
        }
    }

    pub fn speaks_h2(&self) -> bool {
        self.speaks_h2.get()
    }

    /// Pools an HTTP/2 connection and leases a stream on it; `None` for an
    /// HTTP/1.1 one (not poolable).
    pub fn add(&self, sender: Sender) -> Option<Lease<'_>> {
        let pooled = sender.share()?;
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.speaks_h2.set(true);
        self.conns.borrow_mut().push(Pooled {
            id,
            sender: pooled,
            in_flight: 1,
        });
        self.changed.notify_waiters();
        Some(Lease {
            pool: self,
            id,
            sender,
        })
    }

    /// The least busy connection with a free stream; else open another
    /// while under the cap and the ones being opened will not have a
    /// stream for this request; else the least busy anyway once nothing is
    /// being opened (the request then waits for a stream inside h2, as the
    /// server's SETTINGS_MAX_CONCURRENT_STREAMS also makes it); else wait.
    pub fn next(&self) -> Next<'_> {
        let best = {
            let mut conns = self.conns.borrow_mut();
            conns.retain(|p| !p.sender.is_closed());
            conns
                .iter()
                .min_by_key(|p| p.in_flight)
                .map(|p| (p.id, p.in_flight))
        };
        let lease = |id: u64| -> Option<Lease<'_>> {
            let mut conns = self.conns.borrow_mut();
            let p = conns.iter_mut().find(|p| p.id == id)?;
            let sender = p.sender.share()?;
            p.in_flight += 1;
            Some(Lease {
                pool: self,
                id,
                sender,
            })
        };
        if let Some(l) = best.filter(|b| b.1 < self.streams).and_then(|b| lease(b.0)) {
            return Next::Leased(l);
        }
        let pending = self.connecting.get().saturating_mul(self.streams);
        if self.conns.borrow().len() + self.connecting.get() < self.cap
            && pending <= self.waiters.get()
        {
            self.connecting.set(self.connecting.get() + 1);
            return Next::Open(Opening(self));
        }
        if self.connecting.get() == 0 {
            if let Some(l) = best.and_then(|b| lease(b.0)) {
                return Next::Leased(l);
            }
        }
        Next::Wait
    }

    /// Waits until a connection is added, opened or given up on.
    pub async fn changed(&self) {
        struct Waiting<'a>(&'a Cell<usize>);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.set(self.0.get() - 1);
            }
        }
        self.waiters.set(self.waiters.get() + 1);
        let _waiting = Waiting(&self.waiters);
        self.changed.notified().await;
    }
}
