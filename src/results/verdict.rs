//! The words results judge with: a step's verdict, and who held the load
//! back (the rule that decides it is `search::limits`).

use serde::{Deserialize, Serialize};

/// A step's (or a sweep level's) verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// The generator could not follow the schedule: no verdict on the target.
    GeneratorLimited,
    /// Too few samples to judge a quantile; not a failure.
    TooFewSamples,
}

impl Verdict {
    /// The name results give it.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::GeneratorLimited => "generator_limited",
            Verdict::TooFewSamples => "too_few_samples",
        }
    }
}

/// What held the load back, if anything did.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Attribution {
    /// The generator followed its schedule: what was measured is the target's.
    #[default]
    None,
    /// Every connection was held by an outstanding request and answers were
    /// slow: the target's backpressure. The target failed, not the generator.
    TargetSaturated,
    /// The send lag grew while connections were free: the generator is
    /// short of CPU.
    GeneratorCpu,
    /// Every connection was busy at the configured limit while answers came
    /// quickly: more connections were needed.
    ConnectionCap,
    /// This machine ran out of file descriptors, ports or socket buffers.
    LocalResources,
}

impl Attribution {
    /// True when the generator's own limits decided the outcome.
    pub fn is_generator(self) -> bool {
        matches!(
            self,
            Attribution::GeneratorCpu | Attribution::ConnectionCap | Attribution::LocalResources
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            Attribution::None => "none",
            Attribution::TargetSaturated => "target_saturated",
            Attribution::GeneratorCpu => "generator_cpu",
            Attribution::ConnectionCap => "connection_cap",
            Attribution::LocalResources => "local_resources",
        }
    }
}
