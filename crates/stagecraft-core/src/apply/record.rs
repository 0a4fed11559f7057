//! Apply's bookkeeping: the record a change leaves in the state once applied as planned.

use std::collections::BTreeMap;

use crate::plan::{Desired, PlannedValue};
use crate::state::{
    BasicAuthState, BranchState, CanaryState, ResourceState, StageState, StoredValue,
};

/// The state a change leaves behind when applied exactly as planned, with `deployment` standing
/// for the deployment ids AWS assigns. Used by the property tests and by apply's bookkeeping.
pub fn applied_state(desired: &Desired, deployment_id: &str) -> Option<ResourceState> {
    let stored =
        |values: &BTreeMap<String, PlannedValue>| -> Option<BTreeMap<String, StoredValue>> {
            values
                .iter()
                .map(|(key, value)| Some((key.clone(), value.to_stored()?)))
                .collect()
        };
    Some(match desired {
        Desired::Stage(stage) => ResourceState::Stage(StageState {
            rest_api_id: stage.rest_api_id.clone(),
            stage_name: stage.stage_name.clone(),
            revision: stage.revision.clone(),
            deployment_id: deployment_id.to_string(),
            description: stage.description.clone(),
            tracing: stage.tracing,
            variables: stored(&stage.variables)?,
            cache_size: stage.cache_size.map(|size| size.as_str().to_string()),
            promoted_by_rollout: None,
        }),
        Desired::Canary(canary) => ResourceState::Canary(CanaryState {
            rest_api_id: canary.rest_api_id.clone(),
            stage_name: canary.stage_name.clone(),
            revision: canary.revision.clone(),
            deployment_id: deployment_id.to_string(),
            percent_traffic: canary.percent_traffic,
            variable_overrides: stored(&canary.variable_overrides)?,
            use_stage_cache: canary.use_stage_cache,
            rollout: None,
        }),
        Desired::Branch(branch) => ResourceState::Branch(BranchState {
            app_id: branch.app_id.clone(),
            branch_name: branch.branch_name.clone(),
            stage: branch.stage.map(|stage| stage.as_str().to_string()),
            description: branch.description.clone(),
            framework: branch.framework.clone(),
            environment: stored(&branch.environment)?,
            basic_auth: match &branch.basic_auth {
                Some((user, pass)) => Some(BasicAuthState {
                    username: user.to_stored()?,
                    password: pass.to_stored()?,
                }),
                None => None,
            },
            artifact_digest: branch.artifact.as_ref().map(|a| a.digest.clone()),
            job_id: None,
            url: None,
        }),
    })
}
