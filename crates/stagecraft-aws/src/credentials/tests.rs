//! Credentials resolved once: the first ones handed out, then the chain; errors on one line.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::meta::credentials::CredentialsProviderChain;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;

use super::{CredentialsError, Primed, ResolvedCredentials, expired};

fn credentials(key: &str, expiry: Option<SystemTime>) -> Credentials {
    Credentials::new(key, "secret", None, expiry, "test")
}

fn resolved(first: Credentials, chain: Credentials) -> ResolvedCredentials {
    ResolvedCredentials(Arc::new(Primed {
        first: Mutex::new(Some(first)),
        chain: CredentialsProviderChain::first_try("Static", chain),
    }))
}

#[tokio::test]
async fn the_resolved_credentials_are_given_once_then_the_chain_is_asked() {
    let resolved = resolved(credentials("FIRST", None), credentials("AGAIN", None));
    let provider = resolved.provider();
    let first = provider.provide_credentials().await.unwrap();
    assert_eq!(first.access_key_id(), "FIRST");
    let again = provider.provide_credentials().await.unwrap();
    assert_eq!(again.access_key_id(), "AGAIN");
}

#[tokio::test]
async fn expired_first_credentials_are_not_given_out() {
    let past = SystemTime::now() - Duration::from_secs(60);
    let resolved = resolved(credentials("OLD", Some(past)), credentials("NEW", None));
    let got = resolved.provider().provide_credentials().await.unwrap();
    assert_eq!(got.access_key_id(), "NEW");
    assert!(expired(&credentials("OLD", Some(past))));
    assert!(!expired(&credentials(
        "FRESH",
        Some(SystemTime::now() + Duration::from_secs(3600))
    )));
    assert!(!expired(&credentials("LONG_TERM", None)));
}

#[test]
fn every_error_is_one_line_saying_what_to_do() {
    for (error, says) in [
        (CredentialsError::Missing, "aws sso login"),
        (CredentialsError::Expired, "aws sso login"),
        (
            CredentialsError::Failed("profile `x` is not defined".into()),
            "AWS_PROFILE",
        ),
        (CredentialsError::TimedOut, "AWS_PROFILE"),
    ] {
        let line = error.to_string();
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains(says), "{line}");
    }
    assert_eq!(
        CredentialsError::Missing.to_string(),
        "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run aws sso login"
    );
}

#[test]
fn debug_never_shows_the_keys() {
    let resolved = resolved(
        credentials("AKIDSHOWN", None),
        credentials("AKIDSHOWN", None),
    );
    assert_eq!(format!("{resolved:?}"), "ResolvedCredentials");
}
