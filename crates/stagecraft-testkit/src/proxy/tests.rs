#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::*;

/// A tiny upstream that answers every request 201 with a JSON echo of what it received and
/// counts the requests that reach it.
struct Upstream {
    endpoint: String,
    hits: Arc<AtomicU64>,
    _task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn echo(State(hits): State<Arc<AtomicU64>>, req: Request) -> Response {
    hits.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let headers: BTreeMap<String, Vec<String>> =
        parts.headers.keys().fold(BTreeMap::new(), |mut map, name| {
            let values = parts
                .headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            map.insert(name.as_str().to_owned(), values);
            map
        });
    let echo = json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body": body.to_vec(),
    });
    let mut response = (StatusCode::CREATED, echo.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("x-upstream", HeaderValue::from_static("echo"));
    headers.append("x-multi", HeaderValue::from_static("one"));
    headers.append("x-multi", HeaderValue::from_static("two"));
    // A hop-by-hop header (named by Connection) the proxy must not relay.
    headers.insert("connection", HeaderValue::from_static("x-upstream-hop"));
    headers.insert("x-upstream-hop", HeaderValue::from_static("1"));
    response
}

async fn upstream() -> Upstream {
    let hits = Arc::new(AtomicU64::new(0));
    let app = Router::new().fallback(echo).with_state(Arc::clone(&hits));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Upstream {
        endpoint,
        hits,
        _task: task,
    }
}

async fn proxy_to(upstream: &Upstream, faults: FaultRates, quota: Option<Duration>) -> Proxy {
    Proxy::start(ProxyConfig {
        upstream: upstream.endpoint.clone(),
        faults,
        create_deployment_interval: quota,
        request_rate: None,
        seed: 42,
    })
    .await
    .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn map(entries: &[(&str, u64)]) -> BTreeMap<String, u64> {
    entries.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

async fn json_of(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn forwards_requests_and_responses_faithfully() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, FaultRates::NONE, None).await;
    let body: Vec<u8> = vec![0, 159, 146, 150, b'{', b'}', 255];

    let response = client()
        .post(format!(
            "{}/restapis/abc/stages/prod%20x?mode=full&a=1",
            proxy.endpoint()
        ))
        .header("x-custom", "value-1")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/x, Signature=y",
        )
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "must-not-pass")
        .header("proxy-authorization", "secret")
        .body(body.clone())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    let headers = response.headers().clone();
    assert_eq!(headers.get("x-upstream").unwrap(), "echo");
    let multi: Vec<_> = headers.get_all("x-multi").iter().collect();
    assert_eq!(multi, ["one", "two"]);
    assert!(
        headers.get("x-upstream-hop").is_none(),
        "hop-by-hop response header relayed"
    );
    let echo = json_of(response).await;

    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/restapis/abc/stages/prod%20x");
    assert_eq!(echo["query"], "mode=full&a=1");
    assert_eq!(echo["body"], json!(body));
    let seen = &echo["headers"];
    assert_eq!(seen["x-custom"], json!(["value-1"]));
    assert_eq!(
        seen["authorization"],
        json!(["AWS4-HMAC-SHA256 Credential=test/x, Signature=y"])
    );
    assert_eq!(seen["host"], json!([proxy.local_addr().to_string()]));
    assert_eq!(seen["content-length"], json!([body.len().to_string()]));
    assert!(
        seen.get("x-hop").is_none(),
        "header named by Connection was forwarded"
    );
    assert!(
        seen.get("proxy-authorization").is_none(),
        "hop-by-hop header was forwarded"
    );
    assert_eq!(upstream.hits(), 1);
    // A request without a body, and one with an empty query, go through too.
    let response = client()
        .get(format!("{}/some/where?", proxy.endpoint()))
        .send()
        .await
        .unwrap();
    let echo = json_of(response).await;
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["path"], "/some/where");
    assert_eq!(echo["body"], json!([]));
    assert_eq!(upstream.hits(), 2);
}

