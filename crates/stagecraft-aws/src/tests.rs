//! Building the provider from the environment: overrides, no SDK retries, timeouts, endpoints.
#![allow(clippy::unwrap_used)]

use aws_types::os_shim_internal::{Env, Fs};
use stagecraft_core::provider::{ErrorKind, LiveStage, Provider};

use crate::test_support::{TestServer, raw_response};
use crate::{AwsOptions, AwsProvider, CONNECT_TIMEOUT, OPERATION_ATTEMPT_TIMEOUT, config_loader};

/// A provider loaded like `from_env`, but from the given environment variables, no profile
/// files and test credentials.
async fn provider_with_env(options: &AwsOptions, env: &[(&str, &str)]) -> AwsProvider {
    provider_with_files(options, env, &[]).await
}

/// A provider loaded like `from_env`, from the given environment variables and files.
async fn provider_with_files(
    options: &AwsOptions,
    env: &[(&str, &str)],
    files: &[(&str, &str)],
) -> AwsProvider {
    let config = config_loader(options)
        .env(Env::from_slice(env))
        .fs(Fs::from_slice(files))
        .test_credentials()
        .load()
        .await;
    AwsProvider::from_sdk_config(&config)
}

const STAGE_JSON: &str = r#"{"stageName":"prod","deploymentId":"d1","variables":{"k":"v"},"cacheClusterEnabled":false,"tracingEnabled":true}"#;

fn options(region: &str) -> AwsOptions {
    AwsOptions {
        region: Some(region.into()),
        ..AwsOptions::default()
    }
}

#[tokio::test]
async fn from_env_applies_region_disables_retries_and_sets_timeouts() {
    let provider = AwsProvider::from_env(&options("eu-west-3")).await;
    assert_eq!(provider.resolved_region().as_deref(), Some("eu-west-3"));
    for (retry, timeout) in [
        (
            provider.apigateway.config().retry_config(),
            provider.apigateway.config().timeout_config(),
        ),
        (
            provider.amplify.config().retry_config(),
            provider.amplify.config().timeout_config(),
        ),
        (
            provider.cloudwatch.config().retry_config(),
            provider.cloudwatch.config().timeout_config(),
        ),
    ] {
        assert_eq!(retry.unwrap().max_attempts(), 1);
        let timeout = timeout.unwrap();
        assert_eq!(timeout.connect_timeout(), Some(CONNECT_TIMEOUT));
        assert_eq!(
            timeout.operation_attempt_timeout(),
            Some(OPERATION_ATTEMPT_TIMEOUT)
        );
    }
}

#[tokio::test]
async fn region_comes_from_the_environment_unless_overridden() {
    let env = [("AWS_REGION", "ap-south-1")];
    let provider = provider_with_env(&AwsOptions::default(), &env).await;
    assert_eq!(provider.resolved_region().as_deref(), Some("ap-south-1"));
    let provider = provider_with_env(&options("eu-north-1"), &env).await;
    assert_eq!(provider.resolved_region().as_deref(), Some("eu-north-1"));
}

#[tokio::test]
async fn profile_option_selects_the_profile_region() {
    let env = [("HOME", "/home/test"), ("AWS_PROFILE", "other")];
    let files = [(
        "/home/test/.aws/config",
        "[default]\nregion = us-west-2\n[profile other]\nregion = us-east-2\n[profile dev]\nregion = sa-east-1\n",
    )];
    let provider = provider_with_files(&AwsOptions::default(), &env, &files).await;
    assert_eq!(provider.resolved_region().as_deref(), Some("us-east-2"));
    let options = AwsOptions {
        profile: Some("dev".into()),
        ..AwsOptions::default()
    };
    let provider = provider_with_files(&options, &env, &files).await;
    assert_eq!(provider.resolved_region().as_deref(), Some("sa-east-1"));
}

