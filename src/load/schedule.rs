//! When each request is due. Request *i* of the whole run has an intended
//! time t_i = Λ⁻¹(i) for evenly spaced arrivals, or Λ⁻¹(E₁+…+E_i) with unit
//! exponential E for Poisson arrivals, where Λ(t) is the number of arrivals
//! the profile schedules by time t. Shard k of N takes every N-th arrival
//! starting at k, so the shards together play the exact global schedule.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use statrs::distribution::Exp;

use crate::scenario::{Arrivals, Profile, Stage};

/// A stage with its place in time and in the arrival count.
#[derive(Debug, Clone, Copy)]
struct Placed {
    start_s: f64,
    n0: f64,
    n: f64,
    stage: Stage,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    stages: Vec<Placed>,
    /// Λ at the end of the profile (may be fractional).
    total: f64,
    /// Hard cap on arrivals (the `requests` limit).
    cap: u64,
    arrivals: Arrivals,
    seed: u64,
}

/// One due request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrival {
    /// Global index (0-based) in the whole run.
    pub index: u64,
    /// Intended send time from the start of the run.
    pub at: Duration,
}

impl Schedule {
    pub fn new(
        profile: &Profile,
        arrivals: Arrivals,
        max_requests: Option<u64>,
        seed: u64,
    ) -> Schedule {
        let mut stages = Vec::new();
        let (mut t, mut n0) = (0.0, 0.0);
        for &stage in &profile.stages {
            let d = stage.duration().as_secs_f64();
            let n = match stage {
                Stage::Constant { rate, .. } => rate * d,
                Stage::Ramp { from, to, .. } => (from + to) / 2.0 * d,
            };
            stages.push(Placed {
                start_s: t,
                n0,
                n,
                stage,
            });
            t += d;
            n0 += n;
        }
        Schedule {
            stages,
            total: n0,
            cap: max_requests.unwrap_or(u64::MAX),
            arrivals,
            seed,
        }
    }

    /// Arrivals in the whole run for evenly spaced arrivals (exact), or the
    /// expected number for Poisson arrivals.
    pub fn expected_len(&self) -> u64 {
        (((self.total - 1e-9).ceil().max(0.0)) as u64).min(self.cap)
    }

    /// How long the schedule lasts: the profile's length, or, when the
    /// `requests` cap ends it sooner, the time by which the profile has
    /// scheduled that many arrivals (`--rate 1 --requests 1`: 1 s).
    pub fn window(&self) -> Duration {
        let end = self.time_of(f64::INFINITY);
        let t = if (self.cap as f64) < self.total {
            self.time_of(self.cap as f64).min(end)
        } else {
            end
        };
        Duration::from_secs_f64(t.max(0.0))
    }

    /// Λ⁻¹(m): the time by which the profile has scheduled `m` arrivals.
    fn time_of(&self, m: f64) -> f64 {
        for p in &self.stages {
            if m < p.n0 + p.n {
                let x = m - p.n0;
                let tau = match p.stage {
                    Stage::Constant { rate, .. } => x / rate,
                    Stage::Ramp { from, to, duration } => {
                        let k = (to - from) / duration.as_secs_f64();
                        // Root of k τ²/2 + from τ − x = 0, in the form
                        // that stays accurate as k → 0.
                        let denom = from + (from * from + 2.0 * k * x).max(0.0).sqrt();
                        if denom > 0.0 {
                            2.0 * x / denom
                        } else {
                            0.0
                        }
                    }
                };
                return p.start_s + tau;
            }
        }
        self.stages
            .last()
            .map_or(0.0, |p| p.start_s + p.stage.duration().as_secs_f64())
    }

    /// The arrivals of shard `shard` of `shards`.
    pub fn shard(&self, shard: usize, shards: usize) -> ShardArrivals<'_> {
        self.part(shard as u64, shards.max(1) as u64)
    }

    /// Every `step`-th arrival from `first`. Shard k of S in segment i of N
    /// plays `part(i + N·k, N·S)`: the segments' shards together play the
    /// exact global schedule.
    pub fn part(&self, first: u64, step: u64) -> ShardArrivals<'_> {
        let exp = Exp::new(1.0).ok();
        ShardArrivals {
            schedule: self,
            next: first,
            step: step.max(1),
            rng: SmallRng::seed_from_u64(self.seed),
            exp,
            sum: 0.0,
            generated: 0,
        }
    }
}

pub struct ShardArrivals<'a> {
    schedule: &'a Schedule,
    next: u64,
    step: u64,
    rng: SmallRng,
    exp: Option<Exp>,
    /// Poisson: running sum of unit exponentials (global sequence).
    sum: f64,
    /// Poisson: global arrivals generated so far.
    generated: u64,
}

