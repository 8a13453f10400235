//! Plan files (`headroom plan PLAN.toml`) and the instance catalog they name.
//!
//! ```toml
//! name = "checkout"
//! catalog = "catalog.toml"      # relative to this file
//! horizon = "12mo"              # 90d, 6mo, 1y, or a number of steps
//! commitment = "1y"             # a discount named in the catalog; omit for on-demand
//! bound = "hi95"                # size for: mean | hi80 | hi95
//!
//! [demand]
//! history = "demand-hourly.csv" # rps over time, CSV or Parquet; or
//! # forecast = "forecast.json"  # the output of `headroom forecast --json`
//! step = "1d"                   # resample: daily peaks (max) and means
//!
//! [sizing]
//! utilisation = 0.7             # run instances at ≤ 70 % of measured capacity
//! redundancy = 1                # N+1
//! min_instances = 2
//!
//! [fleet]                       # what runs today (for the runway)
//! type = "m6i.large"
//! count = 6
//!
//! [capacity."m6i.large"]        # SLO-safe rate of one instance, one of:
//! rps = 650
//! # find = "results/find-…/find.json"   (its sustainable_rps)
//! # queue = { workers = 8, service_time = "10ms", quantile = 0.99, within = "100ms" }
//! ```
//!
//! The capacity review's parts, each optional: `[[event]]` (inorganic
//! demand), `[[region]]` (with `zones`; `[sizing] survive = "region"`),
//! `[sizing] lead_time` (or `lead_time` per catalog type), `[[scenario]]`
//! (growth, scale, delay, drop, its own `[[scenario.event]]`) and
//! `[autoscaling]` (scale_up_delay, ramp, metric, cpu_at_capacity,
//! deployment, type); `models/README.md` shows each.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::history::Step;
use crate::input::Error;
use crate::model::autoscale::Policy;
use crate::model::cost::InstanceType;
use crate::model::plan::{Event, EventAdd, Fleet};
use crate::model::regions::Region;
use crate::model::sizing::Sizing;
use crate::model::whatif::Scenario;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    name: Option<String>,
    catalog: Spanned<String>,
    horizon: Spanned<String>,
    commitment: Option<Spanned<String>>,
    bound: Option<Spanned<String>>,
    demand: RawDemand,
    #[serde(default)]
    sizing: RawSizing,
    fleet: Option<RawFleet>,
    #[serde(default)]
    capacity: BTreeMap<String, Spanned<RawCapacity>>,
    #[serde(default, rename = "event")]
    events: Vec<Spanned<RawEvent>>,
    #[serde(default, rename = "region")]
    regions: Vec<Spanned<RawRegion>>,
    #[serde(default, rename = "scenario")]
    scenarios: Vec<Spanned<RawScenario>>,
    autoscaling: Option<RawAutoscaling>,
    /// An SLO file (`slos/NAME.toml`): when the fleet starts to spend it.
    slo: Option<Spanned<String>>,
}

/// `[[scenario]]`: a what-if on the plan's demand.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Spanned<String>,
    growth: Option<Spanned<f64>>,
    scale: Option<Spanned<f64>>,
    /// Event name → how much later (`"91d"`).
    #[serde(default)]
    delay: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    drop: Vec<Spanned<String>>,
    #[serde(default, rename = "event")]
    events: Vec<Spanned<RawEvent>>,
}

/// `[autoscaling]`: the service scales itself.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAutoscaling {
    scale_up_delay: Spanned<String>,
    /// `"40%/1h"`: a ramp steeper than the forecast's step shows.
    ramp: Option<Spanned<String>>,
    metric: Option<String>,
    cpu_at_capacity: Option<Spanned<toml::Value>>,
    deployment: Option<String>,
    #[serde(rename = "type")]
    type_name: Option<Spanned<String>>,
}

/// `[[region]]`: a failure domain with its part of the peak.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegion {
    name: Spanned<String>,
    /// Its peak rate, or a share (`"41%"`): relative to the other regions'.
    weight: Spanned<toml::Value>,
    redundancy: Option<u32>,
    /// Zones its instances are spread over (2 or more: survive losing one).
    zones: Option<Spanned<u32>>,
    /// Instances of the fleet's type there now.
    count: Option<Spanned<u32>>,
    lead_time: Option<Spanned<String>>,
}

