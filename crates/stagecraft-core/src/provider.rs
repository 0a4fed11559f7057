//! The boundary between the engine and the clouds: one method per AWS call that stagecraft
//! makes. The apply executor drives it; `stagecraft-aws` implements it with the official SDK and
//! is the only crate that names SDK types. Errors keep AWS's code and message.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use async_trait::async_trait;
/// The configuration's enums that reach AWS as they are, re-exported so that a provider needs
/// no other crate to name them.
pub use stagecraft_config::{AmplifyStage, CacheSize};

/// What kind of failure a provider call met; decides whether the executor retries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 429 `TooManyRequestsException` and friends (Amplify's `LimitExceededException`, Amplify
    /// having no other way to say it): retry with backoff.
    Throttled,
    /// API Gateway's `LimitExceededException`: retried, but only a few times (it also signals
    /// hard quotas).
    LimitExceeded,
    /// 5xx, timeouts, dropped connections: retry with backoff.
    Transient,
    /// `ConflictException` whose message says to try again later: retry with backoff.
    Conflict,
    /// The resource does not exist (404 `NotFoundException`).
    NotFound,
    /// Anything else: fail the resource at once.
    Permanent,
}

impl ErrorKind {
    /// Whether the executor should try the call again.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled
                | ErrorKind::LimitExceeded
                | ErrorKind::Transient
                | ErrorKind::Conflict
        )
    }
}

/// A failed provider call, with AWS's error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    /// How to treat it.
    pub kind: ErrorKind,
    /// AWS's error code (`BadRequestException`), when there was one.
    pub code: Option<String>,
    /// AWS's message, or a description of the transport failure.
    pub message: String,
    /// How long AWS asked to wait before trying again (its `Retry-After` header), if it said.
    pub retry_after: Option<std::time::Duration>,
}

impl ProviderError {
    /// A new error.
    pub fn new(kind: ErrorKind, code: Option<&str>, message: impl Into<String>) -> ProviderError {
        ProviderError {
            kind,
            code: code.map(str::to_string),
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error, with AWS's hint of how long to wait before trying again.
    pub fn with_retry_after(mut self, retry_after: Option<std::time::Duration>) -> ProviderError {
        self.retry_after = retry_after;
        self
    }
}

impl ProviderError {
    /// Whether AWS refused the call with a `ConflictException` that is not worth retrying: on
    /// `CreateStage`, a stage of that name exists already.
    pub fn is_conflict(&self) -> bool {
        self.kind == ErrorKind::Permanent && self.code.as_deref() == Some("ConflictException")
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ProviderError {}

/// The result of a provider call.
pub type ProviderResult<T> = Result<T, ProviderError>;

/// One operation of an API Gateway `UpdateStage` patch list. Values are strings, as AWS wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchOp {
    /// `replace path value`
    Replace {
        /// e.g. `/variables/backend` (a `/` in a key written `~1`).
        path: String,
        /// The new value, as a string.
        value: String,
    },
    /// `remove path`
    Remove {
        /// The path removed.
        path: String,
    },
    /// `copy from -> path` (promotion only).
    Copy {
        /// The source path.
        from: String,
        /// The destination path.
        path: String,
    },
}

/// The settings of a new stage for `CreateStage`, made from a snapshot already taken.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStage {
    /// The REST API id.
    pub rest_api_id: String,
    /// The stage name.
    pub stage_name: String,
    /// The deployment (the snapshot of its revision) the stage serves.
    pub deployment_id: String,
    /// The stage's description.
    pub stage_description: Option<String>,
    /// Stage variables, values in clear (sensitive ones included: they go to AWS only).
    pub variables: BTreeMap<String, String>,
    /// Cache size, when the cache is enabled.
    pub cache_size: Option<CacheSize>,
    /// X-Ray tracing.
    pub tracing: bool,
    /// The canary the stage is created with, if any (`CreateStage`'s `canarySettings`).
    pub canary: Option<StageCanary>,
}

/// A canary as `CreateStage` takes it: unlike `CreateDeployment`'s, it names its deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct StageCanary {
    /// The canary's deployment (the snapshot of its revision).
    pub deployment_id: String,
    /// Share of traffic, 0 to 100.
    pub percent_traffic: f64,
    /// Variable overrides in clear.
    pub variable_overrides: BTreeMap<String, String>,
    /// Whether canary requests use the stage cache.
    pub use_stage_cache: bool,
}

/// A deployment (a snapshot of a REST API) as `GetDeployments` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LiveDeployment {
    /// Its id.
    pub id: String,
    /// Its description (stagecraft writes the revision and its marker here).
    pub description: Option<String>,
}

