//! The emulator's in-memory model of Amplify apps, branches and jobs, the job state machine, and
//! the JSON the Amplify API returns for each of them.
//!
//! Job progress is computed lazily from timestamps: a job records when it was started (or
//! stopped) and what its outcome will be, and every read derives the status, the steps and the
//! times from the clock. No background task drives a job, so nothing is left running when the
//! emulator stops, and a read always sees a consistent state.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Cursor};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{Value, json};

/// The account id the emulator puts in every ARN.
pub(crate) const ACCOUNT_ID: &str = "123456789012";
/// The region the emulator puts in every ARN and domain.
pub(crate) const REGION: &str = "us-east-1";
/// AWS's quota of apps per region.
pub(crate) const MAX_APPS: usize = 25;
/// AWS's quota of branches per app.
pub(crate) const MAX_BRANCHES_PER_APP: usize = 50;
/// The only step of a manual deployment job.
const DEPLOY_STEP: &str = "DEPLOY";

/// Everything the emulator knows, behind one mutex.
#[derive(Debug)]
pub(crate) struct State {
    /// Apps by id.
    pub apps: BTreeMap<String, App>,
    /// Upload tokens (the last path segment of a `zipUploadUrl`) to the job they belong to.
    pub uploads: HashMap<String, JobKey>,
    /// Requests received, by operation name.
    pub calls: BTreeMap<String, u64>,
    /// Failure reasons to give to jobs started from now on, by (app id, branch name).
    pub failures: HashMap<(String, String), String>,
    /// How long each step of the job state machine takes.
    pub job_timing: Duration,
    /// `http://127.0.0.1:PORT`, to build upload and log URLs.
    pub endpoint: String,
    /// Faults armed per operation.
    pub faults: super::faults::Faults,
    /// Faults injected so far, by [`super::Fault::name`].
    pub injected: BTreeMap<String, u64>,
    /// How `x-amzn-errortype` is written.
    pub error_type_form: super::ErrorTypeForm,
}

/// Names one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobKey {
    pub app_id: String,
    pub branch: String,
    pub job_id: u64,
}

/// An Amplify app (only what a manual-deployment app needs).
#[derive(Debug)]
pub(crate) struct App {
    pub id: String,
    pub name: String,
    pub description: String,
    pub platform: String,
    pub environment_variables: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub create_time: SystemTime,
    pub update_time: SystemTime,
    pub branches: BTreeMap<String, Branch>,
}

/// An Amplify branch with its jobs.
#[derive(Debug)]
pub(crate) struct Branch {
    pub name: String,
    pub description: String,
    /// `NONE` when the branch was created without a stage, as AWS reports it.
    pub stage: String,
    pub display_name: String,
    pub framework: String,
    pub enable_notification: bool,
    pub enable_auto_build: bool,
    pub enable_skew_protection: bool,
    pub enable_performance_mode: bool,
    pub enable_basic_auth: bool,
    pub basic_auth_credentials: Option<String>,
    pub enable_pull_request_preview: bool,
    pub pull_request_environment_name: Option<String>,
    pub build_spec: Option<String>,
    pub backend_environment_arn: Option<String>,
    pub compute_role_arn: Option<String>,
    pub ttl: String,
    pub environment_variables: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub create_time: SystemTime,
    pub update_time: SystemTime,
    /// Jobs by id; ids count up from 1 per branch, as on AWS.
    pub jobs: BTreeMap<u64, Job>,
}

/// One manual deployment job.
#[derive(Debug)]
pub(crate) struct Job {
    pub id: u64,
    pub create_time: SystemTime,
    /// The bytes last PUT to the job's `zipUploadUrl`.
    pub zip: Option<Bytes>,
    pub progress: Progress,
}

/// Where a job is in its life; the status at a given instant is derived from it.
#[derive(Debug, Clone)]
pub(crate) enum Progress {
    /// Created by CreateDeployment, waiting for StartDeployment: `PENDING`, unfinished.
    Created,
    /// Started at `at`: `PENDING` for one step, `RUNNING` for one step, then the outcome.
    Started { at: SystemTime, outcome: Outcome },
    /// Stopped at `at`: `CANCELLING` for one step, then `CANCELLED`.
    Stopped {
        at: SystemTime,
        started: Option<SystemTime>,
    },
}

