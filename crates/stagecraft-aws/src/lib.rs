//! stagecraft-aws: the AWS implementation of stagecraft's `Provider`, through the official SDK.
//!
//! This is the only crate that names AWS SDK types. [`AwsProvider`] makes one SDK call per
//! provider method (API Gateway for stages and canaries, Amplify for branches and manual
//! deployments, CloudWatch for the alarms that gate a rollout, plus one plain HTTP `PUT` for
//! the Amplify zip upload) and maps every failure to a
//! [`ProviderError`](stagecraft_core::provider::ProviderError) whose `kind` drives the engine's
//! own retry loop: the SDK's retries are disabled.
//!
//! [`S3Store`] is the small object store the S3 state backend is built on: reads with the ETag,
//! `If-Match` and `If-None-Match: *` writes, deletes.
//!
//! Nothing here logs or puts into an error message a variable value or a basic-auth credential.

mod amplify;
mod apigateway;
mod cloudwatch;
mod credentials;
mod errors;
mod iam;
mod region;
mod s3;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
pub use credentials::{CredentialsError, ResolvedCredentials, resolve_credentials};
pub use region::chain_region;
pub use s3::{S3Object, S3Store, StoreError};
use stagecraft_core::provider::{
    AmplifyUpload, BranchSettings, Job, LiveAlarm, LiveApp, LiveBranch, LiveDeployment, LiveStage,
    NewCanary, NewStage, PatchOp, Provider, ProviderResult,
};

/// How long to wait for a TCP/TLS connection to AWS.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one attempt of one AWS call may take.
pub const OPERATION_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the zip upload may wait for data from the upload server before giving up.
pub const UPLOAD_READ_TIMEOUT: Duration = Duration::from_secs(120);

/// Where and as whom to call AWS. Each `None` leaves the SDK's usual resolution in place
/// (environment, shared config and credentials files, instance metadata).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOptions {
    /// The region (`--region`), overriding `AWS_REGION` and the profile's region.
    pub region: Option<String>,
    /// The shared-config profile (`--profile`), overriding `AWS_PROFILE`.
    pub profile: Option<String>,
    /// An endpoint for every service (LocalStack, for example). Without it the standard
    /// `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` variables still apply.
    pub endpoint_url: Option<String>,
    /// Credentials already resolved ([`resolve_credentials`]); `None` lets the SDK's chain
    /// resolve them at the first call.
    pub credentials: Option<ResolvedCredentials>,
}

/// The AWS [`Provider`]: API Gateway, Amplify and CloudWatch clients plus an HTTP client for
/// zip uploads.
#[derive(Debug, Clone)]
pub struct AwsProvider {
    apigateway: aws_sdk_apigateway::Client,
    amplify: aws_sdk_amplify::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    http: reqwest::Client,
}

/// The SDK timeouts stagecraft uses.
fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(OPERATION_ATTEMPT_TIMEOUT)
        .build()
}

/// The HTTP client for the zip upload: rustls, a connect timeout, no overall timeout (the zip
/// may be large).
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(UPLOAD_READ_TIMEOUT)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// The configuration loader for `options`: the SDK's defaults, no SDK retries, stagecraft's
/// timeouts, then the explicit overrides.
fn config_loader(options: &AwsOptions) -> ConfigLoader {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeout_config());
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint_url) = &options.endpoint_url {
        loader = loader.endpoint_url(endpoint_url);
    }
    if let Some(credentials) = &options.credentials {
        loader = loader.credentials_provider(credentials.provider());
    }
    loader
}

impl AwsProvider {
    /// Loads the AWS configuration the standard way (`aws_config::defaults` with the latest
    /// behaviour version), applies `options`, disables the SDK's retries (the engine retries by
    /// [`ErrorKind`](stagecraft_core::provider::ErrorKind)) and sets the timeouts
    /// ([`CONNECT_TIMEOUT`], [`OPERATION_ATTEMPT_TIMEOUT`]).
    pub async fn from_env(options: &AwsOptions) -> AwsProvider {
        AwsProvider::from_sdk_config(&config_loader(options).load().await)
    }

    /// A provider whose clients are built from a loaded configuration.
    fn from_sdk_config(config: &SdkConfig) -> AwsProvider {
        AwsProvider {
            apigateway: aws_sdk_apigateway::Client::new(config),
            amplify: aws_sdk_amplify::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            http: http_client(),
        }
    }

    /// A provider over ready-made clients (mocked ones in tests). The clients are used as they
    /// are: give them `RetryConfig::disabled()` so that only the engine retries.
    pub fn from_clients(
        apigateway: aws_sdk_apigateway::Client,
        amplify: aws_sdk_amplify::Client,
        cloudwatch: aws_sdk_cloudwatch::Client,
    ) -> AwsProvider {
        AwsProvider {
            apigateway,
            amplify,
            cloudwatch,
            http: http_client(),
        }
    }

