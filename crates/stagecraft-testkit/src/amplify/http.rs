//! The emulator's HTTP face: the Amplify REST routes (restJson1, as `aws-sdk-amplify` sends them),
//! the presigned-style upload endpoint, the job logs, and AWS's error wire form.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State as AxumState};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::faults::{Fault, Operation};
use super::state::{
    self as model, App, Branch, Job, JobKey, MAX_APPS, MAX_BRANCHES_PER_APP, Outcome, Progress,
    State,
};

/// State shared by the handlers and the [`super::Emulator`] handle.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    /// Wraps the initial state.
    pub fn new(state: State) -> Shared {
        Shared {
            state: Mutex::new(state),
        }
    }

    /// Locks the state. A handler that panicked mid-update leaves nothing half-done that matters
    /// to a test double, so a poisoned lock is simply taken over.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

type AppState = AxumState<Arc<Shared>>;

/// The router for every route the emulator serves.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/apps", post(create_app).get(list_apps))
        .route("/apps/{app_id}", get(get_app).delete(delete_app))
        .route(
            "/apps/{app_id}/branches",
            post(create_branch).get(list_branches),
        )
        .route(
            "/apps/{app_id}/branches/{branch}",
            get(get_branch).post(update_branch).delete(delete_branch),
        )
        .route(
            "/apps/{app_id}/branches/{branch}/deployments",
            post(create_deployment),
        )
        .route(
            "/apps/{app_id}/branches/{branch}/deployments/start",
            post(start_deployment),
        )
        .route("/apps/{app_id}/branches/{branch}/jobs", get(list_jobs))
        .route(
            "/apps/{app_id}/branches/{branch}/jobs/{job_id}",
            get(get_job),
        )
        .route(
            "/apps/{app_id}/branches/{branch}/jobs/{job_id}/stop",
            axum::routing::delete(stop_job),
        )
        .route(
            "/_upload/{token}",
            put(upload_zip).layer(DefaultBodyLimit::disable()),
        )
        .route("/_logs/{app_id}/{branch}/{job_id}", get(job_log))
        .fallback(unknown_operation)
        .method_not_allowed_fallback(unknown_operation)
        .layer(axum::middleware::map_response(add_request_id))
        .with_state(shared)
}

/// Every AWS response carries a request id; the SDK reports it in errors.
async fn add_request_id(mut response: Response) -> Response {
    if let Ok(value) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

/// An error in AWS's restJson1 wire form: a status, `x-amzn-errortype`, and `{"message": ...}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl ApiError {
    /// An error of type `kind` with status `status`.
    pub(crate) fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
        }
    }

    /// A `BadRequestException` for one violated constraint of the model, in AWS's words.
    pub(crate) fn validation(detail: impl AsRef<str>) -> ApiError {
        ApiError::bad_request(format!("1 validation error detected: {}", detail.as_ref()))
    }

    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            kind: "NotFoundException",
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            kind: "BadRequestException",
            message: message.into(),
        }
    }

    fn limit_exceeded(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            kind: "LimitExceededException",
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            json!({ "message": self.message }).to_string(),
        )
            .into_response();
        response
            .headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(self.kind));
        response
    }
}

type ApiResult = Result<Response, ApiError>;

fn ok(value: Value) -> ApiResult {
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response())
}

/// Parses a JSON request body; an empty body counts as `{}`.
fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(text)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid: {e}")))
}

/// AWS's message for a violated length constraint.
pub(crate) fn check_length(
    field: &str,
    value: Option<&str>,
    min: usize,
    max: usize,
) -> Result<(), ApiError> {
    let Some(value) = value else { return Ok(()) };
    let length = value.chars().count();
    if length < min {
        return Err(ApiError::validation(format!(
            "Value at '{field}' failed to satisfy constraint: Member must have length greater \
             than or equal to {min}"
        )));
    }
    if length > max {
        return Err(ApiError::validation(format!(
            "Value at '{field}' failed to satisfy constraint: Member must have length less than \
             or equal to {max}"
        )));
    }
    Ok(())
}

