//! `[rest_apis.<api>.stages.<stage>.canary.rollout]`: a progressive canary rollout, validated
//! (docs/configuration.md, "Canary rollouts"; the contract is /work/notes/rollout.md's
//! "Configuration").

use std::time::Duration;

use miette::SourceSpan;
use serde::{Deserialize, Serialize};

/// How often alarms are read during a bake when `poll_interval` is not written (or the shortest
/// bake, when that is shorter).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30);

/// A canary's progressive rollout: traffic moves through `steps`, each baked for its time while
/// `alarms` are polled.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    /// Percent of traffic at each step: rising, each in (0, 100], at least one.
    pub steps: Vec<f64>,
    /// One bake time per step (a single `bake` repeated), each at least 1 ms.
    pub bakes: Vec<Duration>,
    /// CloudWatch alarm names (1 to 255 characters, at most 100, none twice).
    pub alarms: Vec<String>,
    /// What happens after the last bake.
    pub promote: Promote,
    /// How often alarms are read during a bake; never above the shortest bake.
    pub poll_interval: Duration,
    /// The span of the rollout's table header.
    pub span: SourceSpan,
}

impl Rollout {
    /// The sum of the bakes: how long the rollout takes at the least.
    pub fn total_bake(&self) -> Duration {
        self.bakes.iter().sum()
    }

    /// The first step's percent: the canary's `percent_traffic`.
    pub fn first_percent(&self) -> f64 {
        self.steps.first().copied().unwrap_or(0.0)
    }
}

/// What a rollout does after its last bake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Promote {
    /// Promote the canary at once (the default).
    #[default]
    Auto,
    /// Wait for `stagecraft rollout promote`.
    Manual,
}

impl Promote {
    /// Every value with its spelling.
    pub const ALL: [(Promote, &'static str); 2] =
        [(Promote::Auto, "auto"), (Promote::Manual, "manual")];

    /// The spelling in deploy.toml (and the state).
    pub fn as_str(self) -> &'static str {
        match self {
            Promote::Auto => "auto",
            Promote::Manual => "manual",
        }
    }

    /// Parses the spelling.
    pub fn parse(text: &str) -> Option<Promote> {
        Promote::ALL
            .iter()
            .find(|(_, spelling)| *spelling == text)
            .map(|(promote, _)| *promote)
    }
}
