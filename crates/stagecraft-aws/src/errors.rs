//! Mapping SDK and HTTP failures to [`ProviderError`]s, whose `kind` drives the engine's retries.
//!
//! Messages carry AWS's text verbatim and never any request parameter: variable values and
//! basic-auth credentials stay out of errors.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::{ErrorMetadata, ProvideErrorMetadata};
use stagecraft_core::provider::{ErrorKind, ProviderError};

use crate::iam::{self, IamService};

/// Error codes that mean "slow down".
const THROTTLING_CODES: &[&str] = &[
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
];

/// Error codes that mean a fault on AWS's side, worth retrying.
const TRANSIENT_CODES: &[&str] = &[
    "ServiceUnavailableException",
    "ServiceUnavailable",
    "InternalFailureException",
    "InternalServerError",
    "InternalServerErrorException",
    // CloudWatch's internal error (HTTP 500).
    "InternalServiceFault",
    "DependentServiceFailureException",
    // The request did not complete in time; AWS's SDKs retry these as transient.
    "RequestTimeout",
    "RequestTimeoutException",
    // Another request on the same resource is still in progress (Route 53-style services).
    "PriorRequestNotComplete",
];

/// Error codes that mean the resource does not exist.
const NOT_FOUND_CODES: &[&str] = &["NotFoundException", "ResourceNotFoundException"];

/// The phrase that makes a `ConflictException` retryable.
const TRY_AGAIN_LATER: &str = "try again later";

/// Decides the [`ErrorKind`] of an error AWS answered with, from its code, HTTP status and message.
///
/// The code wins over the status (a modelled error is recognised whatever status it came with);
/// the status decides when the code is absent or unknown.
pub(crate) fn classify(code: Option<&str>, status: Option<u16>, message: &str) -> ErrorKind {
    let conflict_kind = || {
        if message.to_ascii_lowercase().contains(TRY_AGAIN_LATER) {
            ErrorKind::Conflict
        } else {
            ErrorKind::Permanent
        }
    };
    if let Some(code) = code {
        if THROTTLING_CODES.contains(&code) {
            return ErrorKind::Throttled;
        }
        if code == "LimitExceededException" {
            return ErrorKind::LimitExceeded;
        }
        if TRANSIENT_CODES.contains(&code) {
            return ErrorKind::Transient;
        }
        if code == "ConflictException" {
            return conflict_kind();
        }
        if NOT_FOUND_CODES.contains(&code) {
            return ErrorKind::NotFound;
        }
    }
    match status {
        Some(429) => ErrorKind::Throttled,
        Some(500..=599) => ErrorKind::Transient,
        Some(409) => conflict_kind(),
        Some(404) => ErrorKind::NotFound,
        _ => ErrorKind::Permanent,
    }
}

/// Converts an SDK error from API Gateway operation `op` (`GetStage`, ...) into a
/// [`ProviderError`].
///
/// Service errors keep AWS's code and message (the HTTP status when AWS sent no message); an
/// access denied names the IAM action and the operation (`(apigateway:PATCH on UpdateStage)`),
/// refused credentials say what to do; dispatch failures, timeouts and unreadable responses
/// are [`ErrorKind::Transient`].
pub(crate) fn from_sdk<E>(op: &str, err: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    from_service_sdk(IamService::ApiGateway, op, err)
}

fn from_service_sdk<E>(
    iam_service: IamService,
    op: &str,
    err: SdkError<E, HttpResponse>,
) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let unhandled = unhandled_metadata(service.err());
            let code = service
                .err()
                .code()
                .or_else(|| unhandled.and_then(ErrorMetadata::code))
                .filter(|c| !c.is_empty());
            let message = service
                .err()
                .message()
                .or_else(|| unhandled.and_then(ErrorMetadata::message))
                .filter(|m| !m.is_empty())
                .map_or_else(
                    || format!("{op} failed with HTTP status {status}"),
                    str::to_string,
                );
            let kind = classify(code, Some(status), &message);
            let message = if iam::is_access_denied(code, status) {
                format!("{message} ({} on {op})", iam::action(iam_service, op))
            } else if iam::is_refused_credentials(code) {
                format!("{message} (AWS refused the credentials: run aws sso login or renew them)")
            } else {
                message
            };
            let retry_after = service
                .raw()
                .headers()
                .get("retry-after")
                .and_then(parse_retry_after);
            ProviderError::new(kind, code, message).with_retry_after(retry_after)
        }
        SdkError::TimeoutError(_) => ProviderError::new(
            ErrorKind::Transient,
            None,
            format!("{op} timed out: {}", causes(&err)),
        ),
        SdkError::DispatchFailure(_) => ProviderError::new(
            ErrorKind::Transient,
            None,
            format!("{op} could not reach AWS: {}", causes(&err)),
        ),
        SdkError::ResponseError(response) => {
            let status = response.raw().status().as_u16();
            ProviderError::new(
                ErrorKind::Transient,
                None,
                format!(
                    "{op}: unreadable response (HTTP status {status}): {}",
                    causes(&err)
                ),
            )
        }
        _ => ProviderError::new(
            ErrorKind::Permanent,
            None,
            format!("{op} could not be sent: {}", causes(&err)),
        ),
    }
}

