//! A canary's rollout as the plan shows it (docs/behaviour.md, "Canary rollouts in plans"): the
//! one-line summary of the schedule a canary deploy starts (the state's [`RolloutSchedule`], in
//! [`super::DesiredCanary`]): "5% -> 25% -> 50% -> promote, about 30m, gated by 2 alarms".

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use stagecraft_config::{Address, Config, Stage};

use crate::state::{
    CanaryState, Promote, ResourceState, RolloutPromotion, RolloutSchedule, RolloutState,
    StageState, Timestamp,
};

impl RolloutSchedule {
    /// `5% -> 25% -> 50% -> promote, about 30m, gated by 2 alarms`; a manual rollout ends
    /// `-> wait for promotion`, one without alarms says `gated by no alarms`.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for step in &self.steps {
            let _ = write!(out, "{step}% -> ");
        }
        out.push_str(match self.promote {
            Promote::Auto => "promote",
            Promote::Manual => "wait for `rollout promote`",
        });
        let _ = write!(out, ", about {}", human_duration(self.total_bake_ms()));
        match self.alarms.len() {
            0 => out.push_str(", gated by no alarms"),
            1 => out.push_str(", gated by 1 alarm"),
            n => {
                let _ = write!(out, ", gated by {n} alarms");
            }
        }
        out
    }
}

/// A duration for people, to the unit that matters: `750ms`, `1.5s`, `45s`, `30m`, `12m 30s`,
/// `1h 30m`, `2d 4h` (seconds dropped from an hour on, minutes from a day on).
pub fn human_duration(ms: u64) -> String {
    const SECOND: u64 = 1000;
    const MINUTE: u64 = 60 * SECOND;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    let pair = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big}{big_unit}")
        } else {
            format!("{big}{big_unit} {small}{small_unit}")
        }
    };
    if ms < SECOND {
        format!("{ms}ms")
    } else if ms < 10 * SECOND && !ms.is_multiple_of(SECOND) {
        format!("{:.1}s", ms as f64 / SECOND as f64)
    } else if ms < MINUTE {
        format!("{}s", ms / SECOND)
    } else if ms < HOUR {
        pair(ms / MINUTE, "m", ms % MINUTE / SECOND, "s")
    } else if ms < DAY {
        pair(ms / HOUR, "h", ms % HOUR / MINUTE, "m")
    } else {
        pair(ms / DAY, "d", ms % DAY / HOUR, "h")
    }
}

/// A canary whose recorded rollout the plan reports, though it may plan nothing for it
/// (docs/behaviour.md, "Canary rollouts in plans").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutNote {
    /// The canary's address.
    pub address: Address,
    /// The canary's revision (the rollout's, or the one its promotion gave the stage).
    pub revision: String,
    /// Where its rollout stands.
    #[serde(flatten)]
    pub standing: Standing,
}

/// Where a canary's recorded rollout stands, as the plan reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "standing", rename_all = "snake_case")]
pub enum Standing {
    /// Baking, paused or awaiting `rollout promote`: the canary is live at the rollout's percent,
    /// which the plan leaves to the rollout.
    Running {
        /// The recorded rollout.
        rollout: RolloutState,
        /// The time left in the current step's bake when the plan was made (`None` when the
        /// plan was made without a clock).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bake_left_ms: Option<u64>,
    },
    /// Rolled back by an alarm, or aborted: no canary is live, and the plan does not deploy its
    /// revision again until the file's canary revision changes.
    Rejected {
        /// The recorded rollout.
        rollout: RolloutState,
    },
    /// Promoted by its rollout, while the file still has the stage on the revision before and
    /// the canary block: satisfied, but not plain.
    Promoted {
        /// The recorded promotion.
        promotion: RolloutPromotion,
    },
}

/// Whether a recorded canary's rollout ended with the canary removed (rolled back or aborted):
/// no canary is live on AWS.
pub(crate) fn is_rejected(canary: &CanaryState) -> bool {
    canary
        .rollout
        .as_ref()
        .is_some_and(RolloutState::is_rejected)
}

/// Whether a recorded canary's rollout still drives its percent (baking, paused or awaiting
/// promotion).
pub(crate) fn is_running(canary: &CanaryState) -> bool {
    canary
        .rollout
        .as_ref()
        .is_some_and(|rollout| !rollout.is_rejected())
}

/// The promotion a stage's record says a rollout made, when the file is still as it was
/// before it: the stage on `from_revision`. The stage's revision then reads as the canary's.
pub(crate) fn promoted_as_written<'s>(
    recorded: &'s StageState,
    configured: &Stage,
) -> Option<&'s RolloutPromotion> {
    recorded.promoted_by_rollout.as_ref().filter(|promotion| {
        configured.revision == promotion.from_revision
            && recorded.revision == promotion.canary_revision
            && promotion.from_revision != promotion.canary_revision
    })
}

/// The notes of a plan: every declared canary whose recorded rollout is running or rejected on
/// the revision the file gives, and every stage whose rollout's promotion the file does not
/// show yet.
pub(crate) fn notes(
    config: &Config,
    recorded: &BTreeMap<Address, ResourceState>,
    now: Option<Timestamp>,
    is_selected: &dyn Fn(&Address) -> bool,
) -> Vec<RolloutNote> {
    let mut out = Vec::new();
    for (api, rest_api) in &config.rest_apis {
        for (name, stage) in &rest_api.stages {
            let canary_address = Address::Canary {
                api: api.clone(),
                stage: name.clone(),
            };
            let stage_address = Address::Stage {
                api: api.clone(),
                stage: name.clone(),
            };
            if !is_selected(&canary_address) && !is_selected(&stage_address) {
                continue;
            }
            if let (Some(canary), Some(ResourceState::Canary(record))) =
                (&stage.canary, recorded.get(&canary_address))
                && let Some(rollout) = &record.rollout
                && record.revision == canary.revision
            {
                let standing = if rollout.is_rejected() {
                    Standing::Rejected {
                        rollout: rollout.clone(),
                    }
                } else {
                    Standing::Running {
                        rollout: rollout.clone(),
                        bake_left_ms: now.map(|now| rollout.bake_left_ms(now)),
                    }
                };
                out.push(RolloutNote {
                    address: canary_address.clone(),
                    revision: record.revision.clone(),
                    standing,
                });
            }
            if let Some(ResourceState::Stage(record)) = recorded.get(&stage_address)
                && let Some(promotion) = promoted_as_written(record, stage)
            {
                out.push(RolloutNote {
                    address: canary_address,
                    revision: promotion.canary_revision.clone(),
                    standing: Standing::Promoted {
                        promotion: promotion.clone(),
                    },
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
