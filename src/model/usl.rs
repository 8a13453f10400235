//! Universal Scalability Law (Gunther): X(N) = λN / (1 + σ(N−1) + κN(N−1)).
//!
//! This module holds the model itself ([`Usl`]: throughput, latency, peak,
//! Amdahl roof and their exact inverses) and the bounded least-squares fit of
//! measured (concurrency, throughput) points to it ([`fit`], [`UslFit`]), with
//! standard errors, 95 % confidence intervals and R². σ is contention, κ is
//! coherency (crosstalk) and λ is the throughput of a single unit of
//! concurrency. Latency follows from Little's law, R(N) = N / X(N), so it is
//! in the reciprocal of the throughput unit (throughput per second → seconds).
//! Pure math: no I/O, no global state.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Why a USL fit could not be produced.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UslError {
    /// Three parameters need at least three points.
    #[error("a USL fit needs at least 3 points, got {0}")]
    TooFewPoints(usize),
    /// Three parameters need at least three different concurrencies: at
    /// fewer, many curves fit the points exactly.
    #[error("a USL fit needs at least 3 different concurrency levels, got {0} ({1})")]
    TooFewLevels(usize, String),
    /// A concurrency or throughput is NaN, infinite, zero or negative.
    #[error("point {index} is not finite and positive (N = {concurrency}, X = {throughput})")]
    InvalidPoint {
        /// Zero-based position of the offending point in the input slice.
        index: usize,
        /// The point's concurrency N.
        concurrency: f64,
        /// The point's throughput X.
        throughput: f64,
    },
    /// The solver stopped without meeting its convergence tests.
    #[error("USL fit did not converge after {iterations} iterations")]
    NoConvergence {
        /// Outer Levenberg–Marquardt iterations performed.
        iterations: usize,
    },
}

/// USL parameters, with the model's predictions and their inverses.
///
/// Fields are public so a model can be built from known coefficients; the
/// methods return `None` instead of panicking when a question has no answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usl {
    /// σ, contention (serial fraction), 0 ≤ σ ≤ 1.
    pub sigma: f64,
    /// κ, coherency (crosstalk) penalty, 0 ≤ κ ≤ 1.
    pub kappa: f64,
    /// λ, throughput at N = 1 in the ideal (σ = κ = 0) sense; X(1) = λ.
    pub lambda: f64,
}

impl Usl {
    /// Model from coefficients (not validated; see the field docs for the domain).
    pub const fn new(sigma: f64, kappa: f64, lambda: f64) -> Self {
        Self {
            sigma,
            kappa,
            lambda,
        }
    }

    /// Denominator 1 + σ(N−1) + κN(N−1), i.e. λ·R(N).
    fn denominator(&self, n: f64) -> f64 {
        1.0 + self.sigma * (n - 1.0) + self.kappa * n * (n - 1.0)
    }

    /// Predicted throughput X(N) at concurrency `n`.
    pub fn throughput_at(&self, n: f64) -> f64 {
        self.lambda * n / self.denominator(n)
    }

    /// Predicted latency R(N) = N / X(N) (Little's law), in reciprocal
    /// throughput units. Written as D(N)/λ so N = 0 gives the limit, not 0/0.
    pub fn latency_at(&self, n: f64) -> f64 {
        self.denominator(n) / self.lambda
    }

    /// Concurrency of peak throughput N* = sqrt((1−σ)/κ); `None` when κ = 0
    /// (throughput then rises monotonically towards the Amdahl roof).
    pub fn peak_concurrency(&self) -> Option<f64> {
        (self.kappa > 0.0).then(|| ((1.0 - self.sigma) / self.kappa).sqrt())
    }

    /// Peak throughput X(N*); `None` when κ = 0 (see [`Usl::amdahl_roof`]).
    pub fn peak_throughput(&self) -> Option<f64> {
        self.peak_concurrency().map(|n| self.throughput_at(n))
    }

    /// Amdahl asymptote λ/σ, the limit of X(N) when κ = 0 and an upper bound
    /// otherwise; `None` when σ = 0 (no finite roof).
    pub fn amdahl_roof(&self) -> Option<f64> {
        (self.sigma > 0.0).then(|| self.lambda / self.sigma)
    }

