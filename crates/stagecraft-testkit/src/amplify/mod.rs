//! An Amplify control-plane emulator for manual deployments, written to the AWS Amplify API model.
//!
//! It speaks the restJson1 wire form `aws-sdk-amplify` sends and expects (point the client's
//! `endpoint_url` at [`Emulator::endpoint`]); AWS's free emulators have no Amplify.
//!
//! Operations, at the SDK's paths:
//! - apps: `CreateApp` (`POST /apps`), `ListApps` (`GET /apps`), `GetApp` (`GET /apps/{appId}`),
//!   `DeleteApp` (`DELETE /apps/{appId}`), apps without a repository only;
//! - branches: `CreateBranch` (`POST /apps/{appId}/branches`), `ListBranches`
//!   (`GET /apps/{appId}/branches`), `GetBranch`, `UpdateBranch` (`POST`) and `DeleteBranch` on
//!   `/apps/{appId}/branches/{branchName}`. The SDK percent-encodes a `/` in a branch name as
//!   `%2F`; the routes match on the encoded path and decode each segment;
//! - jobs: `CreateDeployment` (`POST .../deployments`), `StartDeployment`
//!   (`POST .../deployments/start`), `ListJobs` (`GET .../jobs`, newest first), `GetJob`
//!   (`GET .../jobs/{jobId}`), `StopJob` (`DELETE .../jobs/{jobId}/stop`).
//!
//! Anything else answers 404 `UnknownOperationException`.
//!
//! Behaviour worth knowing when testing against it:
//! - `CreateDeployment` returns a `zipUploadUrl` served by the emulator itself
//!   (`{endpoint}/_upload/{token}`) that takes a plain, unsigned HTTP `PUT` of the zip, as the
//!   presigned S3 URL does. A `PUT` after the job was started is refused with 409 (S3 would accept
//!   it, but Amplify would never read it). The `fileMap` variant (one URL per file) is not
//!   modelled: a non-empty `fileMap` is refused with `BadRequestException`, and `fileUploadUrls`
//!   is always `{}`. `StartDeployment` with a `sourceUrl` is refused the same way.
//! - A branch takes one job at a time: while its newest job is unfinished (created and not
//!   started, `PENDING`, `RUNNING` or `CANCELLING`), `CreateDeployment` fails with AWS's
//!   `BadRequestException` "The last job(deployment) N was not finished. Please wait for the job
//!   to finish or stop it." Job ids count up from 1 per branch.
//! - A created job is `PENDING` until `StartDeployment`. Started, it stays `PENDING` for one
//!   [`EmulatorConfig::job_timing`], is `RUNNING` for another, then `SUCCEED` or `FAILED`.
//!   `StopJob` makes an unfinished job `CANCELLING` for one step, then `CANCELLED`; stopping a
//!   finished job is a `BadRequestException`. Progress is computed from timestamps on every read;
//!   no task runs in the background.
//! - The outcome is decided at `StartDeployment`: the job fails if [`Emulator::fail_next_jobs`]
//!   armed a reason for the branch, if nothing was uploaded (the job fails rather than the call,
//!   as the deploy step is what reads the artifact), if the upload is not a readable zip, or if
//!   `index.html` is not at the zip's root. The failure reason is the `statusReason` of the job's
//!   one step, `DEPLOY`, whose `logUrl` is served by the emulator (`{endpoint}/_logs/...`).
//!   On success the branch's `activeJobId` becomes the job's id.
//! - A branch created without a stage reports `stage: "NONE"`, which is outside the SDK's `Stage`
//!   enum (it reads as `Stage::Unknown`), as on AWS. `ttl` defaults to `"5"`, `displayName` to the
//!   branch name with every character other than a letter or digit replaced by `-`.
//! - `UpdateBranch` changes only the members sent. `environmentVariables` replaces the whole map,
//!   except that an empty map changes nothing: `{"": ""}` clears the variables (AWS's quirk).
//! - Quotas: 25 apps, 50 branches per app (`LimitExceededException`). The account-wide limit of
//!   concurrent jobs is not modelled. Requests are not authenticated.
//! - The model's input constraints are enforced (lengths, ranges, patterns of URI labels,
//!   enums, tags), as are Amplify's refusal of `AWS`-prefixed environment variable names and
//!   S3's of an upload without `Content-Length`; `docs/amplify-emulator.md` lists them and
//!   `tests/amplify_model.rs` checks them against botocore's model.
//! - Faults can be injected per [`Operation`] with [`Emulator::inject`]: 401, 500, 503, and lost
//!   answers (applied, then the connection is closed unanswered).
//! - Errors carry AWS's wire form: a status, `x-amzn-errortype` in AWS's `Code:namespace` form
//!   (`NotFoundException` 404, `BadRequestException` 400, `LimitExceededException` 429; see
//!   [`ErrorTypeForm`]) and `{"message": ...}`. The SDK
//!   models no `NotFoundException` for `CreateDeployment`, `ListJobs` or `ListBranches`; there it
//!   surfaces as an unhandled error whose `code()` is still `NotFoundException`.

