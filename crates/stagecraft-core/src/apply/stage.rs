//! A stage's calls on API Gateway: create (its revision's snapshot, then `CreateStage`, with
//! a new canary planned with it on the canary revision's snapshot),
//! redeploy (the revision's snapshot, shared by stages of one API, then `UpdateStage`), settings
//! changes, cache polling, deletion, adopting a stage an interrupted create of ours left behind
//! and refusing one nobody recorded.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::time::Instant;

use stagecraft_config::Address;

use super::Run;
use super::effects::{removed, resource_effect, stage_record};
use super::error::{ApplyError, ExistingStage};
use super::journal::Call;
use super::patch;
use super::protocol::already_gone;
use super::schedule::CallKind;
use crate::plan::{Change, Desired, DesiredCanary, DesiredStage};
use crate::provider::{CacheStatus, LiveStage, NewStage, StageCanary};
use crate::state::{ResourceState, StageState};

impl Run<'_> {
    pub(super) async fn stage(
        &self,
        change: &Change,
        desired: &DesiredStage,
    ) -> Result<(), ApplyError> {
        let address = &change.address;
        let api = desired.rest_api_id.as_str();
        let name = desired.stage_name.as_str();
        let clear = self.clear((address, "variables"), &desired.variables)?;
        let mut current = match self.record_of(address) {
            Some(ResourceState::Stage(stage)) => Some(stage),
            _ => None,
        };
        if self.in_doubt(address).is_some() {
            self.settle_snapshots(address).await?;
            if current.is_none()
                && let Some(live) = self.read_stage(address, api, name).await?
            {
                // The last run was cut off while creating it: adopt what AWS has, if ours.
                current = Some(self.adopt_stage(address, desired, &live)?);
            }
        }
        let Some(old) = current else {
            return self.create_stage(address, desired, &clear).await;
        };

        let mut patch = Vec::new();
        let mut deployment = old.deployment_id.clone();
        if old.revision != desired.revision || change.replace {
            // `--replace`: a new snapshot of the revision, which the state then maps.
            deployment = self
                .snapshot(address, api, &desired.revision, change.replace)
                .await?;
            patch.push(patch::replace("/deploymentId", deployment.clone()));
        }
        patch.extend(patch::stage_settings(&old, desired, &clear));
        if patch.is_empty() {
            return Ok(());
        }
        // Checked before sending: a value still unknown fails the change, not the record.
        let record = stage_record(desired, &deployment)?;
        let live = self
            .mutate(
                address,
                Call::UpdateStage,
                CallKind::ApiMutation { rest_api_id: api },
                || self.ctx.provider.update_stage(api, name, &patch),
                // Record the deployment AWS reports the stage on.
                |live: &LiveStage| {
                    let reported = live.deployment_id.as_deref().unwrap_or(&deployment);
                    let record = stage_record(desired, reported).unwrap_or_else(|_| record.clone());
                    vec![resource_effect(address, record)]
                },
            )
            .await?;
        if patch::touches_cache(&patch) {
            let enabled = desired.cache_size.is_some();
            self.wait_for_cache(address, api, name, enabled, Some(live))
                .await?;
        }
        Ok(())
    }

    /// A new stage: its revision's snapshot (found or made), then `CreateStage` on it. A
    /// `CreateStage` whose answer was lost is read back (`GetStage`: there, on our snapshot)
    /// before it is sent again; a stage that exists already is refused, not taken over.
    async fn create_stage(
        &self,
        address: &Address,
        desired: &DesiredStage,
        clear: &BTreeMap<String, String>,
    ) -> Result<(), ApplyError> {
        let api = desired.rest_api_id.as_str();
        let name = desired.stage_name.as_str();
        let deployment = self
            .snapshot(address, api, &desired.revision, false)
            .await?;
        // Checked before sending: a value still unknown fails the change, not the record.
        let record = stage_record(desired, &deployment)?;
        // A new canary planned with it is created in the same call, on its revision's snapshot.
        let canary = match self.new_canary_of(address) {
            Some((canary_address, canary)) => {
                let clear = self.clear((address, "variables"), &canary.variable_overrides)?;
                let id = self.snapshot(address, api, &canary.revision, false).await?;
                // Its rollout starts now, at its first step (docs/behaviour.md, "Rollouts").
                let record = self.canary_record(&canary, &id, None, true)?;
                Some((canary_address, canary, clear, id, record))
            }
            None => None,
        };
        let mut effects = vec![resource_effect(address, record)];
        if let Some((canary_address, _, _, _, record)) = &canary {
            effects.push(resource_effect(canary_address, record.clone()));
        }
        let new = NewStage {
            rest_api_id: api.to_string(),
            stage_name: desired.stage_name.clone(),
            deployment_id: deployment.clone(),
            stage_description: desired.description.clone(),
            variables: clear.clone(),
            cache_size: desired.cache_size,
            tracing: desired.tracing,
            canary: canary
                .as_ref()
                .map(|(_, canary, clear, id, record)| StageCanary {
                    deployment_id: id.clone(),
                    // The rollout's first step when it has one.
                    percent_traffic: match record {
                        ResourceState::Canary(record) => record.percent_traffic,
                        _ => canary.percent_traffic,
                    },
                    variable_overrides: clear.clone(),
                    use_stage_cache: canary.use_stage_cache,
                }),
        };
        let created_already = || async {
            let live = self.ctx.provider.get_stage(api, name).await?;
            Ok(live.filter(|live| live.deployment_id.as_deref() == Some(deployment.as_str())))
        };
        let created = self
            .mutate_checked(
                address,
                Call::CreateStage,
                None,
                CallKind::ApiMutation { rest_api_id: api },
                || self.ctx.provider.create_stage(&new),
                created_already,
                |_| effects,
            )
            .await;
        let live = match created {
            Err(ApplyError::Call { source, .. }) if source.is_conflict() => {
                return Err(match self.read_stage(address, api, name).await? {
                    Some(live) => stage_exists(address, &live),
                    None => ApplyError::Call {
                        call: Call::CreateStage,
                        source,
                    },
                });
            }
            other => other?,
        };
        // Record the deployment AWS reports, should it differ from the one it was given.
        if let Some(reported) = &live.deployment_id
            && *reported != deployment
        {
            self.record(vec![resource_effect(
                address,
                stage_record(desired, reported)?,
            )])?;
        }
        if desired.cache_size.is_some() {
            self.wait_for_cache(address, api, name, true, Some(live))
                .await?;
        }
        Ok(())
    }

    /// The canary the plan creates on this new stage, when it can go in the stage's
    /// `CreateStage`: new (no record), depending on nothing but its stage, and with no value
    /// deferred to apply (one would resolve against what is not applied yet). Otherwise the
    /// canary's own change makes it after the stage.
    fn new_canary_of(&self, stage: &Address) -> Option<(Address, DesiredCanary)> {
        let Address::Stage { api, stage: name } = stage else {
            return None;
        };
        let address = Address::Canary {
            api: api.clone(),
            stage: name.clone(),
        };
        let change = self
            .plan
            .changes
            .iter()
            .find(|change| change.address == address)?;
        let Some(Desired::Canary(canary)) = &change.after else {
            return None;
        };
        let alone = change
            .depends_on
            .iter()
            .all(|dependency| dependency == stage);
        let known = canary
            .variable_overrides
            .values()
            .all(|value| value.to_stored().is_some());
        (change.before.is_none() && self.record_of(&address).is_none() && alone && known)
            .then(|| (address, canary.clone()))
    }

    /// Records a stage found on AWS after an interrupted create, as that create would have,
    /// when it serves a snapshot of ours; any other stage is refused, never taken over.
    fn adopt_stage(
        &self,
        address: &Address,
        desired: &DesiredStage,
        live: &LiveStage,
    ) -> Result<StageState, ApplyError> {
        let api = desired.rest_api_id.as_str();
        let ours = live.deployment_id.as_deref().and_then(|deployment| {
            self.revision_of(api, deployment)
                .map(|revision| (deployment, revision))
        });
        let Some((deployment, revision)) = ours else {
            return Err(stage_exists(address, live));
        };
        let ResourceState::Stage(mut stage) = stage_record(desired, deployment)? else {
            return Err(ApplyError::RecordUnknown);
        };
        // The revision its snapshot is of: a later change re-points it if that is not the one
        // configured now.
        stage.revision = revision;
        self.progress(
            address,
            format!("found on AWS after an interrupted create; recording deployment {deployment}"),
        );
        self.record(vec![resource_effect(
            address,
            ResourceState::Stage(stage.clone()),
        )])?;
        Ok(stage)
    }

    /// Polls `GetStage` until the cache settles, with a progress line per status seen.
    /// An enabled or resized cache (`enabled`) settles only at `AVAILABLE`; a disabled one at
    /// `NOT_AVAILABLE` or `DELETE_IN_PROGRESS`.
    async fn wait_for_cache(
        &self,
        address: &Address,
        api: &str,
        name: &str,
        enabled: bool,
        mut live: Option<LiveStage>,
    ) -> Result<(), ApplyError> {
        let deadline = Instant::now() + self.ctx.options.cache_timeout;
        let mut last_status: Option<CacheStatus> = None;
        let mut round = 0;
        loop {
            match live.and_then(|stage| stage.cache_status) {
                None => return Ok(()),
                Some(status) if status.is_settled(enabled) => return Ok(()),
                Some(status) => {
                    if last_status.as_ref() != Some(&status) {
                        self.progress(address, format!("cache cluster is {status}; waiting"));
                        last_status = Some(status);
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(ApplyError::CacheTimeout {
                    timeout: self.ctx.options.cache_timeout,
                    last_status: last_status
                        .map(|status| status.to_string())
                        .unwrap_or_default(),
                });
            }
            self.pause(round).await;
            round += 1;
            live = self.read_stage(address, api, name).await?;
        }
    }

    /// `GetStage`: the stage as AWS has it, or `None` where it has none.
    pub(super) async fn read_stage(
        &self,
        address: &Address,
        api: &str,
        name: &str,
    ) -> Result<Option<LiveStage>, ApplyError> {
        self.read(address, Call::GetStage, || {
            self.ctx.provider.get_stage(api, name)
        })
        .await
    }

    /// `DeleteStage`; a stage already gone from AWS counts as deleted.
    pub(super) async fn delete_stage(
        &self,
        address: &Address,
        stage: &StageState,
    ) -> Result<(), ApplyError> {
        let api = stage.rest_api_id.as_str();
        self.mutate(
            address,
            Call::DeleteStage,
            CallKind::ApiMutation { rest_api_id: api },
            || async { already_gone(self.ctx.provider.delete_stage(api, &stage.stage_name).await) },
            |_| removed(address),
        )
        .await
    }

    /// Held while finding or making a revision's snapshot on one REST API.
    pub(super) fn revision_lock(&self, rest_api_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .revision_locks
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        locks.entry(rest_api_id.to_string()).or_default().clone()
    }
}

/// The refusal of a stage that exists on AWS although no apply of this state made it.
fn stage_exists(address: &Address, live: &LiveStage) -> ApplyError {
    ApplyError::StageExists(Box::new(ExistingStage {
        address: address.clone(),
        stage_name: live.stage_name.clone(),
        deployment_id: live.deployment_id.clone().unwrap_or_default(),
        description: live.description.clone().unwrap_or_default(),
    }))
}

#[cfg(test)]
mod tests;
