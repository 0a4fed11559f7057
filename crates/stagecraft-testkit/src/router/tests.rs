//! Unit tests of the routing rule, one `check` per case.
#![allow(clippy::unwrap_used)]

use hyper::Uri;
use hyper::header::{AUTHORIZATION, HeaderMap, HeaderValue};

use super::{Upstream, route};

fn check(authorization: Option<&str>, uri: &str, expected: Upstream) {
    let mut headers = HeaderMap::new();
    if let Some(auth) = authorization {
        headers.insert(AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
    }
    let uri: Uri = uri.parse().unwrap();
    assert_eq!(route(&headers, &uri), expected, "{authorization:?} {uri}");
}

fn sigv4(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature=0123abcd"
    )
}

#[test]
fn signed_requests_go_to_the_service_in_their_credential_scope() {
    check(
        Some(&sigv4("amplify")),
        "/apps/d1/branches",
        Upstream::Amplify,
    );
    check(
        Some(&sigv4("apigateway")),
        "/restapis/a1/stages",
        Upstream::LocalStack,
    );
    check(Some(&sigv4("s3")), "/bucket/key", Upstream::LocalStack);
    // CloudWatch's signing name is `monitoring`; its RPC v2 CBOR path names the operation.
    check(
        Some(&sigv4("monitoring")),
        "/service/GraniteServiceVersion20100801/operation/DescribeAlarms",
        Upstream::LocalStack,
    );
    // The path does not decide for a signed request: an apigateway call on an odd path still
    // goes to LocalStack, and an amplify-signed one on a LocalStack-like path to the emulator.
    check(
        Some(&sigv4("apigateway")),
        "/_upload/x",
        Upstream::LocalStack,
    );
    check(Some(&sigv4("amplify")), "/restapis", Upstream::Amplify);
    // No spaces after the commas, as some signers write it.
    check(
        Some(
            "AWS4-HMAC-SHA256 Credential=k/20260101/eu-west-1/amplify/aws4_request,SignedHeaders=host,Signature=ab",
        ),
        "/apps",
        Upstream::Amplify,
    );
}

#[test]
fn presigned_urls_go_by_their_credential_parameter() {
    check(
        None,
        "/apps?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20260101%2Fus-east-1%2Famplify%2Faws4_request&X-Amz-Signature=ab",
        Upstream::Amplify,
    );
    check(
        None,
        "/bucket/key?X-Amz-Credential=test%2F20260101%2Fus-east-1%2Fs3%2Faws4_request",
        Upstream::LocalStack,
    );
}

#[test]
fn unsigned_requests_for_the_emulators_urls_go_to_the_emulator() {
    check(None, "/_upload/abc123", Upstream::Amplify);
    check(None, "/_logs/d1/main/1", Upstream::Amplify);
}

#[test]
fn everything_else_goes_to_localstack() {
    check(None, "/_localstack/health", Upstream::LocalStack);
    check(None, "/apps", Upstream::LocalStack);
    check(Some("Bearer token"), "/apps", Upstream::LocalStack);
    check(
        Some("AWS4-HMAC-SHA256 Credential=broken"),
        "/apps",
        Upstream::LocalStack,
    );
}
