//! `headroom merge`: the segments of one run (`run --segment i/N`) combined
//! exactly into one results directory — histograms added per second
//! (HdrHistogram merge), counts summed, seconds aligned on the wall clock —
//! with the SLOs judged on the merged data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use hdrhistogram::Histogram;

use crate::cli::MergeArgs;
use crate::exit::BadInput;
use crate::metrics::hlog::{HlogWriter, ALL};
use crate::metrics::{ErrorKind, Interval, Stats};
use crate::report::timeseries;
use crate::results::scenario::ScenarioInfo;
use crate::results::summary::Summary;
use crate::results::summary::{RunFacts, SegmentInfo};
use crate::scenario::{LatencySlo, MinRate, RequestSlo, Slo};

struct Seg {
    dir: PathBuf,
    summary: Summary,
    info: SegmentInfo,
    index: u32,
    started: chrono::DateTime<chrono::FixedOffset>,
    scenario: Option<ScenarioInfo>,
    latency: BTreeMap<String, Vec<Histogram<u64>>>,
    detail: BTreeMap<String, Vec<Histogram<u64>>>,
    /// Per second: scheduled, sent, ok, errors.
    rows: Vec<[u64; 4]>,
}

fn bad(msg: String) -> anyhow::Error {
    BadInput(msg).into()
}

fn read_seg(dir: &Path) -> anyhow::Result<Seg> {
    let summary = crate::results::summary::read(&dir.join("summary.json"))
        .map_err(|e| bad(format!("{e:#}")))?;
    let Some(info) = summary.segment.clone() else {
        return Err(bad(format!(
            "{}: not a segment (run it with --segment i/N)",
            dir.display()
        )));
    };
    let Some(index) = info.index else {
        return Err(bad(format!(
            "{}: already a merged run, not a segment",
            dir.display()
        )));
    };
    let started = chrono::DateTime::parse_from_rfc3339(&summary.started_at)
        .map_err(|e| bad(format!("{}: started_at: {e}", dir.display())))?;
    let hlog = |name: &str| -> anyhow::Result<BTreeMap<String, Vec<Histogram<u64>>>> {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
        crate::metrics::hlog::read(&bytes).map_err(|e| bad(format!("{}: {e}", path.display())))
    };
    let series = timeseries::find(dir).ok_or_else(|| {
        bad(format!(
            "{}: no timeseries.csv or timeseries.parquet",
            dir.display()
        ))
    })?;
    let table = crate::input::table::Table::read(&series)?;
    let col = |c: &str| table.numbers(c);
    let (sched, sent, ok, errors) = (
        col("target_rate")?,
        col("achieved_rate")?,
        col("ok")?,
        col("errors")?,
    );
    let rows = (0..table.len())
        .map(|i| [sched[i], sent[i], ok[i], errors[i]].map(|v| v.max(0.0) as u64))
        .collect();
    let scenario = std::fs::read_to_string(dir.join("scenario.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    Ok(Seg {
        dir: dir.to_path_buf(),
        info,
        index,
        started,
        scenario,
        latency: hlog("latency.hlog")?,
        detail: hlog("detail.hlog")?,
        rows,
        summary,
    })
}

