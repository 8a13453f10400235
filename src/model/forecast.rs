//! Demand forecasts with prediction intervals.
//!
//! The model is MSTL (multiple seasonal-trend decomposition by Loess) with an
//! automatically selected ETS model for the deseasonalised series, both from
//! grafana's `augurs` crates. A strictly positive series is modelled on the
//! log scale, so seasonal swings grow with the level (the usual shape of
//! traffic and of AirPassengers) and intervals never go negative. A series
//! too short for any seasonal period falls back to non-seasonal AutoETS.
//!
//! Accuracy on held-out data is tested against R's `forecast::ets()`
//! (`tests/fixtures/README.md`); the metrics used are here too: [`mase`] and
//! [`smape`].

use augurs::ets::{trend::AutoETSTrendModel, AutoETS};
use augurs::forecaster::{transforms::Log, Forecaster, Transformer};
use augurs::mstl::MSTLModel;
use augurs::{Fit, Predict};
use serde::{Deserialize, Serialize};

/// A forecast: point values and 80 % / 95 % prediction intervals, one entry
/// per future step.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Human-readable model description, e.g. `MSTL[24,168] + AutoETS, log scale`.
    pub model: String,
    /// Why this model: the seasons kept and left out, the scale, and
    /// how the intervals were set.
    pub why: String,
    pub mean: Vec<f64>,
    pub i80: Interval,
    pub i95: Interval,
    /// How the intervals were calibrated on the history's own backtest, and
    /// how well that held; `None` when the history is too short for it.
    pub calibration: Option<Calibration>,
}

/// A prediction interval, one bound per step.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
}

impl Interval {
    /// Whether step `j`'s interval holds `x`.
    pub fn holds(&self, j: usize, x: f64) -> bool {
        self.lo[j] <= x && x <= self.hi[j]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ForecastError {
    #[error("need at least {need} observations to forecast, got {got}")]
    TooShort { need: usize, got: usize },
    #[error(
        "a backtest of {window} steps ahead needs at least {need} steps of history before \
         its latest origin, and this history leaves {got}: give a longer history (or a \
         shorter --horizon)"
    )]
    TooShortToBacktest {
        window: usize,
        need: usize,
        got: usize,
    },
    #[error("the history contains a value that is not a finite number at index {0}")]
    NotFinite(usize),
    #[error(
        "the history's value at index {0} is {1:e}: beyond 1e15 a forecast's arithmetic \
         loses its digits (is the column a count of bytes, or a timestamp?)"
    )]
    TooLarge(usize, f64),
    #[error("the horizon must be at least one step")]
    NoHorizon,
    #[error(
        "{got} steps of history: the model fits at most {max} (a forecast fits it a dozen \
         times to calibrate its intervals)"
    )]
    TooLong { got: usize, max: usize },
    #[error("the forecasting model failed: {0}")]
    Model(String),
}

/// The fewest observations we forecast from: ETS with a trend has four
/// parameters and two initial states to estimate.
pub const MIN_OBSERVATIONS: usize = 8;

/// The most: the time to fit grows with the history (100,000 one-minute
/// steps ran past a minute, and a signal could not stop it), and a
/// capacity forecast needs no finer step than a history this long allows.
pub const MAX_OBSERVATIONS: usize = 20_000;

/// The largest value forecast (a quadrillion a step): beyond it the log,
/// the smoothing and the intervals overflow into numbers no file holds.
pub const MAX_VALUE: f64 = 1e15;

/// Seasonal periods (in steps) worth modelling for data sampled every
/// `step_seconds`, given `n` observations: daily and weekly cycles for
/// sub-daily data, weekly and yearly for daily data. A period is kept only if
/// it spans at least two steps and the history holds at least two full
/// cycles of it (MSTL's own requirement). Monthly data uses
/// [`MONTHLY_PERIODS`].
pub fn seasonal_periods(step_seconds: u64, n: usize) -> Vec<usize> {
    const DAY: u64 = 86_400;
    let cycles: &[u64] = if step_seconds < DAY {
        &[DAY, 7 * DAY]
    } else {
        &[7 * DAY, 365 * DAY]
    };
    keep_periods(
        cycles
            .iter()
            .filter(|&&c| c % step_seconds == 0 || step_seconds >= DAY)
            .map(|&c| (c / step_seconds.max(1)) as usize),
        n,
    )
}

