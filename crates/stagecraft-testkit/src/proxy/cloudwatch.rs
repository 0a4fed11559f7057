//! CloudWatch through the proxy: its operations named from the Smithy RPC v2 CBOR path
//! (`POST /service/GraniteServiceVersion20100801/operation/DescribeAlarms`), and its error
//! answers in that protocol's shape, so that the SDK reads an injected fault as it reads AWS's.
//!
//! An RPC v2 CBOR error is the HTTP status, `smithy-protocol: rpc-v2-cbor`, a CBOR map body with
//! `__type` (the error's code) and `message`; CloudWatch is also awsQuery-compatible, so it adds
//! `x-amzn-query-error: CODE;Sender` (or `;Receiver`), the code its Query protocol would have
//! sent, which the SDK prefers.
//!
//! LocalStack accepts `DescribeAlarms` requests AWS refuses (more than 100 `AlarmNames`, a
//! `MaxRecords` outside 1 to 100); the proxy refuses them as AWS does ([`describe_alarms_fault`]).

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

/// The most `AlarmNames` a `DescribeAlarms` may carry, and the largest `MaxRecords` (AWS's model).
const MAX_ALARM_NAMES: u64 = 100;

/// One CBOR data item's head: its major type and argument (`None`: indefinite length).
fn head(bytes: &[u8], at: &mut usize) -> Option<(u8, Option<u64>)> {
    let first = *bytes.get(*at)?;
    *at += 1;
    let (major, info) = (first >> 5, first & 0x1f);
    let width = match info {
        0..=23 => return Some((major, Some(u64::from(info)))),
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        31 => return Some((major, None)),
        _ => return None,
    };
    let raw = bytes.get(*at..*at + width)?;
    *at += width;
    Some((
        major,
        Some(raw.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b))),
    ))
}

/// Whether the item at `at` is the indefinite-length "break" (then consumed).
fn at_break(bytes: &[u8], at: &mut usize) -> bool {
    let is_break = bytes.get(*at) == Some(&0xff);
    if is_break {
        *at += 1;
    }
    is_break
}

/// Skips one data item.
fn skip(bytes: &[u8], at: &mut usize, depth: u32) -> Option<()> {
    if depth > 32 {
        return None;
    }
    let (major, arg) = head(bytes, at)?;
    match (major, arg) {
        (0 | 1 | 7, _) => {}
        (2 | 3, Some(len)) => {
            *at = at.checked_add(usize::try_from(len).ok()?)?;
            bytes.get(..*at)?;
        }
        (2..=5, None) => {
            while !at_break(bytes, at) {
                skip(bytes, at, depth + 1)?;
            }
        }
        (4, Some(len)) => {
            for _ in 0..len {
                skip(bytes, at, depth + 1)?;
            }
        }
        (5, Some(len)) => {
            for _ in 0..len.checked_mul(2)? {
                skip(bytes, at, depth + 1)?;
            }
        }
        (6, _) => skip(bytes, at, depth + 1)?,
        _ => return None,
    }
    Some(())
}

/// A text string item (definite length), if that is what is at `at`.
fn text_at<'a>(bytes: &'a [u8], at: &mut usize) -> Option<&'a str> {
    let start = *at;
    match head(bytes, at)? {
        (3, Some(len)) => {
            let end = at.checked_add(usize::try_from(len).ok()?)?;
            let text = std::str::from_utf8(bytes.get(*at..end)?).ok()?;
            *at = end;
            Some(text)
        }
        _ => {
            *at = start;
            None
        }
    }
}

/// The number of `AlarmNames` and the `MaxRecords` of a `DescribeAlarms` request body;
/// `None` when it is not a CBOR map.
fn describe_alarms_input(body: &[u8]) -> Option<(u64, Option<u64>)> {
    let mut at = 0;
    let (major, len) = head(body, &mut at)?;
    if major != 5 {
        return None;
    }
    let (mut names, mut max_records) = (0, None);
    let mut left = len;
    loop {
        match left {
            Some(0) => break,
            Some(n) => left = Some(n - 1),
            None if at_break(body, &mut at) => break,
            None => {}
        }
        let key = text_at(body, &mut at)?;
        match key {
            "AlarmNames" => {
                let start = at;
                let (major, len) = head(body, &mut at)?;
                at = start;
                if major == 4
                    && let Some(len) = len
                {
                    names = len;
                } else if major == 4 {
                    // Indefinite: count the members.
                    head(body, &mut at)?;
                    while !at_break(body, &mut at) {
                        skip(body, &mut at, 1)?;
                        names += 1;
                    }
                    continue;
                }
                skip(body, &mut at, 1)?;
            }
            "MaxRecords" => {
                let start = at;
                match head(body, &mut at)? {
                    (0, Some(value)) => max_records = Some(value),
                    // A negative integer: below the minimum.
                    (1, Some(_)) => max_records = Some(0),
                    _ => {
                        at = start;
                        skip(body, &mut at, 1)?;
                    }
                }
            }
            _ => skip(body, &mut at, 1)?,
        }
    }
    Some((names, max_records))
}

/// AWS's refusal of a `DescribeAlarms` request body its model does not allow (HTTP 400
/// `ValidationError`, its message in AWS's words), or `None` for a valid one. A body that is
/// not CBOR is left for the upstream to refuse.
pub(crate) fn describe_alarms_fault(body: &[u8]) -> Option<Response<ProxyBody>> {
    let (names, max_records) = describe_alarms_input(body)?;
    let mut problems = Vec::new();
    if names > MAX_ALARM_NAMES {
        problems.push(format!(
            "Value at 'alarmNames' failed to satisfy constraint: Member must have length less \
             than or equal to {MAX_ALARM_NAMES} ({names} given)"
        ));
    }
    if let Some(max) = max_records
        && !(1..=MAX_ALARM_NAMES).contains(&max)
    {
        problems.push(format!(
            "Value '{max}' at 'maxRecords' failed to satisfy constraint: Member must have value \
             between 1 and {MAX_ALARM_NAMES}"
        ));
    }
    if problems.is_empty() {
        return None;
    }
    let count = problems.len();
    let plural = if count == 1 { "" } else { "s" };
    let message = format!(
        "{count} validation error{plural} detected: {}",
        problems.join("; ")
    );
    Some(error_response(
        StatusCode::BAD_REQUEST,
        "ValidationError",
        &message,
    ))
}

#[cfg(test)]
mod tests;
