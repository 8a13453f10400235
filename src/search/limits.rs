//! Who failed: the target or the generator. One rule for `run`, `find`,
//! `sweep` and `stress`:
//!
//! * The generator *fell behind* when arrivals were dropped, fewer than
//!   98 % of them were sent, or the send lag p99 passed 25 ms.
//! * It fell behind because of the **target** when every connection was
//!   held by an outstanding request and the answers were slow (the service
//!   time breaks a latency SLO; without one, it nears the request timeout):
//!   arrivals found no free connection because of the target's own
//!   backpressure.
//! * It fell behind because of **itself** when the connection limit was
//!   reached while answers came quickly (`connection_cap`), when this
//!   machine ran out of file descriptors or ports (`local_resources`), or
//!   when the send lag grew while connections were free (`generator_cpu`).
//!
//! Apart from that, some errors say nothing about capacity at all: a 403 on
//! every request, failed TLS handshakes, a refused connection at a rate the
//! target already served. [`not_a_capacity_limit`] names them.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::metrics::ErrorKind;
use crate::results::verdict::Attribution;
use crate::scenario::Slo;
use crate::units::{fmt_count, fmt_ms};

/// Send lag beyond this at p99 means the generator fell behind its schedule.
pub const LAG_P99_LIMIT_MS: f64 = 25.0;
/// Achieved rate below this share of the target means the generator fell behind.
pub const ACHIEVED_SHARE_MIN: f64 = 0.98;

/// What a stretch of load (a second, a step, a whole run) tells about the
/// generator's side.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// Open model: arrivals were scheduled (the closed model has no schedule
    /// to fall behind, only think times to wake late from).
    pub open_model: bool,
    /// Arrivals due.
    pub scheduled: u64,
    /// Arrivals sent (flows started).
    pub sent: u64,
    /// Arrivals that found every connection busy at the limit.
    pub no_free_connection: u64,
    /// Arrivals never sent: no free connection within the request timeout.
    pub dropped: u64,
    /// Connections that failed for lack of local resources.
    pub local_errors: u64,
    /// Connects and requests the target left unanswered within their
    /// timeouts: each held a connection (or its opening) that long.
    pub timeouts: u64,
    /// Requests the connections could carry at once.
    pub lanes: u64,
    /// Send lag, µs.
    pub lag: &'a Histogram<u64>,
    /// Service time (from the actual send), µs.
    pub service: &'a Histogram<u64>,
    /// The request timeout: without a latency SLO, answers count as slow
    /// from half of it.
    pub timeout: Duration,
}

/// The attribution with its evidence in words.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    pub attribution: Attribution,
    /// How the generator fell behind its schedule (empty: it did not).
    pub behind: Vec<String>,
    /// Why the attribution is what it is, in terms a reader can act on.
    pub why: String,
}

fn p99_ms(h: &Histogram<u64>) -> Option<f64> {
    (!h.is_empty()).then(|| h.value_at_quantile(0.99) as f64 / 1000.0)
}

/// How the generator fell behind its schedule, if it did.
pub fn behind(e: &Evidence) -> Vec<String> {
    let mut notes = Vec::new();
    if e.open_model {
        if e.dropped > 0 {
            notes.push(format!(
                "{} arrivals found no free connection within the request timeout and were not sent",
                e.dropped
            ));
        }
        if e.scheduled > 0 && (e.sent as f64) < ACHIEVED_SHARE_MIN * e.scheduled as f64 {
            notes.push(format!(
                "sent {} of {} scheduled ({:.1} %)",
                e.sent,
                e.scheduled,
                100.0 * e.sent as f64 / e.scheduled as f64
            ));
        }
    }
    if let Some(lag) = p99_ms(e.lag).filter(|&l| l > LAG_P99_LIMIT_MS) {
        notes.push(format!(
            "send lag p99 {} > {LAG_P99_LIMIT_MS} ms",
            fmt_ms(lag)
        ));
    }
    notes
}

/// The first latency SLO that the service time alone already breaks, in
/// words. Service time is a lower bound on the latency the target gave
/// (the wait for a connection only adds to it), so such a breach is the
/// target's whatever the generator did.
pub fn service_breach(slo: &Slo, service: &Histogram<u64>) -> Option<String> {
    if service.is_empty() {
        return None;
    }
    slo.latency.iter().find_map(|l| {
        let v = service.value_at_quantile(l.quantile) as f64 / 1000.0;
        let limit = l.max.as_secs_f64() * 1000.0;
        (v > limit).then(|| format!("service time {} {} > {}", l.label, fmt_ms(v), fmt_ms(limit)))
    })
}

