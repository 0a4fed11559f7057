//! A small S3 object store for the state backend: read an object with its ETag, write it only
//! if it is still the version read (`If-Match`) or only if there is none (`If-None-Match: *`),
//! delete it. A refused precondition is its own error, [`StoreError::PreconditionFailed`].

use aws_config::SdkConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::{AwsOptions, config_loader};

/// Error codes S3 answers a refused conditional request with: 412 `PreconditionFailed` (the
/// object is not the version named, or exists when `If-None-Match: *` was sent) and 409
/// `ConditionalRequestConflict` (a concurrent conditional write to the same key won).
const PRECONDITION_CODES: &[&str] = &["PreconditionFailed", CONDITIONAL_CONFLICT];

/// S3's 409 for a conditional write that raced another request on the same key. S3 says to
/// retry it; the SDK's standard classifier does not (a 409 is neither throttling nor a fault),
/// so [`S3Store`] sends the write again itself, up to [`CONFLICT_ATTEMPTS`] times in all.
/// Should the object have changed meanwhile, the retry meets a 412 (never retried).
const CONDITIONAL_CONFLICT: &str = "ConditionalRequestConflict";

/// How many times in all a write meeting [`CONDITIONAL_CONFLICT`] is sent before the conflict
/// is reported as [`StoreError::PreconditionFailed`].
const CONFLICT_ATTEMPTS: u32 = 3;

/// The wait before the first resend after a [`CONDITIONAL_CONFLICT`], doubled for each next one.
const CONFLICT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

/// One object as read: its bytes and its ETag (the version a conditional write names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    /// The object's content.
    pub bytes: Vec<u8>,
    /// The ETag S3 returned, quotes included, as `If-Match` wants it.
    pub etag: String,
}

/// Failures of [`S3Store`] calls.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write or delete was refused: the object changed (or appeared) since.
    #[error(
        "s3://{bucket}/{key} was changed by someone else (the conditional {operation} was refused)"
    )]
    PreconditionFailed {
        /// The operation (`PutObject`, `DeleteObject`).
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// Any other failure, with AWS's code and message or the transport error.
    #[error("{operation} s3://{bucket}/{key} failed: {message}")]
    Call {
        /// The operation (`GetObject`, `PutObject`, `DeleteObject`).
        operation: &'static str,
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// What went wrong.
        message: String,
    },
}

/// A bucket, through an S3 client.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
}

/// How the store's client names a bucket in its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Addressing {
    /// `<endpoint>/<bucket>/<key>`: for an explicit endpoint (LocalStack, MinIO), whose
    /// host has no per-bucket names.
    PathStyle,
    /// The SDK's choice (virtual-hosted `<bucket>.s3.<region>.amazonaws.com` on AWS).
    Default,
}

impl S3Store {
    /// A store for `bucket`, with the AWS configuration loaded the standard way and `options`
    /// applied (the region should be the bucket's). The SDK's standard retries stay on: the
    /// store's callers have no retry loop of their own. Path-style addressing is used whenever
    /// an endpoint is set (`options.endpoint_url`, `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`),
    /// as emulators such as LocalStack need.
    pub async fn from_env(options: &AwsOptions, bucket: &str) -> S3Store {
        let config = config_loader(options)
            .retry_config(aws_smithy_types::retry::RetryConfig::standard())
            .load()
            .await;
        let addressing = if options.endpoint_url.is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some_and(|value| !value.is_empty())
        {
            Addressing::PathStyle
        } else {
            Addressing::Default
        };
        S3Store::from_sdk_config(&config, addressing, bucket)
    }

    /// A store whose client is built from a loaded configuration; path-style addressing when
    /// asked for or when the configuration names an endpoint.
    pub(crate) fn from_sdk_config(
        config: &SdkConfig,
        addressing: Addressing,
        bucket: &str,
    ) -> S3Store {
        let path_style = addressing == Addressing::PathStyle || config.endpoint_url().is_some();
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(path_style)
            .build();
        S3Store::from_client(aws_sdk_s3::Client::from_conf(s3_config), bucket)
    }

    /// A store over a ready-made client (a mocked one in tests).
    pub fn from_client(client: aws_sdk_s3::Client, bucket: &str) -> S3Store {
        S3Store {
            client,
            bucket: bucket.to_string(),
        }
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The region the client calls, if one was resolved.
    pub fn region(&self) -> Option<String> {
        self.client
            .config()
            .region()
            .map(|region| region.as_ref().to_string())
    }

    fn call_error<E>(
        &self,
        operation: &'static str,
        key: &str,
        error: SdkError<E, HttpResponse>,
    ) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        if is_precondition_failure(&error) {
            return StoreError::PreconditionFailed {
                operation,
                bucket: self.bucket.clone(),
                key: key.to_string(),
            };
        }
        StoreError::Call {
            operation,
            bucket: self.bucket.clone(),
            key: key.to_string(),
            message: crate::errors::causes(&error),
        }
    }

