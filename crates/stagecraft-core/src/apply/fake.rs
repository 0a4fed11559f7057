//! An in-memory stand-in for API Gateway and Amplify, for the executor's tests: it keeps stages,
//! canaries, deployments, branches and jobs as AWS does, logs every call with the (virtual)
//! time it was made, injects errors on request, and notices concurrent calls to one REST API.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::provider::*;

/// One logged call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub operation: &'static str,
    pub at: Instant,
    pub detail: String,
}

#[derive(Default)]
struct World {
    next_id: u64,
    /// Per REST API: its stages.
    stages: BTreeMap<String, BTreeMap<String, LiveStage>>,
    /// Per REST API: deployment descriptions by id.
    deployments: BTreeMap<String, BTreeMap<String, String>>,
    branches: BTreeMap<(String, String), LiveBranch>,
    /// Jobs by id (ids count up across the fake, newest last).
    jobs: BTreeMap<u64, FakeJob>,
    uploads: BTreeMap<String, Vec<u8>>,
    /// CloudWatch alarms by name: state and reason, and changes due at a (virtual) time.
    alarms: BTreeMap<String, LiveAlarm>,
    /// Alarm states that take effect at an instant: (when, name, state, reason).
    alarms_at: Vec<(Instant, String, AlarmState, String)>,
}

/// A job with the branch it belongs to.
struct FakeJob {
    app_id: String,
    branch_name: String,
    job: Job,
    /// While `CANCELLING`: how many more reads (`GetJob`, `ListJobs`) see it so.
    cancelling_reads: u32,
}

impl FakeJob {
    fn of(&self, app_id: &str, branch_name: &str) -> bool {
        self.app_id == app_id && self.branch_name == branch_name
    }

    /// The job as one read sees it: a stopped job reads `CANCELLING` for `cancelling_reads`
    /// reads, then `CANCELLED`, as AWS passes through `CANCELLING`.
    fn read(&mut self) -> Job {
        let seen = self.job.clone();
        if self.job.status == JobStatus::Cancelling {
            if self.cancelling_reads <= 1 {
                self.job.status = JobStatus::Cancelled;
            } else {
                self.cancelling_reads -= 1;
            }
        }
        seen
    }
}

#[derive(Default)]
pub(crate) struct FakeAws {
    world: Mutex<World>,
    calls: Mutex<Vec<Call>>,
    faults: Mutex<VecDeque<(&'static str, ProviderError)>>,
    /// Operations whose next call is carried out but answered with a lost answer.
    lost_answers: Mutex<VecDeque<&'static str>>,
    in_flight: Mutex<HashMap<String, usize>>,
    pub(crate) overlapping: Mutex<usize>,
    /// How long each call takes (virtual time under `tokio::time::pause`).
    pub(crate) latency: Duration,
    /// Jobs end FAILED instead of SUCCEED.
    pub(crate) fail_jobs: Mutex<bool>,
    /// How many reads a stopped job stays `CANCELLING` for (at least one).
    pub(crate) cancelling_reads: Mutex<u32>,
}

fn not_found(what: &str) -> ProviderError {
    ProviderError::new(
        ErrorKind::NotFound,
        Some("NotFoundException"),
        format!("{what} not found"),
    )
}

fn bad_request(message: &str) -> ProviderError {
    ProviderError::new(ErrorKind::Permanent, Some("BadRequestException"), message)
}

impl FakeAws {
    pub(crate) fn new() -> FakeAws {
        FakeAws {
            latency: Duration::from_millis(10),
            cancelling_reads: Mutex::new(1),
            ..FakeAws::default()
        }
    }

    /// A CloudWatch alarm in `state` from now on (`PutMetricAlarm`, then `SetAlarmState`).
    pub(crate) fn set_alarm(&self, name: &str, state: AlarmState, reason: &str) {
        self.world.lock().unwrap().alarms.insert(
            name.to_string(),
            LiveAlarm {
                name: name.to_string(),
                state,
                reason: reason.to_string(),
                state_updated: None,
            },
        );
    }

