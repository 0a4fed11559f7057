//! Why a rollout could not go on (docs/behaviour.md, "Rollouts"); the rollout stays as it was.

use stagecraft_config::Address;

/// A rollout that could not be driven, paused, aborted or promoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolloutError {
    /// An alarm of the schedule does not exist in the API's region: the bake is not advanced.
    #[error(
        "alarm {alarm} does not exist in {region} (DescribeAlarms did not report it); the rollout stays at its step"
    )]
    AlarmMissing {
        /// The alarm's name.
        alarm: String,
        /// The region it was looked for in.
        region: String,
    },
    /// The address names no canary with a rollout in the state.
    #[error("{address} has no rollout in the state")]
    NoRollout {
        /// The address given.
        address: Address,
    },
    /// The rollout is over (rolled back, aborted): nothing to do.
    #[error("the rollout of {address} is {status}: there is nothing to {verb}")]
    Finished {
        /// The canary.
        address: Address,
        /// Its status's name.
        status: &'static str,
        /// What was asked.
        verb: &'static str,
    },
}
