//! The settings of the searches a scenario can run: `find`'s breaking
//! point, `stress`'s overload and `sweep`'s concurrency levels, each with
//! the check every way of giving them must pass.

use std::path::PathBuf;
use std::time::Duration;

/// A search setting that breaks its rule: the key a scenario file gives it
/// by (a file's error points there; a flag's names it), and why. The rules
/// live here once, whether the settings came from a file, flags or both.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub key: &'static str,
    pub message: String,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn invalid(key: &'static str, message: impl Into<String>) -> Result<(), Invalid> {
    Err(Invalid {
        key,
        message: message.into(),
    })
}

/// How `headroom find` searches for the breaking point.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSpec {
    /// First rate tried (requests/s).
    pub start_rate: f64,
    /// Rate factor between steps of the exponential phase (> 1).
    pub growth: f64,
    /// Bisection stops when fail/pass − 1 is at most this (relative).
    pub precision: f64,
    /// Scored length of each step, after its warm-up.
    pub step: Duration,
    pub warmup: Duration,
    /// Scored length of the confirmation step at the found rate.
    pub confirm: Duration,
    /// Give up (no breaking point) above this rate.
    pub max_rate: f64,
    /// Total load time the search may take.
    pub max_time: Duration,
    /// A latency quantile above its threshold this many seconds in a row ends a step.
    pub breach_seconds: u32,
    /// Error share over this many seconds (sliding) above its threshold ends a step.
    pub error_window: u32,
}

impl Default for SearchSpec {
    fn default() -> Self {
        SearchSpec {
            start_rate: 50.0,
            growth: 2.0,
            precision: 0.03,
            step: Duration::from_secs(4),
            warmup: Duration::from_secs(1),
            confirm: Duration::from_secs(10),
            max_rate: 1_000_000.0,
            max_time: Duration::from_secs(300),
            breach_seconds: 3,
            error_window: 3,
        }
    }
}

impl SearchSpec {
    /// What every search needs, however its settings were given.
    pub fn check(&self) -> Result<(), Invalid> {
        for (key, v) in [("start_rate", self.start_rate), ("max_rate", self.max_rate)] {
            if !(v.is_finite() && v > 0.0) {
                return invalid(key, format!("{key} must be a number > 0, found {v}"));
            }
        }
        if self.max_rate < self.start_rate {
            return invalid(
                "max_rate",
                format!(
                    "max_rate must be at least start_rate ({}), found {}",
                    self.start_rate, self.max_rate
                ),
            );
        }
        if !(self.growth.is_finite() && self.growth > 1.0) {
            return invalid(
                "growth",
                format!(
                    "growth must be > 1 (the rate factor between steps), found {}",
                    self.growth
                ),
            );
        }
        if self.precision.is_nan() || self.precision <= 0.0 {
            return invalid("precision", "precision must be > 0, e.g. \"3%\"");
        }
        for (key, d) in [
            ("step", self.step),
            ("confirm", self.confirm),
            ("max_time", self.max_time),
        ] {
            if d.is_zero() {
                return invalid(key, format!("{key} must be longer than zero"));
            }
        }
        for (key, n) in [
            ("breach_seconds", self.breach_seconds),
            ("error_window", self.error_window),
        ] {
            if n == 0 {
                return invalid(key, format!("{key} must be at least 1"));
            }
        }
        Ok(())
    }
}

/// How `headroom stress` drives a service past its breaking point:
/// baseline, overload, recovery, in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct StressSpec {
    /// Where the sustainable rate R comes from.
    pub capacity: Capacity,
    /// The overload, as a multiple of R.
    pub overload: f64,
    /// How long the overload lasts.
    pub hold: Duration,
    /// The baseline (before and after the overload), as a share of R.
    pub baseline: f64,
    /// How long the baseline runs before the overload.
    pub settle: Duration,
    /// The most time to wait for recovery after the overload.
    pub recovery: Duration,
    /// Consecutive seconds within the SLO that count as recovered.
    pub recovered: u32,
}

