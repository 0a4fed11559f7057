//! A canary's progressive rollout as the state records it (docs/behaviour.md, "Rollouts"): the
//! schedule it started with, where it stands and the history of its steps. Every change to it is
//! a journaled effect replacing the canary's record, so that replaying a journal cut anywhere
//! gives the rollout exactly as far as AWS and the alarms were known to be.

use std::fmt;

use serde::{Deserialize, Serialize};

mod timestamp;

pub use timestamp::Timestamp;

/// Whether the canary is promoted by itself after the last bake, or waits for `rollout promote`
/// (the configuration's type, written the same way in the state: `"auto"`, `"manual"`).
pub use stagecraft_config::Promote;

/// A rollout's schedule, as it was when the rollout started (a later edit of the file does not
/// change a rollout in progress).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutSchedule {
    /// The canary's percent of traffic at each step, rising.
    pub steps: Vec<f64>,
    /// How long each step bakes, in milliseconds (one per step).
    pub bakes_ms: Vec<u64>,
    /// The CloudWatch alarms read during each bake (by `AlarmName`).
    pub alarms: Vec<String>,
    /// What happens after the last bake.
    pub promote: Promote,
    /// How often the alarms are read while baking, in milliseconds.
    pub poll_interval_ms: u64,
}

impl From<&stagecraft_config::Rollout> for RolloutSchedule {
    fn from(rollout: &stagecraft_config::Rollout) -> RolloutSchedule {
        let millis = |duration: &std::time::Duration| {
            u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
        };
        RolloutSchedule {
            steps: rollout.steps.clone(),
            bakes_ms: rollout.bakes.iter().map(millis).collect(),
            alarms: rollout.alarms.clone(),
            promote: rollout.promote,
            poll_interval_ms: millis(&rollout.poll_interval),
        }
    }
}

impl RolloutSchedule {
    /// The bake of step `step` in milliseconds (0 past the last step).
    pub fn bake_ms(&self, step: usize) -> u64 {
        self.bakes_ms.get(step).copied().unwrap_or(0)
    }

    /// The sum of every step's bake, in milliseconds: how long the rollout takes at the least.
    pub fn total_bake_ms(&self) -> u64 {
        self.bakes_ms.iter().sum()
    }

    /// The index of the last step.
    pub fn last_step(&self) -> usize {
        self.steps.len().saturating_sub(1)
    }
}

/// A canary's rollout: its schedule, status and history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutState {
    /// The schedule, as it was when the rollout started.
    pub schedule: RolloutSchedule,
    /// Where the rollout stands.
    pub status: RolloutStatus,
    /// One record per step reached, in order.
    pub steps: Vec<StepRecord>,
    /// The last alarm check, if any was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check: Option<AlarmCheck>,
}

impl RolloutState {
    /// A rollout that has just shifted traffic to its first step at `now`.
    pub fn started(schedule: RolloutSchedule, now: Timestamp) -> RolloutState {
        let first = schedule.steps.first().copied().unwrap_or(0.0);
        RolloutState {
            schedule,
            status: RolloutStatus::Baking { step: 0 },
            steps: vec![StepRecord::new(first, now)],
            last_check: None,
        }
    }

    /// The step the rollout is at (the last reached), if any.
    pub fn step_index(&self) -> Option<usize> {
        match &self.status {
            RolloutStatus::Baking { step }
            | RolloutStatus::Paused { step, .. }
            | RolloutStatus::RolledBack { step, .. }
            | RolloutStatus::Aborted { step, .. } => Some(*step),
            RolloutStatus::AwaitingPromotion { .. } => self.steps.len().checked_sub(1),
        }
    }

    /// The record of the step the rollout is at.
    pub fn current(&self) -> Option<&StepRecord> {
        self.steps.get(self.step_index()?)
    }

    /// The bake time of the current step at `now`: what was counted, plus the time since, while
    /// baking (a pause freezes it).
    pub fn baked_ms(&self, now: Timestamp) -> u64 {
        let Some(record) = self.current() else {
            return 0;
        };
        match self.status {
            RolloutStatus::Baking { .. } => record.baked_ms + now.millis_since(record.counted_at),
            _ => record.baked_ms,
        }
    }

    /// The time left in the current step's bake at `now` (0 once it is over, or when not
    /// baking or paused).
    pub fn bake_left_ms(&self, now: Timestamp) -> u64 {
        match self.status {
            RolloutStatus::Baking { step } | RolloutStatus::Paused { step, .. } => self
                .schedule
                .bake_ms(step)
                .saturating_sub(self.baked_ms(now)),
            _ => 0,
        }
    }

