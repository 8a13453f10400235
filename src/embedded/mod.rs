//! The embedded synthetic service: an HTTP/1.1 and h2c server whose
//! capacity is known in closed form, used by `headroom demo`, by
//! `url = "embedded"` scenarios and by the tests as their oracle.
//!
//! It is an M/G/c queue: `workers` requests are served at once, each for a
//! service time drawn from the configured distribution (slept with a
//! precise timer, so the mean holds to microseconds); up to `queue_limit`
//! more wait in FIFO order and the next one is turned away with `503`
//! (`queue_limit = "none"`: the queue grows without bound, as a thread
//! pool behind a listen backlog does).
//!
//! For flows it has a small API behind a login (see [`server`]'s routes):
//! `POST /login` answers a bearer token, and `/api/...` needs one.

mod config;
mod server;

pub use config::{rules, Contention, Dependency, Sampler, ServiceTime, Stall, TargetConfig};
pub use server::{spawn, TargetHandle, TargetStats};
