//! `[[moved]]` and `[[removed]]` planned against the state (docs/behaviour.md, "Moves and
//! removals"): which recorded resources are re-keyed or forgotten, and the state the diff then
//! plans against. Neither sends anything to AWS.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use stagecraft_config::{Address, Config};

use super::diff::PlanError;
use crate::state::{CanaryState, ResourceState, StageState, State};

/// A recorded resource re-keyed from one address to another (a `[[moved]]` block; a move of a
/// stage or a whole API lists each resource it carries).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Move {
    /// The address the state records it under.
    pub from: Address,
    /// The address it is recorded under after apply.
    pub to: Address,
}

/// What the configuration's blocks do to the state: its moves and the resources it forgets.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Refactors {
    pub(crate) moves: Vec<Move>,
    pub(crate) forgets: Vec<Address>,
}

impl Refactors {
    /// The moves and forgets of `config`'s blocks against `state`. A block naming nothing
    /// recorded does nothing (it has been applied already). A move onto an address the state
    /// also records is refused: the two records would collide.
    pub(crate) fn plan(config: &Config, state: Option<&State>) -> Result<Refactors, PlanError> {
        let mut out = Refactors::default();
        let Some(state) = state else {
            return Ok(out);
        };
        if config.moved.is_empty() && config.removed.is_empty() {
            return Ok(out);
        }
        // Forgets first, at the recorded addresses: what is forgotten is not moved.
        for block in config.removed.iter().filter(|block| !block.destroy) {
            out.forgets.extend(
                state
                    .resources
                    .keys()
                    .filter(|a| block.from.covers(a))
                    .cloned(),
            );
        }
        let forgotten: BTreeSet<&Address> = out.forgets.iter().collect();
        for block in &config.moved {
            for address in state.resources.keys() {
                if forgotten.contains(address) {
                    continue;
                }
                if let Some(to) = block.from.rekey(&block.to, address) {
                    let record = &state.resources[address];
                    if let Some((recorded, declared)) = other_aws_object(config, record, &to) {
                        return Err(PlanError::MoveRenames {
                            from: address.to_string(),
                            to: to.to_string(),
                            recorded,
                            declared,
                        });
                    }
                    if state.resources.contains_key(&to) {
                        return Err(PlanError::MoveTargetExists {
                            from: address.to_string(),
                            to: to.to_string(),
                        });
                    }
                    out.moves.push(Move {
                        from: address.clone(),
                        to,
                    });
                }
            }
        }
        out.moves.sort();
        out.forgets.sort();
        out.forgets.dedup();
        Ok(out)
    }

    /// Whether there is nothing to do.
    pub(crate) fn is_empty(&self) -> bool {
        self.moves.is_empty() && self.forgets.is_empty()
    }
}

/// When the record moved to `to` names another AWS object than `to` declares (AWS renames no
/// stage or branch, and a REST API or app key names one id): the two, as `id/name`.
fn other_aws_object(
    config: &Config,
    record: &ResourceState,
    to: &Address,
) -> Option<(String, String)> {
    let (recorded, declared) = match (record, to) {
        (
            ResourceState::Stage(StageState {
                rest_api_id,
                stage_name,
                ..
            })
            | ResourceState::Canary(CanaryState {
                rest_api_id,
                stage_name,
                ..
            }),
            Address::Stage { api, stage } | Address::Canary { api, stage },
        ) => (
            (rest_api_id, stage_name),
            (&config.rest_apis.get(api)?.id, stage),
        ),
        (ResourceState::Branch(branch), Address::Branch { app, branch: name }) => (
            (&branch.app_id, &branch.branch_name),
            (&config.amplify_apps.get(app)?.id, name),
        ),
        _ => return None,
    };
    (recorded != declared).then(|| {
        (
            format!("{}/{}", recorded.0, recorded.1),
            format!("{}/{}", declared.0, declared.1),
        )
    })
}

/// Forgets, then re-keys, in `state` what `moves` and `forgets` say (records whose address is not
/// in the state are left alone: the plan was made against the state, so there are none).
pub(crate) fn apply_refactors(state: &mut State, moves: &[Move], forgets: &[Address]) {
    for address in forgets {
        state.resources.remove(address);
    }
    let mut moved = BTreeMap::new();
    for m in moves {
        if let Some(record) = state.resources.remove(&m.from) {
            moved.insert(m.to.clone(), record);
        }
    }
    state.resources.extend(moved);
}

#[cfg(test)]
mod tests;
