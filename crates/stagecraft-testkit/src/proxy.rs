//! Fault and quota proxy for tests: an HTTP reverse proxy that sits between the AWS SDK and
//! LocalStack, counts API Gateway and CloudWatch calls by operation, injects throttling,
//! conflicts, 503s and dropped connections at seeded random rates, refuses chosen operations as
//! IAM would, and enforces AWS's account quotas: the request-rate token buckets and the
//! CreateDeployment interval.
//!
//! Point the SDK's endpoint at [`Proxy::endpoint`] instead of LocalStack's. Everything is plain
//! HTTP/1.1 on 127.0.0.1.
//!
//! * Faults are injected only on API Gateway requests (paths starting with `/restapis`), and
//!   always *before* forwarding: the upstream never sees a faulted request, so retrying it is safe.
//! * CloudWatch requests (Smithy RPC v2 CBOR, `POST
//!   /service/GraniteServiceVersion20100801/operation/<Operation>`) have fault rates of their own,
//!   [`Proxy::set_cloudwatch_faults`] (none at first): throttling is answered 400 `Throttling`,
//!   unavailability 503 `ServiceUnavailable`, both in the CBOR error shape the SDK reads; a
//!   conflict rate is not used (CloudWatch has no such error). [`Proxy::limit_cloudwatch_rate`]
//!   puts them behind a bucket of their own (AWS: [`RequestRate::DESCRIBE_ALARMS`]), and
//!   [`Proxy::deny`] refuses a CloudWatch operation (`DescribeAlarms`) as it does API Gateway's.
//!   A `DescribeAlarms` that AWS's model refuses and LocalStack accepts (more than 100
//!   `AlarmNames`, `MaxRecords` outside 1 to 100) is answered 400 `ValidationError`
//!   ([`Proxy::invalid_requests`]).
//! * [`Proxy::lose_answer`] makes the proxy forward the Nth request of an operation, wait for
//!   the upstream's whole answer (so the call was carried out), then close the connection
//!   without relaying it: the answer is lost on the way back, as after a timeout.
//! * With [`ProxyConfig::request_rate`] set, every API Gateway request takes a token of one
//!   bucket (AWS: 10 a second, a burst of 40, per account and region); a request that finds the
//!   bucket empty is answered 429 `TooManyRequestsException` with AWS's body and a
//!   `Retry-After`, takes no token and is counted in [`Proxy::rate_rejections`].
//! * With [`ProxyConfig::create_deployment_interval`] set, a `CreateDeployment` forwarded less than
//!   that interval after the previous forwarded one is answered 429 `TooManyRequestsException`,
//!   as AWS does for its account-wide CreateDeployment quota.
//! * An operation named with [`Proxy::deny`] is answered 403 `AccessDeniedException`, as IAM
//!   answers a call the caller's policy does not allow.
//! * Everything else is forwarded verbatim: method, path and query, headers (the `Host` header
//!   included, so the upstream sees the proxy's address) except hop-by-hop ones, and the body,
//!   streamed. The upstream's status, headers (except hop-by-hop ones) and body are relayed back.
//!   When the upstream cannot be reached the proxy answers 502. One exception: a stage's
//!   `canarySettings.useStageCache` that LocalStack answers as a string is relayed as the
//!   boolean AWS answers (`typed_stage_flags`).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use stagecraft_testkit::proxy::{FaultRates, Proxy, ProxyConfig};
//! let proxy = Proxy::start(ProxyConfig {
//!     upstream: "http://127.0.0.1:4566".into(),
//!     faults: FaultRates { throttle: 0.2, ..FaultRates::NONE },
//!     create_deployment_interval: Some(std::time::Duration::from_secs(5)),
//!     ..ProxyConfig::default()
//! })
//! .await?;
//! let endpoint = proxy.endpoint(); // give this to the SDK
//! # let _ = endpoint;
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

mod cloudwatch;
#[cfg(test)]
mod tests;