    /// A CloudWatch alarm in `state` whose state last changed at `updated` (CloudWatch's
    /// `StateUpdatedTimestamp`), as after a flap between two reads.
    pub(crate) fn set_alarm_changed(
        &self,
        name: &str,
        state: AlarmState,
        reason: &str,
        updated: crate::state::Timestamp,
    ) {
        self.world.lock().unwrap().alarms.insert(
            name.to_string(),
            LiveAlarm {
                name: name.to_string(),
                state,
                reason: reason.to_string(),
                state_updated: Some(updated),
            },
        );
    }

    /// The alarm deleted (`DeleteAlarms`): `DescribeAlarms` leaves it out from now on.
    pub(crate) fn delete_alarm(&self, name: &str) {
        self.world.lock().unwrap().alarms.remove(name);
    }

    /// The alarm goes to `state` at the (virtual) instant `at`: reads before it see the state
    /// it had.
    pub(crate) fn set_alarm_at(&self, at: Instant, name: &str, state: AlarmState, reason: &str) {
        self.world.lock().unwrap().alarms_at.push((
            at,
            name.to_string(),
            state,
            reason.to_string(),
        ));
    }

    /// A branch made outside stagecraft (by hand, or by another tool), as AWS would have it.
    pub(crate) fn put_branch(&self, app_id: &str, branch: LiveBranch) {
        self.world
            .lock()
            .unwrap()
            .branches
            .insert((app_id.to_string(), branch.branch_name.clone()), branch);
    }

    /// A job of a branch made outside this run (`CreateDeployment` by hand, or by an
    /// interrupted apply), in `status`; returns its id.
    pub(crate) fn put_job(&self, app_id: &str, branch_name: &str, status: JobStatus) -> String {
        let mut world = self.world.lock().unwrap();
        world.next_id += 1;
        let id = world.next_id;
        world.jobs.insert(
            id,
            FakeJob {
                app_id: app_id.to_string(),
                branch_name: branch_name.to_string(),
                job: Job {
                    job_id: id.to_string(),
                    status,
                    failures: Vec::new(),
                },
                cancelling_reads: 0,
            },
        );
        id.to_string()
    }

    /// Every job of a branch, oldest first, as they are now (without counting as a read).
    pub(crate) fn jobs(&self, app_id: &str, branch_name: &str) -> Vec<Job> {
        self.world
            .lock()
            .unwrap()
            .jobs
            .values()
            .filter(|job| job.of(app_id, branch_name))
            .map(|job| job.job.clone())
            .collect()
    }

    /// The next `count` calls of `operation` fail with `error`.
    pub(crate) fn fail(&self, operation: &'static str, error: ProviderError, count: usize) {
        let mut faults = self.faults.lock().unwrap();
        for _ in 0..count {
            faults.push_back((operation, error.clone()));
        }
    }

    /// The next `count` calls of `operation` are carried out, but their answers are lost: the
    /// caller sees a transient error, as after a timeout or a dropped connection.
    pub(crate) fn lose_answers(&self, operation: &'static str, count: usize) {
        let mut lost = self.lost_answers.lock().unwrap();
        for _ in 0..count {
            lost.push_back(operation);
        }
    }

    /// `value` as the answer of `operation`, unless that answer is to be lost.
    fn answer<T>(&self, operation: &'static str, value: T) -> ProviderResult<T> {
        let mut lost = self.lost_answers.lock().unwrap();
        match lost.iter().position(|op| *op == operation) {
            Some(position) => {
                lost.remove(position);
                Err(ProviderError::new(
                    ErrorKind::Transient,
                    Some("RequestTimeout"),
                    format!("{operation}: the answer was lost on the way back"),
                ))
            }
            None => Ok(value),
        }
    }

    pub(crate) fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub(crate) fn count(&self, operation: &str) -> usize {
        self.calls()
            .iter()
            .filter(|call| call.operation == operation)
            .count()
    }

    pub(crate) fn mutating_calls(&self) -> usize {
        self.calls()
            .iter()
            .filter(|call| !call.operation.starts_with("Get") && call.operation != "ListJobs")
            .count()
    }

    pub(crate) fn stage(&self, api: &str, name: &str) -> Option<LiveStage> {
        self.world
            .lock()
            .unwrap()
            .stages
            .get(api)?
            .get(name)
            .cloned()
    }

    pub(crate) fn branch(&self, app: &str, name: &str) -> Option<LiveBranch> {
        self.world
            .lock()
            .unwrap()
            .branches
            .get(&(app.to_string(), name.to_string()))
            .cloned()
    }

