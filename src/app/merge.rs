//! `headroom merge`: the segments of one run (`run --segment i/N`) combined
//! exactly into one results directory — histograms added per second
//! (HdrHistogram merge), counts summed, seconds aligned on the wall clock —
//! with the SLOs judged on the merged data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;

use crate::cli::MergeArgs;
use crate::error::BadInput;
use crate::exit;
use crate::metrics::{ErrorKind, Interval, Stats};
use crate::results::hlog::{HlogWriter, Log, Recorded};
use crate::results::scenario::ScenarioInfo;
use crate::results::summary::{SegmentInfo, SloName, Summary};
use crate::results::timeseries::{self, Row};
use crate::results::{files, ResultsDir};
use crate::scenario::{LatencySlo, MinRate, RequestSlo, Slo};
use crate::search::summary::{Named, RunFacts};

struct Seg {
    dir: PathBuf,
    summary: Summary,
    info: SegmentInfo,
    index: u32,
    started: chrono::DateTime<chrono::FixedOffset>,
    scenario: Option<ScenarioInfo>,
    latency: Log,
    detail: Log,
    rows: Vec<Row>,
}

fn bad(msg: String) -> anyhow::Error {
    BadInput(msg).into()
}

fn read_seg(path: &Path) -> anyhow::Result<Seg> {
    let dir = ResultsDir::new(path);
    let missing = |what: &str| bad(format!("{}: no {what}", path.display()));
    let summary = dir.summary()?.ok_or_else(|| missing(files::SUMMARY))?;
    let Some(info) = summary.segment.clone() else {
        return Err(bad(format!(
            "{}: not a segment (run it with --segment i/N)",
            path.display()
        )));
    };
    let Some(index) = info.index else {
        return Err(bad(format!(
            "{}: already a merged run, not a segment",
            path.display()
        )));
    };
    let started = chrono::DateTime::parse_from_rfc3339(&summary.started_at)
        .map_err(|e| bad(format!("{}: started_at: {e}", path.display())))?;
    Ok(Seg {
        dir: path.to_path_buf(),
        info,
        index,
        started,
        scenario: dir.scenario()?,
        latency: dir.latency()?.ok_or_else(|| missing(files::LATENCY_LOG))?,
        detail: dir.detail()?.ok_or_else(|| missing(files::DETAIL_LOG))?,
        rows: dir
            .timeseries()?
            .ok_or_else(|| missing("timeseries.csv or timeseries.parquet"))?,
        summary,
    })
}

/// Refuses segments that do not make one run, saying which and why.
fn check(segs: &[Seg], max_offset: Duration) -> anyhow::Result<()> {
    let first = &segs[0];
    for s in &segs[1..] {
        let (a, b) = (first.dir.display(), s.dir.display());
        let (one, other) = (&first.info, &s.info);
        let why = if other.run_id != one.run_id {
            format!(
                "{a} belongs to run {:?}, {b} to run {:?}: segments of different runs",
                one.run_id, other.run_id
            )
        } else if other.plan_digest != one.plan_digest
            || s.summary.scenario != first.summary.scenario
        {
            format!(
                "{a} and {b} ran different scenarios (`{}` digest {}, `{}` digest {})",
                first.summary.scenario, one.plan_digest, s.summary.scenario, other.plan_digest
            )
        } else if other.count != one.count {
            format!(
                "{a} is one of {} segments, {b} one of {}",
                one.count, other.count
            )
        } else {
            continue;
        };
        return Err(bad(why));
    }
    let n = first.info.count;
    let mut seen: BTreeMap<u32, &Path> = BTreeMap::new();
    for s in segs {
        if let Some(other) = seen.insert(s.index, &s.dir) {
            return Err(bad(format!(
                "segment {}/{n} is given twice: {} and {}",
                s.index,
                other.display(),
                s.dir.display()
            )));
        }
    }
    let missing: Vec<String> = (0..n)
        .filter(|i| !seen.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "missing segment{} {} of {n} (run id {:?})",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            first.info.run_id
        )));
    }
    let earliest = segs.iter().min_by_key(|s| s.started).expect("one or more");
    for s in segs {
        let off = (s.started - earliest.started).to_std().unwrap_or_default();
        if off > max_offset {
            return Err(bad(format!(
                "segment {} ({}) started {:.3} s after segment {} ({}): beyond --max-offset {} ms; \
                 start segments with the same --start-at and synchronised clocks",
                s.index,
                s.dir.display(),
                off.as_secs_f64(),
                earliest.index,
                earliest.dir.display(),
                max_offset.as_millis()
            )));
        }
    }
    Ok(())
}

