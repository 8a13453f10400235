//! One function per subcommand: read input, wire the parts, write results,
//! and say which exit code the outcome deserves.

pub mod ab;
mod chaos;
pub mod k8s;
pub mod merge;
pub mod model;
pub mod slo;
pub mod stress;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{
    DemoArgs, Dist, FindArgs, OutputArgs, ProxyArgs, RunArgs, SweepArgs, TargetArgs, TargetOpts,
};
use crate::embedded::{self, rules, ServiceTime, TargetConfig};
use crate::exit;
use crate::load::{self, StopFlag};
use crate::metrics::Interval;
use crate::report;
use crate::results::hlog::HlogWriter;
use crate::results::summary::LoadKind;
use crate::results::summary::Summary;
use crate::results::timeseries;
use crate::results::write_json;
use crate::scenario::{self, BaseUrl, LoadModel, Overrides, Plan, TargetSpec};
use crate::search;
use crate::search::summary::RunFacts;
use crate::units::{fmt_count, fmt_ms};

/// The demo scenario, also shipped as `scenarios/demo.toml`.
pub const DEMO_SCENARIO: &str = include_str!("../../scenarios/demo.toml");

/// The demo's plan inputs, also shipped in `models/`.
const DEMO_PLAN: &str = include_str!("../../models/plan.toml");
const DEMO_CATALOG: &str = include_str!("../../models/catalog.toml");
const DEMO_DEMAND: &str = include_str!("../../models/demand-hourly.csv");
/// The line of `models/plan.toml` the demo replaces with its own
/// `find.json`.
const DEMO_PLAN_QUEUE: &str =
    r#"queue = { workers = 8, service_time = "10ms", quantile = 0.99, within = "100ms" }"#;

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

/// What a finished run left behind.
pub struct RunReport {
    pub summary: Summary,
    pub dir: PathBuf,
    pub exit_code: exit::Code,
}

/// `headroom run`.
pub fn run(args: &RunArgs, stop: &StopFlag) -> anyhow::Result<exit::Code> {
    let mut plan = plan_for(&args.target, args.model.overrides())?;
    if let Some(seg) = args.segment {
        plan.load.segment = seg;
    }
    if let Some(t) = args.start_at {
        // Refused before a results directory is made.
        let at = std::time::SystemTime::from(t);
        scenario::start_delay(at).map_err(crate::error::BadInput)?;
        plan.load.start_at = Some(at);
    }
    let segment = (args.segment.is_some() || args.run_id.is_some()).then(|| {
        crate::results::summary::SegmentInfo {
            run_id: args.run_id.clone().unwrap_or_else(|| {
                let when = args
                    .start_at
                    .map_or_else(|| "now".to_string(), |t| t.to_rfc3339());
                format!("{}-{when}", plan.name)
            }),
            index: Some(plan.load.segment.index),
            count: plan.load.segment.count,
            start_at: args.start_at.map(|t| t.to_rfc3339()),
            plan_digest: plan_digest(&plan),
        }
    });
    if args.abort_on_fail && plan.slo.latency.is_empty() && plan.slo.error_share.is_none() {
        return Err(crate::error::BadInput(
            "--abort-on-fail needs a latency or error SLO ([slo] in the scenario or --slo)".into(),
        )
        .into());
    }
    let report = execute_segment(
        &plan,
        &Output::from(&args.output),
        stop,
        args.abort_on_fail,
        segment,
    )?;
    Ok(report.exit_code)
}

/// Runs a validated plan (starting the embedded target when it names it)
/// and writes every result file. With `abort_on_fail`, a windowed SLO
/// breach (a quantile above its threshold for `breach_seconds` in a row,
/// the error share over its sliding window) ends the run early.
pub fn execute(
    plan: &Plan,
    output: &Output,
    stop: &StopFlag,
    abort_on_fail: bool,
) -> anyhow::Result<RunReport> {
    execute_segment(plan, output, stop, abort_on_fail, None)
}

/// A digest of everything about a plan but its segment and start time
/// (FNV-1a 64 of its debug form): equal for the segments of one run.
pub fn plan_digest(plan: &Plan) -> String {
    let mut p = plan.clone();
    p.load.segment = scenario::Segment::default();
    p.load.start_at = None;
    let h = crate::hash::fnv1a64(format!("{p:?}").as_bytes());
    format!("{h:016x}")
}

