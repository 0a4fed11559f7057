//! The emulator's front door, in front of the axum routes: which Amplify operation a request is
//! (by the model's method and `requestUri`), the model's constraints on the URI labels, injected
//! faults (401, 500, 503 and lost answers), and the `x-amzn-errortype` form of error answers.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, Response, StatusCode};
use axum::response::IntoResponse;

use super::http::{ApiError, Shared};

/// The namespace AWS appends to an error type in `x-amzn-errortype`.
pub const ERROR_NAMESPACE: &str = "http://internal.amazon.com/coral/com.amazonaws.amplify/";

/// An Amplify API operation the emulator serves, named as in AWS's service model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// `POST /apps`
    CreateApp,
    /// `GET /apps`
    ListApps,
    /// `GET /apps/{appId}`
    GetApp,
    /// `DELETE /apps/{appId}`
    DeleteApp,
    /// `POST /apps/{appId}/branches`
    CreateBranch,
    /// `GET /apps/{appId}/branches`
    ListBranches,
    /// `GET /apps/{appId}/branches/{branchName}`
    GetBranch,
    /// `POST /apps/{appId}/branches/{branchName}`
    UpdateBranch,
    /// `DELETE /apps/{appId}/branches/{branchName}`
    DeleteBranch,
    /// `POST /apps/{appId}/branches/{branchName}/deployments`
    CreateDeployment,
    /// `POST /apps/{appId}/branches/{branchName}/deployments/start`
    StartDeployment,
    /// `GET /apps/{appId}/branches/{branchName}/jobs`
    ListJobs,
    /// `GET /apps/{appId}/branches/{branchName}/jobs/{jobId}`
    GetJob,
    /// `DELETE /apps/{appId}/branches/{branchName}/jobs/{jobId}/stop`
    StopJob,
}

/// Every served operation with its HTTP method and `requestUri`, as the service model has them.
const ROUTES: [(Operation, &str, &str); 14] = [
    (Operation::CreateApp, "POST", "/apps"),
    (Operation::ListApps, "GET", "/apps"),
    (Operation::GetApp, "GET", "/apps/{appId}"),
    (Operation::DeleteApp, "DELETE", "/apps/{appId}"),
    (Operation::CreateBranch, "POST", "/apps/{appId}/branches"),
    (Operation::ListBranches, "GET", "/apps/{appId}/branches"),
    (
        Operation::GetBranch,
        "GET",
        "/apps/{appId}/branches/{branchName}",
    ),
    (
        Operation::UpdateBranch,
        "POST",
        "/apps/{appId}/branches/{branchName}",
    ),
    (
        Operation::DeleteBranch,
        "DELETE",
        "/apps/{appId}/branches/{branchName}",
    ),
    (
        Operation::CreateDeployment,
        "POST",
        "/apps/{appId}/branches/{branchName}/deployments",
    ),
    (
        Operation::StartDeployment,
        "POST",
        "/apps/{appId}/branches/{branchName}/deployments/start",
    ),
    (
        Operation::ListJobs,
        "GET",
        "/apps/{appId}/branches/{branchName}/jobs",
    ),
    (
        Operation::GetJob,
        "GET",
        "/apps/{appId}/branches/{branchName}/jobs/{jobId}",
    ),
    (
        Operation::StopJob,
        "DELETE",
        "/apps/{appId}/branches/{branchName}/jobs/{jobId}/stop",
    ),
];

impl Operation {
    /// The operation's name in the service model (`CreateBranch`, ...), as [`super::Emulator::calls`]
    /// counts it.
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateApp => "CreateApp",
            Operation::ListApps => "ListApps",
            Operation::GetApp => "GetApp",
            Operation::DeleteApp => "DeleteApp",
            Operation::CreateBranch => "CreateBranch",
            Operation::ListBranches => "ListBranches",
            Operation::GetBranch => "GetBranch",
            Operation::UpdateBranch => "UpdateBranch",
            Operation::DeleteBranch => "DeleteBranch",
            Operation::CreateDeployment => "CreateDeployment",
            Operation::StartDeployment => "StartDeployment",
            Operation::ListJobs => "ListJobs",
            Operation::GetJob => "GetJob",
            Operation::StopJob => "StopJob",
        }
    }

    /// The operation a request is, and its URI labels (percent-decoded, possibly empty), if the
    /// method and path match a served route.
    pub(crate) fn identify(method: &Method, path: &str) -> Option<(Operation, Vec<Label>)> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        ROUTES
            .iter()
            .find_map(|(operation, route_method, template)| {
                if method.as_str() != *route_method {
                    return None;
                }
                let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
                if parts.len() != segments.len() {
                    return None;
                }
                let mut labels = Vec::new();
                for (part, segment) in parts.iter().zip(&segments) {
                    match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                        Some(name) => labels.push(Label {
                            name,
                            value: percent_decode(segment),
                        }),
                        None if part == segment => {}
                        None => return None,
                    }
                }
                Some((*operation, labels))
            })
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One URI label of a request: its name in the model and its decoded value.
#[derive(Debug, Clone)]
pub(crate) struct Label {
    pub name: &'static str,
    pub value: String,
}

/// A fault the emulator can answer an operation with instead of (or after) serving it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// 401 `UnauthorizedException`; nothing is applied.
    Unauthorized,
    /// 500 `InternalFailureException`; nothing is applied.
    InternalFailure,
    /// 503 `DependentServiceFailureException` (the model's 503); nothing is applied.
    ServiceUnavailable,
    /// The request is applied, then the connection is closed before any answer is written.
    LostAnswer,
}

