//! Canary rollouts driven (docs/behaviour.md, "Rollouts"): after a plan's changes `apply`
//! drives every active rollout in the state; the `rollout` commands resume, abort or promote
//! them with no plan. `rollout/machine.rs` is the pure state machine, `rollout/drive.rs` the
//! loop of one rollout, `rollout/calls.rs` its AWS calls, `rollout/error.rs` its errors.

mod calls;
mod drive;
mod error;
mod machine;

use std::sync::Arc;

use stagecraft_config::Address;

pub use error::RolloutError;
pub use machine::paused;

use super::error::JournalFailed;
use super::{ApplyReport, Context, JournalEntry, Run};
use crate::plan::{PLAN_FORMAT_VERSION, Plan, PlanMode};
use crate::state::{PausedBy, State};

/// What a `rollout` command asks of the rollouts in the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutCommand {
    /// `rollout resume [ADDRESS...] [--wait]`: without addresses every baking rollout and every
    /// one paused by an interrupt (not those paused by an operator); with addresses those,
    /// however paused. `wait`: drive them to their end, else do what is due now (one alarm
    /// check; a step change or promotion if the bake is over).
    Resume {
        /// The canaries named (none: every active one).
        addresses: Vec<Address>,
        /// Drive to the end.
        wait: bool,
    },
    /// `rollout abort ADDRESS`: the canary removed, the rollout aborted.
    Abort(Address),
    /// `rollout promote ADDRESS`: the canary promoted now, whatever step it is at.
    Promote(Address),
}

/// Where one rollout stands after a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutResult {
    /// The canary.
    pub address: Address,
    /// How it ended (or where it was left).
    pub end: RolloutEnd,
}

/// Where a rollout was left.
#[derive(Debug, Clone, PartialEq)]
pub enum RolloutEnd {
    /// Still baking (not waited for).
    Baking {
        /// The step's index.
        step: usize,
        /// Its percent of traffic.
        percent: f64,
        /// Bake left, in milliseconds.
        left_ms: u64,
    },
    /// Paused.
    Paused {
        /// The step's index.
        step: usize,
        /// Who paused it.
        by: PausedBy,
    },
    /// The last bake is over; `rollout promote` promotes it.
    AwaitingPromotion,
    /// Promoted: the stage is on the canary's deployment.
    Promoted,
    /// An alarm fired: the canary was removed.
    RolledBack {
        /// The step's index.
        step: usize,
        /// Its percent of traffic.
        percent: f64,
        /// The alarm.
        alarm: String,
        /// CloudWatch's reason.
        reason: String,
    },
    /// Aborted: the canary was removed.
    Aborted,
    /// It could not go on; the rollout stays as it was recorded.
    Failed {
        /// Why.
        error: String,
    },
}

impl RolloutEnd {
    /// Whether the run must exit non-zero for it: a rollback, an error, or a pause by Ctrl-C
    /// (the run did not finish its work, as an apply whose changes did not all start).
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            RolloutEnd::RolledBack { .. }
                | RolloutEnd::Failed { .. }
                | RolloutEnd::Paused {
                    by: PausedBy::Interrupt,
                    ..
                }
        )
    }
}

/// Runs a `rollout` command against `state` (no plan: only the rollouts' calls are made, each
/// journaled like apply's).
pub async fn rollout(command: &RolloutCommand, state: State, ctx: &Context<'_>) -> ApplyReport {
    let plan = Plan {
        format_version: PLAN_FORMAT_VERSION,
        project: state.project.clone(),
        lineage: state.lineage.clone(),
        prior_serial: Some(state.serial),
        config_digest: String::new(),
        mode: PlanMode::Normal,
        region: None,
        changes: Vec::new(),
        unchanged: 0,
        moves: Vec::new(),
        forgets: Vec::new(),
        outputs: Vec::new(),
        rollouts: Vec::new(),
    };
    let header = JournalEntry::Header {
        lineage: state.lineage.clone(),
        serial: Some(state.serial),
        project: state.project.clone(),
    };
    let initial = state.clone();
    let run = Run::new(ctx, &plan, state);
    let rollouts = if let Err(error) = ctx.journal.append(&header) {
        *run.journal_error.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(JournalFailed(Arc::new(error)));
        Vec::new()
    } else {
        match command {
            RolloutCommand::Resume { addresses, wait } => run.drive_all(addresses, *wait).await,
            RolloutCommand::Abort(address) => vec![run.abort_rollout(address).await],
            RolloutCommand::Promote(address) => vec![run.promote_now(address).await],
        }
    };
    let state = run.state.into_inner().unwrap_or_else(|e| e.into_inner());
    ApplyReport {
        changed: state != initial,
        state,
        results: Vec::new(),
        journal_error: run
            .journal_error
            .into_inner()
            .unwrap_or_else(|e| e.into_inner()),
        rollouts,
    }
}

#[cfg(test)]
mod tests;
