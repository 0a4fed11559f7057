//! The classification of failures into error kinds.
#![allow(clippy::unwrap_used)]

use aws_sdk_apigateway::operation::get_stage::GetStageError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};
use stagecraft_core::provider::ErrorKind;

use crate::errors::{classify, from_amplify_sdk, from_sdk, upload_status};
use crate::test_support::{amplify_client, apigateway_client, http_response};

#[test]
fn codes_decide_before_statuses() {
    use ErrorKind::*;
    let cases: &[(Option<&str>, Option<u16>, &str, ErrorKind)] = &[
        (
            Some("TooManyRequestsException"),
            Some(429),
            "slow down",
            Throttled,
        ),
        (Some("TooManyRequestsException"), Some(418), "", Throttled),
        (Some("LimitExceededException"), Some(429), "", LimitExceeded),
        (
            Some("ServiceUnavailableException"),
            Some(503),
            "",
            Transient,
        ),
        (Some("InternalFailureException"), Some(500), "", Transient),
        (Some("RequestTimeout"), Some(400), "", Transient),
        (Some("RequestTimeoutException"), Some(408), "", Transient),
        (Some("PriorRequestNotComplete"), Some(400), "", Transient),
        (
            Some("ConflictException"),
            Some(409),
            "Please try again later.",
            Conflict,
        ),
        (
            Some("ConflictException"),
            Some(409),
            "PLEASE TRY AGAIN LATER",
            Conflict,
        ),
        (
            Some("ConflictException"),
            Some(409),
            "Stage already exists",
            Permanent,
        ),
        (
            Some("NotFoundException"),
            Some(404),
            "Invalid stage identifier",
            NotFound,
        ),
        (Some("NotFoundException"), None, "", NotFound),
        (Some("BadRequestException"), Some(400), "bad", Permanent),
        (Some("UnauthorizedException"), Some(401), "", Permanent),
        (Some("AccessDeniedException"), Some(403), "", Permanent),
        (None, Some(429), "", Throttled),
        (None, Some(500), "", Transient),
        (None, Some(502), "", Transient),
        (None, Some(504), "", Transient),
        (None, Some(409), "try again later", Conflict),
        (None, Some(409), "nope", Permanent),
        (None, Some(404), "", NotFound),
        (None, Some(400), "", Permanent),
        (None, None, "", Permanent),
    ];
    for (code, status, message, kind) in cases {
        assert_eq!(
            classify(*code, *status, message),
            *kind,
            "{code:?} {status:?} {message:?}"
        );
    }
}

#[test]
fn transport_failures_are_transient() {
    let err: SdkError<GetStageError, HttpResponse> =
        SdkError::dispatch_failure(ConnectorError::io("connection reset".into()));
    let mapped = from_sdk("GetStage", err);
    assert_eq!(mapped.kind, ErrorKind::Transient);
    assert_eq!(mapped.code, None);
    assert!(mapped.message.starts_with("GetStage"), "{mapped}");
    assert!(mapped.message.contains("connection reset"), "{mapped}");
    // The causes, not the SDK's Debug dump (`DispatchFailure { source: ConnectorError {...`).
    for dump in ["{", "DispatchFailure", "ConnectorError"] {
        assert!(!mapped.message.contains(dump), "{mapped}");
    }

    let err: SdkError<GetStageError, HttpResponse> = SdkError::timeout_error("attempt timeout");
    let mapped = from_sdk("GetStage", err);
    assert_eq!(mapped.kind, ErrorKind::Transient);
    assert!(mapped.message.contains("timed out"), "{mapped}");

    let err: SdkError<GetStageError, HttpResponse> =
        SdkError::construction_failure("missing restApiId");
    assert_eq!(from_sdk("GetStage", err).kind, ErrorKind::Permanent);
}