/// The sustainable rate a stress test starts from.
#[derive(Debug, Clone, PartialEq)]
pub enum Capacity {
    /// Run the breaking-point search first.
    Find,
    /// Requests/s, as given.
    Given(f64),
    /// The sustainable rate of a `find.json`.
    FindFile(PathBuf),
}

impl Default for StressSpec {
    fn default() -> Self {
        StressSpec {
            capacity: Capacity::Find,
            overload: 2.0,
            hold: Duration::from_secs(30),
            baseline: 0.5,
            settle: Duration::from_secs(10),
            recovery: Duration::from_secs(120),
            recovered: 5,
        }
    }
}

impl StressSpec {
    /// What every stress test needs, however its settings were given.
    pub fn check(&self) -> Result<(), Invalid> {
        if !(self.overload.is_finite() && self.overload > 1.0) {
            return invalid(
                "overload",
                format!(
                    "overload must be more than 1× the sustainable rate, found {}",
                    self.overload
                ),
            );
        }
        if !(self.baseline > 0.0 && self.baseline < 1.0) {
            return invalid(
                "baseline",
                format!(
                    "baseline must lie between 0 and 100 % of the sustainable rate, found {}",
                    self.baseline
                ),
            );
        }
        for (key, d) in [
            ("hold", self.hold),
            ("settle", self.settle),
            ("recovery", self.recovery),
        ] {
            if d.as_secs() == 0 {
                return invalid(key, format!("{key} must be at least 1 s"));
            }
        }
        if self.recovered == 0 {
            return invalid(
                "recovered",
                "recovered must be at least 1 (seconds within the SLO)",
            );
        }
        if let Capacity::Given(r) = self.capacity {
            if !(r.is_finite() && r > 0.0) {
                return invalid(
                    "capacity",
                    format!("capacity must be > 0 requests/s, found {r}"),
                );
            }
        }
        Ok(())
    }
}

/// "2x", "2×", "2" or 2.0 → 2.0.
pub fn parse_factor(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix('x')
        .or_else(|| t.strip_suffix('×'))
        .unwrap_or(t)
        .trim();
    t.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("expected a factor such as 2x or 1.5, found {s:?}"))
}

/// How `headroom sweep` steps through concurrency levels.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSpec {
    /// Explicit levels; empty means 1, 2, 4, … up to `max_concurrency`.
    pub levels: Vec<u32>,
    pub max_concurrency: u32,
    pub step: Duration,
    pub warmup: Duration,
}

impl Default for SweepSpec {
    fn default() -> Self {
        SweepSpec {
            levels: Vec::new(),
            max_concurrency: 256,
            step: Duration::from_secs(4),
            warmup: Duration::from_secs(1),
        }
    }
}

impl SweepSpec {
    /// Explicit levels must rise from 1 up.
    pub fn check_levels(levels: &[u32]) -> Result<(), String> {
        if levels.is_empty() || levels.contains(&0) || levels.windows(2).any(|w| w[0] >= w[1]) {
            return Err("levels must be increasing concurrency values ≥ 1, e.g. 1, 2, 4, 8".into());
        }
        Ok(())
    }

    /// What every sweep needs, however its settings were given.
    pub fn check(&self) -> Result<(), Invalid> {
        if !self.levels.is_empty() {
            SweepSpec::check_levels(&self.levels).or_else(|m| invalid("levels", m))?;
        }
        if self.max_concurrency == 0 {
            return invalid("max_concurrency", "max_concurrency must be at least 1");
        }
        if self.step.is_zero() {
            return invalid("step", "step must be longer than zero");
        }
        Ok(())
    }

    pub fn levels(&self) -> Vec<u32> {
        if !self.levels.is_empty() {
            return self.levels.clone();
        }
        std::iter::successors(Some(1u32), |n| n.checked_mul(2))
            .take_while(|&n| n <= self.max_concurrency)
            .collect()
    }
}
