//! A run's faults, wired: the in-process proxies (and the embedded
//! dependency behind one), and the driver that adds and removes each
//! fault's toxic on the run's own clock — on a proxy of this run, or
//! through the HTTP API of one elsewhere (`headroom proxy`, Toxiproxy).

use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::experiment::Applied;
use crate::embedded::{self, Dependency, TargetHandle};
use crate::input::http::Limits;
use crate::input::url::BaseUrl;
use crate::metrics::live::Live;
use crate::proxy::{ProxySpec, Server};
use crate::scenario::chaos::{Fault, DEPENDENCY_PROXY};
use crate::scenario::{Plan, TargetSpec};

/// What a run with faults keeps running beside the load.
pub struct Running {
    /// Dropped last: the proxies outlive the driver's last removal.
    pub proxies: Option<Server>,
    _dependency: Option<TargetHandle>,
}

/// Starts the run's proxies and its embedded dependency, and points the
/// embedded target at the dependency's proxy.
pub fn start(plan: &mut Plan) -> anyhow::Result<Running> {
    let chaos = &plan.chaos;
    if !chaos.in_process() {
        return Ok(Running {
            proxies: None,
            _dependency: None,
        });
    }
    let server = Server::start(None).context("starting the run's proxies")?;
    let mut dependency = None;
    for p in &chaos.proxies {
        let upstream = if p.name == DEPENDENCY_PROXY {
            if let Some(d) = &chaos.dependency {
                let h = embedded::spawn(d.service.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
                    .context("starting the embedded dependency")?;
                let addr = h.addr.to_string();
                dependency = Some(h);
                addr
            } else {
                p.upstream.clone()
            }
        } else {
            p.upstream.clone()
        };
        let made = server
            .proxies
            .create(ProxySpec {
                name: Some(p.name.clone()),
                listen: Some(p.listen.clone()),
                upstream: Some(upstream),
                enabled: None,
            })
            .map_err(|e| crate::error::BadInput(format!("[[proxy]] {}: {e}", p.name)))?;
        if let (Some(d), true, TargetSpec::Embedded(cfg)) = (
            &chaos.dependency,
            p.name == DEPENDENCY_PROXY,
            &mut plan.target,
        ) {
            cfg.dependency = Some(Dependency {
                url: format!("http://{}/", made.listen),
                timeout: d.timeout,
                retries: d.retries,
            });
        }
    }
    Ok(Running {
        proxies: Some(server),
        _dependency: dependency,
    })
}

#[derive(Default)]
struct State {
    start: Option<Instant>,
    /// `abort_if` fired: remove every fault now.
    abort: bool,
    /// The run is over: remove what is left.
    finished: bool,
    applied: Vec<Applied>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Adds and removes the faults' toxics at their times.
pub struct Driver {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Driver {
    pub fn new(faults: &[Fault], proxies: Option<&Server>, live: Option<Arc<Live>>) -> Driver {
        let applied = faults
            .iter()
            .map(|f| Applied {
                name: f.name.clone(),
                proxy: f.proxy.clone(),
                api: f.api.clone(),
                toxic: f.toxic.clone(),
                planned_start_s: f.at.as_secs_f64(),
                planned_end_s: f.duration.map(|d| (f.at + d).as_secs_f64()),
                started_s: None,
                ended_s: None,
                removed_by_abort: false,
                error: None,
            })
            .collect();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                applied,
                ..State::default()
            }),
            wake: Condvar::new(),
        });
        let local = proxies.map(|s| s.proxies.clone());
        let (faults, sh) = (faults.to_vec(), shared.clone());
        let thread = std::thread::Builder::new()
            .name("headroom-faults".into())
            .spawn(move || drive(&faults, local.as_ref(), live.as_deref(), &sh))
            .ok();
        Driver { shared, thread }
    }

    /// The run's clock started.
    pub fn started(&self, at: Instant) {
        self.shared.lock().start = Some(at);
        self.shared.wake.notify_all();
    }

    /// `abort_if` fired: every fault is removed at once, and none begins.
    pub fn abort(&self) {
        self.shared.lock().abort = true;
        self.shared.wake.notify_all();
    }

    /// The faults in effect at some time in `[from, to)` seconds.
    pub fn active_between(&self, from: f64, to: f64) -> Vec<String> {
        self.shared
            .lock()
            .applied
            .iter()
            .filter(|a| a.started_s.is_some_and(|s| s < to) && a.ended_s.is_none_or(|e| e > from))
            .map(|a| a.name.clone())
            .collect()
    }

    /// What began or ended in `[from, to)` seconds, in words (the interval
    /// log's comments).
    pub fn events_between(&self, from: f64, to: f64) -> Vec<String> {
        let st = self.shared.lock();
        let mut out = Vec::new();
        for a in &st.applied {
            let kind = a.toxic.effect.kind();
            for (what, at) in [("began", a.started_s), ("ended", a.ended_s)] {
                if let Some(t) = at.filter(|t| (from..to).contains(t)) {
                    out.push(format!(
                        "[fault {:?} {what} at {t:.3} s: {kind} on proxy {}]",
                        a.name, a.proxy
                    ));
                }
            }
        }
        out
    }

    /// Ends the driver (removing what is still in effect) and says what
    /// was applied when.
    pub fn finish(mut self) -> Vec<Applied> {
        self.shared.lock().finished = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        std::mem::take(&mut self.shared.lock().applied)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.shared.lock().finished = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

enum Step {
    Apply(usize),
    Remove(usize),
}

fn drive(
    faults: &[Fault],
    local: Option<&crate::proxy::Proxies>,
    live: Option<&Live>,
    sh: &Shared,
) {
    let mut steps: Vec<(Duration, Step)> = Vec::new();
    for (i, f) in faults.iter().enumerate() {
        steps.push((f.at, Step::Apply(i)));
        if let Some(d) = f.duration {
            steps.push((f.at + d, Step::Remove(i)));
        }
    }
    // Stable: a fault removed at the instant another is applied goes first.
    steps.sort_by_key(|(at, s)| (*at, matches!(s, Step::Apply(_))));
    let mut on = vec![false; faults.len()];
    let start = {
        let mut st = sh.lock();
        loop {
            if st.finished || st.abort {
                return;
            }
            if let Some(s) = st.start {
                break s;
            }
            st = sh.wake.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    };
    let clock = || start.elapsed().as_secs_f64();
    for (at, step) in steps {
        {
            let mut st = sh.lock();
            loop {
                if st.finished || st.abort {
                    break;
                }
                let now = Instant::now();
                let due = start + at;
                if now >= due {
                    break;
                }
                st = sh
                    .wake
                    .wait_timeout(st, due - now)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
            if st.finished || st.abort {
                break;
            }
        }
        match step {
            Step::Apply(i) => {
                let result = apply(&faults[i], local);
                let mut st = sh.lock();
                let t = clock();
                match result {
                    Ok(()) => {
                        on[i] = true;
                        st.applied[i].started_s = Some(t);
                        if let Some(l) = live {
                            l.fault(&faults[i].name, true);
                        }
                    }
                    Err(e) => st.applied[i].error = Some(e),
                }
            }
            Step::Remove(i) if on[i] => {
                let result = remove(&faults[i], local);
                on[i] = false;
                let mut st = sh.lock();
                let t = clock();
                finish_one(&mut st.applied[i], t, result, false, live, &faults[i]);
            }
            Step::Remove(_) => {}
        }
    }
    // Aborted or over: what is in effect goes, and what never began is
    // marked (an abort) or left as never applied (the run ended first).
    let aborted = sh.lock().abort;
    for (i, f) in faults.iter().enumerate() {
        if on[i] {
            let result = remove(f, local);
            let mut st = sh.lock();
            let t = clock();
            finish_one(&mut st.applied[i], t, result, aborted, live, f);
        } else if aborted {
            let mut st = sh.lock();
            if st.applied[i].started_s.is_none() {
                st.applied[i].removed_by_abort = true;
            }
        }
    }
}

fn finish_one(
    a: &mut Applied,
    t: f64,
    result: Result<(), String>,
    aborted: bool,
    live: Option<&Live>,
    f: &Fault,
) {
    a.ended_s = Some(t);
    a.removed_by_abort = aborted;
    if let Err(e) = result {
        a.error.get_or_insert(format!("removing it: {e}"));
    }
    if let Some(l) = live {
        l.fault(&f.name, false);
    }
}

fn apply(f: &Fault, local: Option<&crate::proxy::Proxies>) -> Result<(), String> {
    match (&f.api, local) {
        (Some(api), _) => call(
            api,
            http::Method::POST,
            &format!("/proxies/{}/toxics", f.proxy),
            Some(f.toxic.to_json().to_string()),
        ),
        (None, Some(p)) => p
            .insert_toxic(&f.proxy, f.toxic.clone())
            .map(drop)
            .map_err(|e| e.to_string()),
        (None, None) => Err(format!("no proxy {:?} in this run", f.proxy)),
    }
}

fn remove(f: &Fault, local: Option<&crate::proxy::Proxies>) -> Result<(), String> {
    match (&f.api, local) {
        (Some(api), _) => call(
            api,
            http::Method::DELETE,
            &format!("/proxies/{}/toxics/{}", f.proxy, f.toxic.name),
            None,
        ),
        (None, Some(p)) => p
            .remove_toxic(&f.proxy, &f.toxic.name)
            .map_err(|e| e.to_string()),
        (None, None) => Err(format!("no proxy {:?} in this run", f.proxy)),
    }
}

/// One call to a proxy API (`http://HOST:PORT`), 5 s at most; a 2xx
/// answer is success.
fn call(api: &str, method: http::Method, path: &str, body: Option<String>) -> Result<(), String> {
    let base = BaseUrl::parse(api).map_err(|e| format!("{api}: {e}"))?;
    let limits = Limits {
        connect: Duration::from_secs(5),
        answer: Duration::from_secs(5),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("{api}: {e}"))?;
    let what = "the proxy API";
    let (status, answer) = rt
        .block_on(crate::input::http::call(
            &base,
            method.clone(),
            path,
            body,
            what,
            limits,
        ))
        .map_err(|e| e.to_string())?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        let text = String::from_utf8_lossy(&answer);
        Err(format!("{method} {api}{path}: {status} {}", text.trim()))
    }
}