mod faults;
mod http;
mod state;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

pub use self::faults::{ERROR_NAMESPACE, ErrorTypeForm, Fault, Operation};
use self::http::Shared;
use self::state::{App, JobKey, State};

/// How to run an [`Emulator`].
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// How long each step of a started job's state machine lasts (`PENDING`, then `RUNNING`,
    /// then the outcome; `CANCELLING` before `CANCELLED`). Zero finishes a job as it starts.
    pub job_timing: Duration,
    /// The address to listen on; `None` picks a free port on 127.0.0.1.
    pub bind: Option<SocketAddr>,
}

impl Default for EmulatorConfig {
    /// Steps of 100 ms on a free port of 127.0.0.1.
    fn default() -> Self {
        EmulatorConfig {
            job_timing: Duration::from_millis(100),
            bind: None,
        }
    }
}

/// Why a control call on the [`Emulator`] was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlError {
    /// An app with this id already exists.
    AppExists(String),
    /// The id is not 1 to 20 characters matching the model's `d[a-z0-9]+`.
    InvalidAppId(String),
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::AppExists(id) => write!(f, "an app with id {id} already exists"),
            ControlError::InvalidAppId(id) => {
                write!(
                    f,
                    "app id {id:?} is not 2 to 20 characters of `d` then lowercase letters or digits"
                )
            }
        }
    }
}

impl std::error::Error for ControlError {}

/// A running Amplify emulator. It stops when dropped.
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    accept_task: tokio::task::JoinHandle<()>,
}