impl Iterator for ShardArrivals<'_> {
    type Item = Arrival;

    fn next(&mut self) -> Option<Arrival> {
        let s = self.schedule;
        if self.next >= s.cap {
            return None;
        }
        let m = match (s.arrivals, &self.exp) {
            (Arrivals::Poisson, Some(exp)) => {
                // Every shard replays the same global sequence and keeps its
                // own members: cheap, and exact across shards.
                while self.generated <= self.next {
                    self.sum += self.rng.sample(exp);
                    self.generated += 1;
                }
                self.sum
            }
            _ => self.next as f64,
        };
        if m >= s.total {
            return None;
        }
        let at = Duration::try_from_secs_f64(s.time_of(m)).unwrap_or(Duration::ZERO);
        let index = self.next;
        self.next += self.step;
        Some(Arrival { index, at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// `rate`/s for `seconds`, at most `cap` arrivals.
    fn constant(
        rate: f64,
        seconds: u64,
        arrivals: Arrivals,
        cap: Option<u64>,
        seed: u64,
    ) -> Schedule {
        Schedule::new(&Profile::constant(rate, secs(seconds)), arrivals, cap, seed)
    }

    #[test]
    fn the_window_is_the_profile_or_where_the_request_cap_ends_it() {
        let p = Profile::constant(10.0, secs(1));
        let w = |cap| Schedule::new(&p, Arrivals::Uniform, cap, 1).window();
        assert_eq!(w(None), secs(1));
        assert_eq!(w(Some(100)), secs(1));
        // `--rate 10 --requests 5`: five arrivals fill half a second.
        assert_eq!(w(Some(5)), Duration::from_millis(500));
        let one = Profile::constant(1.0, secs(10));
        assert_eq!(
            Schedule::new(&one, Arrivals::Uniform, Some(1), 1).window(),
            secs(1)
        );
    }

    #[test]
    fn uniform_constant_rate_is_evenly_spaced() {
        let s = constant(100.0, 10, Arrivals::Uniform, None, 1);
        let all: Vec<_> = s.shard(0, 1).collect();
        assert_eq!(all.len(), 1000);
        assert_eq!(s.expected_len(), 1000);
        assert_eq!(all[1].at, Duration::from_millis(10));
        assert!((all[999].at.as_secs_f64() - 9.99).abs() < 1e-9);
    }

    #[test]
    fn segments_of_shards_together_play_the_global_schedule() {
        for arrivals in [Arrivals::Uniform, Arrivals::Poisson] {
            let s = constant(300.0, 2, arrivals, None, 7);
            let whole: Vec<Arrival> = s.shard(0, 1).collect();
            // 3 segments of 2 shards each.
            let mut parts: Vec<Arrival> = Vec::new();
            for seg in 0..3u64 {
                for k in 0..2u64 {
                    parts.extend(s.part(seg + 3 * k, 6));
                }
            }
            parts.sort_by_key(|a| a.index);
            assert_eq!(parts, whole, "{arrivals:?}");
        }
    }

    #[test]
    fn shards_together_play_the_global_schedule() {
        let p = Profile {
            stages: vec![
                Stage::Ramp {
                    from: 0.0,
                    to: 200.0,
                    duration: secs(5),
                },
                Stage::Constant {
                    rate: 200.0,
                    duration: secs(5),
                },
            ],
        };
        for arrivals in [Arrivals::Uniform, Arrivals::Poisson] {
            let s = Schedule::new(&p, arrivals, None, 42);
            let whole: Vec<_> = s.shard(0, 1).collect();
            let mut merged: Vec<_> = (0..3)
                .flat_map(|k| s.shard(k, 3).collect::<Vec<_>>())
                .collect();
            merged.sort_by_key(|a| a.index);
            assert_eq!(whole, merged, "{arrivals:?}");
        }
    }

    #[test]
    fn ramp_follows_the_integral_of_its_rate() {
        // Λ(t) = 20 t² over a 0 → 200/s ramp of 5 s: 500 arrivals in all.
        let p = Profile {
            stages: vec![Stage::Ramp {
                from: 0.0,
                to: 200.0,
                duration: secs(5),
            }],
        };
        let s = Schedule::new(&p, Arrivals::Uniform, None, 1);
        let all: Vec<_> = s.shard(0, 1).collect();
        assert_eq!(all.len(), 500);
        // Arrival 80 is due at sqrt(80/20) = 2 s.
        assert!((all[80].at.as_secs_f64() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn poisson_has_the_profile_mean_and_exponential_gaps() {
        let s = constant(1000.0, 100, Arrivals::Poisson, None, 7);
        let all: Vec<_> = s.shard(0, 1).collect();
        // N ~ Poisson(100 000): sd ≈ 316; allow 5 sd.
        assert!(
            (all.len() as f64 - 100_000.0).abs() < 1600.0,
            "{}",
            all.len()
        );
        // Gaps: exponential with mean 1 ms, so sd = mean.
        let gaps: Vec<f64> = all
            .windows(2)
            .map(|w| (w[1].at - w[0].at).as_secs_f64())
            .collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        assert!((mean - 0.001).abs() < 0.00002, "mean gap {mean}");
        assert!(
            (var.sqrt() / mean - 1.0).abs() < 0.02,
            "cv {}",
            var.sqrt() / mean
        );
    }

    #[test]
    fn request_cap_truncates() {
        let s = constant(100.0, 10, Arrivals::Uniform, Some(15), 1);
        assert_eq!(s.shard(0, 2).count() + s.shard(1, 2).count(), 15);
        assert_eq!(s.expected_len(), 15);
    }
}
