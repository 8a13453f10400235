//! `forecast.json` (schema `headroom.forecast/1`) and `plan.json` (schema
//! `headroom.plan/1`): the demand forecast a plan sized for, and the plan.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::BadInput;
use crate::input::history::{parse_timestamp, History};
use crate::input::plan::{Bound, PlanFile};
use crate::model::autoscale::Recommendation;
use crate::model::forecast::{Backtest, Calibration, Forecast};
use crate::model::plan::{self, DemandPoint, Fleet};
use crate::model::sizing::{Candidate, Sizing};
use crate::model::whatif::Outcome;

pub const FORECAST_SCHEMA: &str = "headroom.forecast/1";
pub const BACKTEST_SCHEMA: &str = "headroom.backtest/1";

/// `backtest.json`: how the forecast did on the history's own past.
/// The autoscaling recommendation and its manifest, as `plan.json` holds
/// them (the numbers, and `hpa` beside them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Autoscaling {
    #[serde(flatten)]
    pub recommendation: Recommendation,
    /// A Kubernetes HorizontalPodAutoscaler (autoscaling/v2) with these.
    pub hpa: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BacktestDoc {
    pub schema: String,
    pub source: String,
    /// `1h`, `1d`, `1mo` …
    pub step: String,
    #[serde(flatten)]
    pub backtest: Backtest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ForecastPoint {
    /// Start of the step, RFC 3339 with the history's offset.
    pub t: String,
    pub mean: f64,
    pub lo80: f64,
    pub hi80: f64,
    pub lo95: f64,
    pub hi95: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HistoryPoint {
    pub t: String,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ForecastDoc {
    pub schema: String,
    pub model: String,
    /// Why that model: seasons, scale, how the intervals were set.
    #[serde(default)]
    pub why: String,
    /// `1h`, `1d`, `1mo` …
    pub step: String,
    pub source: String,
    /// Steps of the resampled history that were empty and interpolated.
    pub filled: usize,
    pub history: Vec<HistoryPoint>,
    pub points: Vec<ForecastPoint>,
    /// How the intervals were calibrated on the history's own backtest,
    /// and what they covered there; null for a history too short for it.
    #[serde(default)]
    pub calibration: Option<Calibration>,
    /// What the reader should know: repeated timestamps, a forecast
    /// floored at zero.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl ForecastDoc {
    /// The forecast `f` of history `h`, floored at zero: demand is never
    /// negative, whatever a trend extrapolates to.
    pub fn new(file: &Path, h: &History, f: &Forecast) -> ForecastDoc {
        let mut warnings = Vec::new();
        if h.duplicates > 0 {
            warnings.push(format!(
                "{} rows repeat an earlier row's timestamp; they were combined like rows in one step",
                h.duplicates
            ));
        }
        if let Some(i) = f.mean.iter().position(|&m| m < 0.0) {
            warnings.push(format!(
                "the model's forecast falls below zero from {}; demand is floored at 0",
                h.time(h.values.len() + i).to_rfc3339()
            ));
        }
        let floor = |v: f64| v.max(0.0);
        ForecastDoc {
            warnings,
            schema: FORECAST_SCHEMA.into(),
            model: f.model.clone(),
            why: f.why.clone(),
            calibration: f.calibration,
            step: h.step.to_string(),
            source: file.display().to_string(),
            filled: h.filled,
            history: h
                .values
                .iter()
                .enumerate()
                .map(|(i, &value)| HistoryPoint {
                    t: h.time(i).to_rfc3339(),
                    value,
                })
                .collect(),
            points: (0..f.mean.len())
                .map(|i| ForecastPoint {
                    t: h.time(h.values.len() + i).to_rfc3339(),
                    mean: floor(f.mean[i]),
                    lo80: floor(f.i80.lo[i]),
                    hi80: floor(f.i80.hi[i]),
                    lo95: floor(f.i95.lo[i]),
                    hi95: floor(f.i95.hi[i]),
                })
                .collect(),
        }
    }

    /// The forecast as plan demand: `bound` sized for, the mean for volume.
    pub fn demand_points(&self, bound: Bound) -> Result<Vec<DemandPoint>, BadInput> {
        self.points
            .iter()
            .map(|p| {
                let t = parse_timestamp(&p.t).ok_or_else(|| {
                    BadInput(format!(
                        "{}: bad timestamp `{}` in the forecast",
                        self.source, p.t
                    ))
                })?;
                let b = match bound {
                    Bound::Mean => p.mean,
                    Bound::Hi80 => p.hi80,
                    Bound::Hi95 => p.hi95,
                };
                Ok(DemandPoint {
                    t,
                    mean: p.mean,
                    bound: b,
                })
            })
            .collect()
    }
}

/// A plan read beside its SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanSlo {
    pub name: String,
    pub objective: f64,
    /// The window in words (`30d rolling`, `calendar month`).
    pub window: String,
    /// The rate the current fleet sustains within the SLO, every instance
    /// up (count × measured capacity; `null` without a fleet).
    pub fleet_slo_rps: Option<f64>,
    /// First forecast step whose sized-for demand passes it: from then,
    /// requests beyond what the fleet can serve well spend the budget.
    pub burns_from: Option<String>,
    pub demand_at_burn_rps: Option<f64>,
    /// Bad requests one window allows at the horizon's mean demand.
    pub allowed_per_window: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CapacityLine {
    #[serde(rename = "type")]
    pub type_name: String,
    pub capacity_rps: f64,
    pub source: String,
    pub hourly: f64,
    pub vcpu: f64,
    pub memory_gib: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanDoc {
    pub schema: String,
    pub name: String,
    pub currency: String,
    pub commitment: Option<String>,
    pub horizon: String,
    pub bound: Bound,
    pub sizing: Sizing,
    pub fleet: Option<Fleet>,
    pub forecast_model: String,
    /// The forecast's calibration and backtest coverage (forecast.json's).
    #[serde(default)]
    pub forecast_calibration: Option<Calibration>,
    pub step: String,
    pub capacity: Vec<CapacityLine>,
    /// `[[event]]`s: inorganic demand added to the forecast.
    #[serde(default)]
    pub events: Vec<plan::EventDoc>,
    /// `[[scenario]]`s side by side, `base` (the plan itself) first; empty
    /// without scenarios.
    #[serde(default)]
    pub scenarios: Vec<Outcome>,
    /// `[autoscaling]`: the autoscaler's target and the HPA manifest.
    #[serde(default)]
    pub autoscaling: Option<Autoscaling>,
    /// `slo = "…"`: when the fleet starts to spend that SLO's budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<PlanSlo>,
    #[serde(flatten)]
    pub plan: plan::Plan,
}

impl PlanDoc {
    pub fn new(
        pf: &PlanFile,
        candidates: &[Candidate],
        forecast: &ForecastDoc,
        result: plan::Plan,
    ) -> PlanDoc {
        PlanDoc {
            schema: plan::SCHEMA.into(),
            name: pf.name.clone(),
            currency: pf.currency.clone(),
            commitment: pf.commitment.clone(),
            horizon: pf.horizon.clone(),
            bound: pf.bound,
            sizing: pf.sizing,
            fleet: pf.fleet.clone(),
            forecast_model: forecast.model.clone(),
            forecast_calibration: forecast.calibration,
            step: forecast.step.clone(),
            capacity: candidates
                .iter()
                .map(|c| CapacityLine {
                    type_name: c.instance.name.clone(),
                    capacity_rps: c.capacity_rps,
                    source: c.capacity_source.clone(),
                    hourly: c.hourly,
                    vcpu: c.instance.vcpu,
                    memory_gib: c.instance.memory_gib,
                })
                .collect(),
            events: pf.events.iter().map(plan::EventDoc::of).collect(),
            scenarios: Vec::new(),
            autoscaling: None,
            slo: None,
            plan: result,
        }
    }
}