#[tokio::test]
async fn counts_forwarded_requests_by_operation() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, FaultRates::NONE, None).await;
    let c = client();
    let e = proxy.endpoint();
    let calls = [
        (reqwest::Method::POST, "/restapis/a1/deployments"),
        (reqwest::Method::GET, "/restapis/a1/stages/prod"),
        (reqwest::Method::GET, "/restapis/a1/stages/prod"),
        (reqwest::Method::GET, "/restapis/a1/stages"),
        (reqwest::Method::PATCH, "/restapis/a1/stages/prod"),
        (reqwest::Method::DELETE, "/restapis/a1/stages/dev"),
        (reqwest::Method::GET, "/restapis/a1/deployments/d9"),
        (reqwest::Method::PUT, "/bucket/key?x-id=PutObject"),
    ];
    for (method, path) in calls {
        let status = c
            .request(method, format!("{e}{path}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, reqwest::StatusCode::CREATED);
    }
    assert_eq!(
        proxy.counts(),
        map(&[
            ("CreateDeployment", 1),
            ("DeleteStage", 1),
            ("GetDeployment", 1),
            ("GetStage", 2),
            ("GetStages", 1),
            ("PUT /bucket/key", 1),
            ("UpdateStage", 1),
        ])
    );
    assert!(proxy.injected().is_empty());
    assert_eq!(proxy.quota_rejections(), 0);

    proxy.reset_counts();
    assert!(proxy.counts().is_empty());
    c.get(format!("{e}/restapis/a1/stages/prod"))
        .send()
        .await
        .unwrap();
    assert_eq!(proxy.counts(), map(&[("GetStage", 1)]));
}

#[test]
fn names_api_gateway_operations() {
    let cases = [
        (Method::POST, "/restapis", "CreateRestApi"),
        (Method::GET, "/restapis", "GetRestApis"),
        (Method::GET, "/restapis/a1", "GetRestApi"),
        (Method::DELETE, "/restapis/a1", "DeleteRestApi"),
        (Method::POST, "/restapis/a1/deployments", "CreateDeployment"),
        (Method::GET, "/restapis/a1/deployments", "GetDeployments"),
        (Method::GET, "/restapis/a1/deployments/d1", "GetDeployment"),
        (
            Method::DELETE,
            "/restapis/a1/deployments/d1",
            "DeleteDeployment",
        ),
        (Method::GET, "/restapis/a1/stages/prod", "GetStage"),
        (Method::GET, "/restapis/a1/stages/prod/", "GetStage"),
        (Method::PATCH, "/restapis/a1/stages/prod", "UpdateStage"),
        (Method::DELETE, "/restapis/a1/stages/prod", "DeleteStage"),
        (Method::POST, "/restapis/a1/stages", "CreateStage"),
        (
            Method::DELETE,
            "/restapis/a1/stages/prod/cache/data",
            "FlushStageCache",
        ),
        (Method::GET, "/restapis/a1/resources", "GetResources"),
        (Method::POST, "/restapis/a1/resources/r1", "CreateResource"),
        (
            Method::PUT,
            "/restapis/a1/resources/r1/methods/GET",
            "PutMethod",
        ),
        (
            Method::PUT,
            "/restapis/a1/resources/r1/methods/GET/integration",
            "PutIntegration",
        ),
        (
            Method::PUT,
            "/restapis/a1/resources/r1/methods/GET/integration/responses/200",
            "PutIntegrationResponse",
        ),
        (
            Method::PUT,
            "/restapis/a1/resources/r1/methods/GET/responses/200",
            "PutMethodResponse",
        ),
        (
            Method::GET,
            "/tags/arn:aws:apigateway:us-east-1::%2Frestapis%2Fa1",
            "GetTags",
        ),
        (
            Method::POST,
            "/restapis/a1/stages/prod",
            "POST /restapis/a1/stages/prod",
        ),
        (Method::GET, "/my-bucket/key", "GET /my-bucket/key"),
        (Method::GET, "/", "GET /"),
    ];
    for (method, path, expected) in cases {
        assert_eq!(operation_name(&method, path), expected, "{method} {path}");
    }
}

#[tokio::test]
async fn throttle_rate_one_answers_every_api_gateway_call_429() {
    let upstream = upstream().await;
    let faults = FaultRates {
        throttle: 1.0,
        ..FaultRates::NONE
    };
    let proxy = proxy_to(&upstream, faults, None).await;
    let c = client();
    for path in [
        "/restapis",
        "/restapis/a1/deployments",
        "/restapis/a1/stages/prod",
    ] {
        let response = c
            .post(format!("{}{path}", proxy.endpoint()))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            reqwest::StatusCode::TOO_MANY_REQUESTS,
            "{path}"
        );
        assert_eq!(
            response.headers().get("x-amzn-errortype").unwrap(),
            "TooManyRequestsException"
        );
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            "application/json"
        );
        assert_eq!(
            json_of(response).await,
            json!({"message": "Too Many Requests"})
        );
    }
    assert_eq!(upstream.hits(), 0, "a faulted request reached the upstream");

    // Not API Gateway: forwarded untouched.
    let response = c
        .get(format!("{}/bucket/restapis", proxy.endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    assert_eq!(upstream.hits(), 1);

    assert_eq!(
        proxy.injected(),
        map(&[
            ("CreateDeployment", 1),
            ("CreateRestApi", 1),
            ("POST /restapis/a1/stages/prod", 1)
        ])
    );
    assert_eq!(
        proxy.injected_by_kind(),
        map(&[("TooManyRequestsException", 3)])
    );
    assert_eq!(proxy.counts(), map(&[("GET /bucket/restapis", 1)]));
}

#[tokio::test]
async fn conflict_and_unavailable_faults_and_runtime_changes() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, FaultRates::NONE, None).await;
    let c = client();
    let url = format!("{}/restapis/a1/stages/prod", proxy.endpoint());

    assert_eq!(
        c.patch(&url).send().await.unwrap().status(),
        reqwest::StatusCode::CREATED
    );

    proxy.set_faults(FaultRates {
        conflict: 1.0,
        ..FaultRates::NONE
    });
    assert_eq!(proxy.faults().conflict, 1.0);
    let response = c.patch(&url).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::CONFLICT);
    assert_eq!(
        response.headers().get("x-amzn-errortype").unwrap(),
        "ConflictException"
    );
    assert_eq!(
        json_of(response).await,
        json!({ "message": CONFLICT_MESSAGE })
    );

    proxy.set_faults(FaultRates {
        unavailable: 1.0,
        ..FaultRates::NONE
    });
    let response = c.patch(&url).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response.headers().get("x-amzn-errortype").unwrap(),
        "ServiceUnavailableException"
    );

    proxy.set_faults(FaultRates::NONE);
    assert_eq!(
        c.patch(&url).send().await.unwrap().status(),
        reqwest::StatusCode::CREATED
    );

    assert_eq!(upstream.hits(), 2);
    assert_eq!(proxy.counts(), map(&[("UpdateStage", 2)]));
    assert_eq!(proxy.injected(), map(&[("UpdateStage", 2)]));
    assert_eq!(
        proxy.injected_by_kind(),
        map(&[("ConflictException", 1), ("ServiceUnavailableException", 1)])
    );
}