/// The SLOs the segments were judged on, rebuilt to judge the whole run.
fn slo_of(seg: &Seg) -> Slo {
    let mut slo = Slo::default();
    for v in &seg.summary.slo {
        let errors = |slot: &mut Option<f64>| *slot = Some(v.threshold);
        let latency = |list: &mut Vec<LatencySlo>| {
            if let SloName::Latency { label, quantile } = &v.name {
                list.push(LatencySlo {
                    label: label.clone(),
                    quantile: *quantile,
                    max: Duration::from_secs_f64(v.threshold.max(0.0) / 1000.0),
                });
            }
        };
        match (&v.request, &v.name) {
            (_, SloName::MinRate) => {}
            (None, SloName::Errors) => errors(&mut slo.error_share),
            (None, _) => latency(&mut slo.latency),
            (Some(r), name) => {
                if !slo.requests.iter().any(|x| &x.name == r) {
                    slo.requests.push(RequestSlo {
                        name: r.clone(),
                        latency: Vec::new(),
                        error_share: None,
                    });
                }
                let entry = slo
                    .requests
                    .iter_mut()
                    .find(|x| &x.name == r)
                    .expect("added");
                match name {
                    SloName::Errors => errors(&mut entry.error_share),
                    _ => latency(&mut entry.latency),
                }
            }
        }
    }
    slo.min_rate = seg
        .scenario
        .as_ref()
        .and_then(|s| s.min_rate.as_deref())
        .and_then(|m| MinRate::parse(m).ok());
    slo
}