/// Yearly seasonality for monthly data, when there are two years of it.
pub const MONTHLY_PERIODS: [usize; 1] = [12];

/// Keeps the periods MSTL can estimate from `n` observations.
pub fn keep_periods(periods: impl IntoIterator<Item = usize>, n: usize) -> Vec<usize> {
    let mut kept: Vec<usize> = periods
        .into_iter()
        .filter(|&p| p >= 2 && 2 * p < n)
        .collect();
    kept.sort_unstable();
    kept.dedup();
    kept
}

/// Forecasts `horizon` steps after `history`, modelling the given seasonal
/// `periods` (as returned by [`seasonal_periods`] or [`keep_periods`]).
pub fn forecast(
    history: &[f64],
    periods: &[usize],
    horizon: usize,
) -> Result<Forecast, ForecastError> {
    if horizon == 0 {
        return Err(ForecastError::NoHorizon);
    }
    if history.len() < MIN_OBSERVATIONS {
        return Err(ForecastError::TooShort {
            need: MIN_OBSERVATIONS,
            got: history.len(),
        });
    }
    if history.len() > MAX_OBSERVATIONS {
        return Err(ForecastError::TooLong {
            got: history.len(),
            max: MAX_OBSERVATIONS,
        });
    }
    if let Some(i) = history.iter().position(|v| !v.is_finite()) {
        return Err(ForecastError::NotFinite(i));
    }
    if let Some(i) = history.iter().position(|v| v.abs() > MAX_VALUE) {
        return Err(ForecastError::TooLarge(i, history[i]));
    }
    let asked = periods;
    let periods = keep_periods(periods.iter().copied(), history.len());
    let log = history.iter().all(|&v| v > 0.0);
    let Bands {
        mean,
        mut i80,
        mut i95,
    } = fit(history, &periods, horizon, log)?;
    let seasonal = if periods.is_empty() {
        "AutoETS (no seasonal period fits the history)".to_string()
    } else {
        format!("MSTL{periods:?} + AutoETS trend")
    };
    let scale = if log { ", log scale" } else { "" };
    let mut model = format!("{seasonal}{scale}");
    let calibration = calibrate(history, &periods, horizon, log);
    if let Some(c) = &calibration {
        let t = |x: f64| if log { x.ln() } else { x };
        let back = |x: f64| if log { x.exp() } else { x };
        for (i, factor) in [(&mut i80, c.factor80), (&mut i95, c.factor95)] {
            for (j, m) in mean.iter().enumerate() {
                let (tm, tl, th) = (t(*m), t(i.lo[j]), t(i.hi[j]));
                i.lo[j] = back(tm - factor * (tm - tl));
                i.hi[j] = back(tm + factor * (th - tm));
            }
        }
        // Nested still when the 80 % interval grew more than the 95 %.
        for j in 0..mean.len() {
            i95.lo[j] = i95.lo[j].min(i80.lo[j]);
            i95.hi[j] = i95.hi[j].max(i80.hi[j]);
        }
        model += &format!(
            "; intervals scaled ×{:.2} (80 %) and ×{:.2} (95 %) to cover {} backtest errors",
            c.factor80, c.factor95, c.errors
        );
    }
    let why = why(asked, &periods, log, calibration.as_ref());
    Ok(Forecast {
        model,
        why,
        mean,
        i80,
        i95,
        calibration,
    })
}

