//! The embedded synthetic service: an HTTP/1.1 server whose capacity is
//! known in closed form, used by `headroom demo`, by `url = "embedded"`
//! scenarios and by the tests as their oracle.
//!
//! It is an M/G/c queue: `workers` requests are served at once, each for a
//! service time drawn from the configured distribution (slept with a
//! precise timer, so the mean holds to microseconds); up to `queue_limit`
//! more wait in FIFO order and the next one is turned away with `503`.

mod config;
mod server;

pub use config::{Contention, Sampler, ServiceTime, Stall, TargetConfig};
pub use server::{spawn, TargetHandle, TargetStats};
