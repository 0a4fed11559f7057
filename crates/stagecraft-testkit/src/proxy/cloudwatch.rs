//! CloudWatch through the proxy: its operations named from the Smithy RPC v2 CBOR path
//! (`POST /service/GraniteServiceVersion20100801/operation/DescribeAlarms`), and its error
//! answers in that protocol's shape, so that the SDK reads an injected fault as it reads AWS's.
//!
//! An RPC v2 CBOR error is the HTTP status, `smithy-protocol: rpc-v2-cbor`, a CBOR map body with
//! `__type` (the error's code) and `message`; CloudWatch is also awsQuery-compatible, so it adds
//! `x-amzn-query-error: CODE;Sender` (or `;Receiver`), the code its Query protocol would have
//! sent, which the SDK prefers.

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::ProxyBody;

/// The path prefix of every CloudWatch RPC v2 CBOR request; the operation follows it.
pub(crate) const PATH_PREFIX: &str = "/service/GraniteServiceVersion20100801/operation/";

/// The CloudWatch operation a request path names (`DescribeAlarms`), if it is one.
pub(crate) fn operation(path: &str) -> Option<&str> {
    path.strip_prefix(PATH_PREFIX)
        .filter(|op| !op.is_empty() && !op.contains('/'))
}

/// A CBOR text string: major type 3 with its length.
fn text(out: &mut Vec<u8>, value: &str) {
    let len = value.len();
    match len {
        0..=23 => out.push(0x60 | len as u8),
        24..=0xff => out.extend([0x78, len as u8]),
        0x100..=0xffff => {
            out.push(0x79);
            out.extend((len as u16).to_be_bytes());
        }
        _ => {
            out.push(0x7a);
            out.extend((len as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(value.as_bytes());
}

/// A CBOR map (major type 5) of text keys to text values.
pub(crate) fn text_map(entries: &[(&str, &str)]) -> Vec<u8> {
    assert!(entries.len() < 24, "a short map");
    let mut out = vec![0xa0 | entries.len() as u8];
    for (key, value) in entries {
        text(&mut out, key);
        text(&mut out, value);
    }
    out
}

/// A CloudWatch error answer: `status`, `code` in the body and in `x-amzn-query-error` (a
/// `Sender` fault below 500, a `Receiver` one from 500), and `message`.
pub(crate) fn error_response(status: StatusCode, code: &str, message: &str) -> Response<ProxyBody> {
    let body = text_map(&[("__type", code), ("message", message)]);
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(body))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/cbor"),
    );
    headers.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    let fault = if status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    if let Ok(value) = HeaderValue::from_str(&format!("{code};{fault}")) {
        headers.insert("x-amzn-query-error", value);
    }
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// CloudWatch's throttling answer: HTTP 400, code `Throttling`, "Rate exceeded".
pub(crate) fn throttling() -> Response<ProxyBody> {
    error_response(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded")
}

/// CloudWatch's unavailable answer: HTTP 503, code `ServiceUnavailable`.
pub(crate) fn unavailable() -> Response<ProxyBody> {
    error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "ServiceUnavailable",
        "Service Unavailable",
    )
}

/// IAM's refusal of a CloudWatch call: HTTP 403, code `AccessDenied`, naming
/// `cloudwatch:<Operation>`.
pub(crate) fn access_denied(operation: &str) -> Response<ProxyBody> {
    let message = format!(
        "User: arn:aws:iam::000000000000:user/stagecraft-e2e is not authorized to perform: \
         cloudwatch:{operation} on resource: arn:aws:cloudwatch:us-east-1:000000000000:alarm:*"
    );
    error_response(StatusCode::FORBIDDEN, "AccessDenied", &message)
}