/// Were the target's answers slow? Against the latency SLO when there is
/// one, else against half the request timeout.
fn slow_answers(e: &Evidence, slo: &Slo) -> Option<String> {
    if !slo.latency.is_empty() {
        return service_breach(slo, e.service);
    }
    let p99 = p99_ms(e.service)?;
    let half = e.timeout.as_secs_f64() * 500.0;
    (p99 >= half).then(|| {
        format!(
            "service time p99 {}, over half the {} request timeout",
            fmt_ms(p99),
            fmt_ms(2.0 * half)
        )
    })
}

/// Who held the load back (see the module's rules).
pub fn attribute(e: &Evidence, slo: &Slo) -> Limit {
    let behind = behind(e);
    if behind.is_empty() {
        return Limit {
            attribution: Attribution::None,
            behind,
            why: "the generator kept to its schedule".into(),
        };
    }
    let blocked = e.no_free_connection.max(e.dropped);
    let service = p99_ms(e.service).map_or("no answer".into(), |v| format!("p99 {}", fmt_ms(v)));
    let (attribution, why) = if blocked > 0 {
        // Timeouts on 1 % of requests or more held connections for whole
        // timeouts: a backlog the target does not drain.
        let unanswered = (e.timeouts * 100 >= e.sent.max(1)).then(|| {
            format!(
                "{} connects or requests went unanswered within the timeout",
                fmt_count(e.timeouts as f64)
            )
        });
        match slow_answers(e, slo).or(unanswered) {
            Some(slow) => (
                Attribution::TargetSaturated,
                format!(
                    "the target held every connection ({} arrivals found none free) and answered slowly ({slow}): its backpressure, not the generator's limit",
                    fmt_count(blocked as f64)
                ),
            ),
            None => (
                Attribution::ConnectionCap,
                format!(
                    "{} arrivals found all {} connections busy while answers came within the SLO (service time {service}): the connection limit held the load back — raise connections",
                    fmt_count(blocked as f64),
                    e.lanes
                ),
            ),
        }
    } else if e.timeouts > 0 && e.service.is_empty() {
        // Connections still opening hold the arrivals: a target whose
        // listen backlog is full answers nothing, connects time out.
        (
            Attribution::TargetSaturated,
            format!(
                "the target answered nothing: {} connects or requests went unanswered within the timeout (a full listen backlog, or a target that stopped)",
                fmt_count(e.timeouts as f64)
            ),
        )
    } else if e.local_errors > 0 {
        (
            Attribution::LocalResources,
            format!(
                "{} connections failed for lack of local file descriptors or ports — raise `ulimit -n`, widen the local port range, or split the load into segments",
                e.local_errors
            ),
        )
    } else {
        (
            Attribution::GeneratorCpu,
            format!(
                "the send lag grew while connections were free (service time {service}): the generator is short of CPU — more threads, a quieter machine, or segments"
            ),
        )
    };
    Limit {
        attribution,
        behind,
        why,
    }
}

/// One request name's outcomes, for [`not_a_capacity_limit`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// The path as the scenario wrote it (templates unrendered).
    pub path: String,
    /// Requests with an outcome (ok or error).
    pub completed: u64,
    pub errors: BTreeMap<ErrorKind, u64>,
}

/// Errors load does not explain — at a rate the target already served, or
/// the first one tried: client errors other than 408 and 429, failed TLS
/// handshakes, refused connections, answers that are not HTTP, and a
/// server that does not speak the HTTP/2 it was asked to.
pub fn unexplained(kind: ErrorKind) -> bool {
    match kind {
        ErrorKind::Http(s) => (400..500).contains(&s) && s != 408 && s != 429,
        ErrorKind::Tls
        | ErrorKind::ConnectRefused
        | ErrorKind::Protocol
        | ErrorKind::H2NotSupported => true,
        _ => false,
    }
}

/// Fewer unexplained errors than this are never enough to call a target
/// unusable (one bad row of test data is not a broken target).
const MIN_UNEXPLAINED: u64 = 5;