fn execute_segment(
    plan: &Plan,
    output: &Output,
    stop: &StopFlag,
    abort_on_fail: bool,
    segment: Option<crate::results::summary::SegmentInfo>,
) -> anyhow::Result<RunReport> {
    let run_for = plan.load.model.duration();
    if let Some(f) = plan.chaos.faults.iter().find(|f| f.at >= run_for) {
        return Err(crate::error::BadInput(format!(
            "fault {:?} starts at {} s, after the run's {} s of load",
            f.name,
            f.at.as_secs_f64(),
            run_for.as_secs_f64()
        ))
        .into());
    }
    let (started, base) = start_target(plan)?;
    let dir = output
        .out
        .clone()
        .unwrap_or_else(|| default_dir(&plan.name));
    crate::results::claim(&dir, output.force, &[])?;
    let (live, _server) = live_metrics(plan, output)?;
    write_json(
        &dir.join("scenario.json"),
        &crate::results::scenario::ScenarioInfo::new(plan, &base.to_string()),
    )?;
    let driver = (!plan.chaos.faults.is_empty()).then(|| {
        chaos::Driver::new(
            &plan.chaos.faults,
            started.chaos.proxies.as_ref(),
            live.clone(),
        )
    });
    let mut rec = Recording::new(plan, &base, &dir, output, abort_on_fail, live)?;
    let outcome = load::run(
        plan,
        &base,
        stop,
        &mut Watching {
            rec: &mut rec,
            stop,
            driver: driver.as_ref(),
        },
    )?;
    let mut summary = summarize(plan, &base, &outcome);
    if let Some(why) = rec.aborted.take() {
        summary.interrupted = false;
        summary.aborted = Some(why);
    }
    if let Some(d) = driver {
        let applied = d.finish();
        let (faults, experiment) = search::experiment::judge(
            &applied,
            &rec.tallies,
            &plan.slo,
            plan.chaos.experiment.as_ref(),
            rec.blast.as_ref().and_then(|b| b.fired),
        );
        summary.warnings.extend(faults.iter().filter_map(|f| {
            Some(format!(
                "fault {:?} was not applied as planned: {}",
                f.name,
                f.error.as_ref()?
            ))
        }));
        summary.faults = faults;
        summary.experiment = experiment;
    }
    drop(started);
    summary.segment = segment;
    write_json(&dir.join("summary.json"), &summary)?;
    rec.finish(&dir, output.format)?;
    if !output.quiet {
        print!("{}", report::text::summary(&summary));
        println!("\n  results: {}", dir.display());
    } else if let Some(why) = report::text::verdict_line(&summary) {
        // Quiet, not silent: a failing CI step says why.
        eprintln!("{why}");
    }
    write_report(&dir, output);
    // A shard that failed: what was written is less than planned, and the
    // run says so with an error (exit 10) rather than a verdict.
    outcome
        .check()
        .with_context(|| format!("results so far in {}", dir.display()))?;
    let exit_code = exit::of_run(&summary);
    Ok(RunReport {
        summary,
        dir,
        exit_code,
    })
}

/// The run's observer: each second to the recording, and the run's clock
/// and the blast-radius guard to the fault driver.
struct Watching<'a> {
    rec: &'a mut Recording,
    stop: &'a StopFlag,
    driver: Option<&'a chaos::Driver>,
}

impl load::Observer for Watching<'_> {
    fn started(&mut self, at: Instant) {
        if let Some(d) = self.driver {
            d.started(at);
        }
    }

    fn interval(&mut self, iv: &Interval) {
        if let Some(d) = self.driver {
            let t = iv.index as f64;
            let active = d.active_between(t, t + 1.0);
            self.rec.faults_now = active.len() as u32;
            let logged = d
                .events_between(t, t + 1.0)
                .iter()
                .try_for_each(|line| self.rec.hlog.comment(line))
                .and_then(|()| {
                    active
                        .iter()
                        .try_for_each(|name| self.rec.hlog.write_fault(iv, name))
                });
            if let Err(e) = logged {
                self.rec.write_error.get_or_insert(e.into());
            }
        }
        if self.rec.second(iv) {
            self.stop.stop();
        }
        if let (Some(d), Some(b)) = (self.driver, &mut self.rec.blast) {
            if b.just_fired {
                b.just_fired = false;
                d.abort();
            }
        }
    }
}

/// `abort_if`: the guard, from which second it counts, and when it fired.
struct Blast {
    guard: search::experiment::AbortGuard,
    from: u64,
    fired: Option<(f64, f64)>,
    just_fired: bool,
}

/// What a run records second by second while it runs: the interval logs,
/// the time series, live metrics, the progress bar, and (with
/// `--abort-on-fail`) the windowed criteria that end it early.
///
/// Everything it writes is on disk at the end of each second: the logs
/// and the time series are flushed, and `summary.json` is replaced by one
/// of the seconds so far that says it was cut short — what a run killed
/// mid-way (SIGKILL, out of memory, a crash) leaves, until the run's end
/// replaces it with the real one.
struct Recording {
    hlog: HlogWriter,
    detail: HlogWriter,
    series: timeseries::Appender,
    rows: Vec<timeseries::Row>,
    so_far: SoFar,
    write_error: Option<anyhow::Error>,
    /// Said once when the schedule is done and answers are still awaited
    /// a second later.
    waiting_said: bool,
    watch: Option<search::criteria::Watch>,
    aborted: Option<String>,
    progress: Option<ProgressBar>,
    live: Option<std::sync::Arc<crate::metrics::live::Live>>,
    /// With faults: each second as the experiment judges it, the faults in
    /// effect in the second being recorded, and the `abort_if` guard.
    tallies: Vec<search::experiment::Tally>,
    faults_now: u32,
    blast: Option<Blast>,
}

