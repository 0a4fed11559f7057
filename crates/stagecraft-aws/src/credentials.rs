//! Credentials resolved once, before anything is shown for approval or read from AWS, by the
//! SDK's default chain in its usual order (environment, shared profile with SSO and assumed
//! roles, web identity, container, instance metadata) with the instance-metadata probe bounded.
//!
//! Off EC2 the default chain's probe of the instance metadata service (IMDS) waits a second per
//! attempt, four attempts for the token and again for the credentials, and the SDK asked again
//! for every call: an apply without credentials took 20 s of retries before failing. Here IMDS
//! gets one attempt with [`IMDS_TIMEOUT`] to connect and to answer (on EC2 it answers in
//! milliseconds), and an IMDS that does not answer means "no instance credentials", so that the
//! chain ends with the one error a person can act on ([`CredentialsError::Missing`]).
//!
//! The credentials found are handed to every client as they are (no second resolution); once
//! they expire the clients ask the same chain again.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_config::Region;
use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::imds;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError as SdkCredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};

/// How long the instance metadata service gets to accept a connection and to answer each
/// request, with one attempt.
pub const IMDS_TIMEOUT: Duration = Duration::from_millis(500);

/// How long resolving credentials may take in all (an SSO or assume-role exchange included).
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(15);

/// Why no usable credentials were found; its `Display` is one line saying what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialsError {
    /// No source of the chain has any.
    Missing,
    /// The credentials found expired.
    Expired,
    /// A source is configured but failed (a profile that does not exist, an expired SSO
    /// session, a refused assume-role): its message.
    Failed(String),
    /// The chain took longer than [`RESOLVE_TIMEOUT`].
    TimedOut,
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialsError::Missing => f.write_str(
                "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run aws sso login",
            ),
            CredentialsError::Expired => f.write_str(
                "the AWS credentials have expired: run aws sso login (or renew the keys in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN)",
            ),
            CredentialsError::Failed(message) => write!(
                f,
                "AWS credentials could not be loaded: {message} (check AWS_PROFILE and ~/.aws/config, or run aws sso login)"
            ),
            CredentialsError::TimedOut => write!(
                f,
                "AWS credentials were not resolved within {} s: check AWS_PROFILE and ~/.aws/config, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
                RESOLVE_TIMEOUT.as_secs()
            ),
        }
    }
}

impl std::error::Error for CredentialsError {}

/// Credentials the chain resolved, for the clients: given out as they are while they last,
/// then asked of the chain again. Compared by identity.
#[derive(Clone)]
pub struct ResolvedCredentials(Arc<Primed>);

impl fmt::Debug for ResolvedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the keys.
        f.write_str("ResolvedCredentials")
    }
}

impl PartialEq for ResolvedCredentials {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ResolvedCredentials {}

impl ResolvedCredentials {
    /// The provider the clients are given.
    pub(crate) fn provider(&self) -> SharedCredentialsProvider {
        SharedCredentialsProvider::new(PrimedProvider(self.0.clone()))
    }
}

/// The first credentials, then the chain.
#[derive(Debug)]
struct Primed {
    first: Mutex<Option<Credentials>>,
    chain: CredentialsProviderChain,
}

#[derive(Debug)]
struct PrimedProvider(Arc<Primed>);

impl ProvideCredentials for PrimedProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let first = self
            .0
            .first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match first {
            Some(credentials) if !expired(&credentials) => {
                future::ProvideCredentials::ready(Ok(credentials))
            }
            _ => future::ProvideCredentials::new(self.0.chain.provide_credentials()),
        }
    }
}

fn expired(credentials: &Credentials) -> bool {
    credentials
        .expiry()
        .is_some_and(|expiry| expiry <= SystemTime::now())
}

/// The IMDS client of the chain: one attempt, [`IMDS_TIMEOUT`] to connect and to answer.
pub(crate) fn bounded_imds() -> imds::Client {
    imds::Client::builder()
        .max_attempts(1)
        .connect_timeout(IMDS_TIMEOUT)
        .read_timeout(IMDS_TIMEOUT)
        .operation_timeout(IMDS_TIMEOUT * 3)
        .build()
}

/// Instance credentials, where an instance metadata service that cannot answer means there
/// are none (rather than an error that would hide "no credentials found").
#[derive(Debug)]
struct InstanceCredentials(ImdsCredentialsProvider);

impl ProvideCredentials for InstanceCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            match self.0.provide_credentials().await {
                Ok(credentials) => Ok(credentials),
                Err(SdkCredentialsError::CredentialsNotLoaded(context)) => {
                    Err(SdkCredentialsError::CredentialsNotLoaded(context))
                }
                Err(other) => Err(SdkCredentialsError::not_loaded(format!(
                    "the instance metadata service did not answer: {}",
                    crate::errors::causes(&other)
                ))),
            }
        })
    }
}

/// The default chain's sources, in its order, for `profile` (else `AWS_PROFILE`) in `region`.
fn chain(profile: Option<&str>, region: Option<Region>) -> CredentialsProviderChain {
    let conf = ProviderConfig::default().with_region(region);
    let mut profile_provider = ProfileFileCredentialsProvider::builder().configure(&conf);
    if let Some(profile) = profile {
        profile_provider = profile_provider.profile_name(profile);
    }
    let imds_provider = ImdsCredentialsProvider::builder()
        .configure(&conf)
        .imds_client(bounded_imds())
        .build();
    CredentialsProviderChain::first_try(
        "Environment",
        EnvironmentVariableCredentialsProvider::new(),
    )
    .or_else("Profile", profile_provider.build())
    .or_else(
        "WebIdentityToken",
        WebIdentityTokenCredentialsProvider::builder()
            .configure(&conf)
            .build(),
    )
    .or_else(
        "EcsContainer",
        EcsCredentialsProvider::builder().configure(&conf).build(),
    )
    .or_else("Ec2InstanceMetadata", InstanceCredentials(imds_provider))
}

/// Resolves credentials once for `profile` in `region`: what the clients will use, or the
/// one-line reason there are none.
pub async fn resolve_credentials(
    profile: Option<&str>,
    region: Option<&str>,
) -> Result<ResolvedCredentials, CredentialsError> {
    let chain = chain(profile, region.map(|r| Region::new(r.to_string())));
    let resolved = tokio::time::timeout(RESOLVE_TIMEOUT, chain.provide_credentials())
        .await
        .map_err(|_| CredentialsError::TimedOut)?;
    let credentials = resolved.map_err(|error| match error {
        SdkCredentialsError::CredentialsNotLoaded(_) => CredentialsError::Missing,
        other => CredentialsError::Failed(one_line(&crate::errors::causes(&other))),
    })?;
    if expired(&credentials) {
        return Err(CredentialsError::Expired);
    }
    Ok(ResolvedCredentials(Arc::new(Primed {
        first: Mutex::new(Some(credentials)),
        chain,
    })))
}

/// A message on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
