//! Amplify calls: branches and manual (zip) deployments.

use std::collections::HashMap;
use std::path::Path;

use aws_sdk_amplify::Client;
use aws_sdk_amplify::types::{Branch, Job as SdkJob, JobStatus as SdkJobStatus, JobSummary, Stage};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use stagecraft_core::provider::{
    AmplifyStage, AmplifyUpload, BranchSettings, ErrorKind, Job, JobStatus, LiveApp, LiveBranch,
    ProviderResult,
};

use crate::apigateway::non_empty;
use crate::errors::{from_amplify_sdk, incomplete, upload_file, upload_status, upload_transport};

/// The environment map that clears a branch's variables: an empty map may be ignored by AWS,
/// so (like the Terraform provider) one entry with an empty name and value is sent.
fn clearing_environment() -> HashMap<String, String> {
    HashMap::from([(String::new(), String::new())])
}

/// `user:password`, base64-encoded, as Amplify wants `basicAuthCredentials`.
pub(crate) fn basic_auth_credentials(user: &str, password: &str) -> String {
    BASE64.encode(format!("{user}:{password}"))
}

/// An SDK branch as a [`LiveBranch`]. The clearing entry (empty name) is not a variable.
fn live_branch(b: &Branch) -> LiveBranch {
    LiveBranch {
        branch_name: b.branch_name().to_string(),
        stage: non_empty(Some(b.stage().as_str())),
        description: non_empty(Some(b.description())),
        framework: non_empty(Some(b.framework())),
        environment: b
            .environment_variables()
            .iter()
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        basic_auth_enabled: b.enable_basic_auth(),
        active_job_id: non_empty(Some(b.active_job_id())),
        display_name: b.display_name().to_string(),
    }
}

/// A configured Amplify stage as the SDK's.
pub(crate) fn sdk_stage(stage: AmplifyStage) -> Stage {
    match stage {
        AmplifyStage::Production => Stage::Production,
        AmplifyStage::Beta => Stage::Beta,
        AmplifyStage::Development => Stage::Development,
        AmplifyStage::Experimental => Stage::Experimental,
        AmplifyStage::PullRequest => Stage::PullRequest,
    }
}

/// A job summary as a [`Job`] (no step details: those come from `GetJob`).
fn job_of(s: &JobSummary) -> Job {
    Job {
        job_id: s.job_id().to_string(),
        status: job_status(s.status()),
        failures: Vec::new(),
    }
}

/// The SDK's job status as the engine's; one this version does not know keeps its spelling.
pub(crate) fn job_status(status: &SdkJobStatus) -> JobStatus {
    match status {
        SdkJobStatus::Created => JobStatus::Created,
        SdkJobStatus::Pending => JobStatus::Pending,
        SdkJobStatus::Provisioning => JobStatus::Provisioning,
        SdkJobStatus::Running => JobStatus::Running,
        SdkJobStatus::Cancelling => JobStatus::Cancelling,
        SdkJobStatus::Succeed => JobStatus::Succeed,
        SdkJobStatus::Failed => JobStatus::Failed,
        SdkJobStatus::Cancelled => JobStatus::Cancelled,
        other => JobStatus::Unknown(other.as_str().to_string()),
    }
}

/// One line per step that did not succeed: `<stepName>: <statusReason> (log: <logUrl>)`.
fn step_failures(job: &SdkJob) -> Vec<String> {
    job.steps()
        .iter()
        .filter(|step| *step.status() != SdkJobStatus::Succeed)
        .map(|step| {
            let reason = step
                .status_reason()
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| step.status().as_str());
            match step.log_url().filter(|u| !u.is_empty()) {
                Some(log) => format!("{}: {reason} (log: {log})", step.step_name()),
                None => format!("{}: {reason}", step.step_name()),
            }
        })
        .collect()
}

/// `GetApp`: the app's default domain, under which its branches are served.
pub(crate) async fn get_app(client: &Client, app_id: &str) -> ProviderResult<LiveApp> {
    const OP: &str = "GetApp";
    tracing::debug!(app_id, "{OP}");
    let out = client
        .get_app()
        .app_id(app_id)
        .send()
        .await
        .map_err(|e| from_amplify_sdk(OP, e))?;
    let app = out.app().ok_or_else(|| incomplete(OP, "app"))?;
    let default_domain =
        non_empty(Some(app.default_domain())).ok_or_else(|| incomplete(OP, "defaultDomain"))?;
    Ok(LiveApp {
        app_id: app.app_id().to_string(),
        default_domain,
    })
}