    /// Concurrency at which the rising branch (N ≤ N*) reaches throughput `x`.
    ///
    /// Solves X(N) = x exactly: xκN² + (x(σ−κ) − λ)N + x(1−σ) = 0 and takes the
    /// smaller root. Returns `None` when `x` is negative or not finite, when
    /// it exceeds the peak (or the roof when κ = 0), or when λ ≤ 0.
    pub fn concurrency_at_throughput(&self, x: f64) -> Option<f64> {
        if !x.is_finite() || x < 0.0 || self.lambda <= 0.0 {
            return None;
        }
        if x == 0.0 {
            return Some(0.0);
        }
        let (s, k, l) = (self.sigma, self.kappa, self.lambda);
        let b = l - x * (s - k);
        let mut disc = b * b - 4.0 * x * x * k * (1.0 - s);
        // At exactly the peak the discriminant is 0 but may round a hair
        // negative; accept that rather than reject X(N*) itself.
        if disc < 0.0 && disc >= -1e-12 * b * b {
            disc = 0.0;
        }
        if disc < 0.0 || b <= 0.0 {
            return None;
        }
        // Citardauq form 2c / (b + √disc): no cancellation on the small root,
        // and it reduces to x(1−σ)/(λ − xσ) when κ = 0, so no special case.
        let n = 2.0 * x * (1.0 - s) / (b + disc.sqrt());
        n.is_finite().then_some(n)
    }

    /// Concurrency at which latency equals `r` (Little's law inverse of
    /// [`Usl::latency_at`]).
    ///
    /// Solves λr = 1 + σ(N−1) + κN(N−1) for its positive root,
    /// N = (κ − σ + √(σ² + κ² + 2κ(2λr + σ − 2))) / (2κ); for κ = 0 it is
    /// N = (λr + σ − 1)/σ. Returns `None` when `r` is not finite and
    /// positive, λ ≤ 0, σ = κ = 0 (latency is then constant 1/λ and says
    /// nothing about N), or no positive root exists (r too small).
    ///
    /// R(N) is strictly increasing for N ≥ 1, so there the answer is unique.
    /// Below N = 1/2 with σ < κ the curve dips and two roots can exist; the
    /// larger one is returned, and the problem is ill-conditioned there
    /// (dR/dN → 0), so expect only a few correct digits for such N.
    pub fn concurrency_at_latency(&self, r: f64) -> Option<f64> {
        if !r.is_finite() || r <= 0.0 || self.lambda <= 0.0 {
            return None;
        }
        let (s, k) = (self.sigma, self.kappa);
        // c = λr + σ − 1 is minus the constant term of κN² + (σ−κ)N − c = 0.
        let c = self.lambda * r + s - 1.0;
        let n = if k == 0.0 {
            if s == 0.0 {
                return None;
            }
            c / s
        } else {
            let b = s - k;
            let disc = b * b + 4.0 * k * c;
            if disc < 0.0 {
                return None;
            }
            let root = disc.sqrt();
            // Pick the form that adds like-signed terms (no cancellation).
            if b > 0.0 {
                2.0 * c / (b + root)
            } else {
                (root - b) / (2.0 * k)
            }
        };
        (n.is_finite() && n > 0.0).then_some(n)
    }

    /// Throughput at which latency equals `r`: X = N(r)/r by Little's law.
    /// `None` under the same conditions as [`Usl::concurrency_at_latency`].
    pub fn throughput_at_latency(&self, r: f64) -> Option<f64> {
        self.concurrency_at_latency(r).map(|n| n / r)
    }
}

/// One fitted coefficient with its uncertainty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Point estimate.
    pub value: f64,
    /// Asymptotic standard error sqrt(diag((JᵀJ)⁻¹)·s²), s² = RSS/(n−3).
    /// `None` when the parameter sits on a bound (see [`Estimate::on_bound`]),
    /// when there are no residual degrees of freedom (n = 3), or when JᵀJ is
    /// singular.
    pub std_error: Option<f64>,
    /// Two-sided 95 % interval value ± t(0.975, n−3)·SE. Not clipped to the
    /// parameter bounds (R `usl` does not clip either). `None` whenever
    /// `std_error` is. R `usl` 3.x's `confint` has the same SEs but prints
    /// value ± SE·qt(0.95, n−1) under a "95 %" label, so its intervals are
    /// narrower than these.
    pub ci95: Option<(f64, f64)>,
    /// True when the optimum lies on a bound with the gradient pushing
    /// outwards (an active constraint). Such a parameter is held fixed when
    /// computing the covariance, so the other parameters' SEs are
    /// conditional on it; its own SE is reported as `None` because the
    /// symmetric asymptotic interval is meaningless at a hard bound.
    pub on_bound: bool,
}

