//! Process exit codes, one per outcome a CI job branches on, and the one
//! mapping from every command's outcome to its code.

use crate::error::{BadInput, Unreachable};
use crate::results::compare::{self, Comparison};
use crate::results::find::Outcome;
use crate::results::stress::StressVerdict;
use crate::results::summary::Summary;
use crate::results::sweep::SweepResult;
use crate::results::verdict::Attribution;

/// Codes have no order of their own (their numbers are not a ranking):
/// a job of several outcomes says which wins with [`Code::and`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Every SLO held (or none was set), the breaking point was found, the
    /// service degraded gracefully, no regression.
    Ok = 0,
    /// A threshold failed, the target saturated, even the lowest rate
    /// failed, the service degraded or collapsed, a regression.
    Failed = 1,
    /// Bad input: a scenario, plan or results file, or a flag. Nothing was sent.
    BadInput = 2,
    /// No answer: the generator's own limits decided, the run was
    /// interrupted, the search ran out of time.
    Inconclusive = 3,
    /// The target could not be reached, or answered only with errors that
    /// load does not explain.
    Unreachable = 4,
    /// `find`: every rate up to the maximum met the SLO.
    NotBroken = 5,
    /// Anything else that went wrong (I/O writing results, a shard that
    /// failed, …).
    Internal = 10,
}

impl Code {
    /// The code of a job with both outcomes: what went wrong outranks
    /// what was found, and a failure what could not be told — internal,
    /// unreachable, bad input, failed, inconclusive, no breaking point, ok.
    pub fn and(self, other: Code) -> Code {
        let rank = |c: Code| match c {
            Code::Ok => 0,
            Code::NotBroken => 1,
            Code::Inconclusive => 2,
            Code::Failed => 3,
            Code::BadInput => 4,
            Code::Unreachable => 5,
            Code::Internal => 6,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl From<Code> for std::process::ExitCode {
    fn from(c: Code) -> Self {
        std::process::ExitCode::from(c as u8)
    }
}

/// `headroom run` (and `merge`): what its summary deserves.
pub fn of_run(s: &Summary) -> Code {
    let connect_failures: u64 = s
        .requests
        .errors
        .by_kind
        .iter()
        .filter(|(k, _)| crate::metrics::ErrorKind::from_label(k).is_connect())
        .map(|(_, n)| n)
        .sum();
    let unreachable =
        s.requests.ok == 0 && connect_failures > 0 && connect_failures == s.requests.errors.total;
    if unreachable || s.target_unusable.is_some() {
        Code::Unreachable
    } else if s.interrupted || s.generator_limited {
        Code::Inconclusive
    } else if s.slo_failed()
        || s.attribution == Attribution::TargetSaturated
        || s.experiment
            .as_ref()
            .is_some_and(|e| e.verdict != crate::results::experiment::Verdict::Held)
    {
        Code::Failed
    } else {
        Code::Ok
    }
}

/// `headroom find`.
pub fn of_search(o: Outcome) -> Code {
    match o {
        Outcome::Found => Code::Ok,
        Outcome::NoBreakingPoint => Code::NotBroken,
        Outcome::NoPassingRate => Code::Failed,
        Outcome::TargetUnusable => Code::Unreachable,
        Outcome::GeneratorLimited
        | Outcome::TimeBudget
        | Outcome::Unconfirmed
        | Outcome::Interrupted => Code::Inconclusive,
    }
}

/// `headroom sweep`.
pub fn of_sweep(r: &SweepResult) -> Code {
    if r.target_unusable {
        Code::Unreachable
    } else if r.interrupted || r.usl.is_none() {
        Code::Inconclusive
    } else {
        Code::Ok
    }
}

/// `headroom stress`.
pub fn of_stress(v: StressVerdict) -> Code {
    match v {
        StressVerdict::Graceful => Code::Ok,
        StressVerdict::Degraded | StressVerdict::Collapse => Code::Failed,
        StressVerdict::Inconclusive => Code::Inconclusive,
    }
}

/// `headroom compare`.
pub fn of_comparison(c: &Comparison) -> Code {
    match c.verdict {
        compare::Verdict::Regression => Code::Failed,
        compare::Verdict::Inconclusive => Code::Inconclusive,
        compare::Verdict::Improvement | compare::Verdict::NoSignificantChange => Code::Ok,
    }
}

/// `headroom slo`: failed once the error budget is spent.
pub fn of_budget(b: &crate::model::budget::Budget) -> Code {
    if b.remaining > 0.0 {
        Code::Ok
    } else {
        Code::Failed
    }
}

/// An error a command ends with.
pub fn of_error(err: &anyhow::Error) -> Code {
    if err.downcast_ref::<crate::input::Error>().is_some()
        || err.downcast_ref::<BadInput>().is_some()
    {
        return Code::BadInput;
    }
    if err.downcast_ref::<Unreachable>().is_some() {
        return Code::Unreachable;
    }
    match err.downcast_ref::<crate::load::RunError>() {
        Some(crate::load::RunError::Unreachable { .. } | crate::load::RunError::Resolve(_)) => {
            Code::Unreachable
        }
        Some(crate::load::RunError::BadRequest(_)) => Code::BadInput,
        _ => Code::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_outranks_no_breaking_point_whatever_their_numbers() {
        // By number, "no breaking point" (5) was above "failed" (1).
        assert_eq!(Code::Failed.and(Code::NotBroken), Code::Failed);
        assert_eq!(Code::NotBroken.and(Code::Failed), Code::Failed);
        assert_eq!(Code::Ok.and(Code::NotBroken), Code::NotBroken);
        assert_eq!(Code::Inconclusive.and(Code::Failed), Code::Failed);
        assert_eq!(Code::Failed.and(Code::Unreachable), Code::Unreachable);
        assert_eq!(Code::Internal.and(Code::Ok), Code::Internal);
    }
}