/// The canary part of a `CreateDeployment` that deploys a canary onto an existing stage.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCanary {
    /// The REST API id.
    pub rest_api_id: String,
    /// The existing stage.
    pub stage_name: String,
    /// The deployment's description (the canary's revision).
    pub deployment_description: String,
    /// Share of traffic, 0 to 100.
    pub percent_traffic: f64,
    /// Variable overrides in clear.
    pub variable_overrides: BTreeMap<String, String>,
    /// Whether canary requests use the stage cache.
    pub use_stage_cache: bool,
}

/// A stage as API Gateway reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveStage {
    /// The stage name.
    pub stage_name: String,
    /// The deployment it serves.
    pub deployment_id: Option<String>,
    /// Its description.
    pub description: Option<String>,
    /// X-Ray tracing.
    pub tracing: bool,
    /// Stage variables.
    pub variables: BTreeMap<String, String>,
    /// Whether a cache cluster is enabled.
    pub cache_enabled: bool,
    /// The cache cluster size, when reported.
    pub cache_size: Option<String>,
    /// The cache cluster status.
    pub cache_status: Option<CacheStatus>,
    /// The canary, if one is live.
    pub canary: Option<LiveCanary>,
}

/// A stage's canary as API Gateway reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveCanary {
    /// The canary's deployment (AWS fills it).
    pub deployment_id: Option<String>,
    /// Share of traffic.
    pub percent_traffic: f64,
    /// Variable overrides.
    pub variable_overrides: BTreeMap<String, String>,
    /// Whether canary requests use the stage cache.
    pub use_stage_cache: bool,
}

/// The settings of an Amplify branch, for `CreateBranch` or the changed part for `UpdateBranch`
/// (`None` = not sent, so not changed).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BranchSettings {
    /// The Amplify stage.
    pub stage: Option<AmplifyStage>,
    /// The description.
    pub description: Option<String>,
    /// The framework label.
    pub framework: Option<String>,
    /// The full environment map, in clear.
    pub environment: Option<BTreeMap<String, String>>,
    /// `Some(Some((user, password)))` enables basic auth; `Some(None)` disables it.
    pub basic_auth: Option<Option<(String, String)>>,
}

/// A branch as Amplify reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiveBranch {
    /// The branch name.
    pub branch_name: String,
    /// Its stage as reported (may be `NONE`).
    pub stage: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// The framework label.
    pub framework: Option<String>,
    /// The environment variables.
    pub environment: BTreeMap<String, String>,
    /// Whether basic auth is on.
    pub basic_auth_enabled: bool,
    /// The job last deployed, if any.
    pub active_job_id: Option<String>,
    /// The display name: the branch's subdomain under the app's default domain (AWS derives it
    /// from the name, `feature/x` -> `feature-x`, unless it was set).
    pub display_name: String,
}

/// An Amplify app as `GetApp` reports it (only what stagecraft reads).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LiveApp {
    /// The app id.
    pub app_id: String,
    /// The app's default domain (`<app id>.amplifyapp.com`): a branch is served at
    /// `https://<displayName>.<defaultDomain>`.
    pub default_domain: String,
}

/// An Amplify job as Amplify reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The job id.
    pub job_id: String,
    /// Where it is.
    pub status: JobStatus,
    /// For a finished job that failed: each failed step's reason and log URL.
    pub failures: Vec<String>,
}

impl Job {
    /// Whether the job has reached a final status.
    pub fn is_finished(&self) -> bool {
        self.status.is_finished()
    }
}

/// An Amplify job's status. Shown as AWS spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobStatus {
    /// `CREATED`: a manual deployment's job, waiting for `StartDeployment`.
    Created,
    /// `PENDING`.
    Pending,
    /// `PROVISIONING`.
    Provisioning,
    /// `RUNNING`.
    Running,
    /// `CANCELLING`.
    Cancelling,
    /// `SUCCEED`: final.
    Succeed,
    /// `FAILED`: final.
    Failed,
    /// `CANCELLED`: final.
    Cancelled,
    /// A status this version does not know, as AWS spelled it (never final).
    Unknown(String),
}

impl JobStatus {
    /// The status AWS spells `text`.
    pub fn parse(text: &str) -> JobStatus {
        match text {
            "CREATED" => JobStatus::Created,
            "PENDING" => JobStatus::Pending,
            "PROVISIONING" => JobStatus::Provisioning,
            "RUNNING" => JobStatus::Running,
            "CANCELLING" => JobStatus::Cancelling,
            "SUCCEED" => JobStatus::Succeed,
            "FAILED" => JobStatus::Failed,
            "CANCELLED" => JobStatus::Cancelled,
            other => JobStatus::Unknown(other.to_string()),
        }
    }