/// How a started job ends; decided when it starts.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Succeed,
    Failed(String),
}

/// The Amplify job statuses the emulator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobStatus {
    Pending,
    Running,
    Succeed,
    Failed,
    Cancelling,
    Cancelled,
}

impl JobStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "PENDING",
            JobStatus::Running => "RUNNING",
            JobStatus::Succeed => "SUCCEED",
            JobStatus::Failed => "FAILED",
            JobStatus::Cancelling => "CANCELLING",
            JobStatus::Cancelled => "CANCELLED",
        }
    }

    /// True once the job can no longer change.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobStatus::Succeed | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

/// A job as seen at one instant.
#[derive(Debug, Clone)]
pub(crate) struct JobView {
    pub status: JobStatus,
    pub start_time: SystemTime,
    pub end_time: Option<SystemTime>,
    pub steps: Vec<StepView>,
}

/// A job step as seen at one instant.
#[derive(Debug, Clone)]
pub(crate) struct StepView {
    pub status: JobStatus,
    pub start_time: SystemTime,
    pub end_time: SystemTime,
    pub status_reason: Option<String>,
}

/// `at + n * step`, or `None` when that lies beyond what `SystemTime` can hold (never reached).
fn after(at: SystemTime, n: u32, step: Duration) -> Option<SystemTime> {
    step.checked_mul(n).and_then(|d| at.checked_add(d))
}

/// True when the instant `t` (if any) has been reached at `now`.
fn reached(t: Option<SystemTime>, now: SystemTime) -> bool {
    t.is_some_and(|t| now >= t)
}

impl Job {
    /// The job's status, times and steps at `now`, for steps of length `step`.
    pub fn view(&self, now: SystemTime, step: Duration) -> JobView {
        match &self.progress {
            Progress::Created => JobView {
                status: JobStatus::Pending,
                start_time: self.create_time,
                end_time: None,
                steps: Vec::new(),
            },
            Progress::Started { at, outcome } => {
                let running_at = after(*at, 1, step);
                let done_at = after(*at, 2, step);
                match (running_at, done_at) {
                    (Some(running_at), Some(done_at)) if now >= done_at => {
                        let (status, status_reason) = match outcome {
                            Outcome::Succeed => (JobStatus::Succeed, None),
                            Outcome::Failed(reason) => (JobStatus::Failed, Some(reason.clone())),
                        };
                        JobView {
                            status,
                            start_time: *at,
                            end_time: Some(done_at),
                            steps: vec![StepView {
                                status,
                                start_time: running_at,
                                end_time: done_at,
                                status_reason,
                            }],
                        }
                    }
                    (Some(running_at), _) if now >= running_at => JobView {
                        status: JobStatus::Running,
                        start_time: *at,
                        end_time: None,
                        // The SDK requires a step's endTime; a running step reports its start.
                        steps: vec![StepView {
                            status: JobStatus::Running,
                            start_time: running_at,
                            end_time: running_at,
                            status_reason: None,
                        }],
                    },
                    _ => JobView {
                        status: JobStatus::Pending,
                        start_time: *at,
                        end_time: None,
                        steps: Vec::new(),
                    },
                }
            }
            Progress::Stopped { at, started } => {
                let cancelled_at = after(*at, 1, step);
                let cancelled = reached(cancelled_at, now);
                let status = if cancelled {
                    JobStatus::Cancelled
                } else {
                    JobStatus::Cancelling
                };
                // The deploy step shows only if it had begun running before the stop.
                let running_at = started.and_then(|s| after(s, 1, step));
                let steps = match running_at {
                    Some(running_at) if running_at <= *at => vec![StepView {
                        status,
                        start_time: running_at,
                        end_time: *at,
                        status_reason: Some("The job was stopped by StopJob.".to_owned()),
                    }],
                    _ => Vec::new(),
                };
                JobView {
                    status,
                    start_time: started.unwrap_or(self.create_time),
                    end_time: if cancelled { cancelled_at } else { None },
                    steps,
                }
            }
        }
    }
}