/// `[[event]]`: inorganic demand on top of the forecast.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    name: Spanned<String>,
    start: Spanned<String>,
    end: Option<Spanned<String>>,
    add: Option<Spanned<toml::Value>>,
    rps: Option<Spanned<f64>>,
    ramp: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDemand {
    history: Option<Spanned<String>>,
    forecast: Option<Spanned<String>>,
    prometheus: Option<Spanned<String>>,
    query: Option<String>,
    range: Option<Spanned<String>>,
    step: Option<Spanned<String>>,
    time_column: Option<String>,
    value_column: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSizing {
    utilisation: Option<Spanned<f64>>,
    redundancy: Option<u32>,
    min_instances: Option<u32>,
    lead_time: Option<Spanned<String>>,
    /// `"region"`: each region carries its share of a lost region's traffic.
    survive: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFleet {
    #[serde(rename = "type")]
    type_name: Spanned<String>,
    count: Spanned<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapacity {
    rps: Option<f64>,
    find: Option<String>,
    queue: Option<RawQueue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    workers: u32,
    service_time: String,
    quantile: f64,
    within: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    currency: Option<String>,
    instance: Vec<Spanned<RawInstance>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstance {
    #[serde(rename = "type")]
    name: String,
    vcpu: f64,
    memory_gib: f64,
    hourly: f64,
    #[serde(default)]
    discounts: BTreeMap<String, f64>,
    /// Days from order to serving (`"45d"`).
    lead_time: Option<String>,
}

/// Where demand comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum DemandSource {
    History {
        path: PathBuf,
        step: Option<Step>,
        time_column: Option<String>,
        value_column: Option<String>,
    },
    /// A `headroom forecast --json` file.
    Forecast(PathBuf),
    /// A Prometheus range query (step: the plan's `step`, default 1h).
    Prometheus(super::prometheus::Source),
}

/// Which forecast series the fleet is sized for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Bound {
    Mean,
    Hi80,
    Hi95,
}

impl Bound {
    /// The name plan files and `plan.json` give it.
    pub fn label(self) -> &'static str {
        match self {
            Bound::Mean => "mean",
            Bound::Hi80 => "hi80",
            Bound::Hi95 => "hi95",
        }
    }
}

/// How one instance type's SLO-safe rate is known.
#[derive(Debug, Clone, PartialEq)]
pub enum CapacitySource {
    Rps(f64),
    /// A `find.json`: its `sustainable_rps`.
    Find(PathBuf),
    /// M/M/c per instance: the highest rate at which `quantile` of requests
    /// finish within `within_s`.
    Queue {
        workers: u32,
        service_time_s: f64,
        quantile: f64,
        within_s: f64,
    },
}

#[derive(Debug, Clone)]
pub struct PlanFile {
    pub path: PathBuf,
    pub name: String,
    pub catalog: Vec<InstanceType>,
    pub currency: String,
    pub horizon: String,
    pub commitment: Option<String>,
    pub bound: Bound,
    pub demand: DemandSource,
    pub sizing: Sizing,
    pub fleet: Option<Fleet>,
    pub capacity: BTreeMap<String, CapacitySource>,
    pub events: Vec<Event>,
    pub regions: Vec<Region>,
    pub scenarios: Vec<Scenario>,
    /// The policy and the type it is for (`None`: the fleet's or the cheapest).
    pub autoscaling: Option<(Policy, Option<String>)>,
    pub slo: Option<crate::input::slo::SloFile>,
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|io| Error::Read {
        path: path.to_path_buf(),
        io,
    })
}

