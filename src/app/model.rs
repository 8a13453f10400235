//! `headroom usl`, `headroom forecast` and `headroom plan`: read the user's
//! files, run the models, print a table or JSON.

use std::path::Path;

use crate::cli::{ForecastArgs, PlanArgs, UslArgs};
use crate::error::BadInput;
use crate::exit;
use crate::input::history::{self, Aggregate, History, Step};
use crate::input::plan::{self as plan_file, Bound, CapacitySource, DemandSource, PlanFile};
use crate::input::table::Table;
use crate::model::plan::DemandPoint;
use crate::model::sizing::Candidate;
use crate::model::whatif::{Outcome, Scenario};
use crate::model::{autoscale, forecast as fc, plan, queueing, usl};
use crate::report::model as out;
use crate::results::files;
use crate::results::plan::{BacktestDoc, ForecastDoc, PlanDoc};
use crate::results::sweep::SweepResult;
use crate::results::sweep::UslReport;
use crate::results::{read_json, write_json};

/// `headroom usl`.
pub fn usl(args: &UslArgs) -> anyhow::Result<exit::Code> {
    let points = usl_points(args)?;
    let fit = usl::fit(&points).map_err(|e| BadInput(format!("{}: {e}", args.file.display())))?;
    let report = UslReport::from_fit(&fit);
    if args.json {
        println!("{}", crate::results::to_json(&report)?);
    } else {
        print!("{}", out::usl_text(&report, &points, &fit));
    }
    Ok(exit::Code::Ok)
}

fn usl_points(args: &UslArgs) -> Result<Vec<(f64, f64)>, BadInput> {
    let path = &args.file;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        let sweep: SweepResult = read_json(path, "a headroom sweep result (sweep.json)")?;
        return Ok(sweep
            .points
            .iter()
            .filter(|p| p.throughput > 0.0)
            .map(|p| (f64::from(p.concurrency), p.throughput))
            .collect());
    }
    let table = Table::read(path)?;
    let n = table.pick(
        args.concurrency_column.as_deref(),
        "concurrency",
        "--concurrency-column",
        &[
            "concurrency",
            "n",
            "load",
            "users",
            "vus",
            "clients",
            "threads",
            "cpus",
            "p",
            "size",
        ],
    )?;
    let x = table.pick(
        args.throughput_column.as_deref(),
        "throughput",
        "--throughput-column",
        &["throughput", "x", "tput", "rps", "qps", "rate", "ops"],
    )?;
    let ns = table.numbers(&n)?;
    let xs = table.numbers(&x)?;
    for (i, (&n_i, &x_i)) in ns.iter().zip(&xs).enumerate() {
        if n_i <= 0.0 || x_i < 0.0 {
            return Err(BadInput(format!(
                "{}: concurrency must be > 0 and throughput ≥ 0, found N = {n_i}, X = {x_i}",
                table.at(i)
            )));
        }
    }
    Ok(ns.into_iter().zip(xs).collect())
}

