//! Reads outside apply: paced by the lane's bucket, retried when AWS says to.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use super::super::fake::FakeAws;
use super::super::tests::options;
use super::*;
use crate::provider::{ErrorKind, ProviderError};

/// Sixty `GetStages` at 10 a second with a burst of 40: those past the burst wait for tokens,
/// so the reads take about two seconds (of virtual time), never sent faster than the bucket allows.
#[tokio::test(start_paused = true)]
async fn api_gateway_reads_take_tokens_of_the_lanes_bucket() {
    let aws = FakeAws::new();
    let options = options();
    assert_eq!(
        (options.request_rate.per_second, options.request_rate.burst),
        (10, 40)
    );
    let reads = PacedReads::new(&aws, &options);
    let start = tokio::time::Instant::now();
    for _ in 0..60 {
        reads.get_stages("api1").await.unwrap();
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(1_500), "{elapsed:?}");
    // By any instant t, at most the burst plus 10 a second had been sent: the bucket's bound.
    for (sent, call) in aws.calls().iter().enumerate() {
        let since = (call.at - start).as_millis() as usize;
        assert!(sent < 40 + since / 100 + 1, "call {sent} at {since} ms");
    }
}

/// A throttled read is retried (with backoff) and its answer returned; an error that is not
/// retried comes back at once, with AWS's code.
#[tokio::test(start_paused = true)]
async fn a_throttled_read_is_retried_and_a_permanent_one_is_not() {
    let aws = FakeAws::new();
    aws.fail(
        "GetStages",
        ProviderError::new(
            ErrorKind::Throttled,
            Some("TooManyRequestsException"),
            "Too Many Requests",
        ),
        2,
    );
    let options = options();
    let reads = PacedReads::new(&aws, &options);
    assert!(reads.get_stages("api1").await.is_ok());
    assert_eq!(aws.count("GetStages"), 3);
    aws.fail(
        "GetApp",
        ProviderError::new(
            ErrorKind::Permanent,
            Some("AccessDeniedException"),
            "not authorized to perform amplify:GetApp",
        ),
        1,
    );
    let error = reads.get_app("app1").await.unwrap_err();
    assert_eq!(error.code.as_deref(), Some("AccessDeniedException"));
    assert_eq!(aws.count("GetApp"), 1);
}