/// The reasons behind a forecast's model, in words.
fn why(asked: &[usize], kept: &[usize], log: bool, c: Option<&Calibration>) -> String {
    let mut parts = Vec::new();
    let dropped: Vec<usize> = asked
        .iter()
        .copied()
        .filter(|p| !kept.contains(p))
        .collect();
    parts.push(match kept {
        [] => "no seasonal cycle: the history is too short to hold any twice, so the trend \
               model alone (AutoETS)"
            .to_string(),
        _ => format!(
            "seasons of {kept:?} steps (the cycles of the data's step that the history holds \
             at least twice), taken out by MSTL; the rest modelled by AutoETS"
        ),
    });
    if !dropped.is_empty() {
        parts.push(format!(
            "seasons of {dropped:?} steps left out: the history holds fewer than two of them"
        ));
    }
    parts.push("AutoETS picks its error, trend and damping by AICc".into());
    parts.push(if log {
        "on the log scale: every value is positive, so seasonal swings grow with the level \
         and intervals stay above zero"
            .into()
    } else {
        "on the original scale: the history holds zero or negative values".into()
    });
    parts.push(match c {
        Some(c) => format!(
            "interval widths from the model's own errors at {} backtest origins (split \
             conformal), not from the model's formulas alone",
            c.origins
        ),
        None => "intervals from the model alone: the history is too short to calibrate them \
                 on a backtest"
            .into(),
    });
    parts.join("; ")
}

/// Backtest origins the intervals are calibrated on.
const CALIBRATION_ORIGINS: usize = 12;
/// Fewest backtest errors a calibration is made from.
const CALIBRATION_MIN_ERRORS: usize = 20;

/// How much the model's intervals were widened (or narrowed) so that they
/// cover what they claim on the history's own recent past, and what they
/// covered there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Calibration {
    /// Backtest origins the model was refitted at.
    pub origins: usize,
    /// Out-of-sample errors the factors come from.
    pub errors: usize,
    pub factor80: f64,
    pub factor95: f64,
    /// Share of those errors inside the calibrated 80 % and 95 % intervals,
    /// each origin's intervals scaled by factors made from the other
    /// origins alone (leave one origin out), so a forecast never grades
    /// its own calibration.
    pub coverage80: f64,
    pub coverage95: f64,
}

/// Split conformal calibration of the interval width (Vovk et al. 2005;
/// Romano et al. 2019): the model is refitted at up to
/// `CALIBRATION_ORIGINS` rolling origins in the last part of the history,
/// each forecast's error at every step is divided by the model's own
/// half-width there (on the side the error fell, on the log scale when the
/// model is), and the intervals are scaled by the conformal quantile of
/// those ratios. The model's intervals keep their shape over the horizon —
/// MSTL's carry only the trend model's uncertainty, not the seasonal and
/// remainder parts', and came out too narrow for monthly data and too wide
/// for hourly (issue 18) — and get the width its errors show. `None` when
/// the history is too short for enough backtest errors.
fn calibrate(history: &[f64], periods: &[usize], horizon: usize, log: bool) -> Option<Calibration> {
    // A constant history (all zeros, a flat rate) is forecast exactly at
    // every origin: its backtest errors are rounding, and a factor made of
    // them ("scaled ×2.31 … covered 78 %") would be noise.
    if history.iter().all(|&v| v == history[0]) {
        return None;
    }
    let n = history.len();
    // Windows as long as the horizon, at most an eighth of the history,
    // overlapping by two thirds: 12 origins reach back about 4.7 windows,
    // so the earliest still fits on two fifths of the history or more.
    // (4 windows side by side gave too few errors: factors from 0.6 to
    // 3.0 on one series, and no better coverage on the test bed.)
    let w = horizon.min(n / 8).max(1);
    let stride = (w / 3).max(1);
    let t = |x: f64| if log { x.ln() } else { x };
    // Scores (error / half-width) per origin, for 80 % and 95 %.
    let mut origins: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    for k in 1..=CALIBRATION_ORIGINS {
        let cut = n.checked_sub(w + (k - 1) * stride)?;
        let train = &history[..cut];
        let periods = keep_periods(periods.iter().copied(), cut);
        if cut < MIN_OBSERVATIONS {
            break;
        }
        let Ok(Bands { mean, i80, i95 }) = fit(train, &periods, w, log) else {
            continue;
        };
        let (mut s80, mut s95) = (Vec::new(), Vec::new());
        for j in 0..w {
            let e = t(history[cut + j]) - t(mean[j]);
            let side = |i: &Interval| {
                if e >= 0.0 {
                    t(i.hi[j]) - t(mean[j])
                } else {
                    t(mean[j]) - t(i.lo[j])
                }
            };
            let (h80, h95) = (side(&i80), side(&i95));
            if h80 > 0.0 && h95 > 0.0 && e.is_finite() {
                s80.push(e.abs() / h80);
                s95.push(e.abs() / h95);
            }
        }
        origins.push((s80, s95));
    }
    let errors: usize = origins.iter().map(|o| o.0.len()).sum();
    if errors < CALIBRATION_MIN_ERRORS {
        return None;
    }
    let (s80, s95): (Vec<Vec<f64>>, Vec<Vec<f64>>) = origins.into_iter().unzip();
    let (factor80, coverage80) = conformal(&s80, 0.80)?;
    let (factor95, coverage95) = conformal(&s95, 0.95)?;
    Some(Calibration {
        origins: s80.len(),
        errors,
        factor80,
        factor95,
        coverage80,
        coverage95,
    })
}