/// Reads and checks a plan file and its catalog.
pub fn load(path: &Path) -> Result<PlanFile, Error> {
    let text = read(path)?;
    let raw: RawPlan = toml::from_str(&text)
        .map_err(|e| Error::at(path, &text, e.span(), e.message().trim_end().to_string()))?;
    let cx = Cx { path, text: &text };
    let dir = path.parent().unwrap_or(Path::new("."));
    let catalog_path = dir.join(raw.catalog.get_ref());
    let (catalog, currency) = load_catalog(&catalog_path).map_err(|e| {
        cx.at(
            raw.catalog.span(),
            format!("in the catalog this names: {e}"),
        )
    })?;
    let commitment = commitment(&cx, &raw, &catalog)?;
    let bound = bound(&cx, &raw)?;
    // Check the horizon's form now; its length in steps needs the step.
    Step::Seconds(3600)
        .steps_in(raw.horizon.get_ref())
        .map_err(|e| cx.at(raw.horizon.span(), e))?;
    let demand = demand(&cx, &raw.demand, dir)?;
    let sizing = sizing(&cx, &raw)?;
    let events = events(&cx, &raw)?;
    let regions = regions(&cx, &raw, &sizing)?;
    let scenarios = scenarios(&cx, &raw, &events)?;
    let capacity = capacity(&cx, &raw, &catalog, dir)?;
    let fleet = fleet(&cx, &raw, &capacity)?;
    let slo = match &raw.slo {
        None => None,
        Some(s) => Some(
            crate::input::slo::load(&dir.join(s.get_ref()))
                .map_err(|e| cx.at(s.span(), format!("in the SLO file this names: {e}")))?,
        ),
    };
    let autoscaling = raw
        .autoscaling
        .as_ref()
        .map(|a| autoscaling(&cx, a, &capacity, raw.name.as_deref().unwrap_or("service")))
        .transpose()?;
    Ok(PlanFile {
        path: path.to_path_buf(),
        name: raw.name.unwrap_or_else(|| {
            path.file_stem()
                .map_or("plan".into(), |s| s.to_string_lossy().into_owned())
        }),
        catalog,
        currency,
        horizon: raw.horizon.get_ref().clone(),
        commitment,
        bound,
        demand,
        sizing,
        fleet,
        capacity,
        events,
        regions,
        scenarios,
        autoscaling,
        slo,
    })
}

/// `bound`: which forecast bound the plan sizes for (hi95 unless told).
fn bound(cx: &Cx, raw: &RawPlan) -> Result<Bound, Error> {
    Ok(
        match raw.bound.as_ref().map(|b| (b.get_ref().as_str(), b.span())) {
            None | Some(("hi95", _)) => Bound::Hi95,
            Some(("hi80", _)) => Bound::Hi80,
            Some(("mean", _)) => Bound::Mean,
            Some((other, span)) => {
                return Err(cx.at(
                    span,
                    format!("expected `mean`, `hi80` or `hi95`, found `{other}`"),
                ))
            }
        },
    )
}

/// `[sizing]`: utilisation, redundancy, lead time, and whether a region's
/// loss must be survived.
fn sizing(cx: &Cx, raw: &RawPlan) -> Result<Sizing, Error> {
    let utilisation = raw.sizing.utilisation.as_ref().map_or(Ok(0.7), |u| {
        let v = *u.get_ref();
        if v > 0.0 && v <= 1.0 {
            Ok(v)
        } else {
            Err(cx.at(
                u.span(),
                format!("utilisation must be in (0, 1], found {v}"),
            ))
        }
    })?;
    let lead_time_days = cx.days_opt(&raw.sizing.lead_time)?;
    let survive_region_loss = match raw
        .sizing
        .survive
        .as_ref()
        .map(|s| (s.get_ref().as_str(), s.span()))
    {
        None | Some(("none", _)) => false,
        Some(("region", _)) => true,
        Some((other, span)) => {
            return Err(cx.at(
                span,
                format!(
                "expected `region` or `none`, found `{other}` (zones are a region's `zones = 3`)"
            ),
            ))
        }
    };
    if survive_region_loss && raw.regions.len() < 2 {
        let span = raw
            .sizing
            .survive
            .as_ref()
            .map(|s| s.span())
            .unwrap_or(0..0);
        return Err(cx.at(
            span,
            "surviving a region's loss needs two or more [[region]] entries",
        ));
    }
    Ok(Sizing {
        utilisation,
        redundancy: raw.sizing.redundancy.unwrap_or(1),
        min_instances: raw.sizing.min_instances.unwrap_or(1).max(1),
        lead_time_days,
        survive_region_loss,
    })
}