/// Result of [`fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct UslFit {
    /// Fitted model.
    pub model: Usl,
    /// σ with uncertainty.
    pub sigma: Estimate,
    /// κ with uncertainty.
    pub kappa: Estimate,
    /// λ with uncertainty.
    pub lambda: Estimate,
    /// Residual sum of squares at the optimum.
    pub rss: f64,
    /// Coefficient of determination 1 − RSS/TSS; NaN when all throughputs
    /// are equal (TSS = 0).
    pub r_squared: f64,
    /// Number of points fitted.
    pub n_points: usize,
    /// Levenberg–Marquardt iterations used.
    pub iterations: usize,
    /// Non-fatal caveats, e.g. fewer than 6 points (R `usl` warns likewise).
    pub warnings: Vec<String>,
}

impl UslFit {
    /// See [`Usl::throughput_at`].
    pub fn throughput_at(&self, n: f64) -> f64 {
        self.model.throughput_at(n)
    }
    /// See [`Usl::latency_at`].
    pub fn latency_at(&self, n: f64) -> f64 {
        self.model.latency_at(n)
    }
    /// See [`Usl::peak_concurrency`].
    pub fn peak_concurrency(&self) -> Option<f64> {
        self.model.peak_concurrency()
    }
    /// See [`Usl::peak_throughput`].
    pub fn peak_throughput(&self) -> Option<f64> {
        self.model.peak_throughput()
    }
    /// See [`Usl::amdahl_roof`].
    pub fn amdahl_roof(&self) -> Option<f64> {
        self.model.amdahl_roof()
    }
    /// See [`Usl::concurrency_at_throughput`].
    pub fn concurrency_at_throughput(&self, x: f64) -> Option<f64> {
        self.model.concurrency_at_throughput(x)
    }
    /// See [`Usl::concurrency_at_latency`].
    pub fn concurrency_at_latency(&self, r: f64) -> Option<f64> {
        self.model.concurrency_at_latency(r)
    }
    /// See [`Usl::throughput_at_latency`].
    pub fn throughput_at_latency(&self, r: f64) -> Option<f64> {
        self.model.throughput_at_latency(r)
    }
}

/// Fewer points than this draws a warning, matching R `usl`.
const FEW_POINTS: usize = 6;
/// Solver parameter order: [λ, σ, κ].
const LOWER: [f64; 3] = [0.0, 0.0, 0.0];
const UPPER: [f64; 3] = [f64::INFINITY, 1.0, 1.0];
const MAX_ITER: usize = 500;
/// Converged when every free column of J is this close to orthogonal to the
/// residuals (MINPACK's gtol test: scale-free, so λ ~ 1e3 and κ ~ 1e-4 mix).
const GTOL: f64 = 1e-10;
/// Looser orthogonality accepted when no step can lower RSS any more, i.e.
/// the optimum is resolved to rounding.
const GTOL_STALLED: f64 = 1e-6;
const MU_MAX: f64 = 1e32;
/// RSS below this fraction of Σx² counts as an exact fit (≈ (64 ε)²).
const EXACT_FIT: f64 = 2e-28;