/// The `x-amzn-errortype` header AWS's REST JSON protocols use to name an error's type.
const ERROR_TYPE_HEADER: &str = "x-amzn-errortype";

/// The message AWS API Gateway gives with a `ConflictException` that may be retried.
pub const CONFLICT_MESSAGE: &str =
    "Unable to complete operation due to concurrent modification. Please try again later.";

/// Per-request probabilities (each from 0.0 to 1.0) of the faults the proxy injects on API Gateway
/// requests. One random draw per request picks at most one fault; the rates are tried in field
/// order, so when they add up to more than 1.0 the later ones get only what is left.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FaultRates {
    /// Answer 429 with `x-amzn-errortype: TooManyRequestsException`.
    pub throttle: f64,
    /// Answer 409 `ConflictException` with [`CONFLICT_MESSAGE`].
    pub conflict: f64,
    /// Answer 503 `ServiceUnavailableException`.
    pub unavailable: f64,
    /// Close the TCP connection without answering.
    pub drop_connection: f64,
}

impl FaultRates {
    /// No faults at all.
    pub const NONE: FaultRates = FaultRates {
        throttle: 0.0,
        conflict: 0.0,
        unavailable: 0.0,
        drop_connection: 0.0,
    };

    /// Picks the fault for a random draw `r` in `[0, 1)`, or `None` to forward the request.
    fn pick(&self, r: f64) -> Option<Fault> {
        let mut edge = 0.0;
        for (rate, fault) in [
            (self.throttle, Fault::Throttle),
            (self.conflict, Fault::Conflict),
            (self.unavailable, Fault::Unavailable),
            (self.drop_connection, Fault::DropConnection),
        ] {
            edge += rate.clamp(0.0, 1.0);
            if r < edge {
                return Some(fault);
            }
        }
        None
    }

    fn any(&self) -> bool {
        [
            self.throttle,
            self.conflict,
            self.unavailable,
            self.drop_connection,
        ]
        .iter()
        .any(|rate| *rate > 0.0)
    }
}

/// How to start a [`Proxy`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyConfig {
    /// Base URL of the upstream, `http://host:port` (plain HTTP only), usually LocalStack's.
    /// The default is LocalStack's default address, `http://127.0.0.1:4566`.
    pub upstream: String,
    /// Fault rates for API Gateway requests; the default injects none.
    pub faults: FaultRates,
    /// When set, the least time between two forwarded `CreateDeployment` calls; one that comes
    /// sooner is answered 429 `TooManyRequestsException` and counted in
    /// [`Proxy::quota_rejections`]. The default is no quota.
    pub create_deployment_interval: Option<Duration>,
    /// When set, the account's request-rate bucket over every API Gateway request. The default
    /// is none.
    pub request_rate: Option<RequestRate>,
    /// Seed of the random generator that decides which requests are faulted.
    pub seed: u64,
}

/// A token bucket: `per_second` tokens a second, at most `burst` saved up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestRate {
    /// Tokens a second.
    pub per_second: f64,
    /// The bucket's size.
    pub burst: u32,
}

impl RequestRate {
    /// API Gateway's account-wide quota: 10 requests a second, a burst of 40.
    pub const AWS: RequestRate = RequestRate {
        per_second: 10.0,
        burst: 40,
    };

    /// CloudWatch's `DescribeAlarms` quota: 9 requests a second (no burst documented: 9).
    pub const DESCRIBE_ALARMS: RequestRate = RequestRate {
        per_second: 9.0,
        burst: 9,
    };
}

/// The request-rate bucket as the generic cell rate algorithm: `due` is when the next request
/// would be due at the steady rate; one may pass while `due` is at most `burst - 1` intervals
/// ahead of now.
#[derive(Debug)]
struct Bucket {
    interval: Duration,
    tolerance: Duration,
    due: Option<Instant>,
}

