//! What the renderings say about a canary's recorded rollout ([`RolloutNote`]): one sentence,
//! the same in text, Markdown and JSON (docs/behaviour.md, "Canary rollouts in plans").

use std::fmt::Write as _;

use crate::plan::{RolloutNote, Standing, human_duration};
use crate::state::{AlarmCheck, RolloutState, RolloutStatus};

/// `step 2 of 3 (25% of traffic)`.
fn step_words(rollout: &RolloutState, step: usize) -> String {
    let percent = rollout
        .steps
        .get(step)
        .map(|record| record.percent)
        .or_else(|| rollout.schedule.steps.get(step).copied())
        .unwrap_or(0.0);
    format!(
        "step {} of {} ({percent}% of traffic)",
        step + 1,
        rollout.schedule.steps.len()
    )
}

/// `last alarm check 2026-12-02T07:14:17.000Z: 2 OK` (states counted in the schedule's order
/// of first appearance), or that none was made yet.
fn check_words(check: Option<&AlarmCheck>, alarms: usize) -> String {
    if alarms == 0 {
        return "no alarms to check".to_string();
    }
    let Some(check) = check else {
        return "no alarm check yet".to_string();
    };
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for reading in &check.alarms {
        match counts.iter_mut().find(|(state, _)| *state == reading.state) {
            Some((_, n)) => *n += 1,
            None => counts.push((&reading.state, 1)),
        }
    }
    let states: Vec<String> = counts
        .iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect();
    format!("last alarm check {}: {}", check.at, states.join(", "))
}

/// The note's sentence, starting with the canary's address.
pub(super) fn sentence(note: &RolloutNote) -> String {
    format!("{}{}", note.address, after_address(note))
}

/// [`sentence`] after the canary's address (`: rollout at step ...`, ` was rolled back ...`),
/// for a rendering that shows the address its own way.
pub(super) fn after_address(note: &RolloutNote) -> String {
    let address = &note.address;
    let mut out = String::new();
    match &note.standing {
        Standing::Running {
            rollout,
            bake_left_ms,
        } => {
            let bake = |out: &mut String, step: usize| {
                let total = human_duration(rollout.schedule.bake_ms(step));
                match bake_left_ms {
                    Some(left) => {
                        let _ = write!(out, ", {} of its {total} bake left", human_duration(*left));
                    }
                    None => {
                        let baked = rollout.steps.get(step).map_or(0, |record| record.baked_ms);
                        let _ = write!(
                            out,
                            ", {} of its {total} bake counted when last recorded",
                            human_duration(baked)
                        );
                    }
                }
            };
            let check = check_words(rollout.last_check.as_ref(), rollout.schedule.alarms.len());
            match &rollout.status {
                RolloutStatus::Baking { step } => {
                    let _ = write!(out, ": rollout at {}", step_words(rollout, *step));
                    bake(&mut out, *step);
                    let _ = write!(out, "; {check}");
                }
                RolloutStatus::Paused { step, by } => {
                    let _ = write!(
                        out,
                        ": rollout paused ({by}) at {}",
                        step_words(rollout, *step)
                    );
                    bake(&mut out, *step);
                    let _ = write!(
                        out,
                        "; {check}; `stagecraft rollout resume {address}` resumes it"
                    );
                }
                RolloutStatus::AwaitingPromotion { since } => {
                    let last = rollout.schedule.last_step();
                    let _ = write!(
                        out,
                        ": rollout baked every step by {since}, at {}; `stagecraft rollout \
                         promote {address}` promotes it",
                        step_words(rollout, last)
                    );
                }
                // Not running; kept for completeness.
                RolloutStatus::RolledBack { .. } | RolloutStatus::Aborted { .. } => {
                    let _ = write!(out, ": rollout {}", rollout.status.name());
                }
            }
        }
        Standing::Rejected { rollout } => {
            let again = format!(
                "revision \"{}\" is not deployed again until the canary's revision changes",
                note.revision
            );
            match &rollout.status {
                RolloutStatus::RolledBack {
                    at,
                    step,
                    alarm,
                    reason,
                } => {
                    let _ = write!(
                        out,
                        " was rolled back at {at}, at {}, by alarm {alarm}",
                        step_words(rollout, *step)
                    );
                    if !reason.is_empty() {
                        let _ = write!(out, " (\"{reason}\")");
                    }
                    let _ = write!(out, "; {again}");
                }
                RolloutStatus::Aborted { at, step } => {
                    let _ = write!(
                        out,
                        " was aborted at {at}, at {}; {again}",
                        step_words(rollout, *step)
                    );
                }
                other => {
                    let _ = write!(out, ": rollout {}; {again}", other.name());
                }
            }
        }
        Standing::Promoted { promotion } => {
            let _ = write!(
                out,
                " was promoted by its rollout at {}: the stage is on revision \"{}\" \
                 (it was on \"{}\"). To make the file plain, set the stage's revision to \"{}\" \
                 and remove its canary table (`--write-config` on `stagecraft rollout` makes \
                 this edit)",
                promotion.at,
                promotion.canary_revision,
                promotion.from_revision,
                promotion.canary_revision
            );
        }
    }
    out
}

#[cfg(test)]
mod tests;