    /// The region the clients call, as resolved from the options, environment or profile;
    /// `None` when none could be found. Only the tests ask: the CLI decides the region itself
    /// (`region::chain_region`) and passes it in.
    #[cfg(test)]
    fn resolved_region(&self) -> Option<String> {
        self.apigateway
            .config()
            .region()
            .map(|r| r.as_ref().to_string())
    }
}

#[async_trait]
impl Provider for AwsProvider {
    async fn create_stage(&self, stage: &NewStage) -> ProviderResult<LiveStage> {
        apigateway::create_stage(&self.apigateway, stage).await
    }

    async fn create_snapshot(
        &self,
        rest_api_id: &str,
        description: &str,
    ) -> ProviderResult<String> {
        apigateway::create_snapshot(&self.apigateway, rest_api_id, description).await
    }

    async fn create_canary(&self, canary: &NewCanary) -> ProviderResult<String> {
        apigateway::create_canary(&self.apigateway, canary).await
    }

    async fn update_stage(
        &self,
        rest_api_id: &str,
        stage_name: &str,
        patch: &[PatchOp],
    ) -> ProviderResult<LiveStage> {
        apigateway::update_stage(&self.apigateway, rest_api_id, stage_name, patch).await
    }

    async fn get_stage(
        &self,
        rest_api_id: &str,
        stage_name: &str,
    ) -> ProviderResult<Option<LiveStage>> {
        apigateway::get_stage(&self.apigateway, rest_api_id, stage_name).await
    }

    async fn get_deployments(&self, rest_api_id: &str) -> ProviderResult<Vec<LiveDeployment>> {
        apigateway::get_deployments(&self.apigateway, rest_api_id).await
    }

    async fn get_stages(&self, rest_api_id: &str) -> ProviderResult<Vec<LiveStage>> {
        apigateway::get_stages(&self.apigateway, rest_api_id).await
    }

    async fn delete_stage(&self, rest_api_id: &str, stage_name: &str) -> ProviderResult<()> {
        apigateway::delete_stage(&self.apigateway, rest_api_id, stage_name).await
    }

    async fn create_branch(
        &self,
        app_id: &str,
        branch_name: &str,
        settings: &BranchSettings,
    ) -> ProviderResult<LiveBranch> {
        amplify::create_branch(&self.amplify, app_id, branch_name, settings).await
    }

    async fn update_branch(
        &self,
        app_id: &str,
        branch_name: &str,
        settings: &BranchSettings,
    ) -> ProviderResult<LiveBranch> {
        amplify::update_branch(&self.amplify, app_id, branch_name, settings).await
    }

    async fn get_app(&self, app_id: &str) -> ProviderResult<LiveApp> {
        amplify::get_app(&self.amplify, app_id).await
    }

    async fn get_branch(
        &self,
        app_id: &str,
        branch_name: &str,
    ) -> ProviderResult<Option<LiveBranch>> {
        amplify::get_branch(&self.amplify, app_id, branch_name).await
    }

    async fn list_branches(&self, app_id: &str) -> ProviderResult<Vec<LiveBranch>> {
        amplify::list_branches(&self.amplify, app_id).await
    }

    async fn delete_branch(&self, app_id: &str, branch_name: &str) -> ProviderResult<()> {
        amplify::delete_branch(&self.amplify, app_id, branch_name).await
    }

    async fn list_jobs(&self, app_id: &str, branch_name: &str) -> ProviderResult<Vec<Job>> {
        amplify::list_jobs(&self.amplify, app_id, branch_name).await
    }

    async fn create_amplify_deployment(
        &self,
        app_id: &str,
        branch_name: &str,
    ) -> ProviderResult<AmplifyUpload> {
        amplify::create_deployment(&self.amplify, app_id, branch_name).await
    }

    async fn upload_zip(&self, url: &str, zip_path: &Path, size: u64) -> ProviderResult<()> {
        amplify::upload_zip(&self.http, url, zip_path, size).await
    }

    async fn start_deployment(
        &self,
        app_id: &str,
        branch_name: &str,
        job_id: &str,
    ) -> ProviderResult<()> {
        amplify::start_deployment(&self.amplify, app_id, branch_name, job_id).await
    }

    async fn stop_job(&self, app_id: &str, branch_name: &str, job_id: &str) -> ProviderResult<()> {
        amplify::stop_job(&self.amplify, app_id, branch_name, job_id).await
    }

    async fn get_job(&self, app_id: &str, branch_name: &str, job_id: &str) -> ProviderResult<Job> {
        amplify::get_job(&self.amplify, app_id, branch_name, job_id).await
    }

    async fn describe_alarms(&self, names: &[String]) -> ProviderResult<Vec<LiveAlarm>> {
        cloudwatch::describe_alarms(&self.cloudwatch, names).await
    }
}
