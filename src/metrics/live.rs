//! Live metrics during a run, served in the Prometheus / OpenMetrics text
//! exposition format (`--metrics-listen ADDR`, path `/metrics`), built with
//! the `prometheus-client` crate. Updated once a second from the merged
//! interval, off the hot path.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `headroom_requests_total` | counter | `request`, `outcome` (`ok` or an error kind) |
//! | `headroom_requests_sent_total` | counter | `request` |
//! | `headroom_in_flight` | gauge | sent and not yet answered |
//! | `headroom_target_rate` / `headroom_achieved_rate` | gauge | arrivals (flows started)/s in the last second |
//! | `headroom_send_lag_p99_seconds` | gauge | last second |
//! | `headroom_latency_seconds` | histogram | `request`; buckets 1 ms … 30 s plus the SLO thresholds |
//! | `headroom_search_step` / `headroom_search_level` | gauge | the breaking-point search or sweep step and its rate or users |
//! | `headroom_fault_active` | gauge | `fault`: 1 while a `[[fault]]` is in effect |

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::Interval;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    request: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Req {
    request: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FaultLabel {
    fault: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// Makes the latency histogram of each request name with the same bounds.
#[derive(Clone)]
struct Buckets(Arc<Vec<f64>>);

impl prometheus_client::metrics::family::MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

/// The metrics of one process's runs.
pub struct Live {
    registry: Registry,
    names: Vec<String>,
    /// Names that start a flow: the achieved rate counts flows, as the
    /// target rate counts arrivals.
    starts: Vec<bool>,
    requests: Family<Outcome, Counter>,
    sent: Family<Req, Counter>,
    in_flight: Gauge,
    target_rate: FloatGauge,
    achieved_rate: FloatGauge,
    lag_p99: FloatGauge,
    latency: Family<Req, Histogram, Buckets>,
    step: Gauge,
    level: FloatGauge,
    faults: Family<FaultLabel, Gauge>,
    outstanding: AtomicU64,
}

/// Histogram bounds in seconds: 1 ms … 30 s on a 1-2-5 ladder, plus each
/// latency SLO threshold so that its share is read exactly.
pub fn buckets(slo_thresholds_s: &[f64]) -> Vec<f64> {
    let mut b: Vec<f64> = Vec::new();
    let mut decade = 0.001;
    while decade < 60.0 {
        for m in [1.0, 2.0, 5.0] {
            let v: f64 = decade * m;
            if v <= 30.0 {
                b.push((v * 1e6).round() / 1e6);
            }
        }
        decade *= 10.0;
    }
    b.extend(
        slo_thresholds_s
            .iter()
            .filter(|t| t.is_finite() && **t > 0.0),
    );
    b.sort_by(f64::total_cmp);
    b.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    b
}

impl Live {
    /// Metrics for requests `names`, latency buckets from [`buckets`].
    pub fn new(names: &[String], buckets: Vec<f64>) -> Live {
        let mut registry = Registry::default();
        let requests = Family::<Outcome, Counter>::default();
        let sent = Family::<Req, Counter>::default();
        let in_flight = Gauge::default();
        let target_rate = FloatGauge::default();
        let achieved_rate = FloatGauge::default();
        let lag_p99 = FloatGauge::default();
        let latency = Family::new_with_constructor(Buckets(Arc::new(buckets)));
        let step = Gauge::default();
        let level = FloatGauge::default();
        registry.register(
            "headroom_requests",
            "Requests answered, by request name and outcome (ok or an error kind)",
            requests.clone(),
        );
        registry.register(
            "headroom_requests_sent",
            "Requests sent, by request name",
            sent.clone(),
        );
        registry.register(
            "headroom_in_flight",
            "Requests sent and not yet answered",
            in_flight.clone(),
        );
        registry.register(
            "headroom_target_rate",
            "Arrivals the schedule released in the last second (open model)",
            target_rate.clone(),
        );
        registry.register(
            "headroom_achieved_rate",
            "Requests sent in the last second",
            achieved_rate.clone(),
        );
        registry.register(
            "headroom_send_lag_p99_seconds",
            "99th percentile of send lag (actual minus intended send time) in the last second",
            lag_p99.clone(),
        );
        registry.register(
            "headroom_latency_seconds",
            "Latency from the intended send time, successful responses",
            latency.clone(),
        );
        registry.register(
            "headroom_search_step",
            "Step of the breaking-point search or concurrency sweep (0 outside one)",
            step.clone(),
        );
        registry.register(
            "headroom_search_level",
            "Rate (requests/s) or users of the current search or sweep step",
            level.clone(),
        );
        let faults = Family::<FaultLabel, Gauge>::default();
        registry.register(
            "headroom_fault_active",
            "1 while the [[fault]] is in effect on its proxy, else 0",
            faults.clone(),
        );
        Live {
            registry,
            starts: super::flow_starts(names.iter().map(String::as_str)),
            names: names.to_vec(),
            requests,
            sent,
            in_flight,
            target_rate,
            achieved_rate,
            lag_p99,
            latency,
            step,
            level,
            faults,
            outstanding: AtomicU64::new(0),
        }
    }

    /// A fault took effect (or ended).
    pub fn fault(&self, name: &str, active: bool) {
        let label = FaultLabel {
            fault: name.to_string(),
        };
        self.faults.get_or_create(&label).set(i64::from(active));
    }

    /// Folds in one second of the run.
    pub fn interval(&self, iv: &Interval) {
        use std::sync::atomic::Ordering::Relaxed;
        let mut sent = 0;
        let mut done = 0;
        for (s, name) in iv.per_request.iter().zip(&self.names) {
            let req = Req {
                request: name.clone(),
            };
            self.sent.get_or_create(&req).inc_by(s.sent);
            let ok = Outcome {
                request: name.clone(),
                outcome: "ok".into(),
            };
            self.requests.get_or_create(&ok).inc_by(s.ok);
            for (kind, n) in &s.errors {
                let o = Outcome {
                    request: name.clone(),
                    outcome: kind.label(),
                };
                self.requests.get_or_create(&o).inc_by(*n);
            }
            let h = self.latency.get_or_create(&req);
            for v in s.latency.iter_recorded() {
                let secs = v.value_iterated_to() as f64 / 1e6;
                for _ in 0..v.count_at_value() {
                    h.observe(secs);
                }
            }
            sent += s.sent;
            done += s.completed();
        }
        let outstanding = (self.outstanding.load(Relaxed) + sent).saturating_sub(done);
        self.outstanding.store(outstanding, Relaxed);
        self.in_flight.set(outstanding as i64);
        self.target_rate.set(iv.scheduled as f64);
        self.achieved_rate
            .set(super::flows_sent(&iv.per_request, &self.starts) as f64);
        let lag = if iv.all.lag.is_empty() {
            0.0
        } else {
            iv.all.lag.value_at_quantile(0.99) as f64 / 1e6
        };
        self.lag_p99.set(lag);
    }

    /// The search or sweep moved to `step` at `level` (rate or users).
    pub fn step(&self, step: usize, level: f64) {
        self.step.set(step as i64);
        self.level.set(level);
    }

    /// The exposition text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Serves `/metrics` on `addr` on a thread of its own until the handle is
/// dropped (after `linger`, so a last scrape sees the final counts).
pub struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    linger: Duration,
}

impl Server {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        std::thread::sleep(self.linger);
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub fn serve(live: Arc<Live>, addr: SocketAddr, linger: Duration) -> std::io::Result<Server> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let thread = std::thread::Builder::new()
        .name("headroom-metrics".into())
        .spawn(move || {
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                loop {
                    tokio::select! {
                        _ = &mut rx => return,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let live = live.clone();
                            tokio::spawn(async move {
                                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                                    let live = live.clone();
                                    async move { Ok::<_, std::convert::Infallible>(respond(&live, &req)) }
                                });
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), svc)
                                    .await;
                            });
                        }
                    }
                }
            });
        })?;
    Ok(Server {
        addr,
        stop: Some(tx),
        thread: Some(thread),
        linger,
    })
}

