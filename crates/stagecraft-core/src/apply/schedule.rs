//! The rules every AWS call follows during apply: every API Gateway call (reads included)
//! takes a token of the account's request-rate bucket of its lane, every CloudWatch call one of
//! the lane's CloudWatch bucket (`DescribeAlarms`' own quota), mutating calls to one REST
//! API one at a time, `CreateDeployment` calls spaced by the account-wide quota on top, and
//! retries with jittered exponential backoff for the errors AWS says to retry (each attempt
//! takes its own token).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use super::bucket::TokenBucket;
use super::journal::Service;
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
    /// The request-rate bucket of each service (API Gateway, CloudWatch) in each lane, made
    /// on first use.
    buckets: Mutex<HashMap<(Service, Lane), Arc<TokenBucket>>>,
    /// The rate and burst of a lane's API Gateway bucket.
    rate: RequestRate,
    /// The rate and burst of a lane's CloudWatch bucket.
    alarm_rate: RequestRate,
}

/// Where AWS counts a call against its account quotas: an account in a region. The CLI names
/// it (today one apply runs in one lane: one set of credentials, one region); calls of two
/// lanes never wait for each other's tokens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Lane {
    /// Who calls: the account or, where the CLI does not know it, the credentials' source
    /// (the profile), which stands for one account.
    pub account: String,
    /// The region.
    pub region: String,
}

/// A service's account-wide request rate, for a lane's token bucket: API Gateway's (AWS: 10 a
/// second, a burst of 40) or CloudWatch `DescribeAlarms`' ([`RequestRate::DESCRIBE_ALARMS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRate {
    /// Tokens a second (API Gateway: 10).
    pub per_second: u32,
    /// Tokens saved up at most (API Gateway: 40).
    pub burst: u32,
}

impl RequestRate {
    /// CloudWatch's `DescribeAlarms` quota: 9 transactions a second per account and region
    /// (AWS's "CloudWatch service quotas" page; adjustable). No burst is documented, so no more
    /// than one second's worth is saved up.
    pub const DESCRIBE_ALARMS: RequestRate = RequestRate {
        per_second: 9,
        burst: 9,
    };
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
    /// Any other call: reads (of either service), Amplify's mutations. An API Gateway read
    /// still takes a token of the request-rate bucket: the service is the call's.
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

/// The outcome of a call that nothing could cancel: its value or AWS's error.
pub(crate) fn uncancelled<V>(
    result: Result<V, Stopped<std::convert::Infallible>>,
) -> Result<V, ProviderError> {
    match result {
        Ok(value) => Ok(value),
        Err(Stopped::Cancelled(never)) => match never {},
        Err(Stopped::Failed(error)) => Err(error),
    }
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
        rate: RequestRate,
        alarm_rate: RequestRate,
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
            buckets: Mutex::new(HashMap::new()),
            rate,
            alarm_rate,
        }
    }

    /// The bucket a call to `service` in `lane` takes its token from; `None` for a service
    /// paced otherwise (Amplify: its quotas are per operation and generous; its jobs are bounded
    /// by a semaphore of their own).
    /// The schedule of `options`' quotas and retries.
    pub(crate) fn for_options(options: &super::ApplyOptions) -> Schedule {
        Schedule::new(
            options.create_deployment_interval,
            options.request_rate,
            options.alarm_request_rate,
            options.max_attempts,
            options.retry_base,
            options.retry_cap,
        )
    }

    fn bucket(&self, service: Service, lane: &Lane) -> Option<Arc<TokenBucket>> {
        let rate = match service {
            Service::ApiGateway => self.rate,
            Service::CloudWatch => self.alarm_rate,
            Service::Amplify => return None,
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = buckets
            .entry((service, lane.clone()))
            .or_insert_with(|| Arc::new(TokenBucket::new(rate.per_second, rate.burst)))
            .clone();
        Some(bucket)
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

    /// Runs `call` under the schedule's rules, retrying what may be retried. A call to
    /// `service` API Gateway or CloudWatch takes a token of `lane`'s bucket of that service
    /// before each attempt (Amplify's calls take none). `before_send` runs once the call holds its locks, quota
    /// slot and token, just before each attempt is sent; an error from it cancels the call.
    pub(crate) async fn run<T, E, F, Fut>(
        &self,
        lane: &Lane,
        service: Service,
        kind: CallKind<'_>,
        mut call: F,
        mut before_send: impl FnMut(u32) -> Result<(), E>,
        mut on_retry: impl FnMut(RetryNotice<'_>),
    ) -> Result<T, Stopped<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        debug_assert!(
            matches!(kind, CallKind::Other) || service == Service::ApiGateway,
            "only API Gateway calls are serialized per REST API"
        );
        let bucket = self.bucket(service, lane);
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
                if let Some(bucket) = &bucket {
                    bucket.take().await;
                }
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

#[cfg(test)]
mod tests;
