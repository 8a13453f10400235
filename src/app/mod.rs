//! One function per subcommand: read input, wire the parts, write results,
//! and say which exit code the outcome deserves.

pub mod ab;
mod compare;
mod demo;
mod find;
pub mod k8s;
pub mod merge;
pub mod model;
mod proxy;
mod recording;
mod report;
mod run;
pub mod slo;
pub mod stress;
mod sweep;
mod target;

pub use compare::compare;
pub use demo::{demo, DEMO_SCENARIO};
pub use find::{find, run_find};
pub use proxy::serve_proxy;
pub use report::report;
pub use run::{execute, plan_digest, run, RunReport};
pub use sweep::{run_sweep, sweep};
pub use target::serve_target;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::cli::{OutputArgs, TargetOpts};
use crate::embedded::{self};
use crate::load::{self, StopFlag};
use crate::results::timeseries;
use crate::scenario::{self, BaseUrl, Overrides, Plan, TargetSpec};
use crate::search;
use crate::search::faults as chaos;

/// Where and how a command writes its results (the command line's
/// `OutputArgs`, or what the demo and the tests choose).
#[derive(Debug, Clone)]
pub struct Output {
    /// Results directory (default: results/<scenario>-<UTC time>/).
    pub out: Option<PathBuf>,
    pub format: timeseries::Format,
    /// No progress bar and no text summary.
    pub quiet: bool,
    pub no_report: bool,
    /// Serve live metrics on this address during the run.
    pub metrics_listen: Option<SocketAddr>,
    /// Keep serving them this long after the run.
    pub metrics_linger: Duration,
    /// Replace the results already in `out` (else refuse to write there).
    pub force: bool,
}

impl Output {
    /// Into `dir`, quietly, CSV, no report, no live metrics.
    pub fn quiet_to(dir: &Path) -> Output {
        Output {
            out: Some(dir.to_path_buf()),
            format: timeseries::Format::Csv,
            quiet: true,
            no_report: true,
            metrics_listen: None,
            metrics_linger: Duration::ZERO,
            force: false,
        }
    }
}

impl From<&OutputArgs> for Output {
    fn from(a: &OutputArgs) -> Output {
        Output {
            out: a.out.clone(),
            format: a.format,
            quiet: a.quiet,
            no_report: a.no_report,
            metrics_listen: a.metrics_listen,
            metrics_linger: a.metrics_linger,
            force: a.force,
        }
    }
}

/// The plan's target: its base URL, starting the embedded one (kept
/// running while the returned handle lives) when the plan names it.
/// What a command starts beside its load: the embedded target, and the
/// run's proxies (with an embedded dependency behind one). Dropped in this
/// order: the target before what it calls.
pub(crate) struct Started {
    _target: Option<embedded::TargetHandle>,
    chaos: chaos::Running,
}

fn start_target(plan: &Plan) -> anyhow::Result<(Started, BaseUrl)> {
    // The proxies (and an embedded dependency) first: the target calls them.
    let mut plan = plan.clone();
    let chaos = chaos::start(&mut plan)?;
    match &plan.target {
        TargetSpec::Url(base) => Ok((
            Started {
                _target: None,
                chaos,
            },
            base.clone(),
        )),
        TargetSpec::Embedded(cfg) => {
            let handle = embedded::spawn(cfg.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
                .context("starting the embedded target")?;
            let base = BaseUrl::parse(&handle.url()).map_err(anyhow::Error::msg)?;
            Ok((
                Started {
                    _target: Some(handle),
                    chaos,
                },
                base,
            ))
        }
    }
}

/// The scenario (or, without one, the flags alone) with the command line's
/// values applied over it.
pub(crate) fn plan_for(t: &TargetOpts, model: Overrides) -> anyhow::Result<Plan> {
    let overrides = Overrides {
        url: t.url.clone(),
        threads: t.threads,
        connections: t.connections,
        timeout: t.timeout,
        no_keep_alive: t.no_keep_alive,
        http: t.http,
        ..model
    };
    let mut plan = match &t.scenario {
        Some(path) => {
            let mut plan = scenario::load(path)?;
            plan.apply(&overrides)?;
            plan
        }
        None => Plan::from_flags(&overrides)?,
    };
    plan.slo.apply_flags(&t.slo)?;
    Ok(plan)
}

/// The plan of a command whose steps or phases each set their own rate
/// (find, stress): without a scenario, any rate makes a plan.
pub(crate) fn open_plan(t: &TargetOpts, poisson: bool) -> anyhow::Result<Plan> {
    let rate = t.scenario.is_none().then_some(1.0);
    plan_for(
        t,
        Overrides {
            rate,
            poisson,
            ..Overrides::default()
        },
    )
}

/// A flag's value, when given, replaces the scenario's.
pub(crate) fn set<T>(slot: &mut T, flag: Option<T>) {
    if let Some(v) = flag {
        *slot = v;
    }
}

/// What find and sweep share: the target (started when embedded, and
/// checked reachable), the results directory, and an engine probe whose
/// per-step logs go to `dir/logs`.
pub(crate) fn probe_for(
    plan: &Plan,
    output: &Output,
    stop: &StopFlag,
    kind: &str,
    logs: &str,
) -> anyhow::Result<(Started, BaseUrl, PathBuf, search::EngineProbe)> {
    if let Some(f) = plan.chaos.faults.first() {
        return Err(crate::error::BadInput(format!(
            "[[fault]] {:?}: faults apply to `headroom run` (a {kind} changes the load under them); \
             the scenario's proxies and dependency serve any command",
            f.name
        ))
        .into());
    }
    let (handle, base) = start_target(plan)?;
    load::resolve(&base, plan.timeouts.connect)?;
    let dir = output
        .out
        .clone()
        .unwrap_or_else(|| default_dir(&format!("{}-{kind}", plan.name)));
    crate::results::claim(&dir, output.force, &[])?;
    let mut probe =
        search::EngineProbe::new(plan, base.clone(), stop.clone(), Some(dir.join(logs)));
    let (live, server) = recording::live_metrics(plan, output)?;
    probe.live = live;
    probe.server = server;
    Ok((handle, base, dir, probe))
}

pub(crate) fn default_dir(name: &str) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    Path::new("results").join(format!("{name}-{stamp}"))
}

/// Writes `dir/report.html` (and its PNGs) unless `--no-report`, and says
/// where (unless quiet).
pub(crate) fn write_report(dir: &Path, output: &Output) {
    if let Some(path) = render_report(dir, output.no_report) {
        if !output.quiet {
            println!("  report: {}", path.display());
        }
    }
}

/// Renders `dir/report.html` unless `no_report`: a report that cannot be
/// drawn is a warning, never a lost result.
pub(crate) fn render_report(dir: &Path, no_report: bool) -> Option<PathBuf> {
    if no_report {
        return None;
    }
    crate::report::page::render(dir)
        .inspect_err(|e| eprintln!("warning: no report.html: {e:#}"))
        .ok()
}