    /// AWS's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            JobStatus::Created => "CREATED",
            JobStatus::Pending => "PENDING",
            JobStatus::Provisioning => "PROVISIONING",
            JobStatus::Running => "RUNNING",
            JobStatus::Cancelling => "CANCELLING",
            JobStatus::Succeed => "SUCCEED",
            JobStatus::Failed => "FAILED",
            JobStatus::Cancelled => "CANCELLED",
            JobStatus::Unknown(text) => text,
        }
    }

    /// Whether the status is final.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            JobStatus::Succeed | JobStatus::Failed | JobStatus::Cancelled
        )
    }

    /// Whether the job has not begun running: a manual deployment's job before (or right at)
    /// `StartDeployment`.
    pub fn is_waiting_to_start(&self) -> bool {
        matches!(self, JobStatus::Pending | JobStatus::Created)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stage's cache cluster status. Shown as AWS spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    /// `CREATE_IN_PROGRESS`.
    CreateInProgress,
    /// `AVAILABLE`.
    Available,
    /// `DELETE_IN_PROGRESS`.
    DeleteInProgress,
    /// `NOT_AVAILABLE`.
    NotAvailable,
    /// `FLUSH_IN_PROGRESS`.
    FlushInProgress,
    /// A status this version does not know, as AWS spelled it (waited on, like any change).
    Unknown(String),
}

impl CacheStatus {
    /// The status AWS spells `text`.
    pub fn parse(text: &str) -> CacheStatus {
        match text {
            "CREATE_IN_PROGRESS" => CacheStatus::CreateInProgress,
            "AVAILABLE" => CacheStatus::Available,
            "DELETE_IN_PROGRESS" => CacheStatus::DeleteInProgress,
            "NOT_AVAILABLE" => CacheStatus::NotAvailable,
            "FLUSH_IN_PROGRESS" => CacheStatus::FlushInProgress,
            other => CacheStatus::Unknown(other.to_string()),
        }
    }

    /// AWS's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            CacheStatus::CreateInProgress => "CREATE_IN_PROGRESS",
            CacheStatus::Available => "AVAILABLE",
            CacheStatus::DeleteInProgress => "DELETE_IN_PROGRESS",
            CacheStatus::NotAvailable => "NOT_AVAILABLE",
            CacheStatus::FlushInProgress => "FLUSH_IN_PROGRESS",
            CacheStatus::Unknown(text) => text,
        }
    }

    /// Whether a cache change counts as settled: an enabled or resized cache only once it is
    /// `AVAILABLE`; a disabled one once it is `NOT_AVAILABLE`, or `DELETE_IN_PROGRESS` (a cache
    /// can stay there indefinitely, an AWS fault, and it serves nothing any more).
    pub fn is_settled(&self, enabled: bool) -> bool {
        if enabled {
            matches!(self, CacheStatus::Available)
        } else {
            matches!(
                self,
                CacheStatus::NotAvailable | CacheStatus::DeleteInProgress
            )
        }
    }
}

impl fmt::Display for CacheStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A new Amplify deployment: its job and where to upload the zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmplifyUpload {
    /// The job created for the deployment.
    pub job_id: String,
    /// The presigned URL to PUT the zip to.
    pub zip_upload_url: String,
}

/// A CloudWatch alarm's state value (`StateValue`). Shown as AWS spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmState {
    /// `OK`.
    Ok,
    /// `ALARM`: a rollout gated by the alarm rolls back.
    Alarm,
    /// `INSUFFICIENT_DATA`: not an alarm (a metric with no data yet).
    InsufficientData,
    /// A state this version does not know, as AWS spelled it (not an alarm).
    Unknown(String),
}

impl AlarmState {
    /// The state AWS spells `text`.
    pub fn parse(text: &str) -> AlarmState {
        match text {
            "OK" => AlarmState::Ok,
            "ALARM" => AlarmState::Alarm,
            "INSUFFICIENT_DATA" => AlarmState::InsufficientData,
            other => AlarmState::Unknown(other.to_string()),
        }
    }

    /// AWS's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
            AlarmState::Unknown(text) => text,
        }
    }

    /// Whether the alarm is firing.
    pub fn is_alarm(&self) -> bool {
        matches!(self, AlarmState::Alarm)
    }
}

impl fmt::Display for AlarmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A CloudWatch alarm (metric or composite) as `DescribeAlarms` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveAlarm {
    /// `AlarmName`.
    pub name: String,
    /// `StateValue`.
    pub state: AlarmState,
    /// `StateReason`: CloudWatch's words for why the alarm is in its state.
    pub reason: String,
    /// `StateUpdatedTimestamp`: when the alarm last changed state (AWS always reports it; an
    /// alarm whose state changed since a rollout's last check may have been in `ALARM` in
    /// between, so the bake counts only from that change).
    pub state_updated: Option<crate::state::Timestamp>,
}