/// `headroom forecast`.
pub fn forecast(args: &ForecastArgs) -> anyhow::Result<exit::Code> {
    let step = match &args.step {
        Some(s) => Some(Step::parse(s).map_err(|e| BadInput(format!("--step: {e}")))?),
        None => None,
    };
    let (source, history) = match (&args.file, &args.prometheus) {
        (_, Some(url)) => {
            let step = step.unwrap_or(Step::Seconds(3600));
            let Step::Seconds(secs) = step else {
                return Err(BadInput(
                    "--prometheus needs a --step in seconds (15m, 1h, 1d)".into(),
                )
                .into());
            };
            let src = crate::input::prometheus::Source {
                url: url.clone(),
                query: args.query.clone().unwrap_or_default(),
                range: args.range,
                step: std::time::Duration::from_secs(secs),
                end: None,
            };
            let points = crate::input::prometheus::fetch(&src)?;
            let h = history::resample(&points, Some(step), args.aggregate)
                .map_err(|e| BadInput(format!("{url}: {e}")))?;
            (format!("{url} {}", src.query), h)
        }
        (Some(file), None) => (
            file.display().to_string(),
            history::load(
                file,
                &history::Options {
                    time_column: args.time_column.clone(),
                    value_column: args.value_column.clone(),
                    step,
                    aggregate: Some(args.aggregate),
                },
            )?,
        ),
        (None, None) => {
            return Err(BadInput("give a history FILE or --prometheus URL".into()).into())
        }
    };
    let horizon = history
        .horizon(&args.horizon)
        .map_err(|e| BadInput(format!("--horizon: {e}")))?;
    let doc = forecast_doc(Path::new(&source), &history, horizon)?;
    let backtest = match args.backtest {
        true => Some(backtest_doc(Path::new(&source), &history, horizon)?),
        false => None,
    };
    let written = match &args.files.out {
        Some(dir) => {
            let inputs: Vec<&Path> = args.file.iter().map(|f| f.as_path()).collect();
            crate::results::claim(dir, args.files.force, &inputs)?;
            write_json(&dir.join(files::FORECAST), &doc)?;
            if let Some(b) = &backtest {
                write_json(&dir.join(files::BACKTEST), b)?;
            }
            Some((dir, super::render_report(dir, args.files.no_report)))
        }
        None => None,
    };
    if args.json {
        let json = match &backtest {
            Some(b) => {
                crate::results::to_json(&serde_json::json!({ "forecast": doc, "backtest": b }))?
            }
            None => crate::results::to_json(&doc)?,
        };
        println!("{json}");
    } else {
        print!("{}", out::forecast_text(&doc));
        if let Some(b) = &backtest {
            print!("\n{}", out::backtest_text(b));
        }
        if let Some((dir, report)) = written {
            println!("\nresults: {}", dir.display());
            if let Some(p) = report {
                println!("report: {}", p.display());
            }
        }
    }
    Ok(exit::Code::Ok)
}

/// The rolling-origin backtest of the forecast of `h`.
fn backtest_doc(file: &Path, h: &History, horizon: usize) -> Result<BacktestDoc, BadInput> {
    let periods = h.step.seasonal_periods(h.values.len());
    let backtest = fc::backtest(&h.values, &periods, horizon)
        .map_err(|e| BadInput(format!("{}: backtest: {e}", file.display())))?;
    Ok(BacktestDoc {
        schema: crate::results::plan::BACKTEST_SCHEMA.into(),
        source: file.display().to_string(),
        step: h.step.to_string(),
        backtest,
    })
}

fn forecast_doc(file: &Path, h: &History, horizon: usize) -> Result<ForecastDoc, BadInput> {
    let periods = h.step.seasonal_periods(h.values.len());
    let f = fc::forecast(&h.values, &periods, horizon).map_err(|e| {
        let fix = match e {
            fc::ForecastError::TooLong { got, max } => {
                coarser(h.step, got, max).map_or("; give a shorter history".to_string(), |s| {
                    format!(
                        " at a step of {}: give --step {s} (or a shorter history)",
                        h.step
                    )
                })
            }
            _ => String::new(),
        };
        BadInput(format!("{}: {e}{fix}", file.display()))
    })?;
    Ok(ForecastDoc::new(file, h, &f))
}

/// The finest usual step at which `got` steps of `step` come to at most
/// `max`.
fn coarser(step: Step, got: usize, max: usize) -> Option<Step> {
    let k = got.div_ceil(max) as u64;
    match step {
        Step::Months(m) => Some(Step::Months(m * k as u32)),
        Step::Seconds(s) => [
            60, 300, 600, 900, 1_800, 3_600, 7_200, 21_600, 43_200, 86_400, 604_800,
        ]
        .into_iter()
        .find(|&c| c % s == 0 && c >= s * k)
        .map(Step::Seconds),
    }
}

/// `headroom plan`.
pub fn plan(args: &PlanArgs) -> anyhow::Result<exit::Code> {
    plan_from(
        &args.file,
        args.files.out.clone(),
        args.json,
        args.files.no_report,
        args.files.force,
    )
}