/// `[[event]]`s, each named once.
fn events(cx: &Cx, raw: &RawPlan) -> Result<Vec<Event>, Error> {
    let events = raw
        .events
        .iter()
        .map(|e| event(cx, e))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(e) = raw.events.iter().enumerate().find_map(|(k, e)| {
        raw.events[..k]
            .iter()
            .any(|o| o.get_ref().name.get_ref() == e.get_ref().name.get_ref())
            .then_some(e)
    }) {
        return Err(cx.at(e.get_ref().name.span(), "another [[event]] has this name"));
    }
    Ok(events)
}

/// `[[region]]`s: weights given one way, names once, counts that add up
/// to the fleet's.
fn regions(cx: &Cx, raw: &RawPlan, sizing: &Sizing) -> Result<Vec<Region>, Error> {
    // Weights are all rates or all shares: "55%" beside 1430 would be read
    // as 0.55 against 1430.
    let is_share = |r: &Spanned<RawRegion>| matches!(r.get_ref().weight.get_ref(), toml::Value::String(s) if s.trim().ends_with('%'));
    if let (Some(a), Some(b)) = (
        raw.regions.iter().find(|r| is_share(r)),
        raw.regions.iter().find(|r| !is_share(r)),
    ) {
        let _ = a;
        return Err(cx.at(
            b.get_ref().weight.span(),
            "give every region's weight the same way: all shares (\"55%\") or all rates",
        ));
    }
    let mut regions: Vec<Region> = Vec::new();
    let mut names = std::collections::HashSet::new();
    for r in &raw.regions {
        let v = r.get_ref();
        if let (Some(l), None) = (&v.lead_time, &v.count) {
            return Err(cx.at(
                l.span(),
                "a region's lead_time applies to its orders: give it a `count` (its instances today)",
            ));
        }
        let weight = match v.weight.get_ref() {
            toml::Value::String(s) => crate::units::parse_share(s),
            toml::Value::Float(f) => Ok(*f),
            toml::Value::Integer(i) => Ok(*i as f64),
            other => Err(format!(
                "expected a rate or a share like \"41%\", found {}",
                other.type_str()
            )),
        }
        .map_err(|m| cx.at(v.weight.span(), m))?;
        if !(weight.is_finite() && weight > 0.0) {
            return Err(cx.at(v.weight.span(), "a region's weight must be more than 0"));
        }
        if !names.insert(v.name.get_ref().as_str()) {
            return Err(cx.at(v.name.span(), "another [[region]] has this name"));
        }
        let zones = match &v.zones {
            Some(z) if *z.get_ref() == 0 => return Err(cx.at(z.span(), "zones must be at least 1")),
            Some(z) => *z.get_ref(),
            None => 1,
        };
        if let (Some(c), None) = (&v.count, &raw.fleet) {
            return Err(cx.at(
                c.span(),
                "a region's `count` is of the fleet's type: give [fleet] a `type`",
            ));
        }
        let lead_time_days = cx.days_opt(&v.lead_time)?;
        regions.push(Region {
            name: v.name.get_ref().clone(),
            weight,
            redundancy: v.redundancy.unwrap_or(sizing.redundancy),
            zones,
            count: v.count.as_ref().map(|c| *c.get_ref()),
            lead_time_days,
        });
    }
    // Regions' counts are the fleet, split: they must add up to it.
    if let (Some(f), true) = (&raw.fleet, regions.iter().any(|r| r.count.is_some())) {
        let sum: u32 = regions.iter().filter_map(|r| r.count).sum();
        if regions.iter().any(|r| r.count.is_none()) || sum != *f.count.get_ref() {
            return Err(cx.at(
                f.count.span(),
                format!(
                    "the regions' counts add up to {sum} (every [[region]] needs one), the fleet's to {}",
                    f.count.get_ref()
                ),
            ));
        }
    }
    Ok(regions)
}