/// Every AWS call stagecraft makes.
#[async_trait]
pub trait Provider: Send + Sync {
    /// `CreateStage` from an existing deployment, with its settings; returns the new stage.
    /// A stage of that name that already exists is AWS's `ConflictException`
    /// ([`ProviderError::is_conflict`]).
    async fn create_stage(&self, stage: &NewStage) -> ProviderResult<LiveStage>;
    /// `CreateDeployment` without a stage: a snapshot; returns the deployment id.
    async fn create_snapshot(&self, rest_api_id: &str, description: &str)
    -> ProviderResult<String>;
    /// `CreateDeployment` with `canarySettings` on an existing stage; returns the deployment id.
    async fn create_canary(&self, canary: &NewCanary) -> ProviderResult<String>;
    /// `UpdateStage` with an ordered patch list; returns the stage after the change.
    async fn update_stage(
        &self,
        rest_api_id: &str,
        stage_name: &str,
        patch: &[PatchOp],
    ) -> ProviderResult<LiveStage>;
    /// `GetStage`; `None` when the stage does not exist.
    async fn get_stage(
        &self,
        rest_api_id: &str,
        stage_name: &str,
    ) -> ProviderResult<Option<LiveStage>>;
    /// `GetDeployments`: every deployment of an API, all pages read.
    async fn get_deployments(&self, rest_api_id: &str) -> ProviderResult<Vec<LiveDeployment>>;
    /// `GetStages`: every stage of an API.
    async fn get_stages(&self, rest_api_id: &str) -> ProviderResult<Vec<LiveStage>>;
    /// `DeleteStage`.
    async fn delete_stage(&self, rest_api_id: &str, stage_name: &str) -> ProviderResult<()>;

    /// `GetApp`.
    async fn get_app(&self, app_id: &str) -> ProviderResult<LiveApp>;
    /// `ListBranches`: every branch of an app, all pages read (`stagecraft generate`).
    async fn list_branches(&self, app_id: &str) -> ProviderResult<Vec<LiveBranch>>;
    /// `CreateBranch`.
    async fn create_branch(
        &self,
        app_id: &str,
        branch_name: &str,
        settings: &BranchSettings,
    ) -> ProviderResult<LiveBranch>;
    /// `UpdateBranch` with only the fields set.
    async fn update_branch(
        &self,
        app_id: &str,
        branch_name: &str,
        settings: &BranchSettings,
    ) -> ProviderResult<LiveBranch>;
    /// `GetBranch`; `None` when it does not exist.
    async fn get_branch(
        &self,
        app_id: &str,
        branch_name: &str,
    ) -> ProviderResult<Option<LiveBranch>>;
    /// `DeleteBranch`.
    async fn delete_branch(&self, app_id: &str, branch_name: &str) -> ProviderResult<()>;
    /// `ListJobs`, newest first.
    async fn list_jobs(&self, app_id: &str, branch_name: &str) -> ProviderResult<Vec<Job>>;
    /// `CreateDeployment` for a manual deployment.
    async fn create_amplify_deployment(
        &self,
        app_id: &str,
        branch_name: &str,
    ) -> ProviderResult<AmplifyUpload>;
    /// Plain HTTP `PUT` of the zip file at `zip_path` (`size` bytes long, sent as
    /// `Content-Length`) to the presigned URL, streamed from disk: an artifact may be gigabytes.
    /// Each call reads the file anew, so a retry sends the whole zip again.
    async fn upload_zip(&self, url: &str, zip_path: &Path, size: u64) -> ProviderResult<()>;
    /// `StartDeployment`.
    async fn start_deployment(
        &self,
        app_id: &str,
        branch_name: &str,
        job_id: &str,
    ) -> ProviderResult<()>;
    /// `StopJob`.
    async fn stop_job(&self, app_id: &str, branch_name: &str, job_id: &str) -> ProviderResult<()>;
    /// `GetJob`.
    async fn get_job(&self, app_id: &str, branch_name: &str, job_id: &str) -> ProviderResult<Job>;

    /// CloudWatch `DescribeAlarms` of the alarms named (metric and composite alarms, every
    /// page read, in batches of at most 100 names, AWS's limit). An alarm that does not exist
    /// is absent from the answer (AWS does not refuse the call).
    async fn describe_alarms(&self, names: &[String]) -> ProviderResult<Vec<LiveAlarm>>;
}

#[cfg(test)]
mod tests;