    /// Whether the rollout still has work to do (baking or paused): its canary is live.
    pub fn is_active(&self) -> bool {
        matches!(
            self.status,
            RolloutStatus::Baking { .. } | RolloutStatus::Paused { .. }
        )
    }

    /// Whether the rollout ended with its canary removed (rolled back or aborted).
    pub fn is_rejected(&self) -> bool {
        matches!(
            self.status,
            RolloutStatus::RolledBack { .. } | RolloutStatus::Aborted { .. }
        )
    }
}

/// Where a rollout stands, tagged by `"status"`: `{"status": "baking", "step": 1}` and so on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RolloutStatus {
    /// Baking step `step` (its bake time so far is in `steps[step]`).
    Baking {
        /// The step's index.
        step: usize,
    },
    /// Paused at step `step`: its bake time is frozen until it is resumed.
    Paused {
        /// The step's index.
        step: usize,
        /// Who paused it.
        by: PausedBy,
    },
    /// The last bake ended with no alarm; `promote = "manual"` waits for `rollout promote`.
    AwaitingPromotion {
        /// When the last bake ended.
        since: Timestamp,
    },
    /// An alarm was in `ALARM` during step `step`: the canary was removed, the stage untouched.
    RolledBack {
        /// When the canary was removed.
        at: Timestamp,
        /// The step's index.
        step: usize,
        /// The alarm.
        alarm: String,
        /// CloudWatch's reason for its state.
        reason: String,
    },
    /// Stopped by `rollout abort` at step `step`: the canary was removed, the stage untouched.
    Aborted {
        /// When the canary was removed.
        at: Timestamp,
        /// The step's index.
        step: usize,
    },
}

impl RolloutStatus {
    /// The status's name as the state spells it.
    pub fn name(&self) -> &'static str {
        match self {
            RolloutStatus::Baking { .. } => "baking",
            RolloutStatus::Paused { .. } => "paused",
            RolloutStatus::AwaitingPromotion { .. } => "awaiting_promotion",
            RolloutStatus::RolledBack { .. } => "rolled_back",
            RolloutStatus::Aborted { .. } => "aborted",
        }
    }
}

/// Who paused a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PausedBy {
    /// Ctrl-C during `apply` or `rollout resume --wait`: a resume without address resumes it.
    Interrupt,
    /// `stagecraft rollout pause`: only `rollout resume ADDRESS` resumes it.
    Operator,
}

impl fmt::Display for PausedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PausedBy::Interrupt => "interrupt",
            PausedBy::Operator => "operator",
        })
    }
}

/// One step reached: its traffic, when it started and how long it has baked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    /// The canary's percent of traffic at this step.
    pub percent: f64,
    /// When traffic moved to this step (the `UpdateStage` answered).
    pub started_at: Timestamp,
    /// Bake time counted up to `counted_at`, in milliseconds (paused time is not counted).
    pub baked_ms: u64,
    /// The instant `baked_ms` counts up to; while baking, the bake so far is `baked_ms` plus the
    /// time since.
    pub counted_at: Timestamp,
    /// Alarm checks made during this step.
    pub checks: u32,
    /// When the bake ended (the alarm check after its end time found no alarm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
}

impl StepRecord {
    /// A step that starts baking at `now`.
    pub fn new(percent: f64, now: Timestamp) -> StepRecord {
        StepRecord {
            percent,
            started_at: now,
            baked_ms: 0,
            counted_at: now,
            checks: 0,
            completed_at: None,
        }
    }
}

/// One read of the rollout's alarms (`DescribeAlarms`), summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmCheck {
    /// When the answer came.
    pub at: Timestamp,
    /// Each alarm of the schedule, in the schedule's order.
    pub alarms: Vec<AlarmReading>,
}

/// One alarm's state at a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmReading {
    /// The alarm's name.
    pub name: String,
    /// CloudWatch's state value (`OK`, `ALARM`, `INSUFFICIENT_DATA`), as AWS spells it.
    pub state: String,
    /// CloudWatch's reason for the state.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// How a rollout ended in a promotion: recorded on the stage, so that the file as it was when
/// the rollout started (the stage on `from_revision`, a canary on `canary_revision` with a
/// rollout) still reads as applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutPromotion {
    /// The stage's revision before the promotion.
    pub from_revision: String,
    /// The canary's revision, which the stage is on since.
    pub canary_revision: String,
    /// When the promotion's `UpdateStage` answered.
    pub at: Timestamp,
}

#[cfg(test)]
mod tests;
