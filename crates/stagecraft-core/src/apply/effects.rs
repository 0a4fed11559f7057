//! What a call records: the journal effects of a new deployment or a replaced record, and the
//! records a change leaves, built from its desired value.

use stagecraft_config::Address;

use super::Effect;
use super::error::ApplyError;
use super::record::applied_state;
use crate::plan::{Desired, DesiredBranch, DesiredCanary, DesiredStage};
use crate::state::{BranchState, ResourceState};

pub(super) fn deployment_effect(rest_api_id: &str, revision: &str, deployment_id: &str) -> Effect {
    Effect::Deployment {
        rest_api_id: rest_api_id.to_string(),
        revision: revision.to_string(),
        deployment_id: deployment_id.to_string(),
    }
}

/// What a new deployment records: the revision's deployment, and the resource's record when
/// it can be made.
pub(super) fn deployed(
    rest_api_id: &str,
    revision: &str,
    address: &Address,
    deployment_id: &str,
    record: Option<ResourceState>,
) -> Vec<Effect> {
    let mut effects = vec![deployment_effect(rest_api_id, revision, deployment_id)];
    if let Some(record) = record {
        effects.push(resource_effect(address, record));
    }
    effects
}

pub(super) fn resource_effect(address: &Address, record: ResourceState) -> Effect {
    Effect::Resource {
        address: address.clone(),
        record: Some(Box::new(record)),
    }
}

pub(super) fn stage_record(
    desired: &DesiredStage,
    deployment: &str,
) -> Result<ResourceState, ApplyError> {
    applied_state(&Desired::Stage(desired.clone()), deployment).ok_or(ApplyError::RecordUnknown)
}

pub(super) fn canary_record(
    desired: &DesiredCanary,
    deployment: &str,
) -> Result<ResourceState, ApplyError> {
    applied_state(&Desired::Canary(desired.clone()), deployment).ok_or(ApplyError::RecordUnknown)
}

/// What a branch's record holds that the configuration does not decide: what was deployed
/// and where Amplify serves it.
#[derive(Debug, Clone, Default)]
pub(super) struct BranchFacts {
    /// The digest of the artifact last deployed successfully.
    pub artifact_digest: Option<String>,
    /// The job of that deployment.
    pub job_id: Option<String>,
    /// The URL AWS's display name and the app's domain make.
    pub url: Option<String>,
}

impl BranchFacts {
    pub(super) fn of(record: &BranchState) -> BranchFacts {
        BranchFacts {
            artifact_digest: record.artifact_digest.clone(),
            job_id: record.job_id.clone(),
            url: record.url.clone(),
        }
    }
}

pub(super) fn branch_record(
    desired: &DesiredBranch,
    facts: BranchFacts,
) -> Result<ResourceState, ApplyError> {
    match applied_state(&Desired::Branch(desired.clone()), "") {
        Some(ResourceState::Branch(branch)) => Ok(ResourceState::Branch(BranchState {
            artifact_digest: facts.artifact_digest,
            job_id: facts.job_id,
            url: facts.url,
            ..branch
        })),
        _ => Err(ApplyError::RecordUnknown),
    }
}

/// The effect of a resource's removal.
pub(super) fn removed(address: &Address) -> Vec<Effect> {
    vec![Effect::Resource {
        address: address.clone(),
        record: None,
    }]
}