/// The conformal factor of `level` from every origin's scores, and the
/// share of scores inside the factor made without their own origin.
fn conformal(origins: &[Vec<f64>], level: f64) -> Option<(f64, f64)> {
    // The ⌈(m + 1)·level⌉-th smallest of m scores; `None` without any.
    let quantile = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let i = (((v.len() + 1) as f64 * level).ceil() as usize).clamp(1, v.len().max(1));
        v.get(i - 1).copied()
    };
    let all_but = |skip: Option<usize>| -> Vec<f64> {
        (origins.iter().enumerate())
            .filter(|&(i, _)| Some(i) != skip)
            .flat_map(|(_, o)| o)
            .copied()
            .collect()
    };
    let factor = quantile(all_but(None))?;
    let inside: usize = (origins.iter().enumerate())
        .map(|(k, own)| {
            let f = quantile(all_but(Some(k))).unwrap_or(f64::INFINITY);
            own.iter().filter(|&&x| x <= f).count()
        })
        .sum();
    let errors: usize = origins.iter().map(Vec::len).sum();
    Some((factor, inside as f64 / errors as f64))
}

/// Origins of `forecast --backtest`.
pub const BACKTEST_ORIGINS: usize = 6;

/// Accuracy of forecasts over some steps ahead.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Accuracy {
    /// Steps ahead, 1-based, inclusive.
    pub first_step: usize,
    pub last_step: usize,
    /// Forecast points scored (origins × steps).
    pub points: usize,
    /// Mean absolute scaled error: below 1 beats the seasonal naive
    /// forecast's in-sample error; null when the history never changed.
    pub mase: Option<f64>,
    /// Symmetric mean absolute percentage error, 0–200.
    pub smape: f64,
    pub coverage80: f64,
    pub coverage95: f64,
}

/// How the whole forecast — model, calibration and all — did on the
/// history's own past: refitted at rolling origins, each time on the
/// history up to that origin alone, and scored on what came next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Backtest {
    pub origins: usize,
    /// Steps ahead scored at each origin.
    pub horizon: usize,
    /// The seasonal naive period the MASE is scaled by (1: naive).
    pub season: usize,
    /// The model as the latest origin fitted it, and why.
    pub model: String,
    pub why: String,
    /// By steps ahead, in up to four buckets.
    pub buckets: Vec<Accuracy>,
    pub overall: Accuracy,
}

