//! Support for end-to-end tests that apply against LocalStack: a fresh REST API per test, the
//! environment that points the binary at an endpoint, a proxy in front of LocalStack, and reading
//! stages back with the SDK.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_apigateway::types::Stage;
use stagecraft_testkit::localstack;
use stagecraft_testkit::proxy::{Proxy, ProxyConfig};

use crate::support::{Run, server_runtime, stagecraft_with_env};

/// LocalStack's endpoint (the test fails when `scripts/test.sh` did not start it).
pub fn endpoint() -> String {
    localstack::endpoint_from_env()
}

/// A tokio runtime for SDK calls made by the tests themselves.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A proxy in front of LocalStack, with the runtime that serves it while the binary runs.
pub struct Proxied {
    _runtime: tokio::runtime::Runtime,
    proxy: Proxy,
}

impl Proxied {
    /// The proxy `config` describes, served by `worker_threads` threads.
    pub fn start(worker_threads: usize, config: ProxyConfig) -> Proxied {
        let runtime = server_runtime(worker_threads);
        let proxy = runtime.block_on(Proxy::start(config)).unwrap();
        Proxied {
            _runtime: runtime,
            proxy,
        }
    }

    /// A proxy that only counts the calls it forwards to LocalStack.
    pub fn counting() -> Proxied {
        Proxied::start(1, ProxyConfig::new(endpoint()))
    }

    /// Every call since the last look, by operation, reads included.
    pub fn take_counts(&self) -> BTreeMap<String, u64> {
        let counts = self.proxy.counts();
        self.proxy.reset_counts();
        counts
    }
}

impl std::ops::Deref for Proxied {
    type Target = Proxy;

    fn deref(&self) -> &Proxy {
        &self.proxy
    }
}

/// A new deployable REST API with an id unique to this test run (ten characters, like AWS's).
pub fn new_api() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let id = format!(
        "e{:05}{:04}",
        std::process::id() % 100_000,
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    runtime()
        .block_on(localstack::create_rest_api(&endpoint(), &id, &id))
        .unwrap()
}

/// Every stage of an API, as LocalStack reports it.
pub fn stages(api: &str) -> Vec<Stage> {
    let client = localstack::apigateway_client(&endpoint(), localstack::REGION);
    runtime()
        .block_on(client.get_stages().rest_api_id(api).send())
        .unwrap()
        .item
        .unwrap_or_default()
}

/// One stage, if it exists.
pub fn stage(api: &str, name: &str) -> Option<Stage> {
    stages(api)
        .into_iter()
        .find(|stage| stage.stage_name() == Some(name))
}

/// How many deployments an API has.
pub fn deployments(api: &str) -> usize {
    let client = localstack::apigateway_client(&endpoint(), localstack::REGION);
    runtime()
        .block_on(client.get_deployments().rest_api_id(api).limit(500).send())
        .unwrap()
        .items
        .unwrap_or_default()
        .len()
}

/// The environment for a run against `endpoint` with test credentials, plus `extra`.
pub fn env_for<'a>(endpoint: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", localstack::REGION),
    ];
    env.extend_from_slice(extra);
    env
}

/// Runs `stagecraft ARGS` in `dir` against `endpoint`.
pub fn stagecraft_at(dir: &Path, endpoint: &str, args: &[&str], extra: &[(&str, &str)]) -> Run {
    stagecraft_with_env(dir, args, &env_for(endpoint, extra))
}
