//! The seam between the search and the load it measures.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::criteria::{Measure, Offered, Watch};
use crate::load::{self, StopFlag};
use crate::metrics::Interval;
use crate::results::hlog::HlogWriter;
use crate::scenario::{Arrivals, BaseUrl, LoadModel, Plan, Profile};

/// Measures a service at one load level. The search only ever talks to
/// this; tests answer with a model, the real thing with [`EngineProbe`].
pub trait Probe {
    /// One step at `offered` — a rate (open model) or virtual users
    /// (closed model) — for `warmup` (not scored) + `scored`, watched by
    /// `watch` second by second.
    fn step(
        &mut self,
        _offered: Offered,
        _warmup: Duration,
        _scored: Duration,
        _watch: Watch,
    ) -> anyhow::Result<Measure> {
        anyhow::bail!("this probe does not run steps")
    }
    /// Open model along a whole `profile` in one run (a stress test's
    /// phases): each second goes to `on_second` with the flows started in
    /// it, and `on_second` returning true ends the run. Returns whether the
    /// user interrupted it.
    fn profile(
        &mut self,
        _profile: Profile,
        _on_second: &mut (dyn FnMut(&Interval, u64) -> bool + Send),
    ) -> anyhow::Result<bool> {
        anyhow::bail!("this probe does not run profiles")
    }
}

/// Measures with the load engine, one `load::run` per step. Each step's
/// per-second latency goes to its own HdrHistogram interval log.
pub struct EngineProbe {
    plan: Plan,
    base: BaseUrl,
    stop: StopFlag,
    logs: Option<PathBuf>,
    steps: usize,
    /// `--metrics-listen`: live metrics, fed every second of every step.
    pub live: Option<std::sync::Arc<crate::metrics::live::Live>>,
    /// Keeps the metrics server up as long as the probe.
    pub server: Option<crate::metrics::live::Server>,
    /// Where a profile run writes its interval log.
    pub profile_log: Option<PathBuf>,
}

impl EngineProbe {
    /// `plan` gives the requests, timeouts, threads and connections; each
    /// step replaces its load model. Step logs go to `logs/` when given.
    pub fn new(plan: &Plan, base: BaseUrl, stop: StopFlag, logs: Option<PathBuf>) -> EngineProbe {
        EngineProbe {
            plan: plan.clone(),
            base,
            stop,
            logs,
            steps: 0,
            live: None,
            server: None,
            profile_log: None,
        }
    }

    fn measure(
        &mut self,
        model: LoadModel,
        offered: Offered,
        warmup: Duration,
        mut watch: Watch,
    ) -> anyhow::Result<Measure> {
        let mut plan = self.plan.clone();
        let total = model.duration();
        plan.load.model = model;
        plan.load.max_requests = None;
        self.steps += 1;
        // Whole seconds: intervals are one second long.
        let first = warmup.as_secs_f64().ceil() as u64;
        let last = total.as_secs_f64().ceil() as u64;
        let mut hlog = match &self.logs {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let names: Vec<String> = plan.requests.iter().map(|r| r.name.clone()).collect();
                let path = dir.join(format!(
                    "step-{:02}-{}.hlog",
                    self.steps,
                    offered.value().round()
                ));
                Some(HlogWriter::create(&path, SystemTime::now(), &names)?)
            }
            None => None,
        };
        let step_stop = StopFlag::default();
        let mut m = Measure::empty(offered);
        let paths: Vec<String> = plan
            .requests
            .iter()
            .map(|r| r.path.source.clone())
            .collect();
        m.tallies = paths
            .iter()
            .map(|p| crate::search::limits::Tally {
                path: p.clone(),
                ..Default::default()
            })
            .collect();
        m.timeout = plan.timeouts.request;
        watch = watch.with_paths(paths);
        if let Some(l) = &self.live {
            l.step(self.steps, offered.value());
        }
        let live = self.live.clone();
        let starts = crate::metrics::flow_starts(plan.requests.iter().map(|r| r.name.as_str()));
        let mut observe = |iv: &Interval| {
            if let Some(h) = hlog.as_mut() {
                let _ = h.write(iv);
            }
            if let Some(l) = &live {
                l.interval(iv);
            }
            if self.stop.is_set() {
                m.interrupted = true;
                step_stop.stop();
            }
            if iv.index < last && m.stopped.is_none() {
                let scored = iv.index >= first;
                if scored {
                    let started = crate::metrics::flows_sent(&iv.per_request, &starts);
                    m.add_second(iv, started);
                }
                if let Some(stop) = watch.second(iv, scored) {
                    m.stopped = Some(stop);
                    step_stop.stop();
                }
            }
        };
        load::run(&plan, &self.base, &step_stop, &mut observe)?.check()?;
        if let Some(h) = hlog {
            h.finish()?;
        }
        Ok(m)
    }
}