impl Bucket {
    fn new(rate: RequestRate) -> Bucket {
        let interval = Duration::from_secs_f64(1.0 / rate.per_second.max(1e-3));
        Bucket {
            interval,
            tolerance: interval * rate.burst.max(1).saturating_sub(1),
            due: None,
        }
    }

    /// Takes a token if there is one; else how long until there is.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let next = self.due.map_or(now, |due| due.max(now));
        if next > now + self.tolerance {
            return Err(next - self.tolerance - now);
        }
        self.due = Some(next + self.interval);
        Ok(())
    }
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            upstream: "http://127.0.0.1:4566".to_owned(),
            faults: FaultRates::NONE,
            create_deployment_interval: None,
            request_rate: None,
            seed: 0,
        }
    }
}

impl ProxyConfig {
    /// A configuration forwarding to `upstream` with no faults and no quota.
    pub fn new(upstream: impl Into<String>) -> Self {
        ProxyConfig {
            upstream: upstream.into(),
            ..ProxyConfig::default()
        }
    }
}

/// A running fault and quota proxy, listening on `127.0.0.1` on a port of its own. It stops
/// (the listener and every open connection) when dropped.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    accept_task: JoinHandle<()>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("endpoint", &self.endpoint())
            .field("upstream", &self.shared.upstream)
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// Binds `127.0.0.1:0` and starts serving in the background on the current Tokio runtime.
    ///
    /// Fails with [`std::io::ErrorKind::InvalidInput`] when `config.upstream` is not an
    /// `http://` URL with a host, or with the bind error.
    pub async fn start(config: ProxyConfig) -> std::io::Result<Proxy> {
        let upstream = parse_upstream(&config.upstream)?;
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;

        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);

        let shared = Arc::new(Shared {
            upstream,
            client,
            faults: Mutex::new(config.faults),
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            quota_interval: config.create_deployment_interval,
            last_create_deployment: Mutex::new(None),
            bucket: config
                .request_rate
                .map(|rate| Mutex::new(Bucket::new(rate))),
            denied: Mutex::new(BTreeSet::new()),
            cloudwatch_faults: Mutex::new(FaultRates::NONE),
            cloudwatch_bucket: Mutex::new(None),
            stats: Mutex::new(Stats::default()),
            lose: Mutex::new(Vec::new()),
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&shared), shutdown_rx));
        Ok(Proxy {
            addr,
            shared,
            shutdown,
            accept_task,
        })
    }

    /// The proxy's base URL, `http://127.0.0.1:PORT`, to use as the SDK's endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the proxy listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests forwarded to the upstream, by operation name (see [`operation_name`]). Requests
    /// answered with an injected fault or a quota rejection are not counted here.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.shared.stats().forwarded.clone()
    }

    /// Injected faults (of every kind, quota rejections excluded), by operation name.
    pub fn injected(&self) -> BTreeMap<String, u64> {
        self.shared.stats().injected.clone()
    }

    /// Injected faults by kind: `TooManyRequestsException`, `ConflictException`,
    /// `ServiceUnavailableException` and `ConnectionDropped`.
    pub fn injected_by_kind(&self) -> BTreeMap<String, u64> {
        self.shared.stats().injected_by_kind.clone()
    }

    /// How many `CreateDeployment` calls the CreateDeployment quota answered with 429.
    pub fn quota_rejections(&self) -> u64 {
        self.shared.stats().quota_rejections
    }

    /// How many requests a request-rate bucket refused: API Gateway's answered 429, CloudWatch's
    /// ([`limit_cloudwatch_rate`](Self::limit_cloudwatch_rate)) 400 `Throttling`.
    pub fn rate_rejections(&self) -> u64 {
        self.shared.stats().rate_rejections
    }

    /// How many requests were refused as AWS's model refuses them and LocalStack does not (a
    /// `DescribeAlarms` with more than 100 `AlarmNames` or a `MaxRecords` outside 1 to 100:
    /// 400 `ValidationError`).
    pub fn invalid_requests(&self) -> u64 {
        self.shared.stats().invalid
    }

    /// How many requests were answered 403 because their operation is denied.
    pub fn denials(&self) -> u64 {
        self.shared.stats().denials
    }

    /// Answers every request for the API Gateway operation `operation` (`UpdateStage`, as
    /// [`operation_name`] names it) 403 `AccessDeniedException` from now on, as IAM does; a
    /// CloudWatch operation (`DescribeAlarms`) 403 `AccessDenied` in its CBOR shape.
    pub fn deny(&self, operation: &str) {
        lock(&self.shared.denied).insert(operation.to_owned());
    }

    /// Replaces the fault rates of CloudWatch requests (none until this is called); requests
    /// arriving from now on use the new ones. Drawn from the same seeded generator as API
    /// Gateway's.
    pub fn set_cloudwatch_faults(&self, faults: FaultRates) {
        *lock(&self.shared.cloudwatch_faults) = faults;
    }

    /// From now on every CloudWatch request takes a token of a bucket of `rate` (a full one at
    /// first); one that finds it empty is answered 400 `Throttling`, as CloudWatch answers, and
    /// counted in [`rate_rejections`](Self::rate_rejections).
    pub fn limit_cloudwatch_rate(&self, rate: RequestRate) {
        *lock(&self.shared.cloudwatch_bucket) = Some(Bucket::new(rate));
    }

    /// Zeroes [`counts`](Self::counts), [`injected`](Self::injected),
    /// [`injected_by_kind`](Self::injected_by_kind), [`quota_rejections`](Self::quota_rejections),
    /// [`rate_rejections`](Self::rate_rejections) and [`denials`](Self::denials). The quotas'
    /// clocks (the last forwarded `CreateDeployment`, the bucket) are kept.
    pub fn reset_counts(&self) {
        *self.shared.stats() = Stats::default();
    }

    /// The answer to the `nth` (1-based, counted from now) forwarded request of `operation`
    /// (as [`operation_name`] names it) is lost: the request reaches the upstream and is
    /// carried out, then the connection is closed without an answer. Counted in
    /// [`lost_answers`](Self::lost_answers), and in [`counts`](Self::counts) as forwarded.
    pub fn lose_answer(&self, operation: &str, nth: u64) {
        lock(&self.shared.lose).push((operation.to_owned(), nth.max(1)));
    }

    /// Answers lost on purpose, by operation.
    pub fn lost_answers(&self) -> BTreeMap<String, u64> {
        self.shared.stats().lost.clone()
    }

    /// Replaces the fault rates; requests arriving from now on use the new ones.
    pub fn set_faults(&self, faults: FaultRates) {
        *lock(&self.shared.faults) = faults;
    }

    /// The fault rates in force.
    pub fn faults(&self) -> FaultRates {
        *lock(&self.shared.faults)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Open connections watch this channel and close; the accept loop stops listening.
        let _ = self.shutdown.send(true);
        self.accept_task.abort();
    }
}