/// `[[scenario]]`s, named apart from each other and from `base`.
fn scenarios(cx: &Cx, raw: &RawPlan, events: &[Event]) -> Result<Vec<Scenario>, Error> {
    let scenarios = raw
        .scenarios
        .iter()
        .map(|s| scenario(cx, s, events))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(dup) = raw.scenarios.iter().enumerate().find(|(i, s)| {
        s.get_ref().name.get_ref() == "base"
            || raw.scenarios[..*i]
                .iter()
                .any(|o| o.get_ref().name.get_ref() == s.get_ref().name.get_ref())
    }) {
        return Err(cx.at(
            dup.1.get_ref().name.span(),
            "scenario names must differ, and `base` is the plan itself",
        ));
    }
    Ok(scenarios)
}

/// `[[scenario]]`: its delays and drops must name the plan's events.
fn scenario(cx: &Cx, s: &Spanned<RawScenario>, events: &[Event]) -> Result<Scenario, Error> {
    let r = s.get_ref();
    let known = |name: &Spanned<String>| {
        if events.iter().any(|e| e.name == *name.get_ref()) {
            Ok(name.get_ref().clone())
        } else {
            Err(cx.at(
                name.span(),
                format!(
                    "no [[event]] is named `{}` ({})",
                    name.get_ref(),
                    if events.is_empty() {
                        "the plan has none".to_string()
                    } else {
                        events
                            .iter()
                            .map(|e| e.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
            ))
        }
    };
    // Up to ×1,000: past it, demand and cost overflow into numbers no
    // file can hold (growth = 1e308 wrote a plan.json headroom could not
    // read back).
    let factor = |v: &Option<Spanned<f64>>, what: &str| match v {
        None => Ok(1.0),
        Some(f) if (0.0..=1000.0).contains(f.get_ref()) => Ok(*f.get_ref()),
        Some(f) => Err(cx.at(f.span(), format!("{what} must be a number from 0 to 1000"))),
    };
    let mut delays = Vec::new();
    for (name, d) in &r.delay {
        if !events.iter().any(|e| &e.name == name) {
            return Err(cx.at(d.span(), format!("no [[event]] is named `{name}`")));
        }
        let days = cx.days(d)?;
        delays.push((name.clone(), days));
    }
    Ok(Scenario {
        name: r.name.get_ref().clone(),
        growth: factor(&r.growth, "growth")?,
        scale: factor(&r.scale, "scale")?,
        delays,
        drop: r.drop.iter().map(known).collect::<Result<_, _>>()?,
        events: r
            .events
            .iter()
            .map(|e| event(cx, e))
            .collect::<Result<_, _>>()?,
    })
}

/// `[autoscaling]`.
fn autoscaling(
    cx: &Cx,
    a: &RawAutoscaling,
    capacity: &BTreeMap<String, CapacitySource>,
    name: &str,
) -> Result<(Policy, Option<String>), Error> {
    let delay = crate::units::parse_duration(a.scale_up_delay.get_ref())
        .map_err(|m| cx.at(a.scale_up_delay.span(), m))?
        .as_secs_f64();
    let ramp_per_s = match &a.ramp {
        None => None,
        Some(r) => Some(ramp(r.get_ref()).map_err(|m| cx.at(r.span(), m))?),
    };
    let cpu_at_capacity = match &a.cpu_at_capacity {
        None => None,
        Some(v) => Some(
            match v.get_ref() {
                toml::Value::String(s) => crate::units::parse_share(s),
                toml::Value::Float(f) => crate::units::check_share(*f),
                other => Err(format!(
                    "expected a share like \"80%\", found {}",
                    other.type_str()
                )),
            }
            .map_err(|m| cx.at(v.span(), m))
            .and_then(|c| {
                if c > 0.0 {
                    Ok(c)
                } else {
                    Err(cx.at(v.span(), "cpu_at_capacity must be more than 0"))
                }
            })?,
        ),
    };
    if let Some(t) = &a.type_name {
        if !capacity.contains_key(t.get_ref()) {
            return Err(cx.at(
                t.span(),
                format!(
                    "type `{}` has no [capacity.\"{}\"] entry",
                    t.get_ref(),
                    t.get_ref()
                ),
            ));
        }
    }
    Ok((
        Policy {
            scale_up_delay_s: delay,
            ramp_per_s,
            metric: a
                .metric
                .clone()
                .unwrap_or_else(|| "http_requests_per_second".into()),
            cpu_at_capacity,
            deployment: a.deployment.clone().unwrap_or_else(|| name.to_string()),
        },
        a.type_name.as_ref().map(|t| t.get_ref().clone()),
    ))
}

/// `"40%/1h"` → 0.4 per 3,600 s, per second.
fn ramp(text: &str) -> Result<f64, String> {
    let bad = || format!("expected a ramp like \"40%/1h\" (a share per duration), found {text:?}");
    let (share, per) = text.split_once('/').ok_or_else(bad)?;
    let share = share.trim();
    let v: f64 = share
        .strip_suffix('%')
        .map_or_else(
            || share.parse(),
            |p| p.trim().parse::<f64>().map(|v| v / 100.0),
        )
        .map_err(|_| bad())?;
    let secs = crate::units::parse_duration(per.trim())
        .map_err(|_| bad())?
        .as_secs_f64();
    if !(v.is_finite() && v >= 0.0 && secs > 0.0) {
        return Err(bad());
    }
    Ok(v / secs)
}

/// A date (`2027-03-01`, midnight UTC) or an RFC 3339 time.
fn date(cx: &Cx, v: &Spanned<String>) -> Result<chrono::DateTime<chrono::FixedOffset>, Error> {
    let text = v.get_ref().trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t);
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().fixed_offset())
        .ok_or_else(|| {
            cx.at(
                v.span(),
                format!("expected a date like 2027-03-01 (or an RFC 3339 time), found {text:?}"),
            )
        })
}

fn event(cx: &Cx, e: &Spanned<RawEvent>) -> Result<Event, Error> {
    let r = e.get_ref();
    let start = date(cx, &r.start)?;
    let end = r.end.as_ref().map(|v| date(cx, v)).transpose()?;
    if let (Some(end), Some(span)) = (end, r.end.as_ref().map(|v| v.span())) {
        if end <= start {
            return Err(cx.at(span, "an event must end after it starts"));
        }
    }
    let add = match (&r.add, &r.rps) {
        (Some(a), None) => {
            // "30%" or 0.3; a launch may more than double demand ("150%").
            // A bare 30 is a typo for "30%", not +3,000 %.
            let share = match a.get_ref() {
                toml::Value::String(s) => match s.trim().strip_suffix('%') {
                    Some(p) => p
                        .trim()
                        .parse::<f64>()
                        .map(|v| v / 100.0)
                        .map_err(|_| format!("expected a share like \"30%\", found {s:?}")),
                    None => crate::units::parse_share(s),
                },
                toml::Value::Float(f) if f.abs() <= 10.0 => Ok(*f),
                toml::Value::Integer(n) if n.abs() <= 10 => Ok(*n as f64),
                toml::Value::Float(_) | toml::Value::Integer(_) => Err(
                    "a share as a number is a fraction (0.3 for 30 %): write \"30%\"".to_string(),
                ),
                other => Err(format!("expected a share like \"30%\", found {}", other.type_str())),
            }
            .map_err(|m| cx.at(a.span(), m))?;
            if !(share.is_finite() && share > -1.0) {
                return Err(cx.at(a.span(), "a share must be more than -100 %"));
            }
            EventAdd::Share(share)
        }
        (None, Some(r)) if r.get_ref().abs() <= 1e9 => EventAdd::Rps(*r.get_ref()),
        (None, Some(r)) => {
            return Err(cx.at(r.span(), "rps must be a number within ±1,000,000,000"))
        }
        _ => {
            return Err(cx.at(
                e.span(),
                "an event adds a share of the demand (add = \"30%\") or a rate (rps = 200): one of them",
            ))
        }
    };
    let ramp_days = cx.days_opt(&r.ramp)?.unwrap_or(0.0);
    Ok(Event {
        name: r.name.get_ref().clone(),
        start,
        end,
        ramp_days,
        add,
    })
}

/// The plan file's text, for located errors.
struct Cx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Cx<'_> {
    fn at(&self, span: Range<usize>, msg: impl Into<String>) -> Error {
        Error::at(self.path, self.text, Some(span), msg)
    }

    /// A duration written in the file (`"30d"`), in days.
    fn days(&self, v: &Spanned<String>) -> Result<f64, Error> {
        crate::units::parse_duration(v.get_ref())
            .map(|d| d.as_secs_f64() / 86_400.0)
            .map_err(|e| self.at(v.span(), e))
    }

    fn days_opt(&self, v: &Option<Spanned<String>>) -> Result<Option<f64>, Error> {
        v.as_ref().map(|v| self.days(v)).transpose()
    }
}