/// AWS's message for a value outside a member's regular expression. Long values are left out
/// so that the message stays within the model's 255 characters.
pub(crate) fn pattern_error(field: &str, value: &str, pattern: &str) -> ApiError {
    let shown = if value.chars().count() <= 64 {
        format!("Value '{value}' at")
    } else {
        "Value at".to_owned()
    };
    ApiError::validation(format!(
        "{shown} '{field}' failed to satisfy constraint: Member must satisfy regular expression \
         pattern: {pattern}"
    ))
}

/// A required member that was not sent.
fn missing(field: &str) -> ApiError {
    ApiError::validation(format!(
        "Value null at '{field}' failed to satisfy constraint: Member must not be null"
    ))
}

/// AWS's message for a value outside an enum.
fn check_enum(field: &str, value: Option<&str>, allowed: &[&str]) -> Result<(), ApiError> {
    match value {
        Some(value) if !allowed.contains(&value) => Err(ApiError::validation(format!(
            "Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy enum \
             value set: [{}]",
            allowed.join(", ")
        ))),
        _ => Ok(()),
    }
}

const STAGES: [&str; 5] = [
    "PRODUCTION",
    "BETA",
    "DEVELOPMENT",
    "EXPERIMENTAL",
    "PULL_REQUEST",
];

/// The model's `EnvKey` (at most 255) and `EnvValue` (at most 5500) lengths. Names beginning
/// with `AWS` are refused only where Amplify refuses them (`reserved_prefix`: branches).
fn check_environment(
    variables: Option<&BTreeMap<String, String>>,
    reserved_prefix: bool,
) -> Result<(), ApiError> {
    for (name, value) in variables.into_iter().flatten() {
        check_length("environmentVariables.key", Some(name), 0, 255)?;
        check_length("environmentVariables.value", Some(value), 0, 5500)?;
        if reserved_prefix && name.starts_with("AWS") {
            return Err(ApiError::bad_request(format!(
                "Environment variable names cannot start with the reserved prefix AWS: {name}"
            )));
        }
    }
    Ok(())
}

/// The model's `TagMap` (at most 50), `TagKey` (1..128, `^(?!aws:)[a-zA-Z+-=._:/]+$`) and
/// `TagValue` (at most 256, letters, separators, digits and `_.:/=+-@`).
fn check_tags(tags: Option<&BTreeMap<String, String>>) -> Result<(), ApiError> {
    let Some(tags) = tags else { return Ok(()) };
    if tags.len() > 50 {
        return Err(ApiError::validation(
            "Value at 'tags' failed to satisfy constraint: Member must have length less than or \
             equal to 50",
        ));
    }
    for (key, value) in tags {
        check_length("tags.key", Some(key), 1, 128)?;
        // `+-=` in the model's class is the range from `+` to `=`.
        let key_ok = !key.starts_with("aws:")
            && key
                .chars()
                .all(|c| c.is_ascii_alphabetic() || ('+'..='=').contains(&c) || "._:/".contains(c));
        if !key_ok {
            return Err(pattern_error("tags.key", key, "^(?!aws:)[a-zA-Z+-=._:/]+$"));
        }
        check_length("tags.value", Some(value), 0, 256)?;
        let value_ok = value.chars().all(|c| {
            c.is_alphabetic() || c.is_whitespace() || c.is_numeric() || "_.:/=+-@".contains(c)
        });
        if !value_ok {
            return Err(pattern_error(
                "tags.value",
                value,
                "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$",
            ));
        }
    }
    Ok(())
}

/// The model's `TTL`: 0 to 32 characters matching `\d*`.
fn check_ttl(ttl: Option<&str>) -> Result<(), ApiError> {
    check_length("ttl", ttl, 0, 32)?;
    match ttl {
        Some(ttl) if !ttl.bytes().all(|b| b.is_ascii_digit()) => {
            Err(pattern_error("ttl", ttl, "\\d*"))
        }
        _ => Ok(()),
    }
}