#[tokio::test]
async fn quota_rejects_a_create_deployment_within_the_interval() {
    let upstream = upstream().await;
    let interval = Duration::from_millis(200);
    let proxy = proxy_to(&upstream, FaultRates::NONE, Some(interval)).await;
    let c = client();
    let create = format!("{}/restapis/a1/deployments", proxy.endpoint());
    let other_api = format!("{}/restapis/b2/deployments", proxy.endpoint());

    let first = c.post(&create).send().await.unwrap();
    assert_eq!(first.status(), reqwest::StatusCode::CREATED);

    // The quota is per account, not per API: another API's CreateDeployment is refused too.
    let started = std::time::Instant::now();
    let second = c.post(&other_api).send().await.unwrap();
    assert!(
        started.elapsed() < interval,
        "the test machine is too slow for this interval"
    );
    assert_eq!(second.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        second.headers().get("x-amzn-errortype").unwrap(),
        "TooManyRequestsException"
    );
    assert_eq!(proxy.quota_rejections(), 1);

    // Other operations are not limited.
    let stage = c
        .get(format!("{}/restapis/a1/stages/prod", proxy.endpoint()))
        .send()
        .await;
    assert_eq!(stage.unwrap().status(), reqwest::StatusCode::CREATED);

    tokio::time::sleep(interval + Duration::from_millis(50)).await;
    let third = c.post(&create).send().await.unwrap();
    assert_eq!(third.status(), reqwest::StatusCode::CREATED);

    assert_eq!(upstream.hits(), 3);
    assert_eq!(
        proxy.counts(),
        map(&[("CreateDeployment", 2), ("GetStage", 1)])
    );
    assert!(
        proxy.injected().is_empty(),
        "quota rejections are not injected faults"
    );
    assert_eq!(proxy.quota_rejections(), 1);
}