/// `CreateBranch`.
pub(crate) async fn create_branch(
    client: &Client,
    app_id: &str,
    branch_name: &str,
    settings: &BranchSettings,
) -> ProviderResult<LiveBranch> {
    const OP: &str = "CreateBranch";
    tracing::debug!(app_id, branch_name, "{OP}");
    let mut req = client
        .create_branch()
        .app_id(app_id)
        .branch_name(branch_name)
        .set_stage(settings.stage.map(sdk_stage))
        .set_description(settings.description.clone())
        .set_framework(settings.framework.clone());
    if let Some(env) = settings.environment.as_ref().filter(|e| !e.is_empty()) {
        req = req.set_environment_variables(Some(
            env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        ));
    }
    let (enable, credentials) = basic_auth_fields(settings);
    req = req
        .set_enable_basic_auth(enable)
        .set_basic_auth_credentials(credentials);
    let out = req.send().await.map_err(|e| from_amplify_sdk(OP, e))?;
    out.branch()
        .map(live_branch)
        .ok_or_else(|| incomplete(OP, "branch"))
}

/// `enableBasicAuth` and `basicAuthCredentials` for `CreateBranch` and `UpdateBranch`: set when
/// basic auth is configured, `false` alone when it is turned off, nothing when unchanged.
fn basic_auth_fields(settings: &BranchSettings) -> (Option<bool>, Option<String>) {
    match &settings.basic_auth {
        Some(Some((user, password))) => (Some(true), Some(basic_auth_credentials(user, password))),
        Some(None) => (Some(false), None),
        None => (None, None),
    }
}

