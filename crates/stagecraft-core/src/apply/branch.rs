//! A branch's calls on Amplify: `CreateBranch`/`UpdateBranch`, `DeleteBranch`, and the manual
//! artifact deployment (wait for an unfinished job, `CreateDeployment`, upload the zip,
//! `StartDeployment`, poll `GetJob`).

use std::collections::BTreeSet;
use std::future::Future;

use tokio::time::Instant;

use stagecraft_config::Address;

use super::effects::{BranchFacts, branch_record, removed, resource_effect};
use super::error::{ApplyError, ExistingBranch, JobOwner};
use super::journal::Call;
use super::patch::{self, ClearBranch};
use super::protocol::already_gone;
use super::schedule::CallKind;
use super::{Package, Run};
use crate::plan::{Change, DesiredBranch, PlannedArtifact, branch_url};
use crate::provider::{BranchSettings, ErrorKind, Job, JobStatus, LiveBranch, ProviderError};
use crate::state::{BranchState, ResourceState, Site};

/// The largest zip Amplify takes for a manual deployment. The Amplify user guide says "up to
/// 5 GB"; the zip goes up in one presigned S3 `PUT`, whose limit S3 defines as 5 GiB
/// (5,368,709,120 bytes, "EntityTooLarge" above it), so the binary reading is taken.
pub(super) const AMPLIFY_MAX_ZIP_BYTES: u64 = 5 * 1024 * 1024 * 1024;

