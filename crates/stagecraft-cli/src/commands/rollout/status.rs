//! `rollout status [--json]`: each canary with a rollout, from the state alone (no AWS call):
//! status, step i/n, percent, bake left at `now`, each alarm's state at the last check; and each
//! stage a rollout promoted.

use std::fmt::Write as _;

use serde_json::json;
use stagecraft_core::plan::human_duration;
use stagecraft_core::state::{ResourceState, RolloutState, RolloutStatus, State, Timestamp};

/// The text: one paragraph per rollout, then the promotions.
pub(crate) fn text(state: &State, now: Timestamp) -> String {
    let mut out = String::new();
    for (address, record) in &state.resources {
        match record {
            ResourceState::Canary(canary) => {
                let Some(rollout) = &canary.rollout else {
                    continue;
                };
                let _ = writeln!(
                    out,
                    "{address} (revision {}): {}",
                    canary.revision,
                    standing(rollout, now)
                );
                if let Some(check) = &rollout.last_check {
                    let alarms: Vec<String> = check
                        .alarms
                        .iter()
                        .map(|alarm| format!("{} {}", alarm.name, alarm.state))
                        .collect();
                    let _ = writeln!(out, "  alarms at {}: {}", check.at, alarms.join(", "));
                } else if rollout.schedule.alarms.is_empty() {
                    let _ = writeln!(out, "  no alarms");
                } else {
                    let _ = writeln!(
                        out,
                        "  alarms not checked yet: {}",
                        rollout.schedule.alarms.join(", ")
                    );
                }
            }
            ResourceState::Stage(stage) => {
                if let Some(promotion) = &stage.promoted_by_rollout {
                    let _ = writeln!(
                        out,
                        "{address}: promoted by its rollout at {} ({} -> {})",
                        promotion.at, promotion.from_revision, promotion.canary_revision
                    );
                }
            }
            ResourceState::Branch(_) => {}
        }
    }
    if out.is_empty() {
        out.push_str("No rollouts in the state.\n");
    }
    out
}

/// Where a rollout stands, in one line.
fn standing(rollout: &RolloutState, now: Timestamp) -> String {
    let steps = rollout.schedule.steps.len();
    let at = |step: usize| {
        let percent = rollout.steps.get(step).map_or(0.0, |record| record.percent);
        format!("step {}/{steps} at {percent}%", step + 1)
    };
    let bake = |step: usize| {
        format!(
            "{} of {} bake left",
            human_duration(rollout.bake_left_ms(now)),
            human_duration(rollout.schedule.bake_ms(step))
        )
    };
    match &rollout.status {
        RolloutStatus::Baking { step } => format!("baking, {}, {}", at(*step), bake(*step)),
        RolloutStatus::Paused { step, by } => {
            format!("paused by {by}, {}, {}", at(*step), bake(*step))
        }
        RolloutStatus::AwaitingPromotion { since } => format!(
            "awaiting `rollout promote` since {since}, {}",
            at(rollout.steps.len().saturating_sub(1))
        ),
        RolloutStatus::RolledBack {
            at: when,
            step,
            alarm,
            reason,
        } => format!(
            "rolled back at {when}, {}: alarm {alarm} in ALARM: {reason}",
            at(*step)
        ),
        RolloutStatus::Aborted { at: when, step } => format!("aborted at {when}, {}", at(*step)),
    }
}

/// The JSON document: `{"rollouts": [...], "promotions": [...]}`.
pub(crate) fn json(state: &State, now: Timestamp) -> String {
    let mut rollouts = Vec::new();
    let mut promotions = Vec::new();
    for (address, record) in &state.resources {
        match record {
            ResourceState::Canary(canary) => {
                let Some(rollout) = &canary.rollout else {
                    continue;
                };
                let step = rollout.step_index().unwrap_or(0);
                rollouts.push(json!({
                    "address": address.to_string(),
                    "revision": canary.revision,
                    "status": rollout.status.name(),
                    "step": step + 1,
                    "steps": rollout.schedule.steps.len(),
                    "percent": rollout.steps.get(step).map(|record| record.percent),
                    "bake_left_ms": rollout.bake_left_ms(now),
                    "alarms": rollout.last_check.as_ref().map(|check| &check.alarms),
                    "rollout": rollout,
                }));
            }
            ResourceState::Stage(stage) => {
                if let Some(promotion) = &stage.promoted_by_rollout {
                    promotions.push(json!({
                        "address": address.to_string(),
                        "promotion": promotion,
                    }));
                }
            }
            ResourceState::Branch(_) => {}
        }
    }
    serde_json::to_string_pretty(&json!({
        "rollouts": rollouts,
        "promotions": promotions,
    }))
    .unwrap_or_default()
}

#[cfg(test)]
mod tests;