impl Branch {
    /// A new branch named `name` with AWS's defaults.
    pub fn new(name: &str, now: SystemTime) -> Branch {
        Branch {
            name: name.to_owned(),
            description: String::new(),
            stage: "NONE".to_owned(),
            display_name: default_display_name(name),
            framework: String::new(),
            enable_notification: false,
            enable_auto_build: true,
            enable_skew_protection: false,
            enable_performance_mode: false,
            enable_basic_auth: false,
            basic_auth_credentials: None,
            enable_pull_request_preview: false,
            pull_request_environment_name: None,
            build_spec: None,
            backend_environment_arn: None,
            compute_role_arn: None,
            ttl: "5".to_owned(),
            environment_variables: BTreeMap::new(),
            tags: BTreeMap::new(),
            create_time: now,
            update_time: now,
            jobs: BTreeMap::new(),
        }
    }

    /// The newest job that has not finished at `now`, if any.
    pub fn unfinished_job(&self, now: SystemTime, step: Duration) -> Option<&Job> {
        self.jobs
            .values()
            .rev()
            .find(|job| !job.view(now, step).status.is_finished())
    }

    /// The newest job that succeeded by `now`: the one whose artifact the branch serves.
    fn active_job_id(&self, now: SystemTime, step: Duration) -> Option<u64> {
        self.jobs
            .values()
            .rev()
            .find(|job| job.view(now, step).status == JobStatus::Succeed)
            .map(|job| job.id)
    }
}

/// Amplify derives a branch's display name (its subdomain) from the name; `/` cannot appear in a
/// host name, so it becomes `-`.
fn default_display_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Seconds since the epoch with millisecond precision, as Amplify writes timestamps.
pub(crate) fn epoch_seconds(t: SystemTime) -> f64 {
    let millis = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    millis as f64 / 1000.0
}