impl Run<'_> {
    pub(super) async fn branch(
        &self,
        change: &Change,
        desired: &DesiredBranch,
    ) -> Result<(), ApplyError> {
        let address = &change.address;
        let app = desired.app_id.as_str();
        let name = desired.branch_name.as_str();
        let clear = ClearBranch {
            environment: self.clear((address, "environment"), &desired.environment)?,
            basic_auth: match &desired.basic_auth {
                Some((user, password)) => {
                    let user_site = Site::new(address, "basic_auth.username");
                    let password_site = Site::new(address, "basic_auth.password");
                    Some((
                        self.clear_value(user_site, user)?,
                        self.clear_value(password_site, password)?,
                    ))
                }
                None => None,
            },
        };
        let current = match self.record_of(address) {
            Some(ResourceState::Branch(branch)) => Some(branch),
            _ => None,
        };
        let facts = current.as_ref().map(BranchFacts::of).unwrap_or_default();
        // The zip is made and checked before any call of the change: one Amplify would refuse
        // must not leave the branch created or changed first.
        let package = match &desired.artifact {
            Some(artifact)
                if change.replace
                    || facts.artifact_digest.as_deref() != Some(artifact.digest.as_str()) =>
            {
                Some(self.package(artifact)?)
            }
            _ => None,
        };
        // A branch not yet recorded is created; one that exists already is taken over only when
        // an interrupted create of ours may have made it, and refused otherwise.
        let call = match &current {
            None => {
                let live = self
                    .read(address, Call::GetBranch, || {
                        self.ctx.provider.get_branch(app, name)
                    })
                    .await?;
                let call = match live {
                    Some(_) if self.in_doubt(address).is_some() => Call::UpdateBranch,
                    Some(live) => return Err(branch_exists(address, live)),
                    None => Call::CreateBranch,
                };
                Some((call, patch::branch_all(desired, &clear)))
            }
            Some(old) => patch::branch_changes(old, desired, &clear)
                .map(|settings| (Call::UpdateBranch, settings)),
        };
        let mut facts = facts;
        if let Some((call, settings)) = call {
            // The branch's URL is its display name (in the branch AWS answers) under the app's
            // domain (only `GetApp` has it).
            let domain = self.app_domain(address, app).await?;
            let record = branch_record(desired, facts.clone())?;
            let effects = |live: &LiveBranch| {
                let url = branch_url(&live.display_name, &domain);
                vec![resource_effect(address, with_url(record.clone(), url))]
            };
            let live = if call == Call::CreateBranch {
                // A create whose answer was lost is read back: sent again, AWS would refuse it
                // (the branch exists). Found as it was sent, it is the one this call made.
                // Found otherwise, another hand made it in between: refused like any branch that
                // is not ours, and not sent again.
                let differing = std::sync::Mutex::new(None);
                let created_already = || async {
                    let live = self.ctx.provider.get_branch(app, name).await?;
                    match live {
                        Some(live) if !made_as_sent(&live, &settings) => {
                            let message = format!(
                                "branch {name} exists but not as the lost CreateBranch sent it"
                            );
                            *differing.lock().unwrap_or_else(|e| e.into_inner()) = Some(live);
                            Err(ProviderError::new(ErrorKind::Permanent, None, message))
                        }
                        live => Ok(live),
                    }
                };
                let created = self
                    .mutate_checked(
                        address,
                        call,
                        None,
                        CallKind::Other,
                        || self.ctx.provider.create_branch(app, name, &settings),
                        created_already,
                        effects,
                    )
                    .await;
                if let Some(live) = differing.into_inner().unwrap_or_else(|e| e.into_inner()) {
                    return Err(branch_exists(address, live));
                }
                created?
            } else {
                self.mutate(
                    address,
                    call,
                    CallKind::Other,
                    || self.ctx.provider.update_branch(app, name, &settings),
                    effects,
                )
                .await?
            };
            facts.url = Some(branch_url(&live.display_name, &domain));
        }
        if let Some(package) = package {
            self.deploy_artifact(address, desired, package, facts)
                .await?;
        }
        Ok(())
    }

    /// The artifact zipped, and checked against what the plan digested and against Amplify's
    /// size limit.
    fn package(&self, artifact: &PlannedArtifact) -> Result<Package, ApplyError> {
        let package = self.ctx.artifacts.package(artifact)?;
        if package.digest != artifact.digest {
            return Err(ApplyError::ArtifactChanged {
                path: artifact.path.clone(),
            });
        }
        if package.size > AMPLIFY_MAX_ZIP_BYTES {
            return Err(ApplyError::ArtifactTooLarge {
                path: artifact.path.clone(),
                size: package.size,
                limit: AMPLIFY_MAX_ZIP_BYTES,
            });
        }
        Ok(package)
    }

    /// The manual-deployment flow: wait for an unfinished job, create a deployment, upload the
    /// zip, start it, poll the job. The digest is recorded only when the job succeeds.
    async fn deploy_artifact(
        &self,
        address: &Address,
        desired: &DesiredBranch,
        package: Package,
        facts: BranchFacts,
    ) -> Result<(), ApplyError> {
        let app = desired.app_id.as_str();
        let name = desired.branch_name.as_str();
        let Some(artifact) = &desired.artifact else {
            return Ok(());
        };
        // Amplify runs at most five jobs at once per account.
        let _permit = self.amplify_jobs.acquire().await?;
        let jobs = self
            .read(address, Call::ListJobs, || {
                self.ctx.provider.list_jobs(app, name)
            })
            .await?;
        let known: BTreeSet<String> = jobs.iter().map(|job| job.job_id.clone()).collect();
        let unfinished = jobs.into_iter().find(|job| !job.is_finished());
        // A job that an interrupted run of ours created and never started (it was cut before
        // `StartDeployment`) blocks every later deployment and will never finish: stop it.
        let ours_never_started = self
            .in_doubt(address)
            .is_some_and(Call::may_leave_job_unstarted)
            && unfinished
                .as_ref()
                .is_some_and(|job| job.status.is_waiting_to_start());
        if ours_never_started && let Some(job) = &unfinished {
            self.progress(
                address,
                format!(
                    "stopping job {}, created by an interrupted apply and never started",
                    job.job_id
                ),
            );
            self.unrecorded(address, Call::StopJob, || {
                self.ctx.provider.stop_job(app, name, &job.job_id)
            })
            .await?;
            // A stopped job is CANCELLING for a while, and Amplify refuses a new deployment
            // until it is CANCELLED.
            self.wait_for_job(address, app, name, &job.job_id, JobOwner::Earlier)
                .await?;
        } else if let Some(job) = unfinished {
            self.progress(
                address,
                format!("waiting for unfinished job {} ({})", job.job_id, job.status),
            );
            self.wait_for_job(address, app, name, &job.job_id, JobOwner::Earlier)
                .await?;
        }
        // A `CreateDeployment` whose answer was lost may have made a job: its upload URL went
        // with the answer, so the job cannot be used; it is found by `ListJobs` (a job not
        // listed before, never started), stopped and waited out of `CANCELLING`, and the call
        // is sent again.
        let stopped_lost_job = || async {
            let jobs = self.ctx.provider.list_jobs(app, name).await?;
            let lost = jobs
                .iter()
                .filter(|job| !known.contains(&job.job_id) && job.status.is_waiting_to_start());
            for job in lost {
                self.progress(
                    address,
                    format!(
                        "stopping job {}, made by a CreateDeployment whose answer was lost",
                        job.job_id
                    ),
                );
                self.ctx.provider.stop_job(app, name, &job.job_id).await?;
                self.job_cancelled(address, app, name, &job.job_id).await?;
            }
            Ok(None)
        };
        let upload = self
            .mutate_checked(
                address,
                Call::CreateAmplifyDeployment,
                None,
                CallKind::Other,
                || self.ctx.provider.create_amplify_deployment(app, name),
                stopped_lost_job,
                |_| Vec::new(),
            )
            .await?;
        let job = upload.job_id.as_str();
        self.progress(
            address,
            format!("uploading {} bytes for job {job}", package.size),
        );
        self.unrecorded(address, Call::Upload, || {
            self.ctx
                .provider
                .upload_zip(&upload.zip_upload_url, &package.path, package.size)
        })
        .await?;
        drop(package);
        // A start whose answer was lost is read back: sent again, AWS would refuse it (the job
        // has started). A job that left CREATED/PENDING was started.
        let started_already = || async {
            let status = self.ctx.provider.get_job(app, name, job).await?;
            Ok((!status.status.is_waiting_to_start()).then_some(()))
        };
        self.mutate_checked(
            address,
            Call::StartDeployment,
            None,
            CallKind::Other,
            || self.ctx.provider.start_deployment(app, name, job),
            started_already,
            |_| Vec::new(),
        )
        .await?;
        let ended = self
            .wait_for_job(address, app, name, job, JobOwner::Ours)
            .await?;
        if ended.status != JobStatus::Succeed {
            return Err(ApplyError::JobEnded {
                job: job.to_string(),
                status: ended.status,
                failures: ended.failures,
            });
        }
        let record = branch_record(
            desired,
            BranchFacts {
                artifact_digest: Some(artifact.digest.clone()),
                job_id: Some(job.to_string()),
                ..facts
            },
        )?;
        self.record(vec![resource_effect(address, record)])
    }

    /// A step of the deployment flow on Amplify: journaled like any mutating call, with no
    /// effect on the state (the digest is recorded once the job succeeds).
    async fn unrecorded<T, F, Fut>(
        &self,
        address: &Address,
        call: Call,
        send: F,
    ) -> Result<T, ApplyError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        self.mutate(address, call, CallKind::Other, send, |_| Vec::new())
            .await
    }

    /// Polls `GetJob` (unscheduled: inside a call's read-back, whose failures that call's
    /// retries cover) until a stopped job is `CANCELLED` (or otherwise final), within the job
    /// timeout.
    async fn job_cancelled(
        &self,
        address: &Address,
        app: &str,
        name: &str,
        job: &str,
    ) -> Result<(), ProviderError> {
        let deadline = Instant::now() + self.ctx.options.job_timeout;
        let mut round = 0;
        loop {
            let status = self.ctx.provider.get_job(app, name, job).await?;
            if status.is_finished() {
                return Ok(());
            }
            self.progress(address, format!("job {job} is {}", status.status));
            if Instant::now() >= deadline {
                return Err(ProviderError::new(
                    ErrorKind::Permanent,
                    None,
                    format!(
                        "job {job} is still {} after {}s; wait for it to finish, then apply again",
                        status.status,
                        self.ctx.options.job_timeout.as_secs()
                    ),
                ));
            }
            self.pause(round).await;
            round += 1;
        }
    }

    /// Polls `GetJob` until the job finishes or the job timeout passes.
    async fn wait_for_job(
        &self,
        address: &Address,
        app: &str,
        name: &str,
        job: &str,
        owner: JobOwner,
    ) -> Result<Job, ApplyError> {
        let deadline = Instant::now() + self.ctx.options.job_timeout;
        let mut last: Option<JobStatus> = None;
        let mut round = 0;
        loop {
            let status = self
                .read(address, Call::GetJob, || {
                    self.ctx.provider.get_job(app, name, job)
                })
                .await?;
            if status.is_finished() {
                return Ok(status);
            }
            if last.as_ref() != Some(&status.status) {
                self.progress(address, format!("job {job} is {}", status.status));
                last = Some(status.status.clone());
            }
            if Instant::now() >= deadline {
                return Err(ApplyError::JobTimeout {
                    owner,
                    app: app.to_string(),
                    branch: name.to_string(),
                    job: job.to_string(),
                    status: status.status,
                    timeout: self.ctx.options.job_timeout,
                });
            }
            self.pause(round).await;
            round += 1;
        }
    }

    /// `DeleteBranch`; a branch already gone from Amplify counts as deleted.
    pub(super) async fn delete_branch(
        &self,
        address: &Address,
        branch: &BranchState,
    ) -> Result<(), ApplyError> {
        self.mutate(
            address,
            Call::DeleteBranch,
            CallKind::Other,
            || async {
                already_gone(
                    self.ctx
                        .provider
                        .delete_branch(&branch.app_id, &branch.branch_name)
                        .await,
                )
            },
            |_| removed(address),
        )
        .await
    }
}

