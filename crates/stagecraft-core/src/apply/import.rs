//! An `[[import]]`'s first step (docs/behaviour.md, "Imports"): the live record the plan read
//! is recorded, journaled as `Recorded`, with no AWS call; for a stage or canary, with the
//! deployment it serves mapped to its revision unless the state maps that revision already.

use super::Run;
use super::effects::resource_effect;
use super::error::ApplyError;
use super::journal::Effect;
use crate::plan::Change;

impl Run<'_> {
    /// Records what `change` imports (its `before`, as the plan read it from AWS).
    pub(super) fn import(&self, change: &Change) -> Result<(), ApplyError> {
        let Some(record) = &change.before else {
            return Ok(());
        };
        let mut effects = Vec::new();
        if let Some((api, revision, deployment)) = crate::plan::imported_deployment(record)
            && self.deployment_of(api, revision).is_none()
        {
            effects.push(Effect::Deployment {
                rest_api_id: api.to_string(),
                revision: revision.to_string(),
                deployment_id: deployment.to_string(),
            });
        }
        effects.push(resource_effect(&change.address, record.clone()));
        self.record(effects)
    }
}
