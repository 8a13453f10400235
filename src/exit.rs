//! Process exit codes, one per outcome a CI job branches on.

/// Every SLO threshold held (or none was set) and the run completed.
pub const OK: u8 = 0;
/// A threshold failed.
pub const THRESHOLD_FAILED: u8 = 1;
/// Bad input: a scenario file or a flag. Nothing was sent.
pub const BAD_INPUT: u8 = 2;
/// The run cannot answer: the generator could not keep up, or it was interrupted.
pub const INCONCLUSIVE: u8 = 3;
/// The target could not be reached at all.
pub const UNREACHABLE: u8 = 4;
/// Anything else that went wrong (I/O writing results, …).
pub const FAILURE: u8 = 10;

/// An error that is the user's input, not the tool: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// A server headroom must talk to (a target, Prometheus) did not answer:
/// exit code 4.
#[derive(Debug, thiserror::Error)]
#[error("unreachable: {0}")]
pub struct Unreachable(pub String);

/// `headroom find`: every rate up to the maximum met the SLO.
pub const NOT_BROKEN: u8 = 5;
