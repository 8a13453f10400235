//! Breaking points.
//!
//! * [`find`] — the open-loop search for the highest rate that meets the
//!   SLO: exponential steps until one fails, bisection between the last pass
//!   and the first fail, then a confirmation step.
//! * [`sweep`] — closed-loop concurrency levels, measuring X(N), then a USL fit.
//! * [`stress`] — past the breaking point: baseline, overload and recovery
//!   in one run; goodput, a verdict (graceful, degraded, collapse) and the
//!   recovery time.
//! * [`criteria`] — how a step is judged, and the windowed criteria that end
//!   a failing step early.
//! * [`limits`] — who limited the load: the target, or the generator (its
//!   CPU, its connections, this machine's resources).
//! * [`summary`] — a run's `summary.json` from its totals: SLOs judged,
//!   the limit attributed.
//! * [`probe`] — the [`Probe`](probe::Probe) seam: the search asks for
//!   measurements at a rate or concurrency; [`EngineProbe`](probe::EngineProbe)
//!   answers with the load engine, the tests answer with a mock.

pub mod criteria;
pub mod experiment;
pub mod faults;
pub mod find;
pub mod limits;
pub mod probe;
pub mod stress;
pub mod summary;
pub mod sweep;

pub use criteria::{Measure, Watch};
pub use find::find;
pub use probe::{EngineProbe, Probe};
pub use stress::stress;
pub use sweep::sweep;
