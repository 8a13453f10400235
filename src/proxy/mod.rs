//! A fault-injecting TCP proxy, driven by Toxiproxy's HTTP API so that its
//! clients and habits carry over: `headroom proxy` in front of a database,
//! cache or downstream API, or in-process during a run.
//!
//! * [`toxic`] — the faults (latency, bandwidth, slow close, timeout,
//!   reset, data limit, slicer) and their JSON;
//! * `link` — one proxied connection applying them, per direction;
//! * [`api`] — the control API (Toxiproxy 2's routes and JSON).
//!
//! [`Proxies`] holds the proxies; every change goes through it, from the
//! API or from the command line, and takes effect on open connections.

pub mod api;
mod link;
pub mod toxic;

use std::collections::BTreeMap;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::runtime::Handle;
use tokio::sync::watch;

use toxic::{Toxic, ToxicSpec};

/// What went wrong, with the HTTP status the API answers it with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Io(String),
}

impl ProxyError {
    pub fn status(&self) -> u16 {
        match self {
            ProxyError::NotFound(_) => 404,
            ProxyError::Conflict(_) => 409,
            ProxyError::BadRequest(_) => 400,
            ProxyError::Io(_) => 500,
        }
    }
}

/// Counters of one proxy.
#[derive(Debug, Default)]
pub struct ProxyStats {
    pub connections: AtomicU64,
    /// Bytes delivered, both directions.
    pub bytes: AtomicU64,
    /// Connections ended with a reset (by `reset_peer`, or passed on).
    pub resets: AtomicU64,
    /// Clients closed because the upstream could not be reached.
    pub upstream_failures: AtomicU64,
}

/// A proxy as the API shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProxyView {
    pub name: String,
    pub listen: String,
    pub upstream: String,
    pub enabled: bool,
    pub toxics: Vec<serde_json::Value>,
}

/// The fields a client sends to create or update a proxy.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct ProxySpec {
    pub name: Option<String>,
    pub listen: Option<String>,
    pub upstream: Option<String>,
    pub enabled: Option<bool>,
}

struct Proxy {
    name: String,
    /// The address it listens on (the port resolved when 0 was asked).
    listen: SocketAddr,
    upstream: String,
    toxics: watch::Sender<Arc<Vec<Toxic>>>,
    /// Present while enabled: dropping it stops the listener and every
    /// connection.
    running: Option<watch::Sender<bool>>,
    /// The bound socket while enabled: a restart on the same address (a
    /// new upstream) serves it again, where a new bind would find the old
    /// listener, closed by its task a moment later, still holding it.
    socket: Option<std::net::TcpListener>,
    stats: Arc<ProxyStats>,
}

impl Proxy {
    fn view(&self) -> ProxyView {
        ProxyView {
            name: self.name.clone(),
            listen: self.listen.to_string(),
            upstream: self.upstream.clone(),
            enabled: self.running.is_some(),
            toxics: self.toxics.borrow().iter().map(Toxic::to_json).collect(),
        }
    }

    /// Stops the listener and drops every connection; `keep_socket` holds
    /// the address bound for a restart on it.
    fn disable(&mut self, keep_socket: bool) {
        if let Some(tx) = self.running.take() {
            let _ = tx.send(true);
        }
        if !keep_socket {
            self.socket = None;
        }
    }

    /// Binds the listener and serves it on the proxies' runtime.
    fn enable(&mut self, rt: &Handle) -> Result<(), ProxyError> {
        if self.running.is_some() {
            return Ok(());
        }
        let io = |e: io::Error| ProxyError::Io(e.to_string());
        let socket = match self.socket.take() {
            Some(s) if s.local_addr().ok() == Some(self.listen) => s,
            _ => bind(self.listen)?,
        };
        self.listen = socket.local_addr().map_err(io)?;
        if loops_to(&self.upstream, self.listen) {
            return Err(ProxyError::BadRequest(format!(
                "upstream {} is this proxy's own listener ({}): every connection would open another to itself",
                self.upstream, self.listen
            )));
        }
        let listener = {
            let _in = rt.enter();
            tokio::net::TcpListener::from_std(socket.try_clone().map_err(io)?).map_err(io)?
        };
        self.socket = Some(socket);
        let (tx, closed) = watch::channel(false);
        let toxics = self.toxics.subscribe();
        let (upstream, stats) = (self.upstream.clone(), self.stats.clone());
        rt.spawn(accept(listener, upstream, toxics, closed, stats));
        self.running = Some(tx);
        Ok(())
    }
}

fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, ProxyError> {
    // Taken is a conflict (409, as Toxiproxy answers), not a failure.
    let io = |e: io::Error| match e.kind() {
        io::ErrorKind::AddrInUse => ProxyError::Conflict(format!("cannot listen on {addr}: {e}")),
        _ => ProxyError::Io(format!("cannot listen on {addr}: {e}")),
    };
    let socket = std::net::TcpListener::bind(addr).map_err(io)?;
    socket.set_nonblocking(true).map_err(io)?;
    Ok(socket)
}

/// Whether `upstream` resolves to `listen` itself (a proxy listening on
/// every address is reached at loopback too).
fn loops_to(upstream: &str, listen: SocketAddr) -> bool {
    let Ok(addrs) = upstream.to_socket_addrs() else {
        return false;
    };
    addrs.into_iter().any(|u| {
        u.port() == listen.port()
            && (u.ip() == listen.ip()
                || (listen.ip().is_unspecified()
                    && (u.ip().is_loopback() || u.ip().is_unspecified())))
    })
}

async fn accept(
    listener: tokio::net::TcpListener,
    upstream: String,
    toxics: watch::Receiver<Arc<Vec<Toxic>>>,
    mut closed: watch::Receiver<bool>,
    stats: Arc<ProxyStats>,
) {
    let upstream: Arc<str> = upstream.into();
    loop {
        tokio::select! {
            _ = closed.changed() => return,
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                stats.connections.fetch_add(1, Ordering::Relaxed);
                let w = link::Watches {
                    toxics: toxics.clone(),
                    closed: closed.clone(),
                    stats: stats.clone(),
                };
                let upstream = upstream.clone();
                tokio::spawn(async move { link::serve(client, &upstream, w).await });
            }
        }
    }
}

/// Every proxy of one `headroom proxy` (or of one run), by name, and the
/// runtime their connections run on. Callable from any thread.
#[derive(Clone)]
pub struct Proxies {
    inner: Arc<Mutex<BTreeMap<String, Proxy>>>,
    rt: Handle,
}

fn resolve(what: &str, addr: &str) -> Result<SocketAddr, ProxyError> {
    // Toxiproxy's habit: ":PORT" (or nothing) listens on every address.
    let any;
    let addr = match addr {
        "" => "[::]:0",
        a if a.starts_with(':') => {
            any = format!("[::]{a}");
            &any
        }
        a => a,
    };
    addr.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            ProxyError::BadRequest(format!(
                "{what} must be HOST:PORT, e.g. 127.0.0.1:6380, found {addr:?}"
            ))
        })
}

impl Proxies {
    pub fn new(rt: Handle) -> Proxies {
        Proxies {
            inner: Arc::default(),
            rt,
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Proxy>> {
        // A panic elsewhere cannot leave the map half-changed: use it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with<T>(
        &self,
        name: &str,
        f: impl FnOnce(&mut Proxy) -> Result<T, ProxyError>,
    ) -> Result<T, ProxyError> {
        let mut map = self.lock();
        let p = map
            .get_mut(name)
            .ok_or_else(|| ProxyError::NotFound(format!("proxy not found: {name:?}")))?;
        f(p)
    }

    pub fn list(&self) -> Vec<ProxyView> {
        self.lock().values().map(Proxy::view).collect()
    }

    pub fn get(&self, name: &str) -> Result<ProxyView, ProxyError> {
        self.with(name, |p| Ok(p.view()))
    }

    pub fn stats(&self, name: &str) -> Result<Arc<ProxyStats>, ProxyError> {
        self.with(name, |p| Ok(p.stats.clone()))
    }

    /// Creates a proxy and, unless `enabled` is false, starts listening.
    /// Must run inside a tokio runtime.
    pub fn create(&self, spec: ProxySpec) -> Result<ProxyView, ProxyError> {
        let name = spec
            .name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ProxyError::BadRequest("missing required field: name".into()))?;
        // The name is a path segment of the API (/proxies/NAME).
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(ProxyError::BadRequest(format!(
                "a proxy's name is letters, digits, '-', '_' and '.', found {name:?}"
            )));
        }
        let upstream = spec
            .upstream
            .filter(|u| !u.is_empty())
            .ok_or_else(|| ProxyError::BadRequest("missing required field: upstream".into()))?;
        let listen = resolve("listen", spec.listen.as_deref().unwrap_or("127.0.0.1:0"))?;
        let mut map = self.lock();
        if map.contains_key(&name) {
            return Err(ProxyError::Conflict("proxy already exists".into()));
        }
        let mut p = Proxy {
            name: name.clone(),
            listen,
            upstream,
            toxics: watch::channel(Arc::new(Vec::new())).0,
            running: None,
            socket: None,
            stats: Arc::default(),
        };
        if spec.enabled != Some(false) {
            p.enable(&self.rt)?;
        }
        let view = p.view();
        map.insert(name, p);
        Ok(view)
    }

