//! Queueing formulas for capacity sizing: the M/M/c (Erlang C) queue and
//! the rules of thumb that sit beside it.
//!
//! [`MmcQueue`] answers "with c servers, how long do requests wait?":
//! Erlang B (computed with the numerically stable recursion) and Erlang C
//! P(wait), mean wait (ASA), service level P(wait ≤ t), occupancy, mean queue
//! length and mean response time. [`smallest_servers`] inverts that for a
//! service-level target, [`littles_law_throughput_per_s`] /
//! [`littles_law_concurrency`] apply N = X·R, and [`n_plus_k`] is the SRE
//! book's N+k redundancy rule. Units are in the parameter names: rates per
//! second, times in seconds, load in Erlang (= arrival rate × mean service).
//! No function panics: bad input is rejected by [`MmcQueue::new`] or yields
//! the documented `None`/NaN, and an unstable queue (load ≥ servers) gives
//! the limiting values (P(wait) = 1, infinite wait).

/// Why an [`MmcQueue`] could not be built.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum QueueError {
    /// Arrival rate must be finite and > 0.
    #[error("arrival rate must be finite and positive, got {0} /s")]
    InvalidArrivalRate(f64),
    /// Mean service time must be finite and > 0.
    #[error("mean service time must be finite and positive, got {0} s")]
    InvalidServiceTime(f64),
    /// At least one server is needed.
    #[error("an M/M/c queue needs at least one server")]
    NoServers,
}

/// Offered load A = λ·s in Erlang (mean number of busy servers needed).
pub fn offered_load_erlang(arrival_rate_per_s: f64, mean_service_s: f64) -> f64 {
    arrival_rate_per_s * mean_service_s
}

/// Erlang B blocking probability for `servers` and load A (M/M/c/c).
///
/// Uses B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1)): every term stays in
/// [0, 1], unlike the textbook Aᶜ/c! ratio which overflows past c ≈ 170.
/// Returns NaN when A is negative or not finite; 1 when `servers` = 0.
pub fn erlang_b(servers: u32, offered_load_erlang: f64) -> f64 {
    let a = offered_load_erlang;
    if !a.is_finite() || a < 0.0 {
        return f64::NAN;
    }
    (1..=servers).fold(1.0, |b, k| erlang_b_step(b, k, a))
}

/// One step of the Erlang B recursion, B(k−1) → B(k).
fn erlang_b_step(b_prev: f64, k: u32, a: f64) -> f64 {
    let ab = a * b_prev;
    ab / (f64::from(k) + ab)
}

/// Erlang C: probability an arrival has to wait in an M/M/c queue.
///
/// C = c·B / (c − A(1 − B)) from Erlang B, which inherits its stability.
/// Returns 1 when A ≥ c (unstable: the queue grows without bound, so
/// everyone waits) or `servers` = 0, and NaN when A is negative or not finite.
pub fn erlang_c(servers: u32, offered_load_erlang: f64) -> f64 {
    let a = offered_load_erlang;
    if !a.is_finite() || a < 0.0 {
        return f64::NAN;
    }
    erlang_c_from_b(servers, a, erlang_b(servers, a))
}

fn erlang_c_from_b(servers: u32, a: f64, b: f64) -> f64 {
    let c = f64::from(servers);
    if a >= c {
        return 1.0;
    }
    c * b / (c - a * (1.0 - b))
}

/// An M/M/c queue: Poisson arrivals, exponential service, `servers`
/// identical servers, unbounded FIFO queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmcQueue {
    arrival_rate_per_s: f64,
    mean_service_s: f64,
    servers: u32,
}

impl MmcQueue {
    /// Build a queue; an unstable one (A ≥ c) is allowed and reports the
    /// limiting values from its methods.
    ///
    /// # Errors
    /// A non-finite or non-positive rate or service time, or zero servers.
    pub fn new(
        arrival_rate_per_s: f64,
        mean_service_s: f64,
        servers: u32,
    ) -> Result<Self, QueueError> {
        if !(arrival_rate_per_s.is_finite() && arrival_rate_per_s > 0.0) {
            return Err(QueueError::InvalidArrivalRate(arrival_rate_per_s));
        }
        if !(mean_service_s.is_finite() && mean_service_s > 0.0) {
            return Err(QueueError::InvalidServiceTime(mean_service_s));
        }
        if servers == 0 {
            return Err(QueueError::NoServers);
        }
        Ok(Self {
            arrival_rate_per_s,
            mean_service_s,
            servers,
        })
    }