    pub(crate) fn uploads(&self) -> usize {
        self.world.lock().unwrap().uploads.len()
    }

    /// Logs the call, waits its latency, and returns an injected fault if one is queued.
    async fn enter(
        &self,
        operation: &'static str,
        api: Option<&str>,
        detail: String,
    ) -> ProviderResult<()> {
        self.calls.lock().unwrap().push(Call {
            operation,
            at: Instant::now(),
            detail,
        });
        if let Some(api) = api {
            let mut in_flight = self.in_flight.lock().unwrap();
            let count = in_flight.entry(api.to_string()).or_default();
            *count += 1;
            if *count > 1 {
                *self.overlapping.lock().unwrap() += 1;
            }
        }
        tokio::time::sleep(self.latency).await;
        if let Some(api) = api {
            *self.in_flight.lock().unwrap().get_mut(api).unwrap() -= 1;
        }
        let mut faults = self.faults.lock().unwrap();
        if let Some(position) = faults.iter().position(|(op, _)| *op == operation) {
            let (_, error) = faults.remove(position).unwrap();
            return Err(error);
        }
        Ok(())
    }

    fn new_deployment(world: &mut World, rest_api_id: &str, description: &str) -> String {
        world.next_id += 1;
        let id = format!("dep{}", world.next_id);
        world
            .deployments
            .entry(rest_api_id.to_string())
            .or_default()
            .insert(id.clone(), description.to_string());
        id
    }

    /// The deployments of a REST API, with their descriptions.
    pub(crate) fn deployments(&self, rest_api_id: &str) -> BTreeMap<String, String> {
        self.world
            .lock()
            .unwrap()
            .deployments
            .get(rest_api_id)
            .cloned()
            .unwrap_or_default()
    }

