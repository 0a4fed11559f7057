//! A branch's calls on Amplify: `CreateBranch`/`UpdateBranch`, `DeleteBranch`, and the manual
//! artifact deployment (wait for an unfinished job, `CreateDeployment`, upload the zip,
//! `StartDeployment`, poll `GetJob`).

use std::future::Future;

use tokio::time::Instant;

use stagecraft_config::Address;

use super::effects::{BranchFacts, branch_record, removed, resource_effect};
use super::error::{ApplyError, JobOwner};
use super::journal::Call;
use super::patch::{self, ClearBranch};
use super::protocol::already_gone;
use super::schedule::CallKind;
use super::{Package, Run};
use crate::plan::{Change, DesiredBranch, PlannedArtifact, branch_url};
use crate::provider::{Job, JobStatus, ProviderError};
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
                if facts.artifact_digest.as_deref() != Some(artifact.digest.as_str()) =>
            {
                Some(self.package(artifact)?)
            }
            _ => None,
        };
        // A branch not yet recorded is created, unless an interrupted create made it already.
        let call = match &current {
            None => {
                let exists = self.in_doubt(address).is_some()
                    && self
                        .read(address, Call::GetBranch, || {
                            self.ctx.provider.get_branch(app, name)
                        })
                        .await?
                        .is_some();
                let call = if exists {
                    Call::UpdateBranch
                } else {
                    Call::CreateBranch
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
            let domain = self
                .read(address, Call::GetApp, || self.ctx.provider.get_app(app))
                .await?
                .default_domain;
            let record = branch_record(desired, facts.clone())?;
            let live = self
                .mutate(
                    address,
                    call,
                    CallKind::Other,
                    || async {
                        if call == Call::CreateBranch {
                            self.ctx.provider.create_branch(app, name, &settings).await
                        } else {
                            self.ctx.provider.update_branch(app, name, &settings).await
                        }
                    },
                    |live| {
                        let url = branch_url(&live.display_name, &domain);
                        vec![resource_effect(address, with_url(record.clone(), url))]
                    },
                )
                .await?;
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
        let upload = self
            .unrecorded(address, Call::CreateAmplifyDeployment, || {
                self.ctx.provider.create_amplify_deployment(app, name)
            })
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
        self.unrecorded(address, Call::StartDeployment, || {
            self.ctx.provider.start_deployment(app, name, job)
        })
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