/// The model's `NextToken` (at most 2000) and a `maxResults` of 0 to `max`.
fn check_page(query: &HashMap<String, String>, max: usize) -> Result<(), ApiError> {
    check_length(
        "nextToken",
        query.get("nextToken").map(String::as_str),
        0,
        2000,
    )?;
    if let Some(text) = query.get("maxResults") {
        let value = text
            .parse::<i64>()
            .map_err(|_| ApiError::bad_request(format!("Invalid maxResults: {text}")))?;
        if value < 0 {
            return Err(ApiError::validation(format!(
                "Value '{value}' at 'maxResults' failed to satisfy constraint: Member must have \
                 value greater than or equal to 0"
            )));
        }
        if value > max as i64 {
            return Err(ApiError::validation(format!(
                "Value '{value}' at 'maxResults' failed to satisfy constraint: Member must have \
                 value less than or equal to {max}"
            )));
        }
    }
    Ok(())
}

impl State {
    /// Counts one request of `operation`.
    pub(crate) fn count(&mut self, operation: &str) {
        *self.calls.entry(operation.to_owned()).or_default() += 1;
    }

    /// The fault armed for the next request of `operation`, used up and counted.
    pub(crate) fn take_fault(&mut self, operation: Operation) -> Option<Fault> {
        let fault = self.faults.take(operation)?;
        *self.injected.entry(fault.name().to_owned()).or_default() += 1;
        Some(fault)
    }

    fn app(&self, app_id: &str) -> Result<&App, ApiError> {
        self.apps
            .get(app_id)
            .ok_or_else(|| ApiError::not_found(format!("App {app_id} not found.")))
    }

    fn app_mut(&mut self, app_id: &str) -> Result<&mut App, ApiError> {
        self.apps
            .get_mut(app_id)
            .ok_or_else(|| ApiError::not_found(format!("App {app_id} not found.")))
    }

    fn branch(&self, app_id: &str, branch: &str) -> Result<&Branch, ApiError> {
        self.app(app_id)?
            .branches
            .get(branch)
            .ok_or_else(|| branch_not_found(app_id, branch))
    }

    fn branch_mut(&mut self, app_id: &str, branch: &str) -> Result<&mut Branch, ApiError> {
        self.app_mut(app_id)?
            .branches
            .get_mut(branch)
            .ok_or_else(|| branch_not_found(app_id, branch))
    }
}

fn branch_not_found(app_id: &str, branch: &str) -> ApiError {
    ApiError::not_found(format!("Branch {branch} not found for app {app_id}."))
}

fn job_not_found(job_id: &str) -> ApiError {
    ApiError::not_found(format!("Job {job_id} not found."))
}

fn find_job<'b>(branch: &'b Branch, job_id: &str) -> Result<&'b Job, ApiError> {
    job_id
        .parse::<u64>()
        .ok()
        .and_then(|id| branch.jobs.get(&id))
        .ok_or_else(|| job_not_found(job_id))
}

/// One page of `items`, and the token of the next page if there is one. The token is the offset
/// of the next page's first item.
fn paginate<T>(
    items: Vec<T>,
    query: &HashMap<String, String>,
    max: usize,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    check_page(query, max)?;
    let start = match query.get("nextToken") {
        Some(token) => token
            .parse::<usize>()
            .ok()
            .filter(|start| *start <= items.len())
            .ok_or_else(|| ApiError::bad_request(format!("Invalid nextToken: {token}")))?,
        None => 0,
    };
    // 0 (or no maxResults) asks for the default page: the most the operation allows.
    let page_size = match query
        .get("maxResults")
        .and_then(|m| m.parse::<usize>().ok())
    {
        Some(0) | None => max,
        Some(size) => size,
    };
    let end = start.saturating_add(page_size).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    let page = items.into_iter().skip(start).take(end - start).collect();
    Ok((page, next))
}

// ----- apps ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct CreateAppInput {
    name: Option<String>,
    description: Option<String>,
    platform: Option<String>,
    environment_variables: Option<BTreeMap<String, String>>,
    tags: Option<BTreeMap<String, String>>,
    repository: Option<String>,
}

