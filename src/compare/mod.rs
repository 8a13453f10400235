//! Baseline comparison for CI: is the current run slower than the baseline,
//! beyond the run-to-run noise?
//!
//! For every request name (and all requests together) p50, p90, p99 and mean
//! latency, the achieved rate and the error share are compared. A metric is
//! a **regression** when its change is significant (the confidence interval
//! excludes zero; see [`stats`]) *and* worse than its minimum effect (10 %
//! by default, 0.1 percentage points for the error share); an
//! **improvement** likewise in the other direction; otherwise **no
//! significant change**. It is **inconclusive** when either run has too few
//! samples for it. This is criterion's rule (significance plus a noise
//! threshold), applied to load-test intervals.
//!
//! The whole comparison is inconclusive if either run was generator-limited
//! or interrupted (its latencies describe the generator, not the service);
//! otherwise a regression if any metric is, inconclusive if any metric is,
//! an improvement if any metric is, and no significant change else.

pub mod load;
pub mod render;
pub mod stats;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::exit;
use load::{RunData, ALL};
use stats::Change;

pub const SCHEMA: &str = "headroom.compare/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Regression,
    Improvement,
    NoSignificantChange,
    Inconclusive,
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Regression => "regression",
            Verdict::Improvement => "improvement",
            Verdict::NoSignificantChange => "no significant change",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricChange {
    /// A request name, or `all`.
    pub request: String,
    /// p50, p90, p99, mean, rate, errors.
    pub metric: String,
    /// ms, rps or share.
    pub unit: &'static str,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    /// Relative change (latency, rate) or difference in share (errors).
    pub change: Option<f64>,
    /// Confidence interval of `change`.
    pub ci: Option<(f64, f64)>,
    /// Minimum effect that counts (relative, or share difference).
    pub threshold: f64,
    pub verdict: Verdict,
    /// Why, in words, when not obvious (too few samples …).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    pub path: String,
    pub scenario: String,
    pub started_at: String,
    pub duration_s: f64,
    pub requests: u64,
    pub target_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub schema: String,
    pub verdict: Verdict,
    pub baseline: RunInfo,
    pub current: RunInfo,
    pub confidence: f64,
    pub method: String,
    pub warnings: Vec<String>,
    pub metrics: Vec<MetricChange>,
}

impl Comparison {
    /// 1 on a regression, 3 when inconclusive, 0 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self.verdict {
            Verdict::Regression => exit::THRESHOLD_FAILED,
            Verdict::Inconclusive => exit::INCONCLUSIVE,
            _ => exit::OK,
        }
    }

    pub fn regressions(&self) -> impl Iterator<Item = &MetricChange> {
        self.metrics
            .iter()
            .filter(|m| m.verdict == Verdict::Regression)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Confidence level of the intervals (default 0.95).
    pub confidence: f64,
    /// Minimum relative effect for latency and rate metrics (default 0.10).
    pub min_effect: f64,
    /// Minimum difference in error share (default 0.001).
    pub min_error_increase: f64,
    /// Per-metric minimum effects (`p99` → 0.15), over the defaults.
    pub per_metric: BTreeMap<String, f64>,
    pub resamples: usize,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            confidence: 0.95,
            min_effect: 0.10,
            min_error_increase: 0.001,
            per_metric: BTreeMap::new(),
            resamples: 2000,
            seed: 0x6865_6164,
        }
    }
}

impl Options {
    fn threshold(&self, metric: &str) -> f64 {
        self.per_metric
            .get(metric)
            .copied()
            .unwrap_or(if metric == "errors" {
                self.min_error_increase
            } else {
                self.min_effect
            })
    }
}

fn info(r: &RunData) -> RunInfo {
    RunInfo {
        path: r.dir.display().to_string(),
        scenario: r.summary.scenario.clone(),
        started_at: r.summary.started_at.clone(),
        duration_s: r.summary.duration_s,
        requests: r.summary.requests.total,
        target_rate: r.summary.target_rate,
    }
}

/// Judges one metric's change. `higher_is_worse`: latency and errors.
fn judge(
    request: &str,
    metric: &str,
    unit: &'static str,
    change: Option<Change>,
    threshold: f64,
    higher_is_worse: bool,
    missing: &str,
) -> MetricChange {
    let Some(c) = change else {
        return MetricChange {
            request: request.into(),
            metric: metric.into(),
            unit,
            baseline: None,
            current: None,
            change: None,
            ci: None,
            threshold,
            verdict: Verdict::Inconclusive,
            note: missing.into(),
        };
    };
    let worse = if higher_is_worse { c.change } else { -c.change };
    let verdict = if c.significant() && worse > threshold {
        Verdict::Regression
    } else if c.significant() && worse < -threshold {
        Verdict::Improvement
    } else {
        Verdict::NoSignificantChange
    };
    let note = match verdict {
        Verdict::NoSignificantChange if c.significant() => {
            "significant but within the minimum effect".to_string()
        }
        _ => String::new(),
    };
    MetricChange {
        request: request.into(),
        metric: metric.into(),
        unit,
        baseline: Some(c.baseline),
        current: Some(c.current),
        change: Some(c.change),
        ci: Some(c.ci),
        threshold,
        verdict,
        note,
    }
}

