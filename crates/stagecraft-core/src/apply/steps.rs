//! Each change's AWS calls (SPEC section 3), made through the schedule and journaled: stages,
//! canaries and promotion on API Gateway; branches and artifact deployments on Amplify.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use stagecraft_config::{Address, Attribute};
use tokio::time::Instant;

use super::patch::{self, ClearBranch};
use super::record::applied_state;
use super::schedule::CallKind;
use super::{Effect, Event, JournalEntry, Run};
use crate::plan::{
    Action, Change, Desired, DesiredBranch, DesiredCanary, DesiredStage, PlannedValue,
    resolve_attribute,
};
use crate::provider::{
    ErrorKind, JobStatus, LiveStage, NewCanary, NewStage, PatchOp, ProviderError,
};
use crate::state::{BranchState, ResourceState, StageState};

/// Cache statuses after which a cache change counts as settled. A cache can stay in
/// `DELETE_IN_PROGRESS` indefinitely (an AWS fault), so that one counts too.
const CACHE_SETTLED: &[&str] = &["AVAILABLE", "NOT_AVAILABLE", "DELETE_IN_PROGRESS"];

/// The error of a change that did not start because apply was interrupted first.
pub(super) const NOT_STARTED: &str = "not started: apply was interrupted";

/// A provider error with the call it came from, as shown to the user.
fn failed(call: &str, error: &ProviderError) -> String {
    format!("{call} failed: {error}")
}