/// Percent-encodes everything outside RFC 3986's unreserved set, as the SDK does for a label.
pub(crate) fn encode_label(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    for byte in label.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The app's ARN.
fn app_arn(app_id: &str) -> String {
    format!("arn:aws:amplify:{REGION}:{ACCOUNT_ID}:apps/{app_id}")
}

/// The app as the API returns it (`App` shape, every member the SDK requires present).
pub(crate) fn app_json(app: &App) -> Value {
    let mut value = json!({
        "appId": app.id,
        "appArn": app_arn(&app.id),
        "name": app.name,
        "description": app.description,
        "repository": "",
        "platform": app.platform,
        "createTime": epoch_seconds(app.create_time),
        "updateTime": epoch_seconds(app.update_time),
        "environmentVariables": app.environment_variables,
        "defaultDomain": format!("{}.amplifyapp.com", app.id),
        "enableBranchAutoBuild": false,
        "enableBranchAutoDeletion": false,
        "enableBasicAuth": false,
        "enableAutoBranchCreation": false,
    });
    if !app.tags.is_empty() {
        value["tags"] = json!(app.tags);
    }
    value
}

/// The branch as the API returns it (`Branch` shape, every member the SDK requires present).
pub(crate) fn branch_json(app_id: &str, branch: &Branch, now: SystemTime, step: Duration) -> Value {
    let active_job_id = branch
        .active_job_id(now, step)
        .map(|id| id.to_string())
        .unwrap_or_default();
    let mut value = json!({
        "branchArn": format!("{}/branches/{}", app_arn(app_id), branch.name),
        "branchName": branch.name,
        "description": branch.description,
        "stage": branch.stage,
        "displayName": branch.display_name,
        "enableNotification": branch.enable_notification,
        "createTime": epoch_seconds(branch.create_time),
        "updateTime": epoch_seconds(branch.update_time),
        "environmentVariables": branch.environment_variables,
        "enableAutoBuild": branch.enable_auto_build,
        "enableSkewProtection": branch.enable_skew_protection,
        "customDomains": [],
        "framework": branch.framework,
        "activeJobId": active_job_id,
        "totalNumberOfJobs": branch.jobs.len().to_string(),
        "enableBasicAuth": branch.enable_basic_auth,
        "enablePerformanceMode": branch.enable_performance_mode,
        "ttl": branch.ttl,
        "enablePullRequestPreview": branch.enable_pull_request_preview,
    });
    let optional = [
        ("basicAuthCredentials", &branch.basic_auth_credentials),
        ("buildSpec", &branch.build_spec),
        (
            "pullRequestEnvironmentName",
            &branch.pull_request_environment_name,
        ),
        ("backendEnvironmentArn", &branch.backend_environment_arn),
        ("computeRoleArn", &branch.compute_role_arn),
    ];
    for (key, field) in optional {
        if let Some(text) = field {
            value[key] = json!(text);
        }
    }
    if !branch.tags.is_empty() {
        value["tags"] = json!(branch.tags);
    }
    value
}

/// The job's `JobSummary` at `now`.
pub(crate) fn job_summary_json(key: &JobKey, job: &Job, now: SystemTime, step: Duration) -> Value {
    let view = job.view(now, step);
    summary_from_view(key, job, &view)
}

fn summary_from_view(key: &JobKey, job: &Job, view: &JobView) -> Value {
    let mut value = json!({
        "jobArn": format!(
            "{}/branches/{}/jobs/{:010}",
            app_arn(&key.app_id),
            key.branch,
            job.id
        ),
        "jobId": job.id.to_string(),
        "commitId": "HEAD",
        "commitMessage": "Manual deployment",
        "commitTime": epoch_seconds(job.create_time),
        "startTime": epoch_seconds(view.start_time),
        "status": view.status.as_str(),
        "jobType": "MANUAL",
    });
    if let Some(end) = view.end_time {
        value["endTime"] = json!(epoch_seconds(end));
    }
    value
}

/// The URL at which the emulator serves a job's log.
pub(crate) fn log_url(endpoint: &str, key: &JobKey) -> String {
    format!(
        "{endpoint}/_logs/{}/{}/{}",
        encode_label(&key.app_id),
        encode_label(&key.branch),
        key.job_id
    )
}

/// The job's `Job` shape (summary and steps) at `now`.
pub(crate) fn job_json(
    endpoint: &str,
    key: &JobKey,
    job: &Job,
    now: SystemTime,
    step: Duration,
) -> Value {
    let view = job.view(now, step);
    let steps: Vec<Value> = view
        .steps
        .iter()
        .map(|s| {
            let mut value = json!({
                "stepName": DEPLOY_STEP,
                "startTime": epoch_seconds(s.start_time),
                "endTime": epoch_seconds(s.end_time),
                "status": s.status.as_str(),
                "logUrl": log_url(endpoint, key),
            });
            if let Some(reason) = &s.status_reason {
                value["statusReason"] = json!(reason);
            }
            value
        })
        .collect();
    json!({ "summary": summary_from_view(key, job, &view), "steps": steps })
}

/// The plain-text log of a job at `now`.
pub(crate) fn job_log(key: &JobKey, job: &Job, now: SystemTime, step: Duration) -> String {
    let view = job.view(now, step);
    let mut log = format!(
        "Job {} of branch {} of app {} (manual deployment)\nstatus: {}\n",
        job.id,
        key.branch,
        key.app_id,
        view.status.as_str()
    );
    for s in &view.steps {
        log.push_str(&format!("step {}: {}\n", DEPLOY_STEP, s.status.as_str()));
        if let Some(reason) = &s.status_reason {
            log.push_str(&format!("reason: {reason}\n"));
        }
    }
    log
}

/// Checks a deployment artifact as Amplify's deploy step would: a readable zip with `index.html`
/// at its root. Returns the failure reason otherwise.
pub(crate) fn check_artifact(zip_bytes: &[u8]) -> Result<(), String> {
    let not_a_zip = |err: &dyn std::fmt::Display| {
        format!("The deployment artifact is not a valid zip file: {err}.")
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).map_err(|e| not_a_zip(&e))?;
    // Read every entry so that corrupt data (bad CRC, truncated deflate stream) fails the job too.
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|e| not_a_zip(&e))?;
        io::copy(&mut entry, &mut io::sink()).map_err(|e| not_a_zip(&e))?;
    }
    let names: Vec<&str> = archive.file_names().collect();
    let at_root =
        |name: &str| name.trim_start_matches("./").trim_start_matches('/') == "index.html";
    if names.iter().any(|name| at_root(name)) {
        return Ok(());
    }
    let nested = names
        .iter()
        .filter(|name| name.ends_with("/index.html"))
        .min_by_key(|name| name.len());
    Err(match nested {
        Some(path) => format!(
            "index.html was not found at the root of the zip file (found {path}). Zip the contents \
             of the build output folder, not the folder itself."
        ),
        None => "index.html was not found at the root of the zip file.".to_owned(),
    })
}