impl Recording {
    fn new(
        plan: &Plan,
        base: &BaseUrl,
        dir: &Path,
        output: &Output,
        abort_on_fail: bool,
        live: Option<std::sync::Arc<crate::metrics::live::Live>>,
    ) -> anyhow::Result<Recording> {
        let names: Vec<String> = plan.requests.iter().map(|r| r.name.clone()).collect();
        let log = |file: &str, detail: bool| {
            let path = dir.join(file);
            let w = if detail {
                HlogWriter::create_detail(&path, SystemTime::now(), &names)
            } else {
                HlogWriter::create(&path, SystemTime::now(), &names)
            };
            w.with_context(|| format!("creating {}", path.display()))
        };
        let series = dir.join(timeseries::Format::Csv.file_name());
        Ok(Recording {
            hlog: log("latency.hlog", false)?,
            detail: log("detail.hlog", true)?,
            series: timeseries::Appender::create(&series)
                .with_context(|| format!("creating {}", series.display()))?,
            rows: Vec::new(),
            so_far: SoFar {
                plan: plan.clone(),
                base: base.clone(),
                path: dir.join("summary.json"),
                started_at: chrono::Utc::now(),
                totals: Vec::new(),
                scheduled: 0,
                no_free_connection: 0,
                lanes: 0,
            },
            write_error: None,
            waiting_said: output.quiet,
            watch: abort_on_fail.then(|| {
                search::criteria::Watch::new(
                    &plan.slo,
                    plan.search.breach_seconds,
                    plan.search.error_window,
                )
            }),
            aborted: None,
            progress: progress_bar(plan, output.quiet),
            live,
            tallies: Vec::new(),
            faults_now: 0,
            blast: plan
                .chaos
                .experiment
                .as_ref()
                .and_then(|e| e.abort_if_bad)
                .map(|share| Blast {
                    guard: search::experiment::AbortGuard::new(share, &plan.slo),
                    from: plan
                        .chaos
                        .faults
                        .iter()
                        .map(|f| f.at.as_secs())
                        .min()
                        .unwrap_or(0),
                    fired: None,
                    just_fired: false,
                }),
        })
    }

    /// Records one second; true when a windowed criterion says to stop.
    fn second(&mut self, iv: &Interval) -> bool {
        if let Some(l) = &self.live {
            l.interval(iv);
        }
        let logged = (self.hlog.write(iv))
            .and_then(|()| self.hlog.flush())
            .and_then(|()| self.detail.write(iv))
            .and_then(|()| self.detail.flush())
            .context("writing latency.hlog and detail.hlog");
        if let Err(e) = logged {
            self.write_error.get_or_insert(e);
        }
        let mut stop = false;
        if let Some(s) = self.watch.as_mut().and_then(|w| w.second(iv, true)) {
            // The generator's own lag is not the service failing a threshold.
            if self.aborted.is_none() && s.kind != search::criteria::StopKind::Generator {
                self.aborted = Some(s.why);
                stop = true;
            }
        }
        let mut row = timeseries::Row::from_interval(iv);
        row.faults = self.faults_now;
        if !self.so_far.plan.chaos.faults.is_empty() {
            let tally = search::experiment::Tally::of(iv, &self.so_far.plan.slo);
            if let Some(b) = &mut self.blast {
                if b.fired.is_none() && iv.index >= b.from {
                    if let Some(share) = b.guard.second(&tally) {
                        b.fired = Some(((iv.index + 1) as f64, share));
                        b.just_fired = true;
                        let msg = format!(
                            "  abort_if: {:.1} % of requests since the first fault were bad; removing every fault",
                            share * 100.0
                        );
                        match &self.progress {
                            Some(pb) => pb.println(msg),
                            None => eprintln!("{msg}"),
                        }
                    }
                }
            }
            self.tallies.push(tally);
        }
        if let Some(pb) = &self.progress {
            pb.set_position(iv.index + 1);
            pb.set_message(format!(
                "{} rps  p99 {}  errors {}",
                fmt_count(row.achieved_rate),
                row.p99_ms.map_or("-".into(), fmt_ms),
                row.errors
            ));
        }
        // The summary first, the time series' row last: a second in
        // timeseries.csv is a second every other file holds as well.
        if let Err(e) = self.so_far.second(iv) {
            self.write_error.get_or_insert(e);
        }
        if let Err(e) = self.series.push(&row).context("writing timeseries.csv") {
            self.write_error.get_or_insert(e);
        }
        self.rows.push(row);
        let planned = self.so_far.plan.load.model.duration().as_secs();
        if !self.waiting_said && iv.index >= planned && iv.load.in_flight > 0 {
            self.waiting_said = true;
            let msg = format!(
                "  the schedule is done; waiting up to {} (the request timeout) for {} answers in flight",
                humantime_ms(self.so_far.plan.timeouts.request),
                iv.load.in_flight
            );
            match &self.progress {
                Some(pb) => pb.println(msg),
                None => eprintln!("{msg}"),
            }
        }
        stop
    }