async fn create_app(AxumState(shared): AppState, body: Bytes) -> ApiResult {
    let mut state = shared.lock();
    state.count("CreateApp");
    let input: CreateAppInput = parse_body(&body)?;
    let name = input.name.ok_or_else(|| missing("name"))?;
    check_length("name", Some(&name), 1, 255)?;
    check_length("description", input.description.as_deref(), 0, 1000)?;
    check_length("repository", input.repository.as_deref(), 0, 1000)?;
    check_enum(
        "platform",
        input.platform.as_deref(),
        &["WEB", "WEB_DYNAMIC", "WEB_COMPUTE"],
    )?;
    check_environment(input.environment_variables.as_ref(), false)?;
    check_tags(input.tags.as_ref())?;
    if input.repository.is_some_and(|r| !r.is_empty()) {
        return Err(ApiError::bad_request(
            "The emulator only models apps without a repository (manual deployments).",
        ));
    }
    if state.apps.len() >= MAX_APPS {
        return Err(ApiError::limit_exceeded(format!(
            "The maximum number of apps ({MAX_APPS}) for this region has been reached."
        )));
    }
    let id = unused_app_id(&state);
    let now = SystemTime::now();
    let app = App {
        id: id.clone(),
        name,
        description: input.description.unwrap_or_default(),
        platform: input.platform.unwrap_or_else(|| "WEB".to_owned()),
        environment_variables: input.environment_variables.unwrap_or_default(),
        tags: input.tags.unwrap_or_default(),
        create_time: now,
        update_time: now,
        branches: BTreeMap::new(),
    };
    let value = model::app_json(&app);
    state.apps.insert(id, app);
    ok(json!({ "app": value }))
}

/// A fresh app id shaped like AWS's: `d` and 13 lowercase letters or digits.
pub(crate) fn unused_app_id(state: &State) -> String {
    use rand::Rng;
    const CHARSET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    loop {
        let mut id = String::from("d");
        for _ in 0..13 {
            let index = rng.random_range(0..CHARSET.len());
            id.push(char::from(CHARSET[index]));
        }
        if !state.apps.contains_key(&id) {
            return id;
        }
    }
}

async fn get_app(AxumState(shared): AppState, Path(app_id): Path<String>) -> ApiResult {
    let mut state = shared.lock();
    state.count("GetApp");
    let app = state.app(&app_id)?;
    ok(json!({ "app": model::app_json(app) }))
}

async fn list_apps(
    AxumState(shared): AppState,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let mut state = shared.lock();
    state.count("ListApps");
    let apps: Vec<Value> = state.apps.values().map(model::app_json).collect();
    let (page, next) = paginate(apps, &query, 100)?;
    let mut value = json!({ "apps": page });
    if let Some(next) = next {
        value["nextToken"] = json!(next);
    }
    ok(value)
}

async fn delete_app(AxumState(shared): AppState, Path(app_id): Path<String>) -> ApiResult {
    let mut state = shared.lock();
    state.count("DeleteApp");
    let app = state
        .apps
        .remove(&app_id)
        .ok_or_else(|| ApiError::not_found(format!("App {app_id} not found.")))?;
    state.uploads.retain(|_, key| key.app_id != app_id);
    state.failures.retain(|(app, _), _| *app != app_id);
    ok(json!({ "app": model::app_json(&app) }))
}

// ----- branches -----------------------------------------------------------------------------

/// The settable members of CreateBranch and UpdateBranch; `None` means "not sent".
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct BranchInput {
    branch_name: Option<String>,
    description: Option<String>,
    stage: Option<String>,
    display_name: Option<String>,
    framework: Option<String>,
    enable_notification: Option<bool>,
    enable_auto_build: Option<bool>,
    enable_skew_protection: Option<bool>,
    enable_performance_mode: Option<bool>,
    enable_basic_auth: Option<bool>,
    basic_auth_credentials: Option<String>,
    enable_pull_request_preview: Option<bool>,
    pull_request_environment_name: Option<String>,
    build_spec: Option<String>,
    backend_environment_arn: Option<String>,
    compute_role_arn: Option<String>,
    ttl: Option<String>,
    environment_variables: Option<BTreeMap<String, String>>,
    tags: Option<BTreeMap<String, String>>,
}