#[tokio::test]
async fn drop_connection_closes_without_a_response() {
    let upstream = upstream().await;
    let faults = FaultRates {
        drop_connection: 1.0,
        ..FaultRates::NONE
    };
    let proxy = proxy_to(&upstream, faults, None).await;
    let c = client();

    let result = c
        .post(format!("{}/restapis/a1/deployments", proxy.endpoint()))
        .send()
        .await;
    let err = result.expect_err("a dropped connection must not produce a response");
    assert!(
        !err.is_timeout(),
        "expected a connection error, got a timeout: {err}"
    );
    assert!(
        err.status().is_none(),
        "expected a connection error, got {err}"
    );
    assert_eq!(upstream.hits(), 0);
    assert_eq!(proxy.injected(), map(&[("CreateDeployment", 1)]));
    assert_eq!(proxy.injected_by_kind(), map(&[("ConnectionDropped", 1)]));

    // The proxy still serves new connections afterwards.
    let response = c
        .get(format!("{}/other", proxy.endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
}

/// A lost answer: the 2nd `CreateDeployment` reaches the upstream (it is carried out), and the
/// client gets no answer; the 1st and 3rd are answered as usual.
#[tokio::test]
async fn a_lost_answer_is_carried_out_upstream_and_never_relayed() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, FaultRates::NONE, None).await;
    proxy.lose_answer("CreateDeployment", 2);
    let c = client();
    let url = format!("{}/restapis/a1/deployments", proxy.endpoint());
    let first = c.post(&url).send().await.unwrap();
    assert_eq!(first.status(), reqwest::StatusCode::CREATED);
    let lost = c.post(&url).send().await;
    let err = lost.expect_err("a lost answer must not reach the client");
    assert!(err.status().is_none(), "{err}");
    assert_eq!(upstream.hits(), 2, "the lost one was carried out");
    let third = c.post(&url).send().await.unwrap();
    assert_eq!(third.status(), reqwest::StatusCode::CREATED);
    assert_eq!(proxy.lost_answers(), map(&[("CreateDeployment", 1)]));
    assert_eq!(proxy.counts(), map(&[("CreateDeployment", 3)]));
}

/// The statuses of `n` sequential GetStage calls through a proxy with a 50% throttle rate.
async fn throttle_pattern(upstream: &Upstream, seed: u64, n: usize) -> Vec<u16> {
    let proxy = Proxy::start(ProxyConfig {
        upstream: upstream.endpoint.clone(),
        faults: FaultRates {
            throttle: 0.5,
            ..FaultRates::NONE
        },
        create_deployment_interval: None,
        request_rate: None,
        seed,
    })
    .await
    .unwrap();
    let c = client();
    let mut statuses = Vec::with_capacity(n);
    for _ in 0..n {
        let url = format!("{}/restapis/a1/stages/prod", proxy.endpoint());
        statuses.push(c.get(url).send().await.unwrap().status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn faults_follow_the_seed() {
    let upstream = upstream().await;
    let first = throttle_pattern(&upstream, 7, 40).await;
    let again = throttle_pattern(&upstream, 7, 40).await;
    let other = throttle_pattern(&upstream, 8, 40).await;
    assert_eq!(first, again, "the same seed must fault the same requests");
    assert_ne!(first, other, "a different seed should fault other requests");
    let throttled = first.iter().filter(|s| **s == 429).count();
    assert!(
        (8..=32).contains(&throttled),
        "{throttled} of 40 throttled at a 50% rate"
    );
    assert!(first.iter().all(|s| *s == 429 || *s == 201), "{first:?}");
}

#[tokio::test]
async fn answers_502_when_the_upstream_is_down() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let proxy = Proxy::start(ProxyConfig::new(format!("http://127.0.0.1:{port}/")))
        .await
        .unwrap();
    let response = client()
        .get(format!("{}/restapis/a1/stages/prod", proxy.endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::BAD_GATEWAY);
    assert_eq!(proxy.counts(), map(&[("GetStage", 1)]));
}

#[tokio::test]
async fn rejects_an_unusable_upstream() {
    for upstream in ["https://127.0.0.1:4566", "127.0.0.1:4566", "not a url", ""] {
        let err = Proxy::start(ProxyConfig::new(upstream)).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{upstream:?}");
    }
}

#[tokio::test]
async fn stops_listening_when_dropped() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, FaultRates::NONE, None).await;
    let endpoint = proxy.endpoint();
    let c = client();
    assert!(c.get(format!("{endpoint}/x")).send().await.is_ok());
    drop(proxy);

    let fresh = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let mut refused = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if fresh.get(format!("{endpoint}/x")).send().await.is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "the proxy still answers after being dropped");
    // The kept-alive connection of the first client was closed too.
    assert!(c.get(format!("{endpoint}/x")).send().await.is_err());
}