    /// A stage made outside stagecraft (the console, another tool), on a deployment of its own.
    pub(crate) fn put_foreign_stage(&self, rest_api_id: &str, stage_name: &str) {
        let mut world = self.world.lock().unwrap();
        let id = FakeAws::new_deployment(&mut world, rest_api_id, "made by hand");
        world
            .stages
            .entry(rest_api_id.to_string())
            .or_default()
            .insert(
                stage_name.to_string(),
                LiveStage {
                    stage_name: stage_name.to_string(),
                    deployment_id: Some(id),
                    description: Some("by hand".to_string()),
                    ..LiveStage::default()
                },
            );
    }
}

fn apply_patch(stage: &mut LiveStage, patch: &[PatchOp]) -> ProviderResult<()> {
    for op in patch {
        match op {
            PatchOp::Replace { path, value } => {
                let parts: Vec<&str> = path.trim_start_matches('/').splitn(3, '/').collect();
                match parts.as_slice() {
                    ["deploymentId"] => stage.deployment_id = Some(value.clone()),
                    ["description"] => stage.description = Some(value.clone()),
                    ["tracingEnabled"] => stage.tracing = value == "true",
                    ["cacheClusterEnabled"] => {
                        stage.cache_enabled = value == "true";
                        stage.cache_status = Some(if stage.cache_enabled {
                            CacheStatus::CreateInProgress
                        } else {
                            CacheStatus::DeleteInProgress
                        });
                    }
                    ["cacheClusterSize"] => {
                        if !stage.cache_enabled {
                            return Err(bad_request("cache size sent while the cache is disabled"));
                        }
                        stage.cache_size = Some(value.clone());
                        // A resized cache is made anew.
                        stage.cache_status = Some(CacheStatus::CreateInProgress);
                    }
                    ["variables", key] => {
                        stage
                            .variables
                            .insert(key.replace("~1", "/").replace("~0", "~"), value.clone());
                    }
                    ["canarySettings", field, rest @ ..] => {
                        let canary = stage.canary.get_or_insert_with(LiveCanary::default);
                        match (*field, rest) {
                            ("deploymentId", []) => canary.deployment_id = Some(value.clone()),
                            ("percentTraffic", []) => {
                                canary.percent_traffic =
                                    value.parse().map_err(|_| bad_request("bad percent"))?
                            }
                            ("useStageCache", []) => canary.use_stage_cache = value == "true",
                            ("stageVariableOverrides", [key]) => {
                                canary
                                    .variable_overrides
                                    .insert(key.to_string(), value.clone());
                            }
                            _ => return Err(bad_request(&format!("bad path {path}"))),
                        }
                    }
                    _ => return Err(bad_request(&format!("bad path {path}"))),
                }
            }
            PatchOp::Remove { path } => {
                if path == "/canarySettings" {
                    if stage.canary.take().is_none() {
                        return Err(bad_request("no canary"));
                    }
                } else if let Some(key) = path.strip_prefix("/variables/") {
                    stage.variables.remove(key);
                } else if let Some(key) =
                    path.strip_prefix("/canarySettings/stageVariableOverrides/")
                {
                    if let Some(canary) = &mut stage.canary {
                        canary.variable_overrides.remove(key);
                    }
                } else {
                    return Err(bad_request(&format!("bad path {path}")));
                }
            }
            PatchOp::Copy { from, path } => {
                let canary = stage
                    .canary
                    .clone()
                    .ok_or_else(|| bad_request("no canary to promote"))?;
                match (from.as_str(), path.as_str()) {
                    ("/canarySettings/deploymentId", "/deploymentId") => {
                        stage.deployment_id = canary.deployment_id
                    }
                    ("/canarySettings/stageVariableOverrides", "/variables") => {
                        stage.variables.extend(canary.variable_overrides);
                    }
                    _ => return Err(bad_request("invalid copy")),
                }
            }
        }
    }
    Ok(())
}

#[async_trait]
impl Provider for FakeAws {
    /// As strict as AWS: the deployment (and the canary's) must exist on that API, and a
    /// stage of that name must not (`ConflictException`); a new cache starts
    /// `CREATE_IN_PROGRESS`.
    async fn create_stage(&self, new: &NewStage) -> ProviderResult<LiveStage> {
        self.enter(
            "CreateStage",
            Some(&new.rest_api_id),
            format!("stage {} on {}", new.stage_name, new.deployment_id),
        )
        .await?;
        let mut world = self.world.lock().unwrap();
        let deployments = world.deployments.get(&new.rest_api_id);
        let exists = |id: &str| deployments.is_some_and(|d| d.contains_key(id));
        if !exists(&new.deployment_id)
            || new
                .canary
                .as_ref()
                .is_some_and(|canary| !exists(&canary.deployment_id))
        {
            return Err(not_found(
                "Invalid Deployment identifier specified; deployment",
            ));
        }
        let stages = world.stages.entry(new.rest_api_id.clone()).or_default();
        if stages.contains_key(&new.stage_name) {
            return Err(ProviderError::new(
                ErrorKind::Permanent,
                Some("ConflictException"),
                "Stage already exists",
            ));
        }
        let stage = LiveStage {
            stage_name: new.stage_name.clone(),
            deployment_id: Some(new.deployment_id.clone()),
            description: new.stage_description.clone(),
            tracing: new.tracing,
            variables: new.variables.clone(),
            cache_enabled: new.cache_size.is_some(),
            cache_size: new.cache_size.map(|size| size.as_str().to_string()),
            cache_status: new
                .cache_size
                .as_ref()
                .map(|_| CacheStatus::CreateInProgress),
            canary: new.canary.as_ref().map(|canary| LiveCanary {
                deployment_id: Some(canary.deployment_id.clone()),
                percent_traffic: canary.percent_traffic,
                variable_overrides: canary.variable_overrides.clone(),
                use_stage_cache: canary.use_stage_cache,
            }),
        };
        stages.insert(new.stage_name.clone(), stage.clone());
        self.answer("CreateStage", stage)
    }

    async fn get_deployments(&self, rest_api_id: &str) -> ProviderResult<Vec<LiveDeployment>> {
        self.enter("GetDeployments", None, rest_api_id.to_string())
            .await?;
        Ok(self
            .deployments(rest_api_id)
            .into_iter()
            .map(|(id, description)| LiveDeployment {
                id,
                description: Some(description),
            })
            .collect())
    }

    async fn create_snapshot(
        &self,
        rest_api_id: &str,
        description: &str,
    ) -> ProviderResult<String> {
        self.enter(
            "CreateDeployment",
            Some(rest_api_id),
            "snapshot".to_string(),
        )
        .await?;
        let mut world = self.world.lock().unwrap();
        self.answer(
            "CreateDeployment",
            FakeAws::new_deployment(&mut world, rest_api_id, description),
        )
    }