/// AWS's `Retry-After` header (API Gateway's `retryAfterSeconds`), in whole seconds. The
/// HTTP-date form is not used by AWS's JSON services and is ignored.
fn parse_retry_after(value: &str) -> Option<std::time::Duration> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .map(std::time::Duration::from_secs)
}

/// Converts an SDK error from an Amplify operation into a [`ProviderError`].
///
/// Amplify models no `TooManyRequestsException`: its `LimitExceededException` (HTTP 429) is
/// how it says "slow down", so it is [`ErrorKind::Throttled`] for every Amplify call, reads
/// included, rather than the few-attempts [`ErrorKind::LimitExceeded`] of API Gateway.
pub(crate) fn from_amplify_sdk<E>(op: &str, err: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut error = from_service_sdk(IamService::Amplify, op, err);
    if error.kind == ErrorKind::LimitExceeded {
        error.kind = ErrorKind::Throttled;
    }
    error
}

/// Converts an SDK error from a CloudWatch operation into a [`ProviderError`]. CloudWatch's
/// "slow down" is the code `Throttling` (HTTP 400), [`ErrorKind::Throttled`] like every other
/// service's; an access denied names `cloudwatch:<Operation>`.
pub(crate) fn from_cloudwatch_sdk<E>(op: &str, err: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    from_service_sdk(IamService::CloudWatch, op, err)
}

/// The metadata of an error the SDK could not match to a modelled one.
///
/// An error without a code (a bare 429 or 503, say) becomes `Unhandled` with *empty* metadata,
/// the parsed metadata (message included) being kept as the error's source instead.
fn unhandled_metadata<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a ErrorMetadata> {
    let mut source = err.source();
    while let Some(cause) = source {
        if let Some(meta) = cause.downcast_ref::<ErrorMetadata>() {
            return Some(meta);
        }
        source = cause.source();
    }
    None
}

/// An AWS answer that lacks something stagecraft needs (a deployment id, an upload URL, ...).
pub(crate) fn incomplete(op: &str, what: &str) -> ProviderError {
    ProviderError::new(
        ErrorKind::Permanent,
        None,
        format!("{op} returned no {what}"),
    )
}

/// Longest slice of a failed upload's response body kept in the error message.
const MAX_BODY_IN_MESSAGE: usize = 1000;

/// The error for a non-2xx answer to the zip upload: the status, S3's error code when the body
/// has one, and the body text (cut to a reasonable length).
///
/// When the body is an S3 XML error, only its `<Message>` is kept: S3's signature errors echo
/// the canonical request, presigned query string included.
pub(crate) fn upload_status(status: u16, reason: Option<&str>, body: &str) -> ProviderError {
    let code = xml_element(body, "Code");
    let kind = match (code, status) {
        (Some("SlowDown" | "RequestLimitExceeded"), _) | (_, 429) => ErrorKind::Throttled,
        (_, 500..=599) => ErrorKind::Transient,
        _ => ErrorKind::Permanent,
    };
    let mut text = match (code, xml_element(body, "Message")) {
        (Some(_), Some(message)) => message.to_string(),
        _ => body.trim().to_string(),
    };
    if text.len() > MAX_BODY_IN_MESSAGE {
        let mut cut = MAX_BODY_IN_MESSAGE;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    let status_text = match reason {
        Some(r) => format!("{status} {r}"),
        None => status.to_string(),
    };
    let message = if text.is_empty() {
        format!("zip upload failed with HTTP status {status_text}")
    } else {
        format!("zip upload failed with HTTP status {status_text}: {text}")
    };
    ProviderError::new(kind, code, message)
}

/// The error for a zip upload that got no HTTP answer. The URL (presigned, so carrying a
/// signature) is left out of the message.
pub(crate) fn upload_transport(err: reqwest::Error) -> ProviderError {
    let kind = if err.is_connect() || err.is_timeout() || err.is_request() || err.is_body() {
        ErrorKind::Transient
    } else {
        ErrorKind::Permanent
    };
    let err = err.without_url();
    let mut message = format!("zip upload failed: {err}");
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    ProviderError::new(kind, None, message)
}

/// The error for a zip that cannot be opened for the upload: a local problem no retry fixes.
pub(crate) fn upload_file(path: &std::path::Path, err: &std::io::Error) -> ProviderError {
    ProviderError::new(
        ErrorKind::Permanent,
        None,
        format!("zip upload failed: cannot open {}: {err}", path.display()),
    )
}

/// The text of the first `<name>...</name>` element of an XML body, if any.
fn xml_element<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = body.find(&open)? + open.len();
    let len = body[start..].find(&close)?;
    Some(body[start..start + len].trim()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests;

/// An error and its sources as one line, `outer: inner: innermost`, each Display once. The
/// SDK's `DisplayErrorContext` would end with the whole error's `Debug` form, a dump no person
/// should have to read (docs/behaviour.md, "Rules for every call").
pub(crate) fn causes(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(current) = next {
        let text = current.to_string();
        if !text.is_empty() && !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        next = current.source();
    }
    parts.join(": ")
}