impl BranchInput {
    fn validate(&self) -> Result<(), ApiError> {
        check_length("description", self.description.as_deref(), 0, 1000)?;
        check_length("displayName", self.display_name.as_deref(), 0, 255)?;
        check_length("framework", self.framework.as_deref(), 0, 255)?;
        check_length(
            "basicAuthCredentials",
            self.basic_auth_credentials.as_deref(),
            0,
            2000,
        )?;
        check_length("buildSpec", self.build_spec.as_deref(), 1, 25000)?;
        check_length(
            "pullRequestEnvironmentName",
            self.pull_request_environment_name.as_deref(),
            0,
            20,
        )?;
        check_length(
            "backendEnvironmentArn",
            self.backend_environment_arn.as_deref(),
            0,
            1000,
        )?;
        check_length("computeRoleArn", self.compute_role_arn.as_deref(), 0, 1000)?;
        check_enum("stage", self.stage.as_deref(), &STAGES)?;
        check_ttl(self.ttl.as_deref())?;
        check_tags(self.tags.as_ref())?;
        check_environment(self.environment_variables.as_ref(), true)
    }

    /// Applies every member that was sent, leaving the others as they are.
    fn apply(self, branch: &mut Branch) {
        fn set<T>(target: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *target = value;
            }
        }
        fn set_optional<T>(target: &mut Option<T>, value: Option<T>) {
            if value.is_some() {
                *target = value;
            }
        }
        set(&mut branch.description, self.description);
        set(&mut branch.stage, self.stage);
        set(&mut branch.display_name, self.display_name);
        set(&mut branch.framework, self.framework);
        set(&mut branch.enable_notification, self.enable_notification);
        set(&mut branch.enable_auto_build, self.enable_auto_build);
        set(
            &mut branch.enable_skew_protection,
            self.enable_skew_protection,
        );
        set(
            &mut branch.enable_performance_mode,
            self.enable_performance_mode,
        );
        set(&mut branch.enable_basic_auth, self.enable_basic_auth);
        set_optional(
            &mut branch.basic_auth_credentials,
            self.basic_auth_credentials,
        );
        set(
            &mut branch.enable_pull_request_preview,
            self.enable_pull_request_preview,
        );
        set_optional(
            &mut branch.pull_request_environment_name,
            self.pull_request_environment_name,
        );
        set_optional(&mut branch.build_spec, self.build_spec);
        set_optional(
            &mut branch.backend_environment_arn,
            self.backend_environment_arn,
        );
        set_optional(&mut branch.compute_role_arn, self.compute_role_arn);
        set(&mut branch.ttl, self.ttl);
        if let Some(tags) = self.tags {
            branch.tags = tags;
        }
        if let Some(variables) = self.environment_variables {
            apply_environment(&mut branch.environment_variables, variables);
        }
    }
}

/// AWS replaces the whole map when `environmentVariables` is sent, except that an empty map
/// leaves the variables as they are: the way to clear them is `{"": ""}` (what the Terraform
/// provider sends). Entries with an empty name are dropped.
fn apply_environment(target: &mut BTreeMap<String, String>, sent: BTreeMap<String, String>) {
    if sent.is_empty() {
        return;
    }
    *target = sent
        .into_iter()
        .filter(|(name, _)| !name.is_empty())
        .collect();
}