/// Fit the USL to (concurrency N, throughput X) points.
///
/// Bounded nonlinear least squares with 0 ≤ σ ≤ 1, 0 ≤ κ ≤ 1, λ ≥ 0 and
/// R `usl` ≥ 2.0's start values (λ = max X/N, σ = 0.01, κ = 1e-4). Bounds
/// matter: on data with no visible retrograde region an unbounded fit
/// returns κ < 0 and a NaN peak, whereas this one stops on κ = 0.
///
/// Solver choice: a projected Levenberg–Marquardt written here rather than
/// a crate. With three parameters the whole solver is a few dozen lines, the
/// analytic Jacobian it needs is also what the standard errors need, and the
/// active-set handling of the bounds decides exactly which parameters are
/// "on a bound" for the covariance. The bounded-LM crate considered
/// (`rmpfit`, a single-maintainer MPFIT port) would add a dependency with
/// finite-difference Jacobians and still leave the covariance and bound
/// bookkeeping to us.
///
/// # Errors
/// [`UslError::TooFewPoints`] below 3 points, [`UslError::TooFewLevels`]
/// below 3 different concurrencies, [`UslError::InvalidPoint`] for
/// a non-finite or non-positive value, [`UslError::NoConvergence`] if the
/// solver's convergence tests are not met.
pub fn fit(points: &[(f64, f64)]) -> Result<UslFit, UslError> {
    if points.len() < 3 {
        return Err(UslError::TooFewPoints(points.len()));
    }
    for (index, &(n, x)) in points.iter().enumerate() {
        if !(n.is_finite() && x.is_finite() && n > 0.0 && x > 0.0) {
            return Err(UslError::InvalidPoint {
                index,
                concurrency: n,
                throughput: x,
            });
        }
    }
    let mut levels: Vec<f64> = points.iter().map(|&(n, _)| n).collect();
    levels.sort_by(f64::total_cmp);
    levels.dedup();
    if levels.len() < 3 {
        let named: Vec<String> = levels.iter().map(|n| format!("N = {n}")).collect();
        return Err(UslError::TooFewLevels(levels.len(), named.join(", ")));
    }
    let lambda0 = points.iter().map(|&(n, x)| x / n).fold(0.0, f64::max);
    let (p, free, iterations) = solve([lambda0, 0.01, 1e-4], points)?;

    let model = Usl::new(p[1], p[2], p[0]);
    let rss = rss(&p, points);
    let mean = points.iter().map(|&(_, x)| x).sum::<f64>() / points.len() as f64;
    let tss: f64 = points.iter().map(|&(_, x)| (x - mean).powi(2)).sum();
    let r_squared = if tss > 0.0 { 1.0 - rss / tss } else { f64::NAN };

    let se = standard_errors(&p, &free, points, rss);
    let dof = points.len() - 3;
    // t quantile is only defined with residual degrees of freedom.
    let t = (dof > 0)
        .then(|| StudentsT::new(0.0, 1.0, dof as f64).ok())
        .flatten()
        .map(|d| d.inverse_cdf(0.975));
    let estimate = |i: usize| {
        let std_error = se[i];
        let ci95 = std_error.zip(t).map(|(s, t)| (p[i] - t * s, p[i] + t * s));
        Estimate {
            value: p[i],
            std_error,
            ci95,
            on_bound: !free[i],
        }
    };

    let mut warnings = Vec::new();
    if points.len() < FEW_POINTS {
        warnings.push(format!(
            "only {} points; the USL fit may not be accurate (R usl warns below {FEW_POINTS})",
            points.len()
        ));
    }
    for (i, name) in [(1, "sigma"), (2, "kappa"), (0, "lambda")] {
        if !free[i] {
            warnings.push(format!("{name} is on its bound ({})", p[i]));
        } else if dof > 0 && se[i].is_none() {
            // Singular JᵀJ: the data cannot tell this parameter apart
            // (e.g. every point at the same N).
            warnings.push(format!("{name} is not identifiable from these points"));
        }
    }

    Ok(UslFit {
        model,
        sigma: estimate(1),
        kappa: estimate(2),
        lambda: estimate(0),
        rss,
        r_squared,
        n_points: points.len(),
        iterations,
        warnings,
    })
}

/// Model value and gradient [∂X/∂λ, ∂X/∂σ, ∂X/∂κ] at one N, order [λ, σ, κ].
fn eval(p: &[f64; 3], n: f64) -> (f64, [f64; 3]) {
    let [l, s, k] = *p;
    let d = 1.0 + s * (n - 1.0) + k * n * (n - 1.0);
    let x = l * n / d;
    let g = -l * n * (n - 1.0) / (d * d);
    (x, [n / d, g, g * n])
}

fn rss(p: &[f64; 3], points: &[(f64, f64)]) -> f64 {
    points
        .iter()
        .map(|&(n, x)| (x - eval(p, n).0).powi(2))
        .sum()
}

/// JᵀJ and Jᵀr at `p` (r = observed − model).
fn normal_equations(p: &[f64; 3], points: &[(f64, f64)]) -> ([[f64; 3]; 3], [f64; 3]) {
    let mut a = [[0.0; 3]; 3];
    let mut g = [0.0; 3];
    for &(n, x) in points {
        let (f, j) = eval(p, n);
        let r = x - f;
        for i in 0..3 {
            g[i] += j[i] * r;
            for k in 0..3 {
                a[i][k] += j[i] * j[k];
            }
        }
    }
    (a, g)
}