/// Rolling-origin evaluation of [`forecast`] on `history`: up to
/// [`BACKTEST_ORIGINS`] origins, half a window apart, each forecasting a
/// window of `horizon` steps (at most a sixth of the history, so the
/// earliest origin still has over two fifths of it to learn from).
pub fn backtest(
    history: &[f64],
    periods: &[usize],
    horizon: usize,
) -> Result<Backtest, ForecastError> {
    let n = history.len();
    let w = horizon.min(n / 6).max(1);
    let stride = (w / 2).max(1);
    let season = periods.first().copied().unwrap_or(1);
    /// One forecast step at one origin.
    #[derive(Clone, Copy)]
    struct Scored {
        /// |actual − point| over the origin's seasonal naive error.
        scaled: f64,
        actual: f64,
        point: f64,
        in80: bool,
        in95: bool,
    }
    // Per origin, per step ahead.
    let mut scored: Vec<Vec<Scored>> = Vec::new();
    let (mut model, mut why) = (String::new(), String::new());
    for k in 0..BACKTEST_ORIGINS {
        let Some(cut) = n.checked_sub(w + k * stride) else {
            break;
        };
        if cut < 2 * MIN_OBSERVATIONS || cut < n * 2 / 5 {
            break;
        }
        let train = &history[..cut];
        let f = forecast(train, &keep_periods(periods.iter().copied(), cut), w)?;
        if k == 0 {
            (model, why) = (f.model.clone(), f.why.clone());
        }
        let m = if cut > season { season } else { 1 };
        let scale = mean(train.windows(m + 1).map(|x| (x[m] - x[0]).abs()));
        scored.push(
            (0..w)
                .map(|j| {
                    let a = history[cut + j];
                    Scored {
                        scaled: (a - f.mean[j]).abs() / scale,
                        actual: a,
                        point: f.mean[j],
                        in80: f.i80.holds(j, a),
                        in95: f.i95.holds(j, a),
                    }
                })
                .collect(),
        );
    }
    if scored.is_empty() {
        return Err(ForecastError::TooShortToBacktest {
            window: w,
            need: 2 * MIN_OBSERVATIONS,
            got: n.saturating_sub(w),
        });
    }
    let accuracy = |first: usize, last: usize| {
        let pts: Vec<_> = scored
            .iter()
            .flat_map(|o| &o[first - 1..last])
            .copied()
            .collect();
        let share =
            |f: fn(&Scored) -> bool| pts.iter().filter(|p| f(p)).count() as f64 / pts.len() as f64;
        Accuracy {
            first_step: first,
            last_step: last,
            points: pts.len(),
            mase: Some(mean(pts.iter().map(|p| p.scaled))).filter(|m| m.is_finite()),
            smape: mean(pts.iter().map(|p| {
                let (a, f) = (p.actual, p.point);
                200.0 * (a - f).abs() / (a.abs() + f.abs()).max(f64::MIN_POSITIVE)
            })),
            coverage80: share(|p| p.in80),
            coverage95: share(|p| p.in95),
        }
    };
    let parts = w.min(4);
    let buckets = (0..parts)
        .map(|i| accuracy(i * w / parts + 1, (i + 1) * w / parts))
        .collect();
    Ok(Backtest {
        origins: scored.len(),
        horizon: w,
        season,
        model,
        why,
        buckets,
        overall: accuracy(1, w),
    })
}

/// The model's point forecast and intervals, before calibration.
fn fit(
    history: &[f64],
    periods: &[usize],
    horizon: usize,
    log: bool,
) -> Result<Bands, ForecastError> {
    let transforms = || -> Vec<Box<dyn Transformer>> {
        if log {
            vec![Box::new(Log::new())]
        } else {
            Vec::new()
        }
    };
    let trend = AutoETS::non_seasonal();
    if periods.is_empty() {
        let mut f = Forecaster::new(trend).with_transformers(transforms());
        run(&mut f, history, horizon)
    } else {
        let model = MSTLModel::new(periods.to_vec(), AutoETSTrendModel::from(trend));
        let mut f = Forecaster::new(model).with_transformers(transforms());
        run(&mut f, history, horizon)
    }
}

/// The model's own forecast, before calibration.
struct Bands {
    mean: Vec<f64>,
    i80: Interval,
    i95: Interval,
}

