//! The errors every layer may end with, by kind: input that is wrong
//! (exit code 2) and a server that did not answer (exit code 4). Where an
//! error has a place in a file, the message names it (file:line:column);
//! `exit` maps each kind to its code.

/// An error that is the user's input, not the tool: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// A server headroom must talk to (a target, Prometheus) did not answer:
/// exit code 4.
#[derive(Debug, thiserror::Error)]
#[error("unreachable: {0}")]
pub struct Unreachable(pub String);