impl Run<'_> {
    /// The app's default domain, read with `GetApp` once a run however many of its branches
    /// change (concurrent changes wait for the one read).
    async fn app_domain(&self, address: &Address, app: &str) -> Result<String, ApplyError> {
        let cell = self
            .app_domains
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(app.to_string())
            .or_default()
            .clone();
        cell.get_or_try_init(|| async {
            let live = self
                .read(address, Call::GetApp, || self.ctx.provider.get_app(app))
                .await?;
            Ok(live.default_domain)
        })
        .await
        .cloned()
    }
}

/// A branch that exists in Amplify and no apply of this state made: refused, with what Amplify has.
fn branch_exists(address: &Address, live: LiveBranch) -> ApplyError {
    ApplyError::BranchExists(Box::new(ExistingBranch {
        address: address.clone(),
        branch_name: live.branch_name,
        stage: live.stage.unwrap_or_else(|| "NONE".to_string()),
        display_name: live.display_name,
        description: live.description.unwrap_or_default(),
    }))
}

/// Whether a branch found after a `CreateBranch` whose answer was lost is the one it made: its
/// settings are those sent (a branch someone else made is left to `CreateBranch`, which AWS
/// refuses, naming it).
fn made_as_sent(live: &LiveBranch, sent: &BranchSettings) -> bool {
    let text = |value: Option<&str>| value.filter(|text| !text.is_empty()).map(str::to_string);
    let stage = live.stage.as_deref().filter(|stage| *stage != "NONE");
    stage == sent.stage.map(|stage| stage.as_str())
        && text(live.description.as_deref()) == text(sent.description.as_deref())
        && text(live.framework.as_deref()) == text(sent.framework.as_deref())
        && live.environment == sent.environment.clone().unwrap_or_default()
        && live.basic_auth_enabled == matches!(sent.basic_auth, Some(Some(_)))
}

/// The record with the URL Amplify serves the branch at.
fn with_url(record: ResourceState, url: String) -> ResourceState {
    match record {
        ResourceState::Branch(branch) => ResourceState::Branch(BranchState {
            url: Some(url),
            ..branch
        }),
        other => other,
    }
}

#[cfg(test)]
mod tests;