fn run<M>(f: &mut Forecaster<M>, history: &[f64], horizon: usize) -> Result<Bands, ForecastError>
where
    M: Fit,
    M::Fitted: Predict,
{
    let model = |e: augurs::forecaster::Error| ForecastError::Model(e.to_string());
    f.fit(history).map_err(model)?;
    let p80 = f.predict(horizon, 0.80).map_err(model)?;
    let p95 = f.predict(horizon, 0.95).map_err(model)?;
    let (Some(i80), Some(i95)) = (p80.intervals, p95.intervals) else {
        return Err(ForecastError::Model(
            "the model returned no prediction intervals".into(),
        ));
    };
    let all = [&p95.point, &i80.lower, &i80.upper, &i95.lower, &i95.upper];
    if all.iter().any(|v| v.iter().any(|x| !x.is_finite())) {
        return Err(ForecastError::Model(
            "the forecast is not finite (the history may be too erratic to model)".into(),
        ));
    }
    Ok(Bands {
        mean: p95.point,
        i80: Interval {
            lo: i80.lower,
            hi: i80.upper,
        },
        i95: Interval {
            lo: i95.lower,
            hi: i95.upper,
        },
    })
}

/// Mean absolute scaled error (Hyndman & Koehler 2006): the forecast's mean
/// absolute error divided by the in-sample mean absolute error of the
/// seasonal naive forecast with period `m` on `train` (`m = 1`: naive).
/// This is what R's `forecast::accuracy()` reports as test-set MASE.
pub fn mase(actual: &[f64], predicted: &[f64], train: &[f64], m: usize) -> f64 {
    let m = m.max(1);
    let scale = mean(train.windows(m + 1).map(|w| (w[m] - w[0]).abs()));
    mean(actual.iter().zip(predicted).map(|(a, p)| (a - p).abs())) / scale
}

/// Symmetric mean absolute percentage error in percent, 0–200:
/// mean of 200·|a − p| / (|a| + |p|).
pub fn smape(actual: &[f64], predicted: &[f64]) -> f64 {
    mean(
        actual
            .iter()
            .zip(predicted)
            .map(|(a, p)| 200.0 * (a - p).abs() / (a.abs() + p.abs())),
    )
}