/// `UpdateBranch`, sending only the fields that are `Some`.
pub(crate) async fn update_branch(
    client: &Client,
    app_id: &str,
    branch_name: &str,
    settings: &BranchSettings,
) -> ProviderResult<LiveBranch> {
    const OP: &str = "UpdateBranch";
    tracing::debug!(app_id, branch_name, "{OP}");
    let mut req = client
        .update_branch()
        .app_id(app_id)
        .branch_name(branch_name)
        .set_stage(settings.stage.map(sdk_stage))
        .set_description(settings.description.clone())
        .set_framework(settings.framework.clone());
    if let Some(env) = &settings.environment {
        let map = if env.is_empty() {
            clearing_environment()
        } else {
            env.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        req = req.set_environment_variables(Some(map));
    }
    let (enable, credentials) = basic_auth_fields(settings);
    req = req
        .set_enable_basic_auth(enable)
        .set_basic_auth_credentials(credentials);
    let out = req.send().await.map_err(|e| from_amplify_sdk(OP, e))?;
    out.branch()
        .map(live_branch)
        .ok_or_else(|| incomplete(OP, "branch"))
}

/// `GetBranch`; `None` when AWS answers NotFound (the branch, or the whole app, is missing).
pub(crate) async fn get_branch(
    client: &Client,
    app_id: &str,
    branch_name: &str,
) -> ProviderResult<Option<LiveBranch>> {
    const OP: &str = "GetBranch";
    tracing::debug!(app_id, branch_name, "{OP}");
    match client
        .get_branch()
        .app_id(app_id)
        .branch_name(branch_name)
        .send()
        .await
    {
        Ok(out) => out
            .branch()
            .map(|b| Some(live_branch(b)))
            .ok_or_else(|| incomplete(OP, "branch")),
        Err(e) => {
            let err = from_amplify_sdk(OP, e);
            if err.kind == ErrorKind::NotFound {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

/// `ListBranches`: every page (`nextToken`), in the order Amplify lists them.
pub(crate) async fn list_branches(
    client: &Client,
    app_id: &str,
) -> ProviderResult<Vec<LiveBranch>> {
    const OP: &str = "ListBranches";
    tracing::debug!(app_id, "{OP}");
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_branches()
            .app_id(app_id)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| from_amplify_sdk(OP, e))?;
        out.extend(page.branches().iter().map(live_branch));
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(out),
        }
    }
}

/// `DeleteBranch`.
pub(crate) async fn delete_branch(
    client: &Client,
    app_id: &str,
    branch_name: &str,
) -> ProviderResult<()> {
    const OP: &str = "DeleteBranch";
    tracing::debug!(app_id, branch_name, "{OP}");
    client
        .delete_branch()
        .app_id(app_id)
        .branch_name(branch_name)
        .send()
        .await
        .map_err(|e| from_amplify_sdk(OP, e))?;
    Ok(())
}

/// `ListJobs` (first page: the most recent jobs), newest first.
pub(crate) async fn list_jobs(
    client: &Client,
    app_id: &str,
    branch_name: &str,
) -> ProviderResult<Vec<Job>> {
    const OP: &str = "ListJobs";
    tracing::debug!(app_id, branch_name, "{OP}");
    let out = client
        .list_jobs()
        .app_id(app_id)
        .branch_name(branch_name)
        .send()
        .await
        .map_err(|e| from_amplify_sdk(OP, e))?;
    let mut summaries: Vec<&JobSummary> = out.job_summaries().iter().collect();
    // AWS lists newest first already; a stable sort keeps its order among equal times.
    summaries.sort_by(|a, b| b.start_time().cmp(a.start_time()));
    Ok(summaries.into_iter().map(job_of).collect())
}

/// `CreateDeployment` for a manual deployment: the job and the zip upload URL.
pub(crate) async fn create_deployment(
    client: &Client,
    app_id: &str,
    branch_name: &str,
) -> ProviderResult<AmplifyUpload> {
    const OP: &str = "CreateDeployment";
    tracing::debug!(app_id, branch_name, "{OP}");
    let out = client
        .create_deployment()
        .app_id(app_id)
        .branch_name(branch_name)
        .send()
        .await
        .map_err(|e| from_amplify_sdk(OP, e))?;
    let job_id = non_empty(out.job_id()).ok_or_else(|| incomplete(OP, "jobId"))?;
    let zip_upload_url =
        non_empty(Some(out.zip_upload_url())).ok_or_else(|| incomplete(OP, "zipUploadUrl"))?;
    Ok(AmplifyUpload {
        job_id,
        zip_upload_url,
    })
}

/// Plain, unsigned HTTP `PUT` of the zip file to the presigned URL, streamed from disk with its
/// `Content-Length` (S3 refuses a presigned `PUT` sent chunked).
pub(crate) async fn upload_zip(
    http: &reqwest::Client,
    url: &str,
    zip_path: &Path,
    size: u64,
) -> ProviderResult<()> {
    tracing::debug!(bytes = size, "PUT zip to the upload URL");
    let file = tokio::fs::File::open(zip_path)
        .await
        .map_err(|e| upload_file(zip_path, &e))?;
    let response = http
        .put(url)
        .header(reqwest::header::CONTENT_TYPE, "application/zip")
        .header(reqwest::header::CONTENT_LENGTH, size)
        .body(reqwest::Body::from(file))
        .send()
        .await
        .map_err(upload_transport)?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    // The body only explains the failure: a failure to read it leaves the status alone.
    let body = response.text().await.unwrap_or_default();
    Err(upload_status(
        status.as_u16(),
        status.canonical_reason(),
        &body,
    ))
}

/// `StartDeployment` of a job created by `CreateDeployment`.
pub(crate) async fn start_deployment(
    client: &Client,
    app_id: &str,
    branch_name: &str,
    job_id: &str,
) -> ProviderResult<()> {
    const OP: &str = "StartDeployment";
    tracing::debug!(app_id, branch_name, job_id, "{OP}");
    client
        .start_deployment()
        .app_id(app_id)
        .branch_name(branch_name)
        .job_id(job_id)
        .send()
        .await
        .map_err(|e| from_amplify_sdk(OP, e))?;
    Ok(())
}

/// `StopJob`: cancels a job (one created and never started blocks every later deployment).
pub(crate) async fn stop_job(
    client: &Client,
    app_id: &str,
    branch_name: &str,
    job_id: &str,
) -> ProviderResult<()> {
    const OP: &str = "StopJob";
    tracing::debug!(app_id, branch_name, job_id, "{OP}");
    client
        .stop_job()
        .app_id(app_id)
        .branch_name(branch_name)
        .job_id(job_id)
        .send()
        .await
        .map_err(|e| from_amplify_sdk(OP, e))?;
    Ok(())
}

/// `GetJob`: the job's status and, once it failed or was cancelled, its unsuccessful steps.
pub(crate) async fn get_job(
    client: &Client,
    app_id: &str,
    branch_name: &str,
    job_id: &str,
) -> ProviderResult<Job> {
    const OP: &str = "GetJob";
    tracing::debug!(app_id, branch_name, job_id, "{OP}");
    let out = client
        .get_job()
        .app_id(app_id)
        .branch_name(branch_name)
        .job_id(job_id)
        .send()
        .await
        .map_err(|e| from_amplify_sdk(OP, e))?;
    let job = out.job().ok_or_else(|| incomplete(OP, "job"))?;
    let summary = job.summary().ok_or_else(|| incomplete(OP, "job summary"))?;
    let status = job_status(summary.status());
    let failures = if matches!(status, JobStatus::Failed | JobStatus::Cancelled) {
        step_failures(job)
    } else {
        Vec::new()
    };
    Ok(Job {
        job_id: non_empty(Some(summary.job_id())).unwrap_or_else(|| job_id.to_string()),
        status,
        failures,
    })
}

#[cfg(test)]
mod tests;