    /// Reads `key`: `None` when there is no such object.
    pub async fn get(&self, key: &str) -> Result<Option<S3Object>, StoreError> {
        let answer = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        let output = match answer {
            Ok(output) => output,
            Err(error) if is_missing(&error) => return Ok(None),
            Err(error) => return Err(self.call_error("GetObject", key, error)),
        };
        let etag = output.e_tag().map(str::to_string);
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|error| StoreError::Call {
                operation: "GetObject",
                bucket: self.bucket.clone(),
                key: key.to_string(),
                message: format!("cannot read the body: {error}"),
            })?
            .into_bytes()
            .to_vec();
        let etag = etag.ok_or_else(|| self.no_etag("GetObject", key))?;
        Ok(Some(S3Object { bytes, etag }))
    }

    fn no_etag(&self, operation: &'static str, key: &str) -> StoreError {
        StoreError::Call {
            operation,
            bucket: self.bucket.clone(),
            key: key.to_string(),
            message: "the answer has no ETag".to_string(),
        }
    }

    /// Writes `bytes` to `key` only if the object's ETag is still `etag`. Returns the new ETag.
    pub async fn put_if_match(
        &self,
        key: &str,
        bytes: Vec<u8>,
        etag: &str,
    ) -> Result<String, StoreError> {
        self.put(key, bytes, Condition::Match(etag)).await
    }

    /// Writes `bytes` to `key` only if there is no such object (`If-None-Match: *`). Returns
    /// the new ETag.
    pub async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> Result<String, StoreError> {
        self.put(key, bytes, Condition::Absent).await
    }

    /// Writes `bytes` to `key` whatever is there. Returns the new ETag.
    pub async fn put_unconditionally(
        &self,
        key: &str,
        bytes: Vec<u8>,
    ) -> Result<String, StoreError> {
        self.put(key, bytes, Condition::None).await
    }

    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        condition: Condition<'_>,
    ) -> Result<String, StoreError> {
        let mut attempt = 1;
        let output = loop {
            let mut request = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_type("application/json")
                .body(ByteStream::from(bytes.clone()));
            match condition {
                Condition::Match(etag) => request = request.if_match(etag),
                Condition::Absent => request = request.if_none_match("*"),
                Condition::None => {}
            }
            match request.send().await {
                Ok(output) => break output,
                Err(error) if is_conditional_conflict(&error) && attempt < CONFLICT_ATTEMPTS => {
                    tokio::time::sleep(CONFLICT_BACKOFF * 2u32.pow(attempt - 1)).await;
                    attempt += 1;
                }
                Err(error) => return Err(self.call_error("PutObject", key, error)),
            }
        };
        output
            .e_tag()
            .map(str::to_string)
            .ok_or_else(|| self.no_etag("PutObject", key))
    }

    /// Deletes `key` (nothing happens when there is no such object).
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| self.call_error("DeleteObject", key, error))
    }
}

/// The precondition of a `PutObject`.
enum Condition<'a> {
    /// `If-Match: <etag>`
    Match(&'a str),
    /// `If-None-Match: *`
    Absent,
    /// None.
    None,
}

/// The HTTP status of an error's response, if one came back.
fn status<E>(error: &SdkError<E, HttpResponse>) -> Option<u16> {
    error
        .raw_response()
        .map(|response| response.status().as_u16())
}

/// Whether S3 refused a conditional request (412, or 409 `ConditionalRequestConflict`).
pub(crate) fn is_precondition_failure<E: ProvideErrorMetadata>(
    error: &SdkError<E, HttpResponse>,
) -> bool {
    let code = error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code);
    code.is_some_and(|code| PRECONDITION_CODES.contains(&code)) || status(error) == Some(412)
}

/// Whether S3 answered 409 `ConditionalRequestConflict`, a race worth sending the write again.
fn is_conditional_conflict<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
        == Some(CONDITIONAL_CONFLICT)
}

/// Whether the object does not exist: `NoSuchKey`, or a bare 404 (which the SDK names
/// `NotFound`). `NoSuchBucket`, also a 404, is an error.
fn is_missing<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    let code = error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code);
    match code {
        Some(code) => code == "NoSuchKey" || code == "NotFound",
        None => status(error) == Some(404),
    }
}

#[cfg(test)]
mod tests;