#[test]
fn upload_statuses() {
    let body = "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message><CanonicalRequest>PUT /zip X-Amz-Signature=abc</CanonicalRequest></Error>";
    let err = upload_status(403, Some("Forbidden"), body);
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert_eq!(err.code.as_deref(), Some("AccessDenied"));
    assert_eq!(
        err.message,
        "zip upload failed with HTTP status 403 Forbidden: Request has expired"
    );

    let err = upload_status(
        503,
        Some("Service Unavailable"),
        "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>",
    );
    assert_eq!(err.kind, ErrorKind::Throttled);

    let err = upload_status(500, None, "oops");
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.code, None);
    assert_eq!(err.message, "zip upload failed with HTTP status 500: oops");

    let err = upload_status(400, Some("Bad Request"), "");
    assert_eq!(
        err.message,
        "zip upload failed with HTTP status 400 Bad Request"
    );

    let long = "é".repeat(2000);
    let err = upload_status(400, None, &long);
    assert!(err.message.len() < 1100);
    assert!(err.message.ends_with("..."));
}

/// Guards that request timeouts AWS answers with (a 400 or 408 carrying the code) are retried:
/// they were `Permanent` before.
#[tokio::test]
async fn request_timeouts_answered_by_aws_are_transient() {
    for (status, code) in [
        (400, "RequestTimeout"),
        (408, "RequestTimeoutException"),
        (400, "PriorRequestNotComplete"),
    ] {
        let err = get_stage_answered(move || {
            http_response(status, Some(code), r#"{"message":"took too long"}"#)
        })
        .await;
        let mapped = from_sdk("GetStage", err);
        assert_eq!(mapped.kind, ErrorKind::Transient, "{code}");
        assert_eq!(mapped.code.as_deref(), Some(code));
        assert_eq!(mapped.message, "took too long");
    }
}

/// Guards the split between the services: `LimitExceededException` is Amplify's throttling
/// (it models no `TooManyRequestsException`), but stays the few-attempts kind for API Gateway.
#[tokio::test]
async fn limit_exceeded_is_throttling_on_amplify_only() {
    use aws_smithy_mocks::mock;
    let body = r#"{"message":"Rate exceeded"}"#;
    let rule = mock!(aws_sdk_amplify::Client::get_branch)
        .then_http_response(move || http_response(429, Some("LimitExceededException"), body));
    let client = amplify_client(&[&rule]);
    let err = client
        .get_branch()
        .app_id("app1")
        .branch_name("main")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        from_amplify_sdk("GetBranch", err).kind,
        ErrorKind::Throttled
    );

    let err =
        get_stage_answered(move || http_response(429, Some("LimitExceededException"), body)).await;
    assert_eq!(from_sdk("GetStage", err).kind, ErrorKind::LimitExceeded);
}

/// Guards that AWS's `Retry-After` reaches the error (it was dropped), so that the engine's
/// backoff can wait at least that long.
#[tokio::test]
async fn retry_after_is_kept() {
    for (header, expected) in [
        (Some("7"), Some(std::time::Duration::from_secs(7))),
        (Some("Wed, 21 Oct 2015 07:28:00 GMT"), None),
        (None, None),
    ] {
        let err = get_stage_answered(move || {
            let mut response = http_response(
                429,
                Some("TooManyRequestsException"),
                r#"{"message":"Too Many Requests"}"#,
            );
            if let Some(header) = header {
                response.headers_mut().insert("Retry-After", header);
            }
            response
        })
        .await;
        let mapped = from_sdk("GetStage", err);
        assert_eq!(mapped.kind, ErrorKind::Throttled);
        assert_eq!(mapped.retry_after, expected, "{header:?}");
    }
}

/// The error a `GetStage` answered by `answer` (a mocked HTTP response) gives the SDK.
async fn get_stage_answered(
    answer: impl Fn() -> HttpResponse + Send + Sync + 'static,
) -> SdkError<GetStageError, HttpResponse> {
    let rule =
        aws_smithy_mocks::mock!(aws_sdk_apigateway::Client::get_stage).then_http_response(answer);
    apigateway_client(&[&rule])
        .get_stage()
        .rest_api_id("a1")
        .stage_name("prod")
        .send()
        .await
        .unwrap_err()
}