impl EngineProbe {
    /// An open model at `profile`, with the plan's arrival process.
    fn open_model(&self, profile: Profile) -> LoadModel {
        let arrivals = match &self.plan.load.model {
            LoadModel::Open { arrivals, .. } => *arrivals,
            LoadModel::Closed { .. } => Arrivals::Uniform,
        };
        LoadModel::Open { profile, arrivals }
    }
}

impl Probe for EngineProbe {
    fn step(
        &mut self,
        offered: Offered,
        warmup: Duration,
        scored: Duration,
        watch: Watch,
    ) -> anyhow::Result<Measure> {
        let (warmup, scored) = (whole_seconds(warmup), whole_seconds(scored));
        let model = match offered {
            Offered::Rate(rate) => self.open_model(Profile::constant(rate, warmup + scored)),
            Offered::Users(users) => LoadModel::Closed {
                concurrency: users,
                think_time: match &self.plan.load.model {
                    LoadModel::Closed { think_time, .. } => *think_time,
                    LoadModel::Open { .. } => Duration::ZERO,
                },
                duration: warmup + scored,
            },
        };
        self.measure(model, offered, warmup, watch)
    }

    fn profile(
        &mut self,
        profile: Profile,
        on_second: &mut (dyn FnMut(&Interval, u64) -> bool + Send),
    ) -> anyhow::Result<bool> {
        let mut plan = self.plan.clone();
        plan.load.model = self.open_model(profile);
        plan.load.max_requests = None;
        let names: Vec<String> = plan.requests.iter().map(|r| r.name.clone()).collect();
        let mut hlog = match &self.profile_log {
            Some(path) => Some(HlogWriter::create(path, SystemTime::now(), &names)?),
            None => None,
        };
        let starts = crate::metrics::flow_starts(plan.requests.iter().map(|r| r.name.as_str()));
        let run_stop = StopFlag::default();
        let (live, user_stop) = (self.live.clone(), self.stop.clone());
        let mut ended = false;
        let mut observe = |iv: &Interval| {
            if let Some(h) = hlog.as_mut() {
                let _ = h.write(iv);
            }
            if let Some(l) = &live {
                l.interval(iv);
            }
            if user_stop.is_set() {
                run_stop.stop();
            }
            if !ended {
                let started = crate::metrics::flows_sent(&iv.per_request, &starts);
                if on_second(iv, started) {
                    ended = true;
                    run_stop.stop();
                }
            }
        };
        load::run(&plan, &self.base, &run_stop, &mut observe)?.check()?;
        if let Some(h) = hlog {
            h.finish()?;
        }
        Ok(self.stop.is_set())
    }
}

/// Rounded up to whole seconds: steps are scored on one-second intervals,
/// so a partial second would count as a whole one (a 0.5 s warm-up once
/// gave 1.5 s of arrivals scored as 2).
fn whole_seconds(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs_f64().ceil() as u64)
}