impl Fault {
    /// The name [`super::Emulator::injected`] counts the fault under.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Unauthorized => "UnauthorizedException",
            Fault::InternalFailure => "InternalFailureException",
            Fault::ServiceUnavailable => "DependentServiceFailureException",
            Fault::LostAnswer => "LostAnswer",
        }
    }
}

/// Faults armed per operation, each with how many more requests it applies to.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    armed: HashMap<Operation, Vec<(Fault, u32)>>,
}

impl Faults {
    /// Arms `fault` for the next `times` requests of `operation` (after any armed before).
    pub fn inject(&mut self, operation: Operation, fault: Fault, times: u32) {
        if times > 0 {
            self.armed
                .entry(operation)
                .or_default()
                .push((fault, times));
        }
    }

    /// The fault the next request of `operation` gets, if one is armed; uses it up.
    pub fn take(&mut self, operation: Operation) -> Option<Fault> {
        let queue = self.armed.get_mut(&operation)?;
        let (fault, left) = queue.first_mut()?;
        let fault = *fault;
        *left -= 1;
        if *left == 0 {
            queue.remove(0);
        }
        Some(fault)
    }

    /// Disarms every fault.
    pub fn clear(&mut self) {
        self.armed.clear();
    }
}

/// How the emulator writes `x-amzn-errortype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorTypeForm {
    /// `BadRequestException:http://internal.amazon.com/coral/com.amazonaws.amplify/`, as AWS does.
    #[default]
    Namespaced,
    /// `BadRequestException` alone.
    Bare,
}

/// The service error that makes hyper close the connection without writing the response.
#[derive(Debug)]
pub(crate) struct AnswerLost;

impl fmt::Display for AnswerLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Amplify emulator: answer dropped on purpose")
    }
}

impl std::error::Error for AnswerLost {}

/// Serves one request: identifies the operation, checks its URI labels against the model,
/// applies an armed fault, and rewrites `x-amzn-errortype` into the configured form.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    router: axum::Router,
    request: Request<Body>,
) -> Result<Response<Body>, AnswerLost> {
    let identified = Operation::identify(request.method(), request.uri().path());
    if let Some((operation, labels)) = identified {
        if let Err(err) = check_labels(&labels) {
            shared.lock().count(operation.name());
            return Ok(finish(&shared, err.into_response()));
        }
        let fault = shared.lock().take_fault(operation);
        match fault.map(|fault| (fault, fault_error(fault))) {
            Some((_, Some(err))) => {
                shared.lock().count(operation.name());
                return Ok(finish(&shared, err.into_response()));
            }
            Some((_, None)) => {
                // Applied as usual; only the answer is lost.
                let _ = tower_call(router, request).await;
                return Err(AnswerLost);
            }
            None => {}
        }
    }
    let response = match tower_call(router, request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    Ok(finish(&shared, response))
}

async fn tower_call(
    router: axum::Router,
    request: Request<Body>,
) -> Result<Response<Body>, std::convert::Infallible> {
    use hyper::service::Service as _;
    hyper_util::service::TowerToHyperService::new(router)
        .call(request)
        .await
}

/// The error an injected fault answers with; `None` for a lost answer, which is served first.
fn fault_error(fault: Fault) -> Option<ApiError> {
    let (status, message) = match fault {
        Fault::Unauthorized => (
            StatusCode::UNAUTHORIZED,
            "The security token included in the request is invalid (injected fault).",
        ),
        Fault::InternalFailure => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "An internal failure occurred (injected fault).",
        ),
        Fault::ServiceUnavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "A dependent service is unavailable (injected fault).",
        ),
        Fault::LostAnswer => return None,
    };
    Some(ApiError::new(status, fault.name(), message))
}

fn finish(shared: &Shared, mut response: Response<Body>) -> Response<Body> {
    if shared.lock().error_type_form == ErrorTypeForm::Namespaced
        && let Some(kind) = response.headers().get("x-amzn-errortype")
        && let Ok(kind) = kind.to_str()
        && !kind.contains(':')
        && let Ok(value) = HeaderValue::from_str(&format!("{kind}:{ERROR_NAMESPACE}"))
    {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

/// The model's constraints on the URI labels: `appId` 1..20 matching `d[a-z0-9]+`, `branchName`
/// 1..255, `jobId` at most 255 matching `[0-9]+`; an empty label is a missing required member.
fn check_labels(labels: &[Label]) -> Result<(), ApiError> {
    for label in labels {
        let name = label.name;
        let value = label.value.as_str();
        if value.is_empty() {
            return Err(ApiError::validation(format!(
                "Value null at '{name}' failed to satisfy constraint: Member must not be null"
            )));
        }
        match name {
            "appId" => {
                super::http::check_length(name, Some(value), 1, 20)?;
                let mut bytes = value.bytes();
                let shaped = bytes.next() == Some(b'd')
                    && value.len() >= 2
                    && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
                if !shaped {
                    return Err(super::http::pattern_error(name, value, "d[a-z0-9]+"));
                }
            }
            "branchName" => super::http::check_length(name, Some(value), 1, 255)?,
            "jobId" => {
                super::http::check_length(name, Some(value), 0, 255)?;
                if !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(super::http::pattern_error(name, value, "[0-9]+"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Decodes `%XX` escapes; anything malformed is kept as it is.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
