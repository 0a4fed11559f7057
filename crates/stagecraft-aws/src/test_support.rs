//! Support for the unit tests (`<module>/tests.rs`): `aws-smithy-mocks` clients and providers
//! over them, AWS-shaped error answers, and a local TCP server that records what it was sent.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use aws_smithy_mocks::{Rule, RuleMode, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::AwsProvider;

/// A mocked API Gateway client answering with `rules`, in order, without retries.
pub(crate) fn apigateway_client(rules: &[&Rule]) -> aws_sdk_apigateway::Client {
    mock_client!(aws_sdk_apigateway, RuleMode::Sequential, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

/// A mocked Amplify client answering with `rules`, in order, without retries.
pub(crate) fn amplify_client(rules: &[&Rule]) -> aws_sdk_amplify::Client {
    mock_client!(aws_sdk_amplify, RuleMode::Sequential, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

/// A mocked CloudWatch client answering with `rules`, in order, without retries.
pub(crate) fn cloudwatch_client(rules: &[&Rule]) -> aws_sdk_cloudwatch::Client {
    mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

/// A provider whose API Gateway client answers with `rules`.
pub(crate) fn apigateway_provider(rules: &[&Rule]) -> AwsProvider {
    AwsProvider::from_clients(
        apigateway_client(rules),
        amplify_client(&[]),
        cloudwatch_client(&[]),
    )
}

/// A provider whose CloudWatch client answers with `rules`.
pub(crate) fn cloudwatch_provider(rules: &[&Rule]) -> AwsProvider {
    AwsProvider::from_clients(
        apigateway_client(&[]),
        amplify_client(&[]),
        cloudwatch_client(rules),
    )
}

/// A provider whose Amplify client answers with `rules`. Its upload client ignores any proxy
/// set in the environment, so that uploads reach the local test server.
pub(crate) fn amplify_provider(rules: &[&Rule]) -> AwsProvider {
    let mut provider = AwsProvider::from_clients(
        apigateway_client(&[]),
        amplify_client(rules),
        cloudwatch_client(&[]),
    );
    provider.http = reqwest::Client::builder().no_proxy().build().unwrap();
    provider
}

/// Error metadata as AWS's JSON error parser fills it.
pub(crate) fn meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

/// A raw HTTP answer, with `x-amzn-errortype` when `error_type` is given.
pub(crate) fn http_response(status: u16, error_type: Option<&str>, body: &str) -> HttpResponse {
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_string()),
    );
    response
        .headers_mut()
        .insert("content-type", "application/json");
    if let Some(error_type) = error_type {
        response
            .headers_mut()
            .insert("x-amzn-errortype", error_type.to_string());
    }
    response
}

/// One request a [`TestServer`] received: the head (lower-cased) and the body.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) head: String,
    pub(crate) body: Vec<u8>,
}

/// A tiny HTTP/1.1 server on 127.0.0.1: one request per connection, answered with the next of
/// its canned responses (the last one repeats).
pub(crate) struct TestServer {
    /// `http://127.0.0.1:<port>`
    pub(crate) base_url: String,
    pub(crate) seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

/// A raw HTTP response with a body and `connection: close`.
pub(crate) fn raw_response(status_line: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status_line}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

impl TestServer {
    pub(crate) async fn start(responses: Vec<String>) -> TestServer {
        assert!(!responses.is_empty());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            let mut next = 0;
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                let response = responses[next.min(responses.len() - 1)].clone();
                next += 1;
                let request = serve(socket, &response).await;
                log.lock().unwrap().push(request);
            }
        });
        TestServer {
            base_url,
            seen,
            task,
        }
    }

    pub(crate) fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request from `socket`, answers with `response`, closes.
pub(crate) async fn serve(mut socket: TcpStream, response: &str) -> Seen {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before the request head ended");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8(buf[..head_end].to_vec())
        .unwrap()
        .to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before the body ended");
        buf.extend_from_slice(&chunk[..n]);
    }
    socket.write_all(response.as_bytes()).await.unwrap();
    socket.shutdown().await.ok();
    Seen {
        head,
        body: buf[head_end..head_end + length].to_vec(),
    }
}