/// The API Gateway operation a REST request calls, such as `CreateDeployment` for
/// `POST /restapis/{id}/deployments`, or `"METHOD /path"` (without the query) for anything else.
/// A CloudWatch request (`POST /service/GraniteServiceVersion20100801/operation/DescribeAlarms`)
/// is named by its operation, `DescribeAlarms`.
pub fn operation_name(method: &Method, path: &str) -> String {
    apigateway_operation(method, path)
        .or_else(|| cloudwatch::operation(path))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{method} {path}"))
}

fn apigateway_operation(method: &Method, path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let m = method.as_str();
    let op = match (segments.as_slice(), m) {
        (["restapis"], "GET") => "GetRestApis",
        (["restapis"], "POST") => "CreateRestApi",
        (["restapis", _], "GET") => "GetRestApi",
        (["restapis", _], "PUT") => "PutRestApi",
        (["restapis", _], "PATCH") => "UpdateRestApi",
        (["restapis", _], "DELETE") => "DeleteRestApi",
        (["restapis", _, "deployments"], "GET") => "GetDeployments",
        (["restapis", _, "deployments"], "POST") => "CreateDeployment",
        (["restapis", _, "deployments", _], "GET") => "GetDeployment",
        (["restapis", _, "deployments", _], "PATCH") => "UpdateDeployment",
        (["restapis", _, "deployments", _], "DELETE") => "DeleteDeployment",
        (["restapis", _, "stages"], "GET") => "GetStages",
        (["restapis", _, "stages"], "POST") => "CreateStage",
        (["restapis", _, "stages", _], "GET") => "GetStage",
        (["restapis", _, "stages", _], "PATCH") => "UpdateStage",
        (["restapis", _, "stages", _], "DELETE") => "DeleteStage",
        (["restapis", _, "stages", _, "cache", "data"], "DELETE") => "FlushStageCache",
        (["restapis", _, "stages", _, "cache", "authorizers"], "DELETE") => {
            "FlushStageAuthorizersCache"
        }
        (["restapis", _, "resources"], "GET") => "GetResources",
        (["restapis", _, "resources", _], "GET") => "GetResource",
        (["restapis", _, "resources", _], "POST") => "CreateResource",
        (["restapis", _, "resources", _], "PATCH") => "UpdateResource",
        (["restapis", _, "resources", _], "DELETE") => "DeleteResource",
        (["restapis", _, "resources", _, "methods", _], _) => method_op(m, "Method")?,
        (["restapis", _, "resources", _, "methods", _, "responses", _], _) => {
            method_op(m, "MethodResponse")?
        }
        (["restapis", _, "resources", _, "methods", _, "integration"], _) => {
            method_op(m, "Integration")?
        }
        (
            [
                "restapis",
                _,
                "resources",
                _,
                "methods",
                _,
                "integration",
                "responses",
                _,
            ],
            _,
        ) => method_op(m, "IntegrationResponse")?,
        (["tags", _], "GET") => "GetTags",
        (["tags", _], "PUT") => "TagResource",
        (["tags", _], "DELETE") => "UntagResource",
        _ => return None,
    };
    Some(op)
}