impl Emulator {
    /// Binds the listener and serves the Amplify API on the current tokio runtime.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        let bind = config
            .bind
            .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(State {
            apps: BTreeMap::new(),
            uploads: Default::default(),
            calls: BTreeMap::new(),
            failures: Default::default(),
            job_timing: config.job_timing,
            endpoint: format!("http://{addr}"),
            faults: Default::default(),
            injected: BTreeMap::new(),
            error_type_form: ErrorTypeForm::default(),
        }));
        let (shutdown, stopped) = watch::channel(false);
        let router = http::router(Arc::clone(&shared));
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&shared), router, stopped));
        Ok(Emulator {
            shared,
            addr,
            shutdown,
            accept_task,
        })
    }

    /// Makes the next `times` requests of `operation` meet `fault` (after any faults armed
    /// before for it): 401, 500 or 503 answers that change nothing, or [`Fault::LostAnswer`],
    /// which applies the request and then closes the connection without answering.
    pub fn inject(&self, operation: Operation, fault: Fault, times: u32) {
        self.shared.lock().faults.inject(operation, fault, times);
    }

    /// Disarms every fault armed by [`Emulator::inject`].
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// The faults injected so far, by [`Fault::name`].
    pub fn injected(&self) -> BTreeMap<String, u64> {
        self.shared.lock().injected.clone()
    }

    /// Chooses how `x-amzn-errortype` is written (AWS's namespaced form by default).
    pub fn set_error_type_form(&self, form: ErrorTypeForm) {
        self.shared.lock().error_type_form = form;
    }

    /// The base URL to give the SDK as `endpoint_url`, e.g. `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the emulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Makes the URLs the emulator hands out (`zipUploadUrl`, job `logUrl`s) start with
    /// `endpoint` instead of its own address, for when it sits behind a
    /// [`Router`](crate::router::Router). Affects URLs handed out from now on.
    pub fn set_public_endpoint(&self, endpoint: &str) {
        self.shared.lock().endpoint = endpoint.trim_end_matches('/').to_owned();
    }

    /// Creates an app without a repository, as a manual-deployment app is, and returns its id
    /// (`d` and 13 lowercase letters or digits, shaped like AWS's).
    pub fn create_app(&self, name: &str) -> String {
        let mut state = self.shared.lock();
        let id = http::unused_app_id(&state);
        insert_app(&mut state, &id, name);
        id
    }

    /// Creates an app with a chosen id (for fixed ids in examples and snapshots).
    pub fn create_app_with_id(&self, id: &str, name: &str) -> Result<(), ControlError> {
        let valid = (2..=20).contains(&id.len())
            && id.starts_with('d')
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !valid {
            return Err(ControlError::InvalidAppId(id.to_owned()));
        }
        let mut state = self.shared.lock();
        if state.apps.contains_key(id) {
            return Err(ControlError::AppExists(id.to_owned()));
        }
        insert_app(&mut state, id, name);
        Ok(())
    }

    /// Makes every job of this branch started from now on fail with `reason` as its step's
    /// `statusReason`, until [`Emulator::clear_job_failures`]. The branch need not exist yet.
    pub fn fail_next_jobs(&self, app_id: &str, branch: &str, reason: &str) {
        self.shared
            .lock()
            .failures
            .insert((app_id.to_owned(), branch.to_owned()), reason.to_owned());
    }

    /// Lets this branch's jobs started from now on succeed again.
    pub fn clear_job_failures(&self, app_id: &str, branch: &str) {
        self.shared
            .lock()
            .failures
            .remove(&(app_id.to_owned(), branch.to_owned()));
    }

    /// The number of requests received so far by operation name (`CreateBranch`, `GetJob`, ...;
    /// `UnknownOperation` for routes the emulator does not serve). Uploads to a `zipUploadUrl`
    /// are not API operations and are not counted.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.shared.lock().calls.clone()
    }

    /// Forgets the requests counted so far.
    pub fn reset_calls(&self) {
        self.shared.lock().calls.clear();
    }

    /// The bytes last uploaded for a job, if any.
    pub fn uploaded_zip(&self, app_id: &str, branch: &str, job_id: &str) -> Option<Vec<u8>> {
        let state = self.shared.lock();
        let job_id = job_id.parse::<u64>().ok()?;
        let job = state
            .apps
            .get(app_id)?
            .branches
            .get(branch)?
            .jobs
            .get(&job_id)?;
        job.zip.as_ref().map(|zip| zip.to_vec())
    }

    /// The branch as `GetBranch` would return it now (the `branch` member), if it exists.
    pub fn branch_json(&self, app_id: &str, branch: &str) -> Option<serde_json::Value> {
        let state = self.shared.lock();
        let found = state.apps.get(app_id)?.branches.get(branch)?;
        Some(state::branch_json(
            app_id,
            found,
            SystemTime::now(),
            state.job_timing,
        ))
    }

    /// The job as `GetJob` would return it now (the `job` member), if it exists.
    pub fn job_json(&self, app_id: &str, branch: &str, job_id: &str) -> Option<serde_json::Value> {
        let state = self.shared.lock();
        let id = job_id.parse::<u64>().ok()?;
        let job = state
            .apps
            .get(app_id)?
            .branches
            .get(branch)?
            .jobs
            .get(&id)?;
        let key = JobKey {
            app_id: app_id.to_owned(),
            branch: branch.to_owned(),
            job_id: id,
        };
        Some(state::job_json(
            &state.endpoint,
            &key,
            job,
            SystemTime::now(),
            state.job_timing,
        ))
    }

    /// Every job of the branch as `ListJobs` would summarise it now (`jobId`, `status`, ...),
    /// oldest first, if the branch exists.
    pub fn jobs(&self, app_id: &str, branch: &str) -> Option<Vec<serde_json::Value>> {
        let state = self.shared.lock();
        let jobs = &state.apps.get(app_id)?.branches.get(branch)?.jobs;
        let now = SystemTime::now();
        Some(
            jobs.values()
                .map(|job| {
                    let key = JobKey {
                        app_id: app_id.to_owned(),
                        branch: branch.to_owned(),
                        job_id: job.id,
                    };
                    state::job_summary_json(&key, job, now, state.job_timing)
                })
                .collect(),
        )
    }

    /// The names of the app's branches, if the app exists.
    pub fn branch_names(&self, app_id: &str) -> Option<Vec<String>> {
        let state = self.shared.lock();
        Some(state.apps.get(app_id)?.branches.keys().cloned().collect())
    }

    /// Stops serving: the listener and every open connection close. Dropping the emulator
    /// does the same.
    pub fn shutdown(self) {}
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // The connections may already be gone with their runtime; nothing is left to stop then.
        let _ = self.shutdown.send(true);
        self.accept_task.abort();
    }
}

/// Accepts connections and serves each over HTTP/1.1 until shut down. A service error (a lost
/// answer) makes hyper close the connection without writing a response.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    router: axum::Router,
    shutdown: watch::Receiver<bool>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Typically EMFILE: back off briefly rather than spin.
                tracing::warn!("Amplify emulator: accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let router = router.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let request = request.map(axum::body::Body::new);
                faults::serve(Arc::clone(&shared), router.clone(), request)
            });
            let connection = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = shutdown.wait_for(|stop| *stop) => {}
            }
        });
    }
}

fn insert_app(state: &mut State, id: &str, name: &str) {
    let now = SystemTime::now();
    state.apps.insert(
        id.to_owned(),
        App {
            id: id.to_owned(),
            name: name.to_owned(),
            description: String::new(),
            platform: "WEB".to_owned(),
            environment_variables: BTreeMap::new(),
            tags: BTreeMap::new(),
            create_time: now,
            update_time: now,
            branches: BTreeMap::new(),
        },
    );
}
