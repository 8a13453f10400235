//! What the embedded target is: c workers, a service-time distribution, a
//! queue limit, injected errors and stalls. Plain data; `server` runs it.

use std::time::Duration;

use rand::RngExt;
use statrs::distribution::{Exp, LogNormal};

/// The embedded service. Its capacity is `workers / mean service time`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetConfig {
    /// Requests served at once (c of M/G/c).
    pub workers: u32,
    pub service_time: ServiceTime,
    /// Requests that may wait for a worker; one more gets `503` at once.
    /// `None`: the queue grows without bound (requests wait, latency
    /// climbs, nothing is refused — a thread pool behind a listen backlog).
    pub queue_limit: Option<u64>,
    /// Share of requests answered `500` (after their service time).
    pub error_share: f64,
    /// Pause all responses now and then (for coordinated-omission tests).
    pub stall: Option<Stall>,
    /// Make service time grow with the requests in service, so that a
    /// closed-loop sweep traces the Universal Scalability Law.
    pub contention: Option<Contention>,
    /// HTTP/2 (h2c): SETTINGS_MAX_CONCURRENT_STREAMS announced to clients.
    pub max_concurrent_streams: Option<u32>,
    /// A service this one calls for every request, holding its worker,
    /// before it answers (a database or downstream API).
    pub dependency: Option<Dependency>,
    pub seed: u64,
}

/// The downstream call: `GET url`, given up after `timeout` and tried
/// `retries` more times. A timeout answers `504`, any other failure
/// (refused, reset, a non-2xx answer) `502`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Dependency {
    pub url: String,
    #[serde(with = "secs")]
    pub timeout: Duration,
    pub retries: u32,
}

impl Default for TargetConfig {
    fn default() -> Self {
        TargetConfig {
            workers: 8,
            service_time: ServiceTime::Exponential {
                mean: Duration::from_millis(10),
            },
            queue_limit: Some(1000),
            error_share: 0.0,
            stall: None,
            contention: None,
            max_concurrent_streams: None,
            dependency: None,
            seed: 1,
        }
    }
}

impl TargetConfig {
    /// Requests per second the target sustains: c / E[S].
    pub fn capacity_rps(&self) -> f64 {
        self.workers as f64 / self.service_time.mean().as_secs_f64()
    }
}

/// The rules a target's settings obey, one place for the scenario file and
/// `headroom target`'s flags alike; each says what is wrong in words.
pub mod rules {
    use std::time::Duration;

    use super::{Contention, Dependency, ServiceTime, Stall};

    /// Workers, streams: counts that must be at least one.
    pub fn at_least_one(n: u32, what: &str) -> Result<u32, String> {
        if n == 0 {
            return Err(format!("{what} must be at least 1"));
        }
        Ok(n)
    }

    pub fn mean(d: Duration) -> Result<Duration, String> {
        if d.is_zero() {
            return Err("the mean service time must be longer than zero".into());
        }
        Ok(d)
    }

    pub fn lognormal(mean: Duration, sigma: f64) -> Result<ServiceTime, String> {
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(format!("sigma must be > 0, found {sigma}"));
        }
        Ok(ServiceTime::LogNormal { mean, sigma })
    }

    pub fn stall(every: Duration, pause: Duration) -> Result<Stall, String> {
        if every.is_zero() || pause.is_zero() {
            return Err("a stall's period (every) and pause must be longer than zero".into());
        }
        if pause >= every {
            return Err("a stall's pause must be shorter than its period (every)".into());
        }
        Ok(Stall { every, pause })
    }

    /// `http://HOST:PORT/PATH`: plain HTTP/1.1, as a sidecar or a proxy
    /// in front of the real dependency would be called.
    pub fn dependency(url: &str, timeout: Duration, retries: u32) -> Result<Dependency, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("the dependency {url:?} is not a URL: {e}"))?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(format!(
                "the dependency must be an http://HOST:PORT/PATH URL, found {url:?}"
            ));
        }
        if timeout.is_zero() {
            return Err("the dependency timeout must be longer than zero".into());
        }
        if retries > 10 {
            return Err(format!("at most 10 retries, found {retries}"));
        }
        Ok(Dependency {
            url: url.to_string(),
            timeout,
            retries,
        })
    }

    pub fn contention(sigma: f64, kappa: f64) -> Result<Contention, String> {
        for (name, v) in [("sigma", sigma), ("kappa", kappa)] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err(format!(
                    "contention {name} must lie between 0 and 1, found {v}"
                ));
            }
        }
        Ok(Contention { sigma, kappa })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "dist", rename_all = "lowercase")]
pub enum ServiceTime {
    Fixed {
        #[serde(with = "secs")]
        mean: Duration,
    },
    Exponential {
        #[serde(with = "secs")]
        mean: Duration,
    },
    /// Log-normal with the given mean and shape σ (of the underlying normal).
    LogNormal {
        #[serde(with = "secs")]
        mean: Duration,
        sigma: f64,
    },
}

