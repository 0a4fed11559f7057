//! The plan: a value computed from the configuration and the state, listing each resource's
//! change with its actions (`docs/behaviour.md`, "Actions and their calls") and its attributes
//! before and after. Apply executes the plan, not the configuration; renderings (text, JSON,
//! Markdown) read it. `model.rs` is the saved-plan model, `saved.rs` the saved document with
//! its digest, `resolve.rs` value resolution, `diff.rs` the diff itself.

mod diff;
mod import;
mod model;
mod outputs;
mod refactor;
mod resolve;
mod rollout;
mod saved;

pub use diff::{PlanError, PlanInput, plan, promoted_stage};
pub(crate) use diff::{basic_auth_matches, settings_match, values_match};
pub(crate) use import::deployment_of as imported_deployment;
pub use model::{
    Action, Change, ChangeKind, Counts, Desired, DesiredBranch, DesiredCanary, DesiredStage,
    PLAN_FORMAT_VERSION, Plan, PlanMode, PlannedArtifact, PlannedPart, PlannedValue,
};
pub use outputs::{OutputAction, OutputPlan, PlannedOutput};
pub use refactor::Move;
pub use resolve::{AttributeLookup, branch_url, dns_suffix, resolve_attribute};
pub use rollout::{RolloutNote, Standing, human_duration};
pub use saved::SavedPlanError;

#[cfg(test)]
mod tests;