    /// Changes a proxy's listen address, upstream or enabled state; a new
    /// address or upstream restarts its listener and drops its connections.
    pub fn update(&self, name: &str, spec: ProxySpec) -> Result<ProxyView, ProxyError> {
        let rt = &self.rt;
        self.with(name, |p| {
            let listen = spec
                .listen
                .as_deref()
                .map(|l| resolve("listen", l))
                .transpose()?;
            // Refused before anything changes: a proxy pointed at itself.
            let upstream = spec.upstream.as_deref().filter(|u| !u.is_empty());
            if let Some(u) = upstream {
                let at = listen.unwrap_or(p.listen);
                if at.port() != 0 && loops_to(u, at) {
                    return Err(ProxyError::BadRequest(format!(
                        "upstream {u} is this proxy's own listener ({at}): every connection would open another to itself"
                    )));
                }
            }
            let moved = listen.is_some_and(|l| l != p.listen)
                || spec.upstream.as_ref().is_some_and(|u| *u != p.upstream);
            let enabled = spec.enabled.unwrap_or(p.running.is_some());
            if moved || !enabled {
                // The same address, still enabled: its socket is served again.
                let same = listen.is_none_or(|l| l == p.listen);
                p.disable(same && enabled);
            }
            if let Some(l) = listen {
                p.listen = l;
            }
            if let Some(u) = spec.upstream.filter(|u| !u.is_empty()) {
                p.upstream = u;
            }
            if enabled {
                p.enable(rt)?;
            }
            Ok(p.view())
        })
    }

    pub fn delete(&self, name: &str) -> Result<(), ProxyError> {
        let mut p = self
            .lock()
            .remove(name)
            .ok_or_else(|| ProxyError::NotFound(format!("proxy not found: {name:?}")))?;
        p.disable(false);
        Ok(())
    }

    /// Every proxy enabled again and every toxic removed.
    pub fn reset(&self) -> Result<(), ProxyError> {
        let mut map = self.lock();
        for p in map.values_mut() {
            p.toxics.send_replace(Arc::new(Vec::new()));
            p.enable(&self.rt)?;
        }
        Ok(())
    }

    pub fn toxics(&self, proxy: &str) -> Result<Vec<Toxic>, ProxyError> {
        self.with(proxy, |p| Ok(p.toxics.borrow().to_vec()))
    }

    pub fn toxic(&self, proxy: &str, name: &str) -> Result<Toxic, ProxyError> {
        self.toxics(proxy)?
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| ProxyError::NotFound(format!("toxic not found: {name:?}")))
    }

    pub fn add_toxic(&self, proxy: &str, spec: ToxicSpec) -> Result<Toxic, ProxyError> {
        self.insert_toxic(proxy, Toxic::new(spec).map_err(ProxyError::BadRequest)?)
    }

    /// Adds a toxic already checked; a name already taken is a conflict.
    pub fn insert_toxic(&self, proxy: &str, t: Toxic) -> Result<Toxic, ProxyError> {
        self.with(proxy, |p| {
            let mut all = p.toxics.borrow().to_vec();
            if all.iter().any(|o| o.name == t.name) {
                return Err(ProxyError::Conflict("toxic already exists".into()));
            }
            all.push(t.clone());
            p.toxics.send_replace(Arc::new(all));
            Ok(t)
        })
    }

    pub fn update_toxic(
        &self,
        proxy: &str,
        name: &str,
        spec: ToxicSpec,
    ) -> Result<Toxic, ProxyError> {
        self.with(proxy, |p| {
            let mut all = p.toxics.borrow().to_vec();
            let slot = all
                .iter_mut()
                .find(|t| t.name == name)
                .ok_or_else(|| ProxyError::NotFound(format!("toxic not found: {name:?}")))?;
            *slot = slot.updated(spec).map_err(ProxyError::BadRequest)?;
            let t = slot.clone();
            p.toxics.send_replace(Arc::new(all));
            Ok(t)
        })
    }

    pub fn remove_toxic(&self, proxy: &str, name: &str) -> Result<(), ProxyError> {
        self.with(proxy, |p| {
            let mut all = p.toxics.borrow().to_vec();
            let before = all.len();
            all.retain(|t| t.name != name);
            if all.len() == before {
                return Err(ProxyError::NotFound(format!("toxic not found: {name:?}")));
            }
            p.toxics.send_replace(Arc::new(all));
            Ok(())
        })
    }
}

