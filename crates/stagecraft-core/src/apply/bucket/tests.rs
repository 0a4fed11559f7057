//! The token bucket in tokio's paused time.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use tokio::time::Instant;

use super::{TRANSIT_ALLOWANCE, TokenBucket};

/// When each of `n` tokens taken one after another was granted, from the start.
async fn grants(bucket: &TokenBucket, n: usize) -> Vec<Duration> {
    let start = Instant::now();
    let mut times = Vec::new();
    for _ in 0..n {
        bucket.take().await;
        times.push(start.elapsed());
    }
    times
}

#[tokio::test(start_paused = true)]
async fn a_full_bucket_gives_its_burst_at_once_less_the_transit_token_then_the_rate() {
    let bucket = TokenBucket::new(10, 40);
    let times = grants(&bucket, 60).await;
    // The first call is counted as arriving 100 ms after it leaves (the transit allowance),
    // which is one token of the burst at 10 a second.
    assert_eq!(TRANSIT_ALLOWANCE, Duration::from_millis(100));
    assert!(
        times[..39].iter().all(|t| *t == Duration::ZERO),
        "{times:?}"
    );
    // Then one every 100 ms.
    for (i, t) in times[39..].iter().enumerate() {
        assert_eq!(
            *t,
            Duration::from_millis(100) * (i as u32 + 1),
            "token {}",
            40 + i
        );
    }
    assert_eq!(times[59], Duration::from_millis(2100));
}

#[tokio::test(start_paused = true)]
async fn an_idle_bucket_fills_back_up_to_its_burst_and_no_more() {
    let bucket = TokenBucket::new(10, 5);
    grants(&bucket, 5).await;
    // Ten seconds idle would be 100 tokens; the bucket holds five.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let times = grants(&bucket, 7).await;
    assert!(times[..4].iter().all(|t| *t == Duration::ZERO), "{times:?}");
    assert_eq!(&times[4..], [100, 200, 300].map(Duration::from_millis));
}

#[tokio::test(start_paused = true)]
async fn without_a_burst_calls_are_spaced_by_the_interval_and_the_transit_allowance() {
    // Burst 1: nothing to absorb one call's arriving late and the next on time, so each gap
    // carries the allowance.
    let bucket = TokenBucket::new(20, 1);
    let start = Instant::now();
    let takers: Vec<_> = (0..10).map(|_| bucket.take()).collect();
    futures::future::join_all(takers).await;
    assert_eq!(
        start.elapsed(),
        (Duration::from_millis(50) + TRANSIT_ALLOWANCE) * 9
    );
}