impl ServiceTime {
    pub fn mean(&self) -> Duration {
        match *self {
            ServiceTime::Fixed { mean }
            | ServiceTime::Exponential { mean }
            | ServiceTime::LogNormal { mean, .. } => mean,
        }
    }

    /// A sampler drawing service times from this distribution.
    pub fn sampler(&self) -> Sampler {
        let mean = self.mean().as_secs_f64();
        match *self {
            ServiceTime::Fixed { .. } => Sampler::Fixed(mean),
            // statrs' constructors only fail on non-positive parameters,
            // which validation has already excluded; fall back to fixed.
            ServiceTime::Exponential { .. } => Exp::new(1.0 / mean)
                .map(Sampler::Exp)
                .unwrap_or(Sampler::Fixed(mean)),
            ServiceTime::LogNormal { sigma, .. } => {
                // E[X] = exp(μ + σ²/2)  ⇒  μ = ln(mean) − σ²/2
                LogNormal::new(mean.ln() - sigma * sigma / 2.0, sigma)
                    .map(Sampler::LogNormal)
                    .unwrap_or(Sampler::Fixed(mean))
            }
        }
    }
}

/// Draws service times (seconds).
#[derive(Debug, Clone)]
pub enum Sampler {
    Fixed(f64),
    Exp(Exp),
    LogNormal(LogNormal),
}

impl Sampler {
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        let secs = match self {
            Sampler::Fixed(s) => *s,
            Sampler::Exp(d) => rng.sample(d),
            Sampler::LogNormal(d) => rng.sample(d),
        };
        Duration::from_secs_f64(secs.clamp(0.0, 3600.0))
    }
}

/// Service time × (1 + σ(n−1) + κ·n(n−1)) with n the requests in service
/// when a request starts. With `workers` ≥ N closed-loop users, n = N and
/// throughput is X(N) = N / (S·(1 + σ(N−1) + κN(N−1))): the USL with
/// λ = 1/S.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Contention {
    pub sigma: f64,
    pub kappa: f64,
}

impl Contention {
    pub fn factor(&self, in_service: u32) -> f64 {
        let n = in_service.max(1) as f64;
        1.0 + self.sigma * (n - 1.0) + self.kappa * n * (n - 1.0)
    }
}

/// Responses are held back for `pause` at the end of every `every` period
/// (the service keeps working; what it finishes waits for the pause to end),
/// like a stop-the-world GC pause seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Stall {
    #[serde(with = "secs")]
    pub every: Duration,
    #[serde(with = "secs")]
    pub pause: Duration,
}

impl Stall {
    /// When a response ready `since_start` into the target's life may leave.
    pub fn release_at(&self, since_start: Duration) -> Duration {
        let every = self.every.as_nanos();
        let pause = self.pause.as_nanos();
        let t = since_start.as_nanos();
        let phase = t % every;
        if phase >= every - pause {
            Duration::from_nanos(((t - phase) + every) as u64)
        } else {
            since_start
        }
    }
}

mod secs {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn capacity_is_workers_over_mean_service_time() {
        let cfg = TargetConfig {
            workers: 4,
            service_time: ServiceTime::Fixed {
                mean: Duration::from_millis(10),
            },
            ..TargetConfig::default()
        };
        assert!((cfg.capacity_rps() - 400.0).abs() < 1e-9);
    }

    #[test]
    fn samplers_have_the_configured_mean() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for st in [
            ServiceTime::Exponential {
                mean: Duration::from_millis(10),
            },
            ServiceTime::LogNormal {
                mean: Duration::from_millis(10),
                sigma: 0.5,
            },
        ] {
            let s = st.sampler();
            let n = 200_000;
            let mean: f64 = (0..n)
                .map(|_| s.sample(&mut rng).as_secs_f64())
                .sum::<f64>()
                / n as f64;
            // Standard error of the mean is ≤ 10 ms/√n ≈ 0.022 ms; 5 SE.
            assert!((mean - 0.010).abs() < 0.00011, "{st:?}: mean {mean}");
        }
    }

    #[test]
    fn stall_holds_responses_until_the_pause_ends() {
        let s = Stall {
            every: Duration::from_secs(5),
            pause: Duration::from_secs(1),
        };
        // (arrival, release) in ms: held from 4 s to the pause's end at 5 s.
        for (at, release) in [
            (3_999, 3_999),
            (4_000, 5_000),
            (4_700, 5_000),
            (5_000, 5_000),
        ] {
            let ms = Duration::from_millis;
            assert_eq!(s.release_at(ms(at)), ms(release), "arrival at {at} ms");
        }
    }
}