    /// Arrival rate λ in arrivals per second.
    pub fn arrival_rate_per_s(&self) -> f64 {
        self.arrival_rate_per_s
    }
    /// Mean service time s in seconds (μ = 1/s).
    pub fn mean_service_s(&self) -> f64 {
        self.mean_service_s
    }
    /// Number of servers c.
    pub fn servers(&self) -> u32 {
        self.servers
    }

    /// Offered load A = λ·s in Erlang.
    pub fn offered_load_erlang(&self) -> f64 {
        offered_load_erlang(self.arrival_rate_per_s, self.mean_service_s)
    }

    /// True when A < c (λ < cμ), i.e. the queue has a steady state.
    pub fn is_stable(&self) -> bool {
        self.offered_load_erlang() < f64::from(self.servers)
    }

    /// Erlang B for this load and server count (blocking if there were no queue).
    pub fn erlang_b(&self) -> f64 {
        erlang_b(self.servers, self.offered_load_erlang())
    }

    /// Erlang C P(wait > 0); 1 when unstable.
    pub fn p_wait(&self) -> f64 {
        erlang_c(self.servers, self.offered_load_erlang())
    }

    /// Mean wait in queue over all arrivals (ASA), Wq = C·s/(c − A), in
    /// seconds; infinite when unstable.
    pub fn mean_wait_s(&self) -> f64 {
        match self.spare_servers() {
            Some(spare) => self.p_wait() * self.mean_service_s / spare,
            None => f64::INFINITY,
        }
    }

    /// Service level P(wait ≤ `target_wait_s`) = 1 − C·e^{−(c−A)·t/s}.
    /// 0 when unstable or when the target is negative; NaN for a NaN target.
    pub fn service_level(&self, target_wait_s: f64) -> f64 {
        if target_wait_s.is_nan() {
            return f64::NAN;
        }
        match self.spare_servers() {
            Some(spare) if target_wait_s >= 0.0 => {
                1.0 - self.p_wait() * (-spare * target_wait_s / self.mean_service_s).exp()
            }
            _ => 0.0,
        }
    }

    /// Occupancy (utilisation) ρ = A/c. Not capped: a value ≥ 1 is the
    /// offered per-server load of an unstable queue, whose servers are in
    /// fact saturated.
    pub fn occupancy(&self) -> f64 {
        self.offered_load_erlang() / f64::from(self.servers)
    }

    /// Mean number waiting in queue, Lq = C·A/(c − A) (= λ·Wq); infinite
    /// when unstable.
    pub fn mean_queue_length(&self) -> f64 {
        match self.spare_servers() {
            Some(spare) => self.p_wait() * self.offered_load_erlang() / spare,
            None => f64::INFINITY,
        }
    }

    /// Mean response time W = Wq + s in seconds; infinite when unstable.
    pub fn mean_response_s(&self) -> f64 {
        self.mean_wait_s() + self.mean_service_s
    }

    /// P(T > t): the chance that a response takes longer than `t_s`
    /// seconds (wait plus exponential service, FIFO). With θ = cμ − λ the
    /// wait is 0 with probability 1 − C and Exp(θ) otherwise, so
    /// P(T > t) = (1 − C)·e^(−μt) + C·(θe^(−μt) − μe^(−θt)) / (θ − μ),
    /// and C·e^(−μt)(1 + μt) in the limit θ = μ. 1 when unstable.
    pub fn response_time_exceedance(&self, t_s: f64) -> f64 {
        if t_s <= 0.0 {
            return 1.0;
        }
        if !self.is_stable() {
            return 1.0;
        }
        let mu = 1.0 / self.mean_service_s;
        let theta = f64::from(self.servers) * mu - self.arrival_rate_per_s;
        let c = self.p_wait();
        let service_tail = (-mu * t_s).exp();
        let sum_tail = if ((theta - mu) / mu).abs() < 1e-9 {
            service_tail * (1.0 + mu * t_s)
        } else {
            (theta * service_tail - mu * (-theta * t_s).exp()) / (theta - mu)
        };
        ((1.0 - c) * service_tail + c * sum_tail).clamp(0.0, 1.0)
    }

    /// c − A when positive (stable), else `None`.
    fn spare_servers(&self) -> Option<f64> {
        let spare = f64::from(self.servers) - self.offered_load_erlang();
        (spare > 0.0).then_some(spare)
    }
}