/// `Put`/`Get`/`Update`/`Delete` + `what`, for the method and integration sub-resources.
fn method_op(method: &str, what: &str) -> Option<&'static str> {
    let op = match (method, what) {
        ("PUT", "Method") => "PutMethod",
        ("GET", "Method") => "GetMethod",
        ("PATCH", "Method") => "UpdateMethod",
        ("DELETE", "Method") => "DeleteMethod",
        ("PUT", "MethodResponse") => "PutMethodResponse",
        ("GET", "MethodResponse") => "GetMethodResponse",
        ("PATCH", "MethodResponse") => "UpdateMethodResponse",
        ("DELETE", "MethodResponse") => "DeleteMethodResponse",
        ("PUT", "Integration") => "PutIntegration",
        ("GET", "Integration") => "GetIntegration",
        ("PATCH", "Integration") => "UpdateIntegration",
        ("DELETE", "Integration") => "DeleteIntegration",
        ("PUT", "IntegrationResponse") => "PutIntegrationResponse",
        ("GET", "IntegrationResponse") => "GetIntegrationResponse",
        ("PATCH", "IntegrationResponse") => "UpdateIntegrationResponse",
        ("DELETE", "IntegrationResponse") => "DeleteIntegrationResponse",
        _ => return None,
    };
    Some(op)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Throttle,
    Conflict,
    Unavailable,
    DropConnection,
}

impl Fault {
    fn kind(self) -> &'static str {
        match self {
            Fault::Throttle => "TooManyRequestsException",
            Fault::Conflict => "ConflictException",
            Fault::Unavailable => "ServiceUnavailableException",
            Fault::DropConnection => "ConnectionDropped",
        }
    }
}

