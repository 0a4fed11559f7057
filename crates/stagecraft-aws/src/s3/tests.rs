//! The S3 object store: conditional headers sent, ETags returned, refused preconditions told
//! apart from other failures, missing objects read as `None`, path-style addressing.
#![allow(clippy::unwrap_used)]

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use aws_types::os_shim_internal::{Env, Fs};

use crate::s3::Addressing;
use crate::test_support::{TestServer, raw_response};
use crate::{AwsOptions, S3Object, S3Store, StoreError, config_loader};

/// A store over a mocked client answering with `rules`, in order, without retries.
fn store(rules: &[&Rule]) -> S3Store {
    let client = mock_client!(aws_sdk_s3, RuleMode::Sequential, rules, |c| c
        .retry_config(RetryConfig::disabled()));
    S3Store::from_client(client, "bucket")
}

/// An S3 XML error answer.
fn xml_error(status: u16, code: &str) -> HttpResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{code} happened</Message><RequestId>r</RequestId></Error>"
    );
    let mut response =
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
    response
        .headers_mut()
        .insert("content-type", "application/xml");
    response
}

#[tokio::test]
async fn put_if_match_sends_the_etag_and_returns_the_new_one() {
    let rule = mock!(Client::put_object)
        .match_requests(|req| {
            req.bucket() == Some("bucket")
                && req.key() == Some("state.json")
                && req.if_match() == Some("\"e1\"")
                && req.if_none_match().is_none()
        })
        .then_output(|| PutObjectOutput::builder().e_tag("\"e2\"").build());
    let etag = store(&[&rule])
        .put_if_match("state.json", b"{}".to_vec(), "\"e1\"")
        .await
        .unwrap();
    assert_eq!(etag, "\"e2\"");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn put_if_absent_sends_if_none_match_star() {
    let rule = mock!(Client::put_object)
        .match_requests(|req| req.if_none_match() == Some("*") && req.if_match().is_none())
        .then_output(|| PutObjectOutput::builder().e_tag("\"e1\"").build());
    let etag = store(&[&rule])
        .put_if_absent("state.json.lock", b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(etag, "\"e1\"");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn an_unconditional_put_sends_no_precondition() {
    let rule = mock!(Client::put_object)
        .match_requests(|req| req.if_none_match().is_none() && req.if_match().is_none())
        .then_output(|| PutObjectOutput::builder().e_tag("\"b\"").build());
    store(&[&rule])
        .put_unconditionally("state.json.backup", b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn refused_preconditions_are_their_own_error() {
    // A 412 is sent once; a 409 conflict three times before it is reported.
    for (status, code, sends) in [
        (412, "PreconditionFailed", 1),
        (409, "ConditionalRequestConflict", 3),
    ] {
        let rule = mock!(Client::put_object)
            .sequence()
            .http_response(move || xml_error(status, code))
            .times(sends)
            .build();
        let spare = mock!(Client::put_object)
            .then_output(|| PutObjectOutput::builder().e_tag("\"never\"").build());
        let error = store(&[&rule, &spare])
            .put_if_match("k", b"{}".to_vec(), "\"e1\"")
            .await
            .unwrap_err();
        assert_eq!(rule.num_calls(), sends, "{code}");
        assert_eq!(spare.num_calls(), 0, "{code}");
        assert!(
            matches!(
                &error,
                StoreError::PreconditionFailed { operation: "PutObject", bucket, key }
                    if bucket == "bucket" && key == "k"
            ),
            "{status} {code}: {error:?}"
        );
        assert!(
            error.to_string().contains("changed by someone else"),
            "{error}"
        );
    }
}

/// Guards that S3's 409 `ConditionalRequestConflict` (a race S3 says to retry, which the SDK's
/// standard classifier does not) is sent again: it used to fail the write at once.
#[tokio::test]
async fn a_conditional_conflict_is_sent_again() {
    let conflict = mock!(Client::put_object)
        .sequence()
        .http_response(|| xml_error(409, "ConditionalRequestConflict"))
        .times(2)
        .build();
    let ok = mock!(Client::put_object)
        .match_requests(|req| req.if_match() == Some("\"e1\""))
        .then_output(|| PutObjectOutput::builder().e_tag("\"e2\"").build());
    let etag = store(&[&conflict, &ok])
        .put_if_match("k", b"{}".to_vec(), "\"e1\"")
        .await
        .unwrap();
    assert_eq!(etag, "\"e2\"");
    assert_eq!(conflict.num_calls(), 2);
    assert_eq!(ok.num_calls(), 1);
}

#[tokio::test]
async fn other_failures_keep_aws_code_and_message() {
    for (status, code) in [
        (409, "OperationAborted"),
        (403, "AccessDenied"),
        (404, "NoSuchBucket"),
    ] {
        let rule = mock!(Client::put_object).then_http_response(move || xml_error(status, code));
        let error = store(&[&rule])
            .put_if_absent("k", b"{}".to_vec())
            .await
            .unwrap_err();
        let StoreError::Call { message, .. } = &error else {
            panic!("{code}: {error:?}")
        };
        assert!(message.contains(code), "{message}");
    }
}

#[tokio::test]
async fn get_returns_bytes_and_etag() {
    let rule = mock!(Client::get_object)
        .match_requests(|req| req.bucket() == Some("bucket") && req.key() == Some("k"))
        .then_output(|| {
            GetObjectOutput::builder()
                .e_tag("\"e9\"")
                .body(ByteStream::from_static(b"{\"serial\":1}"))
                .build()
        });
    let object = store(&[&rule]).get("k").await.unwrap();
    assert_eq!(
        object,
        Some(S3Object {
            bytes: b"{\"serial\":1}".to_vec(),
            etag: "\"e9\"".to_string()
        })
    );
}

#[tokio::test]
async fn a_missing_object_is_none_but_a_missing_bucket_is_an_error() {
    let missing = mock!(Client::get_object).then_http_response(|| xml_error(404, "NoSuchKey"));
    assert_eq!(store(&[&missing]).get("k").await.unwrap(), None);
    let bare = mock!(Client::get_object).then_http_response(|| {
        HttpResponse::new(StatusCode::try_from(404).unwrap(), SdkBody::empty())
    });
    assert_eq!(store(&[&bare]).get("k").await.unwrap(), None);
    let no_bucket = mock!(Client::get_object).then_http_response(|| xml_error(404, "NoSuchBucket"));
    let error = store(&[&no_bucket]).get("k").await.unwrap_err();
    assert!(error.to_string().contains("NoSuchBucket"), "{error}");
}

#[tokio::test]
async fn get_without_an_etag_is_an_error() {
    let rule = mock!(Client::get_object).then_output(|| {
        GetObjectOutput::builder()
            .body(ByteStream::from_static(b"{}"))
            .build()
    });
    let error = store(&[&rule]).get("k").await.unwrap_err();
    assert!(error.to_string().contains("no ETag"), "{error}");
}

#[tokio::test]
async fn delete_maps_failures() {
    let ok = mock!(Client::delete_object)
        .match_requests(|req| req.key() == Some("k.lock"))
        .then_output(|| {
            aws_sdk_s3::operation::delete_object::DeleteObjectOutput::builder().build()
        });
    store(&[&ok]).delete("k.lock").await.unwrap();
    assert_eq!(ok.num_calls(), 1);
    let denied = mock!(Client::delete_object).then_http_response(|| xml_error(403, "AccessDenied"));
    assert!(matches!(
        store(&[&denied]).delete("k.lock").await,
        Err(StoreError::Call {
            operation: "DeleteObject",
            ..
        })
    ));
}

/// A store loaded like `from_env` from the given options, environment and test credentials.
async fn loaded_store(options: &AwsOptions, env: &[(&str, &str)]) -> S3Store {
    let config = config_loader(options)
        .env(Env::from_slice(env))
        .fs(Fs::from_slice(&[]))
        .test_credentials()
        .load()
        .await;
    let addressing = if options.endpoint_url.is_some() {
        Addressing::PathStyle
    } else {
        Addressing::Default
    };
    S3Store::from_sdk_config(&config, addressing, "my-bucket")
}

#[tokio::test]
async fn an_endpoint_means_path_style_addressing_and_the_bucket_region() {
    let server = TestServer::start(vec![raw_response("200 OK", "application/xml", "")]).await;
    let options = AwsOptions {
        region: Some("eu-west-2".into()),
        endpoint_url: Some(server.base_url.clone()),
        ..AwsOptions::default()
    };
    let store = loaded_store(&options, &[]).await;
    assert_eq!(store.region().as_deref(), Some("eu-west-2"));
    assert_eq!(store.bucket(), "my-bucket");
    // The canned answer has no ETag: the call fails after the request was seen.
    let _ = store.put_if_absent("team/state.json", b"{}".to_vec()).await;
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].head.starts_with("put /my-bucket/team/state.json"),
        "{}",
        seen[0].head
    );
    assert!(
        seen[0].head.contains("if-none-match: *"),
        "{}",
        seen[0].head
    );
    assert!(
        seen[0].head.contains("eu-west-2/s3/aws4_request"),
        "{}",
        seen[0].head
    );

    // The same through AWS_ENDPOINT_URL.
    let server = TestServer::start(vec![raw_response("200 OK", "application/xml", "")]).await;
    let options = AwsOptions {
        region: Some("eu-west-2".into()),
        ..AwsOptions::default()
    };
    let store = loaded_store(&options, &[("AWS_ENDPOINT_URL", &server.base_url)]).await;
    let _ = store.put_if_absent("k", b"{}".to_vec()).await;
    let seen = server.requests();
    assert!(
        seen[0].head.starts_with("put /my-bucket/k"),
        "{}",
        seen[0].head
    );
}
