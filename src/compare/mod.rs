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

use crate::results::compare::{Comparison, Metric, MetricChange, RunInfo, Scope, Verdict, SCHEMA};
use crate::results::hlog::Key;
use load::RunData;
use stats::Change;

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Confidence level of the intervals (default 0.95).
    pub confidence: f64,
    /// Minimum relative effect for latency and rate metrics (default 0.10).
    pub min_effect: f64,
    /// Minimum difference in error share (default 0.001).
    pub min_error_increase: f64,
    /// Per-metric minimum effects (`p99` → 0.15), over the defaults.
    pub per_metric: BTreeMap<Metric, f64>,
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
    fn threshold(&self, metric: Metric) -> f64 {
        self.per_metric
            .get(&metric)
            .copied()
            .unwrap_or(if metric == Metric::Errors {
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

/// Judges one metric's change for `key` (all requests or one name).
fn judge(
    key: &Key,
    metric: Metric,
    change: Option<Change>,
    threshold: f64,
    missing: &str,
) -> MetricChange {
    let (request, scope) = match key {
        Key::All => ("all".to_string(), Scope::All),
        Key::Request(n) => (n.clone(), Scope::Request),
    };
    let blank = MetricChange {
        request,
        scope,
        metric,
        unit: metric.unit(),
        baseline: None,
        current: None,
        change: None,
        ci: None,
        threshold,
        verdict: Verdict::Inconclusive,
        note: missing.into(),
    };
    let Some(c) = change else {
        return blank;
    };
    let worse = if metric.higher_is_worse() {
        c.change
    } else {
        -c.change
    };
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
        baseline: Some(c.baseline),
        current: Some(c.current),
        change: Some(c.change),
        ci: Some(c.ci),
        verdict,
        note,
        ..blank
    }
}

fn model(m: crate::results::summary::LoadKind) -> &'static str {
    match m {
        crate::results::summary::LoadKind::Open => "open (a rate)",
        crate::results::summary::LoadKind::Closed => "closed (users)",
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
    if bs.target != cs.target {
        warnings.push(format!("different targets: {} vs {}", bs.target, cs.target));
    }
    if let (Some(a), Some(b)) = (bs.target_rate, cs.target_rate) {
        if (a - b).abs() > 0.01 * a {
            warnings.push(format!(
                "different target rates: {a:.1} vs {b:.1} requests/s"
            ));
        }
    }
    let mut unsound = false;
    // An open-model latency counts the wait for a connection, a closed
    // model's does not: the two measure different things.
    if bs.model != cs.model {
        unsound = true;
        warnings.push(format!(
            "different load models: {} vs {} (their latencies measure different things)",
            model(bs.model),
            model(cs.model)
        ));
    }
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
    let mut keys = vec![Key::All];
    keys.extend(
        baseline
            .latency
            .by_request
            .keys()
            .filter(|k| current.latency.by_request.contains_key(*k))
            .map(|k| Key::Request(k.clone())),
    );
    let empty = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let seed = opts.seed.wrapping_add(i as u64);
        let series = |r: &'_ RunData| r.latency.get(key).cloned().unwrap_or_default();
        let changes = stats::latency_changes(
            &series(baseline),
            &series(current),
            opts.resamples,
            opts.confidence,
            seed,
        );
        for (metric, c) in stats::LATENCY_METRICS.into_iter().zip(changes) {
            let missing = format!(
                "fewer than {} latency samples in a run",
                stats::min_samples(metric.quantile())
            );
            metrics.push(judge(key, metric, c, opts.threshold(metric), &missing));
        }
        let rate = stats::mean_change(
            baseline.rates.get(key).unwrap_or(&empty),
            current.rates.get(key).unwrap_or(&empty),
            opts.resamples,
            opts.confidence,
            seed,
        );
        metrics.push(judge(
            key,
            Metric::Rate,
            rate,
            opts.threshold(Metric::Rate),
            "no per-second send counts (detail.hlog or the time series) in a run",
        ));
        let counts = |s: &crate::results::summary::Summary| match key {
            Key::All => Some((s.requests.errors.total, s.requests.total)),
            Key::Request(name) => s
                .per_request
                .iter()
                .find(|p| &p.name == name)
                .map(|p| (p.requests.errors.total, p.requests.total)),
        };
        let errors = match (counts(bs), counts(cs)) {
            (Some((e1, n1)), Some((e2, n2))) => {
                stats::share_change(e1, n1, e2, n2, opts.confidence)
            }
            _ => None,
        };
        metrics.push(judge(
            key,
            Metric::Errors,
            errors,
            opts.threshold(Metric::Errors),
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
