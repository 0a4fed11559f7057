//! AWS for one command: where and as whom stagecraft calls it, decided once, and the runtime and
//! provider made from that.
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
use stagecraft_aws::{AwsOptions, AwsProvider};
use stagecraft_config::Config;

use crate::settings::AwsFlags;

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
}

impl AwsSettings {
    /// The settings for a command over `config`.
    pub fn new(flags: &AwsFlags, config: &Config) -> AwsSettings {
        AwsSettings {
            decided: flags
                .region
                .clone()
                .or_else(|| config.project.region.clone()),
            profile: flags.profile.clone(),
            endpoint_url: flags.endpoint_url.clone(),
            chain: OnceLock::new(),
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

    /// The options for the provider's clients: the resolved region, given explicitly so that
    /// the SDK does not decide again.
    pub fn options(&self) -> AwsOptions {
        self.options_in(None)
    }

    /// The options for clients of a resource in `region` when it is given (the state bucket's
    /// `[state] region`), else in the resolved region.
    pub fn options_in(&self, region: Option<&String>) -> AwsOptions {
        AwsOptions {
            region: region.cloned().or_else(|| self.region()),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

/// Asks the AWS configuration chain, on a thread and runtime of its own so that it works
/// whether or not the caller is inside a runtime.
fn chain_region(profile: Option<&str>) -> Option<String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                runtime.block_on(stagecraft_aws::chain_region(profile))
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

/// The AWS provider for these settings.
pub fn provider(aws: &AwsSettings, runtime: &tokio::runtime::Runtime) -> AwsProvider {
    let options = aws.options();
    tracing::trace!(
        region = ?options.region,
        profile = ?options.profile,
        endpoint = ?options.endpoint_url,
        "making the AWS clients"
    );
    runtime.block_on(AwsProvider::from_env(&options))
}
