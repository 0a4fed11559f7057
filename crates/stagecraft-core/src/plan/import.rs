//! `[[import]]` blocks planned against the state (docs/behaviour.md, "Imports"): which
//! resources the plan imports, and the state the diff then plans against, with each imported
//! record in it as AWS reported it. The change of an imported resource starts with
//! [`Action::Import`](super::Action::Import): apply records it with no AWS call, then makes
//! whatever else the change does to reach the file.

use std::collections::BTreeMap;

use stagecraft_config::Address;

use super::diff::{PlanError, PlanInput};
use super::model::PlanMode;
use super::refactor::Refactors;
use crate::state::{ResourceState, State};

/// The resources `input`'s configuration imports, with the live records the caller read: each
/// `[[import]]` block's resource that the state (after its moves and forgets) does not record,
/// within `--target` and outside `--exclude`. A block whose resource is recorded does nothing
/// (it was imported already, as in Terraform); under `--destroy` none imports.
pub(crate) fn to_import(
    input: &PlanInput<'_>,
    refactors: &Refactors,
) -> Result<BTreeMap<Address, ResourceState>, PlanError> {
    let mut out = BTreeMap::new();
    if input.mode == PlanMode::Destroy || input.config.imports.is_empty() {
        return Ok(out);
    }
    let recorded = |address: &Address| {
        let moved_here = refactors.moves.iter().any(|m| &m.to == address);
        let moved_away = refactors.moves.iter().any(|m| &m.from == address);
        let forgotten = refactors.forgets.contains(address);
        let in_state = input
            .state
            .is_some_and(|state| state.resources.contains_key(address));
        moved_here || (in_state && !moved_away && !forgotten)
    };
    let selected =
        (!input.targets.is_empty()).then(|| input.graph.with_dependencies(input.targets));
    let excluded = input.graph.with_dependents(input.exclude);
    for block in &input.config.imports {
        let address = &block.to;
        if recorded(address)
            || excluded.contains(address)
            || selected.as_ref().is_some_and(|set| !set.contains(address))
        {
            continue;
        }
        let record = input
            .imports
            .get(address)
            .ok_or_else(|| PlanError::ImportNotRead {
                address: address.to_string(),
            })?;
        out.insert(address.clone(), record.clone());
    }
    Ok(out)
}

/// Puts the imported records into `state`, and for a stage or canary the deployment it serves
/// under its revision, unless the state maps that revision already (one deployment per
/// revision: the mapping is never replaced).
pub(crate) fn record_imports(state: &mut State, imports: &BTreeMap<Address, ResourceState>) {
    for (address, record) in imports {
        record_import(state, address, record);
    }
}

/// Puts one imported record into `state` (see [`record_imports`]).
pub(crate) fn record_import(state: &mut State, address: &Address, record: &ResourceState) {
    if let Some((api, revision, deployment)) = deployment_of(record) {
        state
            .deployments
            .entry(api.to_string())
            .or_default()
            .entry(revision.to_string())
            .or_insert_with(|| deployment.to_string());
    }
    state.resources.insert(address.clone(), record.clone());
}

/// The (REST API, revision, deployment) an imported stage or canary record serves; `None` for a
/// branch, or a stage AWS reported without a deployment.
pub(crate) fn deployment_of(record: &ResourceState) -> Option<(&str, &str, &str)> {
    let (api, revision, deployment) = match record {
        ResourceState::Stage(stage) => (&stage.rest_api_id, &stage.revision, &stage.deployment_id),
        ResourceState::Canary(canary) => {
            (&canary.rest_api_id, &canary.revision, &canary.deployment_id)
        }
        ResourceState::Branch(_) => return None,
    };
    (!deployment.is_empty()).then_some((api, revision, deployment))
}

#[cfg(test)]
mod tests;