fn respond(live: &Live, req: &Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let mut r = if req.uri().path() == "/metrics" {
        let mut r = Response::new(Full::new(Bytes::from(live.encode())));
        if let Ok(v) = "text/plain; version=0.0.4; charset=utf-8".parse() {
            r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
        }
        r
    } else {
        Response::new(Full::new(Bytes::from_static(
            b"headroom: metrics at /metrics\n",
        )))
    };
    if req.uri().path() != "/metrics" {
        *r.status_mut() = StatusCode::NOT_FOUND;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{ErrorKind, Stats};

    #[test]
    fn a_fault_shows_as_its_gauge_while_in_effect() {
        let l = Live::new(&["home".into()], buckets(&[]));
        l.fault("db slow", true);
        let text = l.encode();
        crate::testing::has(&text, "headroom_fault_active{fault=\"db slow\"} 1");
        l.fault("db slow", false);
        crate::testing::has(&l.encode(), "headroom_fault_active{fault=\"db slow\"} 0");
    }

    #[test]
    fn buckets_hold_the_slo_thresholds() {
        let b = buckets(&[0.25, 0.001]);
        assert_eq!(b.first(), Some(&0.001));
        assert_eq!(b.last(), Some(&20.0));
        assert!(b.contains(&0.25) && b.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn an_interval_shows_in_the_exposition() {
        let live = Live::new(&["home".to_string()], buckets(&[0.1]));
        let mut s = Stats {
            sent: 7,
            ok: 6,
            ..Stats::default()
        };
        s.errors.insert(ErrorKind::Http(503), 1);
        // Five at or below the 100 ms bucket bound, one above it.
        for ms in [10, 20, 30, 40, 90, 150] {
            s.latency.record(ms * 1000).unwrap();
        }
        let iv = Interval {
            load: Default::default(),
            index: 0,
            scheduled: 7,
            scheduled_arms: Vec::new(),
            per_request: vec![s.clone()],
            all: s,
        };
        live.interval(&iv);
        live.step(3, 400.0);
        let text = live.encode();
        for want in [
            r#"headroom_requests_total{request="home",outcome="ok"} 6"#,
            r#"headroom_requests_total{request="home",outcome="http_503"} 1"#,
            r#"headroom_requests_sent_total{request="home"} 7"#,
            r#"headroom_latency_seconds_count{request="home"} 6"#,
            r#"headroom_latency_seconds_bucket{le="0.05",request="home"} 4"#,
            r#"headroom_latency_seconds_bucket{le="0.1",request="home"} 5"#,
            r#"headroom_latency_seconds_bucket{le="+Inf",request="home"} 6"#,
            "headroom_target_rate 7.0",
            "headroom_achieved_rate 7.0",
            "headroom_search_step 3",
            "headroom_in_flight 0",
        ] {
            assert!(text.contains(want), "{want} not in\n{text}");
        }
    }

    #[test]
    fn the_grafana_dashboard_asks_only_for_metrics_that_exist() {
        let dash: serde_json::Value =
            serde_json::from_str(include_str!("../../examples/grafana-dashboard.json")).unwrap();
        let live = Live::new(&["home".to_string()], buckets(&[]));
        let mut s = Stats {
            sent: 1,
            ok: 1,
            ..Stats::default()
        };
        s.latency.record(1000).unwrap();
        live.interval(&Interval {
            load: Default::default(),
            index: 0,
            scheduled: 1,
            scheduled_arms: Vec::new(),
            per_request: vec![s.clone()],
            all: s,
        });
        let text = live.encode();
        let mut used = 0;
        for panel in dash["panels"].as_array().unwrap() {
            for t in panel["targets"].as_array().unwrap() {
                let expr = t["expr"].as_str().unwrap();
                for (i, _) in expr.match_indices("headroom_") {
                    let name: String = expr[i..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    assert!(text.contains(&format!("\n{name}")), "{name} is not exposed");
                    used += 1;
                }
            }
        }
        assert!(used >= 10, "{used}");
    }
}