/// The commitment prices are read at: one that some catalog type offers.
fn commitment(cx: &Cx, raw: &RawPlan, catalog: &[InstanceType]) -> Result<Option<String>, Error> {
    let Some(c) = &raw.commitment else {
        return Ok(None);
    };
    if !catalog
        .iter()
        .any(|i| i.discounts.contains_key(c.get_ref()))
    {
        return Err(cx.at(
            c.span(),
            format!(
                "no instance type in the catalog has a `{}` discount",
                c.get_ref()
            ),
        ));
    }
    Ok(Some(c.get_ref().clone()))
}

/// `[demand]`: history, a forecast, or a Prometheus query — one of them.
fn demand(cx: &Cx, d: &RawDemand, dir: &Path) -> Result<DemandSource, Error> {
    let step = match &d.step {
        None => None,
        Some(s) => Some(Step::parse(s.get_ref()).map_err(|e| cx.at(s.span(), e))?),
    };
    let sources = [
        d.history.is_some(),
        d.forecast.is_some(),
        d.prometheus.is_some(),
    ];
    if let (true, Some(p)) = (sources.iter().filter(|x| **x).count() > 1, &d.prometheus) {
        return Err(cx.at(
            p.span(),
            "give one of `history`, `forecast` or `prometheus` in [demand]",
        ));
    }
    Ok(match (&d.history, &d.forecast, &d.prometheus) {
        (None, None, Some(p)) => {
            let Some(query) = d.query.clone() else {
                return Err(cx.at(p.span(), "`prometheus` needs `query = \"…\"` in [demand]"));
            };
            let range = match &d.range {
                None => Duration::from_secs(30 * 86_400),
                Some(r) => {
                    crate::units::parse_duration(r.get_ref()).map_err(|e| cx.at(r.span(), e))?
                }
            };
            let step = match step {
                None => Duration::from_secs(3600),
                Some(Step::Seconds(s)) => Duration::from_secs(s),
                Some(Step::Months(_)) => {
                    return Err(cx.at(
                        p.span(),
                        "a Prometheus source needs a step in seconds (1h, 1d)",
                    ))
                }
            };
            DemandSource::Prometheus(super::prometheus::Source {
                url: p.get_ref().clone(),
                query,
                range,
                step,
                end: None,
            })
        }
        (Some(h), None, _) => DemandSource::History {
            path: dir.join(h.get_ref()),
            step,
            time_column: d.time_column.clone(),
            value_column: d.value_column.clone(),
        },
        (None, Some(f), _) => DemandSource::Forecast(dir.join(f.get_ref())),
        (Some(_), Some(f), _) => {
            return Err(cx.at(
                f.span(),
                "give either `history` or `forecast` in [demand], not both",
            ))
        }
        (None, None, None) => {
            return Err(Error::at(
                cx.path,
                cx.text,
                cx.text.find("[demand]").map(|i| i..i + 8),
                "[demand] needs `history = \"FILE\"` or `forecast = \"FILE\"`",
            ))
        }
    })
}

