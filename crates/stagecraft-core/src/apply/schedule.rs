//! The rules every AWS call follows during apply: mutating calls to one REST API one at a time,
//! `CreateDeployment` calls spaced by the account-wide quota, and retries with jittered
//! exponential backoff for the errors AWS says to retry.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use crate::provider::{ErrorKind, ProviderError};

/// `LimitExceededException` also signals hard quotas, so it is retried only this many times.
const LIMIT_EXCEEDED_ATTEMPTS: u32 = 3;

/// Sent this much after the quota interval, so that jitter on the way to AWS never makes two
/// `CreateDeployment` calls arrive closer than the interval.
const QUOTA_MARGIN: Duration = Duration::from_millis(20);

/// The longest `Retry-After` honoured: a longer hint is taken as this, so that one odd answer
/// cannot park an apply for hours.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The shared schedule of one apply run.
pub(crate) struct Schedule {
    interval: Duration,
    max_attempts: u32,
    retry_base: Duration,
    retry_cap: Duration,
    /// When the last `CreateDeployment` was sent.
    last_deployment: tokio::sync::Mutex<Option<Instant>>,
    /// One lock per REST API id, held around each mutating call.
    api_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// What a call is, for the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind<'a> {
    /// `CreateDeployment` on a REST API: serialized per API and paced by the quota.
    Deployment {
        /// The REST API id.
        rest_api_id: &'a str,
    },
    /// Another mutating call on a REST API: serialized per API.
    ApiMutation {
        /// The REST API id.
        rest_api_id: &'a str,
    },
    /// Any other call (reads, Amplify).
    Other,
}

/// Why a scheduled call did not succeed.
#[derive(Debug)]
pub(crate) enum Stopped<E> {
    /// `before_send` refused to send it.
    Cancelled(E),
    /// AWS's error, once retries were spent (or the error is not one to retry).
    Failed(ProviderError),
}

/// A retry the schedule is about to make, for progress reporting.
#[derive(Debug, Clone)]
pub(crate) struct RetryNotice<'a> {
    pub attempt: u32,
    pub max_attempts: u32,
    pub delay: Duration,
    pub error: &'a ProviderError,
}

impl Schedule {
    pub(crate) fn new(
        interval: Duration,
        max_attempts: u32,
        retry_base: Duration,
        retry_cap: Duration,
    ) -> Schedule {
        Schedule {
            interval,
            max_attempts: max_attempts.max(1),
            retry_base,
            retry_cap,
            last_deployment: tokio::sync::Mutex::new(None),
            api_locks: Mutex::new(HashMap::new()),
        }
    }

    fn api_lock(&self, rest_api_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .api_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        locks.entry(rest_api_id.to_string()).or_default().clone()
    }

    /// Waits for the quota's next slot. The slot is taken (its time recorded) by the caller
    /// just before sending, through the returned guard, so that nothing done in between (the
    /// journal's fsync) eats into the interval.
    async fn deployment_slot(&self) -> tokio::sync::MutexGuard<'_, Option<Instant>> {
        let last = self.last_deployment.lock().await;
        if let Some(previous) = *last {
            tokio::time::sleep_until(previous + self.interval + QUOTA_MARGIN).await;
        }
        last
    }

    /// The delay before attempt `attempt + 1`: exponential, capped, with half of it jittered.
    fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self
            .retry_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.retry_cap);
        let half = exponential / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis().max(1) as u64);
        half + Duration::from_millis(jitter)
    }

    /// Runs `call` under the schedule's rules, retrying what may be retried. `before_send` runs
    /// once the call holds its locks and quota slot, just before each attempt is sent; an error
    /// from it cancels the call.
    pub(crate) async fn run<T, E, F, Fut>(
        &self,
        kind: CallKind<'_>,
        mut call: F,
        mut before_send: impl FnMut(u32) -> Result<(), E>,
        mut on_retry: impl FnMut(RetryNotice<'_>),
    ) -> Result<T, Stopped<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let mut attempt = 1;
        loop {
            let result = {
                let lock = match kind {
                    CallKind::Deployment { rest_api_id }
                    | CallKind::ApiMutation { rest_api_id } => Some(self.api_lock(rest_api_id)),
                    CallKind::Other => None,
                };
                let _guard = match &lock {
                    Some(lock) => Some(lock.lock().await),
                    None => None,
                };
                let mut slot = match kind {
                    CallKind::Deployment { .. } => Some(self.deployment_slot().await),
                    _ => None,
                };
                before_send(attempt).map_err(Stopped::Cancelled)?;
                if let Some(slot) = &mut slot {
                    **slot = Some(Instant::now());
                }
                drop(slot);
                call().await
            };
            let error = match result {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let limit = if error.kind == ErrorKind::LimitExceeded {
                self.max_attempts.min(LIMIT_EXCEEDED_ATTEMPTS)
            } else {
                self.max_attempts
            };
            if !error.kind.is_retryable() || attempt >= limit {
                return Err(Stopped::Failed(error));
            }
            // Never sooner than AWS asked (`Retry-After`), nor sooner than the backoff says.
            let delay = self
                .backoff(attempt)
                .max(error.retry_after.unwrap_or_default().min(MAX_RETRY_AFTER));
            on_retry(RetryNotice {
                attempt,
                max_attempts: limit,
                delay,
                error: &error,
            });
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}