/// Proxies on a thread of their own (one current-thread runtime), with
/// the control API when `api` is given. Dropping it stops everything.
pub struct Server {
    pub proxies: Proxies,
    /// Where the API listens, if it does.
    pub api: Option<SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(api: Option<SocketAddr>) -> io::Result<Server> {
        let api_listener = api
            .map(|a| {
                let l = std::net::TcpListener::bind(a)?;
                l.set_nonblocking(true)?;
                Ok::<_, io::Error>(l)
            })
            .transpose()?;
        let api = api_listener
            .as_ref()
            .map(std::net::TcpListener::local_addr)
            .transpose()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let proxies = Proxies::new(rt.handle().clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = proxies.clone();
        let thread = std::thread::Builder::new()
            .name("headroom-proxy".into())
            .spawn(move || {
                rt.block_on(async move {
                    let api = async {
                        match api_listener.map(tokio::net::TcpListener::from_std) {
                            Some(Ok(l)) => api::serve(l, served).await,
                            _ => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        _ = stopped => {}
                        _ = api => {}
                    }
                });
            })?;
        Ok(Server {
            proxies,
            api,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, listen: &str, upstream: &str) -> ProxySpec {
        ProxySpec {
            name: Some(name.into()),
            listen: Some(listen.into()),
            upstream: Some(upstream.into()),
            enabled: None,
        }
    }

    /// What a hostile tester found (issue 34): a proxy pointed at itself
    /// grew to 695 MB over six connections; a port in use answered 500; a
    /// name with a '/' made a proxy the API could never reach again.
    #[tokio::test]
    async fn a_proxy_refuses_itself_a_taken_port_and_a_name_the_api_cannot_reach() {
        let p = Proxies::new(Handle::current());
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let free = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let at = |port: u16| format!("127.0.0.1:{port}");
        let e = p.create(spec("self", &at(free), &at(free))).unwrap_err();
        assert_eq!(e.status(), 400, "{e}");
        assert!(e.to_string().contains("own listener"), "{e}");
        let e = p
            .create(spec("any", &format!(":{free}"), &at(free)))
            .unwrap_err();
        assert_eq!(e.status(), 400, "{e}");
        let e = p
            .create(spec("taken", &at(port), "127.0.0.1:9"))
            .unwrap_err();
        assert_eq!(e.status(), 409, "{e}");
        let e = p
            .create(spec("bad/name", "127.0.0.1:0", "127.0.0.1:9"))
            .unwrap_err();
        assert_eq!(e.status(), 400, "{e}");
        assert!(p.list().is_empty(), "{:?}", p.list());
        // Another port, or another host's same port, is a proxy.
        let ok = p.create(spec("ok", &at(free), "127.0.0.2:9")).unwrap();
        assert_eq!(ok.listen, at(free));
        // Moving the upstream onto itself is refused too.
        let e = p
            .update(
                "ok",
                ProxySpec {
                    upstream: Some(at(free)),
                    ..ProxySpec::default()
                },
            )
            .unwrap_err();
        assert_eq!(e.status(), 400, "{e}");
        // Another upstream on the same address: restarted on its own socket
        // (a new bind had found the old listener still there: 409).
        let moved = p
            .update(
                "ok",
                ProxySpec {
                    upstream: Some("127.0.0.3:9".into()),
                    ..ProxySpec::default()
                },
            )
            .unwrap();
        assert_eq!(
            (moved.listen, moved.upstream),
            (at(free), "127.0.0.3:9".into())
        );
        assert!(std::net::TcpStream::connect(at(free)).is_ok());
    }
}