    /// Writes the time series and closes the interval logs.
    fn finish(self, dir: &Path, format: timeseries::Format) -> anyhow::Result<()> {
        if let Some(pb) = &self.progress {
            pb.finish_and_clear();
        }
        // The final series replaces the one appended as the run went.
        let path = dir.join(format.file_name());
        let part = path.with_extension("part");
        timeseries::write(&part, &self.rows, format)?;
        std::fs::rename(&part, &path).with_context(|| format!("writing {}", path.display()))?;
        if format != timeseries::Format::Csv {
            let appended = dir.join(timeseries::Format::Csv.file_name());
            std::fs::remove_file(&appended)
                .with_context(|| format!("removing {}", appended.display()))?;
        }
        self.hlog.finish().context("writing latency.hlog")?;
        self.detail.finish().context("writing detail.hlog")?;
        match self.write_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// `10 s`, `500 ms`.
fn humantime_ms(d: Duration) -> String {
    if d.as_millis() % 1000 == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// The seconds so far, as a summary that says the run was cut short.
struct SoFar {
    plan: Plan,
    base: BaseUrl,
    path: PathBuf,
    started_at: chrono::DateTime<chrono::Utc>,
    totals: Vec<crate::metrics::Stats>,
    scheduled: u64,
    no_free_connection: u64,
    lanes: u64,
}

impl SoFar {
    fn second(&mut self, iv: &Interval) -> anyhow::Result<()> {
        self.totals
            .resize_with(iv.per_request.len(), crate::metrics::Stats::default);
        for (t, s) in self.totals.iter_mut().zip(&iv.per_request) {
            t.merge(s);
        }
        self.scheduled += iv.scheduled;
        self.no_free_connection += iv.load.no_free_connection;
        self.lanes = self.lanes.max(iv.load.lanes);
        let seconds = iv.index + 1;
        let outcome = load::RunOutcome {
            totals: std::mem::take(&mut self.totals),
            scheduled: matches!(self.plan.load.model, LoadModel::Open { .. })
                .then_some(self.scheduled),
            scheduled_arms: Vec::new(),
            started_at: self.started_at,
            duration: Duration::from_secs(seconds),
            elapsed: Duration::from_secs(seconds),
            interrupted: true,
            threads: self.plan.load.threads,
            connections_opened: 0,
            in_flight_at_end: iv.load.in_flight,
            no_free_connection: self.no_free_connection,
            lanes: self.lanes,
            failures: Vec::new(),
        };
        let mut summary = summarize(&self.plan, &self.base, &outcome);
        self.totals = outcome.totals;
        summary.warnings.insert(
            0,
            format!(
                "cut short: this summary covers the first {seconds} s of a run that did not \
                 finish (its process was killed or failed); the interval logs and the time \
                 series hold the same seconds"
            ),
        );
        write_json(&self.path, &summary)
    }
}

/// The summary of what a run of `plan` measured.
fn summarize(plan: &Plan, base: &BaseUrl, outcome: &load::RunOutcome) -> Summary {
    let (model, arrivals, concurrency) = LoadKind::of(&plan.load.model);
    let mut summary = Summary::build(
        RunFacts {
            scenario: &plan.name,
            target: base.to_string(),
            started_at: outcome.started_at,
            model,
            arrivals,
            concurrency,
            threads: outcome.threads,
            duration_s: outcome.duration.as_secs_f64(),
            elapsed_s: outcome.elapsed.as_secs_f64(),
            scheduled: outcome.scheduled,
            totals: &outcome.totals,
            names: plan
                .requests
                .iter()
                .map(|r| (r.name.clone(), r.method.to_string(), r.path.source.clone()))
                .collect(),
            in_flight_at_end: outcome.in_flight_at_end,
            no_free_connection: outcome.no_free_connection,
            lanes: outcome.lanes,
            timeout: plan.timeouts.request,
            connections_opened: outcome.connections_opened,
            interrupted: outcome.interrupted,
        },
        &plan.slo,
    );
    if plan.tls.insecure && base.is_https() {
        summary.warnings.push(
            "insecure = true: server certificates were not verified (self-signed staging only)"
                .into(),
        );
    }
    summary
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

/// `--metrics-listen`: the live metrics and the server that exposes them
/// (serving until the returned handle is dropped, plus the linger).
fn live_metrics(
    plan: &Plan,
    output: &Output,
) -> anyhow::Result<(
    Option<std::sync::Arc<crate::metrics::live::Live>>,
    Option<crate::metrics::live::Server>,
)> {
    use crate::metrics::live;
    let Some(addr) = output.metrics_listen else {
        return Ok((None, None));
    };
    let names: Vec<String> = plan.requests.iter().map(|r| r.name.clone()).collect();
    let thresholds: Vec<f64> = plan
        .slo
        .latency
        .iter()
        .map(|l| l.max.as_secs_f64())
        .collect();
    let l = std::sync::Arc::new(live::Live::new(&names, live::buckets(&thresholds)));
    let server = live::serve(l.clone(), addr, output.metrics_linger)
        .with_context(|| format!("--metrics-listen {addr}"))?;
    if !output.quiet {
        println!("live metrics: http://{}/metrics", server.addr());
    }
    Ok((Some(l), Some(server)))
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
    report::page::render(dir)
        .inspect_err(|e| eprintln!("warning: no report.html: {e:#}"))
        .ok()
}

/// `headroom report`.
pub fn report(args: &crate::cli::ReportArgs) -> anyhow::Result<exit::Code> {
    let path = report::page::render(&args.dir)?;
    println!("{}", path.display());
    Ok(exit::Code::Ok)
}

/// `headroom compare`.
pub fn compare(args: &crate::cli::CompareArgs) -> anyhow::Result<exit::Code> {
    use crate::compare::{self, load};
    let named = |name: &str| -> anyhow::Result<PathBuf> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(crate::error::BadInput(format!(
                "baseline name {name:?}: use letters, digits, '-' and '_'"
            ))
            .into());
        }
        Ok(args.baseline_dir.join(name))
    };
    let (base_path, cur_path) = match (args.runs.as_slice(), &args.baseline) {
        ([b, c], None) => (Some(b.clone()), c.clone()),
        ([c], Some(name)) => {
            let dir = named(name)?;
            if !dir.join("summary.json").exists() {
                return Err(crate::error::BadInput(format!(
                    "no baseline named {name:?} in {} (save one with --save-baseline {name} RUN)",
                    args.baseline_dir.display()
                ))
                .into());
            }
            (Some(dir), c.clone())
        }
        ([c], None) if args.save_baseline.is_some() => (None, c.clone()),
        ([_], None) => {
            return Err(crate::error::BadInput(
                "compare needs BASELINE CURRENT, or CURRENT with --baseline NAME".into(),
            )
            .into())
        }
        (_, Some(_)) => {
            return Err(crate::error::BadInput(
                "with --baseline NAME, give only the CURRENT run".into(),
            )
            .into())
        }
        _ => unreachable!("clap takes one or two runs"),
    };
    let current = load::load(&cur_path)?;
    let mut code = exit::Code::Ok;
    if let Some(base_path) = base_path {
        let baseline = load::load(&base_path)?;
        let opts = verdict_options(&args.verdict)?;
        let c = compare::compare(&baseline, &current, &opts);
        emit_comparison(&c, args.format, &args.verdict)?;
        code = exit::of_comparison(&c);
    }
    if let Some(name) = &args.save_baseline {
        let dir = named(name)?;
        load::save(&cur_path, &dir)
            .with_context(|| format!("saving baseline {}", dir.display()))?;
        eprintln!(
            "saved {} as baseline {name:?} ({})",
            cur_path.display(),
            dir.display()
        );
    }
    Ok(code)
}

/// The comparison's settings from the flags (compare, ab).
fn verdict_options(v: &crate::cli::VerdictOpts) -> anyhow::Result<crate::compare::Options> {
    let mut opts = crate::compare::Options {
        confidence: v.confidence,
        resamples: v.resamples.max(100),
        ..crate::compare::Options::default()
    };
    if !(0.5..1.0).contains(&opts.confidence) {
        return Err(crate::error::BadInput(format!(
            "--confidence {}: expected between 50 % and 99.9 %",
            opts.confidence
        ))
        .into());
    }
    for (metric, value) in &v.thresholds {
        match metric {
            None => opts.min_effect = *value,
            Some(m) => {
                opts.per_metric.insert(*m, *value);
            }
        }
    }
    Ok(opts)
}

/// Prints a comparison in the format asked for and writes the files asked
/// for (compare, ab).
fn emit_comparison(
    c: &crate::results::compare::Comparison,
    format: crate::cli::CompareFormat,
    v: &crate::cli::VerdictOpts,
) -> anyhow::Result<()> {
    use crate::cli::CompareFormat;
    use crate::compare::render;
    match format {
        CompareFormat::Text => print!("{}", render::text(c)),
        CompareFormat::Markdown => print!("{}", render::markdown(c)),
        CompareFormat::Json => println!("{}", crate::results::to_json(c)?),
    }
    if let Some(p) = &v.markdown {
        std::fs::write(p, render::markdown(c))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &v.json {
        write_json(p, c)?;
    }
    if let Some(p) = &v.junit {
        let xml = render::junit(c).context("formatting JUnit XML")?;
        std::fs::write(p, xml).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
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

/// `headroom find`.
pub fn find(args: &FindArgs, stop: &StopFlag) -> anyhow::Result<exit::Code> {
    let mut plan = open_plan(&args.target, args.poisson)?;
    let sp = &mut plan.search;
    set(&mut sp.start_rate, args.start_rate);
    set(&mut sp.max_rate, args.max_rate);
    set(&mut sp.growth, args.growth);
    set(&mut sp.precision, args.precision);
    set(&mut sp.step, args.step);
    set(&mut sp.warmup, args.warmup);
    set(&mut sp.confirm, args.confirm);
    set(&mut sp.max_time, args.max_time);
    sp.check().map_err(crate::error::BadInput)?;
    if plan.slo.is_empty() {
        return Err(crate::error::BadInput(
            "find needs an SLO: [slo] in the scenario or --slo p99=250ms (repeatable)".into(),
        )
        .into());
    }
    let result = run_find(&plan, &Output::from(&args.output), stop)?;
    Ok(crate::exit::of_search(result.outcome))
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
    let (live, server) = live_metrics(plan, output)?;
    probe.live = live;
    probe.server = server;
    Ok((handle, base, dir, probe))
}

/// Runs the search for a validated plan and writes `find.json` and the step logs.
pub fn run_find(
    plan: &Plan,
    output: &Output,
    stop: &StopFlag,
) -> anyhow::Result<crate::results::find::FindResult> {
    let (_target, base, dir, mut probe) = probe_for(plan, output, stop, "find", "steps")?;
    let quiet = output.quiet;
    if !quiet {
        println!("searching for the breaking point of {base} …");
        println!(
            "  {:>3} {:<13} {:>10} {:>10} {:>9} {:>9} {:>8}  verdict",
            "#", "phase", "target/s", "sent/s", "p50", "p99", "errors"
        );
    }
    let mut on_step = |s: &crate::results::find::Step| {
        if quiet {
            return;
        }
        let q = |k: &str| s.quantiles_ms.get(k).map_or("-".into(), |v| fmt_ms(*v));
        println!(
            "  {:>3} {:<13} {:>10.1} {:>10.1} {:>9} {:>9} {:>7.2}%  {:?}: {}",
            s.index,
            format!("{:?}", s.phase).to_lowercase(),
            s.target_rate,
            s.achieved_rate,
            q("p50"),
            q("p99"),
            s.error_share.unwrap_or(0.0) * 100.0,
            s.verdict,
            s.reason
        );
    };
    let result = search::find(&mut probe, &plan.search, &plan.slo, &mut on_step)?;
    write_json(&dir.join("find.json"), &result)?;
    if !quiet {
        let label = result.outcome.label();
        if result.reason == label {
            println!("\n  outcome: {label}");
        } else {
            println!("\n  outcome: {label} — {}", result.reason);
        }
        if let Some(r) = result.sustainable_rps {
            println!("  sustainable: {} requests/s", fmt_count(r));
        }
        if let Some(r) = result.breaking_rps {
            println!("  breaking:    {} requests/s", fmt_count(r));
        }
        if let Some(k) = result.knee_rps {
            println!("  knee of the latency curve: {} requests/s", fmt_count(k));
        }
        println!(
            "  {} steps, {:.0} s of load; results: {}",
            result.steps.len(),
            result.load_time_s,
            dir.display()
        );
    }
    write_report(&dir, output);
    Ok(result)
}

/// `headroom sweep`.
pub fn sweep(args: &SweepArgs, stop: &StopFlag) -> anyhow::Result<exit::Code> {
    let concurrency = args.target.scenario.is_none().then_some(1);
    let mut plan = plan_for(
        &args.target,
        Overrides {
            concurrency,
            ..Overrides::default()
        },
    )?;
    if !args.levels.is_empty() {
        plan.sweep.levels = args.levels.clone();
    }
    set(&mut plan.sweep.max_concurrency, args.max_concurrency);
    set(&mut plan.sweep.step, args.step);
    set(&mut plan.sweep.warmup, args.warmup);
    plan.sweep
        .check()
        .map_err(|m| crate::error::BadInput(format!("sweep settings: {m}")))?;
    let result = run_sweep(&plan, &Output::from(&args.output), stop)?;
    Ok(exit::of_sweep(&result))
}

/// Runs the sweep for a validated plan and writes `sweep.json`.
pub fn run_sweep(
    plan: &Plan,
    output: &Output,
    stop: &StopFlag,
) -> anyhow::Result<crate::results::sweep::SweepResult> {
    let (_target, base, dir, mut probe) = probe_for(plan, output, stop, "sweep", "levels")?;
    let quiet = output.quiet;
    if !quiet {
        println!("concurrency sweep of {base} …");
        println!(
            "  {:>6} {:>12} {:>9} {:>9}  verdict",
            "users", "throughput", "p50", "p99"
        );
    }
    let mut on_point = |p: &crate::results::sweep::Point| {
        if !quiet {
            let q = |k: &str| p.latency_ms.get(k).map_or("-".into(), |v| fmt_ms(*v));
            println!(
                "  {:>6} {:>10.1}/s {:>9} {:>9}  {:?}",
                p.concurrency,
                p.throughput,
                q("p50"),
                q("p99"),
                p.verdict
            );
        }
    };
    let result = search::sweep(
        &mut probe,
        &plan.sweep,
        &plan.slo,
        plan.search.breach_seconds,
        &mut on_point,
    )?;
    write_json(&dir.join("sweep.json"), &result)?;
    if !quiet {
        println!("\n  {}", result.stop_reason);
        match (&result.usl, &result.usl_error) {
            (Some(u), _) => {
                println!(
                    "  USL fit: σ = {:.4}, κ = {:.6}, λ = {:.2}/s per user (R² {:.4})",
                    u.sigma, u.kappa, u.lambda, u.r_squared
                );
                if let (Some(n), Some(x)) = (u.peak_concurrency, u.peak_throughput) {
                    println!("  peak: {:.1} users → {}/s", n, fmt_count(x));
                }
                for w in &u.warnings {
                    println!("  note: {w}");
                }
            }
            (None, Some(e)) => println!("  no USL fit: {e}"),
            _ => {}
        }
        println!("  results: {}", dir.display());
    }
    write_report(&dir, output);
    Ok(result)
}

pub(crate) fn default_dir(name: &str) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    Path::new("results").join(format!("{name}-{stamp}"))
}

fn progress_bar(plan: &Plan, quiet: bool) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let secs = plan.load.model.duration().as_secs_f64().ceil() as u64;
    let pb = ProgressBar::new(secs);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {pos:>4}/{len}s [{bar:30}] {msg}") {
        pb.set_style(style.progress_chars("=> "));
    }
    Some(pb)
}

/// `headroom target`.
pub fn serve_target(args: &TargetArgs, stop: &StopFlag) -> anyhow::Result<exit::Code> {
    fn flag(name: &'static str) -> impl Fn(String) -> crate::error::BadInput {
        move |m| crate::error::BadInput(format!("{name}: {m}"))
    }
    let mean = rules::mean(args.mean).map_err(flag("--mean"))?;
    let service_time = match args.service {
        Dist::Fixed => ServiceTime::Fixed { mean },
        Dist::Exponential => ServiceTime::Exponential { mean },
        Dist::Lognormal => rules::lognormal(mean, args.sigma).map_err(flag("--sigma"))?,
    };
    let stall = match (args.stall_every, args.stall_pause) {
        (Some(every), Some(pause)) => {
            Some(rules::stall(every, pause).map_err(flag("--stall-every, --stall-pause"))?)
        }
        _ => None,
    };
    let contention = rules::contention(args.contention_sigma, args.contention_kappa)
        .map_err(flag("--contention-sigma, --contention-kappa"))?;
    let cfg = TargetConfig {
        workers: rules::at_least_one(args.workers, "workers").map_err(flag("--workers"))?,
        service_time,
        queue_limit: args.queue_limit.0,
        error_share: args.error_share,
        stall,
        contention: (contention.sigma > 0.0 || contention.kappa > 0.0).then_some(contention),
        max_concurrent_streams: args
            .max_concurrent_streams
            .map(|n| rules::at_least_one(n, "max_concurrent_streams"))
            .transpose()
            .map_err(flag("--max-concurrent-streams"))?,
        dependency: args
            .dependency
            .as_deref()
            .map(|u| rules::dependency(u, args.dependency_timeout, args.retries))
            .transpose()
            .map_err(flag("--dependency"))?,
        seed: 1,
    };
    // An address in use is the flag's fault: bad input (2), like the rest.
    let handle = embedded::spawn(cfg.clone(), args.listen)
        .map_err(|e| crate::error::BadInput(format!("--listen {}: {e}", args.listen)))?;
    println!(
        "embedded target on {}: {} workers, {} service time (mean {}) → capacity {} requests/s",
        handle.url(),
        cfg.workers,
        format!("{:?}", args.service).to_lowercase(),
        fmt_ms(args.mean.as_secs_f64() * 1000.0),
        fmt_count(cfg.capacity_rps())
    );
    if let Some(d) = &cfg.dependency {
        println!(
            "  each request first calls {} (timeout {}, retries: {}): capacity is workers / (service time + its time)",
            d.url,
            fmt_ms(d.timeout.as_secs_f64() * 1000.0),
            d.retries
        );
    }
    let started = Instant::now();
    while !stop.is_set() && args.run_for.is_none_or(|d| started.elapsed() < d) {
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(handle);
    Ok(exit::Code::Ok)
}

pub fn serve_proxy(args: &ProxyArgs, stop: &StopFlag) -> anyhow::Result<exit::Code> {
    let server = crate::proxy::Server::start(Some(args.api))
        .map_err(|e| crate::error::BadInput(format!("--api {}: {e}", args.api)))?;
    for spec in &args.proxies {
        let p = server.proxies.create(spec.clone()).map_err(|e| {
            crate::error::BadInput(format!(
                "--proxy {}: {e}",
                spec.name.as_deref().unwrap_or("")
            ))
        })?;
        println!("proxy {}: {} → {}", p.name, p.listen, p.upstream);
    }
    if let Some(api) = server.api {
        println!("proxy API (Toxiproxy's) on http://{api}");
    }
    let started = Instant::now();
    while !stop.is_set() && args.run_for.is_none_or(|d| started.elapsed() < d) {
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(exit::Code::Ok)
}

/// The sweep part of the demo, also shipped as `scenarios/sweep-demo.toml`.
pub const SWEEP_DEMO_SCENARIO: &str = include_str!("../../scenarios/sweep-demo.toml");

/// `headroom demo`: a run, a breaking-point search, an overload with its
/// recovery (on a service that sheds load and one that queues without
/// bound) and a concurrency sweep against embedded targets whose answers
/// are known in closed form, each printed beside what headroom measured;
/// then a capacity plan.
pub fn demo(args: &DemoArgs, stop: &StopFlag) -> anyhow::Result<exit::Code> {
    let mut plan = scenario::parse(Path::new("scenarios/demo.toml"), DEMO_SCENARIO)?;
    if let Some(d) = args.duration {
        plan.apply(&Overrides {
            duration: Some(d),
            ..Overrides::default()
        })?;
    }
    let TargetSpec::Embedded(cfg) = plan.target.clone() else {
        anyhow::bail!("the demo scenario must use the embedded target");
    };
    let LoadModel::Open { profile, .. } = &plan.load.model else {
        anyhow::bail!("the demo scenario must be open-loop");
    };
    let rate = profile.mean_rate();
    let mean_s = cfg.service_time.mean().as_secs_f64();
    println!(
        "headroom demo: embedded target with {} workers and a {} mean exponential service time → capacity {} requests/s",
        cfg.workers,
        fmt_ms(mean_s * 1000.0),
        fmt_count(cfg.capacity_rps())
    );
    println!(
        "1. open-loop run at {} requests/s for {:.0} s\n",
        fmt_count(rate),
        plan.load.model.duration().as_secs_f64()
    );
    let out = |sub: &str| Output {
        // One page for the whole demo, written at the end.
        quiet: args.quiet,
        // The demo replaces its own last results (a fixed place).
        force: true,
        ..Output::quiet_to(&args.out.join(sub))
    };
    let report = execute(&plan, &out("run"), stop, false)?;
    if let (Ok(q), Some(l)) = (
        crate::model::queueing::MmcQueue::new(rate, mean_s, cfg.workers),
        &report.summary.latency_ms,
    ) {
        println!(
            "\n  M/M/{} prediction (Erlang C) at {} rps: mean latency {} — measured {}",
            cfg.workers,
            fmt_count(rate),
            fmt_ms(q.mean_response_s() * 1000.0),
            fmt_ms(l.mean)
        );
    }
    if stop.is_set() {
        return Ok(report.exit_code);
    }

    println!("\n2. breaking-point search\n");
    let found = run_find(&plan, &out("find"), stop)?;
    let truth = plan
        .slo
        .latency
        .iter()
        .filter_map(|l| {
            crate::model::queueing::max_rate_for_response_quantile(
                cfg.workers,
                mean_s,
                l.quantile,
                l.max.as_secs_f64(),
            )
        })
        .fold(f64::INFINITY, f64::min);
    if let (Some(found), true) = (found.sustainable_rps, truth.is_finite()) {
        println!(
            "\n  found {} requests/s sustainable; M/M/{} analytic answer for {}: {} requests/s ({:+.1} %)",
            fmt_count(found),
            cfg.workers,
            plan.slo.latency.iter().map(|l| format!("{} ≤ {}", l.label, fmt_ms(l.max.as_secs_f64() * 1000.0))).collect::<Vec<_>>().join(", "),
            fmt_count(truth),
            100.0 * (found / truth - 1.0)
        );
    }
    if stop.is_set() {
        return Ok(crate::exit::of_search(found.outcome));
    }

    // Past the breaking point: the same service, once shedding what it
    // cannot queue and once queueing without bound.
    let r = found.sustainable_rps.unwrap_or(if truth.is_finite() {
        truth
    } else {
        0.8 * cfg.capacity_rps()
    });
    println!(
        "\n3. past the breaking point: {} requests/s (2 × sustainable) for 5 s on two versions of the same service\n",
        fmt_count(2.0 * r)
    );
    let mut stress_plan = plan.clone();
    stress_plan.stress = scenario::StressSpec {
        capacity: scenario::Capacity::Given(r),
        overload: 2.0,
        hold: Duration::from_secs(5),
        baseline: 0.5,
        settle: Duration::from_secs(5),
        recovery: Duration::from_secs(30),
        recovered: 3,
    };
    let mut verdicts = Vec::new();
    for (sub, queue, what) in [
        (
            "stress-graceful",
            Some(16),
            "sheds load: 16 requests may wait, the rest get 503 at once",
        ),
        ("stress-collapse", None, "queues without bound"),
    ] {
        let mut p = stress_plan.clone();
        p.target = TargetSpec::Embedded(TargetConfig {
            queue_limit: queue,
            ..cfg.clone()
        });
        println!("  a service that {what}:");
        let s = stress::run_stress(&p, &out(sub), stop, r, "find".into())?;
        verdicts.push((what, s));
        if stop.is_set() {
            return Ok(exit::Code::Inconclusive);
        }
        println!();
    }
    for (what, s) in &verdicts {
        println!(
            "  {what}: {:?}, goodput {:.0} % of sustainable while overloaded, SLO back {}",
            s.verdict,
            100.0 * s.goodput_ratio,
            s.recovery_s
                .map_or("— not within the bound".into(), |v| format!(
                    "{v:.0} s after"
                ))
        );
    }

    println!("\n4. concurrency sweep and USL fit\n");
    let sweep_plan = scenario::parse(Path::new("scenarios/sweep-demo.toml"), SWEEP_DEMO_SCENARIO)?;
    let swept = run_sweep(&sweep_plan, &out("sweep"), stop)?;
    if let (
        TargetSpec::Embedded(TargetConfig {
            contention: Some(c),
            ..
        }),
        Some(u),
    ) = (&sweep_plan.target, &swept.usl)
    {
        println!(
            "\n  the target was built with σ = {}, κ = {}; the fit found σ = {:.4}, κ = {:.5}",
            c.sigma, c.kappa, u.sigma, u.kappa
        );
    }
    if stop.is_set() {
        return Ok(exit::Code::Inconclusive);
    }

    println!("\n5. capacity plan: 12 months of demand on the capacity just measured\n");
    let plan_dir = args.out.join("plan");
    let input = plan_dir.join("input");
    std::fs::create_dir_all(&input).with_context(|| format!("creating {}", input.display()))?;
    let mut plan_toml = DEMO_PLAN.to_string();
    if found.sustainable_rps.is_some() {
        let find_json = std::path::absolute(args.out.join("find").join("find.json"))?;
        plan_toml = plan_toml.replace(
            DEMO_PLAN_QUEUE,
            &format!("find = {:?}", find_json.display().to_string()),
        );
    }
    for (name, text) in [
        ("plan.toml", plan_toml.as_str()),
        ("catalog.toml", DEMO_CATALOG),
        ("demand-hourly.csv", DEMO_DEMAND),
    ] {
        std::fs::write(input.join(name), text)
            .with_context(|| format!("writing {}", input.join(name).display()))?;
    }
    model::plan_from(&input.join("plan.toml"), Some(plan_dir), false, true, true)?;
    let page = report::page::render(&args.out)?;
    println!("\nall results under {}", args.out.display());
    println!("report: {}", page.display());
    Ok(report.exit_code.max(crate::exit::of_search(found.outcome)))
}