#[test]
fn the_bucket_gives_its_burst_then_one_token_per_interval() {
    let mut bucket = Bucket::new(RequestRate::AWS);
    let start = Instant::now();
    for i in 0..40 {
        assert_eq!(bucket.take(start), Ok(()), "request {i} of the burst");
    }
    // The 41st at once is refused, and told to wait one interval (100 ms); refused requests
    // take no token.
    assert_eq!(bucket.take(start), Err(Duration::from_millis(100)));
    assert_eq!(bucket.take(start), Err(Duration::from_millis(100)));
    let later = start + Duration::from_millis(100);
    assert_eq!(bucket.take(later), Ok(()));
    assert!(bucket.take(later).is_err());
    // Ten seconds idle refill the bucket to 40, not 100.
    let idle = later + Duration::from_secs(10);
    for i in 0..40 {
        assert_eq!(bucket.take(idle), Ok(()), "request {i} after idling");
    }
    assert!(bucket.take(idle).is_err());
}

#[tokio::test]
async fn the_request_rate_answers_429_with_retry_after_over_every_api_gateway_call() {
    let upstream = upstream().await;
    let proxy = Proxy::start(ProxyConfig {
        upstream: upstream.endpoint.clone(),
        // One token a minute: only the burst passes while this test runs.
        request_rate: Some(RequestRate {
            per_second: 1.0 / 60.0,
            burst: 3,
        }),
        ..ProxyConfig::default()
    })
    .await
    .unwrap();
    let c = client();
    let get = format!("{}/restapis/a1/stages/prod", proxy.endpoint());
    let create = format!("{}/restapis/b2/deployments", proxy.endpoint());
    assert_eq!(
        c.get(&get).send().await.unwrap().status(),
        reqwest::StatusCode::CREATED
    );
    assert_eq!(
        c.post(&create).send().await.unwrap().status(),
        reqwest::StatusCode::CREATED
    );
    assert_eq!(
        c.get(&get).send().await.unwrap().status(),
        reqwest::StatusCode::CREATED
    );
    // Reads and mutations of any API share the bucket.
    let refused = c.post(&create).send().await.unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused.headers().get("x-amzn-errortype").unwrap(),
        "TooManyRequestsException"
    );
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        json_of(refused).await,
        json!({ "message": "Too Many Requests" })
    );
    // Not API Gateway (an Amplify path): not this bucket's.
    let amplify = c
        .get(format!("{}/apps/d1/branches", proxy.endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(amplify.status(), reqwest::StatusCode::CREATED);
    assert_eq!(proxy.rate_rejections(), 1);
    assert_eq!(proxy.quota_rejections(), 0);
    assert_eq!(upstream.hits(), 4);
}

#[tokio::test]
async fn a_denied_operation_is_answered_403_access_denied_naming_the_action() {
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, FaultRates::NONE, None).await;
    proxy.deny("UpdateStage");
    let c = client();
    let stage = format!("{}/restapis/a1/stages/prod", proxy.endpoint());
    let denied = c.patch(&stage).send().await.unwrap();
    assert_eq!(denied.status(), reqwest::StatusCode::FORBIDDEN);
    assert_eq!(
        denied.headers().get("x-amzn-errortype").unwrap(),
        "AccessDeniedException"
    );
    let body = json_of(denied).await;
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("not authorized to perform: apigateway:PATCH on resource: "),
        "{message}"
    );
    // Other operations pass.
    assert_eq!(
        c.get(&stage).send().await.unwrap().status(),
        reqwest::StatusCode::CREATED
    );
    assert_eq!(proxy.denials(), 1);
    assert_eq!(upstream.hits(), 1);
}

