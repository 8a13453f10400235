//! Capacity models: pure functions, no I/O, no async. Each is tested
//! against published reference values (`tests/fixtures/`, copied from
//! `shared/reference` with its README as `tests/fixtures/README.md`).
//!
//! * [`usl`] — the Universal Scalability Law: bounded fit and exact inverses.
//! * [`queueing`] — M/M/c (Erlang B and C), service levels, server counts.
//! * [`forecast`] — seasonal demand forecasts with prediction intervals.
//! * [`cost`] — instance prices, commitments, cost per million requests.
//! * [`plan`] — instances per month, runway, orders and act-by dates,
//!   cheapest type, cost curves, events.
//! * [`regions`] — failure domains: N+k, zone loss, region loss.
//! * [`whatif`] — named scenarios compared side by side.
//! * [`autoscale`] — autoscaler targets and the HPA manifest.
//! * [`budget`] — error budgets, burn rates, multi-window alert windows.

pub mod autoscale;
pub mod budget;
pub mod cost;
pub mod forecast;
pub mod plan;
pub mod queueing;
pub mod regions;
pub mod sizing;
pub mod usl;
pub mod whatif;