/// `headroom merge`.
pub fn merge(args: &MergeArgs) -> anyhow::Result<exit::Code> {
    let mut segs = args
        .dirs
        .iter()
        .map(|d| read_seg(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    check(&segs, args.max_offset)?;
    let inputs: Vec<&Path> = args.dirs.iter().map(PathBuf::as_path).collect();
    crate::results::claim(&args.out, args.force, &inputs)?;
    segs.sort_by_key(|s| s.index);
    let earliest = segs.iter().map(|s| s.started).min().expect("one or more");
    let names: Vec<String> = segs[0]
        .summary
        .per_request
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let totals = write_seconds(&args.out, &segs, earliest, &names)?;
    let summary = summarize(&segs, earliest, totals);
    crate::results::write_json(&args.out.join(crate::results::files::SUMMARY), &summary)?;
    if let Some(info) = &segs[0].scenario {
        crate::results::write_json(&args.out.join(crate::results::files::SCENARIO), info)?;
    }
    if !args.quiet {
        print!("{}", crate::report::text::summary(&summary));
        println!(
            "\n  merged {} segment{} of run {:?} into {}",
            segs.len(),
            if segs.len() == 1 { "" } else { "s" },
            segs[0].info.run_id,
            args.out.display()
        );
    }
    if let Some(p) = super::render_report(&args.out, args.no_report) {
        if !args.quiet {
            println!("  report: {}", p.display());
        }
    }
    Ok(crate::exit::of_run(&summary))
}

fn add(h: &mut Histogram<u64>, src: Option<&Recorded>) -> anyhow::Result<()> {
    if let Some(src) = src {
        src.add_to(h)
            .map_err(|e| anyhow::anyhow!("merging histograms: {e:?}"))?;
    }
    Ok(())
}

fn add_all(h: &mut Histogram<u64>, src: &Histogram<u64>) -> anyhow::Result<()> {
    h.add(src)
        .map_err(|e| anyhow::anyhow!("merging histograms: {e:?}"))
}

/// Second by second, per request name: the segments' histograms added and
/// their counts summed, each segment placed by its start on the wall clock.
/// Each merged second goes to the interval logs and the time series as it
/// is made, so that a long run of many request names is never in memory
/// whole. Returns the whole run's histograms per request name.
fn write_seconds(
    out: &Path,
    segs: &[Seg],
    earliest: chrono::DateTime<chrono::FixedOffset>,
    names: &[String],
) -> anyhow::Result<Vec<Stats>> {
    let offsets: Vec<usize> = segs
        .iter()
        .map(|s| ((s.started - earliest).num_milliseconds() as f64 / 1000.0).round() as usize)
        .collect();
    let seconds = segs
        .iter()
        .zip(&offsets)
        .map(|(s, o)| o + s.rows.len().max(s.latency.latency.all.len()))
        .max()
        .unwrap_or(0);
    let start = SystemTime::from(earliest);
    let mut hlog = HlogWriter::create(&out.join(crate::results::files::LATENCY_LOG), start, names)?;
    let mut detail =
        HlogWriter::create_detail(&out.join(crate::results::files::DETAIL_LOG), start, names)?;
    let mut rows = Vec::with_capacity(seconds);
    let fresh = || {
        (0..names.len())
            .map(|_| Stats::default())
            .collect::<Vec<_>>()
    };
    let mut totals = fresh();
    let mut iv = Interval {
        index: 0,
        scheduled: 0,
        scheduled_arms: Vec::new(),
        load: Default::default(),
        per_request: fresh(),
        all: Stats::default(),
    };
    let n = names.len();
    fn at(v: Option<&Vec<Recorded>>, k: usize) -> Option<&Recorded> {
        v.and_then(|v| v.get(k))
    }
    for j in 0..seconds {
        iv.index = j as u64;
        iv.scheduled = 0;
        iv.all.reset();
        iv.per_request.iter_mut().for_each(Stats::reset);
        for (s, &off) in segs.iter().zip(&offsets) {
            let Some(k) = j.checked_sub(off) else {
                continue;
            };
            let (latency, service, lag) = (&s.latency.latency, &s.detail.service, &s.detail.lag);
            add(&mut iv.all.latency, latency.all.get(k))?;
            add(&mut iv.all.service, service.all.get(k))?;
            add(&mut iv.all.lag, lag.all.get(k))?;
            for (r, name) in iv.per_request.iter_mut().zip(names) {
                add(&mut r.latency, at(latency.request(name, n), k))?;
                add(&mut r.service, at(service.request(name, n), k))?;
                add(&mut r.lag, at(lag.request(name, n), k))?;
            }
            if let Some(row) = s.rows.get(k) {
                iv.scheduled += row.target_rate as u64;
                iv.all.sent += row.achieved_rate as u64;
                iv.all.ok += row.ok;
                *iv.all.errors.entry(ErrorKind::Other).or_default() += row.errors;
            }
        }
        hlog.write(&iv)?;
        detail.write(&iv)?;
        rows.push(timeseries::Row::from_interval(&iv));
        for (t, r) in totals.iter_mut().zip(&iv.per_request) {
            add_all(&mut t.latency, &r.latency)?;
            add_all(&mut t.service, &r.service)?;
            add_all(&mut t.lag, &r.lag)?;
        }
    }
    hlog.finish()?;
    detail.finish()?;
    timeseries::write(
        &out.join(crate::results::files::TIMESERIES_CSV),
        &rows,
        timeseries::Format::Csv,
    )?;
    Ok(totals)
}

/// The merged run's summary: histograms from the merged seconds, counts
/// from the segments' summaries (exact, with every error kind), SLOs
/// judged on the merged data.
fn summarize(
    segs: &[Seg],
    earliest: chrono::DateTime<chrono::FixedOffset>,
    mut totals: Vec<Stats>,
) -> Summary {
    for s in segs {
        for (t, p) in totals.iter_mut().zip(&s.summary.per_request) {
            t.sent += p.requests.sent;
            t.ok += p.requests.ok;
            for (kind, n) in &p.requests.errors.by_kind {
                *t.errors.entry(ErrorKind::from_label(kind)).or_default() += n;
            }
            // The first segment's message of each kind, as one run keeps
            // its first.
            for (kind, said) in &p.requests.errors.samples {
                (t.samples)
                    .entry(ErrorKind::from_label(kind))
                    .or_insert_with(|| said.clone());
            }
        }
    }
    let first = &segs[0].summary;
    let sum = |f: fn(&Summary) -> u64| segs.iter().map(|s| f(&s.summary)).sum::<u64>();
    let scheduled = first.target_rate.map(|_| {
        segs.iter()
            .map(|s| (s.summary.target_rate.unwrap_or(0.0) * s.summary.duration_s).round() as u64)
            .sum()
    });
    let mut summary = Summary::build(
        RunFacts {
            scenario: &first.scenario,
            target: first.target.clone(),
            started_at: earliest.with_timezone(&chrono::Utc),
            model: first.model,
            arrivals: first.arrivals,
            concurrency: first
                .concurrency
                .map(|_| segs.iter().filter_map(|s| s.summary.concurrency).sum()),
            threads: segs.iter().map(|s| s.summary.threads).sum(),
            duration_s: segs
                .iter()
                .map(|s| s.summary.duration_s)
                .fold(0.0, f64::max),
            // The segments' waits for late answers are not in their
            // summaries: the merged throughput is over the duration.
            elapsed_s: 0.0,
            scheduled,
            totals: &totals,
            names: first
                .per_request
                .iter()
                .map(|p| Named {
                    name: p.name.clone(),
                    method: p.method.clone(),
                    path: p.path.clone(),
                })
                .collect(),
            in_flight_at_end: sum(|s| s.in_flight_at_end),
            no_free_connection: sum(|s| s.no_free_connection),
            lanes: 0,
            timeout: crate::scenario::Timeouts::default().request,
            connections_opened: sum(|s| s.connections_opened),
            users_never_sent: sum(|s| s.users_never_sent),
            interrupted: segs.iter().any(|s| s.summary.interrupted),
        },
        &slo_of(&segs[0]),
    );
    summary.aborted = segs.iter().find_map(|s| s.summary.aborted.clone());
    summary.segment = Some(SegmentInfo {
        index: None,
        ..segs[0].info.clone()
    });
    summary
}