/// Plans from a plan file: `plan.json`, `forecast.json` (and the report)
/// into `out` when given (nothing is written without it), a table or JSON
/// printed.
pub fn plan_from(
    file: &Path,
    out: Option<std::path::PathBuf>,
    json: bool,
    no_report: bool,
    force: bool,
) -> anyhow::Result<exit::Code> {
    let pf = plan_file::load(file)?;
    let candidates = candidates(&pf)?;
    let (organic, step_seconds, forecast_doc) = demand(&pf)?;
    let run = |s: &Scenario| {
        // Launches, campaigns, migrations: on top of the organic forecast.
        let demand = s.demand(&organic, &pf.events);
        let p = plan::plan(
            &demand,
            step_seconds,
            &candidates,
            &pf.sizing,
            pf.fleet.as_ref(),
            &pf.regions,
        );
        (demand, p)
    };
    let base = Scenario::base();
    let (demand, result) = run(&base);
    let mut doc = PlanDoc::new(&pf, &candidates, &forecast_doc, result);
    if !pf.scenarios.is_empty() {
        doc.scenarios.push(Outcome::of(&base, &doc.plan));
        for s in &pf.scenarios {
            doc.scenarios.push(Outcome::of(s, &run(s).1));
        }
    }
    if let Some(s) = &pf.slo {
        doc.slo = Some(plan_slo(s, &pf, &candidates, &demand));
    }
    if let Some((policy, type_name)) = &pf.autoscaling {
        // The named type, else the fleet's, else the cheapest.
        let name = type_name
            .clone()
            .or_else(|| pf.fleet.as_ref().map(|f| f.type_name.clone()))
            .or_else(|| doc.plan.cheapest.as_ref().map(|c| c.type_name.clone()));
        doc.autoscaling = candidates
            .iter()
            .find(|c| Some(&c.instance.name) == name.as_ref())
            .and_then(|c| autoscale::recommend(policy, &demand, step_seconds, c, &pf.sizing))
            .map(|r| crate::results::plan::Autoscaling {
                hpa: crate::report::hpa::manifest(policy, &r),
                recommendation: r,
            });
    }
    // Files only where asked for: a plan is a printout first.
    let written = match &out {
        Some(dir) => {
            crate::results::claim(dir, force, &[file])?;
            write_json(&dir.join(crate::results::files::PLAN), &doc)?;
            write_json(&dir.join(crate::results::files::FORECAST), &forecast_doc)?;
            if let Some(a) = &doc.autoscaling {
                crate::results::write_text(&dir.join(crate::results::files::HPA), &a.hpa)?;
            }
            Some((dir, super::render_report(dir, no_report)))
        }
        None => None,
    };
    if json {
        println!("{}", crate::results::to_json(&doc)?);
    } else {
        print!("{}", out::plan_text(&doc));
        match written {
            Some((dir, report)) => {
                println!("\nresults: {}", dir.display());
                if let Some(p) = report {
                    println!("report: {}", p.display());
                }
            }
            None => println!(
                "\n(--out DIR writes plan.json, forecast.json{} and report.html)",
                if doc.autoscaling.is_some() {
                    ", hpa.yaml"
                } else {
                    ""
                }
            ),
        }
    }
    Ok(exit::Code::Ok)
}

/// When the fleet's SLO-safe rate (every instance up, at its measured
/// capacity) is first passed: the budget burns from then.
fn plan_slo(
    s: &crate::input::slo::SloFile,
    pf: &PlanFile,
    candidates: &[Candidate],
    demand: &[DemandPoint],
) -> crate::results::plan::PlanSlo {
    let fleet_slo_rps = pf.fleet.as_ref().and_then(|f| {
        let c = candidates.iter().find(|c| c.instance.name == f.type_name)?;
        Some(f64::from(f.count) * c.capacity_rps)
    });
    let over = fleet_slo_rps.and_then(|cap| demand.iter().find(|d| d.bound > cap));
    let mean = demand.iter().map(|d| d.mean).sum::<f64>() / demand.len().max(1) as f64;
    let now = chrono::Utc::now();
    let window_s = crate::model::budget::window_seconds(s.objective.window, now);
    crate::results::plan::PlanSlo {
        name: s.name.clone(),
        objective: s.objective.target,
        window: crate::report::slo::window_text(&s.objective.window),
        fleet_slo_rps,
        burns_from: over.map(|d| d.t.to_rfc3339()),
        demand_at_burn_rps: over.map(|d| d.bound),
        allowed_per_window: (1.0 - s.objective.target) * mean * window_s,
    }
}