/// Share of `actual` values inside `[lo, hi]`.
pub fn coverage(actual: &[f64], lo: &[f64], hi: &[f64]) -> f64 {
    mean(
        actual
            .iter()
            .zip(lo.iter().zip(hi))
            .map(|(a, (l, h))| f64::from(u8::from(l <= a && a <= h))),
    )
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    sum / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat history's backtest errors are rounding: no calibration is
    /// made of them (it said "scaled ×2.31 … covered 78 %" before), and the
    /// forecast is the history's level.
    #[test]
    fn a_constant_history_is_forecast_flat_without_a_calibration() {
        for level in [0.0, 250.0] {
            let f = forecast(&[level; 96], &[24], 24).unwrap();
            assert!(f.calibration.is_none(), "{}", f.model);
            assert!(!f.model.contains("scaled"), "{}", f.model);
            // Within the fit's convergence tolerance (250 came back as
            // 249.9997 through the log scale).
            for m in &f.mean {
                assert!((m - level).abs() <= 1e-5 * level.max(1.0), "{m}");
            }
        }
    }

    fn air_passengers() -> Vec<f64> {
        include_str!("../../tests/fixtures/forecast/AirPassengers.csv")
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().trim().parse().unwrap())
            .collect()
    }

    /// R 4.2.2, forecast 8.20 (COMPUTED, tests/fixtures/README.md):
    /// `ets(window(AirPassengers, end = c(1958, 12)))` selects ETS(M,Ad,M);
    /// on the 24 held-out months 1959–1960 it scores MASE 2.212249 and
    /// sMAPE 14.483275, 80 % interval coverage 0.2917, 95 % coverage 0.8750.
    /// The seasonal naive forecast scores MASE 2.493519, sMAPE 17.012625.
    const R_ETS_MASE: f64 = 2.212249;
    const R_ETS_SMAPE: f64 = 14.483275;
    const SNAIVE_MASE: f64 = 2.493519;

    #[test]
    fn airpassengers_holdout_matches_or_beats_r_ets() {
        let y = air_passengers();
        assert_eq!(y.len(), 144);
        let (train, test) = y.split_at(120);
        let f = forecast(train, &keep_periods(MONTHLY_PERIODS, train.len()), 24).unwrap();
        let m = mase(test, &f.mean, train, 12);
        let s = smape(test, &f.mean);
        let c80 = coverage(test, &f.i80.lo, &f.i80.hi);
        let c95 = coverage(test, &f.i95.lo, &f.i95.hi);
        eprintln!(
            "{}: MASE {m:.4} (R ETS {R_ETS_MASE}), sMAPE {s:.3} (R {R_ETS_SMAPE}), \
             coverage 80 % {c80:.3}, 95 % {c95:.3}",
            f.model
        );
        assert!(m <= R_ETS_MASE, "MASE {m} worse than R's ETS {R_ETS_MASE}");
        assert!(
            s <= R_ETS_SMAPE,
            "sMAPE {s} worse than R's ETS {R_ETS_SMAPE}"
        );
        assert!(m < SNAIVE_MASE);
        // Intervals are ordered and the 95 % band contains the 80 % band.
        for i in 0..24 {
            assert!(f.i95.lo[i] <= f.i80.lo[i] && f.i80.lo[i] <= f.mean[i]);
            assert!(f.mean[i] <= f.i80.hi[i] && f.i80.hi[i] <= f.i95.hi[i]);
        }
        // Calibration: most of the 24 held-out months fall in the 95 % band.
        assert!(c95 >= 0.75, "95 % coverage {c95}");
    }

    #[test]
    fn full_series_1961_agrees_with_r() {
        // R on all 144 months, 1961 (COMPUTED): Holt-Winters multiplicative
        // point forecasts (column 4). The forecast is deterministic: 2.31 %.
        let hw: Vec<f64> = include_str!(
            "../../tests/fixtures/forecast/R_computed_AirPassengers_forecasts_1961.csv"
        )
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(4).unwrap().parse().unwrap())
        .collect();
        let y = air_passengers();
        let f = forecast(&y, &MONTHLY_PERIODS, 12).unwrap();
        let diff = mean(f.mean.iter().zip(&hw).map(|(a, b)| (a - b).abs() / b));
        eprintln!(
            "1961: mean |ours - R HoltWinters(mult)| / R = {:.2} %",
            100.0 * diff
        );
        // Same multiplicative-seasonal shape as R's Holt-Winters: 1961 within
        // 3 % on average (the README allows 0.5 % between implementations of
        // one model; these are two different models).
        assert!(diff < 0.03, "1961 differs from R Holt-Winters by {diff}");
    }

    #[test]
    fn the_model_says_why_it_is_what_it_is() {
        let f = forecast(&air_passengers(), &[12], 12).unwrap();
        for part in [
            "seasons of [12] steps",
            "log scale",
            "at 12 backtest origins",
        ] {
            crate::testing::has(&f.why, part);
        }
        // Ten steps with a zero: no season of 12, no log, no calibration.
        let short: Vec<f64> = (0..10).map(|t| f64::from(t) * 2.0).collect();
        let f = forecast(&short, &[12], 3).unwrap();
        for part in [
            "no seasonal cycle",
            "seasons of [12] steps left out",
            "original scale",
            "too short to calibrate",
        ] {
            crate::testing::has(&f.why, part);
        }
    }

    #[test]
    fn conformal_coverage_leaves_each_origin_out() {
        // Level 0.5: the ⌈(m + 1)/2⌉-th smallest of m scores. All six:
        // the 4th, 4. Without origin 0 (3 4 5 6) the 3rd is 5: 1 and 2 are
        // inside; without 1, 5: 3 and 4 inside; without 2, 3: neither.
        let origins = [vec![1.0, 2.0], vec![3.0, 4.0], vec![5.0, 6.0]];
        assert_eq!(conformal(&origins, 0.5), Some((4.0, 4.0 / 6.0)));
        assert_eq!(conformal(&[vec![], vec![]], 0.5), None);
    }

    #[test]
    fn backtest_scores_every_origin_by_steps_ahead() {
        // Trend and a yearly season, no noise. The seasonal naive forecast
        // misses every step by exactly the year's trend, 12, its in-sample
        // error too: MASE 1, sMAPE about 7 %.
        let y: Vec<f64> = (0..96)
            .map(|t| 100.0 + t as f64 + 10.0 * (t as f64 * std::f64::consts::PI / 6.0).sin())
            .collect();
        let b = backtest(&y, &[12], 12).unwrap();
        // A window of 12 (≤ 96 / 6), origins 6 apart: 6 origins, the
        // earliest at 96 − 12 − 30 = 54 ≥ 2/5 of the history.
        assert_eq!((b.origins, b.horizon, b.season), (6, 12, 12));
        let steps: Vec<_> = b
            .buckets
            .iter()
            .map(|a| (a.first_step, a.last_step, a.points))
            .collect();
        assert_eq!(steps, [(1, 3, 18), (4, 6, 18), (7, 9, 18), (10, 12, 18)]);
        assert_eq!(b.overall.points, 72);
        let mase = b.overall.mase.unwrap();
        assert!(mase < 0.5, "MASE {mase}");
        assert!(b.overall.smape < 3.5, "sMAPE {}", b.overall.smape);
        // Twelve steps, three ahead: a window of 2 (12 / 6) leaves 10 to
        // learn from, fewer than the 16 an origin needs.
        let short: Vec<f64> = (0..12).map(|t| 100.0 + f64::from(t)).collect();
        let e = backtest(&short, &[], 3).unwrap_err().to_string();
        crate::testing::has(&e, "needs at least 16 steps of history before its latest origin, and this history leaves 10");
        // A flat history: no scale for MASE, and a perfect forecast.
        let flat = backtest(&[5.0; 60], &[], 6).unwrap();
        assert_eq!(flat.overall.mase, None);
        assert!(flat.overall.smape < 1e-9, "{}", flat.overall.smape);
    }

    #[test]
    fn metrics_on_hand_computed_values() {
        // naive scale: |2-1|,|4-2| → 1.5; errors 1 and 3 → MAE 2 → MASE 4/3.
        assert!((mase(&[5.0, 5.0], &[4.0, 8.0], &[1.0, 2.0, 4.0], 1) - 4.0 / 3.0).abs() < 1e-12);
        // 200·1/(5+4) and 200·3/(5+8).
        let s = smape(&[5.0, 5.0], &[4.0, 8.0]);
        assert!((s - (200.0 / 9.0 + 600.0 / 13.0) / 2.0).abs() < 1e-12);
        assert_eq!(coverage(&[1.0, 5.0], &[0.0, 0.0], &[2.0, 2.0]), 0.5);
    }

    #[test]
    fn periods_follow_the_step() {
        // Hourly, 5 weeks: daily and weekly.
        assert_eq!(seasonal_periods(3_600, 24 * 35), vec![24, 168]);
        // Hourly, 10 days: one week is not two cycles yet.
        assert_eq!(seasonal_periods(3_600, 240), vec![24]);
        // Daily, 3 years: weekly and yearly.
        assert_eq!(seasonal_periods(86_400, 1_100), vec![7, 365]);
        assert!(seasonal_periods(86_400, 10).is_empty());
    }

    #[test]
    fn short_or_broken_history_is_refused() {
        assert!(matches!(
            forecast(&[1.0; 3], &[], 5),
            Err(ForecastError::TooShort { .. })
        ));
        let mut y = vec![10.0; 20];
        y[4] = f64::NAN;
        assert!(matches!(
            forecast(&y, &[], 5),
            Err(ForecastError::NotFinite(4))
        ));
        assert!(matches!(
            forecast(&[1.0; 20], &[], 0),
            Err(ForecastError::NoHorizon)
        ));
    }

    #[test]
    fn trend_without_season_is_extrapolated() {
        let y: Vec<f64> = (0..60).map(|i| 100.0 + 2.0 * i as f64).collect();
        let f = forecast(&y, &[], 10).unwrap();
        // Next value of the line is 220; a damped or undamped trend both land near it.
        assert!((f.mean[0] - 220.0).abs() < 2.0, "{:?}", f.mean);
        assert!(f.mean[9] > f.mean[0]);
    }
}
