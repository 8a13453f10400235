//! What a run records second by second while it runs: the interval logs, the time
//! series, the summary so far, live metrics and the progress bar.

use super::Output;
use crate::load::{self};
use crate::metrics::Interval;
use crate::results::hlog::HlogWriter;
use crate::results::summary::Summary;
use crate::results::timeseries;
use crate::results::write_json;
use crate::scenario::{BaseUrl, LoadModel, Plan};
use crate::search;
use crate::search::summary::RunFacts;
use crate::units::{fmt_count, fmt_ms};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// `abort_if`: the guard, from which second it counts, and when it fired.
pub(super) struct Blast {
    pub(super) guard: search::experiment::AbortGuard,
    pub(super) from: u64,
    pub(super) fired: Option<(f64, f64)>,
    pub(super) just_fired: bool,
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
pub(super) struct Recording {
    pub(super) hlog: HlogWriter,
    pub(super) detail: HlogWriter,
    pub(super) series: timeseries::Appender,
    pub(super) rows: Vec<timeseries::Row>,
    pub(super) so_far: SoFar,
    pub(super) write_error: Option<anyhow::Error>,
    /// Said once when the schedule is done and answers are still awaited
    /// a second later.
    pub(super) waiting_said: bool,
    pub(super) watch: Option<search::criteria::Watch>,
    pub(super) aborted: Option<String>,
    pub(super) progress: Option<ProgressBar>,
    pub(super) live: Option<std::sync::Arc<crate::metrics::live::Live>>,
    /// With faults: each second as the experiment judges it, the faults in
    /// effect in the second being recorded, and the `abort_if` guard.
    pub(super) tallies: Vec<search::experiment::Tally>,
    pub(super) faults_now: u32,
    pub(super) blast: Option<Blast>,
}

impl Recording {
    pub(super) fn new(
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
            hlog: log(crate::results::files::LATENCY_LOG, false)?,
            detail: log(crate::results::files::DETAIL_LOG, true)?,
            series: timeseries::Appender::create(&series)
                .with_context(|| format!("creating {}", series.display()))?,
            rows: Vec::new(),
            so_far: SoFar {
                plan: plan.clone(),
                base: base.clone(),
                path: dir.join(crate::results::files::SUMMARY),
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
    pub(super) fn second(&mut self, iv: &Interval) -> bool {
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
    pub(super) fn finish(self, dir: &Path, format: timeseries::Format) -> anyhow::Result<()> {
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
pub(super) fn humantime_ms(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// The seconds so far, as a summary that says the run was cut short.
pub(super) struct SoFar {
    pub(super) plan: Plan,
    pub(super) base: BaseUrl,
    pub(super) path: PathBuf,
    pub(super) started_at: chrono::DateTime<chrono::Utc>,
    pub(super) totals: Vec<crate::metrics::Stats>,
    pub(super) scheduled: u64,
    pub(super) no_free_connection: u64,
    pub(super) lanes: u64,
}

impl SoFar {
    pub(super) fn second(&mut self, iv: &Interval) -> anyhow::Result<()> {
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
            users_never_sent: 0,
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

pub(super) fn progress_bar(plan: &Plan, quiet: bool) -> Option<ProgressBar> {
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

/// The summary of what a run of `plan` measured.
pub(super) fn summarize(plan: &Plan, base: &BaseUrl, outcome: &load::RunOutcome) -> Summary {
    let mut summary = Summary::build(RunFacts::of(plan, base.to_string(), outcome), &plan.slo);
    if plan.tls.insecure && base.is_https() {
        summary.warnings.push(
            "insecure = true: server certificates were not verified (self-signed staging only)"
                .into(),
        );
    }
    summary
}

/// `--metrics-listen`: the live metrics and the server that exposes them
/// (serving until the returned handle is dropped, plus the linger).
pub(super) fn live_metrics(
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