    async fn create_canary(&self, new: &NewCanary) -> ProviderResult<String> {
        self.enter(
            "CreateDeployment",
            Some(&new.rest_api_id),
            format!("canary {}", new.stage_name),
        )
        .await?;
        let mut world = self.world.lock().unwrap();
        if !world
            .stages
            .get(&new.rest_api_id)
            .is_some_and(|s| s.contains_key(&new.stage_name))
        {
            return Err(bad_request(
                "the stage must already be created before making a canary release deployment",
            ));
        }
        let id = FakeAws::new_deployment(&mut world, &new.rest_api_id, &new.deployment_description);
        let stage = world
            .stages
            .get_mut(&new.rest_api_id)
            .unwrap()
            .get_mut(&new.stage_name)
            .unwrap();
        stage.canary = Some(LiveCanary {
            deployment_id: Some(id.clone()),
            percent_traffic: new.percent_traffic,
            variable_overrides: new.variable_overrides.clone(),
            use_stage_cache: new.use_stage_cache,
        });
        self.answer("CreateDeployment", id)
    }

    async fn update_stage(
        &self,
        rest_api_id: &str,
        stage_name: &str,
        patch: &[PatchOp],
    ) -> ProviderResult<LiveStage> {
        self.enter(
            "UpdateStage",
            Some(rest_api_id),
            format!("{stage_name} {patch:?}"),
        )
        .await?;
        let mut world = self.world.lock().unwrap();
        let known = world
            .deployments
            .get(rest_api_id)
            .cloned()
            .unwrap_or_default();
        for op in patch {
            if let PatchOp::Replace { path, value } = op
                && (path == "/deploymentId" || path == "/canarySettings/deploymentId")
                && !known.contains_key(value)
            {
                return Err(bad_request("Deployment id does not exist"));
            }
        }
        let stage = world
            .stages
            .get_mut(rest_api_id)
            .and_then(|stages| stages.get_mut(stage_name))
            .ok_or_else(|| not_found("stage"))?;
        let mut updated = stage.clone();
        apply_patch(&mut updated, patch)?;
        *stage = updated.clone();
        self.answer("UpdateStage", updated)
    }

    async fn get_stage(
        &self,
        rest_api_id: &str,
        stage_name: &str,
    ) -> ProviderResult<Option<LiveStage>> {
        self.enter("GetStage", None, stage_name.to_string()).await?;
        let mut world = self.world.lock().unwrap();
        let stage = world
            .stages
            .get_mut(rest_api_id)
            .and_then(|stages| stages.get_mut(stage_name));
        // Caches settle after being read once.
        let live = stage.as_ref().map(|stage| (*stage).clone());
        if let Some(stage) = stage
            && let Some(status) = &stage.cache_status
            && matches!(
                status,
                CacheStatus::CreateInProgress | CacheStatus::DeleteInProgress
            )
        {
            stage.cache_status = Some(if stage.cache_enabled {
                CacheStatus::Available
            } else {
                CacheStatus::NotAvailable
            });
        }
        Ok(live)
    }