#[derive(Debug, Default)]
struct Stats {
    forwarded: BTreeMap<String, u64>,
    injected: BTreeMap<String, u64>,
    injected_by_kind: BTreeMap<String, u64>,
    quota_rejections: u64,
    lost: BTreeMap<String, u64>,
    rate_rejections: u64,
    denials: u64,
    invalid: u64,
}

struct Shared {
    /// The upstream base URL without a trailing `/`.
    upstream: String,
    client: Client<HttpConnector, ProxyBody>,
    faults: Mutex<FaultRates>,
    rng: Mutex<StdRng>,
    quota_interval: Option<Duration>,
    last_create_deployment: Mutex<Option<Instant>>,
    bucket: Option<Mutex<Bucket>>,
    denied: Mutex<BTreeSet<String>>,
    /// The fault rates of CloudWatch requests.
    cloudwatch_faults: Mutex<FaultRates>,
    /// CloudWatch's request-rate bucket, once limited.
    cloudwatch_bucket: Mutex<Option<Bucket>>,
    stats: Mutex<Stats>,
    /// Answers to lose: (operation, how many more of its requests until the one to lose).
    lose: Mutex<Vec<(String, u64)>>,
}

impl Shared {
    fn stats(&self) -> MutexGuard<'_, Stats> {
        lock(&self.stats)
    }

    /// Draws the fault for a request of `service`, if any.
    fn draw_fault(&self, service: Service) -> Option<Fault> {
        let faults = match service {
            Service::ApiGateway => *lock(&self.faults),
            Service::CloudWatch => {
                let mut faults = *lock(&self.cloudwatch_faults);
                faults.conflict = 0.0;
                faults
            }
            Service::Other => return None,
        };
        if !faults.any() {
            return None;
        }
        let r: f64 = lock(&self.rng).random();
        faults.pick(r)
    }

    /// Whether the answer to this forwarded request of `op` is to be lost (counts it down).
    fn loses_answer(&self, op: &str) -> bool {
        let mut lose = lock(&self.lose);
        let mut lost = false;
        for (operation, remaining) in lose.iter_mut() {
            if operation == op {
                *remaining -= 1;
                lost |= *remaining == 0;
            }
        }
        lose.retain(|(_, remaining)| *remaining > 0);
        lost
    }

    /// `Ok` when the request-rate bucket of `service` has a token (taken), else how long until
    /// it has.
    fn rate_admits(&self, service: Service) -> Result<(), Duration> {
        match service {
            Service::ApiGateway => match &self.bucket {
                Some(bucket) => lock(bucket).take(Instant::now()),
                None => Ok(()),
            },
            Service::CloudWatch => match lock(&self.cloudwatch_bucket).as_mut() {
                Some(bucket) => bucket.take(Instant::now()),
                None => Ok(()),
            },
            Service::Other => Ok(()),
        }
    }

    /// True when a `CreateDeployment` may be forwarded now (and starts the next interval).
    fn quota_admits(&self) -> bool {
        let Some(interval) = self.quota_interval else {
            return true;
        };
        let mut last = lock(&self.last_create_deployment);
        let now = Instant::now();
        match *last {
            Some(previous) if now.duration_since(previous) < interval => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }
}

/// Locks a mutex, ignoring poisoning: the data behind these locks stays consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn parse_upstream(upstream: &str) -> std::io::Result<String> {
    let invalid = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
    let trimmed = upstream.trim_end_matches('/');
    let uri: Uri = trimmed
        .parse()
        .map_err(|e| invalid(format!("proxy upstream {upstream:?} is not a URL: {e}")))?;
    if uri.scheme_str() != Some("http") || uri.authority().is_none() {
        return Err(invalid(format!(
            "proxy upstream {upstream:?} must be a plain http:// URL with a host"
        )));
    }
    if uri.query().is_some() {
        return Err(invalid(format!(
            "proxy upstream {upstream:?} must not have a query"
        )));
    }
    Ok(trimmed.to_owned())
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Typically EMFILE: back off briefly rather than spin.
                tracing::warn!("fault proxy: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(Arc::clone(&shared), req));
            let conn = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                // An error here is mostly a deliberately dropped connection; either way the
                // stream is closed when this task ends.
                _ = conn => {}
                _ = shutdown.wait_for(|stop| *stop) => {}
            }
        });
    }
}