fn project(p: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|i| p[i].clamp(LOWER[i], UPPER[i]))
}

/// A parameter is free unless it is on a bound and descent (direction +Jᵀr)
/// would push it further out.
fn free_set(p: &[f64; 3], g: &[f64; 3]) -> [bool; 3] {
    std::array::from_fn(|i| {
        !((p[i] <= LOWER[i] && g[i] <= 0.0) || (p[i] >= UPPER[i] && g[i] >= 0.0))
    })
}

/// Projected Levenberg–Marquardt with Marquardt's diagonal scaling; returns
/// the optimum, its free set and the iteration count.
fn solve(start: [f64; 3], points: &[(f64, f64)]) -> Result<([f64; 3], [bool; 3], usize), UslError> {
    let mut p = project(start);
    let mut cost = rss(&p, points);
    let mut mu = 1e-3;
    // An exact fit (RSS at rounding level) satisfies no angle test, since
    // the residual vector is then pure noise; treat it as converged.
    let exact = EXACT_FIT * points.iter().map(|&(_, x)| x * x).sum::<f64>();
    for iter in 0..MAX_ITER {
        let (a, g) = normal_equations(&p, points);
        let free = free_set(&p, &g);
        let cosine = (0..3)
            .filter(|&i| free[i] && a[i][i] > 0.0)
            .map(|i| g[i].abs() / (a[i][i] * cost).sqrt())
            .fold(0.0, f64::max);
        if cost <= exact || cosine <= GTOL {
            return Ok((p, free, iter));
        }
        let idx: Vec<usize> = (0..3).filter(|&i| free[i]).collect();
        loop {
            let m: Vec<Vec<f64>> = idx
                .iter()
                .map(|&i| {
                    idx.iter()
                        .map(|&k| {
                            // Damp by the diagonal (scale-invariant); a zero
                            // column (e.g. λ = 0) still gets a finite step.
                            let diag = if a[i][i] > 0.0 { a[i][i] } else { 1.0 };
                            a[i][k] + if i == k { mu * diag } else { 0.0 }
                        })
                        .collect()
                })
                .collect();
            let rhs: Vec<f64> = idx.iter().map(|&i| g[i]).collect();
            if let Some(delta) = solve_linear(m, rhs) {
                let mut trial = p;
                for (&i, d) in idx.iter().zip(delta) {
                    trial[i] += d;
                }
                let trial = project(trial);
                let trial_cost = rss(&trial, points);
                if trial_cost.is_finite() && trial_cost < cost {
                    p = trial;
                    cost = trial_cost;
                    mu = (mu * 0.1).max(1e-15);
                    break;
                }
            }
            mu *= 10.0;
            if mu > MU_MAX {
                // No step lowers RSS: either we sit on the optimum to rounding
                // or the problem is degenerate; the gradient test tells which.
                return if cosine <= GTOL_STALLED {
                    Ok((p, free, iter))
                } else {
                    Err(UslError::NoConvergence { iterations: iter })
                };
            }
        }
    }
    Err(UslError::NoConvergence {
        iterations: MAX_ITER,
    })
}

/// SEs from (J_FᵀJ_F)⁻¹·s² over the free parameters only; bound ones get `None`.
fn standard_errors(
    p: &[f64; 3],
    free: &[bool; 3],
    points: &[(f64, f64)],
    rss: f64,
) -> [Option<f64>; 3] {
    let mut out = [None; 3];
    let dof = points.len().saturating_sub(3);
    if dof == 0 {
        return out;
    }
    let s2 = rss / dof as f64;
    let (a, _) = normal_equations(p, points);
    let idx: Vec<usize> = (0..3).filter(|&i| free[i]).collect();
    // Invert column by column via the same solver: k ≤ 3, so cost is nil.
    for (col, &i) in idx.iter().enumerate() {
        let m: Vec<Vec<f64>> = idx
            .iter()
            .map(|&r| idx.iter().map(|&c| a[r][c]).collect())
            .collect();
        let e: Vec<f64> = (0..idx.len())
            .map(|r| f64::from(u8::from(r == col)))
            .collect();
        if let Some(x) = solve_linear(m, e) {
            let var = x[col] * s2;
            if var.is_finite() && var >= 0.0 {
                out[i] = Some(var.sqrt());
            }
        }
    }
    out
}