/// Our provider, its clients on `endpoint` with the SDK's retries off (as the CLI has them).
fn provider_on(endpoint: &str) -> stagecraft_aws::AwsProvider {
    use aws_sdk_cloudwatch::config::retry::RetryConfig;
    let cloudwatch = crate::alarms::cloudwatch_client(endpoint, crate::localstack::REGION);
    let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
        cloudwatch
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build(),
    );
    let amplify = aws_sdk_amplify::Client::from_conf(
        aws_sdk_amplify::Config::builder()
            .behavior_version(aws_sdk_amplify::config::BehaviorVersion::latest())
            .region(aws_sdk_amplify::config::Region::new("us-east-1"))
            .build(),
    );
    stagecraft_aws::AwsProvider::from_clients(
        crate::localstack::apigateway_client(endpoint, crate::localstack::REGION),
        amplify,
        cloudwatch,
    )
}

#[test]
fn names_cloudwatch_operations_from_their_rpc_v2_path() {
    assert_eq!(
        operation_name(
            &Method::POST,
            "/service/GraniteServiceVersion20100801/operation/DescribeAlarms"
        ),
        "DescribeAlarms"
    );
    assert_eq!(
        operation_name(
            &Method::POST,
            "/service/GraniteServiceVersion20100801/operation/SetAlarmState"
        ),
        "SetAlarmState"
    );
    assert_eq!(
        operation_name(&Method::POST, "/service/Other/operation/DescribeAlarms"),
        "POST /service/Other/operation/DescribeAlarms"
    );
}

#[tokio::test]
async fn cloudwatch_faults_are_answered_in_its_cbor_shape_and_read_as_aws_answers() {
    use stagecraft_core::provider::{ErrorKind, Provider};
    let upstream = upstream().await;
    // API Gateway's faults do not touch CloudWatch: with every API Gateway call throttled, the
    // alarm read is forwarded.
    let proxy = proxy_to(
        &upstream,
        FaultRates {
            throttle: 1.0,
            ..FaultRates::NONE
        },
        None,
    )
    .await;
    let provider = provider_on(&proxy.endpoint());
    let names = ["errors".to_owned()];
    let _ = provider.describe_alarms(&names).await;
    assert_eq!(upstream.hits(), 1);
    assert_eq!(proxy.counts(), map(&[("DescribeAlarms", 1)]));
    assert!(proxy.injected().is_empty());

    proxy.set_cloudwatch_faults(FaultRates {
        throttle: 1.0,
        ..FaultRates::NONE
    });
    let err = provider.describe_alarms(&names).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled, "{err}");
    assert_eq!(err.code.as_deref(), Some("Throttling"));
    assert_eq!(err.message, "Rate exceeded");

    proxy.set_cloudwatch_faults(FaultRates {
        unavailable: 1.0,
        ..FaultRates::NONE
    });
    let err = provider.describe_alarms(&names).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");
    assert_eq!(err.code.as_deref(), Some("ServiceUnavailable"));

    // A conflict rate means nothing to CloudWatch: forwarded.
    proxy.set_cloudwatch_faults(FaultRates {
        conflict: 1.0,
        ..FaultRates::NONE
    });
    let _ = provider.describe_alarms(&names).await;
    assert_eq!(upstream.hits(), 2);

    proxy.set_cloudwatch_faults(FaultRates {
        drop_connection: 1.0,
        ..FaultRates::NONE
    });
    let err = provider.describe_alarms(&names).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient, "{err}");

    assert_eq!(upstream.hits(), 2);
    assert_eq!(proxy.injected(), map(&[("DescribeAlarms", 3)]));
    assert_eq!(
        proxy.injected_by_kind(),
        map(&[
            ("ConnectionDropped", 1),
            ("ServiceUnavailableException", 1),
            ("TooManyRequestsException", 1),
        ])
    );
}