/// Refuses segments that do not make one run, saying which and why.
fn check(segs: &[Seg], max_offset: Duration) -> anyhow::Result<()> {
    let first = &segs[0];
    for s in &segs[1..] {
        if s.info.run_id != first.info.run_id {
            return Err(bad(format!(
                "{} belongs to run {:?}, {} to run {:?}: segments of different runs",
                first.dir.display(),
                first.info.run_id,
                s.dir.display(),
                s.info.run_id
            )));
        }
        if s.info.plan_digest != first.info.plan_digest
            || s.summary.scenario != first.summary.scenario
        {
            return Err(bad(format!(
                "{} and {} ran different scenarios (`{}` digest {}, `{}` digest {})",
                first.dir.display(),
                s.dir.display(),
                first.summary.scenario,
                first.info.plan_digest,
                s.summary.scenario,
                s.info.plan_digest
            )));
        }
        if s.info.count != first.info.count {
            return Err(bad(format!(
                "{} is one of {} segments, {} one of {}",
                first.dir.display(),
                first.info.count,
                s.dir.display(),
                s.info.count
            )));
        }
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
        let latency = || {
            crate::scenario::parse_quantile_label(&v.name).map(|q| LatencySlo {
                label: v.name.clone(),
                quantile: q,
                max: Duration::from_secs_f64(v.threshold.max(0.0) / 1000.0),
            })
        };
        match (&v.request, v.name.as_str()) {
            (_, "min_rate") => {}
            (None, "errors") => slo.error_share = Some(v.threshold),
            (None, _) => slo.latency.extend(latency()),
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
                if name == "errors" {
                    entry.error_share = Some(v.threshold);
                } else {
                    entry.latency.extend(latency());
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
pub fn merge(args: &MergeArgs) -> anyhow::Result<u8> {
    let mut segs = args
        .dirs
        .iter()
        .map(|d| read_seg(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    check(&segs, args.max_offset)?;
    segs.sort_by_key(|s| s.index);
    let earliest = segs.iter().map(|s| s.started).min().expect("one or more");
    let offsets: Vec<usize> = segs
        .iter()
        .map(|s| ((s.started - earliest).num_milliseconds() as f64 / 1000.0).round() as usize)
        .collect();
    let names: Vec<String> = segs[0]
        .summary
        .per_request
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let seconds = segs
        .iter()
        .zip(&offsets)
        .map(|(s, o)| o + s.rows.len().max(s.latency.get(ALL).map_or(0, Vec::len)))
        .max()
        .unwrap_or(0);
    // Per second, per request name: the segments' histograms added.
    let mut intervals: Vec<Interval> = (0..seconds)
        .map(|i| Interval {
            index: i as u64,
            scheduled: 0,
            load: Default::default(),
            per_request: (0..names.len()).map(|_| Stats::default()).collect(),
            all: Stats::default(),
        })
        .collect();
    let add = |h: &mut Histogram<u64>, src: Option<&Histogram<u64>>| -> anyhow::Result<()> {
        if let Some(src) = src {
            h.add(src)
                .map_err(|e| anyhow::anyhow!("merging histograms: {e:?}"))?;
        }
        Ok(())
    };
    let tag = |kind: &str, name: &str| {
        if names.len() > 1 {
            if kind.is_empty() {
                name.to_string()
            } else {
                format!("{kind}.req={name}")
            }
        } else if kind.is_empty() {
            ALL.to_string()
        } else {
            kind.to_string()
        }
    };
    for (s, &off) in segs.iter().zip(&offsets) {
        for (j, iv) in intervals.iter_mut().enumerate().skip(off) {
            let k = j - off;
            fn at<'a>(
                m: &'a BTreeMap<String, Vec<Histogram<u64>>>,
                key: &str,
                k: usize,
            ) -> Option<&'a Histogram<u64>> {
                m.get(key).and_then(|v| v.get(k))
            }
            add(&mut iv.all.latency, at(&s.latency, ALL, k))?;
            add(&mut iv.all.service, at(&s.detail, "service", k))?;
            add(&mut iv.all.lag, at(&s.detail, "lag", k))?;
            for (r, name) in iv.per_request.iter_mut().zip(&names) {
                add(&mut r.latency, at(&s.latency, &tag("", name), k))?;
                add(&mut r.service, at(&s.detail, &tag("service", name), k))?;
                add(&mut r.lag, at(&s.detail, &tag("lag", name), k))?;
            }
            if let Some(row) = s.rows.get(k) {
                iv.scheduled += row[0];
                iv.all.sent += row[1];
                iv.all.ok += row[2];
                *iv.all.errors.entry(ErrorKind::Other).or_default() += row[3];
            }
        }
    }
    // The whole run per request name: histograms from the intervals, counts
    // from the segments' summaries (exact, with every error kind).
    let mut totals: Vec<Stats> = (0..names.len()).map(|_| Stats::default()).collect();
    for iv in &intervals {
        for (t, r) in totals.iter_mut().zip(&iv.per_request) {
            add(&mut t.latency, Some(&r.latency))?;
            add(&mut t.service, Some(&r.service))?;
            add(&mut t.lag, Some(&r.lag))?;
        }
    }
    for s in &segs {
        for (t, p) in totals.iter_mut().zip(&s.summary.per_request) {
            t.sent += p.requests.sent;
            t.ok += p.requests.ok;
            for (kind, n) in &p.requests.errors.by_kind {
                *t.errors.entry(ErrorKind::from_label(kind)).or_default() += n;
            }
        }
    }
    let first = &segs[0].summary;
    let duration_s = segs
        .iter()
        .map(|s| s.summary.duration_s)
        .fold(0.0, f64::max);
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
            model: if first.model == "closed" {
                "closed"
            } else {
                "open"
            },
            arrivals: first.arrivals.as_deref().map(|a| {
                if a == "poisson" {
                    "poisson"
                } else {
                    "uniform"
                }
            }),
            concurrency: first
                .concurrency
                .map(|_| segs.iter().filter_map(|s| s.summary.concurrency).sum()),
            threads: segs.iter().map(|s| s.summary.threads).sum(),
            duration_s,
            scheduled,
            totals: &totals,
            names: first
                .per_request
                .iter()
                .map(|p| (p.name.clone(), p.method.clone(), p.path.clone()))
                .collect(),
            in_flight_at_end: segs.iter().map(|s| s.summary.in_flight_at_end).sum(),
            no_free_connection: segs.iter().map(|s| s.summary.no_free_connection).sum(),
            lanes: 0,
            timeout: crate::scenario::Timeouts::default().request,
            connections_opened: segs.iter().map(|s| s.summary.connections_opened).sum(),
            interrupted: segs.iter().any(|s| s.summary.interrupted),
        },
        &slo_of(&segs[0]),
    );
    summary.aborted = segs.iter().find_map(|s| s.summary.aborted.clone());
    summary.segment = Some(SegmentInfo {
        index: None,
        ..segs[0].info.clone()
    });

    let out = &args.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let start = SystemTime::from(earliest);
    let mut hlog = HlogWriter::create(&out.join("latency.hlog"), start, &names)?;
    let mut detail = HlogWriter::create_detail(&out.join("detail.hlog"), start, &names)?;
    let mut rows = Vec::with_capacity(intervals.len());
    for iv in &intervals {
        hlog.write(iv)?;
        detail.write(iv)?;
        rows.push(timeseries::Row::from_interval(iv));
    }
    hlog.finish()?;
    detail.finish()?;
    timeseries::write(&out.join("timeseries.csv"), &rows, timeseries::Format::Csv)?;
    crate::results::write_json(&out.join("summary.json"), &summary)?;
    if let Some(info) = &segs[0].scenario {
        crate::results::write_json(&out.join("scenario.json"), info)?;
    }
    if !args.quiet {
        print!("{}", crate::report::text::summary(&summary));
        println!(
            "\n  merged {} segments of run {:?} into {}",
            segs.len(),
            segs[0].info.run_id,
            out.display()
        );
    }
    if !args.no_report {
        match crate::report::page::render(out) {
            Ok(p) if !args.quiet => println!("  report: {}", p.display()),
            Ok(_) => {}
            Err(e) => eprintln!("warning: no report.html: {e:#}"),
        }
    }
    Ok(super::exit_code(&summary))
}