/// Every instance type with a known capacity, priced for the plan's
/// commitment (types without that discount are left out).
fn candidates(pf: &PlanFile) -> Result<Vec<Candidate>, BadInput> {
    let mut out = Vec::new();
    for (name, source) in &pf.capacity {
        let instance = pf
            .catalog
            .iter()
            .find(|i| &i.name == name)
            .expect("checked when loading the plan")
            .clone();
        let Some(hourly) = instance.hourly_price(pf.commitment.as_deref()) else {
            continue;
        };
        let (capacity_rps, capacity_source) = capacity(source)?;
        out.push(Candidate {
            instance,
            hourly,
            capacity_rps,
            capacity_source,
        });
    }
    Ok(out)
}

fn capacity(source: &CapacitySource) -> Result<(f64, String), BadInput> {
    match source {
        CapacitySource::Rps(r) => Ok((*r, "given".into())),
        CapacitySource::Find(path) => Ok((
            crate::results::find::read_sustainable(path)?,
            format!("find: {}", path.display()),
        )),
        CapacitySource::Queue {
            workers,
            service_time_s,
            quantile,
            within_s,
        } => queueing::max_rate_for_response_quantile(
            *workers,
            *service_time_s,
            *quantile,
            *within_s,
        )
        .map(|r| {
            (
                r,
                format!(
                    "M/M/{workers}, {:.0} ms service: p{} ≤ {:.0} ms",
                    service_time_s * 1e3,
                    quantile * 100.0,
                    within_s * 1e3
                ),
            )
        })
        .ok_or_else(|| {
            BadInput(format!(
                "no rate meets p{} ≤ {:.0} ms with {workers} workers at {:.0} ms each",
                quantile * 100.0,
                within_s * 1e3,
                service_time_s * 1e3
            ))
        }),
    }
}

/// Forecast demand for the plan: the sized-for series (peaks per step at
/// the plan's bound) and the expected series (means, for request volume).
fn demand(pf: &PlanFile) -> anyhow::Result<(Vec<DemandPoint>, f64, ForecastDoc)> {
    match &pf.demand {
        DemandSource::Forecast(path) => {
            let doc: ForecastDoc = read_json(path, "a headroom forecast (forecast.json)")?;
            let step = Step::parse(&doc.step)
                .map_err(|e| BadInput(format!("{}: step: {e}", path.display())))?;
            let points = doc.demand_points(pf.bound)?;
            Ok((points, step.seconds(), doc))
        }
        DemandSource::Prometheus(src) => {
            let points = crate::input::prometheus::fetch(src)?;
            let step = Some(Step::Seconds(src.step.as_secs().max(1)));
            let label = format!("{} {}", src.url, src.query);
            let resample = |agg| {
                history::resample(&points, step, agg).map_err(|e| BadInput(format!("{label}: {e}")))
            };
            let (peaks, means) = (resample(Aggregate::Max)?, resample(Aggregate::Mean)?);
            Ok(plan_demand(pf, Path::new(&label), &peaks, &means)?)
        }
        DemandSource::History {
            path,
            step,
            time_column,
            value_column,
        } => {
            let opts = |aggregate| history::Options {
                time_column: time_column.clone(),
                value_column: value_column.clone(),
                step: *step,
                aggregate: Some(aggregate),
            };
            let peaks = history::load(path, &opts(Aggregate::Max))?;
            let means = history::load(path, &opts(Aggregate::Mean))?;
            Ok(plan_demand(pf, path, &peaks, &means)?)
        }
    }
}

/// Forecasts the sized-for series (peaks) and the expected one (means).
fn plan_demand(
    pf: &PlanFile,
    path: &Path,
    peaks: &History,
    means: &History,
) -> Result<(Vec<DemandPoint>, f64, ForecastDoc), BadInput> {
    let horizon = peaks
        .horizon(&pf.horizon)
        .map_err(|e| BadInput(format!("{}: horizon: {e}", pf.path.display())))?;
    let peak_doc = forecast_doc(path, peaks, horizon)?;
    let mean_doc = forecast_doc(path, means, horizon)?;
    let bound = |i: usize| match pf.bound {
        Bound::Mean => peak_doc.points[i].mean,
        Bound::Hi80 => peak_doc.points[i].hi80,
        Bound::Hi95 => peak_doc.points[i].hi95,
    };
    let points = (0..horizon)
        .map(|i| DemandPoint {
            t: history::advance(peaks.end(), peaks.step, i as i64),
            mean: mean_doc.points[i].mean,
            bound: bound(i),
        })
        .collect();
    Ok((points, peaks.step.seconds(), peak_doc))
}