/// Gaussian elimination with partial pivoting; `None` if singular.
fn solve_linear(mut m: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let k = b.len();
    for c in 0..k {
        let piv = (c..k).max_by(|&x, &y| m[x][c].abs().total_cmp(&m[y][c].abs()))?;
        if m[piv][c] == 0.0 || !m[piv][c].is_finite() {
            return None;
        }
        m.swap(c, piv);
        b.swap(c, piv);
        let (top, rest) = m.split_at_mut(c + 1);
        let pivot_row = &top[c];
        for (off, row) in rest.iter_mut().enumerate() {
            let f = row[c] / pivot_row[c];
            for (v, p) in row[c..].iter_mut().zip(&pivot_row[c..]) {
                *v -= f * p;
            }
            b[c + 1 + off] -= f * b[c];
        }
    }
    let mut x = vec![0.0; k];
    for r in (0..k).rev() {
        let s: f64 = (r + 1..k).map(|c| m[r][c] * x[c]).sum();
        x[r] = (b[r] - s) / m[r][r];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Vec<(f64, f64)> {
        text.lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut it = l.split(',').map(|v| v.trim().parse::<f64>().unwrap());
                (it.next().unwrap(), it.next().unwrap())
            })
            .collect()
    }

    fn cisco() -> Vec<(f64, f64)> {
        csv(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/cisco_schwartz.csv"
        )))
    }
    fn raytracer() -> Vec<(f64, f64)> {
        csv(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/raytracer.csv"
        )))
    }
    fn synthetic() -> Vec<(f64, f64)> {
        csv(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/synthetic_usl_tests.csv"
        )))
    }

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    /// B. Schwartz, *Practical Scalability Analysis with the USL* (values also
    /// asserted by usl4j / Go usl / Rust `usl`), 1e-4 relative.
    #[test]
    fn three_points_at_one_concurrency_are_not_a_curve() {
        // Was: six rows at N = 4 gave N* = 963.4 with only a warning.
        let pts: Vec<(f64, f64)> = (0..6).map(|i| (4.0, 100.0 + i as f64)).collect();
        let e = fit(&pts).unwrap_err();
        assert!(matches!(e, UslError::TooFewLevels(1, _)), "{e}");
        assert_eq!(
            e.to_string(),
            "a USL fit needs at least 3 different concurrency levels, got 1 (N = 4)"
        );
        let two = [(1.0, 10.0), (2.0, 19.0), (2.0, 18.0), (1.0, 10.5)];
        assert!(matches!(fit(&two), Err(UslError::TooFewLevels(2, _))));
    }

    #[test]
    fn cisco_parameters_and_predictions() {
        let f = fit(&cisco()).unwrap();
        assert!(rel(f.sigma.value, 0.02671591) < 1e-4, "{}", f.sigma.value);
        assert!(rel(f.kappa.value, 7.690945e-4) < 1e-4, "{}", f.kappa.value);
        assert!(rel(f.lambda.value, 995.6486) < 1e-4, "{}", f.lambda.value);
        assert!(f.warnings.is_empty());
        assert!(!f.sigma.on_bound && !f.kappa.on_bound && !f.lambda.on_bound);
        let peak = f.peak_concurrency().unwrap();
        assert!((peak - 35.574).abs() < 5e-4, "{peak}");
        assert!(rel(f.throughput_at(35.0), 12341.745714) < 1e-4);
        assert!(rel(f.throughput_at(20.0), 11063.633102) < 1e-4);
        assert!(f.r_squared > 0.99 && f.r_squared < 1.0);
    }

    /// Exact inverses on the Cisco fit: reference README (derived values; the
    /// usl4j / Go / Rust `usl` inverses ignore κ and miss these).
    #[test]
    fn cisco_exact_inverses() {
        let f = fit(&cisco()).unwrap();
        let n = f.concurrency_at_throughput(11048.0).unwrap();
        assert!((n - 19.924).abs() < 5e-4, "{n}");
        let n_r = f.concurrency_at_latency(0.030).unwrap();
        assert!((n_r - 177.698).abs() < 5e-3, "{n_r}");
        let x = f.throughput_at_latency(0.030).unwrap();
        assert!((x - 5923.3).abs() < 0.05, "{x}");
        // Above the peak there is no rising-branch solution.
        assert_eq!(f.concurrency_at_throughput(12400.0), None);
    }

    /// R `usl` 3.0.3 tests (confint.R), raytracer rows 1–6: coefficients and
    /// intervals to the printed digits.
    ///
    /// R `usl` prints est ± SE·qt(0.95, n−1) as its "95 %" interval (a one-
    /// sided quantile with n−1 dof). Our SEs equal R's, so the printed
    /// interval is rebuilt from them with R's quantile; our own `ci95` uses
    /// the textbook t(0.975, n−3) and is therefore wider.
    #[test]
    fn raytracer_first_six_rows_match_r_usl() {
        let f = fit(&raytracer()[..6]).unwrap();
        let round = |v: f64, d: i32| (v * 10f64.powi(d)).round() / 10f64.powi(d);
        assert_eq!(round(f.sigma.value, 5), 0.02444);
        assert_eq!(round(f.kappa.value, 5), 0.00163);
        assert_eq!(round(f.lambda.value, 5), 20.85605);
        assert!(f.warnings.is_empty());

        let q_r = StudentsT::new(0.0, 1.0, 5.0).unwrap().inverse_cdf(0.95);
        let r_ci = |e: &Estimate| {
            let s = e.std_error.unwrap();
            (e.value - q_r * s, e.value + q_r * s)
        };
        for (e, (lo, hi), d) in [
            (&f.sigma, (0.00754, 0.04135), 5),
            (&f.kappa, (0.00110, 0.00215), 5),
            (&f.lambda, (19.26717, 22.44492), 5),
        ] {
            let (l, h) = r_ci(e);
            assert_eq!((round(l, d), round(h, d)), (lo, hi), "{e:?}");
            // Proper 95 % interval (n−3 = 3 dof) strictly contains R's.
            let (pl, ph) = e.ci95.unwrap();
            assert!(pl < l && ph > h);
            let t = StudentsT::new(0.0, 1.0, 3.0).unwrap().inverse_cdf(0.975);
            assert!(rel(ph - e.value, t * e.std_error.unwrap()) < 1e-12);
        }
    }

    /// R `usl` 3.0.3 tests (warn-accuracy.R), raytracer rows 1–5 printed
    /// with digits = 1: 0.028, 0.001, 21.059, plus a too-few-points warning.
    #[test]
    fn raytracer_first_five_rows_warn() {
        let f = fit(&raytracer()[..5]).unwrap();
        assert!((f.sigma.value - 0.028).abs() < 5e-4, "{}", f.sigma.value);
        assert!((f.kappa.value - 0.001).abs() < 5e-4, "{}", f.kappa.value);
        assert!((f.lambda.value - 21.059).abs() < 5e-4, "{}", f.lambda.value);
        assert_eq!(f.warnings.len(), 1);
        assert!(f.warnings[0].contains("only 5 points"));
    }

    /// Reference README (COMPUTED with R 4.2.2 `usl`): all 11 raytracer rows
    /// put the bounded optimum on κ = 0; an unbounded fit gives κ ≈ −2e-4.
    #[test]
    fn raytracer_full_lands_on_kappa_bound() {
        let f = fit(&raytracer()).unwrap();
        assert_eq!(f.kappa.value, 0.0);
        assert!(f.kappa.on_bound);
        assert_eq!(f.kappa.std_error, None);
        assert_eq!(f.kappa.ci95, None);
        assert!(rel(f.sigma.value, 0.0577708) < 1e-6, "{}", f.sigma.value);
        assert!(rel(f.lambda.value, 21.84884) < 1e-6, "{}", f.lambda.value);
        // SEs of the free parameters are still reported (conditional on κ = 0).
        assert!(f.sigma.std_error.is_some() && f.lambda.ci95.is_some());
        assert!(f.warnings.iter().any(|w| w.contains("kappa")));
        assert_eq!(f.peak_concurrency(), None);
        assert_eq!(f.peak_throughput(), None);
        let roof = f.amdahl_roof().unwrap();
        assert!(rel(roof, 21.84884 / 0.0577708) < 1e-5);
        // κ = 0 inverse: the rising branch runs all the way to the roof.
        let n = f.concurrency_at_throughput(300.0).unwrap();
        assert!(rel(f.throughput_at(n), 300.0) < 1e-12);
        assert_eq!(f.concurrency_at_throughput(roof * 1.001), None);
    }

    /// R `usl` tests, synthetic data: σ 0.02, κ 0.02, λ 1.00 (3 s.f.), N* 7.000.
    #[test]
    fn synthetic_set() {
        let f = fit(&synthetic()).unwrap();
        assert!((f.sigma.value - 0.02).abs() < 5e-5, "{}", f.sigma.value);
        assert!((f.kappa.value - 0.02).abs() < 5e-5, "{}", f.kappa.value);
        assert!((f.lambda.value - 1.00).abs() < 5e-3, "{}", f.lambda.value);
        let peak = f.peak_concurrency().unwrap();
        assert!((peak - 7.000).abs() < 5e-4, "{peak}");
    }

    #[test]
    fn error_cases() {
        assert_eq!(fit(&[]), Err(UslError::TooFewPoints(0)));
        assert_eq!(
            fit(&[(1.0, 1.0), (2.0, 2.0)]),
            Err(UslError::TooFewPoints(2))
        );
        for bad in [
            (0.0, 1.0),
            (-1.0, 1.0),
            (2.0, 0.0),
            (2.0, -3.0),
            (f64::NAN, 1.0),
            (2.0, f64::INFINITY),
        ] {
            let pts = [(1.0, 1.0), bad, (3.0, 2.5)];
            assert!(
                matches!(fit(&pts), Err(UslError::InvalidPoint { index: 1, .. })),
                "{bad:?}"
            );
        }
        // Exactly 3 points: a fit, but no residual dof, so no SEs.
        let f = fit(&[(1.0, 10.0), (2.0, 18.0), (4.0, 30.0)]).unwrap();
        assert_eq!(f.sigma.std_error, None);
        assert!(!f.warnings.is_empty());
        // Degenerate: every point at N = 1 leaves σ and κ unidentified:
        // refused, not fitted with a warning.
        assert!(matches!(
            fit(&[(1.0, 1.0), (1.0, 2.0), (1.0, 3.0), (1.0, 2.0)]),
            Err(UslError::TooFewLevels(1, _))
        ));
    }

    /// Parameter sets with σ ≠ κ (where the popular libraries' inverses are
    /// wrong), plus κ = 0 and σ = 0 edges.
    const SETS: [Usl; 6] = [
        Usl::new(0.02671591, 7.690945e-4, 995.6486),
        Usl::new(0.1, 0.001, 50.0),
        Usl::new(0.001, 0.05, 3.0),
        Usl::new(0.5, 0.2, 1.0),
        Usl::new(0.3, 0.0, 10.0),
        Usl::new(0.0, 0.01, 100.0),
    ];

    #[test]
    fn throughput_inverse_round_trips() {
        for m in SETS {
            let top = m.peak_throughput().or(m.amdahl_roof()).unwrap();
            for i in 1..=1000 {
                let x = top * f64::from(i) / 1000.0;
                let Some(n) = m.concurrency_at_throughput(x) else {
                    // Only the κ = 0 roof itself (never attained) may fail.
                    assert!(m.kappa == 0.0 && i == 1000, "{m:?} {x}");
                    continue;
                };
                assert!(rel(m.throughput_at(n), x) < 1e-9, "{m:?} x={x} n={n}");
                if let Some(peak) = m.peak_concurrency() {
                    assert!(n <= peak * (1.0 + 1e-6), "{m:?} rising branch");
                }
            }
            if let Some(px) = m.peak_throughput() {
                assert_eq!(m.concurrency_at_throughput(px * (1.0 + 1e-6)), None);
            }
        }
    }

    #[test]
    fn latency_inverse_round_trips() {
        for m in SETS {
            // N ≥ 1: the physical range, where R(N) is strictly increasing.
            for i in 2..=400 {
                let n = f64::from(i) * 0.5;
                let r = m.latency_at(n);
                assert!(rel(r, n / m.throughput_at(n)) < 1e-12);
                let back = m.concurrency_at_latency(r).unwrap();
                assert!(rel(back, n) < 1e-9, "{m:?} n={n} back={back}");
                let x = m.throughput_at_latency(r).unwrap();
                assert!(rel(x, m.throughput_at(n)) < 1e-9, "{m:?} n={n}");
            }
            assert_eq!(m.concurrency_at_latency(0.0), None);
            assert_eq!(m.concurrency_at_latency(f64::NAN), None);
        }
        // σ = κ = 0: latency is the constant 1/λ and pins down no N.
        assert_eq!(Usl::new(0.0, 0.0, 5.0).concurrency_at_latency(0.2), None);
    }
}
