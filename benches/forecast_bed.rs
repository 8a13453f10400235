//! headroom's forecasts on the test bed of issue 18, beside R's.
//!
//!   Rscript benches/forecast_bed/bed.R     (once: the series and R's numbers)
//!   cargo bench --bench forecast_bed
//!
//! Each series of `benches/forecast_bed/series.csv` is forecast from the
//! same rolling origins as `bed.R` did with R's `ets()` / `stlf()`; the
//! same accuracy measures (MASE scaled by the in-sample seasonal naive
//! error at the first period, sMAPE, coverage of the 80 % and 95 %
//! intervals) go to `benches/results/forecast_bed.csv`, and the summary
//! prints coverage per class of series and the geometric mean of the MASE
//! ratios headroom / R. Accuracy, not speed: no timing assertions; the
//! time per forecast is printed.

use std::collections::BTreeMap;
use std::time::Instant;

use headroom::model::forecast::{forecast, mase, smape};

struct Series {
    name: String,
    class: String,
    periods: Vec<usize>,
    horizon: usize,
    origins: usize,
    values: Vec<f64>,
}

fn read_csv(path: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e} (run `Rscript benches/forecast_bed/bed.R` first)"));
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split(',')
                .map(|f| f.trim_matches('"').to_string())
                .collect()
        })
        .collect()
}

fn bed() -> Vec<Series> {
    read_csv("benches/forecast_bed/series.csv")
        .into_iter()
        .map(|r| Series {
            name: r[0].clone(),
            class: r[1].clone(),
            periods: r[2]
                .split(';')
                .filter(|p| !p.is_empty())
                .map(|p| p.parse().unwrap())
                .collect(),
            horizon: r[3].parse().unwrap(),
            origins: r[4].parse().unwrap(),
            values: read_csv(&format!("benches/forecast_bed/series/{}.csv", r[0]))
                .iter()
                .map(|v| v[0].parse().unwrap())
                .collect(),
        })
        .collect()
}

fn covered(actual: &[f64], lo: &[f64], hi: &[f64]) -> f64 {
    let inside = actual
        .iter()
        .zip(lo.iter().zip(hi))
        .filter(|(a, (l, h))| l <= a && a <= h)
        .count();
    inside as f64 / actual.len() as f64
}

fn main() {
    // R's numbers by (series, origin).
    let r: BTreeMap<(String, usize), (f64, f64, f64)> =
        read_csv("benches/results/forecast_bed_r.csv")
            .into_iter()
            .map(|c| {
                let num = |i: usize| c[i].parse::<f64>().unwrap();
                ((c[0].clone(), num(2) as usize), (num(5), num(7), num(8)))
            })
            .collect();
    // R's tbats() where the series has several or long seasons ("NA" else).
    let tbats: BTreeMap<(String, usize), f64> = read_csv("benches/results/forecast_bed_r.csv")
        .into_iter()
        .filter_map(|c| {
            let m = c.get(9)?.parse::<f64>().ok()?;
            Some(((c[0].clone(), c[2].parse::<f64>().ok()? as usize), m))
        })
        .collect();
    let mut vs_tbats = Vec::new();
    let mut out =
        String::from("series,class,origin,horizon,model,mase,smape,cov80,cov95,claimed80,claimed95,mase_r,seconds\n");
    let mut by_class: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    // What forecast.json claims its intervals cover (the calibration's
    // leave-one-origin-out coverage) beside what they covered.
    let mut claims: Vec<(f64, f64, f64, f64)> = Vec::new();
    let mut ratios = Vec::new();
    let mut r_cov = (0.0, 0.0, 0usize);
    for s in bed() {
        let n = s.values.len();
        for o in (1..=s.origins).rev() {
            let end = n - o * s.horizon;
            let (train, test) = (&s.values[..end], &s.values[end..end + s.horizon]);
            let t0 = Instant::now();
            let f = match forecast(train, &s.periods, s.horizon) {
                Ok(f) => f,
                Err(e) => {
                    println!("{:<20} origin {end:>6}: {e}", s.name);
                    continue;
                }
            };
            let secs = t0.elapsed().as_secs_f64();
            let m = mase(
                test,
                &f.mean,
                train,
                s.periods.first().copied().unwrap_or(1),
            );
            let (c80, c95) = (
                covered(test, &f.i80.lo, &f.i80.hi),
                covered(test, &f.i95.lo, &f.i95.hi),
            );
            let (mase_r, r80, r95) = r[&(s.name.clone(), end)];
            let (k80, k95) = f
                .calibration
                .map_or((f64::NAN, f64::NAN), |c| (c.coverage80, c.coverage95));
            if k80.is_finite() {
                claims.push((k80, c80, k95, c95));
            }
            ratios.push((m / mase_r).ln());
            if let Some(t) = tbats.get(&(s.name.clone(), end)) {
                vs_tbats.push((m / t).ln());
            }
            r_cov = (r_cov.0 + r80, r_cov.1 + r95, r_cov.2 + 1);
            by_class
                .entry(s.class.clone())
                .or_default()
                .push((c80, c95));
            println!(
                "{:<20} origin {end:>6}  MASE {m:>6.3} (R {mase_r:>6.3})  cov80 {c80:.2} cov95 {c95:.2}  {secs:.2} s  {}",
                s.name, f.model
            );
            out += &format!(
                "{},{},{end},{},\"{}\",{m:.6},{:.6},{c80:.4},{c95:.4},{k80:.4},{k95:.4},{mase_r:.6},{secs:.3}\n",
                s.name,
                s.class,
                s.horizon,
                f.model,
                smape(test, &f.mean)
            );
        }
    }
    std::fs::write("benches/results/forecast_bed.csv", out).unwrap();
    println!("\nclass        origins  cov80  cov95   (nominal 0.80, 0.95)");
    let (mut all80, mut all95, mut all) = (0.0, 0.0, 0usize);
    for (class, v) in &by_class {
        let (a, b) = v.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
        let k = v.len() as f64;
        println!("{class:<12} {:>7}  {:.3}  {:.3}", v.len(), a / k, b / k);
        (all80, all95, all) = (all80 + a, all95 + b, all + v.len());
    }
    let k = all as f64;
    println!("{:<12} {all:>7}  {:.3}  {:.3}", "all", all80 / k, all95 / k);
    println!(
        "R (ets/stlf) {:>7}  {:.3}  {:.3}",
        r_cov.2,
        r_cov.0 / r_cov.2 as f64,
        r_cov.1 / r_cov.2 as f64
    );
    let c = claims.len() as f64;
    let avg = |f: fn(&(f64, f64, f64, f64)) -> f64| claims.iter().map(f).sum::<f64>() / c;
    println!(
        "claimed in forecast.json over {} origins: cov80 {:.3} (covered {:.3}), cov95 {:.3} (covered {:.3})",
        claims.len(),
        avg(|x| x.0),
        avg(|x| x.1),
        avg(|x| x.2),
        avg(|x| x.3)
    );
    let g = (ratios.iter().sum::<f64>() / ratios.len() as f64).exp();
    println!(
        "MASE headroom / R, geometric mean over {} origins: {g:.3}",
        ratios.len()
    );
    if !vs_tbats.is_empty() {
        let g = (vs_tbats.iter().sum::<f64>() / vs_tbats.len() as f64).exp();
        println!(
            "MASE headroom / R tbats(), geometric mean over {} origins: {g:.3}",
            vs_tbats.len()
        );
    }
    println!("wrote benches/results/forecast_bed.csv");
}