/// `[capacity."TYPE"]`: at least one, each a type of the catalog.
fn capacity(
    cx: &Cx,
    raw: &RawPlan,
    catalog: &[InstanceType],
    dir: &Path,
) -> Result<BTreeMap<String, CapacitySource>, Error> {
    let mut capacity = BTreeMap::new();
    for (name, c) in &raw.capacity {
        if !catalog.iter().any(|i| &i.name == name) {
            return Err(cx.at(
                c.span(),
                format!(
                    "instance type `{name}` is not in the catalog ({})",
                    names(catalog)
                ),
            ));
        }
        let source = capacity_source(c.get_ref(), dir).map_err(|e| cx.at(c.span(), e))?;
        capacity.insert(name.clone(), source);
    }
    if capacity.is_empty() {
        return Err(Error::at(
            cx.path,
            cx.text,
            None,
            "the plan needs at least one [capacity.\"TYPE\"] entry: the rate one instance sustains",
        ));
    }
    Ok(capacity)
}

/// `[fleet]`: the current fleet, of a type with a capacity.
fn fleet(
    cx: &Cx,
    raw: &RawPlan,
    capacity: &BTreeMap<String, CapacitySource>,
) -> Result<Option<Fleet>, Error> {
    let Some(f) = &raw.fleet else {
        return Ok(None);
    };
    let t = f.type_name.get_ref();
    if !capacity.contains_key(t) {
        return Err(cx.at(
            f.type_name.span(),
            format!("the fleet's type `{t}` has no [capacity.\"{t}\"] entry"),
        ));
    }
    if *f.count.get_ref() == 0 {
        return Err(cx.at(f.count.span(), "the fleet count must be at least 1"));
    }
    Ok(Some(Fleet {
        type_name: t.clone(),
        count: *f.count.get_ref(),
    }))
}