#[tokio::test]
async fn service_endpoint_variable_is_honoured_without_explicit_endpoint() {
    let server =
        TestServer::start(vec![raw_response("200 OK", "application/json", STAGE_JSON)]).await;
    let env = [("AWS_ENDPOINT_URL_API_GATEWAY", server.base_url.as_str())];
    let provider = provider_with_env(&options("us-east-1"), &env).await;
    let stage = provider.get_stage("api1", "prod").await.unwrap().unwrap();
    assert_eq!(
        stage,
        LiveStage {
            stage_name: "prod".into(),
            deployment_id: Some("d1".into()),
            tracing: true,
            variables: [("k".to_string(), "v".to_string())].into(),
            ..LiveStage::default()
        }
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0]
            .head
            .starts_with("get /restapis/api1/stages/prod http/1.1\r\n"),
        "{}",
        seen[0].head
    );
    assert!(
        seen[0]
            .head
            .contains("\r\nauthorization: aws4-hmac-sha256 ")
    );
}

#[tokio::test]
async fn cloudwatch_endpoint_variable_sends_describe_alarms_there_over_rpc_v2_cbor() {
    // The answer's body is not CBOR: only the request matters here.
    let server = TestServer::start(vec![raw_response(
        "503 Service Unavailable",
        "application/cbor",
        "",
    )])
    .await;
    let env = [
        ("AWS_ENDPOINT_URL_API_GATEWAY", "http://127.0.0.1:9"),
        ("AWS_ENDPOINT_URL_CLOUDWATCH", server.base_url.as_str()),
    ];
    let provider = provider_with_env(&options("us-east-1"), &env).await;
    let err = provider
        .describe_alarms(&["errors".into()])
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    let head = &seen[0].head;
    assert!(
        head.starts_with(
            "post /service/graniteserviceversion20100801/operation/describealarms http/1.1\r\n"
        ),
        "{head}"
    );
    assert!(
        head.contains("\r\nsmithy-protocol: rpc-v2-cbor\r\n"),
        "{head}"
    );
    // Signed for CloudWatch's signing name, which is what the test router routes by.
    assert!(
        head.contains("/us-east-1/monitoring/aws4_request"),
        "{head}"
    );
    assert!(
        seen[0]
            .body
            .windows(b"errors".len())
            .any(|w| w == b"errors")
    );
}

#[tokio::test]
async fn explicit_endpoint_wins_over_the_environment() {
    let server =
        TestServer::start(vec![raw_response("200 OK", "application/json", STAGE_JSON)]).await;
    let env = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ENDPOINT_URL_API_GATEWAY", "http://127.0.0.1:9"),
    ];
    let options = AwsOptions {
        endpoint_url: Some(server.base_url.clone()),
        ..options("us-east-1")
    };
    let provider = provider_with_env(&options, &env).await;
    assert!(provider.get_stage("api1", "prod").await.unwrap().is_some());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn the_sdk_does_not_retry_throttling_or_server_errors() {
    let server = TestServer::start(vec![
        raw_response(
            "429 Too Many Requests",
            "application/json",
            r#"{"message":"Too Many Requests"}"#,
        ),
        raw_response("503 Service Unavailable", "application/json", "{}"),
    ])
    .await;
    let options = AwsOptions {
        endpoint_url: Some(server.base_url.clone()),
        ..options("us-east-1")
    };
    let provider = provider_with_env(&options, &[]).await;
    let err = provider.get_stage("api1", "prod").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled);
    assert_eq!(err.message, "Too Many Requests");
    assert_eq!(server.requests().len(), 1);
    let err = provider.get_stage("api1", "prod").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn unreachable_endpoint_is_transient() {
    // A port that was free a moment ago: nothing listens there any more.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let options = AwsOptions {
        endpoint_url: Some(format!("http://{addr}")),
        ..options("us-east-1")
    };
    let provider = provider_with_env(&options, &[]).await;
    let err = provider.get_stages("api1").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
    assert!(
        err.message.starts_with("GetStages could not reach AWS"),
        "{err}"
    );
}
