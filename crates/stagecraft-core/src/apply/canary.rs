//! A canary's calls on API Gateway: deploy (`CreateDeployment` with `canarySettings`, the
//! snapshot of a revision not deployed yet), re-point or update (`UpdateStage`), promotion by
//! copy operations, and removal.

use stagecraft_config::Address;

use super::Effect;
use super::Run;
use super::effects::{canary_record, deployed, deployment_effect, removed, resource_effect};
use super::error::ApplyError;
use super::journal::Call;
use super::patch;
use super::protocol::already_gone;
use super::schedule::CallKind;
use crate::plan::{Change, DesiredCanary};
use crate::provider::{NewCanary, PatchOp};
use crate::state::{CanaryState, ResourceState, RolloutPromotion, RolloutState};

impl Run<'_> {
    pub(super) async fn canary(
        &self,
        change: &Change,
        desired: &DesiredCanary,
    ) -> Result<(), ApplyError> {
        let address = &change.address;
        let api = desired.rest_api_id.as_str();
        let name = desired.stage_name.as_str();
        // Overrides are digested as the stage variables they override (see the plan).
        let stage_address = parent_stage(address)?;
        let clear = self.clear((&stage_address, "variables"), &desired.variable_overrides)?;
        // A rolled-back or aborted canary is no live canary on AWS: a new revision is deployed
        // as a new canary (docs/behaviour.md, "Rollouts").
        let old = match self.record_of(address) {
            Some(ResourceState::Canary(canary))
                if !canary.rollout.as_ref().is_some_and(|r| r.is_rejected()) =>
            {
                Some(canary)
            }
            _ => None,
        };
        let moves = old
            .as_ref()
            .is_none_or(|old| old.revision != desired.revision)
            || change.replace;
        if self.in_doubt(address).is_some() {
            self.settle_snapshots(address).await?;
        }
        // Held while finding or making the revision's deployment (one per revision).
        let lock = self.revision_lock(api);
        let _guard = lock.lock().await;
        let known = if moves {
            self.known_deployment(address, api, &desired.revision, change.replace)
                .await?
        } else {
            None
        };
        if moves && known.is_none() {
            // A revision not deployed yet: one `CreateDeployment` with `canarySettings` makes
            // its snapshot and points the canary at it (docs/behaviour.md, "Snapshots and
            // revisions"); marked like any snapshot, so that a lost answer is found again.
            let marker = self.new_marker(api, &desired.revision);
            let new = NewCanary {
                rest_api_id: api.to_string(),
                stage_name: name.to_string(),
                deployment_description: marker.description.clone(),
                percent_traffic: desired.percent_traffic,
                variable_overrides: clear.clone(),
                use_stage_cache: desired.use_stage_cache,
            };
            self.mutate_checked(
                address,
                Call::CreateDeployment,
                Some(&marker),
                CallKind::Deployment { rest_api_id: api },
                || self.ctx.provider.create_canary(&new),
                || self.find_marked(&marker),
                |id| {
                    deployed(
                        api,
                        &desired.revision,
                        address,
                        id,
                        self.canary_record(desired, id, None, true).ok(),
                    )
                },
            )
            .await?;
            // AWS fills the canary's deployment id itself: record what it reports.
            let live = self.read_stage(address, api, name).await?;
            if let Some(reported) = live
                .and_then(|stage| stage.canary)
                .and_then(|canary| canary.deployment_id)
                && self.deployment_of(api, &desired.revision).as_deref() != Some(reported.as_str())
                && let Some(ResourceState::Canary(mut record)) = self.record_of(address)
            {
                record.deployment_id = reported;
                self.record(vec![resource_effect(
                    address,
                    ResourceState::Canary(record),
                )])?;
            }
            return Ok(());
        }
        let deployment = if moves { known } else { None };
        let patch = patch::canary_settings(old.as_ref(), desired, &clear, deployment.as_deref());
        if patch.is_empty() {
            return Ok(());
        }
        let id = deployment
            .or_else(|| old.as_ref().map(|old| old.deployment_id.clone()))
            .unwrap_or_default();
        self.mutate(
            address,
            Call::UpdateStage,
            CallKind::ApiMutation { rest_api_id: api },
            || self.ctx.provider.update_stage(api, name, &patch),
            |_| match self.canary_record(desired, &id, old.as_ref(), moves) {
                Ok(record) => vec![resource_effect(address, record)],
                Err(_) => Vec::new(),
            },
        )
        .await?;
        Ok(())
    }

    /// The record a canary change leaves: a canary deployed or re-pointed (`moves`) with a
    /// rollout in the file starts it now at its first step (docs/behaviour.md, "Rollouts");
    /// an update of a canary keeps the rollout it has. A canary created with its stage
    /// (`CreateStage` with canary settings) is deployed too.
    pub(super) fn canary_record(
        &self,
        desired: &DesiredCanary,
        deployment: &str,
        old: Option<&CanaryState>,
        moves: bool,
    ) -> Result<ResourceState, ApplyError> {
        let mut record = match canary_record(desired, deployment)? {
            ResourceState::Canary(record) => record,
            _ => return Err(ApplyError::RecordUnknown),
        };
        record.rollout = if moves {
            desired
                .rollout
                .clone()
                .map(|schedule| RolloutState::started(schedule, self.ctx.clock.now()))
        } else {
            old.and_then(|old| old.rollout.clone())
        };
        if let Some(first) = record.rollout.as_ref().and_then(|r| r.steps.last()) {
            record.percent_traffic = first.percent;
        }
        Ok(ResourceState::Canary(record))
    }

    pub(super) async fn promote(&self, change: &Change) -> Result<(), ApplyError> {
        let address = &change.address;
        let Some(ResourceState::Canary(canary)) =
            self.record_of(address).or_else(|| change.before.clone())
        else {
            return Ok(());
        };
        self.promote_canary(address, &canary, false).await
    }

    /// Promotes a canary onto its stage (`by_rollout`: recording the stage's
    /// `RolloutPromotion`, docs/behaviour.md, "Rollouts"). A promotion in doubt is read back.
    pub(super) async fn promote_canary(
        &self,
        address: &Address,
        canary: &CanaryState,
        by_rollout: bool,
    ) -> Result<(), ApplyError> {
        let stage_address = parent_stage(address)?;
        let Some(ResourceState::Stage(stage)) = self.record_of(&stage_address) else {
            return Err(ApplyError::NotInState {
                address: stage_address,
            });
        };
        let effects = || {
            let mut promoted = crate::plan::promoted_stage(&stage, canary);
            if by_rollout {
                promoted.promoted_by_rollout = Some(RolloutPromotion {
                    from_revision: stage.revision.clone(),
                    canary_revision: canary.revision.clone(),
                    at: self.ctx.clock.now(),
                });
            }
            let mut effects = vec![
                deployment_effect(&canary.rest_api_id, &canary.revision, &canary.deployment_id),
                resource_effect(&stage_address, ResourceState::Stage(promoted)),
            ];
            effects.extend(removed(address));
            effects
        };
        let api = canary.rest_api_id.as_str();
        let name = canary.stage_name.as_str();
        if self.in_doubt(address).is_some() {
            let live = self.read_stage(address, api, name).await?;
            if live.is_some_and(|live| live.canary.is_none()) {
                // The interrupted promotion went through.
                return self.record(effects());
            }
        }
        let patch = patch::promotion(canary);
        // A promotion whose answer was lost is read back: sent twice, AWS would refuse the
        // second (there is no canary left to copy from).
        let promoted_already = || async {
            let live = self.ctx.provider.get_stage(api, name).await?;
            Ok(live.filter(|live| {
                live.canary.is_none()
                    && live.deployment_id.as_deref() == Some(canary.deployment_id.as_str())
            }))
        };
        self.mutate_checked(
            address,
            Call::UpdateStage,
            None,
            CallKind::ApiMutation { rest_api_id: api },
            || self.ctx.provider.update_stage(api, name, &patch),
            promoted_already,
            |_| effects(),
        )
        .await?;
        Ok(())
    }

    /// Removes the canary settings from its stage; a canary (or stage) already gone counts as
    /// removed. A removal in doubt is read back first, as AWS would refuse a second one.
    pub(super) async fn delete_canary(
        &self,
        address: &Address,
        canary: &CanaryState,
    ) -> Result<(), ApplyError> {
        self.remove_canary(address, canary, removed(address)).await
    }

    /// `UpdateStage remove /canarySettings`, recording `effects` once it is done (the canary's
    /// removal, or a rollout's rollback or abort, which keeps the record).
    pub(super) async fn remove_canary(
        &self,
        address: &Address,
        canary: &CanaryState,
        effects: Vec<Effect>,
    ) -> Result<(), ApplyError> {
        let api = canary.rest_api_id.as_str();
        if self.in_doubt(address).is_some() {
            let live = self.read_stage(address, api, &canary.stage_name).await?;
            if live.is_none_or(|stage| stage.canary.is_none()) {
                return self.record(effects);
            }
        }
        let patch = [PatchOp::Remove {
            path: "/canarySettings".to_string(),
        }];
        // A removal whose answer was lost is read back: AWS would refuse a second one.
        let removed_already = || async {
            let live = self.ctx.provider.get_stage(api, &canary.stage_name).await?;
            Ok(live
                .is_none_or(|stage| stage.canary.is_none())
                .then_some(()))
        };
        self.mutate_checked(
            address,
            Call::UpdateStage,
            None,
            CallKind::ApiMutation { rest_api_id: api },
            || async {
                already_gone(
                    self.ctx
                        .provider
                        .update_stage(api, &canary.stage_name, &patch)
                        .await
                        .map(drop),
                )
            },
            removed_already,
            |_| effects,
        )
        .await
    }
}

fn parent_stage(address: &Address) -> Result<Address, ApplyError> {
    address
        .canary_parent()
        .ok_or_else(|| ApplyError::NotCanary {
            address: address.clone(),
        })
}