/// The service error that makes hyper close the connection without a response.
#[derive(Debug)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("fault proxy: connection dropped on purpose")
    }
}

impl std::error::Error for DropConnection {}

type ProxyBody = Either<Incoming, Full<Bytes>>;

/// The service a request is for, by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    /// `/restapis...`.
    ApiGateway,
    /// `/service/GraniteServiceVersion20100801/operation/...`.
    CloudWatch,
    /// Anything else (S3, LocalStack's own endpoints): forwarded untouched.
    Other,
}

impl Service {
    fn of(path: &str) -> Service {
        if path == "/restapis" || path.starts_with("/restapis/") {
            Service::ApiGateway
        } else if cloudwatch::operation(path).is_some() {
            Service::CloudWatch
        } else {
            Service::Other
        }
    }
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, DropConnection> {
    let path = req.uri().path().to_owned();
    let op = operation_name(req.method(), &path);
    let service = Service::of(&path);

    // AWS throttles at its front door, before the request is looked at any further.
    if let Err(wait) = shared.rate_admits(service) {
        shared.stats().rate_rejections += 1;
        if service == Service::CloudWatch {
            // CloudWatch sends no Retry-After.
            return Ok(cloudwatch::throttling());
        }
        let mut response = error_response(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "Too Many Requests",
        );
        // API Gateway's `retryAfterSeconds`, whole seconds.
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }

    if service != Service::Other && lock(&shared.denied).contains(&op) {
        shared.stats().denials += 1;
        if service == Service::CloudWatch {
            return Ok(cloudwatch::access_denied(&op));
        }
        return Ok(access_denied(req.method(), &path));
    }

    if let Some(fault) = shared.draw_fault(service) {
        {
            let mut stats = shared.stats();
            *stats.injected.entry(op).or_default() += 1;
            *stats
                .injected_by_kind
                .entry(fault.kind().to_owned())
                .or_default() += 1;
        }
        if service == Service::CloudWatch {
            return match fault {
                Fault::Throttle => Ok(cloudwatch::throttling()),
                Fault::Unavailable | Fault::Conflict => Ok(cloudwatch::unavailable()),
                Fault::DropConnection => Err(DropConnection),
            };
        }
        return match fault {
            Fault::Throttle => Ok(error_response(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                "Too Many Requests",
            )),
            Fault::Conflict => Ok(error_response(
                StatusCode::CONFLICT,
                "ConflictException",
                CONFLICT_MESSAGE,
            )),
            Fault::Unavailable => Ok(error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailableException",
                "Service Unavailable",
            )),
            Fault::DropConnection => Err(DropConnection),
        };
    }

    if op == "CreateDeployment" && !shared.quota_admits() {
        shared.stats().quota_rejections += 1;
        return Ok(error_response(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "Too Many Requests",
        ));
    }

    // What AWS's model refuses and LocalStack lets through.
    let req = if service == Service::CloudWatch && op == "DescribeAlarms" {
        let (parts, body) = req.into_parts();
        let Ok(collected) = http_body_util::BodyExt::collect(body).await else {
            return Err(DropConnection);
        };
        let bytes = collected.to_bytes();
        if let Some(refused) = cloudwatch::describe_alarms_fault(&bytes) {
            shared.stats().invalid += 1;
            return Ok(refused);
        }
        Request::from_parts(parts, Either::Right(Full::new(bytes)))
    } else {
        req.map(Either::Left)
    };

