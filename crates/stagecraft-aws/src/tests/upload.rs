//! The zip upload against a local HTTP server: streamed from a file, with its length.
#![allow(clippy::unwrap_used)]

use std::io::Write;

use stagecraft_core::provider::{ErrorKind, Provider};
use tempfile::NamedTempFile;
use tokio::net::TcpListener;

use super::{TestServer, amplify_provider, raw_response};

const UPLOAD_PATH: &str = "/deployments/app1/main/12.zip?X-Amz-Signature=s3cr3tsig";

/// A temporary file holding `bytes`, with its size.
fn zip_file(bytes: &[u8]) -> (NamedTempFile, u64) {
    let mut file = NamedTempFile::new().unwrap();
    file.write_all(bytes).unwrap();
    file.flush().unwrap();
    (file, bytes.len() as u64)
}

#[tokio::test]
async fn upload_puts_the_zip_unsigned() {
    let server = TestServer::start(vec![raw_response("200 OK", "text/plain", "")]).await;
    let provider = amplify_provider(&[]);
    let zip = b"PK\x03\x04 not really a zip".to_vec();
    let (file, size) = zip_file(&zip);
    let url = format!("{}{UPLOAD_PATH}", server.base_url);
    provider.upload_zip(&url, file.path(), size).await.unwrap();
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    let head = &seen[0].head;
    assert!(
        head.starts_with(
            "put /deployments/app1/main/12.zip?x-amz-signature=s3cr3tsig http/1.1\r\n"
        ),
        "{head}"
    );
    assert!(
        head.contains("\r\ncontent-type: application/zip\r\n"),
        "{head}"
    );
    assert!(!head.contains("authorization:"), "{head}");
    // A presigned S3 PUT needs the length up front: never chunked.
    assert!(
        head.contains(&format!("\r\ncontent-length: {size}\r\n")),
        "{head}"
    );
    assert!(!head.contains("transfer-encoding"), "{head}");
    assert_eq!(seen[0].body, zip);
}

#[tokio::test]
async fn upload_streams_a_large_file_whole() {
    let server = TestServer::start(vec![raw_response("200 OK", "text/plain", "")]).await;
    let provider = amplify_provider(&[]);
    // Several read buffers' worth, with a pattern that shows reordering or loss.
    let zip: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let (file, size) = zip_file(&zip);
    let url = format!("{}{UPLOAD_PATH}", server.base_url);
    provider.upload_zip(&url, file.path(), size).await.unwrap();
    let seen = server.requests();
    assert_eq!(seen[0].body.len(), zip.len());
    assert!(seen[0].body == zip);
}

#[tokio::test]
async fn upload_of_a_missing_file_is_permanent() {
    let provider = amplify_provider(&[]);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone.zip");
    let err = provider
        .upload_zip("http://127.0.0.1:9/x", &missing, 10)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert!(err.message.contains("gone.zip"), "{err}");
}

#[tokio::test]
async fn upload_rejected_keeps_status_and_s3_message() {
    let server = TestServer::start(vec![raw_response(
        "403 Forbidden",
        "application/xml",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
    )])
    .await;
    let provider = amplify_provider(&[]);
    let url = format!("{}{UPLOAD_PATH}", server.base_url);
    let (file, size) = zip_file(&[1, 2, 3]);
    let err = provider
        .upload_zip(&url, file.path(), size)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert_eq!(err.code.as_deref(), Some("AccessDenied"));
    assert_eq!(
        err.message,
        "zip upload failed with HTTP status 403 Forbidden: Request has expired"
    );
}

#[tokio::test]
async fn upload_server_error_is_transient() {
    let server = TestServer::start(vec![raw_response(
        "500 Internal Server Error",
        "text/plain",
        "try later",
    )])
    .await;
    let provider = amplify_provider(&[]);
    let url = format!("{}{UPLOAD_PATH}", server.base_url);
    let (file, size) = zip_file(&[0; 10]);
    let err = provider
        .upload_zip(&url, file.path(), size)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(
        err.message,
        "zip upload failed with HTTP status 500 Internal Server Error: try later"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn upload_connection_refused_is_transient_and_hides_the_url() {
    // A port that was free a moment ago: nothing listens there any more.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = format!("http://{addr}{UPLOAD_PATH}");
    let provider = amplify_provider(&[]);
    let (file, size) = zip_file(&[0; 10]);
    let err = provider
        .upload_zip(&url, file.path(), size)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert!(!err.message.contains("s3cr3tsig"), "{err}");
    assert!(err.message.starts_with("zip upload failed"), "{err}");
}

#[tokio::test]
async fn upload_to_an_invalid_url_is_permanent() {
    let provider = amplify_provider(&[]);
    let (file, size) = zip_file(&[0]);
    let err = provider
        .upload_zip("not a url", file.path(), size)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permanent, "{err}");
}
