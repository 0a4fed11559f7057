//! One loopback endpoint in front of LocalStack and the Amplify emulator: each request goes to
//! the service named in its AWS signature, so one `AWS_ENDPOINT_URL` serves every SDK client.
//!
//! The rule ([`route`]):
//! * a SigV4 `Authorization` header (or a presigned URL's `X-Amz-Credential` query parameter)
//!   whose credential scope names `amplify` (`AKID/DATE/REGION/amplify/aws4_request`) goes to
//!   the emulator;
//! * an unsigned request for the emulator's own URLs (`/_upload/...`, the presigned-style zip
//!   upload, and `/_logs/...`, the job logs) goes to the emulator;
//! * everything else goes to LocalStack (API Gateway, S3, CloudWatch signed as `monitoring`,
//!   its health endpoint).
//!
//! Requests are forwarded as they are (method, path and query, headers including `Host` and the
//! signature, streamed body) except hop-by-hop headers, and so are answers. An upstream that
//! cannot be reached is answered 502.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::proxy::{parse_upstream, strip_hop_by_hop};

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Upstream {
    /// LocalStack (API Gateway, S3, CloudWatch, anything not Amplify).
    LocalStack,
    /// The Amplify emulator.
    Amplify,
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Upstream::LocalStack => "LocalStack",
            Upstream::Amplify => "Amplify emulator",
        })
    }
}

/// The emulator's unsigned paths: the zip upload and the job logs.
const EMULATOR_UNSIGNED_PREFIXES: [&str; 2] = ["/_upload/", "/_logs/"];

/// The service named by a SigV4 credential (`AKID/20250101/us-east-1/amplify/aws4_request`).
fn credential_service(credential: &str) -> Option<&str> {
    let mut parts = credential.rsplit('/');
    let terminator = parts.next()?;
    let service = parts.next()?;
    (terminator == "aws4_request").then_some(service)
}

/// The service a request is signed for: from the `Authorization` header
/// (`AWS4-HMAC-SHA256 Credential=.../amplify/aws4_request, SignedHeaders=..., Signature=...`)
/// or a presigned URL's `X-Amz-Credential` query parameter.
pub fn signed_service(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let credential = auth
            .split([',', ' '])
            .find_map(|part| part.trim().strip_prefix("Credential="));
        if let Some(service) = credential.and_then(credential_service) {
            return Some(service.to_owned());
        }
    }
    let query = uri.query()?;
    query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        if !name.eq_ignore_ascii_case("X-Amz-Credential") {
            return None;
        }
        // The credential's slashes are percent-encoded in a query string.
        let decoded = value.replace("%2F", "/").replace("%2f", "/");
        credential_service(&decoded).map(str::to_owned)
    })
}

/// Where a request with these headers and this URI goes (see the module documentation).
pub fn route(headers: &HeaderMap, uri: &Uri) -> Upstream {
    match signed_service(headers, uri) {
        Some(service) if service == "amplify" => Upstream::Amplify,
        Some(_) => Upstream::LocalStack,
        None if EMULATOR_UNSIGNED_PREFIXES
            .iter()
            .any(|prefix| uri.path().starts_with(prefix)) =>
        {
            Upstream::Amplify
        }
        None => Upstream::LocalStack,
    }
}

/// How to start a [`Router`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterConfig {
    /// LocalStack's base URL, `http://127.0.0.1:PORT` (or a fault proxy in front of it).
    pub localstack: String,
    /// The Amplify emulator's base URL ([`Emulator::endpoint`](crate::amplify::Emulator::endpoint)).
    pub amplify: String,
    /// The address to listen on; `None` picks a free port on 127.0.0.1.
    pub bind: Option<SocketAddr>,
}

/// A running router. It stops (the listener and every open connection) when dropped.
pub struct Router {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    accept_task: JoinHandle<()>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("endpoint", &self.endpoint())
            .field("localstack", &self.shared.localstack)
            .field("amplify", &self.shared.amplify)
            .finish_non_exhaustive()
    }
}

struct Shared {
    localstack: String,
    amplify: String,
    client: Client<HttpConnector, Incoming>,
    counts: Mutex<BTreeMap<Upstream, u64>>,
}

impl Shared {
    fn counts(&self) -> MutexGuard<'_, BTreeMap<Upstream, u64>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Router {
    /// Binds the listener and starts routing in the background on the current Tokio runtime.
    ///
    /// Fails with [`std::io::ErrorKind::InvalidInput`] when an upstream is not a plain
    /// `http://` URL with a host, or with the bind error.
    pub async fn start(config: RouterConfig) -> std::io::Result<Router> {
        let localstack = parse_upstream(&config.localstack)?;
        let amplify = parse_upstream(&config.amplify)?;
        let bind = config
            .bind
            .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let shared = Arc::new(Shared {
            localstack,
            amplify,
            client: Client::builder(TokioExecutor::new()).build(connector),
            counts: Mutex::new(BTreeMap::new()),
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&shared), shutdown_rx));
        Ok(Router {
            addr,
            shared,
            shutdown,
            accept_task,
        })
    }

    /// The router's base URL, `http://127.0.0.1:PORT`: the one endpoint to give every client.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many requests went to each upstream so far.
    pub fn counts(&self) -> BTreeMap<Upstream, u64> {
        self.shared.counts().clone()
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.accept_task.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Typically EMFILE: back off briefly rather than spin.
                tracing::warn!("router: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, std::convert::Infallible>(forward(&shared, req).await) }
            });
            let conn = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = shutdown.wait_for(|stop| *stop) => {}
            }
        });
    }
}

type RouterBody = Either<Incoming, Full<Bytes>>;

async fn forward(shared: &Shared, req: Request<Incoming>) -> Response<RouterBody> {
    let upstream = route(req.headers(), req.uri());
    *shared.counts().entry(upstream).or_default() += 1;
    let base = match upstream {
        Upstream::LocalStack => &shared.localstack,
        Upstream::Amplify => &shared.amplify,
    };
    let (mut parts, body) = req.into_parts();
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    parts.uri = match format!("{base}{path_and_query}").parse::<Uri>() {
        Ok(uri) => uri,
        Err(e) => return plain_response(StatusCode::BAD_REQUEST, format!("router: bad URI: {e}")),
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
            format!("router: {upstream} at {base} failed: {e}"),
        ),
    }
}

fn plain_response(status: StatusCode, message: String) -> Response<RouterBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(message))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests;