/// Compares `current` against `baseline`.
pub fn compare(baseline: &RunData, current: &RunData, opts: &Options) -> Comparison {
    let mut warnings = Vec::new();
    let (bs, cs) = (&baseline.summary, &current.summary);
    if bs.scenario != cs.scenario {
        warnings.push(format!(
            "different scenarios: `{}` vs `{}`",
            bs.scenario, cs.scenario
        ));
    }
    if let (Some(a), Some(b)) = (bs.target_rate, cs.target_rate) {
        if (a - b).abs() > 0.01 * a {
            warnings.push(format!(
                "different target rates: {a:.1} vs {b:.1} requests/s"
            ));
        }
    }
    let mut unsound = false;
    for (which, s) in [("baseline", bs), ("current", cs)] {
        if s.generator_limited {
            unsound = true;
            warnings.push(format!(
                "the {which} run was generator-limited ({}): its latencies describe the generator",
                s.generator_notes.join("; ")
            ));
        }
        if s.interrupted {
            unsound = true;
            warnings.push(format!("the {which} run was interrupted"));
        }
    }
    let mut metrics = Vec::new();
    // All requests first, then each name both runs have.
    let mut names = vec![ALL.to_string()];
    names.extend(
        baseline
            .intervals
            .keys()
            .filter(|k| *k != ALL && current.intervals.contains_key(*k))
            .cloned(),
    );
    for (i, name) in names.iter().enumerate() {
        let seed = opts.seed.wrapping_add(i as u64);
        let changes = stats::latency_changes(
            &baseline.intervals[name],
            &current.intervals[name],
            opts.resamples,
            opts.confidence,
            seed,
        );
        for ((metric, q), c) in stats::LATENCY_METRICS.iter().zip(changes) {
            let missing = format!(
                "fewer than {} latency samples in a run",
                stats::min_samples(*q)
            );
            metrics.push(judge(
                name,
                metric,
                "ms",
                c,
                opts.threshold(metric),
                true,
                &missing,
            ));
        }
        let empty = Vec::new();
        let rate = stats::mean_change(
            baseline.rates.get(name).unwrap_or(&empty),
            current.rates.get(name).unwrap_or(&empty),
            opts.resamples,
            opts.confidence,
            seed,
        );
        metrics.push(judge(
            name,
            "rate",
            "rps",
            rate,
            opts.threshold("rate"),
            false,
            "no per-second send counts (detail.hlog or the time series) in a run",
        ));
        let counts = |s: &crate::results::summary::Summary| {
            if name == ALL {
                Some((s.requests.errors.total, s.requests.total))
            } else {
                s.per_request
                    .iter()
                    .find(|p| &p.name == name)
                    .map(|p| (p.requests.errors.total, p.requests.total))
            }
        };
        let errors = match (counts(bs), counts(cs)) {
            (Some((e1, n1)), Some((e2, n2))) => {
                stats::share_change(e1, n1, e2, n2, opts.confidence)
            }
            _ => None,
        };
        metrics.push(judge(
            name,
            "errors",
            "share",
            errors,
            opts.threshold("errors"),
            true,
            "no completed requests in a run",
        ));
    }
    let any = |v: Verdict| metrics.iter().any(|m| m.verdict == v);
    let verdict = if unsound {
        Verdict::Inconclusive
    } else if any(Verdict::Regression) {
        Verdict::Regression
    } else if any(Verdict::Inconclusive) {
        Verdict::Inconclusive
    } else if any(Verdict::Improvement) {
        Verdict::Improvement
    } else {
        Verdict::NoSignificantChange
    };
    Comparison {
        schema: SCHEMA.into(),
        verdict,
        baseline: info(baseline),
        current: info(current),
        confidence: opts.confidence,
        method: format!(
            "moving-block bootstrap over 1-second intervals ({} resamples) for latency and rate; \
             two-proportion z-test for error share; a change counts when its {:.0} % interval \
             excludes zero and it exceeds the minimum effect",
            opts.resamples,
            opts.confidence * 100.0
        ),
        warnings,
        metrics,
    }
}