    async fn get_stages(&self, rest_api_id: &str) -> ProviderResult<Vec<LiveStage>> {
        self.enter("GetStages", None, String::new()).await?;
        let world = self.world.lock().unwrap();
        Ok(world
            .stages
            .get(rest_api_id)
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn delete_stage(&self, rest_api_id: &str, stage_name: &str) -> ProviderResult<()> {
        self.enter("DeleteStage", Some(rest_api_id), stage_name.to_string())
            .await?;
        let mut world = self.world.lock().unwrap();
        world
            .stages
            .get_mut(rest_api_id)
            .and_then(|stages| stages.remove(stage_name))
            .map(drop)
            .ok_or_else(|| not_found("stage"))
    }

    async fn get_app(&self, app_id: &str) -> ProviderResult<LiveApp> {
        self.enter("GetApp", None, app_id.to_string()).await?;
        Ok(LiveApp {
            app_id: app_id.to_string(),
            default_domain: format!("{app_id}.amplifyapp.com"),
        })
    }

    async fn create_branch(
        &self,
        app_id: &str,
        branch_name: &str,
        settings: &BranchSettings,
    ) -> ProviderResult<LiveBranch> {
        self.enter("CreateBranch", None, branch_name.to_string())
            .await?;
        let mut world = self.world.lock().unwrap();
        let key = (app_id.to_string(), branch_name.to_string());
        if world.branches.contains_key(&key) {
            return Err(bad_request("branch already exists"));
        }
        // AWS's display name (the URL's subdomain) for a name: `/` cannot be in a host name.
        let mut branch = LiveBranch {
            branch_name: branch_name.to_string(),
            display_name: branch_name.replace('/', "-"),
            ..LiveBranch::default()
        };
        apply_branch(&mut branch, settings);
        world.branches.insert(key, branch.clone());
        self.answer("CreateBranch", branch)
    }

    async fn update_branch(
        &self,
        app_id: &str,
        branch_name: &str,
        settings: &BranchSettings,
    ) -> ProviderResult<LiveBranch> {
        self.enter("UpdateBranch", None, format!("{branch_name} {settings:?}"))
            .await?;
        let mut world = self.world.lock().unwrap();
        let branch = world
            .branches
            .get_mut(&(app_id.to_string(), branch_name.to_string()))
            .ok_or_else(|| not_found("branch"))?;
        apply_branch(branch, settings);
        self.answer("UpdateBranch", branch.clone())
    }

    async fn get_branch(
        &self,
        app_id: &str,
        branch_name: &str,
    ) -> ProviderResult<Option<LiveBranch>> {
        self.enter("GetBranch", None, branch_name.to_string())
            .await?;
        Ok(self.branch(app_id, branch_name))
    }

    async fn list_branches(&self, app_id: &str) -> ProviderResult<Vec<LiveBranch>> {
        self.enter("ListBranches", None, app_id.to_string()).await?;
        let world = self.world.lock().unwrap();
        Ok(world
            .branches
            .iter()
            .filter(|((app, _), _)| app == app_id)
            .map(|(_, branch)| branch.clone())
            .collect())
    }

    async fn delete_branch(&self, app_id: &str, branch_name: &str) -> ProviderResult<()> {
        self.enter("DeleteBranch", None, branch_name.to_string())
            .await?;
        let mut world = self.world.lock().unwrap();
        world
            .branches
            .remove(&(app_id.to_string(), branch_name.to_string()))
            .map(drop)
            .ok_or_else(|| not_found("branch"))
    }

    async fn list_jobs(&self, app_id: &str, branch_name: &str) -> ProviderResult<Vec<Job>> {
        self.enter("ListJobs", None, branch_name.to_string())
            .await?;
        let mut world = self.world.lock().unwrap();
        Ok(world
            .jobs
            .values_mut()
            .rev()
            .filter(|job| job.of(app_id, branch_name))
            .map(FakeJob::read)
            .collect())
    }

    async fn create_amplify_deployment(
        &self,
        app_id: &str,
        branch_name: &str,
    ) -> ProviderResult<AmplifyUpload> {
        self.enter("CreateAmplifyDeployment", None, branch_name.to_string())
            .await?;
        let mut world = self.world.lock().unwrap();
        // As AWS: refused while any job of the branch is unfinished (CANCELLING included).
        if let Some(job) = world
            .jobs
            .values()
            .find(|job| job.of(app_id, branch_name) && !job.job.is_finished())
        {
            return Err(bad_request(&format!(
                "The last job(deployment) {} was not finished. Please wait for the job to finish or stop it.",
                job.job.job_id
            )));
        }
        world.next_id += 1;
        let id = world.next_id;
        let job_id = id.to_string();
        world.jobs.insert(
            id,
            FakeJob {
                app_id: app_id.to_string(),
                branch_name: branch_name.to_string(),
                job: Job {
                    job_id: job_id.clone(),
                    status: JobStatus::Pending,
                    failures: Vec::new(),
                },
                cancelling_reads: 0,
            },
        );
        self.answer(
            "CreateAmplifyDeployment",
            AmplifyUpload {
                zip_upload_url: format!("http://upload/{job_id}"),
                job_id,
            },
        )
    }

    async fn upload_zip(
        &self,
        url: &str,
        path: &std::path::Path,
        _size: u64,
    ) -> ProviderResult<()> {
        self.enter("UploadZip", None, url.to_string()).await?;
        let zip = std::fs::read(path).unwrap();
        self.world
            .lock()
            .unwrap()
            .uploads
            .insert(url.to_string(), zip);
        Ok(())
    }

    async fn start_deployment(
        &self,
        app_id: &str,
        branch_name: &str,
        job_id: &str,
    ) -> ProviderResult<()> {
        self.enter("StartDeployment", None, job_id.to_string())
            .await?;
        let fail = *self.fail_jobs.lock().unwrap();
        let mut world = self.world.lock().unwrap();
        let job = job_mut(&mut world, app_id, branch_name, job_id)?;
        if !job.job.status.is_waiting_to_start() {
            return Err(bad_request(&format!(
                "Job {job_id} has already been started."
            )));
        }
        let job = &mut job.job;
        job.status = JobStatus::Running;
        if fail {
            job.failures = vec!["Deploy: index.html is missing (log: https://logs/1)".to_string()];
        }
        self.answer("StartDeployment", ())
    }

    async fn stop_job(&self, app_id: &str, branch_name: &str, job_id: &str) -> ProviderResult<()> {
        self.enter("StopJob", None, job_id.to_string()).await?;
        let reads = (*self.cancelling_reads.lock().unwrap()).max(1);
        let mut world = self.world.lock().unwrap();
        let job = job_mut(&mut world, app_id, branch_name, job_id)?;
        if job.job.is_finished() {
            return Err(bad_request(&format!(
                "Job {job_id} has already finished with status {}.",
                job.job.status
            )));
        }
        // As AWS: CANCELLING first, CANCELLED some reads later.
        job.job.status = JobStatus::Cancelling;
        job.cancelling_reads = reads;
        self.answer("StopJob", ())
    }

    async fn get_job(&self, app_id: &str, branch_name: &str, job_id: &str) -> ProviderResult<Job> {
        self.enter("GetJob", None, job_id.to_string()).await?;
        let mut world = self.world.lock().unwrap();
        let job = job_mut(&mut world, app_id, branch_name, job_id)?;
        let snapshot = job.read();
        // A running job finishes after being polled once.
        let job = &mut job.job;
        if job.status == JobStatus::Running {
            job.status = if job.failures.is_empty() {
                JobStatus::Succeed
            } else {
                JobStatus::Failed
            };
        }
        Ok(snapshot)
    }

    /// As AWS: at most 100 names a call; an alarm that does not exist is left out.
    async fn describe_alarms(&self, names: &[String]) -> ProviderResult<Vec<LiveAlarm>> {
        self.enter("DescribeAlarms", None, names.join(",")).await?;
        if names.len() > 100 {
            return Err(ProviderError::new(
                ErrorKind::Permanent,
                Some("ValidationError"),
                "The parameter AlarmNames must have at most 100 members",
            ));
        }
        let mut world = self.world.lock().unwrap();
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut world.alarms_at)
            .into_iter()
            .partition(|(at, ..)| *at <= now);
        world.alarms_at = later;
        let mut due = due;
        due.sort_by_key(|(at, ..)| *at);
        for (_, name, state, reason) in due {
            let state_updated = None;
            world.alarms.insert(
                name.clone(),
                LiveAlarm {
                    name,
                    state,
                    reason,
                    state_updated,
                },
            );
        }
        Ok(names
            .iter()
            .filter_map(|name| world.alarms.get(name).cloned())
            .collect())
    }
}

/// A job of the branch, as AWS finds it (by app, branch and id).
fn job_mut<'w>(
    world: &'w mut World,
    app_id: &str,
    branch_name: &str,
    job_id: &str,
) -> ProviderResult<&'w mut FakeJob> {
    job_id
        .parse::<u64>()
        .ok()
        .and_then(|id| world.jobs.get_mut(&id))
        .filter(|job| job.of(app_id, branch_name))
        .ok_or_else(|| not_found("job"))
}

fn apply_branch(branch: &mut LiveBranch, settings: &BranchSettings) {
    if let Some(stage) = &settings.stage {
        branch.stage = Some(stage.as_str().to_string());
    }
    if let Some(description) = &settings.description {
        branch.description = Some(description.clone());
    }
    if let Some(framework) = &settings.framework {
        branch.framework = Some(framework.clone());
    }
    if let Some(environment) = &settings.environment {
        branch.environment = environment.clone();
    }
    if let Some(auth) = &settings.basic_auth {
        branch.basic_auth_enabled = auth.is_some();
    }
}