#[tokio::test]
async fn a_denied_cloudwatch_operation_names_its_action_and_its_rate_is_enforced() {
    use stagecraft_core::provider::{ErrorKind, Provider};
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, FaultRates::NONE, None).await;
    let provider = provider_on(&proxy.endpoint());
    let names = ["errors".to_owned()];

    proxy.deny("DescribeAlarms");
    let err = provider.describe_alarms(&names).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert_eq!(err.code.as_deref(), Some("AccessDenied"));
    assert!(
        err.message
            .contains("is not authorized to perform: cloudwatch:DescribeAlarms"),
        "{err}"
    );
    assert!(
        err.message
            .ends_with("(cloudwatch:DescribeAlarms on DescribeAlarms)"),
        "{err}"
    );
    assert_eq!(proxy.denials(), 1);
    assert_eq!(upstream.hits(), 0);

    // A fresh proxy, one token a second and no burst: the second read at once is throttled.
    let proxy = proxy_to(&upstream, FaultRates::NONE, None).await;
    let provider = provider_on(&proxy.endpoint());
    proxy.limit_cloudwatch_rate(RequestRate {
        per_second: 1.0,
        burst: 1,
    });
    let _ = provider.describe_alarms(&names).await;
    let err = provider.describe_alarms(&names).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled, "{err}");
    assert_eq!(proxy.rate_rejections(), 1);
    assert_eq!(upstream.hits(), 1);
    assert_eq!(RequestRate::DESCRIBE_ALARMS.per_second, 9.0);
}

#[tokio::test]
async fn describe_alarms_that_aws_refuses_are_refused_and_the_providers_batches_pass() {
    use stagecraft_core::provider::Provider;
    let upstream = upstream().await;
    let proxy = proxy_to(&upstream, FaultRates::NONE, None).await;
    let names: Vec<String> = (0..250).map(|i| format!("alarm-{i}")).collect();
    // Our provider's first batch, 100 names and MaxRecords 100 as the SDK encodes them, is
    // forwarded (the echo's answer then fails the read: no second batch).
    let _ = provider_on(&proxy.endpoint()).describe_alarms(&names).await;
    assert_eq!(proxy.invalid_requests(), 0);
    assert_eq!(proxy.counts(), map(&[("DescribeAlarms", 1)]));
    assert_eq!(upstream.hits(), 1);
    // The SDK's own encoding of what AWS's model refuses.
    let client = provider_client(&proxy.endpoint());
    let err = client
        .describe_alarms()
        .set_alarm_names(Some(names[..101].to_vec()))
        .send()
        .await
        .unwrap_err();
    let (code, message) = code_and_message(&err);
    assert_eq!(code.as_deref(), Some("ValidationError"));
    assert!(message.contains("'alarmNames'"), "{message}");
    let err = client
        .describe_alarms()
        .max_records(500)
        .send()
        .await
        .unwrap_err();
    assert!(code_and_message(&err).1.contains("'maxRecords'"));
    assert_eq!(proxy.invalid_requests(), 2);
    assert_eq!(upstream.hits(), 1);
}

/// A CloudWatch client on `endpoint` with the SDK's retries off.
fn provider_client(endpoint: &str) -> aws_sdk_cloudwatch::Client {
    use aws_sdk_cloudwatch::config::retry::RetryConfig;
    let client = crate::alarms::cloudwatch_client(endpoint, crate::localstack::REGION);
    aws_sdk_cloudwatch::Client::from_conf(
        client
            .config()
            .to_builder()
            .retry_config(RetryConfig::disabled())
            .build(),
    )
}

/// The code and message of an SDK error.
fn code_and_message<E: aws_sdk_cloudwatch::error::ProvideErrorMetadata>(
    err: &E,
) -> (Option<String>, String) {
    (
        err.code().map(str::to_owned),
        err.message().unwrap_or_default().to_owned(),
    )
}