/// When errors that load does not explain are more than the error SLO
/// allows (more than half of all answers without an error SLO), the words
/// to stop with: what failed, where, and what to check. Call it only for
/// load the target should bear: the first rate tried, or one at or below a
/// rate it served (above that, a 403 or a refusal may be how it sheds load).
pub fn not_a_capacity_limit(
    tallies: &[Tally],
    rate: Option<f64>,
    error_slo: Option<f64>,
) -> Option<String> {
    let completed: u64 = tallies.iter().map(|t| t.completed).sum();
    let mut by_kind: BTreeMap<ErrorKind, (u64, &str, u64)> = BTreeMap::new();
    for t in tallies {
        for (&k, &n) in &t.errors {
            if n == 0 || !unexplained(k) {
                continue;
            }
            let e = by_kind.entry(k).or_insert((0, &t.path, 0));
            e.0 += n;
            if n > e.2 {
                (e.1, e.2) = (&t.path, n);
            }
        }
    }
    let total: u64 = by_kind.values().map(|v| v.0).sum();
    let share = total as f64 / completed.max(1) as f64;
    if total < MIN_UNEXPLAINED || share <= error_slo.unwrap_or(0.5) {
        return None;
    }
    let (&kind, &(n, path, _)) = by_kind.iter().max_by_key(|(_, v)| v.0)?;
    let what = match kind {
        ErrorKind::Http(s) => format!(
            "answered {s}{}",
            http::StatusCode::from_u16(s)
                .ok()
                .and_then(|c| c.canonical_reason())
                .map_or(String::new(), |r| format!(" {r}"))
        ),
        ErrorKind::Tls => "failed the TLS handshake".into(),
        ErrorKind::Protocol => "got an answer that is not HTTP".into(),
        ErrorKind::H2NotSupported => "got no HTTP/2 answer".into(),
        _ => "had its connection refused".into(),
    };
    let advice = match kind {
        ErrorKind::Http(401 | 403 | 407) => "check the URL and credentials",
        ErrorKind::Http(404 | 405 | 410) => "check the URL and method",
        ErrorKind::Http(_) => "check the request (URL, method, headers, body)",
        ErrorKind::Tls => {
            "check the scheme (does the port serve HTTPS?), the certificate, server_name and ca_file"
        }
        ErrorKind::Protocol => "check that the URL's port serves HTTP (https:// for TLS)",
        ErrorKind::H2NotSupported => {
            "the server speaks HTTP/1.1 only: drop --http 2 (or use https://, where ALPN chooses)"
        }
        _ => "the target stopped accepting connections (did it go down?)",
    };
    let at = rate.map_or(String::new(), |r| {
        format!(" at {} requests/s", fmt_count(r))
    });
    let who = if n == completed {
        format!("every request to {path}")
    } else {
        format!(
            "{:.1} % of requests ({n} of {completed}, e.g. to {path})",
            100.0 * n as f64 / completed.max(1) as f64
        )
    };
    Some(format!("{who} {what}{at}: not a capacity limit — {advice}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{micros, new_histogram};

    fn slo(ms: u64) -> Slo {
        Slo::p99(Duration::from_millis(ms), Some(0.01))
    }

    fn hist(ms: u64, n: u64) -> Histogram<u64> {
        let mut h = new_histogram();
        h.record_n(micros(Duration::from_millis(ms)), n).unwrap();
        h
    }

    fn evidence<'a>(lag: &'a Histogram<u64>, service: &'a Histogram<u64>) -> Evidence<'a> {
        Evidence {
            open_model: true,
            scheduled: 1000,
            sent: 1000,
            no_free_connection: 0,
            dropped: 0,
            local_errors: 0,
            timeouts: 0,
            lanes: 64,
            lag,
            service,
            timeout: Duration::from_secs(10),
        }
    }

    /// What `attribute` says of `e`, asserted to be `want`.
    #[track_caller]
    fn attributed(e: &Evidence, slo: &Slo, want: Attribution) -> Limit {
        let l = attribute(e, slo);
        assert_eq!(l.attribution, want, "{}", l.why);
        l
    }

    #[test]
    fn a_generator_on_schedule_is_never_blamed() {
        let (lag, svc) = (hist(1, 1000), hist(900, 1000));
        let l = attributed(&evidence(&lag, &svc), &slo(100), Attribution::None);
        assert!(l.behind.is_empty());
    }

    #[test]
    fn busy_connections_with_slow_answers_are_the_targets_backpressure() {
        // The unbounded queue at twice its capacity: half the arrivals
        // wait for a connection, answers take over a second.
        let (lag, svc) = (hist(800, 500), hist(1250, 500));
        let e = Evidence {
            sent: 530,
            no_free_connection: 470,
            ..evidence(&lag, &svc)
        };
        let l = attributed(&e, &slo(100), Attribution::TargetSaturated);
        crate::testing::has(&l.why, "service time p99 1.25 s > 100 ms");
        assert_eq!(l.behind.len(), 2, "{:?}", l.behind);
        // Without a latency SLO, slow is half the request timeout.
        let no_latency = Slo {
            latency: vec![],
            ..slo(100)
        };
        attributed(&e, &no_latency, Attribution::ConnectionCap);
        let e = Evidence {
            timeout: Duration::from_secs(2),
            ..e
        };
        attributed(&e, &no_latency, Attribution::TargetSaturated);
    }

    #[test]
    fn a_target_that_answers_nothing_is_saturated_not_the_generator() {
        // A full listen backlog: one arrival of 100 sent, connects time out.
        let (lag, svc) = (hist(1, 1), new_histogram());
        let e = Evidence {
            scheduled: 100,
            sent: 1,
            timeouts: 6,
            ..evidence(&lag, &svc)
        };
        let l = attributed(&e, &slo(100), Attribution::TargetSaturated);
        crate::testing::starts(&l.why, "the target answered nothing: 6 connects");
    }

    #[test]
    fn busy_connections_with_quick_answers_are_the_connection_cap() {
        let (lag, svc) = (hist(300, 200), hist(20, 200));
        let e = Evidence {
            sent: 200,
            no_free_connection: 800,
            lanes: 2,
            ..evidence(&lag, &svc)
        };
        let l = attributed(&e, &slo(200), Attribution::ConnectionCap);
        crate::testing::has(&l.why, "all 2 connections busy");
        assert!(l.attribution.is_generator());
    }

    #[test]
    fn lag_with_free_connections_is_the_generators_cpu() {
        let (lag, svc) = (hist(40, 1000), hist(5, 1000));
        let l = attributed(&evidence(&lag, &svc), &slo(100), Attribution::GeneratorCpu);
        assert!(l.behind[0].contains("send lag p99 40"), "{:?}", l.behind);
        let e = Evidence {
            local_errors: 3,
            ..evidence(&lag, &svc)
        };
        attributed(&e, &slo(100), Attribution::LocalResources);
    }

    fn tally(path: &str, completed: u64, errors: &[(ErrorKind, u64)]) -> Tally {
        Tally {
            path: path.into(),
            completed,
            errors: errors.iter().copied().collect(),
        }
    }

    #[test]
    fn errors_load_does_not_explain_are_named_with_a_path() {
        let all_403 = [tally("/x", 200, &[(ErrorKind::Http(403), 200)])];
        let why = not_a_capacity_limit(&all_403, Some(50.0), Some(0.01)).unwrap();
        assert_eq!(
            why,
            "every request to /x answered 403 Forbidden at 50 requests/s: not a capacity limit — check the URL and credentials"
        );
        // Overload answers are not unexplained: 503, 429, 408, timeouts.
        let overload = [tally(
            "/",
            200,
            &[
                (ErrorKind::Http(503), 150),
                (ErrorKind::Http(429), 20),
                (ErrorKind::RequestTimeout, 20),
            ],
        )];
        assert_eq!(not_a_capacity_limit(&overload, None, Some(0.01)), None);
        let refused = [tally("/", 100, &[(ErrorKind::ConnectRefused, 100)])];
        let why = not_a_capacity_limit(&refused, None, None).unwrap();
        crate::testing::has(&why, "had its connection refused");
        // Without an error SLO, only a majority counts; a handful never does.
        let some = [
            tally("/a", 100, &[(ErrorKind::Http(404), 40)]),
            tally("/b", 100, &[]),
        ];
        assert_eq!(not_a_capacity_limit(&some, None, None), None);
        let why = not_a_capacity_limit(&some, None, Some(0.01)).unwrap();
        crate::testing::starts(
            &why,
            "20.0 % of requests (40 of 200, e.g. to /a) answered 404 Not Found",
        );
        let few = [tally("/a", 10, &[(ErrorKind::Http(404), 4)])];
        assert_eq!(not_a_capacity_limit(&few, None, Some(0.01)), None);
    }
}