    *shared.stats().forwarded.entry(op.clone()).or_default() += 1;
    if shared.loses_answer(&op) {
        let response = forward(&shared, req).await;
        // The whole answer is read, so the upstream has finished the call, then dropped.
        let _ = http_body_util::BodyExt::collect(response.into_body()).await;
        *shared.stats().lost.entry(op).or_default() += 1;
        return Err(DropConnection);
    }
    let response = forward(&shared, req).await;
    if matches!(op.as_str(), "UpdateStage" | "GetStage" | "GetStages") {
        return Ok(typed_stage_flags(response).await);
    }
    Ok(response)
}

/// LocalStack 4.9.2 keeps the string a patch operation sent for
/// `/canarySettings/useStageCache` and answers `"useStageCache": "false"`, where AWS's model
/// (and AWS) answers a boolean; the SDK then refuses the whole answer ("UpdateStage failed with
/// HTTP status 200"). The proxy answers what AWS would: such a string becomes the boolean.
/// Nothing else in the body changes. See docs/behaviour.md, "Where LocalStack differs".
async fn typed_stage_flags(response: Response<ProxyBody>) -> Response<ProxyBody> {
    let (mut parts, body) = response.into_parts();
    let Ok(collected) = http_body_util::BodyExt::collect(body).await else {
        return plain_response(
            StatusCode::BAD_GATEWAY,
            "fault proxy: the upstream's answer was cut".to_owned(),
        );
    };
    let bytes = collected.to_bytes();
    let fixed = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|mut value| {
            let stages = match value.get_mut("item") {
                Some(serde_json::Value::Array(items)) => items.iter_mut().collect(),
                _ => vec![&mut value],
            };
            let mut changed = false;
            for stage in stages {
                if let Some(flag) = stage.pointer_mut("/canarySettings/useStageCache")
                    && let Some(text) = flag.as_str()
                {
                    *flag = serde_json::Value::Bool(text == "true");
                    changed = true;
                }
            }
            changed.then(|| value.to_string())
        });
    let bytes = match fixed {
        Some(text) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Bytes::from(text)
        }
        None => bytes,
    };
    Response::from_parts(parts, Either::Right(Full::new(bytes)))
}

async fn forward(shared: &Shared, req: Request<ProxyBody>) -> Response<ProxyBody> {
    let (mut parts, body) = req.into_parts();
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let target = format!("{}{}", shared.upstream, path_and_query);
    parts.uri = match target.parse::<Uri>() {
        Ok(uri) => uri,
        Err(e) => {
            return plain_response(
                StatusCode::BAD_REQUEST,
                format!("fault proxy: bad URI: {e}"),
            );
        }
    };
    parts.version = hyper::Version::HTTP_11;
    strip_hop_by_hop(&mut parts.headers);

    match shared
        .client
        .request(Request::from_parts(parts, body))
        .await
    {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Response::from_parts(parts, Either::Left(body))
        }
        Err(e) => plain_response(
            StatusCode::BAD_GATEWAY,
            format!("fault proxy: upstream {} failed: {e}", shared.upstream),
        ),
    }
}

/// Removes the hop-by-hop headers of RFC 9110 section 7.6.1, and any the `Connection` header names.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        headers.remove(name);
    }
}

/// An AWS-style REST JSON error: the status, `x-amzn-errortype` and `{"message": ...}`.
fn error_response(
    status: StatusCode,
    error_type: &'static str,
    message: &str,
) -> Response<ProxyBody> {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(body))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(ERROR_TYPE_HEADER, HeaderValue::from_static(error_type));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// IAM's refusal of an API Gateway call, as AWS words it: the action is the HTTP method
/// (`apigateway:PATCH`), the resource the path's ARN.
fn access_denied(method: &Method, path: &str) -> Response<ProxyBody> {
    let message = format!(
        "User: arn:aws:iam::000000000000:user/stagecraft-e2e is not authorized to perform: \
         apigateway:{method} on resource: arn:aws:apigateway:us-east-1::{path}"
    );
    error_response(StatusCode::FORBIDDEN, "AccessDeniedException", &message)
}

fn plain_response(status: StatusCode, message: String) -> Response<ProxyBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(message))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