impl Run<'_> {
    /// Applies one change.
    pub(super) async fn change(&self, change: &Change) -> Result<(), String> {
        let mut after = change.after.clone();
        if let Some(desired) = &mut after {
            desired
                .resolve_deferred(&|address, attribute| self.lookup(address, attribute))
                .map_err(|reference| {
                    format!("${{{reference}}} is not known: the resource it names was not applied")
                })?;
        }
        match &after {
            Some(Desired::Stage(desired)) => self.stage(change, desired).await,
            Some(Desired::Canary(desired)) => self.canary(change, desired).await,
            Some(Desired::Branch(desired)) => self.branch(change, desired).await,
            None if change.actions.contains(&Action::Promote) => self.promote(change).await,
            None => self.delete(change).await,
        }
    }

    /// An attribute of an applied resource, for `${...}` values deferred by the plan.
    fn lookup(&self, address: &str, attribute: &str) -> Option<String> {
        let address = Address::parse(address).ok()?;
        let attribute = Attribute::offered_by(address.kind())
            .iter()
            .find(|(name, _)| *name == attribute)?
            .1;
        let state = self.state();
        let record = state.resources.get(&address.to_string());
        let desired = self
            .plan
            .changes
            .iter()
            .find(|change| change.address == address.to_string())
            .and_then(|change| change.after.as_ref());
        resolve_attribute(
            &address,
            attribute,
            &|_| match (record, desired) {
                (Some(ResourceState::Stage(stage)), _) => Some(stage.rest_api_id.clone()),
                (Some(ResourceState::Canary(canary)), _) => Some(canary.rest_api_id.clone()),
                (Some(ResourceState::Branch(branch)), _) => Some(branch.app_id.clone()),
                (None, Some(Desired::Stage(stage))) => Some(stage.rest_api_id.clone()),
                (None, Some(Desired::Canary(canary))) => Some(canary.rest_api_id.clone()),
                (None, Some(Desired::Branch(branch))) => Some(branch.app_id.clone()),
                (None, None) => None,
            },
            self.plan.region.as_deref(),
            &|_| match record {
                Some(ResourceState::Stage(stage)) => Some(stage.deployment_id.clone()),
                Some(ResourceState::Canary(canary)) => Some(canary.deployment_id.clone()),
                _ => None,
            },
        )
    }

    fn state(&self) -> std::sync::MutexGuard<'_, crate::state::State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record_of(&self, address: &str) -> Option<ResourceState> {
        self.state().resources.get(address).cloned()
    }

    fn deployment_of(&self, rest_api_id: &str, revision: &str) -> Option<String> {
        self.state()
            .deployment_of(rest_api_id, revision)
            .map(str::to_string)
    }

    /// The values to send, in clear: sensitive ones found by the digest the plan holds.
    fn clear(
        &self,
        values: &BTreeMap<String, PlannedValue>,
    ) -> Result<BTreeMap<String, String>, String> {
        values
            .iter()
            .map(|(key, value)| Ok((key.clone(), self.clear_value(value)?)))
            .collect()
    }

    fn clear_value(&self, value: &PlannedValue) -> Result<String, String> {
        match value {
            PlannedValue::Known { value } => Ok(value.clone()),
            PlannedValue::Sensitive { env, digest } => {
                self.ctx.sensitive.get(digest).map(str::to_string).ok_or_else(|| {
                    if env.is_empty() {
                        "a password changed since the plan was made; plan again".to_string()
                    } else {
                        format!("the value of ${env} changed since the plan was made (or is not set); plan again")
                    }
                })
            }
            PlannedValue::Deferred { .. } => Err("a value is still unknown".to_string()),
        }
    }

    /// Makes a mutating call: journaled as started, sent under the schedule's rules with
    /// retries, then journaled as completed with `effects` (applied to the state at the same
    /// moment), or as failed.
    async fn mutate<T, F, Fut>(
        &self,
        address: &str,
        call: &str,
        kind: CallKind<'_>,
        send: F,
        effects: impl FnOnce(&T) -> Vec<Effect>,
    ) -> Result<T, String>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let operation = self.next_operation();
        // Journaled as started only once it holds its locks and quota slot, so that a crash
        // leaves as few calls as possible in doubt.
        let started = |attempt: u32| {
            if attempt > 1 {
                return Ok(());
            }
            // After Ctrl-C a change that has sent nothing yet does not start; one midway
            // finishes.
            if self.ctx.interrupt.is_set() && !self.has_begun(address) {
                return Err(ProviderError::new(ErrorKind::Permanent, None, NOT_STARTED));
            }
            self.begin(address);
            self.journal(&JournalEntry::Started {
                operation,
                address: address.to_string(),
                call: call.to_string(),
            })
            .map_err(|message| ProviderError::new(ErrorKind::Permanent, None, message))
        };
        // A call that timed out or met a 5xx may have been carried out all the same: if it
        // finally fails, its `Started` entry stays open so the next run reads the resource back.
        let ambiguous = std::cell::Cell::new(false);
        let note = |error: &ProviderError| {
            if error.kind == ErrorKind::Transient {
                ambiguous.set(true);
            }
        };
        match self
            .send_noting(address, call, kind, send, started, note)
            .await
        {
            Ok(value) => {
                let effects = effects(&value);
                let mut state = self.state();
                self.journal(&JournalEntry::Completed {
                    operation,
                    effects: effects.clone(),
                })?;
                for effect in &effects {
                    effect.apply_to(&mut state);
                }
                Ok(value)
            }
            Err(error) if error.message == NOT_STARTED && !self.has_begun(address) => {
                Err(NOT_STARTED.to_string())
            }
            Err(error) => {
                if !self.journal_failed() && !ambiguous.get() && error.kind != ErrorKind::Transient
                {
                    self.journal(&JournalEntry::Failed { operation })?;
                }
                Err(failed(call, &error))
            }
        }
    }

    /// Sends a call under the schedule, reporting retries.
    async fn send<T, F, Fut>(
        &self,
        address: &str,
        call: &str,
        kind: CallKind<'_>,
        send: F,
        before_send: impl FnMut(u32) -> Result<(), ProviderError>,
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        self.send_noting(address, call, kind, send, before_send, |_| {})
            .await
    }

    /// [`Self::send`], also showing `note` each error that is retried.
    async fn send_noting<T, F, Fut>(
        &self,
        address: &str,
        call: &str,
        kind: CallKind<'_>,
        send: F,
        before_send: impl FnMut(u32) -> Result<(), ProviderError>,
        note: impl Fn(&ProviderError),
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        self.schedule
            .run(kind, send, before_send, |notice| {
                note(notice.error);
                (self.ctx.events)(Event::Retrying {
                    address: address.to_string(),
                    call: call.to_string(),
                    attempt: notice.attempt,
                    max_attempts: notice.max_attempts,
                    error: notice.error.to_string(),
                    delay: notice.delay,
                });
            })
            .await
    }

    /// A read: retried like any call, never journaled.
    async fn read<T, F, Fut>(&self, address: &str, call: &str, send: F) -> Result<T, String>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        self.send(address, call, CallKind::Other, send, |_| Ok(()))
            .await
            .map_err(|error| failed(call, &error))
    }

    fn progress(&self, address: &str, message: String) {
        (self.ctx.events)(Event::Progress {
            address: address.to_string(),
            message,
        });
    }

    /// Waits with growing pauses (the poll interval, doubling up to ten times it).
    async fn pause(&self, round: u32) {
        let base = self.ctx.options.poll_interval;
        let delay = base.saturating_mul(1u32 << round.min(3)).min(base * 10);
        tokio::time::sleep(delay).await;
    }

    // ---- API Gateway stages ----

    async fn stage(&self, change: &Change, desired: &DesiredStage) -> Result<(), String> {
        let address = change.address.as_str();
        let api = desired.rest_api_id.as_str();
        let name = desired.stage_name.as_str();
        let clear = self.clear(&desired.variables)?;
        let mut current = match self.record_of(address) {
            Some(ResourceState::Stage(stage)) => Some(stage),
            _ => None,
        };
        if current.is_none() && self.in_doubt(address).is_some() {
            // The last run was cut off while creating it: adopt what AWS has, if anything.
            if let Some(live) = self
                .read(address, "GetStage", || {
                    self.ctx.provider.get_stage(api, name)
                })
                .await?
            {
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
                "UpdateStage",
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
    async fn snapshot(&self, address: &str, api: &str, revision: &str) -> Result<String, String> {
        let lock = self.revision_lock(api);
        let _guard = lock.lock().await;
        if let Some(known) = self.deployment_of(api, revision) {
            return Ok(known);
        }
        self.mutate(
            address,
            "CreateDeployment",
            CallKind::Deployment { rest_api_id: api },
            || self.ctx.provider.create_snapshot(api, revision),
            |id| vec![deployment_effect(api, revision, id)],
        )
        .await
    }

    async fn create_stage(
        &self,
        address: &str,
        desired: &DesiredStage,
        clear: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        let api = desired.rest_api_id.as_str();
        let new = NewStage {
            rest_api_id: api.to_string(),
            stage_name: desired.stage_name.clone(),
            deployment_description: desired.revision.clone(),
            stage_description: desired.description.clone(),
            variables: clear.clone(),
            cache_size: desired.cache_size.clone(),
            tracing: desired.tracing,
        };
        let deployment = self
            .mutate(
                address,
                "CreateDeployment",
                CallKind::Deployment { rest_api_id: api },
                || self.ctx.provider.create_stage(&new),
                |id| {
                    deployed(
                        api,
                        &desired.revision,
                        address,
                        id,
                        stage_record(desired, id),
                    )
                },
            )
            .await?;
        let live = self
            .read(address, "GetStage", || {
                self.ctx.provider.get_stage(api, &desired.stage_name)
            })
            .await?
            .ok_or_else(|| {
                format!(
                    "GetStage found no stage {} after creating it",
                    desired.stage_name
                )
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
        address: &str,
        desired: &DesiredStage,
        live: &LiveStage,
    ) -> Result<Option<StageState>, String> {
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
        address: &str,
        api: &str,
        name: &str,
        mut live: Option<LiveStage>,
    ) -> Result<(), String> {
        let deadline = Instant::now() + self.ctx.options.cache_timeout;
        let mut last_status = None;
        let mut round = 0;
        loop {
            let status = live.as_ref().and_then(|stage| stage.cache_status.clone());
            match status.as_deref() {
                None => return Ok(()),
                Some(status) if CACHE_SETTLED.contains(&status) => return Ok(()),
                Some(status) => {
                    if last_status.as_deref() != Some(status) {
                        self.progress(address, format!("cache cluster is {status}; waiting"));
                        last_status = Some(status.to_string());
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the cache cluster did not settle within {}s (last status {})",
                    self.ctx.options.cache_timeout.as_secs(),
                    last_status.unwrap_or_default()
                ));
            }
            self.pause(round).await;
            round += 1;
            live = self
                .read(address, "GetStage", || {
                    self.ctx.provider.get_stage(api, name)
                })
                .await?;
        }
    }

    // ---- canaries ----

    async fn canary(&self, change: &Change, desired: &DesiredCanary) -> Result<(), String> {
        let address = change.address.as_str();
        let api = desired.rest_api_id.as_str();
        let name = desired.stage_name.as_str();
        let clear = self.clear(&desired.variable_overrides)?;
        let old = match self.record_of(address) {
            Some(ResourceState::Canary(canary)) => Some(canary),
            _ => None,
        };
        let moves = old
            .as_ref()
            .is_none_or(|old| old.revision != desired.revision);
        // Held while finding or making the revision's deployment (one per revision).
        let lock = self.revision_lock(api);
        let _guard = lock.lock().await;
        let known = self.deployment_of(api, &desired.revision);
        if moves && known.is_none() {
            let new = NewCanary {
                rest_api_id: api.to_string(),
                stage_name: name.to_string(),
                deployment_description: desired.revision.clone(),
                percent_traffic: desired.percent_traffic,
                variable_overrides: clear.clone(),
                use_stage_cache: desired.use_stage_cache,
            };
            self.mutate(
                address,
                "CreateDeployment",
                CallKind::Deployment { rest_api_id: api },
                || self.ctx.provider.create_canary(&new),
                |id| {
                    deployed(
                        api,
                        &desired.revision,
                        address,
                        id,
                        canary_record(desired, id),
                    )
                },
            )
            .await?;
            // AWS fills the canary's deployment id itself: record what it reports.
            let live = self
                .read(address, "GetStage", || {
                    self.ctx.provider.get_stage(api, name)
                })
                .await?;
            if let Some(reported) = live
                .and_then(|stage| stage.canary)
                .and_then(|canary| canary.deployment_id)
                && self.deployment_of(api, &desired.revision).as_deref() != Some(reported.as_str())
            {
                self.record(vec![resource_effect(
                    address,
                    canary_record(desired, &reported)?,
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
        let record = canary_record(desired, &id)?;
        self.mutate(
            address,
            "UpdateStage",
            CallKind::ApiMutation { rest_api_id: api },
            || self.ctx.provider.update_stage(api, name, &patch),
            |_| vec![resource_effect(address, record.clone())],
        )
        .await?;
        Ok(())
    }

    async fn promote(&self, change: &Change) -> Result<(), String> {
        let address = change.address.as_str();
        let Some(ResourceState::Canary(canary)) =
            self.record_of(address).or_else(|| change.before.clone())
        else {
            return Ok(());
        };
        let stage_address = parent_stage(address)?;
        let Some(ResourceState::Stage(stage)) = self.record_of(&stage_address) else {
            return Err(format!("{stage_address} is not in the state"));
        };
        let promoted = patch::promoted_stage(&stage, &canary);
        let effects = vec![
            deployment_effect(&canary.rest_api_id, &canary.revision, &canary.deployment_id),
            resource_effect(&stage_address, ResourceState::Stage(promoted)),
            Effect::Resource {
                address: address.to_string(),
                record: None,
            },
        ];
        let api = canary.rest_api_id.as_str();
        let name = canary.stage_name.as_str();
        if self.in_doubt(address).is_some() {
            let live = self
                .read(address, "GetStage", || {
                    self.ctx.provider.get_stage(api, name)
                })
                .await?;
            if live.is_some_and(|live| live.canary.is_none()) {
                // The interrupted promotion went through.
                return self.record(effects);
            }
        }
        let patch = patch::promotion(&canary);
        self.mutate(
            address,
            "UpdateStage",
            CallKind::ApiMutation { rest_api_id: api },
            || self.ctx.provider.update_stage(api, name, &patch),
            |_| effects.clone(),
        )
        .await?;
        Ok(())
    }

    // ---- deletions ----

    async fn delete(&self, change: &Change) -> Result<(), String> {
        let address = change.address.as_str();
        let gone = vec![Effect::Resource {
            address: address.to_string(),
            record: None,
        }];
        let Some(record) = self.record_of(address).or_else(|| change.before.clone()) else {
            return Ok(());
        };
        // A resource already gone from AWS is as good as deleted.
        let absent = |result: Result<(), ProviderError>| match result {
            Err(error) if error.kind == ErrorKind::NotFound => Ok(()),
            other => other,
        };
        match &record {
            ResourceState::Stage(stage) => {
                let api = stage.rest_api_id.as_str();
                self.mutate(
                    address,
                    "DeleteStage",
                    CallKind::ApiMutation { rest_api_id: api },
                    || async {
                        absent(self.ctx.provider.delete_stage(api, &stage.stage_name).await)
                    },
                    |_| gone.clone(),
                )
                .await
            }
            ResourceState::Canary(canary) => {
                let api = canary.rest_api_id.as_str();
                if self.in_doubt(address).is_some() {
                    // An earlier removal may have gone through: AWS would refuse a second one.
                    let live = self
                        .read(address, "GetStage", || {
                            self.ctx.provider.get_stage(api, &canary.stage_name)
                        })
                        .await?;
                    if live.is_none_or(|stage| stage.canary.is_none()) {
                        return self.record(gone.clone());
                    }
                }
                let patch = [PatchOp::Remove {
                    path: "/canarySettings".to_string(),
                }];
                self.mutate(
                    address,
                    "UpdateStage",
                    CallKind::ApiMutation { rest_api_id: api },
                    || async {
                        absent(
                            self.ctx
                                .provider
                                .update_stage(api, &canary.stage_name, &patch)
                                .await
                                .map(drop),
                        )
                    },
                    |_| gone.clone(),
                )
                .await
            }
            ResourceState::Branch(branch) => {
                self.mutate(
                    address,
                    "DeleteBranch",
                    CallKind::Other,
                    || async {
                        absent(
                            self.ctx
                                .provider
                                .delete_branch(&branch.app_id, &branch.branch_name)
                                .await,
                        )
                    },
                    |_| gone.clone(),
                )
                .await
            }
        }
    }

    // ---- Amplify branches ----

    async fn branch(&self, change: &Change, desired: &DesiredBranch) -> Result<(), String> {
        let address = change.address.as_str();
        let app = desired.app_id.as_str();
        let name = desired.branch_name.as_str();
        let clear = ClearBranch {
            environment: self.clear(&desired.environment)?,
            basic_auth: match &desired.basic_auth {
                Some((user, password)) => {
                    Some((self.clear_value(user)?, self.clear_value(password)?))
                }
                None => None,
            },
        };
        let current = match self.record_of(address) {
            Some(ResourceState::Branch(branch)) => Some(branch),
            _ => None,
        };
        let (artifact_digest, job_id) = current
            .as_ref()
            .map(|old| (old.artifact_digest.clone(), old.job_id.clone()))
            .unwrap_or_default();
        let record = branch_record(desired, artifact_digest.clone(), job_id.clone())?;
        match &current {
            None => {
                let exists = self.in_doubt(address).is_some()
                    && self
                        .read(address, "GetBranch", || {
                            self.ctx.provider.get_branch(app, name)
                        })
                        .await?
                        .is_some();
                let settings = patch::branch_all(desired, &clear);
                if exists {
                    self.mutate(
                        address,
                        "UpdateBranch",
                        CallKind::Other,
                        || self.ctx.provider.update_branch(app, name, &settings),
                        |_| vec![resource_effect(address, record.clone())],
                    )
                    .await?;
                } else {
                    self.mutate(
                        address,
                        "CreateBranch",
                        CallKind::Other,
                        || self.ctx.provider.create_branch(app, name, &settings),
                        |_| vec![resource_effect(address, record.clone())],
                    )
                    .await?;
                }
            }
            Some(old) => {
                if let Some(settings) = patch::branch_changes(old, desired, &clear) {
                    self.mutate(
                        address,
                        "UpdateBranch",
                        CallKind::Other,
                        || self.ctx.provider.update_branch(app, name, &settings),
                        |_| vec![resource_effect(address, record.clone())],
                    )
                    .await?;
                }
            }
        }
        if let Some(artifact) = &desired.artifact
            && artifact_digest.as_deref() != Some(artifact.digest.as_str())
        {
            self.deploy_artifact(address, desired).await?;
        }
        Ok(())
    }

    /// The manual-deployment flow: wait for an unfinished job, create a deployment, upload the
    /// zip, start it, poll the job. The digest is recorded only when the job succeeds.
    async fn deploy_artifact(&self, address: &str, desired: &DesiredBranch) -> Result<(), String> {
        let app = desired.app_id.as_str();
        let name = desired.branch_name.as_str();
        let Some(artifact) = &desired.artifact else {
            return Ok(());
        };
        // Amplify runs at most five jobs at once per account.
        let _permit = self
            .amplify_jobs
            .acquire()
            .await
            .map_err(|error| error.to_string())?;
        let package = self.ctx.artifacts.package(artifact)?;
        if package.digest != artifact.digest {
            return Err(format!(
                "the artifact {} changed since the plan was made; plan again",
                artifact.path
            ));
        }
        let jobs = self
            .read(address, "ListJobs", || {
                self.ctx.provider.list_jobs(app, name)
            })
            .await?;
        let unfinished = jobs.into_iter().find(|job| !job.is_finished());
        // A job that an interrupted run of ours created and never started (it was cut before
        // `StartDeployment`) blocks every later deployment and will never finish: stop it.
        let ours_never_started = self
            .in_doubt(address)
            .is_some_and(|call| super::journal::AMPLIFY_BEFORE_START.contains(&call))
            && unfinished
                .as_ref()
                .is_some_and(|job| matches!(job.status.as_str(), "PENDING" | "CREATED"));
        if ours_never_started && let Some(job) = &unfinished {
            self.progress(
                address,
                format!(
                    "stopping job {}, created by an interrupted apply and never started",
                    job.job_id
                ),
            );
            self.mutate(
                address,
                "StopJob",
                CallKind::Other,
                || self.ctx.provider.stop_job(app, name, &job.job_id),
                |_| Vec::new(),
            )
            .await?;
        } else if let Some(job) = unfinished {
            self.progress(
                address,
                format!("waiting for unfinished job {} ({})", job.job_id, job.status),
            );
            self.wait_for_job(address, app, name, &job.job_id, true)
                .await?;
        }
        let upload = self
            .mutate(
                address,
                "CreateDeployment",
                CallKind::Other,
                || self.ctx.provider.create_amplify_deployment(app, name),
                |_| Vec::new(),
            )
            .await?;
        let job = upload.job_id.as_str();
        self.progress(
            address,
            format!("uploading {} bytes for job {job}", package.size),
        );
        self.mutate(
            address,
            "upload",
            CallKind::Other,
            || {
                self.ctx
                    .provider
                    .upload_zip(&upload.zip_upload_url, &package.path, package.size)
            },
            |_| Vec::new(),
        )
        .await?;
        drop(package);
        self.mutate(
            address,
            "StartDeployment",
            CallKind::Other,
            || self.ctx.provider.start_deployment(app, name, job),
            |_| Vec::new(),
        )
        .await?;
        let status = self.wait_for_job(address, app, name, job, false).await?;
        if status.status != "SUCCEED" {
            let reasons = if status.failures.is_empty() {
                String::new()
            } else {
                format!(": {}", status.failures.join("; "))
            };
            return Err(format!(
                "deployment job {job} ended {}{reasons}",
                status.status
            ));
        }
        let record = branch_record(
            desired,
            Some(artifact.digest.clone()),
            Some(job.to_string()),
        )?;
        self.record(vec![resource_effect(address, record)])
    }

    /// Polls `GetJob` until the job finishes or the job timeout passes.
    async fn wait_for_job(
        &self,
        address: &str,
        app: &str,
        name: &str,
        job: &str,
        someone_elses: bool,
    ) -> Result<JobStatus, String> {
        let deadline = Instant::now() + self.ctx.options.job_timeout;
        let mut last = String::new();
        let mut round = 0;
        loop {
            let status = self
                .read(address, "GetJob", || {
                    self.ctx.provider.get_job(app, name, job)
                })
                .await?;
            if status.is_finished() {
                return Ok(status);
            }
            if status.status != last {
                self.progress(address, format!("job {job} is {}", status.status));
                last = status.status.clone();
            }
            if Instant::now() >= deadline {
                let whose = if someone_elses {
                    "an earlier deployment blocks this one: "
                } else {
                    ""
                };
                return Err(format!(
                    "{whose}job {job} on branch {name} is still {} after {}; wait for it to finish or stop it (aws amplify stop-job --app-id {app} --branch-name {name} --job-id {job}), then apply again",
                    status.status,
                    humanize(self.ctx.options.job_timeout)
                ));
            }
            self.pause(round).await;
            round += 1;
        }
    }
}

fn humanize(duration: Duration) -> String {
    format!("{}s", duration.as_secs())
}

fn parent_stage(address: &str) -> Result<String, String> {
    Address::parse(address)
        .ok()
        .and_then(|address| address.canary_parent())
        .map(|stage| stage.to_string())
        .ok_or_else(|| format!("{address} is not a canary address"))
}

fn deployment_effect(rest_api_id: &str, revision: &str, deployment_id: &str) -> Effect {
    Effect::Deployment {
        rest_api_id: rest_api_id.to_string(),
        revision: revision.to_string(),
        deployment_id: deployment_id.to_string(),
    }
}

/// What a new deployment records: the revision's deployment, and the resource's record when
/// it can be made.
fn deployed(
    rest_api_id: &str,
    revision: &str,
    address: &str,
    deployment_id: &str,
    record: Result<ResourceState, String>,
) -> Vec<Effect> {
    let mut effects = vec![deployment_effect(rest_api_id, revision, deployment_id)];
    if let Ok(record) = record {
        effects.push(resource_effect(address, record));
    }
    effects
}

fn resource_effect(address: &str, record: ResourceState) -> Effect {
    Effect::Resource {
        address: address.to_string(),
        record: Some(Box::new(record)),
    }
}

fn unresolved() -> String {
    "a value is still unknown after its dependencies were applied".to_string()
}

fn stage_record(desired: &DesiredStage, deployment: &str) -> Result<ResourceState, String> {
    applied_state(&Desired::Stage(desired.clone()), deployment).ok_or_else(unresolved)
}

fn canary_record(desired: &DesiredCanary, deployment: &str) -> Result<ResourceState, String> {
    applied_state(&Desired::Canary(desired.clone()), deployment).ok_or_else(unresolved)
}

fn branch_record(
    desired: &DesiredBranch,
    artifact_digest: Option<String>,
    job_id: Option<String>,
) -> Result<ResourceState, String> {
    match applied_state(&Desired::Branch(desired.clone()), "") {
        Some(ResourceState::Branch(branch)) => Ok(ResourceState::Branch(BranchState {
            artifact_digest,
            job_id,
            ..branch
        })),
        _ => Err(unresolved()),
    }
}