/// The highest arrival rate at which an M/M/c queue still answers a share
/// `quantile` of requests within `t_s` (P(T > t) ≤ 1 − quantile). `None`
/// when even a trickle cannot (the service time alone is too slow).
pub fn max_rate_for_response_quantile(
    servers: u32,
    mean_service_s: f64,
    quantile: f64,
    t_s: f64,
) -> Option<f64> {
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if servers == 0
        || !positive(mean_service_s)
        || !(0.0..1.0).contains(&quantile)
        || !positive(t_s)
    {
        return None;
    }
    let cap = f64::from(servers) / mean_service_s;
    let exceeds = |rate: f64| {
        MmcQueue::new(rate, mean_service_s, servers)
            .map_or(1.0, |q| q.response_time_exceedance(t_s))
    };
    let allowed = 1.0 - quantile;
    let (mut lo, mut hi) = (cap * 1e-9, cap * (1.0 - 1e-12));
    if exceeds(lo) > allowed {
        return None;
    }
    // P(T > t) grows with the arrival rate: bisect to double precision.
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if exceeds(mid) > allowed {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(lo)
}

/// Fewest servers c such that P(wait ≤ `target_wait_s`) ≥ `service_level`
/// and occupancy A/c ≤ `max_occupancy`.
///
/// Both criteria improve monotonically with c, so the first c that meets
/// them is the answer. Erlang B is carried along the recursion, so the
/// search costs O(c) in total. Returns `None` for invalid input (rate or
/// service time not finite and positive, negative or NaN target wait,
/// service level outside [0, 1], occupancy not > 0), or if no c up to a
/// generous cap (A/min(max_occupancy, 1) + 50√A + 1000) meets the target.
pub fn smallest_servers(
    arrival_rate_per_s: f64,
    mean_service_s: f64,
    target_wait_s: f64,
    service_level: f64,
    max_occupancy: f64,
) -> Option<u32> {
    let valid = arrival_rate_per_s.is_finite()
        && arrival_rate_per_s > 0.0
        && mean_service_s.is_finite()
        && mean_service_s > 0.0
        && target_wait_s >= 0.0
        && (0.0..=1.0).contains(&service_level)
        && max_occupancy > 0.0;
    if !valid {
        return None;
    }
    let a = offered_load_erlang(arrival_rate_per_s, mean_service_s);
    let cap = (a / max_occupancy.min(1.0) + 50.0 * a.sqrt() + 1000.0).min(f64::from(u32::MAX));
    let mut b = 1.0;
    let mut c: u32 = 0;
    while f64::from(c) < cap {
        c += 1;
        b = erlang_b_step(b, c, a);
        let cf = f64::from(c);
        if cf <= a || a / cf > max_occupancy {
            continue;
        }
        let p_wait = erlang_c_from_b(c, a, b);
        let sl = 1.0 - p_wait * (-(cf - a) * target_wait_s / mean_service_s).exp();
        if sl >= service_level {
            return Some(c);
        }
    }
    None
}

/// Little's law solved for throughput: X = N / R, in per second when the
/// response time is in seconds. `None` unless `concurrency` is finite and
/// ≥ 0 and `response_s` finite and > 0.
pub fn littles_law_throughput_per_s(concurrency: f64, response_s: f64) -> Option<f64> {
    (concurrency.is_finite() && concurrency >= 0.0 && response_s.is_finite() && response_s > 0.0)
        .then(|| concurrency / response_s)
}

/// Little's law solved for concurrency: N = X·R. `None` unless both inputs
/// are finite and ≥ 0.
pub fn littles_law_concurrency(throughput_per_s: f64, response_s: f64) -> Option<f64> {
    (throughput_per_s.is_finite()
        && throughput_per_s >= 0.0
        && response_s.is_finite()
        && response_s >= 0.0)
        .then_some(throughput_per_s * response_s)
}

/// N+k sizing (Google SRE book, ch. 2): ⌈peak / per-instance⌉ + k instances.
///
/// The ratio is snapped to an integer when within 1e-9 relative of one, so
/// float noise (1.1 / 0.1 = 11.000000000000002) does not add an instance.
/// `None` when `peak_rps` is negative or not finite, `per_instance_rps` is
/// not finite and positive, or the count overflows `u32`.
pub fn n_plus_k(peak_rps: f64, per_instance_rps: f64, k: u32) -> Option<u32> {
    let valid = peak_rps.is_finite()
        && peak_rps >= 0.0
        && per_instance_rps.is_finite()
        && per_instance_rps > 0.0;
    if !valid {
        return None;
    }
    let ratio = peak_rps / per_instance_rps;
    let nearest = ratio.round();
    let n = if (ratio - nearest).abs() <= 1e-9 * nearest {
        nearest
    } else {
        ratio.ceil()
    };
    if n > f64::from(u32::MAX) {
        return None;
    }
    // `n` is a non-negative integer below u32::MAX here, so the cast is exact.
    (n as u32).checked_add(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALL_CENTRE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/erlang_c_call_centre.csv"
    ));

    /// R package ErlangC docs / pyworkforce tests (reference README), every
    /// row and column to 1e-9 relative.
    #[test]
    fn call_centre_rows_match() {
        let mut lines = CALL_CENTRE.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let mut rows = 0;
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let v: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
            let col = |name: &str| v[header.iter().position(|h| *h == name).unwrap()];
            let rate = col("calls") / col("period_s");
            let q = MmcQueue::new(rate, col("aht_s"), col("agents") as u32).unwrap();
            assert!((q.offered_load_erlang() - col("traffic_erlang")).abs() < 1e-12);
            for (name, got) in [
                ("erlang_b", q.erlang_b()),
                ("p_wait", q.p_wait()),
                ("asa_s", q.mean_wait_s()),
                ("service_level", q.service_level(col("target_s"))),
                ("occupancy", q.occupancy()),
                ("lq", q.mean_queue_length()),
                ("w_s", q.mean_response_s()),
            ] {
                let want = col(name);
                let dev = ((got - want) / want).abs();
                assert!(
                    dev < 1e-9,
                    "agents {} {name}: {got} vs {want} ({dev:e})",
                    q.servers()
                );
            }
            rows += 1;
        }
        assert_eq!(rows, 5);
    }

    /// Reference README: 80 % answered within 20 s and occupancy ≤ 85 %
    /// needs 14 agents for 100 calls / 30 min at 180 s AHT.
    #[test]
    fn call_centre_smallest_servers() {
        let rate = 100.0 / 1800.0;
        assert_eq!(smallest_servers(rate, 180.0, 20.0, 0.80, 0.85), Some(14));
        // Occupancy alone: A = 10 at ≤ 85 % needs 12 (10/12 = 0.833).
        assert_eq!(smallest_servers(rate, 180.0, 20.0, 0.0, 0.85), Some(12));
        // Cross-check against the direct evaluation at 13 and 14.
        let sl = |c| MmcQueue::new(rate, 180.0, c).unwrap().service_level(20.0);
        assert!(sl(13) < 0.80 && sl(14) >= 0.80);
        for bad in [
            smallest_servers(0.0, 180.0, 20.0, 0.8, 0.85),
            smallest_servers(rate, -1.0, 20.0, 0.8, 0.85),
            smallest_servers(rate, 180.0, f64::NAN, 0.8, 0.85),
            smallest_servers(rate, 180.0, 20.0, 1.5, 0.85),
            smallest_servers(rate, 180.0, 20.0, 0.8, 0.0),
        ] {
            assert_eq!(bad, None);
        }
    }

    #[test]
    fn unstable_and_invalid_input() {
        // A = 10 on 10 servers: λ = cμ, no steady state.
        let q = MmcQueue::new(100.0 / 1800.0, 180.0, 10).unwrap();
        assert!(!q.is_stable());
        assert_eq!(q.p_wait(), 1.0);
        assert_eq!(q.mean_wait_s(), f64::INFINITY);
        assert_eq!(q.mean_queue_length(), f64::INFINITY);
        assert_eq!(q.mean_response_s(), f64::INFINITY);
        assert_eq!(q.service_level(20.0), 0.0);
        assert!((q.occupancy() - 1.0).abs() < 1e-12);
        assert!(q.erlang_b() > 0.0 && q.erlang_b() < 1.0);

        assert_eq!(
            MmcQueue::new(0.0, 1.0, 1),
            Err(QueueError::InvalidArrivalRate(0.0))
        );
        assert_eq!(
            MmcQueue::new(1.0, -2.0, 1),
            Err(QueueError::InvalidServiceTime(-2.0))
        );
        assert_eq!(MmcQueue::new(1.0, 1.0, 0), Err(QueueError::NoServers));
        assert!(MmcQueue::new(f64::NAN, 1.0, 1).is_err());
        assert!(erlang_b(3, -1.0).is_nan());
        assert!(erlang_c(3, f64::INFINITY).is_nan());
        assert_eq!(erlang_c(0, 1.0), 1.0);
        assert_eq!(erlang_b(0, 1.0), 1.0);
    }

    /// The recursion must stay finite where Aᶜ/c! would overflow.
    #[test]
    fn erlang_b_large_server_counts() {
        let b = erlang_b(2000, 1900.0);
        assert!(b.is_finite() && b > 0.0 && b < 0.05, "{b}");
        let c = erlang_c(2000, 1900.0);
        assert!(c.is_finite() && c > b && c < 1.0, "{c}");
        // Single server: C = ρ, B = A/(1+A).
        assert!((erlang_c(1, 0.5) - 0.5).abs() < 1e-15);
        assert!((erlang_b(1, 0.5) - 0.5 / 1.5).abs() < 1e-15);
    }

    /// Reference README: N = 3 in flight at R = 600 ms ⇒ X = 5/s.
    #[test]
    fn littles_law() {
        let x = littles_law_throughput_per_s(3.0, 0.600).unwrap();
        assert!((x - 5.0).abs() < 1e-12);
        let n = littles_law_concurrency(5.0, 0.600).unwrap();
        assert!((n - 3.0).abs() < 1e-12);
        assert_eq!(littles_law_throughput_per_s(3.0, 0.0), None);
        assert_eq!(littles_law_concurrency(-1.0, 0.6), None);
    }

    /// Google SRE book ch. 2 (reference README): ~100 QPS per task.
    #[test]
    fn sre_book_n_plus_k() {
        assert_eq!(n_plus_k(3470.0, 100.0, 0), Some(35));
        assert_eq!(n_plus_k(3470.0, 100.0, 2), Some(37));
        assert_eq!(n_plus_k(1430.0, 100.0, 2), Some(17));
        assert_eq!(n_plus_k(1400.0, 100.0, 2), Some(16));
        assert_eq!(n_plus_k(350.0, 100.0, 2), Some(6));
        assert_eq!(n_plus_k(290.0, 100.0, 1), Some(4));
        assert_eq!(n_plus_k(1.1, 0.1, 0), Some(11));
        assert_eq!(n_plus_k(0.0, 100.0, 2), Some(2));
        assert_eq!(n_plus_k(100.0, 0.0, 2), None);
        assert_eq!(n_plus_k(f64::NAN, 100.0, 2), None);
        assert_eq!(n_plus_k(1e12, 1.0, 0), None);
    }

    /// ∫₀^∞ P(T > t) dt = E[T]: the response-time tail integrates to the
    /// Erlang C mean response time (Gross & Harris, M/M/c waiting time).
    #[test]
    fn response_tail_integrates_to_the_mean_response_time() {
        for (rate, servers) in [(400.0, 8u32), (700.0, 8), (90.0, 1), (750.0, 8)] {
            let q = MmcQueue::new(rate, 0.01, servers).unwrap();
            let (mut area, dt) = (0.0, 1e-5);
            let mut t = dt / 2.0;
            while t < 2.0 {
                area += q.response_time_exceedance(t) * dt;
                t += dt;
            }
            let rel = (area - q.mean_response_s()).abs() / q.mean_response_s();
            assert!(
                rel < 1e-6,
                "rate {rate}: ∫tail {area} vs mean {}",
                q.mean_response_s()
            );
        }
        // θ = μ (λ = 700, c = 8, μ = 100) is the continuous limit of the general form.
        let at = MmcQueue::new(700.0, 0.01, 8)
            .unwrap()
            .response_time_exceedance(0.05);
        let near = MmcQueue::new(700.0 + 1e-4, 0.01, 8)
            .unwrap()
            .response_time_exceedance(0.05);
        assert!((at - near).abs() < 1e-6);
    }

    #[test]
    fn max_rate_for_a_response_quantile_inverts_the_tail() {
        let rate = max_rate_for_response_quantile(8, 0.01, 0.99, 0.06).unwrap();
        let q = MmcQueue::new(rate, 0.01, 8).unwrap();
        assert!((q.response_time_exceedance(0.06) - 0.01).abs() < 1e-9);
        // A single exponential server cannot answer 99 % within 10 ms of a 10 ms mean.
        assert_eq!(max_rate_for_response_quantile(1, 0.01, 0.99, 0.01), None);
    }
}