fn names(catalog: &[InstanceType]) -> String {
    catalog
        .iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn capacity_source(c: &RawCapacity, dir: &Path) -> Result<CapacitySource, String> {
    match (c.rps, &c.find, &c.queue) {
        (Some(r), None, None) if (0.001..=1e9).contains(&r) => Ok(CapacitySource::Rps(r)),
        (Some(r), None, None) => Err(format!(
            "rps must be from 0.001 to 1,000,000,000 requests/s, found {r}"
        )),
        (None, Some(f), None) => Ok(CapacitySource::Find(dir.join(f))),
        (None, None, Some(q)) => {
            let secs = |t: &str| crate::units::parse_duration(t).map(|d| d.as_secs_f64());
            let service_time_s = secs(&q.service_time)?;
            let within_s = secs(&q.within)?;
            if q.workers == 0 || service_time_s <= 0.0 || !(0.0..1.0).contains(&q.quantile) {
                return Err(
                    "queue needs workers ≥ 1, service_time > 0 and 0 ≤ quantile < 1".into(),
                );
            }
            Ok(CapacitySource::Queue {
                workers: q.workers,
                service_time_s,
                quantile: q.quantile,
                within_s,
            })
        }
        _ => Err("give exactly one of `rps`, `find` or `queue`".into()),
    }
}

/// Reads an instance catalog (`models/catalog.toml`).
pub fn load_catalog(path: &Path) -> Result<(Vec<InstanceType>, String), Error> {
    let text = read(path)?;
    let raw: RawCatalog = toml::from_str(&text)
        .map_err(|e| Error::at(path, &text, e.span(), e.message().trim_end().to_string()))?;
    let mut out: Vec<InstanceType> = Vec::new();
    for i in &raw.instance {
        let r = i.get_ref();
        let bad = |m: String| Error::at(path, &text, Some(i.span()), m);
        if out.iter().any(|o| o.name == r.name) {
            return Err(bad(format!("instance type `{}` is listed twice", r.name)));
        }
        if !(r.hourly > 0.0 && r.hourly.is_finite()) || r.vcpu <= 0.0 || r.memory_gib <= 0.0 {
            return Err(bad("hourly, vcpu and memory_gib must be positive".into()));
        }
        if let Some((k, d)) = r.discounts.iter().find(|(_, d)| !(0.0..1.0).contains(*d)) {
            return Err(bad(format!(
                "discount `{k}` = {d}: expected a share in [0, 1), e.g. 0.3 for 30 % off"
            )));
        }
        out.push(InstanceType {
            name: r.name.clone(),
            vcpu: r.vcpu,
            memory_gib: r.memory_gib,
            hourly: r.hourly,
            discounts: r.discounts.clone(),
            lead_time_days: match &r.lead_time {
                None => None,
                Some(l) => Some(
                    crate::units::parse_duration(l)
                        .map_err(|m| bad(format!("lead_time: {m}")))?
                        .as_secs_f64()
                        / 86_400.0,
                ),
            },
        });
    }
    if out.is_empty() {
        return Err(Error::at(
            path,
            &text,
            None,
            "the catalog lists no [[instance]]".to_string(),
        ));
    }
    Ok((out, raw.currency.unwrap_or_else(|| "USD".into())))
}
