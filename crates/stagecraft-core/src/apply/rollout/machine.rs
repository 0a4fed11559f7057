//! The rollout state machine (docs/behaviour.md, "Rollouts"), pure: given a rollout, the time
//! of day and what CloudWatch answered, the record that follows and what to do next. Every
//! function returns a new `RolloutState` for the driver to record as one journaled effect.

use crate::provider::LiveAlarm;
use crate::state::{
    AlarmCheck, AlarmReading, PausedBy, RolloutState, RolloutStatus, StepRecord, Timestamp,
};

/// What an alarm check decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// An alarm is in `ALARM`: roll back.
    RollBack {
        /// The first alarm of the schedule found in `ALARM`.
        alarm: String,
        /// CloudWatch's reason.
        reason: String,
    },
    /// The step goes on baking; this much bake is left.
    Baking {
        /// Milliseconds of bake left.
        left_ms: u64,
    },
    /// The step's bake is over and no alarm fired: move on.
    BakeDone,
}

/// The rollout after one alarm check, and what it decides.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Observed {
    /// The record with the check counted (`checks`, `last_check`, the bake).
    pub rollout: RolloutState,
    /// What to do next.
    pub verdict: Verdict,
}

/// One alarm check of a baking rollout at `now`, from `DescribeAlarms`' answer. An alarm of
/// the schedule missing from the answer is `Err` with its name (nothing is counted).
///
/// Bake time advances only at a check that finds no alarm, by the time since the last count,
/// except that an alarm whose state changed since then (it may have been in `ALARM` in
/// between) lets the bake count only from that change: a crash, a kill or a slow check never
/// shortens a bake.
pub(crate) fn observe(
    rollout: &RolloutState,
    now: Timestamp,
    alarms: &[LiveAlarm],
) -> Result<Observed, String> {
    let mut readings = Vec::with_capacity(rollout.schedule.alarms.len());
    let mut changed_at: Option<Timestamp> = None;
    let mut firing = None;
    for name in &rollout.schedule.alarms {
        let Some(alarm) = alarms.iter().find(|alarm| alarm.name == *name) else {
            return Err(name.clone());
        };
        if alarm.state.is_alarm() && firing.is_none() {
            firing = Some((alarm.name.clone(), alarm.reason.clone()));
        }
        if let Some(updated) = alarm.state_updated {
            changed_at = changed_at.max(Some(updated));
        }
        readings.push(AlarmReading {
            name: alarm.name.clone(),
            state: alarm.state.as_str().to_string(),
            reason: alarm.reason.clone(),
        });
    }
    let mut next = rollout.clone();
    next.last_check = Some(AlarmCheck {
        at: now,
        alarms: readings,
    });
    let step = match rollout.status {
        RolloutStatus::Baking { step } => step,
        _ => rollout.step_index().unwrap_or(0),
    };
    let bake = rollout.schedule.bake_ms(step);
    let Some(record) = next.steps.get_mut(step) else {
        // No record of the step (a state edited by hand): nothing to count on.
        return Ok(Observed {
            rollout: next,
            verdict: Verdict::Baking { left_ms: bake },
        });
    };
    record.checks = record.checks.saturating_add(1);
    if let Some((alarm, reason)) = firing {
        return Ok(Observed {
            rollout: next,
            verdict: Verdict::RollBack { alarm, reason },
        });
    }
    // From the last count, or from a later change of an alarm's state (never after now).
    let from = match changed_at {
        Some(changed) if changed > record.counted_at => changed.min(now),
        _ => record.counted_at,
    };
    record.baked_ms = record.baked_ms.saturating_add(now.millis_since(from));
    record.counted_at = now;
    let verdict = if record.baked_ms >= bake {
        record.completed_at = Some(now);
        Verdict::BakeDone
    } else {
        Verdict::Baking {
            left_ms: bake - record.baked_ms,
        }
    };
    Ok(Observed {
        rollout: next,
        verdict,
    })
}

/// What follows a finished bake.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AfterBake {
    /// Shift traffic to step `step`, at `percent`.
    Shift {
        /// The next step's index.
        step: usize,
        /// Its percent of traffic.
        percent: f64,
    },
    /// The last bake is over: promote now.
    Promote,
    /// The last bake is over: wait for `rollout promote`.
    AwaitPromotion,
}

/// What follows the bake of the rollout's current step.
pub(crate) fn after_bake(rollout: &RolloutState) -> AfterBake {
    let step = rollout.step_index().unwrap_or(0);
    match rollout.schedule.steps.get(step + 1) {
        Some(&percent) => AfterBake::Shift {
            step: step + 1,
            percent,
        },
        None => match rollout.schedule.promote {
            crate::state::Promote::Auto => AfterBake::Promote,
            crate::state::Promote::Manual => AfterBake::AwaitPromotion,
        },
    }
}

/// Traffic moved to step `step` at `percent`, at `now`: a new step record, baking.
pub(crate) fn shifted(
    rollout: &RolloutState,
    step: usize,
    percent: f64,
    now: Timestamp,
) -> RolloutState {
    let mut next = rollout.clone();
    next.steps.truncate(step);
    next.steps.push(StepRecord::new(percent, now));
    next.status = RolloutStatus::Baking { step };
    next
}

/// The last bake ended at `now` with `promote = "manual"`.
pub(crate) fn awaiting(rollout: &RolloutState, now: Timestamp) -> RolloutState {
    let mut next = rollout.clone();
    next.status = RolloutStatus::AwaitingPromotion { since: now };
    next
}

/// Rolled back at `now` because `alarm` was in `ALARM`.
pub(crate) fn rolled_back(
    rollout: &RolloutState,
    now: Timestamp,
    alarm: String,
    reason: String,
) -> RolloutState {
    let mut next = rollout.clone();
    next.status = RolloutStatus::RolledBack {
        at: now,
        step: rollout.step_index().unwrap_or(0),
        alarm,
        reason,
    };
    next
}

/// Aborted by `rollout abort` at `now`.
pub(crate) fn aborted(rollout: &RolloutState, now: Timestamp) -> RolloutState {
    let mut next = rollout.clone();
    next.status = RolloutStatus::Aborted {
        at: now,
        step: rollout.step_index().unwrap_or(0),
    };
    next
}

/// Paused by `by`: the bake stays as counted at the last check (frozen).
pub fn paused(rollout: &RolloutState, by: PausedBy) -> RolloutState {
    let mut next = rollout.clone();
    if let RolloutStatus::Baking { step } | RolloutStatus::Paused { step, .. } = rollout.status {
        next.status = RolloutStatus::Paused { step, by };
    }
    next
}

/// A paused rollout baking again from `now` (the paused time is not counted).
pub(crate) fn resumed(rollout: &RolloutState, now: Timestamp) -> RolloutState {
    let mut next = rollout.clone();
    if let RolloutStatus::Paused { step, .. } = rollout.status {
        next.status = RolloutStatus::Baking { step };
        if let Some(record) = next.steps.get_mut(step) {
            record.counted_at = now;
        }
    }
    next
}