async fn create_branch(
    AxumState(shared): AppState,
    Path(app_id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut state = shared.lock();
    state.count("CreateBranch");
    let input: BranchInput = parse_body(&body)?;
    let name = input
        .branch_name
        .clone()
        .ok_or_else(|| missing("branchName"))?;
    check_length("branchName", Some(&name), 1, 255)?;
    input.validate()?;
    let job_timing = state.job_timing;
    let app = state.app_mut(&app_id)?;
    if app.branches.contains_key(&name) {
        return Err(ApiError::bad_request(format!(
            "Branch {name} already exists for app {app_id}."
        )));
    }
    if app.branches.len() >= MAX_BRANCHES_PER_APP {
        return Err(ApiError::limit_exceeded(format!(
            "The maximum number of branches ({MAX_BRANCHES_PER_APP}) for app {app_id} has been \
             reached."
        )));
    }
    let now = SystemTime::now();
    let mut branch = Branch::new(&name, now);
    input.apply(&mut branch);
    let value = model::branch_json(&app_id, &branch, now, job_timing);
    app.branches.insert(name, branch);
    ok(json!({ "branch": value }))
}

async fn get_branch(
    AxumState(shared): AppState,
    Path((app_id, branch)): Path<(String, String)>,
) -> ApiResult {
    let mut state = shared.lock();
    state.count("GetBranch");
    let branch = state.branch(&app_id, &branch)?;
    let value = model::branch_json(&app_id, branch, SystemTime::now(), state.job_timing);
    ok(json!({ "branch": value }))
}

async fn update_branch(
    AxumState(shared): AppState,
    Path((app_id, branch_name)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let mut state = shared.lock();
    state.count("UpdateBranch");
    let mut input: BranchInput = parse_body(&body)?;
    // UpdateBranch has no branchName or tags member; ignore them if a client sends them anyway.
    input.branch_name = None;
    input.tags = None;
    input.validate()?;
    let job_timing = state.job_timing;
    let branch = state.branch_mut(&app_id, &branch_name)?;
    input.apply(branch);
    let now = SystemTime::now();
    branch.update_time = now;
    let value = model::branch_json(&app_id, branch, now, job_timing);
    ok(json!({ "branch": value }))
}

async fn delete_branch(
    AxumState(shared): AppState,
    Path((app_id, branch_name)): Path<(String, String)>,
) -> ApiResult {
    let mut state = shared.lock();
    state.count("DeleteBranch");
    let job_timing = state.job_timing;
    let app = state.app_mut(&app_id)?;
    let branch = app
        .branches
        .remove(&branch_name)
        .ok_or_else(|| branch_not_found(&app_id, &branch_name))?;
    state
        .uploads
        .retain(|_, key| !(key.app_id == app_id && key.branch == branch_name));
    let value = model::branch_json(&app_id, &branch, SystemTime::now(), job_timing);
    ok(json!({ "branch": value }))
}

async fn list_branches(
    AxumState(shared): AppState,
    Path(app_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let mut state = shared.lock();
    state.count("ListBranches");
    let now = SystemTime::now();
    let branches: Vec<Value> = state
        .app(&app_id)?
        .branches
        .values()
        .map(|branch| model::branch_json(&app_id, branch, now, state.job_timing))
        .collect();
    let (page, next) = paginate(branches, &query, 50)?;
    let mut value = json!({ "branches": page });
    if let Some(next) = next {
        value["nextToken"] = json!(next);
    }
    ok(value)
}

// ----- deployments and jobs -----------------------------------------------------------------

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct CreateDeploymentInput {
    file_map: Option<BTreeMap<String, String>>,
}

async fn create_deployment(
    AxumState(shared): AppState,
    Path((app_id, branch_name)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let mut state = shared.lock();
    state.count("CreateDeployment");
    let input: CreateDeploymentInput = parse_body(&body)?;
    for (file, digest) in input.file_map.iter().flatten() {
        check_length("fileMap.key", Some(file), 0, 255)?;
        check_length("fileMap.value", Some(digest), 0, 32)?;
    }
    let job_timing = state.job_timing;
    let now = SystemTime::now();
    let branch = state.branch_mut(&app_id, &branch_name)?;
    if input.file_map.is_some_and(|files| !files.is_empty()) {
        return Err(ApiError::bad_request(
            "The emulator does not support fileMap deployments: send no fileMap and PUT a zip \
             to the zipUploadUrl.",
        ));
    }
    if let Some(job) = branch.unfinished_job(now, job_timing) {
        return Err(ApiError::bad_request(format!(
            "The last job(deployment) {} was not finished. Please wait for the job to finish or \
             stop it.",
            job.id
        )));
    }
    let job_id = branch.jobs.keys().next_back().map_or(1, |last| last + 1);
    branch.jobs.insert(
        job_id,
        Job {
            id: job_id,
            create_time: now,
            zip: None,
            progress: Progress::Created,
        },
    );
    let token = uuid::Uuid::new_v4().simple().to_string();
    let zip_upload_url = format!("{}/_upload/{token}", state.endpoint);
    state.uploads.insert(
        token,
        JobKey {
            app_id,
            branch: branch_name,
            job_id,
        },
    );
    ok(json!({
        "jobId": job_id.to_string(),
        "zipUploadUrl": zip_upload_url,
        "fileUploadUrls": {},
    }))
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct StartDeploymentInput {
    job_id: Option<String>,
    source_url: Option<String>,
    source_url_type: Option<String>,
}

async fn start_deployment(
    AxumState(shared): AppState,
    Path((app_id, branch_name)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let mut state = shared.lock();
    state.count("StartDeployment");
    let input: StartDeploymentInput = parse_body(&body)?;
    if let Some(job_id) = &input.job_id {
        check_length("jobId", Some(job_id), 0, 255)?;
        if !job_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(pattern_error("jobId", job_id, "[0-9]+"));
        }
    }
    check_length("sourceUrl", input.source_url.as_deref(), 0, 3000)?;
    check_enum(
        "sourceUrlType",
        input.source_url_type.as_deref(),
        &["ZIP", "BUCKET_PREFIX"],
    )?;
    if input.source_url.is_some() {
        return Err(ApiError::bad_request(
            "The emulator does not support sourceUrl deployments: create the job with \
             CreateDeployment and PUT a zip to its zipUploadUrl.",
        ));
    }
    let job_id = input
        .job_id
        .ok_or_else(|| ApiError::bad_request("jobId is required when sourceUrl is not given."))?;
    let injected = state
        .failures
        .get(&(app_id.clone(), branch_name.clone()))
        .cloned();
    let job_timing = state.job_timing;
    let branch = state.branch_mut(&app_id, &branch_name)?;
    let id = find_job(branch, &job_id)?.id;
    let Some(job) = branch.jobs.get_mut(&id) else {
        return Err(job_not_found(&job_id));
    };
    match &job.progress {
        Progress::Created => {}
        Progress::Started { .. } => {
            return Err(ApiError::bad_request(format!(
                "Job {job_id} has already been started."
            )));
        }
        Progress::Stopped { .. } => {
            return Err(ApiError::bad_request(format!(
                "Job {job_id} was stopped and cannot be started."
            )));
        }
    }
    let outcome = match (injected, &job.zip) {
        (Some(reason), _) => Outcome::Failed(reason),
        (None, None) => Outcome::Failed(format!(
            "No deployment artifact was found: nothing was uploaded to the zipUploadUrl of job \
             {job_id} before StartDeployment."
        )),
        (None, Some(zip)) => match model::check_artifact(zip) {
            Ok(()) => Outcome::Succeed,
            Err(reason) => Outcome::Failed(reason),
        },
    };
    let now = SystemTime::now();
    job.progress = Progress::Started { at: now, outcome };
    let key = JobKey {
        app_id,
        branch: branch_name,
        job_id: id,
    };
    let summary = model::job_summary_json(&key, job, now, job_timing);
    ok(json!({ "jobSummary": summary }))
}

async fn get_job(
    AxumState(shared): AppState,
    Path((app_id, branch_name, job_id)): Path<(String, String, String)>,
) -> ApiResult {
    let mut state = shared.lock();
    state.count("GetJob");
    let branch = state.branch(&app_id, &branch_name)?;
    let job = find_job(branch, &job_id)?;
    let key = JobKey {
        app_id,
        branch: branch_name,
        job_id: job.id,
    };
    let value = model::job_json(
        &state.endpoint,
        &key,
        job,
        SystemTime::now(),
        state.job_timing,
    );
    ok(json!({ "job": value }))
}

async fn list_jobs(
    AxumState(shared): AppState,
    Path((app_id, branch_name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let mut state = shared.lock();
    state.count("ListJobs");
    let branch = state.branch(&app_id, &branch_name)?;
    let now = SystemTime::now();
    // Newest first, as AWS lists them.
    let summaries: Vec<Value> = branch
        .jobs
        .values()
        .rev()
        .map(|job| {
            let key = JobKey {
                app_id: app_id.clone(),
                branch: branch_name.clone(),
                job_id: job.id,
            };
            model::job_summary_json(&key, job, now, state.job_timing)
        })
        .collect();
    let (page, next) = paginate(summaries, &query, 50)?;
    let mut value = json!({ "jobSummaries": page });
    if let Some(next) = next {
        value["nextToken"] = json!(next);
    }
    ok(value)
}

async fn stop_job(
    AxumState(shared): AppState,
    Path((app_id, branch_name, job_id)): Path<(String, String, String)>,
) -> ApiResult {
    let mut state = shared.lock();
    state.count("StopJob");
    let job_timing = state.job_timing;
    let branch = state.branch_mut(&app_id, &branch_name)?;
    let id = find_job(branch, &job_id)?.id;
    let Some(job) = branch.jobs.get_mut(&id) else {
        return Err(job_not_found(&job_id));
    };
    let now = SystemTime::now();
    let status = job.view(now, job_timing).status;
    if status.is_finished() {
        return Err(ApiError::bad_request(format!(
            "Job {job_id} has already finished with status {}.",
            status.as_str()
        )));
    }
    match job.progress {
        Progress::Created => {
            job.progress = Progress::Stopped {
                at: now,
                started: None,
            };
        }
        Progress::Started { at, .. } => {
            job.progress = Progress::Stopped {
                at: now,
                started: Some(at),
            };
        }
        // Already cancelling: stopping again changes nothing.
        Progress::Stopped { .. } => {}
    }
    let key = JobKey {
        app_id,
        branch: branch_name,
        job_id: id,
    };
    let summary = model::job_summary_json(&key, job, now, job_timing);
    ok(json!({ "jobSummary": summary }))
}

// ----- upload URL, logs, unknown routes -----------------------------------------------------

/// Stands in for the presigned S3 URL: a plain, unsigned `PUT` of the zip.
async fn upload_zip(
    AxumState(shared): AppState,
    Path(token): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    if !headers.contains_key(header::CONTENT_LENGTH) {
        // S3 refuses a PUT of unknown length (a chunked upload) to a presigned URL.
        return (
            StatusCode::LENGTH_REQUIRED,
            [(header::CONTENT_TYPE, "application/xml")],
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>MissingContentLength</Code>\
             <Message>You must provide the Content-Length HTTP header.</Message></Error>\n",
        )
            .into_response();
    }
    let mut state = shared.lock();
    let Some(key) = state.uploads.get(&token).cloned() else {
        return (StatusCode::NOT_FOUND, "unknown upload URL\n").into_response();
    };
    let job = state
        .apps
        .get_mut(&key.app_id)
        .and_then(|app| app.branches.get_mut(&key.branch))
        .and_then(|branch| branch.jobs.get_mut(&key.job_id));
    let Some(job) = job else {
        return (
            StatusCode::NOT_FOUND,
            "the job of this upload URL is gone\n",
        )
            .into_response();
    };
    if !matches!(job.progress, Progress::Created) {
        // S3 would take the bytes, but Amplify would never read them: flag the client's bug.
        return (
            StatusCode::CONFLICT,
            "the job of this upload URL has already been started or stopped\n",
        )
            .into_response();
    }
    job.zip = Some(body);
    StatusCode::OK.into_response()
}

async fn job_log(
    AxumState(shared): AppState,
    Path((app_id, branch_name, job_id)): Path<(String, String, String)>,
) -> Response {
    let state = shared.lock();
    let job = state
        .branch(&app_id, &branch_name)
        .and_then(|branch| find_job(branch, &job_id));
    match job {
        Ok(job) => {
            let key = JobKey {
                app_id,
                branch: branch_name,
                job_id: job.id,
            };
            model::job_log(&key, job, SystemTime::now(), state.job_timing).into_response()
        }
        Err(err) => err.into_response(),
    }
}

async fn unknown_operation(AxumState(shared): AppState, method: Method, uri: Uri) -> ApiError {
    shared.lock().count("UnknownOperation");
    ApiError {
        status: StatusCode::NOT_FOUND,
        kind: "UnknownOperationException",
        message: format!(
            "The Amplify emulator does not implement {method} {}.",
            uri.path()
        ),
    }
}
