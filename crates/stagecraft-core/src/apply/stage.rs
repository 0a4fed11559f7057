//! A stage's calls on API Gateway: create (`CreateDeployment` with a `stageName`), redeploy
//! (a snapshot of the revision, shared by stages of one API, then `UpdateStage`), settings
//! changes, cache polling, deletion, and adopting a stage an interrupted create left behind.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use tokio::time::Instant;

use stagecraft_config::Address;

use super::Run;
use super::effects::{deployed, deployment_effect, removed, resource_effect, stage_record};
use super::error::ApplyError;
use super::journal::Call;
use super::patch;
use super::protocol::already_gone;
use super::schedule::CallKind;
use crate::plan::{Change, DesiredStage};
use crate::provider::{CacheStatus, LiveStage, NewStage, ProviderError};
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
        if current.is_none() && self.in_doubt(address).is_some() {
            // The last run was cut off while creating it: adopt what AWS has, if anything.
            if let Some(live) = self.read_stage(address, api, name).await? {
                current = self.adopt_stage(address, desired, &live)?;
            }
        }
        let Some(old) = current else {
            return self.create_stage(address, desired, &clear).await;
        };

        let mut patch = Vec::new();
        let mut deployment = old.deployment_id.clone();
        if old.revision != desired.revision {
            deployment = self.snapshot(address, api, &desired.revision).await?;
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
            self.wait_for_cache(address, api, name, Some(live)).await?;
        }
        Ok(())
    }

    /// The deployment of `revision`: the recorded one, or a new snapshot. Stages of one API
    /// moving to the same new revision share one snapshot, as a revision names one snapshot.
    pub(super) async fn snapshot(
        &self,
        address: &Address,
        api: &str,
        revision: &str,
    ) -> Result<String, ApplyError> {
        let lock = self.revision_lock(api);
        let _guard = lock.lock().await;
        if let Some(known) = self.deployment_of(api, revision) {
            return Ok(known);
        }
        self.mutate(
            address,
            Call::CreateDeployment,
            CallKind::Deployment { rest_api_id: api },
            || self.ctx.provider.create_snapshot(api, revision),
            |id| vec![deployment_effect(api, revision, id)],
        )
        .await
    }

    async fn create_stage(
        &self,
        address: &Address,
        desired: &DesiredStage,
        clear: &BTreeMap<String, String>,
    ) -> Result<(), ApplyError> {
        let api = desired.rest_api_id.as_str();
        let new = NewStage {
            rest_api_id: api.to_string(),
            stage_name: desired.stage_name.clone(),
            deployment_description: desired.revision.clone(),
            stage_description: desired.description.clone(),
            variables: clear.clone(),
            cache_size: desired.cache_size,
            tracing: desired.tracing,
        };
        let deployment = self
            .create_deployment(
                address,
                api,
                &desired.revision,
                || self.ctx.provider.create_stage(&new),
                |id| stage_record(desired, id),
            )
            .await?;
        let live = self
            .read_stage(address, api, &desired.stage_name)
            .await?
            .ok_or_else(|| ApplyError::CreatedStageMissing {
                stage_name: desired.stage_name.clone(),
            })?;
        // Record the deployment AWS reports, should it differ from the one it returned.
        if let Some(reported) = &live.deployment_id
            && *reported != deployment
        {
            self.record(vec![resource_effect(
                address,
                stage_record(desired, reported)?,
            )])?;
        }
        if desired.cache_size.is_some() {
            self.wait_for_cache(address, api, &desired.stage_name, Some(live))
                .await?;
        }
        Ok(())
    }

    /// Records a stage found on AWS after an interrupted create, as that create would have.
    fn adopt_stage(
        &self,
        address: &Address,
        desired: &DesiredStage,
        live: &LiveStage,
    ) -> Result<Option<StageState>, ApplyError> {
        let Some(deployment) = &live.deployment_id else {
            return Ok(None);
        };
        let record = stage_record(desired, deployment)?;
        self.progress(
            address,
            format!("found on AWS after an interrupted create; recording deployment {deployment}"),
        );
        self.record(vec![
            deployment_effect(&desired.rest_api_id, &desired.revision, deployment),
            resource_effect(address, record.clone()),
        ])?;
        match record {
            ResourceState::Stage(stage) => Ok(Some(stage)),
            _ => Ok(None),
        }
    }

    /// Polls `GetStage` until the cache settles, with a progress line per status seen.
    async fn wait_for_cache(
        &self,
        address: &Address,
        api: &str,
        name: &str,
        mut live: Option<LiveStage>,
    ) -> Result<(), ApplyError> {
        let deadline = Instant::now() + self.ctx.options.cache_timeout;
        let mut last_status: Option<CacheStatus> = None;
        let mut round = 0;
        loop {
            match live.and_then(|stage| stage.cache_status) {
                None => return Ok(()),
                Some(status) if status.is_settled() => return Ok(()),
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

    /// A `CreateDeployment` that makes a stage or a canary (`send`): records the revision's
    /// deployment and, when `record` can make it from the new deployment id, the resource's
    /// record. Returns the deployment id.
    pub(super) async fn create_deployment<F, Fut>(
        &self,
        address: &Address,
        api: &str,
        revision: &str,
        send: F,
        record: impl Fn(&str) -> Result<ResourceState, ApplyError>,
    ) -> Result<String, ApplyError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<String, ProviderError>>,
    {
        self.mutate(
            address,
            Call::CreateDeployment,
            CallKind::Deployment { rest_api_id: api },
            send,
            |id| deployed(api, revision, address, id, record(id).ok()),
        )
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
