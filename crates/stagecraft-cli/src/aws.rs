//! AWS for one command: where and as whom stagecraft calls it, decided once, and the runtime and
//! provider made from that.
//!
//! Credentials are resolved once, by the SDK's chain (`stagecraft_aws::resolve_credentials`,
//! its instance-metadata probe bounded), the first time a command needs an AWS client: before
//! apply shows a plan for approval, before `--refresh` or `import` reads, before an S3 state is
//! read. None found, or expired, is one line saying what to do (`main.rs` prints it alone),
//! within two seconds.
//!
//! The region is `--region`, else the configuration's `[project] region`, else the AWS
//! configuration chain's (`AWS_REGION` or `AWS_DEFAULT_REGION`, the profile's `region`, instance
//! metadata), the chain being asked at most once and only when neither of the first two decides.
//! That one value is the region the plan writes into `invoke_url`s, the region the provider's
//! clients call, and the S3 state bucket's region unless `[state] region` names the bucket's
//! own. (Before, `plan` read only the flag, the project and `AWS_REGION`, while `apply` asked
//! the SDK, so a region that only the profile named gave the two different `invoke_url`s.)

use std::sync::OnceLock;

use miette::{IntoDiagnostic, Report};
use stagecraft_aws::{AwsOptions, AwsProvider, CredentialsError, ResolvedCredentials};
use stagecraft_config::Config;
use stagecraft_core::apply::{ApplyOptions, Lane, PacedReads};

use crate::settings::AwsFlags;

/// No usable AWS credentials: shown as its one line (`main.rs`), with nothing else.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{0}")]
#[diagnostic(code(aws::credentials))]
pub struct CredentialsFailed(pub CredentialsError);

/// The AWS settings of one command, the region resolved once.
#[derive(Debug)]
pub struct AwsSettings {
    /// The region `--region` or `[project] region` decides, if one does.
    decided: Option<String>,
    /// `--profile`.
    profile: Option<String>,
    /// `--endpoint-url`.
    endpoint_url: Option<String>,
    /// The AWS configuration chain's answer, once asked.
    chain: OnceLock<Option<String>>,
    /// The credentials, once resolved.
    credentials: OnceLock<Result<ResolvedCredentials, CredentialsError>>,
}

impl AwsSettings {
    /// The settings for a command over `config`.
    pub fn new(flags: &AwsFlags, config: &Config) -> AwsSettings {
        AwsSettings::with_region(flags, config.project.region.clone())
    }

    /// The AWS side of a command with no configuration (`generate`): `--region`, else
    /// `default_region`, else the AWS chain.
    pub fn with_region(flags: &AwsFlags, default_region: Option<String>) -> AwsSettings {
        AwsSettings {
            decided: flags.region.clone().or(default_region),
            profile: flags.profile.clone(),
            endpoint_url: flags.endpoint_url.clone(),
            chain: OnceLock::new(),
            credentials: OnceLock::new(),
        }
    }

    /// The region: `--region`, else `[project] region`, else the AWS configuration chain's;
    /// `None` when none names one.
    pub fn region(&self) -> Option<String> {
        if let Some(region) = &self.decided {
            return Some(region.clone());
        }
        self.chain
            .get_or_init(|| chain_region(self.profile.as_deref()))
            .clone()
    }

    /// The lane this command's calls count against for AWS's account quotas. stagecraft does
    /// not ask AWS which account its credentials belong to (that would be one more call and
    /// one more permission), so the credentials' source stands for the account: the profile
    /// (`--profile`, else `AWS_PROFILE`, else the default chain). One command, one lane.
    pub fn lane(&self) -> Lane {
        let account = self
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
            .unwrap_or_else(|| "default".to_string());
        Lane {
            account,
            region: self.region().unwrap_or_default(),
        }
    }

    /// The credentials of the SDK's chain, resolved at the first call only.
    pub fn credentials(&self) -> Result<ResolvedCredentials, CredentialsFailed> {
        self.credentials
            .get_or_init(|| {
                let region = self.region();
                on_own_runtime(|| {
                    stagecraft_aws::resolve_credentials(self.profile.as_deref(), region.as_deref())
                })
                .unwrap_or(Err(CredentialsError::Missing))
            })
            .clone()
            .map_err(CredentialsFailed)
    }

    /// The options for the provider's clients: the resolved region, given explicitly so that
    /// the SDK does not decide again, and the resolved credentials.
    pub fn options(&self) -> Result<AwsOptions, CredentialsFailed> {
        self.options_in(None)
    }

    /// The options for clients of a resource in `region` when it is given (the state bucket's
    /// `[state] region`), else in the resolved region.
    pub fn options_in(&self, region: Option<&String>) -> Result<AwsOptions, CredentialsFailed> {
        Ok(AwsOptions {
            region: region.cloned().or_else(|| self.region()),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
            credentials: Some(self.credentials()?),
        })
    }
}

/// Asks the AWS configuration chain, on a thread and runtime of its own so that it works
/// whether or not the caller is inside a runtime.
fn chain_region(profile: Option<&str>) -> Option<String> {
    on_own_runtime(|| stagecraft_aws::chain_region(profile)).flatten()
}

/// Runs `work` to completion on a thread and runtime of its own (so that it works whether or
/// not the caller is inside a runtime); `None` when no runtime could be made.
fn on_own_runtime<F, Fut, T>(work: F) -> Option<T>
where
    F: FnOnce() -> Fut + Send,
    Fut: std::future::Future<Output = T>,
    T: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                Some(runtime.block_on(work()))
            })
            .join()
            .ok()
            .flatten()
    })
}

/// A runtime for the AWS calls of one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, Report> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .into_diagnostic()
}

/// The AWS provider for these settings; credentials are resolved first (once).
pub fn provider(
    aws: &AwsSettings,
    runtime: &tokio::runtime::Runtime,
) -> Result<AwsProvider, CredentialsFailed> {
    let options = aws.options()?;
    tracing::trace!(
        region = ?options.region,
        profile = ?options.profile,
        endpoint = ?options.endpoint_url,
        "making the AWS clients"
    );
    Ok(runtime.block_on(AwsProvider::from_env(&options)))
}

/// Reads through `provider` outside an apply (`--refresh`, `import`, `[[import]]` targets),
/// paced by the lane's bucket and retried as apply's calls are (the configuration's `[aws]`).
pub fn paced_reads<'a>(
    aws: &AwsSettings,
    config: &Config,
    provider: &'a AwsProvider,
) -> PacedReads<'a> {
    PacedReads::new(provider, &ApplyOptions::new(&config.aws, 1, aws.lane()))
}
